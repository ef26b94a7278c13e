"""Repeated uploads (same source_ref) against the real servers: the first call, nothing new."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from callscope.v1 import common_pb2, ingest_pb2, ingest_pb2_grpc
from callscope_common.storage import S3ObjectStore
from callscope_ingest.adapters.mongo import MongoCallStore, MongoFingerprintStore
from callscope_ingest.domain.calls import UploadSource
from callscope_ingest.domain.metadata import CallMetadata
from callscope_ingest.domain.status import CallStatus
from callscope_ingest.entrypoints.grpc_api import IngestServicer
from callscope_ingest.handlers import IngestPorts, RegisterCall, earlier_upload

from tests.support.audio import render_noise
from tests.support.ingest_ports import LIMITS, RecordingPublisher, upload

CHUNK = 64 * 1024


def sftp_command(org_id: str, source_ref: str) -> RegisterCall:
    return RegisterCall(
        org_id=org_id,
        campaign_id=f"campaign-{org_id}",  # duplicate rules are per campaign
        source=UploadSource.SFTP,
        file_name="agent-JS001_call.wav",
        metadata=CallMetadata(),
        source_ref=source_ref,
    )


@dataclass(frozen=True)
class Stored:
    """Everything an upload of the organisation can leave behind."""

    call_ids: list[str]
    object_keys: list[str]
    fingerprints: list[tuple[str, str]]


async def stored_for(
    org_id: str,
    calls: MongoCallStore,
    object_store: S3ObjectStore,
    fingerprints: MongoFingerprintStore,
) -> Stored:
    documents = await calls._calls.find({"org_id": org_id}).sort("_id").to_list()
    # The adapters expose no listing; tests may look inside.
    listed = await object_store._client.list_objects_v2(Bucket=object_store.bucket, Prefix=org_id)
    # Fingerprint keys start with the campaign id (domain/duplicates.py).
    claimed = await fingerprints._fingerprints.find(
        {"_id": {"$regex": f"^campaign-{org_id}\\|"}}
    ).to_list()
    return Stored(
        call_ids=[document["_id"] for document in documents],
        object_keys=sorted(item["Key"] for item in listed.get("Contents", [])),
        fingerprints=sorted((row["_id"], row["call_id"]) for row in claimed),
    )


async def test_a_repeated_source_ref_is_answered_with_the_first_call_and_stores_nothing(
    calls: MongoCallStore,
    object_store: S3ObjectStore,
    fingerprints: MongoFingerprintStore,
    ports: IngestPorts,
    tmp_path: Path,
) -> None:
    org_id = uuid.uuid4().hex
    recorder = RecordingPublisher(ports.publisher)
    ports = dataclasses.replace(ports, publisher=recorder)
    audio = render_noise(tmp_path / "call.wav", 12.0, seed=11)
    first = await upload(audio, sftp_command(org_id, "sftp-file-1"), ports)
    assert first.status is CallStatus.PENDING
    after_first = await stored_for(org_id, calls, object_store, fingerprints)
    assert after_first.call_ids == [first.id] and len(after_first.object_keys) == 1
    assert {call_id for _, call_id in after_first.fingerprints} == {first.id}

    # The sender crashed after sending and sends the same file again; then a sender bug
    # sends other bytes under the same id: the id alone decides, the content is not looked at.
    other_audio = render_noise(tmp_path / "other.wav", 12.0, seed=12)
    for path in (audio, other_audio):
        again = await upload(path, sftp_command(org_id, "sftp-file-1"), ports)
        assert (again.id, again.status, again.audio) == (first.id, first.status, first.audio)
        assert await stored_for(org_id, calls, object_store, fingerprints) == after_first
    assert [event.header.call_id for event in recorder.sent] == [first.id]  # type: ignore[attr-defined]
    stored = await calls.get(org_id, first.id)
    assert stored is not None and stored.source_ref == "sftp-file-1"


async def test_the_same_source_ref_in_another_organisation_makes_its_own_call(
    calls: MongoCallStore,
    object_store: S3ObjectStore,
    fingerprints: MongoFingerprintStore,
    ports: IngestPorts,
    tmp_path: Path,
) -> None:
    audio = render_noise(tmp_path / "call.wav", 12.0, seed=13)
    org_ids = [uuid.uuid4().hex, uuid.uuid4().hex]
    made = [await upload(audio, sftp_command(org_id, "sftp-file-1"), ports) for org_id in org_ids]
    assert made[0].id != made[1].id
    assert [call.status for call in made] == [CallStatus.PENDING] * 2
    for org_id, call in zip(org_ids, made, strict=True):
        stored = await stored_for(org_id, calls, object_store, fingerprints)
        assert stored.call_ids == [call.id] and len(stored.object_keys) == 1


async def test_without_a_source_ref_uploads_behave_as_before(
    calls: MongoCallStore,
    object_store: S3ObjectStore,
    fingerprints: MongoFingerprintStore,
    ports: IngestPorts,
    tmp_path: Path,
) -> None:
    org_id = uuid.uuid4().hex
    one = render_noise(tmp_path / "one.wav", 12.0, seed=14)
    two = render_noise(tmp_path / "two.wav", 12.0, seed=15)
    first = await upload(one, sftp_command(org_id, ""), ports)
    second = await upload(two, sftp_command(org_id, ""), ports)
    repeat = await upload(one, sftp_command(org_id, ""), ports)
    assert (first.status, second.status) == (CallStatus.PENDING, CallStatus.PENDING)
    assert first.id != second.id
    # Without a source_ref a re-sent file is a new call, found a duplicate by its content.
    assert repeat.status is CallStatus.DUPLICATE and repeat.duplicate_of == first.id
    stored = await stored_for(org_id, calls, object_store, fingerprints)
    assert stored.call_ids == sorted([first.id, second.id, repeat.id])
    assert len(stored.object_keys) == 2
    assert await earlier_upload(org_id, "", calls) is None


@pytest.fixture
async def ingest_stub(
    ports: IngestPorts, tmp_path: Path
) -> AsyncIterator[ingest_pb2_grpc.IngestAsyncStub]:
    """Ingest's servicer on loopback, on the real adapters."""
    server = grpc.aio.server()
    ingest_pb2_grpc.add_IngestServicer_to_server(IngestServicer(ports, LIMITS, tmp_path), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    try:
        yield ingest_pb2_grpc.IngestStub(channel)  # type: ignore[misc]
    finally:
        await channel.close()
        await server.stop(None)


def header(
    org_id: str, source_ref: str, job_id: str = "", job_item_id: str = ""
) -> ingest_pb2.UploadCallRequest:
    return ingest_pb2.UploadCallRequest(
        header=ingest_pb2.UploadHeader(
            org_id=org_id,
            campaign_id=f"campaign-{org_id}",
            source=common_pb2.UPLOAD_SOURCE_SFTP,
            file_name="agent-JS001_call.wav",
            source_ref=source_ref,
            job_id=job_id,
            job_item_id=job_item_id,
        )
    )


async def test_a_repeated_upload_over_grpc_is_answered_before_its_file_as_the_first_time(
    calls: MongoCallStore,
    object_store: S3ObjectStore,
    fingerprints: MongoFingerprintStore,
    ingest_stub: ingest_pb2_grpc.IngestAsyncStub,
    tmp_path: Path,
) -> None:
    org_id = uuid.uuid4().hex
    audio = render_noise(tmp_path / "call.wav", 12.0, seed=16).read_bytes()

    upload_call = ingest_stub.UploadCall()
    await upload_call.write(header(org_id, "sftp-file-7"))
    assert (await upload_call.read()).WhichOneof("reply") == "ready"
    for start in range(0, len(audio), CHUNK):
        await upload_call.write(ingest_pb2.UploadCallRequest(chunk=audio[start : start + CHUNK]))
    await upload_call.done_writing()
    first = await upload_call.read()
    assert first.WhichOneof("reply") == "accepted"
    assert first.accepted.status == common_pb2.CALL_STATUS_PENDING
    assert await upload_call.code() is grpc.StatusCode.OK
    after_first = await stored_for(org_id, calls, object_store, fingerprints)
    assert after_first.call_ids == [first.accepted.call_id]

    # The call moves on; the answer to a repeat is still the one the first upload got.
    now = dt.datetime.now(dt.UTC)
    assert await calls.move_status(first.accepted.call_id, CallStatus.TRANSCRIBING, now)

    # The reply takes the place of `ready`: the sender sends no byte of the file.
    repeat = ingest_stub.UploadCall()
    await repeat.write(header(org_id, "sftp-file-7"))
    assert await repeat.read() == first
    assert await repeat.read() is grpc.aio.EOF
    assert await repeat.code() is grpc.StatusCode.OK
    assert await stored_for(org_id, calls, object_store, fingerprints) == after_first
    assert sorted(path.name for path in tmp_path.iterdir()) == ["call.wav"]  # no spool left


async def test_a_job_item_cannot_carry_a_source_ref(
    ingest_stub: ingest_pb2_grpc.IngestAsyncStub,
) -> None:
    org_id = uuid.uuid4().hex
    upload_call = ingest_stub.UploadCall()
    await upload_call.write(header(org_id, "sftp-file-8", job_id="job-1", job_item_id="item-1"))
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await upload_call.read()
    assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "source_ref" in (refused.value.details() or "")
    trailing = dict(refused.value.trailing_metadata() or ())
    assert trailing["rejection-code"] == "invalid_request"
