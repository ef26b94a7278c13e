"""Claude's requests are counted by outcome and its retries by reason, through the real SDK
against the local Messages API stand-in."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import anthropic
import pytest
from callscope_analysis.adapters.claude import ClaudeConfig, ClaudeEvaluator
from callscope_analysis.domain.model import Campaign, EvaluatorKind
from callscope_analysis.ports import EvaluatorUnavailableError
from callscope_common.backoff import Backoff

from tests.support.evaluation import default_checks, script_transcript
from tests.support.fake_anthropic import DEFAULT_KEY, MESSAGES, FakeAnthropic
from tests.support.fake_http_server import RecordingSleep
from tests.support.scraped_metrics import Scrape, scrape_this_process
from tests.support.scripts import COMPLIANT

pytestmark = pytest.mark.unit

CAMPAIGN = Campaign(
    "campaign-1",
    "Demo",
    70.0,
    tuple(default_checks().values()),
    evaluator=EvaluatorKind.CLAUDE,
    claude_model="claude-sonnet-4-6",
)


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeAnthropic]:
    with FakeAnthropic(min_cacheable_tokens=0) as server:
        yield server


@pytest.fixture(autouse=True)
def _clean(fake: FakeAnthropic) -> None:
    fake.reset()


@pytest.fixture
async def client(fake: FakeAnthropic) -> AsyncIterator[anthropic.AsyncAnthropic]:
    sdk = anthropic.AsyncAnthropic(
        base_url=fake.base_url, api_key=DEFAULT_KEY, max_retries=0, timeout=0.5
    )
    yield sdk
    await sdk.close()


def _evaluator(client: anthropic.AsyncAnthropic, max_attempts: int) -> ClaudeEvaluator:
    return ClaudeEvaluator(
        client=client,
        config=ClaudeConfig(default_model="claude-haiku-4-5", max_attempts=max_attempts),
        sleep=RecordingSleep(),
        backoff=Backoff(base_s=0.5, max_s=4.0, max_retry_after_s=30.0),
    )


def _moved(before: Scrape, after: Scrape, name: str, **labels: str) -> float:
    return after.value(name, provider="claude", **labels) - before.value(
        name, provider="claude", **labels
    )


async def test_overload_timeouts_and_the_answer_are_counted(
    fake: FakeAnthropic, client: anthropic.AsyncAnthropic
) -> None:
    fake.fail_next(529)
    fake.hang_next(1, 1.5)
    before = scrape_this_process()

    await _evaluator(client, max_attempts=5).assess(script_transcript(COMPLIANT), CAMPAIGN)

    after = scrape_this_process()
    requests = "callscope_provider_requests_total"
    retries = "callscope_provider_retries_total"
    assert len(fake.requests(MESSAGES)) == 3
    for outcome in ("http_529", "timeout"):
        assert _moved(before, after, requests, outcome=outcome) == 1
        assert _moved(before, after, retries, reason=outcome) == 1
    assert _moved(before, after, requests, outcome="ok") == 1


async def test_a_refusal_is_counted_and_not_retried(
    fake: FakeAnthropic, client: anthropic.AsyncAnthropic
) -> None:
    fake.fail_next(401)
    before = scrape_this_process()

    with pytest.raises(EvaluatorUnavailableError):
        await _evaluator(client, max_attempts=5).assess(script_transcript(COMPLIANT), CAMPAIGN)

    after = scrape_this_process()
    assert _moved(before, after, "callscope_provider_requests_total", outcome="http_401") == 1
    assert _moved(before, after, "callscope_provider_retries_total") == 0
