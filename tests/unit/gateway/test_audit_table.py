"""The audit log's table: every route is audited or knowingly not, and entries stay small."""

from __future__ import annotations

import datetime as dt
from typing import cast

from callscope_gateway.domain.audit import (
    AUDITED,
    NOT_AUDITED,
    AuditAction,
    TargetType,
    changed_target_type,
    field_names,
    rule_for,
    safe_summary,
    view_key,
)
from callscope_gateway.entrypoints.context import ApiContext
from callscope_gateway.entrypoints.http_api import create_app
from fastapi.routing import APIRoute, iter_route_contexts


def _routes() -> list[tuple[str, str, str]]:
    app = create_app(cast(ApiContext, None))
    found = []
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if not isinstance(route, APIRoute):
            continue
        for method in sorted(route.methods or ()):
            found.append((method, str(context.path), route.path))
    return found


def test_every_route_is_in_the_audit_table_or_listed_as_not_audited() -> None:
    missing = [
        f"{method} {path}"
        for method, path, _ in _routes()
        if (method, path) not in AUDITED and (method, path) not in NOT_AUDITED
    ]
    assert not missing, (
        "add these routes to AUDITED or NOT_AUDITED in domain/audit.py: " + ", ".join(missing)
    )


def test_the_hook_finds_each_route_under_its_full_path() -> None:
    # The hook looks a route up by the APIRoute's own path: a prefix given only when a
    # router is included would hide the route from the table.
    for method, path, own_path in _routes():
        assert own_path == path, f"{method} {path}: include the router without a prefix"


def test_no_route_is_both_audited_and_not() -> None:
    assert not set(AUDITED) & set(NOT_AUDITED)


def test_views_of_a_call_are_deduplicated_and_changes_are_not() -> None:
    for suffix in ("", "/transcript", "/analysis", "/analyses", "/audio"):
        rule = rule_for("get", f"/api/v1/calls/{{call_id}}{suffix}")
        assert rule is not None and rule.deduplicated
        assert rule.action is AuditAction.VIEWED and rule.target_type is TargetType.CALL
    for key, rule in AUDITED.items():
        assert rule.deduplicated == (rule.action is AuditAction.VIEWED), key
    deleted = rule_for("DELETE", "/api/v1/calls/{call_id}")
    assert deleted is not None and deleted.action is AuditAction.DELETED
    assert rule_for("GET", "/api/v1/calls") is None


def test_review_routes_are_recorded_as_overrides_and_reviews() -> None:
    override = rule_for("POST", "/api/v1/calls/{call_id}/overrides")
    review = rule_for("POST", "/api/v1/calls/{call_id}/review")
    assert override is not None and override.action is AuditAction.OVERRODE
    assert review is not None and review.action is AuditAction.REVIEWED
    assert ("GET", "/api/v1/review-queue") in NOT_AUDITED


def test_a_view_key_is_one_per_actor_call_and_ten_minutes() -> None:
    at = dt.datetime(2026, 3, 1, 10, 0, 5, tzinfo=dt.UTC)
    same = view_key("o", "u1", TargetType.CALL, "c1", at + dt.timedelta(minutes=9))
    assert view_key("o", "u1", TargetType.CALL, "c1", at) == same
    assert view_key("o", "u1", TargetType.CALL, "c1", at + dt.timedelta(minutes=10)) != same
    assert view_key("o", "u2", TargetType.CALL, "c1", at) != same
    assert view_key("o", "u1", TargetType.CALL, "c2", at) != same
    assert view_key("p", "u1", TargetType.CALL, "c1", at) != same


def test_summaries_never_keep_secrets_and_stay_small() -> None:
    summary = safe_summary(
        {
            "fields": ["name", "keywords"],
            "password": "hunter2hunter2",
            "api_key": "cs_live_x",
            "token": "t",
            "transcript_text": "hello",
            "csrf_token": "c",
            "note": "x" * 1000,
            "nested": {"a": 1},
        }
    )
    assert summary == {"fields": ["name", "keywords"], "note": "x" * 200}


def test_field_names_are_names_only_without_secret_ones() -> None:
    assert field_names({"email": "a@b.c", "password": "p", "role": "OWNER"}) == ["email", "role"]
    assert field_names(["not", "a", "dict"]) == []


def test_a_campaign_change_of_sftp_settings_is_an_sftp_settings_change() -> None:
    rule = rule_for("PATCH", "/api/v1/campaigns/{campaign_id}")
    assert rule is not None
    assert changed_target_type(rule, ["sftp"]) is TargetType.SFTP_SETTINGS
    assert changed_target_type(rule, ["name"]) is TargetType.CAMPAIGN
