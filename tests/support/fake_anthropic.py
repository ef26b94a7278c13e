"""A stand-in for Anthropic's Messages API and Message Batches API on a real socket, for tests.

It answers the documented shapes, so the real `anthropic` SDK can be pointed at it
(`AsyncAnthropic(base_url=fake.base_url, api_key=fake.api_key)`):

- `POST /v1/messages`: the key in `x-api-key` or as `Authorization: Bearer <key>` (SDK 2.x
  sends the latter; a missing or wrong key gets 401 `authentication_error`), an
  `anthropic-version` header (YYYY-MM-DD; missing gets 400), a body with `model`,
  `max_tokens` and `messages` (each missing or malformed field gets 400
  `invalid_request_error`). The answer is a `message` whose content is one `tool_use`
  block for the tool the request forces (or its first tool), with `usage` counted and
  prompt-cached as documented (see below).
- `POST /v1/messages/batches`, `GET /v1/messages/batches[/{id}]`, `POST …/{id}/cancel`,
  `DELETE …/{id}` and `GET …/{id}/results` (JSONL, one line per request).

Errors are `{"type": "error", "error": {"type": …, "message": …}, "request_id": "req_…"}`
with the same id in a `request-id` header (every answer carries one), as the API
documents its error shape.

Tokens are approximated as ceil(characters / 4) of the text of the tools (as JSON), the
system prompt and the messages. The cached prefix is everything, in the order tools →
system → messages, up to and including the last block carrying `cache_control`
(`{"type": "ephemeral"}`, optionally with `"ttl": "5m" | "1h"`); if the same prefix (model
and content) was seen within its TTL, it is read (`cache_read_input_tokens`, and the TTL
is refreshed), otherwise written (`cache_creation_input_tokens`). `input_tokens` counts
what comes after the breakpoint. A prefix shorter than `min_cacheable_tokens` is neither
written nor read: everything is in `input_tokens`. With several breakpoints the longest
cached one is read and the rest up to the last breakpoint written.

The "model" is scripted for the call evaluator's prompt: a text block
`<transcript>\n[12.3s-15.0s] AGENT: text\n…\n</transcript>` and a text block holding
`<checks>\n[{"id": …, "question": …}, …]\n</checks>`. The tool input it answers is
`{"results": [{"check_id", "answer", "confidence", "evidence_quote", "evidence_start",
"reasoning"}]}`, one per check, in the order asked:

    with FakeAnthropic() as fake:
        fake.script("Thank you for calling", {"greeting": Answer("YES", quote="Thank you…")})
        fake.fail_next(429, retry_after=2)            # the next request answers 429
        fake.fail_next(529, count=2)                  # then two 529s
        fake.malformed_next()                          # then a tool input breaking the schema
        fake.hang_next(1, 5.0)                         # a request that answers after 5 s
        fake.fail_for(20.0, 529)                       # every request answers 529 for 20 s
        client = anthropic.AsyncAnthropic(base_url=fake.base_url, api_key=fake.api_key)

Checks without a scripted answer are answered "YES", quoting the first transcript line.
`responder(fn)` replaces the scripted model entirely (fn gets the request body, returns
the tool input). Faults apply in the order queued; those given a `path` only to requests
to exactly that path (or, for a path ending in "/", to any path under it).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import re
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from types import TracebackType
from typing import Any, Literal, Self

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.support.fake_http_server import FakeProviderServer, RecordedRequest

DEFAULT_KEY = "sk-ant-fake-0123456789abcdef"
MESSAGES = "/v1/messages"
BATCHES = "/v1/messages/batches"
DEFAULT_MIN_CACHEABLE_TOKENS = 1024  # Sonnet and Opus models
CACHE_TTL_S: Mapping[str, float] = {"5m": 300.0, "1h": 3600.0}
MAX_CACHE_BREAKPOINTS = 4
MAX_BATCH_REQUESTS = 100_000
BATCH_LIFETIME = dt.timedelta(hours=24)

Responder = Callable[[dict[str, Any]], dict[str, Any]]
# A route's handler: the request, its parsed JSON body and its request id; it returns the
# JSON answer (or a Response), or raises _ApiError.
Handler = Callable[[Request, Any, str], Awaitable[Any]]
MalformedKind = Literal["all", "bad_answer", "missing_check_id", "missing_check", "no_results"]
# The error type the API answers with, by status; other 4xx are invalid_request_error and
# other 5xx api_error.
ERROR_TYPES: Mapping[int, str] = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    409: "conflict_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}
_DEFAULT_MESSAGES: Mapping[int, str] = {
    400: "Invalid request",
    401: "invalid x-api-key",
    403: "Your API key does not have permission to use the specified resource.",
    404: "Not found",
    413: "Request exceeds the maximum allowed number of bytes.",
    429: "Number of request tokens has exceeded your per-minute rate limit",
    500: "Internal server error",
    529: "Overloaded",
}
_VERSION = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TRANSCRIPT = re.compile(r"<transcript>\n?(?P<body>.*?)\n?</transcript>", re.DOTALL)
_CHECKS = re.compile(r"<checks>\s*(?P<body>.*?)\s*</checks>", re.DOTALL)
_LINE = re.compile(
    r"^\[(?P<start>\d+(?:\.\d+)?)s-(?P<end>\d+(?:\.\d+)?)s\]\s+"
    r"(?P<speaker>AGENT|CUSTOMER|UNKNOWN):\s?(?P<text>.*)$"
)
_CUSTOM_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,128}$")
_ID_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


@dataclass(frozen=True)
class Answer:
    """What the scripted model answers for one check."""

    answer: str  # "YES" | "NO" | "NOT_APPLICABLE" (any string, to script a bad one)
    quote: str = ""
    start: float = 0.0
    confidence: float = 0.9
    reasoning: str = "Scripted answer."


@dataclass(frozen=True)
class TranscriptLine:
    """One `[12.3s-15.0s] AGENT: text` line of the transcript block."""

    start: float
    end: float
    speaker: str
    text: str


@dataclass(frozen=True)
class UsageEntry:
    """The usage of one message the fake produced (directly, or in a batch)."""

    path: str
    model: str
    input_tokens: int
    output_tokens: int
    cache_creation_input_tokens: int
    cache_read_input_tokens: int
    batch_id: str | None = None
    custom_id: str | None = None


@dataclass(frozen=True)
class _Fault:
    status: int | None = None
    error_type: str | None = None
    message: str | None = None
    retry_after: str | None = None
    hang_s: float = 0.0
    path: str | None = None

    def matches(self, path: str) -> bool:
        if self.path is None:
            return True
        return path.startswith(self.path) if self.path.endswith("/") else path == self.path


class _ApiError(Exception):
    """An error answer, raised where a handler finds the request wrong."""

    def __init__(self, status: int, message: str, error_type: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.error_type = error_type or _error_type(status)


@dataclass(frozen=True)
class _Segment:
    """A piece of the prompt in cache order: its text (for counting), its canonical JSON
    (for the prefix hash) and the TTL of its cache_control breakpoint, if it has one."""

    text: str
    canonical: str
    ttl: str | None


@dataclass
class _Batch:
    id: str
    created_at: dt.datetime
    results: list[dict[str, Any]]
    polls_until_end: int
    polls: int = 0
    status: str = "in_progress"
    ended_at: dt.datetime | None = None
    cancel_initiated_at: dt.datetime | None = None


@dataclass
class _State:
    lock: threading.Lock = field(default_factory=threading.Lock)
    faults: list[_Fault] = field(default_factory=list)
    # An outage: every matching request answers this fault until the clock's deadline.
    outage: tuple[float, _Fault] | None = None
    malformed: list[MalformedKind] = field(default_factory=list)
    batch_failures: list[dict[str, Any]] = field(default_factory=list)
    scripts: list[tuple[str, dict[str, Answer]]] = field(default_factory=list)
    responder: Responder | None = None
    requests: list[RecordedRequest] = field(default_factory=list)
    usage: list[UsageEntry] = field(default_factory=list)
    cache: dict[str, float] = field(default_factory=dict)
    batches: dict[str, _Batch] = field(default_factory=dict)


class _Host(FakeProviderServer):
    """FakeProviderServer's server lifecycle (uvicorn in a thread on a free port), serving
    routes the FakeAnthropic gives; its audio scripts and auth are not used."""

    def __init__(self, routes: Callable[[], list[Route]]) -> None:
        super().__init__(api_key="")
        self._make_routes = routes

    def _routes(self) -> list[Route]:
        return self._make_routes()

    async def pause(self, seconds: float) -> None:
        await self._pause(seconds)


class FakeAnthropic:
    """Anthropic's Messages and Message Batches API with a scripted model, on 127.0.0.1.

    Use it as a context manager (or start()/stop()); base_url is known once started.
    """

    def __init__(
        self,
        api_key: str = DEFAULT_KEY,
        *,
        min_cacheable_tokens: int = DEFAULT_MIN_CACHEABLE_TOKENS,
        batch_polls_until_end: int = 1,
        known_models: Collection[str] | None = None,
        reverse_batch_results: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """api_key: the key requests must carry. min_cacheable_tokens: shorter prefixes are
        not cached. batch_polls_until_end: the retrieve (GET) of a batch that first finds it
        ended (1: the first). known_models: models answered (others get 404
        not_found_error); None answers any. reverse_batch_results: results in reverse
        request order (the API does not keep the order). clock: seconds, for cache TTLs."""
        self.api_key = api_key
        self.min_cacheable_tokens = min_cacheable_tokens
        self.batch_polls_until_end = batch_polls_until_end
        self.known_models = frozenset(known_models) if known_models is not None else None
        self.reverse_batch_results = reverse_batch_results
        self._clock = clock
        self._state = _State()
        self._host = _Host(self._routes)

    # --- lifecycle -------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """Where the fake listens, e.g. http://127.0.0.1:40123 (no trailing slash)."""
        return self._host.base_url

    def start(self) -> Self:
        """Binds a free port and serves until stop(); returns self."""
        self._host.start()
        return self

    def stop(self) -> None:
        """Releases hanging requests and stops the server."""
        self._host.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()

    # --- what tests program ----------------------------------------------------------------

    def script(self, marker: str, answers: Mapping[str, Answer]) -> None:
        """Requests whose transcript block contains marker get these answers for these check
        ids (later scripts win for the same check id)."""
        with self._state.lock:
            self._state.scripts.append((marker, dict(answers)))

    def responder(self, fn: Responder | None) -> Responder | None:
        """fn(request body) returns the whole tool input from now on (None: back to the
        scripts). Returns fn, so it can decorate."""
        with self._state.lock:
            self._state.responder = fn
        return fn

    def fail_next(
        self,
        status: int,
        count: int = 1,
        retry_after: float | str | None = None,
        error_type: str | None = None,
        *,
        message: str | None = None,
        path: str | None = None,
    ) -> None:
        """The next count requests (to path, if given) answer status with the API's error
        body (error_type defaults by status: 429 rate_limit_error, 529 overloaded_error,
        500 api_error, …) and, when given, a retry-after header."""
        header = None if retry_after is None else str(retry_after)
        fault = _Fault(status, error_type, message, header, 0.0, path)
        with self._state.lock:
            self._state.faults.extend([fault] * count)

    def hang_next(self, count: int, seconds: float, *, path: str | None = None) -> None:
        """The next count requests (to path, if given) wait seconds before answering."""
        with self._state.lock:
            self._state.faults.extend([_Fault(hang_s=seconds, path=path)] * count)

    def fail_for(
        self,
        seconds: float,
        status: int,
        error_type: str | None = None,
        *,
        path: str | None = None,
    ) -> None:
        """Every request (to path, if given) answers status with the API's error body for the
        next seconds (by the fake's clock): an outage, however many requests arrive
        meanwhile. Queued faults wait until it is over."""
        fault = _Fault(status, error_type, None, None, 0.0, path)
        with self._state.lock:
            self._state.outage = (self._clock() + seconds, fault)

    def malformed_next(self, count: int = 1, kind: MalformedKind = "all") -> None:
        """The next count answers (messages, or batch requests) carry a tool input that breaks
        the schema. kind "bad_answer": the first result's answer is "MAYBE";
        "missing_check_id": a result without check_id; "missing_check": the last check is
        not answered; "no_results": the input lacks "results"; "all": the first three at
        once (as far as the checks go)."""
        with self._state.lock:
            self._state.malformed.extend([kind] * count)

    def batch_error_next(
        self,
        count: int = 1,
        error_type: str = "invalid_request_error",
        message: str = "The request could not be processed.",
    ) -> None:
        """The next count requests of batches created from now on end as errored."""
        failure = {
            "type": "errored",
            "error": {"type": "error", "error": {"type": error_type, "message": message}},
        }
        with self._state.lock:
            self._state.batch_failures.extend([failure] * count)

    def batch_expire_next(self, count: int = 1) -> None:
        """The next count requests of batches created from now on end as expired."""
        with self._state.lock:
            self._state.batch_failures.extend([{"type": "expired"}] * count)

    def end_batch(self, batch_id: str) -> None:
        """Ends the batch now, whatever the polls so far."""
        with self._state.lock:
            self._end(self._state.batches[batch_id])

    def forget_cache(self) -> None:
        """Empties the prompt cache (as if every entry expired)."""
        with self._state.lock:
            self._state.cache.clear()

    def reset(self) -> None:
        """Forgets everything programmed and seen: faults, scripts, responder, the request and
        usage logs, the prompt cache and the batches."""
        with self._state.lock:
            lock = self._state.lock
            self._state = _State(lock=lock)

    # --- what tests read -------------------------------------------------------------------

    def requests(self, path: str | None = None) -> list[RecordedRequest]:
        """The requests received so far (to exactly path, if given), oldest first; headers
        without x-api-key and Authorization."""
        with self._state.lock:
            return [r for r in self._state.requests if path is None or r.path == path]

    def usage_log(self) -> list[UsageEntry]:
        """The usage of every message produced so far (direct and in batches), oldest first."""
        with self._state.lock:
            return list(self._state.usage)

    def batch_ids(self) -> list[str]:
        """The batches created so far, oldest first."""
        with self._state.lock:
            return list(self._state.batches)

    # --- the server ------------------------------------------------------------------------

    def _routes(self) -> list[Route]:
        batch = BATCHES + "/{batch_id}"
        return [
            self._route(MESSAGES, ["POST"], self._messages),
            self._route(BATCHES, ["POST"], self._create_batch),
            self._route(BATCHES, ["GET"], self._list_batches),
            self._route(batch, ["GET"], self._retrieve_batch),
            self._route(batch, ["DELETE"], self._delete_batch),
            self._route(batch + "/cancel", ["POST"], self._cancel_batch),
            self._route(batch + "/results", ["GET"], self._batch_results),
            self._route("/{rest:path}", ["GET", "POST", "PUT", "PATCH", "DELETE"], _not_found),
        ]

    def _route(
        self,
        path: str,
        methods: list[str],
        handler: Handler,
    ) -> Route:
        """A route that logs the request, applies any queued fault, checks the key and the
        version header, then answers (an _ApiError becomes the API's error answer)."""

        async def endpoint(request: Request) -> Response:
            request_id = _new_id("req_")
            raw = await request.body()
            parsed: Any = None
            invalid_json = False
            if raw:
                try:
                    parsed = json.loads(raw)
                except ValueError:
                    invalid_json = True
            scheme, key = _credentials(request)
            self._record(request, raw, parsed, scheme, key == self.api_key)
            fault = self._take_fault(request.url.path)
            if fault is not None:
                await self._host.pause(fault.hang_s)
                if fault.status is not None:
                    response = _error(
                        fault.status,
                        fault.message or _DEFAULT_MESSAGES.get(fault.status),
                        request_id,
                        fault.error_type,
                    )
                    if fault.retry_after is not None:
                        response.headers["retry-after"] = fault.retry_after
                    return response
            try:
                if not key:
                    raise _ApiError(401, "x-api-key header is required")
                if key != self.api_key:
                    raise _ApiError(401, "invalid x-api-key")
                version = request.headers.get("anthropic-version")
                if not version:
                    raise _ApiError(400, "anthropic-version: header is required")
                if not _VERSION.match(version):
                    raise _ApiError(400, f"anthropic-version: invalid version {version!r}")
                if invalid_json:
                    raise _ApiError(400, "There was an issue with the format of your request")
                answer = await handler(request, parsed, request_id)
            except _ApiError as problem:
                return _error(problem.status, problem.message, request_id, problem.error_type)
            if isinstance(answer, Response):
                answer.headers["request-id"] = request_id
                return answer
            return JSONResponse(answer, headers={"request-id": request_id})

        return Route(path, endpoint, methods=methods)

    def _record(
        self, request: Request, raw: bytes, parsed: Any, scheme: str, authorized: bool
    ) -> None:
        secret = {"x-api-key", "authorization"}
        headers = {k: v for k, v in request.headers.items() if k.lower() not in secret}
        recorded = RecordedRequest(
            method=request.method,
            path=request.url.path,
            query=dict(request.query_params),
            headers=headers,
            auth_scheme=scheme,
            authorized=authorized,
            body_size=len(raw),
            body_sha256=hashlib.sha256(raw).hexdigest(),
            json=parsed,
        )
        with self._state.lock:
            self._state.requests.append(recorded)

    def _take_fault(self, path: str) -> _Fault | None:
        with self._state.lock:
            outage = self._state.outage
            if outage is not None and self._clock() < outage[0] and outage[1].matches(path):
                return outage[1]
            for index, fault in enumerate(self._state.faults):
                if fault.matches(path):
                    return self._state.faults.pop(index)
        return None

    # --- messages --------------------------------------------------------------------------

    async def _messages(self, request: Request, body: Any, request_id: str) -> dict[str, Any]:
        return self._message(body, path=MESSAGES)

    def _message(
        self,
        params: Any,
        *,
        path: str,
        batch_id: str | None = None,
        custom_id: str | None = None,
    ) -> dict[str, Any]:
        """The message the scripted model answers params with (an _ApiError if invalid)."""
        _validate(params, self.known_models)
        tool_name = _forced_tool(params)
        tool_input = self._tool_input(params)
        output_tokens = _tokens(len(json.dumps(tool_input))) + 8
        stop_reason = "tool_use" if tool_name else "end_turn"
        if output_tokens > params["max_tokens"]:
            # Cut off: the tool_use block never completed.
            output_tokens, stop_reason, tool_input = params["max_tokens"], "max_tokens", {}
        content: dict[str, Any]
        if tool_name:
            content = {
                "type": "tool_use",
                "id": _new_id("toolu_"),
                "name": tool_name,
                "input": tool_input,
            }
        else:
            content = {"type": "text", "text": json.dumps(tool_input)}
        usage = self._usage(params, output_tokens)
        entry = UsageEntry(
            path=path,
            model=params["model"],
            input_tokens=usage["input_tokens"],
            output_tokens=output_tokens,
            cache_creation_input_tokens=usage["cache_creation_input_tokens"],
            cache_read_input_tokens=usage["cache_read_input_tokens"],
            batch_id=batch_id,
            custom_id=custom_id,
        )
        with self._state.lock:
            self._state.usage.append(entry)
        return {
            "id": _new_id("msg_"),
            "type": "message",
            "role": "assistant",
            "model": params["model"],
            "content": [content],
            "stop_reason": stop_reason,
            "stop_sequence": None,
            "usage": usage,
        }

    def _tool_input(self, params: dict[str, Any]) -> dict[str, Any]:
        transcript, checks, everything = _read_prompt(params)
        with self._state.lock:
            malformed = self._state.malformed.pop(0) if self._state.malformed else None
            responder = self._state.responder
            scripts = list(self._state.scripts)
        if responder is not None:
            tool_input = responder(params)
        else:
            haystack = transcript if transcript is not None else everything
            answers: dict[str, Answer] = {}
            for marker, scripted in scripts:
                if marker in haystack:
                    answers.update(scripted)
            lines = _parse_lines(transcript or "")
            tool_input = {"results": [_result(check, answers, lines) for check in checks]}
        return _malform(tool_input, malformed) if malformed else tool_input

    def _usage(self, params: dict[str, Any], output_tokens: int) -> dict[str, Any]:
        """Usage as documented for prompt caching (see the module's docstring)."""
        segments = _segments(params)
        total = _tokens(sum(len(segment.text) for segment in segments))
        running = hashlib.sha256(params["model"].encode())
        chars = 0
        breakpoints: list[tuple[str, int, str]] = []  # (prefix hash, prefix tokens, ttl)
        for segment in segments:
            running.update(segment.canonical.encode())
            chars += len(segment.text)
            if segment.ttl is not None and _tokens(chars) >= self.min_cacheable_tokens:
                breakpoints.append((running.hexdigest(), _tokens(chars), segment.ttl))
        read = 0
        written = {"5m": 0, "1h": 0}
        if breakpoints:
            now = self._clock()
            with self._state.lock:
                cache = self._state.cache
                for digest, tokens, _ttl in reversed(breakpoints):
                    if cache.get(digest, -math.inf) > now:
                        read = tokens
                        break
                previous = read
                for digest, tokens, ttl in breakpoints:
                    cache[digest] = now + CACHE_TTL_S[ttl]
                    if tokens > previous:
                        written[ttl] += tokens - previous
                        previous = tokens
        cached = breakpoints[-1][1] if breakpoints else 0
        return {
            "input_tokens": total - cached,
            "cache_creation_input_tokens": written["5m"] + written["1h"],
            "cache_read_input_tokens": read,
            "cache_creation": {
                "ephemeral_5m_input_tokens": written["5m"],
                "ephemeral_1h_input_tokens": written["1h"],
            },
            "output_tokens": output_tokens,
            "service_tier": "standard",
        }

    # --- batches ---------------------------------------------------------------------------

    async def _create_batch(self, request: Request, body: Any, request_id: str) -> Any:
        requests = body.get("requests") if isinstance(body, dict) else None
        if requests is None:
            raise _ApiError(400, "requests: Field required")
        if not isinstance(requests, list) or not requests:
            raise _ApiError(400, "requests: List should have at least 1 item")
        if len(requests) > MAX_BATCH_REQUESTS:
            raise _ApiError(400, f"requests: at most {MAX_BATCH_REQUESTS} requests per batch")
        seen: set[str] = set()
        for index, item in enumerate(requests):
            custom_id = item.get("custom_id") if isinstance(item, dict) else None
            if not isinstance(custom_id, str) or not _CUSTOM_ID.match(custom_id):
                raise _ApiError(
                    400, f"requests.{index}.custom_id: String should match ^[a-zA-Z0-9_-]{{1,64}}$"
                )
            if custom_id in seen:
                raise _ApiError(400, f"requests: duplicate custom_id {custom_id!r}")
            seen.add(custom_id)
            if not isinstance(item.get("params"), dict):
                raise _ApiError(400, f"requests.{index}.params: Field required")
        batch_id = _new_id("msgbatch_")
        results = [self._batch_result(batch_id, item) for item in requests]
        batch = _Batch(batch_id, _now(), results, self.batch_polls_until_end)
        with self._state.lock:
            self._state.batches[batch_id] = batch
            return self._batch_object(batch)

    def _batch_result(self, batch_id: str, item: dict[str, Any]) -> dict[str, Any]:
        custom_id = item["custom_id"]
        with self._state.lock:
            failure = self._state.batch_failures.pop(0) if self._state.batch_failures else None
        if failure is not None:
            return {"custom_id": custom_id, "result": failure}
        try:
            message = self._message(
                item["params"], path=BATCHES, batch_id=batch_id, custom_id=custom_id
            )
        except _ApiError as problem:
            error = {"type": problem.error_type, "message": problem.message}
            result = {"type": "errored", "error": {"type": "error", "error": error}}
            return {"custom_id": custom_id, "result": result}
        return {"custom_id": custom_id, "result": {"type": "succeeded", "message": message}}

    async def _retrieve_batch(self, request: Request, body: Any, request_id: str) -> Any:
        with self._state.lock:
            batch = self._batch(request)
            batch.polls += 1
            if batch.status == "canceling" or (
                batch.status == "in_progress" and batch.polls >= batch.polls_until_end
            ):
                self._end(batch)
            return self._batch_object(batch)

    async def _list_batches(self, request: Request, body: Any, request_id: str) -> Any:
        try:
            limit = int(request.query_params.get("limit", "20"))
        except ValueError:
            raise _ApiError(400, "limit: Input should be a valid integer") from None
        if not 1 <= limit <= 1000:
            raise _ApiError(400, "limit: Input should be between 1 and 1000")
        with self._state.lock:
            newest_first = list(reversed(self._state.batches.values()))
            ids = [batch.id for batch in newest_first]
            after, before = (
                request.query_params.get("after_id"),
                request.query_params.get("before_id"),
            )
            if before is not None:
                # The page of (newer) batches just before the cursor.
                newer = newest_first[: ids.index(before)] if before in ids else []
                page, has_more = newer[-limit:], len(newer) > limit
            else:
                if after is not None:
                    newest_first = newest_first[ids.index(after) + 1 :] if after in ids else []
                page, has_more = newest_first[:limit], len(newest_first) > limit
            data = [self._batch_object(batch) for batch in page]
        return {
            "data": data,
            "has_more": has_more,
            "first_id": data[0]["id"] if data else None,
            "last_id": data[-1]["id"] if data else None,
        }

    async def _cancel_batch(self, request: Request, body: Any, request_id: str) -> Any:
        with self._state.lock:
            batch = self._batch(request)
            if batch.status == "in_progress":
                batch.status = "canceling"
                batch.cancel_initiated_at = _now()
                for line in batch.results:
                    if line["result"]["type"] == "succeeded":
                        line["result"] = {"type": "canceled"}
            return self._batch_object(batch)

    async def _delete_batch(self, request: Request, body: Any, request_id: str) -> Any:
        with self._state.lock:
            batch = self._batch(request)
            if batch.status != "ended":
                raise _ApiError(
                    400,
                    f"Message Batch {batch.id} cannot be deleted while it is {batch.status}; "
                    "cancel it first.",
                )
            del self._state.batches[batch.id]
        return {"id": batch.id, "type": "message_batch_deleted"}

    async def _batch_results(self, request: Request, body: Any, request_id: str) -> Any:
        with self._state.lock:
            batch = self._batch(request)
            if batch.status != "ended":
                raise _ApiError(
                    400,
                    f"Message Batch {batch.id} has not finished processing; "
                    "results are available once it has ended.",
                )
            lines = list(reversed(batch.results)) if self.reverse_batch_results else batch.results
            text = "".join(json.dumps(line) + "\n" for line in lines)
        return Response(text, media_type="application/binary")

    def _batch(self, request: Request) -> _Batch:
        """The batch the path names (call with the lock held); 404 when there is none."""
        batch_id = request.path_params["batch_id"]
        batch = self._state.batches.get(batch_id)
        if batch is None:
            raise _ApiError(404, f"message_batch: {batch_id} not found")
        return batch

    def _end(self, batch: _Batch) -> None:
        if batch.status != "ended":
            batch.status = "ended"
            batch.ended_at = _now()

    def _batch_object(self, batch: _Batch) -> dict[str, Any]:
        counts = {"processing": 0, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
        if batch.status == "ended":
            for line in batch.results:
                counts[line["result"]["type"]] += 1
        else:
            counts["processing"] = len(batch.results)
        ended = batch.status == "ended"
        return {
            "id": batch.id,
            "type": "message_batch",
            "processing_status": batch.status,
            "request_counts": counts,
            "ended_at": _timestamp(batch.ended_at),
            "created_at": _timestamp(batch.created_at),
            "expires_at": _timestamp(batch.created_at + BATCH_LIFETIME),
            "archived_at": None,
            "cancel_initiated_at": _timestamp(batch.cancel_initiated_at),
            "results_url": f"{self.base_url}{BATCHES}/{batch.id}/results" if ended else None,
        }


# --- requests -------------------------------------------------------------------------------


def _credentials(request: Request) -> tuple[str, str]:
    """The scheme the key came in ("x-api-key", "Bearer" or "") and the key."""
    key = request.headers.get("x-api-key")
    if key:
        return "x-api-key", key
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token:
        return "Bearer", token.strip()
    return "", ""


def _validate(params: Any, known_models: frozenset[str] | None) -> None:
    """The checks the API makes on a Messages request that the evaluator could get wrong."""
    if not isinstance(params, dict):
        raise _ApiError(400, "Request body must be a JSON object")
    for name in ("model", "max_tokens", "messages"):
        if name not in params:
            raise _ApiError(400, f"{name}: Field required")
    model = params["model"]
    if not isinstance(model, str) or not model:
        raise _ApiError(400, "model: Input should be a valid string")
    if known_models is not None and model not in known_models:
        raise _ApiError(404, f"model: {model}")
    max_tokens = params["max_tokens"]
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int):
        raise _ApiError(400, "max_tokens: Input should be a valid integer")
    if max_tokens < 1:
        raise _ApiError(400, "max_tokens: Input should be greater than or equal to 1")
    _validate_messages(params["messages"])
    _validate_system(params.get("system"))
    tools = _validate_tools(params.get("tools"))
    _validate_tool_choice(params.get("tool_choice"), tools)
    breakpoints = sum(1 for segment in _segments(params) if segment.ttl is not None)
    if breakpoints > MAX_CACHE_BREAKPOINTS:
        raise _ApiError(
            400,
            f"A maximum of {MAX_CACHE_BREAKPOINTS} blocks with cache_control may be provided. "
            f"Found {breakpoints}.",
        )


def _validate_messages(messages: Any) -> None:
    if not isinstance(messages, list):
        raise _ApiError(400, "messages: Input should be a valid list")
    if not messages:
        raise _ApiError(400, "messages: at least one message is required")
    for index, message in enumerate(messages):
        where = f"messages.{index}"
        if not isinstance(message, dict):
            raise _ApiError(400, f"{where}: Input should be a valid dictionary")
        if message.get("role") not in {"user", "assistant"}:
            raise _ApiError(400, f"{where}.role: Input should be 'user' or 'assistant'")
        if "content" not in message:
            raise _ApiError(400, f"{where}.content: Field required")
        content = message["content"]
        if isinstance(content, str):
            if not content and index < len(messages) - 1:
                raise _ApiError(400, f"{where}: all messages must have non-empty content")
            continue
        if not isinstance(content, list):
            raise _ApiError(400, f"{where}.content: Input should be a valid list")
        for number, block in enumerate(content):
            _validate_block(block, f"{where}.content.{number}")


def _validate_system(system: Any) -> None:
    if system is None or isinstance(system, str):
        return
    if not isinstance(system, list):
        raise _ApiError(400, "system: Input should be a valid string or list")
    for number, block in enumerate(system):
        _validate_block(block, f"system.{number}")
        if block.get("type") != "text":
            raise _ApiError(400, f"system.{number}.type: Input should be 'text'")


def _validate_block(block: Any, where: str) -> None:
    if not isinstance(block, dict) or not isinstance(block.get("type"), str):
        raise _ApiError(400, f"{where}: Input should be a content block with a type")
    if block["type"] == "text":
        text = block.get("text")
        if not isinstance(text, str):
            raise _ApiError(400, f"{where}.text: Field required")
        if not text:
            raise _ApiError(400, "messages: text content blocks must be non-empty")
    _cache_ttl(block, where)


def _validate_tools(tools: Any) -> list[dict[str, Any]]:
    if tools is None:
        return []
    if not isinstance(tools, list):
        raise _ApiError(400, "tools: Input should be a valid list")
    names: set[str] = set()
    for index, tool in enumerate(tools):
        if not isinstance(tool, dict):
            raise _ApiError(400, f"tools.{index}: Input should be a valid dictionary")
        name = tool.get("name")
        if not isinstance(name, str) or not _TOOL_NAME.match(name):
            raise _ApiError(
                400, f"tools.{index}.name: String should match ^[a-zA-Z0-9_-]{{1,128}}$"
            )
        if name in names:
            raise _ApiError(400, "tools: Tool names must be unique.")
        names.add(name)
        if tool.get("type") in (None, "custom") and not isinstance(tool.get("input_schema"), dict):
            raise _ApiError(400, f"tools.{index}.custom.input_schema: Field required")
        _cache_ttl(tool, f"tools.{index}")
    return tools


def _validate_tool_choice(choice: Any, tools: list[dict[str, Any]]) -> None:
    if choice is None:
        return
    if not isinstance(choice, dict) or choice.get("type") not in {"auto", "any", "tool", "none"}:
        raise _ApiError(400, "tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none'")
    if choice["type"] in {"any", "tool"} and not tools:
        raise _ApiError(400, "tool_choice may only be specified while providing tools.")
    if choice["type"] == "tool":
        name = choice.get("name")
        if not isinstance(name, str):
            raise _ApiError(400, "tool_choice.tool.name: Field required")
        if name not in {tool["name"] for tool in tools}:
            raise _ApiError(400, f"tool_choice.name: Tool '{name}' not found in tools")


def _cache_ttl(block: dict[str, Any], where: str) -> str | None:
    """The TTL of the block's cache_control breakpoint, None without one (400 if invalid)."""
    control = block.get("cache_control")
    if control is None:
        return None
    if not isinstance(control, dict) or control.get("type") != "ephemeral":
        raise _ApiError(400, f"{where}.cache_control.type: Input should be 'ephemeral'")
    ttl = control.get("ttl", "5m")
    if ttl not in CACHE_TTL_S:
        raise _ApiError(400, f"{where}.cache_control.ttl: Input should be '5m' or '1h'")
    return str(ttl)


def _segments(params: dict[str, Any]) -> list[_Segment]:
    """The prompt in cache order (tools, system, messages), one segment per block."""
    segments: list[_Segment] = []
    for index, tool in enumerate(params.get("tools") or []):
        text = _canonical(tool)
        segments.append(_Segment(text, text, _cache_ttl(tool, f"tools.{index}")))
    system = params.get("system")
    if isinstance(system, str):
        segments.append(_Segment(system, json.dumps(system), None))
    elif isinstance(system, list):
        for index, block in enumerate(system):
            segments.append(_block_segment(block, f"system.{index}"))
    for index, message in enumerate(params["messages"]):
        content = message["content"]
        role = json.dumps(message["role"])
        if isinstance(content, str):
            segments.append(_Segment(content, role + json.dumps(content), None))
            continue
        for number, block in enumerate(content):
            segment = _block_segment(block, f"messages.{index}.content.{number}")
            segments.append(_Segment(segment.text, role + segment.canonical, segment.ttl))
    return segments


def _block_segment(block: dict[str, Any], where: str) -> _Segment:
    canonical = _canonical(block)
    text = block["text"] if block.get("type") == "text" else canonical
    return _Segment(text, canonical, _cache_ttl(block, where))


def _canonical(value: dict[str, Any]) -> str:
    """The JSON of a block or tool without its cache_control (moving a breakpoint later
    keeps the earlier prefix the same)."""
    return json.dumps(
        {k: v for k, v in value.items() if k != "cache_control"},
        sort_keys=True,
        separators=(",", ":"),
    )


def _forced_tool(params: dict[str, Any]) -> str | None:
    """The tool the model answers with: the forced one, else the first; None for text."""
    tools = params.get("tools") or []
    choice = params.get("tool_choice") or {}
    if choice.get("type") == "tool":
        return str(choice["name"])
    if not tools or choice.get("type") == "none":
        return None
    return str(tools[0]["name"])


# --- the scripted model ---------------------------------------------------------------------


def _texts(params: dict[str, Any]) -> list[str]:
    """Every text of the user's messages, in order."""
    texts: list[str] = []
    for message in params["messages"]:
        if message["role"] != "user":
            continue
        content = message["content"]
        if isinstance(content, str):
            texts.append(content)
        else:
            texts.extend(block["text"] for block in content if block.get("type") == "text")
    return texts


def _read_prompt(params: dict[str, Any]) -> tuple[str | None, list[dict[str, Any]], str]:
    """The transcript block's text (None without one), the checks asked and all the text."""
    texts = _texts(params)
    system = params.get("system")
    if isinstance(system, str):
        texts.append(system)
    elif isinstance(system, list):
        texts.extend(block["text"] for block in system)
    transcript: str | None = None
    checks: list[dict[str, Any]] = []
    for text in texts:
        if transcript is None and (found := _TRANSCRIPT.search(text)):
            transcript = found.group("body")
        if not checks and (listed := _CHECKS.search(text)):
            try:
                parsed = json.loads(listed.group("body"))
            except ValueError:
                parsed = []
            if isinstance(parsed, list):
                checks = [c for c in parsed if isinstance(c, dict) and "id" in c]
    return transcript, checks, "\n".join(texts)


def _parse_lines(transcript: str) -> list[TranscriptLine]:
    lines: list[TranscriptLine] = []
    for raw in transcript.splitlines():
        found = _LINE.match(raw.strip())
        if found:
            lines.append(
                TranscriptLine(
                    start=float(found.group("start")),
                    end=float(found.group("end")),
                    speaker=found.group("speaker"),
                    text=found.group("text"),
                )
            )
    return lines


def _result(
    check: dict[str, Any], answers: Mapping[str, Answer], lines: list[TranscriptLine]
) -> dict[str, Any]:
    check_id = str(check["id"])
    answer = answers.get(check_id)
    if answer is None:
        first = lines[0] if lines else None
        answer = Answer(
            "YES",
            quote=first.text if first else "",
            start=first.start if first else 0.0,
            reasoning="The transcript shows it (the stand-in's default answer).",
        )
    return {
        "check_id": check_id,
        "answer": answer.answer,
        "confidence": answer.confidence,
        "evidence_quote": answer.quote,
        "evidence_start": answer.start,
        "reasoning": answer.reasoning,
    }


def _malform(tool_input: dict[str, Any], kind: MalformedKind) -> dict[str, Any]:
    """The tool input broken as kind says (see FakeAnthropic.malformed_next)."""
    results = tool_input.get("results")
    if kind == "no_results" or not isinstance(results, list) or not results:
        return {"answers": results if isinstance(results, list) else []}
    broken = [dict(result) if isinstance(result, dict) else result for result in results]
    if kind in {"all", "missing_check"} and (len(broken) >= 3 or kind == "missing_check"):
        broken.pop()
    if kind in {"all", "bad_answer"} and broken:
        broken[0]["answer"] = "MAYBE"
    if kind in {"all", "missing_check_id"} and broken:
        broken[min(1, len(broken) - 1) if kind == "all" else 0].pop("check_id", None)
    return {**tool_input, "results": broken}


# --- answers --------------------------------------------------------------------------------


async def _not_found(request: Request, body: Any, request_id: str) -> Any:
    raise _ApiError(404, f"Not found: {request.method} {request.url.path}")


def _error(
    status: int, message: str | None, request_id: str, error_type: str | None = None
) -> JSONResponse:
    """The API's documented error answer."""
    body = {
        "type": "error",
        "error": {
            "type": error_type or _error_type(status),
            "message": message or _phrase(status),
        },
        "request_id": request_id,
    }
    return JSONResponse(body, status_code=status, headers={"request-id": request_id})


def _error_type(status: int) -> str:
    if status in ERROR_TYPES:
        return ERROR_TYPES[status]
    return "api_error" if status >= 500 else "invalid_request_error"


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _tokens(characters: int) -> int:
    return math.ceil(characters / 4)


def _new_id(prefix: str) -> str:
    """An id like the API's: prefix, "01", then 22 base-62 characters."""
    number = uuid.uuid4().int
    chars = []
    for _ in range(22):
        number, digit = divmod(number, 62)
        chars.append(_ID_ALPHABET[digit])
    return prefix + "01" + "".join(chars)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _timestamp(moment: dt.datetime | None) -> str | None:
    """RFC 3339 with microseconds and a Z, as the API writes times."""
    if moment is None:
        return None
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


__all__ = [
    "BATCHES",
    "CACHE_TTL_S",
    "DEFAULT_KEY",
    "DEFAULT_MIN_CACHEABLE_TOKENS",
    "ERROR_TYPES",
    "MESSAGES",
    "Answer",
    "FakeAnthropic",
    "MalformedKind",
    "RecordedRequest",
    "Responder",
    "TranscriptLine",
    "UsageEntry",
]
