"""Builds the speech providers this deployment is configured for, once per process."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

from callscope_transcription.adapters.assemblyai import AssemblyAIProvider
from callscope_transcription.adapters.audio import FfmpegAudioDecoder
from callscope_transcription.adapters.deepgram import DeepgramProvider
from callscope_transcription.adapters.limits import LimitedProvider
from callscope_transcription.adapters.whisper import WhisperRecogniser
from callscope_transcription.domain.model import Layout, Utterance
from callscope_transcription.ports import Hearing, ProviderRequest, SpeechProvider
from callscope_transcription.settings import TranscriptionSettings

logger = logging.getLogger(__name__)


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
    providers: dict[str, SpeechProvider] = {
        "local": LimitedProvider(_ChannelWhisper(recogniser), settings.local_concurrency)
    }
    providers.update(_hosted(settings))
    logger.info("speech providers ready", extra={"providers": sorted(providers)})
    return providers


def _hosted(settings: TranscriptionSettings) -> dict[str, SpeechProvider]:
    """The hosted providers whose keys are configured; a campaign choosing another one fails
    its calls with a reason that says the provider is not set up."""
    hosted: dict[str, SpeechProvider] = {}
    if settings.assemblyai_api_key is not None:
        assemblyai = AssemblyAIProvider(
            settings.assemblyai_api_key.get_secret_value(),
            settings.assemblyai_base_url,
            poll_interval_s=settings.assemblyai_poll_interval_s,
            timeout_s=settings.provider_timeout_s,
            max_attempts=settings.provider_max_attempts,
        )
        hosted["assemblyai"] = LimitedProvider(assemblyai, settings.assemblyai_concurrency)
    if settings.deepgram_api_key is not None:
        deepgram = DeepgramProvider(
            settings.deepgram_api_key.get_secret_value(),
            settings.deepgram_base_url,
            settings.deepgram_model,
            timeout_s=settings.provider_timeout_s,
            max_attempts=settings.provider_max_attempts,
        )
        hosted["deepgram"] = LimitedProvider(deepgram, settings.deepgram_concurrency)
    return hosted


async def close_providers(providers: Mapping[str, SpeechProvider]) -> None:
    """Releases the providers' HTTP connections."""
    for provider in providers.values():
        if isinstance(provider, LimitedProvider):
            await provider.aclose()
