"""Call statuses only move forward."""

from __future__ import annotations

import pytest
from callscope_ingest.domain.status import CallStatus, can_move

S = CallStatus


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (S.PENDING, S.TRANSCRIBING),
        (S.TRANSCRIBING, S.ANALYZING),
        (S.ANALYZING, S.COMPLETED),
        (S.PENDING, S.ANALYZING),
        (S.TRANSCRIBING, S.FAILED),
        (S.ANALYZING, S.FAILED),
    ],
)
def test_forward_moves(current: CallStatus, target: CallStatus) -> None:
    assert can_move(current, target)


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (S.ANALYZING, S.TRANSCRIBING),
        (S.COMPLETED, S.ANALYZING),
        (S.COMPLETED, S.FAILED),
        (S.FAILED, S.TRANSCRIBING),
        (S.TRANSCRIBING, S.TRANSCRIBING),
        (S.DUPLICATE, S.TRANSCRIBING),
        (S.COMPLETED, S.PENDING),
    ],
)
def test_backward_or_repeated_moves_are_refused(current: CallStatus, target: CallStatus) -> None:
    assert not can_move(current, target)
