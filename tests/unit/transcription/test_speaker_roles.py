"""Who is the agent: the channel or opening rule weighed against what each voice said."""

from __future__ import annotations

import pytest
from callscope_transcription.domain.model import (
    Layout,
    RoleSource,
    Speaker,
    SpeakerRoles,
    Utterance,
    Word,
)
from callscope_transcription.domain.roles import (
    REVIEW_BELOW,
    RoleRules,
    assign_roles,
    speaker_of,
    swapped,
)
from callscope_transcription.domain.speakers import label_segments, swap_segments

pytestmark = pytest.mark.unit


def _said(voice: int, start: float, text: str) -> Utterance:
    words = tuple(
        Word(word, start + 0.3 * index, start + 0.3 * index + 0.25, 0.9)
        for index, word in enumerate(text.split())
    )
    return Utterance(words[0].start, words[-1].end, text, words, voice=voice)


INBOUND = (
    _said(0, 0.5, "Thank you for calling Northwind Energy, my name is Sam, how can I help?"),
    _said(1, 5.0, "Hi, I'm calling about my bill, it looks far too high."),
    _said(0, 9.0, "I can look into that. Could you confirm your date of birth for security?"),
    _said(1, 14.0, "Sure, it's the third of May."),
    _said(0, 17.0, "Thanks. Is there anything else I can help with today?"),
)
SMALL_TALK = (
    _said(0, 0.5, "Hello there."),
    _said(1, 2.0, "Hello, yes."),
    _said(0, 4.0, "Okay then."),
)


def test_stereo_content_that_agrees_with_the_channel_is_near_certain() -> None:
    roles = assign_roles(INBOUND, layout=Layout.STEREO, voices_split=True, rules=RoleRules())

    assert roles.source is RoleSource.CHANNEL
    assert roles.agent_voice == 0
    assert roles.confidence > 0.99
    assert not roles.needs_review
    assert roles.evidence[0] == "the campaign records the agent on the left channel"
    assert any("left channel greeted the caller" in line for line in roles.evidence)
    assert any("right channel spoke as the customer" in line for line in roles.evidence)


def test_stereo_without_telling_content_trusts_the_channel_setting() -> None:
    roles = assign_roles(
        SMALL_TALK, layout=Layout.STEREO, voices_split=True, rules=RoleRules(agent_channel="right")
    )

    assert roles.agent_voice == 1
    assert REVIEW_BELOW < roles.confidence < 0.99
    assert not roles.needs_review
    assert roles.evidence == ("the campaign records the agent on the right channel",)


def test_strong_content_overrules_a_wrongly_wired_channel_and_asks_for_review() -> None:
    rules = RoleRules(agent_channel="right", company_name="Northwind Energy")

    roles = assign_roles(INBOUND, layout=Layout.STEREO, voices_split=True, rules=rules)

    assert roles.agent_voice == 0
    assert roles.needs_review
    assert any("greeted with the company name" in line for line in roles.evidence)
    assert roles.evidence[-1] == (
        "what was said overrules the campaign's agent channel: "
        "the left channel is taken as the agent"
    )


def test_mono_opener_who_greets_is_the_agent() -> None:
    roles = assign_roles(INBOUND, layout=Layout.MONO, voices_split=True, rules=RoleRules())

    assert roles.source is RoleSource.VOICES
    assert roles.agent_voice == 0
    assert roles.confidence > 0.99
    assert not roles.needs_review


OUTBOUND = (
    _said(0, 0.5, "Hello?"),
    _said(1, 1.5, "Hi, this is Alex calling from North Wind Energy about your contract."),
    _said(0, 6.0, "Oh, right."),
    _said(1, 8.0, "Before we go on, could you confirm your postcode please?"),
)


def test_mono_customer_who_answers_an_outbound_call_is_caught_by_the_content() -> None:
    rules = RoleRules(company_name="Northwind Energy")

    roles = assign_roles(OUTBOUND, layout=Layout.MONO, voices_split=True, rules=rules)

    # The misheard company name ("North Wind") still counts, and overrules "agent opens".
    assert roles.agent_voice == 1
    assert roles.needs_review
    assert any('second voice greeted with the company name: "Hi, this' in e for e in roles.evidence)


def test_mono_outbound_campaign_setting_agrees_with_the_content() -> None:
    rules = RoleRules(opening_party=Speaker.CUSTOMER, company_name="Northwind Energy")

    roles = assign_roles(OUTBOUND, layout=Layout.MONO, voices_split=True, rules=rules)

    assert roles.agent_voice == 1
    assert not roles.needs_review
    assert roles.confidence > 0.99


def test_mono_without_telling_content_is_a_guess_flagged_for_review() -> None:
    roles = assign_roles(SMALL_TALK, layout=Layout.MONO, voices_split=True, rules=RoleRules())

    assert roles.agent_voice == 0
    assert roles.confidence < REVIEW_BELOW
    assert roles.needs_review


def test_mono_with_one_voice_has_no_roles_and_needs_review() -> None:
    single = tuple(Utterance(u.start, u.end, u.text, u.words, voice=0) for u in INBOUND)

    roles = assign_roles(single, layout=Layout.MONO, voices_split=False, rules=RoleRules())

    assert roles.agent_voice == -1
    assert roles.needs_review
    assert speaker_of(0, roles) is Speaker.UNKNOWN
    assert {s.speaker for s in label_segments(single, roles)} == {Speaker.UNKNOWN}


def test_a_greeting_late_in_the_call_is_not_an_opening() -> None:
    late = (_said(0, 0.5, "Hello."), _said(1, 120.0, "Thank you for calling, how can I help?"))

    roles = assign_roles(late, layout=Layout.STEREO, voices_split=True, rules=RoleRules())

    assert roles.evidence == ("the campaign records the agent on the left channel",)


def test_labelled_segments_follow_the_roles_in_time_order() -> None:
    roles = assign_roles(INBOUND, layout=Layout.STEREO, voices_split=True, rules=RoleRules())

    segments = label_segments(INBOUND, roles)

    assert [s.speaker for s in segments] == [
        Speaker.AGENT,
        Speaker.CUSTOMER,
        Speaker.AGENT,
        Speaker.CUSTOMER,
        Speaker.AGENT,
    ]
    assert [s.start for s in segments] == sorted(s.start for s in segments)


def test_a_swap_exchanges_the_roles_and_records_who_asked() -> None:
    roles = assign_roles(INBOUND, layout=Layout.STEREO, voices_split=True, rules=RoleRules())
    segments = label_segments(INBOUND, roles)

    after = swapped(roles, by="user-7", of_version=3)
    exchanged = swap_segments(segments)

    assert after == SpeakerRoles(
        source=RoleSource.MANUAL,
        agent_voice=1,
        confidence=1.0,
        needs_review=False,
        evidence=("a user swapped agent and customer of version 3",),
        swapped_by="user-7",
        swapped_from_version=3,
    )
    assert [s.speaker for s in exchanged] == [
        Speaker.CUSTOMER if s.speaker is Speaker.AGENT else Speaker.AGENT for s in segments
    ]
    assert [s.text for s in exchanged] == [s.text for s in segments]
    assert swap_segments(exchanged) == segments
