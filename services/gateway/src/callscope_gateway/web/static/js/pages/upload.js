// Upload (#/upload?campaign=<id>): the guide's single and multi-file upload. Pick a campaign,
// drop or browse up to 20 files, optionally add metadata for all of them, and Upload: the
// batch becomes a job (POST /campaigns/{id}/upload-batches) whose files are sent in parallel,
// each with its percentage, speed and an X that cancels it; then each row follows its call.

import { api } from "../api.js";
import { metadataSection } from "../metadata.js";
import { clear, errorBox, formatBytes, h } from "../ui.js";
import {
  MAX_UI_FILES, dropZone, followCalls, pairItems, precheck, sendJob,
} from "../uploader.js";

export async function render(root, ctx) {
  clear(root, h("h1", {}, "Upload calls"), h("p", { class: "muted" }, "Loading campaigns…"));
  const { campaigns } = await api.get("/api/v1/campaigns");
  const stops = [];
  const page = uploadPage(ctx, campaigns, stops);
  clear(root, h("h1", {}, "Upload calls"), page);
  return () => stops.forEach((stop) => stop());
}

function campaignPicker(campaigns, wanted, onChange) {
  const select = h("select", { id: "campaign", name: "campaign" },
    h("option", { value: "" }, "Select a campaign…"),
    campaigns.map((c) => h("option", { value: c.id, selected: c.id === wanted }, c.name)));
  select.addEventListener("change", () => onChange(select.value));
  return select;
}

function uploadPage(ctx, campaigns, stops) {
  if (!campaigns.length) {
    return h("div", { class: "card empty" }, "There is no campaign to upload to yet. ",
      ctx.can("CONFIGURE_CAMPAIGNS") ? h("a", { href: "#/campaigns" }, "Create a campaign") : null);
  }
  const wanted = ctx.query.get("campaign") || (campaigns.length === 1 ? campaigns[0].id : "");
  const links = h("span", { class: "links" });
  const select = campaignPicker(campaigns, wanted, (id) => showLinks(id));
  const selected = [];
  const selection = h("ul", { class: "selection", dataset: { role: "selection" } });
  const problems = h("div", {});
  const metadata = metadataSection();
  const submit = h("button", { type: "button", class: "primary", dataset: { role: "start" } },
    "Upload");
  const uploads = h("div", { class: "uploads" });

  function showLinks(id) {
    clear(links, id ? [
      h("a", { href: `#/campaigns/${encodeURIComponent(id)}/bulk` }, "Bulk upload with a CSV"),
      h("a", { href: `#/campaigns/${encodeURIComponent(id)}/jobs` }, "Jobs"),
    ] : []);
    refresh();
  }

  function refresh() {
    const ready = selected.filter((entry) => !entry.problem);
    clear(selection, selected.map((entry) => selectedLine(entry, () => {
      selected.splice(selected.indexOf(entry), 1);
      refresh();
    })));
    submit.textContent = ready.length === 1 ? "Upload 1 file"
      : ready.length ? `Upload ${ready.length} files` : "Upload";
    submit.disabled = !ready.length || !select.value;
  }

  function add(files) {
    for (const file of files) selected.push({ file, problem: precheck(file) });
    refresh();
  }

  submit.addEventListener("click", async () => {
    clear(problems);
    const ready = selected.filter((entry) => !entry.problem);
    if (ready.length > MAX_UI_FILES) {
      problems.append(errorBox(new Error(`the Upload page takes at most ${MAX_UI_FILES} files ` +
        "at once; remove some, or use Bulk upload for larger batches")));
      return;
    }
    submit.disabled = true;
    try {
      const batch = await startBatch(select.value, ready.map((e) => e.file), metadata.values(),
        stops);
      selected.length = 0;
      uploads.prepend(batch);
    } catch (error) {
      problems.append(errorBox(error));
    } finally {
      refresh();
    }
  });

  showLinks(select.value);
  return h("div", {},
    h("div", { class: "card" },
      h("div", { class: "toolbar" },
        h("div", { class: "grow" }, h("label", { for: "campaign" }, "Campaign"), select),
        links),
      dropZone({ onFiles: add, label: "Drag and drop audio files here (up to 20 at once)" }),
      selection, metadata.el, problems,
      h("div", { class: "actions" }, submit)),
    uploads);
}

function selectedLine(entry, remove) {
  return h("li", { class: entry.problem ? "problem" : null, dataset: { file: entry.file.name } },
    h("span", { class: "file-name" }, entry.file.name), " ",
    h("span", { class: "muted" }, formatBytes(entry.file.size)), " ",
    entry.problem ? h("span", { class: "file-error", role: "alert" }, entry.problem) : null,
    h("button", { type: "button", class: "icon", "aria-label": `Remove ${entry.file.name}`,
      onclick: remove }, "×"));
}

// Creates the job, then sends its files; returns the batch's section of the page.
async function startBatch(campaignId, files, metadata, stops) {
  const job = await api.post(`/api/v1/campaigns/${encodeURIComponent(campaignId)}/upload-batches`,
    { files: files.map((f) => ({ file_name: f.name, size_bytes: f.size })), metadata });
  const entries = pairItems(job.items, files);
  const status = h("p", { class: "muted", dataset: { role: "batch-status" } }, "Uploading…");
  const section = h("section", { class: "card batch", dataset: { job: job.id } },
    h("h2", {}, `Upload of ${files.length} file${files.length === 1 ? "" : "s"}`),
    h("ul", { class: "upload-list" }, entries.map((entry) => entry.row.el)),
    status,
    h("a", { href: `#/campaigns/${encodeURIComponent(campaignId)}/jobs` }, "Follow it on Jobs"));
  const unload = (event) => {
    event.preventDefault();
    event.returnValue = "";
  };
  window.addEventListener("beforeunload", unload);
  sendJob(job, entries).done.then((result) => {
    status.textContent = result.cancelled
      ? "Uploads finished; the cancelled files were discarded."
      : "Uploads finished; the calls are being processed.";
    stops.push(followCalls(job.id, entries));
  }).catch((error) => section.append(errorBox(error)))
    .finally(() => window.removeEventListener("beforeunload", unload));
  return section;
}
