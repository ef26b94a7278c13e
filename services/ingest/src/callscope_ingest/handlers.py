"""Ingest's use cases: receive an upload, register the call, apply pipeline results."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import hashlib
import logging
import tempfile
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from callscope.v1 import common_pb2, events_pb2
from callscope_common.events import new_header
from callscope_common.kafka import PermanentEventError

from callscope_ingest import call_management
from callscope_ingest.dispatch import send_hand_over
from callscope_ingest.domain.audio_rules import AudioLimits, accept_audio, check_size
from callscope_ingest.domain.calls import (
    Call,
    CallResult,
    Failure,
    StoredAudio,
    UploadSource,
    audio_key,
)
from callscope_ingest.domain.duplicates import (
    UNFINISHED_CLAIM_S,
    Fingerprint,
    counts_as_duplicate,
    duplicate_reason,
    fingerprints,
)
from callscope_ingest.domain.errors import (
    CallNotFoundError,
    CallNotProcessableError,
    RegistrationPendingError,
    RejectionCode,
    UploadRejectedError,
)
from callscope_ingest.domain.file_names import clean_file_name
from callscope_ingest.domain.hand_over import hand_over_of
from callscope_ingest.domain.metadata import CallMetadata, normalise_metadata
from callscope_ingest.domain.status import CallStatus
from callscope_ingest.ports import (
    AgentDirectory,
    AudioProber,
    AudioStore,
    CallStore,
    CampaignSettings,
    FingerprintStore,
    JobStore,
    Publisher,
)

logger = logging.getLogger(__name__)
# How long an upload whose fingerprint is claimed by a call not stored yet waits for it.
HOLDER_WAIT_S = 3.0
HOLDER_POLL_S = 0.1


@dataclass(frozen=True)
class SpooledFile:
    """An upload's bytes, received completely into a private temporary file."""

    path: Path
    size_bytes: int
    sha256: str


@dataclass(frozen=True)
class RegisterCall:
    """Command: make a call of a fully received upload."""

    org_id: str
    campaign_id: str
    source: UploadSource
    file_name: str
    metadata: CallMetadata
    # Set when the upload is an item of a job.
    job_id: str = ""
    job_item_id: str = ""
    # The sending system's own id for the file (SFTP: its file record), "" when none.
    source_ref: str = ""


@dataclass(frozen=True)
class IngestPorts:
    """Everything ingest's handlers talk to."""

    calls: CallStore
    audio: AudioStore
    prober: AudioProber
    publisher: Publisher
    fingerprints: FingerprintStore
    campaigns: CampaignSettings
    jobs: JobStore
    agents: AgentDirectory
    # How long a request waits for the broker to take a call's hand-over; after that (or
    # when the broker is down) the call is kept and the relay sends the hand-over later.
    hand_over_timeout_s: float = 5.0


@contextlib.asynccontextmanager
async def spooled_upload(
    chunks: AsyncIterator[bytes], spool_dir: Path | None, limits: AudioLimits
) -> AsyncIterator[SpooledFile]:
    """Receives chunks into a temporary file, cutting off as soon as the size limit is passed.

    The file is removed when the block exits, whatever happens (a rejection, a
    client that disconnects, a crash of the later steps).
    """
    handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 - removed in finally below
        prefix="upload-", dir=spool_dir, delete=False
    )
    path = Path(handle.name)
    try:
        digest = hashlib.sha256()
        size = 0
        with handle:
            async for chunk in chunks:
                size += len(chunk)
                check_size(size, limits)
                digest.update(chunk)
                handle.write(chunk)
        yield SpooledFile(path, size, digest.hexdigest())
    finally:
        # Unlinked in place, not in a thread: an await here could be cut short by a second
        # cancellation and leave the file behind; removing a directory entry takes no time.
        path.unlink(missing_ok=True)


async def earlier_upload(org_id: str, source_ref: str, calls: CallStore) -> Call | None:
    """The call an earlier upload with this source_ref made in the organisation, if any.

    The answer to a repeated upload is that call, and nothing new is stored: a
    sender that crashed after sending (before it wrote down the call id) can send
    the file again safely. An empty source_ref is never a repeat.

    A plain lookup, not a unique claim: two uploads with the same new source_ref
    arriving at once would both make a call. The only sender of source_refs, the
    sftp service, rules that out itself: its own unique claim on the file lets only
    one of its replicas send a given file at a time. A new sender of source_refs
    must give the same guarantee (or this must become a unique claim, like the
    fingerprints).
    """
    if not source_ref:
        return None
    return await calls.find_by_source_ref(org_id, source_ref)


async def register_call(
    command: RegisterCall, spooled: SpooledFile, limits: AudioLimits, ports: IngestPorts
) -> Call:
    """Validates a received upload, stores its audio, records the call and announces it.

    The audio and the call document (with its hand-over event, the outbox) are both
    stored or neither: a failure after the object was stored removes it before
    re-raising. Once the document is stored the call is accepted, whatever the broker
    does: the hand-over is sent at once, or by the relay if that fails. An upload
    repeating a source_ref is answered with the earlier call, storing nothing.
    """
    if not command.org_id or not command.campaign_id:
        raise UploadRejectedError(
            RejectionCode.INVALID_REQUEST, "organisation and campaign are required"
        )
    earlier = await earlier_upload(command.org_id, command.source_ref, ports.calls)
    if earlier is not None:
        logger.info("repeated upload answered with its earlier call", extra={"call_id": earlier.id})
        return earlier
    metadata = normalise_metadata(command.metadata)
    probe = await ports.prober.probe(spooled.path)
    accepted = accept_audio(probe, spooled.size_bytes, limits)
    now = dt.datetime.now(dt.UTC)
    call_id = uuid.uuid4().hex
    file_name = clean_file_name(command.file_name)
    agent = await call_management.auto_link(
        command.org_id, command.campaign_id, metadata, file_name, ports.agents
    )
    # Asked before the fingerprints are claimed: a directory that fails here (the gateway
    # down) must not leave them claimed for a call that is never stored, which would make
    # the client's retry a duplicate of nothing.
    auto_processing = await ports.campaigns.auto_processing(command.org_id, command.campaign_id)
    call = Call(
        id=call_id,
        org_id=command.org_id,
        campaign_id=command.campaign_id,
        source=command.source,
        file_name=file_name,
        metadata=metadata,
        audio=None,
        duration_s=accepted.duration_s,
        channels=accepted.channels,
        status=CallStatus.PENDING,
        created_at=now,
        updated_at=now,
        status_history=((CallStatus.PENDING, now),),
        job_id=command.job_id,
        job_item_id=command.job_item_id,
        agent=agent,
        source_ref=command.source_ref,
    )
    audio = StoredAudio(
        bucket=ports.audio.bucket,
        key=audio_key(command.org_id, command.campaign_id, call_id, accepted.extension),
        size_bytes=spooled.size_bytes,
        sha256=spooled.sha256,
        content_type=accepted.content_type,
    )
    try:
        # The audio first: from the fingerprint claims to the call's write there are then
        # only a few database writes, which bounds how long a claim may wait for its call.
        await ports.audio.upload_file(spooled.path, audio.key, audio.content_type)
        duplicate = await _claim_fingerprints(
            fingerprints(command.campaign_id, file_name, metadata, spooled.sha256),
            call,
            ports,
        )
        if duplicate is not None:
            original, reason = duplicate
            call = dataclasses.replace(
                call,
                status=CallStatus.DUPLICATE,
                duplicate_of=original,
                duplicate_reason=reason,
                status_history=((CallStatus.DUPLICATE, now),),
            )
            await ports.calls.insert(call)
            await ports.audio.delete(audio.key)  # a duplicate keeps no audio of its own
            logger.info("duplicate call recorded", extra={"call_id": call.id, "original": original})
            return call
        call = dataclasses.replace(
            call,
            audio=audio,
            queued_at=now if auto_processing else None,
            hand_over=hand_over_of(_call_uploaded(call, audio), now) if auto_processing else None,
        )
        await ports.calls.insert(call)
    except BaseException:
        # A failure, or the client going away (cancellation), anywhere from the first
        # fingerprint claim on: undo what was not stored, shielded so a second
        # cancellation cannot cut the undo short and leave the fingerprints claimed by a
        # call that never exists (the client's retry would be a duplicate of nothing).
        await asyncio.shield(_forget_unstored(call, audio.key, ports))
        raise
    if call.hand_over is not None:
        await send_hand_over(
            call.id, call.hand_over, ports.calls, ports.publisher, ports.hand_over_timeout_s
        )
    logger.info(
        "call registered",
        extra={"call_id": call.id, "source": call.source, "queued": auto_processing},
    )
    return call


async def process_call(org_id: str, call_id: str, ports: IngestPorts) -> Call:
    """Hands a held PENDING call to transcription (its campaign's auto-processing is off).

    Queuing stores the hand-over with the call in one write; it is then sent at once, or
    by the relay if the broker does not take it.
    """
    call = await ports.calls.get(org_id, call_id)
    if call is None:
        raise CallNotFoundError(call_id)
    now = dt.datetime.now(dt.UTC)
    hand_over = hand_over_of(_call_uploaded(call, call.audio), now) if call.audio else None
    if hand_over is None or not await ports.calls.mark_queued(call.id, now, hand_over):
        raise CallNotProcessableError(
            f"the call is {call.status.value.lower()}"
            + (" and already queued" if call.queued_at else "")
            + "; only a pending call that is not queued yet can be processed"
        )
    await send_hand_over(
        call.id, hand_over, ports.calls, ports.publisher, ports.hand_over_timeout_s
    )
    logger.info("held call queued", extra={"call_id": call.id})
    refreshed = await ports.calls.get(org_id, call_id)
    assert refreshed is not None
    return refreshed


async def _forget_unstored(call: Call, key: str, ports: IngestPorts) -> None:
    """Removes the audio object and the fingerprints of a registration that broke off,
    unless its call document was stored after all (the write went through, only its
    answer was lost): then the call stands and the relay sends its hand-over."""
    if await ports.calls.get(call.org_id, call.id) is not None:
        return
    await ports.audio.delete(key)
    await ports.fingerprints.release(call.id)


async def _claim_fingerprints(
    candidates: tuple[Fingerprint, ...], call: Call, ports: IngestPorts
) -> tuple[str, str] | None:
    """Claims the call's fingerprints; (original id, reason) if one makes it a duplicate.

    A duplicate keeps no fingerprint, so the original stays the one that matches. A claim
    whose call was never stored belongs to a registration that died between the two (its
    ingest was killed): once older than UNFINISHED_CLAIM_S it is taken over, before that
    the upload is answered RegistrationPendingError (send it again shortly).
    """
    store = ports.fingerprints
    for fingerprint in candidates:
        holder = await store.claim(fingerprint, call.id)
        if holder is None:
            continue
        if not await _stored_soon(ports.calls, call.org_id, holder):
            claimed_before = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=UNFINISHED_CLAIM_S)
            if await store.take_over(fingerprint, holder, call.id, claimed_before):
                logger.warning(
                    "fingerprint of a call never stored taken over",
                    extra={"call_id": call.id, "original": holder},
                )
                continue
            raise RegistrationPendingError(
                "the same recording is being registered by another upload right now; "
                "send it again in a few seconds"
            )
        if counts_as_duplicate(fingerprint.rule, call.metadata):
            await store.release(call.id)
            return holder, duplicate_reason(fingerprint, holder)
    return None


async def _stored_soon(calls: CallStore, org_id: str, call_id: str) -> bool:
    """Whether the call is stored, or is within HOLDER_WAIT_S: a live registration writes
    its call a few database writes after claiming its fingerprints."""
    waited = 0.0
    while await calls.get(org_id, call_id) is None:
        if waited >= HOLDER_WAIT_S:
            return False
        await asyncio.sleep(HOLDER_POLL_S)
        waited += HOLDER_POLL_S
    return True


async def get_call(org_id: str, call_id: str, calls: CallStore) -> Call | None:
    """The call, if it exists in this organisation."""
    return await calls.get(org_id, call_id)


async def apply_status_change(event: events_pb2.CallStatusChanged, calls: CallStore) -> None:
    """Moves a call to the status a stage reported, if that is a forward move."""
    target = CallStatus(common_pb2.CallStatus.Name(event.status).removeprefix("CALL_STATUS_"))
    failure = None
    if target is CallStatus.FAILED:
        stage = common_pb2.Stage.Name(event.stage).removeprefix("STAGE_")
        failure = Failure(stage=stage, reason=event.reason or "processing failed")
    await _move(event.header.call_id, target, calls, failure=failure)


async def apply_analysis_result(event: events_pb2.CallAnalyzed, calls: CallStore) -> None:
    """Completes a call with its score and flag decision.

    A reviewer's override (`reviewed_by` set) is a newer result of a call that already
    completed: it replaces the result if it is newer and never moves the status (a re-run
    under way keeps its status, and its own result replaces this one when it completes).
    """
    result = CallResult(
        score=event.score,
        flagged=event.flagged,
        flag_reasons=tuple(event.flag_reasons),
        analysis_version=event.analysis_version,
        transcript_version=event.transcript_version,
    )
    if not event.reviewed_by:
        await _move(event.header.call_id, CallStatus.COMPLETED, calls, result=result)
        return
    call_id = event.header.call_id
    if await calls.replace_result(call_id, result, dt.datetime.now(dt.UTC)):
        logger.info(
            "call result replaced by a review version",
            extra={"analysis_version": event.analysis_version},
        )
        return
    if not await calls.exists(call_id):
        raise PermanentEventError(f"no call with id {call_id}")
    logger.info(
        "review version ignored: the call holds a newer result",
        extra={"analysis_version": event.analysis_version},
    )


async def _move(
    call_id: str,
    target: CallStatus,
    calls: CallStore,
    *,
    result: CallResult | None = None,
    failure: Failure | None = None,
) -> None:
    moved = await calls.move_status(
        call_id, target, dt.datetime.now(dt.UTC), result=result, failure=failure
    )
    if moved:
        logger.info("call status changed", extra={"status": target.value})
        return
    if not await calls.exists(call_id):
        raise PermanentEventError(f"no call with id {call_id}")
    logger.info("status event ignored: not a forward move", extra={"status": target.value})


def _call_uploaded(call: Call, audio: StoredAudio) -> events_pb2.CallUploaded:
    return events_pb2.CallUploaded(
        header=new_header(call.id, call.org_id, call.campaign_id),
        audio=common_pb2.ObjectRef(
            bucket=audio.bucket,
            key=audio.key,
            size_bytes=audio.size_bytes,
            sha256=audio.sha256,
            content_type=audio.content_type,
        ),
        source=common_pb2.UploadSource.Value(f"UPLOAD_SOURCE_{call.source.value}"),
        file_name=call.file_name,
        duration_seconds=call.duration_s,
        channels=call.channels,
    )
