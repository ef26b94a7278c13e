"""The transports: Kafka events in and out, and the Transcripts gRPC service over a real channel."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import grpc
import pytest
from callscope.v1 import common_pb2, events_pb2, transcripts_pb2, transcripts_pb2_grpc
from callscope_common.events import new_header
from callscope_common.kafka import PermanentEventError
from callscope_common.storage import S3ObjectStore
from callscope_transcription.adapters.kafka import KafkaEventSink, to_message
from callscope_transcription.adapters.s3 import S3AudioStore
from callscope_transcription.bootstrap import TranscriptionService, bootstrap
from callscope_transcription.domain.events import (
    CallTranscribed,
    TranscriptionFailed,
    TranscriptionStarted,
)
from callscope_transcription.domain.model import (
    CallContext,
    Layout,
    RoleSource,
    Segment,
    Speaker,
    SpeakerRoles,
    Transcript,
    Utterance,
    Word,
)
from callscope_transcription.entrypoints.grpc import TranscriptsServicer
from callscope_transcription.entrypoints.kafka import subscriptions
from callscope_transcription.ports import Hearing
from google.protobuf import message as protobuf_message

from tests.support.transcription_fakes import (
    FakeAudioStore,
    FakeDirectory,
    FakeEventSink,
    FakeProber,
    FakeProvider,
    FakeTranscriptStore,
)

pytestmark = pytest.mark.unit

CONTEXT = CallContext("call-1", "org-1", "campaign-1", "evt-1")


HELLO = Hearing(
    language="en",
    layout=Layout.STEREO,
    utterances=(Utterance(0.5, 1.0, "Hello.", (Word("Hello.", 0.5, 1.0, 0.9),)),),
    duration_seconds=2.0,
    model="instant",
)


class _RecordingPublisher:
    def __init__(self) -> None:
        self.messages: list[protobuf_message.Message] = []

    async def publish(self, event: protobuf_message.Message) -> None:
        self.messages.append(event)


def _service() -> tuple[TranscriptionService, FakeTranscriptStore]:
    store = FakeTranscriptStore()
    service = bootstrap(
        store=store,
        audio_store=FakeAudioStore(bucket="callscope-audio"),
        prober=FakeProber(),
        providers={"local": FakeProvider("local", HELLO)},
        directory=FakeDirectory(),
        events=FakeEventSink(),
    )
    return service, store


def _transcript(version: int = 1, org_id: str = "org-1") -> Transcript:
    words = (Word("Hello,", 0.5, 0.8, 0.91), Word("Northwind.", 0.9, 1.4, 0.82))
    return Transcript(
        id=f"t{version}",
        call_id="call-1",
        org_id=org_id,
        campaign_id="campaign-1",
        version=version,
        source_event_id=f"evt-{version}",
        provider="local",
        model="tiny.en",
        language="en",
        duration_seconds=14.2,
        segments=(
            Segment(Speaker.AGENT, 0.5, 1.4, "Hello, Northwind.", words),
            Segment(Speaker.CUSTOMER, 2.0, 2.5, "Hi.", (Word("Hi.", 2.0, 2.5, 0.99),)),
            Segment(Speaker.UNKNOWN, 3.0, 3.5, "Mm.", ()),
        ),
        created_at=dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC),
        speaker_roles=SpeakerRoles(
            source=RoleSource.MANUAL,
            agent_voice=1,
            confidence=1.0,
            needs_review=False,
            evidence=("a user swapped agent and customer of version 1",),
            swapped_by="user-3",
            swapped_from_version=1,
        ),
        settings=(("beam_size", "5"), ("layout", "stereo")),
    )


def test_started_maps_to_a_transcribing_status() -> None:
    message = to_message(TranscriptionStarted(CONTEXT))

    assert isinstance(message, events_pb2.CallStatusChanged)
    assert message.status == common_pb2.CALL_STATUS_TRANSCRIBING
    assert message.stage == common_pb2.STAGE_TRANSCRIPTION
    assert (message.header.call_id, message.header.org_id, message.header.campaign_id) == (
        "call-1",
        "org-1",
        "campaign-1",
    )
    assert message.header.occurred_at.seconds > 0


def test_failure_maps_to_a_failed_status_with_the_reason() -> None:
    message = to_message(TranscriptionFailed(CONTEXT, "audio is silent: no speech was found"))

    assert isinstance(message, events_pb2.CallStatusChanged)
    assert message.status == common_pb2.CALL_STATUS_FAILED
    assert message.stage == common_pb2.STAGE_TRANSCRIPTION
    assert message.reason == "audio is silent: no speech was found"


def test_transcribed_maps_to_call_transcribed() -> None:
    message = to_message(CallTranscribed(CONTEXT, "t1", 3, speaker_roles_need_review=True))

    assert isinstance(message, events_pb2.CallTranscribed)
    assert (message.transcript_id, message.transcript_version) == ("t1", 3)
    assert message.speaker_roles_need_review


def test_event_ids_repeat_for_the_same_cause_so_consumers_can_drop_repeats() -> None:
    first = to_message(CallTranscribed(CONTEXT, "t1", 1))
    again = to_message(CallTranscribed(CONTEXT, "t1", 1))
    started = to_message(TranscriptionStarted(CONTEXT))
    other_cause = to_message(
        CallTranscribed(CallContext("call-1", "org-1", "campaign-1", "evt-2"), "t2", 2)
    )

    ids = [m.header.event_id for m in (first, again, started, other_cause)]  # type: ignore[attr-defined]
    assert ids[0] == ids[1]
    assert len({ids[0], ids[2], ids[3]}) == 3
    assert all(len(event_id) == 32 for event_id in ids)


async def test_the_sink_publishes_contract_messages() -> None:
    publisher = _RecordingPublisher()
    await KafkaEventSink(publisher).publish(TranscriptionStarted(CONTEXT))
    assert [type(m) for m in publisher.messages] == [events_pb2.CallStatusChanged]


def _put_audio(service: TranscriptionService, tmp_path: Path) -> None:
    audio_file = tmp_path / "call.wav"
    audio_file.write_bytes(b"RIFF-pretend")
    audio = service.audio_store
    assert isinstance(audio, FakeAudioStore)
    audio.put("calls/1.wav", audio_file)


def _uploaded(key: str, event_id: str = "evt-1") -> events_pb2.CallUploaded:
    header = new_header("call-1", "org-1", "campaign-1")
    header.event_id = event_id
    return events_pb2.CallUploaded(
        header=header,
        audio=common_pb2.ObjectRef(bucket="callscope-audio", key=key),
        channels=1,
    )


async def test_call_uploaded_is_transcribed_from_the_events_audio(
    tmp_path: Path,
) -> None:
    service, store = _service()
    _put_audio(service, tmp_path)
    by_type = {s.message_type: s for s in subscriptions(service)}

    await by_type[events_pb2.CallUploaded].handler(_uploaded("calls/1.wav"))

    (stored,) = store.transcripts
    assert (stored.call_id, stored.org_id, stored.campaign_id) == ("call-1", "org-1", "campaign-1")
    assert stored.source_event_id == "evt-1"


async def test_transcription_requested_makes_a_new_version(
    tmp_path: Path,
) -> None:
    service, store = _service()
    _put_audio(service, tmp_path)
    by_type = {s.message_type: s for s in subscriptions(service)}
    await by_type[events_pb2.CallUploaded].handler(_uploaded("calls/1.wav"))
    uploaded = _uploaded("calls/1.wav", event_id="evt-rerun")
    requested = events_pb2.TranscriptionRequested(header=uploaded.header, audio=uploaded.audio)

    await by_type[events_pb2.TranscriptionRequested].handler(requested)

    assert [t.version for t in store.transcripts] == [1, 2]


async def test_a_swap_request_stores_a_swapped_version_without_transcribing(
    tmp_path: Path,
) -> None:
    service, store = _service()
    _put_audio(service, tmp_path)
    by_type = {s.message_type: s for s in subscriptions(service)}
    await by_type[events_pb2.CallUploaded].handler(_uploaded("calls/1.wav"))
    uploaded = _uploaded("calls/1.wav", event_id="evt-swap")
    requested = events_pb2.TranscriptionRequested(
        header=uploaded.header,
        audio=uploaded.audio,
        swap_speakers=True,
        swap_of_version=1,
        requested_by="user-4",
    )

    await by_type[events_pb2.TranscriptionRequested].handler(requested)

    first, swapped = store.transcripts
    assert [s.speaker for s in first.segments] == [Speaker.AGENT]
    assert [s.speaker for s in swapped.segments] == [Speaker.CUSTOMER]
    assert swapped.speaker_roles is not None
    assert (swapped.speaker_roles.swapped_by, swapped.speaker_roles.swapped_from_version) == (
        "user-4",
        1,
    )
    provider = service.providers["local"]
    assert isinstance(provider, FakeProvider) and len(provider.requests) == 1


async def test_call_deleted_removes_the_calls_transcripts(
    tmp_path: Path,
) -> None:
    service, store = _service()
    _put_audio(service, tmp_path)
    by_type = {s.message_type: s for s in subscriptions(service)}
    await by_type[events_pb2.CallUploaded].handler(_uploaded("calls/1.wav"))

    deleted = events_pb2.CallDeleted(header=new_header("call-1", "org-1", "campaign-1"))
    await by_type[events_pb2.CallDeleted].handler(deleted)

    assert store.transcripts == []


async def test_an_event_without_an_id_is_dead_lettered_not_guessed_at() -> None:
    service, store = _service()
    by_type = {s.message_type: s for s in subscriptions(service)}

    with pytest.raises(PermanentEventError, match="event_id"):
        await by_type[events_pb2.CallUploaded].handler(_uploaded("k", event_id=""))
    assert store.transcripts == []


async def test_audio_in_a_foreign_bucket_is_dead_lettered() -> None:
    store = FakeTranscriptStore()
    service = bootstrap(
        store=store,
        audio_store=S3AudioStore(S3ObjectStore(client=None, bucket="callscope-audio")),
        prober=FakeProber(),
        providers={"local": FakeProvider("local", HELLO)},
        directory=FakeDirectory(),
        events=FakeEventSink(),
    )
    event = _uploaded("k")
    event.audio.bucket = "someone-elses-bucket"
    by_type = {s.message_type: s for s in subscriptions(service)}

    with pytest.raises(PermanentEventError, match="someone-elses-bucket"):
        await by_type[events_pb2.CallUploaded].handler(event)


@pytest.fixture
async def transcripts_stub() -> AsyncIterator[
    tuple[transcripts_pb2_grpc.TranscriptsAsyncStub, FakeTranscriptStore]
]:
    service, store = _service()
    server = grpc.aio.server()
    transcripts_pb2_grpc.add_TranscriptsServicer_to_server(TranscriptsServicer(service), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    try:
        yield transcripts_pb2_grpc.TranscriptsStub(channel), store  # type: ignore[misc]
    finally:
        await channel.close()
        await server.stop(None)


if TYPE_CHECKING:
    _Stub = tuple[transcripts_pb2_grpc.TranscriptsAsyncStub, FakeTranscriptStore]


async def test_get_transcript_returns_the_latest_version_by_default(
    transcripts_stub: _Stub,
) -> None:
    stub, store = transcripts_stub
    store.transcripts += [_transcript(1), _transcript(2)]

    reply = await stub.GetTranscript(
        transcripts_pb2.GetTranscriptRequest(org_id="org-1", call_id="call-1")
    )

    assert (reply.id, reply.version, reply.call_id, reply.org_id) == ("t2", 2, "call-1", "org-1")
    assert (reply.provider, reply.model, reply.language) == ("local", "tiny.en", "en")
    assert reply.duration_seconds == pytest.approx(14.2)
    assert reply.created_at.ToDatetime(dt.UTC) == dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC)
    assert [s.speaker for s in reply.segments] == [
        common_pb2.SPEAKER_AGENT,
        common_pb2.SPEAKER_CUSTOMER,
        common_pb2.SPEAKER_UNKNOWN,
    ]
    first = reply.segments[0]
    assert (first.text, first.start, first.end) == ("Hello, Northwind.", 0.5, 1.4)
    assert [(w.text, w.start, w.end) for w in first.words] == [
        ("Hello,", 0.5, 0.8),
        ("Northwind.", 0.9, 1.4),
    ]
    assert first.words[1].probability == pytest.approx(0.82)
    assert reply.campaign_id == "campaign-1"
    roles = reply.speaker_roles
    assert (roles.source, roles.confidence, roles.needs_review) == (
        transcripts_pb2.ROLE_SOURCE_MANUAL,
        1.0,
        False,
    )
    assert (roles.swapped_by, roles.swapped_from_version) == ("user-3", 1)
    assert list(roles.evidence) == ["a user swapped agent and customer of version 1"]
    assert dict(reply.settings) == {"beam_size": "5", "layout": "stereo"}


async def test_get_transcript_returns_a_requested_version(transcripts_stub: _Stub) -> None:
    stub, store = transcripts_stub
    store.transcripts += [_transcript(1), _transcript(2)]

    reply = await stub.GetTranscript(
        transcripts_pb2.GetTranscriptRequest(org_id="org-1", call_id="call-1", version=1)
    )

    assert (reply.id, reply.version) == ("t1", 1)


@pytest.mark.parametrize(
    ("request_fields", "code", "message"),
    [
        ({"org_id": "org-2", "call_id": "call-1"}, grpc.StatusCode.NOT_FOUND, "call call-1"),
        ({"org_id": "org-1", "call_id": "nope"}, grpc.StatusCode.NOT_FOUND, "call nope"),
        (
            {"org_id": "org-1", "call_id": "call-1", "version": 9},
            grpc.StatusCode.NOT_FOUND,
            "version 9",
        ),
        ({"call_id": "call-1"}, grpc.StatusCode.INVALID_ARGUMENT, "org_id and call_id"),
        (
            {"org_id": "org-1", "call_id": "call-1", "version": -1},
            grpc.StatusCode.INVALID_ARGUMENT,
            "version must be 0",
        ),
    ],
    ids=["other-org", "unknown-call", "unknown-version", "no-org", "negative-version"],
)
async def test_get_transcript_refusals(
    transcripts_stub: _Stub,
    request_fields: dict[str, object],
    code: grpc.StatusCode,
    message: str,
) -> None:
    stub, store = transcripts_stub
    store.transcripts.append(_transcript(1))

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stub.GetTranscript(transcripts_pb2.GetTranscriptRequest(**request_fields))  # type: ignore[arg-type]

    assert refused.value.code() == code
    assert message in (refused.value.details() or "")
    # Another organisation's call is indistinguishable from a call that does not exist.
    assert "org-1" not in (refused.value.details() or "")
