"""In-memory fakes of the transcription service's ports, for the unit tier."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

from callscope_transcription.domain.errors import AudioMissingError, TranscriptConflictError
from callscope_transcription.domain.events import TranscriptionEvent
from callscope_transcription.domain.model import AudioLocation, Transcript
from callscope_transcription.domain.versions import LATEST_VERSION


class FakeTranscriptStore:
    """Keeps transcripts in a list and enforces the same unique keys as the Mongo indexes."""

    def __init__(self) -> None:
        self.transcripts: list[Transcript] = []
        self.fail_next_add_with: Exception | None = None

    async def find_by_source_event(self, event_id: str) -> Transcript | None:
        """The transcript an event already produced, if any."""
        return next((t for t in self.transcripts if t.source_event_id == event_id), None)

    async def latest_version(self, call_id: str) -> int:
        """The highest stored version of the call's transcript; 0 when there is none."""
        return max((t.version for t in self.transcripts if t.call_id == call_id), default=0)

    async def add(self, transcript: Transcript) -> None:
        """Stores a new version, refusing a taken (call, version) or source event."""
        if self.fail_next_add_with is not None:
            error, self.fail_next_add_with = self.fail_next_add_with, None
            raise error
        for stored in self.transcripts:
            if (stored.call_id, stored.version) == (transcript.call_id, transcript.version) or (
                stored.source_event_id == transcript.source_event_id
            ):
                raise TranscriptConflictError("duplicate key")
        self.transcripts.append(replace(transcript))

    async def get(self, org_id: str, call_id: str, version: int) -> Transcript | None:
        """A version (0 = the latest) of a call's transcript within an organisation."""
        matching = [t for t in self.transcripts if (t.org_id, t.call_id) == (org_id, call_id)]
        if version != LATEST_VERSION:
            matching = [t for t in matching if t.version == version]
        return max(matching, key=lambda t: t.version, default=None)

    async def delete_call(self, org_id: str, call_id: str) -> int:
        """Deletes every version of a call's transcript; returns how many there were."""
        kept = [t for t in self.transcripts if (t.org_id, t.call_id) != (org_id, call_id)]
        deleted = len(self.transcripts) - len(kept)
        self.transcripts = kept
        return deleted


class FakeAudioStore:
    """Serves audio objects from local files registered under their keys."""

    def __init__(self, bucket: str = "callscope-audio") -> None:
        self.bucket = bucket
        self.objects: dict[str, Path] = {}
        self.downloaded_to: list[Path] = []

    def put(self, key: str, source: Path) -> AudioLocation:
        """Registers a local file as the object under key."""
        self.objects[key] = source
        return AudioLocation(self.bucket, key)

    async def download(self, audio: AudioLocation, path: Path) -> None:
        """Copies the object into path; AudioMissingError if there is none under the key."""
        source = self.objects.get(audio.key)
        if source is None or audio.bucket != self.bucket:
            raise AudioMissingError(f"s3://{audio.bucket}/{audio.key}")
        shutil.copyfile(source, path)
        self.downloaded_to.append(path)


class FakeEventSink:
    """Records published events in order."""

    def __init__(self) -> None:
        self.events: list[TranscriptionEvent] = []

    async def publish(self, event: TranscriptionEvent) -> None:
        """Records the event."""
        self.events.append(event)
