"""Decodes a call and finds its speech in a thread of its own, while the model recognises.

The feed streams the file through ffmpeg, finds each channel's speech with the
streaming VAD (`speech_windows`, `vad`), hands a mono call's windows to the voice
splitter, and puts the speech pieces of each step on a small queue. The queue holds at most a
few steps, so decoding runs ahead of recognition by a bounded amount: ffmpeg
waits on its pipe while the model is behind.

A "stereo" call whose two sides carry one signal (a mono recording saved as
stereo) is heard as MONO. The sides are compared block by block (5 s) as they are
decoded: the first block in which they differ (their difference within 30 dB of
their energy) settles STEREO; MONO needs 60 s of signal with no such block, or the
call's end, so a prompt or announcement played to both sides first does not make
a two-party call mono. Until then, what both sides gave waits (bounded by those
60 s of signal), and with MONO only the left side's speech is used.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from callscope_transcription.adapters.audio_stream import Block, FfmpegAudioStream
from callscope_transcription.adapters.speech_chunks import SpeechPiece
from callscope_transcription.adapters.speech_windows import (
    ChannelSpeech,
    ChannelStep,
    SameSignalJudge,
)
from callscope_transcription.adapters.vad import VadSettings
from callscope_transcription.domain.model import Layout
from callscope_transcription.ports import SAMPLE_RATE, Samples, VoiceSplitter

_QUEUE_STEPS = 3
# Seconds of signal on both sides that must be the same before a stereo call is heard as mono.
_SAME_SIGNAL_HORIZON_S = 60
_POLL_S = 0.1


@dataclass(frozen=True)
class FeedPlan:
    """What to decode and how: the file, its layout as probed, window and block sizes."""

    path: Path
    layout: Layout
    window_samples: int
    block_samples: int


@dataclass(frozen=True)
class _Finished:
    samples: int
    layout: Layout


@dataclass(frozen=True)
class _Failed:
    error: BaseException


class FeedStoppedError(Exception):
    """The feed was stopped before the call was decoded (the caller gave up on it)."""


class SpeechFeed:
    """Speech pieces of a call, step by step, from a decoding thread (see the module docstring).

    Use as a context manager and iterate; afterwards layout, duration_seconds and
    splitter describe what was decoded.
    """

    def __init__(
        self,
        plan: FeedPlan,
        *,
        stream: FfmpegAudioStream,
        vad: VadSettings,
        voice_splitter: Callable[[], VoiceSplitter] | None,
    ) -> None:
        self._plan = plan
        self._stream = stream
        self._vad = vad
        self._voice_splitter = voice_splitter
        self._queue: queue.Queue[list[SpeechPiece] | _Finished | _Failed] = queue.Queue(
            _QUEUE_STEPS
        )
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="speech-feed", daemon=True)
        self.layout = plan.layout
        self.duration_seconds = 0.0
        self.splitter: VoiceSplitter | None = None
        self.busy_seconds = 0.0
        """CPU time of the feed's threads (reading ffmpeg's pipe, VAD, splitter); ffmpeg's
        own CPU time is its process's."""

    def __enter__(self) -> SpeechFeed:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._stop.set()
        while self._thread.is_alive():
            with contextlib.suppress(queue.Empty):
                self._queue.get(timeout=_POLL_S)
        self._thread.join()

    def __iter__(self) -> Iterator[list[SpeechPiece]]:
        while True:
            item = self._queue.get()
            if isinstance(item, _Failed):
                raise item.error
            if isinstance(item, _Finished):
                self.duration_seconds = item.samples / SAMPLE_RATE
                self.layout = item.layout
                return
            yield item

    def _run(self) -> None:
        try:
            self._put(self._decode())
        except BaseException as error:  # handed to the consuming thread, which raises it
            with contextlib.suppress(FeedStoppedError):
                self._put(_Failed(error))

    def _decode(self) -> _Finished:
        plan = self._plan
        stereo = plan.layout is Layout.STEREO
        channels = [
            ChannelSpeech(channel, self._vad, window_samples=plan.window_samples)
            for channel in range(2 if stereo else 1)
        ]
        judge = SameSignalJudge(_SAME_SIGNAL_HORIZON_S * SAMPLE_RATE) if stereo else None
        if not stereo:
            self._become_mono()
        held: list[list[ChannelStep]] = []
        decoded = 0
        started = time.thread_time()
        blocks = self._stream.blocks(
            plan.path, channels=len(channels), block_samples=plan.block_samples
        )
        # The second stereo channel's VAD runs beside the first, on the other core.
        side = ThreadPoolExecutor(1, thread_name_prefix="speech-feed-right") if stereo else None
        with contextlib.closing(blocks), side or contextlib.nullcontext():
            for block in blocks:
                if self._stop.is_set():
                    raise FeedStoppedError("the speech feed was stopped")
                decoded += block.shape[1]
                steps = self._push(channels, block, side)
                if judge is None or judge.verdict is not None:
                    self._emit(steps)
                    continue
                # Until the sides are known to differ, what they gave waits here.
                held.append([_without_silent_window(step) for step in steps])
                if (same := judge.add(block[0], block[1])) is not None:
                    channels = self._settle(same, channels, held)
            final = [channel.finish() for channel in channels]
            if judge is not None and judge.verdict is None:
                channels = self._settle(judge.finish(), channels, [*held, final])
            else:
                self._emit(final)
        self.busy_seconds += time.thread_time() - started
        return _Finished(decoded, self.layout)

    def _settle(
        self, same: bool, channels: list[ChannelSpeech], held: list[list[ChannelStep]]
    ) -> list[ChannelSpeech]:
        """Hands out what waited for the verdict: one side of it when both carry one signal."""
        if same:
            self._become_mono()
            channels = channels[:1]
        for steps in held:
            self._emit(steps[: len(channels)])
        held.clear()
        return channels

    def _push(
        self, channels: list[ChannelSpeech], block: Block, side: ThreadPoolExecutor | None
    ) -> list[ChannelStep]:
        """Each channel's step for the block; two channels at once when there are two."""
        if side is None or len(channels) == 1:
            return [channels[0].push(block[0])]
        right = side.submit(self._timed_push, channels[1], block[1])
        return [channels[0].push(block[0]), right.result()]

    def _timed_push(self, channel: ChannelSpeech, samples: Samples) -> ChannelStep:
        started = time.thread_time()
        step = channel.push(samples)
        self.busy_seconds += time.thread_time() - started
        return step

    def _become_mono(self) -> None:
        self.layout = Layout.MONO
        if self._voice_splitter is not None:
            self.splitter = self._voice_splitter()

    def _emit(self, steps: list[ChannelStep]) -> None:
        pieces = [piece for step in steps for piece in step.pieces]
        for step in steps:
            if step.window is not None and self.splitter is not None:
                window = step.window
                self.splitter.add(
                    window.samples,
                    window.offset / SAMPLE_RATE,
                    [(start / SAMPLE_RATE, end / SAMPLE_RATE) for start, end in window.spans],
                )
        if pieces:
            pieces.sort(key=lambda piece: (piece.start, piece.voice))
            self._put(pieces)

    def _put(self, item: list[SpeechPiece] | _Finished | _Failed) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(queue.Full):
                self._queue.put(item, timeout=_POLL_S)
                return
        raise FeedStoppedError("the speech feed was stopped")


def _without_silent_window(step: ChannelStep) -> ChannelStep:
    """The step without its window if that holds no speech (nothing to keep it for)."""
    if step.window is None or step.window.spans:
        return step
    return ChannelStep(step.pieces, None)
