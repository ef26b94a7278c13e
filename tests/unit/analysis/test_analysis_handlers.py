"""The analysis use cases with in-memory fakes of their ports, wired by `bootstrap`."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import grpc
import pytest
from callscope.v1 import analyses_pb2, common_pb2, directory_pb2, events_pb2
from callscope_analysis.bootstrap import AnalysisService, bootstrap
from callscope_analysis.domain.evaluator import PhraseEvaluator
from callscope_analysis.domain.model import (
    Campaign,
    CheckAnswer,
    CheckResult,
    EvaluatorKind,
    EvaluatorOutcome,
    Speaker,
    TokenUsage,
    Transcript,
)
from callscope_analysis.entrypoints.grpc import AnalysesServicer
from callscope_analysis.entrypoints.kafka import subscriptions
from callscope_analysis.ports import (
    CheckEvaluator,
    EvaluatorUnavailableError,
)
from callscope_common.events import new_header
from callscope_gateway.domain.default_checks import DEFAULT_CHECKS

from tests.support.analysis_fakes import (
    FakeAnalysisStore,
    FakeCampaignDirectory,
    FakePublisher,
    FakeTranscriptSource,
)
from tests.support.analysis_fakes import demo_campaign as support_campaign
from tests.support.scripts import COMPLIANT, NO_VERIFICATION

pytestmark = pytest.mark.unit

ORG = "org-1"
CAMPAIGN = "campaign-1"
NOW = dt.datetime(2026, 1, 15, 12, 0, tzinfo=dt.UTC)


# --- fakes of the ports: tests/support/analysis_fakes.py ------------------------------------


@dataclasses.dataclass
class World:
    """The fakes and the service wired to them."""

    transcripts: FakeTranscriptSource
    directory: FakeCampaignDirectory
    store: FakeAnalysisStore
    publisher: FakePublisher
    service: AnalysisService


def demo_campaign(campaign_id: str = CAMPAIGN) -> directory_pb2.Campaign:
    """The "Demo" campaign as the gateway's directory serves it."""
    return support_campaign(ORG, campaign_id)


@pytest.fixture
def world() -> World:
    transcripts = FakeTranscriptSource()
    directory = FakeCampaignDirectory()
    directory.add(ORG, demo_campaign())
    store = FakeAnalysisStore()
    publisher = FakePublisher()
    service = bootstrap(
        transcripts=transcripts,
        directory=directory,
        store=store,
        publisher=publisher,
        clock=lambda: NOW,
    )
    return World(transcripts, directory, store, publisher, service)


def transcribed(call_id: str, version: int = 1, campaign_id: str = CAMPAIGN) -> Any:
    return events_pb2.CallTranscribed(
        header=new_header(call_id, ORG, campaign_id),
        transcript_id=f"transcript-{call_id}-{version}",
        transcript_version=version,
    )


def statuses(publisher: FakePublisher) -> list[tuple[int, int, str]]:
    return [
        (event.status, event.stage, event.reason)
        for event in publisher.of_type(events_pb2.CallStatusChanged)
    ]


# --- analysing -------------------------------------------------------------------------------


async def test_a_transcribed_call_is_analysed_stored_and_announced(world: World) -> None:
    transcript = world.transcripts.add(ORG, "call-1", COMPLIANT)
    event = transcribed("call-1")

    await world.service.handle_call_transcribed(event)

    assert [type(e).__name__ for e in world.publisher.events] == [
        "CallStatusChanged",
        "CallAnalyzed",
    ]
    assert statuses(world.publisher) == [
        (common_pb2.CALL_STATUS_ANALYZING, common_pb2.STAGE_ANALYSIS, "")
    ]
    [stored] = world.store.analyses
    assert (stored.call_id, stored.org_id, stored.campaign_id) == ("call-1", ORG, CAMPAIGN)
    assert (stored.version, stored.transcript_version) == (1, 1)
    assert stored.source_event_id == event.header.event_id
    assert stored.evaluator == "local"
    assert stored.created_at == NOW
    assert (stored.score, stored.flagged, stored.flag_reasons) == (100.0, False, ())
    assert [r.check.id for r in stored.results] == [c.id for c in DEFAULT_CHECKS]
    assert all(r.answer is CheckAnswer.YES for r in stored.results)
    # The check definitions are copied in full, phrases and all.
    assert stored.results[0].check.phrases == DEFAULT_CHECKS[0].phrases
    assert stored.results[1].check.critical is True
    # The conversation figures are computed from the same transcript and stored with it.
    assert stored.conversation is not None
    talk = {party.speaker: party for party in stored.conversation.talk}
    assert set(talk) == {Speaker.AGENT, Speaker.CUSTOMER}
    for speaker, party in talk.items():
        spoken = [s for s in transcript.segments if s.speaker is speaker]
        assert party.words == sum(len(s.text.split()) for s in spoken)
        assert party.seconds == pytest.approx(sum(s.end - s.start for s in spoken), abs=0.05)

    [analyzed] = world.publisher.of_type(events_pb2.CallAnalyzed)
    assert analyzed.analysis_id == stored.id
    assert (analyzed.analysis_version, analyzed.transcript_version) == (1, 1)
    assert (analyzed.score, analyzed.flagged, list(analyzed.flag_reasons)) == (100.0, False, [])
    assert analyzed.header.call_id == "call-1"
    assert (analyzed.header.org_id, analyzed.header.campaign_id) == (ORG, CAMPAIGN)
    assert analyzed.header.event_id != event.header.event_id


async def test_a_call_without_verification_is_flagged_for_the_critical_check(
    world: World,
) -> None:
    world.transcripts.add(ORG, "call-2", NO_VERIFICATION)

    await world.service.handle_call_transcribed(transcribed("call-2"))

    [analyzed] = world.publisher.of_type(events_pb2.CallAnalyzed)
    assert analyzed.score == 70.0
    assert analyzed.flagged
    assert list(analyzed.flag_reasons) == ["critical check failed: Identity verification"]


async def test_a_redelivered_event_adds_no_version_and_announces_the_stored_one(
    world: World,
) -> None:
    world.transcripts.add(ORG, "call-1", COMPLIANT)
    event = transcribed("call-1")

    await world.service.handle_call_transcribed(event)
    await world.service.handle_call_transcribed(event)

    assert len(world.store.analyses) == 1
    first, second = world.publisher.of_type(events_pb2.CallAnalyzed)
    assert first.analysis_id == second.analysis_id == world.store.analyses[0].id
    assert first.analysis_version == second.analysis_version == 1
    # The status is not moved back to ANALYZING for a call already analysed.
    assert len(statuses(world.publisher)) == 1


async def test_a_crash_before_announcing_is_completed_by_the_redelivery(world: World) -> None:
    world.transcripts.add(ORG, "call-1", COMPLIANT)
    event = transcribed("call-1")
    world.publisher.fail_next = events_pb2.CallAnalyzed

    with pytest.raises(ConnectionError):
        await world.service.handle_call_transcribed(event)
    assert world.publisher.of_type(events_pb2.CallAnalyzed) == []

    await world.service.handle_call_transcribed(event)

    assert len(world.store.analyses) == 1
    [analyzed] = world.publisher.of_type(events_pb2.CallAnalyzed)
    assert analyzed.analysis_id == world.store.analyses[0].id


async def test_each_new_event_adds_a_version_and_keeps_the_old_ones(world: World) -> None:
    world.transcripts.add(ORG, "call-1", COMPLIANT)
    world.transcripts.add(ORG, "call-1", NO_VERIFICATION)

    await world.service.handle_call_transcribed(transcribed("call-1", version=1))
    await world.service.handle_call_transcribed(transcribed("call-1", version=2))

    first = await world.service.get_analysis(org_id=ORG, call_id="call-1", version=1)
    latest = await world.service.get_analysis(org_id=ORG, call_id="call-1", version=0)
    assert first is not None and latest is not None
    assert (first.version, first.transcript_version, first.score) == (1, 1, 100.0)
    assert (latest.version, latest.transcript_version, latest.flagged) == (2, 2, True)


async def test_a_requested_rerun_analyses_the_latest_transcript(world: World) -> None:
    world.transcripts.add(ORG, "call-1", NO_VERIFICATION)
    world.transcripts.add(ORG, "call-1", COMPLIANT)

    await world.service.handle_analysis_requested(
        events_pb2.AnalysisRequested(header=new_header("call-1", ORG, CAMPAIGN))
    )

    [stored] = world.store.analyses
    assert stored.transcript_version == 2
    assert stored.score == 100.0
    [analyzed] = world.publisher.of_type(events_pb2.CallAnalyzed)
    assert analyzed.transcript_version == 2


async def test_later_check_edits_do_not_change_a_stored_analysis(world: World) -> None:
    world.transcripts.add(ORG, "call-1", COMPLIANT)
    await world.service.handle_call_transcribed(transcribed("call-1"))

    edited = demo_campaign()
    edited.checks[0].name = "Renamed greeting"
    edited.checks[0].weight = 99
    world.directory.add(ORG, edited)
    await world.service.handle_call_transcribed(transcribed("call-1"))

    first = await world.service.get_analysis(org_id=ORG, call_id="call-1", version=1)
    second = await world.service.get_analysis(org_id=ORG, call_id="call-1", version=2)
    assert first is not None and second is not None
    assert (first.results[0].check.name, first.results[0].check.weight) == ("Greeting", 15.0)
    assert (second.results[0].check.name, second.results[0].check.weight) == (
        "Renamed greeting",
        99.0,
    )


# --- failures --------------------------------------------------------------------------------


async def test_a_missing_transcript_fails_the_call_with_a_reason(world: World) -> None:
    await world.service.handle_call_transcribed(transcribed("call-9", version=3))

    assert world.store.analyses == []
    assert world.publisher.of_type(events_pb2.CallAnalyzed) == []
    assert statuses(world.publisher) == [
        (common_pb2.CALL_STATUS_ANALYZING, common_pb2.STAGE_ANALYSIS, ""),
        (
            common_pb2.CALL_STATUS_FAILED,
            common_pb2.STAGE_ANALYSIS,
            "transcript version 3 of this call was not found; "
            "run the transcription again, then the analysis",
        ),
    ]


async def test_a_missing_campaign_fails_the_call_with_a_reason(world: World) -> None:
    world.transcripts.add(ORG, "call-1", COMPLIANT)

    await world.service.handle_call_transcribed(transcribed("call-1", campaign_id="gone"))

    assert world.store.analyses == []
    *_, failed = statuses(world.publisher)
    assert failed[:2] == (common_pb2.CALL_STATUS_FAILED, common_pb2.STAGE_ANALYSIS)
    assert failed[2] == "the call's campaign gone was not found; it may have been deleted"


async def test_a_campaign_without_checks_fails_the_call(world: World) -> None:
    world.transcripts.add(ORG, "call-1", COMPLIANT)
    empty = demo_campaign("empty")
    del empty.checks[:]
    world.directory.add(ORG, empty)

    await world.service.handle_call_transcribed(transcribed("call-1", campaign_id="empty"))

    assert world.store.analyses == []
    *_, failed = statuses(world.publisher)
    assert failed[0] == common_pb2.CALL_STATUS_FAILED
    assert failed[2].startswith("the campaign has no quality checks")


async def test_an_unavailable_peer_raises_so_the_consumer_retries(world: World) -> None:
    world.transcripts.add(ORG, "call-1", COMPLIANT)
    world.transcripts.unavailable = ConnectionError("transcription is unavailable")

    with pytest.raises(ConnectionError):
        await world.service.handle_call_transcribed(transcribed("call-1"))

    assert world.store.analyses == []
    assert world.publisher.of_type(events_pb2.CallAnalyzed) == []
    assert all(s[0] != common_pb2.CALL_STATUS_FAILED for s in statuses(world.publisher))


# --- deleting and reading --------------------------------------------------------------------


async def test_a_deleted_call_loses_every_analysis_version(world: World) -> None:
    world.transcripts.add(ORG, "call-1", COMPLIANT)
    world.transcripts.add(ORG, "call-2", COMPLIANT)
    await world.service.handle_call_transcribed(transcribed("call-1"))
    await world.service.handle_call_transcribed(transcribed("call-1"))
    await world.service.handle_call_transcribed(transcribed("call-2"))

    await world.service.handle_call_deleted(
        events_pb2.CallDeleted(header=new_header("call-1", ORG, CAMPAIGN))
    )
    await world.service.handle_call_deleted(
        events_pb2.CallDeleted(header=new_header("call-1", ORG, CAMPAIGN))
    )

    assert await world.service.get_analysis(org_id=ORG, call_id="call-1", version=0) is None
    assert await world.service.get_analysis(org_id=ORG, call_id="call-2", version=0) is not None


async def test_reading_is_scoped_to_the_organisation(world: World) -> None:
    world.transcripts.add(ORG, "call-1", COMPLIANT)
    await world.service.handle_call_transcribed(transcribed("call-1"))

    assert await world.service.get_analysis(org_id=ORG, call_id="call-1", version=1)
    assert await world.service.get_analysis(org_id="org-2", call_id="call-1", version=0) is None
    assert await world.service.get_analysis(org_id=ORG, call_id="call-1", version=2) is None
    assert await world.service.get_analysis(org_id=ORG, call_id="call-1", version=-1) is None
    assert await world.service.get_analysis(org_id="", call_id="call-1", version=0) is None


# --- entrypoints -----------------------------------------------------------------------------


class AbortedError(Exception):
    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(details)
        self.code = code
        self.details = details


class FakeServicerContext:
    """Aborts the way grpc.aio does: by raising."""

    async def abort(self, code: grpc.StatusCode, details: str) -> None:
        raise AbortedError(code, details)


async def test_the_servicer_returns_an_analysis_or_not_found(world: World) -> None:
    world.transcripts.add(ORG, "call-1", NO_VERIFICATION)
    await world.service.handle_call_transcribed(transcribed("call-1"))
    servicer = AnalysesServicer(world.service)
    context: Any = FakeServicerContext()

    reply = await servicer.GetAnalysis(
        analyses_pb2.GetAnalysisRequest(org_id=ORG, call_id="call-1"), context
    )
    assert (reply.call_id, reply.org_id, reply.version, reply.evaluator) == (
        "call-1",
        ORG,
        1,
        "local",
    )
    assert reply.flagged and reply.score == 70.0
    verification = reply.results[1]
    assert verification.check.id == "identity_verification"
    assert verification.check.critical
    assert verification.answer == analyses_pb2.CHECK_ANSWER_NO
    assert not verification.HasField("evidence")
    greeting = reply.results[0]
    assert greeting.answer == analyses_pb2.CHECK_ANSWER_YES
    assert greeting.evidence.speaker == common_pb2.SPEAKER_AGENT
    assert greeting.evidence.quote.startswith("Good afternoon")
    assert reply.created_at.ToDatetime(dt.UTC) == NOW

    for request, code in (
        (analyses_pb2.GetAnalysisRequest(org_id="org-2", call_id="call-1"), "NOT_FOUND"),
        (analyses_pb2.GetAnalysisRequest(org_id=ORG, call_id="call-1", version=5), "NOT_FOUND"),
        (analyses_pb2.GetAnalysisRequest(org_id=ORG, call_id="nope"), "NOT_FOUND"),
        (analyses_pb2.GetAnalysisRequest(call_id="call-1"), "INVALID_ARGUMENT"),
        (
            analyses_pb2.GetAnalysisRequest(org_id=ORG, call_id="call-1", version=-1),
            "INVALID_ARGUMENT",
        ),
    ):
        with pytest.raises(AbortedError) as aborted:
            await servicer.GetAnalysis(request, context)
        assert aborted.value.code.name == code, request


async def test_the_subscriptions_route_each_topic_to_its_handler(world: World) -> None:
    routes = {subscription.topic: subscription for subscription in subscriptions(world.service)}
    assert set(routes) == {"calls.transcribed", "analysis.requested", "calls.deleted"}

    world.transcripts.add(ORG, "call-1", COMPLIANT)
    await routes["calls.transcribed"].handler(transcribed("call-1"))
    assert len(world.store.analyses) == 1
    await routes["calls.deleted"].handler(
        events_pb2.CallDeleted(header=new_header("call-1", ORG, CAMPAIGN))
    )
    assert world.store.analyses == []


# --- evaluators per campaign ------------------------------------------------------------------


class ScriptedEvaluator:
    """A Claude-like evaluator that answers every check YES at a fixed cost, or fails."""

    name = "claude"

    def __init__(self, failure: EvaluatorUnavailableError | None = None) -> None:
        self.failure = failure
        self.calls: list[tuple[str, str]] = []

    async def assess(self, transcript: Transcript, campaign: Campaign) -> EvaluatorOutcome:
        self.calls.append((transcript.call_id, campaign.claude_model))
        if self.failure is not None:
            raise self.failure
        results = tuple(
            CheckResult(check, CheckAnswer.YES, True, 0.9, None, "scripted")
            for check in campaign.checks
        )
        usage = TokenUsage(model=campaign.claude_model, input_tokens=10, requests=1, cost_usd=0.01)
        return EvaluatorOutcome(self.name, results, usage)


def claude_world(world: World, evaluator: ScriptedEvaluator | None) -> AnalysisService:
    campaign = demo_campaign("claude-campaign")
    campaign.evaluator = directory_pb2.EVALUATOR_CLAUDE
    campaign.claude_model = "claude-haiku-4-5"
    world.directory.add(ORG, campaign)
    evaluators: dict[EvaluatorKind, CheckEvaluator] = {EvaluatorKind.LOCAL: PhraseEvaluator()}
    if evaluator is not None:
        evaluators[EvaluatorKind.CLAUDE] = evaluator
    return bootstrap(
        transcripts=world.transcripts,
        directory=world.directory,
        store=world.store,
        publisher=world.publisher,
        evaluators=evaluators,
        clock=lambda: NOW,
    )


async def test_a_claude_campaign_is_answered_by_claude_with_its_model_and_usage_kept(
    world: World,
) -> None:
    evaluator = ScriptedEvaluator()
    service = claude_world(world, evaluator)
    world.transcripts.add(ORG, "call-1", NO_VERIFICATION)
    world.transcripts.add(ORG, "call-2", COMPLIANT)

    await service.handle_call_transcribed(transcribed("call-1", campaign_id="claude-campaign"))
    await service.handle_call_transcribed(transcribed("call-2"))  # the local campaign

    assert evaluator.calls == [("call-1", "claude-haiku-4-5")]
    claude, local = world.store.analyses
    assert (claude.evaluator, claude.score) == ("claude", 100.0)
    assert claude.usage == TokenUsage(
        "claude-haiku-4-5", input_tokens=10, requests=1, cost_usd=0.01
    )
    assert (local.evaluator, local.usage) == ("local", None)


async def test_a_claude_campaign_without_a_key_on_the_deployment_fails_with_what_to_do(
    world: World,
) -> None:
    service = claude_world(world, None)
    world.transcripts.add(ORG, "call-1", COMPLIANT)

    await service.handle_call_transcribed(transcribed("call-1", campaign_id="claude-campaign"))

    assert world.store.analyses == []
    failed = statuses(world.publisher)[-1]
    assert failed[0] == common_pb2.CALL_STATUS_FAILED
    assert "ANALYSIS_ANTHROPIC_API_KEY" in failed[2] and "switch" in failed[2]


async def test_an_evaluator_that_cannot_answer_fails_the_call_with_its_reason(world: World) -> None:
    reason = "Claude is unavailable (HTTP 529 after 5 attempts): try again later"
    service = claude_world(
        world, ScriptedEvaluator(EvaluatorUnavailableError(reason, "overloaded"))
    )
    world.transcripts.add(ORG, "call-1", COMPLIANT)

    await service.handle_call_transcribed(transcribed("call-1", campaign_id="claude-campaign"))

    assert world.store.analyses == []
    assert statuses(world.publisher)[-1] == (
        common_pb2.CALL_STATUS_FAILED,
        common_pb2.STAGE_ANALYSIS,
        reason,
    )
    assert world.publisher.of_type(events_pb2.CallAnalyzed) == []


# --- history and diff --------------------------------------------------------------------------


async def test_versions_are_listed_newest_first_and_compared_check_by_check(world: World) -> None:
    world.transcripts.add(ORG, "call-1", NO_VERIFICATION)
    await world.service.handle_call_transcribed(transcribed("call-1"))
    world.transcripts.add(ORG, "call-1", COMPLIANT)  # a re-transcription that now verifies
    await world.service.handle_call_transcribed(transcribed("call-1", version=2))
    servicer = AnalysesServicer(world.service)
    context: Any = FakeServicerContext()

    listed = await servicer.ListAnalyses(
        analyses_pb2.ListAnalysesRequest(org_id=ORG, call_id="call-1"), context
    )
    diff = await servicer.CompareAnalyses(
        analyses_pb2.CompareAnalysesRequest(org_id=ORG, call_id="call-1", from_version=1), context
    )

    assert [(a.version, a.transcript_version, a.flagged) for a in listed.analyses] == [
        (2, 2, False),
        (1, 1, True),
    ]
    assert (getattr(diff, "from").version, diff.to.version) == (1, 2)
    [change] = diff.changes
    assert change.check_id == "identity_verification" and change.answer_changed
    assert (change.before.answer, change.after.answer) == (
        analyses_pb2.CHECK_ANSWER_NO,
        analyses_pb2.CHECK_ANSWER_YES,
    )
    assert diff.unchanged == len(DEFAULT_CHECKS) - 1

    other_org = await servicer.ListAnalyses(
        analyses_pb2.ListAnalysesRequest(org_id="org-2", call_id="call-1"), context
    )
    assert list(other_org.analyses) == []
    for request, code in (
        (
            analyses_pb2.CompareAnalysesRequest(org_id="org-2", call_id="call-1", from_version=1),
            "NOT_FOUND",
        ),
        (
            analyses_pb2.CompareAnalysesRequest(
                org_id=ORG, call_id="call-1", from_version=1, to_version=9
            ),
            "NOT_FOUND",
        ),
        (analyses_pb2.CompareAnalysesRequest(org_id=ORG, call_id="call-1"), "INVALID_ARGUMENT"),
    ):
        with pytest.raises(AbortedError) as aborted:
            await servicer.CompareAnalyses(request, context)
        assert aborted.value.code.name == code, request
