"""The fault suite's world: its own servers, the five services, the provider stand-ins, the
calls it sends, and the table it prints at the end of the run."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from http.cookiejar import CookieJar, DefaultCookiePolicy
from pathlib import Path

import httpx
import pytest
from callscope_gateway.adapters.mongo import MongoDirectory

from tests.faults.call_corpus import render_corpus, teach_deepgram
from tests.faults.fault_stack import FaultStack, fault_stack
from tests.faults.fault_table import TABLE_FILE, Row, markdown
from tests.faults.scenario import CALLS_PER_SCENARIO, World
from tests.support.fake_anthropic import FakeAnthropic
from tests.support.fake_deepgram import FakeDeepgram
from tests.support.people import demo_owner
from tests.support.services import RunningServices, start_services
from tests.support.sftp_server import SftpServer
from tests.support.stores import inspect_stores

ROWS = pytest.StashKey[list[Row]]()


@pytest.fixture(scope="session")
def servers() -> Iterator[FaultStack]:
    """Kafka, FerretDB, MinIO and sshd of the `faults` profile, for this suite alone."""
    with fault_stack() as stack:
        yield stack


@pytest.fixture(scope="session")
def providers() -> Iterator[tuple[FakeDeepgram, FakeAnthropic]]:
    """The Deepgram and Claude stand-ins the scenarios' campaigns use (and make fail)."""
    with FakeDeepgram() as deepgram, FakeAnthropic(min_cacheable_tokens=0) as anthropic:
        yield deepgram, anthropic


@pytest.fixture(scope="session")
async def fault_services(
    servers: FaultStack, providers: tuple[FakeDeepgram, FakeAnthropic]
) -> AsyncIterator[RunningServices]:
    """The five services against the suite's servers, with a fast watchdog and SFTP sweep."""
    deepgram, anthropic = providers
    run_id = uuid.uuid4().hex[:10]
    log_dir = servers.log_dir / run_id
    spool = log_dir / "spool"
    spool.mkdir(parents=True)
    settings = {
        "INGEST_SPOOL_DIR": str(spool),
        # A call whose stage stands still this long is re-driven: short, so that a scenario
        # whose fault strands calls drains in minutes rather than the default ten. Each scan
        # reads every call on FerretDB, so not more often than every 15 s.
        "INGEST_WATCHDOG_STALE_AFTER_S": "45",
        "INGEST_WATCHDOG_INTERVAL_S": "15",
        # A job item whose upload died with ingest is settled after this long, not 15 min,
        # so that the client's retry of that file gets an answer within the scenario.
        "INGEST_UPLOAD_CLAIM_STALE_S": "30",
        "GATEWAY_API_KEY_RATE_LIMIT_PER_MINUTE": "100000",
        "TRANSCRIPTION_DEEPGRAM_API_KEY": deepgram.api_key,
        "TRANSCRIPTION_DEEPGRAM_BASE_URL": deepgram.base_url,
        "ANALYSIS_ANTHROPIC_API_KEY": anthropic.api_key,
        "ANALYSIS_ANTHROPIC_BASE_URL": anthropic.base_url,
        "SFTP_SWEEP_INTERVAL_S": "1",
        "SFTP_SETTLE_S": "1.5",
        "SFTP_LEASE_S": "4",
        **servers.sftp_settings(),
    }
    running = await start_services(servers.infra, log_dir, run_id, settings)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="session")
def fault_sftp_server(
    servers: FaultStack, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SftpServer | None]:
    """The suite's SFTP server as its customers see it; None where sshd cannot run."""
    env = servers.env
    if env.get("CALLSCOPE_SFTP_UNAVAILABLE"):
        yield None
        return
    server = SftpServer(
        host=env["SFTP_SERVER_HOST"],
        port=int(env["SFTP_SERVER_PORT"]),
        sweeper_user=env["SFTP_SERVER_USER"],
        sweeper_key=Path(env["SFTP_SERVER_KEY_FILE"]),
        host_key=env["SFTP_SERVER_HOST_KEY"],
        base=Path(env["CALLSCOPE_SFTP_BASE"]),
        work_dir=tmp_path_factory.mktemp("fault-sftp"),
    )
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(scope="session")
async def world(
    servers: FaultStack,
    providers: tuple[FakeDeepgram, FakeAnthropic],
    fault_services: RunningServices,
    fault_sftp_server: SftpServer | None,
    tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
) -> AsyncIterator[World]:
    """Everything a scenario needs, and the list its rows go to."""
    deepgram, anthropic = providers
    corpus = render_corpus(tmp_path_factory.mktemp("fault-calls"), CALLS_PER_SCENARIO)
    teach_deepgram(deepgram, corpus)
    no_cookies = CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))
    async with (
        httpx.AsyncClient(
            base_url=fault_services.gateway_url, timeout=60, cookies=no_cookies
        ) as api,
        inspect_stores(servers.infra, fault_services.database, fault_services.bucket) as stores,
    ):
        yield World(
            api=api,
            stores=stores,
            services=fault_services,
            servers=servers,
            deepgram=deepgram,
            anthropic=anthropic,
            sftp_server=fault_sftp_server,
            corpus=corpus,
            owner=await demo_owner(api, fault_services),
            directory=MongoDirectory(stores.mongo[fault_services.database]),
            rows=request.config.stash.setdefault(ROWS, []),
        )


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config
) -> None:
    """Prints the scenarios' table after the run (it is also in .local/artifacts)."""
    rows = config.stash.get(ROWS, [])
    if rows:
        terminalreporter.section("fault-injection suite")
        terminalreporter.write(markdown(rows))
        terminalreporter.write_line(f"(also in {TABLE_FILE.relative_to(TABLE_FILE.parents[2])})")
