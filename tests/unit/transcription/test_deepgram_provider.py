"""The Deepgram provider against a stand-in of its API on a real socket."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from callscope_transcription.adapters.deepgram import DeepgramProvider
from callscope_transcription.domain.errors import (
    SILENT_AUDIO_REASON,
    ProviderError,
    SilentAudioError,
)
from callscope_transcription.domain.model import Layout
from callscope_transcription.ports import Hearing, ProviderRequest

from tests.support.audio import RenderedAudio, render_silence
from tests.support.fake_deepgram import CORRUPT_AUDIO, FakeDeepgram
from tests.support.fake_http_server import RecordingSleep

pytestmark = pytest.mark.unit

LISTEN = "/v1/listen"
MODEL = "nova-3"


@pytest.fixture(scope="module")
def fake(short_stereo: RenderedAudio, short_mono: RenderedAudio) -> Iterator[FakeDeepgram]:
    """One Deepgram stand-in for the module, knowing what the rendered calls say."""
    with FakeDeepgram() as server:
        server.register_rendered(short_stereo)
        server.register_rendered(short_mono)
        yield server


@pytest.fixture(autouse=True)
def _clean(fake: FakeDeepgram) -> None:
    fake.reset()


def _request(rendered: RenderedAudio) -> ProviderRequest:
    layout = Layout.STEREO if rendered.channels == 2 else Layout.MONO
    return ProviderRequest(rendered.path, layout, rendered.duration, "audio/wav")


async def _transcribe(
    fake: FakeDeepgram,
    request: ProviderRequest,
    sleep: RecordingSleep | None = None,
    *,
    key: str | None = None,
    timeout_s: float = 10.0,
    max_attempts: int = 3,
) -> Hearing:
    provider = DeepgramProvider(
        fake.api_key if key is None else key,
        fake.base_url,
        MODEL,
        timeout_s=timeout_s,
        max_attempts=max_attempts,
        sleep=sleep or RecordingSleep(),
    )
    try:
        return await provider.transcribe(request)
    finally:
        await provider.aclose()


def _assert_words_follow_the_script(hearing: Hearing, rendered: RenderedAudio) -> None:
    """Each utterance is one rendered line: its punctuated words, timed within it, scored."""
    assert len(hearing.utterances) == len(rendered.turns)
    for utterance, turn in zip(hearing.utterances, rendered.turns, strict=True):
        assert utterance.text == turn.text
        assert [word.text for word in utterance.words] == turn.text.split()
        assert utterance.start == pytest.approx(turn.start, abs=0.001)
        assert utterance.end == pytest.approx(turn.end, abs=0.001)
        for word, following in zip(utterance.words, utterance.words[1:], strict=False):
            assert word.start < word.end <= following.start
        assert all(0.0 < word.probability <= 1.0 for word in utterance.words)


async def test_stereo_voices_are_the_channels(
    fake: FakeDeepgram, short_stereo: RenderedAudio
) -> None:
    hearing = await _transcribe(fake, _request(short_stereo))

    _assert_words_follow_the_script(hearing, short_stereo)
    expected = [0 if turn.party == "AGENT" else 1 for turn in short_stereo.turns]
    assert [utterance.voice for utterance in hearing.utterances] == expected
    assert hearing.layout is Layout.STEREO
    assert hearing.voices_split
    assert hearing.language == "en"
    assert hearing.model == MODEL
    assert hearing.duration_seconds == pytest.approx(short_stereo.duration, abs=0.01)
    (sent,) = fake.requests(LISTEN)
    assert sent.query["multichannel"] == "true"
    assert "diarize" not in sent.query
    assert hearing.settings == sent.query


async def test_mono_voices_are_the_speakers_in_order_of_first_appearance(
    fake: FakeDeepgram, short_mono: RenderedAudio
) -> None:
    hearing = await _transcribe(fake, _request(short_mono))

    _assert_words_follow_the_script(hearing, short_mono)
    first_party = short_mono.turns[0].party
    expected = [0 if turn.party == first_party else 1 for turn in short_mono.turns]
    assert [utterance.voice for utterance in hearing.utterances] == expected
    assert hearing.layout is Layout.MONO
    assert hearing.voices_split
    (sent,) = fake.requests(LISTEN)
    assert sent.query["diarize"] == "true"
    assert "multichannel" not in sent.query


async def test_the_file_is_streamed_with_its_type_and_the_documented_options(
    fake: FakeDeepgram, short_stereo: RenderedAudio
) -> None:
    await _transcribe(fake, _request(short_stereo))

    (sent,) = fake.requests(LISTEN)
    size = short_stereo.path.stat().st_size
    assert sent.body_size == size
    assert sent.headers["content-length"] == str(size)
    assert "transfer-encoding" not in sent.headers
    assert sent.headers["content-type"] == "audio/wav"
    assert sent.auth_scheme == "Token"
    assert sent.authorized
    expected = {"model": MODEL, "smart_format": "true", "punctuate": "true", "utterances": "true"}
    assert expected.items() <= sent.query.items()


async def test_a_429_is_retried_after_the_time_retry_after_asks(
    fake: FakeDeepgram, short_stereo: RenderedAudio
) -> None:
    fake.fail_next(1, 429, retry_after="2")
    sleep = RecordingSleep()
    hearing = await _transcribe(fake, _request(short_stereo), sleep)

    assert len(hearing.utterances) == len(short_stereo.turns)
    assert sleep.delays == [2.0]
    assert len(fake.requests(LISTEN)) == 2


async def test_5xx_answers_are_retried_until_one_passes(
    fake: FakeDeepgram, short_mono: RenderedAudio
) -> None:
    fake.fail_next(1, 500)
    fake.fail_next(1, 503)
    sleep = RecordingSleep()
    hearing = await _transcribe(fake, _request(short_mono), sleep)

    assert len(hearing.utterances) == len(short_mono.turns)
    assert len(sleep.delays) == 2
    sent = fake.requests(LISTEN)
    assert len(sent) == 3
    assert {request.body_size for request in sent} == {short_mono.path.stat().st_size}


async def test_a_provider_that_stays_down_fails_with_a_reason_to_act_on(
    fake: FakeDeepgram, short_stereo: RenderedAudio
) -> None:
    fake.fail_next(5, 503)
    with pytest.raises(ProviderError) as unavailable:
        await _transcribe(fake, _request(short_stereo), max_attempts=3)

    assert unavailable.value.reason == (
        "Deepgram is unavailable (HTTP 503 after 3 attempts): "
        "try again later or switch the campaign to another provider"
    )
    assert len(fake.requests(LISTEN)) == 3


async def test_a_wrong_key_is_rejected_and_never_shown(
    fake: FakeDeepgram, short_stereo: RenderedAudio, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong_key = "deepgram-wrong-key-do-not-print-91c2"
    with pytest.raises(ProviderError) as rejected:
        await _transcribe(fake, _request(short_stereo), key=wrong_key)

    assert "Deepgram rejected the API key" in rejected.value.reason
    assert "Invalid credentials" in rejected.value.detail
    (sent,) = fake.requests(LISTEN)
    assert not sent.authorized
    for text in (rejected.value.reason, rejected.value.detail, caplog.text, str(rejected.value)):
        assert wrong_key not in text


async def test_bytes_that_are_not_audio_could_not_be_read(
    fake: FakeDeepgram, tmp_path: Path
) -> None:
    path = tmp_path / "not-audio.mp3"
    path.write_bytes(b"<html><body>an error page saved as a call</body></html>")
    with pytest.raises(ProviderError) as unreadable:
        await _transcribe(fake, ProviderRequest(path, Layout.MONO, 1.0, "audio/mpeg"))

    assert unreadable.value.reason.startswith("Deepgram could not read the audio")
    assert CORRUPT_AUDIO in unreadable.value.detail
    assert len(fake.requests(LISTEN)) == 1


async def test_audio_without_words_is_silent(fake: FakeDeepgram, audio_dir: Path) -> None:
    path = render_silence(audio_dir / "deepgram-silence.wav", 1.0, channels=1)
    with pytest.raises(SilentAudioError) as silent:
        await _transcribe(fake, ProviderRequest(path, Layout.MONO, 1.0, "audio/wav"))

    assert silent.value.reason == SILENT_AUDIO_REASON
    assert len(fake.requests(LISTEN)) == 1


async def test_a_hanging_provider_times_out_on_every_attempt(
    fake: FakeDeepgram, short_stereo: RenderedAudio
) -> None:
    fake.hang_next(2, 10.0)
    with pytest.raises(ProviderError) as unavailable:
        await _transcribe(fake, _request(short_stereo), timeout_s=0.4, max_attempts=2)

    assert "Deepgram is unavailable (no answer in time after 2 attempts)" in (
        unavailable.value.reason
    )
    assert len(fake.requests(LISTEN)) == 2
