"""The hook that writes the audit log: an ASGI middleware around the whole application.

After a route answered 2xx, it looks the route up in `domain/audit.py`'s table and writes
the entry with the principal the authentication dependency left on `request.state`, the
path's ids, the campaign the route's scope check saw (`note_campaign`), the names of the
fields a JSON body sent (never their values) and what the route noted (`note_summary`).

The entry is written before the answer leaves, so a client that reads the log after an
answer finds the entry. If writing fails, the answer still goes out (the action has
happened; refusing to answer would not undo it and would invite a retry that repeats
it) and the failure is logged at ERROR with everything the entry would have said, so that
operations see it and the log can be completed from the service's logs.
"""

from __future__ import annotations

import asyncio
import contextvars
import datetime as dt
import json
import logging
import uuid
from dataclasses import dataclass, field
from typing import Any

from fastapi.routing import APIRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from callscope_gateway.adapters.mongo_audit import MongoAuditLog
from callscope_gateway.domain.access import Principal
from callscope_gateway.domain.audit import (
    AuditEntry,
    AuditRule,
    changed_target_type,
    field_names,
    rule_for,
    safe_summary,
    view_key,
)

logger = logging.getLogger(__name__)

# A JSON body longer than this is not looked into for its field names.
MAX_BODY_COPY_BYTES = 64 * 1024
# The audit write never holds an answer longer than this.
AUDIT_WRITE_TIMEOUT_S = 5.0


@dataclass
class AuditNote:
    """What a route learns while it runs that the entry should say."""

    campaign_id: str = ""
    summary: dict[str, object] = field(default_factory=dict)


_NOTE: contextvars.ContextVar[AuditNote | None] = contextvars.ContextVar(
    "callscope_audit_note", default=None
)


def note_campaign(campaign_id: str) -> None:
    """Tells the audit hook the campaign of what this request touches (a call's, a job's)."""
    note = _NOTE.get()
    if note is not None and not note.campaign_id:
        note.campaign_id = campaign_id


def note_summary(**values: object) -> None:
    """Adds small, non-secret facts to this request's audit entry (e.g. a new role)."""
    note = _NOTE.get()
    if note is not None:
        note.summary.update(values)


def remember_principal(state: dict[str, Any], principal: Principal) -> None:
    """Keeps the request's principal where the audit hook finds it."""
    state["principal"] = principal


class AuditMiddleware:
    """Writes an audit entry for every successful request of an audited route."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Runs the request; records it when its route is audited and it answered 2xx."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope.setdefault("state", {})
        note = AuditNote()
        token = _NOTE.set(note)
        body = _BodyCopy(receive, wanted=_is_small_json(scope))
        held: list[Message] = []
        rule_holder: list[AuditRule] = []

        async def audited_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                rule = _rule(scope) if 200 <= int(message["status"]) < 300 else None
                if rule is None:
                    await send(message)
                elif rule.target_in_answer or rule.actor_in_answer:
                    # The entry needs the answer (what a create made): hold it until complete.
                    rule_holder.append(rule)
                    held.append(message)
                else:
                    await self._record(scope, rule, note, body, None)
                    await send(message)
                return
            if rule_holder and message["type"] == "http.response.body":
                held.append(message)
                if not message.get("more_body", False):
                    answer = b"".join(m.get("body", b"") for m in held[1:])
                    await self._record(scope, rule_holder[0], note, body, answer)
                    for each in held:
                        await send(each)
                    held.clear()
                return
            await send(message)

        try:
            await self.app(scope, body.receive, audited_send)
        finally:
            _NOTE.reset(token)

    async def _record(
        self,
        scope: Scope,
        rule: AuditRule,
        note: AuditNote,
        body: _BodyCopy,
        answer: bytes | None,
    ) -> None:
        entry = _entry(scope, rule, note, body, answer)
        if entry is None:
            return
        try:
            audit_log: MongoAuditLog = scope["app"].state.api.audit
            await asyncio.wait_for(audit_log.record(entry), AUDIT_WRITE_TIMEOUT_S)
        except Exception:
            logger.exception(
                "audit entry not written",
                extra={
                    "audit_actor": entry.actor,
                    "audit_org_id": entry.org_id,
                    "audit_action": entry.action.value,
                    "audit_target": f"{entry.target_type.value}:{entry.target_id}",
                    "audit_route": f"{entry.method} {entry.route}",
                    "audit_at": entry.at.isoformat(),
                },
            )


def _rule(scope: Scope) -> AuditRule | None:
    route = scope.get("route")
    if not isinstance(route, APIRoute):
        return None
    return rule_for(scope["method"], route.path)


def _entry(
    scope: Scope, rule: AuditRule, note: AuditNote, body: _BodyCopy, answer: bytes | None
) -> AuditEntry | None:
    now = dt.datetime.now(dt.UTC)
    # Stored dates keep milliseconds: cut to them so that page cursors compare equal.
    now = now.replace(microsecond=now.microsecond // 1000 * 1000)
    answered = _json(answer) if answer is not None else None
    path_params: dict[str, Any] = scope.get("path_params") or {}
    route: APIRoute = scope["route"]
    principal = scope.get("state", {}).get("principal")
    if rule.actor_in_answer:
        user = _dig(answered, rule.actor_in_answer)
        if not isinstance(user, dict):
            logger.error("audited login answered without its user", extra={"route": route.path})
            return None
        org_id, actor, email = str(user["org_id"]), str(user["id"]), str(user["email"])
    elif isinstance(principal, Principal):
        org_id, actor, email = principal.org_id, principal.actor, principal.email
    else:
        logger.error(
            "audited route answered without an authenticated principal",
            extra={"route": f"{scope['method']} {route.path}"},
        )
        return None
    if rule.target_param:
        target_id = str(path_params.get(rule.target_param, ""))
    else:
        target_id = str(_dig(answered, rule.target_in_answer) or "")
    campaign_id = str(path_params.get("campaign_id") or note.campaign_id)
    fields = [] if rule.deduplicated or rule.actor_in_answer else field_names(body.json())
    summary: dict[str, object] = {"fields": fields} if fields else {}
    summary.update(note.summary)
    target_type = changed_target_type(rule, fields)
    entry_id = (
        view_key(org_id, actor, target_type, target_id, now)
        if rule.deduplicated
        else uuid.uuid4().hex
    )
    return AuditEntry(
        id=entry_id,
        org_id=org_id,
        actor=actor,
        actor_email=email,
        action=rule.action,
        target_type=target_type,
        target_id=target_id,
        campaign_id=campaign_id,
        method=scope["method"],
        route=route.path,
        at=now,
        summary=safe_summary(summary),
    )


def _dig(document: object, dotted: str) -> object:
    for part in dotted.split("."):
        if not isinstance(document, dict):
            return None
        document = document.get(part)
    return document


def _json(raw: bytes) -> object:
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _is_small_json(scope: Scope) -> bool:
    headers = dict(scope.get("headers") or ())
    content_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
    length = headers.get(b"content-length", b"")
    return (
        content_type == b"application/json"
        and length.isdigit()
        and int(length) <= MAX_BODY_COPY_BYTES
    )


class _BodyCopy:
    """Passes the request body through, keeping a copy of a small JSON body."""

    def __init__(self, receive: Receive, *, wanted: bool) -> None:
        self._receive = receive
        self._wanted = wanted
        self._chunks: list[bytes] = []
        self._size = 0

    async def receive(self) -> Message:
        message = await self._receive()
        if self._wanted and message["type"] == "http.request":
            chunk = message.get("body", b"")
            self._size += len(chunk)
            if self._size <= MAX_BODY_COPY_BYTES:
                self._chunks.append(chunk)
            else:
                self._wanted = False
                self._chunks.clear()
        return message

    def json(self) -> object:
        if not self._wanted or not self._chunks:
            return None
        return _json(b"".join(self._chunks))
