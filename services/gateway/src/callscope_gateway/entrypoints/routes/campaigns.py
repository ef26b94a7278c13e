"""Routes of `/api/v1/campaigns`: list, read, create, and change a campaign's settings
(its SFTP settings included)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, StrictBool, StrictInt, field_validator

from callscope_gateway import directory_handlers
from callscope_gateway.directory_handlers import CampaignChanges
from callscope_gateway.domain.access import Permission, Principal
from callscope_gateway.domain.campaign_settings import (
    DEFAULT_EVALUATION_SETTINGS,
    DEFAULT_TRANSCRIPTION_SETTINGS,
    AgentChannel,
    EvaluationSettings,
    Evaluator,
    OpeningParty,
    TranscriptionProvider,
    TranscriptionSettings,
    validate_campaign_name,
    validate_claude_model,
    validate_company_name,
    validate_flag_threshold,
)
from callscope_gateway.domain.default_checks import DEFAULT_FLAG_THRESHOLD
from callscope_gateway.domain.directory import Campaign
from callscope_gateway.domain.sftp_settings import (
    CsvRequirement,
    SftpChanges,
    validate_agent_file_name_pattern,
    validate_batch_window,
    validate_folder_slug,
)
from callscope_gateway.entrypoints.access_views import campaign_summary_view, campaign_view
from callscope_gateway.entrypoints.context import ApiContext, Context
from callscope_gateway.entrypoints.errors import AUTH_ERRORS, error_responses
from callscope_gateway.entrypoints.principal import allowed
from callscope_gateway.entrypoints.schemas import Campaign as CampaignModel
from callscope_gateway.entrypoints.schemas import CampaignList

Viewer = Annotated[Principal, Depends(allowed(Permission.VIEW_CAMPAIGNS))]
Configurer = Annotated[Principal, Depends(allowed(Permission.CONFIGURE_CAMPAIGNS))]
# PATCH: a role with either right gets as far as the handler, which checks each part of the
# change against its own right (SFTP settings need "configure SFTP ingestion").
SettingsChanger = Annotated[
    Principal,
    Depends(allowed(Permission.CONFIGURE_CAMPAIGNS, Permission.CONFIGURE_SFTP)),
]

router = APIRouter(prefix="/api/v1/campaigns", tags=["campaigns"])

_ERRORS = (*AUTH_ERRORS, "invalid_request")


class NewCampaign(BaseModel):
    """A name and, optionally, the flag threshold, transcription and evaluation settings."""

    model_config = ConfigDict(extra="forbid")

    name: str
    flag_threshold: float = DEFAULT_FLAG_THRESHOLD
    transcription_provider: TranscriptionProvider = DEFAULT_TRANSCRIPTION_SETTINGS.provider
    agent_channel: AgentChannel = DEFAULT_TRANSCRIPTION_SETTINGS.agent_channel
    opening_party: OpeningParty = DEFAULT_TRANSCRIPTION_SETTINGS.opening_party
    company_name: str = DEFAULT_TRANSCRIPTION_SETTINGS.company_name
    evaluator: Evaluator = DEFAULT_EVALUATION_SETTINGS.evaluator
    claude_model: str = DEFAULT_EVALUATION_SETTINGS.claude_model

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return validate_campaign_name(value)

    @field_validator("flag_threshold")
    @classmethod
    def _threshold(cls, value: float) -> float:
        return validate_flag_threshold(value)

    @field_validator("company_name")
    @classmethod
    def _company(cls, value: str) -> str:
        return validate_company_name(value)

    @field_validator("claude_model")
    @classmethod
    def _model(cls, value: str) -> str:
        return validate_claude_model(value)

    def transcription(self) -> TranscriptionSettings:
        """The transcription settings the campaign starts with."""
        return TranscriptionSettings(
            provider=self.transcription_provider,
            agent_channel=self.agent_channel,
            opening_party=self.opening_party,
            company_name=self.company_name,
        )

    def evaluation(self) -> EvaluationSettings:
        """Who evaluates the campaign's calls at first."""
        return EvaluationSettings(evaluator=self.evaluator, claude_model=self.claude_model)


def _not_null(value: object) -> object:
    # Only fields that were sent reach this: null is a mistake, not "keep it".
    if value is None:
        raise ValueError("may not be null; leave the field out to keep its value")
    return value


class SftpSettingsChange(BaseModel):
    """SFTP settings to change; fields left out stay as they are."""

    model_config = ConfigDict(extra="forbid")

    enabled: StrictBool | None = None
    folder_slug: str | None = None
    csv: CsvRequirement | None = None
    batch_window_seconds: StrictInt | None = None
    agent_file_name_pattern: str | None = None

    @field_validator(
        "enabled",
        "folder_slug",
        "csv",
        "batch_window_seconds",
        "agent_file_name_pattern",
        mode="before",
    )
    @classmethod
    def _not_null(cls, value: object) -> object:
        return _not_null(value)

    @field_validator("folder_slug")
    @classmethod
    def _slug(cls, value: str) -> str:
        return validate_folder_slug(value)

    @field_validator("batch_window_seconds")
    @classmethod
    def _window(cls, value: int) -> int:
        return validate_batch_window(value)

    @field_validator("agent_file_name_pattern")
    @classmethod
    def _pattern(cls, value: str) -> str:
        return validate_agent_file_name_pattern(value)

    def changes(self) -> SftpChanges:
        """The SFTP settings to change."""
        return SftpChanges(
            enabled=self.enabled,
            folder_slug=self.folder_slug,
            csv=self.csv,
            batch_window_seconds=self.batch_window_seconds,
            agent_file_name_pattern=self.agent_file_name_pattern,
        )


class CampaignSettingsChange(BaseModel):
    """Settings to change; fields left out stay as they are."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    flag_threshold: float | None = None
    auto_processing: StrictBool | None = None
    transcription_provider: TranscriptionProvider | None = None
    agent_channel: AgentChannel | None = None
    opening_party: OpeningParty | None = None
    company_name: str | None = None
    evaluator: Evaluator | None = None
    claude_model: str | None = None
    sftp: SftpSettingsChange | None = None

    @field_validator(
        "name",
        "flag_threshold",
        "auto_processing",
        "transcription_provider",
        "agent_channel",
        "opening_party",
        "company_name",
        "evaluator",
        "claude_model",
        "sftp",
        mode="before",
    )
    @classmethod
    def _not_null(cls, value: object) -> object:
        return _not_null(value)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return validate_campaign_name(value)

    @field_validator("flag_threshold")
    @classmethod
    def _threshold(cls, value: float) -> float:
        return validate_flag_threshold(value)

    @field_validator("company_name")
    @classmethod
    def _company(cls, value: str) -> str:
        return validate_company_name(value)

    @field_validator("claude_model")
    @classmethod
    def _model(cls, value: str) -> str:
        return validate_claude_model(value)

    def changes(self) -> CampaignChanges:
        """The settings to change."""
        return CampaignChanges(
            name=self.name,
            flag_threshold=self.flag_threshold,
            auto_processing=self.auto_processing,
            transcription_provider=self.transcription_provider,
            agent_channel=self.agent_channel,
            opening_party=self.opening_party,
            company_name=self.company_name,
            evaluator=self.evaluator,
            claude_model=self.claude_model,
            sftp=self.sftp.changes() if self.sftp is not None else None,
        )


async def _view(campaign: Campaign, principal: Principal, context: ApiContext) -> dict[str, Any]:
    """The campaign as the API shows it, with the folder its SFTP files are uploaded to."""
    folder = await directory_handlers.org_folder(principal, directory=context.directory)
    return campaign_view(campaign, folder)


@router.get("", response_model=CampaignList, responses=error_responses(*_ERRORS))
async def list_campaigns(principal: Viewer, context: Context) -> dict[str, Any]:
    """The organisation's campaigns (an API key: its own campaign only)."""
    campaigns = await directory_handlers.list_campaigns(principal, directory=context.directory)
    return {"campaigns": [campaign_summary_view(campaign) for campaign in campaigns]}


@router.post("", status_code=201, response_model=CampaignModel, responses=error_responses(*_ERRORS))
async def create_campaign(
    body: NewCampaign, principal: Configurer, context: Context
) -> dict[str, Any]:
    """Creates a campaign with the default checks; auto-processing starts on."""
    campaign = await directory_handlers.create_campaign(
        principal,
        name=body.name,
        flag_threshold=body.flag_threshold,
        transcription=body.transcription(),
        evaluation=body.evaluation(),
        directory=context.directory,
    )
    return await _view(campaign, principal, context)


@router.get(
    "/{campaign_id}", response_model=CampaignModel, responses=error_responses(*_ERRORS, "not_found")
)
async def get_campaign(campaign_id: str, principal: Viewer, context: Context) -> dict[str, Any]:
    """A campaign's settings (SFTP ones with their upload path) and checks."""
    campaign = await directory_handlers.get_campaign(
        principal, campaign_id, directory=context.directory
    )
    return await _view(campaign, principal, context)


@router.patch(
    "/{campaign_id}",
    response_model=CampaignModel,
    responses=error_responses(
        *_ERRORS, "not_found", "invalid_field", "folder_slug_taken", "conflict"
    ),
)
async def update_campaign(
    campaign_id: str, body: CampaignSettingsChange, principal: SettingsChanger, context: Context
) -> dict[str, Any]:
    """Changes settings; the next upload already follows them (ingest asks at each upload),
    the next sweep the SFTP ones (the sftp service asks at each sweep)."""
    campaign = await directory_handlers.update_campaign(
        principal, campaign_id, body.changes(), directory=context.directory
    )
    return await _view(campaign, principal, context)
