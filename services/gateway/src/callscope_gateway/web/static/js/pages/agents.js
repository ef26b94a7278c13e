// Agents (#/agents): the organisation's agent profiles with the codes calls are linked by,
// and (for senior managers and owners) a form to add one. Each opens its profile with the
// score trend (#/agents/:id).

import { api } from "../api.js";
import { clear, errorBox, h, toast } from "../ui.js";
import { campaignNames } from "../callviews.js";

export async function render(root, ctx) {
  root.append(h("div", { class: "page-head" }, h("h1", {}, "Agents")));
  if (!ctx.can("VIEW_AGENTS")) {
    root.append(errorBox(new Error("Your role cannot view agent profiles.")));
    return;
  }
  const formArea = h("div");
  const list = h("div", { "aria-busy": "true" }, h("p", { class: "muted" }, "Loading agents…"));
  root.append(formArea, list);
  const campaigns = await campaignNames(ctx);
  const reload = async () => {
    try {
      const { agents } = await api.get("/api/v1/agents");
      clear(list, agentsTable(agents, campaigns));
    } catch (error) {
      clear(list, errorBox(error));
    }
    list.removeAttribute("aria-busy");
  };
  if (ctx.can("MANAGE_AGENTS")) {
    const open = h("button", { type: "button", class: "primary" }, "New agent");
    open.addEventListener("click", () => clear(formArea, agentForm({ campaigns,
      onSaved: async () => {
        clear(formArea, open);
        await reload();
      },
      onCancel: () => clear(formArea, open) })));
    formArea.append(open);
  }
  await reload();
}

function agentsTable(agents, campaigns) {
  if (!agents.length) {
    return h("p", { class: "muted empty" }, "No agents yet. Agents link calls by their code " +
      "(in the upload's metadata or the file name).");
  }
  return h("table", { class: "grid agents-table" },
    h("thead", {}, h("tr", {}, ["Name", "Code", "Campaigns", ""].map((label) =>
      h("th", { scope: "col" }, label)))),
    h("tbody", {}, agents.map((agent) => h("tr", { dataset: { agentId: agent.id } },
      h("td", {}, h("a", { href: `#/agents/${encodeURIComponent(agent.id)}` }, agent.name)),
      h("td", {}, h("code", {}, agent.code)),
      h("td", {}, agent.campaign_ids.length
        ? agent.campaign_ids.map((id) => campaigns.get(id) || id).join(", ")
        : h("span", { class: "muted" }, "none")),
      h("td", {}, h("a", { href: `#/calls?agent_id=${encodeURIComponent(agent.id)}` },
        "Calls"))))));
}

/**
 * The create / edit form of an agent. agent: the one to edit (absent: a new one).
 * Resolves through onSaved(agent) after the API accepted it; shows the API's message if not.
 */
export function agentForm({ agent, campaigns, onSaved, onCancel }) {
  const name = h("input", { id: "agent-name", name: "name", required: true, maxlength: 200,
    value: agent ? agent.name : "" });
  const code = h("input", { id: "agent-code", name: "code", required: true, maxlength: 64,
    value: agent ? agent.code : "", placeholder: "e.g. JS001" });
  const chosen = new Set(agent ? agent.campaign_ids : []);
  const boxes = [...campaigns].map(([id, label]) => h("label", { class: "pill" },
    h("input", { type: "checkbox", name: "campaign_ids", value: id, checked: chosen.has(id) }),
    ` ${label}`));
  const error = h("div");
  const save = h("button", { type: "submit", class: "primary" },
    agent ? "Save agent" : "Create agent");
  const form = h("form", { class: "card agent-form",
    "aria-label": agent ? "Edit agent" : "New agent" },
  h("h2", {}, agent ? "Edit agent" : "New agent"),
  h("div", { class: "form-grid" },
    h("div", {}, h("label", { for: "agent-name" }, "Name"), name),
    h("div", {}, h("label", { for: "agent-code" }, "Code"), code)),
  boxes.length ? h("fieldset", { class: "campaign-choice" }, h("legend", {}, "Campaigns"),
    boxes) : null,
  error,
  h("div", { class: "actions" }, save,
    h("button", { type: "button", onclick: onCancel }, "Cancel")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clear(error);
    save.disabled = true;
    const body = {
      name: name.value.trim(),
      code: code.value.trim(),
      campaign_ids: new FormData(form).getAll("campaign_ids"),
    };
    try {
      const saved = agent
        ? await api.patch(`/api/v1/agents/${encodeURIComponent(agent.id)}`, body)
        : await api.post("/api/v1/agents", body);
      toast(agent ? "Agent saved" : `Agent ${saved.code} created`, "success");
      await onSaved(saved);
    } catch (failure) {
      clear(error, errorBox(failure));
      save.disabled = false;
    }
  });
  setTimeout(() => name.focus(), 0);
  return form;
}
