"""Analysis settings, from the environment only."""

from __future__ import annotations

from callscope_common.settings import InfraSettings
from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict


class AnalysisSettings(InfraSettings):
    """Analysis's own settings (prefix `ANALYSIS_`) and its peers' addresses (`<PEER>_ADDR`)."""

    model_config = SettingsConfigDict(env_prefix="ANALYSIS_", extra="ignore", populate_by_name=True)

    grpc_port: int = 50054
    # Where Prometheus scrapes this service's /metrics; 0 turns the exposition off.
    metrics_port: int = Field(default=9466, ge=0, le=65535)
    consumer_group: str = "analysis"
    # Calls analysed at once (one per partition, each partition still in order): Claude
    # requests wait on the network, so a few in flight keep the stage busy.
    max_in_flight_calls: int = Field(default=4, ge=1, le=64)
    directory_addr: str = Field(validation_alias="DIRECTORY_ADDR")
    transcripts_addr: str = Field(validation_alias="TRANSCRIPTS_ADDR")

    # Claude: the campaigns whose evaluator is "claude" need a key; without one they fail
    # with a reason that says so. base_url is for tests and proxies (empty: the SDK's default).
    anthropic_api_key: SecretStr = SecretStr("")
    anthropic_base_url: str = ""
    claude_model: str = "claude-sonnet-4-6"
    claude_max_tokens: int = Field(default=4096, ge=256, le=64000)
    claude_checks_per_request: int = Field(default=15, ge=1, le=100)
    claude_max_attempts: int = Field(default=5, ge=1, le=20)
    claude_max_concurrency: int = Field(default=4, ge=1, le=256)
    claude_timeout_s: float = Field(default=120.0, gt=0)
    # Message Batches (re-runs that ask for them): how often queued analyses are sent as
    # one batch and ended batches collected, and how many calls go in one batch.
    claude_batch_interval_s: float = Field(default=60.0, gt=0)
    claude_batch_max_items: int = Field(default=1000, ge=1, le=10000)

    # Analysis never touches object storage, so it does not demand S3 credentials
    # (a Deployment should not need a Secret it never uses).
    s3_access_key: SecretStr = Field(default=SecretStr(""), validation_alias="S3_ACCESS_KEY")
    s3_secret_key: SecretStr = Field(default=SecretStr(""), validation_alias="S3_SECRET_KEY")
