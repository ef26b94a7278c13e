"""Analysis settings, from the environment only."""

from __future__ import annotations

from callscope_common.settings import InfraSettings
from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict


class AnalysisSettings(InfraSettings):
    """Analysis's own settings (prefix `ANALYSIS_`) and its peers' addresses (`<PEER>_ADDR`)."""

    model_config = SettingsConfigDict(env_prefix="ANALYSIS_", extra="ignore", populate_by_name=True)

    grpc_port: int = 50054
    consumer_group: str = "analysis"
    directory_addr: str = Field(validation_alias="DIRECTORY_ADDR")
    transcripts_addr: str = Field(validation_alias="TRANSCRIPTS_ADDR")

    # Analysis never touches object storage, so it does not demand S3 credentials
    # (a Deployment should not need a Secret it never uses).
    s3_access_key: SecretStr = Field(default=SecretStr(""), validation_alias="S3_ACCESS_KEY")
    s3_secret_key: SecretStr = Field(default=SecretStr(""), validation_alias="S3_SECRET_KEY")
