// Review queue (#/review): flagged calls nobody has reviewed yet, with why each was flagged
// (below threshold, critical check failed, uncertain speaker roles, unverified answers).
// Opening one shows the call detail in review mode: overrides and "Mark reviewed".

import { api } from "../api.js";
import { clear, errorBox, formatTime, h } from "../ui.js";
import { agentText, campaignNames, scoreCell } from "../callviews.js";

const PAGE_SIZE = 25;

// The kinds of flag reasons (analysis's domain/scoring.py words them), shown as tags.
const REASON_KINDS = [
  [/below the threshold/i, "below-threshold", "Below threshold"],
  [/critical check failed/i, "critical", "Critical check failed"],
  [/agent and customer may be swapped|speaker/i, "roles", "Speaker roles uncertain"],
  [/needs review/i, "unverified", "Answer unverified"],
];

export function reasonKind(reason) {
  const found = REASON_KINDS.find(([pattern]) => pattern.test(reason));
  return found ? { key: found[1], label: found[2] } : { key: "other", label: "Flagged" };
}

let trail = [];

export async function render(root, ctx) {
  const campaignId = ctx.query.get("campaign_id") || "";
  const cursor = ctx.query.get("cursor") || "";
  if (!cursor) trail = [];
  root.append(h("div", { class: "page-head" }, h("h1", {}, "Review queue")),
    h("p", { class: "muted" }, "Flagged calls that nobody has reviewed yet, newest " +
      "first. Open one to check its answers, override what is wrong, and mark it reviewed."));
  if (!ctx.can("REVIEW_CALLS")) {
    root.append(errorBox(new Error("Your role cannot review calls.")));
    return undefined;
  }
  const campaigns = await campaignNames(ctx);
  const go = (params) => {
    const search = new URLSearchParams();
    for (const [name, value] of Object.entries(params)) if (value) search.set(name, value);
    const text = search.toString();
    ctx.navigate(`/review${text ? `?${text}` : ""}`);
  };
  if (campaigns.size) {
    const select = h("select", { id: "review-campaign" },
      h("option", { value: "" }, "All campaigns"),
      [...campaigns].sort((a, b) => a[1].localeCompare(b[1])).map(([id, name]) =>
        h("option", { value: id, selected: id === campaignId }, name)));
    select.addEventListener("change", () => go({ campaign_id: select.value }));
    root.append(h("div", { class: "toolbar" },
      h("div", {}, h("label", { for: "review-campaign" }, "Campaign"), select)));
  }
  const list = h("div", { class: "review-list", "aria-busy": "true" },
    h("p", { class: "muted" }, "Loading the queue…"));
  root.append(list);
  let page;
  try {
    page = await api.get("/api/v1/review-queue",
      { campaign_id: campaignId, limit: PAGE_SIZE, cursor });
  } catch (error) {
    clear(list, errorBox(error));
    list.removeAttribute("aria-busy");
    return undefined;
  }
  list.removeAttribute("aria-busy");
  const calls = page.calls || page.items || [];
  if (!calls.length) {
    clear(list, h("p", { class: "muted empty" }, cursor
      ? "No more calls to review."
      : "Nothing to review: every flagged call has been reviewed."));
  } else {
    clear(list, queueTable(calls, campaigns));
  }
  list.append(h("div", { class: "pager" },
    h("button", { type: "button", disabled: !cursor, onclick: () => go(
      { campaign_id: campaignId, cursor: trail.pop() || "" }) }, "← Previous"),
    h("button", { type: "button", disabled: !page.next_cursor, onclick: () => {
      trail.push(cursor);
      go({ campaign_id: campaignId, cursor: page.next_cursor });
    } }, "Next →")));
  return undefined;
}

function queueTable(calls, campaigns) {
  const open = (call) => `#/calls/${encodeURIComponent(call.id)}?review=1`;
  return h("table", { class: "grid review-table" },
    h("thead", {}, h("tr", {}, ["Call", "Campaign", "Agent", "Score", "Why flagged", "Created",
      ""].map((label) => h("th", { scope: "col" }, label)))),
    h("tbody", {}, calls.map((call) => h("tr", { dataset: { callId: call.id } },
      h("td", { dataset: { col: "file" } }, h("a", { href: open(call) },
        call.file_name || call.id)),
      h("td", {}, campaigns.get(call.campaign_id) || call.campaign_id),
      h("td", {}, agentText(call.agent)),
      h("td", {}, scoreCell(call.score)),
      h("td", { dataset: { col: "reasons" } }, reasonsView(call.flag_reasons || [])),
      h("td", {}, formatTime(call.created_at)),
      h("td", {}, h("a", { class: "button", href: open(call) }, "Review"))))));
}

function reasonsView(reasons) {
  return h("ul", { class: "reasons" }, reasons.map((reason) => {
    const kind = reasonKind(reason);
    return h("li", {}, h("span", { class: `reason-tag reason-${kind.key}` }, kind.label), " ",
      h("span", { class: "muted small" }, reason));
  }));
}
