"""faster-whisper models: verified, then loaded once per process; and the whole-channel recogniser.

`WhisperRecogniser` recognises a whole channel held in memory; it serves the
handler until that calls a `SpeechProvider` (`adapters/local_provider.py`).
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from faster_whisper import WhisperModel

from callscope_transcription.domain.errors import ModelIntegrityError
from callscope_transcription.domain.model import Utterance, Word
from callscope_transcription.ports import Recognition, Samples

logger = logging.getLogger(__name__)

PROVIDER = "local"
MODEL_FILE = "model.bin"


@dataclass(frozen=True)
class DecodingOptions:
    """How Whisper searches for the words; the defaults were measured on scripted calls.

    The measurements behind them are in the service README.
    """

    # Beam search (5) made ~1 point fewer word errors than greedy decoding (which is ~1.5x
    # faster); a wider beam (8) measured no better.
    beam_size: int = 5
    # Silero voice-activity detection drops the silence before decoding: a stereo channel
    # is silent while the other party talks, and Whisper fed long silence invents words.
    # On stereo it measured ~1 point fewer errors and ~1.25x faster than without.
    vad_filter: bool = True
    # faster-whisper's own defaults; a tighter pad (200 ms) clipped word edges, a wider
    # one (800 ms) was worse on stereo and decoded slower.
    vad_min_silence_ms: int = 2000
    vad_speech_pad_ms: int = 400
    # Conditioning on the previous text keeps names and spellings consistent; without it
    # stereo measured slightly worse. The temperature fallback undoes the loops it can cause.
    condition_on_previous_text: bool = True


@dataclass(frozen=True)
class LoadedModel:
    """A faster-whisper model loaded once per process, and how it was loaded."""

    model: Any
    """The faster_whisper.WhisperModel; thread-safe once loaded."""
    name: str
    device: str = "cpu"
    compute_type: str = "int8"
    cpu_threads: int = 0
    num_workers: int = 1

    @property
    def english_only(self) -> bool:
        """English-only models (tiny.en, ...) must not be asked to detect the language."""
        return not getattr(self.model.model, "is_multilingual", False)


def load_model(
    model_dir: Path,
    *,
    expected_sha256: str | None,
    device: str = "cpu",
    compute_type: str = "int8",
    cpu_threads: int = 0,
    num_workers: int = 1,
    model_name: str | None = None,
) -> LoadedModel:
    """Verifies (when a hash is given) and loads the model from a local folder, offline.

    num_workers above 1 lets that many threads run the model at once, each with
    cpu_threads threads of its own; cpu_threads 0 then shares the CPUs among the
    workers (CTranslate2's own default would give each of them all of them).
    """
    if expected_sha256:
        verify_model(model_dir, expected_sha256)
    if cpu_threads == 0 and num_workers > 1:
        cpu_threads = max(1, len(os.sched_getaffinity(0)) // num_workers)
    model = WhisperModel(
        str(model_dir),
        device=device,
        compute_type=compute_type,
        cpu_threads=cpu_threads,
        num_workers=num_workers,
        local_files_only=True,
    )
    name = model_name or model_dir.name
    logger.info(
        "speech model loaded",
        extra={"model": name, "device": device, "compute_type": compute_type},
    )
    return LoadedModel(model, name, device, compute_type, cpu_threads, num_workers)


def verify_model(model_dir: Path, expected_sha256: str) -> None:
    """Checks the model file's SHA-256 against the pinned one; a mismatch stops the service."""
    path = model_dir / MODEL_FILE
    if not path.is_file():
        raise ModelIntegrityError(f"speech model file {path} does not exist")
    digest = hashlib.sha256()
    with path.open("rb") as model_file:
        while chunk := model_file.read(1 << 20):
            digest.update(chunk)
    actual = digest.hexdigest()
    if actual != expected_sha256.lower():
        raise ModelIntegrityError(
            f"speech model {path} has SHA-256 {actual}, expected {expected_sha256.lower()}; "
            "reinstall the pinned model or set TRANSCRIPTION_MODEL_SHA256 to the new model's hash"
        )


class WhisperRecogniser:
    """Recognises speech with a faster-whisper (CTranslate2) model; thread-safe once loaded."""

    def __init__(self, model: Any, model_name: str, options: DecodingOptions | None = None) -> None:
        self._model = model
        self._model_name = model_name
        self._options = options or DecodingOptions()
        # English-only models (tiny.en, ...) must not be asked to detect the language.
        self._language = None if getattr(model.model, "is_multilingual", False) else "en"

    @classmethod
    def load(
        cls,
        model_dir: Path,
        *,
        expected_sha256: str | None,
        device: str = "cpu",
        compute_type: str = "int8",
        cpu_threads: int = 0,
        model_name: str | None = None,
        options: DecodingOptions | None = None,
    ) -> WhisperRecogniser:
        """Verifies (when a hash is given) and loads the model from a local folder, offline."""
        loaded = load_model(
            model_dir,
            expected_sha256=expected_sha256,
            device=device,
            compute_type=compute_type,
            cpu_threads=cpu_threads,
            model_name=model_name,
        )
        return cls(loaded.model, loaded.name, options)

    @property
    def provider(self) -> str:
        """Stored on transcripts as their provider."""
        return PROVIDER

    @property
    def model(self) -> str:
        """Stored on transcripts as their model."""
        return self._model_name

    def recognise(self, samples: Samples) -> Recognition:
        """Recognises one channel; words carry their start, end and probability."""
        options = self._options
        segments, info = self._model.transcribe(
            samples,
            language=self._language,
            beam_size=options.beam_size,
            word_timestamps=True,
            vad_filter=options.vad_filter,
            vad_parameters={
                "min_silence_duration_ms": options.vad_min_silence_ms,
                "speech_pad_ms": options.vad_speech_pad_ms,
            },
            condition_on_previous_text=options.condition_on_previous_text,
        )
        utterances = [utterance for segment in segments if (utterance := _utterance(segment))]
        return Recognition(language=str(info.language), utterances=tuple(utterances))


def _utterance(segment: Any) -> Utterance | None:
    """A faster-whisper segment as an utterance; None when it holds no words (only punctuation)."""
    text = str(segment.text).strip()
    if not any(character.isalnum() for character in text):
        return None
    words = tuple(
        Word(
            text=word.word.strip(),
            start=round(float(word.start), 3),
            end=round(float(word.end), 3),
            probability=round(float(word.probability), 4),
        )
        for word in segment.words or ()
        if word.word.strip()
    )
    start = words[0].start if words else round(float(segment.start), 3)
    end = words[-1].end if words else round(float(segment.end), 3)
    return Utterance(start=start, end=end, text=text, words=words)
