"""The rules for a campaign's SFTP ingestion settings and for where its files are dropped.

A customer's recording system uploads to `/<org_folder>/<folder_slug>/` on the SFTP server:
the organisation's folder at the root, one folder per campaign inside it. The agent
file-name pattern's rule is `callscope_common.agent_pattern`'s, not repeated here.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from dataclasses import dataclass
from enum import StrEnum

from callscope_common.agent_pattern import parse_agent_pattern

MAX_FOLDER_SLUG_LENGTH = 63
MIN_BATCH_WINDOW_SECONDS = 0
# A day: longer than any recording system takes to finish a batch, short enough that a
# batch waiting for a CSV that never comes is settled the same day.
MAX_BATCH_WINDOW_SECONDS = 86_400
DEFAULT_BATCH_WINDOW_SECONDS = 300
# A folder name that is safe on every SFTP server and in every shell: starts with a
# lower-case letter or digit (never '.', '-' or '_', so no hidden folder, no option-like
# name, no '..'), then lower-case letters, digits, '-' and '_', 63 characters in all.
_FOLDER_SLUG = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")
# An organisation id usable as its folder as it is: lower-case letters and digits only
# (the gateway's ids are 32 hex digits), at most 64 characters.
_PLAIN_ORG_ID = re.compile(r"[a-z0-9]{1,64}")
# Derived folders carry a '-', which plain ids never contain, so the two cannot collide.
_DERIVED_ORG_FOLDER_PREFIX = "org-"
_DERIVED_ORG_FOLDER_DIGITS = 24


class CsvRequirement(StrEnum):
    """Whether a CSV of metadata must come with each batch of audio files."""

    # Audio files are processed with or without a CSV.
    OPTIONAL = "optional"
    # A batch waits for its CSV; audio without one is never imported.
    REQUIRED = "required"


@dataclass(frozen=True)
class SftpSettings:
    """How a campaign takes recordings from its SFTP drop folder.

    The defaults are what a campaign stored before these settings existed reads as: off.
    """

    enabled: bool = False
    # The campaign's folder inside its organisation's folder; empty: none chosen yet.
    folder_slug: str = ""
    csv: CsvRequirement = CsvRequirement.OPTIONAL
    batch_window_seconds: int = DEFAULT_BATCH_WINDOW_SECONDS
    # Where the agent code sits in a file name; empty: the product's default rule.
    agent_file_name_pattern: str = ""


# Frozen, so one instance serves every default.
DEFAULT_SFTP_SETTINGS = SftpSettings()
# The fields a change may set, in the order the API documents them.
SFTP_SETTING_FIELDS = tuple(field.name for field in dataclasses.fields(SftpSettings))


def validate_folder_slug(slug: str) -> str:
    """The slug with surrounding spaces removed (empty: none), or ValueError saying what fits."""
    stripped = slug.strip()
    if stripped and not _FOLDER_SLUG.fullmatch(stripped):
        raise ValueError(
            f"the folder slug {stripped!r} cannot be used: it is the campaign's folder name on "
            f"the SFTP server, 1 to {MAX_FOLDER_SLUG_LENGTH} characters of lower-case letters "
            "a-z, digits 0-9, '-' and '_', starting with a letter or digit (e.g. inbound-sales)"
        )
    return stripped


def validate_batch_window(seconds: int) -> int:
    """Seconds a batch waits for its CSV or files, 0 to a day, or ValueError."""
    if not MIN_BATCH_WINDOW_SECONDS <= seconds <= MAX_BATCH_WINDOW_SECONDS:
        raise ValueError(
            f"the batch window is a whole number of seconds from {MIN_BATCH_WINDOW_SECONDS} "
            f"to {MAX_BATCH_WINDOW_SECONDS} (a day); 0 processes a batch as soon as its "
            "files are complete"
        )
    return seconds


def validate_agent_file_name_pattern(pattern: str) -> str:
    """The pattern with surrounding spaces removed (empty: the default rule), or ValueError."""
    stripped = pattern.strip()
    if stripped:
        # AgentPatternError is a ValueError whose message says what to write instead.
        parse_agent_pattern(stripped)
    return stripped


@dataclass(frozen=True)
class SftpChanges:
    """SFTP settings to change; None leaves a setting as it is (an empty text is a change)."""

    enabled: bool | None = None
    folder_slug: str | None = None
    csv: CsvRequirement | None = None
    batch_window_seconds: int | None = None
    agent_file_name_pattern: str | None = None

    def names(self) -> list[str]:
        """The settings this change sets, in the API's order."""
        return [name for name in SFTP_SETTING_FIELDS if getattr(self, name) is not None]


def changed_sftp_settings(current: SftpSettings, changes: SftpChanges) -> SftpSettings:
    """The settings after a partial change, checked as a whole, or ValueError.

    Each field's own rule ran when the request was read; this adds the rule between
    fields: SFTP cannot be on without a folder for the files to land in.
    """
    settings = SftpSettings(
        enabled=current.enabled if changes.enabled is None else changes.enabled,
        folder_slug=current.folder_slug if changes.folder_slug is None else changes.folder_slug,
        csv=current.csv if changes.csv is None else changes.csv,
        batch_window_seconds=current.batch_window_seconds
        if changes.batch_window_seconds is None
        else changes.batch_window_seconds,
        agent_file_name_pattern=current.agent_file_name_pattern
        if changes.agent_file_name_pattern is None
        else changes.agent_file_name_pattern,
    )
    if settings.enabled and not settings.folder_slug:
        raise ValueError(
            "sftp.folder_slug: SFTP ingestion needs a folder slug to be enabled; send "
            'one with it, e.g. {"sftp": {"enabled": true, "folder_slug": "inbound"}}'
        )
    return settings


def org_folder_for(org_id: str) -> str:
    """The organisation's folder at the root of the SFTP server, stable for its id.

    The id itself when it is a safe folder name (lower-case letters and digits); else a
    name derived from it, which the directory stores on the organisation.
    """
    if _PLAIN_ORG_ID.fullmatch(org_id):
        return org_id
    digest = hashlib.sha256(org_id.encode()).hexdigest()[:_DERIVED_ORG_FOLDER_DIGITS]
    return _DERIVED_ORG_FOLDER_PREFIX + digest


def upload_path(org_folder: str, folder_slug: str) -> str | None:
    """The folder a customer's SFTP client uploads to, or None while no slug is set."""
    if not folder_slug or not org_folder:
        return None
    return f"/{org_folder}/{folder_slug}/"
