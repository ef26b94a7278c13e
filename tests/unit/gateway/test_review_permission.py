"""Who may review calls: people with a call list to look after, never agents or integrations."""

from __future__ import annotations

from callscope_gateway.domain.access import Permission, Principal, Role
from callscope_gateway.entrypoints.errors import HTTP_STATUS


def test_staff_review_calls_agents_and_api_keys_do_not() -> None:
    allowed = {role for role in Role if Principal("org", role).may(Permission.REVIEW_CALLS)}
    assert allowed == {
        Role.MANAGER,
        Role.COMPLIANCE_OFFICER,
        Role.SENIOR_MANAGER,
        Role.OWNER,
    }


def test_review_refusals_have_http_statuses() -> None:
    assert HTTP_STATUS["analysis_version_moved"] == HTTP_STATUS["not_reviewable"] == 409
    for code in ("unknown_check", "invalid_answer", "invalid_comment"):
        assert HTTP_STATUS[code] == 422
