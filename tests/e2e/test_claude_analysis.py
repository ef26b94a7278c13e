"""A campaign evaluated by Claude, end to end: real services, real local transcription, and the
analysis service's real `anthropic` client against the Messages API stand-in. The call's
analysis records its token usage, an invented quote is marked for review and flags the call,
re-runs are new versions with a history and a diff, a check edited in between leaves the old
version as it was, and an overloaded Claude fails the analysis with a reason that a later
re-run overcomes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from callscope_gateway.adapters.mongo import MongoDirectory
from callscope_gateway.domain.api_keys import generate_api_key

from tests.conftest import HostedProviders
from tests.e2e.conftest import wait_until_done
from tests.support.audio import render_stereo
from tests.support.fake_anthropic import MESSAGES, Answer
from tests.support.people import OtherOrganisation, Person
from tests.support.polling import wait_for
from tests.support.scripts import COMPLIANT

MODEL = "claude-haiku-4-5"
# Words of COMPLIANT that the local transcription hears as written: the stand-in's script key.
MARKER = "gas bill"
INVENTED = "Can you tell me your memorable word?"


@dataclass(frozen=True)
class ClaudeCall:
    """The Claude campaign, its key's headers and its first completed call."""

    campaign_id: str
    headers: dict[str, str]
    call: dict[str, Any]


@pytest.fixture(scope="module")
async def claude_call(
    api: httpx.AsyncClient,
    owner: Person,
    directory: MongoDirectory,
    hosted_providers: HostedProviders,
    tmp_path_factory: pytest.TempPathFactory,
) -> ClaudeCall:
    created = await api.post(
        "/api/v1/campaigns",
        headers=owner.headers,
        json={"name": "Claude reviewed", "evaluator": "claude", "claude_model": MODEL},
    )
    assert created.status_code == 201, created.text
    campaign = created.json()
    key = generate_api_key()
    await directory.store_api_key(owner.org_id, campaign["id"], key)
    headers = {"X-API-Key": key.raw}
    hosted_providers.anthropic.script(
        MARKER,
        {
            "greeting": Answer("YES", "thank you for calling City Energy"),
            "identity_verification": Answer("YES", INVENTED, confidence=0.8),
            "empathy": Answer("YES", "I am sorry to hear that"),
            "further_help": Answer("YES", "Is there anything else I can help you with today"),
            "proper_closing": Answer("YES", "Have a nice day"),
        },
    )
    audio = render_stereo(COMPLIANT.dialogue, tmp_path_factory.mktemp("claude") / "c.wav").path
    with audio.open("rb") as handle:
        uploaded = await api.post(
            "/api/v1/calls/upload", headers=headers, files={"file": ("claude.wav", handle)}
        )
    assert uploaded.status_code == 201, uploaded.text
    done = await wait_until_done(api, key.raw, uploaded.json()["id"])
    assert done["status"] == "COMPLETED", done
    return ClaudeCall(campaign["id"], headers, done)


async def _analysis(
    api: httpx.AsyncClient, headers: dict[str, str], call_id: str, version: int = 0
) -> dict[str, Any]:
    response = await api.get(
        f"/api/v1/calls/{call_id}/analysis", headers=headers, params={"version": version}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _run_again(
    api: httpx.AsyncClient, claude_call: ClaudeCall, version_wanted: int
) -> dict[str, Any]:
    call_id = claude_call.call["id"]
    response = await api.post(
        f"/api/v1/calls/{call_id}/run-analysis", headers=claude_call.headers, json={}
    )
    assert response.status_code == 202, response.text

    async def settled() -> dict[str, Any] | None:
        call: dict[str, Any] = (
            await api.get(f"/api/v1/calls/{call_id}", headers=claude_call.headers)
        ).json()
        if call["status"] == "FAILED":
            return call
        if call["status"] == "COMPLETED" and call["analysis_version"] == version_wanted:
            return call
        return None

    return await wait_for(settled, timeout_s=60, describe=f"analysis v{version_wanted}")


async def test_claude_answers_the_checks_and_the_analysis_records_its_tokens_and_cost(
    api: httpx.AsyncClient, claude_call: ClaudeCall
) -> None:
    analysis = await _analysis(api, claude_call.headers, claude_call.call["id"])

    assert analysis["evaluator"] == "claude"
    usage = analysis["usage"]
    assert usage["model"] == MODEL and usage["requests"] == 1 and not usage["batched"]
    assert usage["input_tokens"] > 0 and usage["output_tokens"] > 0
    assert usage["cache_creation_input_tokens"] > 0
    assert usage["cost_usd"] is not None and usage["cost_usd"] > 0
    greeting = analysis["results"][0]
    assert greeting["passed"] and greeting["evidence"]["speaker"] == "AGENT"
    assert greeting["evidence"]["start"] < 5.0


async def test_an_invented_quote_is_marked_for_review_not_passed_and_flags_the_call(
    api: httpx.AsyncClient, claude_call: ClaudeCall
) -> None:
    analysis = await _analysis(api, claude_call.headers, claude_call.call["id"])

    verification = next(r for r in analysis["results"] if r["check_id"] == "identity_verification")
    assert (verification["answer"], verification["passed"]) == ("YES", False)
    assert verification["needs_review"] is True
    assert verification["review_reason"] == "the quoted evidence is not in the transcript"
    assert verification["evidence"] is None
    assert analysis["score"] == 70.0  # 30 of 100 not passed
    assert analysis["flagged"] is True
    assert analysis["flag_reasons"] == [
        "check needs review: Identity verification (the quoted evidence is not in the transcript)"
    ]
    assert claude_call.call["flagged"] is True
    assert claude_call.call["flag_reasons"] == analysis["flag_reasons"]


async def test_a_rerun_is_a_new_version_read_from_the_cache_with_a_history_and_a_diff(
    api: httpx.AsyncClient,
    owner: Person,
    claude_call: ClaudeCall,
    hosted_providers: HostedProviders,
) -> None:
    call_id = claude_call.call["id"]
    checks_url = f"/api/v1/campaigns/{claude_call.campaign_id}/checks/identity_verification"
    edited = await api.patch(checks_url, headers=owner.headers, json={"weight": 40})
    assert edited.status_code == 200, edited.text
    hosted_providers.anthropic.script(
        MARKER,
        {"identity_verification": Answer("YES", "can you confirm your date of birth")},
    )

    call = await _run_again(api, claude_call, version_wanted=2)
    assert call["status"] == "COMPLETED", call

    latest = await _analysis(api, claude_call.headers, call_id)
    first = await _analysis(api, claude_call.headers, call_id, version=1)
    assert latest["version"] == 2 and latest["flagged"] is False and latest["score"] == 100.0
    assert latest["usage"]["cache_read_input_tokens"] > 0  # the transcript prefix was cached
    # The edit shows in the new version only: version 1 keeps the definition it used.
    weights = {r["check_id"]: r["weight"] for r in first["results"]}
    assert weights["identity_verification"] == 30.0
    assert (
        next(r for r in latest["results"] if r["check_id"] == "identity_verification")["weight"]
        == 40.0
    )

    history = await api.get(f"/api/v1/calls/{call_id}/analyses", headers=claude_call.headers)
    assert history.status_code == 200, history.text
    assert [
        (v["version"], v["evaluator"], v["model"], v["flagged"]) for v in history.json()["analyses"]
    ] == [(2, "claude", MODEL, False), (1, "claude", MODEL, True)]

    diff = await api.get(
        f"/api/v1/calls/{call_id}/analyses/diff",
        headers=claude_call.headers,
        params={"from": 1, "to": 2},
    )
    assert diff.status_code == 200, diff.text
    body = diff.json()
    assert (body["from"]["version"], body["to"]["version"], body["score_change"]) == (1, 2, 30.0)
    [change] = body["changes"]
    assert change["check_id"] == "identity_verification"
    assert (change["answer_changed"], change["definition_changed"]) == (True, True)
    assert (change["before"]["needs_review"], change["after"]["passed"]) == (True, True)
    assert body["unchanged"] == 4


async def test_a_diff_of_a_missing_version_or_another_organisations_call_is_not_found(
    api: httpx.AsyncClient, claude_call: ClaudeCall, other: OtherOrganisation
) -> None:
    call_id = claude_call.call["id"]
    missing = await api.get(
        f"/api/v1/calls/{call_id}/analyses/diff",
        headers=claude_call.headers,
        params={"from": 1, "to": 99},
    )
    foreign = await api.get(f"/api/v1/calls/{call_id}/analyses", headers=other.owner.headers)
    bad = await api.get(
        f"/api/v1/calls/{call_id}/analyses/diff", headers=claude_call.headers, params={"from": 0}
    )
    assert missing.status_code == 404, missing.text
    assert foreign.status_code == 404, foreign.text
    assert bad.status_code == 422, bad.text


async def test_an_overloaded_claude_fails_the_analysis_with_a_reason_and_a_rerun_recovers(
    api: httpx.AsyncClient, claude_call: ClaudeCall, hosted_providers: HostedProviders
) -> None:
    fake = hosted_providers.anthropic
    before = len(fake.requests(MESSAGES))
    fake.fail_next(529, count=3, retry_after=0)

    failed = await _run_again(api, claude_call, version_wanted=3)

    assert failed["status"] == "FAILED", failed
    assert failed["failure"]["reason"] == (
        "Claude is unavailable (HTTP 529 after 3 attempts): try again later or switch the "
        "campaign's evaluator to local"
    )
    assert len(fake.requests(MESSAGES)) == before + 3

    recovered = await _run_again(api, claude_call, version_wanted=3)
    assert recovered["status"] == "COMPLETED", recovered
    history = await api.get(
        f"/api/v1/calls/{claude_call.call['id']}/analyses", headers=claude_call.headers
    )
    assert [v["version"] for v in history.json()["analyses"]] == [3, 2, 1]


async def test_a_batch_rerun_goes_through_message_batches_at_half_price(
    api: httpx.AsyncClient, claude_call: ClaudeCall, hosted_providers: HostedProviders
) -> None:
    call_id = claude_call.call["id"]
    fake = hosted_providers.anthropic
    batches_before = len(fake.batch_ids())
    response = await api.post(
        f"/api/v1/calls/{call_id}/run-analysis", headers=claude_call.headers, json={"batch": True}
    )
    assert response.status_code == 202, response.text

    async def batched() -> dict[str, Any] | None:
        call: dict[str, Any] = (
            await api.get(f"/api/v1/calls/{call_id}", headers=claude_call.headers)
        ).json()
        return (
            call
            if call["status"] in {"COMPLETED", "FAILED"} and call["analysis_version"] == 4
            else None
        )

    call = await wait_for(batched, timeout_s=60, describe="the batched analysis")
    assert call["status"] == "COMPLETED", call
    analysis = await _analysis(api, claude_call.headers, call_id)
    assert analysis["version"] == 4
    assert analysis["usage"]["batched"] is True
    assert len(fake.batch_ids()) == batches_before + 1
    previous = await _analysis(api, claude_call.headers, call_id, version=3)
    # The same requests at half the price (cache tokens aside, which differ per run).
    assert analysis["usage"]["cost_usd"] < previous["usage"]["cost_usd"]
