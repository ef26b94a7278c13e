"""Bad keys and bad files get a clear 4xx and leave nothing behind."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import E2E_MAX_UPLOAD_BYTES
from tests.support.audio import convert, render_noise, render_silence
from tests.support.polling import wait_for
from tests.support.services import RunningServices
from tests.support.stores import StoreInspector


async def snapshot(stores: StoreInspector) -> tuple[int, list[str]]:
    return await stores.count("calls"), sorted(await stores.object_keys())


async def upload(api: httpx.AsyncClient, key: str | None, path: Path, name: str) -> httpx.Response:
    headers = {"X-API-Key": key} if key is not None else {}
    with path.open("rb") as handle:
        return await api.post(
            "/api/v1/calls/upload", headers=headers, files={"file": (name, handle)}
        )


async def test_missing_or_wrong_api_key_is_401_and_creates_nothing(
    api: httpx.AsyncClient, stores: StoreInspector, tmp_path: Path
) -> None:
    audio = render_silence(tmp_path / "quiet.wav", 12.0)
    before = await snapshot(stores)
    for key in (None, "", "tv_not-a-real-key-000000000000", "sk_live_123"):
        response = await upload(api, key, audio, "quiet.wav")
        assert response.status_code == 401, response.text
        expected = "not_authenticated" if key is None else "invalid_api_key"
        assert response.json()["error"]["code"] == expected
        assert "X-API-Key" in response.json()["error"]["message"]
    assert await snapshot(stores) == before


async def test_fake_audio_is_415_and_creates_nothing(
    api: httpx.AsyncClient, services: RunningServices, stores: StoreInspector, tmp_path: Path
) -> None:
    fake = tmp_path / "recording.mp3"
    fake.write_text("this is a text file pretending to be an mp3\n" * 50)
    before = await snapshot(stores)
    response = await upload(api, services.api_key, fake, "recording.mp3")
    assert response.status_code == 415, response.text
    error = response.json()["error"]
    assert error["code"] == "unsupported_format"
    assert "MP3, WAV" in error["message"]
    assert await snapshot(stores) == before


async def test_empty_and_too_short_files_are_refused_and_create_nothing(
    api: httpx.AsyncClient, services: RunningServices, stores: StoreInspector, tmp_path: Path
) -> None:
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    short = convert(render_silence(tmp_path / "short.wav", 3.0), "mp3")
    before = await snapshot(stores)
    response = await upload(api, services.api_key, empty, "empty.wav")
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "empty_file"
    response = await upload(api, services.api_key, short, "short.mp3")
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "too_short"
    assert "at least 10 s" in response.json()["error"]["message"]
    assert await snapshot(stores) == before


async def test_request_without_a_file_is_400(
    api: httpx.AsyncClient, services: RunningServices
) -> None:
    response = await api.post(
        "/api/v1/calls/upload",
        headers={"X-API-Key": services.api_key},
        data={"agent_code": "JS001"},
        files={"other": ("", b"")},
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "missing_file"
    response = await api.post(
        "/api/v1/calls/upload",
        headers={"X-API-Key": services.api_key, "Content-Type": "application/json"},
        content=b"{}",
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_form"


async def test_unknown_call_ids_are_404(api: httpx.AsyncClient, services: RunningServices) -> None:
    for path in (
        "/api/v1/calls/nope",
        "/api/v1/calls/nope/transcript",
        "/api/v1/calls/nope/analysis",
    ):
        response = await api.get(path, headers={"X-API-Key": services.api_key})
        assert response.status_code == 404, response.text
        assert response.json()["error"]["code"] == "not_found"


async def test_unknown_routes_and_bad_parameters_use_the_error_shape(
    api: httpx.AsyncClient, services: RunningServices
) -> None:
    response = await api.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    response = await api.get(
        "/api/v1/calls/some-id/transcript?version=latest",
        headers={"X-API-Key": services.api_key},
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_request"
    assert "version" in response.json()["error"]["message"]
    response = await api.get(
        "/api/v1/calls/some-id/analysis?version=-1", headers={"X-API-Key": services.api_key}
    )
    assert response.status_code == 422


def curl_status(services: RunningServices, path: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    """Uploads with curl (which stops sending when the server answers early)."""
    output = subprocess.run(
        [
            "curl",
            "-sS",
            "-X",
            "POST",
            f"{services.gateway_url}/api/v1/calls/upload",
            "-H",
            f"X-API-Key: {services.api_key}",
            *extra,
            "-F",
            f"file=@{path}",
            "-w",
            "\n%{http_code}",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    body, status = output.rsplit("\n", 1)
    return int(status), json.loads(body)


@pytest.mark.parametrize(
    "transfer",
    [
        pytest.param((), id="declared-size-refused-before-the-file"),
        pytest.param(("-H", "Transfer-Encoding: chunked"), id="streamed-size-cut-off-mid-file"),
    ],
)
async def test_oversized_upload_is_cut_off_with_413_and_leaves_nothing(
    services: RunningServices,
    stores: StoreInspector,
    tmp_path: Path,
    transfer: tuple[str, ...],
) -> None:
    # Four minutes of stereo noise is ~15 MB of WAV, over the 8 MiB limit of the e2e run.
    big = render_noise(tmp_path / "big.wav", 240.0, channels=2)
    assert big.stat().st_size > E2E_MAX_UPLOAD_BYTES
    before = await snapshot(stores)
    status, body = curl_status(services, big, *transfer)
    assert status == 413, body
    assert body["error"]["code"] == "file_too_large"
    assert "8 MB limit" in body["error"]["message"]
    assert await snapshot(stores) == before
    assert list((services.log_dir / "spool").iterdir()) == []


async def test_client_that_disconnects_mid_upload_leaves_nothing(
    services: RunningServices, stores: StoreInspector, tmp_path: Path
) -> None:
    audio = render_noise(tmp_path / "call.wav", 60.0, channels=2)
    payload = audio.read_bytes()
    boundary = "cutoff-boundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="call.wav"\r\n'
        "Content-Type: audio/wav\r\n\r\n"
    ).encode()
    length = len(head) + len(payload) + len(f"\r\n--{boundary}--\r\n")
    before = await snapshot(stores)
    reader, writer = await asyncio.open_connection("127.0.0.1", services.http_port)
    writer.write(
        (
            "POST /api/v1/calls/upload HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"X-API-Key: {services.api_key}\r\n"
            f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
            f"Content-Length: {length}\r\n\r\n"
        ).encode()
        + head
        + payload[: len(payload) // 2]
    )
    await writer.drain()
    spool = services.log_dir / "spool"
    await wait_for(
        lambda: asyncio.sleep(0, any(spool.iterdir())),
        timeout_s=30,
        describe="ingest to start receiving the upload",
    )
    writer.close()  # the client goes away halfway through the file
    await writer.wait_closed()
    await wait_for(
        lambda: asyncio.sleep(0, not any(spool.iterdir())),
        timeout_s=30,
        describe="ingest to discard the partial upload",
    )
    assert await snapshot(stores) == before
    del reader
