"""Duplicate detection: the product guide's two rules plus identical audio content.

Each rule becomes a fingerprint, unique within a campaign. A call claims its
fingerprints in a collection with a unique key before anything else is stored,
so two simultaneous identical uploads give one original and one duplicate,
never two originals (the database decides, not a read-then-write).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from callscope_ingest.domain.metadata import CallMetadata


class DuplicateRule(StrEnum):
    """Why an upload counts as a repeat of an existing call."""

    CLIENT_REFERENCE = "client_reference"
    FILE_SIGNATURE = "file_signature"
    CONTENT = "content"


# A claim whose call has not been stored this long after it was taken belongs to a
# registration that died: from the claims to the call's write are a few database writes
# (the audio is stored before the claims), so 30 s is many times the longest of them.
UNFINISHED_CLAIM_S = 30.0


@dataclass(frozen=True)
class Fingerprint:
    """One rule's identity of a call within its campaign."""

    key: str
    rule: DuplicateRule
    description: str


def fingerprints(
    campaign_id: str, file_name: str, metadata: CallMetadata, sha256: str
) -> tuple[Fingerprint, ...]:
    """The fingerprints an upload claims, strongest rule first.

    The file signature (name + agent + date) applies only when an agent code or a
    call date is given: without them, generic names such as `recording.mp3` from
    different calls would collide, and a true re-upload is still caught by content.
    """
    found: list[Fingerprint] = []
    if metadata.client_reference:
        found.append(
            Fingerprint(
                f"{campaign_id}|ref|{metadata.client_reference}",
                DuplicateRule.CLIENT_REFERENCE,
                f"the same client reference '{metadata.client_reference}'",
            )
        )
    if metadata.agent_code or metadata.call_date:
        signature = f"{file_name}|{metadata.agent_code}|{metadata.call_date}"
        found.append(
            Fingerprint(
                f"{campaign_id}|sig|{signature}",
                DuplicateRule.FILE_SIGNATURE,
                "the same file name, agent and call date",
            )
        )
    found.append(
        Fingerprint(f"{campaign_id}|sha256|{sha256}", DuplicateRule.CONTENT, "identical audio")
    )
    return tuple(found)


def counts_as_duplicate(rule: DuplicateRule, metadata: CallMetadata) -> bool:
    """Whether a taken fingerprint makes this upload a duplicate.

    Identical audio with a client reference of its own is an intentional
    re-upload, as the guide advises ("use different client references").
    """
    return not (rule is DuplicateRule.CONTENT and metadata.client_reference)


def duplicate_reason(fingerprint: Fingerprint, original_call_id: str) -> str:
    """Words for a person: which rule matched which call."""
    return f"duplicate of call {original_call_id}: {fingerprint.description}"
