"""Ingest's settings, from the environment only."""

from __future__ import annotations

from pathlib import Path

from callscope_common.settings import InfraSettings
from pydantic import Field
from pydantic_settings import SettingsConfigDict


class IngestSettings(InfraSettings):
    """Env prefix INGEST_; infrastructure variables come from InfraSettings."""

    model_config = SettingsConfigDict(env_prefix="INGEST_", extra="ignore")

    grpc_port: int = 50052
    consumer_group: str = "ingest"
    # Where uploads are received before validation; defaults to the system temp dir.
    spool_dir: Path | None = None
    max_upload_bytes: int = 500 * 1024 * 1024
    # An upload that sends nothing for this long mid-file is abandoned (its part deleted).
    upload_idle_timeout_s: float = Field(default=60.0, gt=0)
    min_duration_s: float = 10.0
    max_duration_s: float = 3 * 60 * 60
    directory_addr: str = Field(validation_alias="DIRECTORY_ADDR")
