"""The directory's models: organisations, users, campaigns and their checks."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from callscope_gateway.domain.campaign_settings import (
    DEFAULT_EVALUATION_SETTINGS,
    DEFAULT_TRANSCRIPTION_SETTINGS,
    EvaluationSettings,
    TranscriptionSettings,
)
from callscope_gateway.domain.default_checks import CheckDefinition


@dataclass(frozen=True)
class Campaign:
    """A campaign's settings and its current checks."""

    id: str
    org_id: str
    name: str
    flag_threshold: float
    auto_processing: bool
    checks: tuple[CheckDefinition, ...]
    transcription: TranscriptionSettings = DEFAULT_TRANSCRIPTION_SETTINGS
    evaluation: EvaluationSettings = DEFAULT_EVALUATION_SETTINGS


@dataclass(frozen=True)
class CampaignSummary:
    """A campaign's settings without its checks, as campaign lists show it."""

    id: str
    org_id: str
    name: str
    flag_threshold: float
    auto_processing: bool
    created_at: dt.datetime | None
    transcription: TranscriptionSettings = DEFAULT_TRANSCRIPTION_SETTINGS
    evaluation: EvaluationSettings = DEFAULT_EVALUATION_SETTINGS


@dataclass(frozen=True)
class DemoCredentials:
    """What `make run` prints so a person can log in and call the API."""

    email: str
    password: str
    api_key: str
    org_id: str
    campaign_id: str
