"""Users of an organisation: who may be created, with which login and role."""

from __future__ import annotations

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
