"""Use cases of identity and access: logins and sessions, users, API keys and their rate limit."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from dataclasses import dataclass

from pymongo.errors import DuplicateKeyError

from callscope_gateway.adapters.mongo import MongoDirectory
from callscope_gateway.adapters.mongo_rate_limit import MongoRateLimiter
from callscope_gateway.adapters.mongo_sessions import MongoSessionStore
from callscope_gateway.adapters.passwords import (
    dummy_hash,
    hash_password,
    needs_rehash,
    verify_password,
)
from callscope_gateway.domain.access import AccessPolicy, Principal, Role
from callscope_gateway.domain.api_keys import (
    ApiKeyRecord,
    generate_api_key,
    hash_api_key,
    looks_like_api_key,
)
from callscope_gateway.domain.errors import GatewayError
from callscope_gateway.domain.rate_limit import effective_limit
from callscope_gateway.domain.sessions import (
    Session,
    hash_session_token,
    looks_like_session_token,
    new_session,
)
from callscope_gateway.domain.users import User

logger = logging.getLogger(__name__)

_WRONG_LOGIN = "the email or password is wrong; check both and try again"


@dataclass(frozen=True)
class LoginResult:
    """A new session: the raw token (shown once), when it expires, and who logged in."""

    token: str
    expires_at: dt.datetime
    user: User


async def login(
    *,
    email: str,
    password: str,
    directory: MongoDirectory,
    sessions: MongoSessionStore,
    policy: AccessPolicy,
    now: dt.datetime,
) -> LoginResult:
    """Checks the password and opens a session; unknown email and wrong password look alike."""
    found = await directory.find_user_by_email(email)
    # Argon2 costs tens of milliseconds of CPU: off the event loop. An unknown email is
    # checked against a dummy hash, so its answer takes as long as a wrong password's.
    stored_hash = found[1] if found is not None else dummy_hash()
    matches = await asyncio.to_thread(verify_password, stored_hash, password)
    if found is None or not matches:
        raise GatewayError("invalid_credentials", _WRONG_LOGIN)
    user, password_hash = found
    if needs_rehash(password_hash):
        await directory.set_user_password(
            user.email, await asyncio.to_thread(hash_password, password)
        )
    await sessions.purge_expired(now)
    session = new_session(now, policy.session_ttl_s)
    await sessions.store(session, user.id, user.org_id)
    logger.info("user logged in", extra={"user_id": user.id, "org_id": user.org_id})
    return LoginResult(token=session.token, expires_at=session.expires_at, user=user)


async def principal_for_session_token(
    token: str, *, directory: MongoDirectory, sessions: MongoSessionStore, now: dt.datetime
) -> Principal | None:
    """Who a session token acts for, or None when it is unknown or expired.

    The role is read from the user's document on every request, so a changed role
    or a deleted user takes effect at once. The token may come from a header or,
    later, a cookie: this is the one place that turns it into a principal.
    """
    found = await session_for_token(token, directory=directory, sessions=sessions, now=now)
    if found is None:
        return None
    _, user = found
    return Principal(org_id=user.org_id, role=user.role, user_id=user.id)


async def session_for_token(
    token: str, *, directory: MongoDirectory, sessions: MongoSessionStore, now: dt.datetime
) -> tuple[Session, User] | None:
    """A live session and its user as stored now, or None."""
    if not looks_like_session_token(token):
        return None
    session = await sessions.live(hash_session_token(token), now)
    if session is None:
        return None
    user = await directory.get_user(session.user_id)
    if user is None or user.org_id != session.org_id:
        return None
    return session, user


async def logout(token: str, *, sessions: MongoSessionStore) -> None:
    """Ends the session of this token (nothing happens for an unknown token)."""
    await sessions.delete(hash_session_token(token))


async def principal_for_api_key(
    raw: str,
    *,
    directory: MongoDirectory,
    rate_limiter: MongoRateLimiter,
    policy: AccessPolicy,
    now: dt.datetime,
) -> Principal:
    """The principal of a valid key, counted against its rate limit; raises otherwise."""
    scope = (
        await directory.resolve_api_key(hash_api_key(raw), now) if looks_like_api_key(raw) else None
    )
    if scope is None:
        raise GatewayError(
            "invalid_api_key", "send a valid, unrevoked campaign API key in the X-API-Key header"
        )
    limit = effective_limit(scope.rate_limit_per_minute, policy.default_rate_limit_per_minute)
    decision = await rate_limiter.admit(scope.key_id, limit, now)
    if not decision.admitted:
        retry_after = decision.retry_after_s(now)
        raise GatewayError(
            "rate_limited",
            f"this API key may make {limit} requests per minute; try again in {retry_after} s",
            retry_after_s=retry_after,
        )
    return Principal(
        org_id=scope.org_id, role=Role.API_KEY, campaign_id=scope.campaign_id, key_id=scope.key_id
    )


async def create_user(
    principal: Principal, *, email: str, password: str, role: Role, directory: MongoDirectory
) -> User:
    """A new user in the principal's organisation (inputs already validated)."""
    if await directory.find_user_by_email(email) is not None:
        raise _email_taken(email)
    password_hash = await asyncio.to_thread(hash_password, password)
    try:
        user_id = await directory.create_user(principal.org_id, email, password_hash, role.value)
    except DuplicateKeyError as error:
        raise _email_taken(email) from error
    return User(id=user_id, org_id=principal.org_id, email=email, role=role)


def _email_taken(email: str) -> GatewayError:
    return GatewayError(
        "email_taken", f"a user with the email {email} exists already; choose another address"
    )


@dataclass(frozen=True)
class CreatedApiKey:
    """A new key as listed, plus its raw value (returned only in the answer that creates it)."""

    record: ApiKeyRecord
    raw: str


async def create_api_key(
    principal: Principal,
    campaign_id: str,
    *,
    name: str,
    rate_limit_per_minute: int | None,
    directory: MongoDirectory,
) -> CreatedApiKey:
    """Mints a key for one of the organisation's campaigns."""
    await _require_campaign(principal, campaign_id, directory)
    key = generate_api_key()
    key_id = await directory.store_api_key(
        principal.org_id,
        campaign_id,
        key,
        name=name,
        rate_limit_per_minute=rate_limit_per_minute,
    )
    record = await directory.get_api_key(principal.org_id, key_id)
    assert record is not None, "a key just stored is there"
    logger.info(
        "API key created",
        extra={"key_id": key_id, "campaign_id": campaign_id, "user_id": principal.user_id},
    )
    return CreatedApiKey(record=record, raw=key.raw)


async def list_api_keys(
    principal: Principal, campaign_id: str, *, directory: MongoDirectory
) -> list[ApiKeyRecord]:
    """A campaign's keys, revoked ones included."""
    await _require_campaign(principal, campaign_id, directory)
    return await directory.list_api_keys(principal.org_id, campaign_id)


async def revoke_api_key(
    principal: Principal, key_id: str, *, directory: MongoDirectory, now: dt.datetime
) -> None:
    """Revokes a key of the organisation; it answers 401 from then on."""
    if not await directory.revoke_api_key(principal.org_id, key_id, now):
        raise GatewayError("not_found", f"no API key with id {key_id}")
    logger.info("API key revoked", extra={"key_id": key_id, "user_id": principal.user_id})


async def _require_campaign(
    principal: Principal, campaign_id: str, directory: MongoDirectory
) -> None:
    # Another organisation's campaign is reported exactly like one that does not exist.
    if not principal.sees_campaign(campaign_id) or not await directory.existing_campaign_ids(
        principal.org_id, [campaign_id]
    ):
        raise GatewayError("not_found", f"no campaign with id {campaign_id}")
