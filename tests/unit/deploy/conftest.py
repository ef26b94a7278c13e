"""Session fixture: every kustomize target under deploy/k8s rendered once."""

from __future__ import annotations

import pytest

from tests.unit.deploy.k8s import TARGETS, Rendered, render


@pytest.fixture(scope="session")
def rendered() -> dict[str, Rendered]:
    """`kustomize build` of the base and of every overlay, by target (e.g. "overlays/prod")."""
    return {target: Rendered(target, tuple(render(target))) for target in TARGETS}
