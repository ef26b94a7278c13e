"""Transcript versions on the real MongoDB-wire server: every field a version carries survives."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from callscope_common.mongo import Document
from callscope_transcription.adapters.mongo import MongoTranscriptStore
from callscope_transcription.domain.errors import TranscriptConflictError
from callscope_transcription.domain.model import (
    RoleSource,
    Segment,
    Speaker,
    SpeakerRoles,
    Transcript,
    Word,
)
from pymongo.asynchronous.database import AsyncDatabase


@pytest.fixture
async def store(database: AsyncDatabase[Document]) -> MongoTranscriptStore:
    transcripts = MongoTranscriptStore(database[f"transcripts_{uuid.uuid4().hex[:8]}"])
    await transcripts.ensure_indexes()
    return transcripts


def _transcript(version: int, event_id: str, roles: SpeakerRoles | None) -> Transcript:
    return Transcript(
        id=uuid.uuid4().hex,
        call_id="call-1",
        org_id="org-1",
        campaign_id="campaign-1",
        version=version,
        source_event_id=event_id,
        provider="deepgram",
        model="nova-3",
        language="en",
        duration_seconds=61.5,
        segments=(
            Segment(
                Speaker.AGENT,
                0.5,
                1.5,
                "Hello, Northwind.",
                (Word("Hello,", 0.5, 0.9, 0.93), Word("Northwind.", 1.0, 1.5, 0.71)),
            ),
            Segment(Speaker.CUSTOMER, 2.0, 2.4, "Hi.", (Word("Hi.", 2.0, 2.4, 0.99),)),
        ),
        created_at=dt.datetime(2026, 11, 21, 9, 30, tzinfo=dt.UTC),
        speaker_roles=roles,
        settings=(("layout", "stereo"), ("vad.min_silence_ms", "2000")),
    )


async def test_roles_settings_and_words_round_trip(store: MongoTranscriptStore) -> None:
    roles = SpeakerRoles(
        source=RoleSource.MANUAL,
        agent_voice=1,
        confidence=1.0,
        needs_review=False,
        evidence=("a user swapped agent and customer of version 1",),
        swapped_by="user-5",
        swapped_from_version=1,
    )
    stored = _transcript(1, "event-a", roles)

    await store.add(stored)

    assert await store.get("org-1", "call-1", 0) == stored
    assert await store.find_by_source_event("event-a") == stored
    assert await store.get("org-2", "call-1", 0) is None


async def test_a_version_stored_before_roles_existed_reads_without_them(
    store: MongoTranscriptStore,
) -> None:
    await store.add(_transcript(1, "event-b", None))

    read = await store.get("org-1", "call-1", 1)

    assert read is not None and read.speaker_roles is None


async def test_a_second_version_from_the_same_event_is_refused(store: MongoTranscriptStore) -> None:
    await store.add(_transcript(1, "event-c", None))

    with pytest.raises(TranscriptConflictError):
        await store.add(_transcript(2, "event-c", None))

    assert await store.latest_version("call-1") == 1
