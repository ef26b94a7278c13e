"""Ingest's call management use cases: list, edit metadata, link agents, delete and re-run."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from typing import TYPE_CHECKING

from callscope.v1 import common_pb2, events_pb2
from callscope_common.events import new_header

from callscope_ingest.dispatch import send_hand_over
from callscope_ingest.domain.agents import code_to_look_up, link_to
from callscope_ingest.domain.call_queries import CallQuery, PageCursor
from callscope_ingest.domain.calls import (
    MAX_REVIEW_NOTE_CHARS,
    AgentLink,
    AgentLinkMethod,
    Call,
    CallReview,
    check_reviewable,
    check_swappable,
    in_pipeline,
)
from callscope_ingest.domain.duplicates import counts_as_duplicate, fingerprints
from callscope_ingest.domain.errors import (
    CallConflictError,
    CallNotFoundError,
    RejectionCode,
    UploadRejectedError,
)
from callscope_ingest.domain.hand_over import hand_over_of
from callscope_ingest.domain.metadata import CallMetadata, normalise_metadata
from callscope_ingest.domain.status import CallStatus
from callscope_ingest.ports import AgentDirectory, FingerprintStore

if TYPE_CHECKING:  # handlers imports this module for auto_link
    from callscope_ingest.handlers import IngestPorts

logger = logging.getLogger(__name__)

EDITABLE_FIELDS = frozenset(field.name for field in dataclasses.fields(CallMetadata))
_FINISHED = frozenset({CallStatus.COMPLETED, CallStatus.FAILED})


async def list_calls(query: CallQuery, ports: IngestPorts) -> tuple[list[Call], PageCursor | None]:
    """One page of the organisation's calls and the cursor of the next."""
    return await ports.calls.list(query)


async def auto_link(
    org_id: str, campaign_id: str, metadata: CallMetadata, file_name: str, agents: AgentDirectory
) -> AgentLink | None:
    """The guide's automatic agent linking: the metadata's code, else one in the file name.

    An unknown code leaves the call unlinked; it is still analysed.
    """
    lookup = code_to_look_up(metadata, file_name)
    if lookup is None:
        return None
    agent = await agents.find_agent(org_id, campaign_id, lookup.code)
    return link_to(agent, lookup.method) if agent else None


async def update_metadata(
    org_id: str, call_id: str, given: CallMetadata, fields: frozenset[str], ports: IngestPorts
) -> Call:
    """Replaces the named fields; duplicate fingerprints and the automatic agent link follow."""
    unknown = fields - EDITABLE_FIELDS
    if unknown or not fields:
        raise UploadRejectedError(
            RejectionCode.INVALID_METADATA,
            f"unknown metadata fields: {', '.join(sorted(unknown))}"
            if unknown
            else "name at least one metadata field to change",
        )
    call = await _existing(org_id, call_id, ports)
    changes = {name: getattr(given, name) for name in fields}
    metadata = normalise_metadata(dataclasses.replace(call.metadata, **changes))
    if call.status is not CallStatus.DUPLICATE and call.audio is not None:
        await _reclaim_fingerprints(call, metadata, call.audio.sha256, ports.fingerprints)
    agent = call.agent
    if "agent_code" in fields and (agent is None or agent.method is not AgentLinkMethod.MANUAL):
        agent = await auto_link(org_id, call.campaign_id, metadata, call.file_name, ports.agents)
    await ports.calls.update_details(call.id, metadata, agent, dt.datetime.now(dt.UTC))
    logger.info("call metadata changed", extra={"call_id": call.id, "fields": sorted(fields)})
    return await _existing(org_id, call_id, ports)


async def _reclaim_fingerprints(
    call: Call, metadata: CallMetadata, sha256: str, store: FingerprintStore
) -> None:
    """Claims the fingerprints the new metadata gives before letting go of the old ones.

    A change that would make the call repeat another one (say, a client reference
    another call already has) is refused and nothing changes.
    """
    wanted = fingerprints(call.campaign_id, call.file_name, metadata, sha256)
    held = await store.held_by(call.id)
    claimed: set[str] = set()
    for fingerprint in wanted:
        if fingerprint.key in held:
            continue
        holder = await store.claim(fingerprint, call.id)
        if holder is None:
            claimed.add(fingerprint.key)
        elif counts_as_duplicate(fingerprint.rule, metadata):
            await store.release_keys(call.id, frozenset(claimed))
            raise CallConflictError(
                "duplicate_metadata",
                f"call {holder} already has {fingerprint.description}; "
                "this change would make the call a duplicate",
            )
    await store.release_keys(call.id, held - {fingerprint.key for fingerprint in wanted})


async def link_agent(org_id: str, call_id: str, agent_id: str, ports: IngestPorts) -> Call:
    """Links the call to an agent of its campaign by hand, or unlinks it (empty agent_id)."""
    call = await _existing(org_id, call_id, ports)
    link = None
    if agent_id:
        agent = await ports.agents.get_agent(org_id, agent_id)
        if agent is None:
            raise CallConflictError("unknown_agent", f"no agent with id {agent_id}")
        if call.campaign_id not in agent.campaign_ids:
            raise CallConflictError(
                "agent_not_in_campaign",
                f"agent {agent.code} does not work on this call's campaign; "
                "add the campaign to the agent first",
            )
        link = link_to(agent, AgentLinkMethod.MANUAL)
    await ports.calls.update_details(call.id, call.metadata, link, dt.datetime.now(dt.UTC))
    logger.info("call agent link changed", extra={"call_id": call.id, "agent_id": agent_id})
    return await _existing(org_id, call_id, ports)


async def delete_call(org_id: str, call_id: str, ports: IngestPorts) -> None:
    """Announces the deletion, then removes the audio, the claims and the call.

    `calls.deleted` goes first: once it is durable every owner removes its
    transcript and analysis versions, and a failure after it leaves the call in
    place so that deleting again finishes the job (each step is idempotent).
    A call in the pipeline cannot be deleted (the guide: no cancelling mid-processing).
    """
    call = await _existing(org_id, call_id, ports)
    if in_pipeline(call):
        raise CallConflictError(
            "call_in_progress",
            f"the call is {call.status.value.lower()}; delete it once it has completed or failed",
        )
    await ports.publisher.publish(
        events_pb2.CallDeleted(header=new_header(call.id, call.org_id, call.campaign_id))
    )
    if call.audio is not None:
        await ports.audio.delete(call.audio.key)
    await ports.fingerprints.release(call.id)
    await ports.calls.forget_claims(call.id)
    await ports.calls.delete(call.id)
    logger.info("call deleted", extra={"call_id": call.id})


async def rerun_transcription(org_id: str, call_id: str, ports: IngestPorts) -> Call:
    """Transcribes a finished call again; analysis follows; old versions are kept."""
    call = await _existing(org_id, call_id, ports)
    if call.audio is None:
        raise CallConflictError(
            "not_rerunnable", "a duplicate keeps no audio; re-run the original call instead"
        )
    audio = call.audio
    event = events_pb2.TranscriptionRequested(
        header=new_header(call.id, call.org_id, call.campaign_id),
        audio=common_pb2.ObjectRef(**dataclasses.asdict(audio)),
    )
    return await _rerun(call, event, ports)


async def run_analysis(
    org_id: str,
    call_id: str,
    transcript_version: int,
    ports: IngestPorts,
    *,
    prefer_batch: bool = False,
) -> Call:
    """Analyses a finished call's transcript again (0 = the latest version) as a new version;
    prefer_batch lets a Claude campaign's analysis wait for the Message Batches API."""
    call = await _existing(org_id, call_id, ports)
    if call.failure is not None and call.failure.stage != "ANALYSIS":
        raise CallConflictError(
            "not_rerunnable",
            "the call has no transcript to analyse; re-run the transcription instead",
        )
    if transcript_version < 0:
        raise UploadRejectedError(
            RejectionCode.INVALID_REQUEST, "transcript_version must be 0 (latest) or more"
        )
    event = events_pb2.AnalysisRequested(
        header=new_header(call.id, call.org_id, call.campaign_id),
        transcript_version=transcript_version,
        prefer_batch=prefer_batch,
    )
    return await _rerun(call, event, ports)


async def swap_speakers(
    org_id: str, call_id: str, transcript_version: int, requested_by: str, ports: IngestPorts
) -> Call:
    """Exchanges agent and customer on a transcript version (0 = the latest).

    Runs like a re-run (claimed once, back to the queue, restored if the hand-over
    fails): transcription stores a new version with the roles swapped, without
    transcribing the audio again, and analysis then runs on it.
    """
    call = await _existing(org_id, call_id, ports)
    if transcript_version < 0:
        raise UploadRejectedError(
            RejectionCode.INVALID_REQUEST, "transcript_version must be 0 (latest) or more"
        )
    if not requested_by.strip():
        raise UploadRejectedError(
            RejectionCode.INVALID_REQUEST,
            "requested_by must name who asked for the swap (it is recorded on the new version)",
        )
    check_swappable(call)
    assert call.audio is not None  # check_swappable refuses calls without audio
    event = events_pb2.TranscriptionRequested(
        header=new_header(call.id, call.org_id, call.campaign_id),
        audio=common_pb2.ObjectRef(**dataclasses.asdict(call.audio)),
        swap_speakers=True,
        swap_of_version=transcript_version,
        requested_by=requested_by,
    )
    swapped = await _rerun(call, event, ports)
    logger.info(
        "speaker swap requested",
        extra={
            "call_id": call.id,
            "transcript_version": transcript_version,
            "requested_by": requested_by,
        },
    )
    return swapped


async def mark_reviewed(
    org_id: str, call_id: str, reviewer: str, note: str, ports: IngestPorts
) -> Call:
    """Marks a COMPLETED call's current result (its analysis version) reviewed.

    Marking again replaces the note and reviewer. The update is conditional on the
    analysis version read here: a newer result arriving in between is not marked.
    """
    if not reviewer.strip():
        raise UploadRejectedError(
            RejectionCode.INVALID_REQUEST, "reviewer must name the user who reviewed the call"
        )
    note = note.strip()
    if len(note) > MAX_REVIEW_NOTE_CHARS:
        raise UploadRejectedError(
            RejectionCode.INVALID_REQUEST,
            f"note: at most {MAX_REVIEW_NOTE_CHARS} characters (it has {len(note)})",
        )
    call = await _existing(org_id, call_id, ports)
    result = check_reviewable(call)
    review = CallReview(
        reviewed_by=reviewer.strip(),
        reviewed_at=dt.datetime.now(dt.UTC),
        note=note,
        analysis_version=result.analysis_version,
    )
    if not await ports.calls.mark_reviewed(call.id, review):
        raise CallConflictError(
            "not_reviewable",
            "the call's result changed while it was being marked (a new analysis version "
            "arrived or a re-run started); look at the new result, then mark it reviewed",
        )
    logger.info(
        "call marked reviewed",
        extra={"call_id": call.id, "analysis_version": result.analysis_version},
    )
    return await _existing(org_id, call_id, ports)


async def _rerun(
    call: Call,
    event: events_pb2.TranscriptionRequested | events_pb2.AnalysisRequested,
    ports: IngestPorts,
) -> Call:
    """Puts a finished call back in the queue once, with event as its hand-over, then sends it.

    The re-run is accepted once the call is back in the queue: the hand-over is stored in
    the same write and sent at once, or by the relay if the broker does not take it.
    """
    if call.status not in _FINISHED:
        raise CallConflictError(
            "not_rerunnable",
            f"the call is {call.status.value.lower()}; "
            "only a completed or failed call can be re-run",
        )
    run = call.reruns + 1
    if not await ports.calls.claim_rerun(call.id, run):
        raise CallConflictError("not_rerunnable", "the call is already being re-run")
    # A run that does not start gives its claim back: the call's run count is put back
    # too, so the next request claims the same run number again.
    now = dt.datetime.now(dt.UTC)
    hand_over = hand_over_of(event, now)
    if not await ports.calls.restart(call.id, _FINISHED, now, hand_over):
        await ports.calls.release_rerun(call.id, run)
        raise CallConflictError("not_rerunnable", "the call changed meanwhile; try again")
    await send_hand_over(
        call.id, hand_over, ports.calls, ports.publisher, ports.hand_over_timeout_s
    )
    logger.info("call re-run", extra={"call_id": call.id, "event": type(event).__name__})
    return await _existing(call.org_id, call.id, ports)


async def _existing(org_id: str, call_id: str, ports: IngestPorts) -> Call:
    call = await ports.calls.get(org_id, call_id)
    if call is None:
        raise CallNotFoundError(call_id)
    return call
