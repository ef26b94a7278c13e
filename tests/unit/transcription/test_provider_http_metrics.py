"""A hosted provider's requests are counted by outcome, and its retries by reason."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import httpx
import pytest
from callscope_transcription.adapters.http_retry import ProviderHttp, RequestFactory
from callscope_transcription.domain.errors import ProviderError

from tests.support.fake_deepgram import FakeDeepgram
from tests.support.fake_http_server import RecordingSleep
from tests.support.scraped_metrics import Scrape, scrape_this_process

pytestmark = pytest.mark.unit

LISTEN = "/v1/listen"


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeDeepgram]:
    with FakeDeepgram() as server:
        yield server


@pytest.fixture(autouse=True)
def _clean(fake: FakeDeepgram) -> None:
    fake.reset()


def _provider(client: httpx.AsyncClient, key: str, max_attempts: int = 4) -> ProviderHttp:
    return ProviderHttp(
        client, provider="Deepgram", secret=key, max_attempts=max_attempts, sleep=RecordingSleep()
    )


def _listen(
    client: httpx.AsyncClient, base_url: str, key: str, timeout_s: float = 5.0
) -> RequestFactory:
    def build() -> httpx.Request:
        return client.build_request(
            "POST",
            f"{base_url}{LISTEN}",
            content=b"not audio",
            headers={"Authorization": f"Token {key}"},
            timeout=timeout_s,
        )

    return build


def _moved(before: Scrape, after: Scrape, name: str, **labels: str) -> float:
    return after.value(name, provider="deepgram", **labels) - before.value(
        name, provider="deepgram", **labels
    )


async def test_failures_that_may_pass_are_counted_and_retried_then_the_answer_counts(
    fake: FakeDeepgram,
) -> None:
    fake.fail_next(1, 429, retry_after="1")
    fake.fail_next(1, 503)
    fake.hang_next(1, 10.0)
    before = scrape_this_process()
    async with httpx.AsyncClient() as client:
        with pytest.raises(ProviderError):  # finally refused: the bytes are not audio
            await _provider(client, fake.api_key).send(
                _listen(client, fake.base_url, fake.api_key, timeout_s=0.3), carries_audio=True
            )
    after = scrape_this_process()
    requests = "callscope_provider_requests_total"
    retries = "callscope_provider_retries_total"
    assert len(fake.requests(LISTEN)) == 4
    for outcome in ("http_429", "http_503", "timeout"):
        assert _moved(before, after, requests, outcome=outcome) == 1
        assert _moved(before, after, retries, reason=outcome) == 1
    assert _moved(before, after, requests, outcome="http_400") == 1
    assert _moved(before, after, retries, reason="http_400") == 0


async def test_a_provider_nobody_listens_for_counts_connection_errors() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    before = scrape_this_process()
    async with httpx.AsyncClient() as client:
        with pytest.raises(ProviderError):
            await _provider(client, "k", max_attempts=2).send(
                _listen(client, f"http://127.0.0.1:{closed_port}", "k")
            )
    after = scrape_this_process()
    requests = "callscope_provider_requests_total"
    assert _moved(before, after, requests, outcome="connection_error") == 2
    assert _moved(before, after, "callscope_provider_retries_total", reason="connection_error") == 1
