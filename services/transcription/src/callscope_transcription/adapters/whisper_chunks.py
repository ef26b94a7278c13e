"""Recognises a batch of 30-second speech chunks in one pass of faster-whisper's batched pipeline.

The chunks are laid end to end in one array and handed to `BatchedInferencePipeline`
as clip timestamps, so it neither runs its own VAD nor joins the chunks: the model
encodes them as one batch and beam-searches them together, and every segment it
returns names its chunk by `seek` (the chunk's start in 10-ms frames). Batched
decoding has no temperature fallback; a chunk whose text repeats itself (gzip
compression ratio above Whisper's 2.4) is decoded again on its own, with it.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from faster_whisper import BatchedInferencePipeline

from callscope_transcription.adapters.whisper import LoadedModel
from callscope_transcription.ports import SAMPLE_RATE, Samples

# Whisper's own threshold for text that loops ("thank you thank you thank you ...").
_LOOPING_COMPRESSION_RATIO = 2.4


@dataclass(frozen=True)
class HeardWord:
    """A word with its time in seconds from the start of its chunk."""

    text: str
    start: float
    end: float
    probability: float


@dataclass(frozen=True)
class ChunkDecoding:
    """How chunks are decoded."""

    beam_size: int = 5
    # None: detect the language (multilingual models); English-only models are always "en".
    language: str | None = None


class WhisperChunkRecogniser:
    """Words with timings for each chunk of a batch; thread-safe (one pipeline per call)."""

    def __init__(self, loaded: LoadedModel, decoding: ChunkDecoding) -> None:
        self._model = loaded.model
        self._decoding = decoding
        self._language = "en" if loaded.english_only else decoding.language
        self.redecoded = 0
        """Chunks decoded again because their text looped (for the logs)."""

    @property
    def language(self) -> str | None:
        """The language decoded in: set, or detected on the first batch."""
        return self._language

    def recognise(self, chunks: Sequence[Samples]) -> list[list[HeardWord]]:
        """The words heard in each chunk (each at most 30 s), in order."""
        if not chunks:
            return []
        offsets = np.cumsum([0, *(chunk.size for chunk in chunks)])
        pipeline = BatchedInferencePipeline(self._model)
        # Half a sample more on each edge, so faster-whisper's int(seconds * rate) lands on it.
        clips = [
            {"start": (offsets[i] + 0.5) / SAMPLE_RATE, "end": (offsets[i + 1] + 0.5) / SAMPLE_RATE}
            for i in range(len(chunks))
        ]
        segments, info = pipeline.transcribe(
            np.concatenate(chunks),
            language=self._language,
            clip_timestamps=clips,
            batch_size=len(chunks),
            beam_size=self._decoding.beam_size,
            word_timestamps=True,
        )
        frames_per_second = self._model.frames_per_second
        # faster-whisper computes each chunk's seek this way; the same sum finds it again.
        seeks = [int(offset / SAMPLE_RATE * frames_per_second) for offset in offsets[:-1]]
        heard: list[list[HeardWord]] = [[] for _ in chunks]
        looping: set[int] = set()
        for segment in segments:
            index = max(0, bisect_right(seeks, segment.seek) - 1)
            if segment.compression_ratio > _LOOPING_COMPRESSION_RATIO:
                looping.add(index)
            heard[index].extend(_words(segment, segment.seek / frames_per_second))
        self._language = self._language or str(info.language)
        for index in sorted(looping):
            heard[index] = self._recognise_alone(chunks[index])
            self.redecoded += 1
        return heard

    def _recognise_alone(self, chunk: Samples) -> list[HeardWord]:
        """One chunk through the sequential decoder, with Whisper's temperature fallback."""
        segments, _ = self._model.transcribe(
            chunk,
            language=self._language,
            beam_size=self._decoding.beam_size,
            word_timestamps=True,
            condition_on_previous_text=False,
            vad_filter=False,
        )
        return [word for segment in segments for word in _words(segment, 0.0)]


def _words(segment: Any, chunk_start: float) -> list[HeardWord]:
    return [
        HeardWord(
            text=word.word.strip(),
            start=float(word.start) - chunk_start,
            end=float(word.end) - chunk_start,
            probability=float(word.probability),
        )
        for word in segment.words or ()
        if word.word.strip()
    ]
