// Audit log (#/audit, owners and compliance officers): who did what to which target, when,
// newest first, filtered by actor, action, target, campaign and time, one page at a time.
// The filters live in the address (#/audit?action=DELETED&…) so a filtered view can be shared.

import { api } from "../api.js";
import { clear, errorBox, formatTime, h, table } from "../ui.js";

const ACTIONS = ["VIEWED", "CREATED", "CHANGED", "OVERRODE", "REVIEWED", "REPROCESSED",
  "CANCELLED", "REVOKED", "DELETED", "LOGGED_IN"];
const TARGETS = ["call", "campaign", "check", "api_key", "user", "agent", "job", "sftp_settings"];
const FILTERS = ["actor", "action", "target_type", "target_id", "campaign_id", "from", "to"];
const PAGE_SIZE = 50;

export async function render(root, ctx) {
  if (!ctx.can("READ_AUDIT_LOG")) {
    clear(root, h("h1", {}, "Audit log"),
      errorBox(new Error("only owners and compliance officers read the audit log")));
    return;
  }
  const { campaigns } = await api.get("/api/v1/campaigns");
  const names = new Map(campaigns.map((c) => [c.id, c.name]));
  const filters = Object.fromEntries(FILTERS.map((name) => [name, ctx.query.get(name) || ""]));
  const results = h("div", { class: "card", dataset: { role: "audit" } });
  // Cursors of the pages before this one, for Previous; the first page has none.
  const cursors = [];
  let cursor = "";

  async function load() {
    clear(results, h("p", { class: "muted" }, "Loading…"));
    try {
      const page = await api.get("/api/v1/audit-log", { ...filters, limit: PAGE_SIZE, cursor });
      clear(results, entriesTable(page.entries, names), pager(page.next_cursor));
    } catch (error) {
      clear(results, errorBox(error));
    }
  }

  function pager(next) {
    return h("div", { class: "actions pager" },
      h("button", { type: "button", disabled: !cursors.length, onclick: () => {
        cursor = cursors.pop();
        load();
      } }, "← Newer"),
      h("button", { type: "button", disabled: !next, onclick: () => {
        cursors.push(cursor);
        cursor = next;
        load();
      } }, "Older →"));
  }

  const form = filterForm(filters, campaigns, (chosen) => {
    Object.assign(filters, chosen);
    const search = new URLSearchParams(Object.entries(filters).filter(([, v]) => v)).toString();
    // Keep the address in step without re-rendering the page.
    history.replaceState(null, "", `#/audit${search ? `?${search}` : ""}`);
    cursors.length = 0;
    cursor = "";
    load();
  });
  clear(root, h("h1", {}, "Audit log"), form, results);
  await load();
}

function select(id, values, current, label) {
  return h("select", { id, name: id },
    h("option", { value: "" }, label),
    values.map(([value, text]) => h("option", { value, selected: value === current }, text)));
}

function filterForm(filters, campaigns, apply) {
  const f = {
    actor: h("input", { id: "actor", value: filters.actor, placeholder: "email or user id" }),
    action: select("action", ACTIONS.map((a) => [a, a.replaceAll("_", " ").toLowerCase()]),
      filters.action, "Any action"),
    target_type: select("target_type", TARGETS.map((t) => [t, t.replaceAll("_", " ")]),
      filters.target_type, "Any target"),
    target_id: h("input", { id: "target_id", value: filters.target_id, placeholder: "id" }),
    campaign_id: select("campaign_id", campaigns.map((c) => [c.id, c.name]), filters.campaign_id,
      "Any campaign"),
    from: h("input", { id: "from", type: "date", value: filters.from }),
    to: h("input", { id: "to", type: "date", value: filters.to }),
  };
  const labels = { actor: "Actor", action: "Action", target_type: "Target type",
    target_id: "Target id", campaign_id: "Campaign", from: "From", to: "To" };
  const form = h("form", { class: "card toolbar filters" },
    FILTERS.map((name) => h("div", {}, h("label", { for: name }, labels[name]), f[name])),
    h("div", { class: "filter-buttons" },
      h("button", { type: "submit", class: "primary" }, "Filter"),
      h("button", { type: "button", onclick: () => {
        for (const input of Object.values(f)) input.value = "";
        apply(Object.fromEntries(FILTERS.map((name) => [name, ""])));
      } }, "Clear")));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    apply(Object.fromEntries(FILTERS.map((name) => [name, f[name].value.trim()])));
  });
  return form;
}

function summaryText(summary) {
  return Object.entries(summary || {}).map(([key, value]) =>
    `${key}: ${Array.isArray(value) ? value.join(", ") : typeof value === "object"
      ? JSON.stringify(value) : String(value)}`).join("; ");
}

function entriesTable(entries, names) {
  return table([
    { label: "Time", key: "at", cell: (e) => formatTime(e.at) },
    { label: "Actor", key: "actor", cell: (e) => e.actor_email || e.actor },
    { label: "Action", key: "action", cell: (e) => h("span", { class: "audit-action",
      dataset: { action: e.action } }, e.action.replaceAll("_", " ").toLowerCase()) },
    { label: "Target", key: "target", cell: (e) => h("span", {}, e.target_type.replaceAll("_", " "),
      " ", h("code", {}, e.target_id || "—")) },
    { label: "Campaign", key: "campaign", cell: (e) => (e.campaign_id
      ? names.get(e.campaign_id) || e.campaign_id : "—") },
    { label: "Details", key: "summary", cell: (e) => h("span", { class: "muted small" },
      summaryText(e.summary)) },
  ], entries, { empty: "No entries match these filters.",
    rowAttrs: (e) => ({ dataset: { entry: e.id, action: e.action } }) });
}
