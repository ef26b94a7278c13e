"""Authentication of a request: who is asking, as a route dependency.

Three ways in: a campaign API key in `X-API-Key` (counted against its rate limit), a login
session's token in `Authorization: Bearer <token>`, or the same token in the web
application's HttpOnly session cookie. A cookie is sent by the browser on its own, so a
cookie-authenticated request that changes anything must also carry the session's CSRF token
in `X-CSRF-Token` (see domain/sessions.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Header, Request

from callscope_gateway import access_handlers
from callscope_gateway.domain.access import Permission, Principal
from callscope_gateway.domain.errors import GatewayError
from callscope_gateway.domain.sessions import csrf_token_matches
from callscope_gateway.entrypoints.audit import remember_principal
from callscope_gateway.entrypoints.context import Context

SESSION_COOKIE = "callscope_session"
CSRF_HEADER = "X-CSRF-Token"
# Methods that only read: a cookie alone is enough for them.
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

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


def cookie_token(request: Request) -> str | None:
    """The session token of the web application's cookie, after the CSRF check.

    None when there is no cookie; `forbidden` when the request changes something without
    the session's CSRF token.
    """
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    if request.method not in _SAFE_METHODS and not csrf_token_matches(
        token, request.headers.get(CSRF_HEADER)
    ):
        raise GatewayError(
            "csrf_failed",
            f"this request needs the session's {CSRF_HEADER} header; reload the page and retry",
        )
    return token


async def _principal(
    request: Request,
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
    token = bearer_token(authorization) or cookie_token(request)
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


async def _remembered_principal(
    request: Request, principal: Annotated[Principal, Depends(_principal)]
) -> Principal:
    # The audit hook records who acted from here (entrypoints/audit.py).
    remember_principal(request.scope.setdefault("state", {}), principal)
    return principal


CurrentPrincipal = Annotated[Principal, Depends(_remembered_principal)]


async def _session_token(
    request: Request,
    authorization: Annotated[str | None, Header()] = None,
) -> str:
    token = bearer_token(authorization) or cookie_token(request)
    if token is None:
        raise GatewayError(
            "not_authenticated",
            "log in: send the token from POST /api/v1/auth/login as a Bearer token",
        )
    return token


# The raw token of a Bearer- or cookie-authenticated request (logout and "who am I" need it).
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
