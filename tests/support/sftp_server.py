"""The real OpenSSH SFTP server `make test` starts, as the tests see it: accounts and clients.

Accounts are made with deploy/local/sftpd.py (the stack's own provisioning, run as a command:
it needs root, as the stack does). Customers log in with the real `sftp` client in batch mode,
or with asyncssh, the library the sftp service uses, for uploads a test wants to control
byte by byte (a slow writer).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import asyncssh
import pytest

ROOT = Path(__file__).resolve().parents[2]
SFTPD = ROOT / "deploy" / "local" / "sftpd.py"
_REQUIRED = (
    "SFTP_SERVER_HOST",
    "SFTP_SERVER_PORT",
    "SFTP_SERVER_USER",
    "SFTP_SERVER_KEY_FILE",
    "SFTP_SERVER_HOST_KEY",
    "CALLSCOPE_SFTP_BASE",
)
SFTP_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class SftpLogin:
    """Who logs in, with which private key, trusting which host key."""

    user: str
    key_file: Path
    known_hosts: Path


@dataclass(frozen=True)
class CustomerAccount(SftpLogin):
    """A customer's account: chrooted, home /<org_folder>, member of the organisation's group."""

    org_folder: str


@dataclass(frozen=True)
class SftpResult:
    """What a batch run of the `sftp` client printed (stdout and stderr) and its exit status."""

    returncode: int
    output: str

    @property
    def ok(self) -> bool:
        """Every command of the batch succeeded."""
        return self.returncode == 0


class SlowUpload:
    """An open remote file a test writes to piece by piece (the upload is not finished yet)."""

    def __init__(self, file: asyncssh.SFTPClientFile) -> None:
        self._file = file
        self.written = 0

    async def write(self, data: bytes) -> None:
        """Appends data; the server has it (and its size shows it) when this returns."""
        await self._file.write(data)
        self.written += len(data)


def _keygen(path: Path, comment: str) -> str:
    """A new ed25519 key pair (private 0600); returns the public key line."""
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
        check=True,
        capture_output=True,
    )
    return path.with_name(path.name + ".pub").read_text().strip()


class SftpServer:
    """The stack's SFTP server: provisions organisations and customers, drives clients.

    Everything it makes is recorded; `close()` removes it, and `removing_new_accounts()`
    removes the accounts made inside it (the per-test teardown).
    """

    def __init__(
        self,
        *,
        host: str,
        port: int,
        sweeper_user: str,
        sweeper_key: Path,
        host_key: str,
        base: Path,
        work_dir: Path,
    ) -> None:
        self.host = host
        self.port = port
        self.host_key = host_key
        self.base = base
        self.work_dir = work_dir
        self.known_hosts = self.known_hosts_file(host_key, name="known_hosts")
        self.sweeper = SftpLogin(sweeper_user, sweeper_key, self.known_hosts)
        self._prefix = f"cst-{uuid.uuid4().hex[:6]}"
        self._numbers = itertools.count(1)
        self._accounts: list[CustomerAccount] = []
        self._orgs: list[str] = []

    # ---- accounts ---------------------------------------------------------------------------

    def _sftpd(self, *args: str) -> None:
        done = subprocess.run(
            [sys.executable, str(SFTPD), args[0], "--base", str(self.base), *args[1:]],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"sftpd.py {' '.join(args)}: {done.stderr.strip()}")

    def org_dir(self, org_folder: str) -> Path:
        """The organisation's folder on the host (it is /<org_folder> inside the chroot)."""
        return self.base / "root" / org_folder

    def provision_org(self, org_folder: str) -> Path:
        """The organisation's group and folder (sweeper-owned, 2750), as the stack makes them."""
        self._sftpd("org", org_folder)
        if org_folder not in self._orgs:
            self._orgs.append(org_folder)
        return self.org_dir(org_folder)

    def customer(self, org_folder: str) -> CustomerAccount:
        """A new customer account of the organisation with a fresh key pair of its own."""
        if not self.org_dir(org_folder).is_dir():
            self.provision_org(org_folder)
        user = f"{self._prefix}-{next(self._numbers)}"
        folder = self.work_dir / user
        folder.mkdir(mode=0o700)
        key_file = folder / "id_ed25519"
        _keygen(key_file, user)
        self._sftpd("customer", org_folder, user, str(key_file.with_name("id_ed25519.pub")))
        account = CustomerAccount(user, key_file, self.known_hosts, org_folder)
        self._accounts.append(account)
        return account

    def remove(self, account: CustomerAccount) -> None:
        """Deletes the Unix account and its authorized key."""
        self._sftpd("remove-customer", account.user)
        with contextlib.suppress(ValueError):
            self._accounts.remove(account)

    def remove_org(self, org_folder: str) -> None:
        """Deletes the organisation's folder, its files and its group."""
        self._sftpd("remove-org", org_folder)
        with contextlib.suppress(ValueError):
            self._orgs.remove(org_folder)

    @contextlib.contextmanager
    def removing_new_accounts(self) -> Iterator[None]:
        """Removes the customer accounts made inside the block when it ends."""
        before = list(self._accounts)
        try:
            yield
        finally:
            for account in [a for a in self._accounts if a not in before]:
                self.remove(account)

    def close(self) -> None:
        """Removes every account and organisation folder this object made."""
        for account in list(self._accounts):
            self.remove(account)
        for org in list(self._orgs):
            self.remove_org(org)

    # ---- keys -------------------------------------------------------------------------------

    def new_key(self, name: str) -> Path:
        """A key pair the server knows nothing about."""
        path = self.work_dir / f"{name}-{uuid.uuid4().hex[:6]}"
        _keygen(path, name)
        return path

    def known_hosts_file(self, host_key: str, *, name: str | None = None) -> Path:
        """A known_hosts file that pins this server's address to the given host key line."""
        path = self.work_dir / (name or f"known_hosts-{uuid.uuid4().hex[:6]}")
        path.write_text(f"[{self.host}]:{self.port} {host_key}\n")
        return path

    # ---- the `sftp` client --------------------------------------------------------------------

    def sftp(
        self,
        login: SftpLogin,
        commands: Sequence[str],
        *,
        key_file: Path | None = None,
        known_hosts: Path | None = None,
        verbose: bool = False,
        cwd: Path | None = None,
    ) -> SftpResult:
        """Runs OpenSSH's `sftp -b -` with these commands (the batch stops at the first error,
        unless the command starts with '-'); never asks anything, trusts only known_hosts."""
        argv = [
            "sftp",
            "-F",
            "none",  # no ~/.ssh/config of whoever runs the tests
            "-b",
            "-",
            "-i",
            str(key_file or login.key_file),
            "-P",
            str(self.port),
            "-o",
            f"UserKnownHostsFile={known_hosts or login.known_hosts}",
            "-o",
            "GlobalKnownHostsFile=/dev/null",
            "-o",
            "StrictHostKeyChecking=yes",
            "-o",
            "BatchMode=yes",
            "-o",
            "IdentitiesOnly=yes",
            "-o",
            "IdentityAgent=none",
            "-o",
            "ConnectTimeout=10",
            *(["-v"] if verbose else []),
            f"{login.user}@{self.host}",
        ]
        done = subprocess.run(
            argv,
            input="\n".join(commands) + "\n",
            capture_output=True,
            text=True,
            timeout=SFTP_TIMEOUT_S,
            check=False,
            cwd=cwd or self.work_dir,
        )
        return SftpResult(done.returncode, done.stdout + done.stderr)

    async def sftp_async(
        self,
        login: SftpLogin,
        commands: Sequence[str],
        *,
        key_file: Path | None = None,
        known_hosts: Path | None = None,
    ) -> SftpResult:
        """`sftp()` in a thread, for tests whose event loop must keep running meanwhile."""
        return await asyncio.to_thread(
            self.sftp, login, commands, key_file=key_file, known_hosts=known_hosts
        )

    # ---- asyncssh -----------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def connect(
        self, login: SftpLogin, *, known_hosts: Path | None = None
    ) -> AsyncIterator[asyncssh.SFTPClient]:
        """An asyncssh SFTP session, configured like the sftp service's: this key only, the
        pinned host key only, no agent, no ~/.ssh/config."""
        async with (
            asyncssh.connect(
                self.host,
                port=self.port,
                username=login.user,
                client_keys=[str(login.key_file)],
                known_hosts=str(known_hosts or login.known_hosts),
                agent_path=None,
                config=None,
                preferred_auth="publickey",
                connect_timeout=10,
            ) as connection,
            connection.start_sftp_client() as client,
        ):
            yield client

    async def read_file(self, login: SftpLogin, remote_path: str) -> bytes:
        """A remote file's bytes, read as this login (asyncssh.SFTPError when refused)."""
        async with self.connect(login) as client, client.open(remote_path, "rb") as file:
            data: bytes = await file.read()
            return data

    @contextlib.asynccontextmanager
    async def open_upload(self, login: SftpLogin, remote_path: str) -> AsyncIterator[SlowUpload]:
        """A file being uploaded: created at once, written by the test, closed at the end."""
        async with self.connect(login) as client, client.open(remote_path, "wb") as file:
            yield SlowUpload(file)

    async def slow_write(
        self,
        login: SftpLogin,
        remote_path: str,
        data: bytes,
        *,
        split_at: int | None = None,
        between: float | Callable[[], Awaitable[object]] = 1.0,
    ) -> None:
        """Writes the first part of data, then `between` (seconds of pause, or a coroutine the
        test runs while the file is half there), then the rest."""
        cut = len(data) // 2 if split_at is None else split_at
        async with self.open_upload(login, remote_path) as upload:
            await upload.write(data[:cut])
            if callable(between):
                await between()
            else:
                await asyncio.sleep(between)  # the writer is slow on purpose
            await upload.write(data[cut:])


def sftp_server_from_environment(work_dir: Path) -> SftpServer:
    """The server the stack started; fails the test (never skips) when there is none."""
    unavailable = os.environ.get("CALLSCOPE_SFTP_UNAVAILABLE")
    if unavailable:
        pytest.fail(f"no SFTP server in this stack: {unavailable}")
    missing = [name for name in _REQUIRED if not os.environ.get(name)]
    if missing:
        pytest.fail(
            f"{', '.join(missing)} not set: SFTP tests run against the real sshd that "
            "`make test` starts (python deploy/local/stack.py exec --profile test)"
        )
    return SftpServer(
        host=os.environ["SFTP_SERVER_HOST"],
        port=int(os.environ["SFTP_SERVER_PORT"]),
        sweeper_user=os.environ["SFTP_SERVER_USER"],
        sweeper_key=Path(os.environ["SFTP_SERVER_KEY_FILE"]),
        host_key=os.environ["SFTP_SERVER_HOST_KEY"],
        base=Path(os.environ["CALLSCOPE_SFTP_BASE"]),
        work_dir=work_dir,
    )
