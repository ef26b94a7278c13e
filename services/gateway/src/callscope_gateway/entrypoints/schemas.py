"""Response models of the public API: the OpenAPI document's shapes of what the views build.

Each model mirrors one view function (views.py, access_views.py, job_views.py,
sftp_views.py) field for field; routes declare them with `response_model=`, so FastAPI
checks every answer against its model and the document shows exact shapes. A view that
gains a field needs it here too (tests/unit/gateway/test_openapi_complete.py compares them).

Times are ISO 8601 UTC strings ending in Z, null where the moment has not happened; enum
values are the protobuf names without their prefix (`COMPLETED`, `AGENT`).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from callscope_gateway.entrypoints.errors import ErrorBody


class _View(BaseModel):
    """An answer's shape; field names as the JSON has them."""

    model_config = ConfigDict(populate_by_name=True)


# -- calls ------------------------------------------------------------------------------------


class CallFailure(_View):
    """The stage a call failed in and why."""

    stage: str
    reason: str


class CallAgent(_View):
    """The agent a call is linked to, and how the link was made."""

    id: str
    code: str
    name: str
    linked_by: str


class Call(_View):
    """A call: status, source, metadata, score, flag and reasons."""

    id: str
    campaign_id: str
    status: str
    source: str
    file_name: str
    metadata: dict[str, str]
    duration_seconds: float
    channels: int
    score: float | None
    flagged: bool | None
    flag_reasons: list[str]
    transcript_version: int | None
    analysis_version: int | None
    failure: CallFailure | None
    queued: bool
    duplicate_of: str | None
    duplicate_reason: str | None
    agent: CallAgent | None
    job_id: str | None
    created_at: str | None
    updated_at: str | None
    review: CallReview | None = Field(
        description="set once a reviewer marked the current result reviewed; "
        "any newer analysis version clears it"
    )


class CallReview(_View):
    """Who marked a call's result reviewed, when, with what note, on which analysis version."""

    reviewed_by: str
    reviewed_at: str | None
    note: str
    analysis_version: int


class CallPage(_View):
    """One page of calls, newest first; pass next_cursor as `cursor` for the next one."""

    calls: list[Call]
    next_cursor: str | None


class UploadAccepted(_View):
    """A stored upload: the new call's id (as `id` and `call_id`) and its status."""

    id: str
    call_id: str
    status: str


class DuplicateDetail(_View):
    """Why an upload is a duplicate, and the call it duplicates."""

    code: str = Field(description="always `duplicate`")
    message: str
    original_call_id: str


class DuplicateUpload(UploadAccepted):
    """A duplicate upload (HTTP 409): recorded as a call of status DUPLICATE, not processed."""

    error: DuplicateDetail


# -- transcripts ------------------------------------------------------------------------------


class Word(_View):
    """A word with its time in seconds and the recogniser's probability."""

    text: str
    start: float
    end: float
    probability: float


class Segment(_View):
    """A speaker's turn: AGENT, CUSTOMER or UNKNOWN, with word timings."""

    speaker: str
    start: float
    end: float
    text: str
    words: list[Word]


class SpeakerRoles(_View):
    """How a transcript's AGENT and CUSTOMER were decided, and whether to review them."""

    source: str | None
    confidence: float
    needs_review: bool
    evidence: list[str]
    swapped_by: str | None
    swapped_from_version: int | None


class Transcript(_View):
    """A transcript version with speaker-labelled, word-timed segments."""

    call_id: str
    campaign_id: str | None
    version: int
    provider: str
    model: str
    language: str
    duration_seconds: float
    created_at: str | None
    speaker_roles: SpeakerRoles | None
    settings: dict[str, str]
    segments: list[Segment]


# -- analyses ---------------------------------------------------------------------------------


class Evidence(_View):
    """The quote the evaluator based an answer on, and where it is in the call."""

    quote: str
    speaker: str
    start: float
    end: float


class CheckResult(_View):
    """One check's answer, as the check was defined when the analysis ran."""

    check_id: str
    name: str
    question: str
    category: str
    weight: float
    critical: bool
    answer: str
    passed: bool
    confidence: float
    evidence: Evidence | None
    reasoning: str
    needs_review: bool
    review_reason: str
    ai_answer: str = Field(
        description="the evaluator's own answer; `answer` is the effective one (the "
        "reviewer's when overridden), which the score counts"
    )
    override: CheckOverride | None


class CheckOverride(_View):
    """A reviewer's answer to a check, which replaces the evaluator's in the score."""

    answer: str
    comment: str
    reviewer: str
    at: str | None


class TokenUsage(_View):
    """What a Claude evaluation consumed; cost_usd is null for a model without a known price."""

    model: str
    input_tokens: int
    output_tokens: int
    cache_creation_input_tokens: int
    cache_read_input_tokens: int
    requests: int
    cost_usd: float | None
    batched: bool


class TalkTime(_View):
    """One party's talk time, share, words and pace."""

    speaker: str
    seconds: float
    share: float
    words: int
    words_per_minute: float


class ConversationStats(_View):
    """Talk time per party, the longest silence and interruptions."""

    talk: list[TalkTime]
    longest_silence_seconds: float
    longest_silence_start: float
    interruptions: int
    overlap_seconds: float


class Analysis(_View):
    """An analysis version: score, flag decision and each check's answer with evidence."""

    call_id: str
    version: int
    transcript_version: int
    evaluator: str
    score: float
    flagged: bool
    flag_reasons: list[str]
    created_at: str | None
    conversation: ConversationStats | None
    usage: TokenUsage | None
    results: list[CheckResult]
    reviewed_by: str | None = Field(
        description="a review version (evaluator `review`): the user who overrode a check"
    )
    based_on_version: int | None = Field(
        description="a review version: the version the override was applied to"
    )


class AnalysisSummary(_View):
    """One line of a call's analysis history."""

    version: int
    transcript_version: int
    evaluator: str
    model: str | None
    score: float
    flagged: bool
    created_at: str | None


class AnalysisHistory(_View):
    """A call's analysis versions, newest first."""

    analyses: list[AnalysisSummary]


class CheckResultChange(_View):
    """A check whose result changed between two analysis versions."""

    check_id: str
    name: str
    change: str = Field(description="added, removed, answer_changed or definition_changed")
    answer_changed: bool
    definition_changed: bool
    before: CheckResult | None
    after: CheckResult | None


class AnalysisDiff(_View):
    """Two analysis versions side by side: their summaries and each check that changed."""

    from_: AnalysisSummary = Field(alias="from")
    to: AnalysisSummary
    score_change: float
    unchanged: int = Field(description="how many checks are the same in both versions")
    changes: list[CheckResultChange]


# -- jobs (multi-file and bulk uploads) -------------------------------------------------------


class JobCounts(_View):
    """A job's files by outcome."""

    total: int
    processed: int
    failed: int
    completed: int
    duplicates: int
    cancelled: int


class ItemError(_View):
    """Why a job's file was refused."""

    code: str
    message: str


class JobItem(_View):
    """One file of a job: where it is, its call, its error, and its upload's progress."""

    id: str
    file_name: str
    line: int | None
    metadata: dict[str, str]
    state: str | None
    call_id: str | None
    call_status: str | None
    error: ItemError | None
    size_bytes: int
    bytes_received: int
    percent: float
    bytes_per_second: float
    upload_started_at: str | None


class JobSummary(_View):
    """A job with its status and counts, as job lists show it."""

    id: str
    campaign_id: str
    source: str | None
    status: str | None
    counts: JobCounts
    metadata: dict[str, str]
    created_at: str | None
    cancelled_at: str | None


class Job(JobSummary):
    """A job with every file's state, call, error and upload progress."""

    items: list[JobItem]


class JobPage(_View):
    """One page of a campaign's jobs, newest first."""

    jobs: list[JobSummary]
    next_cursor: str | None


class BulkPreviewRow(_View):
    """A CSV row: its file, metadata, whether the file was selected, and its problems."""

    line: int
    file_name: str
    metadata: dict[str, str]
    matched: bool
    errors: list[str]
    warnings: list[str]


class BulkPreview(_View):
    """A bulk CSV checked against the selected files: rows, unmatched files and problems."""

    rows: list[BulkPreviewRow]
    files_without_row: list[str]
    errors: list[str]
    warnings: list[str]
    ready_rows: int


class BulkJobCreated(_View):
    """The new bulk job and the preview its items came from."""

    job: Job
    preview: BulkPreview


class ItemUploaded(UploadAccepted):
    """A job's file stored: its call and the item as it is now."""

    item: JobItem


class DuplicateItemUpload(ItemUploaded):
    """A job's file that duplicates an earlier call (HTTP 409): recorded, not processed."""

    error: DuplicateDetail


# -- SFTP batches, files and sweepers ---------------------------------------------------------


class SftpBatchCounts(_View):
    """A batch's files by outcome."""

    total: int
    completed: int
    failed: int
    duplicates: int
    skipped: int
    missing: int


class SftpFile(_View):
    """A file found in a campaign's folder: its status and reason, call, agent and place."""

    id: str
    batch_id: str | None
    campaign_id: str
    file_name: str
    is_csv: bool
    status: str | None
    reason: str | None
    size_bytes: int
    call_id: str | None
    agent_code: str | None
    agent_source: str | None
    csv_line: int | None
    metadata: dict[str, str]
    location: str | None
    detected_at: str | None
    updated_at: str | None


class SftpBatchSummary(_View):
    """A batch with its status, why it waits or failed, its counts and times."""

    id: str
    campaign_id: str
    status: str | None
    reason: str | None
    csv_file_name: str | None
    missing_files: list[str]
    counts: SftpBatchCounts
    opened_at: str | None
    window_ends_at: str | None
    processing_started_at: str | None
    finished_at: str | None


class SftpBatch(SftpBatchSummary):
    """A batch with every one of its files."""

    files: list[SftpFile]


class SftpBatchPage(_View):
    """One page of a campaign's batches, newest first."""

    batches: list[SftpBatchSummary]
    next_page_token: str | None


class SftpFilePage(_View):
    """One page of a campaign's files, newest first."""

    files: list[SftpFile]
    next_page_token: str | None


class SweeperReplica(_View):
    """One sftp replica's view of the SFTP server: connected, last error, last sweeps."""

    replica_id: str
    server: str
    connected: bool
    last_error: str | None
    last_sweep_at: str | None
    last_success_at: str | None
    campaigns_held: int


class SweeperStatus(_View):
    """Each sftp replica's last connection to the SFTP server."""

    replicas: list[SweeperReplica]


# -- users, sessions and API keys -------------------------------------------------------------


class User(_View):
    """A user without any password material."""

    id: str
    email: str
    role: str
    org_id: str


class LoginAnswer(_View):
    """A new session: its token, when it expires, its CSRF token, and the user."""

    token: str
    token_type: str = Field(description="always `Bearer`")
    expires_at: str | None
    csrf_token: str
    user: User


class SessionInfo(_View):
    """The signed-in user, when the session expires, its CSRF token and the role's rights."""

    user: User
    expires_at: str | None
    csrf_token: str
    permissions: list[str] = Field(
        default_factory=list,
        description="what the role may do, by permission name (VIEW_CALLS, MANAGE_CALLS, ...): "
        "the web application shows the controls these allow",
    )


class ApiKey(_View):
    """A campaign API key as listed: never its secret value."""

    id: str
    campaign_id: str
    name: str
    display_prefix: str
    rate_limit_per_minute: int | None
    created_at: str | None
    last_used_at: str | None
    revoked_at: str | None


class ApiKeyList(_View):
    """A campaign's API keys, revoked ones too."""

    api_keys: list[ApiKey]


class NewApiKey(_View):
    """A key just minted: `key` is in this answer only."""

    id: str
    key: str
    display_prefix: str
    name: str
    campaign_id: str
    created_at: str | None
    rate_limit_per_minute: int | None


# -- campaigns, checks and agents -------------------------------------------------------------


class Check(_View):
    """A quality check with every field."""

    id: str
    name: str
    question: str
    category: str
    weight: float
    critical: bool
    speaker: str
    phrases: list[str]
    window: str
    answer_type: str
    keywords: list[str]
    applies_when: list[str]


class CheckList(_View):
    """A campaign's checks in order."""

    checks: list[Check]


class SftpSettings(_View):
    """A campaign's SFTP settings and the folder its files are uploaded to (null: no slug)."""

    enabled: bool
    folder_slug: str
    csv: str
    batch_window_seconds: int
    agent_file_name_pattern: str
    upload_path: str | None


class _CampaignSettings(_View):
    """What a campaign's list entry and its full view share."""

    id: str
    name: str
    flag_threshold: float
    auto_processing: bool
    transcription_provider: str
    agent_channel: str
    opening_party: str
    company_name: str
    evaluator: str
    claude_model: str


class CampaignSummary(_CampaignSettings):
    """A campaign in a list: its settings without checks."""

    created_at: str | None


class CampaignList(_View):
    """The campaigns the principal may see."""

    campaigns: list[CampaignSummary]


class Campaign(_CampaignSettings):
    """A campaign's settings (SFTP ones with their upload path) and its checks in order."""

    org_id: str
    sftp: SftpSettings
    checks: list[Check]


class Agent(_View):
    """An agent with the campaigns it works on."""

    id: str
    name: str
    code: str
    campaign_ids: list[str]


class AgentList(_View):
    """Agents of the organisation, by code."""

    agents: list[Agent]


# -- request bodies read as raw streams -------------------------------------------------------
# Uploads stream their bodies (never buffered whole), so FastAPI sees no body parameter to
# describe: these are the `openapi_extra` request bodies of those routes.


def multipart_body(
    properties: dict[str, dict[str, Any]], required: tuple[str, ...]
) -> dict[str, Any]:
    """`openapi_extra` for a route that reads a multipart/form-data stream itself."""
    return {
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": properties,
                        "required": list(required),
                    }
                }
            },
        }
    }


def binary_body(description: str) -> dict[str, Any]:
    """`openapi_extra` for a route whose raw request body is a file's bytes."""
    return {
        "requestBody": {
            "required": True,
            "description": description,
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
            },
        }
    }


def with_duplicate(
    responses: dict[int | str, dict[str, Any]], duplicate: type[BaseModel]
) -> dict[int | str, dict[str, Any]]:
    """An upload's error responses plus its 409 duplicate answer (beside any 409 errors)."""
    conflicts = responses.get(409)
    described = "a duplicate: recorded as a call of status DUPLICATE, not processed"
    if conflicts is None:
        return {**responses, 409: {"model": duplicate, "description": described}}
    return {
        **responses,
        409: {
            "model": duplicate | ErrorBody,
            "description": f"{described}; or {conflicts['description']}",
        },
    }
