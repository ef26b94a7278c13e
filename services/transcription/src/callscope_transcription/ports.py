"""The interfaces transcription's handlers need; adapters implement them, tests may fake them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

from callscope_transcription.domain.events import TranscriptionEvent
from callscope_transcription.domain.model import (
    AudioLocation,
    Layout,
    Transcript,
    Utterance,
)
from callscope_transcription.domain.roles import RoleRules

SAMPLE_RATE = 16_000
"""Whisper models hear 16 kHz mono; every decoder delivers that."""

# Peak level (fraction of full scale) below which a channel counts as silent: -60 dBFS, far
# below any recorded voice yet above the dither and rounding noise of a silent recording.
SILENCE_PEAK = 0.001

Samples = npt.NDArray[np.float32]


@dataclass(frozen=True)
class DecodedAudio:
    """A call's audio as 16 kHz float32 samples in [-1, 1], one array per channel (1 or 2)."""

    channels: tuple[Samples, ...]
    sample_rate: int = SAMPLE_RATE

    @property
    def duration_seconds(self) -> float:
        """The length of the call."""
        return len(self.channels[0]) / self.sample_rate if self.channels else 0.0

    def is_silent(self, channel: int) -> bool:
        """Whether the channel carries nothing louder than SILENCE_PEAK."""
        samples = self.channels[channel]
        return samples.size == 0 or float(np.max(np.abs(samples))) < SILENCE_PEAK


@dataclass(frozen=True)
class AudioInfo:
    """What probing a call's audio file found (before any provider sees it)."""

    channels: int
    duration_seconds: float
    codec: str = ""
    same_signal_on_both_channels: bool = False

    @property
    def layout(self) -> Layout:
        """STEREO only for two channels that differ (one party each); anything else is MONO."""
        if self.channels == 2 and not self.same_signal_on_both_channels:
            return Layout.STEREO
        return Layout.MONO


@dataclass(frozen=True)
class ProviderRequest:
    """One call's audio handed to a provider: the file as uploaded, and how it is laid out.

    layout is STEREO only for two channels that carry different signals (one party
    each); everything else is MONO. The file is private to this request and is
    deleted when the provider returns.
    """

    path: Path
    layout: Layout
    duration_seconds: float
    content_type: str = "application/octet-stream"


@dataclass(frozen=True)
class Hearing:
    """What a provider heard: utterances by voice, before roles are decided.

    On STEREO each utterance's voice is its channel (0 = left); on MONO it is the
    speaker the provider told apart (0 = the first voice heard). voices_split is
    False on MONO when the provider could not tell voices apart (every voice is 0).
    settings records how the provider was asked (model options, VAD, diarization),
    stored with the transcript so a result can be reproduced.
    """

    language: str
    layout: Layout
    utterances: tuple[Utterance, ...]
    duration_seconds: float
    model: str
    voices_split: bool = True
    settings: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CampaignRules:
    """A campaign's transcription settings, read from the directory for every call."""

    provider: str = "local"
    roles: RoleRules = field(default_factory=RoleRules)


class SpeechProvider(Protocol):
    """Turns a call's audio into speech by voice: local Whisper, AssemblyAI or Deepgram.

    Raises UnusableAudioError when the audio cannot give words, ProviderError when
    the provider refuses (bad key, rejected audio) or stays unavailable after its
    retries; any other exception is treated as transient and the event is retried.
    """

    @property
    def name(self) -> str:
        """The provider's name as stored on transcripts: "local", "assemblyai", "deepgram"."""

    async def transcribe(self, request: ProviderRequest) -> Hearing:
        """Transcribes the file; utterances with word timings, labelled by voice."""


@dataclass(frozen=True)
class VoiceTurn:
    """A stretch of the call (seconds) spoken by one voice (0 = the first voice heard)."""

    start: float
    end: float
    voice: int


class VoiceSplitter(Protocol):
    """Tells the voices of a mono call apart without a network model, in bounded memory.

    One splitter serves one call: the provider feeds it the call window by window
    (add), then asks it to label the recognised utterances (label). It keeps only
    small per-stretch features between windows, never the call's samples.
    """

    def add(self, samples: Samples, offset_s: float, spans: Sequence[tuple[float, float]]) -> None:
        """Takes a window of 16 kHz mono samples starting offset_s seconds into the call,
        with the speech spans (absolute seconds, inside the window) found in it."""

    def label(self, utterances: Sequence[Utterance]) -> tuple[tuple[Utterance, ...], bool]:
        """The utterances with their voice set, split where the voice changes between two
        words; and whether two voices were found (False: everything is voice 0)."""


class AudioProber(Protocol):
    """Reads an audio file's layout without decoding it all (CPU work: run it in a thread)."""

    def probe(self, path: Path) -> AudioInfo:
        """The channel count and duration; UndecodableAudioError if it is not audio."""


class CampaignDirectory(Protocol):
    """The campaign settings that decide the provider and the speaker roles."""

    async def rules(self, org_id: str, campaign_id: str) -> CampaignRules:
        """The campaign's rules; defaults when the campaign no longer exists."""


class TranscriptStore(Protocol):
    """Where transcript versions are kept."""

    async def find_by_source_event(self, event_id: str) -> Transcript | None:
        """The transcript an event already produced, if any."""

    async def latest_version(self, call_id: str) -> int:
        """The highest stored version of the call's transcript; 0 when there is none."""

    async def add(self, transcript: Transcript) -> None:
        """Stores a new version; TranscriptConflictError if its version or event is taken."""

    async def get(self, org_id: str, call_id: str, version: int) -> Transcript | None:
        """A version (0 = the latest) of a call's transcript within an organisation."""

    async def delete_call(self, org_id: str, call_id: str) -> int:
        """Deletes every version of a call's transcript; returns how many there were."""


class AudioStore(Protocol):
    """Where call audio is kept."""

    async def download(self, audio: AudioLocation, path: Path) -> None:
        """Copies the audio object into a local file; AudioMissingError if it does not exist."""


class EventSink(Protocol):
    """Tells the rest of the platform what happened to a call."""

    async def publish(self, event: TranscriptionEvent) -> None:
        """Sends one event durably."""
