"""Routes of campaign API keys: mint (the raw key is shown once), list, revoke."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Response
from pydantic import BaseModel, ConfigDict, Field

from callscope_gateway import access_handlers
from callscope_gateway.domain.access import Permission, Principal
from callscope_gateway.domain.rate_limit import MAX_RATE_LIMIT_PER_MINUTE, MIN_RATE_LIMIT_PER_MINUTE
from callscope_gateway.entrypoints.access_views import api_key_view
from callscope_gateway.entrypoints.context import Context
from callscope_gateway.entrypoints.errors import AUTH_ERRORS, error_responses
from callscope_gateway.entrypoints.principal import allowed
from callscope_gateway.entrypoints.schemas import ApiKeyList, NewApiKey

KeyManager = Annotated[Principal, Depends(allowed(Permission.MANAGE_API_KEYS))]

router = APIRouter(prefix="/api/v1", tags=["api keys"])

_ERRORS = error_responses(*AUTH_ERRORS, "invalid_request", "not_found")


class NewApiKeyRequest(BaseModel):
    """An optional label and an optional requests-per-minute limit of the key's own."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(default="", max_length=200)
    rate_limit_per_minute: int | None = Field(
        default=None, ge=MIN_RATE_LIMIT_PER_MINUTE, le=MAX_RATE_LIMIT_PER_MINUTE, strict=True
    )


@router.post(
    "/campaigns/{campaign_id}/api-keys",
    status_code=201,
    response_model=NewApiKey,
    responses=_ERRORS,
)
async def create_api_key(
    campaign_id: str,
    principal: KeyManager,
    context: Context,
    body: Annotated[NewApiKeyRequest | None, Body()] = None,
) -> dict[str, Any]:
    """Mints a key for the campaign; `key` is in this answer only, store it now."""
    request = body or NewApiKeyRequest()
    created = await access_handlers.create_api_key(
        principal,
        campaign_id,
        name=request.name.strip(),
        rate_limit_per_minute=request.rate_limit_per_minute,
        directory=context.directory,
    )
    view = api_key_view(created.record)
    return {
        "id": view["id"],
        "key": created.raw,
        "display_prefix": view["display_prefix"],
        "name": view["name"],
        "campaign_id": view["campaign_id"],
        "created_at": view["created_at"],
        "rate_limit_per_minute": view["rate_limit_per_minute"],
    }


@router.get("/campaigns/{campaign_id}/api-keys", response_model=ApiKeyList, responses=_ERRORS)
async def list_api_keys(
    campaign_id: str, principal: KeyManager, context: Context
) -> dict[str, Any]:
    """The campaign's keys (revoked ones too), without their secret values."""
    keys = await access_handlers.list_api_keys(principal, campaign_id, directory=context.directory)
    return {"api_keys": [api_key_view(key) for key in keys]}


@router.delete("/api-keys/{key_id}", status_code=204, response_class=Response, responses=_ERRORS)
async def revoke_api_key(key_id: str, principal: KeyManager, context: Context) -> Response:
    """Revokes a key at once; revoking it again changes nothing."""
    await access_handlers.revoke_api_key(
        principal, key_id, directory=context.directory, now=dt.datetime.now(dt.UTC)
    )
    return Response(status_code=204)
