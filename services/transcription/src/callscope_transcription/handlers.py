"""Use cases: transcribe a call into a new version, swap its speakers, delete and read versions."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import tempfile
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path

from callscope_transcription.domain.errors import (
    AudioMissingError,
    ProviderError,
    SilentAudioError,
    TranscriptConflictError,
    TranscriptionFailedError,
    TranscriptNotFoundError,
)
from callscope_transcription.domain.events import (
    CallTranscribed,
    TranscriptionFailed,
    TranscriptionStarted,
)
from callscope_transcription.domain.model import (
    CallContext,
    DeleteCallTranscripts,
    GetTranscript,
    Layout,
    RoleSource,
    SpeakerRoles,
    SwapSpeakers,
    TranscribeCall,
    Transcript,
)
from callscope_transcription.domain.roles import assign_roles, swapped
from callscope_transcription.domain.speakers import label_segments, swap_segments
from callscope_transcription.domain.versions import next_version
from callscope_transcription.ports import (
    AudioProber,
    AudioStore,
    CampaignDirectory,
    CampaignRules,
    EventSink,
    Hearing,
    ProviderRequest,
    SpeechProvider,
    TranscriptStore,
)

logger = logging.getLogger(__name__)

# Two workers racing for the same call's next version settle within a few tries.
_VERSION_ATTEMPTS = 5


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _new_id() -> str:
    return uuid.uuid4().hex


async def transcribe_call(
    command: TranscribeCall,
    *,
    store: TranscriptStore,
    audio_store: AudioStore,
    prober: AudioProber,
    providers: Mapping[str, SpeechProvider],
    directory: CampaignDirectory,
    events: EventSink,
    clock: Callable[[], dt.datetime] = _utc_now,
    new_id: Callable[[], str] = _new_id,
) -> Transcript | None:
    """Transcribes the call's audio into a new version and announces it; None if the call failed.

    Idempotent per event: if this event already produced a transcript, that
    transcript is announced again instead of creating a second version. A call
    that cannot be transcribed (unusable audio, a provider that refuses or stays
    down through its retries, a provider this deployment lacks) fails with a reason
    for its user and returns normally; anything else raises, so the event is retried.
    """
    context = command.context
    if await _announced_again(context, store=store, events=events):
        return None
    await events.publish(TranscriptionStarted(context))
    rules = await directory.rules(context.org_id, context.campaign_id)
    started = time.perf_counter()
    try:
        provider = _provider(providers, rules.provider)
        hearing = await _hear(command, audio_store=audio_store, prober=prober, provider=provider)
    except TranscriptionFailedError as error:
        logger.warning(
            "call cannot be transcribed",
            extra={"reason": error.reason, "detail": error.detail, "provider": rules.provider},
        )
        await events.publish(TranscriptionFailed(context, error.reason))
        return None
    elapsed = time.perf_counter() - started
    roles = assign_roles(
        hearing.utterances,
        layout=hearing.layout,
        voices_split=hearing.voices_split,
        rules=rules.roles,
    )
    transcript = await _store_new_version(
        context,
        store=store,
        build=lambda version: Transcript(
            id=new_id(),
            call_id=context.call_id,
            org_id=context.org_id,
            campaign_id=context.campaign_id,
            version=version,
            source_event_id=context.cause_event_id,
            provider=provider.name,
            model=hearing.model,
            language=hearing.language,
            duration_seconds=round(hearing.duration_seconds, 3),
            segments=label_segments(hearing.utterances, roles),
            created_at=clock(),
            speaker_roles=roles,
            settings=settings_used(hearing, rules),
        ),
    )
    logger.info(
        "transcript stored",
        extra={
            "transcript_id": transcript.id,
            "version": transcript.version,
            "provider": provider.name,
            "layout": hearing.layout.value,
            "segments": len(transcript.segments),
            "roles_confidence": roles.confidence,
            "roles_need_review": roles.needs_review,
            "audio_seconds": round(hearing.duration_seconds, 1),
            "elapsed_seconds": round(elapsed, 1),
        },
    )
    await events.publish(_transcribed(context, transcript))
    return transcript


async def swap_speakers(
    command: SwapSpeakers,
    *,
    store: TranscriptStore,
    events: EventSink,
    clock: Callable[[], dt.datetime] = _utc_now,
    new_id: Callable[[], str] = _new_id,
) -> Transcript | None:
    """Stores a copy of a version with agent and customer exchanged, as the next version.

    Nothing is transcribed again: the words and times are the version's own. The
    swap is recorded on the new version (who, from which version), and announcing
    it runs the analysis again. Idempotent per event, like transcribe_call.
    """
    context = command.context
    if await _announced_again(context, store=store, events=events):
        return None
    await events.publish(TranscriptionStarted(context))
    base = await store.get(context.org_id, context.call_id, command.of_version)
    if base is None:
        which = "the latest version" if command.of_version == 0 else f"version {command.of_version}"
        await events.publish(
            TranscriptionFailed(context, f"speakers cannot be swapped: {which} does not exist")
        )
        return None
    roles = swapped(
        base.speaker_roles or _assumed_roles(), by=command.requested_by, of_version=base.version
    )
    transcript = await _store_new_version(
        context,
        store=store,
        build=lambda version: replace(
            base,
            id=new_id(),
            version=version,
            source_event_id=context.cause_event_id,
            segments=swap_segments(base.segments),
            created_at=clock(),
            speaker_roles=roles,
        ),
    )
    logger.info(
        "speakers swapped",
        extra={"transcript_id": transcript.id, "version": transcript.version, "of": base.version},
    )
    await events.publish(_transcribed(context, transcript))
    return transcript


def settings_used(hearing: Hearing, rules: CampaignRules) -> tuple[tuple[str, str], ...]:
    """How the transcript was made: the provider's own settings and the role rules applied."""
    used = dict(hearing.settings)
    used["layout"] = hearing.layout.value
    if hearing.layout is Layout.STEREO:
        used["agent_channel"] = rules.roles.agent_channel
    else:
        used["voices_split"] = str(hearing.voices_split).lower()
        used["opening_party"] = rules.roles.opening_party.value
    if rules.roles.company_name:
        used["company_name"] = rules.roles.company_name
    return tuple(sorted(used.items()))


async def delete_call_transcripts(command: DeleteCallTranscripts, *, store: TranscriptStore) -> int:
    """Deletes every transcript version of a deleted call; deleting nothing is not an error."""
    deleted = await store.delete_call(command.org_id, command.call_id)
    logger.info("call transcripts deleted", extra={"deleted": deleted})
    return deleted


async def get_transcript(query: GetTranscript, *, store: TranscriptStore) -> Transcript:
    """A transcript version (0 = the latest) of a call in the caller's organisation."""
    transcript = await store.get(query.org_id, query.call_id, query.version)
    if transcript is None:
        which = "any version" if query.version == 0 else f"version {query.version}"
        raise TranscriptNotFoundError(f"no transcript ({which}) found for call {query.call_id}")
    return transcript


async def _announced_again(
    context: CallContext, *, store: TranscriptStore, events: EventSink
) -> bool:
    """Re-announces the transcript this event already produced; False if it produced none."""
    existing = await store.find_by_source_event(context.cause_event_id)
    if existing is None:
        return False
    logger.info(
        "event already handled, announcing the stored version again",
        extra={"transcript_id": existing.id, "version": existing.version},
    )
    await events.publish(_transcribed(context, existing))
    return True


def _transcribed(context: CallContext, transcript: Transcript) -> CallTranscribed:
    roles = transcript.speaker_roles
    return CallTranscribed(
        context,
        transcript.id,
        transcript.version,
        speaker_roles_need_review=bool(roles and roles.needs_review),
    )


def _provider(providers: Mapping[str, SpeechProvider], name: str) -> SpeechProvider:
    provider = providers.get(name)
    if provider is None:
        raise ProviderError(
            f"the transcription provider {name!r} is not set up on this deployment: "
            "ask an administrator to configure it, or switch the campaign to another provider",
            f"configured providers: {sorted(providers)}",
        )
    return provider


async def _hear(
    command: TranscribeCall,
    *,
    audio_store: AudioStore,
    prober: AudioProber,
    provider: SpeechProvider,
) -> Hearing:
    """Downloads the audio to a private temporary file, probes it, and has the provider hear it."""
    if not command.audio.key:
        raise AudioMissingError("the event names no audio object")
    with tempfile.TemporaryDirectory(prefix="callscope-transcription-") as folder:
        path = Path(folder) / "audio"
        await audio_store.download(command.audio, path)
        info = await asyncio.to_thread(prober.probe, path)
        request = ProviderRequest(
            path=path,
            layout=info.layout,
            duration_seconds=info.duration_seconds,
        )
        hearing = await provider.transcribe(request)
    if not any(utterance.words or utterance.text.strip() for utterance in hearing.utterances):
        raise SilentAudioError(f"{hearing.duration_seconds:.1f} s of audio, no words recognised")
    return hearing


def _assumed_roles() -> SpeakerRoles:
    """Roles of a version stored before roles were recorded: voice 0 was the agent."""
    return SpeakerRoles(
        source=RoleSource.CHANNEL, agent_voice=0, confidence=0.0, needs_review=False, evidence=()
    )


async def _store_new_version(
    context: CallContext,
    *,
    store: TranscriptStore,
    build: Callable[[int], Transcript],
) -> Transcript:
    """Stores the transcript as the call's next version, settling races with other workers."""
    for _ in range(_VERSION_ATTEMPTS):
        transcript = build(next_version(await store.latest_version(context.call_id)))
        try:
            await store.add(transcript)
        except TranscriptConflictError:
            # Either this event was stored meanwhile (a redelivery raced us), or another
            # event took the version number: the first means done, the second try again.
            stored = await store.find_by_source_event(context.cause_event_id)
            if stored is not None:
                return stored
            continue
        return transcript
    raise TranscriptConflictError(
        f"could not allocate a transcript version after {_VERSION_ATTEMPTS} attempts"
    )
