"""Use cases of identity and access: logins and sessions, users, API keys and their rate limit."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

from pymongo.errors import DuplicateKeyError

from callscope_gateway.adapters.mongo import MongoDirectory, UsersBusyError
from callscope_gateway.adapters.mongo_rate_limit import MongoRateLimiter
from callscope_gateway.adapters.mongo_sessions import MongoSessionStore
from callscope_gateway.adapters.passwords import (
    dummy_hash,
    hash_password,
    needs_rehash,
    verify_password,
)
from callscope_gateway.directory_handlers import require_campaigns
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
from callscope_gateway.domain.users import User, UserChanges, leaves_an_owner

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
    if user.disabled:
        # Said only to someone who knows the password: it tells them whom to ask.
        raise GatewayError(
            "account_disabled", "this account is disabled; ask an owner of your organisation"
        )
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
    return await principal_for_user(user, directory=directory)


async def principal_for_user(user: User, *, directory: MongoDirectory) -> Principal:
    """The principal of a signed-in user, with their scope as stored now.

    A Manager's scope is their assigned campaigns; an Agent's is their agent profile's
    campaigns (read from the agent, so a change of the agent's campaigns counts at once).
    """
    campaign_ids: tuple[str, ...] = user.campaign_ids if user.role is Role.MANAGER else ()
    agent_id = user.agent_id if user.role is Role.AGENT else ""
    if agent_id:
        agent = await directory.get_agent(user.org_id, agent_id)
        if agent is None:
            agent_id = ""
        else:
            campaign_ids = agent.campaign_ids
    return Principal(
        org_id=user.org_id,
        role=user.role,
        user_id=user.id,
        campaign_ids=frozenset(campaign_ids),
        agent_id=agent_id,
        email=user.email,
    )


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
    if user is None or user.org_id != session.org_id or user.disabled:
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
    principal: Principal,
    *,
    email: str,
    password: str,
    role: Role,
    directory: MongoDirectory,
    campaign_ids: tuple[str, ...] = (),
    agent_id: str = "",
) -> User:
    """A new user in the principal's organisation (inputs already validated)."""
    await _require_scope_targets(principal, campaign_ids, agent_id or None, directory)
    if await directory.find_user_by_email(email) is not None:
        raise _email_taken(email)
    password_hash = await asyncio.to_thread(hash_password, password)
    try:
        user_id = await directory.create_user(
            principal.org_id,
            email,
            password_hash,
            role.value,
            campaign_ids=campaign_ids,
            agent_id=agent_id,
        )
    except DuplicateKeyError as error:
        raise _email_taken(email) from error
    user = await directory.get_user(user_id)
    assert user is not None, "a user just stored is there"
    return user


async def list_users(principal: Principal, *, directory: MongoDirectory) -> list[User]:
    """The users of the principal's organisation, oldest first."""
    return await directory.list_users(principal.org_id)


async def update_user(
    principal: Principal,
    user_id: str,
    changes: UserChanges,
    *,
    directory: MongoDirectory,
    sessions: MongoSessionStore,
) -> User:
    """Changes a user's role, scope or disabled flag; the organisation keeps an active owner.

    Disabling ends the user's sessions. Another organisation's user does not exist.
    """
    if changes.is_empty():
        raise GatewayError(
            "invalid_field", "send at least one of role, campaign_ids, agent_id, disabled"
        )
    await _require_scope_targets(principal, changes.campaign_ids or (), changes.agent_id, directory)
    async with _users_of(principal.org_id, directory):
        users = await directory.list_users(principal.org_id)
        user = next((each for each in users if each.id == user_id), None)
        if user is None:
            raise _no_user(user_id)
        changed = changes.applied_to(user)
        if not leaves_an_owner(users, changed, user_id):
            raise _last_owner("demoted or disabled")
        fields: dict[str, object] = {}
        if changes.role is not None:
            fields["role"] = changes.role.value
        if changes.campaign_ids is not None:
            fields["campaign_ids"] = changes.campaign_ids
        if changes.agent_id is not None:
            fields["agent_id"] = changes.agent_id
        if changes.disabled is not None:
            fields["disabled"] = changes.disabled
        if not await directory.update_user(principal.org_id, user_id, fields):
            raise _no_user(user_id)
    if changed.disabled:
        await sessions.delete_for_user(user_id)
    logger.info(
        "user changed",
        extra={"target_user_id": user_id, "user_id": principal.actor, "fields": sorted(fields)},
    )
    return changed


async def delete_user(
    principal: Principal,
    user_id: str,
    *,
    directory: MongoDirectory,
    sessions: MongoSessionStore,
) -> User:
    """Deletes a user and ends their sessions; the organisation keeps an active owner."""
    async with _users_of(principal.org_id, directory):
        users = await directory.list_users(principal.org_id)
        user = next((each for each in users if each.id == user_id), None)
        if user is None:
            raise _no_user(user_id)
        if not leaves_an_owner(users, None, user_id):
            raise _last_owner("deleted")
        if not await directory.delete_user(principal.org_id, user_id):
            raise _no_user(user_id)
    await sessions.delete_for_user(user_id)
    logger.info("user deleted", extra={"target_user_id": user_id, "user_id": principal.actor})
    return user


@contextlib.asynccontextmanager
async def _users_of(org_id: str, directory: MongoDirectory) -> AsyncIterator[None]:
    try:
        async with directory.editing_users(org_id):
            yield
    except UsersBusyError as error:
        raise GatewayError(
            "conflict", "someone else is changing your organisation's users; try again"
        ) from error


async def _require_scope_targets(
    principal: Principal,
    campaign_ids: tuple[str, ...],
    agent_id: str | None,
    directory: MongoDirectory,
) -> None:
    """Every campaign is the organisation's; the agent (when one is named) too."""
    await require_campaigns(principal, campaign_ids, directory)
    if agent_id and await directory.get_agent(principal.org_id, agent_id) is None:
        raise GatewayError(
            "unknown_agent",
            f"agent_id: no agent with id {agent_id} in your organisation; "
            "create it under /api/v1/agents first",
        )


def _no_user(user_id: str) -> GatewayError:
    return GatewayError("not_found", f"no user with id {user_id}")


def _last_owner(what: str) -> GatewayError:
    return GatewayError(
        "last_owner",
        f"the organisation's last active owner cannot be {what}; make another user an owner first",
    )


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
