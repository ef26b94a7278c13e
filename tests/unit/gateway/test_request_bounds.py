"""Numbers in requests stay within the protobuf fields they are passed on in."""

from __future__ import annotations

import pytest
from callscope_gateway.entrypoints.query_params import INT32_MAX, INT64_MAX
from callscope_gateway.entrypoints.routes.calls import AnalysisRun, SpeakerSwap
from callscope_gateway.entrypoints.routes.jobs import UploadBatch
from pydantic import ValidationError


def test_a_file_size_beyond_int64_is_refused() -> None:
    fits = UploadBatch.model_validate({"files": [{"file_name": "a", "size_bytes": INT64_MAX}]})
    assert fits.files[0].size_bytes == INT64_MAX
    with pytest.raises(ValidationError, match="size_bytes"):
        UploadBatch.model_validate({"files": [{"file_name": "a", "size_bytes": INT64_MAX + 1}]})


@pytest.mark.parametrize("model", [SpeakerSwap, AnalysisRun])
def test_a_transcript_version_beyond_int32_is_refused(model: type[SpeakerSwap]) -> None:
    assert model.model_validate({"transcript_version": INT32_MAX}).transcript_version == INT32_MAX
    with pytest.raises(ValidationError, match="transcript_version"):
        model.model_validate({"transcript_version": INT32_MAX + 1})
