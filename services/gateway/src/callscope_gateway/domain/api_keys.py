"""API keys: `tv_`-prefixed, 256 random bits, stored only as a hash."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

API_KEY_PREFIX = "tv_"
# Enough of the key to recognise it in a list, never enough to use it.
DISPLAY_PREFIX_LENGTH = len(API_KEY_PREFIX) + 6


@dataclass(frozen=True)
class NewApiKey:
    """A freshly generated key: the raw value is shown once, only the hash is kept."""

    raw: str
    hash: str
    display_prefix: str


@dataclass(frozen=True)
class ApiKeyScope:
    """What a valid key grants: one campaign of one organisation."""

    key_id: str
    org_id: str
    campaign_id: str
    # The key's own requests-per-minute limit; None means the gateway's default.
    rate_limit_per_minute: int | None = None


@dataclass(frozen=True)
class ApiKeyRecord:
    """A key as its campaign's key list shows it: never the hash, never the key."""

    id: str
    org_id: str
    campaign_id: str
    name: str
    display_prefix: str
    rate_limit_per_minute: int | None
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None


def generate_api_key() -> NewApiKey:
    """A new random key."""
    raw = API_KEY_PREFIX + secrets.token_urlsafe(32)
    return NewApiKey(raw=raw, hash=hash_api_key(raw), display_prefix=raw[:DISPLAY_PREFIX_LENGTH])


def hash_api_key(raw: str) -> str:
    """SHA-256 of the key: keys carry 256 random bits, so a slow KDF adds nothing."""
    return hashlib.sha256(raw.encode()).hexdigest()


def looks_like_api_key(raw: str) -> bool:
    """Cheap shape check before any lookup."""
    return raw.startswith(API_KEY_PREFIX) and 10 < len(raw) < 200
