"""The NetworkPolicies allow exactly the flows in FLOWS, and FLOWS matches the code.

FLOWS is the one list of allowed traffic. It follows ARCHITECTURE.md's "speaks" column,
checked against the code: a service's gRPC egress is its `<PEER>_ADDR` settings, its Kafka,
MongoDB, S3, HTTPS-provider and SFTP traffic is what its source imports (see
`test_flows_match_the_code`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.unit.deploy.k8s import OVERLAYS, ROOT, SERVICES, Obj, Rendered


@dataclass(frozen=True)
class Flow:
    """One allowed connection: source opens a connection to target's port."""

    source: str
    target: str
    port: int
    protocol: str = "TCP"


FLOWS: tuple[Flow, ...] = (
    # gRPC, from each service's <PEER>_ADDR settings.
    Flow("gateway", "ingest", 50052),  # INGEST_ADDR
    Flow("gateway", "transcription", 50053),  # TRANSCRIPTS_ADDR
    Flow("gateway", "analysis", 50054),  # ANALYSES_ADDR
    Flow("gateway", "sftp", 50055),  # SFTP_ADDR (SftpBatches)
    Flow("ingest", "gateway", 50051),  # DIRECTORY_ADDR
    Flow("transcription", "gateway", 50051),  # DIRECTORY_ADDR
    Flow("analysis", "gateway", 50051),  # DIRECTORY_ADDR
    Flow("analysis", "transcription", 50053),  # TRANSCRIPTS_ADDR
    Flow("sftp", "gateway", 50051),  # DIRECTORY_ADDR
    Flow("sftp", "ingest", 50052),  # INGEST_ADDR
    # Kafka (the Strimzi cluster's plain listener); KEDA reads the consumer groups' lag.
    Flow("ingest", "kafka", 9092),
    Flow("transcription", "kafka", 9092),
    Flow("analysis", "kafka", 9092),
    Flow("keda", "kafka", 9092),
    # MongoDB: every service owns collections.
    Flow("gateway", "mongodb", 27017),
    Flow("ingest", "mongodb", 27017),
    Flow("transcription", "mongodb", 27017),
    Flow("analysis", "mongodb", 27017),
    Flow("sftp", "mongodb", 27017),
    # HTTPS: S3 (audio), the hosted speech providers, Claude.
    Flow("ingest", "s3", 443),
    Flow("transcription", "s3", 443),
    Flow("transcription", "speech-providers", 443),  # AssemblyAI, Deepgram
    Flow("analysis", "claude", 443),
    # SSH to the customer-facing SFTP server (SFTP_SERVER_PORT).
    Flow("sftp", "sftp-server", 22),
    # Users through the ingress controller; Prometheus scrapes every metrics port.
    Flow("ingress-controller", "gateway", 8080),
    Flow("prometheus", "gateway", 8080),
    Flow("prometheus", "ingest", 9464),
    Flow("prometheus", "transcription", 9465),
    Flow("prometheus", "analysis", 9466),
    Flow("prometheus", "sftp", 9467),
    # Name resolution, for every service.
    *(
        Flow(service, "kube-dns", 53, protocol)
        for service in SERVICES
        for protocol in ("UDP", "TCP")
    ),
)

# How each endpoint that is not a Callscope service appears in a NetworkPolicy peer.
# Endpoints outside the cluster are "any address" on their port (their CIDRs are site-specific).
PEER_OF = {
    "kafka": "pods strimzi.io/cluster=callscope,strimzi.io/kind=Kafka",
    "keda": "namespace keda",
    "kube-dns": "namespace kube-system, pods k8s-app=kube-dns",
    "ingress-controller": "namespace ingress-nginx",
    "prometheus": "namespace monitoring",
    "mongodb": "ipBlock 0.0.0.0/0",
    "s3": "ipBlock 0.0.0.0/0",
    "speech-providers": "ipBlock 0.0.0.0/0",
    "claude": "ipBlock 0.0.0.0/0",
    "sftp-server": "ipBlock 0.0.0.0/0",
}

# What in a service's source shows it talks to an endpoint (imports are the adapters in use).
CODE_MARKERS = {
    "kafka": re.compile(r"^(from|import) (aiokafka|callscope_common\.kafka)\b", re.M),
    "mongodb": re.compile(r"^from callscope_common\.mongo\b", re.M),
    "s3": re.compile(r"^from callscope_common\.storage\b", re.M),
    "speech-providers": re.compile(r"^import httpx\b", re.M),
    "claude": re.compile(r"^import anthropic\b", re.M),
    "sftp-server": re.compile(r"^import asyncssh\b", re.M),
}

Edge = tuple[str, int | str, str]


def _labels(selector: Obj | None) -> str:
    labels = (selector or {}).get("matchLabels", {})
    assert not (selector or {}).get("matchExpressions"), "matchExpressions are not compared"
    return ",".join(f"{key}={value}" for key, value in sorted(labels.items()))


def _peer(peer: Obj) -> str:
    """A NetworkPolicy peer in the words of PEER_OF (or a Callscope service's name)."""
    if "ipBlock" in peer:
        block = peer["ipBlock"]
        return f"ipBlock {block['cidr']}" + (
            f" except {block['except']}" if "except" in block else ""
        )
    parts = []
    if "namespaceSelector" in peer:
        selector = peer["namespaceSelector"]
        name = selector.get("matchLabels", {}).get("kubernetes.io/metadata.name")
        parts.append(f"namespace {name or _labels(selector)}")
    if "podSelector" in peer:
        pod_labels = peer["podSelector"].get("matchLabels", {})
        if "namespaceSelector" not in peer and set(pod_labels) == {"app.kubernetes.io/name"}:
            return str(pod_labels["app.kubernetes.io/name"])
        parts.append(f"pods {_labels(peer['podSelector'])}")
    return ", ".join(parts)


def _edges(rules: list[Obj], peers_key: str) -> set[Edge]:
    """(peer, port, protocol) for every peer x port a list of rules allows."""
    edges: set[Edge] = set()
    for rule in rules:
        peers = [_peer(peer) for peer in rule.get(peers_key, [])] or ["anyone"]
        ports = [(p.get("port", "*"), p.get("protocol", "TCP")) for p in rule.get("ports", [])]
        for peer in peers:
            for port, protocol in ports or [("*", "*")]:
                edges.add((peer, port, protocol))
    return edges


def _selects(policy: Obj, pod_labels: dict[str, str]) -> bool:
    selector = policy["spec"]["podSelector"].get("matchLabels", {})
    return all(pod_labels.get(key) == value for key, value in selector.items())


def effective_policy(rendered: Rendered, service: str) -> tuple[set[Edge], set[Edge]]:
    """(ingress, egress) edges of a service's pods: the union of every policy selecting them."""
    pod_labels = rendered.get("Deployment", service)["spec"]["template"]["metadata"]["labels"]
    ingress: set[Edge] = set()
    egress: set[Edge] = set()
    for policy in rendered.of_kind("NetworkPolicy"):
        if not _selects(policy, pod_labels):
            continue
        types = policy["spec"].get("policyTypes", ["Ingress"])
        if "Ingress" in types:
            ingress |= _edges(policy["spec"].get("ingress", []), "from")
        if "Egress" in types:
            egress |= _edges(policy["spec"].get("egress", []), "to")
    return ingress, egress


def _name(endpoint: str) -> str:
    return endpoint if endpoint in SERVICES else PEER_OF[endpoint]


def expected_policy(service: str) -> tuple[set[Edge], set[Edge]]:
    """(ingress, egress) edges FLOWS allows for a service."""
    ingress: set[Edge] = {
        (_name(f.source), f.port, f.protocol) for f in FLOWS if f.target == service
    }
    egress: set[Edge] = {
        (_name(f.target), f.port, f.protocol) for f in FLOWS if f.source == service
    }
    return ingress, egress


@pytest.mark.parametrize("target", OVERLAYS)
def test_the_namespace_denies_everything_by_default(
    rendered: dict[str, Rendered], target: str
) -> None:
    """One policy selects every pod for ingress and egress and allows nothing."""
    deny_all = [
        policy
        for policy in rendered[target].of_kind("NetworkPolicy")
        if policy["spec"]["podSelector"] == {}
        and set(policy["spec"].get("policyTypes", [])) == {"Ingress", "Egress"}
        and not policy["spec"].get("ingress")
        and not policy["spec"].get("egress")
    ]
    assert len(deny_all) == 1


@pytest.mark.parametrize("target", OVERLAYS)
@pytest.mark.parametrize("service", SERVICES)
def test_each_service_is_allowed_exactly_its_flows(
    rendered: dict[str, Rendered], target: str, service: str
) -> None:
    """Every flow in FLOWS is allowed on both ends, and nothing else is."""
    ingress, egress = effective_policy(rendered[target], service)
    want_ingress, want_egress = expected_policy(service)
    assert ingress == want_ingress, (
        f"{service} ingress: extra {ingress - want_ingress}, missing {want_ingress - ingress}"
    )
    assert egress == want_egress, (
        f"{service} egress: extra {egress - want_egress}, missing {want_egress - egress}"
    )


@pytest.mark.parametrize("target", OVERLAYS)
def test_kafka_accepts_exactly_its_clients(rendered: dict[str, Rendered], target: str) -> None:
    """The listener's networkPolicyPeers (Strimzi makes the brokers' ingress policy) = FLOWS."""
    kafka = rendered[target].get("Kafka", "callscope")
    for listener in kafka["spec"]["kafka"]["listeners"]:
        peers = {_peer(peer) for peer in listener.get("networkPolicyPeers", [])}
        want = {
            _name(f.source) for f in FLOWS if f.target == "kafka" and f.port == listener["port"]
        }
        assert peers == want, f"listener {listener['name']}"


def _source_of(service: str) -> str:
    package = ROOT / "services" / service / "src"
    return "\n".join(path.read_text() for path in sorted(Path(package).rglob("*.py")))


@pytest.mark.parametrize("service", SERVICES)
def test_flows_match_the_code(rendered: dict[str, Rendered], service: str) -> None:
    """A service's gRPC targets are its <PEER>_ADDR values; its other targets, its imports."""
    prod = rendered["overlays/prod"]
    env = prod.env_of(prod.service_container(service))
    addr_targets = {
        str(value).rsplit(":", 1)[0]
        for name, value in env.items()
        if name.endswith("_ADDR") and value is not None
    }
    table = {f.target for f in FLOWS if f.source == service}
    assert {t for t in table if t in SERVICES} == addr_targets
    source = _source_of(service)
    used = {endpoint for endpoint, marker in CODE_MARKERS.items() if marker.search(source)}
    assert {t for t in table if t in CODE_MARKERS} == used
