"""The gateway's settings, from the environment only."""

from __future__ import annotations

from pathlib import Path

from callscope_common.settings import InfraSettings
from pydantic import Field
from pydantic_settings import SettingsConfigDict


class GatewaySettings(InfraSettings):
    """Env prefix GATEWAY_; peers are `<PEER>_ADDR`; infrastructure comes from InfraSettings."""

    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore")

    http_host: str = "127.0.0.1"
    http_port: int = 8080
    grpc_port: int = 50051
    # When set, the demo organisation, login, campaign and API key are created on
    # first start and their raw values written here (local development only).
    demo_credentials_file: Path | None = None
    ingest_addr: str = Field(validation_alias="INGEST_ADDR")
    transcripts_addr: str = Field(validation_alias="TRANSCRIPTS_ADDR")
    analyses_addr: str = Field(validation_alias="ANALYSES_ADDR")
    # The sftp service's gRPC API (SftpBatches): the batches and files the API shows.
    sftp_addr: str = Field(validation_alias="SFTP_ADDR")
    # How long a login session lasts (GATEWAY_SESSION_TTL_S), 12 hours by default.
    session_ttl_s: int = Field(default=12 * 3600, ge=60)
    # Requests per minute an API key may make unless the key sets its own limit.
    api_key_rate_limit_per_minute: int = Field(default=600, ge=1)
