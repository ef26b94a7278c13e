"""Which campaigns and calls each role sees (domain/access.py's scope rules)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from callscope_gateway.domain.access import Principal, Role


@dataclass(frozen=True)
class _Link:
    agent_id: str = ""


@dataclass(frozen=True)
class _Call:
    campaign_id: str
    agent: _Link = field(default_factory=_Link)


def _call(campaign_id: str, agent_id: str = "") -> _Call:
    return _Call(campaign_id, _Link(agent_id))


@pytest.mark.parametrize("role", [Role.OWNER, Role.SENIOR_MANAGER, Role.COMPLIANCE_OFFICER])
def test_org_wide_roles_see_every_campaign_and_call(role: Role) -> None:
    principal = Principal("org", role, user_id="u1", campaign_ids=frozenset({"a"}))
    assert principal.campaign_scope() is None
    assert principal.sees_campaign("b")
    assert principal.sees_call(_call("b", "someone"))
    scope = principal.call_scope()
    assert scope.campaign_ids is None and scope.agent_id is None and not scope.sees_nothing


def test_a_manager_sees_only_assigned_campaigns_and_their_calls() -> None:
    manager = Principal("org", Role.MANAGER, user_id="u1", campaign_ids=frozenset({"a", "c"}))
    assert manager.sees_campaign("a") and manager.sees_campaign("c")
    assert not manager.sees_campaign("b")
    assert manager.sees_call(_call("a")) and manager.sees_call(_call("c", "agent-1"))
    assert not manager.sees_call(_call("b"))
    scope = manager.call_scope()
    assert scope.campaign_ids == frozenset({"a", "c"}) and scope.agent_id is None


def test_a_manager_without_campaigns_sees_nothing() -> None:
    manager = Principal("org", Role.MANAGER, user_id="u1")
    assert not manager.sees_campaign("a")
    assert not manager.sees_call(_call("a"))
    assert manager.call_scope().sees_nothing


def test_an_agent_sees_only_calls_linked_to_their_agent_profile() -> None:
    agent = Principal(
        "org", Role.AGENT, user_id="u1", campaign_ids=frozenset({"a"}), agent_id="ag-1"
    )
    assert agent.sees_campaign("a") and not agent.sees_campaign("b")
    assert agent.sees_call(_call("a", "ag-1"))
    assert not agent.sees_call(_call("a", "ag-2"))
    assert not agent.sees_call(_call("a"))
    assert not agent.sees_call(_call("b", "ag-1"))
    scope = agent.call_scope()
    assert scope.campaign_ids == frozenset({"a"}) and scope.agent_id == "ag-1"
    assert not scope.sees_nothing


def test_an_agent_without_an_agent_profile_sees_no_calls() -> None:
    agent = Principal("org", Role.AGENT, user_id="u1", campaign_ids=frozenset({"a"}))
    assert not agent.sees_call(_call("a"))
    assert agent.call_scope().sees_nothing


def test_an_api_key_sees_its_campaign_whoever_made_the_call() -> None:
    key = Principal("org", Role.API_KEY, campaign_id="a", key_id="k1")
    assert key.sees_call(_call("a", "ag-9")) and not key.sees_call(_call("b"))
    assert key.call_scope().campaign_ids == frozenset({"a"})


def test_an_api_key_ignores_assignments_it_cannot_have() -> None:
    key = Principal("org", Role.API_KEY, campaign_id="a", campaign_ids=frozenset({"b"}))
    assert not key.sees_campaign("b")
