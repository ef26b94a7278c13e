"""The hand-over of a call's run to the pipeline, kept with the call (a transactional outbox).

The event that starts a run (`calls.uploaded`, or a re-run's `transcription.requested` /
`analysis.requested`) is encoded and written into the call document by the same write
that queues the call, so the two cannot diverge: a call is never queued without its
event, and an event is never sent for a call that was not stored. Ingest then
publishes it at once; if the broker is unreachable or ingest dies first, the relay
(`dispatch.relay_unpublished`) sends it later. The record keeps its event id, so the
stages recognise a record sent twice and do the work once.

The watchdog re-drives a stuck call by sending the same record again (see watchdog.py).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from callscope_common.events import EncodedEvent, encode
from google.protobuf import message as protobuf_message


@dataclass(frozen=True)
class HandOver:
    """The encoded event of the call's current run, and whether the broker has it yet."""

    event_id: str
    record: EncodedEvent
    stored_at: dt.datetime
    published: bool = False
    # How many times the watchdog sent the record again because the run stopped moving.
    redrives: int = 0


def hand_over_of(event: protobuf_message.Message, at: dt.datetime) -> HandOver:
    """The hand-over of a new run started by event (a message with an EventHeader)."""
    event_id: str = event.header.event_id  # type: ignore[attr-defined]
    if not event_id:
        raise ValueError(f"{event.DESCRIPTOR.full_name} has no event id")
    return HandOver(event_id=event_id, record=encode(event), stored_at=at)
