"""The gateway's default "Demo" checks: well-formed, and phrased the way the evaluator compares."""

from __future__ import annotations

import dataclasses

import pytest
from callscope.v1 import common_pb2, directory_pb2
from callscope_analysis.domain.text import normalise
from callscope_gateway.domain.default_checks import (
    DEFAULT_CHECKS,
    DEFAULT_FLAG_THRESHOLD,
    CheckDefinition,
)

from tests.support.scripts import CHECK_IDS

pytestmark = pytest.mark.unit


def test_the_default_checks_are_the_ones_the_scripts_label() -> None:
    assert tuple(check.id for check in DEFAULT_CHECKS) == CHECK_IDS


def test_every_default_check_is_complete() -> None:
    for check in DEFAULT_CHECKS:
        assert check.name and check.question.endswith("?") and check.category, check.id
        assert check.weight > 0, check.id
        assert check.phrases, check.id
        assert len(set(check.phrases)) == len(check.phrases), check.id


def test_weights_add_up_to_100_and_only_verification_is_critical() -> None:
    assert sum(check.weight for check in DEFAULT_CHECKS) == 100
    assert [check.id for check in DEFAULT_CHECKS if check.critical] == ["identity_verification"]
    assert DEFAULT_FLAG_THRESHOLD == 70.0


def test_one_missed_soft_skill_check_stays_above_the_threshold() -> None:
    for check in DEFAULT_CHECKS:
        if not check.critical:
            assert 100 - check.weight >= DEFAULT_FLAG_THRESHOLD, check.id


def test_phrases_are_already_in_the_evaluators_normal_form() -> None:
    # A phrase written as "you're" or with punctuation would still work, but the
    # stored definitions read best when they show exactly what is compared.
    for check in DEFAULT_CHECKS:
        for phrase in check.phrases:
            assert normalise(phrase) == phrase, (check.id, phrase)


def test_every_field_maps_onto_the_contract() -> None:
    names = {field.name for field in dataclasses.fields(CheckDefinition)}
    assert names == set(directory_pb2.Check.DESCRIPTOR.fields_by_name)
    for check in DEFAULT_CHECKS:
        message = directory_pb2.Check(
            **{
                **dataclasses.asdict(check),
                "speaker": common_pb2.Speaker.Value(f"SPEAKER_{check.speaker}"),
                "window": directory_pb2.CheckWindow.Value(f"CHECK_WINDOW_{check.window}"),
                "answer_type": directory_pb2.CheckAnswerType.Value(
                    f"CHECK_ANSWER_TYPE_{check.answer_type}"
                ),
            }
        )
        assert message.id == check.id


def test_definitions_are_immutable() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        DEFAULT_CHECKS[0].weight = 1.0  # type: ignore[misc]
