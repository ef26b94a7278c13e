"""Claude's Message Batches API: many calls' checks in one batch, answered within hours at
half price.

Each call of a batch gets one request per chunk of its checks, built exactly as the
Messages API requests of the immediate evaluator (`request_params`), with the custom id
`<index of the call in the batch>-<chunk>`. Results come back in any order and are
matched by that id; a call's answers are read (`parse_answers`) and verified only when
every one of its chunks succeeded.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import anthropic
from anthropic.types import Message
from anthropic.types.messages.batch_create_params import Request

from callscope_analysis.adapters.claude import (
    ClaudeConfig,
    UsageTally,
    chunked,
    refusal,
    verified_results,
)
from callscope_analysis.adapters.claude_prompt import (
    InvalidAnswersError,
    parse_answers,
    request_params,
    transcript_text,
)
from callscope_analysis.domain.answers import ModelAnswer
from callscope_analysis.domain.batches import BatchSubmission
from callscope_analysis.domain.model import Campaign, EvaluatorOutcome, TokenUsage, Transcript

logger = logging.getLogger(__name__)

EVALUATOR = "claude"
# Failures of the Batches API itself that may pass: tried again at the next round.
_RETRY_STATUSES = frozenset({408, 409, 429})


class BatchUnavailableError(RuntimeError):
    """The Batches API could not be reached or failed in a way that may pass."""


class BatchGoneError(LookupError):
    """The API no longer knows the batch (deleted, or its results expired)."""


class BatchItemFailedError(RuntimeError):
    """A call's requests in a batch did not all produce valid answers; `usage` is what
    the requests that did answer cost."""

    def __init__(self, reason: str, usage: TokenUsage) -> None:
        super().__init__(reason)
        self.reason = reason
        self.usage = usage


@dataclass(frozen=True)
class RequestResult:
    """One request's result in an ended batch: succeeded (with its message), errored,
    canceled or expired."""

    kind: str
    message: Message | None = None
    error: str = ""


def custom_id(index: int, chunk: int) -> str:
    """The request's id in its batch: the call's place in the batch and the chunk's."""
    return f"{index}-{chunk}"


@dataclass
class ClaudeBatches:
    """Creates batches of call evaluations and reads their results."""

    client: anthropic.AsyncAnthropic
    config: ClaudeConfig

    def model_for(self, campaign: Campaign) -> str:
        """The campaign's Claude model, or the service's default."""
        return campaign.claude_model or self.config.default_model

    def requests_for(self, index: int, transcript: Transcript, campaign: Campaign) -> list[Request]:
        """The batch requests answering the campaign's checks (its model already resolved)
        for the call at index in the batch, one per chunk of checks."""
        text = transcript_text(transcript)
        return [
            {
                "custom_id": custom_id(index, number),
                "params": request_params(
                    model=campaign.claude_model,
                    max_tokens=self.config.max_tokens,
                    transcript=text,
                    checks=chunk,
                ),
            }
            for number, chunk in enumerate(chunked(campaign.checks, self.config.checks_per_request))
        ]

    async def create(self, requests: Sequence[Request]) -> str:
        """Creates one batch; its id. BatchUnavailableError when it may work later, an
        EvaluatorUnavailableError (saying what to do) when the API refuses it."""
        try:
            batch = await self.client.messages.batches.create(requests=requests)
        except anthropic.APIStatusError as error:
            model = str(requests[0]["params"]["model"]) if requests else ""
            if _may_pass(error):
                raise BatchUnavailableError(f"HTTP {error.status_code}: {error.message}") from error
            raise refusal(error, model) from error
        except anthropic.APIConnectionError as error:
            raise BatchUnavailableError(f"{type(error).__name__}: {error}") from error
        logger.info(
            "message batch created", extra={"batch_id": batch.id, "requests": len(requests)}
        )
        return batch.id

    async def ended(self, batch_id: str) -> bool:
        """Whether the batch has finished processing (every result is in)."""
        try:
            batch = await self.client.messages.batches.retrieve(batch_id)
        except anthropic.APIError as error:
            raise _reading_failure(batch_id, error) from error
        return batch.processing_status == "ended"

    async def results(self, batch_id: str) -> dict[str, RequestResult]:
        """Every request's result of an ended batch, by custom id."""
        found: dict[str, RequestResult] = {}
        try:
            lines = await self.client.messages.batches.results(batch_id)
            async for line in lines:
                result = line.result
                if result.type == "succeeded":
                    found[line.custom_id] = RequestResult("succeeded", result.message)
                elif result.type == "errored":
                    problem = result.error.error
                    found[line.custom_id] = RequestResult(
                        "errored", error=f"{problem.type}: {problem.message}"
                    )
                else:
                    found[line.custom_id] = RequestResult(result.type)
        except anthropic.APIError as error:
            raise _reading_failure(batch_id, error) from error
        return found


def outcome_of(
    submission: BatchSubmission,
    transcript: Transcript,
    results: Mapping[str, RequestResult],
) -> EvaluatorOutcome:
    """A call's verified results from its requests in the batch, at the batch price;
    BatchItemFailedError when a request did not succeed or its answers are not valid."""
    campaign = submission.campaign
    tally = UsageTally(submission.model, batched=True)
    answers: dict[str, ModelAnswer] = {}
    for number, chunk in enumerate(chunked(campaign.checks, submission.chunk_size)):
        name = custom_id(submission.index, number)
        result = results.get(name)
        if result is None or result.message is None:
            kind = "missing" if result is None else result.kind
            detail = f" ({result.error})" if result is not None and result.error else ""
            raise BatchItemFailedError(f"batch request {name} {kind}{detail}", tally.total())
        tally.add(result.message)
        try:
            answers.update(parse_answers(result.message, chunk))
        except InvalidAnswersError as error:
            raise BatchItemFailedError(
                f"batch request {name} answered out of shape: {error}", tally.total()
            ) from error
    return EvaluatorOutcome(
        EVALUATOR, verified_results(transcript, campaign.checks, answers), tally.total()
    )


def _may_pass(error: anthropic.APIStatusError) -> bool:
    return error.status_code in _RETRY_STATUSES or error.status_code >= 500


def _reading_failure(batch_id: str, error: anthropic.APIError) -> Exception:
    if isinstance(error, anthropic.NotFoundError):
        return BatchGoneError(f"message batch {batch_id} is not known to the API")
    if isinstance(error, anthropic.APIStatusError):
        return BatchUnavailableError(f"HTTP {error.status_code}: {error.message}")
    return BatchUnavailableError(f"{type(error).__name__}: {error}")
