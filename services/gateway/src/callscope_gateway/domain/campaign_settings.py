"""The rules for a campaign's editable settings: name, flag threshold, how calls are
transcribed (provider, agent channel, opening party, company name) and who evaluates them
(evaluator, Claude model)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from enum import StrEnum

MAX_CAMPAIGN_NAME_LENGTH = 200
MIN_FLAG_THRESHOLD = 0.0
MAX_FLAG_THRESHOLD = 100.0
MAX_COMPANY_NAME_LENGTH = 100
MAX_CLAUDE_MODEL_LENGTH = 100
# A model id as Anthropic spells them ("claude-sonnet-4-5", "claude-3-5-haiku-20241022"):
# lower-case letters, digits, dots and hyphens, starting with a letter or digit, at most 100.
_CLAUDE_MODEL = re.compile(r"[a-z0-9][a-z0-9.\-]{0,99}")


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


class Evaluator(StrEnum):
    """Who answers a campaign's checks."""

    # Offline and deterministic: the checks' phrases, keywords and windows.
    LOCAL = "local"
    # Anthropic's Messages API, which reads each check's question.
    CLAUDE = "claude"


@dataclass(frozen=True)
class EvaluationSettings:
    """Who evaluates a campaign's calls against its checks.

    The defaults are what a campaign stored before these settings existed reads as.
    """

    evaluator: Evaluator = Evaluator.LOCAL
    # Empty: the analysis service's default model.
    claude_model: str = ""


DEFAULT_EVALUATION_SETTINGS = EvaluationSettings()


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


def validate_claude_model(model: str) -> str:
    """A Claude model id, surrounding spaces removed (empty: the default model), or ValueError."""
    stripped = model.strip()
    if stripped and not _CLAUDE_MODEL.fullmatch(stripped):
        raise ValueError(
            "the Claude model is a model id such as claude-sonnet-4-5: lower-case letters, "
            f"digits, dots and hyphens, at most {MAX_CLAUDE_MODEL_LENGTH} characters "
            "(empty: the default model)"
        )
    return stripped
