"""Turning query-string values into the peers' protobuf values, with errors that name the value."""

from __future__ import annotations

import datetime as dt
from typing import Any

from callscope.v1 import ingest_pb2
from google.protobuf.timestamp_pb2 import Timestamp

from callscope_gateway.domain.errors import GatewayError


def split(values: list[str] | None) -> list[str]:
    """Repeated parameters and comma-separated lists alike: `status=A&status=B` or `status=A,B`."""
    return [part.strip() for value in values or () for part in value.split(",") if part.strip()]


def enum_value(enum: Any, prefix: str, given: str) -> Any:
    """The protobuf enum value named `prefix + given` (case-insensitive)."""
    all_names: list[str] = enum.keys()  # a protobuf enum wrapper, not a dict
    names = [name.removeprefix(prefix) for name in all_names if not name.endswith("UNSPECIFIED")]
    name = given.upper()
    if name not in names:
        raise GatewayError("invalid_request", f"'{given}' is not one of {', '.join(names)}")
    return enum.Value(prefix + name)


def time_bound(given: str, name: str, *, end_of_day: bool) -> Timestamp | None:
    """A range bound from an ISO date or date-time; a date `to` includes that whole day."""
    if not given:
        return None
    try:
        if len(given) == len("YYYY-MM-DD"):
            day = dt.date.fromisoformat(given)
            moment = dt.datetime.combine(day, dt.time(), dt.UTC)
            if end_of_day:
                moment += dt.timedelta(days=1)
        else:
            moment = dt.datetime.fromisoformat(given.replace("Z", "+00:00"))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=dt.UTC)
    except ValueError as error:
        raise GatewayError(
            "invalid_request", f"{name} must be a date (YYYY-MM-DD) or an ISO date-time"
        ) from error
    stamp = Timestamp()
    stamp.FromDatetime(moment.astimezone(dt.UTC))
    return stamp


def flag_filter(flagged: bool | None) -> ingest_pb2.FlagFilter.ValueType:
    """Both, flagged only, or completed-unflagged only."""
    if flagged is None:
        return ingest_pb2.FlagFilter.FLAG_FILTER_ANY
    return (
        ingest_pb2.FlagFilter.FLAG_FILTER_FLAGGED
        if flagged
        else (ingest_pb2.FlagFilter.FLAG_FILTER_NOT_FLAGGED)
    )


# The largest values the peers' protobuf int32 and int64 fields carry: a larger number in a
# request is refused with a 422 that names it, instead of failing the conversion (a 500).
INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1
