"""Transcript versions in MongoDB (or FerretDB): one document per version."""

from __future__ import annotations

import datetime as dt
from typing import Any

from callscope_common.versioned import VersionedCollection, VersionTakenError
from pymongo.asynchronous.collection import AsyncCollection

from callscope_transcription.domain.errors import TranscriptConflictError
from callscope_transcription.domain.model import (
    RoleSource,
    Segment,
    Speaker,
    SpeakerRoles,
    Transcript,
    Word,
)

COLLECTION = "transcripts"

Document = dict[str, Any]


class MongoTranscriptStore:
    """Stores transcripts; unique indexes make a version and a source event each count once."""

    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self._versions = VersionedCollection(collection)

    async def ensure_indexes(self) -> None:
        """Creates the unique indexes the idempotency and version rules rely on."""
        await self._versions.ensure_indexes()

    async def find_by_source_event(self, event_id: str) -> Transcript | None:
        """The transcript an event already produced, if any."""
        document = await self._versions.find_by_source_event(event_id)
        return _from_document(document) if document else None

    async def latest_version(self, call_id: str) -> int:
        """The highest stored version of the call's transcript; 0 when there is none."""
        return await self._versions.latest_version(call_id)

    async def add(self, transcript: Transcript) -> None:
        """Stores a new version; TranscriptConflictError if its version or event is taken."""
        try:
            await self._versions.insert(_to_document(transcript))
        except VersionTakenError as error:
            raise TranscriptConflictError(str(error)) from error

    async def get(self, org_id: str, call_id: str, version: int) -> Transcript | None:
        """A version (0 = the latest) of a call's transcript; other organisations see nothing."""
        document = await self._versions.get(org_id, call_id, version)
        return _from_document(document) if document else None

    async def delete_call(self, org_id: str, call_id: str) -> int:
        """Deletes every version of a call's transcript; returns how many there were."""
        return await self._versions.delete_call(org_id, call_id)


def _to_document(transcript: Transcript) -> Document:
    return {
        "_id": transcript.id,
        "call_id": transcript.call_id,
        "org_id": transcript.org_id,
        "campaign_id": transcript.campaign_id,
        "version": transcript.version,
        "source_event_id": transcript.source_event_id,
        "provider": transcript.provider,
        "model": transcript.model,
        "language": transcript.language,
        "duration_seconds": transcript.duration_seconds,
        "segments": [
            {
                "speaker": segment.speaker.value,
                "start": segment.start,
                "end": segment.end,
                "text": segment.text,
                "words": [
                    {
                        "text": word.text,
                        "start": word.start,
                        "end": word.end,
                        "probability": word.probability,
                    }
                    for word in segment.words
                ],
            }
            for segment in transcript.segments
        ],
        "created_at": transcript.created_at,
        "speaker_roles": _roles_document(transcript.speaker_roles),
        # A list, not a sub-document: setting names may hold dots, which field names may not
        # (and FerretDB stores no nested arrays, so each pair is a small document).
        "settings": [{"name": name, "value": value} for name, value in transcript.settings],
    }


def _roles_document(roles: SpeakerRoles | None) -> Document | None:
    if roles is None:
        return None
    return {
        "source": roles.source.value,
        "agent_voice": roles.agent_voice,
        "confidence": roles.confidence,
        "needs_review": roles.needs_review,
        "evidence": list(roles.evidence),
        "swapped_by": roles.swapped_by,
        "swapped_from_version": roles.swapped_from_version,
    }


def _roles(document: Document | None) -> SpeakerRoles | None:
    if not document:
        return None
    return SpeakerRoles(
        source=RoleSource(document["source"]),
        agent_voice=int(document["agent_voice"]),
        confidence=float(document["confidence"]),
        needs_review=bool(document["needs_review"]),
        evidence=tuple(document.get("evidence", ())),
        swapped_by=document.get("swapped_by", ""),
        swapped_from_version=int(document.get("swapped_from_version", 0)),
    )


def _from_document(document: Document) -> Transcript:
    created_at: dt.datetime = document["created_at"]
    if created_at.tzinfo is None:
        created_at = created_at.replace(tzinfo=dt.UTC)
    return Transcript(
        id=str(document["_id"]),
        call_id=document["call_id"],
        org_id=document["org_id"],
        campaign_id=document.get("campaign_id", ""),
        version=int(document["version"]),
        source_event_id=document["source_event_id"],
        provider=document["provider"],
        model=document["model"],
        language=document.get("language", ""),
        duration_seconds=float(document.get("duration_seconds", 0.0)),
        segments=tuple(
            Segment(
                speaker=Speaker(segment["speaker"]),
                start=float(segment["start"]),
                end=float(segment["end"]),
                text=segment["text"],
                words=tuple(
                    Word(
                        text=word["text"],
                        start=float(word["start"]),
                        end=float(word["end"]),
                        probability=float(word["probability"]),
                    )
                    for word in segment.get("words", [])
                ),
            )
            for segment in document.get("segments", [])
        ),
        created_at=created_at,
        speaker_roles=_roles(document.get("speaker_roles")),
        settings=tuple(
            (str(item["name"]), str(item["value"])) for item in document.get("settings", [])
        ),
    )
