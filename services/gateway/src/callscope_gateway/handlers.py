"""The gateway's use cases: authenticate keys, seed the demo, stream uploads, read results."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import os
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
from callscope.v1 import common_pb2, ingest_pb2

from callscope_gateway.adapters.grpc_clients import PeerClients
from callscope_gateway.adapters.mongo import MongoDirectory
from callscope_gateway.adapters.multipart import (
    FileBytes,
    FileEnded,
    FileStarted,
    FormEvent,
    FormField,
    MalformedMultipartError,
)
from callscope_gateway.adapters.passwords import hash_password
from callscope_gateway.domain.api_keys import (
    ApiKeyScope,
    generate_api_key,
    hash_api_key,
    looks_like_api_key,
)
from callscope_gateway.domain.default_checks import DEFAULT_CHECKS, DEFAULT_FLAG_THRESHOLD
from callscope_gateway.domain.directory import DemoCredentials
from callscope_gateway.domain.errors import GatewayError

logger = logging.getLogger(__name__)

METADATA_FIELDS = (
    "agent_name",
    "agent_code",
    "call_type",
    "call_date",
    "customer_id",
    "disposition",
    "client_reference",
)
# gRPC messages of this size keep the stream efficient and memory small.
UPLOAD_CHUNK_BYTES = 1024 * 1024

DEMO_ORG_SLUG = "demo"
DEMO_EMAIL = "owner@demo.local"
DEMO_CAMPAIGN = "Demo"


async def resolve_api_key(raw: str | None, directory: MongoDirectory) -> ApiKeyScope | None:
    """The scope a key grants, or None for a missing, malformed, unknown or revoked key."""
    if not raw or not looks_like_api_key(raw):
        return None
    return await directory.resolve_api_key(hash_api_key(raw), dt.datetime.now(dt.UTC))


async def ensure_demo(directory: MongoDirectory, credentials_file: Path) -> DemoCredentials:
    """Creates the demo organisation, owner, campaign and API key once; reuses them afterwards.

    Keys and passwords are stored hashed, so the raw values live only in the
    credentials file (mode 0600, git-ignored). If that file is lost, a new key
    and password are issued and written again. The file also names the organisation's
    SFTP folder, where the local stack makes the demo SFTP account.
    """
    if credentials_file.exists():
        stored = DemoCredentials(**json.loads(credentials_file.read_text()))
        if await directory.get_campaign(stored.org_id, stored.campaign_id) is not None:
            if not stored.sftp_folder:
                # Written before SFTP existed: add the folder, keep every other value.
                stored = dataclasses.replace(
                    stored, sftp_folder=await directory.org_folder(stored.org_id)
                )
                _write_credentials(credentials_file, stored)
            return stored
    org_id = await directory.find_org_by_slug(DEMO_ORG_SLUG)
    password = secrets.token_urlsafe(12)
    if org_id is None:
        org_id = await directory.create_org("Demo Organisation", DEMO_ORG_SLUG)
        await directory.create_user(org_id, DEMO_EMAIL, hash_password(password), "OWNER")
    else:
        await directory.set_user_password(DEMO_EMAIL, hash_password(password))
    campaign_id = await directory.find_campaign_by_name(org_id, DEMO_CAMPAIGN)
    if campaign_id is None:
        campaign_id = await directory.create_campaign(
            org_id, DEMO_CAMPAIGN, DEFAULT_FLAG_THRESHOLD, DEFAULT_CHECKS
        )
    key = generate_api_key()
    await directory.store_api_key(org_id, campaign_id, key)
    credentials = DemoCredentials(
        DEMO_EMAIL, password, key.raw, org_id, campaign_id, await directory.org_folder(org_id)
    )
    _write_credentials(credentials_file, credentials)
    logger.info("demo organisation ready", extra={"org_id": org_id, "campaign_id": campaign_id})
    return credentials


def _write_credentials(credentials_file: Path, credentials: DemoCredentials) -> None:
    """Writes the raw demo values for the owner of the process only (mode 0600)."""
    credentials_file.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(credentials_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump(dataclasses.asdict(credentials), handle, indent=2)


async def upload_call(
    scope: ApiKeyScope,
    form: AsyncIterator[FormEvent],
    peers: PeerClients,
    source: common_pb2.UploadSource.ValueType,
    declared_size: int = 0,
) -> ingest_pb2.UploadAccepted:
    """Streams the form's `file` part to ingest with the metadata fields around it.

    declared_size is the request's announced body size (0 if unknown), which lets
    ingest refuse an oversized file before the gateway reads it.
    """
    events = aiter(form)
    leading: dict[str, str] = {}
    started: FileStarted | None = None
    async for event in events:
        if isinstance(event, FormField):
            _record_field(leading, event, scope)
        elif isinstance(event, FileStarted):
            started = event
            break
    if started is None or not started.file_name:
        raise GatewayError("missing_file", "attach the recording as the multipart field 'file'")
    if started.field_name != "file":
        raise GatewayError(
            "missing_file", f"send the recording as the field 'file', not '{started.field_name}'"
        )
    header = ingest_pb2.UploadHeader(
        org_id=scope.org_id,
        campaign_id=scope.campaign_id,
        source=source,
        file_name=started.file_name,
        metadata=common_pb2.CallMetadata(**leading),
        declared_size_bytes=declared_size,
    )

    async def rest_of_form() -> AsyncIterator[ingest_pb2.UploadCallRequest]:
        buffer = bytearray()
        async for event in events:
            if isinstance(event, FileBytes):
                buffer += event.data
                if len(buffer) >= UPLOAD_CHUNK_BYTES:
                    yield ingest_pb2.UploadCallRequest(chunk=bytes(buffer))
                    buffer.clear()
            elif isinstance(event, FileEnded):
                break
        if buffer:
            yield ingest_pb2.UploadCallRequest(chunk=bytes(buffer))
        trailing: dict[str, str] = {}
        async for event in events:
            if isinstance(event, FormField):
                _record_field(trailing, event, scope)
            elif isinstance(event, FileStarted):
                raise GatewayError(
                    "one_file_per_request", "send one file per request to this endpoint"
                )
        if trailing:
            yield ingest_pb2.UploadCallRequest(
                trailing_metadata=common_pb2.CallMetadata(**trailing)
            )

    try:
        return await peers.upload_call(header, rest_of_form())
    except (GatewayError, grpc.aio.AioRpcError):
        raise
    except MalformedMultipartError as error:
        raise GatewayError("malformed_form", str(error)) from error
    except Exception as error:
        # Anything else broke the body off mid-file (the client went away); the
        # call was cancelled and ingest discarded what it had received.
        raise GatewayError(
            "upload_interrupted", "the upload was interrupted before the file was complete"
        ) from error


def _record_field(fields: dict[str, str], field: FormField, scope: ApiKeyScope) -> None:
    if field.name == "campaign_id" and field.value and field.value != scope.campaign_id:
        raise GatewayError(
            "wrong_campaign", "this API key belongs to another campaign; use that campaign's key"
        )
    if field.name in METADATA_FIELDS:
        fields[field.name] = field.value
