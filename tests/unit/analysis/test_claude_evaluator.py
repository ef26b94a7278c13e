"""The Claude evaluator through the real `anthropic` SDK against the local Messages API stand-in:
one request per chunk of checks with the transcript cached, verified evidence, retries on 429
and 529 honouring retry-after, refusals explained, malformed answers asked for again, the
concurrency limit and the token cost."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator

import anthropic
import pytest
from callscope_analysis.adapters.claude import ClaudeConfig, ClaudeEvaluator
from callscope_analysis.adapters.claude_prompt import TOOL_NAME
from callscope_analysis.domain.model import Campaign, CheckAnswer, EvaluatorKind, Transcript
from callscope_analysis.domain.pricing import cost_usd
from callscope_analysis.ports import EvaluatorUnavailableError
from callscope_common.backoff import Backoff

from tests.support.evaluation import default_checks, script_transcript
from tests.support.fake_anthropic import DEFAULT_KEY, MESSAGES, Answer, FakeAnthropic
from tests.support.fake_http_server import RecordingSleep
from tests.support.scripts import COMPLIANT

pytestmark = pytest.mark.unit

MODEL = "claude-sonnet-4-6"
CHECKS = tuple(default_checks().values())
CAMPAIGN = Campaign(
    "campaign-1", "Demo", 70.0, CHECKS, evaluator=EvaluatorKind.CLAUDE, claude_model=MODEL
)
# A line only COMPLIANT's transcript has: the stand-in's scripts key on it.
MARKER = "charged twice for my gas bill"


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeAnthropic]:
    with FakeAnthropic(min_cacheable_tokens=0) as server:
        yield server


@pytest.fixture(autouse=True)
def _clean(fake: FakeAnthropic) -> None:
    fake.reset()


@pytest.fixture
async def client(fake: FakeAnthropic) -> AsyncIterator[anthropic.AsyncAnthropic]:
    sdk = anthropic.AsyncAnthropic(base_url=fake.base_url, api_key=DEFAULT_KEY, max_retries=0)
    yield sdk
    await sdk.close()


@pytest.fixture
def sleep() -> RecordingSleep:
    return RecordingSleep()


def evaluator(
    client: anthropic.AsyncAnthropic, sleep: RecordingSleep, **config: int
) -> ClaudeEvaluator:
    return ClaudeEvaluator(
        client=client,
        config=ClaudeConfig(default_model="claude-haiku-4-5", **config),
        sleep=sleep,
        backoff=Backoff(base_s=0.5, max_s=4.0, max_retry_after_s=30.0),
        fraction=lambda: 1.0,
    )


@pytest.fixture
def call() -> Transcript:
    return script_transcript(COMPLIANT)


def script_all_yes(fake: FakeAnthropic) -> None:
    """Every default check answered YES with a quote the transcript really has."""
    fake.script(
        MARKER,
        {
            "greeting": Answer("YES", "thank you for calling City Energy", 0.0),
            "identity_verification": Answer("YES", "can you confirm your date of birth?"),
            "empathy": Answer("YES", "I am sorry to hear that."),
            "further_help": Answer("YES", "Is there anything else I can help you with today?"),
            "proper_closing": Answer("YES", "Have a nice day."),
        },
    )


async def test_one_request_answers_every_check_with_verified_evidence_and_its_cost(
    fake: FakeAnthropic, client: anthropic.AsyncAnthropic, sleep: RecordingSleep, call: Transcript
) -> None:
    script_all_yes(fake)

    outcome = await evaluator(client, sleep).assess(call, CAMPAIGN)

    assert outcome.evaluator == "claude"
    assert [r.check.id for r in outcome.results] == [c.id for c in CHECKS]
    assert all(r.passed and not r.needs_review for r in outcome.results)
    verification = outcome.results[1]
    assert verification.evidence is not None
    assert verification.evidence.speaker.value == "AGENT"
    assert verification.evidence.start == call.segments[2].start  # the transcript's time
    [request] = fake.requests(MESSAGES)
    body = request.json
    assert body["model"] == MODEL  # the campaign's model, not the default
    assert body["tool_choice"] == {"type": "tool", "name": TOOL_NAME}
    transcript_block, checks_block = body["messages"][0]["content"]
    assert transcript_block["cache_control"] == {"type": "ephemeral"}
    assert transcript_block["text"].startswith("<transcript>\n[0.0s-")
    assert [
        c["id"] for c in json.loads(checks_block["text"].split("\n", 1)[1].rsplit("</checks>")[0])
    ] == [c.id for c in CHECKS]
    [entry] = fake.usage_log()
    usage = outcome.usage
    assert usage is not None
    assert (usage.model, usage.requests, usage.batched) == (MODEL, 1, False)
    assert (usage.input_tokens, usage.output_tokens) == (entry.input_tokens, entry.output_tokens)
    assert usage.cache_creation_input_tokens == entry.cache_creation_input_tokens > 0
    assert usage.cost_usd == cost_usd(
        MODEL,
        input_tokens=entry.input_tokens,
        output_tokens=entry.output_tokens,
        cache_creation_input_tokens=entry.cache_creation_input_tokens,
        cache_read_input_tokens=entry.cache_read_input_tokens,
    )


async def test_checks_go_in_chunks_and_later_chunks_and_reruns_read_the_cached_transcript(
    fake: FakeAnthropic, client: anthropic.AsyncAnthropic, sleep: RecordingSleep, call: Transcript
) -> None:
    script_all_yes(fake)
    chunked = evaluator(client, sleep, checks_per_request=2)

    first = await chunked.assess(call, CAMPAIGN)
    rerun = await chunked.assess(call, CAMPAIGN)

    assert len(fake.requests(MESSAGES)) == 6  # 2 + 2 + 1 checks, twice
    usage = [(e.cache_creation_input_tokens, e.cache_read_input_tokens) for e in fake.usage_log()]
    assert usage[0][0] > 0 and usage[0][1] == 0  # the first chunk writes the cache
    assert all(write == 0 and read == usage[0][0] for write, read in usage[1:])
    assert first.usage is not None and rerun.usage is not None
    assert (first.usage.requests, rerun.usage.cache_creation_input_tokens) == (3, 0)
    assert rerun.usage.cost_usd is not None and first.usage.cost_usd is not None
    assert rerun.usage.cost_usd < first.usage.cost_usd
    assert [r.answer for r in first.results] == [CheckAnswer.YES] * len(CHECKS)


async def test_a_hallucinated_quote_marks_its_check_for_review_instead_of_passing_it(
    fake: FakeAnthropic, client: anthropic.AsyncAnthropic, sleep: RecordingSleep, call: Transcript
) -> None:
    script_all_yes(fake)
    fake.script(
        MARKER, {"identity_verification": Answer("YES", "Could you give me your memorable word?")}
    )

    outcome = await evaluator(client, sleep).assess(call, CAMPAIGN)

    verification = outcome.results[1]
    assert (verification.answer, verification.passed) == (CheckAnswer.YES, False)
    assert verification.needs_review
    assert verification.review_reason == "the quoted evidence is not in the transcript"
    assert [r.passed for r in outcome.results] == [True, False, True, True, True]


async def test_429_and_529_are_retried_honouring_retry_after_then_answered(
    fake: FakeAnthropic, client: anthropic.AsyncAnthropic, sleep: RecordingSleep, call: Transcript
) -> None:
    script_all_yes(fake)
    fake.fail_next(429, retry_after=7)
    fake.fail_next(529)

    outcome = await evaluator(client, sleep).assess(call, CAMPAIGN)

    assert len(fake.requests(MESSAGES)) == 3
    assert sleep.delays == [7.0, 1.0]  # retry-after, then backoff 0.5 x 2^1 at full jitter
    assert all(r.passed for r in outcome.results)
    assert outcome.usage is not None and outcome.usage.requests == 1


async def test_an_overloaded_claude_fails_after_the_attempts_allowed_with_what_to_do(
    fake: FakeAnthropic, client: anthropic.AsyncAnthropic, sleep: RecordingSleep, call: Transcript
) -> None:
    fake.fail_next(529, count=10)

    with pytest.raises(EvaluatorUnavailableError) as failed:
        await evaluator(client, sleep, max_attempts=3).assess(call, CAMPAIGN)

    assert failed.value.reason == (
        "Claude is unavailable (HTTP 529 after 3 attempts): try again later or switch the "
        "campaign's evaluator to local"
    )
    assert len(fake.requests(MESSAGES)) == 3
    assert DEFAULT_KEY not in failed.value.reason + failed.value.detail


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (401, "Claude rejected the API key: check ANALYSIS_ANTHROPIC_API_KEY"),
        (404, "Claude does not know the model 'claude-sonnet-4-6'"),
        (400, "Claude refused the request (HTTP 400)"),
    ],
)
async def test_a_refusal_is_not_retried_and_says_what_to_correct(
    fake: FakeAnthropic,
    client: anthropic.AsyncAnthropic,
    sleep: RecordingSleep,
    call: Transcript,
    status: int,
    expected: str,
) -> None:
    fake.fail_next(status)

    with pytest.raises(EvaluatorUnavailableError) as failed:
        await evaluator(client, sleep).assess(call, CAMPAIGN)

    assert failed.value.reason.startswith(expected)
    assert len(fake.requests(MESSAGES)) == 1 and sleep.delays == []


async def test_a_malformed_tool_input_is_asked_for_again_and_its_tokens_still_count(
    fake: FakeAnthropic, client: anthropic.AsyncAnthropic, sleep: RecordingSleep, call: Transcript
) -> None:
    script_all_yes(fake)
    fake.malformed_next(1)

    outcome = await evaluator(client, sleep).assess(call, CAMPAIGN)

    assert len(fake.requests(MESSAGES)) == 2
    assert outcome.usage is not None and outcome.usage.requests == 2
    assert all(r.passed for r in outcome.results)


@pytest.mark.parametrize("kind", ["bad_answer", "missing_check_id", "missing_check", "no_results"])
async def test_answers_that_keep_breaking_the_schema_fail_the_analysis(
    fake: FakeAnthropic,
    client: anthropic.AsyncAnthropic,
    sleep: RecordingSleep,
    call: Transcript,
    kind: str,
) -> None:
    fake.malformed_next(2, kind=kind)  # type: ignore[arg-type]

    with pytest.raises(EvaluatorUnavailableError) as failed:
        await evaluator(client, sleep).assess(call, CAMPAIGN)

    assert failed.value.reason.startswith(
        "Claude's answers did not have the expected shape (2 attempts)"
    )
    assert failed.value.detail


async def test_requests_beyond_the_concurrency_limit_wait_their_turn(
    fake: FakeAnthropic, client: anthropic.AsyncAnthropic, sleep: RecordingSleep, call: Transcript
) -> None:
    script_all_yes(fake)
    fake.hang_next(3, 0.3)
    limited = evaluator(client, sleep, max_concurrency=1)

    started = asyncio.get_running_loop().time()
    await asyncio.gather(*(limited.assess(call, CAMPAIGN) for _ in range(3)))
    elapsed = asyncio.get_running_loop().time() - started

    # Three requests that each hang 0.3 s, one at a time: they cannot overlap.
    assert elapsed >= 0.9
    assert len(fake.requests(MESSAGES)) == 3


async def test_the_service_default_model_is_used_when_the_campaign_names_none(
    fake: FakeAnthropic, client: anthropic.AsyncAnthropic, sleep: RecordingSleep, call: Transcript
) -> None:
    script_all_yes(fake)
    campaign = Campaign("c", "Demo", 70.0, CHECKS, evaluator=EvaluatorKind.CLAUDE)

    outcome = await evaluator(client, sleep).assess(call, campaign)

    assert fake.requests(MESSAGES)[0].json["model"] == "claude-haiku-4-5"
    assert outcome.usage is not None and outcome.usage.model == "claude-haiku-4-5"
