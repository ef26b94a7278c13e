"""Use cases of the directory: campaigns and their settings, agents."""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from enum import StrEnum

from pymongo.errors import DuplicateKeyError

from callscope_gateway.adapters.mongo import MongoDirectory
from callscope_gateway.domain.access import Principal
from callscope_gateway.domain.agents import Agent
from callscope_gateway.domain.campaign_settings import (
    DEFAULT_EVALUATION_SETTINGS,
    DEFAULT_TRANSCRIPTION_SETTINGS,
    AgentChannel,
    EvaluationSettings,
    Evaluator,
    OpeningParty,
    TranscriptionProvider,
    TranscriptionSettings,
)
from callscope_gateway.domain.default_checks import DEFAULT_CHECKS
from callscope_gateway.domain.directory import Campaign, CampaignSummary
from callscope_gateway.domain.errors import GatewayError

logger = logging.getLogger(__name__)

DEMO_AGENT_CODE = "JS001"
DEMO_AGENT_NAME = "John Smith"


async def list_campaigns(
    principal: Principal, *, directory: MongoDirectory
) -> list[CampaignSummary]:
    """The organisation's campaigns; an API key sees only its own."""
    return await directory.list_campaigns(principal.org_id, principal.campaign_id)


async def get_campaign(
    principal: Principal, campaign_id: str, *, directory: MongoDirectory
) -> Campaign:
    """A campaign's settings and checks; other organisations' campaigns do not exist."""
    campaign = (
        await directory.get_campaign(principal.org_id, campaign_id)
        if principal.sees_campaign(campaign_id)
        else None
    )
    if campaign is None:
        raise GatewayError("not_found", f"no campaign with id {campaign_id}")
    return campaign


async def create_campaign(
    principal: Principal,
    *,
    name: str,
    flag_threshold: float,
    transcription: TranscriptionSettings = DEFAULT_TRANSCRIPTION_SETTINGS,
    evaluation: EvaluationSettings = DEFAULT_EVALUATION_SETTINGS,
    directory: MongoDirectory,
) -> Campaign:
    """A new campaign of the organisation with the default checks (like the demo campaign)."""
    campaign_id = await directory.create_campaign(
        principal.org_id,
        name,
        flag_threshold,
        DEFAULT_CHECKS,
        transcription=transcription,
        evaluation=evaluation,
    )
    logger.info(
        "campaign created", extra={"campaign_id": campaign_id, "user_id": principal.user_id}
    )
    return await get_campaign(principal, campaign_id, directory=directory)


@dataclass(frozen=True)
class CampaignChanges:
    """Settings to change; None leaves a setting as it is."""

    name: str | None = None
    flag_threshold: float | None = None
    auto_processing: bool | None = None
    transcription_provider: TranscriptionProvider | None = None
    agent_channel: AgentChannel | None = None
    opening_party: OpeningParty | None = None
    # An empty name is a change too: it clears the company name.
    company_name: str | None = None
    evaluator: Evaluator | None = None
    # Empty is a change too: back to the analysis service's default model.
    claude_model: str | None = None

    def as_fields(self) -> dict[str, object]:
        """The stored fields to set (settings are stored as the API's values)."""
        fields = {
            "name": self.name,
            "flag_threshold": self.flag_threshold,
            "auto_processing": self.auto_processing,
            "transcription_provider": self.transcription_provider,
            "agent_channel": self.agent_channel,
            "opening_party": self.opening_party,
            "company_name": self.company_name,
            "evaluator": self.evaluator,
            "claude_model": self.claude_model,
        }
        return {
            name: value.value if isinstance(value, StrEnum) else value
            for name, value in fields.items()
            if value is not None
        }


# Every setting PATCH takes, in the order the API documents them.
CAMPAIGN_SETTINGS = tuple(field.name for field in dataclasses.fields(CampaignChanges))


async def update_campaign(
    principal: Principal, campaign_id: str, changes: CampaignChanges, *, directory: MongoDirectory
) -> Campaign:
    """Changes a campaign's settings; ingest reads them at each upload, so they apply at once."""
    fields = changes.as_fields()
    if not fields:
        raise GatewayError("invalid_field", f"send at least one of {', '.join(CAMPAIGN_SETTINGS)}")
    if not principal.sees_campaign(campaign_id) or not await directory.update_campaign(
        principal.org_id, campaign_id, fields
    ):
        raise GatewayError("not_found", f"no campaign with id {campaign_id}")
    logger.info(
        "campaign settings changed",
        extra={"campaign_id": campaign_id, "user_id": principal.user_id, "fields": sorted(fields)},
    )
    return await get_campaign(principal, campaign_id, directory=directory)


async def create_agent(
    principal: Principal,
    *,
    name: str,
    code: str,
    campaign_ids: tuple[str, ...],
    directory: MongoDirectory,
) -> Agent:
    """A new agent of the organisation, working on some of its campaigns."""
    await _require_campaigns(principal, campaign_ids, directory)
    try:
        return await directory.create_agent(principal.org_id, name, code, campaign_ids)
    except DuplicateKeyError as error:
        raise _code_taken(code) from error


async def list_agents(
    principal: Principal, campaign_id: str | None, *, directory: MongoDirectory
) -> list[Agent]:
    """The organisation's agents, or one campaign's; an API key sees only its campaign's."""
    if principal.campaign_id is not None:
        if campaign_id is not None and campaign_id != principal.campaign_id:
            raise GatewayError("not_found", f"no campaign with id {campaign_id}")
        campaign_id = principal.campaign_id
    return await directory.list_agents(principal.org_id, campaign_id)


async def get_agent(principal: Principal, agent_id: str, *, directory: MongoDirectory) -> Agent:
    """An agent of the organisation (for an API key: one working on its campaign)."""
    agent = await directory.get_agent(principal.org_id, agent_id)
    if agent is None or (
        principal.campaign_id is not None and principal.campaign_id not in agent.campaign_ids
    ):
        raise GatewayError("not_found", f"no agent with id {agent_id}")
    return agent


@dataclass(frozen=True)
class AgentChanges:
    """Fields to change; None leaves a field as it is."""

    name: str | None = None
    code: str | None = None
    campaign_ids: tuple[str, ...] | None = None

    def as_fields(self) -> dict[str, object]:
        """The stored fields to set."""
        fields = {"name": self.name, "code": self.code, "campaign_ids": self.campaign_ids}
        return {name: value for name, value in fields.items() if value is not None}


async def update_agent(
    principal: Principal, agent_id: str, changes: AgentChanges, *, directory: MongoDirectory
) -> Agent:
    """Renames an agent, changes its code or the campaigns it works on."""
    fields = changes.as_fields()
    if not fields:
        raise GatewayError("invalid_field", "send at least one of name, code, campaign_ids")
    if await directory.get_agent(principal.org_id, agent_id) is None:
        raise GatewayError("not_found", f"no agent with id {agent_id}")
    if changes.campaign_ids is not None:
        await _require_campaigns(principal, changes.campaign_ids, directory)
    try:
        agent = await directory.update_agent(principal.org_id, agent_id, fields)
    except DuplicateKeyError as error:
        raise _code_taken(changes.code or "") from error
    if agent is None:
        raise GatewayError("not_found", f"no agent with id {agent_id}")
    return agent


async def ensure_demo_agent(directory: MongoDirectory, org_id: str, campaign_id: str) -> Agent:
    """The demo organisation's agent JS001 "John Smith" on the demo campaign, made once."""
    existing = await directory.find_agent(org_id, campaign_id, DEMO_AGENT_CODE)
    if existing is not None:
        return existing
    try:
        return await directory.create_agent(
            org_id, DEMO_AGENT_NAME, DEMO_AGENT_CODE, (campaign_id,)
        )
    except DuplicateKeyError:
        # The code exists but no longer lists the demo campaign (someone edited it): leave it.
        agents = await directory.list_agents(org_id)
        return next(a for a in agents if a.code.upper() == DEMO_AGENT_CODE)


async def _require_campaigns(
    principal: Principal, campaign_ids: tuple[str, ...], directory: MongoDirectory
) -> None:
    known = await directory.existing_campaign_ids(principal.org_id, list(campaign_ids))
    unknown = [campaign_id for campaign_id in campaign_ids if campaign_id not in known]
    if unknown:
        raise GatewayError(
            "unknown_campaign",
            f"campaign_ids: no campaign with id {', '.join(unknown)} in your organisation",
        )


def _code_taken(code: str) -> GatewayError:
    return GatewayError(
        "agent_code_taken",
        f"code: another agent of your organisation has the code {code} (codes ignore case)",
    )
