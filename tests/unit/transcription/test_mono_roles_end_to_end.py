"""A mono call through the real local model and voice splitter, then the role rules.

What the service does for a mono recording, short of Kafka and storage: the voices are
told apart, the greeting decides which is the agent, and the words land under the party
that spoke them in the script.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from callscope_transcription.adapters.local_provider import LocalWhisperProvider
from callscope_transcription.adapters.voices import SpectralVoiceSplitter
from callscope_transcription.adapters.whisper import LoadedModel
from callscope_transcription.domain.model import Layout, RoleSource, Segment, Speaker
from callscope_transcription.domain.roles import RoleRules, assign_roles
from callscope_transcription.domain.speakers import label_segments
from callscope_transcription.ports import ProviderRequest

from tests.support.audio import RenderedAudio, Turn, Voice, render_mono
from tests.support.scripts import COMPLIANT

pytestmark = pytest.mark.unit

# A male agent and a female customer (espeak-ng honours the variant after en-gb-x-rp).
AGENT = Voice("en-us", 160, 40)
CUSTOMER = Voice("en-gb-x-rp+f5", 150, 60)


def _party_at(time: float, turns: tuple[Turn, ...]) -> Speaker | None:
    for turn in turns:
        if turn.start - 0.3 <= time <= turn.end + 0.3:
            return Speaker(turn.party)
    return None


def _share_of_words_under_their_party(segments: tuple[Segment, ...], call: RenderedAudio) -> float:
    placed = [
        (segment.speaker, _party_at((word.start + word.end) / 2, call.turns))
        for segment in segments
        for word in segment.words
    ]
    return sum(speaker == party for speaker, party in placed) / len(placed)


async def test_a_mono_call_gets_agent_and_customer_from_its_voices_and_greeting(
    whisper_model: LoadedModel, tmp_path: Path
) -> None:
    call = render_mono(
        COMPLIANT.dialogue, tmp_path / "mono.wav", agent_voice=AGENT, customer_voice=CUSTOMER
    )
    provider = LocalWhisperProvider(whisper_model, voice_splitter=SpectralVoiceSplitter)

    hearing = await provider.transcribe(ProviderRequest(call.path, Layout.MONO, call.duration))
    roles = assign_roles(
        hearing.utterances,
        layout=hearing.layout,
        voices_split=hearing.voices_split,
        rules=RoleRules(company_name="City Energy"),
    )
    segments = label_segments(hearing.utterances, roles)

    assert hearing.voices_split
    assert (roles.source, roles.agent_voice, roles.needs_review) == (RoleSource.VOICES, 0, False)
    assert roles.confidence > 0.99
    assert segments[0].speaker is Speaker.AGENT and "City Energy" in segments[0].text
    assert {segment.speaker for segment in segments} == {Speaker.AGENT, Speaker.CUSTOMER}
    assert _share_of_words_under_their_party(segments, call) >= 0.95


def test_the_event_loop_is_free_while_the_model_works(
    whisper_model: LoadedModel, tmp_path: Path
) -> None:
    call = render_mono(COMPLIANT.dialogue, tmp_path / "loop.wav")
    provider = LocalWhisperProvider(whisper_model)
    ticks = 0

    async def run() -> None:
        nonlocal ticks
        work = asyncio.create_task(
            provider.transcribe(ProviderRequest(call.path, Layout.MONO, call.duration))
        )
        while not work.done():
            ticks += 1
            await asyncio.sleep(0.01)
        await work

    asyncio.run(run())

    assert ticks > 10
