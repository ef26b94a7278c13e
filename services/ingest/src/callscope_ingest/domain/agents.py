"""Agents as ingest sees them (the gateway's directory owns them) and how a call links to one."""

from __future__ import annotations

from dataclasses import dataclass

from callscope_ingest.domain.agent_codes import agent_code_from_file_name
from callscope_ingest.domain.calls import AgentLink, AgentLinkMethod
from callscope_ingest.domain.metadata import CallMetadata


@dataclass(frozen=True)
class Agent:
    """A directory agent: codes are unique per organisation, matched case-insensitively."""

    id: str
    name: str
    code: str
    campaign_ids: tuple[str, ...]


@dataclass(frozen=True)
class AgentCodeLookup:
    """Which code to look up for a call, and how the link would have been made."""

    code: str
    method: AgentLinkMethod


def code_to_look_up(metadata: CallMetadata, file_name: str) -> AgentCodeLookup | None:
    """The metadata's agent code when given, else a code in the file name, else None."""
    given = metadata.agent_code.strip()
    if given:
        return AgentCodeLookup(given, AgentLinkMethod.METADATA)
    found = agent_code_from_file_name(file_name)
    return AgentCodeLookup(found, AgentLinkMethod.FILE_NAME) if found else None


def link_to(agent: Agent, method: AgentLinkMethod) -> AgentLink:
    """The link a call keeps: the agent's id with its code and name as they are now."""
    return AgentLink(agent_id=agent.id, code=agent.code, name=agent.name, method=method)
