"""Renders deploy/k8s/ with kustomize and gives the manifest tests typed access to the objects."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]

ROOT = Path(__file__).resolve().parents[3]
K8S_DIR = ROOT / "deploy" / "k8s"
# What is rendered: the base alone and every overlay.
TARGETS = ("base", "overlays/dev", "overlays/prod", "overlays/gpu")
OVERLAYS = ("overlays/dev", "overlays/prod", "overlays/gpu")
SERVICES = ("gateway", "ingest", "transcription", "analysis", "sftp")

Obj = dict[str, Any]


def kustomize_binary() -> Path:
    """The kustomize that `make kustomize` builds into .local/bin ($KUSTOMIZE overrides it)."""
    override = os.environ.get("KUSTOMIZE")
    if override:
        return Path(override)
    built = ROOT / ".local" / "bin" / "kustomize"
    if built.exists():
        return built
    found = shutil.which("kustomize")
    if found:
        return Path(found)
    raise FileNotFoundError(f"kustomize is not built: run `make kustomize` (it goes to {built})")


def render(target: str) -> list[Obj]:
    """`kustomize build` of one folder under deploy/k8s, as a list of objects."""
    result = subprocess.run(
        [str(kustomize_binary()), "build", str(K8S_DIR / target)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    if result.returncode != 0:
        raise AssertionError(f"kustomize build {target} failed:\n{result.stderr}")
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


@dataclass(frozen=True)
class Rendered:
    """The objects one kustomize target renders to."""

    target: str
    objects: tuple[Obj, ...]

    def of_kind(self, kind: str) -> list[Obj]:
        """Every object of that kind."""
        return [obj for obj in self.objects if obj["kind"] == kind]

    def get(self, kind: str, name: str) -> Obj:
        """The one object of that kind and name; fails the test when there is none."""
        for obj in self.of_kind(kind):
            if obj["metadata"]["name"] == name:
                return obj
        raise AssertionError(f"{self.target}: no {kind} named {name}")

    def find(self, kind: str, name: str) -> Obj | None:
        """The object of that kind and name, or None."""
        for obj in self.of_kind(kind):
            if obj["metadata"]["name"] == name:
                return obj
        return None

    def config_map(self, generated_name: str) -> Obj:
        """A generated ConfigMap by the name it was given (kustomize adds a hash suffix)."""
        matches = [
            obj
            for obj in self.of_kind("ConfigMap")
            if obj["metadata"]["name"] == generated_name
            or obj["metadata"]["name"].rsplit("-", 1)[0] == generated_name
        ]
        assert len(matches) == 1, f"{self.target}: ConfigMap {generated_name}: {len(matches)}"
        return matches[0]

    def containers(self) -> Iterator[tuple[Obj, Obj]]:
        """(Deployment, container) for every container of every Deployment, init ones too."""
        for deployment in self.of_kind("Deployment"):
            pod = deployment["spec"]["template"]["spec"]
            for container in [*pod.get("initContainers", []), *pod["containers"]]:
                yield deployment, container

    def service_container(self, service: str) -> Obj:
        """The main container of a Callscope service's Deployment."""
        pod = self.get("Deployment", service)["spec"]["template"]["spec"]
        return next(c for c in pod["containers"] if c["name"] == service)

    def env_of(self, container: Obj) -> dict[str, str | None]:
        """The variables a container receives: literal values, ConfigMap values, None for secrets.

        envFrom secretRef is refused: the names a Secret brings cannot be checked offline.
        """
        env: dict[str, str | None] = {}
        for source in container.get("envFrom", []):
            assert "secretRef" not in source, f"{container['name']}: envFrom secretRef"
            data = self.get("ConfigMap", source["configMapRef"]["name"]).get("data", {})
            prefix = source.get("prefix", "")
            env.update({prefix + key: str(value) for key, value in data.items()})
        for var in container.get("env", []):
            if "value" in var:
                env[var["name"]] = str(var["value"])
            elif "configMapKeyRef" in var.get("valueFrom", {}):
                ref = var["valueFrom"]["configMapKeyRef"]
                env[var["name"]] = str(self.get("ConfigMap", ref["name"])["data"][ref["key"]])
            else:
                env[var["name"]] = None
        return env


def callscope_service(container: Obj) -> str | None:
    """The Callscope service a container runs (from its image callscope/<svc>), else None."""
    image: str = container["image"]
    repository = image.split("@", 1)[0].rsplit(":", 1)[0] if "/" in image else image
    owner, _, name = repository.rpartition("/")
    return name if owner.endswith("callscope") and name in SERVICES else None
