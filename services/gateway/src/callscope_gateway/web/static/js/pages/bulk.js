// Bulk upload (#/campaigns/:id/bulk): the guide's CSV-first flow. Choose the CSV, then the
// audio files; the server matches rows to files by name (POST bulk-uploads/preview, which
// stores nothing) and the preview table shows each row's problems. Start Upload creates the
// bulk job (its items are the ready rows) and sends the matched files like the Upload screen.

import { api } from "../api.js";
import { clear, errorBox, formatBytes, h } from "../ui.js";
import { dropZone, fileInput, followCalls, pairItems, precheck, sendJob } from "../uploader.js";

// Bulk jobs can hold thousands of files: a few at a time keeps the browser responsive.
const BULK_CONCURRENCY = 4;

export async function render(root, ctx) {
  const campaignId = ctx.params.id;
  const campaign = await api.get(`/api/v1/campaigns/${encodeURIComponent(campaignId)}`);
  const stops = [];
  clear(root,
    h("p", { class: "crumbs" }, h("a", { href: "#/campaigns" }, "Campaigns"), " / ",
      h("a", { href: `#/campaigns/${encodeURIComponent(campaignId)}` }, campaign.name)),
    h("h1", {}, `Bulk upload — ${campaign.name}`),
    ctx.can("UPLOAD_CALLS") ? bulkFlow(campaignId, stops)
      : errorBox(new Error("your role may not upload calls")));
  return () => stops.forEach((stop) => stop());
}

function bulkFlow(campaignId, stops) {
  const state = { csv: null, files: [], preview: null, started: false, token: 0 };
  const csvName = h("span", { class: "muted", dataset: { role: "csv-name" } }, "No CSV chosen");
  const csvInput = fileInput({ accept: ".csv,text/csv", multiple: false, onFiles: (files) => {
    if (!files.length) return;
    state.csv = files[0];
    csvName.textContent = `${files[0].name} (${formatBytes(files[0].size)})`;
    runPreview();
  } });
  const fileSummary = h("div", { dataset: { role: "chosen-files" } });
  const previewBox = h("div", { class: "preview", dataset: { role: "preview" } });
  const start = h("button", { type: "button", class: "primary", disabled: true }, "Start Upload");
  const progress = h("div", {});

  async function runPreview() {
    if (!state.csv || state.started) return;
    const token = ++state.token;
    clear(previewBox, h("p", { class: "muted" }, "Checking the CSV…"));
    start.disabled = true;
    try {
      const preview = await api.post(
        `/api/v1/campaigns/${encodeURIComponent(campaignId)}/bulk-uploads/preview`,
        bulkForm(state.csv, state.files));
      if (token !== state.token) return;
      state.preview = preview;
      clear(previewBox, previewView(preview, state.files));
      start.disabled = preview.ready_rows === 0;
    } catch (error) {
      if (token === state.token) clear(previewBox, errorBox(error));
    }
  }

  function addFiles(files) {
    if (state.started) return;
    const known = new Set(state.files.map((f) => f.name));
    state.files.push(...files.filter((f) => !known.has(f.name)));
    clear(fileSummary, chosenFiles(state.files));
    runPreview();
  }

  start.addEventListener("click", async () => {
    start.disabled = true;
    try {
      const created = await api.post(
        `/api/v1/campaigns/${encodeURIComponent(campaignId)}/bulk-jobs`,
        bulkForm(state.csv, state.files));
      state.started = true;
      clear(progress, uploadSection(campaignId, created.job, state.files, stops));
    } catch (error) {
      progress.append(errorBox(error));
      start.disabled = false;
    }
  });

  return h("div", {},
    h("div", { class: "card" },
      h("h2", {}, "1. The CSV"),
      h("p", { class: "muted" }, "A header row with file_name and any of agent_name, " +
        "agent_code, call_type, call_date (YYYY-MM-DD), customer_id, disposition, " +
        "client_reference; one row per audio file."),
      h("div", { class: "toolbar" },
        h("button", { type: "button", onclick: () => csvInput.click() }, "Choose CSV"),
        csvInput, csvName),
      h("h2", {}, "2. The audio files"),
      dropZone({ onFiles: addFiles, label: "Drag all the audio files here" }),
      fileSummary),
    h("div", { class: "card" }, h("h2", {}, "3. Check and start"), previewBox,
      h("div", { class: "actions" }, start)),
    progress);
}

function bulkForm(csv, files) {
  const form = new FormData();
  form.append("csv", csv, csv.name);
  for (const file of files) form.append("file_name", file.name);
  return form;
}

function chosenFiles(files) {
  const problems = files.map((file) => [file, precheck(file)]).filter(([, problem]) => problem);
  return [
    h("p", {}, `${files.length} audio file${files.length === 1 ? "" : "s"} chosen`),
    problems.length ? h("ul", { class: "file-problems" }, problems.map(([file, problem]) =>
      h("li", { class: "file-error" }, `${file.name}: ${problem}`))) : null,
  ];
}

const PREVIEW_COLUMNS = [
  ["agent_name", "Agent"], ["agent_code", "Code"], ["call_type", "Type"],
  ["call_date", "Date"], ["disposition", "Disposition"],
];

function previewView(preview, files) {
  const rows = preview.rows || [];
  const table = h("table", { class: "grid preview-table" },
    h("thead", {}, h("tr", {}, ["Line", "File", "File chosen", ...PREVIEW_COLUMNS.map((c) => c[1]),
      "Problems"].map((label) => h("th", { scope: "col" }, label)))),
    h("tbody", {}, rows.map(previewRow)));
  return [
    (preview.errors || []).map((message) => errorBox(new Error(message))),
    h("p", { dataset: { role: "preview-summary" } },
      `${preview.ready_rows} of ${rows.length} row${rows.length === 1 ? "" : "s"} ready to upload; ` +
      `${files.length} file${files.length === 1 ? "" : "s"} chosen.`),
    (preview.warnings || []).map((message) => h("p", { class: "notice" }, message)),
    rows.length ? table : h("p", { class: "muted empty" }, "The CSV has no rows."),
    (preview.files_without_row || []).length ? h("div", { class: "notice" },
      "These files have no row in the CSV and will not be uploaded: ",
      preview.files_without_row.join(", ")) : null,
  ];
}

function previewRow(row) {
  const problems = [...row.errors, ...(row.matched ? [] : ["no file with this name was chosen"])];
  const kind = row.errors.length ? "problem" : (row.matched ? null : "highlight");
  return h("tr", { class: kind, dataset: { line: row.line, ready: String(!problems.length) } },
    h("td", {}, String(row.line)),
    h("td", { class: "file-name" }, row.file_name),
    h("td", {}, row.matched ? "✓" : "—"),
    PREVIEW_COLUMNS.map(([name]) => h("td", {}, row.metadata[name] || "")),
    h("td", { class: "problems" },
      problems.map((message) => h("div", { class: "file-error" }, message)),
      row.warnings.map((message) => h("div", { class: "muted" }, message))));
}

function uploadSection(campaignId, job, files, stops) {
  const entries = pairItems(job.items, files);
  const status = h("p", { class: "muted", dataset: { role: "batch-status" } },
    `Uploading ${entries.length} file${entries.length === 1 ? "" : "s"}…`);
  const jobsLink = h("a", { href: `#/campaigns/${encodeURIComponent(campaignId)}/jobs`,
    class: "button-link" }, "Open Jobs to follow the processing");
  sendJob(job, entries, { concurrency: BULK_CONCURRENCY }).done.then((result) => {
    status.textContent = result.cancelled
      ? "Uploads finished; the cancelled files were discarded."
      : "All files sent; the calls are being processed.";
    stops.push(followCalls(job.id, entries));
  }).catch((error) => status.replaceWith(errorBox(error)));
  return h("section", { class: "card batch", dataset: { job: job.id } },
    h("h2", {}, "Uploading"), status, jobsLink,
    h("ul", { class: "upload-list" }, entries.map((entry) => entry.row.el)));
}
