"""The fault suite's own Kafka, FerretDB, MinIO and sshd, which it kills and restarts.

They are the `faults` profile of deploy/local/stack.py (its own ports and data folder), never
the servers `make test` started for the other tiers: killing those would break every other
test of the run. The stack script is imported, not copied, so the servers run exactly as
`make test` runs them; a killed server is started again from the same command line and data
folder (Kafka with its formatted storage, FerretDB with its SQLite files, MinIO with its
drive), which is what a restarted pod with its persistent volume does.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import os
import signal
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from tests.support.infra import Infra

ROOT = Path(__file__).resolve().parents[2]
PROFILE = "faults"
READY_TIMEOUT_S = 120.0


def _stack_script() -> ModuleType:
    """deploy/local/stack.py as a module (it imports its sibling sftpd.py by plain name)."""
    folder = str(ROOT / "deploy" / "local")
    if folder not in sys.path:
        sys.path.insert(0, folder)
    return importlib.import_module("stack")


@dataclass
class FaultStack:
    """The started servers by name (`kafka`, `ferretdb`, `minio`, `sftpd`) and their variables."""

    env: dict[str, str]
    servers: dict[str, Any]  # stack.Child: the script is not type-checked, so neither is this
    log_dir: Path

    @property
    def infra(self) -> Infra:
        """Where the services and the checks find the servers."""
        return Infra(
            kafka_bootstrap_servers=self.env["KAFKA_BOOTSTRAP_SERVERS"],
            mongodb_url=self.env["MONGODB_URL"],
            s3_endpoint_url=self.env["S3_ENDPOINT_URL"],
            s3_access_key=self.env["S3_ACCESS_KEY"],
            s3_secret_key=self.env["S3_SECRET_KEY"],
            s3_region=self.env["S3_REGION"],
        )

    def sftp_settings(self) -> dict[str, str]:
        """The SFTP server's variables, as the sftp service reads them (prefix SFTP_)."""
        return {key: value for key, value in self.env.items() if key.startswith("SFTP_")}

    async def kill(self, name: str) -> None:
        """SIGKILL the server's process group (no clean-up of any kind) and reap it."""
        server = self.servers[name]
        server.signal(signal.SIGKILL)
        await asyncio.to_thread(server.proc.wait)

    async def start(self, name: str) -> float:
        """Starts a killed server again and waits until it answers; returns the seconds it took.

        The process is spawned from the event loop's (main) thread: the stack's children die
        with the thread that spawned them (PR_SET_PDEATHSIG), so never from a worker thread.
        """
        server = self.servers[name]
        assert not server.running(), f"{name} is still running"
        server.close_log()
        started = time.monotonic()
        server.start()
        deadline = started + READY_TIMEOUT_S
        while not await asyncio.to_thread(server.ready):
            if not server.running():
                raise AssertionError(f"{name} exited while restarting; see {server.log}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{name} not ready {READY_TIMEOUT_S:.0f}s after a restart")
            await asyncio.sleep(0.2)
        return time.monotonic() - started

    async def down(self) -> list[str]:
        """The servers that are not running or do not answer their readiness probe."""
        return [
            name
            for name, server in self.servers.items()
            if not server.running() or not await asyncio.to_thread(server.ready)
        ]


@contextlib.contextmanager
def fault_stack() -> Iterator[FaultStack]:
    """Starts the `faults` profile's servers with the stack script; always stops them.

    The Mongo-wire server is always our own FerretDB, even when MONGODB_URL names another
    database (as it does under `make test`): the suite kills it.
    """
    stack = _stack_script()
    profile = stack.PROFILES[PROFILE]
    with contextlib.ExitStack() as exits:
        outer_mongo = os.environ.pop("MONGODB_URL", None)
        try:
            env, children = exits.enter_context(stack.infrastructure(profile))
        finally:
            if outer_mongo is not None:
                os.environ["MONGODB_URL"] = outer_mongo
        yield FaultStack(dict(env), {child.name: child for child in children}, profile.log_dir)
