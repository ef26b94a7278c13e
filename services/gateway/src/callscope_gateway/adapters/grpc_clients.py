"""Clients of the other services' gRPC APIs, created once per process."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import grpc
from callscope.v1 import (
    analyses_pb2,
    analyses_pb2_grpc,
    ingest_pb2,
    ingest_pb2_grpc,
    sftp_pb2,
    sftp_pb2_grpc,
    transcripts_pb2,
    transcripts_pb2_grpc,
)
from callscope_common.grpc_server import create_channel

# Per-call deadlines: lookups are quick; an upload may stream 500 MB.
LOOKUP_TIMEOUT_S = 10.0
UPLOAD_TIMEOUT_S = 3600.0
# Creating or cancelling a job writes one document per file (up to 10 000).
JOB_WRITE_TIMEOUT_S = 60.0
# A summary counts and scans up to 100 000 calls.
SUMMARY_TIMEOUT_S = 60.0


class UploadProtocolError(RuntimeError):
    """Ingest answered an upload out of protocol."""


def _kind(reply: object) -> str | None:
    if not isinstance(reply, ingest_pb2.UploadCallReply):
        return None
    return reply.WhichOneof("reply")


def _expect(reply: object, kind: str) -> ingest_pb2.UploadCallReply:
    if _kind(reply) != kind:
        raise UploadProtocolError(f"ingest replied {reply!r} where '{kind}' was expected")
    assert isinstance(reply, ingest_pb2.UploadCallReply)
    return reply


class AudioStream:
    """A recording on its way from ingest: its `info`, then its bytes."""

    def __init__(self, info: ingest_pb2.AudioInfo, call: Any) -> None:
        self.info = info
        self._call = call

    async def chunks(self) -> AsyncIterator[bytes]:
        """The range's bytes as ingest sends them; the stream is cancelled when left early."""
        try:
            while True:
                message = await self._call.read()
                if message is grpc.aio.EOF:
                    return
                assert isinstance(message, ingest_pb2.AudioChunk)
                yield message.data
        finally:
            self._call.cancel()

    def close(self) -> None:
        """Stops the stream (the client went away before reading it)."""
        self._call.cancel()


class PeerClients:
    """Stubs for ingest, transcription, analysis and sftp over long-lived channels."""

    def __init__(
        self, ingest_addr: str, transcripts_addr: str, analyses_addr: str, sftp_addr: str
    ) -> None:
        self._channels = [
            create_channel(address)
            for address in (ingest_addr, transcripts_addr, analyses_addr, sftp_addr)
        ]
        self._ingest = ingest_pb2_grpc.IngestStub(self._channels[0])
        self._transcripts = transcripts_pb2_grpc.TranscriptsStub(self._channels[1])
        self._analyses = analyses_pb2_grpc.AnalysesStub(self._channels[2])
        self._sftp = sftp_pb2_grpc.SftpBatchesStub(self._channels[3])

    async def upload_call(
        self,
        header: ingest_pb2.UploadHeader,
        body: AsyncIterator[ingest_pb2.UploadCallRequest],
    ) -> ingest_pb2.UploadAccepted:
        """Runs ingest's upload protocol (see proto): header, wait for ready, stream, result.

        Ingest's refusals arrive as the call's AioRpcError, also when it refuses
        mid-file: it asks us to stop first, so we never lose its status to a write
        error. An exception from body cancels the call, and ingest keeps nothing.
        """
        call = self._ingest.UploadCall(timeout=UPLOAD_TIMEOUT_S)
        try:
            await call.write(ingest_pb2.UploadCallRequest(header=header))
            _expect(await call.read(), "ready")
            verdict = asyncio.create_task(call.read())
            async for message in body:
                # Ingest said stop, refused, or went away: send nothing more. The call's
                # status, read from the verdict below, says which (a write to an ended
                # call would raise InvalidStateError, which reads like a client that left).
                if verdict.done() or call.done():
                    break
                await call.write(message)
            await call.done_writing()
            reply = await verdict
            if _kind(reply) == "stop":
                reply = await call.read()  # raises the call's error status
            accepted: ingest_pb2.UploadAccepted = _expect(reply, "accepted").accepted
            return accepted
        except BaseException:
            call.cancel()
            raise

    async def get_call(self, org_id: str, call_id: str) -> ingest_pb2.Call:
        """A call from ingest."""
        request = ingest_pb2.GetCallRequest(org_id=org_id, call_id=call_id)
        call: ingest_pb2.Call = await self._ingest.GetCall(request, timeout=LOOKUP_TIMEOUT_S)
        return call

    async def process_call(self, org_id: str, call_id: str) -> ingest_pb2.Call:
        """Asks ingest to queue a held call."""
        request = ingest_pb2.ProcessCallRequest(org_id=org_id, call_id=call_id)
        call: ingest_pb2.Call = await self._ingest.ProcessCall(request, timeout=LOOKUP_TIMEOUT_S)
        return call

    async def list_calls(
        self, request: ingest_pb2.ListCallsRequest
    ) -> ingest_pb2.ListCallsResponse:
        """A page of calls from ingest."""
        page: ingest_pb2.ListCallsResponse = await self._ingest.ListCalls(
            request, timeout=LOOKUP_TIMEOUT_S
        )
        return page

    async def summarize_calls(
        self, request: ingest_pb2.SummarizeCallsRequest
    ) -> ingest_pb2.CallSummary:
        """Counts and score statistics of the calls a ListCalls filter selects."""
        summary: ingest_pb2.CallSummary = await self._ingest.SummarizeCalls(
            request, timeout=SUMMARY_TIMEOUT_S
        )
        return summary

    async def open_audio(self, org_id: str, call_id: str, offset: int, length: int) -> AudioStream:
        """Starts streaming a byte range of a call's recording (length 0: to the end).

        The peer's refusal (NOT_FOUND, OUT_OF_RANGE) is raised here, before any byte is
        sent to the client, so the route can still answer with a proper status.
        """
        request = ingest_pb2.ReadAudioRequest(
            org_id=org_id, call_id=call_id, offset=offset, length=length
        )
        call = self._ingest.ReadAudio(request, timeout=UPLOAD_TIMEOUT_S)
        try:
            first = await call.read()
            if not isinstance(first, ingest_pb2.AudioChunk) or first.WhichOneof("part") != "info":
                raise UploadProtocolError(f"ingest began an audio stream with {first!r}")
        except BaseException:
            call.cancel()
            raise
        return AudioStream(first.info, call)

    async def update_call_metadata(
        self, request: ingest_pb2.UpdateCallMetadataRequest
    ) -> ingest_pb2.Call:
        """Asks ingest to replace some of a call's metadata fields."""
        call: ingest_pb2.Call = await self._ingest.UpdateCallMetadata(
            request, timeout=LOOKUP_TIMEOUT_S
        )
        return call

    async def link_agent(self, org_id: str, call_id: str, agent_id: str) -> ingest_pb2.Call:
        """Links a call to an agent, or unlinks it (empty agent_id)."""
        request = ingest_pb2.LinkAgentRequest(org_id=org_id, call_id=call_id, agent_id=agent_id)
        call: ingest_pb2.Call = await self._ingest.LinkAgent(request, timeout=LOOKUP_TIMEOUT_S)
        return call

    async def delete_call(self, org_id: str, call_id: str) -> None:
        """Asks ingest to delete a call."""
        request = ingest_pb2.DeleteCallRequest(org_id=org_id, call_id=call_id)
        await self._ingest.DeleteCall(request, timeout=LOOKUP_TIMEOUT_S)

    async def rerun_transcription(self, org_id: str, call_id: str) -> ingest_pb2.Call:
        """Asks ingest to transcribe a finished call again."""
        request = ingest_pb2.RerunRequest(org_id=org_id, call_id=call_id)
        call: ingest_pb2.Call = await self._ingest.RerunTranscription(
            request, timeout=LOOKUP_TIMEOUT_S
        )
        return call

    async def run_analysis(
        self, org_id: str, call_id: str, transcript_version: int, *, prefer_batch: bool = False
    ) -> ingest_pb2.Call:
        """Asks ingest to analyse a finished call again."""
        request = ingest_pb2.RerunRequest(
            org_id=org_id,
            call_id=call_id,
            transcript_version=transcript_version,
            prefer_batch=prefer_batch,
        )
        call: ingest_pb2.Call = await self._ingest.RunAnalysis(request, timeout=LOOKUP_TIMEOUT_S)
        return call

    async def swap_speakers(
        self, org_id: str, call_id: str, transcript_version: int, requested_by: str
    ) -> ingest_pb2.Call:
        """Asks ingest to exchange agent and customer on a finished call's transcript."""
        request = ingest_pb2.SwapSpeakersRequest(
            org_id=org_id,
            call_id=call_id,
            transcript_version=transcript_version,
            requested_by=requested_by,
        )
        call: ingest_pb2.Call = await self._ingest.SwapSpeakers(request, timeout=LOOKUP_TIMEOUT_S)
        return call

    async def get_transcript(
        self, org_id: str, call_id: str, version: int
    ) -> transcripts_pb2.Transcript:
        """A transcript version from transcription."""
        request = transcripts_pb2.GetTranscriptRequest(
            org_id=org_id, call_id=call_id, version=version
        )
        transcript: transcripts_pb2.Transcript = await self._transcripts.GetTranscript(
            request, timeout=LOOKUP_TIMEOUT_S
        )
        return transcript

    async def get_analysis(self, org_id: str, call_id: str, version: int) -> analyses_pb2.Analysis:
        """An analysis version from analysis."""
        request = analyses_pb2.GetAnalysisRequest(org_id=org_id, call_id=call_id, version=version)
        analysis: analyses_pb2.Analysis = await self._analyses.GetAnalysis(
            request, timeout=LOOKUP_TIMEOUT_S
        )
        return analysis

    async def list_analyses(self, org_id: str, call_id: str) -> analyses_pb2.ListAnalysesResponse:
        """Every analysis version of a call, newest first, from analysis."""
        request = analyses_pb2.ListAnalysesRequest(org_id=org_id, call_id=call_id)
        response: analyses_pb2.ListAnalysesResponse = await self._analyses.ListAnalyses(
            request, timeout=LOOKUP_TIMEOUT_S
        )
        return response

    async def compare_analyses(
        self, org_id: str, call_id: str, from_version: int, to_version: int
    ) -> analyses_pb2.AnalysisDiff:
        """The checks that changed between two analysis versions, from analysis."""
        request = analyses_pb2.CompareAnalysesRequest(
            org_id=org_id, call_id=call_id, from_version=from_version, to_version=to_version
        )
        diff: analyses_pb2.AnalysisDiff = await self._analyses.CompareAnalyses(
            request, timeout=LOOKUP_TIMEOUT_S
        )
        return diff

    async def override_check(
        self, request: analyses_pb2.OverrideCheckRequest
    ) -> analyses_pb2.Analysis:
        """A reviewer's answer to one check, stored by analysis as a new version."""
        analysis: analyses_pb2.Analysis = await self._analyses.OverrideCheck(
            request, timeout=LOOKUP_TIMEOUT_S
        )
        return analysis

    async def mark_reviewed(
        self, org_id: str, call_id: str, reviewer: str, note: str
    ) -> ingest_pb2.Call:
        """Asks ingest to mark a completed call's current result reviewed."""
        request = ingest_pb2.MarkReviewedRequest(
            org_id=org_id, call_id=call_id, reviewer=reviewer, note=note
        )
        call: ingest_pb2.Call = await self._ingest.MarkReviewed(request, timeout=LOOKUP_TIMEOUT_S)
        return call

    async def close(self) -> None:
        """Closes the channels."""
        for channel in self._channels:
            await channel.close()

    async def preview_bulk_upload(
        self, request: ingest_pb2.PreviewBulkUploadRequest
    ) -> ingest_pb2.BulkPreview:
        """Ingest's check of a bulk CSV against the selected files' names."""
        preview: ingest_pb2.BulkPreview = await self._ingest.PreviewBulkUpload(
            request, timeout=LOOKUP_TIMEOUT_S
        )
        return preview

    async def create_job(
        self, request: ingest_pb2.CreateJobRequest
    ) -> ingest_pb2.CreateJobResponse:
        """Asks ingest to create a multi-file or bulk job."""
        created: ingest_pb2.CreateJobResponse = await self._ingest.CreateJob(
            request, timeout=JOB_WRITE_TIMEOUT_S
        )
        return created

    async def get_job(self, org_id: str, job_id: str, item_id: str = "") -> ingest_pb2.Job:
        """A job with its items (or only item_id) from ingest."""
        request = ingest_pb2.GetJobRequest(org_id=org_id, job_id=job_id, item_id=item_id)
        job: ingest_pb2.Job = await self._ingest.GetJob(request, timeout=LOOKUP_TIMEOUT_S)
        return job

    async def list_jobs(self, request: ingest_pb2.ListJobsRequest) -> ingest_pb2.ListJobsResponse:
        """A page of a campaign's jobs from ingest."""
        page: ingest_pb2.ListJobsResponse = await self._ingest.ListJobs(
            request, timeout=LOOKUP_TIMEOUT_S
        )
        return page

    async def cancel_job(self, org_id: str, job_id: str) -> ingest_pb2.Job:
        """Asks ingest to cancel a job's files not uploaded yet."""
        request = ingest_pb2.GetJobRequest(org_id=org_id, job_id=job_id)
        job: ingest_pb2.Job = await self._ingest.CancelJob(request, timeout=JOB_WRITE_TIMEOUT_S)
        return job

    async def cancel_job_item(self, request: ingest_pb2.CancelJobItemRequest) -> ingest_pb2.Job:
        """Asks ingest to cancel one item of a job; the job comes back with its items."""
        job: ingest_pb2.Job = await self._ingest.CancelJobItem(request, timeout=JOB_WRITE_TIMEOUT_S)
        return job

    async def list_sftp_batches(
        self, request: sftp_pb2.ListSftpBatchesRequest
    ) -> sftp_pb2.ListSftpBatchesResponse:
        """A page of a campaign's SFTP batches, newest first, from the sftp service."""
        page: sftp_pb2.ListSftpBatchesResponse = await self._sftp.ListBatches(
            request, timeout=LOOKUP_TIMEOUT_S
        )
        return page

    async def get_sftp_batch(self, org_id: str, batch_id: str) -> sftp_pb2.SftpBatch:
        """One SFTP batch with its files, from the sftp service."""
        request = sftp_pb2.GetSftpBatchRequest(org_id=org_id, batch_id=batch_id)
        batch: sftp_pb2.SftpBatch = await self._sftp.GetBatch(request, timeout=LOOKUP_TIMEOUT_S)
        return batch

    async def list_sftp_files(
        self, request: sftp_pb2.ListSftpFilesRequest
    ) -> sftp_pb2.ListSftpFilesResponse:
        """A page of a campaign's SFTP files, newest first, from the sftp service."""
        page: sftp_pb2.ListSftpFilesResponse = await self._sftp.ListFiles(
            request, timeout=LOOKUP_TIMEOUT_S
        )
        return page

    async def get_sweeper_status(self) -> sftp_pb2.SweeperStatusList:
        """How each sftp replica's last connection to the SFTP server went."""
        status: sftp_pb2.SweeperStatusList = await self._sftp.GetSweeperStatus(
            sftp_pb2.GetSweeperStatusRequest(), timeout=LOOKUP_TIMEOUT_S
        )
        return status
