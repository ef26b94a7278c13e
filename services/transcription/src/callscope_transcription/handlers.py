"""Use cases: transcribe a call into a new version, delete a call's transcripts, read one."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from callscope_transcription.domain.errors import (
    AudioMissingError,
    SilentAudioError,
    TranscriptConflictError,
    TranscriptNotFoundError,
    UnusableAudioError,
)
from callscope_transcription.domain.events import (
    CallTranscribed,
    TranscriptionFailed,
    TranscriptionStarted,
)
from callscope_transcription.domain.model import (
    DeleteCallTranscripts,
    GetTranscript,
    Segment,
    Speaker,
    TranscribeCall,
    Transcript,
    Utterance,
)
from callscope_transcription.domain.speakers import AgentChannel, channel_speakers, merge_channels
from callscope_transcription.domain.versions import next_version
from callscope_transcription.ports import (
    AudioDecoder,
    AudioStore,
    DecodedAudio,
    EventSink,
    SpeechRecogniser,
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
    decoder: AudioDecoder,
    recogniser: SpeechRecogniser,
    events: EventSink,
    agent_channel: AgentChannel,
    clock: Callable[[], dt.datetime] = _utc_now,
    new_id: Callable[[], str] = _new_id,
) -> Transcript | None:
    """Transcribes the call's audio into a new version and announces it; None if the call failed.

    Idempotent per event: if this event already produced a transcript, that
    transcript is announced again instead of creating a second version.
    Unusable audio (missing, undecodable, silent) fails the call with a reason for
    its user and returns normally; anything else raises, so the event is retried.
    """
    context = command.context
    existing = await store.find_by_source_event(context.cause_event_id)
    if existing is not None:
        logger.info(
            "event already transcribed, announcing the stored version again",
            extra={"transcript_id": existing.id, "version": existing.version},
        )
        await events.publish(CallTranscribed(context, existing.id, existing.version))
        return existing

    await events.publish(TranscriptionStarted(context))
    started = time.perf_counter()
    try:
        audio = await _fetch_and_decode(command, audio_store=audio_store, decoder=decoder)
        segments, language = await _recognise(audio, recogniser, agent_channel)
    except UnusableAudioError as error:
        logger.warning(
            "call cannot be transcribed", extra={"reason": error.reason, "detail": error.detail}
        )
        await events.publish(TranscriptionFailed(context, error.reason))
        return None
    elapsed = time.perf_counter() - started

    transcript = await _store_new_version(
        command,
        store=store,
        build=lambda version: Transcript(
            id=new_id(),
            call_id=context.call_id,
            org_id=context.org_id,
            campaign_id=context.campaign_id,
            version=version,
            source_event_id=context.cause_event_id,
            provider=recogniser.provider,
            model=recogniser.model,
            language=language,
            duration_seconds=round(audio.duration_seconds, 3),
            segments=segments,
            created_at=clock(),
        ),
    )
    logger.info(
        "transcript stored",
        extra={
            "transcript_id": transcript.id,
            "version": transcript.version,
            "channels": len(audio.channels),
            "segments": len(transcript.segments),
            "audio_seconds": round(audio.duration_seconds, 1),
            "elapsed_seconds": round(elapsed, 1),
        },
    )
    await events.publish(CallTranscribed(context, transcript.id, transcript.version))
    return transcript


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


async def _fetch_and_decode(
    command: TranscribeCall, *, audio_store: AudioStore, decoder: AudioDecoder
) -> DecodedAudio:
    """Downloads the audio to a private temporary file, decodes it, and deletes the file."""
    if not command.audio.key:
        raise AudioMissingError("the event names no audio object")
    with tempfile.TemporaryDirectory(prefix="callscope-transcription-") as folder:
        path = Path(folder) / "audio"
        await audio_store.download(command.audio, path)
        return await asyncio.to_thread(decoder.decode, path)


async def _recognise(
    audio: DecodedAudio, recogniser: SpeechRecogniser, agent_channel: AgentChannel
) -> tuple[tuple[Segment, ...], str]:
    """Recognises each non-silent channel in a worker thread and merges them into one timeline."""
    speakers = channel_speakers(len(audio.channels), agent_channel)
    heard: list[tuple[Speaker, tuple[Utterance, ...]]] = []
    languages: list[str] = []
    for index, speaker in enumerate(speakers):
        # A silent side (a muted or disconnected party) is skipped: it has nothing to say, and
        # a recogniser fed silence is prone to invent words.
        if audio.is_silent(index):
            continue
        recognition = await asyncio.to_thread(recogniser.recognise, audio.channels[index])
        heard.append((speaker, recognition.utterances))
        languages.append(recognition.language)
    segments = merge_channels(heard)
    if not segments:
        raise SilentAudioError(f"{audio.duration_seconds:.1f} s of audio, no words recognised")
    return segments, languages[0]


async def _store_new_version(
    command: TranscribeCall,
    *,
    store: TranscriptStore,
    build: Callable[[int], Transcript],
) -> Transcript:
    """Stores the transcript as the call's next version, settling races with other workers."""
    for _ in range(_VERSION_ATTEMPTS):
        transcript = build(next_version(await store.latest_version(command.context.call_id)))
        try:
            await store.add(transcript)
        except TranscriptConflictError:
            # Either this event was stored meanwhile (a redelivery raced us), or another
            # event took the version number: the first means done, the second try again.
            stored = await store.find_by_source_event(command.context.cause_event_id)
            if stored is not None:
                return stored
            continue
        return transcript
    raise TranscriptConflictError(
        f"could not allocate a transcript version after {_VERSION_ATTEMPTS} attempts"
    )
