"""Policy checks on the rendered Deployments, Services, Secrets and settings of every overlay."""

from __future__ import annotations

import pytest
from callscope_analysis.settings import AnalysisSettings
from callscope_gateway.settings import GatewaySettings
from callscope_ingest.settings import IngestSettings
from callscope_sftp.settings import SftpSettings
from callscope_transcription.settings import TranscriptionSettings
from pydantic import AliasChoices
from pydantic_settings import BaseSettings

from tests.unit.deploy.k8s import OVERLAYS, SERVICES, TARGETS, Obj, Rendered, callscope_service

SETTINGS: dict[str, type[BaseSettings]] = {
    "gateway": GatewaySettings,
    "ingest": IngestSettings,
    "transcription": TranscriptionSettings,
    "analysis": AnalysisSettings,
    "sftp": SftpSettings,
}
# The variable prefix of each service's own settings.
PREFIX = {service: str(cls.model_config.get("env_prefix", "")) for service, cls in SETTINGS.items()}


def env_names(settings: type[BaseSettings]) -> dict[str, bool]:
    """Every variable a settings class reads (upper case) -> whether it is required."""
    prefix = str(settings.model_config.get("env_prefix", ""))
    names: dict[str, bool] = {}
    for field_name, field in settings.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, str):
            aliases = [alias]
        elif isinstance(alias, AliasChoices):
            aliases = [choice for choice in alias.choices if isinstance(choice, str)]
        else:
            aliases = [prefix + field_name]
        for name in aliases:
            names[name.upper()] = field.is_required()
    return names


@pytest.mark.parametrize("target", TARGETS)
def test_every_container_is_probed_limited_and_locked_down(
    rendered: dict[str, Rendered], target: str
) -> None:
    """Probes, requests and limits, non-root, read-only root, no privilege escalation."""
    problems = []
    for deployment, container in rendered[target].containers():
        where = f"{deployment['metadata']['name']}/{container['name']}"
        pod = deployment["spec"]["template"]["spec"]
        pod_security = pod.get("securityContext", {})
        security = container.get("securityContext", {})
        resources = container.get("resources", {})
        checks = {
            "readinessProbe": "readinessProbe" in container,
            "livenessProbe": "livenessProbe" in container,
            "cpu/memory requests": {"cpu", "memory"} <= set(resources.get("requests", {})),
            "cpu/memory limits": {"cpu", "memory"} <= set(resources.get("limits", {})),
            "runAsNonRoot": security.get("runAsNonRoot", pod_security.get("runAsNonRoot")) is True,
            "runAsUser 65532": security.get("runAsUser", pod_security.get("runAsUser")) == 65532,
            "readOnlyRootFilesystem": security.get("readOnlyRootFilesystem") is True,
            "allowPrivilegeEscalation false": security.get("allowPrivilegeEscalation") is False,
            "drop ALL": security.get("capabilities", {}).get("drop") == ["ALL"],
            "seccomp RuntimeDefault": pod_security.get("seccompProfile", {}).get("type")
            == "RuntimeDefault",
            "a writable /tmp": any(m["mountPath"] == "/tmp" for m in container["volumeMounts"]),
            "no service account token": pod.get("automountServiceAccountToken") is False,
        }
        problems += [f"{where}: {check}" for check, ok in checks.items() if not ok]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("target", TARGETS)
def test_probes_use_the_health_endpoints(rendered: dict[str, Rendered], target: str) -> None:
    """gRPC health on each service's GRPC_PORT; the gateway's /healthz; startup for the model."""
    for service in SERVICES:
        container = rendered[target].service_container(service)
        env = rendered[target].env_of(container)
        grpc_port = int(str(env[f"{PREFIX[service]}GRPC_PORT"]))
        ports = {port["name"]: port["containerPort"] for port in container["ports"]}
        assert ports["grpc"] == grpc_port
        assert container["livenessProbe"]["grpc"]["port"] == grpc_port
        if service == "gateway":
            readiness = container["readinessProbe"]["httpGet"]
            assert readiness == {"path": "/healthz", "port": "http"}
            assert ports["http"] == int(str(env["GATEWAY_HTTP_PORT"]))
        else:
            assert container["readinessProbe"]["grpc"]["port"] == grpc_port
    startup = rendered[target].service_container("transcription")["startupProbe"]
    assert startup["grpc"]["port"] == 50053
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 300


@pytest.mark.parametrize("target", TARGETS)
def test_metrics_ports_are_annotated_for_prometheus(
    rendered: dict[str, Rendered], target: str
) -> None:
    """prometheus.io/port is the port the service serves /metrics on (<SVC>_METRICS_PORT)."""
    for service in SERVICES:
        deployment = rendered[target].get("Deployment", service)
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        env = rendered[target].env_of(rendered[target].service_container(service))
        port_setting = (
            "GATEWAY_HTTP_PORT" if service == "gateway" else f"{PREFIX[service]}METRICS_PORT"
        )
        assert annotations["prometheus.io/scrape"] == "true"
        assert annotations["prometheus.io/path"] == "/metrics"
        assert annotations["prometheus.io/port"] == env[port_setting]


@pytest.mark.parametrize("target", TARGETS)
def test_env_names_are_the_ones_the_settings_read(
    rendered: dict[str, Rendered], target: str
) -> None:
    """No variable a service ignores (a typo), none of its required ones missing, values parse."""
    seen = set()
    for deployment, container in rendered[target].containers():
        service = callscope_service(container)
        if service is None:
            continue
        seen.add(service)
        where = f"{target} {deployment['metadata']['name']}/{container['name']}"
        readable = env_names(SETTINGS[service])
        env = rendered[target].env_of(container)
        unknown = set(env) - set(readable)
        assert not unknown, f"{where}: {sorted(unknown)} are not read by {SETTINGS[service]}"
        missing = {name for name, required in readable.items() if required} - set(env)
        assert not missing, f"{where}: required {sorted(missing)} not set"
    assert seen == set(SERVICES)


@pytest.mark.parametrize("service", SERVICES)
def test_the_settings_accept_the_rendered_values(
    rendered: dict[str, Rendered], service: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each service's settings class builds from the prod and gpu environments (secrets faked)."""
    for target in ("overlays/dev", "overlays/prod", "overlays/gpu"):
        env = rendered[target].env_of(rendered[target].service_container(service))
        for name in env_names(SETTINGS[service]):
            monkeypatch.delenv(name, raising=False)
        for name, value in env.items():
            monkeypatch.setenv(name, "secret-placeholder" if value is None else value)
        SETTINGS[service]()


@pytest.mark.parametrize("target", TARGETS)
def test_secrets_are_only_referenced(rendered: dict[str, Rendered], target: str) -> None:
    """No Secret with inline data in any rendering; containers use secretKeyRef."""
    inline = [
        secret["metadata"]["name"]
        for secret in rendered[target].of_kind("Secret")
        if secret.get("data") or secret.get("stringData")
    ]
    assert not inline
    for _, container in rendered[target].containers():
        assert not any("secretRef" in source for source in container.get("envFrom", []))


@pytest.mark.parametrize("target", TARGETS)
def test_services_select_a_deployment_and_name_its_ports(
    rendered: dict[str, Rendered], target: str
) -> None:
    """Every Service's selector matches one Deployment's pods, and its targetPorts exist there."""
    for service in rendered[target].of_kind("Service"):
        selector = service["spec"]["selector"]
        matches = [
            deployment
            for deployment in rendered[target].of_kind("Deployment")
            if selector.items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
        ]
        assert len(matches) == 1, f"Service {service['metadata']['name']} selects {len(matches)}"
        pod = matches[0]["spec"]["template"]["spec"]
        named = {port["name"] for c in pod["containers"] for port in c.get("ports", [])}
        numbered = {port["containerPort"] for c in pod["containers"] for port in c.get("ports", [])}
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in named | numbered, service["metadata"]["name"]


@pytest.mark.parametrize("target", TARGETS)
def test_peer_addresses_point_at_services(rendered: dict[str, Rendered], target: str) -> None:
    """Every <PEER>_ADDR is host:port of a rendered Service that exposes that port."""
    for service in SERVICES:
        env = rendered[target].env_of(rendered[target].service_container(service))
        for name, value in env.items():
            if not name.endswith("_ADDR"):
                continue
            host, port = str(value).rsplit(":", 1)
            peer = rendered[target].get("Service", host)
            assert int(port) in {p["port"] for p in peer["spec"]["ports"]}, f"{service} {name}"


@pytest.mark.parametrize("target", TARGETS)
def test_each_service_has_its_objects(rendered: dict[str, Rendered], target: str) -> None:
    """A ServiceAccount without token, a PodDisruptionBudget and a NetworkPolicy per service."""
    for service in SERVICES:
        account = rendered[target].get("ServiceAccount", service)
        assert account["automountServiceAccountToken"] is False
        pod = rendered[target].get("Deployment", service)["spec"]["template"]["spec"]
        assert pod["serviceAccountName"] == service
        budget = rendered[target].get("PodDisruptionBudget", service)
        assert budget["spec"]["selector"]["matchLabels"] == {"app.kubernetes.io/name": service}
        rendered[target].get("NetworkPolicy", service)


def _least_replicas(rendered: Rendered, service: str) -> int:
    """The fewest replicas a Deployment runs: its autoscaler's minimum, else its replicas."""
    for kind, field in (
        ("HorizontalPodAutoscaler", "minReplicas"),
        ("ScaledObject", "minReplicaCount"),
    ):
        scaler = rendered.find(kind, service)
        if scaler is not None:
            return int(scaler["spec"].get(field, 1))
    return int(rendered.get("Deployment", service)["spec"].get("replicas", 1))


@pytest.mark.parametrize("target", ("overlays/prod", "overlays/gpu"))
def test_prod_budgets_keep_a_floor_without_blocking_drains(
    rendered: dict[str, Rendered], target: str
) -> None:
    """minAvailable is at least 1 and below the least replica count (a drain can proceed)."""
    for service in SERVICES:
        budget = rendered[target].get("PodDisruptionBudget", service)["spec"]
        assert "maxUnavailable" not in budget
        least = _least_replicas(rendered[target], service)
        assert 1 <= budget["minAvailable"] < least, service


@pytest.mark.parametrize("target", ("overlays/prod", "overlays/gpu"))
def test_autoscaled_deployments_leave_replicas_to_the_autoscaler(
    rendered: dict[str, Rendered], target: str
) -> None:
    """HPA for gateway and ingest (CPU), KEDA for the stages; none of them sets replicas."""
    for service in ("gateway", "ingest"):
        hpa = rendered[target].get("HorizontalPodAutoscaler", service)["spec"]
        assert hpa["scaleTargetRef"] == {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": service,
        }
        assert [m["resource"]["name"] for m in hpa["metrics"]] == ["cpu"]
    for service in ("gateway", "ingest", "transcription", "analysis"):
        assert "replicas" not in rendered[target].get("Deployment", service)["spec"]


def test_dev_runs_one_of_everything(rendered: dict[str, Rendered]) -> None:
    """The dev overlay: one replica each, no autoscalers (KEDA need not be installed)."""
    dev = rendered["overlays/dev"]
    assert all(d["spec"]["replicas"] == 1 for d in dev.of_kind("Deployment"))
    assert not dev.of_kind("ScaledObject")
    assert not dev.of_kind("HorizontalPodAutoscaler")


def _gpu_limit(container: Obj) -> int:
    return int(container["resources"].get("limits", {}).get("nvidia.com/gpu", 0))


def test_gpu_overlay_runs_transcription_on_cuda(rendered: dict[str, Rendered]) -> None:
    """Only the gpu overlay's transcription asks for a GPU, schedules on GPU nodes, uses cuda."""
    gpu = rendered["overlays/gpu"]
    container = gpu.service_container("transcription")
    pod = gpu.get("Deployment", "transcription")["spec"]["template"]["spec"]
    assert _gpu_limit(container) == 1
    assert pod["nodeSelector"]
    assert any(t["key"] == "nvidia.com/gpu" for t in pod["tolerations"])
    assert gpu.env_of(container)["TRANSCRIPTION_DEVICE"] == "cuda"
    assert "device" in TranscriptionSettings.model_fields
    for target in ("base", "overlays/dev", "overlays/prod"):
        cpu = rendered[target].service_container("transcription")
        assert _gpu_limit(cpu) == 0
        assert rendered[target].env_of(cpu)["TRANSCRIPTION_DEVICE"] == "cpu"


@pytest.mark.parametrize("target", OVERLAYS)
def test_images_are_tagged(rendered: dict[str, Rendered], target: str) -> None:
    """Every overlay pins a tag on callscope/<svc> images (never an implicit latest)."""
    for _, container in rendered[target].containers():
        image = container["image"]
        assert image.startswith("callscope/")
        assert ":" in image and not image.endswith(":latest"), image


@pytest.mark.parametrize("target", TARGETS)
def test_the_gateway_is_behind_an_ingress_with_tls(
    rendered: dict[str, Rendered], target: str
) -> None:
    """The Ingress sends its hosts to gateway:http and terminates TLS with a named Secret."""
    ingress = rendered[target].get("Ingress", "gateway")["spec"]
    assert ingress["tls"] and all(entry["secretName"] for entry in ingress["tls"])
    tls_hosts = {host for entry in ingress["tls"] for host in entry["hosts"]}
    for rule in ingress["rules"]:
        assert rule["host"] in tls_hosts
        for path in rule["http"]["paths"]:
            assert path["backend"]["service"] == {"name": "gateway", "port": {"name": "http"}}
