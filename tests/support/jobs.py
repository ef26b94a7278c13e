"""Helpers for jobs through the REST API: create, send files, wait, and make another campaign."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Any

import httpx
from callscope_gateway.adapters.mongo import MongoDirectory
from callscope_gateway.domain.api_keys import generate_api_key
from callscope_gateway.domain.default_checks import DEFAULT_CHECKS

from tests.support.polling import wait_for
from tests.support.services import RunningServices
from tests.support.stores import StoreInspector

JOB_TIMEOUT_S = 300
FINISHED = frozenset({"COMPLETED", "FAILED", "CANCELLED"})


def unique(name: str) -> str:
    """A file name no other test uses (duplicate rules compare names within a campaign)."""
    return f"{uuid.uuid4().hex[:8]}-{name}"


def bulk_form(
    csv: bytes | str, file_names: Iterable[str]
) -> tuple[dict[str, list[str]], dict[str, tuple[str, bytes, str]]]:
    """The multipart `data` and `files` of a bulk upload: the CSV and the selected names."""
    body = csv.encode() if isinstance(csv, str) else csv
    return {"file_name": list(file_names)}, {"csv": ("calls.csv", body, "text/csv")}


async def create_bulk_job(
    api: httpx.AsyncClient, key: str, campaign_id: str, csv: str, names: Iterable[str]
) -> httpx.Response:
    """POST /campaigns/{id}/bulk-jobs with the CSV and the selected files' names."""
    data, files = bulk_form(csv, names)
    return await api.post(
        f"/api/v1/campaigns/{campaign_id}/bulk-jobs",
        headers={"X-API-Key": key},
        data=data,
        files=files,
    )


async def put_file(
    api: httpx.AsyncClient,
    key: str,
    job_id: str,
    item_id: str,
    content: bytes | AsyncIterator[bytes],
) -> httpx.Response:
    """PUT one file of a job as the raw request body."""
    return await api.put(
        f"/api/v1/jobs/{job_id}/items/{item_id}/file",
        headers={"X-API-Key": key, "Content-Type": "application/octet-stream"},
        content=content,
    )


async def get_job(api: httpx.AsyncClient, key: str, job_id: str) -> dict[str, Any]:
    """GET /jobs/{id}, which must answer 200."""
    response = await api.get(f"/api/v1/jobs/{job_id}", headers={"X-API-Key": key})
    assert response.status_code == 200, response.text
    job: dict[str, Any] = response.json()
    return job


async def wait_for_job(
    api: httpx.AsyncClient, key: str, job_id: str, statuses: frozenset[str] = FINISHED
) -> dict[str, Any]:
    """Polls the job until its status is one of statuses."""

    async def settled() -> dict[str, Any] | None:
        job = await get_job(api, key, job_id)
        return job if job["status"] in statuses else None

    return await wait_for(
        settled, timeout_s=JOB_TIMEOUT_S, interval_s=1.0, describe=f"job {job_id} to finish"
    )


def items_by_name(job: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The job's items keyed by file name."""
    return {item["file_name"]: item for item in job["items"]}


async def other_campaign(
    stores: StoreInspector,
    services: RunningServices,
    *,
    org_id: str | None = None,
    auto_processing: bool = True,
) -> tuple[str, str]:
    """A new campaign (in the demo organisation unless org_id is given) and its API key."""
    directory = MongoDirectory(stores.mongo[services.database])
    org = org_id or services.credentials["org_id"]
    campaign_id = await directory.create_campaign(
        org, f"Jobs {uuid.uuid4().hex[:6]}", 70.0, DEFAULT_CHECKS
    )
    if not auto_processing:
        await directory.set_auto_processing(org, campaign_id, enabled=False)
    key = generate_api_key()
    await directory.store_api_key(org, campaign_id, key)
    return campaign_id, key.raw


async def other_organisation_key(stores: StoreInspector, services: RunningServices) -> str:
    """An API key of a campaign in a new organisation."""
    directory = MongoDirectory(stores.mongo[services.database])
    org_id = await directory.create_org("Elsewhere", f"elsewhere-{uuid.uuid4().hex[:8]}")
    _, key = await other_campaign(stores, services, org_id=org_id)
    return key


def read(path: Path) -> bytes:
    """A file's bytes (the test files are a few MB at most)."""
    return path.read_bytes()
