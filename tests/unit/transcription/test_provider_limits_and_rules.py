"""A provider's concurrency limit, and a campaign message read as transcription rules."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from callscope.v1 import common_pb2, directory_pb2
from callscope_transcription.adapters.directory import campaign_rules
from callscope_transcription.adapters.limits import LimitedProvider
from callscope_transcription.domain.model import Layout, Speaker
from callscope_transcription.domain.roles import RoleRules
from callscope_transcription.ports import CampaignRules, Hearing, ProviderRequest

pytestmark = pytest.mark.unit


class _GatedProvider:
    """Holds every call until released, counting how many it holds at once."""

    name = "gated"

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.holding = 0
        self.most_held = 0

    async def transcribe(self, request: ProviderRequest) -> Hearing:
        self.holding += 1
        self.most_held = max(self.most_held, self.holding)
        await self.release.wait()
        self.holding -= 1
        return Hearing("en", request.layout, (), request.duration_seconds, "gate")


async def test_no_more_calls_than_the_limit_reach_the_provider_at_once() -> None:
    gated = _GatedProvider()
    limited = LimitedProvider(gated, 2)
    request = ProviderRequest(Path("call.wav"), Layout.MONO, 10.0)

    calls = [asyncio.create_task(limited.transcribe(request)) for _ in range(5)]
    await asyncio.sleep(0.05)
    assert (gated.holding, gated.most_held) == (2, 2)
    gated.release.set()
    heard = await asyncio.gather(*calls)

    assert len(heard) == 5 and gated.most_held == 2
    assert limited.name == "gated"


def test_a_limit_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        LimitedProvider(_GatedProvider(), 0)


def test_a_campaign_message_becomes_its_rules() -> None:
    campaign = directory_pb2.Campaign(
        transcription_provider=directory_pb2.TRANSCRIPTION_PROVIDER_DEEPGRAM,
        agent_channel=directory_pb2.AUDIO_CHANNEL_RIGHT,
        opening_party=common_pb2.SPEAKER_CUSTOMER,
        company_name="  City Energy ",
    )

    assert campaign_rules(campaign) == CampaignRules(
        provider="deepgram",
        roles=RoleRules(
            agent_channel="right", opening_party=Speaker.CUSTOMER, company_name="City Energy"
        ),
    )


def test_unset_campaign_fields_take_the_defaults() -> None:
    rules = campaign_rules(directory_pb2.Campaign(), default_agent_channel="right")

    assert rules == CampaignRules(provider="local", roles=RoleRules(agent_channel="right"))
