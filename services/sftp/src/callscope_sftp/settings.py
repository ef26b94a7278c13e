"""The sftp service's settings, from the environment only."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class SftpSettings(BaseSettings):
    """Env prefix SFTP_; peers are `<PEER>_ADDR`."""

    model_config = SettingsConfigDict(env_prefix="SFTP_", extra="ignore", populate_by_name=True)

    grpc_port: int = 50055
    directory_addr: str = Field(validation_alias="DIRECTORY_ADDR")
    ingest_addr: str = Field(validation_alias="INGEST_ADDR")
    log_level: str = Field(default="INFO", validation_alias="LOG_LEVEL")
