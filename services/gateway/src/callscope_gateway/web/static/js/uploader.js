// Sending a job's files, shared by the Upload and Bulk upload screens.
//
// A job (multi-file or bulk upload) is created first; each of its items is then sent with
// PUT /api/v1/jobs/{job}/items/{item}/file, the raw file as the body. XMLHttpRequest rather
// than fetch: only XHR reports upload progress, and abort() drops the connection, which is
// how the server learns the file will not come (ingest spools the bytes to a temporary file
// and keeps nothing of an interrupted upload).
//
// A file's X aborts its transfer, then cancels that item alone with
// POST /api/v1/jobs/{job}/items/{item}/cancel; the job's other files go on. Until the server
// has seen the aborted connection drop, the item is still held by its upload and the cancel
// answers 409 item_in_flight, so it is retried for a few seconds. A file that had already
// arrived completely is a call (409 item_already_uploaded): it is kept, and the line says so.

import { ApiError, api } from "./api.js";
import { formatBytes, h, statusBadge } from "./ui.js";

// The guide's formats and limit; the server decides by content and enforces the limit, these
// only spare a pointless upload and use the server's own words.
export const AUDIO_EXTENSIONS = [".mp3", ".wav", ".m4a", ".mp4", ".webm", ".ogg"];
export const SUPPORTED_FORMATS_TEXT = "MP3, WAV, M4A, MP4, WebM or OGG";
export const MAX_FILE_BYTES = 500 * 1024 * 1024;
export const MAX_UI_FILES = 20;

// Call statuses after which nothing changes any more.
const FINAL_CALL_STATUSES = new Set(["COMPLETED", "FAILED", "DUPLICATE"]);

// A reason the file would be refused, in the server's words, or null.
export function precheck(file) {
  const dot = file.name.lastIndexOf(".");
  const extension = dot >= 0 ? file.name.slice(dot).toLowerCase() : "";
  if (!AUDIO_EXTENSIONS.includes(extension)) {
    return `the file is not audio we can read; upload ${SUPPORTED_FORMATS_TEXT}`;
  }
  if (file.size === 0) return "the file is empty";
  if (file.size > MAX_FILE_BYTES) {
    return "the file is larger than the 500 MB limit; compress or split it, or use bulk upload";
  }
  return null;
}

export function fileInput({ onFiles, accept = AUDIO_EXTENSIONS.join(","), multiple = true }) {
  const input = h("input", { type: "file", class: "visually-hidden", accept, multiple,
    dataset: { role: "file-browser" } });
  input.addEventListener("change", () => {
    onFiles(Array.from(input.files || []));
    input.value = "";
  });
  return input;
}

// A drop zone with a "Browse files" button; onFiles receives the dropped or chosen files.
export function dropZone({ onFiles, label, accept }) {
  const input = fileInput({ onFiles, accept });
  const zone = h("div", { class: "dropzone", dataset: { role: "dropzone" }, tabindex: "0" },
    h("p", {}, label || "Drag and drop audio files here"),
    h("p", { class: "muted" }, "or"),
    h("button", { type: "button", onclick: () => input.click() }, "Browse files"),
    input,
    h("p", { class: "muted small" }, `${SUPPORTED_FORMATS_TEXT}; up to 500 MB each`));
  const over = (event) => {
    event.preventDefault();
    zone.classList.add("over");
  };
  zone.addEventListener("dragenter", over);
  zone.addEventListener("dragover", over);
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("over");
    onFiles(Array.from((event.dataTransfer && event.dataTransfer.files) || []));
  });
  return zone;
}

// One file's line: name, size, progress bar, percentage, speed, state, and the X to cancel.
export function fileRow(file) {
  const bar = h("span", {});
  const percent = h("span", { class: "percent", dataset: { role: "percent" } }, "0%");
  const speed = h("span", { class: "speed muted", dataset: { role: "speed" } }, "");
  const state = h("span", { class: "state", dataset: { role: "state" } }, "Waiting");
  const message = h("div", { class: "file-message", dataset: { role: "message" }, hidden: true });
  const cancel = h("button", { type: "button", class: "icon", title: `Cancel ${file.name}`,
    "aria-label": `Cancel ${file.name}` }, "×");
  const el = h("li", { class: "upload-file", dataset: { file: file.name, state: "waiting" } },
    h("div", { class: "upload-file-head" },
      h("span", { class: "file-name" }, file.name),
      h("span", { class: "muted" }, formatBytes(file.size)),
      percent, speed, state, cancel),
    h("div", { class: "progress" }, bar),
    message);
  bar.style.width = "0%";

  const row = {
    el,
    file,
    cancelButton: cancel,
    progress(loaded, total, bytesPerSecond) {
      const share = total > 0 ? Math.min(100, (100 * loaded) / total) : 0;
      bar.style.width = `${share.toFixed(1)}%`;
      percent.textContent = `${Math.floor(share)}%`;
      speed.textContent = bytesPerSecond > 0 ? `${formatBytes(bytesPerSecond)}/s` : "";
    },
    // kind: waiting | uploading | uploaded | error | cancelled | duplicate
    setState(kind, label, badge) {
      el.dataset.state = kind;
      state.replaceChildren(badge ? statusBadge(badge) : label);
      cancel.hidden = !["waiting", "uploading"].includes(kind);
    },
    setMessage(...children) {
      message.replaceChildren(...children);
      message.hidden = children.length === 0;
    },
  };
  return row;
}

// PUT the file; resolves {status, body} for any answer, {aborted: true} when cancelled.
export function sendFile(url, file, { onProgress, onStart }) {
  const xhr = new XMLHttpRequest();
  const promise = new Promise((resolve, reject) => {
    xhr.open("PUT", url);
    xhr.setRequestHeader("X-CSRF-Token", api.csrfToken());
    xhr.setRequestHeader("Content-Type", "application/octet-stream");
    xhr.responseType = "json";
    let started = 0;
    xhr.upload.addEventListener("loadstart", () => {
      started = performance.now();
      if (onStart) onStart();
    });
    xhr.upload.addEventListener("progress", (event) => {
      const seconds = (performance.now() - started) / 1000;
      onProgress(event.loaded, event.lengthComputable ? event.total : file.size,
        seconds > 0.05 ? event.loaded / seconds : 0);
    });
    xhr.addEventListener("load", () => resolve({ status: xhr.status, body: xhr.response }));
    xhr.addEventListener("abort", () => resolve({ aborted: true }));
    xhr.addEventListener("error", () => reject(new ApiError(0, "network_error",
      "the connection broke off before the file arrived; check the network and try again")));
    xhr.send(file);
  });
  return { promise, abort: () => xhr.abort() };
}

function callLink(callId, text) {
  return h("a", { href: `#/calls/${encodeURIComponent(callId)}` }, text);
}

// Shows a PUT's answer on the file's row.
function showAnswer(row, answer) {
  const body = answer.body || {};
  if (answer.status === 201) {
    row.setState("uploaded", null, body.status || "PENDING");
    row.setMessage(callLink(body.call_id, "Open the call"));
    return body.call_id;
  }
  const error = body.error || {};
  if (answer.status === 409 && error.original_call_id) {
    row.setState("duplicate", null, "DUPLICATE");
    row.setMessage(`${error.message || "This call was already uploaded"} `,
      callLink(error.original_call_id, "Open the original call"));
    return body.call_id || null;
  }
  row.setState("error", "Refused");
  row.setMessage(error.message || `the server answered ${answer.status}`);
  row.el.classList.add("problem");
  return null;
}

// Sends the job's items (pairs of {item, file, row}) at most `concurrency` at a time.
// Returns {done}, which resolves to {cancelled} once every file has settled.
export function sendJob(job, entries, { concurrency = MAX_UI_FILES, onSettled } = {}) {
  const queue = [...entries];
  let cancelledAny = false;
  let running = 0;

  for (const entry of entries) {
    entry.row.cancelButton.addEventListener("click", () => {
      if (entry.cancelled || entry.settled) return;
      cancelledAny = true;
      entry.cancelled = true;
      entry.row.cancelButton.disabled = true;
      entry.row.setState("cancelling", "Cancelling…");
      // A transfer under way ends as aborted and run() cancels the item then.
      if (entry.transfer) entry.transfer.abort();
      else cancelEntry(entry);
    });
  }

  let finish;
  const done = new Promise((resolve) => { finish = resolve; });
  let remaining = entries.length;

  function settle(entry) {
    if (entry.settled) return;
    entry.settled = true;
    remaining -= 1;
    if (onSettled) onSettled(entry);
    if (remaining === 0) finish();
  }

  async function cancelEntry(entry) {
    try {
      await cancelItem(job.id, entry.item.id);
      entry.row.setState("cancelled", "Cancelled");
      entry.row.setMessage("The partial upload was discarded.");
    } catch (error) {
      if (error instanceof ApiError && error.code === "item_already_uploaded") {
        await showKept(job.id, entry);
      } else {
        entry.row.setState("error", "Not cancelled");
        entry.row.setMessage(`The file could not be cancelled: ${error.message}`);
        entry.row.el.classList.add("problem");
      }
    } finally {
      settle(entry);
    }
  }

  async function run(entry) {
    running += 1;
    const url = `/api/v1/jobs/${encodeURIComponent(job.id)}/items/${encodeURIComponent(entry.item.id)}/file`;
    entry.transfer = sendFile(url, entry.file, {
      onStart: () => { if (!entry.cancelled) entry.row.setState("uploading", "Uploading"); },
      onProgress: (loaded, total, speed) => entry.row.progress(loaded, total, speed),
    });
    try {
      const answer = await entry.transfer.promise;
      entry.transfer = null;
      if (answer.aborted) await cancelEntry(entry);
      else {
        if (answer.status === 201) entry.row.progress(entry.file.size, entry.file.size, 0);
        entry.callId = showAnswer(entry.row, answer);
        settle(entry);
      }
    } catch (error) {
      entry.row.setState("error", "Failed");
      entry.row.setMessage(error.message);
      entry.row.el.classList.add("problem");
      settle(entry);
    } finally {
      entry.transfer = null;
      running -= 1;
      pump();
    }
  }

  function pump() {
    while (running < concurrency && queue.length) {
      const entry = queue.shift();
      if (!entry.cancelled) run(entry);
    }
  }

  if (!entries.length) finish();
  pump();
  return { done: done.then(() => ({ cancelled: cancelledAny })) };
}

// How long the X keeps asking while the aborted upload still holds its item.
const IN_FLIGHT_RETRY_MS = 250;
const IN_FLIGHT_GIVE_UP_MS = 15000;

// Cancels one item; retries while the server still sees its upload arriving.
async function cancelItem(jobId, itemId) {
  const url = `/api/v1/jobs/${encodeURIComponent(jobId)}/items/${encodeURIComponent(itemId)}/cancel`;
  const giveUpAt = performance.now() + IN_FLIGHT_GIVE_UP_MS;
  for (;;) {
    try {
      return await api.post(url);
    } catch (error) {
      const inFlight = error instanceof ApiError && error.code === "item_in_flight";
      if (!inFlight || performance.now() > giveUpAt) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, IN_FLIGHT_RETRY_MS));
  }
}

// The file arrived completely before the cancel: its call is kept, and the line links it.
async function showKept(jobId, entry) {
  let item = null;
  try {
    const job = await api.get(`/api/v1/jobs/${encodeURIComponent(jobId)}`);
    item = job.items.find((each) => each.id === entry.item.id) || null;
  } catch (error) {
    console.warn("job refresh failed", error);
  }
  entry.callId = (item && item.call_id) || null;
  const status = item && item.call_status;
  entry.row.progress(entry.file.size, entry.file.size, 0);
  entry.row.setState(status === "DUPLICATE" ? "duplicate" : "uploaded", "Uploaded", status);
  entry.row.setMessage("The file had already arrived when it was cancelled; the call was kept. ",
    ...(entry.callId ? [callLink(entry.callId, "Open the call")] : []));
}

// Follows the job's calls after upload: each row shows its call's status until final.
// Returns a stop function.
export function followCalls(jobId, entries, { intervalMs = 2000, onJob } = {}) {
  let stopped = false;
  let timer = null;
  const byItem = new Map(entries.map((entry) => [entry.item.id, entry]));
  const tick = async () => {
    if (stopped) return;
    let pending = true;
    try {
      const job = await api.get(`/api/v1/jobs/${encodeURIComponent(jobId)}`);
      if (onJob) onJob(job);
      pending = job.items.some((item) => {
        const entry = byItem.get(item.id);
        if (entry && entry.settled) reflectItem(entry, item);
        if (item.state === "UPLOADED") return !FINAL_CALL_STATUSES.has(item.call_status);
        return item.state === "UPLOADING" || (item.state === "WAITING" && job.status !== "CANCELLED");
      });
    } catch (error) {
      console.warn("job refresh failed", error);
    }
    if (!stopped && pending) timer = setTimeout(tick, intervalMs);
  };
  tick();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

// The server's view of a settled file: the call's status, or that it was cancelled.
function reflectItem(entry, item) {
  const { row } = entry;
  if (item.state === "UPLOADED" && item.call_status) {
    row.setState(item.call_status === "DUPLICATE" ? "duplicate" : "uploaded", null,
      item.call_status);
    if (entry.cancelled) {
      row.setMessage("The file had already arrived when it was cancelled; the call was kept. ",
        callLink(item.call_id, "Open the call"));
    }
  } else if (item.state === "CANCELLED" && entry.cancelled) {
    row.setState("cancelled", "Cancelled");
  }
}

// The job's items in the files' order; names may repeat, so each name's files are consumed.
export function pairItems(items, files) {
  const byName = new Map();
  for (const file of files) {
    if (!byName.has(file.name)) byName.set(file.name, []);
    byName.get(file.name).push(file);
  }
  return items.flatMap((item) => {
    const file = (byName.get(item.file_name) || []).shift();
    return file ? [{ item, file, row: fileRow(file) }] : [];
  });
}
