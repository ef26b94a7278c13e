"""Authentication of a request: who is asking, as a route dependency.

Two ways in: a campaign API key in `X-API-Key` (counted against its rate limit), or
a login session's token in `Authorization: Bearer <token>`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Header

from callscope_gateway import access_handlers
from callscope_gateway.domain.access import Permission, Principal
from callscope_gateway.domain.errors import GatewayError
from callscope_gateway.entrypoints.context import Context

_SIGN_IN = (
    "send a campaign API key in the X-API-Key header, or the token from "
    "POST /api/v1/auth/login as 'Authorization: Bearer <token>'"
)


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header; None when there is no header."""
    if authorization is None:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise GatewayError("not_authenticated", f"unsupported Authorization header; {_SIGN_IN}")
    return token.strip()


async def _principal(
    context: Context,
    x_api_key: Annotated[str | None, Header()] = None,
    authorization: Annotated[str | None, Header()] = None,
) -> Principal:
    now = dt.datetime.now(dt.UTC)
    if x_api_key is not None and authorization is not None:
        raise GatewayError("invalid_request", "send either X-API-Key or Authorization, not both")
    if x_api_key is not None:
        return await access_handlers.principal_for_api_key(
            x_api_key,
            directory=context.directory,
            rate_limiter=context.rate_limiter,
            policy=context.policy,
            now=now,
        )
    token = bearer_token(authorization)
    if token is None:
        raise GatewayError("not_authenticated", _SIGN_IN)
    principal = await access_handlers.principal_for_session_token(
        token, directory=context.directory, sessions=context.sessions, now=now
    )
    if principal is None:
        raise GatewayError(
            "not_authenticated", "the session has expired or was ended; log in again"
        )
    return principal


CurrentPrincipal = Annotated[Principal, Depends(_principal)]


async def _session_token(
    authorization: Annotated[str | None, Header()] = None,
) -> str:
    token = bearer_token(authorization)
    if token is None:
        raise GatewayError(
            "not_authenticated", "send the token from POST /api/v1/auth/login as a Bearer token"
        )
    return token


# The raw token of a Bearer-authenticated request (logout and "who am I" need the session).
SessionToken = Annotated[str, Depends(_session_token)]


def allowed(
    permission: Permission, *alternatives: Permission
) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency that lets the request through only if its principal has the permission
    (or one of the alternatives: the handler then checks what the request asks for)."""
    permissions = (permission, *alternatives)

    async def check(principal: CurrentPrincipal) -> Principal:
        if not any(principal.may(each) for each in permissions):
            raise GatewayError(
                "forbidden", f"your role may not {' or '.join(p.value for p in permissions)}"
            )
        return principal

    return check
