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
from callscope_gateway.domain.sftp_settings import DEFAULT_SFTP_SETTINGS, SftpSettings


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
    sftp: SftpSettings = DEFAULT_SFTP_SETTINGS


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
    sftp: SftpSettings = DEFAULT_SFTP_SETTINGS


@dataclass(frozen=True)
class SftpCampaign:
    """A campaign whose SFTP ingestion is on, with its organisation's folder on the server."""

    org_id: str
    campaign_id: str
    campaign_name: str
    org_folder: str
    settings: SftpSettings


@dataclass(frozen=True)
class DemoCredentials:
    """What `make run` prints so a person can log in, call the API and drop files by SFTP."""

    email: str
    password: str
    api_key: str
    org_id: str
    campaign_id: str
    # The demo organisation's folder on the SFTP server (the stack makes its account there);
    # empty in files written before SFTP existed, which the gateway then writes again.
    sftp_folder: str = ""
