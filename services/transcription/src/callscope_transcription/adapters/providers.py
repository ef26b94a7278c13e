"""Builds the speech providers this deployment is configured for, once per process."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from callscope_transcription.adapters.audio import FfmpegAudioDecoder
from callscope_transcription.adapters.limits import LimitedProvider
from callscope_transcription.adapters.whisper import WhisperRecogniser
from callscope_transcription.domain.model import Layout, Utterance
from callscope_transcription.ports import Hearing, ProviderRequest, SpeechProvider
from callscope_transcription.settings import TranscriptionSettings


class _ChannelWhisper:
    """Interim local provider: decodes the call and recognises each channel in a thread."""

    name = "local"

    def __init__(self, recogniser: WhisperRecogniser) -> None:
        self._recogniser = recogniser
        self._decoder = FfmpegAudioDecoder()

    async def transcribe(self, request: ProviderRequest) -> Hearing:
        """Each non-silent channel's speech, voice = channel index."""
        audio = await asyncio.to_thread(self._decoder.decode, request.path)
        utterances: list[Utterance] = []
        language = "en"
        for voice, samples in enumerate(audio.channels):
            if audio.is_silent(voice):
                continue
            heard = await asyncio.to_thread(self._recogniser.recognise, samples)
            language = heard.language
            utterances += [
                Utterance(u.start, u.end, u.text, u.words, voice=voice) for u in heard.utterances
            ]
        return Hearing(
            language=language,
            layout=Layout.STEREO if len(audio.channels) == 2 else Layout.MONO,
            utterances=tuple(utterances),
            duration_seconds=audio.duration_seconds,
            model=self._recogniser.model,
            voices_split=False,
        )


async def build_providers(settings: TranscriptionSettings) -> Mapping[str, SpeechProvider]:
    """The local provider always; hosted ones when their keys are configured."""
    recogniser = await asyncio.to_thread(
        WhisperRecogniser.load,
        settings.resolved_model_dir(),
        expected_sha256=settings.expected_model_sha256(),
        device=settings.device,
        compute_type=settings.compute_type,
        cpu_threads=settings.cpu_threads,
        model_name=settings.model_name(),
    )
    return {"local": LimitedProvider(_ChannelWhisper(recogniser), settings.local_concurrency)}


async def close_providers(providers: Mapping[str, SpeechProvider]) -> None:
    """Releases the providers' connections (none held yet)."""
