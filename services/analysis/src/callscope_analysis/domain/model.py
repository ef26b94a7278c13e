"""The values analysis works with: transcripts, campaigns and checks, results, analyses."""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass


class Speaker(enum.StrEnum):
    """Who spoke a segment, or whom a check concerns."""

    AGENT = "AGENT"
    CUSTOMER = "CUSTOMER"
    # Mono audio that was not split into parties: could be either.
    UNKNOWN = "UNKNOWN"
    # Checks only: whoever speaks.
    ANY = "ANY"


class CheckWindow(enum.StrEnum):
    """Where in the call a check's evidence is looked for."""

    ANYWHERE = "ANYWHERE"
    OPENING = "OPENING"
    CLOSING = "CLOSING"
    # Before the middle of the call.
    FIRST_HALF = "FIRST_HALF"


class CheckAnswer(enum.StrEnum):
    """The evaluator's answer to a check's question."""

    YES = "YES"
    NO = "NO"
    # The evaluator could not judge this check; it does not count in the score.
    NOT_APPLICABLE = "NOT_APPLICABLE"


class AnswerType(enum.StrEnum):
    """The answers a check allows."""

    YES_NO = "YES_NO"
    # The check may not apply to a call (e.g. "if the customer complained, ...").
    YES_NO_NOT_APPLICABLE = "YES_NO_NOT_APPLICABLE"


@dataclass(frozen=True)
class Check:
    """A quality check exactly as it was defined when an analysis ran."""

    id: str
    name: str
    question: str = ""
    category: str = ""
    weight: float = 1.0
    critical: bool = False
    speaker: Speaker = Speaker.ANY
    phrases: tuple[str, ...] = ()
    window: CheckWindow = CheckWindow.ANYWHERE
    answer_type: AnswerType = AnswerType.YES_NO
    # All of these words in one turn of the check's speaker also satisfy it.
    keywords: tuple[str, ...] = ()
    # A YES_NO_NOT_APPLICABLE check applies only when someone says one of these.
    applies_when: tuple[str, ...] = ()


class EvaluatorKind(enum.StrEnum):
    """Who answers a campaign's checks."""

    LOCAL = "local"
    CLAUDE = "claude"


@dataclass(frozen=True)
class Campaign:
    """The campaign settings analysis needs: its checks, flag threshold and evaluator."""

    id: str
    name: str
    flag_threshold: float
    checks: tuple[Check, ...]
    evaluator: EvaluatorKind = EvaluatorKind.LOCAL
    # Empty: the service's default model.
    claude_model: str = ""


@dataclass(frozen=True)
class Word:
    """One recognised word with its times in seconds from the start of the call."""

    text: str
    start: float
    end: float


@dataclass(frozen=True)
class Segment:
    """One stretch of speech by one speaker, times in seconds from the start.

    `words` may be empty when the speech-to-text provider gives no word times.
    """

    speaker: Speaker
    start: float
    end: float
    text: str
    words: tuple[Word, ...] = ()


@dataclass(frozen=True)
class Transcript:
    """A transcript version of a call."""

    id: str
    call_id: str
    org_id: str
    version: int
    duration_seconds: float
    segments: tuple[Segment, ...]
    # Transcription could not tell with confidence which voice is the agent.
    roles_need_review: bool = False

    @property
    def effective_duration(self) -> float:
        """The call's length: the recorded duration, or the last segment's end if longer."""
        last_end = max((segment.end for segment in self.segments), default=0.0)
        return max(self.duration_seconds, last_end)


@dataclass(frozen=True)
class Evidence:
    """Where in the transcript the evaluator found what it based its answer on."""

    quote: str
    speaker: Speaker
    start: float
    end: float


@dataclass(frozen=True)
class Override:
    """A reviewer's answer to a check, and the evaluator's verdict it replaced.

    The evaluator's confidence, evidence, reasoning and review_reason stay on the
    result; its answer, passed and needs_review are kept here.
    """

    answer: CheckAnswer
    comment: str
    reviewer: str
    at: dt.datetime
    ai_answer: CheckAnswer
    ai_passed: bool
    ai_needs_review: bool


@dataclass(frozen=True)
class CheckResult:
    """The verdict on one check that the score counts.

    `needs_review` marks an answer that could not be verified (its evidence is not
    in the transcript): it never counts as passed, and the call is flagged. With an
    `override`, answer/passed/needs_review are the reviewer's verdict (a verified human
    answer) and the evaluator's own is in the override.
    """

    check: Check
    answer: CheckAnswer
    passed: bool
    confidence: float
    evidence: Evidence | None
    reasoning: str
    needs_review: bool = False
    review_reason: str = ""
    override: Override | None = None

    @property
    def ai_answer(self) -> CheckAnswer:
        """The evaluator's own answer, whether or not a reviewer overrode it."""
        return self.override.ai_answer if self.override is not None else self.answer


@dataclass(frozen=True)
class TokenUsage:
    """What a Claude evaluation consumed over all its requests, and its list-price cost."""

    model: str
    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0
    requests: int = 0
    # None when the model has no price in the service's table.
    cost_usd: float | None = None
    batched: bool = False


@dataclass(frozen=True)
class EvaluatorOutcome:
    """An evaluator's results for a call's checks, in their order, and what it cost."""

    evaluator: str
    results: tuple[CheckResult, ...]
    usage: TokenUsage | None = None


@dataclass(frozen=True)
class Evaluation:
    """Every check's result, the weighted score and whether the call needs a review."""

    results: tuple[CheckResult, ...]
    score: float
    flagged: bool
    flag_reasons: tuple[str, ...]


@dataclass(frozen=True)
class PartyTalk:
    """How much one party spoke."""

    speaker: Speaker
    seconds: float
    share: float
    words: int
    words_per_minute: float


@dataclass(frozen=True)
class ConversationStats:
    """The call's conversation figures."""

    talk: tuple[PartyTalk, ...]
    longest_silence_seconds: float
    longest_silence_start: float
    interruptions: int
    overlap_seconds: float


@dataclass(frozen=True)
class Analysis:
    """A stored analysis version of a call."""

    id: str
    call_id: str
    org_id: str
    campaign_id: str
    version: int
    transcript_version: int
    source_event_id: str
    evaluator: str
    score: float
    flagged: bool
    flag_reasons: tuple[str, ...]
    results: tuple[CheckResult, ...]
    created_at: dt.datetime
    conversation: ConversationStats | None = None
    usage: TokenUsage | None = None
    # A review version: who overrode a check, on which version (evaluator "review").
    reviewed_by: str = ""
    based_on_version: int = 0

    def summary(self) -> AnalysisSummary:
        """The version's summary line."""
        return AnalysisSummary(
            version=self.version,
            transcript_version=self.transcript_version,
            evaluator=self.evaluator,
            score=self.score,
            flagged=self.flagged,
            created_at=self.created_at,
            model=self.usage.model if self.usage is not None else "",
        )


@dataclass(frozen=True)
class AnalysisSummary:
    """An analysis version without its results, as a version history lists it."""

    version: int
    transcript_version: int
    evaluator: str
    score: float
    flagged: bool
    created_at: dt.datetime
    # The Claude model; empty for the offline evaluator.
    model: str = ""


@dataclass(frozen=True)
class NewAnalysis:
    """An analysis about to be stored; the store assigns its id and version."""

    call_id: str
    org_id: str
    campaign_id: str
    transcript_version: int
    source_event_id: str
    evaluator: str
    evaluation: Evaluation
    created_at: dt.datetime
    conversation: ConversationStats | None = None
    usage: TokenUsage | None = None
    # A review version: who overrode a check, and the version it was applied to.
    reviewed_by: str = ""
    based_on_version: int = 0
