"""The duplicate rules: client reference, file signature, identical content."""

from __future__ import annotations

from callscope_ingest.domain.duplicates import (
    DuplicateRule,
    counts_as_duplicate,
    duplicate_reason,
    fingerprints,
)
from callscope_ingest.domain.metadata import CallMetadata


def rules(metadata: CallMetadata) -> list[DuplicateRule]:
    return [f.rule for f in fingerprints("camp", "call.mp3", metadata, "abc")]


def test_every_upload_has_a_content_fingerprint_and_the_strongest_rule_comes_first() -> None:
    assert rules(CallMetadata()) == [DuplicateRule.CONTENT]
    assert rules(CallMetadata(client_reference="CRM-1", agent_code="JS001")) == [
        DuplicateRule.CLIENT_REFERENCE,
        DuplicateRule.FILE_SIGNATURE,
        DuplicateRule.CONTENT,
    ]


def test_file_signature_needs_an_agent_or_a_date() -> None:
    assert DuplicateRule.FILE_SIGNATURE not in rules(CallMetadata(disposition="Sale"))
    assert DuplicateRule.FILE_SIGNATURE in rules(CallMetadata(call_date="2026-01-15"))


def test_fingerprints_are_scoped_to_the_campaign() -> None:
    first = fingerprints("camp-a", "x.mp3", CallMetadata(client_reference="R"), "h")
    second = fingerprints("camp-b", "x.mp3", CallMetadata(client_reference="R"), "h")
    assert {f.key for f in first}.isdisjoint(f.key for f in second)


def test_identical_audio_with_its_own_client_reference_is_an_intentional_re_upload() -> None:
    assert counts_as_duplicate(DuplicateRule.CONTENT, CallMetadata())
    assert not counts_as_duplicate(DuplicateRule.CONTENT, CallMetadata(client_reference="new"))
    assert counts_as_duplicate(DuplicateRule.CLIENT_REFERENCE, CallMetadata(client_reference="R"))


def test_reason_names_the_rule_and_the_original() -> None:
    (fingerprint,) = fingerprints("camp", "x.mp3", CallMetadata(), "h")
    assert duplicate_reason(fingerprint, "orig-1") == "duplicate of call orig-1: identical audio"
