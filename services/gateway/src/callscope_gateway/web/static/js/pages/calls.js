// Calls (#/calls): the call list with the guide's filters, kept in the URL query so a view
// can be bookmarked and shared, pages by next_cursor, and live statuses: the visible page is
// fetched again every 3 s and its rows are updated in place (no reload, no lost scroll).

import { api } from "../api.js";
import {
  clear, errorBox, every, formatDuration, formatTime, h, sourceBadge, statusBadge,
} from "../ui.js";
import {
  SOURCES, STATUSES, agentList, agentText, campaignNames, flagCell, scoreCell,
} from "../callviews.js";

const FILTERS = ["status", "source", "campaign_id", "agent_id", "from", "to", "flagged"];
const PAGE_SIZE = 25;
const REFRESH_MS = 3000;

// Cursors of the pages before the current one, for "Previous" (reset when filters change).
let trail = [];
let trailKey = "";

export async function render(root, ctx) {
  const filters = Object.fromEntries(FILTERS.map((name) => [name, ctx.query.get(name) || ""]));
  const cursor = ctx.query.get("cursor") || "";
  const key = JSON.stringify(filters);
  if (key !== trailKey || !cursor) {
    trail = [];
    trailKey = key;
  }
  const list = h("div", { class: "calls-list", "aria-busy": "true" },
    h("p", { class: "muted" }, "Loading calls…"));
  root.append(h("div", { class: "page-head" }, h("h1", {}, "Calls"),
    ctx.can("UPLOAD_CALLS") ? h("a", { class: "button", href: "#/upload" }, "Upload") : null));
  const toolbar = h("form", { class: "toolbar filters", role: "search",
    "aria-label": "Filter calls" });
  root.append(toolbar, list);

  const [campaigns, agents] = await Promise.all([campaignNames(ctx), agentList(ctx)]);
  buildFilters(toolbar, filters, campaigns, agents, (changed) => {
    ctx.navigate(`/calls${search({ ...changed })}`);
  });

  const params = { ...filters, limit: PAGE_SIZE, cursor: cursor || undefined };
  const state = { rows: new Map(), ids: null };
  let first = true;
  const refresh = async () => {
    if (document.hidden && !first) return;
    let page;
    try {
      page = await api.get("/api/v1/calls", params);
    } catch (error) {
      // Keep the rows we have on a passing failure of a refresh; say it on the first load.
      if (first) clear(list, errorBox(error));
      first = false;
      throw error;
    }
    first = false;
    list.removeAttribute("aria-busy");
    const ids = page.calls.map((call) => call.id).join(",");
    if (ids !== state.ids) {
      state.ids = ids;
      drawTable(list, page, state, campaigns, { ctx, filters, cursor });
    } else {
      page.calls.forEach((call) => updateRow(state.rows.get(call.id), call, campaigns));
    }
  };
  return every(REFRESH_MS, refresh);
}

function search(values) {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(values)) if (value) params.set(name, value);
  const text = params.toString();
  return text ? `?${text}` : "";
}

// ---- filters -------------------------------------------------------------------------

function buildFilters(form, filters, campaigns, agents, apply) {
  const chosen = new Set(filters.status ? filters.status.split(",") : []);
  const statusBoxes = STATUSES.map((status) => h("label", { class: "pill" },
    h("input", { type: "checkbox", name: "status", value: status,
      checked: chosen.has(status) }), ` ${status.charAt(0)}${status.slice(1).toLowerCase()}`));
  const select = (name, label, options, value) => h("div", {},
    h("label", { for: `filter-${name}` }, label),
    h("select", { id: `filter-${name}`, name },
      options.map(([optionValue, text]) => h("option",
        { value: optionValue, selected: optionValue === value }, text))));
  const date = (name, label) => h("div", {},
    h("label", { for: `filter-${name}` }, label),
    h("input", { type: "date", id: `filter-${name}`, name, value: filters[name] }));
  const campaignOptions = [["", "All campaigns"],
    ...[...campaigns].sort((a, b) => a[1].localeCompare(b[1]))];
  const agentOptions = [["", "All agents"],
    ...agents.map((agent) => [agent.id, `${agent.name} (${agent.code})`])];
  if (filters.agent_id && !agents.some((agent) => agent.id === filters.agent_id)) {
    agentOptions.push([filters.agent_id, filters.agent_id]);
  }
  clear(form,
    h("fieldset", { class: "statuses" }, h("legend", {}, "Status"), statusBoxes),
    select("source", "Source", [["", "All sources"],
      ...SOURCES.map((s) => [s, s === "BULK" ? "Bulk" : s])], filters.source),
    campaigns.size ? select("campaign_id", "Campaign", campaignOptions, filters.campaign_id)
      : null,
    agents.length || filters.agent_id
      ? select("agent_id", "Agent", agentOptions, filters.agent_id) : null,
    date("from", "From"),
    date("to", "To"),
    select("flagged", "Flag", [["", "Any"], ["true", "Flagged"], ["false", "Not flagged"]],
      filters.flagged),
    h("div", { class: "filter-actions" },
      h("button", { type: "button", class: "link", onclick: () => apply({}) }, "Clear filters")));
  // Any change applies at once; the URL is the state.
  const read = () => {
    const data = new FormData(form);
    return {
      status: data.getAll("status").join(","),
      source: data.get("source") || "",
      campaign_id: data.get("campaign_id") || "",
      agent_id: data.get("agent_id") || "",
      from: data.get("from") || "",
      to: data.get("to") || "",
      flagged: data.get("flagged") || "",
    };
  };
  form.addEventListener("change", () => apply(read()));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    apply(read());
  });
}

// ---- table ---------------------------------------------------------------------------

const COLUMNS = [
  ["file", "File"], ["status", "Status"], ["source", "Source"], ["campaign", "Campaign"],
  ["agent", "Agent"], ["duration", "Duration"], ["score", "Score"], ["flag", "Flag"],
  ["created", "Created"],
];

function cells(call, campaigns) {
  return {
    file: h("a", { href: `#/calls/${encodeURIComponent(call.id)}`, class: "file-link" },
      call.file_name || call.id),
    status: statusBadge(call.status),
    source: sourceBadge(call.source),
    campaign: campaigns.get(call.campaign_id) || call.campaign_id,
    agent: agentText(call.agent),
    duration: formatDuration(call.duration_seconds),
    score: scoreCell(call.score),
    flag: flagCell(call),
    created: formatTime(call.created_at),
  };
}

function drawTable(list, page, state, campaigns, { ctx, filters, cursor }) {
  state.rows.clear();
  if (!page.calls.length) {
    const filtered = Object.values(filters).some(Boolean);
    clear(list, h("p", { class: "muted empty" }, filtered
      ? "No call matches these filters."
      : "No calls yet. Upload recordings to see them here."));
    list.append(pager(page, ctx, filters, cursor));
    return;
  }
  const body = h("tbody", {}, page.calls.map((call) => {
    const row = h("tr", { dataset: { callId: call.id } });
    const view = cells(call, campaigns);
    for (const [key] of COLUMNS) row.append(h("td", { dataset: { col: key } }, view[key]));
    row.dataset.signature = signature(call);
    state.rows.set(call.id, row);
    return row;
  }));
  clear(list,
    h("table", { class: "grid calls-table" },
      h("thead", {}, h("tr", {}, COLUMNS.map(([, label]) => h("th", { scope: "col" }, label)))),
      body),
    pager(page, ctx, filters, cursor));
}

// What a row shows that can change while it is on screen.
function signature(call) {
  return JSON.stringify([call.status, call.score, call.flagged, call.agent && call.agent.id,
    call.duration_seconds, call.file_name, call.queued]);
}

function updateRow(row, call, campaigns) {
  if (!row || row.dataset.signature === signature(call)) return;
  const view = cells(call, campaigns);
  for (const cell of row.cells) clear(cell, view[cell.dataset.col]);
  row.dataset.signature = signature(call);
}

function pager(page, ctx, filters, cursor) {
  const go = (target) => ctx.navigate(`/calls${search({ ...filters, cursor: target })}`);
  return h("div", { class: "pager" },
    h("button", { type: "button", disabled: !cursor, onclick: () => {
      const previous = trail.pop();
      go(previous || "");
    } }, "← Previous"),
    h("button", { type: "button", disabled: !page.next_cursor, onclick: () => {
      trail.push(cursor);
      go(page.next_cursor);
    } }, "Next →"));
}
