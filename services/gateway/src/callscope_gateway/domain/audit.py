"""The audit log's rules: which request is recorded as what, owned here once.

Every route of the REST API is either in `AUDITED` (method and path template → what the
entry says) or in `NOT_AUDITED` (with the reason); a unit test walks the application's
routes and fails on a route in neither, so a new route cannot be forgotten. An entry is
written after a successful (2xx) answer, by one hook (`entrypoints/audit.py`), with the
principal the authentication dependency found.

Views of a call are recorded once per actor, call and 10-minute bucket (a page that polls
a call every few seconds makes one entry), by an insert under a unique key, so that
replicas of the gateway never record the same view twice.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from enum import StrEnum

VIEW_BUCKET_S = 600
# Summaries are small: a string is cut, a list is cut, and keys that could carry a secret
# or a call's content are never kept, whoever built the summary.
MAX_SUMMARY_STRING = 200
MAX_SUMMARY_LIST = 50
_SECRET_WORDS = frozenset(
    {"password", "token", "secret", "key", "transcript", "text", "csrf", "hash"}
)


class AuditAction(StrEnum):
    """What the actor did (past tense, like events)."""

    VIEWED = "VIEWED"
    CREATED = "CREATED"
    CHANGED = "CHANGED"
    OVERRODE = "OVERRODE"
    REVIEWED = "REVIEWED"
    REPROCESSED = "REPROCESSED"
    CANCELLED = "CANCELLED"
    REVOKED = "REVOKED"
    DELETED = "DELETED"
    LOGGED_IN = "LOGGED_IN"


class TargetType(StrEnum):
    """What the action was done to."""

    CALL = "call"
    CAMPAIGN = "campaign"
    CHECK = "check"
    API_KEY = "api_key"
    USER = "user"
    AGENT = "agent"
    JOB = "job"
    SFTP_SETTINGS = "sftp_settings"


@dataclass(frozen=True)
class AuditRule:
    """How a route's successful answer becomes an entry."""

    action: AuditAction
    target_type: TargetType
    # The path parameter that holds the target's id ("" when it comes from the answer).
    target_param: str = ""
    # A dotted key of the JSON answer holding the target's id (what a create made).
    target_in_answer: str = ""
    # Views of calls: one entry per actor, target and VIEW_BUCKET_S.
    deduplicated: bool = False
    # Login: the actor is the user in the answer (there is no principal before it).
    actor_in_answer: str = ""


def _view(target: TargetType, param: str) -> AuditRule:
    return AuditRule(AuditAction.VIEWED, target, param, deduplicated=True)


def _on(action: AuditAction, target: TargetType, param: str = "", answer: str = "") -> AuditRule:
    return AuditRule(action, target, param, target_in_answer=answer)


_A = AuditAction
_T = TargetType
_CALL = "/api/v1/calls/{call_id}"
_CAMPAIGN = "/api/v1/campaigns/{campaign_id}"

AUDITED: dict[tuple[str, str], AuditRule] = {
    # Calls: who saw which call, and who changed, reprocessed, reviewed or deleted it.
    ("GET", _CALL): _view(_T.CALL, "call_id"),
    ("GET", f"{_CALL}/transcript"): _view(_T.CALL, "call_id"),
    ("GET", f"{_CALL}/analysis"): _view(_T.CALL, "call_id"),
    ("GET", f"{_CALL}/analyses"): _view(_T.CALL, "call_id"),
    ("GET", f"{_CALL}/analyses/diff"): _view(_T.CALL, "call_id"),
    ("GET", f"{_CALL}/audio"): _view(_T.CALL, "call_id"),
    ("POST", "/api/v1/calls/upload"): _on(_A.CREATED, _T.CALL, answer="id"),
    ("PATCH", _CALL): _on(_A.CHANGED, _T.CALL, "call_id"),
    ("PUT", f"{_CALL}/agent"): _on(_A.CHANGED, _T.CALL, "call_id"),
    ("DELETE", f"{_CALL}/agent"): _on(_A.CHANGED, _T.CALL, "call_id"),
    ("DELETE", _CALL): _on(_A.DELETED, _T.CALL, "call_id"),
    ("POST", f"{_CALL}/process"): _on(_A.REPROCESSED, _T.CALL, "call_id"),
    ("POST", f"{_CALL}/rerun-transcription"): _on(_A.REPROCESSED, _T.CALL, "call_id"),
    ("POST", f"{_CALL}/run-analysis"): _on(_A.REPROCESSED, _T.CALL, "call_id"),
    ("POST", f"{_CALL}/swap-speakers"): _on(_A.REPROCESSED, _T.CALL, "call_id"),
    ("POST", f"{_CALL}/overrides"): _on(_A.OVERRODE, _T.CALL, "call_id"),
    ("POST", f"{_CALL}/review"): _on(_A.REVIEWED, _T.CALL, "call_id"),
    # Uploads and jobs.
    ("POST", f"{_CAMPAIGN}/bulk-jobs"): _on(_A.CREATED, _T.JOB, answer="job.id"),
    ("POST", f"{_CAMPAIGN}/upload-batches"): _on(_A.CREATED, _T.JOB, answer="id"),
    ("PUT", "/api/v1/jobs/{job_id}/items/{item_id}/file"): _on(
        _A.CREATED, _T.CALL, answer="call_id"
    ),
    ("POST", "/api/v1/jobs/{job_id}/cancel"): _on(_A.CANCELLED, _T.JOB, "job_id"),
    # One file of the job given up; the job goes on, so it is changed, not cancelled.
    ("POST", "/api/v1/jobs/{job_id}/items/{item_id}/cancel"): _on(_A.CHANGED, _T.JOB, "job_id"),
    # Campaigns, their checks and SFTP settings.
    ("POST", "/api/v1/campaigns"): _on(_A.CREATED, _T.CAMPAIGN, answer="id"),
    ("PATCH", _CAMPAIGN): _on(_A.CHANGED, _T.CAMPAIGN, "campaign_id"),
    ("POST", f"{_CAMPAIGN}/checks"): _on(_A.CREATED, _T.CHECK, answer="id"),
    ("PATCH", f"{_CAMPAIGN}/checks/{{check_id}}"): _on(_A.CHANGED, _T.CHECK, "check_id"),
    ("DELETE", f"{_CAMPAIGN}/checks/{{check_id}}"): _on(_A.DELETED, _T.CHECK, "check_id"),
    ("PUT", f"{_CAMPAIGN}/checks/order"): _on(_A.CHANGED, _T.CAMPAIGN, "campaign_id"),
    # Access: keys, users, agents, logins.
    ("POST", f"{_CAMPAIGN}/api-keys"): _on(_A.CREATED, _T.API_KEY, answer="id"),
    ("DELETE", "/api/v1/api-keys/{key_id}"): _on(_A.REVOKED, _T.API_KEY, "key_id"),
    ("POST", "/api/v1/users"): _on(_A.CREATED, _T.USER, answer="id"),
    ("PATCH", "/api/v1/users/{user_id}"): _on(_A.CHANGED, _T.USER, "user_id"),
    ("DELETE", "/api/v1/users/{user_id}"): _on(_A.DELETED, _T.USER, "user_id"),
    ("POST", "/api/v1/agents"): _on(_A.CREATED, _T.AGENT, answer="id"),
    ("PATCH", "/api/v1/agents/{agent_id}"): _on(_A.CHANGED, _T.AGENT, "agent_id"),
    ("POST", "/api/v1/auth/login"): AuditRule(
        _A.LOGGED_IN, _T.USER, target_in_answer="user.id", actor_in_answer="user"
    ),
}

_LIST = "a list: the calls or items it shows are recorded when one is opened"
_SETTINGS_READ = "a read of settings, not of a call's content"

NOT_AUDITED: dict[tuple[str, str], str] = {
    ("GET", "/api/v1/calls"): _LIST,
    ("GET", "/api/v1/review-queue"): _LIST,
    ("GET", "/api/v1/dashboard"): "aggregate figures, no call's content",
    ("GET", "/api/v1/agents/{agent_id}/trend"): "aggregate figures, no call's content",
    ("GET", "/api/v1/audit-log"): "reading the log itself",
    ("GET", "/api/v1/users"): _LIST,
    ("GET", "/api/v1/campaigns"): _LIST,
    ("GET", _CAMPAIGN): _SETTINGS_READ,
    ("GET", f"{_CAMPAIGN}/checks"): _SETTINGS_READ,
    ("GET", f"{_CAMPAIGN}/checks/{{check_id}}"): _SETTINGS_READ,
    ("GET", f"{_CAMPAIGN}/api-keys"): "lists keys without their secret values",
    ("GET", "/api/v1/agents"): _LIST,
    ("GET", "/api/v1/agents/{agent_id}"): _SETTINGS_READ,
    ("GET", f"{_CAMPAIGN}/jobs"): _LIST,
    ("GET", "/api/v1/jobs/{job_id}"): "upload progress; the calls it made are recorded",
    ("POST", f"{_CAMPAIGN}/bulk-uploads/preview"): "checks a CSV and stores nothing",
    ("GET", f"{_CAMPAIGN}/sftp/batches"): _LIST,
    ("GET", f"{_CAMPAIGN}/sftp/batches/{{batch_id}}"): "ingestion progress, no call's content",
    ("GET", f"{_CAMPAIGN}/sftp/files"): _LIST,
    ("GET", "/api/v1/sftp/status"): "the sweepers' health",
    ("POST", "/api/v1/auth/logout"): "ends the caller's own session; the login is recorded",
    ("GET", "/api/v1/auth/me"): "the caller's own session",
    ("GET", "/healthz"): "a probe",
    ("GET", "/metrics"): "Prometheus' scrape: counts and timings, no call's content",
    ("GET", "/"): "the web application's page",
    ("GET", "/openapi.json"): "the API's description",
}


def rule_for(method: str, path_template: str) -> AuditRule | None:
    """The rule of a route; None when it is not audited (or unknown: see the unit test)."""
    return AUDITED.get((method.upper(), path_template))


def view_bucket(at: dt.datetime) -> int:
    """The 10-minute bucket a view falls in (views in one bucket make one entry)."""
    return int(at.timestamp()) // VIEW_BUCKET_S


def view_key(org_id: str, actor: str, target: TargetType, target_id: str, at: dt.datetime) -> str:
    """The unique id of a deduplicated view: the same within one actor, target and bucket."""
    raw = f"{org_id}\n{actor}\n{target.value}\n{target_id}\n{view_bucket(at)}"
    return "view-" + hashlib.sha256(raw.encode()).hexdigest()[:40]


def changed_target_type(rule: AuditRule, fields: list[str]) -> TargetType:
    """A campaign change that touches its SFTP settings is recorded as an SFTP change."""
    if rule.target_type is TargetType.CAMPAIGN and "sftp" in fields:
        return TargetType.SFTP_SETTINGS
    return rule.target_type


def _is_secret(name: str) -> bool:
    # By word: "api_key" and "password_hash" are secret, "keywords" is not.
    return bool(_SECRET_WORDS & set(name.lower().replace("-", "_").split("_")))


def safe_summary(summary: dict[str, object]) -> dict[str, object]:
    """The summary with secret-looking keys dropped and every value made small and plain."""
    kept: dict[str, object] = {}
    for name, value in summary.items():
        if _is_secret(name):
            continue
        small = _small(value)
        if small is not None:
            kept[name] = small
    return kept


def _small(value: object) -> object:
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return value[:MAX_SUMMARY_STRING]
    if isinstance(value, list | tuple):
        items = [_small(item) for item in value[:MAX_SUMMARY_LIST]]
        return [item for item in items if item is not None and not isinstance(item, list)]
    return None


def field_names(body: object) -> list[str]:
    """The names of the fields a JSON body sent (never their values), secrets left out."""
    if not isinstance(body, dict):
        return []
    return sorted(str(name) for name in body if not _is_secret(str(name)))[:MAX_SUMMARY_LIST]


@dataclass(frozen=True)
class AuditEntry:
    """One recorded action: who, in which organisation, did what to what, when, how."""

    id: str
    org_id: str
    actor: str
    actor_email: str
    action: AuditAction
    target_type: TargetType
    target_id: str
    campaign_id: str
    method: str
    route: str
    at: dt.datetime
    summary: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class AuditQuery:
    """A page of an organisation's audit log, newest first; empty filters match anything."""

    org_id: str
    actor: str = ""
    action: AuditAction | None = None
    target_type: TargetType | None = None
    target_id: str = ""
    campaign_id: str = ""
    at_from: dt.datetime | None = None
    at_to: dt.datetime | None = None
    limit: int = 50
    # Where the previous page ended: (at, id) of its last entry.
    after: tuple[dt.datetime, str] | None = None
