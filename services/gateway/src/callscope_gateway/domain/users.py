"""Users of an organisation: who may be created, with which login and role."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from callscope_gateway.domain.access import Role

MIN_PASSWORD_LENGTH = 12
# Argon2 hashes any length; a cap keeps one request from costing a lot of CPU.
MAX_PASSWORD_LENGTH = 1024
MAX_EMAIL_LENGTH = 254
# One '@', something on each side, a dot in the domain, no spaces: the shape of an
# address, not proof that it exists (nothing is sent to it).
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
USER_ROLES = frozenset(role for role in Role if role is not Role.API_KEY)


@dataclass(frozen=True)
class User:
    """A person who logs in; emails are unique across organisations (they are the login)."""

    id: str
    org_id: str
    email: str
    role: Role
    # A Manager's assigned campaigns (kept, but unused, under other roles).
    campaign_ids: tuple[str, ...] = ()
    # The agent profile an Agent is (kept, but unused, under other roles).
    agent_id: str = ""
    # A disabled user cannot log in, and their sessions are refused.
    disabled: bool = False
    created_at: dt.datetime | None = None


def normalise_email(email: str) -> str:
    """The address as stored and compared: trimmed and lower-cased."""
    return email.strip().lower()


def validate_email(email: str) -> str:
    """The normalised address, or ValueError."""
    normalised = normalise_email(email)
    if len(normalised) > MAX_EMAIL_LENGTH or not _EMAIL.fullmatch(normalised):
        raise ValueError("give an email address such as name@example.com")
    return normalised


def validate_password(password: str) -> str:
    """The password when it is long enough, or ValueError."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"a password has at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ValueError(f"a password has at most {MAX_PASSWORD_LENGTH} characters")
    return password


def validate_user_role(role: str) -> Role:
    """One of the five user roles, or ValueError (API_KEY is not a role a person can have)."""
    try:
        parsed = Role(role)
    except ValueError:
        parsed = None
    if parsed is None or parsed not in USER_ROLES:
        names = ", ".join(sorted(r.value for r in USER_ROLES))
        raise ValueError(f"role is one of {names}")
    return parsed


@dataclass(frozen=True)
class UserChanges:
    """An owner's change of a user; None leaves a field as it is ("" agent_id unlinks)."""

    role: Role | None = None
    campaign_ids: tuple[str, ...] | None = None
    agent_id: str | None = None
    disabled: bool | None = None

    def is_empty(self) -> bool:
        """Whether nothing would change."""
        return all(
            value is None for value in (self.role, self.campaign_ids, self.agent_id, self.disabled)
        )

    def applied_to(self, user: User) -> User:
        """The user as they will be after the change."""
        return User(
            id=user.id,
            org_id=user.org_id,
            email=user.email,
            role=self.role if self.role is not None else user.role,
            campaign_ids=self.campaign_ids if self.campaign_ids is not None else user.campaign_ids,
            agent_id=self.agent_id if self.agent_id is not None else user.agent_id,
            disabled=self.disabled if self.disabled is not None else user.disabled,
            created_at=user.created_at,
        )


def is_active_owner(user: User) -> bool:
    """Whether the user is an owner who can still sign in."""
    return user.role is Role.OWNER and not user.disabled


def leaves_an_owner(users: list[User], changed: User | None, user_id: str) -> bool:
    """Whether the organisation still has an active owner once user_id becomes `changed`
    (None: is deleted). An organisation must always keep one who can manage its users."""
    after = [changed if user.id == user_id else user for user in users]
    return any(user is not None and is_active_owner(user) for user in after)
