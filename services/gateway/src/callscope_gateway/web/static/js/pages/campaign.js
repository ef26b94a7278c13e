// Campaign settings (#/campaigns/:id): processing settings (PATCH /campaigns/{id}), the
// checks editor, the campaign's API keys and its SFTP ingestion, each shown to the roles the
// server lets do it; links to Upload (campaign pre-selected), Bulk upload and Jobs.

import { api } from "../api.js";
import { checksEditor } from "../campaign_checks.js";
import { apiKeysSection } from "../campaign_keys.js";
import { sftpSection } from "../campaign_sftp.js";
import { clear, errorBox, h, toast } from "../ui.js";

const PROVIDERS = [["local", "Local (faster-whisper)"], ["assemblyai", "AssemblyAI"],
  ["deepgram", "Deepgram"]];
const EVALUATORS = [["local", "Local rules (offline)"], ["claude", "Claude"]];
const CHANNELS = [["left", "Left"], ["right", "Right"]];
const OPENERS = [["agent", "Agent"], ["customer", "Customer"]];

export async function render(root, ctx) {
  const id = ctx.params.id;
  const campaign = await api.get(`/api/v1/campaigns/${encodeURIComponent(id)}`);
  const stops = [];
  const base = `#/campaigns/${encodeURIComponent(id)}`;
  const title = h("h1", {}, campaign.name);
  clear(root,
    h("p", { class: "crumbs" }, h("a", { href: "#/campaigns" }, "Campaigns"), " / ", campaign.name),
    title,
    h("div", { class: "actions top" },
      ctx.can("UPLOAD_CALLS") ? h("a", { class: "button-link",
        href: `#/upload?campaign=${encodeURIComponent(id)}` }, "Upload calls") : null,
      ctx.can("UPLOAD_CALLS") ? h("a", { class: "button-link", href: `${base}/bulk` },
        "Bulk upload") : null,
      ctx.can("VIEW_UPLOADS") ? h("a", { class: "button-link", href: `${base}/jobs` }, "Jobs")
        : null),
    settingsForm(campaign, ctx, (saved) => { title.textContent = saved.name; }),
    checksEditor(campaign, ctx),
    ctx.can("MANAGE_API_KEYS") ? apiKeysSection(campaign) : null,
    ctx.can("CONFIGURE_SFTP") || ctx.can("VIEW_UPLOADS") ? sftpSection(campaign, ctx, stops) : null);
  return () => stops.forEach((stop) => stop());
}

function choice(id, options, value, disabled) {
  return h("select", { id, name: id, disabled },
    options.map(([v, label]) => h("option", { value: v, selected: v === value }, label)));
}

function field(id, label, control, hint) {
  return h("div", {}, h("label", { for: id }, label), control,
    hint ? h("div", { class: "muted small" }, hint) : null);
}

function settingsForm(campaign, ctx, onSaved) {
  let current = campaign;
  const readOnly = !ctx.can("CONFIGURE_CAMPAIGNS");
  const c = {
    name: h("input", { id: "name", value: campaign.name, maxlength: "200", disabled: readOnly }),
    auto_processing: h("input", { id: "auto_processing", type: "checkbox",
      checked: campaign.auto_processing, disabled: readOnly }),
    flag_threshold: h("input", { id: "flag_threshold", type: "number", min: "0", max: "100",
      step: "any", value: String(campaign.flag_threshold), disabled: readOnly }),
    transcription_provider: choice("transcription_provider", PROVIDERS,
      campaign.transcription_provider, readOnly),
    evaluator: choice("evaluator", EVALUATORS, campaign.evaluator, readOnly),
    claude_model: h("input", { id: "claude_model", value: campaign.claude_model || "",
      placeholder: "the analysis service's default", disabled: readOnly }),
    agent_channel: choice("agent_channel", CHANNELS, campaign.agent_channel, readOnly),
    opening_party: choice("opening_party", OPENERS, campaign.opening_party, readOnly),
    company_name: h("input", { id: "company_name", value: campaign.company_name || "",
      maxlength: "100", disabled: readOnly }),
  };
  const problem = h("div", {});
  const form = h("form", { class: "card settings", dataset: { role: "settings" } },
    h("h2", {}, "Processing settings"),
    readOnly ? h("p", { class: "muted" }, "Your role may view these settings, not change them.")
      : null,
    h("div", { class: "form-grid" },
      field("name", "Name", c.name),
      field("flag_threshold", "Flag threshold (0–100)", c.flag_threshold,
        "Calls scoring below this are flagged for review."),
      field("transcription_provider", "Transcription provider", c.transcription_provider),
      field("evaluator", "Evaluator", c.evaluator),
      field("claude_model", "Claude model", c.claude_model),
      field("agent_channel", "Agent channel (stereo)", c.agent_channel),
      field("opening_party", "Who opens the call (mono)", c.opening_party),
      field("company_name", "Company name", c.company_name,
        "The name agents greet with: evidence for who the agent is.")),
    h("label", { class: "check" }, c.auto_processing, " Auto-processing: new calls are " +
      "transcribed and analysed as soon as they arrive"),
    problem,
    readOnly ? null : h("div", { class: "actions" },
      h("button", { type: "submit", class: "primary" }, "Save settings")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clear(problem);
    const wanted = {
      name: c.name.value,
      auto_processing: c.auto_processing.checked,
      flag_threshold: Number(c.flag_threshold.value),
      transcription_provider: c.transcription_provider.value,
      evaluator: c.evaluator.value,
      claude_model: c.claude_model.value.trim(),
      agent_channel: c.agent_channel.value,
      opening_party: c.opening_party.value,
      company_name: c.company_name.value,
    };
    // Only what changed is sent, so the audit log names the settings that really changed.
    const change = Object.fromEntries(Object.entries(wanted)
      .filter(([key, value]) => value !== (current[key] ?? "")));
    if (!Object.keys(change).length) {
      toast("Nothing changed.");
      return;
    }
    try {
      const saved = await api.patch(`/api/v1/campaigns/${encodeURIComponent(campaign.id)}`, change);
      current = saved;
      onSaved(saved);
      toast("Settings saved.", "success");
    } catch (error) {
      problem.append(errorBox(error));
    }
  });
  return form;
}
