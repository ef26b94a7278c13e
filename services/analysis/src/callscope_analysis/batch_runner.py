"""Bulk re-analysis through the Message Batches API: submit what is queued, collect what ended.

Every round (`ANALYSIS_CLAUDE_BATCH_INTERVAL_S`) the runner

1. collects: for each batch with SUBMITTED items that has ended, turns each call's
   results into a stored analysis version and a CallAnalyzed, exactly as an immediate
   analysis would (`handlers.store_and_announce`). A call whose requests did not all
   succeed, or whose answers are out of shape, is analysed again at once
   (`ClaudeEvaluator.assess`); if that fails too, the call is FAILED with the reason.
2. submits: claims up to `max_items` QUEUED items, reads each call's transcript and
   campaign again, and sends them all as one batch. The campaign as sent (checks,
   threshold, model) is kept with each item, so later check edits do not change its
   result.

Two replicas never submit one item or collect one batch twice: each first inserts a
claim with a unique id. Everything is idempotent on the queuing event's id: a crash
between storing an analysis and marking its item DONE re-announces the stored version
at the next round instead of adding a second one. A claim left behind by a replica that
crashed is dropped after `stale_claim_after`, so its items are submitted again.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass

from anthropic.types.messages.batch_create_params import Request
from callscope.v1 import events_pb2

from callscope_analysis import handlers
from callscope_analysis.adapters.claude_batches import (
    BatchGoneError,
    BatchItemFailedError,
    BatchUnavailableError,
    ClaudeBatches,
    RequestResult,
    outcome_of,
)
from callscope_analysis.domain.batches import BatchItem, BatchItemStatus, BatchSubmission
from callscope_analysis.domain.model import Campaign, EvaluatorKind, TokenUsage
from callscope_analysis.handlers import AnalysisInputError, Clock, utc_now
from callscope_analysis.ports import (
    AnalysisStore,
    BatchItemStore,
    CampaignDirectory,
    CheckEvaluator,
    EvaluatorUnavailableError,
    Publisher,
    TranscriptSource,
)

logger = logging.getLogger(__name__)

STORED = "stored"
# A submission takes seconds; a claim this old belongs to a replica that died midway.
DEFAULT_STALE_CLAIM_AFTER = dt.timedelta(hours=1)


@dataclass(frozen=True)
class _Prepared:
    item: BatchItem
    campaign: Campaign
    requests: list[Request]


@dataclass
class BatchRunner:
    """Submits queued analyses as message batches and stores their results."""

    batches: ClaudeBatches
    queue: BatchItemStore
    transcripts: TranscriptSource
    directory: CampaignDirectory
    store: AnalysisStore
    publisher: Publisher
    # The immediate Claude evaluator: answers a call whose batch requests failed.
    fallback: CheckEvaluator
    # Every evaluator, for a campaign switched away from Claude while its call waited.
    evaluators: Mapping[EvaluatorKind, CheckEvaluator]
    interval_s: float = 60.0
    max_items: int = 1000
    clock: Clock = utc_now
    stale_claim_after: dt.timedelta = DEFAULT_STALE_CLAIM_AFTER

    async def run(self) -> None:
        """Runs a round every `interval_s` until cancelled; a failed round is logged and the
        next one tries again."""
        while True:
            try:
                await self.run_once()
            except Exception:
                logger.exception("message batch round failed; the next round tries again")
            await asyncio.sleep(self.interval_s)

    async def run_once(self) -> None:
        """One round: drop stale claims, collect the ended batches, submit the queue."""
        dropped = await self.queue.release_stale_claims(self.clock() - self.stale_claim_after)
        if dropped:
            logger.warning("stale message batch claims dropped", extra={"claims": dropped})
        await self.collect()
        await self.submit()

    # --- submitting ---------------------------------------------------------------------------

    async def submit(self) -> str | None:
        """Sends the queued items this replica claims as one batch; its id (None: nothing
        was sent)."""
        prepared: list[_Prepared] = []
        now = self.clock()
        for listed in await self.queue.queued(self.max_items):
            if not await self.queue.claim(listed.id, now):
                continue
            # Listed before the claim: another replica may have sent it in between.
            item = await self.queue.get(listed.id)
            if item is None or item.status is not BatchItemStatus.QUEUED:
                continue
            try:
                ready = await self._prepare(item, len(prepared))
            except Exception:
                logger.exception("could not prepare a queued analysis; it stays queued")
                await self.queue.release(item.id)
                continue
            if ready is not None:
                prepared.append(ready)
        if not prepared:
            return None
        requests = [request for ready in prepared for request in ready.requests]
        try:
            batch_id = await self.batches.create(requests)
        except BatchUnavailableError as error:
            logger.warning(
                "message batch not created; the items stay queued", extra={"detail": str(error)}
            )
            for ready in prepared:
                await self.queue.release(ready.item.id)
            return None
        except EvaluatorUnavailableError as error:
            logger.warning(
                "message batch refused; analysing its calls at once",
                extra={"detail": error.detail},
            )
            for ready in prepared:
                try:
                    await self._analyse_now(ready.item, ready.campaign, None)
                except Exception:
                    logger.exception("could not analyse a refused call at once; it stays queued")
                    await self.queue.release(ready.item.id)
            return None
        submitted_at = self.clock()
        for index, ready in enumerate(prepared):
            submission = BatchSubmission(
                batch_id=batch_id,
                index=index,
                model=ready.campaign.claude_model,
                campaign=ready.campaign,
                chunk_size=self.batches.config.checks_per_request,
            )
            await self.queue.mark_submitted(ready.item.id, submission, submitted_at)
        logger.info(
            "analyses submitted as a message batch",
            extra={"batch_id": batch_id, "calls": len(prepared), "requests": len(requests)},
        )
        return batch_id

    async def _prepare(self, item: BatchItem, index: int) -> _Prepared | None:
        """The item's requests, or None when it was settled otherwise (failed, or analysed
        at once because its campaign no longer uses Claude)."""
        header = _header(item)
        try:
            transcript, campaign = await handlers.read_inputs(
                header=header,
                transcript_version=item.transcript_version,
                transcripts=self.transcripts,
                directory=self.directory,
            )
        except AnalysisInputError as error:
            await self._fail(item, error.reason)
            return None
        if campaign.evaluator is not EvaluatorKind.CLAUDE:
            evaluator = self.evaluators.get(campaign.evaluator)
            if evaluator is None:
                await self._fail(item, handlers.not_set_up_reason(campaign.evaluator))
                return None
            analysis = await handlers.evaluate_and_store(
                header=header,
                transcript=transcript,
                campaign=campaign,
                evaluator=evaluator,
                store=self.store,
                publisher=self.publisher,
                clock=self.clock,
            )
            await self.queue.mark_done(
                item.id, STORED if analysis else "failed (the call's status says why)", self.clock()
            )
            return None
        # The model is resolved now, so the snapshot says what answered.
        snapshot = dataclasses.replace(campaign, claude_model=self.batches.model_for(campaign))
        return _Prepared(item, snapshot, self.batches.requests_for(index, transcript, snapshot))

    # --- collecting ---------------------------------------------------------------------------

    async def collect(self) -> int:
        """Stores the results of every ended batch this replica can claim; how many calls
        it settled."""
        settled = 0
        for batch_id in await self.queue.submitted_batch_ids():
            # Item claims are keyed by event id; the colon keeps batch claims apart.
            key = f"collect:{batch_id}"
            if not await self.queue.claim(key, self.clock()):
                continue
            try:
                settled += await self._collect(batch_id)
            finally:
                await self.queue.release(key)
        return settled

    async def _collect(self, batch_id: str) -> int:
        results: Mapping[str, RequestResult]
        try:
            if not await self.batches.ended(batch_id):
                return 0
            results = await self.batches.results(batch_id)
        except BatchUnavailableError as error:
            logger.warning(
                "message batch not readable now; trying at the next round",
                extra={"batch_id": batch_id, "detail": str(error)},
            )
            return 0
        except BatchGoneError as error:
            logger.warning(
                "message batch gone; analysing its calls at once",
                extra={"batch_id": batch_id, "detail": str(error)},
            )
            results = {}
        settled = 0
        for item in await self.queue.submitted_in(batch_id):
            try:
                await self._finish(item, results)
            except Exception:
                logger.exception(
                    "could not settle a batched analysis; trying at the next round",
                    extra={"batch_id": batch_id},
                )
                continue
            settled += 1
        return settled

    async def _finish(self, item: BatchItem, results: Mapping[str, RequestResult]) -> None:
        submission = item.submission
        if submission is None:
            raise ValueError(f"batch item {item.id} is SUBMITTED without its submission")
        header = _header(item)
        stored = await self.store.find_by_source_event(item.id)
        if stored is not None:
            # Stored by a round that stopped before marking the item: announce it again.
            await handlers.announce(self.publisher, header, stored)
            await self.queue.mark_done(item.id, STORED, self.clock())
            return
        try:
            transcript = await handlers.read_transcript(
                header=header,
                transcript_version=item.transcript_version,
                transcripts=self.transcripts,
            )
        except AnalysisInputError as error:
            await self._fail(item, error.reason)
            return
        try:
            outcome = outcome_of(submission, transcript, results)
        except BatchItemFailedError as failure:
            logger.warning(
                "batched analysis failed; analysing the call at once",
                extra={"batch_id": submission.batch_id, "detail": failure.reason},
            )
            await self._analyse_now(item, submission.campaign, failure.usage)
            return
        await handlers.store_and_announce(
            header=header,
            transcript=transcript,
            campaign=submission.campaign,
            outcome=outcome,
            store=self.store,
            publisher=self.publisher,
            clock=self.clock,
        )
        await self.queue.mark_done(item.id, STORED, self.clock())

    # --- settling an item otherwise -------------------------------------------------------------

    async def _analyse_now(
        self, item: BatchItem, campaign: Campaign, spent: TokenUsage | None
    ) -> None:
        """The immediate path for an item the batch could not answer; what its batch
        requests already cost is added to the usage."""
        header = _header(item)
        try:
            transcript = await handlers.read_transcript(
                header=header,
                transcript_version=item.transcript_version,
                transcripts=self.transcripts,
            )
            outcome = await self.fallback.assess(transcript, campaign)
        except AnalysisInputError as error:
            await self._fail(item, error.reason)
            return
        except EvaluatorUnavailableError as error:
            logger.warning("Claude could not answer at once either", extra={"detail": error.detail})
            await self._fail(item, error.reason)
            return
        outcome = dataclasses.replace(outcome, usage=_with_spent(outcome.usage, spent))
        await handlers.store_and_announce(
            header=header,
            transcript=transcript,
            campaign=campaign,
            outcome=outcome,
            store=self.store,
            publisher=self.publisher,
            clock=self.clock,
        )
        await self.queue.mark_done(item.id, STORED, self.clock())

    async def _fail(self, item: BatchItem, reason: str) -> None:
        await handlers.report_failure(self.publisher, _header(item), reason)
        await self.queue.mark_done(item.id, reason, self.clock())


def _header(item: BatchItem) -> events_pb2.EventHeader:
    """The header of the event that queued the item, as far as publishing needs it."""
    return events_pb2.EventHeader(
        event_id=item.id,
        call_id=item.call_id,
        org_id=item.org_id,
        campaign_id=item.campaign_id,
    )


def _with_spent(usage: TokenUsage | None, spent: TokenUsage | None) -> TokenUsage | None:
    """The immediate evaluation's usage plus what the failed batch requests cost (the sum is
    no longer all at the batch price)."""
    if spent is None or spent.requests == 0 or usage is None:
        return usage if usage is not None else spent
    cost = None
    if usage.cost_usd is not None and spent.cost_usd is not None:
        cost = round(usage.cost_usd + spent.cost_usd, 6)
    return TokenUsage(
        model=usage.model,
        input_tokens=usage.input_tokens + spent.input_tokens,
        output_tokens=usage.output_tokens + spent.output_tokens,
        cache_creation_input_tokens=usage.cache_creation_input_tokens
        + spent.cache_creation_input_tokens,
        cache_read_input_tokens=usage.cache_read_input_tokens + spent.cache_read_input_tokens,
        requests=usage.requests + spent.requests,
        cost_usd=cost,
        batched=False,
    )
