"""Bridges from test material to the evaluator: default checks, transcripts of dialogues.

The gateway stores the "Demo" campaign's checks as `CheckDefinition`s; analysis
evaluates `Check`s. A dialogue becomes a perfect transcript with made-up times
(`timed_lines`), as the evaluator tests and the accuracy bench both need;
`judge` sets the evaluator's answers beside a reviewer's labels and `Accuracy`
gives the figures (accuracy, false-pass and false-fail rates).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from callscope_analysis.domain.evaluator import PhraseEvaluator
from callscope_analysis.domain.model import (
    AnswerType,
    Check,
    CheckResult,
    CheckWindow,
    Segment,
    Speaker,
    Transcript,
)
from callscope_gateway.domain.default_checks import DEFAULT_CHECKS, CheckDefinition

from tests.support.dialogue import Dialogue
from tests.support.scripts import LabelledScript, timed_lines


def as_check(definition: CheckDefinition) -> Check:
    """The analysis-side check of one of the gateway's default definitions."""
    return Check(
        id=definition.id,
        name=definition.name,
        question=definition.question,
        category=definition.category,
        weight=definition.weight,
        critical=definition.critical,
        speaker=Speaker(definition.speaker),
        phrases=definition.phrases,
        window=CheckWindow(definition.window),
        answer_type=AnswerType(definition.answer_type),
        keywords=definition.keywords,
        applies_when=definition.applies_when,
    )


def default_checks() -> dict[str, Check]:
    """The "Demo" campaign's default checks as analysis evaluates them, by id, in their order."""
    return {definition.id: as_check(definition) for definition in DEFAULT_CHECKS}


def transcript(*segments: Segment, duration: float | None = None) -> Transcript:
    """A transcript of the given segments; its duration defaults to the last segment's end."""
    return Transcript(
        id="t1",
        call_id="c1",
        org_id="o1",
        version=1,
        duration_seconds=duration if duration is not None else max(s.end for s in segments),
        segments=segments,
    )


def dialogue_transcript(dialogue: Dialogue, *, mono: bool = False) -> Transcript:
    """The dialogue as a perfect transcript with made-up times (speakers unknown when mono)."""
    return transcript(
        *(
            Segment(
                Speaker.UNKNOWN if mono else Speaker(line.party), line.start, line.end, line.text
            )
            for line in timed_lines(dialogue)
        )
    )


def script_transcript(script: LabelledScript, *, mono: bool = False) -> Transcript:
    """A labelled script as a perfect transcript (see `dialogue_transcript`)."""
    return dialogue_transcript(script.dialogue, mono=mono)


@dataclass(frozen=True)
class Judged:
    """One check of one call: what a reviewer expects and what the evaluator answered."""

    call: str
    result: CheckResult
    expected: bool

    @property
    def correct(self) -> bool:
        """Whether the evaluator agreed with the reviewer."""
        return self.result.passed == self.expected


@dataclass(frozen=True)
class Accuracy:
    """Agreement with the reviewer over a set of judged checks."""

    judged: tuple[Judged, ...]

    @property
    def n(self) -> int:
        """How many checks were judged."""
        return len(self.judged)

    @property
    def accuracy(self) -> float:
        """The share of answers that agree with the reviewer."""
        return _share(sum(item.correct for item in self.judged), self.n)

    @property
    def false_pass_rate(self) -> float:
        """Answered YES where the reviewer says NO, over the reviewer's NOs."""
        noes = [item for item in self.judged if not item.expected]
        return _share(sum(item.result.passed for item in noes), len(noes))

    @property
    def false_fail_rate(self) -> float:
        """Answered NO where the reviewer says YES, over the reviewer's YESes."""
        yeses = [item for item in self.judged if item.expected]
        return _share(sum(not item.result.passed for item in yeses), len(yeses))

    def of(self, keep: Callable[[Judged], bool]) -> Accuracy:
        """The same figures over the judged checks that `keep` accepts."""
        return Accuracy(tuple(item for item in self.judged if keep(item)))

    def check(self, check_id: str) -> Accuracy:
        """The figures of one check."""
        return self.of(lambda item: item.result.check.id == check_id)

    def critical(self) -> Accuracy:
        """The figures of the critical checks."""
        return self.of(lambda item: item.result.check.critical)

    def wrong(self) -> tuple[Judged, ...]:
        """The answers the reviewer disagrees with."""
        return tuple(item for item in self.judged if not item.correct)


def judge(
    evaluator: PhraseEvaluator,
    checks: Sequence[Check],
    calls: Iterable[tuple[str, Transcript, Mapping[str, bool]]],
) -> Accuracy:
    """Evaluates every call's transcript and sets each answer beside the reviewer's label."""
    judged = [
        Judged(name, result, expected[result.check.id])
        for name, call_transcript, expected in calls
        for result in evaluator.evaluate(call_transcript, checks)
    ]
    return Accuracy(tuple(judged))


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0
