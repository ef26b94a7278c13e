"""Analysis's adapters without servers: documents, protobuf mapping, gRPC errors, settings."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

import grpc
import pytest
from callscope.v1 import analyses_pb2, common_pb2, directory_pb2, transcripts_pb2
from callscope_analysis.adapters.grpc_clients import GrpcCampaignDirectory, GrpcTranscriptSource
from callscope_analysis.adapters.mongo import analysis_from_document, analysis_to_document
from callscope_analysis.adapters.protobuf import (
    analysis_to_pb,
    campaign_from_pb,
    check_from_pb,
    check_to_pb,
    transcript_from_pb,
)
from callscope_analysis.domain.model import (
    AnswerType,
    Check,
    CheckAnswer,
    CheckResult,
    CheckWindow,
    ConversationStats,
    Evaluation,
    Evidence,
    NewAnalysis,
    PartyTalk,
    Speaker,
    TokenUsage,
)
from callscope_analysis.ports import CampaignNotFoundError, TranscriptNotFoundError
from callscope_analysis.settings import AnalysisSettings
from pydantic import ValidationError

pytestmark = pytest.mark.unit

GREETING = Check(
    id="greeting",
    name="Greeting",
    question="Did the agent greet the customer?",
    category="Opening",
    weight=15.0,
    critical=False,
    speaker=Speaker.AGENT,
    phrases=("thank you for calling", "welcome to"),
    window=CheckWindow.OPENING,
)
VERIFICATION = Check(
    id="identity_verification",
    name="Identity verification",
    weight=30.0,
    critical=True,
    speaker=Speaker.AGENT,
    phrases=("date of birth",),
)
TONE = Check(id="tone", name="Tone", speaker=Speaker.ANY, window=CheckWindow.CLOSING)


def new_analysis() -> NewAnalysis:
    results = (
        CheckResult(
            check=GREETING,
            answer=CheckAnswer.YES,
            passed=True,
            confidence=0.95,
            evidence=Evidence("Thank you for calling City Energy.", Speaker.AGENT, 0.0, 2.5),
            reasoning="the agent said 'thank you for calling' at 00:00",
        ),
        CheckResult(
            check=VERIFICATION,
            answer=CheckAnswer.NO,
            passed=False,
            confidence=0.7,
            evidence=None,
            reasoning="no phrase like 'date of birth' from the agent anywhere in the call",
        ),
        CheckResult(
            check=TONE,
            answer=CheckAnswer.NOT_APPLICABLE,
            passed=False,
            confidence=0.0,
            evidence=None,
            reasoning="no phrases",
        ),
    )
    return NewAnalysis(
        call_id="call-1",
        org_id="org-1",
        campaign_id="campaign-1",
        transcript_version=2,
        source_event_id="event-1",
        evaluator="local",
        evaluation=Evaluation(
            results=results,
            score=33.3,
            flagged=True,
            flag_reasons=(
                "score 33.3 is below the threshold 70",
                "critical check failed: Identity verification",
            ),
        ),
        created_at=dt.datetime(2026, 1, 15, 12, 0, tzinfo=dt.UTC),
    )


# --- MongoDB documents -----------------------------------------------------------------------


def test_the_stored_document_has_the_documented_shape() -> None:
    document = analysis_to_document(new_analysis(), "analysis-1", 3)

    assert set(document) == {
        "_id",
        "call_id",
        "org_id",
        "campaign_id",
        "version",
        "transcript_version",
        "source_event_id",
        "evaluator",
        "score",
        "flagged",
        "flag_reasons",
        "results",
        "created_at",
        "conversation",
        "usage",
        "reviewed_by",
        "based_on_version",
    }
    assert (document["reviewed_by"], document["based_on_version"]) == ("", 0)
    assert (document["_id"], document["version"], document["transcript_version"]) == (
        "analysis-1",
        3,
        2,
    )
    first = document["results"][0]
    assert first["check"] == {
        "id": "greeting",
        "name": "Greeting",
        "question": "Did the agent greet the customer?",
        "category": "Opening",
        "weight": 15.0,
        "critical": False,
        "speaker": "AGENT",
        "phrases": ["thank you for calling", "welcome to"],
        "window": "OPENING",
        "answer_type": "YES_NO",
        "keywords": [],
        "applies_when": [],
    }
    assert first["answer"] == "YES"
    assert (first["needs_review"], first["review_reason"]) == (False, "")
    assert document["usage"] is None
    assert first["evidence"] == {
        "quote": "Thank you for calling City Energy.",
        "speaker": "AGENT",
        "start": 0.0,
        "end": 2.5,
    }
    assert document["results"][1]["evidence"] is None
    assert document["results"][2]["answer"] == "NOT_APPLICABLE"


def test_a_stored_document_reads_back_as_the_same_analysis() -> None:
    new = new_analysis()
    analysis = analysis_from_document(analysis_to_document(new, "analysis-1", 3))

    assert (analysis.id, analysis.version, analysis.call_id) == ("analysis-1", 3, "call-1")
    assert analysis.results == new.evaluation.results
    assert analysis.flag_reasons == new.evaluation.flag_reasons
    assert (analysis.score, analysis.flagged) == (33.3, True)
    assert analysis.created_at == new.created_at
    assert analysis.conversation is None


def test_conversation_figures_survive_storage_and_protobuf() -> None:
    stats = ConversationStats(
        talk=(
            PartyTalk(Speaker.AGENT, 30.5, 0.61, 80, 157.4),
            PartyTalk(Speaker.CUSTOMER, 19.5, 0.39, 40, 123.1),
        ),
        longest_silence_seconds=42.0,
        longest_silence_start=61.5,
        interruptions=2,
        overlap_seconds=1.25,
    )
    new = replace(new_analysis(), conversation=stats)

    stored = analysis_from_document(analysis_to_document(new, "analysis-1", 1))
    message = analysis_to_pb(stored).conversation

    assert stored.conversation == stats
    assert [(p.speaker, p.seconds, p.words) for p in message.talk] == [
        (common_pb2.SPEAKER_AGENT, 30.5, 80),
        (common_pb2.SPEAKER_CUSTOMER, 19.5, 40),
    ]
    assert (message.longest_silence_seconds, message.interruptions) == (42.0, 2)
    assert message.overlap_seconds == 1.25


def test_review_marks_token_usage_and_new_check_fields_survive_storage_and_protobuf() -> None:
    check = replace(
        TONE,
        answer_type=AnswerType.YES_NO_NOT_APPLICABLE,
        keywords=("refund", "processed"),
        applies_when=("complaint",),
    )
    unverified = CheckResult(
        check=check,
        answer=CheckAnswer.YES,
        passed=False,
        confidence=0.8,
        evidence=None,
        reasoning="the agent apologised",
        needs_review=True,
        review_reason="the quoted evidence is not in the transcript",
    )
    usage = TokenUsage(
        model="claude-sonnet-4-5",
        input_tokens=120,
        output_tokens=300,
        cache_creation_input_tokens=2048,
        cache_read_input_tokens=4096,
        requests=2,
        cost_usd=0.0144,
    )
    new = replace(
        new_analysis(),
        evaluator="claude",
        usage=usage,
        evaluation=replace(new_analysis().evaluation, results=(unverified,)),
    )

    stored = analysis_from_document(analysis_to_document(new, "analysis-1", 1))
    message = analysis_to_pb(stored)

    assert stored.results == (unverified,) and stored.usage == usage
    assert stored.summary().model == "claude-sonnet-4-5"
    result = message.results[0]
    assert (result.needs_review, result.review_reason) == (True, unverified.review_reason)
    assert list(result.check.keywords) == ["refund", "processed"]
    assert list(result.check.applies_when) == ["complaint"]
    assert result.check.answer_type == directory_pb2.CHECK_ANSWER_TYPE_YES_NO_NOT_APPLICABLE
    assert (message.usage.cache_read_input_tokens, message.usage.requests) == (4096, 2)
    assert (message.usage.cost_usd, message.usage.cost_known) == (0.0144, True)


def test_an_unknown_price_is_served_as_unknown_not_as_free() -> None:
    usage = TokenUsage(model="claude-future-9", input_tokens=10, requests=1, cost_usd=None)
    message = analysis_to_pb(
        analysis_from_document(
            analysis_to_document(replace(new_analysis(), usage=usage), "analysis-1", 1)
        )
    )
    assert (message.usage.cost_known, message.usage.cost_usd) == (False, 0.0)


def test_a_naive_stored_time_is_read_as_utc() -> None:
    document = analysis_to_document(new_analysis(), "analysis-1", 1)
    document["created_at"] = dt.datetime(2026, 1, 15, 12, 0)
    assert analysis_from_document(document).created_at.tzinfo is dt.UTC


# --- protobuf mapping ------------------------------------------------------------------------


def test_checks_round_trip_through_protobuf() -> None:
    for check in (GREETING, VERIFICATION, TONE):
        assert check_from_pb(check_to_pb(check)) == check


def test_unset_enums_get_safe_meanings() -> None:
    check = check_from_pb(directory_pb2.Check(id="x", name="X", phrases=["hello"]))
    assert (check.speaker, check.window) == (Speaker.ANY, CheckWindow.ANYWHERE)
    transcript = transcript_from_pb(
        transcripts_pb2.Transcript(
            segments=[
                transcripts_pb2.Segment(text="hi"),
                transcripts_pb2.Segment(speaker=common_pb2.SPEAKER_ANY),
            ]
        )
    )
    assert [s.speaker for s in transcript.segments] == [Speaker.UNKNOWN, Speaker.UNKNOWN]


def test_a_transcript_keeps_its_speakers_and_word_times() -> None:
    transcript = transcript_from_pb(
        transcripts_pb2.Transcript(
            id="t1",
            call_id="call-1",
            org_id="org-1",
            version=2,
            duration_seconds=30.0,
            segments=[
                transcripts_pb2.Segment(
                    speaker=common_pb2.SPEAKER_AGENT,
                    start=0.5,
                    end=2.0,
                    text="Hello there.",
                    words=[
                        transcripts_pb2.Word(text="Hello", start=0.5, end=1.0, probability=0.9),
                        transcripts_pb2.Word(text="there.", start=1.1, end=2.0, probability=0.8),
                    ],
                ),
                transcripts_pb2.Segment(speaker=common_pb2.SPEAKER_CUSTOMER, text="Hi."),
            ],
        )
    )
    assert (transcript.version, transcript.duration_seconds) == (2, 30.0)
    agent, customer = transcript.segments
    assert (agent.speaker, agent.start, agent.end, agent.text) == (
        Speaker.AGENT,
        0.5,
        2.0,
        "Hello there.",
    )
    assert [(w.text, w.start, w.end) for w in agent.words] == [
        ("Hello", 0.5, 1.0),
        ("there.", 1.1, 2.0),
    ]
    assert customer.speaker is Speaker.CUSTOMER


def test_a_campaign_carries_its_threshold_and_checks() -> None:
    campaign = campaign_from_pb(
        directory_pb2.Campaign(
            id="c1", name="Demo", flag_threshold=72.5, checks=[check_to_pb(GREETING)]
        )
    )
    assert (campaign.id, campaign.name, campaign.flag_threshold) == ("c1", "Demo", 72.5)
    assert campaign.checks == (GREETING,)


def test_an_analysis_maps_to_the_contract() -> None:
    analysis = analysis_from_document(analysis_to_document(new_analysis(), "analysis-1", 3))
    message = analysis_to_pb(analysis)

    assert (message.id, message.version, message.transcript_version) == ("analysis-1", 3, 2)
    assert (message.evaluator, message.score, message.flagged) == ("local", 33.3, True)
    assert list(message.flag_reasons) == list(analysis.flag_reasons)
    assert [r.answer for r in message.results] == [
        analyses_pb2.CHECK_ANSWER_YES,
        analyses_pb2.CHECK_ANSWER_NO,
        analyses_pb2.CHECK_ANSWER_NOT_APPLICABLE,
    ]
    assert message.results[0].evidence.quote == "Thank you for calling City Energy."
    assert message.results[0].check.window == directory_pb2.CHECK_WINDOW_OPENING
    assert not message.results[1].HasField("evidence")
    assert message.created_at.ToDatetime(dt.UTC) == analysis.created_at


# --- gRPC clients ----------------------------------------------------------------------------

Responder = Callable[[Any], Awaitable[Any]]


class FakeChannel:
    """Stands in for a grpc.aio channel: every unary call goes to `respond`."""

    def __init__(self, respond: Responder) -> None:
        self._respond = respond
        self.timeouts: list[float | None] = []

    def unary_unary(self, method: str, *args: Any, **kwargs: Any) -> Callable[..., Any]:
        async def call(request: Any, **options: Any) -> Any:
            self.timeouts.append(options.get("timeout"))
            return await self._respond(request)

        return call


def rpc_error(code: grpc.StatusCode, details: str) -> grpc.aio.AioRpcError:
    return grpc.aio.AioRpcError(code, grpc.aio.Metadata(), grpc.aio.Metadata(), details)


async def test_the_transcript_client_reads_a_version() -> None:
    async def respond(request: Any) -> Any:
        assert (request.org_id, request.call_id, request.version) == ("o", "c", 2)
        return transcripts_pb2.Transcript(
            id="t", version=2, segments=[transcripts_pb2.Segment(text="hi")]
        )

    channel = FakeChannel(respond)
    transcript = await GrpcTranscriptSource(channel, timeout_s=5).get_transcript("o", "c", 2)
    assert (transcript.id, transcript.version, len(transcript.segments)) == ("t", 2, 1)
    assert channel.timeouts == [5]


@pytest.mark.parametrize(
    ("client", "call", "not_found"),
    [
        (GrpcTranscriptSource, ("get_transcript", "o", "c", 1), TranscriptNotFoundError),
        (GrpcCampaignDirectory, ("get_campaign", "o", "c"), CampaignNotFoundError),
    ],
)
async def test_clients_turn_not_found_into_domain_errors_and_let_the_rest_through(
    client: Any, call: tuple[Any, ...], not_found: type[Exception]
) -> None:
    method, *arguments = call
    for code, expected in (
        (grpc.StatusCode.NOT_FOUND, not_found),
        (grpc.StatusCode.UNAVAILABLE, grpc.aio.AioRpcError),
        (grpc.StatusCode.DEADLINE_EXCEEDED, grpc.aio.AioRpcError),
    ):

        async def respond(request: Any, code: grpc.StatusCode = code) -> Any:
            raise rpc_error(code, f"{code.name} for the test")

        with pytest.raises(expected):
            await getattr(client(FakeChannel(respond)), method)(*arguments)


async def test_the_directory_client_reads_a_campaign() -> None:
    async def respond(request: Any) -> Any:
        assert (request.org_id, request.campaign_id) == ("o", "c1")
        return directory_pb2.Campaign(id="c1", flag_threshold=70, checks=[check_to_pb(TONE)])

    campaign = await GrpcCampaignDirectory(FakeChannel(respond)).get_campaign("o", "c1")
    assert (campaign.id, campaign.flag_threshold, campaign.checks) == ("c1", 70.0, (TONE,))


# --- settings --------------------------------------------------------------------------------

REQUIRED = {
    "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9092",
    "MONGODB_URL": "mongodb://127.0.0.1:27017",
    "DIRECTORY_ADDR": "127.0.0.1:50051",
    "TRANSCRIPTS_ADDR": "127.0.0.1:50053",
}


def settings_from(monkeypatch: pytest.MonkeyPatch, environment: dict[str, str]) -> Any:
    own = ("S3_ACCESS_KEY", "S3_SECRET_KEY", "ANALYSIS_GRPC_PORT", "ANALYSIS_CONSUMER_GROUP")
    for name in (*REQUIRED, *own):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    return AnalysisSettings()  # type: ignore[call-arg]


def test_settings_have_defaults_for_the_service_and_need_no_s3(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = settings_from(monkeypatch, REQUIRED)
    assert (settings.grpc_port, settings.consumer_group) == (50054, "analysis")
    assert (settings.directory_addr, settings.transcripts_addr) == (
        "127.0.0.1:50051",
        "127.0.0.1:50053",
    )


def test_settings_read_the_service_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = settings_from(
        monkeypatch,
        {**REQUIRED, "ANALYSIS_GRPC_PORT": "6000", "ANALYSIS_CONSUMER_GROUP": "analysis-e2e"},
    )
    assert (settings.grpc_port, settings.consumer_group) == (6000, "analysis-e2e")


@pytest.mark.parametrize("missing", ["DIRECTORY_ADDR", "TRANSCRIPTS_ADDR", "MONGODB_URL"])
def test_settings_refuse_to_start_without_a_required_value(
    monkeypatch: pytest.MonkeyPatch, missing: str
) -> None:
    environment = {name: value for name, value in REQUIRED.items() if name != missing}
    with pytest.raises(ValidationError, match=missing):
        settings_from(monkeypatch, environment)


def test_a_transcript_says_whether_its_speaker_roles_need_review() -> None:
    doubtful = transcripts_pb2.Transcript(
        speaker_roles=transcripts_pb2.SpeakerRoles(needs_review=True, confidence=0.6)
    )
    assert transcript_from_pb(doubtful).roles_need_review
    assert not transcript_from_pb(transcripts_pb2.Transcript()).roles_need_review
