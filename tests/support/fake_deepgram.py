"""A stand-in for Deepgram's pre-recorded API (`POST /v1/listen`) on a real socket, for tests.

It reproduces the documented request and answer: `Authorization: Token <key>` (a wrong
key gets `INVALID_AUTH`), the audio as the raw body, options in the query string
(booleans must be "true"/"false"), and the answer's `metadata` (request_id, sha256,
duration, channels, models) and `results` (`channels[].alternatives[]` with words,
`utterances` with channel/speaker, `detected_language` when asked). Words carry
`word`, `punctuated_word` (with punctuate or smart_format), start/end in seconds,
`confidence` and, with diarize, `speaker`. What the audio says comes from scripts
registered per SHA-256; audio without a script gets an empty transcript (as silence
does), and bytes that are not audio the API's 400 "corrupt or unsupported data".

    with FakeDeepgram() as fake:
        fake.register_rendered(rendered)
        fake.fail_next(1, 429, retry_after="2")   # the next request answers 429
        fake.fail_next(3, 503)                    # then three 503s
        fake.hang_next(1, 5.0)                    # a request that answers after 5 s
        fake.fail_for(20.0, 503)                  # every request answers 503 for 20 s
        provider = DeepgramProvider(fake.api_key, fake.base_url, "nova-3", ...)
"""

from __future__ import annotations

import datetime as dt
import uuid
from http import HTTPStatus
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.support.fake_http_server import (
    AudioFacts,
    FakeProviderServer,
    HeardLine,
    HeardWord,
    ReceivedBody,
    audio_facts,
    labels_in_order,
    words_of,
)

DEFAULT_KEY = "fake-deepgram-key-0123456789abcdef"
CORRUPT_AUDIO = "Bad Request: failed to process audio: corrupt or unsupported data"
_BOOLEAN_OPTIONS = (
    "smart_format",
    "punctuate",
    "utterances",
    "diarize",
    "multichannel",
    "detect_language",
)
# err_code Deepgram answers with, by status.
_ERROR_CODES = {
    400: "Bad Request",
    401: "INVALID_AUTH",
    402: "ASR_PAYMENT_REQUIRED",
    403: "INSUFFICIENT_PERMISSIONS",
    429: "TOO_MANY_REQUESTS",
}


class FakeDeepgram(FakeProviderServer):
    """Deepgram's /v1/listen for pre-recorded audio, answering from registered scripts."""

    def __init__(self, api_key: str = DEFAULT_KEY) -> None:
        super().__init__(api_key)

    def _routes(self) -> list[Route]:
        return [self._route("/v1/listen", "POST", self._listen)]

    def _auth_scheme(self, authorization: str) -> tuple[str, bool]:
        scheme, _, key = authorization.partition(" ")
        return scheme, scheme in {"Token", "token"} and key == self.api_key

    def _error(self, status: int, message: str | None = None) -> JSONResponse:
        messages = {
            401: "Invalid credentials.",
            429: "Too many requests. Please try again later",
        }
        body = {
            "err_code": _ERROR_CODES.get(
                status, HTTPStatus(status).phrase.upper().replace(" ", "_")
            ),
            "err_msg": message or messages.get(status, HTTPStatus(status).phrase),
            "request_id": str(uuid.uuid4()),
        }
        return JSONResponse(body, status_code=status)

    async def _listen(self, request: Request, body: ReceivedBody) -> Response:
        options = dict(request.query_params)
        for name in _BOOLEAN_OPTIONS:
            if options.get(name, "false") not in {"true", "false"}:
                return self._error(
                    400, f"Failed to deserialize query parameters: {name} must be true or false"
                )
        facts = audio_facts(body.path) if body.size else None
        if facts is None:
            return self._error(400, CORRUPT_AUDIO)
        lines = self._script(body.sha256) or ()
        return JSONResponse(_answer(options, body, facts, lines))


def _answer(
    options: dict[str, str], body: ReceivedBody, facts: AudioFacts, lines: tuple[HeardLine, ...]
) -> dict[str, Any]:
    """The documented answer: metadata, per-channel alternatives and (if asked) utterances."""
    multichannel = options.get("multichannel") == "true"
    model = options.get("model", "base")
    model_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"deepgram-model:{model}"))
    channel_count = facts.channels if multichannel else 1
    ordered = sorted(lines, key=lambda heard: heard.start)
    speakers = labels_in_order(ordered)

    def channel_of(line: HeardLine) -> int:
        return line.channel if multichannel and line.channel < channel_count else 0

    results: dict[str, Any] = {
        "channels": [
            _channel([line for line in ordered if channel_of(line) == index], options, speakers)
            for index in range(channel_count)
        ]
    }
    if options.get("utterances") == "true":
        results["utterances"] = [
            _utterance(line, channel_of(line), options, speakers) for line in ordered
        ]
    return {
        "metadata": {
            "transaction_key": "deprecated",
            "request_id": str(uuid.uuid4()),
            "sha256": body.sha256,
            "created": dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z"),
            "duration": round(facts.duration, 6),
            "channels": facts.channels,
            "models": [model_id],
            "model_info": {model_id: {"name": model, "version": "2025-01-01.0", "arch": model}},
        },
        "results": results,
    }


def _channel(
    lines: list[HeardLine], options: dict[str, str], speakers: dict[str, int]
) -> dict[str, Any]:
    words = [_word(word, line, options, speakers) for line in lines for word in words_of(line)]
    channel: dict[str, Any] = {
        "alternatives": [
            {
                "transcript": _text(words),
                "confidence": _mean([word["confidence"] for word in words]),
                "words": words,
            }
        ]
    }
    if options.get("detect_language") == "true":
        channel["detected_language"] = "en"
        channel["language_confidence"] = 0.99
    return channel


def _utterance(
    line: HeardLine, channel: int, options: dict[str, str], speakers: dict[str, int]
) -> dict[str, Any]:
    words = [_word(word, line, options, speakers) for word in words_of(line)]
    return {
        "start": words[0]["start"] if words else line.start,
        "end": words[-1]["end"] if words else line.end,
        "confidence": _mean([word["confidence"] for word in words]),
        "channel": channel,
        "transcript": _text(words),
        "words": words,
        "speaker": speakers[line.speaker] if options.get("diarize") == "true" else 0,
        "id": str(uuid.uuid4()),
    }


def _word(
    word: HeardWord, line: HeardLine, options: dict[str, str], speakers: dict[str, int]
) -> dict[str, Any]:
    item: dict[str, Any] = {
        "word": word.bare,
        "start": word.start,
        "end": word.end,
        "confidence": word.confidence,
    }
    if options.get("diarize") == "true":
        item["speaker"] = speakers[line.speaker]
        item["speaker_confidence"] = 0.9
    if options.get("punctuate") == "true" or options.get("smart_format") == "true":
        item["punctuated_word"] = word.token
    return item


def _text(words: list[dict[str, Any]]) -> str:
    return " ".join(str(word.get("punctuated_word") or word["word"]) for word in words)


def _mean(values: list[float]) -> float:
    return round(sum(values) / len(values), 4) if values else 0.0
