"""The call metadata fields of the product guide and their rules."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

from callscope_ingest.domain.errors import RejectionCode, UploadRejectedError

CALL_TYPES = frozenset({"INBOUND", "OUTBOUND"})
MAX_FIELD_LENGTH = 256


@dataclass(frozen=True)
class CallMetadata:
    """Optional, user-supplied facts about a call; empty strings mean 'not given'."""

    agent_name: str = ""
    agent_code: str = ""
    call_type: str = ""
    call_date: str = ""
    customer_id: str = ""
    disposition: str = ""
    client_reference: str = ""

    def merged_with(self, later: CallMetadata) -> CallMetadata:
        """Fields given later (non-empty) win over earlier ones."""
        changes = {k: v for k, v in dataclasses.asdict(later).items() if v}
        return dataclasses.replace(self, **changes)


def normalise_metadata(metadata: CallMetadata) -> CallMetadata:
    """Trims fields and checks call_type and call_date; refuses what cannot be understood."""
    fields = {name: value.strip() for name, value in dataclasses.asdict(metadata).items()}
    for name, value in fields.items():
        if len(value) > MAX_FIELD_LENGTH:
            raise UploadRejectedError(
                RejectionCode.INVALID_METADATA,
                f"{name} is longer than {MAX_FIELD_LENGTH} characters",
            )
        if any(ord(char) < 32 for char in value):
            raise UploadRejectedError(
                RejectionCode.INVALID_METADATA, f"{name} contains control characters"
            )
    fields["call_type"] = fields["call_type"].upper()
    if fields["call_type"] and fields["call_type"] not in CALL_TYPES:
        raise UploadRejectedError(
            RejectionCode.INVALID_METADATA,
            f"call_type must be INBOUND or OUTBOUND, not '{fields['call_type']}'",
        )
    if fields["call_date"]:
        try:
            parsed = dt.date.fromisoformat(fields["call_date"])
        except ValueError:
            parsed = None
        # fromisoformat also takes 20260115 and 2026-W03-4; only YYYY-MM-DD is the guide's.
        if parsed is None or parsed.isoformat() != fields["call_date"]:
            raise UploadRejectedError(
                RejectionCode.INVALID_METADATA,
                f"call_date must be a date as YYYY-MM-DD, not '{fields['call_date']}'",
            )
    return CallMetadata(**fields)
