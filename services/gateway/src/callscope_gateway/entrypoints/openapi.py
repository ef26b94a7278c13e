"""The OpenAPI document at `/openapi.json`: FastAPI's, made truthful where FastAPI cannot know.

FastAPI describes routes from their parameters and response models; three things it gets
wrong for this API are put right here, for every route at once (routes added later too):

- Validation errors answer 422 with our ErrorBody (`invalid_request`), not FastAPI's
  HTTPValidationError shape.
- Authentication is a dependency reading the `X-API-Key` and `Authorization` headers and
  the session cookie: the document names them as security schemes (not as header
  parameters), per route, from the dependency the route uses.
- A cookie-authenticated write also needs the session's CSRF token (`csrf_failed`, 403).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from typing import Any, get_args

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts

from callscope_gateway.domain.access import Permission, Principal, Role
from callscope_gateway.entrypoints.errors import HTTP_STATUS, ErrorBody
from callscope_gateway.entrypoints.principal import (
    CSRF_HEADER,
    SESSION_COOKIE,
    CurrentPrincipal,
    SessionToken,
)

API_KEY = "ApiKeyAuth"
BEARER = "BearerAuth"
COOKIE = "SessionCookie"
CSRF = "CsrfToken"

SECURITY_SCHEMES: dict[str, dict[str, Any]] = {
    API_KEY: {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": "a campaign API key (Senior Managers and Owners mint them); it sees "
        "its own campaign only and counts against its requests-per-minute limit",
    },
    BEARER: {
        "type": "http",
        "scheme": "bearer",
        "description": "the `token` of POST /api/v1/auth/login, as `Authorization: Bearer <token>`",
    },
    COOKIE: {
        "type": "apiKey",
        "in": "cookie",
        "name": SESSION_COOKIE,
        "description": "the HttpOnly cookie POST /api/v1/auth/login sets (the web "
        "application); requests that change something also need X-CSRF-Token",
    },
    CSRF: {
        "type": "apiKey",
        "in": "header",
        "name": CSRF_HEADER,
        "description": "the session's `csrf_token` (from login or GET /api/v1/auth/me); "
        "required with the session cookie on every POST, PUT, PATCH and DELETE",
    },
}

# Headers the security schemes describe; FastAPI would list them as plain parameters.
_AUTH_HEADERS = frozenset({"x-api-key", "authorization"})
_SAFE_METHODS = frozenset({"get", "head", "options"})
_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")
_ERROR_REF = {"$ref": "#/components/schemas/ErrorBody"}
_INVALID_REQUEST = (
    "error codes: invalid_request (a parameter or the body does not match this document; "
    "the message names each problem)"
)

# The dependencies that authenticate a request, found by identity in a route's dependencies.
_PRINCIPAL = get_args(CurrentPrincipal)[1].dependency
_SESSION = get_args(SessionToken)[1].dependency


def install(app: FastAPI) -> None:
    """Makes app.openapi() answer the corrected document (built once, on first request)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def document(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document for the app's routes, with errors and security put right."""
    schema = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
    )
    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for name in _VALIDATION_SCHEMAS:
        schemas.pop(name, None)
    schemas.update(_error_schemas())
    components["securitySchemes"] = SECURITY_SCHEMES
    for route in api_routes(app):
        path = schema["paths"].get(route.path_format, {})
        for method in route.methods or ():
            operation = path.get(method.lower())
            if operation is None:
                continue
            _security(operation, route.dependant, method.lower())
            _validation_errors(operation)
    return schema


def api_routes(app: FastAPI) -> Iterator[Any]:
    """The app's documented API routes (included routers' routes as the app serves them).

    Each has an APIRoute's attributes (path_format, methods, dependant, status_code, ...).
    """
    for context in iter_route_contexts(app.routes):
        if isinstance(context.original_route, APIRoute) and context.include_in_schema:
            yield context


def _error_schemas() -> dict[str, Any]:
    """ErrorBody and ErrorDetail, as every route's 422 refers to them."""
    body = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
    definitions: dict[str, Any] = body.pop("$defs", {})
    return {**definitions, "ErrorBody": body}


def _validation_errors(operation: dict[str, Any]) -> None:
    """Every operation with parameters or a body answers 422 invalid_request as ErrorBody."""
    responses: dict[str, Any] = operation.setdefault("responses", {})
    if not operation.get("parameters") and "requestBody" not in operation:
        if _refers_to_validation(responses.get("422")):
            del responses["422"]
        return
    declared = responses.get("422")
    if declared is None or _refers_to_validation(declared):
        responses["422"] = {
            "description": _INVALID_REQUEST,
            "content": {"application/json": {"schema": _ERROR_REF}},
        }
    elif "invalid_request" not in declared.get("description", ""):
        declared["description"] = f"{declared['description']}, invalid_request"


def _refers_to_validation(response: dict[str, Any] | None) -> bool:
    return response is not None and "HTTPValidationError" in str(response.get("content"))


def _security(operation: dict[str, Any], dependant: Dependant, method: str) -> None:
    """The schemes the route accepts, and its auth headers out of its parameters."""
    parameters = [
        parameter
        for parameter in operation.get("parameters", ())
        if not (parameter["in"] == "header" and parameter["name"].lower() in _AUTH_HEADERS)
    ]
    if parameters:
        operation["parameters"] = parameters
    else:
        operation.pop("parameters", None)
    calls = list(_dependency_calls(dependant))
    if "security" not in operation:
        operation["security"] = _requirements(calls, method)
    if method not in _SAFE_METHODS and any(
        COOKIE in requirement for requirement in operation["security"]
    ):
        _add_code(operation, "csrf_failed")


def _requirements(calls: list[Callable[..., Any]], method: str) -> list[dict[str, list[str]]]:
    """Alternatives: a session (Bearer or cookie), and an API key where keys are allowed."""
    if _PRINCIPAL not in calls and _SESSION not in calls:
        return []
    cookie: dict[str, list[str]] = (
        {COOKIE: []} if method in _SAFE_METHODS else {COOKIE: [], CSRF: []}
    )
    requirements: list[dict[str, list[str]]] = [{BEARER: []}, cookie]
    if _PRINCIPAL in calls and _api_keys_allowed(calls):
        requirements.insert(0, {API_KEY: []})
    return requirements


def _api_keys_allowed(calls: list[Callable[..., Any]]) -> bool:
    """Whether an API key has one of the permissions the route's `allowed(...)` check asks."""
    key = Principal(org_id="", role=Role.API_KEY, campaign_id="")
    for call in calls:
        permissions = inspect.getclosurevars(call).nonlocals.get("permissions")
        if isinstance(permissions, tuple) and all(isinstance(p, Permission) for p in permissions):
            return any(key.may(permission) for permission in permissions)
    return True


def _dependency_calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for dependency in dependant.dependencies:
        if dependency.call is not None:
            yield dependency.call
        yield from _dependency_calls(dependency)


def _add_code(operation: dict[str, Any], code: str) -> None:
    """Lists one more error code under its status, adding the status if it is new."""
    status = str(HTTP_STATUS[code])
    response = operation["responses"].get(status)
    if response is None:
        operation["responses"][status] = {
            "description": f"error codes: {code}",
            "content": {"application/json": {"schema": _ERROR_REF}},
        }
    elif code not in response.get("description", ""):
        response["description"] = f"{response['description']}, {code}"
