"""The "local" speech provider: faster-whisper on this machine, streaming, in bounded memory.

How a call is heard (the figures behind each choice are in the service README):

1. ffmpeg decodes the file into a pipe; a feed thread reads it a few seconds at a
   time and finds each channel's speech with Silero VAD run as a stream (`speech_feed`,
   `speech_windows`, `vad`). Silence and hold music never reach the model. A mono
   call's windows go to the voice splitter as they are settled.
2. Each channel's speech is packed into 30-second chunks, its pieces laid end to end
   (`speech_chunks`).
3. Chunks are recognised a batch at a time by faster-whisper's batched pipeline
   (`whisper_chunks`), batches on two model workers at once (`batch_runner`), while
   the feed decodes ahead.
4. Words get their call time and voice back from their chunk; the words of one
   piece form an utterance. A mono call's utterances are labelled by the splitter.

Memory holds a window per channel, a few queued steps and the batches in flight,
whatever the call's length.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path

from callscope_transcription.adapters.audio_stream import FfmpegAudioStream
from callscope_transcription.adapters.batch_runner import BatchRunner
from callscope_transcription.adapters.speech_chunks import Chunk, ChunkPacker, PlacedPiece
from callscope_transcription.adapters.speech_feed import FeedPlan, FeedStoppedError, SpeechFeed
from callscope_transcription.adapters.vad import VadSettings
from callscope_transcription.adapters.whisper import LoadedModel, load_model
from callscope_transcription.adapters.whisper_chunks import (
    ChunkDecoding,
    HeardWord,
    WhisperChunkRecogniser,
)
from callscope_transcription.domain.errors import SilentAudioError
from callscope_transcription.domain.model import Layout, Utterance, Word
from callscope_transcription.ports import SAMPLE_RATE, Hearing, ProviderRequest, VoiceSplitter

PROVIDER_NAME = "local"
_CHUNK_SECONDS = 30  # what Whisper encodes at once


@dataclass(frozen=True)
class LocalOptions:
    """How the local provider decodes, finds speech and batches; measured in the README."""

    # Beam search as faster-whisper's default; greedy (1) measured about a point worse.
    beam_size: int = 5
    # Chunks recognised in one pass of a model worker. On 2 cores with one thread per
    # worker, 2 was as fast as 4 or 8 and faster than 1; memory grows with it (beam x
    # batch x ~18 MB of attention cache per worker).
    batch_size: int = 2
    # Settled audio is handed out (to a mono call's voice splitter) and dropped a window
    # at a time: memory is about window_s x 64 kB per channel, plus the span still open.
    window_s: float = 60.0
    # What ffmpeg's pipe is read in.
    block_s: float = 5.0
    # Stereo: both channels' speech in the same chunks; measured no faster and 1.6 points
    # worse on stereo WER than a channel's speech alone in its chunks.
    mix_channels: bool = False
    vad: VadSettings = field(default_factory=VadSettings)

    def settings(self) -> dict[str, str]:
        """The options as strings, stored with every transcript."""
        return {
            "engine": f"faster-whisper {version('faster-whisper')} batched",
            "beam_size": str(self.beam_size),
            "batch_size": str(self.batch_size),
            "word_timestamps": "true",
            "chunk_s": str(_CHUNK_SECONDS),
            "window_s": f"{self.window_s:g}",
            "stereo_chunks": "mixed" if self.mix_channels else "per_channel",
            "vad": "silero",
            "vad_threshold": f"{self.vad.threshold:g}",
            "vad_min_silence_ms": str(self.vad.min_silence_ms),
            "vad_speech_pad_ms": str(self.vad.speech_pad_ms),
            "vad_max_speech_s": f"{self.vad.max_speech_s:g}",
        }


@dataclass
class RunTimings:
    """Where one call's wall time went; filled in by `LocalWhisperProvider.hear` when given."""

    wall_s: float = 0.0
    model_s: float = 0.0
    """Inside the model (batched recognition), on the recognising thread."""
    feed_busy_s: float = 0.0
    """Decoding, VAD and splitter work on the feed thread (overlaps the model)."""
    speech_s: float = 0.0
    chunks: int = 0
    redecoded: int = 0

    def add(self, batch: Sequence[Chunk]) -> None:
        """Counts the chunks handed to the model."""
        self.chunks += len(batch)
        self.speech_s += sum(chunk.samples.size for chunk in batch) / SAMPLE_RATE


class LocalWhisperProvider:
    """Implements SpeechProvider with a faster-whisper model loaded once per process."""

    def __init__(
        self,
        model: LoadedModel,
        *,
        options: LocalOptions | None = None,
        voice_splitter: Callable[[], VoiceSplitter] | None = None,
        stream: FfmpegAudioStream | None = None,
    ) -> None:
        self._model = model
        self._options = options or LocalOptions()
        self._voice_splitter = voice_splitter
        self._stream = stream or FfmpegAudioStream()
        self._settings = {
            "model": model.name,
            "device": model.device,
            "compute_type": model.compute_type,
            "cpu_threads": str(model.cpu_threads),
            "num_workers": str(model.num_workers),
            **self._options.settings(),
        }

    @classmethod
    def load(
        cls,
        model_dir: Path,
        *,
        expected_sha256: str | None,
        device: str = "cpu",
        compute_type: str = "int8",
        cpu_threads: int = 0,
        num_workers: int = 2,
        model_name: str | None = None,
        options: LocalOptions | None = None,
        voice_splitter: Callable[[], VoiceSplitter] | None = None,
    ) -> LocalWhisperProvider:
        """Verifies (when a hash is given) and loads the model: call once per process.

        num_workers batches run at once (each on its own CTranslate2 worker); with
        cpu_threads 0 the CPUs are shared among them. Two single-threaded workers on
        two cores measured faster than one worker with two threads (README, "Speed").
        """
        model = load_model(
            model_dir,
            expected_sha256=expected_sha256,
            device=device,
            compute_type=compute_type,
            cpu_threads=cpu_threads,
            num_workers=num_workers,
            model_name=model_name,
        )
        return cls(model, options=options, voice_splitter=voice_splitter)

    @property
    def name(self) -> str:
        """Stored on transcripts as their provider."""
        return PROVIDER_NAME

    @property
    def settings(self) -> Mapping[str, str]:
        """How this provider transcribes; every Hearing carries it."""
        return dict(self._settings)

    async def transcribe(self, request: ProviderRequest) -> Hearing:
        """Hears the call in a worker thread; cancelling stops it at its next batch."""
        stop = threading.Event()
        try:
            return await asyncio.to_thread(self.hear, request, stop=stop)
        finally:
            stop.set()

    def hear(
        self,
        request: ProviderRequest,
        *,
        stop: threading.Event | None = None,
        timings: RunTimings | None = None,
    ) -> Hearing:
        """Transcribes the file in the calling thread (the module docstring says how).

        Raises UndecodableAudioError when ffmpeg cannot decode it, SilentAudioError when
        no words are heard, FeedStoppedError when stop is set before it is done.
        """
        started = time.perf_counter()
        run = timings if timings is not None else RunTimings()
        recogniser = WhisperChunkRecogniser(self._model, ChunkDecoding(self._options.beam_size))
        plan = FeedPlan(
            path=request.path,
            layout=request.layout,
            window_samples=round(self._options.window_s * SAMPLE_RATE),
            block_samples=round(self._options.block_s * SAMPLE_RATE),
        )
        feed = SpeechFeed(
            plan, stream=self._stream, vad=self._options.vad, voice_splitter=self._voice_splitter
        )
        with feed:
            utterances = self._recognise_speech(feed, recogniser, run, stop)
        run.feed_busy_s = feed.busy_seconds
        run.redecoded = recogniser.redecoded
        if not utterances:
            raise SilentAudioError(f"{feed.duration_seconds:.1f} s of audio, no words recognised")
        utterances.sort(key=lambda utterance: (utterance.start, utterance.voice))
        voices_split = feed.layout is Layout.STEREO
        if feed.layout is Layout.MONO and feed.splitter is not None:
            labelled, voices_split = feed.splitter.label(utterances)
            utterances = list(labelled)
        run.wall_s = time.perf_counter() - started
        return Hearing(
            language=recogniser.language or "en",
            layout=feed.layout,
            utterances=tuple(utterances),
            duration_seconds=round(feed.duration_seconds, 3),
            model=self._model.name,
            voices_split=voices_split,
            settings=dict(self._settings),
        )

    def _recognise_speech(
        self,
        feed: SpeechFeed,
        recogniser: WhisperChunkRecogniser,
        run: RunTimings,
        stop: threading.Event | None,
    ) -> list[Utterance]:
        """Packs the feed's pieces into chunks and recognises them a batch at a time."""
        batch_size = self._options.batch_size
        packers: dict[int, ChunkPacker] = {}
        pending: list[Chunk] = []
        runner: BatchRunner[Chunk, Utterance] = BatchRunner(
            lambda batch: _recognise(recogniser, batch), self._model.num_workers
        )
        with runner:
            for pieces in feed:
                for piece in pieces:
                    key = 0 if self._options.mix_channels else piece.voice
                    packer = packers.setdefault(key, ChunkPacker(_CHUNK_SECONDS * SAMPLE_RATE))
                    pending.extend(packer.add(piece))
                _check(stop)
                while len(pending) >= batch_size:
                    batch, pending = pending[:batch_size], pending[batch_size:]
                    run.add(batch)
                    runner.submit(batch)
            _check(stop)
            for packer in packers.values():
                pending.extend(packer.flush())
            run.add(pending)
            runner.submit_rest(pending, batch_size)
            utterances = runner.results()
        run.model_s = runner.busy_seconds()
        return utterances


def _check(stop: threading.Event | None) -> None:
    if stop is not None and stop.is_set():
        raise FeedStoppedError("transcription was cancelled")


def _recognise(recogniser: WhisperChunkRecogniser, batch: Sequence[Chunk]) -> list[Utterance]:
    """Recognises a batch of chunks; the words of each piece become an utterance."""
    heard = recogniser.recognise([chunk.samples for chunk in batch])
    return [
        utterance
        for chunk, words in zip(batch, heard, strict=True)
        for utterance in _utterances(chunk, words)
    ]


def _utterances(chunk: Chunk, heard: Sequence[HeardWord]) -> list[Utterance]:
    """The chunk's words in call time, one utterance per piece they were heard in."""
    groups: list[tuple[PlacedPiece, list[Word]]] = []
    for word in heard:
        piece = chunk.piece_at((word.start + word.end) / 2)
        placed = Word(
            text=word.text,
            start=chunk.to_call(word.start, piece),
            end=chunk.to_call(word.end, piece),
            probability=round(word.probability, 4),
        )
        if groups and groups[-1][0] is piece:
            groups[-1][1].append(placed)
        else:
            groups.append((piece, [placed]))
    utterances = []
    for piece, words in groups:
        text = " ".join(word.text for word in words)
        if any(character.isalnum() for character in text):
            utterances.append(
                Utterance(words[0].start, words[-1].end, text, tuple(words), voice=piece.voice)
            )
    return utterances
