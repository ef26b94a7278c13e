"""The Claude evaluator: a call's checks answered through Anthropic's Messages API.

- Checks go in chunks (`checks_per_request`), one request each, one after the
  other: the first writes the cached prefix (tool, instructions, transcript),
  the rest read it. Re-running the analysis of the same transcript within the
  cache's lifetime reads it too.
- 408, 409, 429, 5xx (529 "overloaded" included) and connection failures are
  retried up to `max_attempts`, waiting the server's `retry-after` (capped) or a
  jittered exponential backoff. The SDK's own retries are off so that this one
  rule decides, and logs, every wait.
- At most `max_concurrency` requests are in flight per process.
- A tool input that does not match the result schema is asked for again
  (`answer_attempts`); every request's tokens count in the usage.
- Every failure becomes an EvaluatorUnavailableError whose reason says what to do.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field

import anthropic
from anthropic.types import Message
from anthropic.types.message_create_params import MessageCreateParamsNonStreaming
from callscope_common.backoff import Backoff, retry_after_seconds
from callscope_common.metrics import PROVIDER_REQUESTS, PROVIDER_RETRIES, outcome_of_status

from callscope_analysis.adapters.claude_prompt import (
    InvalidAnswersError,
    parse_answers,
    request_params,
    transcript_text,
)
from callscope_analysis.domain.answers import ModelAnswer, verified_result
from callscope_analysis.domain.model import (
    Campaign,
    Check,
    CheckResult,
    EvaluatorOutcome,
    TokenUsage,
    Transcript,
)
from callscope_analysis.domain.pricing import cost_usd
from callscope_analysis.ports import EvaluatorUnavailableError

logger = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]

_RETRY_STATUSES = frozenset({408, 409, 429})
_SWITCH = "switch the campaign's evaluator to local"
# The provider label of the metrics.
_PROVIDER = "claude"


@dataclass(frozen=True)
class ClaudeConfig:
    """How the evaluator talks to Claude (from the service's settings)."""

    default_model: str
    max_tokens: int = 4096
    checks_per_request: int = 15
    max_attempts: int = 5
    answer_attempts: int = 2
    max_concurrency: int = 4


@dataclass
class UsageTally:
    """Tokens summed over an evaluation's requests."""

    model: str
    batched: bool = False
    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0
    requests: int = 0

    def add(self, message: Message) -> None:
        """Counts one response's usage."""
        usage = message.usage
        self.requests += 1
        self.input_tokens += usage.input_tokens
        self.output_tokens += usage.output_tokens
        self.cache_creation_input_tokens += usage.cache_creation_input_tokens or 0
        self.cache_read_input_tokens += usage.cache_read_input_tokens or 0

    def total(self) -> TokenUsage:
        """The usage with its list-price cost."""
        return TokenUsage(
            model=self.model,
            input_tokens=self.input_tokens,
            output_tokens=self.output_tokens,
            cache_creation_input_tokens=self.cache_creation_input_tokens,
            cache_read_input_tokens=self.cache_read_input_tokens,
            requests=self.requests,
            cost_usd=cost_usd(
                self.model,
                input_tokens=self.input_tokens,
                output_tokens=self.output_tokens,
                cache_creation_input_tokens=self.cache_creation_input_tokens,
                cache_read_input_tokens=self.cache_read_input_tokens,
                batched=self.batched,
            ),
            batched=self.batched,
        )


def chunked(checks: Sequence[Check], size: int) -> list[tuple[Check, ...]]:
    """The checks in consecutive chunks of at most `size`."""
    size = max(size, 1)
    return [tuple(checks[index : index + size]) for index in range(0, len(checks), size)]


def verified_results(
    transcript: Transcript, checks: Sequence[Check], answers: Mapping[str, ModelAnswer]
) -> tuple[CheckResult, ...]:
    """Every check's verified result, in the order of the checks."""
    return tuple(verified_result(check, answers[check.id], transcript) for check in checks)


@dataclass
class ClaudeEvaluator:
    """Answers a campaign's checks with Claude; the CheckEvaluator port."""

    client: anthropic.AsyncAnthropic
    config: ClaudeConfig
    sleep: Sleep = asyncio.sleep
    backoff: Backoff = field(default_factory=Backoff)
    fraction: Callable[[], float] = random.random
    _limit: asyncio.Semaphore = field(init=False)

    name = "claude"

    def __post_init__(self) -> None:
        self._limit = asyncio.Semaphore(max(self.config.max_concurrency, 1))

    def model_for(self, campaign: Campaign) -> str:
        """The campaign's Claude model, or the service's default."""
        return campaign.claude_model or self.config.default_model

    async def assess(self, transcript: Transcript, campaign: Campaign) -> EvaluatorOutcome:
        """Every check of the campaign answered and verified, with the tokens it took."""
        model = self.model_for(campaign)
        text = transcript_text(transcript)
        tally = UsageTally(model)
        answers: dict[str, ModelAnswer] = {}
        for chunk in chunked(campaign.checks, self.config.checks_per_request):
            params = request_params(
                model=model, max_tokens=self.config.max_tokens, transcript=text, checks=chunk
            )
            answers.update(await self._answer(params, chunk, tally))
        return EvaluatorOutcome(
            self.name, verified_results(transcript, campaign.checks, answers), tally.total()
        )

    async def _answer(
        self,
        params: MessageCreateParamsNonStreaming,
        checks: Sequence[Check],
        tally: UsageTally,
    ) -> Mapping[str, ModelAnswer]:
        problem = ""
        for attempt in range(1, self.config.answer_attempts + 1):
            message = await self.send(params)
            tally.add(message)
            try:
                return parse_answers(message, checks)
            except InvalidAnswersError as error:
                problem = str(error)
                logger.warning(
                    "Claude's answer did not match the result schema",
                    extra={"attempt": attempt, "problem": problem},
                )
        raise EvaluatorUnavailableError(
            f"Claude's answers did not have the expected shape "
            f"({self.config.answer_attempts} attempts): run the analysis again or {_SWITCH}",
            problem,
        )

    async def send(self, params: MessageCreateParamsNonStreaming) -> Message:
        """One Messages API request, retried while the failure may pass."""
        attempt = 0
        while True:
            attempt += 1
            try:
                async with self._limit:
                    message = await self.client.messages.create(**params)
                PROVIDER_REQUESTS.labels(_PROVIDER, "ok").inc()
                return message
            except anthropic.APIStatusError as error:
                status = error.status_code
                PROVIDER_REQUESTS.labels(_PROVIDER, outcome_of_status(status)).inc()
                if status not in _RETRY_STATUSES and status < 500:
                    raise refusal(error, params["model"]) from error
                if attempt >= self.config.max_attempts:
                    raise EvaluatorUnavailableError(
                        f"Claude is unavailable (HTTP {status} after {attempt} attempts): "
                        f"try again later or {_SWITCH}",
                        error.message,
                    ) from error
                asked = retry_after_seconds(error.response.headers.get("retry-after"))
                await self._wait(attempt, asked, f"HTTP {status}", outcome_of_status(status))
            except anthropic.APIConnectionError as error:
                outcome = (
                    "timeout"
                    if isinstance(error, anthropic.APITimeoutError)
                    else "connection_error"
                )
                PROVIDER_REQUESTS.labels(_PROVIDER, outcome).inc()
                if attempt >= self.config.max_attempts:
                    raise EvaluatorUnavailableError(
                        f"Claude could not be reached ({type(error).__name__} after {attempt} "
                        f"attempts): try again later or {_SWITCH}",
                        str(error),
                    ) from error
                await self._wait(attempt, None, type(error).__name__, outcome)

    async def _wait(self, attempt: int, retry_after: float | None, why: str, outcome: str) -> None:
        PROVIDER_RETRIES.labels(_PROVIDER, outcome).inc()
        delay = self.backoff.wait(attempt, self.fraction(), retry_after)
        logger.warning(
            "Claude request failed; retrying",
            extra={
                "failure": why,
                "attempt": attempt,
                "max_attempts": self.config.max_attempts,
                "retry_in_s": round(delay, 3),
            },
        )
        await self.sleep(delay)


def refusal(error: anthropic.APIStatusError, model: str) -> EvaluatorUnavailableError:
    """A failure a retry would repeat, explained."""
    status = error.status_code
    if status == 401:
        reason = (
            "Claude rejected the API key: check ANALYSIS_ANTHROPIC_API_KEY on this deployment "
            f"or {_SWITCH}"
        )
    elif status == 403:
        reason = f"Claude refused this API key the request (permission denied): {_SWITCH}"
    elif status == 404:
        reason = f"Claude does not know the model '{model}': correct the campaign's Claude model"
    else:
        reason = f"Claude refused the request (HTTP {status}): {error.message}"
    return EvaluatorUnavailableError(reason, error.message)
