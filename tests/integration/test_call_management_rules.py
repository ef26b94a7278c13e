"""Call management on the real MongoDB-wire, S3 and Kafka servers: list, edit, link, delete,
re-run and swap speakers."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import uuid
from pathlib import Path

import pytest
from callscope.v1 import events_pb2
from callscope_common.events import EncodedEvent
from callscope_common.mongo import Document
from callscope_common.storage import S3ObjectStore
from callscope_ingest import call_management
from callscope_ingest.adapters.mongo import MongoCallStore
from callscope_ingest.dispatch import RelayRules, relay_unpublished
from callscope_ingest.domain.agents import Agent
from callscope_ingest.domain.call_queries import CallQuery, FlagFilter
from callscope_ingest.domain.calls import AgentLinkMethod, Call, CallResult, Failure, UploadSource
from callscope_ingest.domain.errors import (
    CallConflictError,
    CallNotFoundError,
    UploadRejectedError,
)
from callscope_ingest.domain.metadata import CallMetadata
from callscope_ingest.domain.status import CallStatus
from callscope_ingest.handlers import IngestPorts, RegisterCall
from google.protobuf import message as protobuf_message
from pymongo.asynchronous.database import AsyncDatabase

from tests.support.audio import render_noise
from tests.support.ingest_ports import HELD, FixedAgents, RecordingPublisher, upload

CAMPAIGN = "campaign-a"
JOHN = Agent(id="agent-js", name="John Smith", code="JS001", campaign_ids=(CAMPAIGN,))
JANE = Agent(id="agent-jd", name="Jane Doe", code="JD002", campaign_ids=(CAMPAIGN,))
ELSEWHERE = Agent(id="agent-x", name="Other Team", code="XX001", campaign_ids=("campaign-b",))


@pytest.fixture
def recorder(ports: IngestPorts) -> RecordingPublisher:
    return RecordingPublisher(ports.publisher)


@pytest.fixture
def managed(ports: IngestPorts, recorder: RecordingPublisher) -> IngestPorts:
    """The real adapters, with the three agents above in the directory."""
    return dataclasses.replace(ports, publisher=recorder, agents=FixedAgents(JOHN, JANE, ELSEWHERE))


async def new_call(
    org_id: str,
    ports: IngestPorts,
    tmp_path: Path,
    *,
    file_name: str = "call.wav",
    source: UploadSource = UploadSource.API,
    metadata: CallMetadata | None = None,
    seed: int | None = None,
) -> Call:
    """A new call; its audio is unique unless a seed is given (the campaign id is shared)."""
    seed = uuid.uuid4().int % 2**31 if seed is None else seed
    audio = render_noise(tmp_path / f"{uuid.uuid4().hex}.wav", 11.0, seed=seed)
    command = RegisterCall(org_id, CAMPAIGN, source, file_name, metadata or CallMetadata())
    return await upload(audio, command, ports)


async def finish(calls: MongoCallStore, call_id: str, *, flagged: bool = False) -> None:
    result = CallResult(70.0, flagged, ("score below 80",) if flagged else (), 1, 1)
    assert await calls.move_status(
        call_id, CallStatus.COMPLETED, dt.datetime.now(dt.UTC), result=result
    )


async def test_pages_cover_every_call_once_newest_first_and_filters_combine(
    managed: IngestPorts, calls: MongoCallStore, tmp_path: Path
) -> None:
    org_id = uuid.uuid4().hex
    made = [
        await new_call(org_id, managed, tmp_path, source=source)
        for source in (
            [
                UploadSource.API,
                UploadSource.UI,
                UploadSource.BULK,
                UploadSource.API,
                UploadSource.SFTP,
            ]
        )
    ]
    await finish(calls, made[0].id, flagged=True)
    await finish(calls, made[3].id, flagged=False)
    await new_call(uuid.uuid4().hex, managed, tmp_path)  # another organisation's

    seen: list[str] = []
    query = CallQuery(org_id=org_id, page_size=2)
    while True:
        page, after = await call_management.list_calls(query, managed)
        seen += [call.id for call in page]
        if after is None:
            break
        query = dataclasses.replace(query, after=after)
    assert seen == [call.id for call in reversed(made)]

    async def ids(**filters: object) -> set[str]:
        page, _ = await call_management.list_calls(CallQuery(org_id=org_id, **filters), managed)  # type: ignore[arg-type]
        return {call.id for call in page}

    assert await ids(sources=frozenset({UploadSource.API})) == {made[0].id, made[3].id}
    assert await ids(statuses=frozenset({CallStatus.COMPLETED})) == {made[0].id, made[3].id}
    assert await ids(flagged=FlagFilter.FLAGGED) == {made[0].id}
    assert await ids(flagged=FlagFilter.NOT_FLAGGED) == {made[3].id}
    assert await ids(
        statuses=frozenset({CallStatus.PENDING}), sources=frozenset({UploadSource.UI})
    ) == {made[1].id}
    after_third = made[2].created_at
    assert await ids(created_from=after_third) == {made[2].id, made[3].id, made[4].id}
    assert await ids(created_to=after_third) == {made[0].id, made[1].id}
    assert await ids(campaign_id="campaign-b") == set()


async def test_uploads_link_the_metadata_code_else_the_file_name_code_else_nothing(
    managed: IngestPorts, tmp_path: Path
) -> None:
    org_id = uuid.uuid4().hex
    by_metadata = await new_call(
        org_id,
        managed,
        tmp_path,
        file_name="call_JS001_20260115.wav",
        metadata=CallMetadata(agent_code="jd002"),
    )
    by_name = await new_call(org_id, managed, tmp_path, file_name="recording-JS001-am.wav")
    unknown = await new_call(org_id, managed, tmp_path, metadata=CallMetadata(agent_code="ZZ999"))
    other_campaign = await new_call(org_id, managed, tmp_path, file_name="call_XX001.wav")
    assert by_metadata.agent is not None and by_metadata.agent.agent_id == JANE.id
    assert by_metadata.agent.method is AgentLinkMethod.METADATA
    assert by_name.agent is not None and by_name.agent.agent_id == JOHN.id
    assert by_name.agent.method is AgentLinkMethod.FILE_NAME
    assert unknown.agent is None and other_campaign.agent is None
    page, _ = await call_management.list_calls(CallQuery(org_id=org_id, agent_id=JOHN.id), managed)
    assert [call.id for call in page] == [by_name.id]


async def test_editing_the_agent_code_relinks_but_a_manual_link_stays(
    managed: IngestPorts, calls: MongoCallStore, tmp_path: Path
) -> None:
    org_id = uuid.uuid4().hex
    call = await new_call(org_id, managed, tmp_path, metadata=CallMetadata(agent_code="JS001"))
    edited = await call_management.update_metadata(
        org_id,
        call.id,
        CallMetadata(agent_code="JD002", call_type="inbound"),
        frozenset({"agent_code", "call_type"}),
        managed,
    )
    assert edited.metadata.agent_code == "JD002" and edited.metadata.call_type == "INBOUND"
    assert edited.agent is not None and edited.agent.agent_id == JANE.id

    manual = await call_management.link_agent(org_id, call.id, JOHN.id, managed)
    assert manual.agent is not None and manual.agent.method is AgentLinkMethod.MANUAL
    again = await call_management.update_metadata(
        org_id, call.id, CallMetadata(agent_code="JD002"), frozenset({"agent_code"}), managed
    )
    assert again.agent == manual.agent

    with pytest.raises(CallConflictError) as refused:
        await call_management.link_agent(org_id, call.id, ELSEWHERE.id, managed)
    assert refused.value.code == "agent_not_in_campaign"
    with pytest.raises(CallConflictError) as unknown:
        await call_management.link_agent(org_id, call.id, "no-such-agent", managed)
    assert unknown.value.code == "unknown_agent"
    unlinked = await call_management.link_agent(org_id, call.id, "", managed)
    assert unlinked.agent is None
    stored = await calls.get(org_id, call.id)
    assert stored is not None and stored.agent is None and stored.metadata.agent_code == "JD002"


async def test_a_client_reference_another_call_has_is_refused_and_changes_nothing(
    managed: IngestPorts, calls: MongoCallStore, database: AsyncDatabase[Document], tmp_path: Path
) -> None:
    org_id = uuid.uuid4().hex
    first = await new_call(
        org_id, managed, tmp_path, metadata=CallMetadata(client_reference="REF-1")
    )
    second = await new_call(
        org_id, managed, tmp_path, metadata=CallMetadata(client_reference="REF-2")
    )
    fingerprints = database["call_fingerprints"]
    before = await fingerprints.find({"call_id": second.id}).sort("_id").to_list()

    with pytest.raises(CallConflictError) as refused:
        await call_management.update_metadata(
            org_id,
            second.id,
            CallMetadata(client_reference="REF-1"),
            frozenset({"client_reference"}),
            managed,
        )
    assert refused.value.code == "duplicate_metadata" and first.id in refused.value.message
    assert await fingerprints.find({"call_id": second.id}).sort("_id").to_list() == before
    stored = await calls.get(org_id, second.id)
    assert stored is not None and stored.metadata.client_reference == "REF-2"

    await call_management.update_metadata(
        org_id,
        second.id,
        CallMetadata(client_reference="REF-3"),
        frozenset({"client_reference"}),
        managed,
    )
    keys = {row["_id"] for row in await fingerprints.find({"call_id": second.id}).to_list()}
    assert f"{CAMPAIGN}|ref|REF-3" in keys and f"{CAMPAIGN}|ref|REF-2" not in keys
    # REF-2 is free again: a new upload with it is an original, not a duplicate.
    third = await new_call(
        org_id, managed, tmp_path, metadata=CallMetadata(client_reference="REF-2")
    )
    assert third.status is CallStatus.PENDING


async def test_delete_announces_then_removes_audio_claims_and_call(
    managed: IngestPorts,
    recorder: RecordingPublisher,
    calls: MongoCallStore,
    object_store: S3ObjectStore,
    database: AsyncDatabase[Document],
    tmp_path: Path,
) -> None:
    org_id = uuid.uuid4().hex
    call = await new_call(org_id, managed, tmp_path)
    assert call.audio is not None
    with pytest.raises(CallConflictError) as refused:  # queued: in the pipeline
        await call_management.delete_call(org_id, call.id, managed)
    assert refused.value.code == "call_in_progress"
    assert await object_store.exists(call.audio.key)

    await finish(calls, call.id)
    with pytest.raises(CallNotFoundError):
        await call_management.delete_call(uuid.uuid4().hex, call.id, managed)  # another org
    await call_management.delete_call(org_id, call.id, managed)

    assert await calls.get(org_id, call.id) is None
    assert not await object_store.exists(call.audio.key)
    assert await database["call_fingerprints"].count_documents({"call_id": call.id}) == 0
    deleted = [e for e in recorder.sent if isinstance(e, events_pb2.CallDeleted)]
    assert [e.header.call_id for e in deleted] == [call.id]


async def test_rerun_queues_a_finished_call_once_even_when_two_requests_race(
    managed: IngestPorts, recorder: RecordingPublisher, calls: MongoCallStore, tmp_path: Path
) -> None:
    org_id = uuid.uuid4().hex
    call = await new_call(org_id, managed, tmp_path)
    with pytest.raises(CallConflictError):  # still in the pipeline
        await call_management.rerun_transcription(org_id, call.id, managed)
    await finish(calls, call.id)

    outcomes = await asyncio.gather(
        *(call_management.rerun_transcription(org_id, call.id, managed) for _ in range(2)),
        return_exceptions=True,
    )
    rerun = [o for o in outcomes if isinstance(o, Call)]
    refused = [o for o in outcomes if isinstance(o, CallConflictError)]
    assert len(rerun) == 1 and len(refused) == 1, outcomes
    assert rerun[0].status is CallStatus.PENDING and rerun[0].reruns == 1
    assert rerun[0].result is not None  # the last result stays until a new one replaces it
    requested = [e for e in recorder.sent if isinstance(e, events_pb2.TranscriptionRequested)]
    assert len(requested) == 1 and requested[0].audio.key == call.audio.key  # type: ignore[union-attr]

    # The re-run completes like any run; then analysis alone can run again.
    await finish(calls, call.id)
    again = await call_management.run_analysis(org_id, call.id, 1, managed)
    assert again.status is CallStatus.PENDING and again.reruns == 2
    analysis = [e for e in recorder.sent if isinstance(e, events_pb2.AnalysisRequested)]
    assert [(e.header.call_id, e.transcript_version) for e in analysis] == [(call.id, 1)]


async def test_analysis_cannot_rerun_without_a_transcript(
    managed: IngestPorts, calls: MongoCallStore, tmp_path: Path
) -> None:
    org_id = uuid.uuid4().hex
    call = await new_call(org_id, managed, tmp_path)
    failure = Failure(stage="TRANSCRIPTION", reason="audio is silent")
    await calls.move_status(call.id, CallStatus.FAILED, dt.datetime.now(dt.UTC), failure=failure)
    with pytest.raises(CallConflictError, match="re-run the transcription"):
        await call_management.run_analysis(org_id, call.id, 0, managed)
    rerun = await call_management.rerun_transcription(org_id, call.id, managed)
    assert rerun.status is CallStatus.PENDING and rerun.failure is None


def swap_requests(
    recorder: RecordingPublisher, call_id: str
) -> list[events_pb2.TranscriptionRequested]:
    """The transcription requests published for the call that ask for a swap."""
    return [
        event
        for event in recorder.sent
        if isinstance(event, events_pb2.TranscriptionRequested)
        and event.header.call_id == call_id
        and event.swap_speakers
    ]


async def test_swap_speakers_requeues_a_finished_call_once_even_when_two_requests_race(
    managed: IngestPorts,
    recorder: RecordingPublisher,
    calls: MongoCallStore,
    database: AsyncDatabase[Document],
    tmp_path: Path,
) -> None:
    org_id = uuid.uuid4().hex
    call = await new_call(org_id, managed, tmp_path)
    assert call.audio is not None
    with pytest.raises(CallConflictError) as busy:  # queued: still in the pipeline
        await call_management.swap_speakers(org_id, call.id, 0, "user-1", managed)
    assert busy.value.code == "call_in_progress" and "once it has completed" in busy.value.message
    await finish(calls, call.id)

    outcomes = await asyncio.gather(
        *(call_management.swap_speakers(org_id, call.id, 1, "user-1", managed) for _ in range(2)),
        return_exceptions=True,
    )

    swapped = [o for o in outcomes if isinstance(o, Call)]
    refused = [o for o in outcomes if isinstance(o, CallConflictError)]
    assert len(swapped) == 1 and len(refused) == 1, outcomes
    assert (swapped[0].status, swapped[0].reruns) == (CallStatus.PENDING, 1)
    assert swapped[0].queued_at is not None and swapped[0].result is not None
    [request] = swap_requests(recorder, call.id)
    assert (request.swap_of_version, request.requested_by) == (1, "user-1")
    assert (request.header.org_id, request.header.campaign_id) == (org_id, CAMPAIGN)
    assert (request.audio.bucket, request.audio.key, request.audio.sha256) == (
        call.audio.bucket,
        call.audio.key,
        call.audio.sha256,
    )
    stored = await database["calls"].find_one({"_id": call.id})
    assert stored is not None and (stored["status"], stored["reruns"]) == ("PENDING", 1)
    assert await database["call_queue_claims"].count_documents({"_id": f"{call.id}:run:1"}) == 1

    # Queued again: a second swap waits until the first one's run has finished.
    with pytest.raises(CallConflictError) as again:
        await call_management.swap_speakers(org_id, call.id, 0, "user-2", managed)
    assert again.value.code == "call_in_progress"
    await finish(calls, call.id)
    latest = await call_management.swap_speakers(org_id, call.id, 0, "user-2", managed)
    assert latest.reruns == 2
    assert [(r.swap_of_version, r.requested_by) for r in swap_requests(recorder, call.id)] == [
        (1, "user-1"),
        (0, "user-2"),
    ]


async def test_swap_speakers_needs_a_transcript_and_refusals_publish_nothing(
    managed: IngestPorts,
    recorder: RecordingPublisher,
    calls: MongoCallStore,
    tmp_path: Path,
) -> None:
    org_id = uuid.uuid4().hex
    now = dt.datetime.now(dt.UTC)
    held = await new_call(org_id, dataclasses.replace(managed, campaigns=HELD), tmp_path)
    failed_early = await new_call(org_id, managed, tmp_path)
    await calls.move_status(
        failed_early.id, CallStatus.FAILED, now, failure=Failure("TRANSCRIPTION", "silent")
    )
    original = await new_call(org_id, managed, tmp_path, seed=7)
    duplicate = await new_call(org_id, managed, tmp_path, seed=7)
    assert duplicate.status is CallStatus.DUPLICATE

    for refused_call, words in (
        (held, "not been transcribed yet"),
        (failed_early, "re-run the transcription"),
        (duplicate, original.id),
    ):
        before = await calls.get(org_id, refused_call.id)
        with pytest.raises(CallConflictError) as refused:
            await call_management.swap_speakers(org_id, refused_call.id, 0, "user-1", managed)
        assert refused.value.code == "no_transcript", refused.value.message
        assert words in refused.value.message
        assert await calls.get(org_id, refused_call.id) == before

    await finish(calls, original.id)
    with pytest.raises(CallNotFoundError):  # another organisation's call does not exist
        await call_management.swap_speakers(uuid.uuid4().hex, original.id, 0, "user-1", managed)
    for version, requested_by in ((-1, "user-1"), (0, "  ")):
        with pytest.raises(UploadRejectedError):
            await call_management.swap_speakers(org_id, original.id, version, requested_by, managed)
    assert not [e for e in recorder.sent if isinstance(e, events_pb2.TranscriptionRequested)]

    # A call whose analysis failed still has its transcript: its roles can be swapped.
    failed_late = await new_call(org_id, managed, tmp_path)
    await calls.move_status(
        failed_late.id, CallStatus.FAILED, now, failure=Failure("ANALYSIS", "evaluator down")
    )
    swapped = await call_management.swap_speakers(org_id, failed_late.id, 0, "user-1", managed)
    assert swapped.status is CallStatus.PENDING and swapped.failure is None
    assert len(swap_requests(recorder, failed_late.id)) == 1


class FailingOncePublisher:
    """Refuses the first record (Kafka unreachable), then publishes through recorder."""

    def __init__(self, recorder: RecordingPublisher) -> None:
        self._recorder = recorder
        self.failed = False

    async def publish(self, event: protobuf_message.Message) -> None:
        await self._recorder.publish(event)

    async def publish_record(self, record: EncodedEvent) -> None:
        if not self.failed:
            self.failed = True
            raise ConnectionError("broker unreachable")
        await self._recorder.publish_record(record)


async def test_a_swap_the_broker_refuses_is_kept_queued_and_the_relay_sends_it_once(
    managed: IngestPorts, recorder: RecordingPublisher, calls: MongoCallStore, tmp_path: Path
) -> None:
    org_id = uuid.uuid4().hex
    call = await new_call(org_id, managed, tmp_path)
    await finish(calls, call.id)
    flaky = dataclasses.replace(managed, publisher=FailingOncePublisher(recorder))

    accepted = await call_management.swap_speakers(org_id, call.id, 0, "user-1", flaky)

    assert (accepted.status, accepted.reruns) == (CallStatus.PENDING, 1)
    assert accepted.hand_over is not None and not accepted.hand_over.published
    assert swap_requests(recorder, call.id) == []
    with pytest.raises(CallConflictError):  # the run is under way: not a second time
        await call_management.swap_speakers(org_id, call.id, 0, "user-1", flaky)

    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
    assert await relay_unpublished(calls, flaky.publisher, RelayRules(grace_s=0), later) >= 1
    sent = swap_requests(recorder, call.id)
    assert len(sent) == 1 and sent[0].header.event_id == accepted.hand_over.event_id
    relayed = await calls.get(org_id, call.id)
    assert relayed is not None and relayed.hand_over is not None and relayed.hand_over.published
    await relay_unpublished(calls, flaky.publisher, RelayRules(grace_s=0), later)
    assert len(swap_requests(recorder, call.id)) == 1
