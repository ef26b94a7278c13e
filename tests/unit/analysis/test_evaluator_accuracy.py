"""The offline evaluator against a reviewer's labels on the generated calls, clean and ASR-noisy.

Targets: at least 90% of all answers agree with the reviewer, and at most 2% of
the calls that fail the critical check (identity verification) are passed.
`bench/evaluator_accuracy.py` prints the same figures in full, with every
misclassification and its reasoning.
"""

from __future__ import annotations

from collections import Counter

import pytest
from callscope_analysis.domain.evaluator import PhraseEvaluator

from tests.support.evaluation import Accuracy, default_checks, dialogue_transcript, judge
from tests.support.labelled_calls import LABELLED_CALLS, POOLS, LabelledCall, generate
from tests.support.scripts import CHECK_IDS

pytestmark = pytest.mark.unit

ACCURACY_TARGET = 0.90
CRITICAL_FALSE_PASS_TARGET = 0.02

# Calls where the agent says the words but does not verify: the agent asks for the date
# of birth and the customer refuses, or asks only after the account was discussed.
BEYOND_PHRASES = {"customer-refuses", "checks-too-late"}

SETS = {
    "clean": LABELLED_CALLS,
    "noisy": tuple(call.noisy() for call in LABELLED_CALLS),
}


def measured(name: str) -> Accuracy:
    calls: tuple[LabelledCall, ...] = SETS[name]
    return judge(
        PhraseEvaluator(),
        list(default_checks().values()),
        ((call.name, dialogue_transcript(call.dialogue), call.expected) for call in calls),
    )


def describe(accuracy: Accuracy) -> list[str]:
    return [
        f"{item.call}/{item.result.check.id}: {item.result.reasoning}" for item in accuracy.wrong()
    ]


# --- the set ---------------------------------------------------------------------------------


def test_the_set_is_large_and_every_check_has_both_labels() -> None:
    assert len(LABELLED_CALLS) >= 40
    assert len({call.name for call in LABELLED_CALLS}) == len(LABELLED_CALLS)
    for check_id in CHECK_IDS:
        passes = sum(call.expected[check_id] for call in LABELLED_CALLS)
        minority = min(passes, len(LABELLED_CALLS) - passes)
        assert minority >= 0.3 * len(LABELLED_CALLS), check_id


def test_every_call_labels_every_default_check() -> None:
    for call in LABELLED_CALLS:
        assert set(call.expected) == set(default_checks()), call.name


def test_every_variant_of_every_section_is_used() -> None:
    for check_id, pool in POOLS.items():
        used = Counter(call.variants[check_id] for call in LABELLED_CALLS)
        assert set(used) == {variant.key for variant in pool}, check_id
        for variant in pool:
            labels = {
                call.expected[check_id]
                for call in LABELLED_CALLS
                if call.variants[check_id] == variant.key
            }
            assert labels == {variant.passes}, (check_id, variant.key)


def test_every_scenario_is_used() -> None:
    assert len({call.scenario for call in LABELLED_CALLS}) >= 6


def test_generation_and_noise_are_deterministic() -> None:
    again = generate()
    assert [call.dialogue for call in again] == [call.dialogue for call in LABELLED_CALLS]
    assert [call.noisy().dialogue for call in again] == [call.dialogue for call in SETS["noisy"]]
    assert generate(seed=1)[0].dialogue != LABELLED_CALLS[0].dialogue


def test_noise_changes_the_words_but_not_the_labels() -> None:
    changed = 0
    for clean, noisy in zip(LABELLED_CALLS, SETS["noisy"], strict=True):
        assert noisy.expected == clean.expected
        assert noisy.name == clean.name
        changed += noisy.dialogue != clean.dialogue
        # Lines may be merged or cut, never lost or given to the other party.
        for party in ("AGENT", "CUSTOMER"):
            assert bool(noisy.dialogue.reference_text(party)) == bool(
                clean.dialogue.reference_text(party)
            )
    assert changed == len(LABELLED_CALLS)


# --- the evaluator's accuracy ----------------------------------------------------------------


@pytest.mark.parametrize("name", list(SETS))
def test_accuracy_is_at_least_90_percent(name: str) -> None:
    accuracy = measured(name)
    assert accuracy.n == len(CHECK_IDS) * len(SETS[name])
    assert accuracy.accuracy >= ACCURACY_TARGET, describe(accuracy)


@pytest.mark.parametrize("name", list(SETS))
def test_the_critical_check_false_passes_at_most_2_percent(name: str) -> None:
    critical = measured(name).critical()
    assert critical.n == len(SETS[name])
    assert critical.false_pass_rate <= CRITICAL_FALSE_PASS_TARGET, describe(critical)


@pytest.mark.parametrize("name", list(SETS))
def test_a_refused_or_late_identity_check_is_not_passed(name: str) -> None:
    # The agent says the words, but the customer refuses, or the check comes only after
    # the account was discussed: the refusal rule and the FIRST_HALF window catch them.
    variants = {call.name: call.variants for call in SETS[name]}
    judged = [
        item
        for item in measured(name).critical().judged
        if variants[item.call][item.result.check.id] in BEYOND_PHRASES
    ]
    assert judged and not any(item.result.passed for item in judged)
