"""The Deepgram stand-in's outage switch, which the fault suite uses to make Deepgram fail."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.audio import render_silence
from tests.support.fake_deepgram import FakeDeepgram

pytestmark = pytest.mark.unit

LISTEN = "/v1/listen"


@pytest.fixture
def fake() -> Iterator[FakeDeepgram]:
    with FakeDeepgram() as server:
        yield server


def _listen(fake: FakeDeepgram, audio: Path) -> httpx.Response:
    return httpx.post(
        fake.base_url + LISTEN,
        headers={"Authorization": f"Token {fake.api_key}"},
        content=audio.read_bytes(),
    )


def test_every_request_fails_during_an_outage_and_queued_faults_wait(
    fake: FakeDeepgram, tmp_path: Path
) -> None:
    audio = render_silence(tmp_path / "quiet.wav", 1.0)
    fake.fail_next(1, 429)
    fake.fail_for(600.0, 503)

    answers = [_listen(fake, audio) for _ in range(3)]

    assert [answer.status_code for answer in answers] == [503, 503, 503]
    assert answers[0].json()["err_code"] == "SERVICE_UNAVAILABLE"
    fake.fail_for(0.0, 503)  # an outage whose time is over
    assert [_listen(fake, audio).status_code for _ in range(2)] == [429, 200]
