"""The transcribe and swap use cases in memory: fakes for storage, events, directory and providers.

What providers hear from real audio is tested with the real local model in
test_local_provider.py and against the hosted stand-ins in the provider tests;
here the hearing is scripted, so versioning, roles, failures and idempotency are
checked exactly.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from callscope_transcription.bootstrap import TranscriptionService, bootstrap
from callscope_transcription.domain.errors import (
    MISSING_AUDIO_REASON,
    SILENT_AUDIO_REASON,
    UNDECODABLE_AUDIO_REASON,
    ProviderError,
    TranscriptConflictError,
    TranscriptNotFoundError,
    UndecodableAudioError,
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
    Layout,
    RoleSource,
    Speaker,
    SwapSpeakers,
    TranscribeCall,
    Transcript,
    Utterance,
    Word,
)
from callscope_transcription.domain.roles import RoleRules
from callscope_transcription.ports import AudioInfo, CampaignRules, Hearing

from tests.support.transcription_fakes import (
    FakeAudioStore,
    FakeDirectory,
    FakeEventSink,
    FakeProber,
    FakeProvider,
    FakeTranscriptStore,
)

pytestmark = pytest.mark.unit


def _said(voice: int, start: float, text: str) -> Utterance:
    words = tuple(
        Word(word, start + 0.4 * index, start + 0.4 * index + 0.3, 0.9)
        for index, word in enumerate(text.split())
    )
    return Utterance(words[0].start, words[-1].end, text, words, voice=voice)


CALL = (
    _said(0, 0.5, "Thank you for calling Northwind, how can I help?"),
    _said(1, 4.0, "Hi, I'm calling about my bill."),
    _said(0, 7.0, "Could you confirm your date of birth?"),
)
STEREO = Hearing(
    language="en",
    layout=Layout.STEREO,
    utterances=CALL,
    duration_seconds=12.25,
    model="tiny.en",
    settings={"beam_size": "5", "vad": "silero"},
)


@dataclass
class World:
    """The service wired to fakes, and the fakes to look into."""

    service: TranscriptionService
    store: FakeTranscriptStore
    audio: FakeAudioStore
    events: FakeEventSink
    prober: FakeProber
    directory: FakeDirectory
    local: FakeProvider
    deepgram: FakeProvider
    audio_file: Path


@pytest.fixture
def world(tmp_path: Path) -> World:
    store, audio, events = FakeTranscriptStore(), FakeAudioStore(), FakeEventSink()
    prober, directory = FakeProber(), FakeDirectory()
    local, deepgram = FakeProvider("local", STEREO), FakeProvider("deepgram")
    service = bootstrap(
        store=store,
        audio_store=audio,
        prober=prober,
        providers={"local": local, "deepgram": deepgram},
        directory=directory,
        events=events,
    )
    audio_file = tmp_path / "call.wav"
    audio_file.write_bytes(b"RIFF-pretend-audio")
    return World(service, store, audio, events, prober, directory, local, deepgram, audio_file)


def _command(world: World, event_id: str = "evt-1", call_id: str = "call-1") -> TranscribeCall:
    location = world.audio.put(f"calls/{call_id}.wav", world.audio_file)
    return TranscribeCall(CallContext(call_id, "org-1", "campaign-1", event_id), location)


def _swap(version: int = 0, event_id: str = "swap-1") -> SwapSpeakers:
    return SwapSpeakers(CallContext("call-1", "org-1", "campaign-1", event_id), version, "user-9")


async def test_a_call_becomes_a_speaker_labelled_first_version(world: World) -> None:
    command = _command(world)

    transcript = await world.service.transcribe(command)

    assert transcript is not None
    assert world.store.transcripts == [transcript]
    assert transcript.version == 1
    assert (transcript.call_id, transcript.org_id, transcript.campaign_id) == (
        "call-1",
        "org-1",
        "campaign-1",
    )
    assert (transcript.provider, transcript.model, transcript.language) == (
        "local",
        "tiny.en",
        "en",
    )
    assert transcript.duration_seconds == 12.25
    assert [(s.speaker, s.text) for s in transcript.segments] == [
        (Speaker.AGENT, CALL[0].text),
        (Speaker.CUSTOMER, CALL[1].text),
        (Speaker.AGENT, CALL[2].text),
    ]
    assert transcript.segments[1].words == CALL[1].words
    roles = transcript.speaker_roles
    assert roles is not None
    assert (roles.source, roles.agent_voice, roles.needs_review) == (RoleSource.CHANNEL, 0, False)
    assert dict(transcript.settings) == {
        "agent_channel": "left",
        "beam_size": "5",
        "layout": "stereo",
        "vad": "silero",
    }
    assert world.events.events == [
        TranscriptionStarted(command.context),
        CallTranscribed(command.context, transcript.id, 1, speaker_roles_need_review=False),
    ]
    # The provider got the downloaded bytes and the layout the probe found.
    assert world.local.files_seen == [b"RIFF-pretend-audio"]
    assert world.local.requests[0].layout is Layout.STEREO
    assert world.local.requests[0].duration_seconds == 20.0


async def test_the_campaign_chooses_the_provider_and_the_agent_channel(world: World) -> None:
    world.deepgram.hearing = replace(STEREO, model="nova-3", utterances=CALL[1:2])
    world.directory.by_campaign["campaign-1"] = CampaignRules(
        provider="deepgram", roles=RoleRules(agent_channel="right")
    )

    transcript = await world.service.transcribe(_command(world))

    assert transcript is not None
    assert world.local.requests == []
    assert (transcript.provider, transcript.model) == ("deepgram", "nova-3")
    # Voice 1 (right) said "I'm calling about my bill"; the campaign's rule still wins
    # against one customer phrase, but the doubt is flagged.
    assert [s.speaker for s in transcript.segments] == [Speaker.AGENT]
    assert transcript.speaker_roles is not None and transcript.speaker_roles.needs_review
    assert world.directory.asked == [("org-1", "campaign-1")]


async def test_uncertain_roles_are_announced_as_needing_review(world: World) -> None:
    world.prober.info = AudioInfo(channels=1, duration_seconds=12.0)
    world.local.hearing = replace(
        STEREO,
        layout=Layout.MONO,
        utterances=(_said(0, 0.5, "Hello."), _said(1, 2.0, "Hi there.")),
    )

    transcript = await world.service.transcribe(_command(world))

    assert transcript is not None and transcript.speaker_roles is not None
    assert transcript.speaker_roles.needs_review
    assert world.local.requests[0].layout is Layout.MONO
    assert world.events.events[-1] == CallTranscribed(
        _command(world).context, transcript.id, 1, speaker_roles_need_review=True
    )
    assert dict(transcript.settings)["opening_party"] == "AGENT"


async def test_a_provider_the_deployment_lacks_fails_the_call_with_a_reason(world: World) -> None:
    world.directory.by_campaign["campaign-1"] = CampaignRules(provider="assemblyai")
    command = _command(world)

    assert await world.service.transcribe(command) is None

    assert world.store.transcripts == []
    failed = world.events.events[-1]
    assert isinstance(failed, TranscriptionFailed)
    assert failed.reason.startswith("the transcription provider 'assemblyai' is not set up")
    assert "switch the campaign to another provider" in failed.reason


async def test_a_provider_refusal_fails_the_call_with_its_reason(world: World) -> None:
    world.local.fail_with = ProviderError("Deepgram rejected the API key", "HTTP 401 from /v1")
    command = _command(world)

    assert await world.service.transcribe(command) is None

    assert world.events.events == [
        TranscriptionStarted(command.context),
        TranscriptionFailed(command.context, "Deepgram rejected the API key"),
    ]


async def test_an_unexpected_provider_error_raises_so_the_event_is_retried(world: World) -> None:
    world.local.fail_with = ConnectionResetError("worker died")

    with pytest.raises(ConnectionResetError):
        await world.service.transcribe(_command(world))

    assert world.store.transcripts == []
    assert not any(isinstance(e, TranscriptionFailed) for e in world.events.events)


async def test_a_hearing_without_words_fails_as_silent(world: World) -> None:
    world.local.hearing = replace(STEREO, utterances=())
    command = _command(world)

    assert await world.service.transcribe(command) is None

    assert world.events.events[-1] == TranscriptionFailed(command.context, SILENT_AUDIO_REASON)


async def test_audio_the_probe_refuses_fails_as_undecodable(world: World) -> None:
    world.prober.fail_with = UndecodableAudioError("moov atom not found")
    command = _command(world)

    assert await world.service.transcribe(command) is None

    assert world.local.requests == []
    assert world.events.events[-1] == TranscriptionFailed(command.context, UNDECODABLE_AUDIO_REASON)


async def test_missing_audio_fails_the_call_with_a_reason(world: World) -> None:
    command = TranscribeCall(
        CallContext("call-1", "org-1", "campaign-1", "evt-1"),
        AudioLocation("callscope-audio", "calls/gone.wav"),
    )

    assert await world.service.transcribe(command) is None

    assert world.events.events == [
        TranscriptionStarted(command.context),
        TranscriptionFailed(command.context, MISSING_AUDIO_REASON),
    ]


async def test_an_event_without_an_audio_key_fails_the_call(world: World) -> None:
    command = TranscribeCall(
        CallContext("call-1", "org-1", "campaign-1", "evt-1"), AudioLocation("callscope-audio", "")
    )
    assert await world.service.transcribe(command) is None
    assert world.events.events[-1] == TranscriptionFailed(command.context, MISSING_AUDIO_REASON)


async def test_a_redelivered_event_announces_the_stored_version_again(world: World) -> None:
    command = _command(world)
    first = await world.service.transcribe(command)
    assert first is not None

    assert await world.service.transcribe(command) is None

    assert len(world.store.transcripts) == 1
    assert len(world.local.requests) == 1
    assert [type(event) for event in world.events.events] == [
        TranscriptionStarted,
        CallTranscribed,
        CallTranscribed,
    ]
    assert world.events.events[-1] == world.events.events[1]


async def test_a_rerun_is_the_next_version_and_the_old_stays(world: World) -> None:
    first = await world.service.transcribe(_command(world, event_id="upload"))
    second = await world.service.transcribe(_command(world, event_id="rerun"))

    assert first is not None and second is not None
    assert (first.version, second.version) == (1, 2)
    latest = await world.service.get(GetTranscript("org-1", "call-1"))
    assert latest.id == second.id
    assert (await world.service.get(GetTranscript("org-1", "call-1", 1))).id == first.id


async def test_a_version_taken_by_a_concurrent_worker_moves_to_the_next(world: World) -> None:
    await world.service.transcribe(_command(world, event_id="a"))
    world.store.fail_next_add_with = TranscriptConflictError("version 2 taken")

    transcript = await world.service.transcribe(_command(world, event_id="b"))

    assert transcript is not None
    assert [t.version for t in world.store.transcripts] == [1, 2]


async def test_a_redelivery_racing_the_first_delivery_returns_the_stored_transcript(
    world: World,
) -> None:
    command = _command(world)
    winner = Transcript(
        id="winner",
        call_id="call-1",
        org_id="org-1",
        campaign_id="campaign-1",
        version=1,
        source_event_id="evt-1",
        provider="local",
        model="tiny.en",
        language="en",
        duration_seconds=1.0,
        segments=(),
        created_at=dt.datetime.now(dt.UTC),
    )
    store = world.store
    original_find, original_add = store.find_by_source_event, store.add
    finds = 0

    async def find_after_the_race(event_id: str) -> Transcript | None:
        nonlocal finds
        finds += 1
        return None if finds == 1 else await original_find(event_id)

    async def add_after_the_winner(transcript: Transcript) -> None:
        if not store.transcripts:
            store.transcripts.append(winner)
        await original_add(transcript)

    store.find_by_source_event = find_after_the_race  # type: ignore[method-assign]
    store.add = add_after_the_winner  # type: ignore[method-assign]

    assert await world.service.transcribe(command) == winner
    assert store.transcripts == [winner]
    assert world.events.events[-1] == CallTranscribed(command.context, "winner", 1)


async def test_a_storage_outage_raises_so_the_event_is_retried(world: World) -> None:
    world.store.fail_next_add_with = ConnectionError("mongo is down")
    command = _command(world)

    with pytest.raises(ConnectionError):
        await world.service.transcribe(command)

    assert world.store.transcripts == []
    assert not any(isinstance(event, CallTranscribed) for event in world.events.events)
    transcript = await world.service.transcribe(command)
    assert transcript is not None
    assert [e for e in world.events.events if isinstance(e, CallTranscribed)] == [
        CallTranscribed(command.context, transcript.id, 1)
    ]


async def test_the_downloaded_audio_file_is_deleted_afterwards(world: World) -> None:
    await world.service.transcribe(_command(world))
    world.prober.fail_with = UndecodableAudioError("bad")
    await world.service.transcribe(_command(world, event_id="e2"))

    assert len(world.audio.downloaded_to) == 2
    assert not any(path.exists() or path.parent.exists() for path in world.audio.downloaded_to)


async def test_a_swap_stores_the_next_version_with_the_roles_exchanged(world: World) -> None:
    first = await world.service.transcribe(_command(world))
    assert first is not None

    swapped = await world.service.swap(_swap())

    assert swapped is not None
    assert swapped.version == 2
    assert [s.speaker for s in swapped.segments] == [
        Speaker.CUSTOMER,
        Speaker.AGENT,
        Speaker.CUSTOMER,
    ]
    assert [s.words for s in swapped.segments] == [s.words for s in first.segments]
    roles = swapped.speaker_roles
    assert roles is not None
    assert (roles.source, roles.agent_voice, roles.swapped_by, roles.swapped_from_version) == (
        RoleSource.MANUAL,
        1,
        "user-9",
        1,
    )
    assert (swapped.provider, swapped.model, swapped.settings) == (
        first.provider,
        first.model,
        first.settings,
    )
    assert len(world.local.requests) == 1  # nothing was transcribed again
    assert world.events.events[-2:] == [
        TranscriptionStarted(_swap().context),
        CallTranscribed(_swap().context, swapped.id, 2),
    ]
    # The first version is still readable as it was.
    assert await world.service.get(GetTranscript("org-1", "call-1", 1)) == first


async def test_a_redelivered_swap_does_not_swap_twice(world: World) -> None:
    await world.service.transcribe(_command(world))
    await world.service.swap(_swap())

    await world.service.swap(_swap())

    assert [t.version for t in world.store.transcripts] == [1, 2]


async def test_a_swap_of_a_named_version_copies_that_version(world: World) -> None:
    await world.service.transcribe(_command(world, event_id="a"))
    await world.service.transcribe(_command(world, event_id="b"))

    swapped = await world.service.swap(_swap(version=1))

    assert swapped is not None and swapped.speaker_roles is not None
    assert (swapped.version, swapped.speaker_roles.swapped_from_version) == (3, 1)


async def test_a_swap_without_a_transcript_fails_with_a_reason(world: World) -> None:
    assert await world.service.swap(_swap(version=4)) is None

    assert world.events.events[-1] == TranscriptionFailed(
        _swap().context, "speakers cannot be swapped: version 4 does not exist"
    )


async def test_transcripts_are_read_within_their_organisation_only(world: World) -> None:
    await world.service.transcribe(_command(world))

    assert (await world.service.get(GetTranscript("org-1", "call-1"))).version == 1
    with pytest.raises(TranscriptNotFoundError):
        await world.service.get(GetTranscript("org-2", "call-1"))
    with pytest.raises(TranscriptNotFoundError, match="version 5"):
        await world.service.get(GetTranscript("org-1", "call-1", 5))


async def test_deleting_a_call_deletes_every_version(world: World) -> None:
    await world.service.transcribe(_command(world, event_id="a"))
    await world.service.transcribe(_command(world, event_id="b"))
    await world.service.transcribe(_command(world, event_id="c", call_id="call-2"))

    deleted = await world.service.delete(DeleteCallTranscripts(call_id="call-1", org_id="org-1"))

    assert deleted == 2
    assert [t.call_id for t in world.store.transcripts] == ["call-2"]
    assert await world.service.delete(DeleteCallTranscripts("call-1", "org-1")) == 0
