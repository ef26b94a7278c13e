"""One call flows upload → transcript → score through all five services on the real servers."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from callscope_gateway.adapters.mongo import MongoDirectory
from callscope_gateway.domain.api_keys import generate_api_key

from tests.support.scripts import COMPLIANT, NO_GREETING, NO_VERIFICATION, LabelledScript
from tests.support.services import RunningServices
from tests.support.stores import StoreInspector
from tests.support.wer import wer

# Measured on these generated calls with tiny.en (docs/testing.md): COMPLIANT stereo
# 0.0 % (agent) and 11.1 % (customer: 18 words, so two errors), NO_VERIFICATION mono
# 1.1 %. The limits leave a little headroom, not room for regressions.
MAX_STEREO_WER = 0.15
MAX_MONO_WER = 0.08


async def fetch(api: httpx.AsyncClient, key: str, path: str) -> dict[str, Any]:
    response = await api.get(path, headers={"X-API-Key": key})
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def spoken_by(transcript: dict[str, Any], speaker: str) -> str:
    return " ".join(s["text"] for s in transcript["segments"] if s["speaker"] == speaker)


def assert_checks_match_script(analysis: dict[str, Any], script: LabelledScript) -> None:
    answers = {result["check_id"]: result["passed"] for result in analysis["results"]}
    assert answers == dict(script.expected), script.name
    for result in analysis["results"]:
        if result["passed"]:
            assert result["evidence"]["quote"], result
            assert result["evidence"]["start"] >= 0
        assert result["reasoning"]


async def test_stereo_call_completes_with_transcript_speakers_and_score(
    api: httpx.AsyncClient, services: RunningServices, uploaded: dict[str, dict[str, Any]]
) -> None:
    call = uploaded["compliant"]
    assert call["status"] == "COMPLETED", call
    assert call["source"] == "API"
    assert call["file_name"] == "compliant.mp3"
    assert call["metadata"] == {
        "agent_code": "JS001",
        "call_type": "OUTBOUND",
        "call_date": "2026-01-15",
    }
    assert call["channels"] == 2
    transcript = await fetch(api, services.api_key, f"/api/v1/calls/{call['id']}/transcript")
    assert transcript["version"] == 1
    assert {s["speaker"] for s in transcript["segments"]} == {"AGENT", "CUSTOMER"}
    agent_wer = wer(COMPLIANT.dialogue.reference_text("AGENT"), spoken_by(transcript, "AGENT"))
    customer_wer = wer(
        COMPLIANT.dialogue.reference_text("CUSTOMER"), spoken_by(transcript, "CUSTOMER")
    )
    assert agent_wer <= MAX_STEREO_WER, agent_wer
    assert customer_wer <= MAX_STEREO_WER, customer_wer
    words = [word for segment in transcript["segments"] for word in segment["words"]]
    assert words and all(w["end"] >= w["start"] >= 0 for w in words)
    analysis = await fetch(api, services.api_key, f"/api/v1/calls/{call['id']}/analysis")
    assert_checks_match_script(analysis, COMPLIANT)
    assert analysis["score"] == call["score"] == 100.0
    # Beside the checks: who talked how much, from the same transcript's word times.
    conversation = analysis["conversation"]
    talk = {party["speaker"]: party for party in conversation["talk"]}
    assert set(talk) == {"AGENT", "CUSTOMER"}
    assert talk["AGENT"]["share"] > talk["CUSTOMER"]["share"]
    assert talk["AGENT"]["share"] + talk["CUSTOMER"]["share"] == pytest.approx(1.0, abs=0.002)
    assert talk["AGENT"]["words"] == sum(
        len(s["words"]) for s in transcript["segments"] if s["speaker"] == "AGENT"
    )
    assert all(60 < party["words_per_minute"] < 300 for party in talk.values())
    assert 0 < conversation["longest_silence_seconds"] < 5
    assert conversation["interruptions"] == 0
    assert call["flagged"] is False and call["flag_reasons"] == []


async def test_script_without_greeting_fails_the_greeting_check(
    api: httpx.AsyncClient, services: RunningServices, uploaded: dict[str, dict[str, Any]]
) -> None:
    call = uploaded["no_greeting"]
    assert call["status"] == "COMPLETED", call
    assert call["metadata"] == {"agent_name": "Jane Doe", "client_reference": "CRM-98765"}
    analysis = await fetch(api, services.api_key, f"/api/v1/calls/{call['id']}/analysis")
    assert_checks_match_script(analysis, NO_GREETING)
    greeting = next(r for r in analysis["results"] if r["check_id"] == "greeting")
    assert greeting["answer"] == "NO"
    assert call["score"] == analysis["score"] < 100.0


async def test_mono_call_without_verification_is_flagged_as_critical(
    api: httpx.AsyncClient, services: RunningServices, uploaded: dict[str, dict[str, Any]]
) -> None:
    call = uploaded["no_verification"]
    assert call["status"] == "COMPLETED", call
    assert call["channels"] == 1
    transcript = await fetch(api, services.api_key, f"/api/v1/calls/{call['id']}/transcript")
    assert {s["speaker"] for s in transcript["segments"]} == {"UNKNOWN"}
    text = " ".join(s["text"] for s in transcript["segments"])
    assert wer(NO_VERIFICATION.dialogue.reference_text(), text) <= MAX_MONO_WER
    analysis = await fetch(api, services.api_key, f"/api/v1/calls/{call['id']}/analysis")
    assert_checks_match_script(analysis, NO_VERIFICATION)
    assert call["flagged"] is True
    assert any("critical" in reason.lower() for reason in call["flag_reasons"])


async def test_each_stage_wrote_exactly_one_version(
    stores: StoreInspector, uploaded: dict[str, dict[str, Any]]
) -> None:
    for call in uploaded.values():
        assert await stores.count("transcripts", {"call_id": call["id"]}) == 1
        assert await stores.count("analyses", {"call_id": call["id"]}) == 1
    keys = await stores.object_keys()
    for call in uploaded.values():
        assert sum(call["id"] in key for key in keys) == 1


async def test_another_organisations_key_cannot_see_the_call(
    api: httpx.AsyncClient,
    services: RunningServices,
    stores: StoreInspector,
    uploaded: dict[str, dict[str, Any]],
) -> None:
    directory = MongoDirectory(stores.mongo[services.database])
    org_id = await directory.create_org("Other Organisation", f"other-{services.database}")
    campaign_id = await directory.create_campaign(org_id, "Other", 70.0, ())
    key = generate_api_key()
    await directory.store_api_key(org_id, campaign_id, key)
    call_id = uploaded["compliant"]["id"]
    for suffix in ("", "/transcript", "/analysis"):
        response = await api.get(f"/api/v1/calls/{call_id}{suffix}", headers={"X-API-Key": key.raw})
        assert response.status_code == 404, response.text
        assert response.json()["error"]["code"] == "not_found"
    own = await api.get(f"/api/v1/calls/{call_id}", headers={"X-API-Key": services.api_key})
    assert own.status_code == 200


def test_every_stage_logs_structured_lines_carrying_the_call_id(
    services: RunningServices, uploaded: dict[str, dict[str, Any]]
) -> None:
    call_id = uploaded["compliant"]["id"]
    for service in ("ingest", "transcription", "analysis"):
        lines = (services.log_dir / f"{service}.log").read_text().splitlines()
        records = [json.loads(line) for line in lines if line.startswith("{")]
        mine = [record for record in records if record.get("call_id") == call_id]
        assert mine, f"{service} logged nothing about call {call_id}"
        assert all(record["service"] == service and record["level"] for record in mine)
