"""Routes of `/api/v1/campaigns`: list, read, create, and change a campaign's settings."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, StrictBool, field_validator

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
from callscope_gateway.entrypoints.access_views import campaign_summary_view, campaign_view
from callscope_gateway.entrypoints.context import Context
from callscope_gateway.entrypoints.principal import allowed

Viewer = Annotated[Principal, Depends(allowed(Permission.VIEW_CAMPAIGNS))]
Configurer = Annotated[Principal, Depends(allowed(Permission.CONFIGURE_CAMPAIGNS))]

router = APIRouter(prefix="/api/v1/campaigns", tags=["campaigns"])


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
        mode="before",
    )
    @classmethod
    def _not_null(cls, value: object) -> object:
        # Only fields that were sent reach this: null is a mistake, not "keep it".
        if value is None:
            raise ValueError("may not be null; leave the field out to keep its value")
        return value

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
        )


@router.get("")
async def list_campaigns(principal: Viewer, context: Context) -> dict[str, Any]:
    """The organisation's campaigns (an API key: its own campaign only)."""
    campaigns = await directory_handlers.list_campaigns(principal, directory=context.directory)
    return {"campaigns": [campaign_summary_view(campaign) for campaign in campaigns]}


@router.post("", status_code=201)
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
    return campaign_view(campaign)


@router.get("/{campaign_id}")
async def get_campaign(campaign_id: str, principal: Viewer, context: Context) -> dict[str, Any]:
    """A campaign's settings and checks."""
    campaign = await directory_handlers.get_campaign(
        principal, campaign_id, directory=context.directory
    )
    return campaign_view(campaign)


@router.patch("/{campaign_id}")
async def update_campaign(
    campaign_id: str, body: CampaignSettingsChange, principal: Configurer, context: Context
) -> dict[str, Any]:
    """Changes settings; the next upload already follows them (ingest asks at each upload)."""
    campaign = await directory_handlers.update_campaign(
        principal, campaign_id, body.changes(), directory=context.directory
    )
    return campaign_view(campaign)
