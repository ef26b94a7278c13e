"""Routes of `/api/v1/users`: an owner adds, lists, changes and removes the organisation's people.

A Manager sees the campaigns in their `campaign_ids`; an Agent sees the calls linked to
the agent profile in their `agent_id` (see domain/access.py). Both are kept under other
roles, unused, so that switching a role back restores them.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator

from callscope_gateway import access_handlers
from callscope_gateway.domain.access import Permission, Principal, Role
from callscope_gateway.domain.agents import unique_campaign_ids
from callscope_gateway.domain.users import (
    User,
    UserChanges,
    validate_email,
    validate_password,
    validate_user_role,
)
from callscope_gateway.entrypoints.access_views import iso_time
from callscope_gateway.entrypoints.audit import note_summary
from callscope_gateway.entrypoints.context import Context
from callscope_gateway.entrypoints.errors import COMMON_ERRORS, error_responses
from callscope_gateway.entrypoints.principal import allowed

UserManager = Annotated[Principal, Depends(allowed(Permission.MANAGE_USERS))]

# More campaigns than any organisation runs; a bound keeps one request small.
MAX_CAMPAIGNS_PER_USER = 500

router = APIRouter(prefix="/api/v1/users", tags=["users"])


class UserOut(BaseModel):
    """A user as the owner's users screen shows them (never any password material)."""

    id: str
    org_id: str
    email: str
    role: str
    # A Manager's assigned campaigns.
    campaign_ids: list[str]
    # The agent profile an Agent is; null when none.
    agent_id: str | None
    disabled: bool
    created_at: str | None


class UserList(BaseModel):
    """The organisation's users, oldest first."""

    users: list[UserOut]


def user_out(user: User) -> UserOut:
    """The API shape of a user."""
    return UserOut(
        id=user.id,
        org_id=user.org_id,
        email=user.email,
        role=user.role.value,
        campaign_ids=list(user.campaign_ids),
        agent_id=user.agent_id or None,
        disabled=user.disabled,
        created_at=iso_time(user.created_at),
    )


class NewUser(BaseModel):
    """A login (email, password of at least 12 characters), one of the five roles, and
    optionally a Manager's campaigns or an Agent's agent profile."""

    model_config = ConfigDict(extra="forbid")

    email: str
    password: str
    role: str
    campaign_ids: list[str] = Field(default_factory=list, max_length=MAX_CAMPAIGNS_PER_USER)
    agent_id: str | None = Field(default=None, max_length=64)

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        return validate_email(value)

    @field_validator("password")
    @classmethod
    def _password(cls, value: str) -> str:
        return validate_password(value)

    @field_validator("role")
    @classmethod
    def _role(cls, value: str) -> str:
        return validate_user_role(value).value


class UserChange(BaseModel):
    """Fields to change; fields left out stay as they are. agent_id null or "" unlinks."""

    model_config = ConfigDict(extra="forbid")

    role: str | None = None
    campaign_ids: list[str] | None = Field(default=None, max_length=MAX_CAMPAIGNS_PER_USER)
    agent_id: str | None = Field(default=None, max_length=64)
    disabled: StrictBool | None = None

    @field_validator("role", "campaign_ids", "disabled", mode="before")
    @classmethod
    def _not_null(cls, value: object) -> object:
        # Only fields that were sent reach this: null is a mistake, not "keep it".
        if value is None:
            raise ValueError("may not be null; leave the field out to keep its value")
        return value

    @field_validator("role")
    @classmethod
    def _role(cls, value: str) -> str:
        return validate_user_role(value).value

    def changes(self) -> UserChanges:
        """The change to apply."""
        return UserChanges(
            role=Role(self.role) if self.role is not None else None,
            campaign_ids=(
                unique_campaign_ids(self.campaign_ids) if self.campaign_ids is not None else None
            ),
            agent_id=(self.agent_id or "") if "agent_id" in self.model_fields_set else None,
            disabled=self.disabled,
        )


@router.post(
    "",
    status_code=201,
    response_model=UserOut,
    responses=error_responses(
        *COMMON_ERRORS, "email_taken", "unknown_campaign", "unknown_agent", "invalid_field"
    ),
)
async def create_user(body: NewUser, principal: UserManager, context: Context) -> UserOut:
    """Creates a user in the owner's organisation; 409 when the email is taken."""
    user = await access_handlers.create_user(
        principal,
        email=body.email,
        password=body.password,
        role=Role(body.role),
        campaign_ids=unique_campaign_ids(body.campaign_ids),
        agent_id=body.agent_id or "",
        directory=context.directory,
    )
    note_summary(role=user.role.value)
    return user_out(user)


@router.get("", response_model=UserList, responses=error_responses(*COMMON_ERRORS))
async def list_users(principal: UserManager, context: Context) -> UserList:
    """The organisation's users, disabled ones included, oldest first."""
    users = await access_handlers.list_users(principal, directory=context.directory)
    return UserList(users=[user_out(user) for user in users])


@router.patch(
    "/{user_id}",
    response_model=UserOut,
    responses=error_responses(
        *COMMON_ERRORS,
        "not_found",
        "last_owner",
        "unknown_campaign",
        "unknown_agent",
        "invalid_field",
        "conflict",
    ),
)
async def update_user(
    user_id: str, body: UserChange, principal: UserManager, context: Context
) -> UserOut:
    """Changes a user's role, campaigns, agent profile or disabled flag; it counts from the
    user's next request. Disabling ends their sessions. 409 `last_owner` when the
    organisation would be left without an active owner."""
    changes = body.changes()
    user = await access_handlers.update_user(
        principal, user_id, changes, directory=context.directory, sessions=context.sessions
    )
    note_summary(
        **{
            name: value
            for name, value in (
                ("role", changes.role.value if changes.role else None),
                ("disabled", changes.disabled),
            )
            if value is not None
        }
    )
    return user_out(user)


@router.delete(
    "/{user_id}",
    status_code=204,
    response_class=Response,
    responses=error_responses(*COMMON_ERRORS, "not_found", "last_owner", "conflict"),
)
async def delete_user(user_id: str, principal: UserManager, context: Context) -> Response:
    """Deletes a user and ends their sessions; their past actions stay in the audit log.
    409 `last_owner` for the organisation's last active owner."""
    user = await access_handlers.delete_user(
        principal, user_id, directory=context.directory, sessions=context.sessions
    )
    note_summary(email=user.email, role=user.role.value)
    return Response(status_code=204)
