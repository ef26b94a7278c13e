"""A campaign's transcription settings: request validation, stored form, defaults for campaigns
stored before the settings existed, the JSON shape, and the Directory's protobuf answer."""

from __future__ import annotations

import itertools
from typing import Any, cast

import pytest
from callscope.v1 import common_pb2, directory_pb2
from callscope_gateway import directory_handlers
from callscope_gateway.adapters.mongo import (
    MongoDirectory,
    transcription_fields,
    transcription_settings,
)
from callscope_gateway.directory_handlers import CAMPAIGN_SETTINGS, CampaignChanges
from callscope_gateway.domain.access import Principal, Role
from callscope_gateway.domain.campaign_settings import (
    DEFAULT_TRANSCRIPTION_SETTINGS,
    MAX_COMPANY_NAME_LENGTH,
    AgentChannel,
    OpeningParty,
    TranscriptionProvider,
    TranscriptionSettings,
    validate_company_name,
)
from callscope_gateway.domain.default_checks import DEFAULT_CHECKS
from callscope_gateway.domain.directory import Campaign, CampaignSummary
from callscope_gateway.domain.errors import GatewayError
from callscope_gateway.entrypoints.access_views import campaign_summary_view, campaign_view
from callscope_gateway.entrypoints.directory_grpc import campaign_to_proto
from callscope_gateway.entrypoints.routes.campaigns import CampaignSettingsChange, NewCampaign
from pydantic import ValidationError

CUSTOM = TranscriptionSettings(
    provider=TranscriptionProvider.DEEPGRAM,
    agent_channel=AgentChannel.RIGHT,
    opening_party=OpeningParty.CUSTOMER,
    company_name="Acme Energy",
)
EVERY_COMBINATION = [
    TranscriptionSettings(provider, channel, party, "")
    for provider, channel, party in itertools.product(
        TranscriptionProvider, AgentChannel, OpeningParty
    )
]


def test_the_defaults_are_local_left_agent_and_no_company_name() -> None:
    assert (
        TranscriptionSettings(
            TranscriptionProvider.LOCAL, AgentChannel.LEFT, OpeningParty.AGENT, ""
        )
        == DEFAULT_TRANSCRIPTION_SETTINGS
    )
    assert NewCampaign.model_validate({"name": "Sales"}).transcription() == (
        DEFAULT_TRANSCRIPTION_SETTINGS
    )


def test_a_new_campaign_takes_every_setting_in_the_apis_words() -> None:
    body = NewCampaign.model_validate(
        {
            "name": "Sales",
            "transcription_provider": "deepgram",
            "agent_channel": "right",
            "opening_party": "customer",
            "company_name": "  Acme Energy ",
        }
    )
    assert body.transcription() == CUSTOM


@pytest.mark.parametrize(
    ("payload", "field", "words"),
    [
        ({"transcription_provider": "whisper"}, "transcription_provider", "'assemblyai'"),
        ({"transcription_provider": "LOCAL"}, "transcription_provider", "'local'"),
        ({"agent_channel": "middle"}, "agent_channel", "'left' or 'right'"),
        ({"agent_channel": 1}, "agent_channel", "'left' or 'right'"),
        ({"opening_party": "caller"}, "opening_party", "'agent' or 'customer'"),
        ({"opening_party": None}, "opening_party", "may not be null"),
        ({"company_name": "x" * 101}, "company_name", "at most 100 characters"),
        ({"company_name": 42}, "company_name", "valid string"),
        ({"company_name": None}, "company_name", "may not be null"),
    ],
)
def test_bad_changes_name_the_field_and_what_is_allowed(
    payload: dict[str, Any], field: str, words: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        CampaignSettingsChange.model_validate(payload)
    [error] = refused.value.errors()
    assert error["loc"] == (field,)
    assert words in error["msg"]


def test_a_new_campaign_is_validated_like_a_change() -> None:
    with pytest.raises(ValidationError) as refused:
        NewCampaign.model_validate({"name": "Sales", "agent_channel": "both"})
    assert refused.value.errors()[0]["loc"] == ("agent_channel",)


def test_company_names_are_trimmed_and_may_be_empty() -> None:
    assert validate_company_name("  Acme  ") == "Acme"
    assert validate_company_name("") == ""
    assert validate_company_name("x" * MAX_COMPANY_NAME_LENGTH) == "x" * MAX_COMPANY_NAME_LENGTH


def test_changes_store_the_apis_values_and_an_empty_company_name_clears_it() -> None:
    change = CampaignSettingsChange.model_validate(
        {"transcription_provider": "assemblyai", "agent_channel": "right", "company_name": ""}
    )
    assert change.changes().as_fields() == {
        "transcription_provider": "assemblyai",
        "agent_channel": "right",
        "company_name": "",
    }
    assert all(type(value) is str for value in change.changes().as_fields().values())


async def test_an_empty_change_lists_every_setting() -> None:
    owner = Principal("org", Role.OWNER, user_id="u1")
    with pytest.raises(GatewayError) as refused:
        await directory_handlers.update_campaign(
            owner, "campaign", CampaignChanges(), directory=cast(MongoDirectory, None)
        )
    assert refused.value.code == "invalid_field"
    for setting in CAMPAIGN_SETTINGS:
        assert setting in refused.value.message
    assert {"transcription_provider", "agent_channel", "opening_party", "company_name"} <= set(
        CAMPAIGN_SETTINGS
    )


def test_a_campaign_stored_before_the_settings_existed_reads_as_the_defaults() -> None:
    old = {"_id": "c1", "org_id": "o1", "name": "Old", "flag_threshold": 70.0}
    assert transcription_settings(old) == DEFAULT_TRANSCRIPTION_SETTINGS
    partly = {**old, "agent_channel": "right"}
    assert transcription_settings(partly) == TranscriptionSettings(agent_channel=AgentChannel.RIGHT)


@pytest.mark.parametrize("settings", [*EVERY_COMBINATION, CUSTOM])
def test_stored_settings_read_back_as_written(settings: TranscriptionSettings) -> None:
    assert transcription_settings(transcription_fields(settings)) == settings


def _campaign(settings: TranscriptionSettings) -> Campaign:
    return Campaign("c1", "o1", "Sales", 70.0, True, DEFAULT_CHECKS[:1], settings)


@pytest.mark.parametrize("settings", EVERY_COMBINATION)
def test_the_directory_answers_every_setting_as_its_protobuf_enum(
    settings: TranscriptionSettings,
) -> None:
    message = campaign_to_proto(_campaign(settings))

    provider = directory_pb2.TranscriptionProvider.Name(message.transcription_provider)
    channel = directory_pb2.AudioChannel.Name(message.agent_channel)
    party = common_pb2.Speaker.Name(message.opening_party)
    assert provider == f"TRANSCRIPTION_PROVIDER_{settings.provider.value.upper()}"
    assert channel == f"AUDIO_CHANNEL_{settings.agent_channel.value.upper()}"
    assert party == f"SPEAKER_{settings.opening_party.value.upper()}"


def test_an_old_campaign_is_answered_with_the_defaults_never_unspecified() -> None:
    message = campaign_to_proto(_campaign(transcription_settings({})))
    assert message.transcription_provider == directory_pb2.TRANSCRIPTION_PROVIDER_LOCAL
    assert message.agent_channel == directory_pb2.AUDIO_CHANNEL_LEFT
    assert message.opening_party == common_pb2.SPEAKER_AGENT
    assert message.company_name == ""
    custom = campaign_to_proto(_campaign(CUSTOM))
    assert custom.company_name == "Acme Energy"


def test_the_json_shows_the_settings_as_flat_fields_of_the_campaign() -> None:
    expected = {
        "transcription_provider": "deepgram",
        "agent_channel": "right",
        "opening_party": "customer",
        "company_name": "Acme Energy",
    }
    assert campaign_view(_campaign(CUSTOM)).items() >= expected.items()
    summary = CampaignSummary("c1", "o1", "Sales", 70.0, True, None, CUSTOM)
    assert campaign_summary_view(summary).items() >= expected.items()
