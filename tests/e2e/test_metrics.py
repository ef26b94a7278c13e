"""Every service's /metrics, scraped as Prometheus would, moves as one call goes through the
pipeline: the upload's HTTP and gRPC requests, ingest's upload outcome, both stages'
durations, the consumers' records, the calls by status and the consumer lag."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.e2e.conftest import wait_until_done
from tests.support.audio import render_stereo
from tests.support.polling import wait_for
from tests.support.scraped_metrics import Scrape
from tests.support.scripts import COMPLIANT
from tests.support.services import SERVICES, RunningServices

UPLOAD_ROUTE = "/api/v1/calls/upload"


async def _scrape_all(services: RunningServices) -> dict[str, Scrape]:
    scrapes = {}
    async with httpx.AsyncClient(timeout=10) as client:
        for service in SERVICES:
            answer = await client.get(services.metrics_url(service))
            assert answer.status_code == 200, f"{service}: {answer.status_code}"
            scrapes[service] = Scrape(answer.text)
    return scrapes


def _moved(
    before: dict[str, Scrape], after: dict[str, Scrape], process: str, name: str, **labels: str
) -> float:
    """How much a metric of one service's process moved between two scrapes."""
    return after[process].value(name, **labels) - before[process].value(name, **labels)


async def test_one_call_moves_every_services_metrics(
    api: httpx.AsyncClient, services: RunningServices, tmp_path: Path
) -> None:
    # A pause of its own makes these bytes unlike every other test's: not a duplicate.
    audio = render_stereo(COMPLIANT.dialogue, tmp_path / "metrics.wav", pause_s=0.62).path
    before = await _scrape_all(services)

    with audio.open("rb") as handle:
        response = await api.post(
            UPLOAD_ROUTE,
            headers={"X-API-Key": services.api_key},
            data={"agent_code": "JS001", "call_type": "OUTBOUND", "call_date": "2026-01-15"},
            files={"file": ("metrics.wav", handle, "audio/wav")},
        )
    assert response.status_code == 201, response.text
    call_id = response.json()["id"]
    call = await wait_until_done(api, services.api_key, call_id)
    assert call["status"] == "COMPLETED", call

    # Gauges are sampled every few seconds: wait until ingest's count and the lag show up.
    transcription_group = f"transcription-{services.database}"

    async def sampled() -> dict[str, Scrape] | None:
        scrapes = await _scrape_all(services)
        completed = scrapes["ingest"].value("callscope_calls", status="COMPLETED")
        lag_known = scrapes["transcription"].has(
            "callscope_consumer_lag", group=transcription_group, topic="calls.uploaded"
        )
        return scrapes if completed >= 1 and lag_known else None

    after = await wait_for(sampled, timeout_s=60, interval_s=1.0, describe="sampled gauges")

    # gateway: the upload under its route template; no id ever becomes a label.
    assert (
        _moved(
            before,
            after,
            "gateway",
            "callscope_http_requests_total",
            method="POST",
            route=UPLOAD_ROUTE,
            status="201",
        )
        == 1
    )
    routes = after["gateway"].label_values("callscope_http_requests_total", "route")
    assert "/api/v1/calls/{call_id}" in routes
    assert not [route for route in routes if call_id in route]
    # ingest: one accepted API upload, served by one UploadCall.
    assert (
        _moved(before, after, "ingest", "callscope_uploads_total", source="API", outcome="accepted")
        == 1
    )
    assert (
        _moved(
            before,
            after,
            "ingest",
            "callscope_grpc_server_requests_total",
            service="callscope.v1.Ingest",
            method="UploadCall",
            code="OK",
        )
        == 1
    )
    # Each stage ran at least once for it (a watchdog re-drive may add a run).
    for stage, service, topic in (
        ("transcription", "transcription", "calls.uploaded"),
        ("analysis", "analysis", "calls.transcribed"),
    ):
        assert (
            _moved(
                before, after, service, "callscope_stage_seconds_count", stage=stage, outcome="ok"
            )
            >= 1
        )
        assert (
            _moved(
                before,
                after,
                service,
                "callscope_consumer_records_total",
                topic=topic,
                outcome="handled",
            )
            >= 1
        )
    assert (
        _moved(
            before,
            after,
            "ingest",
            "callscope_consumer_records_total",
            topic="calls.analyzed",
            outcome="handled",
        )
        >= 1
    )
    # Nothing of this call went to a dead-letter topic, and those topics are measured.
    assert after["transcription"].has("callscope_dlq_depth", topic="calls.uploaded")
    assert not _moved(before, after, "transcription", "callscope_dlq_records_total")
    assert not _moved(before, after, "analysis", "callscope_dlq_records_total")
    # sftp serves its metrics too: at least the health checks it answered.
    assert after["sftp"].value(
        "callscope_grpc_server_requests_total", service="grpc.health.v1.Health", code="OK"
    )
