"""The transcribe-call use case end to end in memory: fakes for storage and events, real Whisper."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pytest
from callscope_transcription.adapters.audio import FfmpegAudioDecoder
from callscope_transcription.adapters.whisper import WhisperRecogniser
from callscope_transcription.bootstrap import TranscriptionService, bootstrap
from callscope_transcription.domain.errors import (
    MISSING_AUDIO_REASON,
    NO_AUDIO_STREAM_REASON,
    SILENT_AUDIO_REASON,
    UNDECODABLE_AUDIO_REASON,
    TranscriptConflictError,
    TranscriptNotFoundError,
)
from callscope_transcription.domain.events import (
    CallTranscribed,
    TranscriptionFailed,
    TranscriptionStarted,
)
from callscope_transcription.domain.model import (
    AudioLocation,
    CallContext,
    DeleteCallTranscripts,
    GetTranscript,
    Segment,
    Speaker,
    TranscribeCall,
    Transcript,
    Utterance,
    Word,
)
from callscope_transcription.ports import Recognition, Samples

from tests.support.audio import RenderedAudio, Turn, convert, render_noise, render_silence
from tests.support.call_scripts import SHORT_GREETING
from tests.support.transcription_fakes import FakeAudioStore, FakeEventSink, FakeTranscriptStore
from tests.support.wer import wer

pytestmark = pytest.mark.unit


@dataclass
class World:
    """The service wired to fakes, and the fakes to look into."""

    service: TranscriptionService
    store: FakeTranscriptStore
    audio: FakeAudioStore
    events: FakeEventSink


@pytest.fixture
def world(recogniser: WhisperRecogniser, decoder: FfmpegAudioDecoder) -> World:
    store, audio, events = FakeTranscriptStore(), FakeAudioStore(), FakeEventSink()
    service = bootstrap(
        store=store, audio_store=audio, decoder=decoder, recogniser=recogniser, events=events
    )
    return World(service, store, audio, events)


def _command(
    audio: AudioLocation, event_id: str = "evt-1", call_id: str = "call-1"
) -> TranscribeCall:
    return TranscribeCall(CallContext(call_id, "org-1", "campaign-1", event_id), audio)


def _overlap(start: float, end: float, turn: Turn) -> float:
    return max(0.0, min(end, turn.end) - max(start, turn.start))


def _scripted_speaker(segment: Segment, rendered: RenderedAudio) -> Speaker:
    """The party whose scripted turn the segment overlaps most."""
    turn = max(rendered.turns, key=lambda turn: _overlap(segment.start, segment.end, turn))
    return Speaker(turn.party)


async def test_stereo_call_becomes_a_speaker_labelled_first_version(
    world: World, short_stereo: RenderedAudio
) -> None:
    command = _command(world.audio.put("calls/1.wav", short_stereo.path))

    transcript = await world.service.transcribe(command)

    assert transcript is not None
    assert world.store.transcripts == [transcript]
    assert transcript.version == 1
    assert (transcript.call_id, transcript.org_id, transcript.campaign_id) == (
        "call-1",
        "org-1",
        "campaign-1",
    )
    assert transcript.source_event_id == "evt-1"
    assert (transcript.provider, transcript.model, transcript.language) == (
        "local",
        "tiny.en",
        "en",
    )
    assert transcript.duration_seconds == pytest.approx(short_stereo.duration, abs=0.01)
    assert transcript.created_at.tzinfo is not None
    assert world.events.events == [
        TranscriptionStarted(command.context),
        CallTranscribed(command.context, transcript.id, 1),
    ]
    # Each segment's speaker is the party whose scripted turn it overlaps, in time order.
    speakers = [segment.speaker for segment in transcript.segments]
    assert speakers == [_scripted_speaker(s, short_stereo) for s in transcript.segments]
    assert speakers[:2] == [Speaker.AGENT, Speaker.CUSTOMER]
    assert [s.start for s in transcript.segments] == sorted(s.start for s in transcript.segments)
    for segment in transcript.segments:
        assert segment.words
        for word in segment.words:
            assert segment.start <= word.start <= word.end <= segment.end
            assert 0.0 <= word.probability <= 1.0
    agent_text = " ".join(s.text for s in transcript.segments if s.speaker is Speaker.AGENT)
    customer_text = " ".join(s.text for s in transcript.segments if s.speaker is Speaker.CUSTOMER)
    assert wer(SHORT_GREETING.reference_text("AGENT"), agent_text) < 0.2
    assert wer(SHORT_GREETING.reference_text("CUSTOMER"), customer_text) < 0.2


async def test_agent_on_the_right_channel_swaps_the_labels(
    recogniser: WhisperRecogniser, decoder: FfmpegAudioDecoder, short_stereo: RenderedAudio
) -> None:
    store, audio, events = FakeTranscriptStore(), FakeAudioStore(), FakeEventSink()
    service = bootstrap(
        store=store,
        audio_store=audio,
        decoder=decoder,
        recogniser=recogniser,
        events=events,
        agent_channel="right",
    )

    transcript = await service.transcribe(_command(audio.put("k", short_stereo.path)))

    assert transcript is not None
    assert transcript.segments[0].speaker is Speaker.CUSTOMER
    assert "Thank you for calling" in transcript.segments[0].text


async def test_mono_call_has_one_unknown_speaker(world: World, short_mono: RenderedAudio) -> None:
    transcript = await world.service.transcribe(_command(world.audio.put("m", short_mono.path)))

    assert transcript is not None
    assert {segment.speaker for segment in transcript.segments} == {Speaker.UNKNOWN}
    assert "Sarah Collins" in " ".join(segment.text for segment in transcript.segments)


async def test_compressed_audio_is_transcribed(
    world: World, short_stereo: RenderedAudio, tmp_path: Path
) -> None:
    mp3 = convert(short_stereo.path, "mp3", tmp_path / "call.mp3")

    transcript = await world.service.transcribe(_command(world.audio.put("c.mp3", mp3)))

    assert transcript is not None
    assert {segment.speaker for segment in transcript.segments} == {
        Speaker.AGENT,
        Speaker.CUSTOMER,
    }


async def test_a_redelivered_event_announces_the_stored_version_again(
    world: World, short_stereo: RenderedAudio
) -> None:
    command = _command(world.audio.put("k", short_stereo.path))
    first = await world.service.transcribe(command)
    assert first is not None

    again = await world.service.transcribe(command)

    assert again == first
    assert len(world.store.transcripts) == 1
    assert world.events.events[-1] == CallTranscribed(command.context, first.id, 1)
    assert [type(event) for event in world.events.events] == [
        TranscriptionStarted,
        CallTranscribed,
        CallTranscribed,
    ]


async def test_a_rerun_is_the_next_version_and_the_old_stays(
    world: World, short_stereo: RenderedAudio
) -> None:
    location = world.audio.put("k", short_stereo.path)
    first = await world.service.transcribe(_command(location, event_id="upload"))
    second = await world.service.transcribe(_command(location, event_id="rerun"))

    assert first is not None and second is not None
    assert (first.version, second.version) == (1, 2)
    assert len(world.store.transcripts) == 2
    latest = await world.service.get(GetTranscript("org-1", "call-1"))
    assert latest.id == second.id
    assert (await world.service.get(GetTranscript("org-1", "call-1", 1))).id == first.id


class _InstantRecogniser:
    """Hears the same words on any channel; for tests about storage rather than speech."""

    provider = "local"
    model = "instant"

    def recognise(self, samples: Samples) -> Recognition:
        return Recognition("en", (Utterance(0.5, 1.0, "Hello.", (Word("Hello.", 0.5, 1.0, 0.9),)),))


async def test_a_version_taken_by_a_concurrent_worker_moves_to_the_next(
    decoder: FfmpegAudioDecoder, short_mono: RenderedAudio
) -> None:
    store, audio, events = FakeTranscriptStore(), FakeAudioStore(), FakeEventSink()
    service = bootstrap(
        store=store,
        audio_store=audio,
        decoder=decoder,
        recogniser=_InstantRecogniser(),
        events=events,
    )
    location = audio.put("k", short_mono.path)
    await service.transcribe(_command(location, event_id="a"))
    store.fail_next_add_with = TranscriptConflictError("version 2 taken")

    transcript = await service.transcribe(_command(location, event_id="b"))

    # The fake refused the first attempt; the retry read the latest version again.
    assert transcript is not None
    assert [t.version for t in store.transcripts] == [1, 2]


async def test_a_redelivery_racing_the_first_delivery_returns_the_stored_transcript(
    decoder: FfmpegAudioDecoder, short_mono: RenderedAudio
) -> None:
    store, audio, events = FakeTranscriptStore(), FakeAudioStore(), FakeEventSink()
    service = bootstrap(
        store=store,
        audio_store=audio,
        decoder=decoder,
        recogniser=_InstantRecogniser(),
        events=events,
    )
    command = _command(audio.put("k", short_mono.path))
    winner = Transcript(
        id="winner",
        call_id="call-1",
        org_id="org-1",
        campaign_id="campaign-1",
        version=1,
        source_event_id="evt-1",
        provider="local",
        model="instant",
        language="en",
        duration_seconds=1.0,
        segments=(),
        created_at=dt.datetime.now(dt.UTC),
    )

    original_find = store.find_by_source_event
    calls = 0

    async def find_after_the_race(event_id: str) -> Transcript | None:
        nonlocal calls
        calls += 1
        if calls == 1:
            return None  # the check before transcribing saw nothing yet
        return await original_find(event_id)

    store.find_by_source_event = find_after_the_race  # type: ignore[method-assign]
    original_add = store.add

    async def add_after_the_winner(transcript: Transcript) -> None:
        if not store.transcripts:
            store.transcripts.append(winner)
        await original_add(transcript)

    store.add = add_after_the_winner  # type: ignore[method-assign]

    result = await service.transcribe(command)

    assert result == winner
    assert store.transcripts == [winner]
    assert events.events[-1] == CallTranscribed(command.context, "winner", 1)


async def test_silent_audio_fails_the_call_with_a_reason(world: World, tmp_path: Path) -> None:
    silence = render_silence(tmp_path / "silence.wav", 15.0, channels=2)
    command = _command(world.audio.put("s", silence))

    assert await world.service.transcribe(command) is None

    assert world.store.transcripts == []
    assert world.events.events == [
        TranscriptionStarted(command.context),
        TranscriptionFailed(command.context, SILENT_AUDIO_REASON),
    ]
    assert SILENT_AUDIO_REASON == "audio is silent: no speech was found"


async def test_background_noise_without_speech_fails_as_silent(
    world: World, tmp_path: Path
) -> None:
    noise = render_noise(tmp_path / "hiss.wav", 15.0, level=0.02)
    command = _command(world.audio.put("n", noise))

    assert await world.service.transcribe(command) is None

    assert world.events.events[-1] == TranscriptionFailed(command.context, SILENT_AUDIO_REASON)


async def test_undecodable_audio_fails_the_call_with_a_reason(world: World, tmp_path: Path) -> None:
    garbage = tmp_path / "call.mp3"
    garbage.write_bytes(b"\x00\x01garbage" * 500)
    command = _command(world.audio.put("g", garbage))

    assert await world.service.transcribe(command) is None

    failed = world.events.events[-1]
    assert failed == TranscriptionFailed(command.context, UNDECODABLE_AUDIO_REASON)
    assert "Traceback" not in UNDECODABLE_AUDIO_REASON
    assert NO_AUDIO_STREAM_REASON.startswith("audio could not be decoded")


async def test_missing_audio_fails_the_call_with_a_reason(world: World) -> None:
    command = _command(AudioLocation("callscope-audio", "calls/gone.wav"))

    assert await world.service.transcribe(command) is None

    assert world.events.events == [
        TranscriptionStarted(command.context),
        TranscriptionFailed(command.context, MISSING_AUDIO_REASON),
    ]


async def test_an_event_without_an_audio_key_fails_the_call(world: World) -> None:
    command = _command(AudioLocation("callscope-audio", ""))
    assert await world.service.transcribe(command) is None
    assert world.events.events[-1] == TranscriptionFailed(command.context, MISSING_AUDIO_REASON)


async def test_a_storage_outage_raises_so_the_event_is_retried(
    world: World, short_mono: RenderedAudio
) -> None:
    world.store.fail_next_add_with = ConnectionError("mongo is down")
    command = _command(world.audio.put("k", short_mono.path))

    with pytest.raises(ConnectionError):
        await world.service.transcribe(command)

    assert world.store.transcripts == []
    assert not any(isinstance(event, CallTranscribed) for event in world.events.events)
    # The retry stores it and announces it once.
    transcript = await world.service.transcribe(command)
    assert transcript is not None
    assert [e for e in world.events.events if isinstance(e, CallTranscribed)] == [
        CallTranscribed(command.context, transcript.id, 1)
    ]


async def test_the_downloaded_audio_file_is_deleted_afterwards(
    world: World, short_mono: RenderedAudio, tmp_path: Path
) -> None:
    await world.service.transcribe(_command(world.audio.put("k", short_mono.path)))
    garbage = tmp_path / "bad.ogg"
    garbage.write_bytes(b"OggS" + b"\x00" * 100)
    await world.service.transcribe(_command(world.audio.put("bad", garbage), event_id="e2"))

    assert len(world.audio.downloaded_to) == 2
    assert not any(path.exists() or path.parent.exists() for path in world.audio.downloaded_to)


async def test_transcripts_are_read_within_their_organisation_only(
    world: World, short_mono: RenderedAudio
) -> None:
    await world.service.transcribe(_command(world.audio.put("k", short_mono.path)))

    assert (await world.service.get(GetTranscript("org-1", "call-1"))).version == 1
    with pytest.raises(TranscriptNotFoundError):
        await world.service.get(GetTranscript("org-2", "call-1"))
    with pytest.raises(TranscriptNotFoundError, match="version 5"):
        await world.service.get(GetTranscript("org-1", "call-1", 5))


async def test_deleting_a_call_deletes_every_version(
    world: World, short_mono: RenderedAudio
) -> None:
    location = world.audio.put("k", short_mono.path)
    await world.service.transcribe(_command(location, event_id="a"))
    await world.service.transcribe(_command(location, event_id="b"))
    await world.service.transcribe(_command(location, event_id="c", call_id="call-2"))

    deleted = await world.service.delete(DeleteCallTranscripts(call_id="call-1", org_id="org-1"))

    assert deleted == 2
    assert [t.call_id for t in world.store.transcripts] == ["call-2"]
    assert await world.service.delete(DeleteCallTranscripts("call-1", "org-1")) == 0
