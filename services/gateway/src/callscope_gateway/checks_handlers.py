"""Use cases of a campaign's quality checks: list, read, add, change, delete and reorder.

Edits apply to analyses run afterwards: each analysis keeps a copy of the checks it used.
Every edit of one campaign's checks runs under its lock (`MongoDirectory.editing_checks`),
so the rules for the whole list hold however many people edit at once.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import TypeVar

from callscope_gateway.adapters.mongo import ChecksBusyError, MongoDirectory
from callscope_gateway.domain.access import Principal
from callscope_gateway.domain.checks import (
    CHECK_FIELDS,
    changed_check,
    check_from_fields,
    new_check_id,
    reordered,
    require_campaign_checks,
)
from callscope_gateway.domain.default_checks import CheckDefinition
from callscope_gateway.domain.errors import GatewayError

logger = logging.getLogger(__name__)

T = TypeVar("T")


async def list_checks(
    principal: Principal, campaign_id: str, *, directory: MongoDirectory
) -> tuple[CheckDefinition, ...]:
    """A campaign's checks in order; another organisation's campaign does not exist."""
    checks = (
        await directory.list_checks(principal.org_id, campaign_id)
        if principal.sees_campaign(campaign_id)
        else None
    )
    if checks is None:
        raise GatewayError("not_found", f"no campaign with id {campaign_id}")
    return checks


async def get_check(
    principal: Principal, campaign_id: str, check_id: str, *, directory: MongoDirectory
) -> CheckDefinition:
    """One check of a campaign."""
    checks = await list_checks(principal, campaign_id, directory=directory)
    return _one(checks, campaign_id, check_id)


async def add_check(
    principal: Principal,
    campaign_id: str,
    fields: Mapping[str, object],
    *,
    directory: MongoDirectory,
) -> CheckDefinition:
    """A new check after the campaign's last one, from the fields a person sent."""
    await list_checks(principal, campaign_id, directory=directory)
    check = _valid(lambda: check_from_fields(new_check_id(), fields))
    async with _editing(directory, campaign_id):
        checks = await list_checks(principal, campaign_id, directory=directory)
        _valid(lambda: require_campaign_checks((*checks, check)))
        await directory.add_check(principal.org_id, campaign_id, check)
    _log("check added", principal, campaign_id, check.id)
    return check


async def update_check(
    principal: Principal,
    campaign_id: str,
    check_id: str,
    changes: Mapping[str, object],
    *,
    directory: MongoDirectory,
) -> CheckDefinition:
    """Changes some fields of a check; the result must be a valid check as a whole."""
    if not changes:
        raise GatewayError("invalid_field", f"send at least one of {', '.join(CHECK_FIELDS)}")
    await list_checks(principal, campaign_id, directory=directory)
    async with _editing(directory, campaign_id):
        checks = await list_checks(principal, campaign_id, directory=directory)
        check = _valid(lambda: changed_check(_one(checks, campaign_id, check_id), changes))
        # The changed check last, so that a clash names the check that has the name already.
        others = [other for other in checks if other.id != check_id]
        _valid(lambda: require_campaign_checks([*others, check]))
        if not await directory.update_check(principal.org_id, campaign_id, check):
            raise _no_check(campaign_id, check_id)
    _log("check changed", principal, campaign_id, check_id, fields=sorted(changes))
    return check


async def delete_check(
    principal: Principal, campaign_id: str, check_id: str, *, directory: MongoDirectory
) -> None:
    """Removes a check; the campaign's other checks keep their order."""
    await list_checks(principal, campaign_id, directory=directory)
    async with _editing(directory, campaign_id):
        if not await directory.delete_check(principal.org_id, campaign_id, check_id):
            raise _no_check(campaign_id, check_id)
    _log("check deleted", principal, campaign_id, check_id)


async def reorder_checks(
    principal: Principal,
    campaign_id: str,
    check_ids: Sequence[str],
    *,
    directory: MongoDirectory,
) -> tuple[CheckDefinition, ...]:
    """Puts the campaign's checks in the given order, which names every check once."""
    await list_checks(principal, campaign_id, directory=directory)
    async with _editing(directory, campaign_id):
        checks = await list_checks(principal, campaign_id, directory=directory)
        ordered = _valid(lambda: reordered(checks, check_ids))
        await directory.reorder_checks(principal.org_id, campaign_id, check_ids)
    logger.info("checks reordered", extra={"campaign_id": campaign_id, "user_id": principal.actor})
    return ordered


@contextlib.asynccontextmanager
async def _editing(directory: MongoDirectory, campaign_id: str) -> AsyncIterator[None]:
    try:
        async with directory.editing_checks(campaign_id):
            yield
    except ChecksBusyError as error:
        raise GatewayError(
            "conflict", "someone else is changing this campaign's checks; try again in a moment"
        ) from error


def _valid(rule: Callable[[], T]) -> T:
    """The rule's result; its ValueError becomes the API's invalid_field error."""
    try:
        return rule()
    except ValueError as error:
        raise GatewayError("invalid_field", str(error)) from error


def _one(checks: Sequence[CheckDefinition], campaign_id: str, check_id: str) -> CheckDefinition:
    found = next((check for check in checks if check.id == check_id), None)
    if found is None:
        raise _no_check(campaign_id, check_id)
    return found


def _no_check(campaign_id: str, check_id: str) -> GatewayError:
    return GatewayError("not_found", f"campaign {campaign_id} has no check with id {check_id}")


def _log(
    event: str, principal: Principal, campaign_id: str, check_id: str, **extra: object
) -> None:
    # Ids and field names only: phrases and questions may quote customers.
    logger.info(
        event,
        extra={
            "campaign_id": campaign_id,
            "check_id": check_id,
            "user_id": principal.actor,
            **extra,
        },
    )
