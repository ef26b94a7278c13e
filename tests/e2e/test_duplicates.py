"""Duplicate uploads through the API: 409 with the original's id, nothing processed again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from tests.support.audio import render_noise
from tests.support.services import RunningServices
from tests.support.stores import StoreInspector


async def post(
    api: httpx.AsyncClient, key: str, path: Path, name: str, fields: dict[str, str]
) -> httpx.Response:
    with path.open("rb") as handle:
        return await api.post(
            "/api/v1/calls/upload",
            headers={"X-API-Key": key},
            data=fields,
            files={"file": (name, handle, "audio/wav")},
        )


async def test_the_guides_duplicate_rules_answer_409_with_the_original(
    api: httpx.AsyncClient, services: RunningServices, stores: StoreInspector, tmp_path: Path
) -> None:
    first = render_noise(tmp_path / "first.wav", 15.0, seed=101)
    other = render_noise(tmp_path / "other.wav", 15.0, seed=102)
    original = await post(
        api, services.api_key, first, "call_JS001.wav", {"client_reference": "DUP-1"}
    )
    assert original.status_code == 201, original.text
    original_id = original.json()["id"]

    cases: list[tuple[Path, str, dict[str, str], str]] = [
        # same client reference, different audio and name
        (other, "something-else.wav", {"client_reference": "DUP-1"}, "client reference 'DUP-1'"),
        # the same file again without a client reference
        (first, "renamed.wav", {}, "identical audio"),
    ]
    for path, name, fields, reason in cases:
        response = await post(api, services.api_key, path, name, fields)
        assert response.status_code == 409, response.text
        body: dict[str, Any] = response.json()
        assert body["status"] == "DUPLICATE"
        assert body["error"]["code"] == "duplicate"
        assert body["error"]["original_call_id"] == original_id
        assert reason in body["error"]["message"]
        call = (
            await api.get(f"/api/v1/calls/{body['id']}", headers={"X-API-Key": services.api_key})
        ).json()
        assert call["status"] == "DUPLICATE"
        assert call["duplicate_of"] == original_id

    # The guide's advice: a new client reference makes an intentional re-upload.
    again = await post(
        api, services.api_key, first, "call_JS001.wav", {"client_reference": "DUP-2"}
    )
    assert again.status_code == 201, again.text

    keys = await stores.object_keys()
    assert sum(original_id in key for key in keys) == 1
    duplicates = await stores.count("calls", {"status": "DUPLICATE", "duplicate_of": original_id})
    assert duplicates == 2
