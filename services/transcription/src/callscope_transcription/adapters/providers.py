"""Builds the speech providers this deployment is configured for, once per process."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

from callscope_transcription.adapters.assemblyai import AssemblyAIProvider
from callscope_transcription.adapters.deepgram import DeepgramProvider
from callscope_transcription.adapters.limits import LimitedProvider
from callscope_transcription.adapters.local_provider import LocalWhisperProvider
from callscope_transcription.adapters.voices import SpectralVoiceSplitter
from callscope_transcription.ports import SpeechProvider
from callscope_transcription.settings import TranscriptionSettings

logger = logging.getLogger(__name__)


async def build_providers(settings: TranscriptionSettings) -> Mapping[str, SpeechProvider]:
    """The local provider always (its model verified and loaded once, here); hosted ones when
    their keys are configured."""
    local = await asyncio.to_thread(
        LocalWhisperProvider.load,
        settings.resolved_model_dir(),
        expected_sha256=settings.expected_model_sha256(),
        device=settings.device,
        compute_type=settings.compute_type,
        cpu_threads=settings.cpu_threads,
        num_workers=settings.model_workers,
        model_name=settings.model_name(),
        voice_splitter=SpectralVoiceSplitter,
    )
    providers: dict[str, SpeechProvider] = {
        "local": LimitedProvider(local, settings.local_concurrency)
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
