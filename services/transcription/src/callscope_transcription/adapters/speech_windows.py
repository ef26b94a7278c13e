"""One channel of a streamed call: its speech pieces as they become final, and its windows.

The channel's samples run through the streaming VAD (`vad.py`); every speech span
it finalises is cut out as a piece for the model at once. The samples are kept
only back to the point where nothing can change any more (`SpanTracker.settled`),
plus the window being filled: once a window's worth is settled it is handed out
(for a mono call's voice splitter) and dropped. A span ends after at most
`max_speech_s`, so what is kept stays bounded however long the call is.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from callscope_transcription.adapters.speech_chunks import SpeechPiece
from callscope_transcription.adapters.vad import Span, SpanTracker, StreamingVad, VadSettings
from callscope_transcription.ports import SILENCE_PEAK, Samples

# Two sides whose difference carries less than this share of their energy (-30 dB) hold the
# same signal: a mono recording saved as stereo, possibly through a lossy codec.
_SAME_SIGNAL_ENERGY_RATIO = 1e-3


@dataclass(frozen=True)
class Window:
    """A stretch of one channel that is done with: its samples and the speech in them."""

    channel: int
    offset: int
    """Where the window starts, in samples from the call's start."""
    samples: Samples
    spans: tuple[Span, ...]
    """Speech, in samples from the call's start."""


@dataclass(frozen=True)
class ChannelStep:
    """What one block of a channel gave: pieces of speech now final, and maybe a window."""

    pieces: list[SpeechPiece]
    window: Window | None


class ChannelSpeech:
    """Finds one channel's speech block by block (see the module docstring)."""

    def __init__(self, channel: int, settings: VadSettings, *, window_samples: int) -> None:
        self._channel = channel
        self._vad = StreamingVad()
        self._tracker = SpanTracker(settings)
        self._window_samples = window_samples
        self._buffer = np.zeros(0, dtype=np.float32)
        self._offset = 0
        self._window_spans: list[Span] = []

    @property
    def held_samples(self) -> int:
        """How many of the channel's samples are held now (the memory bound)."""
        return int(self._buffer.size)

    def push(self, samples: Samples) -> ChannelStep:
        """Takes the channel's next samples."""
        self._buffer = np.concatenate((self._buffer, samples)) if self._buffer.size else samples
        return self._hand_out(self._tracker.feed(self._vad.push(samples)), final=False)

    def finish(self) -> ChannelStep:
        """The channel has ended: the last pieces and the last window."""
        length = self._offset + self._buffer.size
        spans = self._tracker.feed(self._vad.finish()) + self._tracker.finish(length)
        return self._hand_out(spans, final=True)

    def _hand_out(self, spans: list[Span], *, final: bool) -> ChannelStep:
        offset, buffer = self._offset, self._buffer
        pieces = [
            SpeechPiece(self._channel, start, buffer[start - offset : end - offset].copy())
            for start, end in spans
        ]
        self._window_spans.extend(spans)
        cut = offset + buffer.size if final else self._tracker.settled
        if cut <= offset or not (final or cut - offset >= self._window_samples):
            return ChannelStep(pieces, None)
        window = Window(self._channel, offset, buffer[: cut - offset], tuple(self._window_spans))
        self._buffer = buffer[cut - offset :].copy()
        self._offset = cut
        self._window_spans = []
        return ChannelStep(pieces, window)


class SameSignalJudge:
    """Tells a real stereo call from one signal written to both sides, block by block.

    One block (of those carrying any signal) where the sides differ makes the call
    stereo at once. Sameness needs `horizon_samples` of signal: an announcement or
    a prompt played to both sides at the start must not make a two-party call mono.
    """

    def __init__(self, horizon_samples: int) -> None:
        self._horizon = horizon_samples
        self._heard = 0
        self.verdict: bool | None = None
        """True: the same signal (mono); False: two signals (stereo); None: not yet known."""

    def add(self, left: Samples, right: Samples) -> bool | None:
        """Weighs the next block of both sides; returns the verdict once there is one."""
        if self.verdict is not None:
            return self.verdict
        same = same_signal(left, right)
        if same is False:
            self.verdict = False
        elif same:
            self._heard += left.size
            if self._heard >= self._horizon:
                self.verdict = True
        return self.verdict

    def finish(self) -> bool:
        """The verdict at the call's end: the same signal if no block differed."""
        if self.verdict is None:
            self.verdict = self._heard > 0
        return self.verdict


def same_signal(left: Samples, right: Samples) -> bool | None:
    """Whether two sides carry the same signal; None while both are silent (cannot tell yet)."""
    if max(float(np.max(np.abs(left))), float(np.max(np.abs(right)))) < SILENCE_PEAK:
        return None
    difference = float(np.sum(np.square(left - right, dtype=np.float64)))
    energy = max(
        float(np.sum(np.square(left, dtype=np.float64))),
        float(np.sum(np.square(right, dtype=np.float64))),
    )
    return difference <= _SAME_SIGNAL_ENERGY_RATIO * energy
