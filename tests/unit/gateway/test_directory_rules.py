"""Input rules of the directory: agent codes, users, campaign settings, session tokens."""

from __future__ import annotations

import datetime as dt

import pytest
from callscope_gateway.domain.access import Role
from callscope_gateway.domain.agents import (
    agent_code_key,
    unique_campaign_ids,
    validate_agent_code,
    validate_agent_name,
)
from callscope_gateway.domain.campaign_settings import (
    validate_campaign_name,
    validate_flag_threshold,
)
from callscope_gateway.domain.errors import GatewayError
from callscope_gateway.domain.sessions import (
    hash_session_token,
    looks_like_session_token,
    new_session,
)
from callscope_gateway.domain.users import validate_email, validate_password, validate_user_role
from callscope_gateway.entrypoints.principal import bearer_token


@pytest.mark.parametrize("code", ["JS001", "a", "js-001_b", "X" * 32, "  AB12  "])
def test_valid_agent_codes(code: str) -> None:
    assert validate_agent_code(code) == code.strip()


@pytest.mark.parametrize("code", ["", " ", "X" * 33, "JS 001", "JS.001", "JS/1", "ÄB1", "js@1"])
def test_invalid_agent_codes_say_what_is_allowed(code: str) -> None:
    with pytest.raises(ValueError, match="1 to 32 letters, digits"):
        validate_agent_code(code)


def test_codes_match_case_insensitively() -> None:
    assert (
        agent_code_key("js001") == agent_code_key("JS001") == agent_code_key(" Js001 ") == "JS001"
    )


def test_agent_names_and_campaign_lists() -> None:
    assert validate_agent_name("  John Smith ") == "John Smith"
    with pytest.raises(ValueError):
        validate_agent_name("   ")
    assert unique_campaign_ids(["b", "a", "b", "c", "a"]) == ("b", "a", "c")


@pytest.mark.parametrize("threshold", [0, 0.0, 55.5, 100])
def test_flag_thresholds_from_0_to_100(threshold: float) -> None:
    assert validate_flag_threshold(threshold) == float(threshold)


@pytest.mark.parametrize("threshold", [-0.1, 100.01, float("nan"), float("inf")])
def test_flag_thresholds_outside_are_refused(threshold: float) -> None:
    with pytest.raises(ValueError, match="0 to 100"):
        validate_flag_threshold(threshold)


def test_campaign_names() -> None:
    assert validate_campaign_name(" Sales ") == "Sales"
    for bad in ("", "  ", "x" * 201):
        with pytest.raises(ValueError):
            validate_campaign_name(bad)


def test_users() -> None:
    assert validate_email("  Jane.Doe@Example.COM ") == "jane.doe@example.com"
    for bad in ("jane", "jane@", "@example.com", "jane doe@example.com", "jane@example"):
        with pytest.raises(ValueError):
            validate_email(bad)
    assert validate_password("x" * 12) == "x" * 12
    with pytest.raises(ValueError, match="at least 12"):
        validate_password("x" * 11)
    assert validate_user_role("SENIOR_MANAGER") is Role.SENIOR_MANAGER
    for bad in ("API_KEY", "owner", "ADMIN"):
        with pytest.raises(ValueError, match="role is one of"):
            validate_user_role(bad)


def test_sessions_are_random_hashed_and_expire_after_their_ttl() -> None:
    now = dt.datetime(2026, 1, 15, 10, 0, tzinfo=dt.UTC)
    first, second = new_session(now, 3600), new_session(now, 3600)
    assert first.token != second.token and len(first.token) == 43
    assert first.token_hash == hash_session_token(first.token) != first.token
    assert first.expires_at == now + dt.timedelta(hours=1)
    assert looks_like_session_token(first.token)
    assert not looks_like_session_token("short")


def test_bearer_header_parsing() -> None:
    assert bearer_token(None) is None
    assert bearer_token("Bearer abc") == "abc"
    assert bearer_token("bearer  abc ") == "abc"
    for bad in ("Basic dXNlcjpwYXNz", "Bearer", "Bearer   ", "abc"):
        with pytest.raises(GatewayError) as raised:
            bearer_token(bad)
        assert raised.value.code == "not_authenticated"
