"""A campaign with auto-processing off holds new calls in PENDING until they are processed."""

from __future__ import annotations

from pathlib import Path

import httpx
from callscope_gateway.adapters.mongo import MongoDirectory
from callscope_gateway.domain.api_keys import generate_api_key
from callscope_gateway.domain.default_checks import DEFAULT_CHECKS

from tests.e2e.conftest import wait_until_done
from tests.support.audio import render_stereo
from tests.support.scripts import COMPLIANT
from tests.support.services import RunningServices
from tests.support.stores import StoreInspector


async def test_held_call_is_processed_on_request_and_only_once(
    api: httpx.AsyncClient, services: RunningServices, stores: StoreInspector, tmp_path: Path
) -> None:
    directory = MongoDirectory(stores.mongo[services.database])
    org_id = services.credentials["org_id"]
    campaign_id = await directory.create_campaign(org_id, "Manual", 70.0, DEFAULT_CHECKS)
    await directory.set_auto_processing(org_id, campaign_id, enabled=False)
    key = generate_api_key()
    await directory.store_api_key(org_id, campaign_id, key)
    headers = {"X-API-Key": key.raw}
    audio = render_stereo(COMPLIANT.dialogue, tmp_path / "manual.wav").path

    with audio.open("rb") as handle:
        response = await api.post(
            "/api/v1/calls/upload", headers=headers, files={"file": ("manual.wav", handle)}
        )
    assert response.status_code == 201, response.text
    call_id = response.json()["id"]
    held = (await api.get(f"/api/v1/calls/{call_id}", headers=headers)).json()
    assert (held["status"], held["queued"]) == ("PENDING", False)
    assert await stores.count("transcripts", {"call_id": call_id}) == 0

    processed = await api.post(f"/api/v1/calls/{call_id}/process", headers=headers)
    assert processed.status_code == 202, processed.text
    assert processed.json()["queued"] is True
    again = await api.post(f"/api/v1/calls/{call_id}/process", headers=headers)
    assert again.status_code == 409, again.text
    assert again.json()["error"]["code"] == "not_processable"

    done = await wait_until_done(api, key.raw, call_id)
    assert done["status"] == "COMPLETED" and done["score"] == 100.0
    late = await api.post(f"/api/v1/calls/{call_id}/process", headers=headers)
    assert late.status_code == 409
    assert "completed" in late.json()["error"]["message"]
    other_campaign = await api.post(
        f"/api/v1/calls/{call_id}/process", headers={"X-API-Key": services.api_key}
    )
    assert other_campaign.status_code == 404
