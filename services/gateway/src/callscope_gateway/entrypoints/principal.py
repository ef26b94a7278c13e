"""Authentication of a request: who is asking, as a route dependency."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Header

from callscope_gateway import handlers
from callscope_gateway.domain.access import Permission, Principal, Role
from callscope_gateway.domain.errors import GatewayError
from callscope_gateway.entrypoints.context import Context


async def _principal(
    context: Context, x_api_key: Annotated[str | None, Header()] = None
) -> Principal:
    if x_api_key is not None:
        scope = await handlers.resolve_api_key(x_api_key, context.directory)
        if scope is None:
            raise GatewayError(
                "invalid_api_key",
                "send a valid, unrevoked campaign API key in the X-API-Key header",
            )
        return Principal(
            org_id=scope.org_id,
            role=Role.API_KEY,
            campaign_id=scope.campaign_id,
            key_id=scope.key_id,
        )
    raise GatewayError("not_authenticated", "send a campaign API key in the X-API-Key header")


CurrentPrincipal = Annotated[Principal, Depends(_principal)]


def allowed(permission: Permission) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency that lets the request through only if its principal has the permission."""

    async def check(principal: CurrentPrincipal) -> Principal:
        if not principal.may(permission):
            raise GatewayError("forbidden", f"your role may not {permission.value}")
        return principal

    return check
