"""Who may do what: the product guide's role table, owned here once.

A request acts as a `Principal`: a signed-in user of an organisation (with a role),
or a campaign API key. An API key acts for its one campaign with the rights an
integration needs (upload, read, reprocess, manage its calls), never more.

What a principal may do is the role table (`may`); which campaigns and calls it may do
it to is its scope (`sees_campaign`, `sees_call`), the same for every route:

| role | campaigns | calls |
|---|---|---|
| Owner, Senior Manager, Compliance Officer | every campaign of the org | every call |
| Manager | the campaigns assigned to them (none assigned: none) | those campaigns' calls |
| Agent | the campaigns of the agent profile they are linked to | calls linked to that agent |
| API key | its one campaign | that campaign's calls |
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class Role(StrEnum):
    """The guide's five user roles, plus the role an API key acts with."""

    AGENT = "AGENT"
    MANAGER = "MANAGER"
    COMPLIANCE_OFFICER = "COMPLIANCE_OFFICER"
    SENIOR_MANAGER = "SENIOR_MANAGER"
    OWNER = "OWNER"
    API_KEY = "API_KEY"


class Permission(StrEnum):
    """Actions the role table decides."""

    VIEW_CALLS = "view calls"
    UPLOAD_CALLS = "upload calls"
    MANAGE_CALLS = "edit, link, reprocess and delete calls"
    MANAGE_API_KEYS = "manage API keys"
    CONFIGURE_CAMPAIGNS = "change campaign settings"
    # The guide's "Configure SFTP" row: a campaign's SFTP settings and the sweepers' status.
    CONFIGURE_SFTP = "configure SFTP ingestion"
    MANAGE_AGENTS = "manage agents"
    VIEW_CAMPAIGNS = "view campaigns and their settings"
    VIEW_AGENTS = "view agents"
    MANAGE_USERS = "manage users and their roles"
    # Jobs (multi-file and bulk uploads) and SFTP batches: many people's calls on their way in.
    VIEW_UPLOADS = "view upload jobs and SFTP batches"
    READ_AUDIT_LOG = "read the audit log"
    # The review queue: override a check's answer, mark a call reviewed.
    REVIEW_CALLS = "review calls (override answers, mark reviewed)"


_STAFF = frozenset({Role.MANAGER, Role.COMPLIANCE_OFFICER, Role.SENIOR_MANAGER, Role.OWNER})
_SENIOR = frozenset({Role.SENIOR_MANAGER, Role.OWNER})

_GRANTED: dict[Permission, frozenset[Role]] = {
    # An agent sees their own calls only (`sees_call`): detail, transcript, analyses.
    Permission.VIEW_CALLS: _STAFF | {Role.AGENT, Role.API_KEY},
    Permission.VIEW_UPLOADS: _STAFF | {Role.API_KEY},
    Permission.UPLOAD_CALLS: _STAFF | {Role.API_KEY},
    Permission.MANAGE_CALLS: _STAFF | {Role.API_KEY},
    Permission.MANAGE_API_KEYS: _SENIOR,
    Permission.CONFIGURE_CAMPAIGNS: _SENIOR,
    Permission.CONFIGURE_SFTP: _SENIOR,
    Permission.MANAGE_AGENTS: _SENIOR,
    # Every role sees the campaigns of its scope (`sees_campaign`): agents need to know theirs.
    Permission.VIEW_CAMPAIGNS: _STAFF | {Role.AGENT, Role.API_KEY},
    # Integrations read agent codes to send with uploads; agents see their own calls only.
    Permission.VIEW_AGENTS: _STAFF | {Role.API_KEY},
    Permission.MANAGE_USERS: frozenset({Role.OWNER}),
    Permission.READ_AUDIT_LOG: frozenset({Role.OWNER, Role.COMPLIANCE_OFFICER}),
    # People review calls; an integration (API key) and the agent whose call it is do not.
    Permission.REVIEW_CALLS: _STAFF,
}

# Roles whose scope is the whole organisation.
_ORG_WIDE = frozenset({Role.COMPLIANCE_OFFICER, Role.SENIOR_MANAGER, Role.OWNER})


class AgentLinkLike(Protocol):
    """The agent a call is linked to (empty id: none)."""

    @property
    def agent_id(self) -> str:
        """The linked agent's id."""
        ...


class CallLike(Protocol):
    """What scope needs of a call: its campaign and its linked agent (ingest's `Call`)."""

    @property
    def campaign_id(self) -> str:
        """The call's campaign."""
        ...

    @property
    def agent(self) -> AgentLinkLike:
        """The call's agent link."""
        ...


@dataclass(frozen=True)
class CallScope:
    """The calls a principal may list: None campaign_ids is every campaign of the org."""

    campaign_ids: frozenset[str] | None
    # Set: only calls linked to this agent.
    agent_id: str | None = None

    @property
    def sees_nothing(self) -> bool:
        """Whether no call at all is in scope (a Manager without campaigns, an unlinked Agent)."""
        return (self.campaign_ids is not None and not self.campaign_ids) or self.agent_id == ""


@dataclass(frozen=True)
class AccessPolicy:
    """The configurable parts of authentication: session lifetime and the default key limit."""

    session_ttl_s: int = 12 * 3600
    default_rate_limit_per_minute: int = 600


@dataclass(frozen=True)
class Principal:
    """Who is asking: always one organisation; an API key also pins one campaign."""

    org_id: str
    role: Role
    # Set for an API key: the only campaign it may touch.
    campaign_id: str | None = None
    user_id: str = ""
    key_id: str = ""
    # A Manager's assigned campaigns; an Agent's agent profile's campaigns (read per request).
    campaign_ids: frozenset[str] = frozenset()
    # An Agent's agent profile ("" for an Agent not linked to one: they see no calls).
    agent_id: str = ""
    # The user's email, for the audit log ("" for an API key).
    email: str = ""

    @property
    def actor(self) -> str:
        """Who asked, as recorded on what a request makes: the user's id, or `api_key:<id>`."""
        return self.user_id or f"api_key:{self.key_id}"

    def may(self, permission: Permission) -> bool:
        """Whether the role table grants this permission."""
        return self.role in _GRANTED[permission]

    def campaign_scope(self) -> frozenset[str] | None:
        """The campaigns this principal may touch; None: every campaign of its organisation."""
        if self.campaign_id is not None:
            return frozenset({self.campaign_id})
        if self.role in _ORG_WIDE:
            return None
        return self.campaign_ids

    def sees_campaign(self, campaign_id: str) -> bool:
        """Whether this principal may touch the campaign (its org is checked by every lookup)."""
        scope = self.campaign_scope()
        return scope is None or campaign_id in scope

    def sees_call(self, call: CallLike) -> bool:
        """Whether this principal may see the call: its campaign, and for an Agent their own."""
        if not self.sees_campaign(call.campaign_id):
            return False
        return self.role is not Role.AGENT or bool(
            self.agent_id and call.agent.agent_id == self.agent_id
        )

    def call_scope(self) -> CallScope:
        """The calls this principal may list, as filters every call query must add."""
        agent_id = self.agent_id if self.role is Role.AGENT else None
        return CallScope(campaign_ids=self.campaign_scope(), agent_id=agent_id)
