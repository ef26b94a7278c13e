"""A campaign's SFTP settings: the field rules and the rule between fields, the organisation's
folder, who may change them, the request model, the stored form, the JSON shape, the Directory's
protobuf answer, and the views of the sftp service's batches, files and sweepers."""

from __future__ import annotations

import contextlib
import dataclasses
import re
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any, cast

import grpc
import pytest
from callscope.v1 import common_pb2, directory_pb2, sftp_pb2
from callscope_gateway import directory_handlers
from callscope_gateway.adapters.mongo import MongoDirectory, sftp_fields, sftp_settings
from callscope_gateway.directory_handlers import CAMPAIGN_SETTINGS, CampaignChanges
from callscope_gateway.domain.access import Permission, Principal, Role
from callscope_gateway.domain.default_checks import DEFAULT_CHECKS
from callscope_gateway.domain.directory import Campaign, SftpCampaign
from callscope_gateway.domain.errors import GatewayError
from callscope_gateway.domain.sftp_settings import (
    DEFAULT_SFTP_SETTINGS,
    MAX_BATCH_WINDOW_SECONDS,
    SFTP_SETTING_FIELDS,
    CsvRequirement,
    SftpChanges,
    SftpSettings,
    changed_sftp_settings,
    org_folder_for,
    upload_path,
    validate_agent_file_name_pattern,
    validate_batch_window,
    validate_folder_slug,
)
from callscope_gateway.entrypoints.access_views import campaign_view
from callscope_gateway.entrypoints.context import ApiContext
from callscope_gateway.entrypoints.directory_grpc import campaign_to_proto, sftp_campaign_to_proto
from callscope_gateway.entrypoints.errors import HTTP_STATUS
from callscope_gateway.entrypoints.routes import sftp as sftp_routes
from callscope_gateway.entrypoints.routes.campaigns import CampaignSettingsChange
from callscope_gateway.entrypoints.sftp_views import batch_view, file_view, sweeper_view
from google.protobuf.timestamp_pb2 import Timestamp
from pydantic import ValidationError

ORG_ID = "0123456789abcdef0123456789abcdef"
ON = SftpSettings(
    enabled=True,
    folder_slug="inbound",
    csv=CsvRequirement.REQUIRED,
    batch_window_seconds=60,
    agent_file_name_pattern="*_{agent}_*.wav",
)


# -- field rules -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "slug", ["inbound", "a", "0", "inbound-sales", "sales_eu_2", "x" * 63, "  inbound  ", ""]
)
def test_valid_folder_slugs_are_kept_trimmed(slug: str) -> None:
    assert validate_folder_slug(slug) == slug.strip()


@pytest.mark.parametrize(
    "slug",
    [
        "Inbound",
        "-inbound",
        "_inbound",
        ".hidden",
        "..",
        "in bound",
        "in/bound",
        "../other",
        "in.bound",
        "in\nbound",
        "x" * 64,
        "réception",
        "in\\bound",
    ],
)
def test_invalid_folder_slugs_say_what_is_allowed(slug: str) -> None:
    with pytest.raises(ValueError) as refused:
        validate_folder_slug(slug)
    message = str(refused.value)
    assert "lower-case letters a-z, digits 0-9, '-' and '_'" in message
    assert "starting with a letter or digit" in message
    assert "1 to 63 characters" in message


@pytest.mark.parametrize("seconds", [0, 1, 300, MAX_BATCH_WINDOW_SECONDS])
def test_batch_windows_from_0_to_a_day(seconds: int) -> None:
    assert validate_batch_window(seconds) == seconds


@pytest.mark.parametrize("seconds", [-1, MAX_BATCH_WINDOW_SECONDS + 1, 10**9])
def test_batch_windows_outside_are_refused(seconds: int) -> None:
    with pytest.raises(ValueError, match="from 0 to 86400"):
        validate_batch_window(seconds)


@pytest.mark.parametrize(
    ("pattern", "kept"),
    [("", ""), ("  ", ""), ("*_{agent}_*.wav", "*_{agent}_*.wav"), (" {agent}-* ", "{agent}-*")],
)
def test_agent_patterns_follow_the_common_rule(pattern: str, kept: str) -> None:
    assert validate_agent_file_name_pattern(pattern) == kept


@pytest.mark.parametrize(
    ("pattern", "words"),
    [
        ("*.wav", "needs {agent} exactly once"),
        ("{agent}_{agent}.wav", "needs {agent} exactly once"),
        ("calls/{agent}.wav", "not a path"),
        ("{agent}" + "x" * 200, "at most 200 characters"),
    ],
)
def test_bad_agent_patterns_are_refused_with_the_common_rules_words(
    pattern: str, words: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(words)):
        validate_agent_file_name_pattern(pattern)


# -- the rule between fields -----------------------------------------------------------------


def test_the_defaults_are_off_optional_csv_and_five_minutes() -> None:
    assert (
        SftpSettings(
            enabled=False,
            folder_slug="",
            csv=CsvRequirement.OPTIONAL,
            batch_window_seconds=300,
            agent_file_name_pattern="",
        )
        == DEFAULT_SFTP_SETTINGS
    )
    assert SFTP_SETTING_FIELDS == (
        "enabled",
        "folder_slug",
        "csv",
        "batch_window_seconds",
        "agent_file_name_pattern",
    )


def test_a_partial_change_keeps_the_other_settings() -> None:
    changed = changed_sftp_settings(ON, SftpChanges(batch_window_seconds=0))
    assert changed == dataclasses.replace(ON, batch_window_seconds=0)
    cleared = changed_sftp_settings(ON, SftpChanges(agent_file_name_pattern=""))
    assert cleared.agent_file_name_pattern == "" and cleared.folder_slug == "inbound"
    assert changed_sftp_settings(ON, SftpChanges()) == ON


def test_enabling_needs_a_folder_slug() -> None:
    with pytest.raises(ValueError, match=r"sftp\.folder_slug: .*needs a folder slug"):
        changed_sftp_settings(DEFAULT_SFTP_SETTINGS, SftpChanges(enabled=True))
    with pytest.raises(ValueError, match="needs a folder slug"):
        changed_sftp_settings(ON, SftpChanges(folder_slug=""))
    enabled = changed_sftp_settings(
        DEFAULT_SFTP_SETTINGS, SftpChanges(enabled=True, folder_slug="inbound")
    )
    assert (enabled.enabled, enabled.folder_slug) == (True, "inbound")


def test_a_disabled_campaign_keeps_its_slug_and_may_drop_it() -> None:
    off = changed_sftp_settings(ON, SftpChanges(enabled=False))
    assert (off.enabled, off.folder_slug) == (False, "inbound")
    assert changed_sftp_settings(off, SftpChanges(folder_slug="")).folder_slug == ""


def test_a_change_names_its_settings_in_the_apis_order() -> None:
    change = SftpChanges(agent_file_name_pattern="", enabled=False, csv=CsvRequirement.REQUIRED)
    assert change.names() == ["enabled", "csv", "agent_file_name_pattern"]
    assert SftpChanges().names() == []


# -- the organisation's folder ---------------------------------------------------------------


def test_a_plain_org_id_is_its_own_folder() -> None:
    assert org_folder_for(ORG_ID) == ORG_ID
    assert org_folder_for("acme2") == "acme2"


@pytest.mark.parametrize("org_id", ["Acme", "acme corp", "../etc", "a" * 65, "org-1", "ÄÖ", ""])
def test_other_org_ids_get_a_stable_safe_folder(org_id: str) -> None:
    folder = org_folder_for(org_id)
    assert folder == org_folder_for(org_id)
    assert re.fullmatch(r"org-[0-9a-f]{24}", folder)
    # Derived folders contain '-', plain ids never do: the two kinds cannot collide.
    assert folder != org_id


def test_different_odd_ids_get_different_folders() -> None:
    assert org_folder_for("Acme") != org_folder_for("acme ")


def test_the_upload_path_is_the_org_folder_then_the_slug() -> None:
    assert upload_path(ORG_ID, "inbound") == f"/{ORG_ID}/inbound/"
    assert upload_path(ORG_ID, "") is None


# -- who may change them ---------------------------------------------------------------------


def _allowed(permission: Permission) -> set[Role]:
    return {role for role in Role if Principal("org", role).may(permission)}


def test_configuring_sftp_is_the_guides_senior_manager_and_owner_row() -> None:
    assert _allowed(Permission.CONFIGURE_SFTP) == {Role.SENIOR_MANAGER, Role.OWNER}


_NO_DIRECTORY = cast(MongoDirectory, None)


@pytest.mark.parametrize(
    "principal",
    [
        Principal("org", Role.MANAGER, user_id="u1"),
        Principal("org", Role.COMPLIANCE_OFFICER, user_id="u1"),
        Principal("org", Role.AGENT, user_id="u1"),
        Principal("org", Role.API_KEY, campaign_id="c1", key_id="k1"),
    ],
)
async def test_other_roles_may_not_change_sftp_settings(principal: Principal) -> None:
    changes = CampaignChanges(sftp=SftpChanges(enabled=False))
    with pytest.raises(GatewayError) as refused:
        await directory_handlers.update_campaign(principal, "c1", changes, directory=_NO_DIRECTORY)
    assert refused.value.code == "forbidden"
    assert "configure SFTP ingestion" in refused.value.message
    assert "Senior Manager or the Owner" in refused.value.message


async def test_an_empty_sftp_change_lists_the_sftp_settings() -> None:
    owner = Principal("org", Role.OWNER, user_id="u1")
    with pytest.raises(GatewayError) as refused:
        await directory_handlers.update_campaign(
            owner, "c1", CampaignChanges(sftp=SftpChanges()), directory=_NO_DIRECTORY
        )
    assert refused.value.code == "invalid_field"
    for name in SFTP_SETTING_FIELDS:
        assert name in refused.value.message
    assert "sftp" in CAMPAIGN_SETTINGS


class _FakeDirectory:
    """The parts of MongoDirectory an SFTP settings change uses, over a dict of campaigns."""

    def __init__(self, campaigns: list[Campaign]) -> None:
        self.campaigns = {campaign.id: campaign for campaign in campaigns}
        self.writes = 0

    @contextlib.asynccontextmanager
    async def editing_sftp(self, org_id: str) -> AsyncIterator[None]:
        yield

    async def get_campaign(self, org_id: str, campaign_id: str) -> Campaign | None:
        campaign = self.campaigns.get(campaign_id)
        return campaign if campaign is not None and campaign.org_id == org_id else None

    async def campaign_with_sftp_folder(
        self, org_id: str, folder_slug: str, *, other_than: str
    ) -> tuple[str, str] | None:
        for campaign in self.campaigns.values():
            if (
                campaign.org_id == org_id
                and campaign.id != other_than
                and campaign.sftp.folder_slug == folder_slug
            ):
                return campaign.id, campaign.name
        return None

    async def set_sftp_settings(
        self, org_id: str, campaign_id: str, settings: SftpSettings
    ) -> bool:
        campaign = await self.get_campaign(org_id, campaign_id)
        if campaign is None:
            return False
        self.writes += 1
        self.campaigns[campaign_id] = dataclasses.replace(campaign, sftp=settings)
        return True


def _campaign(campaign_id: str, org_id: str = ORG_ID, **sftp: Any) -> Campaign:
    return Campaign(
        id=campaign_id,
        org_id=org_id,
        name=f"Campaign {campaign_id}",
        flag_threshold=70.0,
        auto_processing=True,
        checks=DEFAULT_CHECKS,
        sftp=dataclasses.replace(DEFAULT_SFTP_SETTINGS, **sftp),
    )


async def _change(fake: _FakeDirectory, campaign_id: str, changes: SftpChanges) -> None:
    senior = Principal(ORG_ID, Role.SENIOR_MANAGER, user_id="u1")
    await directory_handlers.update_campaign(
        senior, campaign_id, CampaignChanges(sftp=changes), directory=cast(MongoDirectory, fake)
    )


async def test_a_slug_another_campaign_of_the_org_has_is_refused_and_nothing_is_written() -> None:
    fake = _FakeDirectory([_campaign("a", folder_slug="inbound"), _campaign("b")])

    with pytest.raises(GatewayError) as refused:
        await _change(fake, "b", SftpChanges(enabled=True, folder_slug="inbound"))

    assert refused.value.code == "folder_slug_taken"
    assert "'Campaign a'" in refused.value.message and "'inbound'" in refused.value.message
    assert fake.writes == 0 and fake.campaigns["b"].sftp == DEFAULT_SFTP_SETTINGS


async def test_another_organisations_slug_and_the_campaigns_own_slug_are_free() -> None:
    fake = _FakeDirectory(
        [_campaign("theirs", org_id="other", folder_slug="inbound"), _campaign("ours")]
    )
    await _change(fake, "ours", SftpChanges(enabled=True, folder_slug="inbound"))
    await _change(fake, "ours", SftpChanges(folder_slug="inbound", batch_window_seconds=5))
    assert fake.campaigns["ours"].sftp == dataclasses.replace(
        DEFAULT_SFTP_SETTINGS, enabled=True, folder_slug="inbound", batch_window_seconds=5
    )


async def test_enabling_without_a_slug_is_an_invalid_field() -> None:
    fake = _FakeDirectory([_campaign("a")])
    with pytest.raises(GatewayError) as refused:
        await _change(fake, "a", SftpChanges(enabled=True))
    assert refused.value.code == "invalid_field"
    assert refused.value.message.startswith("sftp.folder_slug:")
    assert fake.writes == 0


async def test_another_organisations_campaign_is_not_found() -> None:
    fake = _FakeDirectory([_campaign("theirs", org_id="other")])
    with pytest.raises(GatewayError) as refused:
        await _change(fake, "theirs", SftpChanges(enabled=False))
    assert refused.value.code == "not_found" and fake.writes == 0


async def test_an_api_key_changes_no_setting() -> None:
    key = Principal(ORG_ID, Role.API_KEY, campaign_id="c1", key_id="k1")
    with pytest.raises(GatewayError) as refused:
        await directory_handlers.update_campaign(
            key, "c1", CampaignChanges(name="x"), directory=_NO_DIRECTORY
        )
    assert refused.value.code == "forbidden"


# -- the request -----------------------------------------------------------------------------


def test_the_request_takes_a_partial_sftp_object() -> None:
    body = CampaignSettingsChange.model_validate(
        {"sftp": {"folder_slug": " inbound ", "csv": "required"}}
    )
    changes = body.changes()
    assert changes.as_fields() == {}
    assert changes.sftp == SftpChanges(folder_slug="inbound", csv=CsvRequirement.REQUIRED)


@pytest.mark.parametrize(
    ("sftp", "where", "words"),
    [
        ({"folder_slug": "Inbound"}, "sftp.folder_slug", "lower-case letters"),
        ({"folder_slug": None}, "sftp.folder_slug", "may not be null"),
        ({"enabled": "yes"}, "sftp.enabled", "valid boolean"),
        ({"csv": "sometimes"}, "sftp.csv", "'optional' or 'required'"),
        ({"csv": "REQUIRED"}, "sftp.csv", "'optional' or 'required'"),
        ({"batch_window_seconds": 86401}, "sftp.batch_window_seconds", "from 0 to 86400"),
        ({"batch_window_seconds": -1}, "sftp.batch_window_seconds", "from 0 to 86400"),
        ({"batch_window_seconds": "30"}, "sftp.batch_window_seconds", "valid integer"),
        ({"batch_window_seconds": 30.5}, "sftp.batch_window_seconds", "valid integer"),
        ({"agent_file_name_pattern": "*.wav"}, "sftp.agent_file_name_pattern", "{agent}"),
        ({"folder": "inbound"}, "sftp.folder", "Extra inputs are not permitted"),
    ],
)
def test_bad_sftp_fields_are_refused_naming_the_field(
    sftp: dict[str, Any], where: str, words: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        CampaignSettingsChange.model_validate({"sftp": sftp})
    [error] = refused.value.errors()
    assert ".".join(str(part) for part in error["loc"]) == where
    assert words in error["msg"]


def test_a_null_sftp_object_is_refused() -> None:
    with pytest.raises(ValidationError, match="may not be null"):
        CampaignSettingsChange.model_validate({"sftp": None})


# -- stored form, JSON shape and protobuf ----------------------------------------------------


def test_settings_are_stored_as_the_apis_values_and_read_back() -> None:
    stored = sftp_fields(ON)
    assert stored == {
        "enabled": True,
        "folder_slug": "inbound",
        "csv": "required",
        "batch_window_seconds": 60,
        "agent_file_name_pattern": "*_{agent}_*.wav",
    }
    assert sftp_settings({"sftp": stored}) == ON


def test_a_campaign_stored_before_sftp_existed_reads_as_off() -> None:
    assert sftp_settings({"_id": "c1", "name": "Old"}) == DEFAULT_SFTP_SETTINGS
    assert sftp_settings({"sftp": {"enabled": False}}) == DEFAULT_SFTP_SETTINGS


def test_the_campaign_view_shows_the_settings_and_the_upload_path() -> None:
    view = campaign_view(_campaign("c1", **dataclasses.asdict(ON)), ORG_ID)
    assert view["sftp"] == {
        "enabled": True,
        "folder_slug": "inbound",
        "csv": "required",
        "batch_window_seconds": 60,
        "agent_file_name_pattern": "*_{agent}_*.wav",
        "upload_path": f"/{ORG_ID}/inbound/",
    }
    assert campaign_view(_campaign("c2"), ORG_ID)["sftp"]["upload_path"] is None


def test_get_campaign_answers_the_sftp_settings_never_unspecified() -> None:
    message = campaign_to_proto(_campaign("c1", **dataclasses.asdict(ON)))
    assert message.sftp == directory_pb2.SftpSettings(
        enabled=True,
        folder_slug="inbound",
        csv=directory_pb2.SFTP_CSV_REQUIREMENT_REQUIRED,
        batch_window_seconds=60,
        agent_file_name_pattern="*_{agent}_*.wav",
    )
    off = campaign_to_proto(_campaign("c2")).sftp
    assert (off.enabled, off.csv, off.batch_window_seconds) == (
        False,
        directory_pb2.SFTP_CSV_REQUIREMENT_OPTIONAL,
        300,
    )


def test_an_sftp_campaign_carries_its_org_folder() -> None:
    message = sftp_campaign_to_proto(SftpCampaign(ORG_ID, "c1", "Inbound", ORG_ID, ON))
    assert (message.org_id, message.campaign_id, message.campaign_name, message.org_folder) == (
        ORG_ID,
        "c1",
        "Inbound",
        ORG_ID,
    )
    assert message.settings.folder_slug == "inbound"


# -- the sftp service's batches, files and sweepers ------------------------------------------


def _stamp(seconds: int) -> Timestamp:
    return Timestamp(seconds=seconds)


def test_a_batch_shows_the_guides_status_names_counts_reasons_and_iso_times() -> None:
    batch = sftp_pb2.SftpBatch(
        id="b1",
        org_id=ORG_ID,
        campaign_id="c1",
        status=sftp_pb2.SFTP_BATCH_STATUS_WAITING_FOR_CSV,
        reason="the CSV is required and has not arrived",
        counts=sftp_pb2.SftpFileCounts(total=3, completed=1, failed=1, duplicates=1, missing=2),
        missing_files=["a.wav", "b.wav"],
        opened_at=_stamp(1_767_225_600),
        files=[
            sftp_pb2.SftpFile(
                id="f1",
                batch_id="b1",
                file_name="call_JS001_1.wav",
                status=sftp_pb2.SFTP_FILE_STATUS_DUPLICATE,
                reason="already imported",
                agent_code="JS001",
                agent_source="file_name",
                metadata=common_pb2.CallMetadata(agent_code="JS001"),
                location="processed/call_JS001_1.wav",
            )
        ],
    )

    view = batch_view(batch, with_files=True)

    assert view["status"] == "WAITING_FOR_CSV"
    assert view["reason"] == "the CSV is required and has not arrived"
    assert view["counts"] == {
        "total": 3,
        "completed": 1,
        "failed": 1,
        "duplicates": 1,
        "skipped": 0,
        "missing": 2,
    }
    assert view["missing_files"] == ["a.wav", "b.wav"]
    assert view["opened_at"] == "2026-01-01T00:00:00Z"
    assert view["finished_at"] is None and view["csv_file_name"] is None
    [file] = view["files"]
    assert (file["status"], file["reason"], file["agent_code"], file["metadata"]) == (
        "DUPLICATE",
        "already imported",
        "JS001",
        {"agent_code": "JS001"},
    )
    assert file["call_id"] is None and file["csv_line"] is None
    assert "files" not in batch_view(batch, with_files=False)


FILE_STATUSES = ["DETECTED", "MATCHED", "PROCESSING", "COMPLETED", "FAILED", "DUPLICATE", "SKIPPED"]
BATCH_STATUSES = [
    "DETECTING",
    "WAITING_FOR_CSV",
    "WAITING_FOR_FILES",
    "PROCESSING",
    "COMPLETED",
    "INCOMPLETE",
    "FAILED",
]


@pytest.mark.parametrize("name", FILE_STATUSES)
def test_every_file_status_has_its_guide_name(name: str) -> None:
    status = sftp_pb2.SftpFileStatus.Value(f"SFTP_FILE_STATUS_{name}")
    assert file_view(sftp_pb2.SftpFile(status=status))["status"] == name


@pytest.mark.parametrize("name", BATCH_STATUSES)
def test_every_batch_status_has_its_guide_name(name: str) -> None:
    status = sftp_pb2.SftpBatchStatus.Value(f"SFTP_BATCH_STATUS_{name}")
    assert batch_view(sftp_pb2.SftpBatch(status=status), with_files=False)["status"] == name


def test_a_sweeper_shows_its_last_error() -> None:
    view = sweeper_view(
        sftp_pb2.SweeperStatus(
            replica_id="r1",
            server="127.0.0.1:2222",
            connected=False,
            last_error="the server's host key changed",
            last_sweep_at=_stamp(1_767_225_600),
        )
    )
    assert view == {
        "replica_id": "r1",
        "server": "127.0.0.1:2222",
        "connected": False,
        "last_error": "the server's host key changed",
        "last_sweep_at": "2026-01-01T00:00:00Z",
        "last_success_at": None,
        "campaigns_held": 0,
    }


# -- the batch routes' scope and the sftp service's errors -----------------------------------


class _FakeCampaigns:
    """The directory as the routes' scope check uses it: campaign c1 of ORG_ID only."""

    async def get_campaign(self, org_id: str, campaign_id: str) -> Campaign | None:
        return _campaign(campaign_id) if (org_id, campaign_id) == (ORG_ID, "c1") else None


class _FakeSftpPeer:
    """The sftp service's GetBatch: a batch, or the gRPC error it answers with."""

    def __init__(self, batch: sftp_pb2.SftpBatch | None = None, code: Any = None) -> None:
        self.batch = batch
        self.code = code

    async def get_sftp_batch(self, org_id: str, batch_id: str) -> sftp_pb2.SftpBatch:
        if self.code is not None:
            raise grpc.aio.AioRpcError(
                self.code, grpc.aio.Metadata(), grpc.aio.Metadata(), details="from the peer"
            )
        assert self.batch is not None
        return self.batch


def _context(peer: _FakeSftpPeer) -> ApiContext:
    return cast(ApiContext, SimpleNamespace(directory=_FakeCampaigns(), peers=peer))


async def _get_batch(peer: _FakeSftpPeer, campaign_id: str = "c1") -> dict[str, Any]:
    owner = Principal(ORG_ID, Role.OWNER, user_id="u1")
    return await sftp_routes.get_batch(campaign_id, "b1", owner, _context(peer))


async def test_a_batch_is_shown_under_its_own_campaign_only() -> None:
    ours = sftp_pb2.SftpBatch(id="b1", org_id=ORG_ID, campaign_id="c1")
    assert (await _get_batch(_FakeSftpPeer(ours)))["id"] == "b1"
    elsewhere = sftp_pb2.SftpBatch(id="b1", org_id=ORG_ID, campaign_id="c2")
    with pytest.raises(GatewayError) as refused:
        await _get_batch(_FakeSftpPeer(elsewhere))
    assert refused.value.code == "not_found"
    assert refused.value.message == "campaign c1 has no SFTP batch with id b1"
    with pytest.raises(GatewayError) as hidden:
        await _get_batch(_FakeSftpPeer(ours), campaign_id="c9")
    assert hidden.value.code == "not_found"


@pytest.mark.parametrize(
    ("code", "answer", "words"),
    [
        (grpc.StatusCode.NOT_FOUND, "not_found", "no SFTP batch with id b1"),
        (grpc.StatusCode.UNAVAILABLE, "service_unavailable", "the SFTP service is unavailable"),
        (grpc.StatusCode.DEADLINE_EXCEEDED, "service_unavailable", "SFTP service"),
        (grpc.StatusCode.UNIMPLEMENTED, "service_unavailable", "older version"),
    ],
)
async def test_the_sftp_services_errors_become_the_apis(
    code: grpc.StatusCode, answer: str, words: str
) -> None:
    with pytest.raises(GatewayError) as refused:
        await _get_batch(_FakeSftpPeer(code=code))
    assert refused.value.code == answer and words in refused.value.message
    assert HTTP_STATUS[answer] == (404 if code == grpc.StatusCode.NOT_FOUND else 503)
