"""The gRPC `Analyses` servicer: reads stored analysis versions."""

from __future__ import annotations

from typing import NoReturn

import grpc
from callscope.v1 import analyses_pb2, analyses_pb2_grpc

from callscope_analysis.adapters.protobuf import (
    analysis_to_pb,
    answer_from_pb,
    diff_to_pb,
    summary_to_pb,
)
from callscope_analysis.bootstrap import AnalysisService
from callscope_analysis.domain.overrides import OverrideRejectedError, OverrideRequest
from callscope_analysis.handlers import AnalysisNotFoundError

SERVICE_NAME = analyses_pb2.DESCRIPTOR.services_by_name["Analyses"].full_name

# The trailing-metadata key that carries a refusal's stable code to the gateway.
REJECTION_CODE_KEY = "rejection-code"
# Refusals because of the state of the call's versions, not of the request.
_STATE_REJECTIONS = frozenset({"analysis_version_moved", "campaign_missing"})


class AnalysesServicer(analyses_pb2_grpc.AnalysesServicer):
    """Serves `callscope.v1.Analyses`."""

    def __init__(self, service: AnalysisService) -> None:
        self._service = service

    async def GetAnalysis(  # noqa: N802 - the name the generated servicer defines
        self, request: analyses_pb2.GetAnalysisRequest, context: grpc.aio.ServicerContext
    ) -> analyses_pb2.Analysis:
        """An analysis version of a call (0 = the latest); NOT_FOUND for other organisations."""
        if not request.org_id or not request.call_id:
            await _abort(
                context, grpc.StatusCode.INVALID_ARGUMENT, "org_id and call_id are required"
            )
        if request.version < 0:
            await _abort(
                context,
                grpc.StatusCode.INVALID_ARGUMENT,
                "version must be 0 (the latest) or a version number",
            )
        analysis = await self._service.get_analysis(
            org_id=request.org_id, call_id=request.call_id, version=request.version
        )
        if analysis is None:
            which = f"version {request.version}" if request.version else "an analysis"
            await _abort(
                context,
                grpc.StatusCode.NOT_FOUND,
                f"call {request.call_id} has no {which} in this organisation",
            )
        return analysis_to_pb(analysis)

    async def ListAnalyses(  # noqa: N802 - the name the generated servicer defines
        self, request: analyses_pb2.ListAnalysesRequest, context: grpc.aio.ServicerContext
    ) -> analyses_pb2.ListAnalysesResponse:
        """Every version of a call, newest first; empty for a call of another organisation."""
        if not request.org_id or not request.call_id:
            await _abort(
                context, grpc.StatusCode.INVALID_ARGUMENT, "org_id and call_id are required"
            )
        summaries = await self._service.list_analyses(
            org_id=request.org_id, call_id=request.call_id
        )
        return analyses_pb2.ListAnalysesResponse(
            analyses=[summary_to_pb(summary) for summary in summaries]
        )

    async def CompareAnalyses(  # noqa: N802 - the name the generated servicer defines
        self, request: analyses_pb2.CompareAnalysesRequest, context: grpc.aio.ServicerContext
    ) -> analyses_pb2.AnalysisDiff:
        """The checks that changed between two versions; NOT_FOUND if either is missing."""
        if not request.org_id or not request.call_id:
            await _abort(
                context, grpc.StatusCode.INVALID_ARGUMENT, "org_id and call_id are required"
            )
        if request.from_version < 1 or request.to_version < 0:
            await _abort(
                context,
                grpc.StatusCode.INVALID_ARGUMENT,
                "from_version is a version number; to_version a version number or 0 (the latest)",
            )
        diff = await self._service.compare_analyses(
            org_id=request.org_id,
            call_id=request.call_id,
            from_version=request.from_version,
            to_version=request.to_version,
        )
        if diff is None:
            await _abort(
                context,
                grpc.StatusCode.NOT_FOUND,
                f"call {request.call_id} has no analysis version {request.from_version} "
                f"or {request.to_version or 'latest'} in this organisation",
            )
        return diff_to_pb(diff)

    async def OverrideCheck(  # noqa: N802 - the name the generated servicer defines
        self, request: analyses_pb2.OverrideCheckRequest, context: grpc.aio.ServicerContext
    ) -> analyses_pb2.Analysis:
        """A new review version with the reviewer's answer to one check; NOT_FOUND for a call
        without analyses (or of another organisation), FAILED_PRECONDITION when the base
        version is not the latest, INVALID_ARGUMENT for a bad check, answer or comment."""
        if not request.org_id or not request.call_id:
            await _abort(
                context, grpc.StatusCode.INVALID_ARGUMENT, "org_id and call_id are required"
            )
        override = OverrideRequest(
            check_id=request.check_id,
            answer=answer_from_pb(request.answer),
            comment=request.comment,
            reviewer=request.reviewer,
        )
        try:
            analysis = await self._service.override_check(
                org_id=request.org_id,
                call_id=request.call_id,
                base_version=request.base_version,
                request=override,
            )
        except AnalysisNotFoundError as error:
            await _abort(context, grpc.StatusCode.NOT_FOUND, str(error))
        except OverrideRejectedError as error:
            context.set_trailing_metadata(((REJECTION_CODE_KEY, error.code),))
            status = (
                grpc.StatusCode.FAILED_PRECONDITION
                if error.code in _STATE_REJECTIONS
                else grpc.StatusCode.INVALID_ARGUMENT
            )
            await _abort(context, status, error.message)
        return analysis_to_pb(analysis)


async def _abort(
    context: grpc.aio.ServicerContext, code: grpc.StatusCode, details: str
) -> NoReturn:
    """Ends the call with a status; grpc.aio's abort always raises."""
    await context.abort(code, details)
    raise AssertionError("grpc.aio.ServicerContext.abort returned")


def add_to_server(server: grpc.aio.Server, service: AnalysisService) -> None:
    """Registers the Analyses servicer on a server."""
    analyses_pb2_grpc.add_AnalysesServicer_to_server(AnalysesServicer(service), server)
