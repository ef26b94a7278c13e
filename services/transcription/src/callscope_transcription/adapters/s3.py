"""Call audio read from the S3-compatible object store."""

from __future__ import annotations

from pathlib import Path

from botocore.exceptions import ClientError
from callscope_common.storage import S3ObjectStore

from callscope_transcription.domain.errors import AudioMissingError, MisroutedAudioError
from callscope_transcription.domain.model import AudioLocation

# Error codes S3 and S3-compatible servers use for an object that is not there.
_MISSING_CODES = frozenset({"NoSuchKey", "404", "NotFound"})


class S3AudioStore:
    """Downloads call audio from the deployment's audio bucket."""

    def __init__(self, objects: S3ObjectStore) -> None:
        self._objects = objects

    async def download(self, audio: AudioLocation, path: Path) -> None:
        """Streams the object into a local file; AudioMissingError if it does not exist."""
        if audio.bucket and audio.bucket != self._objects.bucket:
            raise MisroutedAudioError(
                f"audio is in bucket {audio.bucket!r} but this service reads "
                f"{self._objects.bucket!r}; check S3_BUCKET"
            )
        try:
            await self._objects.download_file(audio.key, path)
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code", ""))
            if code in _MISSING_CODES:
                raise AudioMissingError(f"s3://{self._objects.bucket}/{audio.key}") from error
            raise
