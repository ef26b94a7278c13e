"""Wiring: adapters into handlers; tests call `bootstrap` with fakes, `connect` opens real ones."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field

import anthropic
from aiokafka import AIOKafkaProducer
from callscope.v1 import events_pb2
from callscope_common.grpc_server import create_channel
from callscope_common.kafka import create_producer
from callscope_common.mongo import create_mongo_client, service_database

from callscope_analysis import handlers
from callscope_analysis.adapters.claude import ClaudeConfig, ClaudeEvaluator
from callscope_analysis.adapters.claude_batches import ClaudeBatches
from callscope_analysis.adapters.grpc_clients import GrpcCampaignDirectory, GrpcTranscriptSource
from callscope_analysis.adapters.mongo import MongoAnalysisStore
from callscope_analysis.adapters.mongo_batches import MongoBatchItemStore
from callscope_analysis.batch_runner import BatchRunner
from callscope_analysis.domain.diff import AnalysisDiff
from callscope_analysis.domain.evaluator import PhraseEvaluator
from callscope_analysis.domain.model import Analysis, AnalysisSummary, EvaluatorKind
from callscope_analysis.domain.overrides import OverrideRequest
from callscope_analysis.handlers import Clock, utc_now
from callscope_analysis.ports import (
    AnalysisStore,
    BatchItemStore,
    CampaignDirectory,
    CheckEvaluator,
    Publisher,
    TranscriptSource,
)
from callscope_analysis.settings import AnalysisSettings

APP_NAME = "callscope-analysis"


@dataclass(frozen=True)
class AnalysisService:
    """The use cases with their ports bound; entrypoints call only these."""

    transcripts: TranscriptSource
    directory: CampaignDirectory
    store: AnalysisStore
    publisher: Publisher
    evaluators: Mapping[EvaluatorKind, CheckEvaluator] = field(
        default_factory=lambda: {EvaluatorKind.LOCAL: PhraseEvaluator()}
    )
    clock: Clock = utc_now
    # Where re-runs that prefer the Message Batches API wait (None: Claude is not set up,
    # every analysis runs at once).
    batch_queue: BatchItemStore | None = None

    async def handle_call_transcribed(self, event: events_pb2.CallTranscribed) -> None:
        """Analyses a new transcript version."""
        await self._analyse(event.header, event.transcript_version)

    async def handle_analysis_requested(self, event: events_pb2.AnalysisRequested) -> None:
        """Re-runs the analysis of a call as a new version (transcript version 0 = the latest);
        a Claude campaign's run waits for a message batch when the event prefers it."""
        await self._analyse(event.header, event.transcript_version, event.prefer_batch)

    async def _analyse(
        self, header: events_pb2.EventHeader, transcript_version: int, prefer_batch: bool = False
    ) -> None:
        await handlers.analyse_call(
            header=header,
            transcript_version=transcript_version,
            transcripts=self.transcripts,
            directory=self.directory,
            store=self.store,
            publisher=self.publisher,
            evaluators=self.evaluators,
            clock=self.clock,
            prefer_batch=prefer_batch,
            batch_queue=self.batch_queue,
        )

    async def handle_call_deleted(self, event: events_pb2.CallDeleted) -> None:
        """Removes a deleted call's analyses."""
        await handlers.handle_call_deleted(event, store=self.store)

    async def get_analysis(self, *, org_id: str, call_id: str, version: int) -> Analysis | None:
        """An analysis version of a call in an organisation (0 = the latest)."""
        return await handlers.get_analysis(
            store=self.store, org_id=org_id, call_id=call_id, version=version
        )

    async def list_analyses(self, *, org_id: str, call_id: str) -> list[AnalysisSummary]:
        """Every analysis version of a call, newest first."""
        return await handlers.list_analyses(store=self.store, org_id=org_id, call_id=call_id)

    async def override_check(
        self, *, org_id: str, call_id: str, base_version: int, request: OverrideRequest
    ) -> Analysis:
        """A reviewer's answer to one check, stored and announced as a new version."""
        return await handlers.override_check(
            org_id=org_id,
            call_id=call_id,
            base_version=base_version,
            request=request,
            store=self.store,
            directory=self.directory,
            publisher=self.publisher,
            clock=self.clock,
        )

    async def compare_analyses(
        self, *, org_id: str, call_id: str, from_version: int, to_version: int
    ) -> AnalysisDiff | None:
        """What changed between two analysis versions of a call."""
        return await handlers.compare_analyses(
            store=self.store,
            org_id=org_id,
            call_id=call_id,
            from_version=from_version,
            to_version=to_version,
        )


def bootstrap(
    *,
    transcripts: TranscriptSource,
    directory: CampaignDirectory,
    store: AnalysisStore,
    publisher: Publisher,
    evaluators: Mapping[EvaluatorKind, CheckEvaluator] | None = None,
    clock: Clock = utc_now,
    batch_queue: BatchItemStore | None = None,
) -> AnalysisService:
    """The analysis use cases wired to the given adapters (only the offline evaluator by
    default; re-runs wait for message batches only with a batch queue)."""
    return AnalysisService(
        transcripts=transcripts,
        directory=directory,
        store=store,
        publisher=publisher,
        evaluators=evaluators
        if evaluators is not None
        else {EvaluatorKind.LOCAL: PhraseEvaluator()},
        clock=clock,
        batch_queue=batch_queue,
    )


def claude_config(settings: AnalysisSettings) -> ClaudeConfig:
    """How the service talks to Claude, from its settings."""
    return ClaudeConfig(
        default_model=settings.claude_model,
        max_tokens=settings.claude_max_tokens,
        checks_per_request=settings.claude_checks_per_request,
        max_attempts=settings.claude_max_attempts,
        max_concurrency=settings.claude_max_concurrency,
    )


def build_evaluators(
    settings: AnalysisSettings, claude: anthropic.AsyncAnthropic | None
) -> dict[EvaluatorKind, CheckEvaluator]:
    """The offline evaluator, and Claude when the deployment has a key for it."""
    evaluators: dict[EvaluatorKind, CheckEvaluator] = {EvaluatorKind.LOCAL: PhraseEvaluator()}
    if claude is not None:
        evaluators[EvaluatorKind.CLAUDE] = ClaudeEvaluator(
            client=claude, config=claude_config(settings)
        )
    return evaluators


def build_batch_runner(
    settings: AnalysisSettings,
    *,
    claude: anthropic.AsyncAnthropic | None,
    queue: BatchItemStore,
    transcripts: TranscriptSource,
    directory: CampaignDirectory,
    store: AnalysisStore,
    publisher: Publisher,
    evaluators: Mapping[EvaluatorKind, CheckEvaluator],
    clock: Clock = utc_now,
) -> BatchRunner | None:
    """The Message Batches runner, or None when the deployment has no Claude key."""
    fallback = evaluators.get(EvaluatorKind.CLAUDE)
    if claude is None or fallback is None:
        return None
    return BatchRunner(
        batches=ClaudeBatches(client=claude, config=claude_config(settings)),
        queue=queue,
        transcripts=transcripts,
        directory=directory,
        store=store,
        publisher=publisher,
        fallback=fallback,
        evaluators=evaluators,
        interval_s=settings.claude_batch_interval_s,
        max_items=settings.claude_batch_max_items,
        clock=clock,
    )


def create_claude_client(settings: AnalysisSettings) -> anthropic.AsyncAnthropic | None:
    """The Anthropic client, or None without an API key. Its own retries are off: the
    evaluator retries by the platform's backoff rule."""
    key = settings.anthropic_api_key.get_secret_value()
    if not key:
        return None
    return anthropic.AsyncAnthropic(
        api_key=key,
        base_url=settings.anthropic_base_url or None,
        max_retries=0,
        timeout=settings.claude_timeout_s,
    )


@dataclass(frozen=True)
class Infrastructure:
    """The real adapters of one process, opened once and closed on exit."""

    store: MongoAnalysisStore
    batch_queue: MongoBatchItemStore
    transcripts: GrpcTranscriptSource
    directory: GrpcCampaignDirectory
    producer: AIOKafkaProducer
    claude: anthropic.AsyncAnthropic | None


@contextlib.asynccontextmanager
async def connect(settings: AnalysisSettings) -> AsyncIterator[Infrastructure]:
    """Opens MongoDB (analyses and the batch queue), the Kafka producer and the peers'
    channels; closes them on exit."""
    async with contextlib.AsyncExitStack() as stack:
        mongo = create_mongo_client(settings, APP_NAME)
        stack.push_async_callback(mongo.close)
        store = MongoAnalysisStore(service_database(mongo, settings))
        await store.ensure_indexes()
        batch_queue = MongoBatchItemStore(service_database(mongo, settings))
        await batch_queue.ensure_indexes()

        transcripts_channel = create_channel(settings.transcripts_addr)
        stack.push_async_callback(transcripts_channel.close)
        directory_channel = create_channel(settings.directory_addr)
        stack.push_async_callback(directory_channel.close)

        producer = create_producer(settings.kafka_bootstrap_servers, APP_NAME)
        await producer.start()
        stack.push_async_callback(producer.stop)

        claude = create_claude_client(settings)
        if claude is not None:
            stack.push_async_callback(claude.close)

        yield Infrastructure(
            store=store,
            batch_queue=batch_queue,
            transcripts=GrpcTranscriptSource(transcripts_channel),
            directory=GrpcCampaignDirectory(directory_channel),
            producer=producer,
            claude=claude,
        )
