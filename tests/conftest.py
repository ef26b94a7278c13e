"""Test tiers: markers by folder, and session-scoped real servers and service processes."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.fake_anthropic import FakeAnthropic
from tests.support.fake_assemblyai import FakeAssemblyAI
from tests.support.fake_deepgram import FakeDeepgram
from tests.support.infra import Infra, infra_from_environment
from tests.support.services import RunningServices, start_services
from tests.support.sftp_server import SftpServer, sftp_server_from_environment

ROOT = Path(__file__).resolve().parent.parent
_TIERS = ("unit", "integration", "e2e")
E2E_MAX_UPLOAD_BYTES = 8 * 1024 * 1024


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Marks each test with the tier of the folder it lives in."""
    for item in items:
        parts = Path(item.fspath).relative_to(ROOT / "tests").parts
        if parts and parts[0] in _TIERS:
            item.add_marker(getattr(pytest.mark, parts[0]))


@pytest.fixture(scope="session")
def run_id() -> str:
    """Unique per test session: names databases, buckets and consumer groups."""
    return uuid.uuid4().hex[:10]


@pytest.fixture(scope="session")
def infra() -> Infra:
    """The real Kafka, MongoDB-wire and S3 servers started by `make test`."""
    return infra_from_environment()


@pytest.fixture(scope="session")
def sftp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SftpServer]:
    """The real OpenSSH SFTP server started by `make test`; what the session made is removed."""
    server = sftp_server_from_environment(tmp_path_factory.mktemp("sftp"))
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(autouse=True)
def _sftp_accounts_of_each_test(request: pytest.FixtureRequest) -> Iterator[None]:
    """Customer accounts a test makes are removed when it ends (session-wide ones stay)."""
    if "sftp_server" not in request.fixturenames:
        yield
        return
    server: SftpServer = request.getfixturevalue("sftp_server")
    with server.removing_new_accounts():
        yield


@dataclass(frozen=True)
class HostedProviders:
    """The local stand-ins for the hosted APIs the services are pointed at."""

    assemblyai: FakeAssemblyAI
    deepgram: FakeDeepgram
    anthropic: FakeAnthropic


@pytest.fixture(scope="session")
def hosted_providers() -> Iterator[HostedProviders]:
    """AssemblyAI, Deepgram and Anthropic stand-ins on loopback, started once per session.

    Test calls are short, so the Anthropic stand-in caches prefixes of any length (the
    real API's 1,024-token minimum would leave every test transcript uncached).
    """
    with (
        FakeAssemblyAI() as assemblyai,
        FakeDeepgram() as deepgram,
        FakeAnthropic(min_cacheable_tokens=0) as anthropic,
    ):
        yield HostedProviders(assemblyai, deepgram, anthropic)


@pytest.fixture(scope="session")
async def services(
    infra: Infra, run_id: str, hosted_providers: HostedProviders
) -> AsyncIterator[RunningServices]:
    """All five services as processes against the real servers, started once per session."""
    data_dir = Path(os.environ.get("CALLSCOPE_DATA_DIR", ROOT / ".local" / "data" / "test"))
    log_dir = data_dir / "logs" / run_id
    spool = log_dir / "spool"
    spool.mkdir(parents=True, exist_ok=True)
    settings = {
        # A small size limit lets a test prove the cut-off without a 500 MB file.
        "INGEST_MAX_UPLOAD_BYTES": str(E2E_MAX_UPLOAD_BYTES),
        # A spool folder of our own, so tests can see that nothing is left in it.
        "INGEST_SPOOL_DIR": str(spool),
        # Tests poll with the demo key from many tasks at once; the limit itself is proven
        # with keys of their own small limits (tests/e2e/test_rate_limit.py).
        "GATEWAY_API_KEY_RATE_LIMIT_PER_MINUTE": "100000",
        # The hosted providers are their local stand-ins (tests/support/fake_*.py), reached
        # through the services' real HTTP clients.
        "TRANSCRIPTION_ASSEMBLYAI_API_KEY": hosted_providers.assemblyai.api_key,
        "TRANSCRIPTION_ASSEMBLYAI_BASE_URL": hosted_providers.assemblyai.base_url,
        "TRANSCRIPTION_ASSEMBLYAI_POLL_INTERVAL_S": "0.2",
        "TRANSCRIPTION_DEEPGRAM_API_KEY": hosted_providers.deepgram.api_key,
        "TRANSCRIPTION_DEEPGRAM_BASE_URL": hosted_providers.deepgram.base_url,
        "ANALYSIS_ANTHROPIC_API_KEY": hosted_providers.anthropic.api_key,
        "ANALYSIS_ANTHROPIC_BASE_URL": hosted_providers.anthropic.base_url,
        "ANALYSIS_CLAUDE_BATCH_INTERVAL_S": "0.5",
        "ANALYSIS_CLAUDE_MAX_ATTEMPTS": "3",
        # SFTP: sweeps every second, files settle in 1.5 s, short leases so that a killed
        # replica's campaigns move on within seconds (tests/e2e/test_sftp_ingestion.py).
        "SFTP_SWEEP_INTERVAL_S": "1",
        "SFTP_SETTLE_S": "1.5",
        "SFTP_LEASE_S": "4",
    }
    running = await start_services(infra, log_dir, run_id, settings)
    try:
        yield running
    finally:
        running.stop()
