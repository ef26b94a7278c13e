"""Login sessions: random bearer tokens, kept only as a hash, valid for a fixed time."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

DEFAULT_SESSION_TTL_S = 12 * 3600


@dataclass(frozen=True)
class NewSession:
    """A freshly issued session: the raw token goes to the client once, the hash is stored."""

    token: str
    token_hash: str
    created_at: dt.datetime
    expires_at: dt.datetime


@dataclass(frozen=True)
class Session:
    """A stored session, found by the hash of its token."""

    token_hash: str
    user_id: str
    org_id: str
    created_at: dt.datetime
    expires_at: dt.datetime

    def is_live(self, at: dt.datetime) -> bool:
        """Whether the session may still authenticate requests at this time."""
        return at < self.expires_at


def new_session(now: dt.datetime, ttl_s: int) -> NewSession:
    """A session token carrying 256 random bits, expiring ttl_s seconds from now."""
    token = secrets.token_urlsafe(32)
    # Stored dates keep milliseconds; cut to them so that the answer equals what is kept.
    now = now.replace(microsecond=now.microsecond // 1000 * 1000)
    return NewSession(
        token=token,
        token_hash=hash_session_token(token),
        created_at=now,
        expires_at=now + dt.timedelta(seconds=ttl_s),
    )


def hash_session_token(token: str) -> str:
    """SHA-256 of the token: it is random, so a slow KDF adds nothing (as for API keys)."""
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_token_for(token: str) -> str:
    """The CSRF token of a session: derived from its secret token, so only a page that was
    told it (by login or /auth/me) can send it; a cross-site form never knows it."""
    return hashlib.sha256(b"csrf:" + token.encode()).hexdigest()


def csrf_token_matches(token: str, presented: str | None) -> bool:
    """Whether a request's X-CSRF-Token belongs to its session (constant-time compare)."""
    return presented is not None and secrets.compare_digest(csrf_token_for(token), presented)


def looks_like_session_token(token: str) -> bool:
    """Cheap shape check before any lookup: token_urlsafe(32) gives 43 characters."""
    return 20 <= len(token) <= 200 and token.isascii()
