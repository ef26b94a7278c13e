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
    # Where Prometheus scrapes this service's /metrics; 0 turns the exposition off.
    metrics_port: int = Field(default=9464, ge=0, le=65535)
    consumer_group: str = "ingest"
    # Where uploads are received before validation; defaults to the system temp dir.
    spool_dir: Path | None = None
    max_upload_bytes: int = 500 * 1024 * 1024
    # An upload that sends nothing for this long mid-file is abandoned (its part deleted).
    upload_idle_timeout_s: float = Field(default=60.0, gt=0)
    # A job item still UPLOADING with no progress written for this long lost its ingest
    # mid-file; the sweep settles it (uploaded if its call was stored, else waiting again).
    upload_claim_stale_s: float = Field(default=900.0, gt=0)
    min_duration_s: float = 10.0
    max_duration_s: float = 3 * 60 * 60
    directory_addr: str = Field(validation_alias="DIRECTORY_ADDR")
    # The outbox (docs/reliability.md): how long a request waits for the broker to take a
    # call's hand-over, and how often / after how long the relay sends unsent ones.
    hand_over_timeout_s: float = Field(default=5.0, gt=0)
    relay_interval_s: float = Field(default=5.0, gt=0)
    relay_grace_s: float = Field(default=15.0, ge=0)
    # The watchdog: a queued call whose status has not moved for stale_after_s plus
    # stale_per_audio_s per second of audio, while the stages' consumer groups have
    # nothing queued, is sent again, at most max_redrives times, then FAILED.
    watchdog_interval_s: float = Field(default=60.0, gt=0)
    watchdog_stale_after_s: float = Field(default=600.0, gt=0)
    watchdog_stale_per_audio_s: float = Field(default=1.0, ge=0)
    watchdog_max_redrives: int = Field(default=3, ge=0)
    # The consumer groups of the stages whose backlog the watchdog waits for.
    watchdog_stage_groups: str = "transcription,analysis"
