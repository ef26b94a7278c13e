"""The transcript's JSON (speaker roles, settings, campaign), the swap request's body, and who
a request is recorded as having come from."""

from __future__ import annotations

import pytest
from callscope.v1 import common_pb2, transcripts_pb2
from callscope_gateway.domain.access import Principal, Role
from callscope_gateway.entrypoints.routes.calls import SpeakerSwap
from callscope_gateway.entrypoints.views import transcript_view
from pydantic import ValidationError


def _transcript(**fields: object) -> transcripts_pb2.Transcript:
    return transcripts_pb2.Transcript(
        id="t2",
        call_id="call-1",
        org_id="org",
        version=2,
        provider="local",
        model="tiny.en",
        language="en",
        duration_seconds=61.5,
        segments=[
            transcripts_pb2.Segment(
                speaker=common_pb2.SPEAKER_AGENT, start=0.0, end=2.0, text="Thank you for calling"
            )
        ],
        **fields,  # type: ignore[arg-type]
    )


def test_a_swapped_version_shows_who_swapped_which_version_and_its_settings() -> None:
    transcript = _transcript(
        campaign_id="campaign-1",
        speaker_roles=transcripts_pb2.SpeakerRoles(
            source=transcripts_pb2.ROLE_SOURCE_MANUAL,
            confidence=1.0,
            needs_review=False,
            evidence=["swapped by a user"],
            swapped_by="user-7",
            swapped_from_version=1,
        ),
        settings={"beam_size": "5", "agent_channel": "left"},
    )

    view = transcript_view(transcript)

    assert view["campaign_id"] == "campaign-1"
    assert view["speaker_roles"] == {
        "source": "manual",
        "confidence": 1.0,
        "needs_review": False,
        "evidence": ["swapped by a user"],
        "swapped_by": "user-7",
        "swapped_from_version": 1,
    }
    assert view["settings"] == {"agent_channel": "left", "beam_size": "5"}
    assert view["segments"][0]["speaker"] == "AGENT"


@pytest.mark.parametrize(
    ("source", "name"),
    [
        (transcripts_pb2.ROLE_SOURCE_CHANNEL, "channel"),
        (transcripts_pb2.ROLE_SOURCE_VOICES, "voices"),
        (transcripts_pb2.ROLE_SOURCE_UNSPECIFIED, None),
    ],
)
def test_decided_roles_show_their_source_confidence_and_review_flag(
    source: transcripts_pb2.RoleSource.ValueType, name: str | None
) -> None:
    roles = transcripts_pb2.SpeakerRoles(
        source=source,
        confidence=0.41234,
        needs_review=True,
        evidence=["the right channel said 'thank you for calling Acme'"],
    )
    view = transcript_view(_transcript(speaker_roles=roles))["speaker_roles"]
    assert view["source"] == name
    assert (view["confidence"], view["needs_review"]) == (0.412, True)
    assert (view["swapped_by"], view["swapped_from_version"]) == (None, None)


def test_a_transcript_stored_before_roles_were_recorded_shows_none() -> None:
    view = transcript_view(_transcript())
    assert view["speaker_roles"] is None
    assert view["settings"] == {}
    assert view["campaign_id"] is None


def test_a_swap_names_an_existing_version_or_zero_for_the_latest() -> None:
    assert SpeakerSwap.model_validate({}).transcript_version == 0
    assert SpeakerSwap.model_validate({"transcript_version": 3}).transcript_version == 3
    for body in ({"transcript_version": -1}, {"transcript_version": "x"}, {"version": 1}):
        with pytest.raises(ValidationError):
            SpeakerSwap.model_validate(body)


def test_requests_are_recorded_as_the_user_or_the_api_key() -> None:
    assert Principal("org", Role.MANAGER, user_id="user-7").actor == "user-7"
    key = Principal("org", Role.API_KEY, campaign_id="c1", key_id="key-3")
    assert key.actor == "api_key:key-3"
