"""Silero VAD over a stream: the same speech spans as faster-whisper's one-shot VAD, block by block.

faster-whisper's `get_speech_timestamps` needs the whole audio, and restarting it on
pieces changes its answers (the model's recurrent state remembers seconds of audio:
measured, probabilities moved by up to 0.6 after a restart in silence). Here the model
runs 512-sample frame by frame with its state (h, c and the 64-sample context)
carried from block to block, and the span rules run frame by frame too; the spans
are those of one pass over the whole call, however the call is cut into blocks.

One deviation, on purpose: frames are taken 32 at a time (about a second), and a
group of frames that is digitally silent (peak below SILENCE_PEAK) is not run
through the model: it scores 0 and the model's state starts afresh after it. So a
silent stereo side costs no VAD time. The groups lie on a fixed grid from the
call's start, so this too is the same however the call is cut.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from faster_whisper.vad import get_vad_model

from callscope_transcription.ports import SAMPLE_RATE, SILENCE_PEAK, Samples

Span = tuple[int, int]
"""A stretch of samples [start, end) from the call's start."""

FRAME = 512
_CONTEXT = 64
_GROUP = 32 * FRAME
# Silero's rule for splitting a span that reached max_speech_s: at a pause this long.
_PAUSE_AT_MAX_SPEECH_MS = 98


@dataclass(frozen=True)
class VadSettings:
    """How Silero VAD separates speech from silence, noise and hold music."""

    threshold: float = 0.5
    # A pause this long ends a span: spans are what gets recognised, and the shorter this
    # is, the more of the silence between phrases is left out.
    min_silence_ms: int = 500
    # Kept on both sides of a span so word edges are not clipped.
    speech_pad_ms: int = 400
    # A span must fit into one 30-s Whisper chunk, padding included.
    max_speech_s: float = 29.0


class StreamingVad:
    """Silero speech probabilities per 512-sample frame, the model's state carried over blocks."""

    def __init__(self) -> None:
        self._session = get_vad_model().session
        self._rest = np.zeros(0, dtype=np.float32)
        self._reset()

    def push(self, samples: Samples) -> npt.NDArray[np.float32]:
        """Probabilities of the whole frame groups now complete."""
        audio = np.concatenate((self._rest, samples)) if self._rest.size else samples
        whole = audio.size - audio.size % _GROUP
        self._rest = audio[whole:].copy()
        return self._score(audio[:whole])

    def finish(self) -> npt.NDArray[np.float32]:
        """Probabilities of the rest, padded with zeros as faster-whisper pads the end."""
        rest = self._rest
        self._rest = np.zeros(0, dtype=np.float32)
        return self._score(np.pad(rest, (0, FRAME - rest.size % FRAME)))

    def _reset(self) -> None:
        self._h = np.zeros((1, 1, 128), dtype=np.float32)
        self._c = np.zeros((1, 1, 128), dtype=np.float32)
        self._context = np.zeros(_CONTEXT, dtype=np.float32)

    def _score(self, audio: Samples) -> npt.NDArray[np.float32]:
        scores = np.zeros(audio.size // FRAME, dtype=np.float32)
        group_peaks = [
            float(np.max(np.abs(audio[at : at + _GROUP]))) for at in range(0, audio.size, _GROUP)
        ]
        at = 0
        while at < audio.size:
            group = at // _GROUP
            if group_peaks[group] < SILENCE_PEAK:
                self._reset()
                at += _GROUP
                continue
            end = at
            while end < audio.size and group_peaks[end // _GROUP] >= SILENCE_PEAK:
                end += _GROUP
            end = min(end, audio.size)
            scores[at // FRAME : end // FRAME] = self._run(audio[at:end])
            at = end
        return scores

    def _run(self, audio: Samples) -> npt.NDArray[np.float32]:
        frames = audio.reshape(-1, FRAME)
        contexts = np.concatenate((self._context[None, :], frames[:-1, -_CONTEXT:]))
        output, self._h, self._c = self._session.run(
            None, {"input": np.concatenate((contexts, frames), axis=1), "h": self._h, "c": self._c}
        )
        self._context = frames[-1, -_CONTEXT:].copy()
        return np.asarray(output, dtype=np.float32).reshape(-1)


class SpanTracker:
    """faster-whisper's span rules (get_speech_timestamps), applied frame by frame.

    A span is handed out once it is final, padded as the one-shot rules pad it: the
    end waits for the next span's start (a short gap is split between the two) or for
    a silence of twice the pad. `settled` says where nothing can change any more.
    """

    def __init__(self, settings: VadSettings) -> None:
        pad = SAMPLE_RATE * settings.speech_pad_ms / 1000
        self._threshold = settings.threshold
        self._neg_threshold = max(settings.threshold - 0.15, 0.01)
        self._pad = pad
        self._max_speech = SAMPLE_RATE * settings.max_speech_s - FRAME - 2 * pad
        self._min_silence = SAMPLE_RATE * settings.min_silence_ms / 1000
        self._min_silence_at_max = SAMPLE_RATE * _PAUSE_AT_MAX_SPEECH_MS / 1000
        self._frame = 0
        self._triggered = False
        self._start = 0  # the open span's raw start
        self._temp_end = self._prev_end = self._next_start = 0
        self._open_start: int | None = None  # the open span's padded start
        self._pending: tuple[int, int] | None = None  # a closed span: padded start, raw end
        self._emitted_end = 0
        self._done: list[Span] = []

    @property
    def settled(self) -> int:
        """The sample before which every span has been handed out and none can start."""
        if self._pending is not None:
            return self._pending[0]
        if self._open_start is not None:
            return self._open_start
        return max(self._emitted_end, int(self._frame * FRAME - self._pad))

    def feed(self, probabilities: npt.NDArray[np.float32]) -> list[Span]:
        """Takes the next frames' probabilities; returns the spans that became final."""
        for probability in probabilities.tolist():
            self._step(probability, FRAME * self._frame)
            self._frame += 1
        done, self._done = self._done, []
        return done

    def finish(self, length: int) -> list[Span]:
        """The last spans, once the call's length in samples is known."""
        if self._triggered and self._open_start is not None:
            self._close(length)
        if self._pending is not None:
            start, end = self._pending
            self._emit(start, int(min(length, end + self._pad)))
        done, self._done = self._done, []
        return done

    def _step(self, probability: float, position: int) -> None:
        # Ported from faster_whisper.vad.get_speech_timestamps (1.2.1), one frame at a time.
        self._finish_pending_after_silence(position)
        if probability >= self._threshold and self._temp_end:
            self._temp_end = 0
            if self._next_start < self._prev_end:
                self._next_start = position
        if probability >= self._threshold and not self._triggered:
            self._triggered = True
            self._begin(position)
            return
        if self._triggered and position - self._start > self._max_speech:
            if self._prev_end:
                self._close(self._prev_end)
                if self._next_start < self._prev_end:
                    self._triggered = False
                else:
                    self._begin(self._next_start)
                self._prev_end = self._next_start = self._temp_end = 0
            else:
                self._close(position)
                self._prev_end = self._next_start = self._temp_end = 0
                self._triggered = False
                return
        if probability < self._neg_threshold and self._triggered:
            if not self._temp_end:
                self._temp_end = position
            if position - self._temp_end > self._min_silence_at_max:
                self._prev_end = self._temp_end
            if position - self._temp_end < self._min_silence:
                return
            self._close(self._temp_end)
            self._prev_end = self._next_start = self._temp_end = 0
            self._triggered = False

    def _begin(self, start: int) -> None:
        """A span starts: the closed one before it gets its end, this one its padded start."""
        self._start = start
        if self._pending is None:
            self._open_start = int(max(0, start - self._pad))
            return
        padded_start, end = self._pending
        gap = start - end
        if gap < 2 * self._pad:
            self._emit(padded_start, int(end + gap // 2))
            self._open_start = int(max(0, start - gap // 2))
        else:
            self._emit(padded_start, int(end + self._pad))
            self._open_start = int(max(0, start - self._pad))

    def _close(self, end: int) -> None:
        """The open span ends (raw end); its padded end waits for what follows."""
        if self._open_start is not None and end > self._start:
            self._pending = (self._open_start, end)
        self._open_start = None

    def _finish_pending_after_silence(self, position: int) -> None:
        """A closed span followed by silence of twice the pad gets its full pad at once."""
        if self._pending is None or self._triggered:
            return
        padded_start, end = self._pending
        if position - end >= 2 * self._pad:
            self._emit(padded_start, int(end + self._pad))

    def _emit(self, start: int, end: int) -> None:
        self._done.append((start, end))
        self._emitted_end = end
        self._pending = None


def speech_spans(samples: Samples, settings: VadSettings) -> list[Span]:
    """The speech spans of audio held in memory, in one pass (for short clips and checks)."""
    vad, tracker = StreamingVad(), SpanTracker(settings)
    spans = tracker.feed(vad.push(samples))
    return spans + tracker.feed(vad.finish()) + tracker.finish(samples.size)
