"""The rules for a campaign's quality checks, owned here once for every path that edits them.

A check is built from what a person sent (`check_from_fields`), changed by merging what
they sent into what is stored and building it again (`changed_check`), and the campaign's
list as a whole is held to its own rules (`require_campaign_checks`, `reordered`). Every
rejection is a ValueError whose message names the field and what is allowed.
"""

from __future__ import annotations

import math
import secrets
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TypeVar, cast

from callscope_gateway.domain.default_checks import (
    CheckAnswerType,
    CheckDefinition,
    CheckSpeaker,
    CheckWindow,
)

MAX_CHECKS_PER_CAMPAIGN = 50
MAX_NAME_LENGTH = 100
MAX_QUESTION_LENGTH = 500
MAX_CATEGORY_LENGTH = 60
MIN_WEIGHT = 0.0
MAX_WEIGHT = 100.0
MAX_PHRASES = 30
MAX_PHRASE_LENGTH = 200
MAX_KEYWORDS = 10
MAX_KEYWORD_LENGTH = 40
MAX_APPLIES_WHEN = 30
DEFAULT_CATEGORY = "General"
DEFAULT_SPEAKER: CheckSpeaker = "AGENT"
DEFAULT_WINDOW: CheckWindow = "ANYWHERE"
DEFAULT_ANSWER_TYPE: CheckAnswerType = "YES_NO"

SPEAKERS: tuple[CheckSpeaker, ...] = ("AGENT", "CUSTOMER", "ANY")
WINDOWS: tuple[CheckWindow, ...] = ("ANYWHERE", "OPENING", "CLOSING", "FIRST_HALF")
ANSWER_TYPES: tuple[CheckAnswerType, ...] = ("YES_NO", "YES_NO_NOT_APPLICABLE")

# Every field a person sets, in the order the API documents them (the id is the system's).
CHECK_FIELDS = (
    "name",
    "question",
    "category",
    "weight",
    "critical",
    "speaker",
    "phrases",
    "window",
    "answer_type",
    "keywords",
    "applies_when",
)
REQUIRED_FIELDS = ("name", "question", "weight")
# What a new check gets for a field left out.
NEW_CHECK_DEFAULTS: Mapping[str, object] = {
    "category": DEFAULT_CATEGORY,
    "critical": False,
    "speaker": DEFAULT_SPEAKER,
    "phrases": (),
    "window": DEFAULT_WINDOW,
    "answer_type": DEFAULT_ANSWER_TYPE,
    "keywords": (),
    "applies_when": (),
}
CHECK_ID_PREFIX = "chk_"

T = TypeVar("T")


def new_check_id() -> str:
    """A fresh id for a check a person adds (the default checks keep ids like "greeting")."""
    return CHECK_ID_PREFIX + secrets.token_hex(6)


def validate_name(value: object) -> str:
    """A check's name, surrounding spaces removed, or ValueError."""
    return _text(value, MAX_NAME_LENGTH, "the check's short title")


def validate_question(value: object) -> str:
    """The yes/no question the check asks about a call, or ValueError."""
    return _text(value, MAX_QUESTION_LENGTH, "the yes/no question asked about each call")


def validate_category(value: object) -> str:
    """The group the check is shown under; empty reads as the default category."""
    if not isinstance(value, str):
        raise ValueError(f"text of at most {MAX_CATEGORY_LENGTH} characters")
    stripped = value.strip()
    if len(stripped) > MAX_CATEGORY_LENGTH:
        raise ValueError(f"at most {MAX_CATEGORY_LENGTH} characters (empty: {DEFAULT_CATEGORY!r})")
    return stripped or DEFAULT_CATEGORY


def validate_weight(value: object) -> float:
    """A weight from 0 to 100 (0: the check is shown but does not count), or ValueError."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or not MIN_WEIGHT <= value <= MAX_WEIGHT
    ):
        raise ValueError("a number from 0 to 100 (0: shown but not counted in the score)")
    return float(value)


def validate_critical(value: object) -> bool:
    """Whether failing the check fails the call, or ValueError."""
    if not isinstance(value, bool):
        raise ValueError("true or false")
    return value


def validate_speaker(value: object) -> CheckSpeaker:
    """Who must say it: AGENT, CUSTOMER or ANY, in any case; stored upper case."""
    return cast(CheckSpeaker, _choice(value, SPEAKERS))


def validate_window(value: object) -> CheckWindow:
    """Where in the call it counts: ANYWHERE, OPENING or CLOSING, in any case."""
    return cast(CheckWindow, _choice(value, WINDOWS))


def validate_answer_type(value: object) -> CheckAnswerType:
    """YES_NO, or YES_NO_NOT_APPLICABLE for a check that may not apply to a call."""
    return cast(CheckAnswerType, _choice(value, ANSWER_TYPES))


def validate_phrases(value: object, limit: int = MAX_PHRASES) -> tuple[str, ...]:
    """Phrases of 1 to 200 characters, at most `limit`: blanks dropped, repeats (any case) too."""
    items = _strings(value, f"a list of at most {limit} phrases")
    phrases = _distinct(item.strip() for item in items)
    if len(phrases) > limit:
        raise ValueError(f"at most {limit} phrases (got {len(phrases)})")
    too_long = [phrase for phrase in phrases if len(phrase) > MAX_PHRASE_LENGTH]
    if too_long:
        raise ValueError(
            f"each phrase is at most {MAX_PHRASE_LENGTH} characters; "
            f"{_quoted(too_long[0][:40])}... is {len(too_long[0])}"
        )
    return phrases


def validate_keywords(value: object) -> tuple[str, ...]:
    """Single words of at most 40 characters, at most 10: blanks dropped, repeats (any case) too."""
    items = _strings(value, f"a list of at most {MAX_KEYWORDS} single words")
    keywords = _distinct(item.strip() for item in items)
    if len(keywords) > MAX_KEYWORDS:
        raise ValueError(f"at most {MAX_KEYWORDS} keywords (got {len(keywords)})")
    for keyword in keywords:
        if any(character.isspace() for character in keyword):
            raise ValueError(
                f"each keyword is a single word without spaces; split {_quoted(keyword)} "
                "into separate keywords, or make it a phrase"
            )
        if len(keyword) > MAX_KEYWORD_LENGTH:
            raise ValueError(f"each keyword is at most {MAX_KEYWORD_LENGTH} characters")
    return keywords


def check_from_fields(check_id: str, fields: Mapping[str, object]) -> CheckDefinition:
    """A valid check from the fields a person sent, new-check defaults for the others.

    Raises ValueError naming every problem found, each as "<field>: <what is allowed>".
    """
    values = {**NEW_CHECK_DEFAULTS, **fields}
    problems: list[str] = []
    unknown = [name for name in fields if name not in CHECK_FIELDS]
    if unknown:
        problems.append(
            f"{', '.join(unknown)}: not a field of a check (fields: {', '.join(CHECK_FIELDS)})"
        )
    for name in REQUIRED_FIELDS:
        if name not in values:
            problems.append(f"{name}: required")

    def rule(name: str, validate: Callable[[object], T], fallback: T) -> T:
        if name not in values:
            return fallback
        try:
            return validate(values[name])
        except ValueError as error:
            problems.append(f"{name}: {error}")
            return fallback

    check = CheckDefinition(
        id=check_id,
        name=rule("name", validate_name, ""),
        question=rule("question", validate_question, ""),
        category=rule("category", validate_category, DEFAULT_CATEGORY),
        weight=rule("weight", validate_weight, 0.0),
        critical=rule("critical", validate_critical, False),
        speaker=rule("speaker", validate_speaker, DEFAULT_SPEAKER),
        phrases=rule("phrases", validate_phrases, ()),
        window=rule("window", validate_window, DEFAULT_WINDOW),
        answer_type=rule("answer_type", validate_answer_type, DEFAULT_ANSWER_TYPE),
        keywords=rule("keywords", validate_keywords, ()),
        applies_when=rule("applies_when", _validate_applies_when, ()),
    )
    answer_type_valid = not any(problem.startswith("answer_type:") for problem in problems)
    if check.applies_when and answer_type_valid and check.answer_type != "YES_NO_NOT_APPLICABLE":
        problems.append(
            "applies_when: only a check whose answer_type is YES_NO_NOT_APPLICABLE may say "
            "when it applies; set answer_type to YES_NO_NOT_APPLICABLE, or send applies_when "
            "as []"
        )
    if problems:
        raise ValueError("; ".join(problems))
    return check


def editable_fields(check: CheckDefinition) -> dict[str, object]:
    """A stored check's fields as a person sets them (everything but the id)."""
    return {name: getattr(check, name) for name in CHECK_FIELDS}


def changed_check(check: CheckDefinition, changes: Mapping[str, object]) -> CheckDefinition:
    """The check with some fields changed, validated again as a whole, or ValueError."""
    return check_from_fields(check.id, {**editable_fields(check), **changes})


def require_campaign_checks(checks: Sequence[CheckDefinition]) -> None:
    """A campaign's whole list: at most 50 checks, names and ids each once, or ValueError."""
    if len(checks) > MAX_CHECKS_PER_CAMPAIGN:
        raise ValueError(
            f"a campaign has at most {MAX_CHECKS_PER_CAMPAIGN} checks; "
            "delete one before adding another"
        )
    seen_names: dict[str, str] = {}
    seen_ids: set[str] = set()
    for check in checks:
        key = check.name.casefold()
        if key in seen_names:
            raise ValueError(
                f"name: the campaign already has a check named {_quoted(seen_names[key])} "
                "(names ignore case); choose another name"
            )
        seen_names[key] = check.name
        if check.id in seen_ids:
            raise ValueError(f"id: the campaign already has a check with id {check.id}")
        seen_ids.add(check.id)


def reordered(
    checks: Sequence[CheckDefinition], check_ids: Sequence[str]
) -> tuple[CheckDefinition, ...]:
    """The checks in the order of check_ids, which must name each of them exactly once."""
    by_id = {check.id: check for check in checks}
    counts = Counter(check_ids)
    repeated = sorted(check_id for check_id, count in counts.items() if count > 1)
    unknown = [check_id for check_id in dict.fromkeys(check_ids) if check_id not in by_id]
    missing = [check.id for check in checks if check.id not in counts]
    problems = [
        f"{label}: {', '.join(ids)}"
        for label, ids in (("repeated", repeated), ("not checks of the campaign", unknown))
        if ids
    ] + ([f"missing: {', '.join(missing)}"] if missing else [])
    if problems:
        raise ValueError(
            "check_ids: send every check id of the campaign exactly once, in the new order ("
            + "; ".join(problems)
            + ")"
        )
    return tuple(by_id[check_id] for check_id in check_ids)


def _validate_applies_when(value: object) -> tuple[str, ...]:
    return validate_phrases(value, MAX_APPLIES_WHEN)


def _text(value: object, limit: int, meaning: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > limit:
        raise ValueError(f"1 to {limit} characters: {meaning}")
    return value.strip()


def _choice(value: object, allowed: tuple[str, ...]) -> str:
    normalised = value.strip().upper() if isinstance(value, str) else ""
    if normalised not in allowed:
        raise ValueError(f"one of {', '.join(allowed)} (any case)")
    return normalised


def _strings(value: object, expected: str) -> Iterable[str]:
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise ValueError(expected)
    if not all(isinstance(item, str) for item in value):
        raise ValueError(f"{expected}, each a piece of text")
    return cast(Iterable[str], value)


def _distinct(items: Iterable[str]) -> tuple[str, ...]:
    """Non-blank items, the first spelling of each kept and later repeats in any case dropped."""
    kept: dict[str, str] = {}
    for item in items:
        if item and item.casefold() not in kept:
            kept[item.casefold()] = item
    return tuple(kept.values())


def _quoted(text: str) -> str:
    return f'"{text}"'
