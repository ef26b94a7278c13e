"""The rules for a campaign's editable settings: name, flag threshold and how calls are
transcribed (provider, agent channel, opening party, company name)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

MAX_CAMPAIGN_NAME_LENGTH = 200
MIN_FLAG_THRESHOLD = 0.0
MAX_FLAG_THRESHOLD = 100.0
MAX_COMPANY_NAME_LENGTH = 100


class TranscriptionProvider(StrEnum):
    """Which provider turns the campaign's calls into transcripts."""

    LOCAL = "local"
    ASSEMBLYAI = "assemblyai"
    DEEPGRAM = "deepgram"


class AgentChannel(StrEnum):
    """Stereo recordings: the channel that carries the agent."""

    LEFT = "left"
    RIGHT = "right"


class OpeningParty(StrEnum):
    """Mono recordings: the party who opens the call."""

    AGENT = "agent"
    CUSTOMER = "customer"


@dataclass(frozen=True)
class TranscriptionSettings:
    """How a campaign's calls are transcribed and their speakers told apart.

    The defaults are what a campaign stored before these settings existed reads as.
    """

    provider: TranscriptionProvider = TranscriptionProvider.LOCAL
    agent_channel: AgentChannel = AgentChannel.LEFT
    opening_party: OpeningParty = OpeningParty.AGENT
    # The name agents greet with; empty: no company name is assumed.
    company_name: str = ""


# Frozen, so one instance serves every default.
DEFAULT_TRANSCRIPTION_SETTINGS = TranscriptionSettings()


def validate_campaign_name(name: str) -> str:
    """The name with surrounding spaces removed, or ValueError."""
    stripped = name.strip()
    if not stripped or len(stripped) > MAX_CAMPAIGN_NAME_LENGTH:
        raise ValueError(f"a campaign's name is 1 to {MAX_CAMPAIGN_NAME_LENGTH} characters")
    return stripped


def validate_flag_threshold(threshold: float) -> float:
    """A score from 0 to 100 below which calls are flagged, or ValueError."""
    if not math.isfinite(threshold) or not MIN_FLAG_THRESHOLD <= threshold <= MAX_FLAG_THRESHOLD:
        raise ValueError("the flag threshold is a score from 0 to 100")
    return float(threshold)


def validate_company_name(name: str) -> str:
    """The name agents greet with, surrounding spaces removed (empty: none), or ValueError."""
    stripped = name.strip()
    if len(stripped) > MAX_COMPANY_NAME_LENGTH:
        raise ValueError(
            f"the company name is at most {MAX_COMPANY_NAME_LENGTH} characters "
            "(empty: no company name)"
        )
    return stripped
