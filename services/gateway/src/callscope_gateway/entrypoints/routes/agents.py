"""Routes of `/api/v1/agents`: the people who take calls, with codes calls link by."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field, field_validator

from callscope_gateway import directory_handlers
from callscope_gateway.directory_handlers import AgentChanges
from callscope_gateway.domain.access import Permission, Principal
from callscope_gateway.domain.agents import (
    unique_campaign_ids,
    validate_agent_code,
    validate_agent_name,
)
from callscope_gateway.entrypoints.access_views import agent_view
from callscope_gateway.entrypoints.context import Context
from callscope_gateway.entrypoints.errors import AUTH_ERRORS, error_responses
from callscope_gateway.entrypoints.principal import allowed
from callscope_gateway.entrypoints.schemas import Agent, AgentList

Viewer = Annotated[Principal, Depends(allowed(Permission.VIEW_AGENTS))]
AgentManager = Annotated[Principal, Depends(allowed(Permission.MANAGE_AGENTS))]

# More campaigns than any organisation runs; a bound keeps one request small.
MAX_CAMPAIGNS_PER_AGENT = 500

router = APIRouter(prefix="/api/v1/agents", tags=["agents"])

_ERRORS = (*AUTH_ERRORS, "invalid_request")


class NewAgent(BaseModel):
    """A display name, a code unique in the organisation, and the agent's campaigns."""

    model_config = ConfigDict(extra="forbid")

    name: str
    code: str
    campaign_ids: list[str] = Field(default_factory=list, max_length=MAX_CAMPAIGNS_PER_AGENT)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return validate_agent_name(value)

    @field_validator("code")
    @classmethod
    def _code(cls, value: str) -> str:
        return validate_agent_code(value)


class AgentChange(BaseModel):
    """Fields to change; fields left out stay as they are."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    code: str | None = None
    campaign_ids: list[str] | None = Field(default=None, max_length=MAX_CAMPAIGNS_PER_AGENT)

    @field_validator("name", "code", "campaign_ids", mode="before")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("may not be null; leave the field out to keep its value")
        return value

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return validate_agent_name(value)

    @field_validator("code")
    @classmethod
    def _code(cls, value: str) -> str:
        return validate_agent_code(value)


@router.post(
    "",
    status_code=201,
    response_model=Agent,
    responses=error_responses(*_ERRORS, "unknown_campaign", "agent_code_taken"),
)
async def create_agent(body: NewAgent, principal: AgentManager, context: Context) -> dict[str, Any]:
    """Creates an agent; 409 when the code (in any case) exists in the organisation."""
    agent = await directory_handlers.create_agent(
        principal,
        name=body.name,
        code=body.code,
        campaign_ids=unique_campaign_ids(body.campaign_ids),
        directory=context.directory,
    )
    return agent_view(agent)


@router.get("", response_model=AgentList, responses=error_responses(*_ERRORS, "not_found"))
async def list_agents(
    principal: Viewer, context: Context, campaign_id: str | None = None
) -> dict[str, Any]:
    """The organisation's agents by code, or those working on one campaign."""
    agents = await directory_handlers.list_agents(
        principal, campaign_id or None, directory=context.directory
    )
    return {"agents": [agent_view(agent) for agent in agents]}


@router.get("/{agent_id}", response_model=Agent, responses=error_responses(*_ERRORS, "not_found"))
async def get_agent(agent_id: str, principal: Viewer, context: Context) -> dict[str, Any]:
    """One agent of the organisation."""
    agent = await directory_handlers.get_agent(principal, agent_id, directory=context.directory)
    return agent_view(agent)


@router.patch(
    "/{agent_id}",
    response_model=Agent,
    responses=error_responses(
        *_ERRORS, "not_found", "invalid_field", "unknown_campaign", "agent_code_taken"
    ),
)
async def update_agent(
    agent_id: str, body: AgentChange, principal: AgentManager, context: Context
) -> dict[str, Any]:
    """Renames an agent, changes its code or its campaigns."""
    changes = AgentChanges(
        name=body.name,
        code=body.code,
        campaign_ids=(
            unique_campaign_ids(body.campaign_ids) if body.campaign_ids is not None else None
        ),
    )
    agent = await directory_handlers.update_agent(
        principal, agent_id, changes, directory=context.directory
    )
    return agent_view(agent)
