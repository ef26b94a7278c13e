"""Adapter details that need no server: S3 errors, stored documents, VAD, windows, chunks."""

from __future__ import annotations

import datetime as dt
import itertools
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from botocore.exceptions import ClientError
from callscope_common.storage import S3ObjectStore
from callscope_transcription.adapters import mongo
from callscope_transcription.adapters.batch_runner import BatchRunner
from callscope_transcription.adapters.s3 import S3AudioStore
from callscope_transcription.adapters.speech_chunks import ChunkPacker, SpeechPiece
from callscope_transcription.adapters.speech_windows import ChannelSpeech, SameSignalJudge
from callscope_transcription.adapters.vad import (
    SpanTracker,
    StreamingVad,
    VadSettings,
    speech_spans,
)
from callscope_transcription.domain.errors import (
    MISSING_AUDIO_REASON,
    AudioMissingError,
    MisroutedAudioError,
)
from callscope_transcription.domain.model import (
    AudioLocation,
    RoleSource,
    Segment,
    Speaker,
    SpeakerRoles,
    Transcript,
    Word,
)
from callscope_transcription.ports import SAMPLE_RATE, DecodedAudio
from faster_whisper.vad import VadOptions, get_speech_timestamps

from tests.support.audio import RenderedAudio, read_wav

pytestmark = pytest.mark.unit


class _S3ClientRefusing:
    """Stands in for the aiobotocore client: every download fails with the given S3 error code."""

    def __init__(self, code: str) -> None:
        self._code = code

    async def get_object(self, **_: Any) -> None:
        raise ClientError({"Error": {"Code": self._code, "Message": "refused"}}, "GetObject")


def _store(code: str) -> S3AudioStore:
    return S3AudioStore(S3ObjectStore(_S3ClientRefusing(code), "callscope-audio"))


@pytest.mark.parametrize("code", ["NoSuchKey", "404", "NotFound"])
async def test_a_missing_object_is_missing_audio(code: str, tmp_path: Path) -> None:
    with pytest.raises(AudioMissingError) as missing:
        await _store(code).download(AudioLocation("callscope-audio", "calls/x"), tmp_path / "a")
    assert missing.value.reason == MISSING_AUDIO_REASON
    assert "calls/x" in missing.value.detail


async def test_other_s3_errors_are_raised_for_a_retry(tmp_path: Path) -> None:
    with pytest.raises(ClientError):
        await _store("SlowDown").download(AudioLocation("callscope-audio", "k"), tmp_path / "a")


async def test_audio_in_another_bucket_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(MisroutedAudioError, match="S3_BUCKET"):
        await _store("NoSuchKey").download(AudioLocation("elsewhere", "k"), tmp_path / "a")


def test_transcript_documents_round_trip() -> None:
    transcript = Transcript(
        id="t1",
        call_id="call-1",
        org_id="org-1",
        campaign_id="campaign-1",
        version=3,
        source_event_id="evt-1",
        provider="local",
        model="tiny.en",
        language="en",
        duration_seconds=12.5,
        segments=(
            Segment(Speaker.AGENT, 0.5, 1.0, "Hello.", (Word("Hello.", 0.5, 1.0, 0.98),)),
            Segment(Speaker.CUSTOMER, 1.5, 2.0, "Hi.", ()),
        ),
        created_at=dt.datetime(2025, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
        speaker_roles=SpeakerRoles(
            source=RoleSource.CHANNEL,
            agent_voice=1,
            confidence=0.9,
            needs_review=False,
            evidence=("agent channel right",),
        ),
        settings=(("beam_size", "5"), ("vad.threshold", "0.5")),
    )

    document = mongo._to_document(transcript)

    assert document["_id"] == "t1"
    assert set(document) == {
        "_id",
        "call_id",
        "org_id",
        "campaign_id",
        "version",
        "source_event_id",
        "provider",
        "model",
        "language",
        "duration_seconds",
        "segments",
        "created_at",
        "speaker_roles",
        "settings",
    }
    assert document["segments"][0] == {
        "speaker": "AGENT",
        "start": 0.5,
        "end": 1.0,
        "text": "Hello.",
        "words": [{"text": "Hello.", "start": 0.5, "end": 1.0, "probability": 0.98}],
    }
    assert document["settings"] == [
        {"name": "beam_size", "value": "5"},
        {"name": "vad.threshold", "value": "0.5"},
    ]
    assert mongo._from_document(document) == transcript


def test_naive_stored_times_are_read_as_utc() -> None:
    document = mongo._to_document(
        Transcript(
            "t",
            "c",
            "o",
            "p",
            1,
            "e",
            "local",
            "tiny.en",
            "en",
            1.0,
            (),
            dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
        )
    )
    document["created_at"] = dt.datetime(2025, 1, 1)
    assert mongo._from_document(document).created_at.tzinfo is dt.UTC


@pytest.mark.parametrize(
    ("peak", "silent"), [(0.0, True), (0.0005, True), (0.002, False), (0.5, False)]
)
def test_a_channel_is_silent_below_minus_60_dbfs(peak: float, silent: bool) -> None:
    samples = np.zeros(16_000, dtype=np.float32)
    samples[100] = peak
    assert DecodedAudio((samples,)).is_silent(0) is silent


def test_empty_audio_is_silent_and_has_no_duration() -> None:
    audio = DecodedAudio((np.zeros(0, dtype=np.float32),))
    assert audio.is_silent(0)
    assert audio.duration_seconds == 0.0


# Streaming VAD, windows, chunks and batches of the local provider (no model needed).


@pytest.fixture(scope="module")
def noisy_call(short_mono: RenderedAudio) -> npt.NDArray[np.float32]:
    """The short call with line noise under it (no digitally silent second), 4 times over."""
    (samples,) = read_wav(short_mono.path)
    speech = np.tile(samples.astype(np.float32) / 32768, 4)
    noise = np.random.default_rng(3).uniform(-0.003, 0.003, speech.size)
    return (speech + noise).astype(np.float32)


@pytest.mark.parametrize("block", [1_000, 16_000 * 5 + 3, None], ids=["1000", "5s+3", "whole"])
@pytest.mark.parametrize(
    "settings", [VadSettings(), VadSettings(min_silence_ms=2000), VadSettings(max_speech_s=4.0)]
)
def test_streaming_vad_finds_the_spans_of_one_pass(
    noisy_call: npt.NDArray[np.float32], block: int | None, settings: VadSettings
) -> None:
    expected = get_speech_timestamps(
        noisy_call,
        VadOptions(
            threshold=settings.threshold,
            min_silence_duration_ms=settings.min_silence_ms,
            speech_pad_ms=settings.speech_pad_ms,
            max_speech_duration_s=settings.max_speech_s,
        ),
    )
    vad, tracker = StreamingVad(), SpanTracker(settings)
    found: list[tuple[int, int]] = []
    step = block or noisy_call.size
    for at in range(0, noisy_call.size, step):
        found += tracker.feed(vad.push(noisy_call[at : at + step]))
    found += tracker.feed(vad.finish()) + tracker.finish(noisy_call.size)

    assert found == [(span["start"], span["end"]) for span in expected]
    assert len(found) >= 2


def test_digital_silence_is_not_run_through_the_vad_model() -> None:
    vad = StreamingVad()
    scores = vad.push(np.zeros(16_000 * 3, dtype=np.float32))
    assert scores.size > 0
    assert not scores.any()
    assert speech_spans(np.zeros(16_000 * 3, dtype=np.float32), VadSettings()) == []


def test_a_channel_holds_a_bounded_stretch_and_hands_out_every_span(
    noisy_call: npt.NDArray[np.float32],
) -> None:
    settings = VadSettings(max_speech_s=6.0)
    window = 5 * SAMPLE_RATE
    channel = ChannelSpeech(1, settings, window_samples=window)
    pieces, windows, held = [], [], []
    for at in range(0, noisy_call.size, SAMPLE_RATE):
        step = channel.push(noisy_call[at : at + SAMPLE_RATE])
        pieces += step.pieces
        windows += [step.window] if step.window else []
        held.append(channel.held_samples)
    last = channel.finish()
    pieces += last.pieces
    windows += [last.window] if last.window else []

    # Whatever the call's length: a window, the longest span and its pads, a block.
    assert max(held) <= window + (6.0 + 2 * 0.4 + 1.0) * SAMPLE_RATE
    assert [(p.start, p.start + p.samples.size) for p in pieces] == speech_spans(
        noisy_call, settings
    )
    assert all(p.voice == 1 for p in pieces)
    for piece in pieces:
        expected = noisy_call[piece.start : piece.start + piece.samples.size]
        np.testing.assert_array_equal(piece.samples, expected)
    # Windows follow each other without a gap and cover the call; their spans lie inside.
    assert windows[0].offset == 0
    assert all(a.offset + a.samples.size == b.offset for a, b in itertools.pairwise(windows))
    assert windows[-1].offset + windows[-1].samples.size == noisy_call.size
    assert all(w.offset <= s < e <= w.offset + w.samples.size for w in windows for s, e in w.spans)
    assert len(windows) >= 4


def test_one_differing_block_makes_two_sides_stereo_at_once() -> None:
    judge = SameSignalJudge(horizon_samples=10 * SAMPLE_RATE)
    tone = np.sin(np.arange(SAMPLE_RATE, dtype=np.float32) / 5).astype(np.float32) * 0.1
    silence = np.zeros(SAMPLE_RATE, dtype=np.float32)

    assert judge.add(silence, silence) is None
    assert judge.add(tone, tone) is None  # a prompt played to both sides
    assert judge.add(tone, silence) is False
    assert judge.add(tone, tone) is False
    assert judge.finish() is False


def test_two_sides_are_one_signal_after_the_horizon_or_at_the_end() -> None:
    tone = np.sin(np.arange(SAMPLE_RATE, dtype=np.float32) / 5).astype(np.float32) * 0.1
    # A lossy codec leaves a little difference between identical inputs.
    coded = (tone + 0.001 * np.cos(np.arange(SAMPLE_RATE))).astype(np.float32)
    judge = SameSignalJudge(horizon_samples=3 * SAMPLE_RATE)
    assert [judge.add(tone, coded) for _ in range(3)] == [None, None, True]

    short = SameSignalJudge(horizon_samples=60 * SAMPLE_RATE)
    assert short.add(tone, tone) is None
    assert short.finish() is True
    assert SameSignalJudge(SAMPLE_RATE).finish() is False  # silence only: nothing to merge


def _piece(voice: int, start_s: float, seconds: float) -> SpeechPiece:
    samples = np.full(round(seconds * SAMPLE_RATE), voice + 1, dtype=np.float32)
    return SpeechPiece(voice, round(start_s * SAMPLE_RATE), samples)


def test_pieces_are_packed_end_to_end_into_30_second_chunks() -> None:
    packer = ChunkPacker(30 * SAMPLE_RATE)

    done = packer.add(_piece(0, 1.0, 12.0)) + packer.add(_piece(0, 20.0, 12.0))
    done += packer.add(_piece(0, 40.0, 10.0))
    rest = packer.flush()

    assert len(done) == 1
    assert [chunk.samples.size / SAMPLE_RATE for chunk in done + rest] == [24.0, 10.0]
    chunk = done[0]
    assert [(p.call_start, p.chunk_start, p.duration) for p in chunk.pieces] == [
        (1.0, 0.0, 12.0),
        (20.0, 12.0, 12.0),
    ]
    assert packer.flush() == []


def test_a_chunk_maps_its_times_back_into_the_call() -> None:
    packer = ChunkPacker(30 * SAMPLE_RATE)
    packer.add(_piece(0, 5.0, 4.0))
    packer.add(_piece(1, 60.0, 6.0))
    (chunk,) = packer.flush()

    first, second = chunk.pieces
    assert chunk.piece_at(3.9) is first
    assert chunk.piece_at(4.1) is second
    assert chunk.to_call(4.5, second) == 60.5
    assert second.voice == 1
    # A word a little past its piece stays inside it.
    assert chunk.to_call(10.4, second) == 66.0
    assert chunk.to_call(-0.1, first) == 5.0


def test_a_piece_longer_than_a_chunk_is_split() -> None:
    packer = ChunkPacker(30 * SAMPLE_RATE)
    done = packer.add(_piece(0, 0.0, 70.0)) + packer.flush()
    assert [chunk.samples.size / SAMPLE_RATE for chunk in done] == [30.0, 30.0, 10.0]
    assert [chunk.pieces[0].call_start for chunk in done] == [0.0, 30.0, 60.0]


@pytest.mark.parametrize("parallel", [1, 2, 3])
def test_batches_run_in_parallel_and_results_keep_their_order(parallel: int) -> None:
    running, most = 0, 0
    lock = threading.Lock()

    def recognise(batch: Sequence[int]) -> list[int]:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.02)
        with lock:
            running -= 1
        return [item * 10 for item in batch]

    with BatchRunner(recognise, parallel) as runner:
        for batch in ([1, 2], [3, 4], [5, 6], [7, 8]):
            runner.submit(batch)
        runner.submit_rest([9, 10, 11], batch_size=8)
        results = runner.results()

    assert results == [10 * n for n in range(1, 12)]
    assert most == parallel
    assert 0.0 < runner.busy_seconds() < 0.02 * 7 + 0.5


def test_the_last_chunks_are_spread_over_the_workers() -> None:
    seen: list[list[int]] = []

    def recognise(batch: Sequence[int]) -> list[int]:
        seen.append(list(batch))
        return []

    runner: BatchRunner[int, int]
    with BatchRunner(recognise, 2) as runner:
        runner.submit_rest([1, 2, 3], batch_size=8)
        runner.results()
    assert sorted(seen) == [[1, 2], [3]]
