"""Route of `/api/v1/audit-log`: who viewed, changed, overrode, reprocessed or deleted what, when.

Owners and Compliance Officers read their own organisation's log, newest first, filtered,
one page at a time. Entries are written by the audit hook (entrypoints/audit.py).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from callscope_gateway.domain.access import Permission, Principal
from callscope_gateway.domain.audit import AuditAction, AuditEntry, AuditQuery, TargetType
from callscope_gateway.domain.errors import GatewayError
from callscope_gateway.entrypoints.access_views import iso_time
from callscope_gateway.entrypoints.context import Context
from callscope_gateway.entrypoints.errors import COMMON_ERRORS, error_responses
from callscope_gateway.entrypoints.principal import allowed
from callscope_gateway.entrypoints.query_params import time_bound

Reader = Annotated[Principal, Depends(allowed(Permission.READ_AUDIT_LOG))]

router = APIRouter(prefix="/api/v1/audit-log", tags=["audit log"])

_BAD_CURSOR = "the cursor is not valid; start again from the first page"


class AuditEntryOut(BaseModel):
    """One recorded action."""

    id: str
    at: str
    # The user's id, or `api_key:<id>` for a campaign API key.
    actor: str
    actor_type: str
    # The user's email then (null for an API key).
    actor_email: str | None
    action: str
    target_type: str
    target_id: str
    campaign_id: str | None
    # The HTTP method and the route's path template ("/api/v1/calls/{call_id}").
    method: str
    route: str
    # Small facts (fields sent, a new role); never secrets, keys, passwords or transcripts.
    summary: dict[str, object]


class AuditPage(BaseModel):
    """A page of entries, newest first; next_cursor is null on the last page."""

    entries: list[AuditEntryOut]
    next_cursor: str | None


def entry_out(entry: AuditEntry) -> AuditEntryOut:
    """The API shape of an entry."""
    is_key = entry.actor.startswith("api_key:")
    return AuditEntryOut(
        id=entry.id,
        at=iso_time(entry.at) or "",
        actor=entry.actor,
        actor_type="api_key" if is_key else "user",
        actor_email=entry.actor_email or None,
        action=entry.action.value,
        target_type=entry.target_type.value,
        target_id=entry.target_id,
        campaign_id=entry.campaign_id or None,
        method=entry.method,
        route=entry.route,
        summary=entry.summary,
    )


def _action(given: str) -> AuditAction | None:
    if not given:
        return None
    try:
        return AuditAction(given.upper())
    except ValueError as error:
        names = ", ".join(each.value for each in AuditAction)
        raise GatewayError("invalid_request", f"action is one of {names}") from error


def _target_type(given: str) -> TargetType | None:
    if not given:
        return None
    try:
        return TargetType(given.lower())
    except ValueError as error:
        names = ", ".join(each.value for each in TargetType)
        raise GatewayError("invalid_request", f"target_type is one of {names}") from error


def _encode_cursor(entry: AuditEntry) -> str:
    raw = json.dumps({"at": entry.at.isoformat(), "id": entry.id}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[dt.datetime, str] | None:
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        decoded = json.loads(raw)
        at = dt.datetime.fromisoformat(decoded["at"])
        return (at if at.tzinfo else at.replace(tzinfo=dt.UTC)), str(decoded["id"])
    except (ValueError, KeyError, TypeError, binascii.Error) as error:
        raise GatewayError("invalid_request", _BAD_CURSOR) from error


@router.get("", response_model=AuditPage, responses=error_responses(*COMMON_ERRORS))
async def read_audit_log(  # one keyword parameter per filter
    *,
    principal: Reader,
    context: Context,
    actor: Annotated[str, Query(max_length=320)] = "",
    action: str = "",
    target_type: str = "",
    target_id: Annotated[str, Query(max_length=200)] = "",
    campaign_id: Annotated[str, Query(max_length=200)] = "",
    at_from: Annotated[str, Query(alias="from")] = "",
    at_to: Annotated[str, Query(alias="to")] = "",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str, Query(max_length=500)] = "",
) -> AuditPage:
    """The organisation's audit log, newest first. `actor` takes a user id, an email or
    `api_key:<id>`; `from`/`to` take a date (a `to` date includes that day) or a date-time."""
    start = time_bound(at_from, "from", end_of_day=False)
    end = time_bound(at_to, "to", end_of_day=True)
    query = AuditQuery(
        org_id=principal.org_id,
        actor=actor.strip(),
        action=_action(action),
        target_type=_target_type(target_type),
        target_id=target_id,
        campaign_id=campaign_id,
        at_from=start.ToDatetime(tzinfo=dt.UTC) if start is not None else None,
        at_to=end.ToDatetime(tzinfo=dt.UTC) if end is not None else None,
        limit=limit,
        after=_decode_cursor(cursor),
    )
    entries, more = await context.audit.search(query)
    return AuditPage(
        entries=[entry_out(entry) for entry in entries],
        next_cursor=_encode_cursor(entries[-1]) if more and entries else None,
    )
