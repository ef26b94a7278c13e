"""The role table: who may do what (product guide "Role Access", plus the gateway's own rows)."""

from __future__ import annotations

import pytest
from callscope_gateway.domain.access import Permission, Principal, Role

EVERY_ROLE = tuple(Role)


def _allowed(permission: Permission) -> set[Role]:
    return {role for role in EVERY_ROLE if Principal("org", role).may(permission)}


def test_api_keys_are_managed_by_senior_managers_and_owners_only() -> None:
    # "Manage API keys: Senior Manager, Owner"; a key can never mint or revoke keys.
    assert _allowed(Permission.MANAGE_API_KEYS) == {Role.SENIOR_MANAGER, Role.OWNER}


def test_upload_rights_follow_the_guide() -> None:
    staff = {Role.MANAGER, Role.COMPLIANCE_OFFICER, Role.SENIOR_MANAGER, Role.OWNER}
    assert _allowed(Permission.UPLOAD_CALLS) == staff | {Role.API_KEY}
    assert Role.AGENT not in _allowed(Permission.MANAGE_CALLS)


@pytest.mark.parametrize("permission", [Permission.CONFIGURE_CAMPAIGNS, Permission.MANAGE_AGENTS])
def test_campaign_settings_and_agents_are_changed_by_senior_roles(permission: Permission) -> None:
    assert _allowed(permission) == {Role.SENIOR_MANAGER, Role.OWNER}


def test_only_owners_manage_users() -> None:
    assert _allowed(Permission.MANAGE_USERS) == {Role.OWNER}


def test_owners_and_compliance_officers_read_the_audit_log() -> None:
    assert _allowed(Permission.READ_AUDIT_LOG) == {Role.OWNER, Role.COMPLIANCE_OFFICER}


def test_agents_view_calls_but_not_uploads() -> None:
    assert Role.AGENT in _allowed(Permission.VIEW_CALLS)
    assert _allowed(Permission.VIEW_UPLOADS) == _allowed(Permission.VIEW_CALLS) - {Role.AGENT}


def test_everyone_views_campaigns_but_agents_do_not_list_agents() -> None:
    assert _allowed(Permission.VIEW_CAMPAIGNS) == set(EVERY_ROLE)
    assert _allowed(Permission.VIEW_AGENTS) == set(EVERY_ROLE) - {Role.AGENT}


def test_every_permission_has_a_row() -> None:
    for permission in Permission:
        Principal("org", Role.OWNER).may(permission)


def test_an_api_key_sees_only_its_campaign_org_wide_roles_every_campaign() -> None:
    key = Principal("org", Role.API_KEY, campaign_id="c1", key_id="k1")
    assert key.sees_campaign("c1") and not key.sees_campaign("c2")
    for role in (Role.COMPLIANCE_OFFICER, Role.SENIOR_MANAGER, Role.OWNER):
        user = Principal("org", role, user_id="u1")
        assert user.sees_campaign("c1") and user.sees_campaign("c2")
