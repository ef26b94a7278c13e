"""schemathesis against the live gateway's /openapi.json: no server errors, only documented answers.

Every operation gets generated requests, as the demo owner (Bearer) and, where the document
says an API key is accepted, with a campaign API key too. Each answer must not be a 5xx,
must have a documented status and content type, and its body must match the documented
schema. Half of the requests use a campaign made for this test as `campaign_id`, so routes
get past "no such campaign" and the fuzzing reaches its checks, settings and jobs.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support.people import Person
from tests.support.services import RunningServices

# Bounded so the whole file takes a few minutes on two cores; derandomized so a failure
# comes back on the next run; no shrinking (a failure is reported as generated).
MAX_EXAMPLES = 15
FUZZ_SETTINGS = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
    report_multiple_bugs=False,
)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# Operations that would destroy this test's own credentials: logout ends the owner's
# session (every later request would answer 401). Revoking a key or deleting a user takes
# an id in the path, which generated strings never match, so those are fuzzed as usual.
EXCLUDED = {("POST", "/api/v1/auth/logout")}


@dataclass
class Findings:
    """Failures by operation and credential, reported together at the end."""

    failures: list[str] = field(default_factory=list)
    operations: int = 0
    statuses: Counter[int] = field(default_factory=Counter)


async def test_generated_requests_find_no_server_error_and_only_documented_answers(
    api: httpx.AsyncClient, services: RunningServices, owner: Person
) -> None:
    response = await api.get("/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    campaign_id, api_key = await _fuzz_campaign(api, owner)
    credentials = {
        "BearerAuth": {"Authorization": f"Bearer {owner.token}"},
        "ApiKeyAuth": {"X-API-Key": api_key},
    }
    # The requests are synchronous (requests/hypothesis): a thread keeps the loop serving.
    findings = await asyncio.to_thread(
        _fuzz, document, services.gateway_url, credentials, campaign_id
    )
    assert findings.operations > 40, "the document lists the API's operations"
    assert not findings.failures, "\n\n".join(
        [*findings.failures, "gateway log:", services.log_tail("gateway", 80)]
    )
    # The credentials worked: most answers are not 401, and many succeeded.
    answers = findings.statuses
    print(f"{sum(answers.values())} requests, by status: {sorted(answers.items())}")
    assert answers[401] < sum(answers.values()) / 10, answers
    assert sum(n for status, n in answers.items() if status < 300) > 100, answers
    # The owner is still signed in: nothing generated ended the session.
    assert (await api.get("/api/v1/auth/me", headers=owner.headers)).status_code == 200


async def _fuzz_campaign(api: httpx.AsyncClient, owner: Person) -> tuple[str, str]:
    """A campaign of the demo organisation for this test, and an API key of it without a
    practical rate limit (the fuzzing would meet the default one)."""
    created = await api.post(
        "/api/v1/campaigns", headers=owner.headers, json={"name": f"Fuzz {uuid.uuid4().hex[:8]}"}
    )
    assert created.status_code == 201, created.text
    campaign_id: str = created.json()["id"]
    key = await api.post(
        f"/api/v1/campaigns/{campaign_id}/api-keys",
        headers=owner.headers,
        json={"name": "fuzz", "rate_limit_per_minute": 1_000_000},
    )
    assert key.status_code == 201, key.text
    return campaign_id, str(key.json()["key"])


def _fuzz(
    document: dict[str, Any],
    base_url: str,
    credentials: dict[str, dict[str, str]],
    campaign_id: str,
) -> Findings:
    schema = schemathesis.openapi.from_dict(document)
    findings = Findings()
    for result in schema.get_all_operations():
        operation = result.ok()  # type: ignore[union-attr]  # a broken document raises here
        if (operation.method.upper(), operation.path) in EXCLUDED:
            continue
        findings.operations += 1
        schemes = {name for each in operation.definition.raw.get("security", []) for name in each}
        for scheme, headers in credentials.items():
            if scheme in schemes or (not schemes and scheme == "BearerAuth"):
                _fuzz_operation(operation, base_url, headers, campaign_id, scheme, findings)
    return findings


def _fuzz_operation(
    operation: Any,
    base_url: str,
    headers: dict[str, str],
    campaign_id: str,
    scheme: str,
    findings: Findings,
) -> None:
    strategy = operation.as_strategy()
    if "{campaign_id}" in operation.path:
        strategy = st.one_of(
            strategy, operation.as_strategy(path_parameters={"campaign_id": campaign_id})
        )

    @FUZZ_SETTINGS
    @given(case=strategy)
    def run(case: Any) -> None:
        response = case.call_and_validate(
            base_url=base_url, headers=headers, checks=CHECKS, timeout=60
        )
        findings.statuses[response.status_code] += 1

    try:
        run()
    except (Exception, BaseExceptionGroup) as error:  # every failure is reported, not the first
        findings.failures.append(
            f"{operation.method.upper()} {operation.path} ({scheme}):\n{error}"
        )


async def test_numbers_beyond_the_peers_integer_fields_are_refused_as_invalid_requests(
    api: httpx.AsyncClient, owner: Person
) -> None:
    """Found by the fuzzing: such numbers failed the protobuf conversion with a 500."""
    campaign_id, _ = await _fuzz_campaign(api, owner)
    batch = await api.post(
        f"/api/v1/campaigns/{campaign_id}/upload-batches",
        headers=owner.headers,
        json={"files": [{"file_name": "a.mp3", "size_bytes": 2**70}]},
    )
    assert batch.status_code == 422, batch.text
    assert batch.json()["error"]["code"] == "invalid_request"
    assert "size_bytes" in batch.json()["error"]["message"]
    transcript = await api.get(
        "/api/v1/calls/anything/transcript", headers=owner.headers, params={"version": 2**31}
    )
    assert transcript.status_code == 422, transcript.text
