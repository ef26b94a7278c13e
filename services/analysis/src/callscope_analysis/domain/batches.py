"""Analyses waiting for Anthropic's Message Batches API: one item per triggering event.

An item is QUEUED when the event asks for a batch, SUBMITTED once it is part of a
batch (with the campaign exactly as it was sent, so later check edits do not
change its result), and DONE once its analysis is stored or its failure reported.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from callscope_analysis.domain.model import Campaign


class BatchItemStatus(enum.StrEnum):
    """Where a queued analysis stands."""

    QUEUED = "QUEUED"
    SUBMITTED = "SUBMITTED"
    DONE = "DONE"


@dataclass(frozen=True)
class BatchSubmission:
    """What an item was sent as: its batch, its place in it, the model and the campaign
    snapshot (checks, threshold) its requests carried, in chunks of `chunk_size` checks."""

    batch_id: str
    index: int
    model: str
    campaign: Campaign
    chunk_size: int


@dataclass(frozen=True)
class BatchItem:
    """A call's analysis waiting for (or answered by) a message batch.

    `id` is the id of the event that asked for it, so a redelivered event finds it;
    `transcript_version` is the version actually read when it was queued.
    """

    id: str
    org_id: str
    call_id: str
    campaign_id: str
    transcript_version: int
    created_at: dt.datetime
    status: BatchItemStatus = BatchItemStatus.QUEUED
    # The campaign's Claude model when queued (empty: the service's default); the
    # submission records the model actually used.
    model: str = ""
    submission: BatchSubmission | None = None
    # DONE: "stored", or why the analysis failed.
    outcome: str = ""
