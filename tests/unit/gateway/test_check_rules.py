"""The rules for quality checks (one check, a change to one, a campaign's whole list, its
order) and for a campaign's evaluation settings (evaluator, Claude model), without a server."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import pytest
from callscope.v1 import directory_pb2
from callscope_gateway.adapters.mongo import evaluation_fields, evaluation_settings
from callscope_gateway.directory_handlers import CAMPAIGN_SETTINGS
from callscope_gateway.domain.campaign_settings import (
    DEFAULT_EVALUATION_SETTINGS,
    EvaluationSettings,
    Evaluator,
    validate_claude_model,
)
from callscope_gateway.domain.checks import (
    MAX_CHECKS_PER_CAMPAIGN,
    changed_check,
    check_from_fields,
    editable_fields,
    new_check_id,
    reordered,
    require_campaign_checks,
)
from callscope_gateway.domain.default_checks import DEFAULT_CHECKS, CheckDefinition
from callscope_gateway.domain.directory import Campaign, CampaignSummary
from callscope_gateway.entrypoints.access_views import campaign_summary_view, campaign_view
from callscope_gateway.entrypoints.directory_grpc import campaign_to_proto
from callscope_gateway.entrypoints.routes.campaigns import CampaignSettingsChange, NewCampaign
from callscope_gateway.entrypoints.routes.checks import CheckChange, NewCheck
from pydantic import ValidationError

MINIMAL: dict[str, Any] = {"name": "Refund policy", "question": "Was it explained?", "weight": 10}


def _check(**fields: Any) -> CheckDefinition:
    return check_from_fields("chk_1", {**MINIMAL, **fields})


def _refusal(**fields: Any) -> str:
    with pytest.raises(ValueError) as refused:
        _check(**fields)
    return str(refused.value)


def test_a_check_needs_only_a_name_a_question_and_a_weight() -> None:
    check = check_from_fields("chk_1", {**MINIMAL, "name": "  Refund policy  "})

    assert check == CheckDefinition(
        id="chk_1",
        name="Refund policy",
        question="Was it explained?",
        category="General",
        weight=10.0,
        critical=False,
        speaker="AGENT",
        phrases=(),
        window="ANYWHERE",
        answer_type="YES_NO",
    )
    assert type(check.weight) is float


@pytest.mark.parametrize("missing", ["name", "question", "weight"])
def test_each_required_field_is_named_when_missing(missing: str) -> None:
    fields = {name: value for name, value in MINIMAL.items() if name != missing}
    with pytest.raises(ValueError, match=f"{missing}: required"):
        check_from_fields("chk_1", fields)


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"name": ""}, "name: 1 to 100 characters"),
        ({"name": "   "}, "name: 1 to 100 characters"),
        ({"name": "x" * 101}, "name: 1 to 100 characters"),
        ({"name": 7}, "name: 1 to 100 characters"),
        ({"question": " "}, "question: 1 to 500 characters"),
        ({"question": "q" * 501}, "question: 1 to 500 characters"),
        ({"category": "c" * 61}, "category: at most 60 characters"),
        ({"weight": -0.5}, "weight: a number from 0 to 100"),
        ({"weight": 100.01}, "weight: a number from 0 to 100"),
        ({"weight": float("nan")}, "weight: a number from 0 to 100"),
        ({"weight": float("inf")}, "weight: a number from 0 to 100"),
        ({"weight": True}, "weight: a number from 0 to 100"),
        ({"weight": "50"}, "weight: a number from 0 to 100"),
        ({"critical": "yes"}, "critical: true or false"),
        ({"speaker": "caller"}, "speaker: one of AGENT, CUSTOMER, ANY"),
        ({"speaker": None}, "speaker: one of AGENT, CUSTOMER, ANY"),
        ({"window": "MIDDLE"}, "window: one of ANYWHERE, OPENING, CLOSING"),
        ({"answer_type": "MAYBE"}, "answer_type: one of YES_NO, YES_NO_NOT_APPLICABLE"),
        ({"phrases": "thank you"}, "phrases: a list of at most 30 phrases"),
        ({"phrases": ["ok", 3]}, "each a piece of text"),
        ({"phrases": [f"phrase {n}" for n in range(31)]}, "phrases: at most 30 phrases (got 31)"),
        ({"phrases": ["p" * 201]}, "phrases: each phrase is at most 200 characters"),
        ({"keywords": ["refund policy"]}, "keywords: each keyword is a single word"),
        ({"keywords": ["tab\tbed"]}, "keywords: each keyword is a single word"),
        ({"keywords": ["k" * 41]}, "keywords: each keyword is at most 40 characters"),
        ({"keywords": [f"word{n}" for n in range(11)]}, "keywords: at most 10 keywords (got 11)"),
        ({"colour": "red"}, "colour: not a field of a check"),
    ],
)
def test_each_rule_names_the_field_and_what_is_allowed(fields: dict[str, Any], words: str) -> None:
    assert words in _refusal(**fields)


def test_the_limits_themselves_are_allowed() -> None:
    check = _check(
        name="n" * 100,
        question="q" * 500,
        category="c" * 60,
        phrases=[f"{n} " + "p" * 196 for n in range(30)],
        keywords=[f"{n}" + "k" * 39 for n in range(10)],
        answer_type="YES_NO_NOT_APPLICABLE",
        applies_when=[f"case {n}" for n in range(30)],
    )
    assert (len(check.phrases), len(check.keywords), len(check.applies_when)) == (30, 10, 30)
    for weight in (0, 0.0, 100, 37.5):
        assert _check(weight=weight).weight == float(weight)


def test_a_zero_weight_check_is_allowed_and_shown_but_not_counted() -> None:
    assert _check(weight=0).weight == 0.0


def test_choices_take_any_case_and_are_stored_upper_case() -> None:
    check = _check(speaker=" customer ", window="Closing", answer_type="yes_no_not_applicable")
    assert (check.speaker, check.window, check.answer_type) == (
        "CUSTOMER",
        "CLOSING",
        "YES_NO_NOT_APPLICABLE",
    )


def test_phrases_are_trimmed_blanks_and_repeats_in_any_case_dropped_order_kept() -> None:
    check = _check(
        phrases=["  Thank you ", "", "   ", "welcome", "THANK YOU", "thank  you", "Welcome"],
        keywords=[" refund ", "Refund", "", "policy"],
    )
    assert check.phrases == ("Thank you", "welcome", "thank  you")
    assert check.keywords == ("refund", "policy")


def test_thirty_distinct_phrases_after_repeats_are_dropped_are_allowed() -> None:
    phrases = [f"phrase {n}" for n in range(30)] + [f"PHRASE {n}" for n in range(30)]
    assert len(_check(phrases=phrases).phrases) == 30


def test_a_blank_category_reads_as_general() -> None:
    assert _check(category="   ").category == "General"
    assert _check(category=" Compliance ").category == "Compliance"


def test_applies_when_needs_the_not_applicable_answer_type() -> None:
    refusal = _refusal(applies_when=["refund"])
    assert "applies_when: only a check whose answer_type is YES_NO_NOT_APPLICABLE" in refusal
    check = _check(answer_type="YES_NO_NOT_APPLICABLE", applies_when=[" refund ", "Refund"])
    assert check.applies_when == ("refund",)
    assert _check(answer_type="YES_NO", applies_when=["", " "]).applies_when == ()
    too_many = [f"case {n}" for n in range(31)]
    refusal = _refusal(answer_type="YES_NO_NOT_APPLICABLE", applies_when=too_many)
    assert "applies_when: at most 30 phrases (got 31)" in refusal


def test_a_bad_answer_type_is_reported_once_not_as_a_second_applies_when_problem() -> None:
    refusal = _refusal(answer_type="SOMETIMES", applies_when=["refund"])
    assert refusal.startswith("answer_type:") and "applies_when" not in refusal


def test_every_problem_is_reported_at_once() -> None:
    refusal = _refusal(name="", weight=101, speaker="boss")
    assert refusal.split("; ")[0].startswith("name:")
    assert {part.split(":")[0] for part in refusal.split("; ")} == {"name", "weight", "speaker"}


def test_new_ids_are_prefixed_hex_and_unique() -> None:
    ids = {new_check_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(re.fullmatch(r"chk_[0-9a-f]{12}", check_id) for check_id in ids)


def test_the_default_checks_follow_the_rules() -> None:
    for check in DEFAULT_CHECKS:
        assert check_from_fields(check.id, editable_fields(check)) == check
    require_campaign_checks(DEFAULT_CHECKS)


def test_a_change_keeps_the_rest_and_the_result_is_checked_as_a_whole() -> None:
    greeting = DEFAULT_CHECKS[0]

    changed = changed_check(greeting, {"weight": 0, "keywords": ["welcome"]})

    assert changed == dataclasses.replace(greeting, weight=0.0, keywords=("welcome",))
    with pytest.raises(ValueError, match="applies_when: only a check whose answer_type"):
        changed_check(greeting, {"applies_when": ["a complaint"]})
    optional = changed_check(
        greeting, {"answer_type": "YES_NO_NOT_APPLICABLE", "applies_when": ["complaint"]}
    )
    with pytest.raises(ValueError, match="applies_when: only a check whose answer_type"):
        changed_check(optional, {"answer_type": "YES_NO"})
    assert changed_check(optional, {"answer_type": "YES_NO", "applies_when": []}).applies_when == ()
    with pytest.raises(ValueError, match="name: 1 to 100"):
        changed_check(greeting, {"name": " "})


def test_a_campaign_has_at_most_fifty_checks() -> None:
    checks = [_check(name=f"Check {n}") for n in range(MAX_CHECKS_PER_CAMPAIGN)]
    checks = [dataclasses.replace(check, id=f"chk_{n}") for n, check in enumerate(checks)]
    require_campaign_checks(checks)
    extra = dataclasses.replace(_check(name="One too many"), id="chk_extra")
    with pytest.raises(ValueError, match="at most 50 checks; delete one"):
        require_campaign_checks([*checks, extra])


def test_names_are_unique_in_a_campaign_whatever_their_case() -> None:
    twin = dataclasses.replace(_check(name="GREETING"), id="chk_twin")
    with pytest.raises(ValueError, match='already has a check named "Greeting"'):
        require_campaign_checks([*DEFAULT_CHECKS, twin])
    require_campaign_checks([*DEFAULT_CHECKS, dataclasses.replace(twin, name="Greeting 2")])


def test_the_new_order_must_name_every_check_exactly_once() -> None:
    ids = [check.id for check in DEFAULT_CHECKS]
    backwards = reordered(DEFAULT_CHECKS, ids[::-1])
    assert [check.id for check in backwards] == ids[::-1]
    for bad, words in (
        (ids[:-1], f"missing: {ids[-1]}"),
        ([*ids, ids[0]], f"repeated: {ids[0]}"),
        ([*ids[:-1], "nope"], "not checks of the campaign: nope"),
        ([], "missing: " + ", ".join(ids)),
    ):
        with pytest.raises(ValueError) as refused:
            reordered(DEFAULT_CHECKS, bad)
        assert str(refused.value).startswith("check_ids: send every check id")
        assert words in str(refused.value)


def test_check_bodies_type_their_fields_and_forbid_others() -> None:
    body = NewCheck.model_validate(MINIMAL).model_dump()
    assert check_from_fields("chk_1", body) == _check()
    for payload, field in (
        ({**MINIMAL, "weight": "10"}, "weight"),
        ({**MINIMAL, "weight": True}, "weight"),
        ({**MINIMAL, "critical": "yes"}, "critical"),
        ({**MINIMAL, "phrases": None}, "phrases"),
        ({**MINIMAL, "id": "mine"}, "id"),
        ({"name": "x", "weight": 1}, "question"),
    ):
        with pytest.raises(ValidationError) as refused:
            NewCheck.model_validate(payload)
        assert refused.value.errors()[0]["loc"] == (field,)


def test_a_check_change_has_only_the_fields_sent_and_refuses_null() -> None:
    assert CheckChange.model_validate({"weight": 5, "phrases": []}).changes() == {
        "weight": 5.0,
        "phrases": [],
    }
    for payload in ({"weight": None}, {"applies_when": None}, {"position": 1}):
        with pytest.raises(ValidationError):
            CheckChange.model_validate(payload)
    [error] = _errors(CheckChange, {"name": None})
    assert error["loc"] == ("name",) and "may not be null" in error["msg"]


# Campaign evaluation settings.


@pytest.mark.parametrize(
    "model", ["", "claude-sonnet-4-5", "claude-3-5-haiku-20241022", "claude-opus-4.1", "9" * 100]
)
def test_claude_models_are_lower_case_ids(model: str) -> None:
    assert validate_claude_model(f" {model} ") == model


@pytest.mark.parametrize(
    "model", ["Claude-Sonnet", "-claude", ".claude", "claude sonnet", "claude_3", "a" * 101, "é"]
)
def test_other_claude_models_are_refused_with_an_example(model: str) -> None:
    with pytest.raises(ValueError, match="such as claude-sonnet-4-5"):
        validate_claude_model(model)


def test_a_new_campaign_is_evaluated_locally_unless_told_otherwise() -> None:
    assert NewCampaign.model_validate({"name": "Sales"}).evaluation() == EvaluationSettings(
        Evaluator.LOCAL, ""
    )
    chosen = NewCampaign.model_validate(
        {"name": "Sales", "evaluator": "claude", "claude_model": "claude-sonnet-4-5"}
    )
    assert chosen.evaluation() == EvaluationSettings(Evaluator.CLAUDE, "claude-sonnet-4-5")


@pytest.mark.parametrize(
    ("payload", "field", "words"),
    [
        ({"evaluator": "gpt"}, "evaluator", "'local' or 'claude'"),
        ({"evaluator": "CLAUDE"}, "evaluator", "'local' or 'claude'"),
        ({"evaluator": None}, "evaluator", "may not be null"),
        ({"claude_model": "Claude 4"}, "claude_model", "such as claude-sonnet-4-5"),
        ({"claude_model": None}, "claude_model", "may not be null"),
        ({"claude_model": 4}, "claude_model", "valid string"),
    ],
)
def test_bad_evaluation_changes_name_the_field(
    payload: dict[str, Any], field: str, words: str
) -> None:
    [error] = _errors(CampaignSettingsChange, payload)
    assert error["loc"] == (field,)
    assert words in error["msg"]


def test_evaluation_changes_store_the_apis_values_and_an_empty_model_clears_it() -> None:
    change = CampaignSettingsChange.model_validate({"evaluator": "claude", "claude_model": ""})
    assert change.changes().as_fields() == {"evaluator": "claude", "claude_model": ""}
    assert {"evaluator", "claude_model"} <= set(CAMPAIGN_SETTINGS)


def test_a_campaign_stored_before_the_evaluation_settings_reads_as_local() -> None:
    assert evaluation_settings({"_id": "c1", "name": "Old"}) == DEFAULT_EVALUATION_SETTINGS
    chosen = EvaluationSettings(Evaluator.CLAUDE, "claude-sonnet-4-5")
    assert evaluation_settings(evaluation_fields(chosen)) == chosen


@pytest.mark.parametrize(
    ("evaluation", "expected"),
    [
        (DEFAULT_EVALUATION_SETTINGS, directory_pb2.EVALUATOR_LOCAL),
        (EvaluationSettings(Evaluator.CLAUDE, "claude-opus-4-1"), directory_pb2.EVALUATOR_CLAUDE),
    ],
)
def test_the_directory_answers_the_evaluator_as_its_enum_never_unspecified(
    evaluation: EvaluationSettings, expected: int
) -> None:
    campaign = Campaign("c1", "o1", "Sales", 70.0, True, DEFAULT_CHECKS, evaluation=evaluation)

    message = campaign_to_proto(campaign)

    assert message.evaluator == expected
    assert message.claude_model == evaluation.claude_model
    view = campaign_view(campaign)
    assert (view["evaluator"], view["claude_model"]) == (
        evaluation.evaluator.value,
        evaluation.claude_model,
    )
    summary = CampaignSummary("c1", "o1", "Sales", 70.0, True, None, evaluation=evaluation)
    assert campaign_summary_view(summary)["evaluator"] == evaluation.evaluator.value


def _errors(model: type[NewCheck | CheckChange | CampaignSettingsChange], payload: Any) -> Any:
    with pytest.raises(ValidationError) as refused:
        model.model_validate(payload)
    return refused.value.errors()
