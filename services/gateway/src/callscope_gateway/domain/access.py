"""Who may do what: the product guide's role table, owned here once.

A request acts as a `Principal`: a signed-in user of an organisation (with a role),
or a campaign API key. An API key acts for its one campaign with the rights an
integration needs (upload, read, reprocess, manage its calls), never more.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


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
    MANAGE_USERS = "create users"


_STAFF = frozenset({Role.MANAGER, Role.COMPLIANCE_OFFICER, Role.SENIOR_MANAGER, Role.OWNER})
_SENIOR = frozenset({Role.SENIOR_MANAGER, Role.OWNER})

_GRANTED: dict[Permission, frozenset[Role]] = {
    Permission.VIEW_CALLS: _STAFF | {Role.API_KEY},
    Permission.UPLOAD_CALLS: _STAFF | {Role.API_KEY},
    Permission.MANAGE_CALLS: _STAFF | {Role.API_KEY},
    Permission.MANAGE_API_KEYS: _SENIOR,
    Permission.CONFIGURE_CAMPAIGNS: _SENIOR,
    Permission.CONFIGURE_SFTP: _SENIOR,
    Permission.MANAGE_AGENTS: _SENIOR,
    # Every user sees the campaigns of the organisation (agents need to know theirs);
    # an API key sees only its own campaign (`sees_campaign`).
    Permission.VIEW_CAMPAIGNS: _STAFF | {Role.AGENT, Role.API_KEY},
    # Integrations read agent codes to send with uploads; agents see their own calls only.
    Permission.VIEW_AGENTS: _STAFF | {Role.API_KEY},
    Permission.MANAGE_USERS: frozenset({Role.OWNER}),
}


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

    @property
    def actor(self) -> str:
        """Who asked, as recorded on what a request makes: the user's id, or `api_key:<id>`."""
        return self.user_id or f"api_key:{self.key_id}"

    def may(self, permission: Permission) -> bool:
        """Whether the role table grants this permission."""
        return self.role in _GRANTED[permission]

    def sees_campaign(self, campaign_id: str) -> bool:
        """Whether this principal may touch the campaign (its org is checked by every lookup)."""
        return self.campaign_id is None or self.campaign_id == campaign_id
