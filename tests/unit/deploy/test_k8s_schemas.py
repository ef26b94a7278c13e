"""Every rendered object is valid: built-in kinds against Kubernetes' OpenAPI schemas
(kubernetes-validate), KEDA's and Strimzi's custom resources against their CRDs' schemas."""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import kubernetes_validate  # type: ignore[import-untyped]
import pytest
import yaml  # type: ignore[import-untyped]

from tests.unit.deploy.k8s import TARGETS, Obj, Rendered

# The oldest Kubernetes minor the manifests must apply to (native gRPC probes are GA in 1.27).
KUBERNETES_VERSION = "1.30.0"
SCHEMAS = Path(__file__).parent / "schemas"
# apiVersion/kind of every custom resource deploy/k8s may use, and the CRD file that has it.
CRD_FILES = ("keda.sh_scaledobjects.yaml", "strimzi-v1beta2-subset.yaml")


def _strict(schema: Any) -> Any:
    """A CRD's structural schema as JSON Schema with unknown fields refused.

    The API server prunes or (with `kubectl apply`'s default strict field validation) rejects
    fields a CRD does not declare; JSON Schema allows them unless told, so objects that list
    their properties get additionalProperties false. int-or-string fields accept both types.
    """
    if isinstance(schema, list):
        return [_strict(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    result = {key: _strict(value) for key, value in schema.items()}
    if result.pop("x-kubernetes-int-or-string", False):
        result.pop("type", None)
        result.setdefault("anyOf", [{"type": "integer"}, {"type": "string"}])
    if result.pop("nullable", False) and "type" in result:
        result["type"] = [result["type"], "null"]
    preserve = result.pop("x-kubernetes-preserve-unknown-fields", False)
    if (
        result.get("type") == "object"
        and "properties" in result
        and "additionalProperties" not in result
        and not preserve
    ):
        result["additionalProperties"] = False
    return result


@cache
def crd_schemas() -> dict[tuple[str, str], dict[str, Any]]:
    """(apiVersion, kind) -> JSON Schema, from the CRDs kept in schemas/."""
    schemas: dict[tuple[str, str], dict[str, Any]] = {}
    for filename in CRD_FILES:
        for crd in yaml.safe_load_all((SCHEMAS / filename).read_text()):
            if not crd:
                continue
            group = crd["spec"]["group"]
            kind = crd["spec"]["names"]["kind"]
            for version in crd["spec"]["versions"]:
                if version.get("served", True):
                    openapi = version["schema"]["openAPIV3Schema"]
                    schemas[(f"{group}/{version['name']}", kind)] = _strict(copy.deepcopy(openapi))
    return schemas


def _is_custom(obj: Obj) -> bool:
    return "." in obj["apiVersion"].split("/")[0] and not obj["apiVersion"].startswith(
        ("apps/", "policy/", "autoscaling/", "networking.k8s.io/", "rbac.authorization.k8s.io/")
    )


def test_every_custom_kind_has_a_crd_schema() -> None:
    """The CRDs in schemas/ load and cover ScaledObject, Kafka, KafkaNodePool and KafkaTopic."""
    assert set(crd_schemas()) >= {
        ("keda.sh/v1alpha1", "ScaledObject"),
        ("kafka.strimzi.io/v1beta2", "Kafka"),
        ("kafka.strimzi.io/v1beta2", "KafkaNodePool"),
        ("kafka.strimzi.io/v1beta2", "KafkaTopic"),
    }


@pytest.mark.parametrize("target", TARGETS)
def test_built_in_objects_match_the_kubernetes_schemas(
    rendered: dict[str, Rendered], target: str
) -> None:
    """Deployments, Services, policies... validate strictly (unknown fields are errors)."""
    errors = []
    for obj in rendered[target].objects:
        if _is_custom(obj):
            continue
        try:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            errors.append(f"{obj['kind']}/{obj['metadata']['name']}: {error.message}")
    assert not errors, "\n".join(errors)


@pytest.mark.parametrize("target", TARGETS)
def test_custom_resources_match_their_crds(rendered: dict[str, Rendered], target: str) -> None:
    """ScaledObjects and Strimzi resources validate against their CRDs; unknown kinds fail."""
    errors = []
    for obj in rendered[target].objects:
        if not _is_custom(obj):
            continue
        schema = crd_schemas().get((obj["apiVersion"], obj["kind"]))
        if schema is None:
            errors.append(f"{obj['apiVersion']} {obj['kind']}: no CRD schema in {SCHEMAS}")
            continue
        validator = jsonschema.Draft7Validator(schema)
        for error in validator.iter_errors(obj):
            path = "/".join(str(part) for part in error.absolute_path)
            errors.append(f"{obj['kind']}/{obj['metadata']['name']} {path}: {error.message}")
    assert not errors, "\n".join(errors)


def test_the_strict_crd_schemas_catch_a_typo() -> None:
    """A misspelt field and a number where KEDA wants a string are both refused."""
    schema = crd_schemas()[("keda.sh/v1alpha1", "ScaledObject")]
    good: Obj = {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": {"name": "x"},
        "spec": {
            "scaleTargetRef": {"name": "x"},
            "triggers": [{"type": "kafka", "metadata": {"lagThreshold": "5"}}],
        },
    }
    jsonschema.validate(good, schema)
    typo = copy.deepcopy(good)
    typo["spec"]["maxReplicasCount"] = 3
    number = copy.deepcopy(good)
    number["spec"]["triggers"][0]["metadata"]["lagThreshold"] = 5
    for bad in (typo, number):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, schema)
