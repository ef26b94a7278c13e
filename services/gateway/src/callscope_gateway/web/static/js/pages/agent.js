// Agent profile (#/agents/:id): name, code and campaigns (editable by senior managers and
// owners), the score trend per day or week as a line chart (?bucket=day|week), calls per
// bucket, and the agent's latest calls.

import { api } from "../api.js";
import {
  clear, errorBox, formatDuration, formatTime, h, statusBadge, sourceBadge,
} from "../ui.js";
import { barChart, lineChart } from "../charts.js";
import { campaignNames, flagCell, scoreCell, scoreText } from "../callviews.js";
import { agentForm } from "./agents.js";

export async function render(root, ctx) {
  const id = ctx.params.id;
  const bucket = ctx.query.get("bucket") === "week" ? "week" : "day";
  root.append(h("p", {}, h("a", { href: "#/agents" }, "← Agents")));
  let agent;
  try {
    agent = await api.get(`/api/v1/agents/${encodeURIComponent(id)}`);
  } catch (error) {
    root.append(h("h1", {}, "Agent"), errorBox(error));
    return;
  }
  const campaigns = await campaignNames(ctx);
  const profile = h("section", { class: "agent-profile" });
  const trend = h("section", { class: "card trend-card", "aria-busy": "true" },
    h("h2", {}, "Score trend"), h("p", { class: "muted" }, "Loading the trend…"));
  const calls = h("section", { class: "card" }, h("h2", {}, "Latest calls"),
    h("p", { class: "muted" }, "Loading calls…"));
  root.append(profile, trend, calls);

  const drawProfile = () => {
    clear(profile,
      h("div", { class: "page-head" }, h("h1", {}, agent.name),
        h("code", { class: "agent-code" }, agent.code)),
      h("p", { class: "muted" }, "Campaigns: ", agent.campaign_ids.length
        ? agent.campaign_ids.map((cid) => campaigns.get(cid) || cid).join(", ") : "none"),
      ctx.can("MANAGE_AGENTS") ? h("div", { class: "actions" }, h("button", { type: "button",
        onclick: () => clear(profile, agentForm({ agent, campaigns,
          onSaved: (saved) => {
            agent = saved;
            drawProfile();
          },
          onCancel: drawProfile })) }, "Edit agent")) : null);
  };
  drawProfile();
  await Promise.all([
    drawTrend(trend, id, bucket, ctx),
    drawCalls(calls, id, campaigns),
  ]);
}

async function drawTrend(box, id, bucket, ctx) {
  const toggle = h("div", { class: "segmented", role: "group", "aria-label": "Bucket" },
    ["day", "week"].map((each) => h("button", { type: "button",
      class: each === bucket ? "active" : null, "aria-pressed": String(each === bucket),
      onclick: () => ctx.navigate(`/agents/${encodeURIComponent(id)}?bucket=${each}`) },
    each === "day" ? "Per day" : "Per week")));
  let data;
  try {
    data = await api.get(`/api/v1/agents/${encodeURIComponent(id)}/trend`, { bucket });
  } catch (error) {
    clear(box, h("h2", {}, "Score trend"), toggle, errorBox(error));
    box.removeAttribute("aria-busy");
    return;
  }
  box.removeAttribute("aria-busy");
  const label = (point) => shortDate(point.start, bucket);
  const totals = data.totals;
  const points = data.points.map((point) => ({ label: label(point), value: point.average_score }));
  clear(box,
    h("div", { class: "trend-head" }, h("h2", {}, "Score trend"), toggle),
    h("div", { class: "kpis" },
      h("div", { class: "kpi", dataset: { kpi: "calls" } },
        h("div", { class: "value" }, totals.calls), h("div", { class: "label" }, "Calls")),
      h("div", { class: "kpi", dataset: { kpi: "average" } },
        h("div", { class: "value" }, scoreText(totals.average_score)),
        h("div", { class: "label" }, "Average score")),
      h("div", { class: "kpi", dataset: { kpi: "flagged" } },
        h("div", { class: "value" }, totals.flagged), h("div", { class: "label" }, "Flagged"))),
    totals.scored_calls
      ? lineChart(points, { name: "trend", title: `Average score per ${bucket}`, min: 0,
        max: 100, desc: data.points.filter((p) => p.scored_calls).map((p) =>
          `${label(p)}: ${scoreText(p.average_score)} (${p.scored_calls} scored)`).join("; ") })
      : h("p", { class: "muted empty" }, `No scored calls in the last ${bucket === "day"
        ? "30 days" : "12 weeks"}.`),
    totals.calls ? barChart(data.points.map((point) => ({ label: label(point),
      value: point.calls, cls: "fill-agent" })),
    { name: "trend-calls", title: `Calls per ${bucket}`, height: 160,
      desc: data.points.filter((p) => p.calls).map((p) => `${label(p)}: ${p.calls}`)
        .join("; ") || "none" }) : null);
}

function shortDate(iso, bucket) {
  const date = new Date(iso);
  const text = date.toLocaleDateString(undefined, { month: "short", day: "numeric",
    timeZone: "UTC" });
  return bucket === "week" ? `wk ${text}` : text;
}

async function drawCalls(box, id, campaigns) {
  let page;
  try {
    page = await api.get("/api/v1/calls", { agent_id: id, limit: 20 });
  } catch (error) {
    clear(box, h("h2", {}, "Latest calls"), errorBox(error));
    return;
  }
  const all = `#/calls?agent_id=${encodeURIComponent(id)}`;
  if (!page.calls.length) {
    clear(box, h("h2", {}, "Latest calls"),
      h("p", { class: "muted empty" }, "No calls are linked to this agent yet."));
    return;
  }
  clear(box, h("h2", {}, "Latest calls"),
    h("table", { class: "grid agent-calls" },
      h("thead", {}, h("tr", {}, ["File", "Status", "Source", "Campaign", "Duration", "Score",
        "Flag", "Created"].map((label) => h("th", { scope: "col" }, label)))),
      h("tbody", {}, page.calls.map((call) => h("tr", { dataset: { callId: call.id } },
        h("td", {}, h("a", { href: `#/calls/${encodeURIComponent(call.id)}` },
          call.file_name || call.id)),
        h("td", {}, statusBadge(call.status)),
        h("td", {}, sourceBadge(call.source)),
        h("td", {}, campaigns.get(call.campaign_id) || call.campaign_id),
        h("td", {}, formatDuration(call.duration_seconds)),
        h("td", {}, scoreCell(call.score)),
        h("td", {}, flagCell(call)),
        h("td", {}, formatTime(call.created_at)))))),
    page.next_cursor ? h("p", {}, h("a", { href: all }, "All of this agent's calls →")) : null);
}
