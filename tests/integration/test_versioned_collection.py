"""Versioned per-call documents on the real MongoDB-wire server (FerretDB in `make test`)."""

from __future__ import annotations

import uuid

import pytest
from callscope_common.mongo import Document
from callscope_common.versioned import VersionedCollection, VersionTakenError
from pymongo.asynchronous.database import AsyncDatabase


def version_document(call_id: str, version: int, event_id: str, org_id: str = "org") -> Document:
    return {
        "_id": uuid.uuid4().hex,
        "call_id": call_id,
        "org_id": org_id,
        "version": version,
        "source_event_id": event_id,
    }


@pytest.fixture
async def versions(database: AsyncDatabase[Document]) -> VersionedCollection:
    collection = VersionedCollection(database[f"versions_{uuid.uuid4().hex[:8]}"])
    await collection.ensure_indexes()
    return collection


async def test_versions_are_unique_per_call_and_per_source_event(
    versions: VersionedCollection,
) -> None:
    await versions.insert(version_document("call-1", 1, "event-a"))
    with pytest.raises(VersionTakenError):
        await versions.insert(version_document("call-1", 1, "event-b"))
    with pytest.raises(VersionTakenError):
        await versions.insert(version_document("call-1", 2, "event-a"))
    await versions.insert(version_document("call-2", 1, "event-c"))
    await versions.insert(version_document("call-1", 2, "event-d"))
    assert await versions.latest_version("call-1") == 2
    assert await versions.latest_version("call-3") == 0
    found = await versions.find_by_source_event("event-d")
    assert found is not None and found["version"] == 2


async def test_reads_are_scoped_to_the_organisation_and_default_to_the_latest(
    versions: VersionedCollection,
) -> None:
    for version in (1, 2, 3):
        await versions.insert(version_document("call-1", version, f"event-{version}"))
    latest = await versions.get("org", "call-1", 0)
    assert latest is not None and latest["version"] == 3
    first = await versions.get("org", "call-1", 1)
    assert first is not None and first["source_event_id"] == "event-1"
    assert await versions.get("other-org", "call-1", 0) is None
    assert await versions.delete_call("other-org", "call-1") == 0
    assert await versions.delete_call("org", "call-1") == 3
    assert await versions.get("org", "call-1", 0) is None
