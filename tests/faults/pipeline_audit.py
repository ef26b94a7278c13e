"""After a fault: wait until the scenario's calls are terminal, then check every guarantee.

The checks read what the services stored (ingest's `calls`, transcription's `transcripts`,
analysis's `analyses`), what the gateway answers for bulk jobs, and what the broker's
dead-letter topics hold; they compare that with what the client was told (each
acknowledged call) and what it sent (each file, by its SHA-256).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.faults.dead_letters import dead_letter_keys
from tests.faults.patient_client import Delivery
from tests.support.stores import StoreInspector

TERMINAL = frozenset({"COMPLETED", "FAILED", "DUPLICATE"})
DRAIN_POLL_S = 15.0  # each poll scans every call on FerretDB (2-4 s of its CPU)


@dataclass(frozen=True)
class StoredCall:
    """What ingest stored of one call."""

    id: str
    status: str
    history: tuple[str, ...]
    sha256: str
    duplicate_of: str
    failure: str
    job_id: str

    def describe(self) -> str:
        """The call for a failure message: id, status and how it got there."""
        failure = f" ({self.failure})" if self.failure else ""
        return f"{self.id} {self.status}{failure} via {' > '.join(self.history)}"


async def stored_calls(stores: StoreInspector, campaign_id: str) -> list[StoredCall]:
    """Every call of the campaign."""
    documents = (
        await stores.mongo[stores.database]["calls"]
        .find(
            {"campaign_id": campaign_id},
            projection={
                "status": 1,
                "status_history": 1,
                "audio": 1,
                "duplicate_of": 1,
                "failure": 1,
                "job_id": 1,
            },
        )
        .to_list()
    )
    return [_stored_call(document) for document in documents]


def _stored_call(document: dict[str, Any]) -> StoredCall:
    failure = document.get("failure") or {}
    return StoredCall(
        id=document["_id"],
        status=document["status"],
        history=tuple(entry["status"] for entry in document.get("status_history") or ()),
        sha256=(document.get("audio") or {}).get("sha256", ""),
        duplicate_of=document.get("duplicate_of") or "",
        failure=f"{failure.get('stage', '?')}: {failure.get('reason', '?')}" if failure else "",
        job_id=document.get("job_id") or "",
    )


async def wait_for_drain(
    stores: StoreInspector, campaign_id: str, expected: set[str], *, stall_s: float, cap_s: float
) -> float | None:
    """Seconds until every expected file (SHA-256) has a call and every call is terminal.

    None when the calls stopped moving for stall_s (no call changed status or history:
    what is left is stuck) or the whole wait passed cap_s; the audit then says which calls
    are not terminal. A backlog that keeps moving is waited for, however slow the machine.
    """
    started = last_move = time.monotonic()
    seen: tuple[tuple[str, str, int], ...] = ()
    while True:
        calls = await stored_calls(stores, campaign_id)
        originals = {call.sha256 for call in calls if call.status != "DUPLICATE"}
        if expected <= originals and all(call.status in TERMINAL for call in calls):
            return time.monotonic() - started
        now = time.monotonic()
        state = tuple(sorted((call.id, call.status, len(call.history)) for call in calls))
        if state != seen:
            seen, last_move = state, now
        if now - last_move > stall_s or now - started > cap_s:
            return None
        await asyncio.sleep(DRAIN_POLL_S)


@dataclass
class Findings:
    """Everything the audit found about one scenario's calls."""

    files: int
    completed: int = 0
    failed: Counter[str] = field(default_factory=Counter)
    duplicates: int = 0
    lost: list[str] = field(default_factory=list)
    not_terminal: list[str] = field(default_factory=list)
    several_terminal: list[str] = field(default_factory=list)
    doubled: list[str] = field(default_factory=list)
    versions: list[str] = field(default_factory=list)
    dangling: list[str] = field(default_factory=list)
    unsent: list[str] = field(default_factory=list)
    jobs: list[str] = field(default_factory=list)
    dead_letters: list[str] = field(default_factory=list)
    failures: list[StoredCall] = field(default_factory=list)

    def problems(self, failure_allowed: Callable[[str], bool]) -> list[str]:
        """Every broken guarantee; a FAILED call counts unless the scenario explains its
        failure (`<stage>: <reason>`)."""
        unexplained = [c.describe() for c in self.failures if not failure_allowed(c.failure)]
        labelled = (
            ("never acknowledged", self.unsent),
            ("lost", self.lost),
            ("not terminal", self.not_terminal),
            ("more than one terminal status", self.several_terminal),
            ("one file, several calls", self.doubled),
            ("not exactly one transcript and one analysis", self.versions),
            ("duplicate of a call that does not exist", self.dangling),
            ("bulk job counts", self.jobs),
            ("in a DLQ", self.dead_letters),
            ("FAILED without a reason this fault explains", unexplained),
        )
        return [f"{label}: {item}" for label, items in labelled for item in items]


async def audit(
    stores: StoreInspector,
    api: httpx.AsyncClient,
    key: str,
    *,
    campaign_id: str,
    deliveries: list[Delivery],
    job_ids: Iterable[str],
    bootstrap_servers: str,
) -> Findings:
    """Checks the scenario's calls against what was sent and what the client was told."""
    calls = await stored_calls(stores, campaign_id)
    by_id = {call.id: call for call in calls}
    findings = Findings(files=len(deliveries))
    _check_calls(findings, calls, by_id)
    await _check_versions(findings, stores, calls)
    _check_files(findings, deliveries, calls, by_id)
    for job_id in job_ids:
        await _check_job(findings, api, key, job_id, calls)
    dlq = await dead_letter_keys(bootstrap_servers)
    for topic, keys in sorted(dlq.items()):
        findings.dead_letters += [f"{topic}: {by_id[k].describe()}" for k in keys if k in by_id]
    return findings


def _check_calls(findings: Findings, calls: list[StoredCall], by_id: dict[str, StoredCall]) -> None:
    for call in calls:
        if call.status == "COMPLETED":
            findings.completed += 1
        elif call.status == "FAILED":
            findings.failed[call.failure] += 1
            findings.failures.append(call)
        elif call.status == "DUPLICATE":
            findings.duplicates += 1
            if call.duplicate_of not in by_id:
                findings.dangling.append(call.describe())
        else:
            findings.not_terminal.append(call.describe())
        if sum(status in TERMINAL for status in call.history) > 1:
            findings.several_terminal.append(call.describe())


async def _check_versions(
    findings: Findings, stores: StoreInspector, calls: list[StoredCall]
) -> None:
    completed = [call.id for call in calls if call.status == "COMPLETED"]
    database = stores.mongo[stores.database]
    counts = {}
    for collection in ("transcripts", "analyses"):
        documents = (
            await database[collection]
            .find({"call_id": {"$in": completed}}, projection={"call_id": 1})
            .to_list()
        )
        counts[collection] = Counter(document["call_id"] for document in documents)
    for call_id in completed:
        transcripts, analyses = counts["transcripts"][call_id], counts["analyses"][call_id]
        if (transcripts, analyses) != (1, 1):
            findings.versions.append(f"{call_id}: {transcripts} transcripts, {analyses} analyses")


def _check_files(
    findings: Findings,
    deliveries: list[Delivery],
    calls: list[StoredCall],
    by_id: dict[str, StoredCall],
) -> None:
    originals: dict[str, list[StoredCall]] = {}
    for call in calls:
        if call.status != "DUPLICATE":
            originals.setdefault(call.sha256, []).append(call)
    for delivery in deliveries:
        name = f"{delivery.source} file {delivery.call_file.number}"
        if delivery.refusal:
            findings.unsent.append(f"{name}: {delivery.refusal}")
        held = originals.get(delivery.call_file.sha256, [])
        if len(held) > 1:
            findings.doubled.append(f"{name}: {[call.describe() for call in held]}")
        acknowledged = by_id.get(delivery.call_id) if delivery.call_id else None
        if delivery.acknowledged and (acknowledged is None or acknowledged not in held):
            findings.lost.append(f"{name}: acknowledged as {delivery.call_id}, not stored as such")
        elif not held and (delivery.acknowledged or delivery.source == "SFTP"):
            findings.lost.append(f"{name}: no call holds it (answers {delivery.answers})")


async def _check_job(
    findings: Findings, api: httpx.AsyncClient, key: str, job_id: str, calls: list[StoredCall]
) -> None:
    response = await api.get(f"/api/v1/jobs/{job_id}", headers={"X-API-Key": key})
    response.raise_for_status()
    job = response.json()
    statuses = Counter(call.status for call in calls if call.job_id == job_id)
    counts = job["counts"]
    expected = {
        "completed": statuses["COMPLETED"],
        "failed": statuses["FAILED"],
        "duplicates": statuses["DUPLICATE"],
        "processed": counts["total"],
    }
    for name, value in expected.items():
        if counts[name] != value:
            findings.jobs.append(f"job {job_id}: {name} {counts[name]}, calls say {value}")
    if counts["total"] != len(job["items"]):
        findings.jobs.append(f"job {job_id}: total {counts['total']} for {len(job['items'])} items")
    wanted = "COMPLETED" if not statuses["FAILED"] else "FAILED"
    if job["status"] != wanted:
        findings.jobs.append(f"job {job_id}: status {job['status']}, expected {wanted}")
