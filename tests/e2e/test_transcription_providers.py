"""Per-campaign transcription through the whole stack: the provider and the speaker roles.

The hosted providers are their local stand-ins (tests/support/fake_*.py) reached through
the transcription service's real HTTP clients; what they "hear" is the script each test
registers for the exact bytes it uploads, so the stored transcript can be compared word
for word. Faults are queued on the stand-ins just before the upload that should meet them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from callscope_gateway.adapters.mongo import MongoDirectory
from callscope_gateway.domain.api_keys import generate_api_key
from callscope_gateway.domain.default_checks import DEFAULT_CHECKS

from tests.conftest import HostedProviders
from tests.e2e.conftest import wait_until_done
from tests.support.audio import RenderedAudio, render_mono, render_stereo
from tests.support.people import Person
from tests.support.scripts import COMPLIANT
from tests.support.services import RunningServices

Campaign = dict[str, str]


async def _campaign(
    api: httpx.AsyncClient, directory: MongoDirectory, owner: Person, **settings: str
) -> Campaign:
    """A campaign of the demo organisation with these transcription settings and its key."""
    campaign_id = await directory.create_campaign(
        owner.org_id, f"Transcription {settings}", 70.0, DEFAULT_CHECKS
    )
    response = await api.patch(
        f"/api/v1/campaigns/{campaign_id}", headers=owner.headers, json=settings
    )
    assert response.status_code == 200, response.text
    key = generate_api_key()
    await directory.store_api_key(owner.org_id, campaign_id, key)
    return {"id": campaign_id, "key": key.raw}


async def _transcribe(
    api: httpx.AsyncClient, campaign: Campaign, audio: Path
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Uploads a call and waits for it; the finished call and its transcript (if any)."""
    headers = {"X-API-Key": campaign["key"]}
    with audio.open("rb") as handle:
        response = await api.post(
            "/api/v1/calls/upload", headers=headers, files={"file": (audio.name, handle)}
        )
    assert response.status_code == 201, response.text
    call = await wait_until_done(api, campaign["key"], response.json()["id"])
    transcript = await api.get(f"/api/v1/calls/{call['id']}/transcript", headers=headers)
    return call, transcript.json() if transcript.status_code == 200 else None


def _lines(transcript: dict[str, Any]) -> list[tuple[str, str]]:
    return [(segment["speaker"], segment["text"]) for segment in transcript["segments"]]


def _script(rendered: RenderedAudio) -> list[tuple[str, str]]:
    return [(turn.party, turn.text) for turn in rendered.turns]


@pytest.fixture(scope="module")
def stereo_call(tmp_path_factory: pytest.TempPathFactory) -> RenderedAudio:
    return render_stereo(COMPLIANT.dialogue, tmp_path_factory.mktemp("tp") / "stereo.wav")


@pytest.fixture(scope="module")
def mono_call(tmp_path_factory: pytest.TempPathFactory) -> RenderedAudio:
    return render_mono(COMPLIANT.dialogue, tmp_path_factory.mktemp("tp") / "mono.wav")


async def test_a_deepgram_campaign_is_transcribed_by_deepgram_with_channels_as_parties(
    api: httpx.AsyncClient,
    directory: MongoDirectory,
    owner: Person,
    hosted_providers: HostedProviders,
    stereo_call: RenderedAudio,
) -> None:
    deepgram = hosted_providers.deepgram
    digest = deepgram.register_rendered(stereo_call)
    campaign = await _campaign(api, directory, owner, transcription_provider="deepgram")

    call, transcript = await _transcribe(api, campaign, stereo_call.path)

    assert call["status"] == "COMPLETED", call
    assert transcript is not None
    assert (transcript["provider"], transcript["model"]) == ("deepgram", "nova-3")
    assert _lines(transcript) == _script(stereo_call)
    assert transcript["speaker_roles"]["source"] == "channel"
    assert not transcript["speaker_roles"]["needs_review"]
    assert transcript["settings"]["layout"] == "stereo"
    (sent,) = [r for r in deepgram.requests("/v1/listen") if r.body_sha256 == digest]
    assert sent.query["multichannel"] == "true" and sent.authorized
    assert sent.body_size == stereo_call.path.stat().st_size


async def test_an_assemblyai_campaign_rides_out_a_429_and_splits_mono_voices(
    api: httpx.AsyncClient,
    directory: MongoDirectory,
    owner: Person,
    hosted_providers: HostedProviders,
    mono_call: RenderedAudio,
) -> None:
    assemblyai = hosted_providers.assemblyai
    digest = assemblyai.register_rendered(mono_call)
    campaign = await _campaign(
        api, directory, owner, transcription_provider="assemblyai", company_name="City Energy"
    )
    assemblyai.fail_next(1, 429, retry_after="1", path="/v2/upload")

    call, transcript = await _transcribe(api, campaign, mono_call.path)

    assert call["status"] == "COMPLETED", call
    assert transcript is not None
    assert transcript["provider"] == "assemblyai"
    # Voices told apart by the provider; the greeting with the company name makes the
    # first voice the agent with confidence.
    assert _lines(transcript) == _script(mono_call)
    roles = transcript["speaker_roles"]
    assert roles["source"] == "voices" and not roles["needs_review"]
    assert any("greeted with the company name" in line for line in roles["evidence"])
    uploads = [r for r in assemblyai.requests("/v2/upload") if r.body_sha256 == digest]
    # One upload refused with 429 and Retry-After, then the retry.
    assert len(uploads) == 2
    submitted = [
        r.json for r in assemblyai.requests("/v2/transcript") if r.method == "POST" and r.json
    ]
    assert any(body.get("speaker_labels") is True for body in submitted)


async def test_a_rejected_key_fails_the_call_with_a_reason_to_act_on(
    api: httpx.AsyncClient,
    directory: MongoDirectory,
    owner: Person,
    hosted_providers: HostedProviders,
    stereo_call: RenderedAudio,
    tmp_path: Path,
) -> None:
    audio = render_stereo(COMPLIANT.dialogue, tmp_path / "rejected.wav", pause_s=0.6)
    hosted_providers.deepgram.register_rendered(audio)
    campaign = await _campaign(api, directory, owner, transcription_provider="deepgram")
    hosted_providers.deepgram.fail_next(1, 401, path="/v1/listen")

    call, transcript = await _transcribe(api, campaign, audio.path)

    assert call["status"] == "FAILED", call
    assert transcript is None
    reason = call["failure"]["reason"]
    assert "Deepgram rejected the API key" in reason
    assert hosted_providers.deepgram.api_key not in reason
    assert "Traceback" not in reason


async def test_a_provider_that_stays_down_fails_the_call_after_its_retries(
    api: httpx.AsyncClient,
    directory: MongoDirectory,
    owner: Person,
    hosted_providers: HostedProviders,
    tmp_path: Path,
    services: RunningServices,
) -> None:
    audio = render_stereo(COMPLIANT.dialogue, tmp_path / "down.wav", pause_s=0.7)
    digest = hosted_providers.deepgram.register_rendered(audio)
    campaign = await _campaign(api, directory, owner, transcription_provider="deepgram")
    hosted_providers.deepgram.fail_next(5, 503, path="/v1/listen")

    call, _ = await _transcribe(api, campaign, audio.path)

    assert call["status"] == "FAILED", call
    assert call["failure"]["reason"].startswith("Deepgram is unavailable (HTTP 503 after 5")
    assert "switch" in call["failure"]["reason"]
    sent = [r for r in hosted_providers.deepgram.requests("/v1/listen") if r.body_sha256 == digest]
    assert len(sent) == 5


async def test_a_campaign_wired_the_other_way_round_is_caught_by_what_was_said(
    api: httpx.AsyncClient,
    directory: MongoDirectory,
    owner: Person,
    stereo_call: RenderedAudio,
) -> None:
    campaign = await _campaign(
        api, directory, owner, agent_channel="right", company_name="City Energy"
    )

    call, transcript = await _transcribe(api, campaign, stereo_call.path)

    assert call["status"] == "COMPLETED", call
    assert transcript is not None and transcript["provider"] == "local"
    roles = transcript["speaker_roles"]
    # The left channel greets with the company name and asks for the date of birth: it is
    # the agent whatever the setting says, and a reviewer is asked to confirm.
    assert roles["needs_review"] is True
    assert any("overrules the campaign's agent channel" in line for line in roles["evidence"])
    first = transcript["segments"][0]
    assert first["speaker"] == "AGENT" and "City Energy" in first["text"]
    assert transcript["settings"]["agent_channel"] == "right"
    # The doubt reaches the review queue as a flag on the call.
    assert call["flagged"] is True
    assert (
        "agent and customer may be swapped: confirm the speakers or swap them"
        in call["flag_reasons"]
    )
