"""Metadata normalisation and file names kept as data."""

from __future__ import annotations

import pytest
from callscope_ingest.domain.errors import RejectionCode, UploadRejectedError
from callscope_ingest.domain.file_names import MAX_FILE_NAME_LENGTH, clean_file_name
from callscope_ingest.domain.metadata import CallMetadata, normalise_metadata


def test_metadata_is_trimmed_and_call_type_upper_cased() -> None:
    result = normalise_metadata(CallMetadata(agent_code=" JS001 ", call_type="outbound"))
    assert result.agent_code == "JS001"
    assert result.call_type == "OUTBOUND"


@pytest.mark.parametrize(
    "metadata",
    [
        CallMetadata(call_type="SIDEWAYS"),
        CallMetadata(call_date="15/01/2026"),
        CallMetadata(call_date="2026-02-30"),
        CallMetadata(call_date="20260115"),
        CallMetadata(call_date="2026-W03-4"),
        CallMetadata(customer_id="x" * 300),
        CallMetadata(disposition="bad\x00value"),
    ],
)
def test_invalid_metadata_is_refused_with_the_field_named(metadata: CallMetadata) -> None:
    with pytest.raises(UploadRejectedError) as raised:
        normalise_metadata(metadata)
    assert raised.value.code is RejectionCode.INVALID_METADATA


def test_later_metadata_overrides_earlier() -> None:
    merged = CallMetadata(agent_code="A", call_type="INBOUND").merged_with(
        CallMetadata(agent_code="B")
    )
    assert merged == CallMetadata(agent_code="B", call_type="INBOUND")


def test_hostile_names_are_kept_as_text() -> None:
    assert clean_file_name("../../etc/passwd.mp3") == "../../etc/passwd.mp3"
    assert clean_file_name("evil\x00name.mp3") == "evilname.mp3"
    assert clean_file_name("  ") == "unnamed"
    assert clean_file_name("appel-été-📞.mp3") == "appel-été-📞.mp3"
    long_name = clean_file_name("a" * 300 + ".mp3")
    assert len(long_name) == MAX_FILE_NAME_LENGTH
