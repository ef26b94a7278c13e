"""In-memory fakes of the transcription service's ports, for the unit tier."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

from callscope_transcription.domain.errors import AudioMissingError, TranscriptConflictError
from callscope_transcription.domain.events import TranscriptionEvent
from callscope_transcription.domain.model import AudioLocation, Transcript
from callscope_transcription.domain.versions import LATEST_VERSION
from callscope_transcription.ports import AudioInfo, CampaignRules, Hearing, ProviderRequest


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


class FakeProvider:
    """A provider that hears a scripted Hearing (or raises), recording what it was asked."""

    def __init__(self, name: str, hearing: Hearing | None = None) -> None:
        self.name = name
        self.hearing = hearing
        self.fail_with: Exception | None = None
        self.requests: list[ProviderRequest] = []
        self.files_seen: list[bytes] = []

    async def transcribe(self, request: ProviderRequest) -> Hearing:
        """Returns the scripted hearing; raises fail_with when set."""
        self.requests.append(request)
        self.files_seen.append(request.path.read_bytes())
        if self.fail_with is not None:
            raise self.fail_with
        if self.hearing is None:
            raise AssertionError(f"provider {self.name} was not expected to be asked")
        return self.hearing


class FakeProber:
    """Reports a fixed layout, or refuses the file like ffprobe refuses non-audio."""

    def __init__(self, info: AudioInfo | None = None) -> None:
        self.info = info or AudioInfo(channels=2, duration_seconds=20.0)
        self.fail_with: Exception | None = None

    def probe(self, path: Path) -> AudioInfo:
        """The fixed info, for an existing file."""
        if not path.is_file():
            raise AssertionError(f"probed a file that does not exist: {path}")
        if self.fail_with is not None:
            raise self.fail_with
        return self.info


class FakeDirectory:
    """Campaign rules by campaign id; unknown campaigns get the defaults."""

    def __init__(self, rules: dict[str, CampaignRules] | None = None) -> None:
        self.by_campaign = dict(rules or {})
        self.asked: list[tuple[str, str]] = []

    async def rules(self, org_id: str, campaign_id: str) -> CampaignRules:
        """The campaign's rules or the defaults."""
        self.asked.append((org_id, campaign_id))
        return self.by_campaign.get(campaign_id, CampaignRules())
