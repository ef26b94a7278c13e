"""A reviewer's override of a check: the rule (domain) and the use case with in-memory fakes."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import grpc
import pytest
from callscope.v1 import analyses_pb2, directory_pb2, events_pb2
from callscope_analysis.adapters.mongo import analysis_from_document, analysis_to_document
from callscope_analysis.adapters.protobuf import analysis_to_pb
from callscope_analysis.bootstrap import AnalysisService, bootstrap
from callscope_analysis.domain.model import (
    Analysis,
    AnswerType,
    Check,
    CheckAnswer,
    CheckResult,
    NewAnalysis,
)
from callscope_analysis.domain.overrides import (
    MAX_COMMENT_CHARS,
    REVIEW_EVALUATOR,
    OverrideRejectedError,
    OverrideRequest,
    overridden_results,
    reviewed_evaluation,
)
from callscope_analysis.domain.scoring import ROLES_NEED_REVIEW
from callscope_analysis.entrypoints.grpc import AnalysesServicer
from callscope_analysis.ports import AnalysisVersionTakenError
from callscope_common.events import new_header
from callscope_gateway.domain.default_checks import DEFAULT_FLAG_THRESHOLD

from tests.support.analysis_fakes import (
    FakeAnalysisStore,
    FakeCampaignDirectory,
    FakePublisher,
    FakeTranscriptSource,
    demo_campaign,
)
from tests.support.scripts import NO_VERIFICATION

pytestmark = pytest.mark.unit

ORG = "org-1"
CAMPAIGN = "campaign-1"
NOW = dt.datetime(2026, 1, 15, 12, 0, tzinfo=dt.UTC)
LATER = NOW + dt.timedelta(minutes=5)
YES, NO, NA = CheckAnswer.YES, CheckAnswer.NO, CheckAnswer.NOT_APPLICABLE


# --- the rule, without any store -------------------------------------------------------------


def result(
    check_id: str,
    answer: CheckAnswer,
    *,
    weight: float = 1.0,
    critical: bool = False,
    needs_review: bool = False,
    answer_type: AnswerType = AnswerType.YES_NO,
) -> CheckResult:
    return CheckResult(
        check=Check(
            id=check_id,
            name=check_id.title(),
            weight=weight,
            critical=critical,
            answer_type=answer_type,
        ),
        answer=answer,
        passed=answer is YES and not needs_review,
        confidence=0.8,
        evidence=None,
        reasoning=f"the model's reasoning on {check_id}",
        needs_review=needs_review,
        review_reason="the quoted evidence is not in the transcript" if needs_review else "",
    )


def analysis(*results: CheckResult, flag_reasons: tuple[str, ...] = ()) -> Analysis:
    return Analysis(
        id="a-1",
        call_id="call-1",
        org_id=ORG,
        campaign_id=CAMPAIGN,
        version=1,
        transcript_version=1,
        source_event_id="event-1",
        evaluator="claude",
        score=0.0,
        flagged=True,
        flag_reasons=flag_reasons,
        results=results,
        created_at=NOW,
    )


def ask(
    check_id: str, answer: CheckAnswer | None, comment: str = "heard it at 01:12"
) -> OverrideRequest:
    return OverrideRequest(check_id=check_id, answer=answer, comment=comment, reviewer="user-9")


def test_an_override_makes_the_reviewers_answer_effective_and_keeps_the_ais() -> None:
    base = analysis(
        result("greeting", YES, weight=1), result("verify", NO, weight=3, critical=True)
    )

    results = overridden_results(base, ask("verify", YES), NOW)

    greeting, verify = results
    assert greeting == base.results[0]
    assert (verify.answer, verify.passed, verify.needs_review) == (YES, True, False)
    assert verify.ai_answer is NO
    assert verify.override is not None
    assert (verify.override.answer, verify.override.reviewer) == (YES, "user-9")
    assert (verify.override.comment, verify.override.at) == ("heard it at 01:12", NOW)
    assert (verify.override.ai_passed, verify.override.ai_needs_review) == (False, False)
    # The evaluator's evidence, confidence and reasoning stay as they were.
    assert (verify.confidence, verify.reasoning) == (0.8, "the model's reasoning on verify")
    evaluation = reviewed_evaluation(base, results, flag_threshold=70.0)
    assert (evaluation.score, evaluation.flagged, evaluation.flag_reasons) == (100.0, False, ())


def test_an_override_is_scored_by_the_one_rule_with_the_threshold_given() -> None:
    base = analysis(result("greeting", YES, weight=1), result("verify", YES, weight=3))

    results = overridden_results(base, ask("verify", NO), NOW)

    assert reviewed_evaluation(base, results, flag_threshold=20.0).flagged is False
    lower = reviewed_evaluation(base, results, flag_threshold=70.0)
    assert (lower.score, lower.flag_reasons) == (25.0, ("score 25.0 is below the threshold 70",))


def test_a_critical_check_overridden_to_no_flags_the_call() -> None:
    base = analysis(result("verify", YES, critical=True))

    evaluation = reviewed_evaluation(
        base, overridden_results(base, ask("verify", NO), NOW), flag_threshold=0.0
    )

    assert evaluation.flag_reasons == ("critical check failed: Verify",)


def test_an_override_is_a_verified_answer_and_clears_needs_review() -> None:
    base = analysis(result("greeting", YES, needs_review=True), result("closing", YES))
    before = reviewed_evaluation(base, base.results, flag_threshold=70.0)
    assert before.score == 50.0 and any("needs review" in r for r in before.flag_reasons)

    results = overridden_results(base, ask("greeting", YES), NOW)

    assert results[0].needs_review is False
    assert results[0].override is not None and results[0].override.ai_needs_review is True
    # The evaluator's reason stays visible beside the reviewer's answer.
    assert results[0].review_reason == "the quoted evidence is not in the transcript"
    after = reviewed_evaluation(base, results, flag_threshold=70.0)
    assert (after.score, after.flagged) == (100.0, False)


def test_not_applicable_leaves_the_check_out_of_the_score_when_the_check_allows_it() -> None:
    base = analysis(
        result("greeting", YES),
        result("complaint", NO, answer_type=AnswerType.YES_NO_NOT_APPLICABLE),
    )

    results = overridden_results(base, ask("complaint", NA), NOW)

    assert reviewed_evaluation(base, results, flag_threshold=70.0).score == 100.0
    with pytest.raises(OverrideRejectedError) as refused:
        overridden_results(base, ask("greeting", NA), NOW)
    assert refused.value.code == "invalid_answer"
    assert "YES or NO" in refused.value.message


def test_a_second_override_replaces_the_first_and_keeps_the_original_ai_verdict() -> None:
    base = analysis(result("verify", NO, needs_review=True))
    first = dataclasses.replace(base, results=overridden_results(base, ask("verify", YES), NOW))

    second = overridden_results(first, ask("verify", NO, "listened again"), LATER)

    [verify] = second
    assert verify.answer is NO and verify.override is not None
    assert (verify.override.comment, verify.override.at) == ("listened again", LATER)
    assert (verify.override.ai_answer, verify.override.ai_needs_review) == (NO, True)


def test_overrides_on_other_checks_carry_forward() -> None:
    base = analysis(result("greeting", NO), result("closing", NO))
    first = dataclasses.replace(base, results=overridden_results(base, ask("greeting", YES), NOW))

    results = overridden_results(first, ask("closing", YES), LATER)

    assert [r.answer for r in results] == [YES, YES]
    assert [r.ai_answer for r in results] == [NO, NO]
    assert all(r.override is not None for r in results)


def test_uncertain_speaker_roles_still_flag_the_review_version() -> None:
    base = analysis(result("greeting", NO), flag_reasons=(ROLES_NEED_REVIEW,))

    evaluation = reviewed_evaluation(
        base, overridden_results(base, ask("greeting", YES), NOW), flag_threshold=70.0
    )

    assert evaluation.flag_reasons == (ROLES_NEED_REVIEW,)


@pytest.mark.parametrize(
    ("request_", "code"),
    [
        (ask("nope", YES), "unknown_check"),
        (ask("greeting", None), "invalid_answer"),
        (ask("greeting", YES, comment="   "), "invalid_comment"),
        (ask("greeting", YES, comment="x" * (MAX_COMMENT_CHARS + 1)), "invalid_comment"),
        (OverrideRequest("greeting", YES, "why", reviewer=" "), "invalid_request"),
    ],
)
def test_bad_overrides_are_refused_with_a_stable_code(request_: OverrideRequest, code: str) -> None:
    with pytest.raises(OverrideRejectedError) as refused:
        overridden_results(analysis(result("greeting", NO)), request_, NOW)
    assert refused.value.code == code
    assert refused.value.message


def test_the_stored_document_and_the_contract_keep_the_override() -> None:
    base = analysis(result("verify", NO))
    results = overridden_results(base, ask("verify", YES), NOW)
    new = NewAnalysis(
        call_id="call-1",
        org_id=ORG,
        campaign_id=CAMPAIGN,
        transcript_version=1,
        source_event_id="review:1",
        evaluator=REVIEW_EVALUATOR,
        evaluation=reviewed_evaluation(base, results, 70.0),
        created_at=NOW,
        reviewed_by="user-9",
        based_on_version=1,
    )

    document = analysis_to_document(new, "a-2", 2)
    assert document["results"][0]["override"] == {
        "answer": "YES",
        "comment": "heard it at 01:12",
        "reviewer": "user-9",
        "at": NOW,
        "ai_answer": "NO",
        "ai_passed": False,
        "ai_needs_review": False,
    }
    stored = analysis_from_document(document)
    assert stored.results == results
    assert (stored.reviewed_by, stored.based_on_version) == ("user-9", 1)

    message = analysis_to_pb(stored)
    [verify] = message.results
    assert verify.answer == analyses_pb2.CHECK_ANSWER_YES
    assert verify.ai_answer == analyses_pb2.CHECK_ANSWER_NO
    assert verify.override.answer == analyses_pb2.CHECK_ANSWER_YES
    assert (verify.override.reviewer, verify.override.comment) == ("user-9", "heard it at 01:12")
    assert verify.override.at.ToDatetime(dt.UTC) == NOW
    assert (message.reviewed_by, message.based_on_version, message.evaluator) == (
        "user-9",
        1,
        "review",
    )
    # A result nobody overrode shows the evaluator's answer as its AI answer too.
    plain = analysis_to_pb(base).results[0]
    assert plain.ai_answer == plain.answer == analyses_pb2.CHECK_ANSWER_NO
    assert not plain.HasField("override")


# --- the use case, with in-memory fakes ------------------------------------------------------


@dataclasses.dataclass
class World:
    directory: FakeCampaignDirectory
    store: FakeAnalysisStore
    publisher: FakePublisher
    service: AnalysisService


def campaign(threshold: float = DEFAULT_FLAG_THRESHOLD) -> directory_pb2.Campaign:
    return demo_campaign(ORG, CAMPAIGN, threshold)


@pytest.fixture
async def world() -> World:
    """A call without identity verification, analysed once: version 1, score 70, flagged."""
    transcripts = FakeTranscriptSource()
    directory = FakeCampaignDirectory()
    directory.add(ORG, campaign())
    store = FakeAnalysisStore()
    publisher = FakePublisher()
    service = bootstrap(
        transcripts=transcripts,
        directory=directory,
        store=store,
        publisher=publisher,
        clock=lambda: NOW,
    )
    transcripts.add(ORG, "call-1", NO_VERIFICATION)
    await service.handle_call_transcribed(
        events_pb2.CallTranscribed(header=new_header("call-1", ORG, CAMPAIGN), transcript_version=1)
    )
    publisher.events.clear()
    return World(directory, store, publisher, service)


VERIFY = "identity_verification"


async def override(world: World, answer: CheckAnswer, base_version: int = 0) -> Analysis:
    return await world.service.override_check(
        org_id=ORG,
        call_id="call-1",
        base_version=base_version,
        request=OverrideRequest(VERIFY, answer, "verified by date of birth", "user-9"),
    )


async def test_an_override_stores_a_review_version_and_announces_it(world: World) -> None:
    [original] = world.store.analyses
    assert (original.score, original.flagged) == (70.0, True)

    stored = await override(world, YES, base_version=1)

    assert world.store.analyses[0] == original  # the AI's version is never changed
    assert (stored.version, stored.evaluator, stored.based_on_version) == (2, "review", 1)
    assert (stored.reviewed_by, stored.campaign_id, stored.transcript_version) == (
        "user-9",
        CAMPAIGN,
        1,
    )
    assert (stored.score, stored.flagged, stored.flag_reasons) == (100.0, False, ())
    assert stored.conversation == original.conversation and stored.usage is None
    verify = next(r for r in stored.results if r.check.id == VERIFY)
    assert (verify.answer, verify.ai_answer) == (YES, NO)
    [announced] = world.publisher.of_type(events_pb2.CallAnalyzed)
    assert (announced.analysis_id, announced.analysis_version) == (stored.id, 2)
    assert (announced.score, announced.flagged, announced.reviewed_by) == (100.0, False, "user-9")
    assert (announced.header.call_id, announced.header.campaign_id) == ("call-1", CAMPAIGN)


async def test_the_campaigns_current_threshold_decides_the_flag(world: World) -> None:
    world.directory.add(ORG, campaign(threshold=95.0))

    stored = await override(world, NO)

    assert stored.score == 70.0
    assert stored.flag_reasons[0] == "score 70.0 is below the threshold 95"


async def test_a_base_version_that_is_no_longer_the_latest_is_refused(world: World) -> None:
    await override(world, YES, base_version=1)

    with pytest.raises(OverrideRejectedError) as refused:
        await override(world, NO, base_version=1)

    assert refused.value.code == "analysis_version_moved"
    assert "version 2" in refused.value.message
    assert len(world.store.analyses) == 2
    assert len(world.publisher.of_type(events_pb2.CallAnalyzed)) == 1


async def test_losing_the_race_for_the_next_version_is_refused(world: World) -> None:
    async def taken(analysis: NewAnalysis, version: int) -> Analysis:
        raise AnalysisVersionTakenError("someone else stored it")

    world.store.add_version = taken  # type: ignore[method-assign]

    with pytest.raises(OverrideRejectedError) as refused:
        await override(world, YES)

    assert refused.value.code == "analysis_version_moved"
    assert world.publisher.events == []


async def test_the_servicer_maps_refusals_to_statuses_and_codes(world: World) -> None:
    servicer = AnalysesServicer(world.service)
    context: Any = Context()

    reply = await servicer.OverrideCheck(
        analyses_pb2.OverrideCheckRequest(
            org_id=ORG,
            call_id="call-1",
            check_id=VERIFY,
            answer=analyses_pb2.CHECK_ANSWER_YES,
            comment="verified",
            reviewer="user-9",
        ),
        context,
    )
    assert (reply.version, reply.score, reply.reviewed_by) == (2, 100.0, "user-9")

    def request(**changes: Any) -> analyses_pb2.OverrideCheckRequest:
        message = analyses_pb2.OverrideCheckRequest(
            org_id=ORG,
            call_id="call-1",
            check_id=VERIFY,
            answer=analyses_pb2.CHECK_ANSWER_NO,
            comment="no",
            reviewer="user-9",
        )
        for name, value in changes.items():
            setattr(message, name, value)
        return message

    for message, status, code in (
        (request(org_id="org-2"), grpc.StatusCode.NOT_FOUND, None),
        (request(base_version=7), grpc.StatusCode.NOT_FOUND, None),
        (request(base_version=1), grpc.StatusCode.FAILED_PRECONDITION, "analysis_version_moved"),
        (request(check_id="nope"), grpc.StatusCode.INVALID_ARGUMENT, "unknown_check"),
        (request(answer=0), grpc.StatusCode.INVALID_ARGUMENT, "invalid_answer"),
        (request(comment=""), grpc.StatusCode.INVALID_ARGUMENT, "invalid_comment"),
    ):
        context.trailing = ()
        with pytest.raises(AbortedError) as aborted:
            await servicer.OverrideCheck(message, context)
        assert aborted.value.code == status, message
        assert dict(context.trailing).get("rejection-code") == code, message
    assert len(world.store.analyses) == 2


class AbortedError(Exception):
    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(details)
        self.code = code


class Context:
    """Aborts the way grpc.aio does (by raising) and keeps the trailing metadata."""

    def __init__(self) -> None:
        self.trailing: tuple[tuple[str, str], ...] = ()

    def set_trailing_metadata(self, metadata: tuple[tuple[str, str], ...]) -> None:
        self.trailing = metadata

    async def abort(self, code: grpc.StatusCode, details: str) -> None:
        raise AbortedError(code, details)
