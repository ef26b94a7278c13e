"""Use cases of the directory: campaigns and their settings (SFTP ones included), agents."""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from enum import StrEnum

from pymongo.errors import DuplicateKeyError

from callscope_gateway.adapters.mongo import MongoDirectory, SftpSettingsBusyError
from callscope_gateway.domain.access import Permission, Principal
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
from callscope_gateway.domain.directory import Campaign, CampaignSummary, SftpCampaign
from callscope_gateway.domain.errors import GatewayError
from callscope_gateway.domain.sftp_settings import (
    SFTP_SETTING_FIELDS,
    CsvRequirement,
    SftpChanges,
    SftpSettings,
    changed_sftp_settings,
)

logger = logging.getLogger(__name__)

DEMO_AGENT_CODE = "JS001"
DEMO_AGENT_NAME = "John Smith"
# The demo campaign's drop folder: /<demo org folder>/inbound/, batches settled after 30 s
# so that a person trying it out sees a batch finish without waiting five minutes.
DEMO_SFTP_SETTINGS = SftpSettings(
    enabled=True, folder_slug="inbound", csv=CsvRequirement.OPTIONAL, batch_window_seconds=30
)


async def list_campaigns(
    principal: Principal, *, directory: MongoDirectory
) -> list[CampaignSummary]:
    """The campaigns of the principal's scope: an API key its own, a Manager their assigned
    ones, an Agent their agent profile's, the other roles every campaign of the org."""
    campaigns = await directory.list_campaigns(principal.org_id, principal.campaign_id)
    return [campaign for campaign in campaigns if principal.sees_campaign(campaign.id)]


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
    # Changed under their own permission and rules (`update_campaign`), never by as_fields.
    sftp: SftpChanges | None = None

    def as_fields(self) -> dict[str, object]:
        """The stored fields to set (settings are stored as the API's values), SFTP aside."""
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
    """Changes a campaign's settings; ingest reads them at each upload, so they apply at once.

    SFTP settings need their own right (Senior Manager, Owner) and are checked and stored
    first, so a refused SFTP change leaves the other settings of the request unchanged too.
    """
    fields = changes.as_fields()
    sftp = changes.sftp if changes.sftp is not None and changes.sftp.names() else None
    if not fields and sftp is None:
        if changes.sftp is not None:
            raise GatewayError(
                "invalid_field", f"sftp: send at least one of {', '.join(SFTP_SETTING_FIELDS)}"
            )
        raise GatewayError("invalid_field", f"send at least one of {', '.join(CAMPAIGN_SETTINGS)}")
    if sftp is not None and not principal.may(Permission.CONFIGURE_SFTP):
        raise GatewayError(
            "forbidden",
            f"your role may not {Permission.CONFIGURE_SFTP.value}: a campaign's SFTP settings "
            "are changed by a Senior Manager or the Owner",
        )
    if fields and not principal.may(Permission.CONFIGURE_CAMPAIGNS):
        raise GatewayError("forbidden", f"your role may not {Permission.CONFIGURE_CAMPAIGNS.value}")
    if not principal.sees_campaign(campaign_id):
        raise GatewayError("not_found", f"no campaign with id {campaign_id}")
    if sftp is not None:
        await _change_sftp(principal.org_id, campaign_id, sftp, directory=directory)
    if fields and not await directory.update_campaign(principal.org_id, campaign_id, fields):
        raise GatewayError("not_found", f"no campaign with id {campaign_id}")
    changed = sorted(fields) + [f"sftp.{name}" for name in (sftp.names() if sftp else [])]
    logger.info(
        "campaign settings changed",
        extra={"campaign_id": campaign_id, "user_id": principal.actor, "fields": changed},
    )
    return await get_campaign(principal, campaign_id, directory=directory)


async def _change_sftp(
    org_id: str, campaign_id: str, changes: SftpChanges, *, directory: MongoDirectory
) -> SftpSettings:
    """Applies a partial change of a campaign's SFTP settings, its slug unique in the org."""
    try:
        async with directory.editing_sftp(org_id):
            campaign = await directory.get_campaign(org_id, campaign_id)
            if campaign is None:
                raise GatewayError("not_found", f"no campaign with id {campaign_id}")
            try:
                settings = changed_sftp_settings(campaign.sftp, changes)
            except ValueError as error:
                raise GatewayError("invalid_field", str(error)) from error
            if settings.folder_slug and settings.folder_slug != campaign.sftp.folder_slug:
                holder = await directory.campaign_with_sftp_folder(
                    org_id, settings.folder_slug, other_than=campaign_id
                )
                if holder is not None:
                    raise _folder_slug_taken(settings.folder_slug, holder[1])
            if not await directory.set_sftp_settings(org_id, campaign_id, settings):
                raise GatewayError("not_found", f"no campaign with id {campaign_id}")
            return settings
    except SftpSettingsBusyError as error:
        raise GatewayError(
            "conflict",
            "someone else is changing your organisation's SFTP settings; try again in a moment",
        ) from error


def _folder_slug_taken(slug: str, holder_name: str) -> GatewayError:
    return GatewayError(
        "folder_slug_taken",
        f"sftp.folder_slug: the campaign {holder_name!r} of your organisation already uses the "
        f"folder slug {slug!r}; each campaign needs a folder of its own, so choose another slug",
    )


async def org_folder(principal: Principal, *, directory: MongoDirectory) -> str:
    """The principal's organisation's folder at the root of the SFTP server."""
    return await directory.org_folder(principal.org_id)


async def list_sftp_campaigns(*, directory: MongoDirectory) -> list[SftpCampaign]:
    """Every organisation's campaigns with SFTP ingestion on (for the sftp service's sweeps)."""
    return await directory.list_sftp_campaigns()


async def ensure_demo_sftp(directory: MongoDirectory, org_id: str, campaign_id: str) -> None:
    """Turns SFTP on for the demo campaign (folder `inbound`), once.

    A campaign that has SFTP settings already (someone changed them) keeps them.
    """
    if await directory.has_sftp_settings(org_id, campaign_id):
        return
    demo = DEMO_SFTP_SETTINGS
    changes = SftpChanges(
        enabled=demo.enabled,
        folder_slug=demo.folder_slug,
        csv=demo.csv,
        batch_window_seconds=demo.batch_window_seconds,
        agent_file_name_pattern=demo.agent_file_name_pattern,
    )
    try:
        await _change_sftp(org_id, campaign_id, changes, directory=directory)
    except GatewayError as error:
        # Another demo campaign took the folder: the demo still runs, without SFTP.
        logger.warning("demo SFTP settings not applied", extra={"reason": error.message})


async def create_agent(
    principal: Principal,
    *,
    name: str,
    code: str,
    campaign_ids: tuple[str, ...],
    directory: MongoDirectory,
) -> Agent:
    """A new agent of the organisation, working on some of its campaigns."""
    await require_campaigns(principal, campaign_ids, directory)
    try:
        return await directory.create_agent(principal.org_id, name, code, campaign_ids)
    except DuplicateKeyError as error:
        raise _code_taken(code) from error


async def list_agents(
    principal: Principal, campaign_id: str | None, *, directory: MongoDirectory
) -> list[Agent]:
    """The organisation's agents, or one campaign's; an API key sees only its campaign's, a
    Manager those working on at least one of their assigned campaigns."""
    if principal.campaign_id is not None:
        if campaign_id is not None and campaign_id != principal.campaign_id:
            raise GatewayError("not_found", f"no campaign with id {campaign_id}")
        campaign_id = principal.campaign_id
    if campaign_id is not None and not principal.sees_campaign(campaign_id):
        raise GatewayError("not_found", f"no campaign with id {campaign_id}")
    agents = await directory.list_agents(principal.org_id, campaign_id)
    return [agent for agent in agents if _sees_agent(principal, agent)]


async def get_agent(principal: Principal, agent_id: str, *, directory: MongoDirectory) -> Agent:
    """An agent of the organisation (for an API key: one working on its campaign)."""
    agent = await directory.get_agent(principal.org_id, agent_id)
    if agent is None or not _sees_agent(principal, agent):
        raise GatewayError("not_found", f"no agent with id {agent_id}")
    return agent


def _sees_agent(principal: Principal, agent: Agent) -> bool:
    """Whether the agent works on a campaign of the principal's scope (any, for org-wide roles;
    an agent on no campaign yet only for them)."""
    if principal.campaign_scope() is None:
        return True
    return any(principal.sees_campaign(campaign_id) for campaign_id in agent.campaign_ids)


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
        await require_campaigns(principal, changes.campaign_ids, directory)
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


async def require_campaigns(
    principal: Principal, campaign_ids: tuple[str, ...], directory: MongoDirectory
) -> None:
    """Every campaign named is one of the principal's organisation (`unknown_campaign`)."""
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
