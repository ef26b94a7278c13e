"""In-memory fakes of analysis's ports, shared by the analysis unit tests."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from typing import Any

from callscope.v1 import common_pb2, directory_pb2
from callscope_analysis.adapters.protobuf import campaign_from_pb
from callscope_analysis.domain.batches import BatchItem, BatchItemStatus, BatchSubmission
from callscope_analysis.domain.model import (
    Analysis,
    AnalysisSummary,
    Campaign,
    NewAnalysis,
    Segment,
    Speaker,
    Transcript,
)
from callscope_analysis.ports import (
    AnalysisVersionTakenError,
    CampaignNotFoundError,
    TranscriptNotFoundError,
)
from callscope_gateway.domain.default_checks import DEFAULT_CHECKS, DEFAULT_FLAG_THRESHOLD
from google.protobuf import message as protobuf_message

from tests.support.scripts import LabelledScript, timed_lines


class FakeTranscriptSource:
    """Transcript versions in memory; `unavailable` makes every read fail like a down peer."""

    def __init__(self) -> None:
        self.transcripts: dict[tuple[str, str], list[Transcript]] = {}
        self.unavailable: Exception | None = None

    def add(self, org_id: str, call_id: str, script: LabelledScript) -> Transcript:
        versions = self.transcripts.setdefault((org_id, call_id), [])
        lines = timed_lines(script.dialogue)
        transcript = Transcript(
            id=uuid.uuid4().hex,
            call_id=call_id,
            org_id=org_id,
            version=len(versions) + 1,
            duration_seconds=lines[-1].end,
            segments=tuple(
                Segment(Speaker(line.party), line.start, line.end, line.text) for line in lines
            ),
        )
        versions.append(transcript)
        return transcript

    async def get_transcript(self, org_id: str, call_id: str, version: int) -> Transcript:
        if self.unavailable is not None:
            raise self.unavailable
        versions = self.transcripts.get((org_id, call_id), [])
        if not versions or version > len(versions) or version < 0:
            raise TranscriptNotFoundError(f"no transcript version {version} of {call_id}")
        return versions[version - 1] if version else versions[-1]


class FakeCampaignDirectory:
    """Campaigns in memory, built from the same protobuf the gateway serves."""

    def __init__(self) -> None:
        self.campaigns: dict[tuple[str, str], Campaign] = {}

    def add(self, org_id: str, campaign: directory_pb2.Campaign) -> None:
        self.campaigns[(org_id, campaign.id)] = campaign_from_pb(campaign)

    async def get_campaign(self, org_id: str, campaign_id: str) -> Campaign:
        try:
            return self.campaigns[(org_id, campaign_id)]
        except KeyError:
            raise CampaignNotFoundError(campaign_id) from None


class FakeAnalysisStore:
    """Analysis versions in memory, with the uniqueness rules of the Mongo store."""

    def __init__(self) -> None:
        self.analyses: list[Analysis] = []

    async def find_by_source_event(self, source_event_id: str) -> Analysis | None:
        return next((a for a in self.analyses if a.source_event_id == source_event_id), None)

    async def add(self, analysis: NewAnalysis) -> tuple[Analysis, bool]:
        existing = await self.find_by_source_event(analysis.source_event_id)
        if existing is not None:
            return existing, False
        version = 1 + max(
            (a.version for a in self.analyses if a.call_id == analysis.call_id), default=0
        )
        stored = _stored(analysis, version)
        self.analyses.append(stored)
        return stored, True

    async def add_version(self, analysis: NewAnalysis, version: int) -> Analysis:
        taken = any(
            a.call_id == analysis.call_id and a.version == version for a in self.analyses
        ) or any(a.source_event_id == analysis.source_event_id for a in self.analyses)
        if taken:
            raise AnalysisVersionTakenError(f"version {version} of {analysis.call_id} is taken")
        stored = _stored(analysis, version)
        self.analyses.append(stored)
        return stored

    async def get(self, org_id: str, call_id: str, version: int) -> Analysis | None:
        matching = [a for a in self.analyses if (a.org_id, a.call_id) == (org_id, call_id)]
        if version:
            matching = [a for a in matching if a.version == version]
        return max(matching, key=lambda a: a.version, default=None)

    async def list_versions(self, org_id: str, call_id: str) -> list[AnalysisSummary]:
        matching = [a for a in self.analyses if (a.org_id, a.call_id) == (org_id, call_id)]
        return [a.summary() for a in sorted(matching, key=lambda a: -a.version)]

    async def delete_call(self, org_id: str, call_id: str) -> int:
        before = len(self.analyses)
        self.analyses = [a for a in self.analyses if (a.org_id, a.call_id) != (org_id, call_id)]
        return before - len(self.analyses)


class FakePublisher:
    """Records published events; `fail_next` makes the next publish of a type fail once."""

    def __init__(self) -> None:
        self.events: list[protobuf_message.Message] = []
        self.fail_next: type[protobuf_message.Message] | None = None

    async def publish(self, event: protobuf_message.Message) -> None:
        if self.fail_next is not None and isinstance(event, self.fail_next):
            self.fail_next = None
            raise ConnectionError("broker unreachable")
        self.events.append(event)

    def of_type(self, kind: type[Any]) -> list[Any]:
        return [event for event in self.events if isinstance(event, kind)]


class FakeBatchItemStore:
    """Batch items and claims in memory, with the Mongo store's rules: one item per event,
    one holder per claim (each instance is a holder; `shared_with` makes a second replica
    over the same data)."""

    def __init__(self, shared_with: FakeBatchItemStore | None = None) -> None:
        self.items: dict[str, BatchItem] = shared_with.items if shared_with else {}
        self.claims: dict[str, tuple[str, dt.datetime]] = shared_with.claims if shared_with else {}
        self.holder = uuid.uuid4().hex

    async def queue(self, item: BatchItem) -> bool:
        if item.id in self.items:
            return False
        self.items[item.id] = item
        return True

    async def get(self, item_id: str) -> BatchItem | None:
        return self.items.get(item_id)

    async def queued(self, limit: int) -> list[BatchItem]:
        waiting = [i for i in self.items.values() if i.status is BatchItemStatus.QUEUED]
        return sorted(waiting, key=lambda i: (i.created_at, i.id))[:limit]

    async def claim(self, key: str, at: dt.datetime) -> bool:
        if key in self.claims:
            return False
        self.claims[key] = (self.holder, at)
        return True

    async def release(self, key: str) -> None:
        if self.claims.get(key, ("", None))[0] == self.holder:
            del self.claims[key]

    async def release_stale_claims(self, before: dt.datetime) -> int:
        stale = [key for key, (_, at) in self.claims.items() if at < before]
        for key in stale:
            del self.claims[key]
        return len(stale)

    async def mark_submitted(
        self, item_id: str, submission: BatchSubmission, at: dt.datetime
    ) -> None:
        self.items[item_id] = dataclasses.replace(
            self.items[item_id],
            status=BatchItemStatus.SUBMITTED,
            model=submission.model,
            submission=submission,
        )

    async def submitted_batch_ids(self) -> list[str]:
        ids = [
            i.submission.batch_id
            for i in self.items.values()
            if i.status is BatchItemStatus.SUBMITTED and i.submission is not None
        ]
        return list(dict.fromkeys(ids))

    async def submitted_in(self, batch_id: str) -> list[BatchItem]:
        found = [
            i
            for i in self.items.values()
            if i.status is BatchItemStatus.SUBMITTED
            and i.submission is not None
            and i.submission.batch_id == batch_id
        ]
        return sorted(found, key=lambda i: i.submission.index if i.submission else 0)

    async def mark_done(self, item_id: str, outcome: str, at: dt.datetime) -> None:
        self.items[item_id] = dataclasses.replace(
            self.items[item_id], status=BatchItemStatus.DONE, outcome=outcome
        )


def _stored(analysis: NewAnalysis, version: int) -> Analysis:
    """The analysis as the store keeps it, under this version."""
    return Analysis(
        id=uuid.uuid4().hex,
        call_id=analysis.call_id,
        org_id=analysis.org_id,
        campaign_id=analysis.campaign_id,
        version=version,
        transcript_version=analysis.transcript_version,
        source_event_id=analysis.source_event_id,
        evaluator=analysis.evaluator,
        score=analysis.evaluation.score,
        flagged=analysis.evaluation.flagged,
        flag_reasons=analysis.evaluation.flag_reasons,
        results=analysis.evaluation.results,
        created_at=analysis.created_at,
        conversation=analysis.conversation,
        usage=analysis.usage,
        reviewed_by=analysis.reviewed_by,
        based_on_version=analysis.based_on_version,
    )


def demo_campaign(
    org_id: str, campaign_id: str, threshold: float = DEFAULT_FLAG_THRESHOLD
) -> directory_pb2.Campaign:
    """The "Demo" campaign with the default checks, as the gateway's directory serves it."""
    return directory_pb2.Campaign(
        id=campaign_id,
        org_id=org_id,
        name="Demo",
        flag_threshold=threshold,
        auto_processing=True,
        checks=[
            directory_pb2.Check(
                id=check.id,
                name=check.name,
                question=check.question,
                category=check.category,
                weight=check.weight,
                critical=check.critical,
                speaker=common_pb2.Speaker.Value(f"SPEAKER_{check.speaker}"),
                phrases=list(check.phrases),
                window=directory_pb2.CheckWindow.Value(f"CHECK_WINDOW_{check.window}"),
            )
            for check in DEFAULT_CHECKS
        ],
    )
