"""Ingest against the real MongoDB-wire, S3 and Kafka servers: all or nothing, forward only."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer
from callscope.v1 import events_pb2
from callscope_common.events import EncodedEvent
from callscope_common.storage import S3ObjectStore
from callscope_ingest.adapters.mongo import MongoCallStore, MongoFingerprintStore
from callscope_ingest.dispatch import RelayRules, relay_unpublished
from callscope_ingest.domain.audio_rules import AudioLimits
from callscope_ingest.domain.calls import Call, CallResult, UploadSource
from callscope_ingest.domain.duplicates import UNFINISHED_CLAIM_S, Fingerprint
from callscope_ingest.domain.errors import (
    CallNotFoundError,
    CallNotProcessableError,
    RegistrationPendingError,
    RejectionCode,
    UploadRejectedError,
)
from callscope_ingest.domain.metadata import CallMetadata
from callscope_ingest.domain.status import CallStatus
from callscope_ingest.handlers import (
    IngestPorts,
    RegisterCall,
    process_call,
    register_call,
    spooled_upload,
)
from google.protobuf import message as protobuf_message

from tests.support.audio import render_noise, render_silence
from tests.support.infra import Infra
from tests.support.ingest_ports import HELD, LIMITS, RecordingPublisher, chunks_of, upload


class BrokenPublisher:
    """A publisher whose broker is unreachable."""

    async def publish(self, event: protobuf_message.Message) -> None:
        raise ConnectionError("broker unreachable")

    async def publish_record(self, record: EncodedEvent) -> None:
        raise ConnectionError("broker unreachable")


class BrokenAudioStore:
    """The real object store, except that storing a file fails (S3 unreachable)."""

    def __init__(self, store: S3ObjectStore) -> None:
        self.bucket = store.bucket
        self._store = store

    async def upload_file(self, path: Path, key: str, content_type: str) -> None:
        raise ConnectionError("object store unreachable")

    async def delete(self, key: str) -> None:
        await self._store.delete(key)

    def read_range(self, key: str, offset: int, length: int) -> AsyncIterator[bytes]:
        return self._store.read_range(key, offset, length)


def command(org_id: str) -> RegisterCall:
    return RegisterCall(
        org_id=org_id,
        campaign_id=f"campaign-{org_id}",  # duplicate rules are per campaign
        source=UploadSource.API,
        file_name="../../etc/passwd.wav",
        metadata=CallMetadata(agent_code="JS001", call_type="outbound"),
    )


async def keys_under(store: S3ObjectStore, prefix: str) -> list[str]:
    client = store._client  # the adapter exposes no listing; tests may look inside
    response = await client.list_objects_v2(Bucket=store.bucket, Prefix=prefix)
    return [item["Key"] for item in response.get("Contents", [])]


async def test_registered_call_has_object_document_and_event(
    infra: Infra,
    calls: MongoCallStore,
    object_store: S3ObjectStore,
    ports: IngestPorts,
    tmp_path: Path,
) -> None:
    org_id = uuid.uuid4().hex
    audio = render_silence(tmp_path / "call.wav", 12.0)
    reader = AIOKafkaConsumer(
        "calls.uploaded",
        bootstrap_servers=infra.kafka_bootstrap_servers,
        group_id=f"reader-{org_id}",
        auto_offset_reset="latest",
    )
    await reader.start()
    try:
        await reader.getmany(timeout_ms=1000)  # joins the group at the current end
        async with spooled_upload(chunks_of(audio), None, LIMITS) as spooled:
            call = await register_call(command(org_id), spooled, LIMITS, ports)
        assert not spooled.path.exists()
        stored = await calls.get(org_id, call.id)
        assert stored is not None and stored.status is CallStatus.PENDING
        assert stored.audio is not None
        assert stored.file_name == "../../etc/passwd.wav"
        assert stored.metadata.call_type == "OUTBOUND"
        assert stored.audio.key == f"{org_id}/campaign-{org_id}/{call.id}/audio.wav"
        assert await keys_under(object_store, org_id) == [stored.audio.key]
        events: list[events_pb2.CallUploaded] = []
        while not any(e.header.call_id == call.id for e in events):
            batch = await reader.getmany(timeout_ms=10_000)
            assert batch, "no calls.uploaded event arrived"
            for records in batch.values():
                for record in records:
                    event = events_pb2.CallUploaded()
                    event.ParseFromString(record.value)
                    events.append(event)
        event = next(e for e in events if e.header.call_id == call.id)
        assert event.audio.key == stored.audio.key and event.channels == 2
    finally:
        await reader.stop()


async def test_an_upload_the_broker_refuses_is_kept_and_the_relay_sends_it_once(
    calls: MongoCallStore,
    object_store: S3ObjectStore,
    ports: IngestPorts,
    tmp_path: Path,
) -> None:
    org_id = uuid.uuid4().hex
    audio = render_silence(tmp_path / "call.wav", 12.0)

    call = await upload(
        audio, command(org_id), dataclasses.replace(ports, publisher=BrokenPublisher())
    )

    stored = await calls.get(org_id, call.id)
    assert stored is not None and stored.audio is not None and stored.hand_over is not None
    assert (stored.status, stored.hand_over.published) == (CallStatus.PENDING, False)
    assert stored.queued_at is not None
    assert await keys_under(object_store, org_id) == [stored.audio.key]
    recorder = RecordingPublisher(ports.publisher)
    too_soon = stored.hand_over.stored_at + dt.timedelta(seconds=1)
    await relay_unpublished(calls, recorder, RelayRules(grace_s=60), too_soon)
    assert [e for e in recorder.sent if e.header.call_id == call.id] == []  # type: ignore[attr-defined]

    later = stored.hand_over.stored_at + dt.timedelta(seconds=61)
    await relay_unpublished(calls, recorder, RelayRules(grace_s=60), later)
    await relay_unpublished(calls, recorder, RelayRules(grace_s=60), later)

    sent = [e for e in recorder.sent if e.header.call_id == call.id]  # type: ignore[attr-defined]
    assert len(sent) == 1 and isinstance(sent[0], events_pb2.CallUploaded)
    assert sent[0].header.event_id == stored.hand_over.event_id
    assert sent[0].audio.key == stored.audio.key
    relayed = await calls.get(org_id, call.id)
    assert relayed is not None and relayed.hand_over is not None and relayed.hand_over.published


async def test_an_upload_whose_audio_cannot_be_stored_leaves_nothing(
    calls: MongoCallStore,
    object_store: S3ObjectStore,
    ports: IngestPorts,
    tmp_path: Path,
) -> None:
    org_id = uuid.uuid4().hex
    audio = render_silence(tmp_path / "call.wav", 12.0)
    broken = dataclasses.replace(ports, audio=BrokenAudioStore(object_store))
    with pytest.raises(ConnectionError):
        await upload(audio, command(org_id), broken)
    assert await calls._calls.count_documents({"org_id": org_id}) == 0
    assert await keys_under(object_store, org_id) == []


async def test_oversized_upload_is_cut_off_and_leaves_no_file(tmp_path: Path) -> None:
    small = AudioLimits(max_bytes=100_000)
    audio = render_silence(tmp_path / "big.wav", 12.0)
    received: list[Path] = []
    with pytest.raises(UploadRejectedError) as raised:
        async with spooled_upload(chunks_of(audio, 10_000), tmp_path, small) as spooled:
            received.append(spooled.path)
    assert raised.value.code is RejectionCode.FILE_TOO_LARGE
    assert received == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.wav"]


async def test_status_moves_only_forward_on_the_real_database(
    calls: MongoCallStore,
    object_store: S3ObjectStore,
    ports: IngestPorts,
    tmp_path: Path,
) -> None:
    org_id = uuid.uuid4().hex
    audio = render_silence(tmp_path / "call.wav", 12.0)
    call = await upload(audio, command(org_id), ports)
    now = dt.datetime.now(dt.UTC)
    result = CallResult(90.0, False, (), 1, 1)
    assert await calls.move_status(call.id, CallStatus.TRANSCRIBING, now)
    assert await calls.move_status(call.id, CallStatus.ANALYZING, now)
    assert not await calls.move_status(call.id, CallStatus.TRANSCRIBING, now)
    assert await calls.move_status(call.id, CallStatus.COMPLETED, now, result=result)
    assert not await calls.move_status(call.id, CallStatus.COMPLETED, now, result=result)
    assert not await calls.move_status(call.id, CallStatus.FAILED, now)
    stored = await calls.get(org_id, call.id)
    assert stored is not None
    assert stored.status is CallStatus.COMPLETED and stored.result == result
    assert [status for status, _ in stored.status_history] == [
        CallStatus.PENDING,
        CallStatus.TRANSCRIBING,
        CallStatus.ANALYZING,
        CallStatus.COMPLETED,
    ]
    assert await calls.get("another-org", call.id) is None


async def test_simultaneous_identical_uploads_give_one_original_and_one_duplicate(
    calls: MongoCallStore,
    object_store: S3ObjectStore,
    ports: IngestPorts,
    tmp_path: Path,
) -> None:
    org_id = uuid.uuid4().hex
    audio = render_noise(tmp_path / "same.wav", 12.0, seed=1)

    async def status() -> CallStatus:
        return (await upload(audio, command(org_id), ports)).status

    first_round = await asyncio.gather(status(), status())
    assert sorted(first_round) == [CallStatus.DUPLICATE, CallStatus.PENDING]
    for _ in range(2):
        assert list(await asyncio.gather(status(), status())) == [CallStatus.DUPLICATE] * 2
    stored = [c async for c in calls._calls.find({"org_id": org_id})]
    originals = [c for c in stored if c["status"] == "PENDING"]
    duplicates = [c for c in stored if c["status"] == "DUPLICATE"]
    assert len(originals) == 1 and len(duplicates) == 5
    assert all(d["duplicate_of"] == originals[0]["_id"] for d in duplicates)
    assert all(d["audio"] is None for d in duplicates)
    assert await keys_under(object_store, org_id) == [originals[0]["audio"]["key"]]


async def test_new_client_reference_makes_identical_audio_an_intentional_re_upload(
    calls: MongoCallStore,
    object_store: S3ObjectStore,
    ports: IngestPorts,
    tmp_path: Path,
) -> None:
    org_id = uuid.uuid4().hex
    audio = render_noise(tmp_path / "again.wav", 12.0, seed=2)

    def referenced(reference: str) -> RegisterCall:
        metadata = CallMetadata(client_reference=reference)
        return dataclasses.replace(command(org_id), metadata=metadata)

    first = await upload(audio, referenced("CRM-1"), ports)
    second = await upload(audio, referenced("CRM-2"), ports)
    again = await upload(audio, referenced("CRM-1"), ports)
    assert (first.status, second.status) == (CallStatus.PENDING, CallStatus.PENDING)
    assert again.status is CallStatus.DUPLICATE and again.duplicate_of == first.id
    assert "client reference 'CRM-1'" in again.duplicate_reason


async def test_a_failed_upload_releases_its_fingerprints(
    calls: MongoCallStore,
    object_store: S3ObjectStore,
    ports: IngestPorts,
    tmp_path: Path,
) -> None:
    org_id = uuid.uuid4().hex
    audio = render_noise(tmp_path / "retry.wav", 12.0, seed=3)
    broken = dataclasses.replace(ports, audio=BrokenAudioStore(object_store))
    with pytest.raises(ConnectionError):
        await upload(audio, command(org_id), broken)
    retried = await upload(audio, command(org_id), ports)
    assert retried.status is CallStatus.PENDING


class StallingAudioStore(BrokenAudioStore):
    """The real object store, except that storing a file hangs until the upload is cancelled
    (the gateway that was sending it died)."""

    def __init__(self, store: S3ObjectStore) -> None:
        super().__init__(store)
        self.storing = asyncio.Event()

    async def upload_file(self, path: Path, key: str, content_type: str) -> None:
        self.storing.set()
        await asyncio.sleep(3600)


async def test_an_upload_cancelled_mid_registration_leaves_nothing_and_its_retry_goes_in(
    calls: MongoCallStore,
    object_store: S3ObjectStore,
    ports: IngestPorts,
    tmp_path: Path,
) -> None:
    org_id = uuid.uuid4().hex
    audio = render_noise(tmp_path / "cut.wav", 12.0, seed=5)
    stalling = StallingAudioStore(object_store)
    registering = asyncio.create_task(
        upload(audio, command(org_id), dataclasses.replace(ports, audio=stalling))
    )
    await asyncio.wait_for(stalling.storing.wait(), timeout=30)
    registering.cancel()
    with pytest.raises(asyncio.CancelledError):
        await registering
    assert await calls._calls.count_documents({"org_id": org_id}) == 0
    # The fingerprints were released: the client's retry is a new call, not a duplicate
    # of one that never existed.
    retried = await upload(audio, command(org_id), ports)
    assert retried.status is CallStatus.PENDING
    assert await keys_under(object_store, org_id) == [retried.audio.key] if retried.audio else []


class StallingFingerprintStore(MongoFingerprintStore):
    """The real fingerprint store, except that the second claim hangs until cancelled."""

    def __init__(self, store: MongoFingerprintStore) -> None:
        super().__init__(store._fingerprints.database)
        self.claims = 0
        self.stalled = asyncio.Event()

    async def claim(self, fingerprint: Fingerprint, call_id: str) -> str | None:
        self.claims += 1
        if self.claims == 2:
            self.stalled.set()
            await asyncio.sleep(3600)
        return await super().claim(fingerprint, call_id)


async def test_an_upload_cancelled_while_claiming_its_fingerprints_releases_them(
    calls: MongoCallStore, ports: IngestPorts, tmp_path: Path
) -> None:
    org_id = uuid.uuid4().hex
    audio = render_noise(tmp_path / "claiming.wav", 12.0, seed=7)
    assert isinstance(ports.fingerprints, MongoFingerprintStore)
    stalling = StallingFingerprintStore(ports.fingerprints)
    registering = asyncio.create_task(
        upload(audio, command(org_id), dataclasses.replace(ports, fingerprints=stalling))
    )
    await asyncio.wait_for(stalling.stalled.wait(), timeout=30)
    registering.cancel()
    with pytest.raises(asyncio.CancelledError):
        await registering
    retried = await upload(audio, command(org_id), ports)
    assert retried.status is CallStatus.PENDING
    assert await calls._calls.count_documents({"org_id": org_id}) == 1


async def test_a_fingerprint_claimed_by_a_call_never_stored_is_taken_over_once_old(
    calls: MongoCallStore, ports: IngestPorts, tmp_path: Path
) -> None:
    org_id = uuid.uuid4().hex
    audio = render_noise(tmp_path / "orphaned.wav", 12.0, seed=8)
    request = command(org_id)
    # An ingest killed between claiming the file's fingerprints and writing its call.
    dead_call = uuid.uuid4().hex
    stored = await upload(audio, request, ports)  # to learn the file's fingerprints
    keys = await ports.fingerprints.held_by(stored.id)
    await calls._calls.delete_one({"_id": stored.id})
    await ports.fingerprints.release(stored.id)
    collection = calls._calls.database["call_fingerprints"]
    now = dt.datetime.now(dt.UTC)
    await collection.insert_many(
        [{"_id": key, "call_id": dead_call, "rule": "content", "created_at": now} for key in keys]
    )

    # A young claim may be a registration still running: send again shortly.
    with pytest.raises(RegistrationPendingError):
        await upload(audio, request, ports)
    assert await calls._calls.count_documents({"org_id": org_id}) == 0

    # Older than any live registration: taken over, the file is a call of its own.
    await collection.update_many(
        {"call_id": dead_call},
        {"$set": {"created_at": now - dt.timedelta(seconds=UNFINISHED_CLAIM_S + 1)}},
    )
    retried = await upload(audio, request, ports)
    assert retried.status is CallStatus.PENDING
    assert await ports.fingerprints.held_by(retried.id) == keys


class AnswerLostCallStore(MongoCallStore):
    """The real call store, except that the upload is cancelled just after its call
    document was written (the write went through; its answer never arrived)."""

    async def insert(self, call: Call) -> None:
        await super().insert(call)
        raise asyncio.CancelledError


async def test_an_upload_cancelled_after_its_call_was_stored_keeps_the_call(
    calls: MongoCallStore,
    object_store: S3ObjectStore,
    ports: IngestPorts,
    tmp_path: Path,
) -> None:
    org_id = uuid.uuid4().hex
    audio = render_noise(tmp_path / "kept.wav", 12.0, seed=6)
    lossy = dataclasses.replace(ports, calls=AnswerLostCallStore(calls._calls.database))
    with pytest.raises(asyncio.CancelledError):
        await upload(audio, command(org_id), lossy)
    [stored] = await calls._calls.find({"org_id": org_id}).to_list()
    assert stored["status"] == "PENDING"
    assert await keys_under(object_store, org_id) == [stored["audio"]["key"]]
    # Its fingerprints stay with it: the retry is its duplicate, naming a call that exists.
    retried = await upload(audio, command(org_id), ports)
    assert retried.status is CallStatus.DUPLICATE and retried.duplicate_of == stored["_id"]


async def test_a_held_call_waits_until_processed_and_is_queued_once(
    calls: MongoCallStore,
    object_store: S3ObjectStore,
    ports: IngestPorts,
    tmp_path: Path,
) -> None:
    org_id = uuid.uuid4().hex
    audio = render_noise(tmp_path / "held.wav", 12.0, seed=4)
    recorder = RecordingPublisher(ports.publisher)
    ports = dataclasses.replace(ports, publisher=recorder, campaigns=HELD)
    call = await upload(audio, command(org_id), ports)
    held = await calls.get(org_id, call.id)
    assert held is not None and held.status is CallStatus.PENDING and held.queued_at is None
    assert recorder.sent == []

    outcomes = await asyncio.gather(
        process_call(org_id, call.id, ports),
        process_call(org_id, call.id, ports),
        return_exceptions=True,
    )
    assert sum(isinstance(o, CallNotProcessableError) for o in outcomes) == 1
    queued = next(o for o in outcomes if not isinstance(o, BaseException))
    assert isinstance(queued, Call) and queued.queued_at is not None
    assert [type(e).__name__ for e in recorder.sent] == ["CallUploaded"]
    assert recorder.sent[0].header.call_id == call.id  # type: ignore[attr-defined]
    with pytest.raises(CallNotFoundError):
        await process_call("another-org", call.id, ports)
