// Small DOM helpers shared by every page. Text always goes in as text nodes, never as HTML,
// so names, file names and transcript lines from users cannot inject markup.

export function h(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      node.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key === "class") node.className = value;
    else if (value === true) node.setAttribute(key, "");
    else node.setAttribute(key, String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function clear(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

// The guide's colours: Pending slate, Transcribing blue, Analyzing purple, Completed green,
// Failed red, Duplicate (grey); sources UI blue, API purple, Bulk amber, SFTP green.
export function statusBadge(status) {
  const name = (status || "UNKNOWN").toUpperCase();
  return h("span", { class: `badge status-${name.toLowerCase()}`, dataset: { status: name } },
    name.charAt(0) + name.slice(1).toLowerCase());
}

export function sourceBadge(source) {
  const name = (source || "").toUpperCase();
  const label = name === "BULK" ? "Bulk" : name;
  return h("span", { class: `badge source-${name.toLowerCase()}`, dataset: { source: name } },
    label);
}

export function formatTime(iso) {
  if (!iso) return "—";
  const when = new Date(iso);
  return Number.isNaN(when.getTime()) ? iso : when.toLocaleString();
}

export function formatDuration(seconds) {
  if (seconds === undefined || seconds === null || Number.isNaN(seconds)) return "—";
  const total = Math.round(seconds);
  const m = Math.floor(total / 60);
  const s = String(total % 60).padStart(2, "0");
  return `${m}:${s}`;
}

export function formatBytes(bytes) {
  if (!Number.isFinite(bytes)) return "—";
  const units = ["B", "KB", "MB", "GB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

export function toast(message, kind = "info") {
  const box = document.getElementById("toasts");
  const item = h("div", { class: `toast toast-${kind}`, role: kind === "error" ? "alert" : null },
    message);
  box.append(item);
  setTimeout(() => item.remove(), kind === "error" ? 8000 : 4000);
}

// An error box for a failed request: the API's message, which says what to do.
export function errorBox(error) {
  const message = error && error.message ? error.message : String(error);
  return h("div", { class: "error", role: "alert", dataset: { code: error && error.code } },
    message);
}

// A modal confirmation; resolves true when the person confirms.
export function confirmDialog(title, text, confirmLabel = "Confirm") {
  return new Promise((resolve) => {
    const dialog = h("dialog", { class: "confirm", "aria-label": title },
      h("h2", {}, title), h("p", {}, text));
    const done = (answer) => {
      dialog.close();
      dialog.remove();
      resolve(answer);
    };
    dialog.append(h("div", { class: "actions" },
      h("button", { type: "button", onclick: () => done(false) }, "Cancel"),
      h("button", { type: "button", class: "danger", onclick: () => done(true) }, confirmLabel)));
    dialog.addEventListener("cancel", () => done(false));
    document.body.append(dialog);
    dialog.showModal();
  });
}

// Runs fn now and every intervalMs until the returned stop() is called (pages return it as
// their cleanup, so leaving a page stops its polling).
export function every(intervalMs, fn) {
  let stopped = false;
  let timer = null;
  const tick = async () => {
    if (stopped) return;
    try {
      await fn();
    } catch (error) {
      console.warn("refresh failed", error);
    }
    if (!stopped) timer = setTimeout(tick, intervalMs);
  };
  tick();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

export function table(columns, rows, { empty = "Nothing here yet.", rowAttrs } = {}) {
  if (!rows.length) return h("p", { class: "muted empty" }, empty);
  return h("table", { class: "grid" },
    h("thead", {}, h("tr", {}, columns.map((column) => h("th", { scope: "col" }, column.label)))),
    h("tbody", {}, rows.map((row) => h("tr", rowAttrs ? rowAttrs(row) : {},
      columns.map((column) => h("td", { dataset: { col: column.key } }, column.cell(row)))))));
}
