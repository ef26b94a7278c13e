// The API keys section of the Campaign settings screen (senior managers and owners): generate
// a key, whose raw value the server answers once and never again, so it is shown once with a
// copy button; list keys by prefix with when they were last used; revoke with confirmation.

import { api } from "./api.js";
import { clear, confirmDialog, errorBox, formatTime, h, table, toast } from "./ui.js";

export function apiKeysSection(campaign) {
  const base = `/api/v1/campaigns/${encodeURIComponent(campaign.id)}/api-keys`;
  const list = h("div", {}, h("p", { class: "muted" }, "Loading keys…"));
  const reveal = h("div", {});
  const problem = h("div", {});
  const name = h("input", { id: "api-key-name", maxlength: "200", placeholder: "CRM integration" });

  async function reload() {
    try {
      const { api_keys: keys } = await api.get(base);
      clear(list, keysTable(keys, revoke));
    } catch (error) {
      clear(list, errorBox(error));
    }
  }

  async function revoke(key) {
    const sure = await confirmDialog("Revoke this API key?", `Requests with the key ` +
      `${key.display_prefix}… are refused from now on. This cannot be undone.`, "Revoke key");
    if (!sure) return;
    clear(problem);
    try {
      await api.del(`/api/v1/api-keys/${encodeURIComponent(key.id)}`);
      toast("The key was revoked.", "success");
    } catch (error) {
      problem.append(errorBox(error));
    }
    await reload();
  }

  const generate = h("form", { class: "toolbar" },
    h("div", { class: "grow" }, h("label", { for: "api-key-name" }, "Name (optional)"), name),
    h("button", { type: "submit", class: "primary" }, "Generate API key"));
  generate.addEventListener("submit", async (event) => {
    event.preventDefault();
    clear(problem);
    try {
      const created = await api.post(base, { name: name.value.trim() });
      name.value = "";
      clear(reveal, revealKey(created.key, () => clear(reveal)));
      await reload();
    } catch (error) {
      problem.append(errorBox(error));
    }
  });

  reload();
  return h("section", { class: "card", dataset: { role: "api-keys" } },
    h("h2", {}, "API keys"),
    h("p", { class: "muted" }, "A key uploads and reads this campaign's calls only " +
      "(header X-API-Key)."),
    generate, problem, reveal, list);
}

// The new key, once: a read-only field and a Copy button.
function revealKey(raw, onDone) {
  const field = h("input", { id: "new-api-key", readonly: true, value: raw, class: "mono",
    "aria-label": "New API key" });
  const copied = h("span", { class: "muted", role: "status" });
  const copy = h("button", { type: "button", onclick: () => copyText(field, copied) }, "Copy");
  return h("div", { class: "notice key-reveal", dataset: { role: "new-key" } },
    h("strong", {}, "Copy this key now: it is shown only once."),
    h("div", { class: "toolbar" }, h("div", { class: "grow" }, field), copy,
      h("button", { type: "button", onclick: onDone }, "Done")),
    copied);
}

async function copyText(field, status) {
  try {
    await navigator.clipboard.writeText(field.value);
    status.textContent = "Copied to the clipboard.";
  } catch {
    // No clipboard access (an insecure origin, or denied): select it for Ctrl+C instead.
    field.focus();
    field.select();
    status.textContent = "Press Ctrl+C (⌘C) to copy the selected key.";
  }
}

function keysTable(keys, revoke) {
  return table([
    { label: "Name", key: "name", cell: (k) => k.name || "—" },
    { label: "Key", key: "prefix", cell: (k) => h("code", {}, `${k.display_prefix}…`) },
    { label: "Created", key: "created", cell: (k) => formatTime(k.created_at) },
    { label: "Last used", key: "last_used", cell: (k) => (k.last_used_at ? formatTime(k.last_used_at)
      : "never") },
    { label: "Status", key: "status", cell: (k) => (k.revoked_at
      ? h("span", { class: "badge status-failed" }, "Revoked") : h("span", { class:
        "badge status-completed" }, "Active")) },
    { label: "", key: "actions", cell: (k) => (k.revoked_at ? "" : h("button", { type: "button",
      class: "small danger", onclick: () => revoke(k) }, "Revoke")) },
  ], keys, { empty: "No API keys yet.", rowAttrs: (k) => ({ dataset: { key: k.id } }) });
}
