"""The interfaces transcription's handlers need; adapters implement them, tests may fake them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

from callscope_transcription.domain.events import TranscriptionEvent
from callscope_transcription.domain.model import AudioLocation, Transcript, Utterance

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
class Recognition:
    """What a speech recogniser heard on one channel."""

    language: str
    utterances: tuple[Utterance, ...]


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


class AudioDecoder(Protocol):
    """Turns an audio file of any supported format into samples (CPU work: run it in a thread)."""

    def decode(self, path: Path) -> DecodedAudio:
        """Decodes the file; UndecodableAudioError if it cannot be."""


class SpeechRecogniser(Protocol):
    """Speech to words with timings (CPU or GPU work: run it in a thread)."""

    @property
    def provider(self) -> str:
        """The provider's name as stored on transcripts, e.g. "local"."""

    @property
    def model(self) -> str:
        """The model's name as stored on transcripts, e.g. "tiny.en"."""

    def recognise(self, samples: Samples) -> Recognition:
        """Recognises one channel of 16 kHz mono samples."""


class EventSink(Protocol):
    """Tells the rest of the platform what happened to a call."""

    async def publish(self, event: TranscriptionEvent) -> None:
        """Sends one event durably."""
