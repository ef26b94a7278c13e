"""Routes of `/api/v1/campaigns/{campaign_id}/checks`: a campaign's quality checks.

Bodies are only typed here; the rules for a check (lengths, weights, hints, names once
per campaign) are `domain/checks.py`'s, applied by `checks_handlers`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, ConfigDict, StrictBool, StrictFloat, StrictStr, field_validator

from callscope_gateway import checks_handlers
from callscope_gateway.domain.access import Permission, Principal
from callscope_gateway.domain.checks import (
    DEFAULT_ANSWER_TYPE,
    DEFAULT_CATEGORY,
    DEFAULT_SPEAKER,
    DEFAULT_WINDOW,
)
from callscope_gateway.entrypoints.access_views import check_view
from callscope_gateway.entrypoints.context import Context
from callscope_gateway.entrypoints.errors import AUTH_ERRORS, error_responses
from callscope_gateway.entrypoints.principal import allowed
from callscope_gateway.entrypoints.schemas import Check, CheckList

Viewer = Annotated[Principal, Depends(allowed(Permission.VIEW_CAMPAIGNS))]
Configurer = Annotated[Principal, Depends(allowed(Permission.CONFIGURE_CAMPAIGNS))]

router = APIRouter(prefix="/api/v1/campaigns/{campaign_id}/checks", tags=["checks"])

# The campaign (or check) may not exist; a change may meet someone else's.
_READ_ERRORS = (*AUTH_ERRORS, "invalid_request", "not_found")
_WRITE_ERRORS = (*_READ_ERRORS, "invalid_field", "conflict")


class NewCheck(BaseModel):
    """A check to add: a name, a question and a weight; the other fields have defaults."""

    model_config = ConfigDict(extra="forbid")

    name: StrictStr
    question: StrictStr
    weight: StrictFloat
    category: StrictStr = DEFAULT_CATEGORY
    critical: StrictBool = False
    speaker: StrictStr = DEFAULT_SPEAKER
    phrases: list[StrictStr] = []
    window: StrictStr = DEFAULT_WINDOW
    answer_type: StrictStr = DEFAULT_ANSWER_TYPE
    keywords: list[StrictStr] = []
    applies_when: list[StrictStr] = []


class CheckChange(BaseModel):
    """Fields to change; fields left out stay as they are."""

    model_config = ConfigDict(extra="forbid")

    name: StrictStr | None = None
    question: StrictStr | None = None
    weight: StrictFloat | None = None
    category: StrictStr | None = None
    critical: StrictBool | None = None
    speaker: StrictStr | None = None
    phrases: list[StrictStr] | None = None
    window: StrictStr | None = None
    answer_type: StrictStr | None = None
    keywords: list[StrictStr] | None = None
    applies_when: list[StrictStr] | None = None

    @field_validator("*", mode="before")
    @classmethod
    def _not_null(cls, value: object) -> object:
        # Only fields that were sent reach this: null is a mistake, not "keep it".
        if value is None:
            raise ValueError("may not be null; leave the field out to keep its value")
        return value

    def changes(self) -> dict[str, object]:
        """The fields that were sent."""
        return self.model_dump(exclude_unset=True)


class CheckOrder(BaseModel):
    """Every check id of the campaign, each once, in the new order."""

    model_config = ConfigDict(extra="forbid")

    check_ids: list[StrictStr]


@router.get("", response_model=CheckList, responses=error_responses(*_READ_ERRORS))
async def list_checks(campaign_id: str, principal: Viewer, context: Context) -> dict[str, Any]:
    """The campaign's checks in order."""
    checks = await checks_handlers.list_checks(principal, campaign_id, directory=context.directory)
    return {"checks": [check_view(check) for check in checks]}


@router.post("", status_code=201, response_model=Check, responses=error_responses(*_WRITE_ERRORS))
async def add_check(
    campaign_id: str, body: NewCheck, principal: Configurer, context: Context
) -> dict[str, Any]:
    """Adds a check after the campaign's last one; analyses from now on evaluate it."""
    check = await checks_handlers.add_check(
        principal, campaign_id, body.model_dump(), directory=context.directory
    )
    return check_view(check)


@router.put("/order", response_model=CheckList, responses=error_responses(*_WRITE_ERRORS))
async def reorder_checks(
    campaign_id: str, body: CheckOrder, principal: Configurer, context: Context
) -> dict[str, Any]:
    """Puts the checks in a new order."""
    checks = await checks_handlers.reorder_checks(
        principal, campaign_id, body.check_ids, directory=context.directory
    )
    return {"checks": [check_view(check) for check in checks]}


@router.get("/{check_id}", response_model=Check, responses=error_responses(*_READ_ERRORS))
async def get_check(
    campaign_id: str, check_id: str, principal: Viewer, context: Context
) -> dict[str, Any]:
    """One check."""
    check = await checks_handlers.get_check(
        principal, campaign_id, check_id, directory=context.directory
    )
    return check_view(check)


@router.patch("/{check_id}", response_model=Check, responses=error_responses(*_WRITE_ERRORS))
async def update_check(
    campaign_id: str, check_id: str, body: CheckChange, principal: Configurer, context: Context
) -> dict[str, Any]:
    """Changes some of a check's fields; analyses run before keep the definition they used."""
    check = await checks_handlers.update_check(
        principal, campaign_id, check_id, body.changes(), directory=context.directory
    )
    return check_view(check)


@router.delete(
    "/{check_id}",
    status_code=204,
    response_class=Response,
    responses=error_responses(*_READ_ERRORS, "conflict"),
)
async def delete_check(
    campaign_id: str, check_id: str, principal: Configurer, context: Context
) -> Response:
    """Removes a check; analyses run before keep their results for it."""
    await checks_handlers.delete_check(
        principal, campaign_id, check_id, directory=context.directory
    )
    return Response(status_code=204)
