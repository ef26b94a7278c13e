"""The rules for a campaign's editable settings: its name and its flag threshold."""

from __future__ import annotations

import math

MAX_CAMPAIGN_NAME_LENGTH = 200
MIN_FLAG_THRESHOLD = 0.0
MAX_FLAG_THRESHOLD = 100.0


def validate_campaign_name(name: str) -> str:
    """The name with surrounding spaces removed, or ValueError."""
    stripped = name.strip()
    if not stripped or len(stripped) > MAX_CAMPAIGN_NAME_LENGTH:
        raise ValueError(f"a campaign's name is 1 to {MAX_CAMPAIGN_NAME_LENGTH} characters")
    return stripped


def validate_flag_threshold(threshold: float) -> float:
    """A score from 0 to 100 below which calls are flagged, or ValueError."""
    if not math.isfinite(threshold) or not MIN_FLAG_THRESHOLD <= threshold <= MAX_FLAG_THRESHOLD:
        raise ValueError("the flag threshold is a score from 0 to 100")
    return float(threshold)
