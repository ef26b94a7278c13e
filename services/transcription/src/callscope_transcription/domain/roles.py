"""Who is the agent: the channel or opening rule, checked against what each voice said.

A rule alone (the campaign's agent channel on stereo, the opening party on mono)
is wrong whenever a recorder is wired the other way round or a customer speaks
first, and agent and customer coming out swapped is the complaint users have
most about call-analytics tools. So each voice's words are read for what agents
say (greeting with the company name, asking for verification, offering more
help) and what customers say (calling about their account, asking for help),
and the rule and the content are weighed together as log-odds:

    evidence = rule weight (toward the rule's voice) + cue weights (toward the voice that said them)

The voice the evidence points to is the agent; the confidence is the logistic of
the evidence's size. A confidence under REVIEW_BELOW, or content that overrules
the rule, marks the roles for review: the assignment is never a silent guess.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher

from callscope_transcription.domain.model import (
    Layout,
    RoleSource,
    Speaker,
    SpeakerRoles,
    Utterance,
)

REVIEW_BELOW = 0.8
"""Assignments less sure than this are flagged for a reviewer."""

# Log-odds each rule lends its voice: a stereo channel is how the recorder is wired (and
# usually right); who opens a mono call is a habit that outbound calls often break.
CHANNEL_RULE_WEIGHT = 2.5
OPENING_RULE_WEIGHT = 1.0
# Content never counts for more than this, so a chatty call cannot reach certainty on
# phrases alone, but strong content (a company greeting plus verification) can overrule a
# channel rule.
MAX_CONTENT_WEIGHT = 6.0
# Greetings only count near the start of the call.
OPENING_SECONDS = 45.0
# How closely a heard word sequence must match the company name (transcription mishears
# names: "Northwind" comes back as "North Wind").
COMPANY_MATCH_RATIO = 0.85


@dataclass(frozen=True)
class RoleRules:
    """The campaign settings the assignment starts from."""

    agent_channel: str = "left"
    opening_party: Speaker = Speaker.AGENT
    company_name: str = ""


@dataclass(frozen=True)
class _Cue:
    """A kind of thing one party says: its weight toward "this voice is the agent"."""

    name: str
    weight: float
    patterns: tuple[re.Pattern[str], ...]
    opening_only: bool = False


def _phrases(*phrases: str) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(rf"\b{phrase}\b") for phrase in phrases)


_CUES: tuple[_Cue, ...] = (
    _Cue(
        "greeted the caller",
        1.5,
        _phrases(
            r"thanks? (you )?for calling",
            r"(how|what) (can|may) i (help|assist)",
            r"you'?re (through|speaking) to",
            r"welcome to",
            r"this is \w+ speaking",
            r"this is \w+ (calling )?from",
            r"my name is \w+ (and )?(how|what)",
        ),
        opening_only=True,
    ),
    _Cue(
        "asked for verification",
        1.5,
        _phrases(
            r"(can|could|would) you (please )?(confirm|verify|give me|tell me)",
            r"date of birth",
            r"post ?code",
            r"security (question|check|purposes|reasons)",
            r"first line of (your|the) address",
            r"verify (your|the)",
            r"for security",
        ),
    ),
    _Cue(
        "offered further help",
        1.0,
        _phrases(
            r"anything else (i|we) can (help|do)",
            r"is there anything else",
            r"thank you for (your|the) (call|patience)",
            r"have a (great|good|lovely|nice) (day|evening|afternoon)",
            r"i'?ll (just )?(put you|transfer you|check|look into)",
        ),
    ),
    _Cue(
        "spoke as the customer",
        -1.5,
        _phrases(
            r"i'?m calling (about|because|to|regarding)",
            r"i'?d like to",
            r"i want to",
            r"my (account|bill|card|order|broadband|internet|payment|contract)",
            r"i was (charged|billed|told)",
            r"can you help me",
        ),
    ),
)


@dataclass(frozen=True)
class _Heard:
    """A cue one voice said, with the words that matched."""

    voice: int
    cue: str
    weight: float
    quote: str


def assign_roles(
    utterances: Sequence[Utterance],
    *,
    layout: Layout,
    voices_split: bool,
    rules: RoleRules,
) -> SpeakerRoles:
    """Decides which voice is the agent, how sure that is, and whether a reviewer should look."""
    voices = sorted({utterance.voice for utterance in utterances})
    if layout is Layout.MONO and (not voices_split or len(voices) < 2):
        return SpeakerRoles(
            source=RoleSource.VOICES,
            agent_voice=-1,
            confidence=0.0,
            needs_review=True,
            evidence=("only one voice was heard, so agent and customer could not be told apart",),
        )
    rule_voice, rule_weight, rule_words = _rule(layout, rules)
    heard = _cues(utterances, rules.company_name)
    # Positive content favours voice 0 as the agent, negative voice 1.
    content = sum(item.weight if item.voice == 0 else -item.weight for item in heard)
    content = max(-MAX_CONTENT_WEIGHT, min(MAX_CONTENT_WEIGHT, content))
    rule = rule_weight if rule_voice == 0 else -rule_weight
    total = rule + content
    agent_voice = 0 if total > 0 else 1
    confidence = round(1.0 / (1.0 + math.exp(-abs(total))), 3)
    overruled = content != 0 and (content > 0) != (rule > 0) and abs(content) > abs(rule)
    evidence = [rule_words, *(_describe(item, layout) for item in heard)]
    if overruled:
        evidence.append(
            f"what was said overrules the {_rule_name(layout)}: "
            f"{_voice_name(agent_voice, layout)} is taken as the agent"
        )
    return SpeakerRoles(
        source=RoleSource.CHANNEL if layout is Layout.STEREO else RoleSource.VOICES,
        agent_voice=agent_voice,
        confidence=confidence,
        needs_review=overruled or confidence < REVIEW_BELOW,
        evidence=tuple(evidence),
    )


def speaker_of(voice: int, roles: SpeakerRoles) -> Speaker:
    """The role a voice plays under an assignment (UNKNOWN when none could be made)."""
    if roles.agent_voice < 0:
        return Speaker.UNKNOWN
    return Speaker.AGENT if voice == roles.agent_voice else Speaker.CUSTOMER


def swapped(roles: SpeakerRoles, *, by: str, of_version: int) -> SpeakerRoles:
    """The roles after a user exchanged agent and customer on a version."""
    agent_voice = roles.agent_voice if roles.agent_voice < 0 else 1 - roles.agent_voice
    return SpeakerRoles(
        source=RoleSource.MANUAL,
        agent_voice=agent_voice,
        confidence=1.0,
        needs_review=False,
        evidence=(f"a user swapped agent and customer of version {of_version}",),
        swapped_by=by,
        swapped_from_version=of_version,
    )


def _rule(layout: Layout, rules: RoleRules) -> tuple[int, float, str]:
    """The voice the campaign's rule names as the agent, its weight, and the rule in words."""
    if layout is Layout.STEREO:
        voice = 0 if rules.agent_channel == "left" else 1
        return (
            voice,
            CHANNEL_RULE_WEIGHT,
            (f"the campaign records the agent on the {rules.agent_channel} channel"),
        )
    opener_is_agent = rules.opening_party is not Speaker.CUSTOMER
    voice = 0 if opener_is_agent else 1
    opener = "agent" if opener_is_agent else "customer"
    return (
        voice,
        OPENING_RULE_WEIGHT,
        (f"two voices were told apart; the campaign says the {opener} opens the call"),
    )


def _cues(utterances: Sequence[Utterance], company_name: str) -> list[_Heard]:
    """Each cue each voice said, counted once per voice (the first time it was said)."""
    found: dict[tuple[int, str], _Heard] = {}
    for utterance in sorted(utterances, key=lambda item: item.start):
        text = _normalised(utterance.text)
        in_opening = utterance.start <= OPENING_SECONDS
        company_key = (utterance.voice, "company")
        if (
            company_name
            and in_opening
            and company_key not in found
            and _mentions(text, company_name)
        ):
            found[company_key] = _Heard(
                utterance.voice, "greeted with the company name", 2.0, utterance.text
            )
        for cue in _CUES:
            if (utterance.voice, cue.name) in found or (cue.opening_only and not in_opening):
                continue
            if any(pattern.search(text) for pattern in cue.patterns):
                found[(utterance.voice, cue.name)] = _Heard(
                    utterance.voice, cue.name, cue.weight, utterance.text
                )
    return list(found.values())


def _mentions(text: str, company_name: str) -> bool:
    """Whether the text says the company name, allowing for split or misheard words."""
    target = _letters(company_name)
    heard = _letters(text)
    if not target:
        return False
    if target in heard:
        return True
    width = len(target)
    return any(
        SequenceMatcher(None, heard[start : start + width], target).ratio() >= COMPANY_MATCH_RATIO
        for start in range(0, max(1, len(heard) - width + 1))
    )


def _normalised(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9' ]+", " ", text.lower().replace("’", "'")).split())


def _letters(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def _describe(item: _Heard, layout: Layout) -> str:
    quote = item.quote if len(item.quote) <= 80 else item.quote[:77] + "..."
    return f'{_voice_name(item.voice, layout)} {item.cue}: "{quote}"'


def _voice_name(voice: int, layout: Layout) -> str:
    if layout is Layout.STEREO:
        return "the left channel" if voice == 0 else "the right channel"
    return "the first voice" if voice == 0 else "the second voice"


def _rule_name(layout: Layout) -> str:
    return "campaign's agent channel" if layout is Layout.STEREO else "campaign's opening party"
