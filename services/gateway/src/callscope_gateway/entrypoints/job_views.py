"""JSON shapes of jobs (multi-file and bulk uploads) and bulk CSV previews, and the little
helpers other views of peers' messages share."""

from __future__ import annotations

from typing import Any

from callscope.v1 import common_pb2, ingest_pb2
from google.protobuf.timestamp_pb2 import Timestamp


def status_name(enum: Any, value: int, prefix: str) -> str | None:
    """A protobuf enum value's name without its prefix; None for UNSPECIFIED (0)."""
    return str(enum.Name(value)).removeprefix(prefix) if value else None


def time_view(stamp: Timestamp) -> str | None:
    """An ISO 8601 UTC time ending in Z; None for an unset timestamp."""
    return stamp.ToDatetime().isoformat() + "Z" if stamp.seconds or stamp.nanos else None


def metadata_view(metadata: common_pb2.CallMetadata) -> dict[str, str]:
    """The metadata fields that are set."""
    return {field.name: value for field, value in metadata.ListFields() if isinstance(value, str)}


def item_percent(item: ingest_pb2.JobItem) -> float:
    """How much of the file has arrived, 0-100; 100 once uploaded, whatever was announced."""
    if item.state == ingest_pb2.JobItemState.JOB_ITEM_STATE_UPLOADED:
        return 100.0
    if item.size_bytes <= 0:
        return 0.0
    return round(min(100.0, 100.0 * item.bytes_received / item.size_bytes), 1)


def item_view(item: ingest_pb2.JobItem) -> dict[str, Any]:
    """One file of a job: where it is, its call, its error, and its upload's progress."""
    return {
        "id": item.id,
        "file_name": item.file_name,
        "line": item.line or None,
        "metadata": metadata_view(item.metadata),
        "state": status_name(ingest_pb2.JobItemState, item.state, "JOB_ITEM_STATE_"),
        "call_id": item.call_id or None,
        "call_status": status_name(common_pb2.CallStatus, item.call_status, "CALL_STATUS_"),
        "error": {"code": item.error_code, "message": item.error_message}
        if item.error_code
        else None,
        "size_bytes": item.size_bytes,
        "bytes_received": item.bytes_received,
        "percent": item_percent(item),
        "bytes_per_second": round(item.bytes_per_second, 1),
        "upload_started_at": time_view(item.upload_started_at),
    }


def job_view(job: ingest_pb2.Job, *, with_items: bool = True) -> dict[str, Any]:
    """A job with its status and counts (and its items when read one by one)."""
    counts = job.counts
    view: dict[str, Any] = {
        "id": job.id,
        "campaign_id": job.campaign_id,
        "source": status_name(common_pb2.UploadSource, job.source, "UPLOAD_SOURCE_"),
        "status": status_name(ingest_pb2.JobStatus, job.status, "JOB_STATUS_"),
        "counts": {
            "total": counts.total,
            "processed": counts.processed,
            "failed": counts.failed,
            "completed": counts.completed,
            "duplicates": counts.duplicates,
            "cancelled": counts.cancelled,
        },
        "metadata": metadata_view(job.metadata),
        "created_at": time_view(job.created_at),
        "cancelled_at": time_view(job.cancelled_at),
    }
    if with_items:
        view["items"] = [item_view(item) for item in job.items]
    return view


def preview_view(preview: ingest_pb2.BulkPreview) -> dict[str, Any]:
    """A bulk CSV checked against the selected files: rows, unmatched files and problems."""
    return {
        "rows": [
            {
                "line": row.line,
                "file_name": row.file_name,
                "metadata": metadata_view(row.metadata),
                "matched": row.matched,
                "errors": list(row.errors),
                "warnings": list(row.warnings),
            }
            for row in preview.rows
        ],
        "files_without_row": list(preview.files_without_row),
        "errors": list(preview.errors),
        "warnings": list(preview.warnings),
        "ready_rows": preview.ready_rows,
    }
