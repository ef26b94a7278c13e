"""The sftp service's settings, from the environment only."""

from __future__ import annotations

import os
import socket
import uuid

from callscope_common.settings import InfraSettings
from pydantic import Field
from pydantic_settings import SettingsConfigDict


def _default_replica_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


class SftpSettings(InfraSettings):
    """Env prefix SFTP_; peers are `<PEER>_ADDR`; the database comes from InfraSettings.

    The SFTP server: `SFTP_SERVER_HOST`, `SFTP_SERVER_PORT`, `SFTP_SERVER_USER`,
    `SFTP_SERVER_KEY_FILE` (the account's private key) and `SFTP_SERVER_HOST_KEY` (the
    server's public host key line, e.g. `ssh-ed25519 AAAA...`: pinned, any other refused).
    """

    model_config = SettingsConfigDict(env_prefix="SFTP_", extra="ignore", populate_by_name=True)

    grpc_port: int = 50055
    # Where Prometheus scrapes this service's /metrics; 0 turns the exposition off.
    metrics_port: int = Field(default=9467, ge=0, le=65535)
    directory_addr: str = Field(validation_alias="DIRECTORY_ADDR")
    ingest_addr: str = Field(validation_alias="INGEST_ADDR")

    server_host: str = "127.0.0.1"
    server_port: int = 2222
    server_user: str = "callscope-sweeper"
    server_key_file: str = ""
    server_host_key: str = ""
    connect_timeout_s: float = 10.0

    # How often every enabled campaign folder is looked at.
    sweep_interval_s: float = Field(default=5.0, gt=0)
    # A file unchanged for this long is completely written (unless a `.done` marker says so
    # sooner).
    settle_s: float = Field(default=10.0, ge=0)
    # A campaign belongs to one replica for a lease; a dead replica's campaigns move to
    # another within two leases.
    lease_s: float = Field(default=30.0, gt=0)
    max_csv_bytes: int = Field(default=5 * 1024 * 1024, gt=0)
    read_chunk_bytes: int = Field(default=256 * 1024, gt=0)
    max_import_attempts: int = Field(default=5, gt=0)
    # Campaign folders swept at the same time by one replica.
    max_parallel_campaigns: int = Field(default=4, gt=0)
    replica_id: str = Field(default_factory=_default_replica_id)
