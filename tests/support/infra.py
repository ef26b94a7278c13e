"""The real servers `make test` starts (Kafka, FerretDB, MinIO), as the tests see them."""

from __future__ import annotations

import os
from dataclasses import dataclass

import pytest

_REQUIRED = ("KAFKA_BOOTSTRAP_SERVERS", "MONGODB_URL", "S3_ENDPOINT_URL", "S3_ACCESS_KEY")


@dataclass(frozen=True)
class Infra:
    """Where the servers listen, and the environment that points a service at them."""

    kafka_bootstrap_servers: str
    mongodb_url: str
    s3_endpoint_url: str
    s3_access_key: str
    s3_secret_key: str
    s3_region: str

    def environment(self, *, database: str, bucket: str) -> dict[str, str]:
        """Variables for a service process using this database and bucket."""
        return {
            "KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap_servers,
            "MONGODB_URL": self.mongodb_url,
            "MONGODB_DATABASE": database,
            "S3_ENDPOINT_URL": self.s3_endpoint_url,
            "S3_ACCESS_KEY": self.s3_access_key,
            "S3_SECRET_KEY": self.s3_secret_key,
            "S3_REGION": self.s3_region,
            "S3_BUCKET": bucket,
        }


def infra_from_environment() -> Infra:
    """The servers named by the environment; fails the test when they are not there."""
    missing = [name for name in _REQUIRED if not os.environ.get(name)]
    if missing:
        pytest.fail(
            f"{', '.join(missing)} not set: integration and e2e tests run against the real "
            "servers that `make test` starts (python deploy/local/stack.py exec --profile test)"
        )
    return Infra(
        kafka_bootstrap_servers=os.environ["KAFKA_BOOTSTRAP_SERVERS"],
        mongodb_url=os.environ["MONGODB_URL"],
        s3_endpoint_url=os.environ["S3_ENDPOINT_URL"],
        s3_access_key=os.environ["S3_ACCESS_KEY"],
        s3_secret_key=os.environ.get("S3_SECRET_KEY", ""),
        s3_region=os.environ.get("S3_REGION", "us-east-1"),
    )
