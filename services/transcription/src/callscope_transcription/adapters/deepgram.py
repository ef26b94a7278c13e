"""Deepgram as a speech provider: one pre-recorded /v1/listen request with the file as its body."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from typing import Any

import httpx

from callscope_transcription.adapters.http_retry import ProviderHttp, Sleep, stream_file
from callscope_transcription.domain.errors import SilentAudioError
from callscope_transcription.domain.model import Layout, Utterance, Word
from callscope_transcription.ports import Hearing, ProviderRequest

PROVIDER = "deepgram"
DISPLAY_NAME = "Deepgram"


class DeepgramProvider:
    """Transcribes through Deepgram's pre-recorded API, retrying 429, 5xx and timeouts.

    Stereo calls are sent with multichannel (channel 0 = voice 0, the left side), mono
    calls with diarize (the first speaker heard = voice 0). The language is
    detected_language when Deepgram reports one (primary subtag), else "en".
    """

    def __init__(
        self,
        api_key: str,
        base_url: str,
        model: str = "nova-3",
        *,
        client: httpx.AsyncClient | None = None,
        timeout_s: float = 600.0,
        max_attempts: int = 5,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._api_key = api_key
        self._url = f"{base_url.rstrip('/')}/v1/listen"
        self._model = model
        self._owns_client = client is None
        self._client = client or httpx.AsyncClient()
        self._timeout_s = timeout_s
        self._http = ProviderHttp(
            self._client,
            provider=DISPLAY_NAME,
            secret=api_key,
            max_attempts=max_attempts,
            sleep=sleep,
        )

    @property
    def name(self) -> str:
        """The provider's name as stored on transcripts."""
        return PROVIDER

    async def transcribe(self, request: ProviderRequest) -> Hearing:
        """Sends the file and maps Deepgram's utterances to voices."""
        params = _params(self._model, request.layout)
        headers = {
            "Authorization": f"Token {self._api_key}",
            "Content-Type": request.content_type,
            # A known length keeps the body a plain stream, not chunked transfer encoding.
            "Content-Length": str(request.path.stat().st_size),
        }

        def build() -> httpx.Request:
            return self._client.build_request(
                "POST",
                self._url,
                params=params,
                content=stream_file(request.path),
                headers=headers,
                timeout=self._timeout_s,
            )

        body = self._http.json(await self._http.send(build, carries_audio=True))
        try:
            return _hearing(body, request, self._model, params)
        except (KeyError, TypeError, ValueError) as error:
            raise self._http.answer_unreadable(
                f"/v1/listen answer: {type(error).__name__} {error}"
            ) from error

    async def aclose(self) -> None:
        """Closes the HTTP client if this provider created it."""
        if self._owns_client:
            await self._client.aclose()


def _params(model: str, layout: Layout) -> dict[str, str]:
    """The query: formatted words and utterances, split by channel (stereo) or by voice (mono)."""
    params = {
        "model": model,
        "smart_format": "true",
        "punctuate": "true",
        "utterances": "true",
    }
    params["multichannel" if layout is Layout.STEREO else "diarize"] = "true"
    return params


def _hearing(
    body: Mapping[str, Any], request: ProviderRequest, model: str, params: Mapping[str, str]
) -> Hearing:
    """Deepgram's answer as a Hearing; SilentAudioError when it holds no words."""
    results = body["results"]
    utterances = _utterances(results.get("utterances") or (), request.layout)
    if not any(utterance.words for utterance in utterances):
        raise SilentAudioError(f"Deepgram request {body.get('metadata', {}).get('request_id')}")
    voices = {utterance.voice for utterance in utterances}
    return Hearing(
        language=_language(results.get("channels") or ()),
        layout=request.layout,
        utterances=utterances,
        duration_seconds=float(
            body.get("metadata", {}).get("duration") or request.duration_seconds
        ),
        model=model,
        voices_split=request.layout is Layout.STEREO or len(voices) >= 2,
        settings=dict(params),
    )


def _language(channels: Any) -> str:
    """The detected language's primary subtag ("en-US" becomes "en"); "en" when none is given."""
    for channel in channels:
        detected = channel.get("detected_language")
        if detected:
            return re.split(r"[_-]", str(detected))[0].lower()
    return "en"


def _utterances(items: Any, layout: Layout) -> tuple[Utterance, ...]:
    """Utterances in time order; voice from the channel (stereo) or the speaker (mono)."""
    speakers: dict[object, int] = {}
    utterances: list[Utterance] = []
    for item in sorted(items, key=lambda utterance: float(utterance["start"])):
        words = tuple(_word(word) for word in item.get("words") or ())
        if not words:
            continue
        if layout is Layout.STEREO:
            voice = int(item.get("channel") or 0)
        else:
            voice = speakers.setdefault(item.get("speaker"), len(speakers))
        utterances.append(
            Utterance(
                start=float(item["start"]),
                end=float(item["end"]),
                text=str(item.get("transcript") or " ".join(word.text for word in words)),
                words=words,
                voice=voice,
            )
        )
    return tuple(utterances)


def _word(item: Mapping[str, Any]) -> Word:
    """One word: punctuated when Deepgram formatted it; times are seconds already."""
    return Word(
        text=str(item.get("punctuated_word") or item["word"]),
        start=float(item["start"]),
        end=float(item["end"]),
        probability=float(item.get("confidence") or 0.0),
    )
