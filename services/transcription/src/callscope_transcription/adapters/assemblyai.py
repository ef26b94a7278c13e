"""AssemblyAI as a speech provider: upload the file, submit a transcript, poll until it is done."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from typing import Any

import httpx

from callscope_transcription.adapters.http_retry import ProviderHttp, Sleep, stream_file
from callscope_transcription.domain.errors import SilentAudioError, TranscriptionFailedError
from callscope_transcription.domain.model import Layout, Utterance, Word
from callscope_transcription.ports import Hearing, ProviderRequest

PROVIDER = "assemblyai"
DISPLAY_NAME = "AssemblyAI"

# AssemblyAI's transcript errors for audio without speech: "language_detection cannot be
# performed on files with no spoken audio", "No spoken audio detected", "Audio duration is
# too short." Retrying or switching provider will not find words in them.
_NO_SPEECH = re.compile(r"no spoken audio|no speech|audio duration is too short", re.IGNORECASE)
# "File does not appear to contain audio. File type is ..." : the bytes are not audio.
_NOT_AUDIO = re.compile(r"does not appear to contain audio", re.IGNORECASE)
# Upload, submit and poll answer quickly; a call that hangs longer is retried.
_JSON_CALL_TIMEOUT_S = 60.0
# A call centre call has two parties; telling the diarizer so keeps it from splitting one.
_SPEAKERS_EXPECTED = 2


class AssemblyAIProvider:
    """Transcribes through AssemblyAI's pre-recorded API (v2), with retries on every request.

    Stereo calls are sent with multichannel (channel 1 = voice 0, the left side), mono
    calls with speaker labels (the first speaker heard = voice 0). The language is
    reported as its primary subtag ("en_us" becomes "en"), as the local model reports it.
    """

    def __init__(
        self,
        api_key: str,
        base_url: str,
        *,
        client: httpx.AsyncClient | None = None,
        poll_interval_s: float = 3.0,
        timeout_s: float = 600.0,
        max_attempts: int = 5,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._api_key = api_key
        self._base_url = base_url.rstrip("/")
        self._owns_client = client is None
        self._client = client or httpx.AsyncClient()
        self._poll_interval_s = poll_interval_s
        self._timeout_s = timeout_s
        self._sleep = sleep
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
        """Uploads the file, submits it and waits for the transcript; utterances by voice."""
        upload_url = await self._upload(request)
        options = _options(request.layout)
        transcript_id = await self._submit(upload_url, options)
        body = await self._wait_for(transcript_id)
        try:
            return _hearing(body, request, options)
        except (KeyError, TypeError, ValueError) as error:
            raise self._http.answer_unreadable(
                f"transcript {transcript_id}: {type(error).__name__} {error}"
            ) from error

    async def aclose(self) -> None:
        """Closes the HTTP client if this provider created it."""
        if self._owns_client:
            await self._client.aclose()

    async def _upload(self, request: ProviderRequest) -> str:
        size = request.path.stat().st_size
        url = f"{self._base_url}/v2/upload"
        headers = {
            **self._auth(),
            "Content-Type": "application/octet-stream",
            # A known length keeps the body a plain stream, not chunked transfer encoding.
            "Content-Length": str(size),
        }

        def build() -> httpx.Request:
            return self._client.build_request(
                "POST",
                url,
                content=stream_file(request.path),
                headers=headers,
                timeout=self._timeout_s,
            )

        body = self._http.json(await self._http.send(build, carries_audio=True))
        upload_url = body.get("upload_url")
        if not isinstance(upload_url, str) or not upload_url:
            raise self._http.answer_unreadable(f"upload answered without upload_url: {body}")
        return upload_url

    async def _submit(self, upload_url: str, options: Mapping[str, object]) -> str:
        url = f"{self._base_url}/v2/transcript"
        payload = {"audio_url": upload_url, **options}

        def build() -> httpx.Request:
            return self._client.build_request(
                "POST", url, json=payload, headers=self._auth(), timeout=self._json_timeout()
            )

        body = self._http.json(await self._http.send(build))
        transcript_id = body.get("id")
        if not isinstance(transcript_id, str) or not transcript_id:
            raise self._http.answer_unreadable(f"submission answered without id: {body}")
        return transcript_id

    async def _wait_for(self, transcript_id: str) -> dict[str, Any]:
        status = "submitted"
        try:
            async with asyncio.timeout(self._timeout_s):
                while True:
                    body = await self._poll(transcript_id)
                    status = str(body.get("status"))
                    if status == "completed":
                        return body
                    if status == "error":
                        raise self._failure(transcript_id, body)
                    await self._sleep(self._poll_interval_s)
        except TimeoutError as error:
            raise self._http.too_slow(
                self._timeout_s, f"transcript {transcript_id} still {status}"
            ) from error

    async def _poll(self, transcript_id: str) -> dict[str, Any]:
        url = f"{self._base_url}/v2/transcript/{transcript_id}"

        def build() -> httpx.Request:
            return self._client.build_request(
                "GET", url, headers=self._auth(), timeout=self._json_timeout()
            )

        return self._http.json(await self._http.send(build))

    def _failure(self, transcript_id: str, body: Mapping[str, Any]) -> TranscriptionFailedError:
        message = str(body.get("error") or "no error message")
        detail = self._http.redact(f"transcript {transcript_id} failed: {message}")
        if _NO_SPEECH.search(message):
            return SilentAudioError(detail)
        if _NOT_AUDIO.search(message):
            return self._http.audio_unreadable(detail)
        return self._http.transcription_failed(detail)

    def _auth(self) -> dict[str, str]:
        return {"Authorization": self._api_key}

    def _json_timeout(self) -> float:
        return min(self._timeout_s, _JSON_CALL_TIMEOUT_S)


def _options(layout: Layout) -> dict[str, object]:
    """What to ask for: channels kept apart on stereo, voices told apart on mono."""
    options: dict[str, object] = {"punctuate": True, "format_text": True}
    if layout is Layout.STEREO:
        options["multichannel"] = True
    else:
        options["speaker_labels"] = True
        options["speakers_expected"] = _SPEAKERS_EXPECTED
    return options


def _hearing(
    body: Mapping[str, Any], request: ProviderRequest, options: Mapping[str, object]
) -> Hearing:
    """A completed transcript as a Hearing; SilentAudioError when it holds no words."""
    utterances = _utterances(body.get("utterances") or (), request.layout)
    if not any(utterance.words for utterance in utterances):
        raise SilentAudioError(f"AssemblyAI transcript {body.get('id')} has no words")
    voices = {utterance.voice for utterance in utterances}
    code = str(body.get("language_code") or "en")
    return Hearing(
        language=re.split(r"[_-]", code)[0].lower(),
        layout=request.layout,
        utterances=utterances,
        duration_seconds=float(body.get("audio_duration") or request.duration_seconds),
        model=str(body.get("speech_model") or PROVIDER),
        voices_split=request.layout is Layout.STEREO or len(voices) >= 2,
        settings={key: str(value).lower() for key, value in options.items()},
    )


def _utterances(items: Any, layout: Layout) -> tuple[Utterance, ...]:
    """Utterances in time order; voice from the channel (stereo) or the speaker label (mono)."""
    speakers: dict[object, int] = {}
    utterances: list[Utterance] = []
    for item in sorted(items, key=lambda utterance: float(utterance["start"])):
        words = tuple(_word(word) for word in item.get("words") or ())
        if not words:
            continue
        if layout is Layout.STEREO:
            # Channels count from 1 (left); AssemblyAI also repeats the channel as the speaker.
            voice = int(item.get("channel") or item.get("speaker") or 1) - 1
        else:
            voice = speakers.setdefault(item.get("speaker"), len(speakers))
        utterances.append(
            Utterance(
                start=float(item["start"]) / 1000,
                end=float(item["end"]) / 1000,
                text=str(item.get("text") or " ".join(word.text for word in words)),
                words=words,
                voice=voice,
            )
        )
    return tuple(utterances)


def _word(item: Mapping[str, Any]) -> Word:
    """One word: AssemblyAI times are milliseconds, its confidence is 0-1."""
    return Word(
        text=str(item["text"]),
        start=float(item["start"]) / 1000,
        end=float(item["end"]) / 1000,
        probability=float(item.get("confidence") or 0.0),
    )
