// Dashboard (#/dashboard, the landing page): KPI tiles and inline-SVG charts of the calls in
// range (campaign and upload dates in the URL query): calls per status in the guide's
// colours, per source, the score histogram, and each agent's average score. The figures are
// read again every 15 s and redrawn when they changed.

import { api } from "../api.js";
import { clear, errorBox, every, h } from "../ui.js";
import { barChart, hbarChart } from "../charts.js";
import { STATUSES, SOURCES, campaignNames, scoreText } from "../callviews.js";

const REFRESH_MS = 15000;

export async function render(root, ctx) {
  const filters = {
    campaign_id: ctx.query.get("campaign_id") || "",
    from: ctx.query.get("from") || "",
    to: ctx.query.get("to") || "",
  };
  root.append(h("div", { class: "page-head" }, h("h1", {}, "Dashboard")));
  const toolbar = h("form", { class: "toolbar", "aria-label": "Dashboard filters" });
  const body = h("div", { class: "dashboard", "aria-busy": "true" },
    h("p", { class: "muted" }, "Loading figures…"));
  root.append(toolbar, body);
  const campaigns = await campaignNames(ctx);
  drawFilters(toolbar, filters, campaigns, (values) => {
    const search = new URLSearchParams();
    for (const [name, value] of Object.entries(values)) if (value) search.set(name, value);
    const text = search.toString();
    ctx.navigate(`/dashboard${text ? `?${text}` : ""}`);
  });
  let shown = "";
  let first = true;
  return every(REFRESH_MS, async () => {
    if (document.hidden && !first) return;
    let figures;
    try {
      figures = await api.get("/api/v1/dashboard", filters);
    } catch (error) {
      if (first) clear(body, errorBox(error));
      first = false;
      throw error;
    }
    first = false;
    body.removeAttribute("aria-busy");
    const text = JSON.stringify(figures);
    if (text === shown) return;
    shown = text;
    drawDashboard(body, figures, ctx, filters);
  });
}

function drawFilters(form, filters, campaigns, apply) {
  const campaign = h("select", { id: "dash-campaign", name: "campaign_id" },
    h("option", { value: "" }, "All campaigns"),
    [...campaigns].sort((a, b) => a[1].localeCompare(b[1])).map(([id, name]) =>
      h("option", { value: id, selected: id === filters.campaign_id }, name)));
  const from = h("input", { type: "date", id: "dash-from", name: "from", value: filters.from });
  const to = h("input", { type: "date", id: "dash-to", name: "to", value: filters.to });
  clear(form,
    campaigns.size ? h("div", {}, h("label", { for: "dash-campaign" }, "Campaign"), campaign)
      : null,
    h("div", {}, h("label", { for: "dash-from" }, "From"), from),
    h("div", {}, h("label", { for: "dash-to" }, "To"), to),
    h("div", { class: "filter-actions" }, h("button", { type: "button", class: "link",
      onclick: () => apply({}) }, "Clear filters")));
  const read = () => ({ campaign_id: campaign.value, from: from.value, to: to.value });
  form.addEventListener("change", () => apply(read()));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    apply(read());
  });
}

function callsLink(filters, extra) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries({ ...filters, ...extra })) {
    if (value) search.set(name, value);
  }
  const text = search.toString();
  return `#/calls${text ? `?${text}` : ""}`;
}

function tile(key, label, value, href) {
  const content = [h("div", { class: "value" }, value), h("div", { class: "label" }, label)];
  return href
    ? h("a", { class: "kpi", href, dataset: { kpi: key } }, content)
    : h("div", { class: "kpi", dataset: { kpi: key } }, content);
}

function drawDashboard(body, figures, ctx, filters) {
  const byStatus = figures.calls_by_status || {};
  const inPipeline = ["PENDING", "TRANSCRIBING", "ANALYZING"]
    .reduce((sum, status) => sum + (byStatus[status] || 0), 0);
  const tiles = h("div", { class: "kpis" },
    tile("total", "Calls", figures.total_calls, callsLink(filters)),
    tile("in-progress", "In progress", inPipeline,
      callsLink(filters, { status: "PENDING,TRANSCRIBING,ANALYZING" })),
    tile("completed", "Completed", byStatus.COMPLETED || 0,
      callsLink(filters, { status: "COMPLETED" })),
    tile("failed", "Failed", byStatus.FAILED || 0, callsLink(filters, { status: "FAILED" })),
    tile("average", "Average score", scoreText(figures.average_score)),
    tile("flagged", "Flagged", figures.flagged, callsLink(filters, { flagged: "true" })),
    tile("unreviewed", "Awaiting review", figures.flagged_unreviewed,
      ctx.can("REVIEW_CALLS") ? `#/review${filters.campaign_id
        ? `?campaign_id=${encodeURIComponent(filters.campaign_id)}` : ""}` : null));
  if (!figures.total_calls) {
    clear(body, tiles, h("p", { class: "muted empty" },
      "No calls in this range yet. Upload recordings and their figures appear here."));
    return;
  }
  const statusChart = barChart(
    STATUSES.map((status) => ({ label: title(status), value: byStatus[status] || 0,
      cls: `fill-${status.toLowerCase()}` })),
    { name: "status", title: "Calls per status",
      desc: STATUSES.map((s) => `${title(s)} ${byStatus[s] || 0}`).join(", ") });
  const bySource = figures.calls_by_source || {};
  const sourceChart = barChart(
    SOURCES.map((source) => ({ label: source === "BULK" ? "Bulk" : source,
      value: bySource[source] || 0, cls: `fill-source-${source.toLowerCase()}` })),
    { name: "source", title: "Calls per upload source",
      desc: SOURCES.map((s) => `${s} ${bySource[s] || 0}`).join(", ") });
  const buckets = figures.score_distribution || [];
  const histogram = barChart(
    buckets.map((bucket) => ({ label: `${bucket.lower}–${bucket.upper}`, value: bucket.calls,
      cls: bucket.lower >= 80 ? "fill-good" : bucket.lower >= 60 ? "fill-fair" : "fill-poor" })),
    { name: "scores", title: "Score distribution",
      desc: `${figures.scored_calls} scored calls in ten-point buckets: ` +
        buckets.map((b) => `${b.lower} to ${b.upper}: ${b.calls}`).join(", ") });
  const agents = (figures.agents || []).filter((agent) => agent.scored_calls);
  const agentChart = agents.length
    ? hbarChart(agents.map((agent) => ({ label: `${agent.name} (${agent.code})`,
      value: agent.average_score, cls: "fill-agent" })),
    { name: "agents", title: "Average score per agent", max: 100, digits: 1,
      desc: agents.map((a) => `${a.name}: ${scoreText(a.average_score)} over ` +
        `${a.scored_calls} calls`).join("; ") })
    : h("p", { class: "muted empty" }, "No scored calls linked to agents in this range.");
  clear(body, tiles,
    figures.truncated ? h("p", { class: "notice" }, `Scores cover the newest ` +
      `${figures.scanned_calls} calls; narrow the dates for exact figures.`) : null,
    h("div", { class: "chart-grid" },
      h("section", { class: "card" }, h("h2", {}, "Calls per status"), statusChart),
      h("section", { class: "card" }, h("h2", {}, "Score distribution"), histogram),
      h("section", { class: "card" }, h("h2", {}, "Calls per source"), sourceChart),
      h("section", { class: "card" }, h("h2", {}, "Agents' average score"), agentChart)),
    agentTable(figures.agents || []));
}

function agentTable(agents) {
  if (!agents.length) return null;
  return h("section", { class: "card" }, h("h2", {}, "Agents"),
    h("table", { class: "grid agents-summary" },
      h("thead", {}, h("tr", {}, ["Agent", "Calls", "Scored", "Average", "Flagged"].map(
        (label) => h("th", { scope: "col" }, label)))),
      h("tbody", {}, agents.map((agent) => h("tr", { dataset: { agentId: agent.agent_id } },
        h("td", {}, h("a", { href: `#/agents/${encodeURIComponent(agent.agent_id)}` },
          `${agent.name} (${agent.code})`)),
        h("td", {}, agent.calls),
        h("td", {}, agent.scored_calls),
        h("td", {}, h("span", { class: "score" }, scoreText(agent.average_score))),
        h("td", {}, agent.flagged))))));
}

function title(status) {
  return status.charAt(0) + status.slice(1).toLowerCase();
}
