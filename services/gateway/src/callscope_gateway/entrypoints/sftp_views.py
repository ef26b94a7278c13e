"""JSON shapes of the sftp service's batches, files and sweeper status."""

from __future__ import annotations

from typing import Any

from callscope.v1 import sftp_pb2

from callscope_gateway.entrypoints.job_views import metadata_view, status_name, time_view


def batch_view(batch: sftp_pb2.SftpBatch, *, with_files: bool) -> dict[str, Any]:
    """A batch with its status, why it waits or failed, its counts and times."""
    counts = batch.counts
    view: dict[str, Any] = {
        "id": batch.id,
        "campaign_id": batch.campaign_id,
        "status": status_name(sftp_pb2.SftpBatchStatus, batch.status, "SFTP_BATCH_STATUS_"),
        "reason": batch.reason or None,
        "csv_file_name": batch.csv_file_name or None,
        "missing_files": list(batch.missing_files),
        "counts": {
            "total": counts.total,
            "completed": counts.completed,
            "failed": counts.failed,
            "duplicates": counts.duplicates,
            "skipped": counts.skipped,
            "missing": counts.missing,
        },
        "opened_at": time_view(batch.opened_at),
        "window_ends_at": time_view(batch.window_ends_at),
        "processing_started_at": time_view(batch.processing_started_at),
        "finished_at": time_view(batch.finished_at),
    }
    if with_files:
        view["files"] = [file_view(file) for file in batch.files]
    return view


def file_view(file: sftp_pb2.SftpFile) -> dict[str, Any]:
    """A file found in a campaign's folder: its status and reason, call, agent and place."""
    return {
        "id": file.id,
        "batch_id": file.batch_id or None,
        "campaign_id": file.campaign_id,
        "file_name": file.file_name,
        "is_csv": file.is_csv,
        "status": status_name(sftp_pb2.SftpFileStatus, file.status, "SFTP_FILE_STATUS_"),
        "reason": file.reason or None,
        "size_bytes": file.size_bytes,
        "call_id": file.call_id or None,
        "agent_code": file.agent_code or None,
        "agent_source": file.agent_source or None,
        "csv_line": file.csv_line or None,
        "metadata": metadata_view(file.metadata),
        "location": file.location or None,
        "detected_at": time_view(file.detected_at),
        "updated_at": time_view(file.updated_at),
    }


def sweeper_view(replica: sftp_pb2.SweeperStatus) -> dict[str, Any]:
    """One sftp replica's view of the SFTP server: connected, last error, last sweeps."""
    return {
        "replica_id": replica.replica_id,
        "server": replica.server,
        "connected": replica.connected,
        "last_error": replica.last_error or None,
        "last_sweep_at": time_view(replica.last_sweep_at),
        "last_success_at": time_view(replica.last_success_at),
        "campaigns_held": replica.campaigns_held,
    }
