"""The OpenAPI document describes every route of /api/v1: its answer, its errors, its auth.

A route added without `response_model=` and `responses=error_responses(...)` fails here,
as does a view whose JSON no longer matches its response model.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, cast

import pytest
from callscope.v1 import analyses_pb2, common_pb2, ingest_pb2, sftp_pb2, transcripts_pb2
from callscope_gateway.entrypoints import job_views, schemas, sftp_views, views
from callscope_gateway.entrypoints.context import ApiContext
from callscope_gateway.entrypoints.http_api import create_app
from callscope_gateway.entrypoints.openapi import SECURITY_SCHEMES, api_routes
from google.protobuf.timestamp_pb2 import Timestamp
from pydantic import BaseModel

ERROR_REF = "#/components/schemas/ErrorBody"

# Routes are not called: the document is built from their declarations alone.
APP = create_app(cast(ApiContext, object()))
DOCUMENT: dict[str, Any] = APP.openapi()
ROUTES = [
    pytest.param(method, route, id=f"{method} {route.path_format}")
    for route in api_routes(APP)
    if route.path_format.startswith("/api/v1/")
    for method in sorted(route.methods or ())
]


def _operation(method: str, route: Any) -> dict[str, Any]:
    operation: dict[str, Any] = DOCUMENT["paths"][route.path_format][method.lower()]
    return operation


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def _is_error_body(schema: dict[str, Any]) -> bool:
    """ErrorBody, or a body with ErrorBody's `error` (an upload's 409 duplicate), or a choice
    of those."""
    if "anyOf" in schema:
        return all(_is_error_body(choice) for choice in schema["anyOf"])
    ref = schema.get("$ref", "")
    component = DOCUMENT["components"]["schemas"].get(ref.removeprefix("#/components/schemas/"))
    return ref == ERROR_REF or (component is not None and "error" in component["required"])


def test_the_api_has_routes_to_check() -> None:
    assert len(ROUTES) > 40


@pytest.mark.parametrize(("method", "route"), ROUTES)
def test_every_route_is_in_the_document_with_a_summary_and_description(
    method: str, route: Any
) -> None:
    operation = _operation(method, route)
    assert operation.get("summary"), "the route needs a name"
    assert operation.get("description"), "give the route's function a docstring"


@pytest.mark.parametrize(("method", "route"), ROUTES)
def test_every_route_declares_its_successful_answer(method: str, route: Any) -> None:
    responses = _operation(method, route)["responses"]
    successes = {status: answer for status, answer in responses.items() if status[0] == "2"}
    status = str(route.status_code or 200)
    assert status in successes, f"the route answers {status}; declare status_code=..."
    if status == "204":
        assert "content" not in successes[status], "a 204 has no body: response_class=Response"
        return
    content = successes[status].get("content", {})
    assert content, "declare response_model=... (or the media types of a binary answer)"
    for media_type, body in content.items():
        schema = body.get("schema", {})
        if media_type == "application/json":
            assert schema.get("$ref") or schema.get("type") == "object", (
                "a JSON answer needs response_model=<a model of entrypoints/schemas.py>"
            )
        else:
            assert schema, f"describe the {media_type} answer's schema (e.g. binary string)"


@pytest.mark.parametrize(("method", "route"), ROUTES)
def test_every_route_declares_its_errors_as_error_bodies(method: str, route: Any) -> None:
    operation = _operation(method, route)
    responses = operation["responses"]
    errors = {status: answer for status, answer in responses.items() if status[0] in "45"}
    security = operation.get("security", [])
    hint = "declare responses=error_responses(*AUTH_ERRORS or *COMMON_ERRORS, ...)"
    if security:
        assert "401" in errors, hint
    # A role check (every route an API key may use has one) or a CSRF check answers 403.
    if any("ApiKeyAuth" in each or "CsrfToken" in each for each in security):
        assert "403" in errors, hint
    if operation.get("parameters") or operation.get("requestBody"):
        assert "422" in errors, "a route with parameters or a body answers 422 invalid_request"
    for status, answer in errors.items():
        assert answer["description"].startswith(("error codes: ", "a duplicate")), status
        schema = answer["content"]["application/json"]["schema"]
        assert _is_error_body(schema), f"{status} must be documented with ErrorBody"


@pytest.mark.parametrize(("method", "route"), ROUTES)
def test_authentication_is_declared_as_security_not_as_header_parameters(
    method: str, route: Any
) -> None:
    operation = _operation(method, route)
    headers = {p["name"].lower() for p in operation.get("parameters", ()) if p["in"] == "header"}
    assert not headers & {"x-api-key", "authorization"}
    assert "security" in operation
    for requirement in operation["security"]:
        assert set(requirement) <= set(SECURITY_SCHEMES)


def test_request_bodies_of_streamed_uploads_are_described() -> None:
    upload = DOCUMENT["paths"]["/api/v1/calls/upload"]["post"]["requestBody"]
    form = upload["content"]["multipart/form-data"]["schema"]
    assert form["properties"]["file"] == {**form["properties"]["file"], "format": "binary"}
    assert form["required"] == ["file"]
    item = DOCUMENT["paths"]["/api/v1/jobs/{job_id}/items/{item_id}/file"]["put"]
    assert "application/octet-stream" in item["requestBody"]["content"]


def test_every_reference_resolves_and_no_model_name_collides() -> None:
    components = DOCUMENT["components"]["schemas"]
    for ref in set(_refs(DOCUMENT)):
        assert ref.startswith("#/components/schemas/"), ref
        assert ref.removeprefix("#/components/schemas/") in components, ref
    # FastAPI names two models of the same class name by their module path.
    assert not [name for name in components if "__" in name]
    assert "HTTPValidationError" not in components
    assert DOCUMENT["components"]["securitySchemes"] == SECURITY_SCHEMES
    json.dumps(DOCUMENT)  # the document is plain JSON


# -- the views build exactly what their models say ---------------------------------------------


def _same(model: type[BaseModel], view: dict[str, Any]) -> None:
    """The model keeps every field of the view, unchanged (nothing dropped, nothing added)."""
    assert model.model_validate(view).model_dump(by_alias=True) == view


def _stamp() -> Timestamp:
    stamp = Timestamp()
    stamp.FromSeconds(1_760_000_000)
    return stamp


def test_call_views_match_their_models() -> None:
    call = ingest_pb2.Call(
        id="c1",
        campaign_id="k1",
        status=common_pb2.CallStatus.CALL_STATUS_FAILED,
        metadata=common_pb2.CallMetadata(agent_code="JS001"),
        failure_reason="no speech",
        failed_stage=common_pb2.Stage.STAGE_TRANSCRIPTION,
        created_at=_stamp(),
    )
    call.agent.agent_id = "a1"
    call.result.score = 80.0
    call.result.flag_reasons.append("critical check failed")
    _same(schemas.Call, views.call_view(call))
    _same(schemas.Call, views.call_view(ingest_pb2.Call()))


def test_transcript_and_analysis_views_match_their_models() -> None:
    transcript = transcripts_pb2.Transcript(call_id="c1", version=2, settings={"model": "x"})
    segment = transcript.segments.add(text="hello", start=0.0, end=1.0)
    segment.words.add(text="hello", start=0.0, end=1.0, probability=0.9)
    transcript.speaker_roles.confidence = 0.8
    _same(schemas.Transcript, views.transcript_view(transcript))

    analysis = analyses_pb2.Analysis(call_id="c1", version=1, score=90.0, created_at=_stamp())
    result = analysis.results.add(passed=True, reasoning="greeted")
    result.check.id = "greeting"
    result.evidence.quote = "hello"
    analysis.usage.model = "claude"
    analysis.conversation.talk.add(seconds=10.0, words=20)
    _same(schemas.Analysis, views.analysis_view(analysis))

    diff = analyses_pb2.AnalysisDiff(unchanged=3)
    change = diff.changes.add(check_id="greeting", answer_changed=True)
    change.after.CopyFrom(result)
    _same(schemas.AnalysisDiff, views.analysis_diff_view(diff))
    _same(schemas.AnalysisSummary, views.analysis_summary_view(analyses_pb2.AnalysisSummary()))


def test_job_and_sftp_views_match_their_models() -> None:
    job = ingest_pb2.Job(id="j1", campaign_id="k1", created_at=_stamp())
    job.items.add(id="i1", file_name="a.mp3", error_code="empty_file", error_message="empty")
    _same(schemas.Job, job_views.job_view(job))
    _same(schemas.JobSummary, job_views.job_view(job, with_items=False))
    preview = ingest_pb2.BulkPreview(ready_rows=1)
    preview.rows.add(line=2, file_name="a.mp3", matched=True)
    _same(schemas.BulkPreview, job_views.preview_view(preview))

    batch = sftp_pb2.SftpBatch(id="b1", campaign_id="k1", opened_at=_stamp())
    batch.files.add(id="f1", file_name="a.mp3", csv_line=3)
    _same(schemas.SftpBatch, sftp_views.batch_view(batch, with_files=True))
    _same(schemas.SftpBatchSummary, sftp_views.batch_view(batch, with_files=False))
    replica = sftp_pb2.SweeperStatus(replica_id="r1", last_sweep_at=_stamp())
    _same(schemas.SweeperReplica, sftp_views.sweeper_view(replica))
