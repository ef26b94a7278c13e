"""The Anthropic stand-in's outage switch, which the fault suite uses to overload Claude."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.support.fake_anthropic import DEFAULT_KEY, MESSAGES, FakeAnthropic

pytestmark = pytest.mark.unit

REQUEST = {
    "model": "claude-haiku-4-5",
    "max_tokens": 256,
    "messages": [{"role": "user", "content": "Hello"}],
}


class Clock:
    """Seconds that move only when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def fake(clock: Clock) -> Iterator[FakeAnthropic]:
    with FakeAnthropic(clock=clock) as server:
        yield server


def _message(fake: FakeAnthropic) -> httpx.Response:
    return httpx.post(
        fake.base_url + MESSAGES,
        headers={"x-api-key": DEFAULT_KEY, "anthropic-version": "2023-06-01"},
        json=REQUEST,
    )


def test_an_outage_overloads_every_request_until_its_time_is_over(
    fake: FakeAnthropic, clock: Clock
) -> None:
    fake.fail_for(20.0, 529)

    during = [_message(fake) for _ in range(3)]
    clock.now += 19.9
    last = _message(fake)
    clock.now += 0.2
    after = _message(fake)

    assert [answer.status_code for answer in [*during, last]] == [529, 529, 529, 529]
    assert during[0].json()["error"] == {"type": "overloaded_error", "message": "Overloaded"}
    assert during[0].json()["type"] == "error"
    assert after.status_code == 200, after.text
    assert after.json()["type"] == "message"
