"""The Anthropic stand-in, exercised through the real `anthropic` SDK over a real socket."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anthropic
import httpx
import pytest
from anthropic.types import Message, ToolUseBlock

from tests.support.fake_anthropic import (
    BATCHES,
    DEFAULT_KEY,
    MESSAGES,
    Answer,
    FakeAnthropic,
)

pytestmark = pytest.mark.unit

MODEL = "claude-sonnet-4-6"
TOOL_NAME = "record_check_results"
TOOL: dict[str, Any] = {
    "name": TOOL_NAME,
    "description": "Record the answer to every check.",
    "input_schema": {
        "type": "object",
        "properties": {
            "results": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "check_id": {"type": "string"},
                        "answer": {"type": "string", "enum": ["YES", "NO", "NOT_APPLICABLE"]},
                        "confidence": {"type": "number", "minimum": 0, "maximum": 1},
                        "evidence_quote": {"type": "string"},
                        "evidence_start": {"type": "number"},
                        "reasoning": {"type": "string"},
                    },
                    "required": ["check_id", "answer", "confidence"],
                },
            }
        },
        "required": ["results"],
    },
}
SYSTEM = "You review call-centre calls. Answer every check with the tool, quoting the transcript."
CHECKS = [
    {"id": "greeting", "question": "Did the agent greet the customer?"},
    {"id": "empathy", "question": "Did the agent acknowledge the customer's problem?"},
    {"id": "closing", "question": "Did the agent close the call politely?"},
]
SHORT_CALL = [
    "[0.0s-2.5s] AGENT: Thank you for calling Acme, this is Dana.",
    "[2.8s-6.1s] CUSTOMER: Hi, my invoice is wrong again.",
    "[6.4s-9.0s] AGENT: I'm sorry to hear that, let me check.",
]
LONG_CALL = [
    f"[{i * 3.0:.1f}s-{i * 3.0 + 2.5:.1f}s] {'AGENT' if i % 2 == 0 else 'CUSTOMER'}: "
    f"Line {i} of a long call about the billing question on account {1000 + i}."
    for i in range(120)
]
VALID_ANSWERS = {"YES", "NO", "NOT_APPLICABLE"}


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeAnthropic]:
    """One stand-in for the module, reset before each test."""
    with FakeAnthropic() as server:
        yield server


@pytest.fixture(autouse=True)
def _clean(fake: FakeAnthropic) -> None:
    fake.reset()
    fake.batch_polls_until_end = 1


@pytest.fixture
async def client(fake: FakeAnthropic) -> AsyncIterator[anthropic.AsyncAnthropic]:
    sdk = anthropic.AsyncAnthropic(base_url=fake.base_url, api_key=DEFAULT_KEY, max_retries=0)
    yield sdk
    await sdk.close()


def prompt(lines: list[str], checks: list[dict[str, Any]] = CHECKS) -> dict[str, Any]:
    """The evaluator's request: the transcript (the cache breakpoint), then the checks."""
    transcript = "<transcript>\n" + "\n".join(lines) + "\n</transcript>"
    return {
        "model": MODEL,
        "max_tokens": 4096,
        "system": SYSTEM,
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": transcript, "cache_control": {"type": "ephemeral"}},
                    {"type": "text", "text": "<checks>\n" + json.dumps(checks) + "\n</checks>"},
                ],
            }
        ],
        "tools": [TOOL],
        "tool_choice": {"type": "tool", "name": TOOL_NAME},
    }


async def ask(client: anthropic.AsyncAnthropic, lines: list[str], **overrides: Any) -> Message:
    message: Message = await client.messages.create(**{**prompt(lines), **overrides})
    return message


def tool_input(message: Message) -> dict[str, Any]:
    block = message.content[0]
    assert isinstance(block, ToolUseBlock)
    assert isinstance(block.input, dict)
    return block.input


def by_check(message: Message) -> dict[str, dict[str, Any]]:
    return {result["check_id"]: result for result in tool_input(message)["results"]}


# --- messages ---------------------------------------------------------------------------------


async def test_answers_with_the_forced_tool_from_scripts_and_defaults(
    fake: FakeAnthropic, client: anthropic.AsyncAnthropic
) -> None:
    fake.script(
        "Thank you for calling Acme",
        {
            "greeting": Answer("YES", quote="Thank you for calling Acme", start=0.0, confidence=1),
            "empathy": Answer("NO", quote="", start=0.0, confidence=0.7, reasoning="none"),
        },
    )
    fake.script("a marker this call lacks", {"closing": Answer("NO")})

    message = await ask(client, SHORT_CALL)

    assert message.id.startswith("msg_")
    assert message.type == "message" and message.role == "assistant"
    assert message.model == MODEL
    assert message.stop_reason == "tool_use" and message.stop_sequence is None
    block = message.content[0]
    assert isinstance(block, ToolUseBlock)
    assert block.name == TOOL_NAME and block.id.startswith("toolu_")
    results = tool_input(message)["results"]
    assert [result["check_id"] for result in results] == ["greeting", "empathy", "closing"]
    assert results[0] == {
        "check_id": "greeting",
        "answer": "YES",
        "confidence": 1,
        "evidence_quote": "Thank you for calling Acme",
        "evidence_start": 0.0,
        "reasoning": "Scripted answer.",
    }
    assert results[1]["answer"] == "NO" and results[1]["reasoning"] == "none"
    # Not scripted: YES, quoting the first line of the transcript.
    assert results[2]["answer"] == "YES"
    assert results[2]["evidence_quote"] == "Thank you for calling Acme, this is Dana."
    assert results[2]["evidence_start"] == 0.0
    assert results[2]["confidence"] == 0.9
    assert message.usage.output_tokens > 0
    assert message._request_id is not None and message._request_id.startswith("req_")


async def test_logs_what_the_sdk_sent_without_the_key(
    fake: FakeAnthropic, client: anthropic.AsyncAnthropic
) -> None:
    await ask(client, SHORT_CALL)

    [sent] = fake.requests(MESSAGES)
    assert sent.method == "POST" and sent.authorized
    assert sent.auth_scheme in {"Bearer", "x-api-key"}
    assert "x-api-key" not in sent.headers and "authorization" not in sent.headers
    assert sent.headers["anthropic-version"]
    assert sent.json["model"] == MODEL
    assert sent.json["tool_choice"] == {"type": "tool", "name": TOOL_NAME}
    first, second = sent.json["messages"][0]["content"]
    assert first["cache_control"] == {"type": "ephemeral"}
    assert "cache_control" not in second


async def test_default_quote_follows_the_first_transcript_line(
    fake: FakeAnthropic, client: anthropic.AsyncAnthropic
) -> None:
    lines = ["[4.2s-6.0s] CUSTOMER: Hello?", *SHORT_CALL[1:]]

    results = by_check(await ask(client, lines))

    assert results["greeting"]["evidence_quote"] == "Hello?"
    assert results["greeting"]["evidence_start"] == 4.2


async def test_responder_replaces_the_scripted_model(
    fake: FakeAnthropic, client: anthropic.AsyncAnthropic
) -> None:
    seen: list[dict[str, Any]] = []

    @fake.responder
    def answer(request: dict[str, Any]) -> dict[str, Any]:
        seen.append(request)
        return {"results": [], "note": "custom"}

    assert tool_input(await ask(client, SHORT_CALL)) == {"results": [], "note": "custom"}
    assert seen[0]["model"] == MODEL

    fake.responder(None)
    assert len(tool_input(await ask(client, SHORT_CALL))["results"]) == 3


# --- prompt caching ---------------------------------------------------------------------------


async def test_a_repeated_prefix_is_written_then_read(
    fake: FakeAnthropic, client: anthropic.AsyncAnthropic
) -> None:
    first = await ask(client, LONG_CALL)
    second = await ask(client, LONG_CALL)

    written = first.usage.cache_creation_input_tokens
    assert written is not None and written >= 1024
    assert first.usage.cache_read_input_tokens == 0
    assert second.usage.cache_creation_input_tokens == 0
    assert second.usage.cache_read_input_tokens == written
    # What follows the breakpoint (the checks block) is input either way.
    assert first.usage.input_tokens == second.usage.input_tokens > 0
    assert first.usage.input_tokens < written
    # Tools, system and messages, 4 characters a token.
    tools_and_system = len(json.dumps(TOOL, sort_keys=True, separators=(",", ":"))) + len(SYSTEM)
    transcript = len("<transcript>\n" + "\n".join(LONG_CALL) + "\n</transcript>")
    assert written == -(-(tools_and_system + transcript) // 4)

    log = fake.usage_log()
    assert [(u.cache_creation_input_tokens, u.cache_read_input_tokens) for u in log] == [
        (written, 0),
        (0, written),
    ]
    assert {u.path for u in log} == {MESSAGES} and {u.model for u in log} == {MODEL}


async def test_another_prefix_or_model_is_written_anew(
    fake: FakeAnthropic, client: anthropic.AsyncAnthropic
) -> None:
    await ask(client, LONG_CALL)

    other_call = await ask(client, [*LONG_CALL[:-1], "[999.0s-1000.0s] AGENT: Goodbye."])
    other_model = await ask(client, LONG_CALL, model="claude-opus-4-6")

    for message in (other_call, other_model):
        assert message.usage.cache_read_input_tokens == 0
        assert message.usage.cache_creation_input_tokens


async def test_a_prefix_expires_after_five_minutes() -> None:
    now = [1000.0]
    with FakeAnthropic(clock=lambda: now[0]) as server:
        sdk = anthropic.AsyncAnthropic(base_url=server.base_url, api_key=DEFAULT_KEY)
        try:
            await ask(sdk, LONG_CALL)
            now[0] += 299
            assert (await ask(sdk, LONG_CALL)).usage.cache_read_input_tokens
            now[0] += 299  # the read refreshed the five minutes
            assert (await ask(sdk, LONG_CALL)).usage.cache_read_input_tokens
            now[0] += 301
            expired = await ask(sdk, LONG_CALL)
        finally:
            await sdk.close()

    assert expired.usage.cache_read_input_tokens == 0
    assert expired.usage.cache_creation_input_tokens


async def test_a_prefix_below_the_minimum_is_not_cached(
    fake: FakeAnthropic, client: anthropic.AsyncAnthropic
) -> None:
    first = await ask(client, SHORT_CALL)
    second = await ask(client, SHORT_CALL)

    for message in (first, second):
        assert message.usage.cache_creation_input_tokens == 0
        assert message.usage.cache_read_input_tokens == 0
    assert first.usage.input_tokens == second.usage.input_tokens
    # Everything is input: more than the checks block alone.
    assert first.usage.input_tokens > len(json.dumps(CHECKS)) // 4


async def test_the_minimum_is_the_fakes_to_choose() -> None:
    with FakeAnthropic(min_cacheable_tokens=100_000) as server:
        sdk = anthropic.AsyncAnthropic(base_url=server.base_url, api_key=DEFAULT_KEY)
        try:
            messages = [await ask(sdk, LONG_CALL) for _ in range(2)]
        finally:
            await sdk.close()

    assert [m.usage.cache_creation_input_tokens for m in messages] == [0, 0]
    assert [m.usage.cache_read_input_tokens for m in messages] == [0, 0]


# --- errors -----------------------------------------------------------------------------------


async def test_a_wrong_key_is_an_authentication_error(fake: FakeAnthropic) -> None:
    sdk = anthropic.AsyncAnthropic(base_url=fake.base_url, api_key="sk-wrong", max_retries=0)
    try:
        with pytest.raises(anthropic.AuthenticationError) as caught:
            await ask(sdk, SHORT_CALL)
    finally:
        await sdk.close()

    error = caught.value
    assert error.status_code == 401
    assert error.type == "authentication_error"
    assert error.request_id is not None and error.request_id.startswith("req_")
    assert error.body == {
        "type": "error",
        "error": {"type": "authentication_error", "message": "invalid x-api-key"},
        "request_id": error.request_id,
    }
    assert not fake.requests(MESSAGES)[0].authorized


async def test_headers_are_checked_as_the_api_does(fake: FakeAnthropic) -> None:
    body = prompt(SHORT_CALL)
    async with httpx.AsyncClient(base_url=fake.base_url) as http:
        no_key = await http.post(MESSAGES, json=body, headers={"anthropic-version": "2023-06-01"})
        no_version = await http.post(MESSAGES, json=body, headers={"x-api-key": DEFAULT_KEY})
        with_x_api_key = await http.post(
            MESSAGES,
            json=body,
            headers={"x-api-key": DEFAULT_KEY, "anthropic-version": "2023-06-01"},
        )

    assert no_key.status_code == 401
    assert no_key.json()["error"]["type"] == "authentication_error"
    assert no_version.status_code == 400
    assert no_version.json()["error"] == {
        "type": "invalid_request_error",
        "message": "anthropic-version: header is required",
    }
    assert no_version.headers["request-id"] == no_version.json()["request_id"]
    assert with_x_api_key.status_code == 200
    assert with_x_api_key.json()["content"][0]["type"] == "tool_use"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"max_tokens": 0}, "max_tokens: Input should be greater than or equal to 1"),
        ({"messages": []}, "messages: at least one message is required"),
        (
            {"tool_choice": {"type": "tool", "name": "nope"}},
            "tool_choice.name: Tool 'nope' not found in tools",
        ),
    ],
)
async def test_an_invalid_body_is_an_invalid_request_error(
    client: anthropic.AsyncAnthropic, overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(anthropic.BadRequestError) as caught:
        await ask(client, SHORT_CALL, **overrides)

    assert caught.value.type == "invalid_request_error"
    assert caught.value.api_message == message


async def test_a_missing_field_is_named(fake: FakeAnthropic) -> None:
    headers = {"x-api-key": DEFAULT_KEY, "anthropic-version": "2023-06-01"}
    async with httpx.AsyncClient(base_url=fake.base_url, headers=headers) as http:
        answers = {
            name: await http.post(
                MESSAGES, json={k: v for k, v in prompt(SHORT_CALL).items() if k != name}
            )
            for name in ("model", "max_tokens", "messages")
        }

    for name, answer in answers.items():
        assert answer.status_code == 400
        assert answer.json()["error"] == {
            "type": "invalid_request_error",
            "message": f"{name}: Field required",
        }


async def test_more_than_four_breakpoints_are_refused(client: anthropic.AsyncAnthropic) -> None:
    marked = {"type": "text", "text": "x", "cache_control": {"type": "ephemeral"}}
    messages = [{"role": "user", "content": [marked] * 5}]

    with pytest.raises(anthropic.BadRequestError) as caught:
        await ask(client, SHORT_CALL, messages=messages)

    assert caught.value.api_message == (
        "A maximum of 4 blocks with cache_control may be provided. Found 5."
    )


async def test_a_rate_limit_carries_retry_after(
    fake: FakeAnthropic, client: anthropic.AsyncAnthropic
) -> None:
    fake.fail_next(429, retry_after=7)

    with pytest.raises(anthropic.RateLimitError) as caught:
        await ask(client, SHORT_CALL)

    assert caught.value.status_code == 429
    assert caught.value.type == "rate_limit_error"
    assert caught.value.response.headers["retry-after"] == "7"
    assert (await ask(client, SHORT_CALL)).stop_reason == "tool_use"  # only the next one


async def test_overloaded_is_the_sdks_overloaded_error(
    fake: FakeAnthropic, client: anthropic.AsyncAnthropic
) -> None:
    fake.fail_next(529)
    fake.fail_next(500)

    with pytest.raises(anthropic.OverloadedError) as overloaded:
        await ask(client, SHORT_CALL)
    with pytest.raises(anthropic.InternalServerError) as internal:
        await ask(client, SHORT_CALL)

    # OverloadedError is an InternalServerError, so handlers for 5xx catch it too.
    assert isinstance(overloaded.value, anthropic.InternalServerError)
    assert overloaded.value.status_code == 529 and overloaded.value.type == "overloaded_error"
    assert not isinstance(internal.value, anthropic.OverloadedError)
    assert internal.value.status_code == 500 and internal.value.type == "api_error"


async def test_the_sdk_retries_through_faults(fake: FakeAnthropic) -> None:
    fake.fail_next(529, count=2, retry_after="0.01")
    sdk = anthropic.AsyncAnthropic(base_url=fake.base_url, api_key=DEFAULT_KEY, max_retries=2)
    try:
        message = await ask(sdk, SHORT_CALL)
    finally:
        await sdk.close()

    assert message.stop_reason == "tool_use"
    tries = [r.headers.get("x-stainless-retry-count") for r in fake.requests(MESSAGES)]
    assert tries == ["0", "1", "2"]


async def test_a_fault_can_target_a_path(
    fake: FakeAnthropic, client: anthropic.AsyncAnthropic
) -> None:
    fake.fail_next(503, path=BATCHES + "/")

    await ask(client, SHORT_CALL)  # not under the batches path
    requests: Any = [{"custom_id": "a", "params": prompt(SHORT_CALL)}]
    batch = await client.messages.batches.create(requests=requests)
    with pytest.raises(anthropic.InternalServerError) as caught:
        await client.messages.batches.retrieve(batch.id)

    assert caught.value.status_code == 503 and caught.value.type == "api_error"


async def test_a_hanging_request_times_out(fake: FakeAnthropic) -> None:
    fake.hang_next(1, 5.0)
    sdk = anthropic.AsyncAnthropic(
        base_url=fake.base_url, api_key=DEFAULT_KEY, max_retries=0, timeout=0.5
    )
    try:
        with pytest.raises(anthropic.APITimeoutError):
            await ask(sdk, SHORT_CALL)
    finally:
        await sdk.close()


# --- malformed answers ------------------------------------------------------------------------


async def test_malformed_next_breaks_the_schema_once(
    fake: FakeAnthropic, client: anthropic.AsyncAnthropic
) -> None:
    fake.malformed_next()

    broken = tool_input(await ask(client, SHORT_CALL))["results"]
    sound = tool_input(await ask(client, SHORT_CALL))["results"]

    assert broken[0]["answer"] == "MAYBE"
    assert any("check_id" not in result for result in broken)
    assert len(broken) < len(CHECKS)
    assert [result["check_id"] for result in sound] == ["greeting", "empathy", "closing"]
    assert {result["answer"] for result in sound} <= VALID_ANSWERS


@pytest.mark.parametrize(
    ("kind", "broken"),
    [
        ("bad_answer", lambda r: r[0]["answer"] == "MAYBE" and len(r) == 3),
        ("missing_check_id", lambda r: "check_id" not in r[0] and len(r) == 3),
        ("missing_check", lambda r: [x["check_id"] for x in r] == ["greeting", "empathy"]),
        ("no_results", lambda r: r is None),
    ],
)
async def test_malformed_kinds(
    fake: FakeAnthropic, client: anthropic.AsyncAnthropic, kind: Any, broken: Any
) -> None:
    fake.malformed_next(kind=kind)

    assert broken(tool_input(await ask(client, SHORT_CALL)).get("results"))


async def test_a_small_max_tokens_cuts_the_tool_call_off(client: anthropic.AsyncAnthropic) -> None:
    message = await ask(client, SHORT_CALL, max_tokens=5)

    assert message.stop_reason == "max_tokens"
    assert message.usage.output_tokens == 5
    assert tool_input(message) == {}


# --- message batches --------------------------------------------------------------------------


async def test_a_batch_ends_and_its_results_are_read(
    fake: FakeAnthropic, client: anthropic.AsyncAnthropic
) -> None:
    fake.batch_polls_until_end = 2
    fake.script("Thank you for calling Acme", {"empathy": Answer("NO", quote="")})
    fake.batch_error_next(1)
    requests: Any = [
        {"custom_id": "call-a", "params": prompt(SHORT_CALL)},
        {"custom_id": "call-b", "params": prompt(SHORT_CALL)},
        {"custom_id": "call-c", "params": prompt(LONG_CALL)},
    ]

    created = await client.messages.batches.create(requests=requests)
    assert created.id.startswith("msgbatch_")
    assert created.type == "message_batch"
    assert created.processing_status == "in_progress"
    assert created.request_counts.processing == 3
    assert created.ended_at is None and created.results_url is None
    assert created.expires_at > created.created_at
    assert created.cancel_initiated_at is None and created.archived_at is None

    polled = await client.messages.batches.retrieve(created.id)
    assert polled.processing_status == "in_progress"
    ended = await client.messages.batches.retrieve(created.id)
    assert ended.processing_status == "ended" and ended.ended_at is not None
    assert ended.request_counts.model_dump() == {
        "processing": 0,
        "succeeded": 2,
        "errored": 1,
        "canceled": 0,
        "expired": 0,
    }
    assert ended.results_url == f"{fake.base_url}{BATCHES}/{created.id}/results"

    results = {
        line.custom_id: line.result
        async for line in await client.messages.batches.results(created.id)
    }
    assert set(results) == {"call-a", "call-b", "call-c"}
    errored = results["call-a"]
    assert errored.type == "errored"
    assert errored.error.type == "error"
    assert errored.error.error.type == "invalid_request_error"
    succeeded = results["call-b"]
    assert succeeded.type == "succeeded"
    assert succeeded.message.stop_reason == "tool_use"
    answers = by_check(succeeded.message)
    assert answers["empathy"]["answer"] == "NO" and answers["greeting"]["answer"] == "YES"

    batch_usage = [u for u in fake.usage_log() if u.batch_id == created.id]
    assert [u.custom_id for u in batch_usage] == ["call-b", "call-c"]
    assert batch_usage[1].cache_creation_input_tokens


async def test_batch_requests_can_expire_or_fail_validation(
    fake: FakeAnthropic, client: anthropic.AsyncAnthropic
) -> None:
    fake.batch_expire_next()
    invalid = {**prompt(SHORT_CALL), "max_tokens": 0}
    requests: Any = [
        {"custom_id": "expires", "params": prompt(SHORT_CALL)},
        {"custom_id": "invalid", "params": invalid},
    ]

    batch = await client.messages.batches.create(requests=requests)
    assert (await client.messages.batches.retrieve(batch.id)).request_counts.errored == 1
    results = {
        line.custom_id: line.result
        async for line in await client.messages.batches.results(batch.id)
    }

    assert results["expires"].type == "expired"
    invalid_result = results["invalid"]
    assert invalid_result.type == "errored"
    assert invalid_result.error.error.message == (
        "max_tokens: Input should be greater than or equal to 1"
    )


async def test_a_batch_is_canceled_listed_and_deleted(
    fake: FakeAnthropic, client: anthropic.AsyncAnthropic
) -> None:
    fake.batch_polls_until_end = 10
    requests: Any = [{"custom_id": "only", "params": prompt(SHORT_CALL)}]
    first = await client.messages.batches.create(requests=requests)
    second = await client.messages.batches.create(requests=requests)

    listed = await client.messages.batches.list(limit=10)
    assert [batch.id for batch in listed.data] == [second.id, first.id]
    assert not listed.has_more
    paged = [batch.id async for batch in client.messages.batches.list(limit=1)]
    assert paged == [second.id, first.id]

    canceling = await client.messages.batches.cancel(first.id)
    assert canceling.processing_status == "canceling"
    assert canceling.cancel_initiated_at is not None
    with pytest.raises(anthropic.BadRequestError):
        await client.messages.batches.delete(second.id)  # still in progress
    ended = await client.messages.batches.retrieve(first.id)
    assert ended.processing_status == "ended"
    assert ended.request_counts.canceled == 1

    deleted = await client.messages.batches.delete(first.id)
    assert deleted.id == first.id and deleted.type == "message_batch_deleted"
    with pytest.raises(anthropic.NotFoundError) as caught:
        await client.messages.batches.retrieve(first.id)
    assert caught.value.type == "not_found_error"
    assert fake.batch_ids() == [second.id]


async def test_results_of_a_running_batch_are_not_available(
    fake: FakeAnthropic, client: anthropic.AsyncAnthropic
) -> None:
    fake.batch_polls_until_end = 10
    requests: Any = [{"custom_id": "only", "params": prompt(SHORT_CALL)}]
    batch = await client.messages.batches.create(requests=requests)

    with pytest.raises(anthropic.AnthropicError, match="No `results_url`"):
        await client.messages.batches.results(batch.id)

    fake.end_batch(batch.id)
    lines = [line async for line in await client.messages.batches.results(batch.id)]
    assert [line.custom_id for line in lines] == ["only"]


async def test_a_batch_with_bad_custom_ids_is_refused(client: anthropic.AsyncAnthropic) -> None:
    duplicate: Any = [{"custom_id": "x", "params": prompt(SHORT_CALL)}] * 2
    badly_named: Any = [{"custom_id": "not ok!", "params": prompt(SHORT_CALL)}]

    for requests in (duplicate, badly_named):
        with pytest.raises(anthropic.BadRequestError):
            await client.messages.batches.create(requests=requests)


async def test_unknown_models_and_paths_are_not_found() -> None:
    with FakeAnthropic(known_models={MODEL}) as server:
        sdk = anthropic.AsyncAnthropic(base_url=server.base_url, api_key=DEFAULT_KEY, max_retries=0)
        try:
            assert (await ask(sdk, SHORT_CALL)).model == MODEL
            with pytest.raises(anthropic.NotFoundError) as model:
                await ask(sdk, SHORT_CALL, model="claude-nonexistent")
            with pytest.raises(anthropic.NotFoundError) as path:
                await sdk.models.list()
        finally:
            await sdk.close()

    assert model.value.api_message == "model: claude-nonexistent"
    assert path.value.type == "not_found_error"
