"""Call statuses move forward only; a redelivered or late event never moves a call backwards."""

from __future__ import annotations

from enum import StrEnum


class CallStatus(StrEnum):
    """A call's place in the pipeline."""

    PENDING = "PENDING"
    TRANSCRIBING = "TRANSCRIBING"
    ANALYZING = "ANALYZING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    DUPLICATE = "DUPLICATE"


_IN_PROGRESS = (CallStatus.PENDING, CallStatus.TRANSCRIBING, CallStatus.ANALYZING)

# For each target status, the statuses a call may be in to move there by a
# pipeline event. COMPLETED, FAILED and DUPLICATE are final for events; a
# user's explicit re-run (a later feature) starts a new run instead.
_ALLOWED_FROM: dict[CallStatus, frozenset[CallStatus]] = {
    CallStatus.PENDING: frozenset(),
    CallStatus.TRANSCRIBING: frozenset({CallStatus.PENDING}),
    CallStatus.ANALYZING: frozenset({CallStatus.PENDING, CallStatus.TRANSCRIBING}),
    CallStatus.COMPLETED: frozenset(_IN_PROGRESS),
    CallStatus.FAILED: frozenset(_IN_PROGRESS),
    CallStatus.DUPLICATE: frozenset(),
}


def statuses_allowing(target: CallStatus) -> frozenset[CallStatus]:
    """The statuses from which a call may move to target (empty: never by an event)."""
    return _ALLOWED_FROM[target]


def can_move(current: CallStatus, target: CallStatus) -> bool:
    """Whether an event may move a call from current to target."""
    return current in _ALLOWED_FROM[target]
