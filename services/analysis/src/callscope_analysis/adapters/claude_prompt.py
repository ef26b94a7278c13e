"""The Messages API request that asks Claude to answer a call's checks, and reading its answer.

One request answers up to a chunk of checks. Its prefix is the same for every
chunk and every re-run of a transcript version, and is cached: the tool (whose
JSON schema is the shape of the results), the instructions, then the transcript
with the cache breakpoint. Only the checks come after it. Claude must answer
through the tool (`tool_choice`), and the tool input is validated against the
same shape before any answer is used.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from anthropic.types import Message, ToolParam
from anthropic.types.message_create_params import MessageCreateParamsNonStreaming
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from callscope_analysis.domain.answers import ModelAnswer
from callscope_analysis.domain.model import AnswerType, Check, CheckAnswer, Speaker, Transcript

TOOL_NAME = "record_check_results"

INSTRUCTIONS = """\
You review recorded customer-service calls for a quality team. The transcript of one \
call is given between <transcript> tags, one turn per line as \
"[start-end] SPEAKER: words", times in seconds; SPEAKER is AGENT, CUSTOMER or \
UNKNOWN (not separated). The quality checks to answer follow between <checks> tags.

Answer every check exactly once with the record_check_results tool:
- answer: YES if the call satisfies the check, NO if it does not, NOT_APPLICABLE only \
when the check says it may be not applicable and the situation it is about did not arise.
- evidence_quote: the exact words from the transcript that show the answer, copied \
verbatim from one or two consecutive turns (shorten with "..." if needed). Required for \
YES. For NO, quote what comes closest, or leave it empty when nothing does. Never \
paraphrase or invent a quote: an answer whose quote is not in the transcript is rejected.
- evidence_start: the start time of the quoted turn.
- confidence: 0 to 1, how sure you are.
- reasoning: one or two short sentences a reviewer can check in seconds.
A check that concerns the agent is satisfied only by what the agent says; likewise \
for the customer. Judge what was said, not what was intended."""

_ANSWER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "check_id": {"type": "string", "description": "The id of the check answered."},
        "answer": {"type": "string", "enum": [answer.value for answer in CheckAnswer]},
        "confidence": {"type": "number", "minimum": 0, "maximum": 1},
        "evidence_quote": {"type": "string", "maxLength": 2000},
        "evidence_start": {"type": "number", "minimum": 0},
        "reasoning": {"type": "string", "maxLength": 2000},
    },
    "required": ["check_id", "answer", "confidence", "evidence_quote", "reasoning"],
    "additionalProperties": False,
}

TOOL: ToolParam = {
    "name": TOOL_NAME,
    "description": "Records the answer to every quality check of the call.",
    "input_schema": {
        "type": "object",
        "properties": {"results": {"type": "array", "items": _ANSWER_SCHEMA}},
        "required": ["results"],
        "additionalProperties": False,
    },
}


class InvalidAnswersError(ValueError):
    """Claude's tool input does not have the shape of the results, or misses checks."""


class _ToolAnswer(BaseModel):
    """One result as the tool's schema defines it; validates what Claude sent."""

    model_config = ConfigDict(extra="forbid", strict=False)

    check_id: str = Field(min_length=1)
    answer: Literal["YES", "NO", "NOT_APPLICABLE"]
    confidence: float = Field(ge=0.0, le=1.0)
    evidence_quote: str = Field(max_length=2000)
    evidence_start: float | None = Field(default=None, ge=0.0)
    reasoning: str = Field(max_length=2000)


class _ToolInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    results: list[_ToolAnswer]


def transcript_text(transcript: Transcript) -> str:
    """The transcript block: one line per turn, in time order."""
    lines = [
        f"[{segment.start:.1f}s-{segment.end:.1f}s] {segment.speaker.value}: {segment.text.strip()}"
        for segment in sorted(transcript.segments, key=lambda s: (s.start, s.end))
    ]
    return "<transcript>\n" + "\n".join(lines) + "\n</transcript>"


def checks_text(checks: Sequence[Check]) -> str:
    """The checks block: each check's id and question, whom it concerns, whether N/A is allowed."""
    described = [
        {
            "id": check.id,
            "name": check.name,
            "question": check.question or check.name,
            "category": check.category,
            "concerns": _concerns(check.speaker),
            "may_be_not_applicable": check.answer_type is AnswerType.YES_NO_NOT_APPLICABLE,
        }
        for check in checks
    ]
    return (
        "<checks>\n"
        + json.dumps(described, indent=1, ensure_ascii=False)
        + "\n</checks>\nAnswer every one of these checks with the record_check_results tool."
    )


def request_params(
    *, model: str, max_tokens: int, transcript: str, checks: Sequence[Check]
) -> MessageCreateParamsNonStreaming:
    """The Messages API parameters for one chunk of checks (the same prefix for every chunk)."""
    return {
        "model": model,
        "max_tokens": max_tokens,
        "system": INSTRUCTIONS,
        "tools": [TOOL],
        "tool_choice": {"type": "tool", "name": TOOL_NAME},
        "messages": [
            {
                "role": "user",
                "content": [
                    {
                        "type": "text",
                        "text": transcript,
                        "cache_control": {"type": "ephemeral"},
                    },
                    {"type": "text", "text": checks_text(checks)},
                ],
            }
        ],
    }


def parse_answers(message: Message, checks: Sequence[Check]) -> Mapping[str, ModelAnswer]:
    """Each check's answer from Claude's tool call; InvalidAnswersError if the shape is wrong
    or a check is missing or answered twice."""
    tool_inputs = [
        block.input
        for block in message.content
        if block.type == "tool_use" and block.name == TOOL_NAME
    ]
    if len(tool_inputs) != 1:
        raise InvalidAnswersError(
            f"expected one {TOOL_NAME} call, got {len(tool_inputs)} (stop reason "
            f"{message.stop_reason})"
        )
    try:
        parsed = _ToolInput.model_validate(tool_inputs[0])
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in problem['loc'])}: {problem['msg']}"
            for problem in error.errors()[:5]
        )
        raise InvalidAnswersError(f"the results do not match the schema: {problems}") from error
    wanted = {check.id for check in checks}
    answers: dict[str, ModelAnswer] = {}
    for result in parsed.results:
        if result.check_id not in wanted:
            raise InvalidAnswersError(f"an answer to an unknown check {result.check_id!r}")
        if result.check_id in answers:
            raise InvalidAnswersError(f"check {result.check_id!r} answered twice")
        answers[result.check_id] = ModelAnswer(
            check_id=result.check_id,
            answer=CheckAnswer(result.answer),
            confidence=result.confidence,
            evidence_quote=result.evidence_quote,
            reasoning=result.reasoning,
        )
    missing = [check.id for check in checks if check.id not in answers]
    if missing:
        raise InvalidAnswersError(f"no answer to checks {', '.join(missing)}")
    return answers


def _concerns(speaker: Speaker) -> str:
    return {Speaker.AGENT: "the agent", Speaker.CUSTOMER: "the customer"}.get(speaker, "anyone")
