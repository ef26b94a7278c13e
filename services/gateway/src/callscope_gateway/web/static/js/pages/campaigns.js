// Campaigns (#/campaigns): the organisation's campaigns and, for roles that may change
// campaign settings, a form that creates one (with the default checks, auto-processing on).

import { api } from "../api.js";
import { clear, errorBox, formatTime, h, table } from "../ui.js";

export async function render(root, ctx) {
  clear(root, h("h1", {}, "Campaigns"), h("p", { class: "muted" }, "Loading…"));
  const { campaigns } = await api.get("/api/v1/campaigns");
  clear(root, h("h1", {}, "Campaigns"),
    ctx.can("CONFIGURE_CAMPAIGNS") ? createForm(ctx) : null,
    h("div", { class: "card" }, campaignTable(campaigns, ctx)));
}

function campaignTable(campaigns, ctx) {
  const link = (c, suffix, label) => h("a", { href: `#/campaigns/${encodeURIComponent(c.id)}${suffix}` },
    label);
  return table([
    { label: "Name", key: "name", cell: (c) => link(c, "", c.name) },
    { label: "Flag threshold", key: "threshold", cell: (c) => String(c.flag_threshold) },
    { label: "Auto-processing", key: "auto", cell: (c) => (c.auto_processing ? "On" : "Off") },
    { label: "Transcription", key: "provider", cell: (c) => c.transcription_provider },
    { label: "Evaluator", key: "evaluator", cell: (c) => c.evaluator || "local" },
    { label: "Created", key: "created", cell: (c) => formatTime(c.created_at) },
    { label: "", key: "links", cell: (c) => h("span", { class: "row-actions" },
      ctx.can("UPLOAD_CALLS") ? h("a", { href: `#/upload?campaign=${encodeURIComponent(c.id)}` },
        "Upload") : null,
      ctx.can("VIEW_UPLOADS") ? link(c, "/jobs", "Jobs") : null) },
  ], campaigns, {
    empty: "No campaigns yet.",
    rowAttrs: (c) => ({ dataset: { campaign: c.id } }),
  });
}

function createForm(ctx) {
  const name = h("input", { id: "new-campaign-name", name: "name", required: true,
    maxlength: "200", placeholder: "Inbound sales" });
  const threshold = h("input", { id: "new-campaign-threshold", name: "flag_threshold",
    type: "number", min: "0", max: "100", step: "1", value: "70" });
  const problem = h("div", {});
  const form = h("form", { class: "card inline-form" },
    h("h2", {}, "New campaign"),
    h("div", { class: "toolbar" },
      h("div", { class: "grow" }, h("label", { for: "new-campaign-name" }, "Name"), name),
      h("div", {}, h("label", { for: "new-campaign-threshold" }, "Flag threshold"), threshold),
      h("button", { type: "submit", class: "primary" }, "Create campaign")),
    problem);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clear(problem);
    try {
      const made = await api.post("/api/v1/campaigns",
        { name: name.value, flag_threshold: Number(threshold.value) });
      ctx.navigate(`/campaigns/${encodeURIComponent(made.id)}`);
    } catch (error) {
      problem.append(errorBox(error));
    }
  });
  return form;
}
