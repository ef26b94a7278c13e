"""A stand-in for AssemblyAI's pre-recorded API (v2) on a real socket, for tests.

It reproduces the documented requests and answers: `Authorization: <key>` (a wrong key
gets the API's 401 body), `POST /v2/upload` answering `upload_url`, `POST /v2/transcript`
validating its fields and answering the queued transcript, `GET /v2/transcript/{id}`
moving queued → processing → completed (or error) with words and utterances in
milliseconds, speaker labels "A"/"B" or channels "1"/"2", audio_duration and
language_code. What the audio says comes from scripts registered per SHA-256;
audio without a script is answered as audio without speech, bytes that are not audio
as the API's "does not appear to contain audio" error.

    with FakeAssemblyAI() as fake:
        fake.register_rendered(rendered)
        fake.fail_next(2, 503)                       # the next two requests answer 503
        fake.fail_next(1, 429, retry_after="3", path="/v2/transcript")
        fake.hang_next(1, 5.0, path="/v2/upload")    # an upload that answers after 5 s
        fake.fail_next_transcript("Server error")    # the next transcript ends in "error"
        provider = AssemblyAIProvider(fake.api_key, fake.base_url, ...)
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
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

DEFAULT_KEY = "fake-assemblyai-key-0123456789"
UNAUTHORIZED = "Authentication error, API token missing/invalid"
NO_SPOKEN_AUDIO = "language_detection cannot be performed on files with no spoken audio."
TOO_SHORT = "Audio duration is too short."
NOT_AUDIO = "File does not appear to contain audio. File type is application/octet-stream (data)."
# The shortest audio the API transcribes (documented: 160 ms).
_MIN_DURATION_S = 0.16
_BOOLEAN_FIELDS = (
    "speaker_labels",
    "multichannel",
    "punctuate",
    "format_text",
    "language_detection",
)
_UPLOAD_PATH = "/upload-cdn/"


@dataclass
class _Job:
    """A submitted transcript: its public body, the answer it ends with, the statuses served."""

    body: dict[str, Any]
    final: dict[str, Any]
    polls_left: int
    statuses: list[str] = field(default_factory=list)


class FakeAssemblyAI(FakeProviderServer):
    """AssemblyAI's upload, transcript and polling endpoints, answering from registered scripts.

    processing_polls is how many polls answer "processing" before the final status.
    """

    def __init__(self, api_key: str = DEFAULT_KEY, *, processing_polls: int = 1) -> None:
        super().__init__(api_key)
        self.processing_polls = processing_polls
        self._default_polls = processing_polls
        self._uploads: dict[str, ReceivedBody] = {}
        self._jobs: dict[str, _Job] = {}
        self._failing_transcripts: list[str] = []
        self._jobs_lock = threading.Lock()

    def reset(self) -> None:
        """Forgets faults, uploads, transcripts and recorded requests; scripts stay."""
        super().reset()
        self.processing_polls = self._default_polls
        with self._jobs_lock:
            self._failing_transcripts.clear()
            self._uploads.clear()
            self._jobs.clear()

    def fail_next_transcript(self, error: str, count: int = 1) -> None:
        """The next count submitted transcripts end in status "error" with this message."""
        with self._jobs_lock:
            self._failing_transcripts.extend([error] * count)

    def statuses(self, transcript_id: str) -> list[str]:
        """The statuses the transcript was served with, from its submission on."""
        with self._jobs_lock:
            return list(self._jobs[transcript_id].statuses)

    def served(self, transcript_id: str) -> dict[str, Any]:
        """The transcript as it was last served."""
        with self._jobs_lock:
            return dict(self._jobs[transcript_id].body)

    def transcript_ids(self) -> list[str]:
        """The transcripts submitted so far, oldest first."""
        with self._jobs_lock:
            return list(self._jobs)

    def _routes(self) -> list[Route]:
        return [
            self._route("/v2/upload", "POST", self._upload),
            self._route("/v2/transcript", "POST", self._submit),
            self._route("/v2/transcript/{transcript_id}", "GET", self._poll),
        ]

    def _auth_scheme(self, authorization: str) -> tuple[str, bool]:
        # AssemblyAI takes the bare key in the Authorization header.
        scheme = authorization.partition(" ")[0] if " " in authorization else "key"
        return (scheme if authorization else ""), authorization == self.api_key

    def _error(self, status: int, message: str | None = None) -> JSONResponse:
        if message is None:
            message = {
                401: UNAUTHORIZED,
                429: "Too Many Requests: the request rate limit was exceeded",
                500: "Server error, developers have been alerted.",
            }.get(status, HTTPStatus(status).phrase)
        return JSONResponse({"error": message}, status_code=status)

    async def _upload(self, request: Request, body: ReceivedBody) -> Response:
        if body.size == 0:
            return self._error(400, "Upload failed: the request body is empty.")
        upload_id = uuid.uuid4().hex
        with self._jobs_lock:
            self._uploads[upload_id] = body
        return JSONResponse({"upload_url": f"{self.base_url}{_UPLOAD_PATH}{upload_id}"})

    async def _submit(self, request: Request, body: ReceivedBody) -> Response:
        try:
            fields = body.json()
        except ValueError:
            return self._error(400, "Invalid JSON body.")
        problem = _invalid(fields)
        if problem:
            return self._error(400, problem)
        job = self._job(fields)
        with self._jobs_lock:
            self._jobs[job.body["id"]] = job
            job.statuses.append("queued")
        return JSONResponse(job.body)

    async def _poll(self, request: Request, body: ReceivedBody) -> Response:
        transcript_id = request.path_params["transcript_id"]
        with self._jobs_lock:
            job = self._jobs.get(transcript_id)
            if job is None:
                return self._error(400, "Transcript lookup error, transcript id not found")
            if job.polls_left > 0:
                job.polls_left -= 1
                job.body = {**job.body, "status": "processing"}
            else:
                job.body = job.final
            job.statuses.append(str(job.body["status"]))
            return JSONResponse(job.body)

    def _job(self, fields: dict[str, Any]) -> _Job:
        transcript_id = str(uuid.uuid4())
        queued = _transcript(transcript_id, fields, status="queued")
        return _Job(queued, self._outcome(transcript_id, fields), self.processing_polls)

    def _outcome(self, transcript_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        """The transcript as the API ends it: completed from the script, or an error."""
        with self._jobs_lock:
            failure = self._failing_transcripts.pop(0) if self._failing_transcripts else None
            upload = self._uploads.get(fields["audio_url"].rpartition(_UPLOAD_PATH)[2])
        if failure is not None:
            return _transcript(transcript_id, fields, status="error", error=failure)
        if upload is None or not fields["audio_url"].startswith(self.base_url):
            error = (
                f"Download error, unable to download {fields['audio_url']}. Please make sure "
                "the file exists and is accessible from the internet."
            )
            return _transcript(transcript_id, fields, status="error", error=error)
        facts = audio_facts(upload.path)
        if facts is None:
            return _transcript(transcript_id, fields, status="error", error=NOT_AUDIO)
        if facts.duration < _MIN_DURATION_S:
            return _transcript(transcript_id, fields, status="error", error=TOO_SHORT)
        lines = self._script(upload.sha256) or ()
        if not lines and fields.get("language_detection"):
            return _transcript(transcript_id, fields, status="error", error=NO_SPOKEN_AUDIO)
        return _completed(transcript_id, fields, facts, lines)


def _invalid(fields: Any) -> str:
    """Why the submission breaks the documented schema; empty when it does not."""
    if not isinstance(fields, dict):
        return "Invalid endpoint schema: the body must be a JSON object."
    if not isinstance(fields.get("audio_url"), str) or not fields["audio_url"]:
        return "Invalid endpoint schema: audio_url is required and must be a string."
    for name in _BOOLEAN_FIELDS:
        if name in fields and not isinstance(fields[name], bool):
            return f"Invalid endpoint schema: {name} must be a boolean."
    expected = fields.get("speakers_expected")
    if expected is not None and (not isinstance(expected, int) or isinstance(expected, bool)):
        return "Invalid endpoint schema: speakers_expected must be an integer."
    return ""


def _transcript(
    transcript_id: str, fields: dict[str, Any], *, status: str, error: str | None = None
) -> dict[str, Any]:
    """A transcript object as the API serves it before (or without) a result."""
    body: dict[str, Any] = {
        "id": transcript_id,
        "status": status,
        "audio_url": fields["audio_url"],
        "language_code": fields.get("language_code") or "en_us",
        "language_detection": bool(fields.get("language_detection", False)),
        "speech_model": fields.get("speech_model") or "universal",
        "punctuate": bool(fields.get("punctuate", True)),
        "format_text": bool(fields.get("format_text", True)),
        "speaker_labels": bool(fields.get("speaker_labels", False)),
        "speakers_expected": fields.get("speakers_expected"),
        "multichannel": bool(fields.get("multichannel", False)),
        "text": None,
        "words": None,
        "utterances": None,
        "confidence": None,
        "audio_duration": None,
        "webhook_url": None,
    }
    if error is not None:
        body["error"] = error
    return body


def _completed(
    transcript_id: str, fields: dict[str, Any], facts: AudioFacts, lines: tuple[HeardLine, ...]
) -> dict[str, Any]:
    """The completed transcript: words and utterances from the script, times in milliseconds."""
    multichannel = bool(fields.get("multichannel"))
    diarized = bool(fields.get("speaker_labels"))
    speakers = labels_in_order(lines)

    def label(line: HeardLine) -> str | None:
        if multichannel:
            return _channel(line, facts)
        return chr(ord("A") + speakers[line.speaker]) if diarized else None

    ordered = sorted(lines, key=lambda heard: heard.start)
    words = [
        _word(word, fields, label(line), _channel(line, facts) if multichannel else None)
        for line in ordered
        for word in words_of(line)
    ]
    body = _transcript(transcript_id, fields, status="completed")
    body.update(
        text=" ".join(word["text"] for word in words),
        words=words,
        confidence=_mean([word["confidence"] for word in words]),
        # The API reports whole seconds.
        audio_duration=round(facts.duration),
    )
    if multichannel:
        body["audio_channels"] = facts.channels
    if multichannel or diarized:
        body["utterances"] = _utterances(words)
    return body


def _utterances(words: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Turns: consecutive words of one speaker (or channel) make one utterance."""
    turns: list[list[dict[str, Any]]] = []
    for word in words:
        if turns and turns[-1][-1]["speaker"] == word["speaker"]:
            turns[-1].append(word)
        else:
            turns.append([word])
    utterances = []
    for turn in turns:
        utterance: dict[str, Any] = {
            "confidence": _mean([word["confidence"] for word in turn]),
            "start": turn[0]["start"],
            "end": turn[-1]["end"],
            "text": " ".join(word["text"] for word in turn),
            "words": turn,
            "speaker": turn[0]["speaker"],
        }
        if "channel" in turn[0]:
            utterance["channel"] = turn[0]["channel"]
        utterances.append(utterance)
    return utterances


def _word(
    word: HeardWord, fields: dict[str, Any], speaker: str | None, channel: str | None
) -> dict[str, Any]:
    text = word.token
    if not fields.get("punctuate", True):
        text = word.bare
    elif not fields.get("format_text", True):
        text = text.lower()
    item: dict[str, Any] = {
        "text": text,
        "start": round(word.start * 1000),
        "end": round(word.end * 1000),
        "confidence": word.confidence,
        "speaker": speaker,
    }
    if channel is not None:
        item["channel"] = channel
    return item


def _channel(line: HeardLine, facts: AudioFacts) -> str:
    """The line's channel as the API numbers them ("1" = left); mono audio has only "1"."""
    return str(line.channel + 1) if line.channel < facts.channels else "1"


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 4) if values else None
