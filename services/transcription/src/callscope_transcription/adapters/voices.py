"""Tells the two voices of a mono call apart from the sound alone: no network, no speaker model.

How, and why each step is there:

1. The call is heard in 32 ms frames every 10 ms on a grid fixed to the call's
   start, so cutting the call into windows changes nothing. Only voiced frames
   inside the speech spans count: vowels carry what tells two people apart (their
   pitch, and the vocal tract that the mel cepstrum summarises), while silence,
   noise and hiss carry nothing of either.
2. Frames are pooled into 0.25 s bins of running sums (cepstra and their squares)
   and a semitone histogram of pitch (a median resists the octave errors that a
   mean does not). Those sums are all that is kept between windows: about 1.1 kB
   per second of call against 64 kB of samples, so a 3-hour call needs ~13 MB.
3. At labelling time every speech bin is described by the ~1.25 s around it
   (without crossing a pause, where the other voice may start): median and spread
   of pitch, mean and spread of each cepstral coefficient.
4. The voices' axis is found without knowing the voices. Within a stretch of
   continuous speech the voice mostly stays the same, so what changes there from
   one second to the next is what is being said; the direction in which the whole
   call varies most compared with that (a generalised eigenproblem: a temporal
   form of linear discriminant analysis) separates the voices. Plain clustering
   of the descriptions splits by what is said instead, and fails on two voices of
   the same sex.
5. The bins are split in two along that axis (two-means from the two ends:
   deterministic) and smoothed by a two-state Viterbi pass in which changing voice
   inside continuous speech costs much more than across a pause. The axis is then
   found again from the pairs the split puts in one voice, which sharpens it when
   the voices take turns without pausing; a second start, comparing adjacent bins
   only, covers calls where that blurs the first axis too much.
6. Two voices are reported only when the final axis stands out: its slowness is
   compared with what the same bins in random order give (what any data of that
   size and dimension shows by chance), and the smaller voice must hold a real
   share of the speech. Otherwise the call is one voice: inventing a second voice in a
   one-speaker call is worse than missing one.
7. Voice 0 is the voice of the first speech; a word takes the voice of the speech
   under it, and an utterance is split between two words where that changes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from callscope_transcription.domain.model import Utterance, Word
from callscope_transcription.ports import SAMPLE_RATE, Samples, VoiceTurn

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]

# A frame's pitch is the shortest lag whose autocorrelation peak comes this close to the best:
# a period's multiples correlate almost as well as the period itself, and taking the best
# would drop the pitch an octave at random.
_OCTAVE_TOLERANCE = 0.9
# Standardised descriptions are clipped at this many spreads: a few odd bins (a cough, a
# burst of noise) must not become the axis that everything else is split along.
_CLIP_SPREADS = 3.0
# Bins the store grows by when the call gets longer (5 minutes of 0.25 s bins, 0.34 MB).
_GROWTH_BINS = 1200
# Frames per analysis batch: bounds the FFT's working memory (about 20 MB).
_BATCH_FRAMES = 2048


@dataclass(frozen=True)
class VoiceSplitOptions:
    """How the voices are told apart; the defaults were measured with bench/diarization.py."""

    # 32 ms frames every 10 ms: long enough for two periods of a low (70 Hz) voice.
    frame_length: int = 512
    frame_hop: int = 160
    # Pitch search range (Hz): covers deep male to high female voices.
    min_pitch_hz: float = 70.0
    max_pitch_hz: float = 400.0
    # A frame is voiced when its normalised autocorrelation peak reaches this (Praat uses 0.45)
    # and it is louder than this (hum and hiss inside a padded speech span are not).
    voicing_threshold: float = 0.5
    min_level_db: float = -55.0
    # Mel filters over the whole band a 16 kHz call can carry; on narrowband (telephone) audio
    # the empty bands are constant and standardise away.
    mel_bands: int = 40
    mel_low_hz: float = 60.0
    mel_high_hz: float = 7600.0
    cepstra: int = 20
    bin_seconds: float = 0.25
    # A bin is speech when it holds this many voiced frames (40 ms of voicing in 250 ms).
    min_voiced_frames: int = 4
    # Bins either side pooled into one description: 2 -> 1.25 s of call.
    context_bins: int = 2
    # Fewer speech bins than this (5 s of voiced speech) is too little to find two voices.
    min_speech_bins: int = 20
    # What varies within one voice is measured between bins this far apart in one stretch
    # (5 bins: their descriptions do not overlap); shrinkage of that covariance towards its
    # diagonal keeps a short call from fitting noise.
    slow_lag_bins: int = 5
    shrinkage: float = 0.3
    # Random orders (fixed seed) that measure the chance level of slowness.
    shuffles: int = 10
    # Two voices only when the voices' axis is this many times slower than chance, and the
    # smaller voice holds at least this share of the speech bins.
    min_slowness: float = 3.0
    min_voice_share: float = 0.15
    # Viterbi cost (log-likelihood) of changing voice between adjacent speech bins, and across
    # a pause (one or more bins without voiced speech).
    switch_cost: float = 8.0
    pause_switch_cost: float = 1.0
    # Viterbi passes per split, the two voices' Gaussians re-fitted before each.
    refinement_rounds: int = 5
    # Times the axis is found again from the pairs a split calls one voice (at least once:
    # the decision rests on that axis).
    relabel_rounds: int = 3
    # turns(): speech of one voice separated by at most this much silence is one turn.
    max_gap_seconds: float = 0.5


class SpectralVoiceSplitter:
    """A VoiceSplitter for one mono call: pitch and cepstra of voiced frames, no network model.

    Construct one per call (options: VoiceSplitOptions, the defaults fit telephone speech),
    add() the call window by window, then label() the recognised utterances. turns() and
    two_voices tell what was found, for diagnostics and the benchmark.
    """

    def __init__(self, options: VoiceSplitOptions | None = None) -> None:
        self._options = options or VoiceSplitOptions()
        self._analyser = _FrameAnalyser(self._options)
        self._bins = _BinStore(self._options.cepstra, self._analyser.pitch_classes)
        # The end of the previous window that its last frames did not reach: the next window's
        # first frames need it. At most one frame long.
        self._tail: Samples = np.zeros(0, dtype=np.float32)
        self._tail_start = 0
        self._next_frame = 0
        self._spans: list[tuple[float, float]] = []
        self._labels: _Labels | None = None

    def add(self, samples: Samples, offset_s: float, spans: Sequence[tuple[float, float]]) -> None:
        """Takes a window of the call; keeps only the bin sums of its voiced speech frames."""
        options = self._options
        start = round(offset_s * SAMPLE_RATE)
        window = np.asarray(samples, dtype=np.float32)
        if self._tail.size and start == self._tail_start + self._tail.size:
            buffer = np.concatenate([self._tail, window])
            buffer_start = self._tail_start
        else:
            buffer, buffer_start = window, start
        # Spans are kept only as long as the tail they may still cover.
        self._spans = [span for span in self._spans if span[1] * SAMPLE_RATE > buffer_start]
        self._spans.extend((float(low), float(high)) for low, high in spans)
        first = max(self._next_frame, -(-buffer_start // options.frame_hop))
        last = (buffer_start + buffer.size - options.frame_length) // options.frame_hop
        if last >= first:
            self._analyse(buffer, buffer_start, first, last)
            self._next_frame = last + 1
        keep_from = max(self._next_frame * options.frame_hop, buffer_start)
        self._tail = buffer[keep_from - buffer_start :].copy()
        self._tail_start = keep_from
        self._labels = None

    def label(self, utterances: Sequence[Utterance]) -> tuple[tuple[Utterance, ...], bool]:
        """Gives every utterance its voice, split between two words where the voice changes."""
        labels = self._found()
        if not labels.two_voices:
            return tuple(replace(utterance, voice=0) for utterance in utterances), False
        labelled: list[Utterance] = []
        for utterance in utterances:
            labelled.extend(_split_by_voice(utterance, labels))
        return tuple(labelled), True

    def turns(self) -> tuple[VoiceTurn, ...]:
        """The stretches of voiced speech found so far and whose they are, in time order."""
        labels = self._found()
        width = self._options.bin_seconds
        gap = self._options.max_gap_seconds
        turns: list[VoiceTurn] = []
        for index, voice in zip(labels.bins.tolist(), labels.voices.tolist(), strict=True):
            start, end = index * width, (index + 1) * width
            if turns and turns[-1].voice == voice and start - turns[-1].end <= gap + 1e-9:
                turns[-1] = VoiceTurn(turns[-1].start, end, voice)
            else:
                turns.append(VoiceTurn(start, end, voice))
        return tuple(turns)

    @property
    def two_voices(self) -> bool:
        """Whether the call so far holds two voices."""
        return self._found().two_voices

    @property
    def held_bytes(self) -> int:
        """Memory held between windows: the bin sums and the unfinished last frame.

        Grows with the call's length (about 1.1 kB per second), never with its samples.
        """
        return self._bins.nbytes + self._tail.nbytes

    @property
    def evidence(self) -> dict[str, float]:
        """The figures behind the decision, for logs and the benchmark."""
        labels = self._found()
        return {
            "speech_seconds": labels.bins.size * self._options.bin_seconds,
            "slowness": labels.slowness,
            "smaller_voice_share": labels.smaller_share,
        }

    def _analyse(self, buffer: Samples, buffer_start: int, first: int, last: int) -> None:
        """Analyses frames first..last (absolute indices); adds the voiced speech ones to bins."""
        options = self._options
        offsets_in_frame = np.arange(options.frame_length)
        for low in range(first, last + 1, _BATCH_FRAMES):
            indices = np.arange(low, min(low + _BATCH_FRAMES, last + 1), dtype=np.int64)
            centres = (indices * options.frame_hop + options.frame_length / 2) / SAMPLE_RATE
            inside = _inside(centres, self._spans)
            if not inside.any():
                continue
            starts = indices[inside] * options.frame_hop - buffer_start
            frames = buffer[starts[:, None] + offsets_in_frame[None, :]]
            pitch, cepstra, voiced = self._analyser.analyse(frames)
            if voiced.any():
                bins = np.floor(centres[inside][voiced] / options.bin_seconds).astype(np.int64)
                self._bins.add(bins, pitch[voiced], cepstra[voiced])

    def _found(self) -> _Labels:
        if self._labels is None:
            self._labels = _assign(self._bins.snapshot(), self._options)
        return self._labels


class _FrameAnalyser:
    """Per frame: whether it is voiced, its pitch (as a semitone class) and its mel cepstrum."""

    def __init__(self, options: VoiceSplitOptions) -> None:
        self._options = options
        self._fft_size = 2 * options.frame_length  # zero-padded: a linear autocorrelation
        self._window = np.hanning(options.frame_length)
        # Boersma (1993): dividing by the window's own autocorrelation undoes its taper.
        window_power = np.abs(np.fft.rfft(self._window, self._fft_size)) ** 2
        window_ac = np.fft.irfft(window_power)[: options.frame_length]
        self._min_lag = int(SAMPLE_RATE / options.max_pitch_hz)
        self._max_lag = int(SAMPLE_RATE / options.min_pitch_hz)
        self._window_ac = (window_ac / window_ac[0])[: self._max_lag + 1]
        self._mel = _mel_filterbank(
            options.mel_bands, self._fft_size, options.mel_low_hz, options.mel_high_hz
        )
        self._dct = _dct_matrix(options.mel_bands)[1 : options.cepstra + 1]  # c0 is loudness
        self.pitch_classes = math.ceil(12 * math.log2(options.max_pitch_hz / options.min_pitch_hz))

    def analyse(self, frames: Samples) -> tuple[Ints, Floats, Mask]:
        """Each frame's pitch class (semitones above min_pitch_hz), cepstra, and voicing."""
        windowed = frames.astype(np.float64) * self._window
        power = np.abs(np.fft.rfft(windowed, self._fft_size, axis=1)) ** 2
        level_db = 10 * np.log10(np.maximum(np.mean(windowed**2, axis=1), 1e-12))
        autocorrelation = np.fft.irfft(power, axis=1)[:, : self._max_lag + 1]
        energy = np.maximum(autocorrelation[:, :1], 1e-12)
        lags = (autocorrelation / energy / self._window_ac)[:, self._min_lag :]
        peak = lags.max(axis=1)
        local_max = np.zeros(lags.shape, dtype=bool)
        local_max[:, 1:-1] = (lags[:, 1:-1] >= lags[:, :-2]) & (lags[:, 1:-1] >= lags[:, 2:])
        local_max[np.arange(lags.shape[0]), np.argmax(lags, axis=1)] = True
        period = np.argmax(local_max & (lags >= _OCTAVE_TOLERANCE * peak[:, None]), axis=1)
        pitch_hz = SAMPLE_RATE / (period + self._min_lag)
        semitones = 12 * np.log2(pitch_hz / self._options.min_pitch_hz)
        pitch_class = np.clip(semitones.astype(np.int64), 0, self.pitch_classes - 1)
        voiced = (peak >= self._options.voicing_threshold) & (
            level_db >= self._options.min_level_db
        )
        cepstra = np.log(power @ self._mel.T + 1e-10) @ self._dct.T
        return pitch_class, cepstra, voiced


class _BinStore:
    """Running sums per bin of the call: voiced frames, cepstra, their squares, pitch histogram."""

    def __init__(self, cepstra: int, pitch_classes: int) -> None:
        self._cepstra = cepstra
        self._pitch_classes = pitch_classes
        # float32: sums of at most 25 frames per bin lose nothing that matters, at half the size.
        self._sums = np.zeros((0, 1 + 2 * cepstra + pitch_classes), dtype=np.float32)

    def add(self, bins: Ints, pitch_class: Ints, cepstra: Floats) -> None:
        """Adds voiced frames (their bin, pitch class and cepstra) to the sums."""
        needed = int(bins.max()) + 1
        if needed > self._sums.shape[0]:
            # Grown by 5 minutes of call at a time: little unused room, few copies.
            grown = np.zeros((needed + _GROWTH_BINS, self._sums.shape[1]), dtype=np.float32)
            grown[: self._sums.shape[0]] = self._sums
            self._sums = grown
        histogram = np.zeros((bins.size, self._pitch_classes))
        histogram[np.arange(bins.size), pitch_class] = 1.0
        rows = np.column_stack([np.ones(bins.size), cepstra, cepstra**2, histogram])
        np.add.at(self._sums, bins, rows.astype(np.float32))

    @property
    def nbytes(self) -> int:
        """The size of the sums, room for bins to come included."""
        return int(self._sums.nbytes)

    def snapshot(self) -> _BinSums:
        """The bins that hold any voiced frame, in time order."""
        used = np.flatnonzero(self._sums[:, 0] > 0).astype(np.int64)
        sums = self._sums[used].astype(np.float64)
        width = self._cepstra
        return _BinSums(
            index=used,
            count=sums[:, 0],
            total=sums[:, 1 : 1 + width],
            squares=sums[:, 1 + width : 1 + 2 * width],
            pitch=sums[:, 1 + 2 * width :],
        )


@dataclass(frozen=True)
class _BinSums:
    index: Ints
    count: Floats
    total: Floats
    squares: Floats
    pitch: Floats


@dataclass(frozen=True)
class _Labels:
    """The voice of every speech bin (bin indices ascending) and whether there are two voices."""

    bins: Ints
    voices: Ints
    bin_seconds: float
    two_voices: bool
    slowness: float = 0.0
    smaller_share: float = 0.0

    def voice_of(self, start: float, end: float) -> int:
        """The voice that holds most of [start, end] (seconds); the nearest speech decides
        for a stretch without voiced speech (a short unvoiced word)."""
        if self.bins.size == 0 or not self.two_voices:
            return 0
        first = math.floor(start / self.bin_seconds)
        last = math.floor(max(start, end - 1e-9) / self.bin_seconds)
        low = int(np.searchsorted(self.bins, first, side="left"))
        high = int(np.searchsorted(self.bins, last, side="right"))
        if high > low:
            ones = int(np.count_nonzero(self.voices[low:high]))
            return int(2 * ones > high - low)
        before = low - 1
        after = min(low, self.bins.size - 1)
        if before >= 0 and first - self.bins[before] <= self.bins[after] - last:
            return int(self.voices[before])
        return int(self.voices[after])


def _assign(sums: _BinSums, options: VoiceSplitOptions) -> _Labels:
    """Splits the speech bins into voices and decides whether there are two."""
    speech = sums.count >= options.min_voiced_frames
    index = sums.index[speech]
    one_voice = _Labels(index, np.zeros(index.size, dtype=np.int64), options.bin_seconds, False)
    if index.size < options.min_speech_bins:
        return one_voice
    stretch = np.cumsum(np.concatenate([[1], np.diff(index) > 1])).astype(np.int64)
    pause_before = np.concatenate([[True], np.diff(index) > 1])
    described = _standardise(_describe(sums, speech, stretch, options.context_bins))
    chance = _chance_slowness(described, index, stretch, options)
    _, axes = _slow_axes(described, index, stretch, options)
    # Second start, bin against next bin: when the voices take turns without a pause, many
    # 1.25 s pairs straddle a change of voice and hide the voices' axis; adjacent bins
    # rarely do.
    single_bins = _standardise(_describe(sums, speech, stretch, 0))
    _, bin_axes = _slow_axes(single_bins, index, stretch, replace(options, slow_lag_bins=1))
    splits = [
        _refine(
            described,
            start,
            index=index,
            stretch=stretch,
            pause_before=pause_before,
            options=options,
        )
        for start in (described @ axes[:, 0], single_bins @ bin_axes[:, 0])
    ]
    best = max(splits, key=lambda split: split.ratio)
    voices = best.voices
    smaller = min(float(voices.mean()), 1.0 - float(voices.mean()))
    found = replace(one_voice, slowness=best.ratio / chance, smaller_share=smaller)
    two = found.slowness >= options.min_slowness and smaller >= options.min_voice_share
    if not two:
        return found
    if voices[0] == 1:
        voices = 1 - voices
    return replace(found, voices=voices, two_voices=True)


@dataclass(frozen=True)
class _Split:
    """Bins split into two voices, and the slowness of the axis they were split along."""

    ratio: float
    voices: Ints


def _refine(
    values: Floats,
    start: Floats,
    *,
    index: Ints,
    stretch: Ints,
    pause_before: Mask,
    options: VoiceSplitOptions,
) -> _Split:
    """Splits along a first axis, then re-finds the axis from pairs the split calls one voice.

    Pairs that straddle a change of voice are what blur the axis; once a split
    exists, leaving out the pairs it puts in two voices sharpens the axis, which
    sharpens the split.
    """
    voices = _smooth(start, _two_means(start[:, None]), pause_before, options)
    ratio = 0.0
    for _ in range(max(1, options.relabel_rounds)):
        ratios, axes = _slow_axes(values, index, stretch, options, voices)
        ratio, along = float(ratios[0]), values @ axes[:, 0]
        voices = _smooth(along, _two_means(along[:, None]), pause_before, options)
    return _Split(ratio, voices)


def _smooth(along: Floats, voices: Ints, pause_before: Mask, options: VoiceSplitOptions) -> Ints:
    """A few Viterbi passes, each with the voices' Gaussians re-fitted to the last labels."""
    for _ in range(options.refinement_rounds):
        voices = _viterbi(along[:, None], voices, pause_before, options)
    return voices


def _describe(sums: _BinSums, speech: Mask, stretch: Ints, context: int) -> Floats:
    """Each speech bin as pitch median and spread, cepstral means and spreads around it."""
    index = sums.index[speech]

    def prefix(values: Floats) -> Floats:
        cumulative: Floats = np.vstack([np.zeros((1, values.shape[1])), np.cumsum(values, 0)])
        return cumulative

    count = prefix(sums.count[speech, None])
    total, squares, pitch = (
        prefix(part[speech]) for part in (sums.total, sums.squares, sums.pitch)
    )
    first_of_stretch = np.searchsorted(stretch, stretch, side="left")
    end_of_stretch = np.searchsorted(stretch, stretch, side="right")
    low = np.maximum(np.searchsorted(index, index - context, side="left"), first_of_stretch)
    high = np.minimum(np.searchsorted(index, index + context, side="right"), end_of_stretch)
    frames = count[high] - count[low]
    mean = (total[high] - total[low]) / frames
    spread = np.sqrt(np.maximum((squares[high] - squares[low]) / frames - mean**2, 0.0))
    histogram = pitch[high] - pitch[low]
    quartiles = [_quantile(histogram, share) for share in (0.25, 0.5, 0.75)]
    result: Floats = np.column_stack([quartiles[1], quartiles[2] - quartiles[0], mean, spread])
    return result


def _quantile(histogram: Floats, share: float) -> Floats:
    """A quantile of each row's histogram, interpolated within its class (in class units)."""
    cumulative = np.cumsum(histogram, axis=1)
    target = share * cumulative[:, -1:]
    position = np.argmax(cumulative >= target, axis=1)
    rows = np.arange(histogram.shape[0])
    below = np.where(position > 0, cumulative[rows, position - 1], 0.0)
    inside = np.maximum(histogram[rows, position], 1e-12)
    result: Floats = position + (target[:, 0] - below) / inside
    return result


def _standardise(values: Floats) -> Floats:
    """Zero mean, unit spread per column (no feature outweighs another by its units), clipped."""
    spread = values.std(axis=0)
    spread[spread == 0] = 1.0
    result: Floats = (values - values.mean(axis=0)) / spread
    return np.clip(result, -_CLIP_SPREADS, _CLIP_SPREADS)


def _slow_axes(
    values: Floats,
    index: Ints,
    stretch: Ints,
    options: VoiceSplitOptions,
    voices: Ints | None = None,
) -> tuple[Floats, Floats]:
    """The directions along which the call varies most compared with within a stretch.

    Total covariance against the covariance of changes between bins lag apart in
    one stretch (only pairs with the same voice, when voices are given). Returns
    the ratios, largest first, and the axes as columns, scaled so that the
    within-stretch spread along each is 1.
    """
    dims = values.shape[1]
    total, changes = _covariances(values, index, stretch, options, voices)
    if changes is None:
        return np.zeros(dims), np.eye(dims)
    return _solve(total, _within(changes, options.shrinkage))


def _solve(total: Floats, within: Floats) -> tuple[Floats, Floats]:
    """The generalised eigenproblem total v = ratio within v, largest ratio first."""
    dims = total.shape[0]
    inverse = np.linalg.inv(np.linalg.cholesky(within + 1e-9 * np.eye(dims)))
    ratios, vectors = np.linalg.eigh(inverse @ total @ inverse.T)
    order = np.argsort(ratios)[::-1]
    axes: Floats = inverse.T @ vectors[:, order]
    # An eigenvector's sign is arbitrary; fixing it keeps the output identical run to run.
    axes *= np.where(axes[0] < 0, -1.0, 1.0)
    return ratios[order], axes


def _within(changes: Floats, shrinkage: float) -> Floats:
    """The covariance within a voice from pair changes (half theirs), shrunk to its diagonal."""
    within: Floats = changes.T @ changes / (2 * changes.shape[0])
    return (1 - shrinkage) * within + shrinkage * np.diag(np.diag(within))


def _covariances(
    values: Floats,
    index: Ints,
    stretch: Ints,
    options: VoiceSplitOptions,
    voices: Ints | None = None,
) -> tuple[Floats, Floats | None]:
    """The total covariance, and the changes between paired bins (None: too few pairs)."""
    first, second = _pairs(index, stretch, options.slow_lag_bins)
    if voices is not None:
        same = voices[first] == voices[second]
        first, second = first[same], second[same]
    centred = values - values.mean(axis=0)
    total: Floats = centred.T @ centred / values.shape[0]
    if first.size < options.min_speech_bins // 2:
        return total, None
    changes: Floats = values[second] - values[first]
    return total, changes


def _pairs(index: Ints, stretch: Ints, lag: int) -> tuple[Ints, Ints]:
    """Positions of the speech bins lag bins apart in the same stretch: (earlier, later)."""
    later = np.searchsorted(index, index + lag)
    found = later < index.size
    found[found] &= (index[later[found]] == index[found] + lag) & (
        stretch[later[found]] == stretch[found]
    )
    return np.flatnonzero(found).astype(np.int64), later[found].astype(np.int64)


def _chance_slowness(
    values: Floats, index: Ints, stretch: Ints, options: VoiceSplitOptions
) -> float:
    """The slowness the best axis shows when the bins are in random order (a fixed seed).

    With many dimensions and few bins some direction always looks slow; in random
    order nothing is, so this is the level that a real second voice must clear.
    """
    generator = np.random.default_rng(0)
    found = []
    for _ in range(options.shuffles):
        shuffled = values[generator.permutation(values.shape[0])]
        found.append(float(_slow_axes(shuffled, index, stretch, options)[0][0]))
    return max(float(np.mean(found)), 1e-12)


def _two_means(values: Floats) -> Ints:
    """Two clusters, started from the two extreme bins along the first column: deterministic."""
    centres = np.stack([values[np.argmin(values[:, 0])], values[np.argmax(values[:, 0])]])
    voices = np.zeros(values.shape[0], dtype=np.int64)
    for _ in range(100):
        distances = ((values[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
        updated = np.argmin(distances, axis=1).astype(np.int64)
        if np.array_equal(updated, voices):
            break
        voices = updated
        for voice in (0, 1):
            if np.any(voices == voice):
                centres[voice] = values[voices == voice].mean(axis=0)
    return voices


def _viterbi(values: Floats, voices: Ints, pause_before: Mask, options: VoiceSplitOptions) -> Ints:
    """Relabels the bins with one Gaussian per voice and a cost for changing voice."""
    if voices.min() == voices.max():
        return voices
    scores = np.column_stack([_log_likelihood(values, values[voices == v]) for v in (0, 1)])
    # Plain Python floats: the loop runs once per bin (43,000 for 3 hours), and indexing
    # numpy arrays element by element would cost several times more.
    zero_scores, one_scores = scores[:, 0].tolist(), scores[:, 1].tolist()
    costs = np.where(pause_before, options.pause_switch_cost, options.switch_cost).tolist()
    zero_from: list[int] = [0]
    one_from: list[int] = [1]
    stay_zero, stay_one = zero_scores[0], one_scores[0]
    for step in range(1, len(costs)):
        from_one, from_zero = stay_one - costs[step], stay_zero - costs[step]
        if stay_zero >= from_one:
            zero_from.append(0)
            best_zero = stay_zero
        else:
            zero_from.append(1)
            best_zero = from_one
        if stay_one >= from_zero:
            one_from.append(1)
            best_one = stay_one
        else:
            one_from.append(0)
            best_one = from_zero
        stay_zero, stay_one = best_zero + zero_scores[step], best_one + one_scores[step]
    path = [0 if stay_zero >= stay_one else 1]
    for step in range(len(costs) - 1, 0, -1):
        path.append(zero_from[step] if path[-1] == 0 else one_from[step])
    return np.array(path[::-1], dtype=np.int64)


def _log_likelihood(values: Floats, members: Floats) -> Floats:
    """Log density of each row under a diagonal Gaussian fitted to the members."""
    mean = members.mean(axis=0)
    variance = members.var(axis=0) + 1e-3
    result: Floats = -0.5 * (((values - mean) ** 2) / variance + np.log(variance)).sum(axis=1)
    return result


def _split_by_voice(utterance: Utterance, labels: _Labels) -> list[Utterance]:
    """The utterance as runs of consecutive words with one voice each."""
    if not utterance.words:
        return [replace(utterance, voice=labels.voice_of(utterance.start, utterance.end))]
    runs: list[tuple[int, list[Word]]] = []
    for word in utterance.words:
        voice = labels.voice_of(word.start, word.end)
        if runs and runs[-1][0] == voice:
            runs[-1][1].append(word)
        else:
            runs.append((voice, [word]))
    if len(runs) == 1:
        return [replace(utterance, voice=runs[0][0])]
    return [
        Utterance(
            start=words[0].start,
            end=words[-1].end,
            text=" ".join(word.text for word in words),
            words=tuple(words),
            voice=voice,
        )
        for voice, words in runs
    ]


def _inside(times: Floats, spans: Sequence[tuple[float, float]]) -> Mask:
    """Which times fall inside any span."""
    result = np.zeros(times.size, dtype=bool)
    for start, end in spans:
        result |= (times >= start) & (times < end)
    return result


def _mel_filterbank(bands: int, fft_size: int, low_hz: float, high_hz: float) -> Floats:
    """Triangular filters evenly spaced on the mel scale, the ear's resolution of frequency."""
    low_mel, high_mel = (2595.0 * math.log10(1.0 + hz / 700.0) for hz in (low_hz, high_hz))
    edges = 700.0 * (10 ** (np.linspace(low_mel, high_mel, bands + 2) / 2595.0) - 1.0)
    frequencies = np.fft.rfftfreq(fft_size, 1.0 / SAMPLE_RATE)
    bank = np.zeros((bands, frequencies.size))
    for band in range(bands):
        low, centre, high = edges[band : band + 3]
        rising = (frequencies - low) / (centre - low)
        falling = (high - frequencies) / (high - centre)
        bank[band] = np.maximum(0.0, np.minimum(rising, falling))
    return bank


def _dct_matrix(size: int) -> Floats:
    """The orthonormal DCT-II, which turns a log spectrum into cepstra."""
    n = np.arange(size)
    matrix: Floats = np.cos(np.pi / size * (n[None, :] + 0.5) * n[:, None]) * math.sqrt(2.0 / size)
    matrix[0] /= math.sqrt(2.0)
    return matrix
