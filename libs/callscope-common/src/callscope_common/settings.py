"""Settings shared by every service: where the broker, database and object store are.

Infrastructure variables carry no service prefix (the same names appear in the
Makefile, `.env.example` and the manifests); each service's own settings class
subclasses `InfraSettings` and sets `env_prefix` for its own fields.
"""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class InfraSettings(BaseSettings):
    """Connection settings for Kafka, MongoDB and S3; required, no silent defaults."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    kafka_bootstrap_servers: str = Field(validation_alias="KAFKA_BOOTSTRAP_SERVERS")
    # Consumers create missing topics (3 partitions, 1 replica): right for a local broker;
    # off where the topics are managed (Strimzi KafkaTopic resources, deploy/k8s).
    kafka_create_topics: bool = Field(default=True, validation_alias="KAFKA_CREATE_TOPICS")
    mongodb_url: SecretStr = Field(validation_alias="MONGODB_URL")
    mongodb_database: str = Field(default="callscope", validation_alias="MONGODB_DATABASE")
    s3_endpoint_url: str | None = Field(default=None, validation_alias="S3_ENDPOINT_URL")
    s3_access_key: SecretStr = Field(validation_alias="S3_ACCESS_KEY")
    s3_secret_key: SecretStr = Field(validation_alias="S3_SECRET_KEY")
    s3_region: str = Field(default="us-east-1", validation_alias="S3_REGION")
    s3_bucket: str = Field(default="callscope-audio", validation_alias="S3_BUCKET")
    log_level: str = Field(default="INFO", validation_alias="LOG_LEVEL")
