"""What the fake speech providers share: a real HTTP server in a thread, faults, a request log,
and the scripts that tell a fake what it "hears" in each audio file (by SHA-256).

A fake cannot recognise speech, so a test registers what an audio file says (the lines
a render put in it, with their times); the fake answers from that script the way the
real API answers. Audio it has no script for is answered as audio without speech.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid
import wave
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.support.audio import RenderedAudio

Handler = Callable[[Request, "ReceivedBody"], Awaitable[Response]]

_START_TIMEOUT_S = 10.0
# Leading bytes of the containers the providers accept (wav, mp3, ogg, flac, m4a/mp4, webm).
_AUDIO_MAGIC = (b"RIFF", b"ID3", b"OggS", b"fLaC", b"\x1a\x45\xdf\xa3")
_MP3_SYNC = 0xFFE0
# What a fake keeps of a word: letters, digits and apostrophes ("it's"), for Deepgram's bare words.
_NOT_WORD = re.compile(r"[^\w']+")


@dataclass(frozen=True)
class HeardLine:
    """One line a fake provider "hears": who said it (any label), what, when, on which channel."""

    speaker: str
    text: str
    start: float
    end: float
    channel: int = 0


@dataclass(frozen=True)
class HeardWord:
    """One word of a heard line, as written in the script (with punctuation), timed and scored."""

    token: str
    start: float
    end: float
    confidence: float

    @property
    def bare(self) -> str:
        """The word without punctuation, lower case (as an unformatted transcript has it)."""
        return _NOT_WORD.sub("", self.token).lower()


class RecordingSleep:
    """Stands in for asyncio.sleep: records every wait asked for and returns at once."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        """Records the wait and only yields to the event loop."""
        self.delays.append(seconds)
        await asyncio.sleep(0)


def heard_lines(rendered: RenderedAudio) -> tuple[HeardLine, ...]:
    """What a rendered call says: on stereo the agent is on the left channel (0), as rendered."""
    return tuple(
        HeardLine(
            speaker=turn.party,
            text=turn.text,
            start=turn.start,
            end=turn.end,
            channel=1 if rendered.channels == 2 and turn.party == "CUSTOMER" else 0,
        )
        for turn in rendered.turns
    )


def words_of(line: HeardLine) -> tuple[HeardWord, ...]:
    """The line's words spread over its time by their length (a space's worth of pause between
    two words), each with a stable score; the first starts and the last ends with the line."""
    tokens = line.text.split()
    units = sum(len(token) for token in tokens) + max(len(tokens) - 1, 0)
    per_unit = (line.end - line.start) / (units or 1)
    words: list[HeardWord] = []
    offset = 0
    for token in tokens:
        start = line.start + per_unit * offset
        offset += len(token)
        end = line.start + per_unit * offset
        offset += 1
        words.append(HeardWord(token, round(start, 3), round(end, 3), _confidence(token)))
    return tuple(words)


def labels_in_order(lines: Sequence[HeardLine]) -> dict[str, int]:
    """Each speaker's index in order of first appearance (the first voice heard is 0)."""
    order: dict[str, int] = {}
    for line in sorted(lines, key=lambda heard: heard.start):
        order.setdefault(line.speaker, len(order))
    return order


@dataclass(frozen=True)
class Fault:
    """A programmed misbehaviour: wait hang_s, then answer status (with the API's error body).

    status None answers normally after the wait; message replaces the API's usual error
    text. path limits the fault to requests whose path starts with it; None matches any.
    """

    status: int | None = None
    retry_after: str | None = None
    hang_s: float = 0.0
    path: str | None = None
    message: str | None = None


@dataclass(frozen=True)
class RecordedRequest:
    """A request the fake received; the Authorization header is kept only as its scheme."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    auth_scheme: str
    authorized: bool
    body_size: int
    body_sha256: str
    json: Any = None


@dataclass(frozen=True)
class ReceivedBody:
    """A request body, streamed to a file in the fake's folder."""

    path: Path
    size: int
    sha256: str

    def json(self) -> Any:
        """The body parsed as JSON; ValueError when it is not."""
        return json.loads(self.path.read_bytes() or b"null")


@dataclass(frozen=True)
class AudioFacts:
    """What a fake can tell about an audio file without recognising it."""

    channels: int
    duration: float


def audio_facts(path: Path) -> AudioFacts | None:
    """Channels and duration of an audio file; None when the bytes are not a known audio format."""
    with path.open("rb") as file:
        head = file.read(16)
    if not _looks_like_audio(head):
        return None
    if head.startswith(b"RIFF"):
        try:
            with wave.open(str(path), "rb") as reader:
                return AudioFacts(
                    reader.getnchannels(), reader.getnframes() / reader.getframerate()
                )
        except (wave.Error, EOFError):
            pass
    return _probe(path)


@dataclass
class _State:
    """What the fake's server thread and the test share, behind one lock."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    scripts: dict[str, tuple[HeardLine, ...]] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    requests: list[RecordedRequest] = field(default_factory=list)
    # An outage: every matching request answers this fault until the monotonic deadline.
    outage: tuple[float, Fault] | None = None


class FakeProviderServer:
    """A fake provider API served by uvicorn on 127.0.0.1 (a free port) in a background thread.

    Subclasses give the routes, the auth check and the API's error bodies. Use it as a
    context manager (or start()/stop()); base_url is known once started.
    """

    def __init__(self, api_key: str) -> None:
        self.api_key = api_key
        self._state = _State()
        self._stopping = threading.Event()
        self._folder: Path | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._base_url = ""

    # --- lifecycle -------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """Where the fake listens, e.g. http://127.0.0.1:40123 (no trailing slash)."""
        if not self._base_url:
            raise RuntimeError("the fake server is not started")
        return self._base_url

    def start(self) -> Self:
        """Binds a free port and serves until stop(); returns self."""
        self._folder = Path(tempfile.mkdtemp(prefix="callscope-fake-provider-"))
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        app = Starlette(routes=self._routes())
        config = uvicorn.Config(
            app, log_config=None, access_log=False, lifespan="off", timeout_graceful_shutdown=2
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + _START_TIMEOUT_S
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"{type(self).__name__} did not start")
            time.sleep(0.01)
        self._base_url = f"http://127.0.0.1:{port}"
        return self

    def stop(self) -> None:
        """Releases hanging requests, stops the server and deletes what it received."""
        self._stopping.set()
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=_START_TIMEOUT_S)
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
        self._server, self._thread, self._folder = None, None, None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()

    # --- what tests program and read -------------------------------------------------------

    def register(self, audio: Path | bytes, lines: Sequence[HeardLine]) -> str:
        """Tells the fake what the audio (a file or its bytes) says; returns its SHA-256."""
        data = audio.read_bytes() if isinstance(audio, Path) else audio
        digest = hashlib.sha256(data).hexdigest()
        with self._state.lock:
            self._state.scripts[digest] = tuple(lines)
        return digest

    def register_rendered(self, rendered: RenderedAudio) -> str:
        """Registers a rendered call with the lines (and channels) it was rendered from."""
        return self.register(rendered.path, heard_lines(rendered))

    def inject(self, fault: Fault, count: int = 1) -> None:
        """Queues the fault for the next count matching requests (in order, after earlier ones)."""
        with self._state.lock:
            self._state.faults.extend([fault] * count)

    def fail_next(
        self, count: int, status: int, *, retry_after: str | None = None, path: str | None = None
    ) -> None:
        """The next count requests (to path, if given) answer status with the API's error body."""
        self.inject(Fault(status=status, retry_after=retry_after, path=path), count)

    def hang_next(self, count: int, seconds: float, *, path: str | None = None) -> None:
        """The next count requests (to path, if given) wait seconds before answering."""
        self.inject(Fault(hang_s=seconds, path=path), count)

    def fail_for(self, seconds: float, status: int, *, path: str | None = None) -> None:
        """Every request (to path, if given) answers status for the next seconds: an outage,
        however many requests arrive meanwhile. Queued faults wait until it is over."""
        with self._state.lock:
            self._state.outage = (time.monotonic() + seconds, Fault(status=status, path=path))

    def requests(self, path: str | None = None) -> list[RecordedRequest]:
        """The requests received so far (to path, if given), oldest first."""
        with self._state.lock:
            return [r for r in self._state.requests if path is None or r.path == path]

    def reset(self) -> None:
        """Forgets queued faults, an outage and recorded requests; registered scripts stay."""
        with self._state.lock:
            self._state.faults.clear()
            self._state.requests.clear()
            self._state.outage = None

    # --- for subclasses --------------------------------------------------------------------

    def _routes(self) -> list[Route]:
        raise NotImplementedError

    def _auth_scheme(self, authorization: str) -> tuple[str, bool]:
        """The scheme the header used (for the log) and whether it carries this fake's key."""
        raise NotImplementedError

    def _error(self, status: int, message: str | None = None) -> JSONResponse:
        """The API's documented error answer for status."""
        raise NotImplementedError

    def _script(self, sha256: str) -> tuple[HeardLine, ...] | None:
        with self._state.lock:
            return self._state.scripts.get(sha256)

    def _received_folder(self) -> Path:
        if self._folder is None:
            raise RuntimeError("the fake server is not started")
        return self._folder

    def _route(self, path: str, method: str, handler: Handler) -> Route:
        """A route that logs the request, applies any queued fault, checks auth, then answers."""

        async def endpoint(request: Request) -> Response:
            # The body is always read first: answering before it is sent would reset an upload.
            body = await _receive(request, self._received_folder())
            scheme, authorized = self._auth_scheme(request.headers.get("authorization", ""))
            self._record(request, body, scheme, authorized)
            fault = self._take_fault(request.url.path)
            if fault is not None:
                await self._pause(fault.hang_s)
                if fault.status is not None:
                    response = self._error(fault.status, fault.message)
                    if fault.retry_after is not None:
                        response.headers["Retry-After"] = fault.retry_after
                    return response
            if not authorized:
                return self._error(401)
            return await handler(request, body)

        return Route(path, endpoint, methods=[method])

    def _record(self, request: Request, body: ReceivedBody, scheme: str, authorized: bool) -> None:
        parsed: Any = None
        if "json" in request.headers.get("content-type", ""):
            try:
                parsed = body.json()
            except ValueError:
                parsed = None
        headers = {k: v for k, v in request.headers.items() if k.lower() != "authorization"}
        recorded = RecordedRequest(
            method=request.method,
            path=request.url.path,
            query=dict(request.query_params),
            headers=headers,
            auth_scheme=scheme,
            authorized=authorized,
            body_size=body.size,
            body_sha256=body.sha256,
            json=parsed,
        )
        with self._state.lock:
            self._state.requests.append(recorded)

    def _take_fault(self, path: str) -> Fault | None:
        with self._state.lock:
            outage = self._state.outage
            if (
                outage is not None
                and time.monotonic() < outage[0]
                and (outage[1].path is None or path.startswith(outage[1].path))
            ):
                return outage[1]
            for index, fault in enumerate(self._state.faults):
                if fault.path is None or path.startswith(fault.path):
                    return self._state.faults.pop(index)
        return None

    async def _pause(self, seconds: float) -> None:
        """Waits seconds, or less when the fake is stopping (so stop() never waits on a hang)."""
        if seconds > 0:
            await asyncio.to_thread(self._stopping.wait, seconds)


async def _receive(request: Request, folder: Path) -> ReceivedBody:
    """Streams the request body to a file, hashing and counting it on the way."""
    path = folder / uuid.uuid4().hex
    digest = hashlib.sha256()
    size = 0
    with path.open("wb") as file:
        async for chunk in request.stream():
            digest.update(chunk)
            size += len(chunk)
            file.write(chunk)
    return ReceivedBody(path, size, digest.hexdigest())


def _looks_like_audio(head: bytes) -> bool:
    if head.startswith(_AUDIO_MAGIC) or head[4:8] == b"ftyp":
        return True
    # A bare MPEG audio frame starts with 11 set sync bits.
    return len(head) >= 2 and (int.from_bytes(head[:2], "big") & _MP3_SYNC) == _MP3_SYNC


def _probe(path: Path) -> AudioFacts | None:
    """Channels and duration from ffprobe, for containers the wave module does not read."""
    if shutil.which("ffprobe") is None:
        return AudioFacts(1, 0.0)
    result = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-show_entries",
            "stream=channels:format=duration",
            "-of",
            "json",
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    if result.returncode != 0:
        return None
    facts = json.loads(result.stdout or "{}")
    streams = [s for s in facts.get("streams", []) if s.get("channels")]
    if not streams:
        return None
    duration = float(facts.get("format", {}).get("duration") or 0.0)
    return AudioFacts(int(streams[0]["channels"]), duration)


def _confidence(token: str) -> float:
    """A stable, word-dependent score between 0.80 and 0.99."""
    return round(0.80 + hashlib.sha256(token.encode()).digest()[0] / 255 * 0.19, 4)
