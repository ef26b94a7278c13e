"""S3-compatible object storage, streamed in parts so no file is ever held whole in memory."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from botocore.exceptions import ClientError

from callscope_common.settings import InfraSettings

# S3 needs parts of at least 5 MiB (except the last); 8 MiB keeps memory small.
PART_SIZE = 8 * 1024 * 1024
# Reads stream in pieces small enough for one gRPC message each (4 MiB limit).
READ_CHUNK_SIZE = 256 * 1024


class S3ObjectStore:
    """Puts, gets and deletes objects in one bucket."""

    def __init__(self, client: Any, bucket: str) -> None:
        self._client = client
        self.bucket = bucket

    async def ensure_bucket(self) -> None:
        """Creates the bucket if it does not exist yet."""
        try:
            await self._client.head_bucket(Bucket=self.bucket)
        except ClientError:
            with contextlib.suppress(
                self._client.exceptions.BucketAlreadyOwnedByYou,
                self._client.exceptions.BucketAlreadyExists,
            ):
                await self._client.create_bucket(Bucket=self.bucket)

    async def upload_file(self, path: Path, key: str, content_type: str) -> None:
        """Uploads a local file in parts; a failed upload leaves no object behind."""
        size = await asyncio.to_thread(lambda: path.stat().st_size)
        with path.open("rb") as source:
            if size <= PART_SIZE:
                await self._client.put_object(
                    Bucket=self.bucket, Key=key, Body=source.read(), ContentType=content_type
                )
                return
            upload = await self._client.create_multipart_upload(
                Bucket=self.bucket, Key=key, ContentType=content_type
            )
            upload_id = upload["UploadId"]
            try:
                parts = []
                number = 1
                while chunk := source.read(PART_SIZE):
                    part = await self._client.upload_part(
                        Bucket=self.bucket,
                        Key=key,
                        UploadId=upload_id,
                        PartNumber=number,
                        Body=chunk,
                    )
                    parts.append({"PartNumber": number, "ETag": part["ETag"]})
                    number += 1
                await self._client.complete_multipart_upload(
                    Bucket=self.bucket,
                    Key=key,
                    UploadId=upload_id,
                    MultipartUpload={"Parts": parts},
                )
            except BaseException:
                await self._client.abort_multipart_upload(
                    Bucket=self.bucket, Key=key, UploadId=upload_id
                )
                raise

    async def download_file(self, key: str, path: Path) -> None:
        """Streams an object into a local file."""
        response = await self._client.get_object(Bucket=self.bucket, Key=key)
        async with response["Body"] as body:
            with path.open("wb") as target:
                while chunk := await body.read(1024 * 1024):
                    target.write(chunk)

    async def read_range(
        self, key: str, offset: int, length: int, chunk_size: int = READ_CHUNK_SIZE
    ) -> AsyncIterator[bytes]:
        """Streams length bytes of an object from offset, chunk_size at a time.

        One ranged GET, read in chunks: memory holds one chunk, never the object.
        """
        if length <= 0:
            return
        response = await self._client.get_object(
            Bucket=self.bucket, Key=key, Range=f"bytes={offset}-{offset + length - 1}"
        )
        async with response["Body"] as body:
            while chunk := await body.read(chunk_size):
                yield chunk

    async def exists(self, key: str) -> bool:
        """Whether an object with this key exists."""
        try:
            await self._client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
                return False
            raise
        return True

    async def delete(self, key: str) -> None:
        """Deletes an object; deleting a missing object is not an error."""
        await self._client.delete_object(Bucket=self.bucket, Key=key)


@contextlib.asynccontextmanager
async def open_object_store(settings: InfraSettings) -> AsyncIterator[S3ObjectStore]:
    """One S3 client per process, closed when the block exits."""
    session = get_session()
    config = AioConfig(
        signature_version="s3v4",
        s3={"addressing_style": "path"},
        retries={"max_attempts": 5, "mode": "standard"},
    )
    async with session.create_client(
        "s3",
        endpoint_url=settings.s3_endpoint_url,
        region_name=settings.s3_region,
        aws_access_key_id=settings.s3_access_key.get_secret_value(),
        aws_secret_access_key=settings.s3_secret_key.get_secret_value(),
        config=config,
    ) as client:
        yield S3ObjectStore(client, settings.s3_bucket)
