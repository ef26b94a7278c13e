"""Bulk re-analysis through the Message Batches API: queueing, one batch per round, results
stored as batched versions, fallbacks; the runner talks to the Anthropic stand-in through
the real SDK, the other ports are in-memory fakes."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import itertools
import json
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import anthropic
import pytest
from callscope.v1 import common_pb2, events_pb2
from callscope_analysis.adapters.claude import ClaudeConfig, ClaudeEvaluator
from callscope_analysis.adapters.claude_batches import ClaudeBatches
from callscope_analysis.batch_runner import BatchRunner
from callscope_analysis.bootstrap import AnalysisService, bootstrap
from callscope_analysis.domain.batches import BatchItemStatus
from callscope_analysis.domain.evaluator import PhraseEvaluator
from callscope_analysis.domain.model import (
    Analysis,
    Campaign,
    Check,
    CheckAnswer,
    EvaluatorKind,
    Speaker,
)
from callscope_analysis.domain.pricing import cost_usd
from callscope_analysis.ports import CheckEvaluator
from callscope_common.events import new_header

from tests.support.analysis_fakes import (
    FakeAnalysisStore,
    FakeBatchItemStore,
    FakeCampaignDirectory,
    FakePublisher,
    FakeTranscriptSource,
)
from tests.support.fake_anthropic import BATCHES, MESSAGES, Answer, FakeAnthropic
from tests.support.polling import wait_for
from tests.support.scripts import COMPLIANT, NO_EMPATHY, NO_VERIFICATION

pytestmark = pytest.mark.unit

ORG = "org-1"
CAMPAIGN = "claude-campaign"
LOCAL_CAMPAIGN = "local-campaign"
MODEL = "claude-sonnet-4-6"
NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
CHECKS = (
    Check("greeting", "Greeting", "Did the agent greet the customer?", weight=20.0),
    Check("identity", "Identity", "Did the agent verify the customer?", weight=20.0),
    Check("empathy", "Empathy", "Did the agent acknowledge the problem?", weight=20.0),
    Check("further_help", "Further help", "Did the agent offer more help?", weight=20.0),
    Check("closing", "Closing", "Did the agent close politely?", weight=20.0),
)
CHECK_IDS = [check.id for check in CHECKS]
for_agent = [dataclasses.replace(check, speaker=Speaker.AGENT) for check in CHECKS]
CLAUDE = Campaign(
    CAMPAIGN, "Claude QA", 70.0, tuple(for_agent), EvaluatorKind.CLAUDE, claude_model=MODEL
)
# Markers that tell the scripted model which call it reads (each in one script only).
COMPLIANT_MARKER = "My name is Sam"
NO_VERIFICATION_MARKER = "Blue Mobile"


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeAnthropic]:
    """One stand-in for the module, reset before each test."""
    with FakeAnthropic() as server:
        yield server


@pytest.fixture(autouse=True)
def _clean(fake: FakeAnthropic) -> None:
    fake.reset()
    fake.batch_polls_until_end = 1
    fake.reverse_batch_results = False


@dataclasses.dataclass
class World:
    """The fakes, the service that queues and the runner that submits and collects."""

    transcripts: FakeTranscriptSource
    directory: FakeCampaignDirectory
    store: FakeAnalysisStore
    publisher: FakePublisher
    queue: FakeBatchItemStore
    service: AnalysisService
    runner: BatchRunner
    client: anthropic.AsyncAnthropic

    def runner_for(self, queue: FakeBatchItemStore) -> BatchRunner:
        """Another replica's runner over the same data."""
        return dataclasses.replace(self.runner, queue=queue)


def ticking_clock() -> Callable[[], dt.datetime]:
    """A second later on every reading, starting at NOW: calls queue in the order asked."""
    readings = itertools.count()
    return lambda: NOW + dt.timedelta(seconds=next(readings))


async def no_wait(_: float) -> None:
    """The immediate evaluator's retries do not wait in tests."""


def make_world(fake: FakeAnthropic, checks_per_request: int) -> World:
    client = anthropic.AsyncAnthropic(base_url=fake.base_url, api_key=fake.api_key, max_retries=0)
    config = ClaudeConfig(
        default_model="claude-haiku-4-5", checks_per_request=checks_per_request, max_attempts=2
    )
    claude = ClaudeEvaluator(client=client, config=config, sleep=no_wait)
    evaluators: dict[EvaluatorKind, CheckEvaluator] = {
        EvaluatorKind.LOCAL: PhraseEvaluator(),
        EvaluatorKind.CLAUDE: claude,
    }
    transcripts, directory = FakeTranscriptSource(), FakeCampaignDirectory()
    store, publisher, queue = FakeAnalysisStore(), FakePublisher(), FakeBatchItemStore()
    directory.campaigns[(ORG, CAMPAIGN)] = CLAUDE
    directory.campaigns[(ORG, LOCAL_CAMPAIGN)] = dataclasses.replace(
        CLAUDE, id=LOCAL_CAMPAIGN, evaluator=EvaluatorKind.LOCAL
    )
    service = bootstrap(
        transcripts=transcripts,
        directory=directory,
        store=store,
        publisher=publisher,
        evaluators=evaluators,
        clock=ticking_clock(),
        batch_queue=queue,
    )
    runner = BatchRunner(
        batches=ClaudeBatches(client=client, config=config),
        queue=queue,
        transcripts=transcripts,
        directory=directory,
        store=store,
        publisher=publisher,
        fallback=claude,
        evaluators=evaluators,
        interval_s=0.05,
        clock=lambda: NOW,
    )
    return World(transcripts, directory, store, publisher, queue, service, runner, client)


@pytest.fixture
async def world(fake: FakeAnthropic) -> AsyncIterator[World]:
    """Two checks per request: the five checks of a call make three requests."""
    built = make_world(fake, checks_per_request=2)
    yield built
    await built.client.close()


@pytest.fixture
async def one_request_world(fake: FakeAnthropic) -> AsyncIterator[World]:
    """All five checks in one request: request n of a batch is call n."""
    built = make_world(fake, checks_per_request=5)
    yield built
    await built.client.close()


def rerun(call_id: str, campaign_id: str = CAMPAIGN, *, batch: bool = True) -> Any:
    return events_pb2.AnalysisRequested(
        header=new_header(call_id, ORG, campaign_id), transcript_version=0, prefer_batch=batch
    )


def statuses(publisher: FakePublisher) -> list[tuple[str, int, str]]:
    return [
        (event.header.call_id, event.status, event.reason)
        for event in publisher.of_type(events_pb2.CallStatusChanged)
    ]


def analysis_of(world: World, call_id: str) -> Analysis:
    [found] = [a for a in world.store.analyses if a.call_id == call_id]
    return found


def answers(analysis: Analysis) -> dict[str, CheckAnswer]:
    return {result.check.id: result.answer for result in analysis.results}


def batch_requests(fake: FakeAnthropic) -> list[dict[str, Any]]:
    """Every request sent in the batches created so far."""
    created = [r for r in fake.requests(BATCHES) if r.method == "POST"]
    return [request for r in created for request in r.json["requests"]]


async def queue_three_calls(world: World) -> list[Any]:
    world.transcripts.add(ORG, "call-1", COMPLIANT)
    world.transcripts.add(ORG, "call-2", NO_VERIFICATION)
    world.transcripts.add(ORG, "call-2", NO_VERIFICATION)  # re-transcribed: version 2
    world.transcripts.add(ORG, "call-3", NO_EMPATHY)
    events = [rerun("call-1"), rerun("call-2"), rerun("call-3")]
    for event in events:
        await world.service.handle_analysis_requested(event)
    return events


# --- queueing -------------------------------------------------------------------------------


async def test_a_batch_rerun_is_queued_with_its_transcript_version_not_answered(
    world: World, fake: FakeAnthropic
) -> None:
    events = await queue_three_calls(world)

    assert world.store.analyses == []
    assert fake.requests() == []
    assert statuses(world.publisher) == [
        (call, common_pb2.CALL_STATUS_ANALYZING, "") for call in ("call-1", "call-2", "call-3")
    ]
    items = [world.queue.items[event.header.event_id] for event in events]
    assert [(i.call_id, i.transcript_version, i.status) for i in items] == [
        ("call-1", 1, BatchItemStatus.QUEUED),
        ("call-2", 2, BatchItemStatus.QUEUED),
        ("call-3", 1, BatchItemStatus.QUEUED),
    ]
    assert {(i.org_id, i.campaign_id, i.model) for i in items} == {(ORG, CAMPAIGN, MODEL)}
    assert items[0].created_at < items[1].created_at < items[2].created_at


async def test_a_redelivered_event_queues_nothing_twice(world: World) -> None:
    world.transcripts.add(ORG, "call-1", COMPLIANT)
    event = rerun("call-1")

    await world.service.handle_analysis_requested(event)
    await world.service.handle_analysis_requested(event)

    assert list(world.queue.items) == [event.header.event_id]
    assert len(statuses(world.publisher)) == 1

    await world.runner.run_once()
    await world.runner.run_once()
    await world.service.handle_analysis_requested(event)  # once more, after it was answered

    assert len(world.store.analyses) == 1
    assert len(world.queue.items) == 1
    first, again = world.publisher.of_type(events_pb2.CallAnalyzed)
    assert first.analysis_id == again.analysis_id == world.store.analyses[0].id


async def test_without_batch_or_for_a_local_campaign_the_analysis_runs_at_once(
    world: World, fake: FakeAnthropic
) -> None:
    world.transcripts.add(ORG, "call-1", COMPLIANT)
    world.transcripts.add(ORG, "call-2", COMPLIANT)

    await world.service.handle_analysis_requested(rerun("call-1", batch=False))
    await world.service.handle_analysis_requested(rerun("call-2", LOCAL_CAMPAIGN))

    assert world.queue.items == {}
    assert (analysis_of(world, "call-1").evaluator, analysis_of(world, "call-2").evaluator) == (
        "claude",
        "local",
    )
    assert len(fake.requests(MESSAGES)) == 3  # call-1's three chunks, at once
    usage = analysis_of(world, "call-1").usage
    assert usage is not None and not usage.batched


# --- submitting and collecting ----------------------------------------------------------------


async def test_three_queued_calls_go_in_one_batch_and_come_back_as_batched_versions(
    world: World, fake: FakeAnthropic
) -> None:
    events = await queue_three_calls(world)

    await world.runner.run_once()

    [batch_id] = fake.batch_ids()
    sent = batch_requests(fake)
    # One request per (call, chunk of two checks): three calls x three chunks.
    assert [r["custom_id"] for r in sent] == [f"{i}-{c}" for i in range(3) for c in range(3)]
    assert {r["params"]["model"] for r in sent} == {MODEL}
    assert COMPLIANT_MARKER in json.dumps(sent[0]["params"]["messages"])
    items = [world.queue.items[event.header.event_id] for event in events]
    assert {i.status for i in items} == {BatchItemStatus.SUBMITTED}
    assert [i.submission.batch_id if i.submission else "" for i in items] == [batch_id] * 3
    assert world.store.analyses == []

    await world.runner.run_once()

    assert len(fake.batch_ids()) == 1
    assert fake.requests(MESSAGES) == []
    assert {i.status for i in world.queue.items.values()} == {BatchItemStatus.DONE}
    usage_by_call: dict[int, list[Any]] = {}
    for entry in fake.usage_log():
        assert entry.custom_id is not None
        usage_by_call.setdefault(int(entry.custom_id.split("-")[0]), []).append(entry)
    for index, (call_id, transcript_version) in enumerate(
        [("call-1", 1), ("call-2", 2), ("call-3", 1)]
    ):
        stored = analysis_of(world, call_id)
        assert stored.source_event_id == events[index].header.event_id
        assert (stored.evaluator, stored.version) == ("claude", 1)
        assert stored.transcript_version == transcript_version
        assert [r.check.id for r in stored.results] == CHECK_IDS
        assert stored.created_at == NOW
        usage = stored.usage
        assert usage is not None
        entries = usage_by_call[index]
        assert (usage.model, usage.batched, usage.requests) == (MODEL, True, 3)
        assert usage.input_tokens == sum(e.input_tokens for e in entries)
        assert usage.output_tokens == sum(e.output_tokens for e in entries)
        list_price = cost_usd(
            MODEL,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cache_creation_input_tokens=usage.cache_creation_input_tokens,
            cache_read_input_tokens=usage.cache_read_input_tokens,
        )
        assert list_price is not None and usage.cost_usd == pytest.approx(list_price / 2, abs=1e-6)
    analyzed = world.publisher.of_type(events_pb2.CallAnalyzed)
    assert {(a.header.call_id, a.analysis_id) for a in analyzed} == {
        (a.call_id, a.id) for a in world.store.analyses
    }
    assert {a.transcript_version for a in analyzed} == {1, 2}


async def test_a_batch_still_processing_is_collected_once_it_has_ended(
    world: World, fake: FakeAnthropic
) -> None:
    fake.batch_polls_until_end = 2
    await queue_three_calls(world)

    await world.runner.run_once()  # submits
    await world.runner.run_once()  # first look: still processing

    assert world.store.analyses == []
    assert {i.status for i in world.queue.items.values()} == {BatchItemStatus.SUBMITTED}

    await world.runner.run_once()

    assert len(world.store.analyses) == 3
    assert len(fake.batch_ids()) == 1


async def test_results_in_reverse_order_still_go_to_their_calls(
    world: World, fake: FakeAnthropic
) -> None:
    fake.reverse_batch_results = True
    fake.script(COMPLIANT_MARKER, {"greeting": Answer("NO"), "closing": Answer("NO")})
    fake.script(NO_VERIFICATION_MARKER, {"identity": Answer("NO")})
    await queue_three_calls(world)

    await world.runner.run_once()
    await world.runner.run_once()

    compliant, no_verification, no_empathy = (
        analysis_of(world, call) for call in ("call-1", "call-2", "call-3")
    )
    no = CheckAnswer.NO
    assert [k for k, v in answers(compliant).items() if v is no] == ["greeting", "closing"]
    assert [k for k, v in answers(no_verification).items() if v is no] == ["identity"]
    assert no in answers(compliant).values() and no not in answers(no_empathy).values()
    # The default answers quote each call's own first line, found in its own transcript.
    for analysis, script in ((compliant, COMPLIANT), (no_empathy, NO_EMPATHY)):
        [evidence] = {r.evidence.quote for r in analysis.results if r.evidence is not None}
        assert evidence == script.dialogue.lines[0].text
        assert not any(r.needs_review for r in analysis.results)


async def test_a_hallucinated_quote_is_marked_for_review(world: World, fake: FakeAnthropic) -> None:
    fake.script(
        COMPLIANT_MARKER,
        {"empathy": Answer("YES", quote="I completely understand how upsetting that must be")},
    )
    world.transcripts.add(ORG, "call-1", COMPLIANT)
    await world.service.handle_analysis_requested(rerun("call-1"))

    await world.runner.run_once()
    await world.runner.run_once()

    stored = analysis_of(world, "call-1")
    [empathy] = [r for r in stored.results if r.check.id == "empathy"]
    assert (empathy.needs_review, empathy.passed, empathy.evidence) == (True, False, None)
    assert "not in the transcript" in empathy.review_reason
    assert stored.score == 80.0 and stored.flagged
    assert any("check needs review: Empathy" in reason for reason in stored.flag_reasons)


async def test_later_check_edits_do_not_change_a_submitted_analysis(
    world: World, fake: FakeAnthropic
) -> None:
    world.transcripts.add(ORG, "call-1", COMPLIANT)
    await world.service.handle_analysis_requested(rerun("call-1"))
    await world.runner.run_once()

    edited = dataclasses.replace(CLAUDE, checks=(CHECKS[0],), flag_threshold=99.0)
    world.directory.campaigns[(ORG, CAMPAIGN)] = edited
    await world.runner.run_once()

    stored = analysis_of(world, "call-1")
    assert [r.check.id for r in stored.results] == CHECK_IDS
    assert all(r.check.speaker is Speaker.AGENT for r in stored.results)
    assert (stored.score, stored.flagged) == (100.0, False)


# --- fallbacks and failures -------------------------------------------------------------------


async def test_an_errored_and_an_expired_request_fall_back_to_the_immediate_path(
    one_request_world: World, fake: FakeAnthropic
) -> None:
    world = one_request_world
    fake.batch_error_next(1, "api_error", "Internal server error")
    fake.batch_expire_next(1)
    await queue_three_calls(world)

    await world.runner.run_once()
    await world.runner.run_once()

    assert len(fake.batch_ids()) == 1
    # The errored call-1 and the expired call-2 were asked again at once, one request each.
    assert len(fake.requests(MESSAGES)) == 2
    assert {i.status for i in world.queue.items.values()} == {BatchItemStatus.DONE}
    batched = {
        call: (analysis_of(world, call).usage or pytest.fail("no usage")).batched
        for call in ("call-1", "call-2", "call-3")
    }
    assert batched == {"call-1": False, "call-2": False, "call-3": True}
    for call in ("call-1", "call-2"):
        stored = analysis_of(world, call)
        assert stored.evaluator == "claude" and stored.usage is not None
        assert stored.usage.requests == 1
        assert [r.check.id for r in stored.results] == CHECK_IDS
    assert len(world.publisher.of_type(events_pb2.CallAnalyzed)) == 3
    assert common_pb2.CALL_STATUS_FAILED not in {s for _, s, _ in statuses(world.publisher)}


async def test_an_answer_out_of_shape_falls_back_and_counts_what_the_batch_cost(
    one_request_world: World, fake: FakeAnthropic
) -> None:
    world = one_request_world
    fake.malformed_next(1)
    world.transcripts.add(ORG, "call-1", COMPLIANT)
    await world.service.handle_analysis_requested(rerun("call-1"))

    await world.runner.run_once()
    await world.runner.run_once()

    stored = analysis_of(world, "call-1")
    usage = stored.usage
    assert usage is not None
    batch_entry, direct_entry = fake.usage_log()
    assert (batch_entry.path, direct_entry.path) == (BATCHES, MESSAGES)
    # The batch request's tokens are paid for too: both count, no longer all at half price.
    assert (usage.requests, usage.batched) == (2, False)
    assert usage.output_tokens == batch_entry.output_tokens + direct_entry.output_tokens
    assert all(r.answer is CheckAnswer.YES for r in stored.results)


async def test_when_the_immediate_path_fails_too_the_call_fails_with_the_reason(
    one_request_world: World, fake: FakeAnthropic
) -> None:
    world = one_request_world
    fake.batch_error_next(1)
    fake.fail_next(529, count=2, path=MESSAGES)
    world.transcripts.add(ORG, "call-1", COMPLIANT)
    event = rerun("call-1")
    await world.service.handle_analysis_requested(event)

    await world.runner.run_once()
    await world.runner.run_once()

    assert world.store.analyses == []
    call, status, reason = statuses(world.publisher)[-1]
    assert (call, status) == ("call-1", common_pb2.CALL_STATUS_FAILED)
    assert reason.startswith("Claude is unavailable (HTTP 529 after 2 attempts)")
    item = world.queue.items[event.header.event_id]
    assert (item.status, item.outcome) == (BatchItemStatus.DONE, reason)


async def test_a_batch_the_api_cannot_take_now_is_sent_at_the_next_round(
    world: World, fake: FakeAnthropic
) -> None:
    fake.fail_next(529, path=BATCHES)
    await queue_three_calls(world)

    await world.runner.run_once()

    assert fake.batch_ids() == []
    assert {i.status for i in world.queue.items.values()} == {BatchItemStatus.QUEUED}

    await world.runner.run_once()
    await world.runner.run_once()

    assert len(fake.batch_ids()) == 1
    assert len(world.store.analyses) == 3


async def test_a_batch_the_api_refuses_is_analysed_at_once(
    one_request_world: World, fake: FakeAnthropic
) -> None:
    world = one_request_world
    fake.fail_next(413, path=BATCHES)
    await queue_three_calls(world)

    await world.runner.run_once()

    assert fake.batch_ids() == []
    assert len(fake.requests(MESSAGES)) == 3
    assert {a.usage.batched if a.usage else None for a in world.store.analyses} == {False}
    assert {i.status for i in world.queue.items.values()} == {BatchItemStatus.DONE}


async def test_a_batch_the_api_no_longer_knows_is_analysed_at_once(
    one_request_world: World, fake: FakeAnthropic
) -> None:
    world = one_request_world
    await queue_three_calls(world)
    await world.runner.run_once()
    fake.reset()  # forgets the batch: retrieving it answers 404

    await world.runner.run_once()

    assert len(fake.requests(MESSAGES)) == 3
    assert len(world.store.analyses) == 3
    assert {i.status for i in world.queue.items.values()} == {BatchItemStatus.DONE}


async def test_a_transcript_or_campaign_gone_before_submission_fails_with_the_usual_reason(
    world: World, fake: FakeAnthropic
) -> None:
    world.transcripts.add(ORG, "call-1", COMPLIANT)
    world.transcripts.add(ORG, "call-2", COMPLIANT)
    world.directory.campaigns[(ORG, "doomed")] = dataclasses.replace(CLAUDE, id="doomed")
    await world.service.handle_analysis_requested(rerun("call-1"))
    await world.service.handle_analysis_requested(rerun("call-2", "doomed"))
    del world.transcripts.transcripts[(ORG, "call-1")]
    del world.directory.campaigns[(ORG, "doomed")]

    await world.runner.run_once()

    assert fake.batch_ids() == []
    failures = {
        call: reason
        for call, status, reason in statuses(world.publisher)
        if status == common_pb2.CALL_STATUS_FAILED
    }
    assert failures == {
        "call-1": "transcript version 1 of this call was not found; run the transcription "
        "again, then the analysis",
        "call-2": "the call's campaign doomed was not found; it may have been deleted",
    }
    assert {i.status for i in world.queue.items.values()} == {BatchItemStatus.DONE}


async def test_a_campaign_switched_to_local_while_waiting_is_analysed_at_once(
    world: World, fake: FakeAnthropic
) -> None:
    world.transcripts.add(ORG, "call-1", COMPLIANT)
    await world.service.handle_analysis_requested(rerun("call-1"))
    world.directory.campaigns[(ORG, CAMPAIGN)] = dataclasses.replace(
        CLAUDE, evaluator=EvaluatorKind.LOCAL
    )

    await world.runner.run_once()

    assert fake.batch_ids() == []
    assert analysis_of(world, "call-1").evaluator == "local"
    assert {i.status for i in world.queue.items.values()} == {BatchItemStatus.DONE}


async def test_a_crash_between_storing_and_marking_done_adds_no_second_version(
    world: World, fake: FakeAnthropic
) -> None:
    world.transcripts.add(ORG, "call-1", COMPLIANT)
    event = rerun("call-1")
    await world.service.handle_analysis_requested(event)
    await world.runner.run_once()
    world.publisher.fail_next = events_pb2.CallAnalyzed

    await world.runner.run_once()  # stored, then the announcement fails

    assert len(world.store.analyses) == 1
    assert world.queue.items[event.header.event_id].status is BatchItemStatus.SUBMITTED

    await world.runner.run_once()

    assert len(world.store.analyses) == 1
    [analyzed] = world.publisher.of_type(events_pb2.CallAnalyzed)
    assert analyzed.analysis_id == world.store.analyses[0].id
    assert world.queue.items[event.header.event_id].status is BatchItemStatus.DONE
    assert len(fake.requests(MESSAGES)) == 0


async def test_two_replicas_never_submit_one_item_twice(world: World, fake: FakeAnthropic) -> None:
    await queue_three_calls(world)
    other = world.runner_for(FakeBatchItemStore(shared_with=world.queue))

    await asyncio.gather(world.runner.submit(), other.submit())
    await asyncio.gather(world.runner.collect(), other.collect())

    assert len(fake.batch_ids()) == 1
    assert len(batch_requests(fake)) == 9
    assert len(world.store.analyses) == 3
    assert len(world.publisher.of_type(events_pb2.CallAnalyzed)) == 3


async def test_a_claim_left_by_a_crashed_replica_is_dropped_after_an_hour(
    world: World, fake: FakeAnthropic
) -> None:
    [event, *_] = await queue_three_calls(world)
    crashed = FakeBatchItemStore(shared_with=world.queue)
    assert await crashed.claim(event.header.event_id, NOW - dt.timedelta(minutes=5))

    await world.runner.run_once()
    assert len(batch_requests(fake)) == 6  # the claimed call waits

    world.runner.clock = lambda: NOW + dt.timedelta(hours=1)
    await world.runner.run_once()

    # The next round collected the first batch, then sent the freed call in a second.
    assert len(fake.batch_ids()) == 2
    assert [i.status for i in world.queue.items.values()] == [
        BatchItemStatus.SUBMITTED,
        BatchItemStatus.DONE,
        BatchItemStatus.DONE,
    ]


async def test_the_runner_keeps_running_rounds_in_the_background(world: World) -> None:
    await queue_three_calls(world)

    async def all_stored() -> bool:
        return len(world.store.analyses) == 3

    task = asyncio.create_task(world.runner.run())
    try:
        await wait_for(all_stored, timeout_s=10, interval_s=0.05, describe="three analyses")
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert {i.status for i in world.queue.items.values()} == {BatchItemStatus.DONE}
