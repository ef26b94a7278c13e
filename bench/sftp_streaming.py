"""How the sftp service reads a 500 MB recording from the real SFTP server: memory and speed.

The service streams a file to ingest chunk by chunk (`AsyncsshDropFolders.stream`), so its
memory must not grow with the file. This reads a 500 MiB file from the stack's OpenSSH
server through that code and prints, as ratios against baselines measured in the same run:

- the highest growth of the process's RSS while streaming 500 MiB, against the same while
  streaming a 5 MiB file first (bounded memory: the ratio stays near 1, not near 100);
- the streaming throughput against asyncssh's own parallel download (`SFTPClient.get`) of
  the same file, the fastest way this library reads it.

Run with the stack's servers: `make bench`, or
`python deploy/local/stack.py exec --profile test -- .venv/bin/python bench/sftp_streaming.py`.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import resource
import subprocess
import sys
import time
import uuid
from pathlib import Path

from callscope_sftp.adapters.sftp_server import ServerAddress, connect

ROOT = Path(__file__).resolve().parent.parent
BIG_BYTES = 500 * 1024 * 1024
SMALL_BYTES = 5 * 1024 * 1024
CHUNK_BYTES = 256 * 1024


def _rss_mib() -> float:
    """The process's resident memory now (not the lifetime peak, which file writing sets)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * resource.getpagesize() / (1024 * 1024)


def _write_file(path: Path, size: int, owner: str) -> None:
    block = os.urandom(8 * 1024 * 1024)
    with path.open("wb") as handle:
        written = 0
        while written < size:
            part = block[: min(len(block), size - written)]
            handle.write(part)
            written += len(part)
    account = pwd.getpwnam(owner)
    os.chown(path, account.pw_uid, account.pw_gid)


async def _stream(address: ServerAddress, remote: str) -> tuple[int, float, float]:
    """(bytes, seconds, highest RSS growth in MiB seen while streaming)."""
    async with connect(address) as drop:
        before = _rss_mib()
        highest = before
        started = time.perf_counter()
        total = 0
        async for chunk in drop.stream(remote, CHUNK_BYTES):
            total += len(chunk)
            highest = max(highest, _rss_mib())
        return total, time.perf_counter() - started, max(highest - before, 0.01)


async def _download(address: ServerAddress, remote: str) -> float:
    import asyncssh  # noqa: PLC0415 - the baseline's own client, not the service's adapter

    async with (
        asyncssh.connect(
            address.host,
            address.port,
            username=address.user,
            client_keys=[address.key_file],
            known_hosts=asyncssh.import_known_hosts(
                f"[{address.host}]:{address.port} {address.host_key}\n"
            ),
            agent_path=None,
            config=[],
        ) as connection,
        connection.start_sftp_client() as sftp,
    ):
        started = time.perf_counter()
        await sftp.get(remote, os.devnull)
        return time.perf_counter() - started


async def _measure(address: ServerAddress, org: str) -> tuple[float, float, float, float]:
    """(RSS growth small, RSS growth big, stream seconds, download seconds)."""
    small_total, _, small_growth = await _stream(address, f"/{org}/small.wav")
    big_total, stream_s, big_growth = await _stream(address, f"/{org}/big.wav")
    download_s = await _download(address, f"/{org}/big.wav")
    assert small_total == SMALL_BYTES and big_total == BIG_BYTES
    return small_growth, big_growth, stream_s, download_s


def main() -> int:
    """Prepares the files, measures, prints the figures."""
    missing = [v for v in ("CALLSCOPE_SFTP_BASE", "SFTP_SERVER_HOST_KEY") if not os.getenv(v)]
    if missing:
        print(f"needs the stack's SFTP server ({', '.join(missing)} not set)", file=sys.stderr)
        return 1
    base = Path(os.environ["CALLSCOPE_SFTP_BASE"])
    org = f"bench{uuid.uuid4().hex[:8]}"
    sftpd = [sys.executable, str(ROOT / "deploy/local/sftpd.py")]
    subprocess.run([*sftpd, "org", org, "--base", str(base)], check=True)
    address = ServerAddress(
        host=os.environ["SFTP_SERVER_HOST"],
        port=int(os.environ["SFTP_SERVER_PORT"]),
        user=os.environ["SFTP_SERVER_USER"],
        key_file=os.environ["SFTP_SERVER_KEY_FILE"],
        host_key=os.environ["SFTP_SERVER_HOST_KEY"],
    )
    folder = base / "root" / org
    try:
        _write_file(folder / "small.wav", SMALL_BYTES, address.user)
        _write_file(folder / "big.wav", BIG_BYTES, address.user)
        small_growth, big_growth, stream_s, download_s = asyncio.run(_measure(address, org))
    finally:
        subprocess.run([*sftpd, "remove-org", org, "--base", str(base)], check=False)
    mib = 1024 * 1024
    print(f"streamed {BIG_BYTES // mib} MiB in {CHUNK_BYTES // 1024} KiB chunks from OpenSSH")
    print(
        f"RSS growth while streaming: {big_growth:.1f} MiB for {BIG_BYTES // mib} MiB vs "
        f"{small_growth:.1f} MiB for {SMALL_BYTES // mib} MiB -> ratio "
        f"{big_growth / small_growth:.2f} for a {BIG_BYTES // SMALL_BYTES}x larger file"
    )
    print(
        f"throughput: {BIG_BYTES / mib / stream_s:.0f} MiB/s streamed vs "
        f"{BIG_BYTES / mib / download_s:.0f} MiB/s asyncssh parallel get -> ratio "
        f"{download_s / stream_s:.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
