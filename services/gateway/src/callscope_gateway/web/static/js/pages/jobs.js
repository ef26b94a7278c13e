// Jobs (#/campaigns/:id/jobs): the campaign's multi-file and bulk uploads with live progress
// (total, processed, failed, status), refreshed every 2 s, and Cancel for running jobs. A job's
// files open below it (GET /jobs/{id}).

import { api } from "../api.js";
import {
  clear, confirmDialog, errorBox, every, formatTime, h, sourceBadge, statusBadge, toast,
} from "../ui.js";

const REFRESH_MS = 2000;
const PAGE_SIZE = 50;
const RUNNING = new Set(["QUEUED", "PROCESSING"]);

export async function render(root, ctx) {
  const campaignId = ctx.params.id;
  const campaign = await api.get(`/api/v1/campaigns/${encodeURIComponent(campaignId)}`);
  const list = h("div", { dataset: { role: "jobs" } }, h("p", { class: "muted" }, "Loading jobs…"));
  const problem = h("div", {});
  const open = new Set();
  const base = `#/campaigns/${encodeURIComponent(campaignId)}`;
  clear(root,
    h("p", { class: "crumbs" }, h("a", { href: "#/campaigns" }, "Campaigns"), " / ",
      h("a", { href: base }, campaign.name)),
    h("h1", {}, `Jobs — ${campaign.name}`),
    ctx.can("UPLOAD_CALLS") ? h("div", { class: "actions top" },
      h("a", { href: `#/upload?campaign=${encodeURIComponent(campaignId)}` }, "Upload calls"),
      h("a", { href: `${base}/bulk` }, "Bulk upload")) : null,
    problem, list);

  const refresh = async () => {
    try {
      const page = await api.get(`/api/v1/campaigns/${encodeURIComponent(campaignId)}/jobs`,
        { limit: PAGE_SIZE });
      // The open jobs' files are read before drawing, so the table never flickers.
      const details = new Map(await Promise.all([...open].map(async (jobId) =>
        [jobId, await api.get(`/api/v1/jobs/${encodeURIComponent(jobId)}`)])));
      clear(problem);
      clear(list, jobsTable(page.jobs, ctx, { open, details }, refresh));
    } catch (error) {
      clear(problem, errorBox(error));
    }
  };
  return every(REFRESH_MS, refresh);
}

function progressBar(counts) {
  const share = counts.total ? Math.round((100 * (counts.processed + counts.cancelled)) / counts.total) : 0;
  const fill = h("span", {});
  fill.style.width = `${share}%`;
  return h("div", { class: "job-progress" },
    h("div", { class: "progress", role: "progressbar", "aria-valuemin": "0", "aria-valuemax": "100",
      "aria-valuenow": String(share) }, fill),
    h("span", { class: "muted" }, `${share}%`));
}

function jobsTable(jobs, ctx, { open, details }, refresh) {
  if (!jobs.length) {
    return h("p", { class: "muted empty" }, "No uploads yet: jobs appear here when files are " +
      "uploaded from the Upload page or with a bulk CSV.");
  }
  const rows = jobs.flatMap((job) => {
    const c = job.counts;
    const toggle = h("button", { type: "button", class: "link",
      onclick: () => {
        if (open.has(job.id)) open.delete(job.id);
        else open.add(job.id);
        refresh();
      } }, open.has(job.id) ? "Hide files" : "Files");
    const cancel = ctx.can("UPLOAD_CALLS") && RUNNING.has(job.status)
      ? h("button", { type: "button", class: "danger small", onclick: () => cancelJob(job, refresh) },
        "Cancel") : null;
    const row = h("tr", { dataset: { job: job.id, status: job.status } },
      h("td", {}, formatTime(job.created_at)),
      h("td", {}, sourceBadge(job.source)),
      h("td", { dataset: { col: "status" } }, statusBadge(job.status)),
      h("td", { class: "wide" }, progressBar(c)),
      h("td", { dataset: { col: "total" } }, String(c.total)),
      h("td", { dataset: { col: "processed" } }, String(c.processed)),
      h("td", { dataset: { col: "failed" } }, String(c.failed)),
      h("td", {}, `${c.completed} / ${c.duplicates} / ${c.cancelled}`),
      h("td", { class: "row-actions" }, toggle, cancel));
    const detail = details.has(job.id)
      ? h("tr", { class: "job-items", dataset: { itemsOf: job.id } },
        h("td", { colspan: "9" }, itemsTable(details.get(job.id))))
      : null;
    return detail ? [row, detail] : [row];
  });
  return h("table", { class: "grid jobs-table" },
    h("thead", {}, h("tr", {}, ["Created", "Source", "Status", "Progress", "Total", "Processed",
      "Failed", "Completed / duplicates / cancelled", ""].map((label) =>
      h("th", { scope: "col" }, label)))),
    h("tbody", {}, rows));
}

async function cancelJob(job, refresh) {
  const sure = await confirmDialog("Cancel this job?",
    `The ${job.counts.total - job.counts.processed} file(s) not processed yet that have not ` +
    "been sent are cancelled; files already arriving complete and are processed.", "Cancel job");
  if (!sure) return;
  try {
    await api.post(`/api/v1/jobs/${encodeURIComponent(job.id)}/cancel`);
    toast("The job was cancelled.", "success");
  } catch (error) {
    toast(error.message, "error");
  }
  await refresh();
}

function itemsTable(job) {
  return h("table", { class: "grid inner" },
    h("thead", {}, h("tr", {}, ["File", "Line", "Upload", "Call", "Problem"].map((label) =>
      h("th", { scope: "col" }, label)))),
    h("tbody", {}, job.items.map((item) => h("tr", { class: item.error ? "problem" : null },
      h("td", { class: "file-name" }, item.file_name),
      h("td", {}, item.line ? String(item.line) : "—"),
      h("td", {}, statusBadge(item.state),
        item.state === "UPLOADING" ? ` ${Math.floor(item.percent)}%` : ""),
      h("td", {}, item.call_id ? h("a", { href: `#/calls/${encodeURIComponent(item.call_id)}` },
        statusBadge(item.call_status)) : "—"),
      h("td", {}, item.error ? item.error.message : "")))));
}
