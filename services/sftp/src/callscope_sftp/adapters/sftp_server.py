"""The SFTP server through asyncssh, as the service's own account, with the host key pinned.

The server's host key is given in the settings (`SFTP_SERVER_HOST_KEY`, the public key
line); any other key is refused before a byte of a file is read, and the refusal names
both keys, because a changed host key is either a server rebuilt without its key or
someone in the middle.
"""

from __future__ import annotations

import contextlib
import posixpath
import stat
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncssh

from callscope_sftp.domain.entries import Entry, EntryType
from callscope_sftp.ports import FolderMissingError


class SftpConnectionError(Exception):
    """The server could not be reached, refused our key, or showed another host key."""


@dataclass(frozen=True)
class ServerAddress:
    """Where the server is and how we prove who we are and who it is."""

    host: str
    port: int
    user: str
    key_file: str
    host_key: str
    connect_timeout_s: float = 10.0

    @property
    def label(self) -> str:
        """host:port, for logs and status."""
        return f"{self.host}:{self.port}"


@contextlib.asynccontextmanager
async def connect(address: ServerAddress) -> AsyncIterator[AsyncsshDropFolders]:
    """An SFTP session; SftpConnectionError with the reason when there is none."""
    pattern = address.host if address.port == 22 else f"[{address.host}]:{address.port}"
    try:
        known_hosts = asyncssh.import_known_hosts(f"{pattern} {address.host_key.strip()}\n")
        client_key = asyncssh.read_private_key(address.key_file)
    except (OSError, ValueError, asyncssh.KeyImportError) as bad:
        raise SftpConnectionError(f"the SFTP settings are not usable: {bad}") from bad
    try:
        connection = await asyncssh.connect(
            address.host,
            address.port,
            username=address.user,
            client_keys=[client_key],
            known_hosts=known_hosts,
            agent_path=None,
            config=[],
            connect_timeout=address.connect_timeout_s,
            keepalive_interval=30,
        )
    except asyncssh.HostKeyNotVerifiable as changed:
        raise SftpConnectionError(
            f"the SFTP server {address.label} presented a host key other than the pinned one "
            f"({changed.reason}); refusing to connect. If the server was rebuilt, set "
            "SFTP_SERVER_HOST_KEY to its new public key after checking it with its operator"
        ) from changed
    except asyncssh.PermissionDenied as refused:
        raise SftpConnectionError(
            f"the SFTP server {address.label} refused the key of user {address.user}"
        ) from refused
    except (OSError, asyncssh.Error, TimeoutError) as failed:
        raise SftpConnectionError(
            f"cannot connect to the SFTP server {address.label}: {failed}"
        ) from failed
    try:
        # Names are bytes on the server; undecodable ones come through as surrogates so
        # they can be recorded (and skipped) instead of breaking the listing.
        client = await connection.start_sftp_client(path_errors="surrogateescape")
        yield AsyncsshDropFolders(client)
    finally:
        connection.close()
        with contextlib.suppress(Exception):
            await connection.wait_closed()


def _entry(name: str, attrs: asyncssh.SFTPAttrs) -> Entry:
    mode = attrs.permissions or 0
    if stat.S_ISLNK(mode):
        kind = EntryType.LINK
    elif stat.S_ISDIR(mode):
        kind = EntryType.FOLDER
    elif stat.S_ISREG(mode):
        kind = EntryType.FILE
    else:
        kind = EntryType.OTHER
    return Entry(name=name, type=kind, size_bytes=attrs.size or 0, mtime=attrs.mtime or 0)


class AsyncsshDropFolders:
    """DropFolders over one SFTP session."""

    def __init__(self, client: asyncssh.SFTPClient) -> None:
        self._sftp = client

    async def ensure_folder(self, path: str, mode: int) -> None:
        """Creates the folder with this mode unless it exists."""
        try:
            await self._sftp.mkdir(path)
        except asyncssh.SFTPNoSuchFile as missing:
            parent = posixpath.dirname(path.rstrip("/")) or "/"
            raise FolderMissingError(
                f"{parent} does not exist on the SFTP server, so {path} cannot be made: "
                "set up the organisation's SFTP account first"
            ) from missing
        except asyncssh.SFTPFailure:
            attrs = await self._sftp.lstat(path)
            if not stat.S_ISDIR(attrs.permissions or 0):
                raise OSError(f"{path} exists and is not a folder") from None
            return
        # mkdir applies the server's umask; the mode bits are set explicitly.
        await self._sftp.chmod(path, mode)

    async def list(self, path: str) -> list[Entry]:
        """The folder's entries as lstat sees them."""
        names = await self._sftp.readdir(path)
        return [_entry(str(n.filename), n.attrs) for n in names if n.filename not in {".", ".."}]

    async def lstat(self, path: str) -> Entry | None:
        """The entry at path without following a link, or None."""
        try:
            attrs = await self._sftp.lstat(path)
        except asyncssh.SFTPNoSuchFile:
            return None
        return _entry(path.rsplit("/", 1)[-1], attrs)

    async def rename(self, source: str, target: str) -> None:
        """A rename that never replaces an existing target."""
        try:
            await self._sftp.rename(source, target)
        except asyncssh.SFTPNoSuchFile as missing:
            raise FileNotFoundError(source) from missing
        except asyncssh.SFTPFailure as failed:
            if await self.lstat(target) is not None:
                raise FileExistsError(target) from failed
            if await self.lstat(source) is None:
                raise FileNotFoundError(source) from failed
            raise OSError(f"cannot move {source} to {target}: {failed.reason}") from failed

    async def read(self, path: str, limit: int) -> bytes:
        """The whole file, refusing one larger than limit."""
        try:
            async with self._sftp.open(path, "rb") as handle:
                data: bytes = await handle.read(limit + 1)
        except asyncssh.SFTPError as failed:
            raise _os_error(failed) from failed
        if len(data) > limit:
            raise ValueError(f"{path} is larger than {limit} bytes")
        return data

    async def stream(self, path: str, chunk_bytes: int) -> AsyncIterator[bytes]:
        """The file in chunks: one chunk in memory at a time, whatever the file's size."""
        try:
            async with self._sftp.open(path, "rb", block_size=chunk_bytes) as handle:
                while True:
                    chunk: bytes = await handle.read(chunk_bytes)
                    if not chunk:
                        return
                    yield chunk
        except asyncssh.SFTPError as failed:
            raise _os_error(failed) from failed

    async def write_text(self, path: str, text: str) -> None:
        """Creates or replaces a small UTF-8 text file."""
        async with self._sftp.open(path, "w", encoding="utf-8") as handle:
            await handle.write(text)

    async def remove(self, path: str) -> None:
        """Removes a file if it is there."""
        with contextlib.suppress(asyncssh.SFTPNoSuchFile):
            await self._sftp.remove(path)


def _os_error(error: asyncssh.SFTPError) -> OSError:
    """An SFTP error as the OSError the port promises."""
    if isinstance(error, asyncssh.SFTPNoSuchFile):
        return FileNotFoundError(error.reason)
    if isinstance(error, asyncssh.SFTPPermissionDenied):
        return PermissionError(error.reason)
    return OSError(error.reason)
