"""Callscope's Prometheus metrics: every name, label and bucket, and how they are exposed.

prometheus_client keeps metrics in one registry per process and refuses to register a
name twice, so each metric is defined here once, at import, and every service records
into the same objects; docs/observability.md says what each one means and what to alert
on. Label values are always drawn from small fixed sets (route templates, status codes,
enum names), never from ids or free text, so that no label can grow without bound.
"""

from __future__ import annotations

import logging

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    start_http_server,
)

logger = logging.getLogger(__name__)

# Requests: from a few milliseconds (a lookup) to minutes (a 500 MB upload streamed through).
REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
# Pipeline stages: a short call's analysis takes a second, a 3-hour call's transcription hours.
STAGE_BUCKETS = (0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 10800)

GRPC_SERVER_REQUESTS = Counter(
    "callscope_grpc_server_requests",
    "gRPC calls served, by gRPC service, method and status code.",
    ["service", "method", "code"],
)
GRPC_SERVER_SECONDS = Histogram(
    "callscope_grpc_server_seconds",
    "Time from a gRPC call's start to its status (streams included).",
    ["service", "method"],
    buckets=REQUEST_BUCKETS,
)
HTTP_REQUESTS = Counter(
    "callscope_http_requests",
    "HTTP requests the gateway answered, by method, route template and status.",
    ["method", "route", "status"],
)
HTTP_REQUEST_SECONDS = Histogram(
    "callscope_http_request_seconds",
    "Time from an HTTP request's arrival to the end of its answer.",
    ["method", "route"],
    buckets=REQUEST_BUCKETS,
)
UPLOADS = Counter(
    "callscope_uploads",
    "Uploads ingest finished, by source (UI, API, BULK, SFTP) and outcome.",
    ["source", "outcome"],
)
STAGE_SECONDS = Histogram(
    "callscope_stage_seconds",
    "Time one pipeline stage's handler took for one event (each retry counts on its own).",
    ["stage", "outcome"],
    buckets=STAGE_BUCKETS,
)
CONSUMER_RECORDS = Counter(
    "callscope_consumer_records",
    "Kafka records a consumer handled, retried or dead-lettered, by topic.",
    ["topic", "outcome"],
)
CONSUMER_LAG = Gauge(
    "callscope_consumer_lag",
    "Records of a partition this member holds that its group has not committed yet.",
    ["group", "topic", "partition"],
)
DLQ_RECORDS = Counter(
    "callscope_dlq_records",
    "Records this process sent to <topic>.dlq, by source topic and reason.",
    ["topic", "reason"],
)
DLQ_DEPTH = Gauge(
    "callscope_dlq_depth",
    "Records held in <topic>.dlq (end offsets minus start offsets), by source topic.",
    ["topic"],
)
PROVIDER_REQUESTS = Counter(
    "callscope_provider_requests",
    "HTTP requests to a hosted provider (each attempt), by provider and outcome.",
    ["provider", "outcome"],
)
PROVIDER_RETRIES = Counter(
    "callscope_provider_retries",
    "Provider requests sent again after a failure that may pass, by provider and reason.",
    ["provider", "reason"],
)
CALLS = Gauge(
    "callscope_calls",
    "Calls stored, by status (sampled from the calls collection).",
    ["status"],
)


def serve_metrics(port: int, host: str = "0.0.0.0") -> None:
    """Serves this process's metrics at http://host:port/metrics in a daemon thread; 0 = off.

    A thread rather than the event loop: a scrape is answered even while the loop is busy.
    A port already taken (a second replica started by hand on one machine) is logged and
    the service runs on without metrics: losing them must not stop the pipeline.
    """
    if not port:
        return
    try:
        start_http_server(port, addr=host)
    except OSError as error:
        logger.error(
            "metrics not served: the port is taken",
            extra={"metrics_port": port, "error": str(error)},
        )


def exposition() -> tuple[bytes, str]:
    """This process's metrics in Prometheus' text format, and that format's content type."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def outcome_of_status(status: int) -> str:
    """A provider answer's outcome label: `ok` for 2xx, else `http_<status>`."""
    return "ok" if 200 <= status < 300 else f"http_{status}"
