"""Tells an outage of a server we depend on from a failure of the work itself.

A handler that fails because MongoDB, Kafka, S3 or a peer service is unreachable
has nothing wrong with its record: dead-lettering it after a few quick retries
would turn a 30-second restart into calls stuck until someone replays a DLQ. The
consumer keeps retrying such failures for as long as the outage lasts instead
(see kafka.py); everything else counts towards the bounded retries.
"""

from __future__ import annotations

import grpc
from aiokafka import errors as kafka_errors
from botocore import exceptions as botocore_exceptions
from pymongo import errors as mongo_errors

_OUTAGE_TYPES: tuple[type[BaseException], ...] = (
    # MongoDB: no server to select, a dropped connection, a network timeout.
    mongo_errors.ConnectionFailure,
    # Kafka: the broker is down or has no leader for the partition yet.
    kafka_errors.KafkaConnectionError,
    kafka_errors.KafkaTimeoutError,
    kafka_errors.KafkaUnavailableError,
    kafka_errors.NotLeaderForPartitionError,
    kafka_errors.LeaderNotAvailableError,
    kafka_errors.RequestTimedOutError,
    # S3: the endpoint does not answer.
    botocore_exceptions.EndpointConnectionError,
    botocore_exceptions.ConnectTimeoutError,
    botocore_exceptions.ReadTimeoutError,
    botocore_exceptions.ConnectionClosedError,
    ConnectionError,
)

# S3 answers that mean "the store is there but cannot serve right now".
_S3_BUSY_CODES = frozenset({"ServiceUnavailable", "SlowDown", "503", "XMinioServerNotInitialized"})
# gRPC codes of a peer that is restarting or overloaded, not of a refused request.
_GRPC_OUTAGE_CODES = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED})


def is_outage(error: BaseException) -> bool:
    """Whether error, or an error it was raised from, says a server we need is unreachable."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if _is_outage_itself(current):
            return True
        current = current.__cause__ or current.__context__
    return False


def _is_outage_itself(error: BaseException) -> bool:
    if isinstance(error, _OUTAGE_TYPES):
        return True
    if isinstance(error, botocore_exceptions.ClientError):
        code = str(error.response.get("Error", {}).get("Code", ""))
        return code in _S3_BUSY_CODES
    if isinstance(error, grpc.aio.AioRpcError):
        return error.code() in _GRPC_OUTAGE_CODES
    return False
