"""The retry helper over real sockets: what it retries, how long it waits, what it says."""

from __future__ import annotations

import datetime as dt
import logging
import socket
from collections.abc import Iterator
from email.utils import format_datetime
from pathlib import Path

import httpx
import pytest
from callscope_common.backoff import Backoff, retry_after_seconds
from callscope_transcription.adapters.http_retry import (
    ProviderHttp,
    RequestFactory,
    stream_file,
)
from callscope_transcription.domain.errors import ProviderError

from tests.support.audio import render_silence
from tests.support.fake_deepgram import CORRUPT_AUDIO, FakeDeepgram
from tests.support.fake_http_server import Fault, RecordingSleep

pytestmark = pytest.mark.unit

LISTEN = "/v1/listen"
NOT_AUDIO = b"these bytes are not audio in any container"


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeDeepgram]:
    """One Deepgram stand-in for the module; faults and requests are reset for each test."""
    with FakeDeepgram() as server:
        yield server


@pytest.fixture(autouse=True)
def _clean(fake: FakeDeepgram) -> None:
    fake.reset()


@pytest.fixture(scope="module")
def silence(audio_dir: Path) -> bytes:
    """Half a second of silent wav: audio Deepgram accepts (and finds no words in)."""
    return render_silence(audio_dir / "retry-silence.wav", 0.5, channels=1).read_bytes()


def _helper(
    client: httpx.AsyncClient,
    sleep: RecordingSleep,
    *,
    key: str,
    max_attempts: int = 3,
    backoff: Backoff | None = None,
) -> ProviderHttp:
    return ProviderHttp(
        client,
        provider="Deepgram",
        secret=key,
        max_attempts=max_attempts,
        sleep=sleep,
        backoff=backoff,
        # The top of every jitter range, so the waits can be asserted exactly.
        fraction=lambda: 1.0,
    )


def _listen(
    client: httpx.AsyncClient,
    base_url: str,
    key: str,
    *,
    body: bytes = NOT_AUDIO,
    timeout_s: float = 5.0,
) -> RequestFactory:
    def build() -> httpx.Request:
        return client.build_request(
            "POST",
            f"{base_url}{LISTEN}",
            content=body,
            headers={"Authorization": f"Token {key}"},
            timeout=timeout_s,
        )

    return build


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("3", 3.0),
        ("0.5", 0.5),
        ("Tue, 01 Jul 2025 12:01:30 GMT", 90.0),
        ("Tue, 01 Jul 2025 11:00:00 GMT", 0.0),
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after_is_read_as_seconds_or_an_http_date(
    header: str | None, expected: float | None
) -> None:
    now = dt.datetime(2025, 7, 1, 12, 0, 0, tzinfo=dt.UTC)
    assert retry_after_seconds(header, now=now) == expected


def test_backoff_doubles_up_to_its_cap_and_jitters_below_it() -> None:
    backoff = Backoff(base_s=0.5, max_s=3.0)
    assert [backoff.delay(attempt, 1.0) for attempt in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert backoff.delay(3, 0.0) == 0.0
    assert backoff.delay(3, 0.25) == 0.5


async def test_a_file_is_read_chunk_by_chunk(tmp_path: Path) -> None:
    path = tmp_path / "call.bin"
    path.write_bytes(bytes(range(256)) * 10)
    chunks = [chunk async for chunk in stream_file(path, chunk_size=1000)]
    assert [len(chunk) for chunk in chunks] == [1000, 1000, 560]
    assert b"".join(chunks) == path.read_bytes()


async def test_a_429_waits_as_long_as_retry_after_asks_then_succeeds(
    fake: FakeDeepgram, silence: bytes
) -> None:
    fake.fail_next(1, 429, retry_after="7")
    sleep = RecordingSleep()
    async with httpx.AsyncClient() as client:
        response = await _helper(client, sleep, key=fake.api_key).send(
            _listen(client, fake.base_url, fake.api_key, body=silence)
        )
    assert response.status_code == 200
    assert response.json()["metadata"]["sha256"] == fake.requests(LISTEN)[-1].body_sha256
    assert sleep.delays == [7.0]
    assert len(fake.requests(LISTEN)) == 2


async def test_a_retry_after_date_far_ahead_is_capped(fake: FakeDeepgram, silence: bytes) -> None:
    far = format_datetime(dt.datetime.now(dt.UTC) + dt.timedelta(hours=2), usegmt=True)
    fake.fail_next(1, 503, retry_after=far)
    sleep = RecordingSleep()
    backoff = Backoff(max_retry_after_s=12.0)
    async with httpx.AsyncClient() as client:
        response = await _helper(client, sleep, key=fake.api_key, backoff=backoff).send(
            _listen(client, fake.base_url, fake.api_key, body=silence)
        )
    assert response.status_code == 200
    assert sleep.delays == [12.0]


async def test_5xx_answers_are_retried_with_growing_waits_until_one_passes(
    fake: FakeDeepgram, silence: bytes
) -> None:
    fake.fail_next(1, 500)
    fake.fail_next(1, 502)
    sleep = RecordingSleep()
    async with httpx.AsyncClient() as client:
        response = await _helper(
            client, sleep, key=fake.api_key, backoff=Backoff(base_s=0.25)
        ).send(_listen(client, fake.base_url, fake.api_key, body=silence), carries_audio=True)
    assert response.status_code == 200
    assert sleep.delays == [0.25, 0.5]
    assert len(fake.requests(LISTEN)) == 3


async def test_a_provider_that_stays_down_fails_after_max_attempts(fake: FakeDeepgram) -> None:
    fake.fail_next(10, 503)
    sleep = RecordingSleep()
    async with httpx.AsyncClient() as client:
        with pytest.raises(ProviderError) as unavailable:
            await _helper(client, sleep, key=fake.api_key, max_attempts=4).send(
                _listen(client, fake.base_url, fake.api_key)
            )
    assert unavailable.value.reason == (
        "Deepgram is unavailable (HTTP 503 after 4 attempts): "
        "try again later or switch the campaign to another provider"
    )
    assert "Service Unavailable" in unavailable.value.detail
    assert len(fake.requests(LISTEN)) == 4
    assert len(sleep.delays) == 3


async def test_a_hanging_provider_times_out_on_every_attempt(fake: FakeDeepgram) -> None:
    fake.hang_next(2, 10.0)
    sleep = RecordingSleep()
    async with httpx.AsyncClient() as client:
        with pytest.raises(ProviderError) as unavailable:
            await _helper(client, sleep, key=fake.api_key, max_attempts=2).send(
                _listen(client, fake.base_url, fake.api_key, timeout_s=0.3)
            )
    assert "no answer in time after 2 attempts" in unavailable.value.reason
    assert "ReadTimeout" in unavailable.value.detail
    assert len(fake.requests(LISTEN)) == 2


async def test_a_provider_nobody_listens_for_is_unreachable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    sleep = RecordingSleep()
    async with httpx.AsyncClient() as client:
        with pytest.raises(ProviderError) as unavailable:
            await _helper(client, sleep, key="k", max_attempts=2).send(
                _listen(client, f"http://127.0.0.1:{closed_port}", "k")
            )
    assert "connection failed after 2 attempts" in unavailable.value.reason
    assert len(sleep.delays) == 1


async def test_a_wrong_key_is_refused_at_once_and_never_shown(
    fake: FakeDeepgram, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong_key = "wrong-key-that-must-stay-secret-42"
    sleep = RecordingSleep()
    async with httpx.AsyncClient() as client:
        with pytest.raises(ProviderError) as rejected:
            await _helper(client, sleep, key=wrong_key).send(
                _listen(client, fake.base_url, wrong_key)
            )
    assert rejected.value.reason == (
        "Deepgram rejected the API key: check the key configured for this deployment "
        "or switch provider"
    )
    assert "Invalid credentials" in rejected.value.detail
    assert len(fake.requests(LISTEN)) == 1
    assert sleep.delays == []
    for text in (rejected.value.reason, rejected.value.detail, caplog.text):
        assert wrong_key not in text


async def test_audio_the_provider_cannot_read_keeps_its_message_for_the_logs(
    fake: FakeDeepgram,
) -> None:
    sleep = RecordingSleep()
    async with httpx.AsyncClient() as client:
        with pytest.raises(ProviderError) as unreadable:
            await _helper(client, sleep, key=fake.api_key).send(
                _listen(client, fake.base_url, fake.api_key), carries_audio=True
            )
    assert unreadable.value.reason.startswith("Deepgram could not read the audio")
    assert CORRUPT_AUDIO in unreadable.value.detail
    assert "POST /v1/listen answered HTTP 400" in unreadable.value.detail
    assert len(fake.requests(LISTEN)) == 1


async def test_other_client_errors_get_a_generic_reason_and_no_retry(fake: FakeDeepgram) -> None:
    fake.fail_next(1, 402)
    sleep = RecordingSleep()
    async with httpx.AsyncClient() as client:
        with pytest.raises(ProviderError) as refused:
            await _helper(client, sleep, key=fake.api_key).send(
                _listen(client, fake.base_url, fake.api_key)
            )
    assert refused.value.reason.startswith("Deepgram refused the request (HTTP 402)")
    assert "ASR_PAYMENT_REQUIRED" not in refused.value.reason
    assert len(fake.requests(LISTEN)) == 1
    assert sleep.delays == []


async def test_a_provider_message_echoing_the_key_is_redacted(fake: FakeDeepgram) -> None:
    fake.inject(Fault(status=400, message=f"project of key {fake.api_key} is suspended"))
    async with httpx.AsyncClient() as client:
        with pytest.raises(ProviderError) as refused:
            await _helper(client, RecordingSleep(), key=fake.api_key).send(
                _listen(client, fake.base_url, fake.api_key)
            )
    assert fake.api_key not in refused.value.detail
    assert "project of key [redacted] is suspended" in refused.value.detail
