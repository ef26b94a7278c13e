"""deploy/compose/compose.yaml: healthy start order, loopback-only ports, no inline secrets,
and only environment variables the services' settings classes actually read."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

# PyYAML comes with the dev group (through schemathesis) and ships no type stubs.
import yaml  # type: ignore[import-untyped, unused-ignore]
from callscope.v1 import events_pb2, options_pb2
from callscope_analysis.settings import AnalysisSettings
from callscope_common.settings import InfraSettings
from callscope_common.tracing import TracingSettings
from callscope_gateway.settings import GatewaySettings
from callscope_ingest.settings import IngestSettings
from callscope_sftp.settings import SftpSettings
from callscope_transcription.settings import TranscriptionSettings
from pydantic_settings import BaseSettings

ROOT = Path(__file__).resolve().parents[3]
COMPOSE_DIR = ROOT / "deploy" / "compose"
SETTINGS: dict[str, type[InfraSettings]] = {
    "gateway": GatewaySettings,
    "ingest": IngestSettings,
    "transcription": TranscriptionSettings,
    "analysis": AnalysisSettings,
    "sftp": SftpSettings,
}
SECRET_NAME = re.compile(r"KEY|SECRET|PASSWORD|TOKEN|PEPPER")
# A whole value that is one compose reference: ${NAME}, ${NAME:?message}, ${NAME:-default}.
REFERENCE = re.compile(r"^\$\{[A-Z][A-Z0-9_]*(?::?[?-][^}]*)?\}$")
# The password of a URL's user info (scheme://user:password@host).
URL_PASSWORD = re.compile(r"://[^/:@\s]+:([^@\s]+)@")
# One-shot jobs (topic and bucket creation): they exit, so they are waited for by completion.
ONE_SHOT = {"kafka-init", "minio-init"}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    """compose.yaml as compose reads it (YAML merge keys applied)."""
    loaded = yaml.safe_load((COMPOSE_DIR / "compose.yaml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every service of the file by name."""
    found = compose["services"]
    assert isinstance(found, dict)
    return found


def callscope_service(definition: dict[str, Any]) -> str | None:
    """The Callscope service a compose service builds (services/<svc>/Dockerfile), if any."""
    dockerfile = str(definition.get("build", {}).get("dockerfile", ""))
    match = re.fullmatch(r"services/([a-z]+)/Dockerfile", dockerfile)
    return match.group(1) if match else None


def environment(definition: dict[str, Any]) -> dict[str, str]:
    """A service's environment as a mapping, whichever of compose's two forms it uses."""
    env = definition.get("environment", {})
    if isinstance(env, list):
        return dict(str(item).partition("=")[::2] for item in env)
    return {str(name): str(value) for name, value in env.items()}


def env_names(settings: type[BaseSettings]) -> dict[str, bool]:
    """Each variable the class reads (prefix + field, or its alias) and whether it is required."""
    prefix = str(settings.model_config.get("env_prefix", ""))
    names: dict[str, bool] = {}
    for field_name, info in settings.model_fields.items():
        alias = info.validation_alias
        name = alias if isinstance(alias, str) else f"{prefix}{field_name}"
        names[name.upper()] = info.is_required()
    return names


def test_the_five_services_are_built_from_their_dockerfiles(compose: dict[str, Any]) -> None:
    built = {name: svc for name, d in services(compose).items() if (svc := callscope_service(d))}

    assert sorted(built.values()) == sorted(SETTINGS)
    assert all(name == svc for name, svc in built.items())
    for svc in SETTINGS:
        assert services(compose)[svc]["build"]["context"] == "../..", f"{svc}: not the repo root"


def test_every_long_running_service_has_a_healthcheck(compose: dict[str, Any]) -> None:
    for name, definition in services(compose).items():
        if name in ONE_SHOT:
            assert definition.get("restart") == "no", f"{name}: a one-shot job must not restart"
            continue
        check = definition.get("healthcheck", {})
        assert check.get("test") and not check.get("disable"), f"{name}: no healthcheck"


def test_callscope_healthchecks_use_the_grpc_port(compose: dict[str, Any]) -> None:
    for svc, settings in SETTINGS.items():
        test = services(compose)[svc]["healthcheck"]["test"]
        command = " ".join(test) if isinstance(test, list) else str(test)
        port = environment(services(compose)[svc])[
            f"{settings.model_config['env_prefix']}GRPC_PORT"
        ]
        assert f"callscope-healthcheck {port}" in command, f"{svc}: {command}"


def test_depends_on_waits_for_health(compose: dict[str, Any]) -> None:
    for name, definition in services(compose).items():
        depends = definition.get("depends_on", {})
        assert isinstance(depends, dict), f"{name}: depends_on without conditions"
        for dependency, spec in depends.items():
            expected = (
                "service_completed_successfully" if dependency in ONE_SHOT else "service_healthy"
            )
            assert spec.get("condition") == expected, f"{name} -> {dependency}"


def test_every_dependency_exists_and_the_order_has_no_cycle(compose: dict[str, Any]) -> None:
    graph = {
        name: set(definition.get("depends_on", {}))
        for name, definition in services(compose).items()
    }
    started: set[str] = set()
    while len(started) < len(graph):
        ready = {name for name, deps in graph.items() if name not in started and deps <= started}
        assert ready, f"no start order for {sorted(set(graph) - started)}"
        started |= ready


def test_published_ports_bind_loopback_only(compose: dict[str, Any]) -> None:
    for name, definition in services(compose).items():
        for port in definition.get("ports", []):
            if isinstance(port, dict):
                assert port.get("host_ip") == "127.0.0.1", f"{name}: {port}"
            else:
                assert str(port).startswith("127.0.0.1:"), f"{name}: {port} is not on loopback"


def test_no_secret_is_written_inline(compose: dict[str, Any]) -> None:
    for name, definition in services(compose).items():
        for variable, value in environment(definition).items():
            if variable.endswith("_FILE"):
                # A path, not a secret: it must name a compose secret's mount.
                if SECRET_NAME.search(variable):
                    assert value.startswith("/run/secrets/"), f"{name}: {variable}={value}"
                continue
            if SECRET_NAME.search(variable):
                assert REFERENCE.match(value), f"{name}: {variable} is written inline"
            for password in URL_PASSWORD.findall(value):
                assert REFERENCE.match(password), f"{name}: {variable} has an inline password"


def test_compose_secrets_come_from_files(compose: dict[str, Any]) -> None:
    for name, secret in compose.get("secrets", {}).items():
        assert set(secret) == {"file"}, f"secret {name}: only `file:` keeps values out of here"


def test_services_get_only_variables_their_settings_read(compose: dict[str, Any]) -> None:
    for svc, settings in SETTINGS.items():
        read = env_names(settings) | env_names(TracingSettings)
        given = environment(services(compose)[svc])

        unknown = sorted(set(given) - set(read))
        missing = sorted(name for name, required in read.items() if required and name not in given)
        assert not unknown, f"{svc}: its settings read no {unknown}"
        assert not missing, f"{svc}: required {missing} not given"


def test_peer_addresses_name_the_peers_grpc_port(compose: dict[str, Any]) -> None:
    peers = {
        "DIRECTORY_ADDR": "gateway",
        "INGEST_ADDR": "ingest",
        "TRANSCRIPTS_ADDR": "transcription",
        "ANALYSES_ADDR": "analysis",
        "SFTP_ADDR": "sftp",
    }
    for svc in SETTINGS:
        for variable, value in environment(services(compose)[svc]).items():
            if variable in peers:
                peer = peers[variable]
                port = SETTINGS[peer].model_fields["grpc_port"].default
                assert value == f"{peer}:{port}", f"{svc}: {variable}={value}"


def test_kafka_init_creates_every_contract_topic(compose: dict[str, Any]) -> None:
    contract_topics = {
        topic
        for message in events_pb2.DESCRIPTOR.message_types_by_name.values()
        if (topic := message.GetOptions().Extensions[options_pb2.topic])
    }
    init = services(compose)["kafka-init"]

    created = set(environment(init)["CALLSCOPE_TOPICS"].split())
    command = " ".join(init["command"])

    assert contract_topics, "no topics found in the contracts"
    assert created == contract_topics
    assert '"$$topic.dlq"' in command, "the .dlq topics are not created"
    assert services(compose)["kafka"]["environment"]["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"


def test_images_are_pinned(compose: dict[str, Any]) -> None:
    for name, definition in services(compose).items():
        image = definition.get("image")
        if image is None or "build" in definition:
            continue
        repository, _, tag = str(image).rpartition(":")
        assert repository and tag and tag != "latest", f"{name}: {image} is not pinned"
        assert re.search(r"\d", tag), f"{name}: {image} names no version"


def test_the_env_example_gives_every_required_reference(compose: dict[str, Any]) -> None:
    text = (COMPOSE_DIR / "compose.yaml").read_text()
    required = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*):\?", text))
    example = {
        line.partition("=")[0]
        for line in (COMPOSE_DIR / ".env.example").read_text().splitlines()
        if line and not line.startswith("#")
    }

    assert required <= example, f"missing from .env.example: {sorted(required - example)}"
