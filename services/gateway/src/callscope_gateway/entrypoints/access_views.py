"""JSON shapes of users, API keys, campaigns and agents."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from callscope_gateway.domain.agents import Agent
from callscope_gateway.domain.api_keys import ApiKeyRecord
from callscope_gateway.domain.campaign_settings import EvaluationSettings, TranscriptionSettings
from callscope_gateway.domain.default_checks import CheckDefinition
from callscope_gateway.domain.directory import Campaign, CampaignSummary
from callscope_gateway.domain.sftp_settings import SftpSettings, upload_path
from callscope_gateway.domain.users import User


def iso_time(moment: dt.datetime | None) -> str | None:
    """An ISO 8601 UTC time ending in Z (stored times without a zone are UTC)."""
    if moment is None:
        return None
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)
    return aware.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def user_view(user: User) -> dict[str, Any]:
    """A user without any password material."""
    return {"id": user.id, "email": user.email, "role": user.role.value, "org_id": user.org_id}


def api_key_view(key: ApiKeyRecord) -> dict[str, Any]:
    """A key as listed: never its hash or raw value."""
    return {
        "id": key.id,
        "campaign_id": key.campaign_id,
        "name": key.name,
        "display_prefix": key.display_prefix,
        "rate_limit_per_minute": key.rate_limit_per_minute,
        "created_at": iso_time(key.created_at),
        "last_used_at": iso_time(key.last_used_at),
        "revoked_at": iso_time(key.revoked_at),
    }


def campaign_summary_view(campaign: CampaignSummary) -> dict[str, Any]:
    """A campaign in a list: its settings without checks."""
    return {
        "id": campaign.id,
        "name": campaign.name,
        "flag_threshold": campaign.flag_threshold,
        "auto_processing": campaign.auto_processing,
        **transcription_settings_view(campaign.transcription),
        **evaluation_settings_view(campaign.evaluation),
        "created_at": iso_time(campaign.created_at),
    }


def campaign_view(campaign: Campaign, org_folder: str = "") -> dict[str, Any]:
    """A campaign's settings and its checks in order.

    org_folder is the organisation's folder on the SFTP server, which `sftp.upload_path`
    starts with (without it there is no upload path to show).
    """
    return {
        "id": campaign.id,
        "org_id": campaign.org_id,
        "name": campaign.name,
        "flag_threshold": campaign.flag_threshold,
        "auto_processing": campaign.auto_processing,
        **transcription_settings_view(campaign.transcription),
        **evaluation_settings_view(campaign.evaluation),
        "sftp": sftp_settings_view(campaign.sftp, org_folder),
        "checks": [check_view(check) for check in campaign.checks],
    }


def sftp_settings_view(settings: SftpSettings, org_folder: str) -> dict[str, Any]:
    """A campaign's SFTP settings and the folder its files are uploaded to (null: no slug)."""
    return {
        "enabled": settings.enabled,
        "folder_slug": settings.folder_slug,
        "csv": settings.csv.value,
        "batch_window_seconds": settings.batch_window_seconds,
        "agent_file_name_pattern": settings.agent_file_name_pattern,
        "upload_path": upload_path(org_folder, settings.folder_slug),
    }


def check_view(check: CheckDefinition) -> dict[str, Any]:
    """A quality check with every field, its lists as JSON arrays."""
    return {
        **dataclasses.asdict(check),
        "phrases": list(check.phrases),
        "keywords": list(check.keywords),
        "applies_when": list(check.applies_when),
    }


def transcription_settings_view(settings: TranscriptionSettings) -> dict[str, Any]:
    """A campaign's transcription settings, as flat fields of the campaign."""
    return {
        "transcription_provider": settings.provider.value,
        "agent_channel": settings.agent_channel.value,
        "opening_party": settings.opening_party.value,
        "company_name": settings.company_name,
    }


def evaluation_settings_view(settings: EvaluationSettings) -> dict[str, Any]:
    """Who evaluates a campaign's calls, as flat fields of the campaign."""
    return {"evaluator": settings.evaluator.value, "claude_model": settings.claude_model}


def agent_view(agent: Agent) -> dict[str, Any]:
    """An agent with the campaigns it works on."""
    return {
        "id": agent.id,
        "name": agent.name,
        "code": agent.code,
        "campaign_ids": list(agent.campaign_ids),
    }
