"""What changed between two analysis versions of a call, check by check.

Checks are matched by id. A check present in one version only was added or
removed in between; a check in both is a change when its answer, its pass or
its review mark differs, or when its definition was edited (the question, the
weight, a hint...), because then the two answers are not to the same question.
"""

from __future__ import annotations

from dataclasses import dataclass

from callscope_analysis.domain.model import Analysis, AnalysisSummary, CheckResult


@dataclass(frozen=True)
class CheckChange:
    """One check whose result differs; `before` or `after` is None when it was added or removed."""

    check_id: str
    name: str
    before: CheckResult | None
    after: CheckResult | None
    answer_changed: bool
    definition_changed: bool


@dataclass(frozen=True)
class AnalysisDiff:
    """Two versions' summaries, the checks that changed, and how many did not."""

    before: AnalysisSummary
    after: AnalysisSummary
    changes: tuple[CheckChange, ...]
    unchanged: int


def compare(before: Analysis, after: Analysis) -> AnalysisDiff:
    """The checks whose result or definition differs between two versions, in the later order."""
    earlier = {result.check.id: result for result in before.results}
    later = {result.check.id: result for result in after.results}
    changes: list[CheckChange] = []
    unchanged = 0
    for check_id, result in later.items():
        old = earlier.get(check_id)
        if old is None:
            changes.append(CheckChange(check_id, result.check.name, None, result, True, False))
            continue
        answer_changed = _verdict(old) != _verdict(result)
        definition_changed = old.check != result.check
        if answer_changed or definition_changed:
            changes.append(
                CheckChange(
                    check_id, result.check.name, old, result, answer_changed, definition_changed
                )
            )
        else:
            unchanged += 1
    changes.extend(
        CheckChange(check_id, result.check.name, result, None, True, False)
        for check_id, result in earlier.items()
        if check_id not in later
    )
    return AnalysisDiff(before.summary(), after.summary(), tuple(changes), unchanged)


def _verdict(result: CheckResult) -> tuple[str, bool, bool]:
    return (result.answer.value, result.passed, result.needs_review)
