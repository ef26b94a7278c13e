// Call detail (#/calls/:id): status, metadata, the recording with its transcript (click a
// line to hear it; the line being played is highlighted), every check's answer with its
// evidence (click to hear the moment), score and flag reasons, the analysis history with a
// diff between two versions, and the actions the role allows. While the call is in the
// pipeline its status is polled until it reaches a terminal state.
//
// Review mode (#/calls/:id?review=1, opened from the review queue): each check gets an
// Override control (answer + required comment) and the page offers "Mark reviewed".

import { api } from "../api.js";
import {
  clear, confirmDialog, errorBox, every, formatDuration, formatTime, h, sourceBadge,
  statusBadge, toast,
} from "../ui.js";
import {
  agentList, agentText, answerBadge, answerLabel, campaignNames, isTerminal, scoreText,
} from "../callviews.js";

const POLL_MS = 3000;
const METADATA_FIELDS = [
  ["agent_name", "Agent name"], ["agent_code", "Agent code"], ["call_type", "Call type"],
  ["call_date", "Call date"], ["customer_id", "Customer ID"], ["disposition", "Disposition"],
  ["client_reference", "Client reference"],
];

export async function render(root, ctx) {
  const page = new CallPage(root, ctx);
  await page.start();
  return () => page.stop();
}

class CallPage {
  constructor(root, ctx) {
    this.root = root;
    this.ctx = ctx;
    this.id = ctx.params.id;
    this.reviewMode = ctx.query.get("review") === "1" && ctx.can("REVIEW_CALLS");
    this.call = null;
    this.analysis = null;
    this.segments = [];
    this.stopPolling = null;
    this.campaigns = new Map();
    // Regions filled independently, so a failing part does not hide the others.
    this.head = h("header", { class: "call-head" });
    this.actionError = h("div", { class: "action-error" });
    this.actions = h("div", { class: "actions call-actions" });
    this.review = h("div", { class: "review-bar" });
    this.audio = h("audio", { controls: true, preload: "metadata", class: "player",
      "aria-label": "Call recording" });
    this.transcript = h("section", { class: "card transcript-card", "aria-label": "Transcript" });
    this.checks = h("section", { class: "card analysis-card", "aria-label": "Analysis" });
    this.metadata = h("section", { class: "card metadata-card", "aria-label": "Details" });
    this.versions = h("section", { class: "card versions-card", "aria-label": "Versions" });
  }

  async start() {
    this.root.append(
      h("p", {}, h("a", { href: this.reviewMode ? "#/review" : "#/calls" },
        this.reviewMode ? "← Review queue" : "← Calls")),
      this.head, this.review, this.actions, this.actionError,
      h("div", { class: "call-layout" },
        h("div", { class: "call-main" },
          h("section", { class: "card player-card", "aria-label": "Recording" }, this.audio),
          this.transcript),
        h("div", { class: "call-side" }, this.checks)),
      this.metadata, this.versions);
    clear(this.head, h("p", { class: "muted" }, "Loading call…"));
    try {
      this.call = await api.get(`/api/v1/calls/${encodeURIComponent(this.id)}`);
    } catch (error) {
      clear(this.root, h("p", {}, h("a", { href: "#/calls" }, "← Calls")),
        h("h1", {}, "Call"), errorBox(error));
      return;
    }
    this.campaigns = await campaignNames(this.ctx);
    this.drawCall();
    if (this.call.status !== "DUPLICATE") {
      this.audio.src = `/api/v1/calls/${encodeURIComponent(this.id)}/audio`;
    } else {
      this.audio.replaceWith(h("p", { class: "muted" },
        "A duplicate keeps no audio of its own: play the original."));
    }
    this.audio.addEventListener("timeupdate", () => this.highlight());
    await this.loadResults();
    if (!isTerminal(this.call)) this.watch();
  }

  stop() {
    if (this.stopPolling) this.stopPolling();
    if (this.stopCatchUp) this.stopCatchUp();
    this.stopPolling = null;
    this.stopCatchUp = null;
    this.audio.pause();
  }

  // ---- live status ---------------------------------------------------------------------

  watch() {
    if (this.stopPolling) return;
    let firstTick = true;
    this.stopPolling = every(POLL_MS, async () => {
      // every() runs at once; the call was just read, so skip that first tick.
      if (firstTick) {
        firstTick = false;
        return;
      }
      const call = await api.get(`/api/v1/calls/${encodeURIComponent(this.id)}`);
      const changed = JSON.stringify(call) !== JSON.stringify(this.call);
      this.call = call;
      if (changed) this.drawCall();
      if (isTerminal(call)) {
        this.stopPolling();
        this.stopPolling = null;
        await this.loadResults();
      }
    });
  }

  drawCall() {
    this.drawHead();
    this.drawActions();
    this.drawReviewBar();
    // A refresh does not throw away a form being filled in.
    if (!this.editing) this.drawMetadata();
  }

  drawHead() {
    const call = this.call;
    clear(this.head,
      h("h1", {}, call.file_name || call.id),
      h("div", { class: "badges" }, statusBadge(call.status), sourceBadge(call.source),
        call.flagged ? h("span", { class: "badge flag-badge" }, "⚑ Flagged") : null,
        call.queued && call.status === "PENDING"
          ? h("span", { class: "muted" }, "queued for processing") : null,
        call.status === "PENDING" && !call.queued
          ? h("span", { class: "muted" }, "held: auto-processing is off") : null),
      h("div", { class: "head-score" }, "Score ",
        h("span", { class: "score big", dataset: { score: call.score ?? "" } },
          scoreText(call.score))),
      call.failure ? h("div", { class: "error", role: "alert" },
        `Failed at ${call.failure.stage.toLowerCase()}: ${call.failure.reason}`) : null,
      call.duplicate_of ? h("p", { class: "notice" }, `Duplicate of `,
        h("a", { href: `#/calls/${encodeURIComponent(call.duplicate_of)}` }, "the original call"),
        call.duplicate_reason ? `: ${call.duplicate_reason}` : "") : null,
      call.flag_reasons && call.flag_reasons.length
        ? h("ul", { class: "flag-reasons", "aria-label": "Flag reasons" },
          call.flag_reasons.map((reason) => h("li", {}, reason)))
        : null);
  }

  // ---- actions -------------------------------------------------------------------------

  drawActions() {
    const call = this.call;
    if (!this.ctx.can("MANAGE_CALLS")) {
      clear(this.actions);
      return;
    }
    const busy = !isTerminal(call);
    const hasTranscript = call.status === "COMPLETED"
      || (call.status === "FAILED" && call.failure && call.failure.stage === "ANALYSIS");
    const button = (label, handler, attrs = {}) => h("button", { type: "button",
      onclick: (event) => this.act(event.currentTarget, handler), ...attrs }, label);
    clear(this.actions,
      call.status === "PENDING" && !call.queued
        ? button("Process now", () => this.post("process", "Sent for processing"),
          { class: "primary" }) : null,
      button("Rerun Transcription", () => this.post("rerun-transcription",
        "Transcription runs again"), { disabled: busy || call.status === "DUPLICATE" }),
      button("Run Analysis", () => this.post("run-analysis", "Analysis runs again", {}),
        { disabled: busy || !hasTranscript }),
      button("Swap speakers", () => this.swapSpeakers(), { disabled: busy || !hasTranscript,
        title: "Agent and customer came out the wrong way round" }),
      button("Delete", () => this.remove(), { class: "danger", disabled: busy }));
  }

  // Runs one action with its button disabled; shows the API's message when it fails.
  async act(buttonNode, handler) {
    clear(this.actionError);
    buttonNode.disabled = true;
    try {
      await handler();
    } catch (error) {
      clear(this.actionError, errorBox(error));
    } finally {
      if (buttonNode.isConnected) buttonNode.disabled = false;
    }
  }

  async post(action, message, body) {
    this.call = await api.post(`/api/v1/calls/${encodeURIComponent(this.id)}/${action}`, body);
    toast(message, "success");
    this.drawCall();
    this.watch();
  }

  async swapSpeakers() {
    const sure = await confirmDialog("Swap agent and customer?",
      "A new transcript version is made with the two roles exchanged, and the checks run " +
      "again on it. The current versions are kept.", "Swap speakers");
    if (sure) await this.post("swap-speakers", "Speakers swapped; analysis runs again", {});
  }

  async remove() {
    const sure = await confirmDialog("Delete this call?",
      `"${this.call.file_name}" and its recording, transcripts and analyses are removed. ` +
      "This cannot be undone.", "Delete");
    if (!sure) return;
    await api.del(`/api/v1/calls/${encodeURIComponent(this.id)}`);
    toast("Call deleted", "success");
    this.ctx.navigate("/calls");
  }

  // ---- review mode ---------------------------------------------------------------------

  drawReviewBar() {
    if (!this.reviewMode) {
      clear(this.review);
      return;
    }
    // One note field for the page's life: redrawing the bar keeps what was typed.
    this.reviewNote = this.reviewNote || h("input", { type: "text", id: "review-note",
      maxlength: 2000, placeholder: "Optional note" });
    const note = this.reviewNote;
    const waiting = Boolean(this.pendingVersion);
    const done = h("button", { type: "button", class: "primary", disabled: waiting },
      "Mark reviewed");
    done.addEventListener("click", () => this.act(done, async () => {
      await api.post(`/api/v1/calls/${encodeURIComponent(this.id)}/review`,
        { note: note.value.trim() });
      toast("Marked reviewed", "success");
      this.ctx.navigate("/review");
    }));
    clear(this.review, h("div", { class: "notice review-notice" },
      h("strong", {}, "Review: "),
      "check the answers below, override any that are wrong (with a comment), then mark the " +
      "call reviewed.",
      h("div", { class: "review-done" }, h("label", { for: "review-note" }, "Review note"),
        note, done, waiting ? h("span", { class: "muted small" }, "Saving the new score…")
          : null),
      this.call.review ? h("p", { class: "muted small" },
        `Reviewed ${formatTime(this.call.review.reviewed_at)}` +
        (this.call.review.note ? `: “${this.call.review.note}”` : "")) : null));
  }

  // ---- metadata and agent link ---------------------------------------------------------

  drawMetadata() {
    this.editing = false;
    const call = this.call;
    const meta = call.metadata || {};
    const rows = [
      ["Campaign", this.campaigns.get(call.campaign_id) || call.campaign_id],
      ["Agent", agentText(call.agent)
        + (call.agent && call.agent.linked_by ? ` · linked by ${call.agent.linked_by
          .toLowerCase().replace("_", " ")}` : "")],
      ["Duration", formatDuration(call.duration_seconds)],
      ["Channels", call.channels || "—"],
      ...METADATA_FIELDS.map(([key, label]) => [label, meta[key] || "—"]),
      ["Created", formatTime(call.created_at)],
      ["Updated", formatTime(call.updated_at)],
    ];
    const list = h("dl", { class: "facts" }, rows.map(([label, value]) => [
      h("dt", {}, label), h("dd", { dataset: { field: label } }, value)]));
    const controls = this.ctx.can("MANAGE_CALLS") && isTerminal(call)
      ? h("div", { class: "actions" },
        h("button", { type: "button", onclick: () => this.editMetadata() }, "Edit metadata"),
        h("button", { type: "button", onclick: () => this.linkAgent() }, "Link agent"))
      : null;
    clear(this.metadata, h("h2", {}, "Details"), list, controls);
  }

  editMetadata() {
    this.editing = true;
    const meta = this.call.metadata || {};
    const inputs = new Map();
    const fields = METADATA_FIELDS.map(([key, label]) => {
      let input;
      if (key === "call_type") {
        input = h("select", { id: `meta-${key}`, name: key },
          [["", "—"], ["INBOUND", "Inbound"], ["OUTBOUND", "Outbound"]].map(([value, text]) =>
            h("option", { value, selected: (meta[key] || "") === value }, text)));
      } else {
        input = h("input", { id: `meta-${key}`, name: key, value: meta[key] || "",
          type: key === "call_date" ? "date" : "text" });
      }
      inputs.set(key, input);
      return h("div", {}, h("label", { for: `meta-${key}` }, label), input);
    });
    const error = h("div");
    const save = h("button", { type: "submit", class: "primary" }, "Save");
    const form = h("form", { class: "metadata-form", "aria-label": "Edit metadata" },
      h("div", { class: "form-grid" }, fields), error,
      h("div", { class: "actions" }, save,
        h("button", { type: "button", onclick: () => this.drawMetadata() }, "Cancel")));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      // Only what changed is sent; an emptied field clears it.
      const changes = {};
      for (const [key, input] of inputs) {
        if ((meta[key] || "") !== input.value.trim()) changes[key] = input.value.trim() || null;
      }
      if (!Object.keys(changes).length) {
        this.drawMetadata();
        return;
      }
      save.disabled = true;
      clear(error);
      try {
        this.call = await api.patch(`/api/v1/calls/${encodeURIComponent(this.id)}`, changes);
        toast("Metadata saved", "success");
        this.editing = false;
        this.drawCall();
      } catch (failure) {
        clear(error, errorBox(failure));
        save.disabled = false;
      }
    });
    clear(this.metadata, h("h2", {}, "Edit metadata"), form);
    inputs.get("agent_name").focus();
  }

  async linkAgent() {
    this.editing = true;
    clear(this.metadata, h("h2", {}, "Link agent"),
      h("p", { class: "muted" }, "Loading agents…"));
    const agents = await agentList(this.ctx, this.call.campaign_id);
    const current = this.call.agent && this.call.agent.id;
    const select = h("select", { id: "link-agent", name: "agent_id" },
      h("option", { value: "" }, "— choose an agent —"),
      agents.map((agent) => h("option", { value: agent.id, selected: agent.id === current },
        `${agent.name} (${agent.code})`)));
    const error = h("div");
    const run = async (request, message) => {
      clear(error);
      try {
        this.call = await request();
        toast(message, "success");
        this.editing = false;
        this.drawCall();
      } catch (failure) {
        clear(error, errorBox(failure));
      }
    };
    const path = `/api/v1/calls/${encodeURIComponent(this.id)}/agent`;
    clear(this.metadata, h("h2", {}, "Link agent"),
      agents.length ? [h("label", { for: "link-agent" }, "Agent of this campaign"), select]
        : h("p", { class: "muted empty" }, "This campaign has no agents yet."),
      error,
      h("div", { class: "actions" },
        h("button", { type: "button", class: "primary", disabled: !agents.length,
          onclick: () => select.value
            ? run(() => api.put(path, { agent_id: select.value }), "Agent linked")
            : clear(error, errorBox(new Error("Choose an agent first."))) }, "Link"),
        current ? h("button", { type: "button",
          onclick: () => run(() => api.del(path), "Agent unlinked") }, "Unlink") : null,
        h("button", { type: "button", onclick: () => this.drawMetadata() }, "Cancel")));
  }

  // ---- transcript and audio ------------------------------------------------------------

  async loadResults() {
    await Promise.all([this.loadTranscript(), this.loadAnalysis(), this.loadVersions()]);
  }

  async loadTranscript() {
    let transcript = null;
    try {
      transcript = await api.get(`/api/v1/calls/${encodeURIComponent(this.id)}/transcript`);
    } catch (error) {
      if (error.status !== 404) {
        clear(this.transcript, h("h2", {}, "Transcript"), errorBox(error));
        return;
      }
    }
    this.segments = transcript ? transcript.segments : [];
    if (!transcript) {
      clear(this.transcript, h("h2", {}, "Transcript"), h("p", { class: "muted empty" },
        isTerminal(this.call) ? "This call has no transcript." : "The transcript appears " +
          "here when transcription has finished."));
      return;
    }
    const roles = transcript.speaker_roles;
    const lines = this.segments.map((segment, index) => h("li", {
      class: "line", tabindex: 0, role: "button",
      dataset: { index, start: segment.start, speaker: segment.speaker },
      "aria-label": `${speakerLabel(segment.speaker)} at ${formatDuration(segment.start)}: ` +
        segment.text,
      onclick: () => this.playFrom(segment.start),
      onkeydown: (event) => {
        if (event.key === "Enter" || event.key === " ") {
          event.preventDefault();
          this.playFrom(segment.start);
        }
      },
    },
    h("span", { class: "time" }, formatDuration(segment.start)),
    h("span", { class: `speaker ${segment.speaker.toLowerCase()}` },
      speakerLabel(segment.speaker)),
    h("span", { class: "text" }, segment.text)));
    clear(this.transcript,
      h("h2", {}, `Transcript `, h("span", { class: "muted small" },
        `version ${transcript.version} · ${transcript.provider}${transcript.model
          ? ` ${transcript.model}` : ""}`)),
      roles && roles.needs_review ? h("div", { class: "notice roles-notice" },
        `Agent and customer may be the wrong way round (confidence ` +
        `${Math.round(roles.confidence * 100)}%). Confirm, or use Swap speakers.`) : null,
      roles && roles.source === "manual" ? h("p", { class: "muted small" },
        `Speakers swapped by hand from version ${roles.swapped_from_version}.`) : null,
      this.segments.length
        ? h("ol", { class: "transcript" }, lines)
        : h("p", { class: "muted empty" }, "Nothing was said in this recording."));
    this.highlight();
  }

  playFrom(seconds) {
    if (!this.audio.isConnected) return;
    this.audio.currentTime = Math.max(0, Number(seconds) || 0);
    // play() rejects when the media cannot play (or a newer seek interrupts it); the
    // position is set all the same, so the rejection is only logged.
    const playing = this.audio.play();
    if (playing && playing.catch) playing.catch((error) => console.warn("play:", error.message));
    this.highlight();
  }

  // Marks the segment under the playhead: the last one that started at or before it.
  highlight() {
    const time = this.audio.currentTime || 0;
    let current = -1;
    this.segments.forEach((segment, index) => {
      if (segment.start <= time + 0.05) current = index;
    });
    if (current >= 0 && time > this.segments[current].end + 1.5) current = -1;
    for (const line of this.transcript.querySelectorAll(".line")) {
      const on = Number(line.dataset.index) === current && (time > 0 || !this.audio.paused);
      line.classList.toggle("playing", on);
      if (on) line.setAttribute("aria-current", "true");
      else line.removeAttribute("aria-current");
    }
  }

  // ---- analysis ------------------------------------------------------------------------

  async loadAnalysis(version) {
    let analysis = null;
    try {
      analysis = await api.get(`/api/v1/calls/${encodeURIComponent(this.id)}/analysis`,
        { version: version || undefined });
    } catch (error) {
      if (error.status !== 404) {
        clear(this.checks, h("h2", {}, "Checks"), errorBox(error));
        return;
      }
    }
    this.analysis = analysis;
    if (!analysis) {
      clear(this.checks, h("h2", {}, "Checks"), h("p", { class: "muted empty" },
        isTerminal(this.call) ? "This call has no analysis." : "Answers appear here when the " +
          "analysis has finished."));
      return;
    }
    this.drawAnalysis();
  }

  drawAnalysis() {
    const analysis = this.analysis;
    const latest = this.showsLatest();
    clear(this.checks,
      h("h2", {}, "Checks ", h("span", { class: "muted small" },
        `analysis version ${analysis.version}${latest ? "" : " (not the latest)"} · ` +
        `${analysis.evaluator}`)),
      h("div", { class: "analysis-score" },
        h("span", { class: "score big", dataset: { analysisScore: analysis.score } },
          scoreText(analysis.score)),
        analysis.flagged ? h("span", { class: "flag" }, " ⚑ Flagged")
          : h("span", { class: "ok" }, " Not flagged")),
      analysis.flag_reasons.length ? h("ul", { class: "flag-reasons" },
        analysis.flag_reasons.map((reason) => h("li", {}, reason))) : null,
      analysis.results.map((result) => this.checkView(result, latest)),
      conversationView(analysis.conversation));
  }

  showsLatest() {
    return !this.latestVersion || this.analysis.version === this.latestVersion;
  }

  checkView(result, latest) {
    const override = result.override || null;
    const aiAnswer = result.ai_answer || (override && override.ai_answer) || null;
    // Built with h(), which skips null children (Element.append would print "null").
    return h("article", { class: `check${override ? " overridden" : ""}`,
      dataset: { checkId: result.check_id } },
      h("div", { class: "check-head" },
        h("h3", {}, result.name),
        result.critical ? h("span", { class: "badge critical" }, "Critical") : null,
        h("span", { class: "muted small" }, `weight ${result.weight}`)),
      h("p", { class: "question muted" }, result.question),
      h("div", { class: "answers" },
        override
          ? [h("span", { class: "answer-label" }, "Reviewer: "),
            answerBadge(result.answer, "effective"),
            h("span", { class: "ai-answer" }, " AI: ", answerBadge(aiAnswer, "ai"))]
          : [h("span", { class: "answer-label" }, "Answer: "),
            answerBadge(result.answer, "effective"),
            h("span", { class: "muted small" },
              ` confidence ${Math.round((result.confidence || 0) * 100)}%`)]),
      override ? h("p", { class: "override-note" }, `Overridden: “${override.comment}”`,
        override.at ? h("span", { class: "muted small" }, ` · ${formatTime(override.at)}`)
          : null) : null,
      result.needs_review ? h("p", { class: "needs-review" },
        `Needs review: ${result.review_reason || "the answer could not be verified"}`) : null,
      result.evidence ? this.evidenceView(result.evidence) : null,
      result.reasoning ? h("p", { class: "reasoning" }, result.reasoning) : null,
      this.reviewMode && latest ? this.overrideControl(result) : null);
  }

  evidenceView(evidence) {
    return h("button", { type: "button", class: "evidence",
      dataset: { start: evidence.start },
      title: "Play this moment",
      onclick: () => this.playFrom(evidence.start) },
    h("span", { class: "time" }, `▶ ${formatDuration(evidence.start)}`),
    h("span", { class: "quote" }, `${speakerLabel(evidence.speaker)}: “${evidence.quote}”`));
  }

  overrideControl(result) {
    const wrap = h("div", { class: "override" });
    const open = h("button", { type: "button", class: "link" }, "Override");
    wrap.append(open);
    open.addEventListener("click", () => {
      const id = `override-${result.check_id}`;
      const answers = ["YES", "NO", "NOT_APPLICABLE"];
      // A reviewer overrides to disagree: offer the other of yes and no first.
      const suggested = result.answer === "YES" ? "NO" : "YES";
      const choice = h("select", { id: `${id}-answer`, name: "answer" },
        answers.map((answer) => h("option",
          { value: answer, selected: answer === suggested }, answerLabel(answer))));
      // Checked here rather than with `required`, so the API-style message shows inline.
      const comment = h("textarea", { id: `${id}-comment`, name: "comment",
        "aria-required": "true", maxlength: 2000, placeholder: "Why is the answer different?" });
      const error = h("div");
      const save = h("button", { type: "submit", class: "primary" }, "Save override");
      const form = h("form", { class: "override-form", "aria-label": `Override ${result.name}` },
        h("label", { for: `${id}-answer` }, "Reviewer's answer"), choice,
        h("label", { for: `${id}-comment` }, "Comment (required)"), comment,
        h("p", { class: "muted small" }, "AI answered ", answerBadge(
          result.ai_answer || (result.override && result.override.ai_answer) || result.answer,
          "ai")),
        error,
        h("div", { class: "actions" }, save,
          h("button", { type: "button", onclick: () => wrap.replaceWith(
            this.overrideControl(result)) }, "Cancel")));
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        clear(error);
        if (!comment.value.trim()) {
          clear(error, errorBox(new Error("Say why the answer is overridden: a comment is " +
            "required.")));
          comment.focus();
          return;
        }
        save.disabled = true;
        try {
          await this.saveOverride(result.check_id, choice.value, comment.value.trim());
        } catch (failure) {
          clear(error, errorBox(failure));
          save.disabled = false;
        }
      });
      clear(wrap, form);
      comment.focus();
    });
    return wrap;
  }

  async saveOverride(checkId, answer, comment) {
    const reviewed = await api.post(`/api/v1/calls/${encodeURIComponent(this.id)}/overrides`,
      { check_id: checkId, answer, comment, version: this.analysis.version });
    toast("Override saved; the score is recomputed", "success");
    this.analysis = reviewed;
    this.drawAnalysis();
    this.awaitCallVersion(reviewed.version);
    await this.loadVersions();
  }

  // The call takes the review version's score when analysis's event reaches ingest, a moment
  // after the override. Until then "Mark reviewed" waits: a mark on the older result would
  // be cleared by the newer one arriving, and the call would come back to the queue.
  awaitCallVersion(version) {
    this.pendingVersion = version;
    this.drawReviewBar();
    if (this.stopCatchUp) this.stopCatchUp();
    let tries = 0;
    this.stopCatchUp = every(1000, async () => {
      tries += 1;
      const call = await api.get(`/api/v1/calls/${encodeURIComponent(this.id)}`);
      const caughtUp = (call.analysis_version || 0) >= version;
      if (caughtUp || tries > 60) {
        this.stopCatchUp();
        this.stopCatchUp = null;
        this.pendingVersion = null;
      }
      if (caughtUp || JSON.stringify(call) !== JSON.stringify(this.call)) {
        this.call = call;
        this.drawCall();
      }
    });
  }

  // ---- versions and diff ---------------------------------------------------------------

  async loadVersions() {
    let history;
    try {
      history = await api.get(`/api/v1/calls/${encodeURIComponent(this.id)}/analyses`);
    } catch (error) {
      clear(this.versions, h("h2", {}, "Version history"), errorBox(error));
      return;
    }
    const analyses = history.analyses;
    // Redrawn only when the answers shown stop (or start) being the latest: a redraw would
    // throw away an override form the reviewer has just opened.
    const showedLatest = this.analysis && this.showsLatest();
    this.latestVersion = analyses.length ? analyses[0].version : null;
    if (this.analysis && this.showsLatest() !== showedLatest) this.drawAnalysis();
    if (!analyses.length) {
      clear(this.versions, h("h2", {}, "Version history"),
        h("p", { class: "muted empty" }, "No analysis versions yet."));
      return;
    }
    const diffBox = h("div", { class: "diff" });
    const rows = analyses.map((entry) => h("tr", { dataset: { version: entry.version } },
      h("td", {}, `v${entry.version}`),
      h("td", {}, `v${entry.transcript_version}`),
      h("td", {}, entry.evaluator + (entry.model ? ` (${entry.model})` : "")),
      h("td", {}, h("span", { class: "score" }, scoreText(entry.score))),
      h("td", {}, entry.flagged ? h("span", { class: "flag" }, "⚑") : "—"),
      h("td", {}, formatTime(entry.created_at)),
      h("td", {}, h("button", { type: "button", class: "link",
        onclick: () => this.loadAnalysis(entry.version) }, "View"))));
    const versionSelect = (id, selected) => h("select", { id },
      analyses.map((entry) => h("option", { value: entry.version,
        selected: entry.version === selected }, `v${entry.version}`)));
    const from = versionSelect("diff-from", analyses[Math.min(1, analyses.length - 1)].version);
    const to = versionSelect("diff-to", analyses[0].version);
    const compare = h("button", { type: "button", disabled: analyses.length < 2,
      onclick: () => this.showDiff(diffBox, from.value, to.value) }, "Compare");
    clear(this.versions,
      h("h2", {}, "Version history"),
      h("table", { class: "grid versions" },
        h("thead", {}, h("tr", {}, ["Analysis", "Transcript", "Evaluator", "Score", "Flag",
          "Created", ""].map((label) => h("th", { scope: "col" }, label)))),
        h("tbody", {}, rows)),
      h("div", { class: "toolbar diff-controls" },
        h("div", {}, h("label", { for: "diff-from" }, "From"), from),
        h("div", {}, h("label", { for: "diff-to" }, "To"), to),
        compare,
        analyses.length < 2 ? h("span", { class: "muted" },
          "Run Analysis again to compare versions.") : null),
      diffBox);
  }

  async showDiff(box, from, to) {
    clear(box, h("p", { class: "muted" }, "Comparing…"));
    try {
      const diff = await api.get(`/api/v1/calls/${encodeURIComponent(this.id)}/analyses/diff`,
        { from, to });
      clear(box, diffView(diff));
    } catch (error) {
      clear(box, errorBox(error));
    }
  }
}

function speakerLabel(speaker) {
  return { AGENT: "Agent", CUSTOMER: "Customer" }[speaker] || "Speaker";
}

function diffView(diff) {
  const change = diff.score_change;
  const sign = change > 0 ? "+" : "";
  return h("div", { class: "diff-result", dataset: { from: diff.from.version,
    to: diff.to.version } },
  h("p", {}, `v${diff.from.version} → v${diff.to.version}: score `,
    h("span", { class: "score" }, scoreText(diff.from.score)), " → ",
    h("span", { class: "score" }, scoreText(diff.to.score)),
    h("span", { class: change < 0 ? "flag" : "muted" }, ` (${sign}${change})`),
    ` · ${diff.unchanged} check${diff.unchanged === 1 ? "" : "s"} unchanged`),
  diff.changes.length
    ? h("table", { class: "grid diff-table" },
      h("thead", {}, h("tr", {}, ["Check", "Change", "Before", "After"].map((label) =>
        h("th", { scope: "col" }, label)))),
      h("tbody", {}, diff.changes.map((item) => h("tr", { class: "diff-changed",
        dataset: { checkId: item.check_id } },
      h("td", {}, item.name),
      h("td", {}, item.change.replace("_", " ")),
      h("td", {}, item.before ? answerBadge(item.before.answer) : "—"),
      h("td", {}, item.after ? answerBadge(item.after.answer) : "—")))))
    : h("p", { class: "muted" }, "No check changed between these versions."));
}

function conversationView(conversation) {
  if (!conversation) return null;
  const talk = conversation.talk.map((party) => h("li", {},
    `${speakerLabel(party.speaker)}: ${Math.round(party.share * 100)}% of talk time, ` +
    `${party.words_per_minute} words/min`));
  return h("div", { class: "conversation" }, h("h3", {}, "Conversation"),
    h("ul", {}, talk,
      h("li", {}, `Longest silence ${conversation.longest_silence_seconds}s`),
      h("li", {}, `${conversation.interruptions} interruption` +
        `${conversation.interruptions === 1 ? "" : "s"}`)));
}
