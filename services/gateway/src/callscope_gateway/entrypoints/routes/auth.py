"""Routes of `/api/v1/auth`: log in, log out, and who the session belongs to.

Login answers with the token (for API clients) and also sets it as an HttpOnly, SameSite
cookie (for the web application), together with the session's CSRF token, which the page
sends back in `X-CSRF-Token` on every request that changes something.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from callscope_gateway import access_handlers
from callscope_gateway.domain.access import Permission, Principal
from callscope_gateway.domain.errors import GatewayError
from callscope_gateway.domain.sessions import csrf_token_for
from callscope_gateway.domain.users import MAX_EMAIL_LENGTH, MAX_PASSWORD_LENGTH
from callscope_gateway.entrypoints.access_views import iso_time, user_view
from callscope_gateway.entrypoints.context import Context
from callscope_gateway.entrypoints.errors import error_responses
from callscope_gateway.entrypoints.principal import SESSION_COOKIE, SessionToken
from callscope_gateway.entrypoints.schemas import LoginAnswer, SessionInfo

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


class LoginRequest(BaseModel):
    """Email and password of a user."""

    model_config = ConfigDict(extra="forbid")

    email: str = Field(min_length=1, max_length=MAX_EMAIL_LENGTH)
    password: str = Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)


def _is_tls(request: Request) -> bool:
    """Whether the client reached us over TLS (directly, or through a proxy that says so)."""
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return request.url.scheme == "https" or forwarded == "https"


@router.post(
    "/login",
    response_model=LoginAnswer,
    responses=error_responses("invalid_credentials"),
    openapi_extra={"security": []},
)
async def login(
    body: LoginRequest, request: Request, response: Response, context: Context
) -> dict[str, Any]:
    """Opens a session; send its token as `Authorization: Bearer <token>`, or let the
    browser keep the HttpOnly cookie this sets and send `csrf_token` as `X-CSRF-Token`."""
    result = await access_handlers.login(
        email=body.email,
        password=body.password,
        directory=context.directory,
        sessions=context.sessions,
        policy=context.policy,
        now=dt.datetime.now(dt.UTC),
    )
    response.set_cookie(
        SESSION_COOKIE,
        result.token,
        max_age=context.policy.session_ttl_s,
        path="/",
        httponly=True,
        secure=_is_tls(request),
        samesite="strict",
    )
    return {
        "token": result.token,
        "token_type": "Bearer",
        "expires_at": iso_time(result.expires_at),
        "csrf_token": csrf_token_for(result.token),
        "user": user_view(result.user),
    }


@router.post(
    "/logout",
    status_code=204,
    response_class=Response,
    responses=error_responses("not_authenticated", "csrf_failed"),
)
async def logout(token: SessionToken, context: Context) -> Response:
    """Ends the session; its token answers 401 from then on, and the cookie is cleared."""
    await access_handlers.logout(token, sessions=context.sessions)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return response


@router.get("/me", response_model=SessionInfo, responses=error_responses("not_authenticated"))
async def me(token: SessionToken, context: Context) -> dict[str, Any]:
    """The signed-in user (role as stored now) and when the session expires."""
    found = await access_handlers.session_for_token(
        token, directory=context.directory, sessions=context.sessions, now=dt.datetime.now(dt.UTC)
    )
    if found is None:
        raise GatewayError(
            "not_authenticated", "the session has expired or was ended; log in again"
        )
    session, user = found
    acting = Principal(org_id=user.org_id, role=user.role, user_id=user.id)
    return {
        "user": user_view(user),
        # What the role may do, by permission name: the web application shows what these allow.
        "permissions": sorted(p.name for p in Permission if acting.may(p)),
        "expires_at": iso_time(session.expires_at),
        "csrf_token": csrf_token_for(token),
    }
