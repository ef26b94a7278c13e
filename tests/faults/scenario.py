"""One scenario: a fresh campaign, its calls sent while a fault strikes, the drain, the audit.

Calls go through three doors at once, as they do in production: most through
`POST /api/v1/calls/upload`, every tenth as a file of one bulk CSV job, and (for the
scenario that kills the sftp service) every tenth through the campaign's SFTP drop folder.
A few clients send concurrently; once 30 % of the files have been acknowledged the fault
is injected, and the clients keep sending through it, retrying as real clients do.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import httpx
from callscope_gateway.adapters.mongo import MongoDirectory
from callscope_gateway.domain.api_keys import generate_api_key

from tests.faults import cpu_usage
from tests.faults.call_corpus import CallFile
from tests.faults.fault_stack import FaultStack
from tests.faults.fault_table import Row, write_table
from tests.faults.patient_client import Delivery, PatientClient
from tests.faults.pipeline_audit import audit, wait_for_drain
from tests.support.fake_anthropic import FakeAnthropic
from tests.support.fake_deepgram import FakeDeepgram
from tests.support.people import Person
from tests.support.polling import wait_for
from tests.support.services import RunningServices
from tests.support.sftp_server import CustomerAccount, SftpServer
from tests.support.stores import StoreInspector

# The 200; a smaller number makes a quick local run (docs/testing.md).
CALLS_PER_SCENARIO = int(os.environ.get("CALLSCOPE_FAULT_CALLS", "200"))
CONCURRENT_CLIENTS = 4
FAULT_AFTER_SHARE = 0.3  # of the files acknowledged
EVERY_NTH_BULK = 10
EVERY_NTH_SFTP = 10
# The drain gives up when no call has moved for DRAIN_STALL_S (longer than the watchdog
# needs to notice a stuck call: 45 s stale + the call's length + its 5 s scan), or at the cap.
DRAIN_STALL_S = 240.0
DRAIN_CAP_S = 1500.0
HEALTHY_TIMEOUT_S = 180.0
CLAUDE_MODEL = "claude-haiku-4-5"
TABLE_NOTES = (
    f"Each row: {CALLS_PER_SCENARIO} distinct calls sent while the fault strikes (after 30 % "
    "were acknowledged). *calls*: files sent; *completed*/*failed*: their calls' final "
    "status (failed with the stage and reason); *duplicates*: DUPLICATE calls that client "
    "retries made (each resolved to its original); *lost*: acknowledged (or dropped by SFTP) "
    "files without exactly the call they were acknowledged as; *in DLQ*: the scenario's "
    "calls found in a `<topic>.dlq`; *time to drain*: from the last file sent and the fault "
    "over to every call terminal. Calls use the Deepgram and Claude stand-ins "
    "(tests/support/fake_*.py)."
)

Fault = Callable[["Scenario"], Awaitable[str]]
"""Injects the fault into a running scenario; returns a note on what happened."""


@dataclass
class World:
    """The suite's servers, services, stand-ins and calls (made once per run)."""

    api: httpx.AsyncClient
    stores: StoreInspector
    services: RunningServices
    servers: FaultStack
    deepgram: FakeDeepgram
    anthropic: FakeAnthropic
    sftp_server: SftpServer | None
    corpus: list[CallFile]
    owner: Person
    directory: MongoDirectory
    rows: list[Row]

    def pids(self) -> dict[str, int]:
        """The process of every service and server, and this one (clients and stand-ins)."""
        pids = {name: process.pid for name, process in self.services.processes.items()}
        pids.update({name: server.proc.pid for name, server in self.servers.servers.items()})
        return {**pids, "tests": os.getpid()}


@dataclass
class DropFolder:
    """The campaign's SFTP folder and the customer account that drops files into it."""

    server: SftpServer
    account: CustomerAccount
    slug: str


@dataclass
class Scenario:
    """One run of the calls against one fault, and what came of each file."""

    name: str
    world: World
    campaign_id: str
    key: str
    job_id: str = ""
    job_items: dict[str, str] = field(default_factory=dict)  # file name -> item id
    drop_folder: DropFolder | None = None
    deliveries: list[Delivery] = field(default_factory=list)

    @property
    def slug(self) -> str:
        """The name as it may appear in file and folder names."""
        return re.sub(r"[^a-z0-9]+", "-", self.name.lower()).strip("-")

    @property
    def acknowledged(self) -> int:
        """Files the system has confirmed so far."""
        return sum(d.acknowledged for d in self.deliveries)


async def run_scenario(
    world: World,
    name: str,
    fault: Fault,
    *,
    with_sftp: bool = False,
    failure_allowed: Callable[[str], bool] = lambda _reason: False,
) -> list[str]:
    """Runs the scenario, records its row and returns every broken guarantee."""
    await wait_until_healthy(world)
    cpu_before = cpu_usage.snapshot(world.pids())
    scenario = await _new_scenario(world, name)
    files = world.corpus
    bulk = [f for f in files if f.number % EVERY_NTH_BULK == 0]
    dropped = [f for f in files if with_sftp and f.number % EVERY_NTH_SFTP == 5]
    await _create_job(scenario, bulk)
    if dropped:
        scenario.drop_folder = await _open_drop_folder(scenario)
    sends = [_send(scenario, call_file, bulk, dropped) for call_file in files]
    sending = time.monotonic()
    note, fault_error = await _drive(scenario, sends, fault)
    note += f"; all sent in {time.monotonic() - sending:.0f} s"
    sent = [d for d in scenario.deliveries if d.acknowledged or d.source == "SFTP"]
    drain_s = await wait_for_drain(
        world.stores,
        scenario.campaign_id,
        {d.call_file.sha256 for d in sent},
        stall_s=DRAIN_STALL_S,
        cap_s=DRAIN_CAP_S,
    )
    used = cpu_usage.spent(cpu_before, cpu_usage.snapshot(world.pids()))
    note += f"; CPU s until drained: {cpu_usage.describe(used)}"
    findings = await audit(
        world.stores,
        world.api,
        scenario.key,
        campaign_id=scenario.campaign_id,
        deliveries=scenario.deliveries,
        job_ids=[scenario.job_id],
        bootstrap_servers=world.servers.infra.kafka_bootstrap_servers,
    )
    problems = findings.problems(failure_allowed)
    if fault_error:
        problems.append(f"the fault itself: {fault_error}")
    if drain_s is None:
        problems.append(f"not drained: no call moved for {DRAIN_STALL_S:.0f} s, or past the cap")
    _record(world, Row(name, findings, drain_s, problems, note))
    if not problems:  # what went wrong stays in the database, to be looked at
        await _forget(scenario)
    return problems


def failed_with(*patterns: str) -> Callable[[str], bool]:
    """A failure_allowed that accepts reasons matching any of the regular expressions."""
    compiled = [re.compile(pattern) for pattern in patterns]
    return lambda reason: any(pattern.search(reason) for pattern in compiled)


async def wait_until_healthy(world: World) -> None:
    """Every server and service answers (a previous scenario may have just restarted one)."""

    async def everything_up() -> bool:
        down = await world.servers.down() + await world.services.unhealthy()
        return not down

    await wait_for(
        everything_up,
        timeout_s=HEALTHY_TIMEOUT_S,
        interval_s=1.0,
        describe="every server and service to be healthy",
    )


async def _new_scenario(world: World, name: str) -> Scenario:
    """A campaign of the demo organisation on Deepgram and Claude, with its own API key."""
    created = await world.api.post(
        "/api/v1/campaigns",
        headers=world.owner.headers,
        json={
            "name": f"Faults {name} {uuid.uuid4().hex[:6]}",
            "transcription_provider": "deepgram",
            "evaluator": "claude",
            "claude_model": CLAUDE_MODEL,
        },
    )
    assert created.status_code == 201, created.text
    campaign_id = created.json()["id"]
    key = generate_api_key()
    await world.directory.store_api_key(world.owner.org_id, campaign_id, key)
    return Scenario(name, world, campaign_id, key.raw)


async def _create_job(scenario: Scenario, files: list[CallFile]) -> None:
    """A bulk CSV job with one row per file; the files are sent later, among the others."""
    names = [_file_name(scenario, f) for f in files]
    rows = "".join(
        f"{name},Agent {n},INBOUND,2026-02-{n % 28 + 1:02d}\n" for n, name in enumerate(names)
    )
    response = await scenario.world.api.post(
        f"/api/v1/campaigns/{scenario.campaign_id}/bulk-jobs",
        headers={"X-API-Key": scenario.key},
        data={"file_name": names},
        files={
            "csv": ("calls.csv", f"file_name,agent_name,call_type,call_date\n{rows}", "text/csv")
        },
    )
    assert response.status_code == 201, response.text
    job = response.json()["job"]
    scenario.job_id = job["id"]
    scenario.job_items = {item["file_name"]: item["id"] for item in job["items"]}


async def _open_drop_folder(scenario: Scenario) -> DropFolder:
    """SFTP on for the campaign (CSV optional, 3 s batches) and a customer account for it."""
    world = scenario.world
    assert world.sftp_server is not None, "no SFTP server on this machine"
    slug = f"faults-{uuid.uuid4().hex[:6]}"
    response = await world.api.patch(
        f"/api/v1/campaigns/{scenario.campaign_id}",
        headers=world.owner.headers,
        json={
            "sftp": {
                "enabled": True,
                "folder_slug": slug,
                "csv": "optional",
                "batch_window_seconds": 3,
                "agent_file_name_pattern": "",
            }
        },
    )
    assert response.status_code == 200, response.text
    org_folder = response.json()["sftp"]["upload_path"].strip("/").split("/")[0]
    world.sftp_server.provision_org(org_folder)
    folder = world.sftp_server.org_dir(org_folder) / slug

    async def swept_once() -> bool:
        return (folder / "processed").is_dir()

    await wait_for(swept_once, timeout_s=30, describe=f"the sftp service to create {slug}/")
    return DropFolder(world.sftp_server, world.sftp_server.customer(org_folder), slug)


def _file_name(scenario: Scenario, call_file: CallFile) -> str:
    return f"{scenario.slug}-{call_file.number:04d}.wav"


def _send(
    scenario: Scenario, call_file: CallFile, bulk: list[CallFile], dropped: list[CallFile]
) -> Callable[[], Awaitable[Delivery]]:
    """How this file travels: as a job's file, through the drop folder, or uploaded."""
    client = PatientClient(scenario.world.api, scenario.key)
    name = _file_name(scenario, call_file)
    if call_file in bulk:
        return lambda: client.put_job_file(call_file, scenario.job_id, scenario.job_items[name])
    if call_file in dropped:
        return lambda: _drop(scenario, call_file, name)
    return lambda: client.upload(call_file, name)


async def _drop(scenario: Scenario, call_file: CallFile, name: str) -> Delivery:
    """Puts the file into the drop folder with the real `sftp` client."""
    folder = scenario.drop_folder
    assert folder is not None
    result = await folder.server.sftp_async(
        folder.account, [f'put "{call_file.path}" "{folder.slug}/{name}"']
    )
    delivery = Delivery(call_file, "SFTP", answers=[f"sftp exit {result.returncode}"])
    if not result.ok:
        delivery.refusal = result.output[-300:]
    return delivery


async def _drive(
    scenario: Scenario, sends: list[Callable[[], Awaitable[Delivery]]], fault: Fault
) -> tuple[str, str]:
    """Sends every file with a few concurrent clients and injects the fault on the way.

    Returns the fault's note and, if the fault itself could not be carried out, why.
    """
    queue: asyncio.Queue[Callable[[], Awaitable[Delivery]]] = asyncio.Queue()
    for send in sends:
        queue.put_nowait(send)
    threshold = round(len(sends) * FAULT_AFTER_SHARE)
    reached = asyncio.Event()

    async def client() -> None:
        while not queue.empty():
            delivery = await queue.get_nowait()()
            scenario.deliveries.append(delivery)
            if scenario.acknowledged + _dropped(scenario) >= threshold:
                reached.set()

    async def strike() -> str:
        await reached.wait()
        return await fault(scenario)

    striking = asyncio.create_task(strike())
    await asyncio.gather(*(client() for _ in range(CONCURRENT_CLIENTS)))
    reached.set()  # even if too few were acknowledged: the fault must still happen
    try:
        return await striking, ""
    except AssertionError as error:
        return "", str(error)


async def _forget(scenario: Scenario) -> None:
    """Deletes the drained scenario's calls, fingerprints, versions and job.

    FerretDB's SQLite backend uses no index but `_id`: every query on the calls scans
    them all, and the services' pollers (relay, watchdog, metrics) query them every few
    seconds. Left in place, each scenario's 200 calls would make every later scenario
    slower, and their drain times incomparable; they are audited by now.
    """
    database = scenario.world.stores.mongo[scenario.world.stores.database]
    call_ids = [
        document["_id"]
        async for document in database["calls"].find(
            {"campaign_id": scenario.campaign_id}, projection={"_id": 1}
        )
    ]
    await database["calls"].delete_many({"campaign_id": scenario.campaign_id})
    for collection in ("call_fingerprints", "transcripts", "analyses"):
        await database[collection].delete_many({"call_id": {"$in": call_ids}})
    await database["bulk_job_items"].delete_many({"job_id": scenario.job_id})
    await database["bulk_jobs"].delete_one({"_id": scenario.job_id})


def _dropped(scenario: Scenario) -> int:
    return sum(d.source == "SFTP" and not d.refusal for d in scenario.deliveries)


def _record(world: World, row: Row) -> None:
    world.rows.append(row)
    write_table(world.rows, TABLE_NOTES)
