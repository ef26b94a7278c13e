"""A campaign with SFTP on, its customer's account, and what the API says about its batches.

Each test gets an organisation of its own (so the campaign folder, the name claims and the
calls are its own) with auto-processing off: the calls SFTP makes stay PENDING, which is
all these tests need, and the transcription engine stays free for the other suites.
"""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from callscope_gateway.adapters.mongo import MongoDirectory

from tests.support.audio import render_noise
from tests.support.people import OtherOrganisation, other_organisation
from tests.support.polling import wait_for
from tests.support.sftp_server import CustomerAccount, SftpResult, SftpServer

BATCH_TIMEOUT_S = 90.0
_seeds = itertools.count(1000)


@dataclass(frozen=True)
class DropSite:
    """A campaign's drop folder and the customer who drops files into it."""

    org: OtherOrganisation
    org_folder: str
    slug: str
    account: CustomerAccount
    server: SftpServer

    @property
    def campaign_id(self) -> str:
        """The campaign the folder belongs to."""
        return self.org.campaign_id

    @property
    def headers(self) -> dict[str, str]:
        """The organisation owner's session."""
        return self.org.owner.headers

    @property
    def folder(self) -> Path:
        """The campaign folder as the host sees it (for checking where files ended up)."""
        return self.server.org_dir(self.org_folder) / self.slug

    def put(self, *local: Path, names: list[str] | None = None) -> SftpResult:
        """Uploads local files into the campaign folder with the real `sftp` client."""
        targets = names or [p.name for p in local]
        commands = [f'put "{p}" "{self.slug}/{n}"' for p, n in zip(local, targets, strict=True)]
        result = self.server.sftp(self.account, commands)
        assert result.ok, result.output
        return result

    def sftp(self, *commands: str) -> SftpResult:
        """Runs sftp commands as the customer (paths relative to the organisation folder)."""
        return self.server.sftp(self.account, list(commands))


async def open_drop_site(
    api: httpx.AsyncClient,
    directory: MongoDirectory,
    server: SftpServer,
    *,
    csv: str = "optional",
    window_s: int = 3,
    pattern: str = "",
) -> DropSite:
    """A new organisation whose campaign takes SFTP files, and its customer's account."""
    org = await other_organisation(api, directory)
    slug = f"calls-{uuid.uuid4().hex[:6]}"
    response = await api.patch(
        f"/api/v1/campaigns/{org.campaign_id}",
        headers=org.owner.headers,
        json={
            "auto_processing": False,
            "sftp": {
                "enabled": True,
                "folder_slug": slug,
                "csv": csv,
                "batch_window_seconds": window_s,
                "agent_file_name_pattern": pattern,
            },
        },
    )
    assert response.status_code == 200, response.text
    upload_path = response.json()["sftp"]["upload_path"]
    org_folder = upload_path.strip("/").split("/")[0]
    server.provision_org(org_folder)
    site = DropSite(org, org_folder, slug, server.customer(org_folder), server)

    async def folder_ready() -> bool:
        return (site.folder / "processed").is_dir()

    await wait_for(folder_ready, timeout_s=30, describe=f"the service to create {slug}/")
    return site


def audio_file(folder: Path, name: str, seconds: float = 11.0) -> Path:
    """A valid WAV of its own content (never a duplicate of another test's)."""
    return render_noise(folder / name, seconds, seed=next(_seeds), sample_rate=8000)


def csv_file(folder: Path, name: str, rows: list[dict[str, str]]) -> Path:
    """A CSV with a header of the rows' keys."""
    columns = list(dict.fromkeys(key for row in rows for key in row))
    lines = [",".join(columns)]
    for row in rows:
        lines.append(",".join(_cell(row.get(column, "")) for column in columns))
    path = folder / name
    path.write_text("\n".join(lines) + "\n")
    return path


def _cell(value: str) -> str:
    if any(c in value for c in ',"\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


async def batches(api: httpx.AsyncClient, site: DropSite) -> list[dict[str, Any]]:
    """The campaign's batches, newest first."""
    response = await api.get(
        f"/api/v1/campaigns/{site.campaign_id}/sftp/batches", headers=site.headers
    )
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["batches"]
    return found


async def batch_detail(api: httpx.AsyncClient, site: DropSite, batch_id: str) -> dict[str, Any]:
    """One batch with its files."""
    response = await api.get(
        f"/api/v1/campaigns/{site.campaign_id}/sftp/batches/{batch_id}", headers=site.headers
    )
    assert response.status_code == 200, response.text
    detail: dict[str, Any] = response.json()
    return detail


async def files(
    api: httpx.AsyncClient, site: DropSite, status: str | None = None
) -> list[dict[str, Any]]:
    """The campaign's files (of one status), newest first."""
    response = await api.get(
        f"/api/v1/campaigns/{site.campaign_id}/sftp/files",
        headers=site.headers,
        params={"status": status} if status else {},
    )
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["files"]
    return found


async def wait_for_batch(
    api: httpx.AsyncClient,
    site: DropSite,
    statuses: set[str],
    *,
    count: int = 1,
    timeout_s: float = BATCH_TIMEOUT_S,
) -> list[dict[str, Any]]:
    """Waits until `count` batches have one of the statuses; returns them with their files."""

    async def reached() -> list[dict[str, Any]] | None:
        response = await api.get(
            f"/api/v1/campaigns/{site.campaign_id}/sftp/batches", headers=site.headers
        )
        if response.status_code == 503:  # the sftp service is restarting
            return None
        assert response.status_code == 200, response.text
        matching = [b for b in response.json()["batches"] if b["status"] in statuses]
        return matching if len(matching) >= count else None

    found = await wait_for(
        reached,
        timeout_s=timeout_s,
        interval_s=0.3,
        describe=f"{count} batch(es) of {site.slug} in {sorted(statuses)}",
    )
    return [await batch_detail(api, site, b["id"]) for b in found]


async def calls_of(api: httpx.AsyncClient, site: DropSite) -> list[dict[str, Any]]:
    """Every call of the site's campaign."""
    response = await api.get(
        "/api/v1/calls",
        headers=site.headers,
        params={"campaign_id": site.campaign_id, "limit": 200},
    )
    assert response.status_code == 200, response.text
    calls: list[dict[str, Any]] = response.json()["calls"]
    return calls
