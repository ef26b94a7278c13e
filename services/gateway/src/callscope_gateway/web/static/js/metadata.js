// The guide's call metadata fields, as a form section: used by the Upload screen, where one
// set of metadata applies to every file of the batch.

import { h } from "./ui.js";

export const METADATA_FIELDS = [
  ["agent_name", "Agent name", "text", "John Smith"],
  ["agent_code", "Agent code", "text", "JS001"],
  ["call_type", "Call type", "select", ""],
  ["call_date", "Call date", "date", ""],
  ["customer_id", "Customer ID", "text", "CUST-12345"],
  ["disposition", "Disposition", "text", "Sale Completed"],
  ["client_reference", "Client reference", "text", "CRM-98765"],
];

function control(name, kind, placeholder) {
  const id = `meta-${name}`;
  if (kind === "select") {
    return h("select", { id, name },
      h("option", { value: "" }, "—"),
      h("option", { value: "INBOUND" }, "Inbound"),
      h("option", { value: "OUTBOUND" }, "Outbound"));
  }
  return h("input", { id, name, type: kind, placeholder: placeholder || null, maxlength: "200" });
}

// A collapsible "Add metadata" section; values() returns the filled-in fields only.
export function metadataSection() {
  const inputs = {};
  const grid = h("div", { class: "form-grid" }, METADATA_FIELDS.map(([name, label, kind, hint]) => {
    inputs[name] = control(name, kind, hint);
    return h("div", {}, h("label", { for: `meta-${name}` }, label), inputs[name]);
  }));
  const el = h("details", { class: "metadata" },
    h("summary", {}, "Add metadata"),
    h("p", { class: "muted" }, "These fields apply to every file of this upload. A client " +
      "reference names one call, so it can only be given when uploading a single file."),
    grid);
  return {
    el,
    values() {
      const out = {};
      for (const [name, input] of Object.entries(inputs)) {
        const value = input.value.trim();
        if (value) out[name] = value;
      }
      return out;
    },
  };
}
