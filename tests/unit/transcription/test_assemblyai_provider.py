"""The AssemblyAI provider against a stand-in of its API on a real socket."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from callscope_transcription.adapters.assemblyai import AssemblyAIProvider
from callscope_transcription.domain.errors import (
    SILENT_AUDIO_REASON,
    ProviderError,
    SilentAudioError,
)
from callscope_transcription.domain.model import Layout
from callscope_transcription.ports import Hearing, ProviderRequest

from tests.support.audio import RenderedAudio, render_mono, render_silence
from tests.support.dialogue import Dialogue, Line
from tests.support.fake_assemblyai import NO_SPOKEN_AUDIO, TOO_SHORT, FakeAssemblyAI
from tests.support.fake_http_server import RecordingSleep

pytestmark = pytest.mark.unit

UPLOAD = "/v2/upload"
SUBMIT = "/v2/transcript"
POLL_INTERVAL_S = 0.25
ONE_VOICE = Dialogue(
    name="one-voice",
    lines=(Line("AGENT", "Hello, you are through to Northwind Energy."),),
)


@pytest.fixture(scope="module")
def one_voice(audio_dir: Path) -> RenderedAudio:
    """A short mono call in which only the agent speaks."""
    return render_mono(ONE_VOICE, audio_dir / "assemblyai-one-voice.wav")


@pytest.fixture(scope="module")
def fake(
    short_stereo: RenderedAudio, short_mono: RenderedAudio, one_voice: RenderedAudio
) -> Iterator[FakeAssemblyAI]:
    """One AssemblyAI stand-in for the module, knowing what the rendered calls say."""
    with FakeAssemblyAI() as server:
        for rendered in (short_stereo, short_mono, one_voice):
            server.register_rendered(rendered)
        yield server


@pytest.fixture(autouse=True)
def _clean(fake: FakeAssemblyAI) -> None:
    fake.reset()


def _request(rendered: RenderedAudio) -> ProviderRequest:
    layout = Layout.STEREO if rendered.channels == 2 else Layout.MONO
    return ProviderRequest(rendered.path, layout, rendered.duration, "audio/wav")


async def _transcribe(
    fake: FakeAssemblyAI,
    request: ProviderRequest,
    sleep: RecordingSleep | None = None,
    *,
    key: str | None = None,
    timeout_s: float = 10.0,
    max_attempts: int = 3,
) -> Hearing:
    provider = AssemblyAIProvider(
        fake.api_key if key is None else key,
        fake.base_url,
        poll_interval_s=POLL_INTERVAL_S,
        timeout_s=timeout_s,
        max_attempts=max_attempts,
        sleep=sleep or RecordingSleep(),
    )
    try:
        return await provider.transcribe(request)
    finally:
        await provider.aclose()


def _assert_words_follow_the_script(hearing: Hearing, rendered: RenderedAudio) -> None:
    """Each utterance is one rendered line: its words, in seconds within the line, scored."""
    assert len(hearing.utterances) == len(rendered.turns)
    for utterance, turn in zip(hearing.utterances, rendered.turns, strict=True):
        assert utterance.text == turn.text
        assert [word.text for word in utterance.words] == turn.text.split()
        # The API counts milliseconds; whole-millisecond rounding is all that may differ.
        assert utterance.words[0].start == pytest.approx(turn.start, abs=0.001)
        assert utterance.words[-1].end == pytest.approx(turn.end, abs=0.001)
        for word, following in zip(utterance.words, utterance.words[1:], strict=False):
            assert word.start < word.end <= following.start
        assert all(0.0 < word.probability <= 1.0 for word in utterance.words)


async def test_stereo_voices_are_the_channels(
    fake: FakeAssemblyAI, short_stereo: RenderedAudio
) -> None:
    hearing = await _transcribe(fake, _request(short_stereo))

    _assert_words_follow_the_script(hearing, short_stereo)
    expected = [0 if turn.party == "AGENT" else 1 for turn in short_stereo.turns]
    assert [utterance.voice for utterance in hearing.utterances] == expected
    assert hearing.layout is Layout.STEREO
    assert hearing.voices_split
    assert hearing.language == "en"
    assert hearing.duration_seconds == pytest.approx(short_stereo.duration, abs=0.5)
    (transcript_id,) = fake.transcript_ids()
    assert hearing.model == fake.served(transcript_id)["speech_model"]
    assert hearing.settings["multichannel"] == "true"
    (submitted,) = fake.requests(SUBMIT)
    assert submitted.json["multichannel"] is True
    assert "speaker_labels" not in submitted.json
    assert submitted.json["audio_url"].startswith(fake.base_url)


async def test_mono_voices_are_the_speakers_in_order_of_first_appearance(
    fake: FakeAssemblyAI, short_mono: RenderedAudio
) -> None:
    hearing = await _transcribe(fake, _request(short_mono))

    _assert_words_follow_the_script(hearing, short_mono)
    first_party = short_mono.turns[0].party
    expected = [0 if turn.party == first_party else 1 for turn in short_mono.turns]
    assert [utterance.voice for utterance in hearing.utterances] == expected
    assert hearing.layout is Layout.MONO
    assert hearing.voices_split
    (submitted,) = fake.requests(SUBMIT)
    assert submitted.json["speaker_labels"] is True
    assert submitted.json["speakers_expected"] == 2
    assert "multichannel" not in submitted.json


async def test_a_mono_call_with_one_voice_is_not_split(
    fake: FakeAssemblyAI, one_voice: RenderedAudio
) -> None:
    hearing = await _transcribe(fake, _request(one_voice))

    assert {utterance.voice for utterance in hearing.utterances} == {0}
    assert not hearing.voices_split


async def test_the_file_is_streamed_and_the_transcript_polled_until_completed(
    fake: FakeAssemblyAI, short_stereo: RenderedAudio
) -> None:
    sleep = RecordingSleep()
    await _transcribe(fake, _request(short_stereo), sleep)

    (upload,) = fake.requests(UPLOAD)
    size = short_stereo.path.stat().st_size
    assert upload.body_size == size
    assert upload.headers["content-length"] == str(size)
    assert "transfer-encoding" not in upload.headers
    assert upload.auth_scheme == "key"
    (transcript_id,) = fake.transcript_ids()
    assert fake.statuses(transcript_id) == ["queued", "processing", "completed"]
    assert sleep.delays == [POLL_INTERVAL_S]


async def test_a_429_is_retried_after_the_time_retry_after_asks(
    fake: FakeAssemblyAI, short_stereo: RenderedAudio
) -> None:
    fake.fail_next(1, 429, retry_after="4", path=SUBMIT)
    sleep = RecordingSleep()
    hearing = await _transcribe(fake, _request(short_stereo), sleep)

    assert hearing.utterances
    assert len(fake.requests(SUBMIT)) == 2
    assert [delay for delay in sleep.delays if delay != POLL_INTERVAL_S] == [4.0]


async def test_5xx_uploads_are_retried_until_one_passes(
    fake: FakeAssemblyAI, short_stereo: RenderedAudio
) -> None:
    fake.fail_next(2, 500, path=UPLOAD)
    hearing = await _transcribe(fake, _request(short_stereo))

    assert hearing.utterances
    uploads = fake.requests(UPLOAD)
    assert len(uploads) == 3
    # Every attempt streamed the whole file again.
    assert {upload.body_size for upload in uploads} == {short_stereo.path.stat().st_size}


async def test_a_provider_that_stays_down_fails_with_a_reason_to_act_on(
    fake: FakeAssemblyAI, short_stereo: RenderedAudio
) -> None:
    fake.fail_next(5, 503, path=UPLOAD)
    with pytest.raises(ProviderError) as unavailable:
        await _transcribe(fake, _request(short_stereo), max_attempts=3)

    assert unavailable.value.reason == (
        "AssemblyAI is unavailable (HTTP 503 after 3 attempts): "
        "try again later or switch the campaign to another provider"
    )
    assert len(fake.requests(UPLOAD)) == 3
    assert fake.requests(SUBMIT) == []


async def test_a_wrong_key_is_rejected_and_never_shown(
    fake: FakeAssemblyAI, short_stereo: RenderedAudio, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong_key = "assemblyai-wrong-key-do-not-print-7f3a"
    with pytest.raises(ProviderError) as rejected:
        await _transcribe(fake, _request(short_stereo), key=wrong_key)

    assert "AssemblyAI rejected the API key" in rejected.value.reason
    assert "Authentication error" in rejected.value.detail
    assert len(fake.requests()) == 1
    assert not fake.requests()[0].authorized
    for text in (rejected.value.reason, rejected.value.detail, caplog.text, str(rejected.value)):
        assert wrong_key not in text


async def test_a_transcript_that_ends_in_error_fails_with_the_message_in_detail(
    fake: FakeAssemblyAI, short_stereo: RenderedAudio
) -> None:
    message = "Internal error while transcribing the file, please retry"
    fake.fail_next_transcript(message)
    with pytest.raises(ProviderError) as failed:
        await _transcribe(fake, _request(short_stereo))

    assert failed.value.reason == (
        "AssemblyAI could not transcribe the call: "
        "try again later or switch the campaign to another provider"
    )
    assert message in failed.value.detail
    (transcript_id,) = fake.transcript_ids()
    assert fake.statuses(transcript_id)[-1] == "error"


@pytest.mark.parametrize("message", [NO_SPOKEN_AUDIO, TOO_SHORT])
async def test_an_error_saying_there_is_no_speech_is_silent_audio(
    fake: FakeAssemblyAI, short_stereo: RenderedAudio, message: str
) -> None:
    fake.fail_next_transcript(message)
    with pytest.raises(SilentAudioError) as silent:
        await _transcribe(fake, _request(short_stereo))

    assert silent.value.reason == SILENT_AUDIO_REASON
    assert message in silent.value.detail


async def test_audio_without_words_is_silent(fake: FakeAssemblyAI, audio_dir: Path) -> None:
    path = render_silence(audio_dir / "assemblyai-silence.wav", 1.0, channels=2)
    with pytest.raises(SilentAudioError):
        await _transcribe(fake, ProviderRequest(path, Layout.STEREO, 1.0, "audio/wav"))

    (transcript_id,) = fake.transcript_ids()
    assert fake.served(transcript_id)["status"] == "completed"
    assert fake.served(transcript_id)["words"] == []


async def test_bytes_that_are_not_audio_could_not_be_read(
    fake: FakeAssemblyAI, tmp_path: Path
) -> None:
    path = tmp_path / "not-audio.wav"
    path.write_bytes(b"<html><body>an error page saved as a call</body></html>")
    with pytest.raises(ProviderError) as unreadable:
        await _transcribe(fake, ProviderRequest(path, Layout.MONO, 1.0, "audio/wav"))

    assert unreadable.value.reason.startswith("AssemblyAI could not read the audio")
    assert "does not appear to contain audio" in unreadable.value.detail


async def test_a_hanging_upload_times_out_on_every_attempt(
    fake: FakeAssemblyAI, short_stereo: RenderedAudio
) -> None:
    fake.hang_next(2, 10.0, path=UPLOAD)
    with pytest.raises(ProviderError) as unavailable:
        await _transcribe(fake, _request(short_stereo), timeout_s=0.4, max_attempts=2)

    assert "AssemblyAI is unavailable (no answer in time after 2 attempts)" in (
        unavailable.value.reason
    )
    assert len(fake.requests(UPLOAD)) == 2


async def test_a_transcript_that_never_finishes_stops_at_the_timeout(
    fake: FakeAssemblyAI, short_stereo: RenderedAudio
) -> None:
    fake.processing_polls = 1_000_000
    provider = AssemblyAIProvider(
        fake.api_key, fake.base_url, poll_interval_s=0.05, timeout_s=0.5, max_attempts=2
    )
    try:
        with pytest.raises(ProviderError) as too_slow:
            await provider.transcribe(_request(short_stereo))
    finally:
        await provider.aclose()

    assert too_slow.value.reason == (
        "AssemblyAI did not finish within 0.5 s: "
        "try again later or switch the campaign to another provider"
    )
    (transcript_id,) = fake.transcript_ids()
    assert fake.statuses(transcript_id)[-1] == "processing"
    assert transcript_id in too_slow.value.detail
