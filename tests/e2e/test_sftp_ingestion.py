"""SFTP ingestion end to end: a customer drops files on the real OpenSSH server with the real
`sftp` client (or asyncssh for slow writes), the sftp service sweeps them into batches and
imports them through ingest, and the gateway shows every batch and file status.

The services run with a 1 s sweep, a 1.5 s settle time and 4 s leases (tests/conftest.py).
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import httpx
import pytest
from callscope_gateway.adapters.mongo import MongoDirectory

from tests.support.polling import wait_for
from tests.support.services import RunningServices
from tests.support.sftp_server import SftpServer
from tests.support.sftp_sites import (
    DropSite,
    audio_file,
    calls_of,
    csv_file,
    files,
    open_drop_site,
    wait_for_batch,
)
from tests.support.stores import StoreInspector

FINAL = {"COMPLETED", "INCOMPLETE", "FAILED"}


def by_name(batch: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A batch's files by name."""
    return {f["file_name"]: f for f in batch["files"]}


@pytest.fixture
async def site(
    api: httpx.AsyncClient, directory: MongoDirectory, sftp_server: SftpServer
) -> DropSite:
    """A campaign with SFTP on (CSV optional, 3 s window)."""
    return await open_drop_site(api, directory, sftp_server)


async def test_audio_with_its_csv_is_imported_with_the_rows_metadata(
    api: httpx.AsyncClient, directory: MongoDirectory, sftp_server: SftpServer, tmp_path: Path
) -> None:
    site = await open_drop_site(api, directory, sftp_server, csv="required", window_s=60)
    first = audio_file(tmp_path, "call_one.wav")
    second = audio_file(tmp_path, "call_two.wav")
    manifest = csv_file(
        tmp_path,
        "manifest.csv",
        [
            {
                "file_name": "call_one.wav",
                "agent_name": "Jane Doe",
                "call_date": "2026-01-15",
                "client_reference": "CRM-1",
            },
            {
                "file_name": "call_two.wav",
                "agent_name": '=HYPERLINK("http://evil.example","x")',
                "call_type": "INBOUND",
            },
        ],
    )
    site.put(first, second, manifest)

    # Complete before the 60 s window: the CSV and every file it names are there.
    [batch] = await wait_for_batch(api, site, FINAL, timeout_s=45)
    assert batch["status"] == "COMPLETED", batch
    assert batch["csv_file_name"] == "manifest.csv"
    assert batch["counts"]["completed"] == 2
    named = by_name(batch)
    assert named["manifest.csv"]["status"] == "COMPLETED"
    one, two = named["call_one.wav"], named["call_two.wav"]
    assert one["status"] == two["status"] == "COMPLETED"
    assert one["csv_line"] == 2 and two["csv_line"] == 3
    assert one["location"] == "processed/call_one.wav"
    # The formula cell was kept as text, and the file's reason says so.
    assert "formula" in two["reason"]

    calls = {c["id"]: c for c in await calls_of(api, site)}
    assert set(calls) == {one["call_id"], two["call_id"]}
    call_one, call_two = calls[one["call_id"]], calls[two["call_id"]]
    assert call_one["source"] == "SFTP"
    assert call_one["file_name"] == "call_one.wav"
    assert call_one["metadata"]["agent_name"] == "Jane Doe"
    assert call_one["metadata"]["client_reference"] == "CRM-1"
    assert call_two["metadata"]["agent_name"].startswith("'=HYPERLINK")
    # The customer sees where everything went; nothing is left in the folder.
    assert (site.folder / "processed" / "call_one.wav").read_bytes() == first.read_bytes()
    assert (site.folder / "processed" / "manifest.csv").is_file()
    left = sorted(p.name for p in site.folder.iterdir())
    assert left == ["failed", "processed", "processing"]
    assert not list((site.folder / "processing").iterdir())


async def test_required_csv_that_never_comes_fails_the_batch_and_keeps_the_audio(
    api: httpx.AsyncClient, directory: MongoDirectory, sftp_server: SftpServer, tmp_path: Path
) -> None:
    site = await open_drop_site(api, directory, sftp_server, csv="required", window_s=6)
    site.put(audio_file(tmp_path, "lonely.wav"))

    [waiting] = await wait_for_batch(api, site, {"WAITING_FOR_CSV"}, timeout_s=20)
    assert "needs a CSV" in waiting["reason"]
    [failed] = await wait_for_batch(api, site, {"FAILED"}, timeout_s=30)
    assert failed["id"] == waiting["id"]
    assert "no CSV arrived within the batch window" in failed["reason"]
    [lonely] = failed["files"]
    assert lonely["status"] == "FAILED"
    assert lonely["location"] == "failed/lonely.wav"
    reason = (site.folder / "failed" / "lonely.wav.reason.txt").read_text()
    assert "no CSV arrived" in reason
    assert await calls_of(api, site) == []


async def test_csv_first_then_the_audio_it_names(
    api: httpx.AsyncClient, directory: MongoDirectory, sftp_server: SftpServer, tmp_path: Path
) -> None:
    site = await open_drop_site(api, directory, sftp_server, csv="required", window_s=120)
    site.put(
        csv_file(
            tmp_path,
            "tonight.csv",
            [{"file_name": "a.wav", "disposition": "Sale"}, {"file_name": "b.wav"}],
        )
    )
    [waiting] = await wait_for_batch(api, site, {"WAITING_FOR_FILES"}, timeout_s=20)
    assert sorted(waiting["missing_files"]) == ["a.wav", "b.wav"]

    site.put(audio_file(tmp_path, "a.wav"))
    site.put(audio_file(tmp_path, "b.wav"))
    [done] = await wait_for_batch(api, site, FINAL, timeout_s=45)
    assert done["id"] == waiting["id"]
    assert done["status"] == "COMPLETED", done
    assert done["missing_files"] == []
    assert by_name(done)["a.wav"]["metadata"]["disposition"] == "Sale"


async def test_files_the_csv_names_that_never_come_make_the_batch_incomplete(
    api: httpx.AsyncClient, directory: MongoDirectory, sftp_server: SftpServer, tmp_path: Path
) -> None:
    site = await open_drop_site(api, directory, sftp_server, csv="required", window_s=5)
    rows = [{"file_name": "here.wav"}, {"file_name": "ghost.wav"}]
    site.put(audio_file(tmp_path, "here.wav"), csv_file(tmp_path, "m.csv", rows))

    [batch] = await wait_for_batch(api, site, FINAL, timeout_s=40)
    assert batch["status"] == "INCOMPLETE", batch
    assert batch["missing_files"] == ["ghost.wav"]
    assert batch["counts"]["missing"] == 1
    assert "ghost.wav" in batch["reason"]
    assert by_name(batch)["here.wav"]["status"] == "COMPLETED"


async def test_optional_csv_audio_alone_is_imported_after_the_window(
    api: httpx.AsyncClient, site: DropSite, tmp_path: Path
) -> None:
    site.put(audio_file(tmp_path, "solo.wav"))
    [detecting] = await wait_for_batch(api, site, {"DETECTING"}, timeout_s=20)
    assert "CSV" in detecting["reason"]
    [batch] = await wait_for_batch(api, site, FINAL, timeout_s=40)
    assert batch["status"] == "COMPLETED"
    [solo] = batch["files"]
    assert solo["status"] == "COMPLETED" and solo["csv_line"] is None
    [call] = await calls_of(api, site)
    assert call["source"] == "SFTP" and call["metadata"] == {}


async def test_a_file_still_being_written_is_not_imported_until_it_is_complete(
    api: httpx.AsyncClient, site: DropSite, sftp_server: SftpServer, tmp_path: Path
) -> None:
    data = audio_file(tmp_path, "slow.wav", seconds=20).read_bytes()
    pieces = 20
    step = len(data) // pieces + 1
    # A slow writer: a piece every 0.4 s for 8 s, through several sweeps and past the 3 s
    # batch window; the file never looks finished until the last piece is written.
    async with sftp_server.open_upload(site.account, f"{site.slug}/slow.wav") as upload:
        for start in range(0, len(data), step):
            await upload.write(data[start : start + step])
            await asyncio.sleep(0.4)  # the writer is slow on purpose
            for record in await files(api, site):
                assert record["status"] == "DETECTED", record
        assert not list((site.folder / "processing").iterdir())
        assert await calls_of(api, site) == []
    [batch] = await wait_for_batch(api, site, FINAL, timeout_s=40)
    assert batch["status"] == "COMPLETED", batch
    assert (site.folder / "processed" / "slow.wav").stat().st_size == len(data)
    [call] = await calls_of(api, site)
    assert call["duration_seconds"] == pytest.approx(20.0, abs=0.1)


async def test_a_done_marker_imports_at_once_and_is_removed(
    api: httpx.AsyncClient, directory: MongoDirectory, sftp_server: SftpServer, tmp_path: Path
) -> None:
    site = await open_drop_site(api, directory, sftp_server, window_s=0)
    marker = tmp_path / "marked.wav.done"
    marker.write_text("")
    site.put(audio_file(tmp_path, "marked.wav"), marker)
    [batch] = await wait_for_batch(api, site, FINAL, timeout_s=30)
    assert batch["status"] == "COMPLETED"
    assert [f["file_name"] for f in batch["files"]] == ["marked.wav"]
    assert not (site.folder / "marked.wav.done").exists()


async def test_a_file_name_imported_before_is_a_duplicate(
    api: httpx.AsyncClient, site: DropSite, tmp_path: Path
) -> None:
    site.put(audio_file(tmp_path, "again.wav"))
    [first] = await wait_for_batch(api, site, FINAL, timeout_s=40)
    assert first["status"] == "COMPLETED"
    other = tmp_path / "other"
    other.mkdir()
    site.put(audio_file(other, "again.wav"))  # new content, same name

    done = await wait_for_batch(api, site, FINAL, count=2, timeout_s=40)
    newest = next(b for b in done if b["id"] != first["id"])
    [duplicate] = newest["files"]
    assert duplicate["status"] == "DUPLICATE"
    assert "already imported for this campaign" in duplicate["reason"]
    assert duplicate["location"] == "failed/again.wav"
    assert (site.folder / "failed" / "again.wav.reason.txt").is_file()
    assert (site.folder / "processed" / "again.wav").is_file()
    assert len(await calls_of(api, site)) == 1
    # A duplicate is handled as the guide says, not a failure of the batch.
    assert newest["status"] == "COMPLETED"


async def test_hostile_entries_are_skipped_and_nothing_outside_the_folder_is_read(
    api: httpx.AsyncClient,
    directory: MongoDirectory,
    sftp_server: SftpServer,
    tmp_path: Path,
) -> None:
    victim = await open_drop_site(api, directory, sftp_server, window_s=60)
    secret = audio_file(tmp_path, "secret.wav")
    # The victim's file waits in its folder (a 60 s window), readable to the service.
    victim.put(secret)
    site = await open_drop_site(api, directory, sftp_server, window_s=2)
    hidden = tmp_path / ".partial.wav"
    hidden.write_bytes(secret.read_bytes()[:1000])
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    rows = [
        {"file_name": "ok.wav", "agent_name": "@SUM(A1)"},
        {"file_name": f"../../{victim.org_folder}/{victim.slug}/secret.wav"},
    ]
    site.put(audio_file(tmp_path, "ok.wav"), hidden, notes, csv_file(tmp_path, "evil.csv", rows))
    result = site.sftp(
        f"symlink /{victim.org_folder}/{victim.slug}/secret.wav {site.slug}/link.wav",
        f"symlink /etc/passwd {site.slug}/passwd.wav",
        f"mkdir {site.slug}/nested",
    )
    assert result.ok, result.output
    # A name no client should send: bytes that are not UTF-8 (made on the server's disk).
    Path(os.fsdecode(os.path.join(os.fsencode(site.folder), b"bad\xff.wav"))).write_bytes(
        secret.read_bytes()
    )

    [batch] = await wait_for_batch(api, site, FINAL, timeout_s=40)
    assert batch["status"] == "INCOMPLETE", batch
    assert "looks like a path" in batch["reason"]
    assert batch["missing_files"] == []
    assert by_name(batch)["ok.wav"]["status"] == "COMPLETED"
    skipped = {f["file_name"]: f["reason"] for f in await files(api, site, "SKIPPED")}
    assert "hidden" in skipped[".partial.wav"]
    assert "not an audio file" in skipped["notes.txt"]
    assert "symbolic link" in skipped["link.wav"]
    assert "symbolic link" in skipped["passwd.wav"]
    assert "folder" in skipped["nested"]
    assert "UTF-8" in skipped["bad?.wav"]
    # Skipped entries stay where the customer put them; the victim's file was never read.
    assert (site.folder / "link.wav").is_symlink()
    assert (site.folder / ".partial.wav").is_file()
    [call] = await calls_of(api, site)
    assert call["file_name"] == "ok.wav"
    assert call["metadata"]["agent_name"] == "'@SUM(A1)"
    assert (victim.folder / "secret.wav").read_bytes() == secret.read_bytes()
    victim_files = await files(api, victim)
    assert [f["status"] for f in victim_files] == ["DETECTED"]


async def test_a_two_gigabyte_csv_is_refused_unread(
    api: httpx.AsyncClient, directory: MongoDirectory, sftp_server: SftpServer, tmp_path: Path
) -> None:
    site = await open_drop_site(api, directory, sftp_server, csv="required", window_s=60)
    site.put(audio_file(tmp_path, "with_huge_csv.wav"))
    # A sparse 2 GB file on the server's disk, owned by the customer as if uploaded.
    huge = site.folder / "huge.csv"
    with huge.open("wb") as handle:
        handle.truncate(2 * 1024**3)
    os.chown(huge, *_owner_of(site.folder / "with_huge_csv.wav"))

    [batch] = await wait_for_batch(api, site, FINAL, timeout_s=40)
    assert batch["status"] == "FAILED"
    assert "larger than the 5 MB limit" in batch["reason"]
    named = by_name(batch)
    assert named["huge.csv"]["status"] == "FAILED"
    assert named["with_huge_csv.wav"]["status"] == "FAILED"
    assert (site.folder / "failed" / "with_huge_csv.wav").is_file()
    assert await calls_of(api, site) == []


def _owner_of(path: Path) -> tuple[int, int]:
    info = path.stat()
    return info.st_uid, info.st_gid


async def test_agent_code_from_the_campaigns_file_name_pattern(
    api: httpx.AsyncClient, directory: MongoDirectory, sftp_server: SftpServer, tmp_path: Path
) -> None:
    site = await open_drop_site(api, directory, sftp_server, window_s=0, pattern="rec-{agent}-*")
    agent = await directory.create_agent(site.org.org_id, "Ada Agent", "ZX42", (site.campaign_id,))
    site.put(audio_file(tmp_path, "rec-ZX42-morning.wav"))
    [batch] = await wait_for_batch(api, site, FINAL, timeout_s=30)
    [file] = batch["files"]
    assert file["status"] == "COMPLETED"
    assert (file["agent_code"], file["agent_source"]) == ("ZX42", "file_name")
    [call] = await calls_of(api, site)
    assert call["agent"]["id"] == agent.id


async def test_another_organisation_sees_none_of_the_batches(
    api: httpx.AsyncClient,
    directory: MongoDirectory,
    site: DropSite,
    sftp_server: SftpServer,
    tmp_path: Path,
) -> None:
    site.put(audio_file(tmp_path, "private.wav"))
    [batch] = await wait_for_batch(api, site, FINAL, timeout_s=40)
    stranger = await open_drop_site(api, directory, sftp_server)
    for url in (
        f"/api/v1/campaigns/{site.campaign_id}/sftp/batches",
        f"/api/v1/campaigns/{site.campaign_id}/sftp/batches/{batch['id']}",
        f"/api/v1/campaigns/{stranger.campaign_id}/sftp/batches/{batch['id']}",
    ):
        response = await api.get(url, headers=stranger.headers)
        assert response.status_code == 404, (url, response.text)
    # The stranger's customer cannot reach the first organisation's folder either.
    denied = stranger.sftp(f"ls /{site.org_folder}/{site.slug}/processed")
    assert not denied.ok


async def test_killed_mid_batch_then_restarted_imports_every_file_exactly_once(
    api: httpx.AsyncClient,
    directory: MongoDirectory,
    sftp_server: SftpServer,
    services: RunningServices,
    stores: StoreInspector,
    tmp_path: Path,
) -> None:
    site = await open_drop_site(api, directory, sftp_server, window_s=0)
    names = [f"restart_{n:02d}.wav" for n in range(12)]
    # Large enough (about 5 MB each) that importing the batch takes seconds.
    site.put(*(audio_file(tmp_path, name, seconds=300) for name in names))
    collection = stores.mongo[services.database]["sftp_files"]

    async def some_imported() -> int:
        done = await collection.count_documents(
            {"campaign_id": site.campaign_id, "status": "COMPLETED"}
        )
        return done if done >= 1 else 0

    imported_at_kill = await wait_for(some_imported, timeout_s=60, interval_s=0.05)
    services.kill("sftp")
    assert imported_at_kill < len(names), "the batch finished before the kill; make it longer"
    services.restart("sftp")

    [batch] = await wait_for_batch(api, site, FINAL, timeout_s=120)
    assert batch["status"] == "COMPLETED", batch
    calls = await calls_of(api, site)
    assert sorted(c["file_name"] for c in calls) == names
    assert all(c["status"] == "PENDING" for c in calls)
    assert sorted(p.name for p in (site.folder / "processed").iterdir()) == names
    assert not list((site.folder / "processing").iterdir())


async def test_two_replicas_share_the_campaigns_and_import_nothing_twice(
    api: httpx.AsyncClient,
    directory: MongoDirectory,
    sftp_server: SftpServer,
    services: RunningServices,
    tmp_path: Path,
) -> None:
    sites = [await open_drop_site(api, directory, sftp_server, window_s=0) for _ in range(4)]
    with services.extra_sftp_replica("replica-two"):
        for number, site in enumerate(sites):
            folder = tmp_path / site.slug
            folder.mkdir()
            site.put(*(audio_file(folder, f"r{number}_{n}.wav") for n in range(5)))
        for site in sites:
            [batch] = await wait_for_batch(api, site, FINAL, timeout_s=90)
            assert batch["status"] == "COMPLETED", batch
            calls = await calls_of(api, site)
            assert len(calls) == 5
            assert len({c["file_name"] for c in calls}) == 5
        status = await api.get("/api/v1/sftp/status", headers=sites[0].headers)
        assert status.status_code == 200, status.text
        replicas = {r["replica_id"] for r in status.json()["replicas"]}
        assert "replica-two" in replicas and len(replicas) >= 2


async def test_a_changed_host_key_is_refused_and_reported(
    api: httpx.AsyncClient,
    site: DropSite,
    sftp_server: SftpServer,
    services: RunningServices,
    tmp_path: Path,
) -> None:
    impostor_key = sftp_server.new_key("impostor")
    wrong = impostor_key.with_name(impostor_key.name + ".pub").read_text().strip()
    with services.extra_sftp_replica("pinned-wrong", {"SFTP_SERVER_HOST_KEY": wrong}) as log:

        async def reported() -> dict[str, Any] | None:
            response = await api.get("/api/v1/sftp/status", headers=site.headers)
            assert response.status_code == 200, response.text
            return next(
                (r for r in response.json()["replicas"] if r["replica_id"] == "pinned-wrong"),
                None,
            )

        replica = await wait_for(reported, timeout_s=30, describe="the replica's status")
        assert replica["connected"] is False
        assert "host key other than the pinned one" in replica["last_error"]
        assert replica["campaigns_held"] == 0
        assert "host key other than the pinned one" in log.read_text()
    # The good replica still sweeps this campaign.
    site.put(audio_file(tmp_path, "still_works.wav"))
    [batch] = await wait_for_batch(api, site, FINAL, timeout_s=40)
    assert batch["status"] == "COMPLETED"
