"""Agent codes found in file names, and metadata winning over them."""

from __future__ import annotations

import pytest
from callscope_ingest.domain.agent_codes import agent_code_from_file_name
from callscope_ingest.domain.agents import Agent, AgentCodeLookup, code_to_look_up, link_to
from callscope_ingest.domain.calls import AgentLink, AgentLinkMethod
from callscope_ingest.domain.metadata import CallMetadata

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("file_name", "code"),
    [
        # The product guide's examples.
        ("call_JS001_20260115.mp3", "JS001"),
        ("recording-ABC123-morning.mp3", "ABC123"),
        ("20260115_JS001_outbound_sale.mp3", "JS001"),
        # Separators: space and dot, and the code right before the extension.
        ("morning call JS001 sale.wav", "JS001"),
        ("call.JS001.mp3", "JS001"),
        ("call_JS001.MP3", "JS001"),
        ("JS001.mp3", "JS001"),
        # The bounds: 2-5 letters, 2-6 digits.
        ("call_AB12_x.mp3", "AB12"),
        ("call_ABCDE123456_x.mp3", "ABCDE123456"),
        # The first code wins.
        ("call_AB12_CD34.mp3", "AB12"),
    ],
)
def test_the_first_agent_code_token_is_found(file_name: str, code: str) -> None:
    assert agent_code_from_file_name(file_name) == code


@pytest.mark.parametrize(
    "file_name",
    [
        "recording.mp3",  # plain words
        "call_20260115_morning.mp3",  # a date is digits only
        "2026-01-15_call.mp3",
        "call_js001_20260115.mp3",  # lower case
        "call_Js001.mp3",  # mixed case
        "call_J001.mp3",  # one letter
        "call_ABCDEF001.mp3",  # six letters
        "call_JS1.mp3",  # one digit
        "call_JS1234567.mp3",  # seven digits
        "call_JS001X.mp3",  # letters after the digits
        "call_XJS001x_morning.mp3",
        "call_001JS.mp3",  # digits first
        "call_JS\u0661\u0662\u0663.mp3",  # Arabic-Indic digits are not ASCII digits
        "CALL_OUTBOUND.MP3",  # upper-case words, and MP3 has one digit
        "voice.M4A",
        "",
    ],
)
def test_names_without_an_agent_code_give_none(file_name: str) -> None:
    assert agent_code_from_file_name(file_name) is None


def test_metadata_code_wins_over_the_file_name() -> None:
    lookup = code_to_look_up(CallMetadata(agent_code="JD002"), "call_JS001_20260115.mp3")
    assert lookup == AgentCodeLookup("JD002", AgentLinkMethod.METADATA)


def test_metadata_code_is_trimmed() -> None:
    lookup = code_to_look_up(CallMetadata(agent_code="  JD002 "), "recording.mp3")
    assert lookup == AgentCodeLookup("JD002", AgentLinkMethod.METADATA)


@pytest.mark.parametrize("given", ["", "   "])
def test_file_name_code_is_used_when_metadata_has_none(given: str) -> None:
    lookup = code_to_look_up(CallMetadata(agent_code=given), "recording-ABC123-morning.mp3")
    assert lookup == AgentCodeLookup("ABC123", AgentLinkMethod.FILE_NAME)


def test_no_code_anywhere_gives_none() -> None:
    assert code_to_look_up(CallMetadata(), "recording.mp3") is None


def test_a_link_keeps_the_agent_as_found_and_how() -> None:
    agent = Agent(id="a1", name="John Smith", code="JS001", campaign_ids=("c1",))
    assert link_to(agent, AgentLinkMethod.MANUAL) == AgentLink(
        "a1", "JS001", "John Smith", AgentLinkMethod.MANUAL
    )
