// The SFTP section of the Campaign settings screen: the ingestion settings (senior managers
// and owners; PATCH /campaigns/{id} with a partial `sftp`) and the batches and files the
// sweeper found (GET .../sftp/batches and .../sftp/files), refreshed every few seconds.

import { api } from "./api.js";
import { clear, errorBox, every, formatBytes, formatTime, h, table, toast } from "./ui.js";

const REFRESH_MS = 5000;

export function sftpSection(campaign, ctx, stops) {
  const tables = h("div", {});
  const section = h("section", { class: "card", dataset: { role: "sftp" } },
    h("h2", {}, "SFTP ingestion"),
    ctx.can("CONFIGURE_SFTP") ? sftpForm(campaign) : sftpSummary(campaign.sftp),
    ctx.can("VIEW_UPLOADS") ? tables : null);
  if (ctx.can("VIEW_UPLOADS")) stops.push(every(REFRESH_MS, () => drawTables(campaign.id, tables)));
  return section;
}

function sftpSummary(sftp) {
  return h("p", {}, sftp.enabled ? `On: files dropped in ${sftp.upload_path} are imported.`
    : "SFTP ingestion is off for this campaign.");
}

function sftpForm(campaign) {
  const s = campaign.sftp;
  const f = {
    enabled: h("input", { id: "sftp-enabled", type: "checkbox", checked: s.enabled }),
    folder_slug: h("input", { id: "sftp-folder-slug", value: s.folder_slug, maxlength: "63",
      placeholder: "inbound-sales" }),
    csv: h("select", { id: "sftp-csv" },
      h("option", { value: "optional", selected: s.csv === "optional" },
        "Optional: audio is processed with or without a CSV"),
      h("option", { value: "required", selected: s.csv === "required" },
        "Required: each batch waits for its CSV")),
    batch_window_seconds: h("input", { id: "sftp-batch-window", type: "number", min: "0",
      max: "86400", step: "1", value: String(s.batch_window_seconds) }),
    agent_file_name_pattern: h("input", { id: "sftp-agent-pattern",
      value: s.agent_file_name_pattern, maxlength: "200", placeholder: "*_{agent}_*.wav" }),
  };
  const path = h("code", { dataset: { role: "upload-path" } }, s.upload_path || "— (set a folder slug)");
  const problem = h("div", {});
  const form = h("form", { class: "sftp-form" },
    h("label", { class: "check" }, f.enabled, " Enable SFTP ingestion for this campaign"),
    h("div", { class: "form-grid" },
      h("div", {}, h("label", { for: "sftp-folder-slug" }, "Folder slug"), f.folder_slug),
      h("div", {}, h("label", { for: "sftp-csv" }, "CSV metadata file"), f.csv),
      h("div", {}, h("label", { for: "sftp-batch-window" }, "Batch window (seconds)"),
        f.batch_window_seconds),
      h("div", {}, h("label", { for: "sftp-agent-pattern" }, "Agent file-name pattern"),
        f.agent_file_name_pattern,
        h("div", { class: "muted small" }, "The whole file name with * and {agent}; empty: " +
          "the default rule (an agent code anywhere in the name)."))),
    h("p", {}, "Upload path: ", path),
    problem,
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" },
      "Save SFTP settings")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clear(problem);
    try {
      const saved = await api.patch(`/api/v1/campaigns/${encodeURIComponent(campaign.id)}`, {
        sftp: {
          enabled: f.enabled.checked,
          folder_slug: f.folder_slug.value.trim(),
          csv: f.csv.value,
          batch_window_seconds: Number.parseInt(f.batch_window_seconds.value, 10) || 0,
          agent_file_name_pattern: f.agent_file_name_pattern.value.trim(),
        },
      });
      path.textContent = saved.sftp.upload_path || "— (set a folder slug)";
      toast("SFTP settings saved.", "success");
    } catch (error) {
      problem.append(errorBox(error));
    }
  });
  return form;
}

function counts(c) {
  return `${c.completed}/${c.total} imported` +
    (c.failed ? `, ${c.failed} failed` : "") + (c.duplicates ? `, ${c.duplicates} duplicate` : "") +
    (c.missing ? `, ${c.missing} missing` : "") + (c.skipped ? `, ${c.skipped} skipped` : "");
}

function sftpStatus(status) {
  const name = status || "UNKNOWN";
  return h("span", { class: `badge sftp-${name.toLowerCase()}`, dataset: { status: name } },
    name.replaceAll("_", " ").toLowerCase());
}

async function drawTables(campaignId, box) {
  const base = `/api/v1/campaigns/${encodeURIComponent(campaignId)}/sftp`;
  try {
    const [batches, files] = await Promise.all([
      api.get(`${base}/batches`, { page_size: 20 }),
      api.get(`${base}/files`, { page_size: 50 }),
    ]);
    clear(box,
      h("h3", {}, "Batches"),
      table([
        { label: "Opened", key: "opened", cell: (b) => formatTime(b.opened_at) },
        { label: "Status", key: "status", cell: (b) => sftpStatus(b.status) },
        { label: "CSV", key: "csv", cell: (b) => b.csv_file_name || "—" },
        { label: "Files", key: "counts", cell: (b) => counts(b.counts) },
        { label: "Reason", key: "reason", cell: (b) => b.reason || "" },
        { label: "Finished", key: "finished", cell: (b) => formatTime(b.finished_at) },
      ], batches.batches, { empty: "No SFTP batches yet.", rowAttrs: (b) => ({ dataset:
        { batch: b.id } }) }),
      h("h3", {}, "Files"),
      table([
        { label: "File", key: "file", cell: (f) => h("span", { class: "file-name" }, f.file_name) },
        { label: "Status", key: "status", cell: (f) => sftpStatus(f.status) },
        { label: "Size", key: "size", cell: (f) => formatBytes(f.size_bytes) },
        { label: "Agent", key: "agent", cell: (f) => f.agent_code || "—" },
        { label: "Call", key: "call", cell: (f) => (f.call_id
          ? h("a", { href: `#/calls/${encodeURIComponent(f.call_id)}` }, "Open") : "—") },
        { label: "Where", key: "location", cell: (f) => f.location || "—" },
        { label: "Reason", key: "reason", cell: (f) => f.reason || "" },
        { label: "Detected", key: "detected", cell: (f) => formatTime(f.detected_at) },
      ], files.files, { empty: "No SFTP files yet.", rowAttrs: (f) => ({ dataset:
        { sftpFile: f.id } }) }));
  } catch (error) {
    clear(box, h("h3", {}, "Batches and files"), errorBox(error));
  }
}
