"""Adapter details that need no server: S3 error mapping, the stored document shape, silence."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from botocore.exceptions import ClientError
from callscope_common.storage import S3ObjectStore
from callscope_transcription.adapters import mongo
from callscope_transcription.adapters.s3 import S3AudioStore
from callscope_transcription.domain.errors import (
    MISSING_AUDIO_REASON,
    AudioMissingError,
    MisroutedAudioError,
)
from callscope_transcription.domain.model import (
    AudioLocation,
    Segment,
    Speaker,
    Transcript,
    Word,
)
from callscope_transcription.ports import DecodedAudio

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
    }
    assert document["segments"][0] == {
        "speaker": "AGENT",
        "start": 0.5,
        "end": 1.0,
        "text": "Hello.",
        "words": [{"text": "Hello.", "start": 0.5, "end": 1.0, "probability": 0.98}],
    }
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
