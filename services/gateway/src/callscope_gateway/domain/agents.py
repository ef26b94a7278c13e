"""Agents: people who take calls, identified within their organisation by a short code."""

from __future__ import annotations

import re
from dataclasses import dataclass

# 1 to 32 letters, digits, underscores or hyphens: short enough to type and to embed
# in a file name ("call_JS001_20260115.mp3"), with no characters that need escaping.
_AGENT_CODE = re.compile(r"[A-Za-z0-9_-]{1,32}")
MAX_AGENT_NAME_LENGTH = 200


@dataclass(frozen=True)
class Agent:
    """An agent of one organisation; code_key is the code upper-cased, unique per organisation."""

    id: str
    org_id: str
    name: str
    code: str
    campaign_ids: tuple[str, ...]


def validate_agent_code(code: str) -> str:
    """The code as given (surrounding spaces removed), or ValueError saying what is allowed."""
    stripped = code.strip()
    if not _AGENT_CODE.fullmatch(stripped):
        raise ValueError("an agent code is 1 to 32 letters, digits, '_' or '-' (for example JS001)")
    return stripped


def agent_code_key(code: str) -> str:
    """The form codes are compared in: codes match case-insensitively."""
    return code.strip().upper()


def validate_agent_name(name: str) -> str:
    """The display name with surrounding spaces removed, or ValueError."""
    stripped = name.strip()
    if not stripped or len(stripped) > MAX_AGENT_NAME_LENGTH:
        raise ValueError(f"an agent's name is 1 to {MAX_AGENT_NAME_LENGTH} characters")
    return stripped


def unique_campaign_ids(campaign_ids: list[str]) -> tuple[str, ...]:
    """The campaign ids in their first order, each once."""
    return tuple(dict.fromkeys(campaign_ids))
