// Users (#/users, owners): the organisation's people with their roles; create a login, change
// a role, assign a Manager's campaigns, link an Agent to their agent profile, disable, delete.
// The server refuses what would leave the organisation without an active owner.

import { api } from "../api.js";
import { roleLabel } from "../app.js";
import { clear, confirmDialog, errorBox, formatTime, h, table, toast } from "../ui.js";

const ROLES = ["AGENT", "MANAGER", "COMPLIANCE_OFFICER", "SENIOR_MANAGER", "OWNER"];

export async function render(root, ctx) {
  clear(root, h("h1", {}, "Users"), h("p", { class: "muted" }, "Loading…"));
  if (!ctx.can("MANAGE_USERS")) {
    clear(root, h("h1", {}, "Users"), errorBox(new Error("only owners manage users")));
    return;
  }
  const [{ campaigns }, agents] = await Promise.all([
    api.get("/api/v1/campaigns"),
    ctx.can("VIEW_AGENTS") ? api.get("/api/v1/agents").then((a) => a.agents) : [],
  ]);
  const lookups = { campaigns, agents };
  const list = h("div", { class: "card" });
  const editor = h("div", {});
  const problem = h("div", {});

  async function reload() {
    try {
      const { users } = await api.get("/api/v1/users");
      clear(list, usersTable(users, lookups, ctx, {
        edit: (user) => clear(editor, userEditor(user, lookups, async (change) => {
          if (await act(() => api.patch(`/api/v1/users/${encodeURIComponent(user.id)}`, change),
            "User saved.")) clear(editor);
        }, () => clear(editor))),
        remove: async (user) => {
          if (await confirmDialog("Delete this user?", `${user.email} can no longer log in; ` +
            "their past actions stay in the audit log.", "Delete user")) {
            await act(() => api.del(`/api/v1/users/${encodeURIComponent(user.id)}`), "User deleted.");
          }
        },
        toggle: (user) => act(() => api.patch(`/api/v1/users/${encodeURIComponent(user.id)}`,
          { disabled: !user.disabled }), user.disabled ? "User enabled." : "User disabled."),
      }));
    } catch (error) {
      clear(list, errorBox(error));
    }
  }

  async function act(work, done) {
    clear(problem);
    try {
      await work();
      toast(done, "success");
      await reload();
      return true;
    } catch (error) {
      problem.append(errorBox(error));
      return false;
    }
  }

  clear(root, h("h1", {}, "Users"),
    createForm(lookups, (body) => act(() => api.post("/api/v1/users", body), "User created.")),
    problem, list, editor);
  await reload();
}

function roleSelect(id, value) {
  return h("select", { id, name: "role" },
    ROLES.map((role) => h("option", { value: role, selected: role === value }, roleLabel(role))));
}

// Checkboxes for a Manager's campaigns; value() lists the checked ids.
function campaignChoice(campaigns, chosen) {
  const boxes = campaigns.map((c) => [c.id, h("input", { type: "checkbox", value: c.id,
    checked: chosen.includes(c.id), "aria-label": c.name })]);
  const el = h("fieldset", { class: "choices", dataset: { role: "campaign-choice" } },
    h("legend", {}, "Campaigns the Manager works on"),
    campaigns.length ? boxes.map(([id, box]) => h("label", { class: "check" }, box, " ",
      campaigns.find((c) => c.id === id).name)) : h("p", { class: "muted" }, "No campaigns yet."));
  return { el, value: () => boxes.filter(([, box]) => box.checked).map(([id]) => id) };
}

function agentSelect(id, agents, value) {
  return h("select", { id, name: "agent_id" },
    h("option", { value: "" }, "No agent profile"),
    agents.map((a) => h("option", { value: a.id, selected: a.id === value }, `${a.name} (${a.code})`)));
}

// Shows the campaigns only for Managers and the agent profile only for Agents.
function roleDependent(role, campaignsBox, agentBox) {
  const sync = () => {
    campaignsBox.hidden = role.value !== "MANAGER";
    agentBox.hidden = role.value !== "AGENT";
  };
  role.addEventListener("change", sync);
  sync();
}

function createForm(lookups, create) {
  const email = h("input", { id: "new-user-email", type: "email", required: true,
    autocomplete: "off" });
  const password = h("input", { id: "new-user-password", type: "password", minlength: "12",
    required: true, autocomplete: "new-password" });
  const role = roleSelect("new-user-role", "MANAGER");
  const campaigns = campaignChoice(lookups.campaigns, []);
  const agent = agentSelect("new-user-agent", lookups.agents, "");
  const agentBox = h("div", {}, h("label", { for: "new-user-agent" }, "Agent profile"), agent);
  roleDependent(role, campaigns.el, agentBox);
  const form = h("form", { class: "card", dataset: { role: "new-user" } },
    h("h2", {}, "New user"),
    h("div", { class: "form-grid" },
      h("div", {}, h("label", { for: "new-user-email" }, "Email"), email),
      h("div", {}, h("label", { for: "new-user-password" }, "Password (at least 12 characters)"),
        password),
      h("div", {}, h("label", { for: "new-user-role" }, "Role"), role)),
    campaigns.el, agentBox,
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Create user")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = { email: email.value.trim(), password: password.value, role: role.value };
    if (role.value === "MANAGER") body.campaign_ids = campaigns.value();
    if (role.value === "AGENT" && agent.value) body.agent_id = agent.value;
    if (await create(body)) {
      form.reset();
      role.dispatchEvent(new Event("change"));
    }
  });
  return form;
}

function usersTable(users, lookups, ctx, actions) {
  const campaignName = (id) => (lookups.campaigns.find((c) => c.id === id) || { name: id }).name;
  const agentName = (id) => {
    const agent = lookups.agents.find((a) => a.id === id);
    return agent ? `${agent.name} (${agent.code})` : id;
  };
  return table([
    { label: "Email", key: "email", cell: (u) => u.email },
    { label: "Role", key: "role", cell: (u) => roleLabel(u.role) },
    { label: "Campaigns / agent", key: "scope", cell: (u) => {
      if (u.role === "MANAGER") {
        return u.campaign_ids.length ? u.campaign_ids.map(campaignName).join(", ") : "none assigned";
      }
      if (u.role === "AGENT") return u.agent_id ? agentName(u.agent_id) : "not linked";
      return "all campaigns";
    } },
    { label: "Status", key: "status", cell: (u) => (u.disabled
      ? h("span", { class: "badge status-failed" }, "Disabled")
      : h("span", { class: "badge status-completed" }, "Active")) },
    { label: "Created", key: "created", cell: (u) => formatTime(u.created_at) },
    { label: "", key: "actions", cell: (u) => (u.id === ctx.user.id ? h("span", { class: "muted" },
      "you") : h("span", { class: "row-actions" },
      h("button", { type: "button", class: "small", onclick: () => actions.edit(u) }, "Edit"),
      h("button", { type: "button", class: "small", onclick: () => actions.toggle(u) },
        u.disabled ? "Enable" : "Disable"),
      h("button", { type: "button", class: "small danger", onclick: () => actions.remove(u) },
        "Delete"))) },
  ], users, { empty: "No users yet.", rowAttrs: (u) => ({ dataset: { user: u.email } }) });
}

function userEditor(user, lookups, save, cancel) {
  const role = roleSelect("edit-user-role", user.role);
  const campaigns = campaignChoice(lookups.campaigns, user.campaign_ids);
  const agent = agentSelect("edit-user-agent", lookups.agents, user.agent_id || "");
  const agentBox = h("div", {}, h("label", { for: "edit-user-agent" }, "Agent profile"), agent);
  roleDependent(role, campaigns.el, agentBox);
  const form = h("form", { class: "card", dataset: { role: "edit-user" } },
    h("h2", {}, `Edit ${user.email}`),
    h("div", {}, h("label", { for: "edit-user-role" }, "Role"), role),
    campaigns.el, agentBox,
    h("div", { class: "actions" },
      h("button", { type: "submit", class: "primary" }, "Save user"),
      h("button", { type: "button", onclick: cancel }, "Cancel")));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const change = { role: role.value };
    if (role.value === "MANAGER") change.campaign_ids = campaigns.value();
    if (role.value === "AGENT") change.agent_id = agent.value || null;
    save(change);
  });
  return form;
}
