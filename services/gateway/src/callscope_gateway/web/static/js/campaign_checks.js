// The checks editor of the Campaign settings screen: list, add, edit, delete and reorder a
// campaign's quality checks (routes/checks.py). The server owns the rules (lengths, weights,
// one name per campaign) and its messages say what to fix.

import { api } from "./api.js";
import { clear, confirmDialog, errorBox, h, table, toast } from "./ui.js";

const SPEAKERS = ["AGENT", "CUSTOMER", "ANY"];
const WINDOWS = ["ANYWHERE", "OPENING", "CLOSING", "FIRST_HALF"];
const ANSWER_TYPES = ["YES_NO", "YES_NO_NOT_APPLICABLE"];

function lines(text) {
  return text.split("\n").map((line) => line.trim()).filter(Boolean);
}

function options(values, current) {
  return values.map((value) => h("option", { value, selected: value === current },
    value.replaceAll("_", " ").toLowerCase()));
}

export function checksEditor(campaign, ctx) {
  const canEdit = ctx.can("CONFIGURE_CAMPAIGNS");
  const path = `/api/v1/campaigns/${encodeURIComponent(campaign.id)}/checks`;
  let checks = campaign.checks || [];
  const list = h("div", {});
  const editor = h("div", {});
  const problem = h("div", {});

  async function reload() {
    checks = (await api.get(path)).checks;
    draw();
  }

  async function act(work, done) {
    clear(problem);
    try {
      await work();
      if (done) toast(done, "success");
      await reload();
      return true;
    } catch (error) {
      problem.append(errorBox(error));
      return false;
    }
  }

  function move(index, step) {
    const ids = checks.map((check) => check.id);
    [ids[index], ids[index + step]] = [ids[index + step], ids[index]];
    act(() => api.put(`${path}/order`, { check_ids: ids }));
  }

  async function remove(check) {
    if (await confirmDialog("Delete this check?", `"${check.name}" is removed from the ` +
      "campaign's checks; analyses already made keep their results.", "Delete check")) {
      act(() => api.del(`${path}/${encodeURIComponent(check.id)}`), "Check deleted.");
    }
  }

  function edit(check) {
    clear(editor, checkForm(check, async (body) => {
      const ok = await act(() => (check
        ? api.patch(`${path}/${encodeURIComponent(check.id)}`, body)
        : api.post(path, body)), check ? "Check saved." : "Check added.");
      if (ok) clear(editor);
    }, () => clear(editor)));
    editor.querySelector("input").focus();
  }

  function draw() {
    const columns = [
      { label: "#", key: "order", cell: (c) => String(checks.indexOf(c) + 1) },
      { label: "Check", key: "name", cell: (c) => h("div", {}, h("strong", {}, c.name),
        h("div", { class: "muted small" }, c.question)) },
      { label: "Category", key: "category", cell: (c) => c.category },
      { label: "Weight", key: "weight", cell: (c) => String(c.weight) },
      { label: "Critical", key: "critical", cell: (c) => (c.critical ? "Yes" : "") },
      { label: "Speaker", key: "speaker", cell: (c) => c.speaker.toLowerCase() },
    ];
    if (canEdit) {
      columns.push({ label: "", key: "actions", cell: (c) => {
        const index = checks.indexOf(c);
        return h("span", { class: "row-actions" },
          h("button", { type: "button", class: "small", disabled: index === 0,
            "aria-label": `Move ${c.name} up`, onclick: () => move(index, -1) }, "↑"),
          h("button", { type: "button", class: "small", disabled: index === checks.length - 1,
            "aria-label": `Move ${c.name} down`, onclick: () => move(index, 1) }, "↓"),
          h("button", { type: "button", class: "small", onclick: () => edit(c) }, "Edit"),
          h("button", { type: "button", class: "small danger", onclick: () => remove(c) },
            "Delete"));
      } });
    }
    clear(list, table(columns, checks, { empty: "This campaign has no checks yet.",
      rowAttrs: (c) => ({ dataset: { check: c.id } }) }));
  }

  draw();
  return h("section", { class: "card", dataset: { role: "checks" } },
    h("h2", {}, "Checks"),
    list, problem,
    canEdit ? h("div", { class: "actions" },
      h("button", { type: "button", onclick: () => edit(null) }, "Add check")) : null,
    editor);
}

function checkForm(check, onSave, onCancel) {
  const c = check || { name: "", question: "", category: "General", weight: 10, critical: false,
    speaker: "AGENT", window: "ANYWHERE", answer_type: "YES_NO", phrases: [], keywords: [] };
  const f = {
    name: h("input", { id: "check-name", value: c.name, maxlength: "100", required: true }),
    question: h("textarea", { id: "check-question", maxlength: "500", required: true }),
    category: h("input", { id: "check-category", value: c.category, maxlength: "60" }),
    weight: h("input", { id: "check-weight", type: "number", min: "0", max: "100", step: "any",
      value: String(c.weight) }),
    critical: h("input", { id: "check-critical", type: "checkbox", checked: c.critical }),
    speaker: h("select", { id: "check-speaker" }, options(SPEAKERS, c.speaker)),
    window: h("select", { id: "check-window" }, options(WINDOWS, c.window)),
    answer_type: h("select", { id: "check-answer-type" }, options(ANSWER_TYPES, c.answer_type)),
    phrases: h("textarea", { id: "check-phrases" }),
    keywords: h("textarea", { id: "check-keywords" }),
  };
  // Textareas take their text as a value, never as markup.
  f.question.value = c.question;
  f.phrases.value = (c.phrases || []).join("\n");
  f.keywords.value = (c.keywords || []).join("\n");
  const form = h("form", { class: "check-form" },
    h("h3", {}, check ? `Edit "${check.name}"` : "New check"),
    h("div", { class: "form-grid" },
      h("div", {}, h("label", { for: "check-name" }, "Name"), f.name),
      h("div", {}, h("label", { for: "check-category" }, "Category"), f.category),
      h("div", {}, h("label", { for: "check-weight" }, "Weight"), f.weight),
      h("div", {}, h("label", { for: "check-speaker" }, "Speaker"), f.speaker),
      h("div", {}, h("label", { for: "check-window" }, "Where in the call"), f.window),
      h("div", {}, h("label", { for: "check-answer-type" }, "Answers"), f.answer_type)),
    h("label", { for: "check-question" }, "Question"), f.question,
    h("label", { for: "check-phrases" }, "Phrases that pass it (one per line)"), f.phrases,
    h("label", { for: "check-keywords" }, "Keywords (one per line)"), f.keywords,
    h("label", { class: "check" }, f.critical, " Critical: failing it flags the call"),
    h("div", { class: "actions" },
      h("button", { type: "submit", class: "primary" }, check ? "Save check" : "Add check"),
      h("button", { type: "button", onclick: onCancel }, "Cancel")));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    onSave({
      name: f.name.value, question: f.question.value, category: f.category.value,
      weight: Number(f.weight.value), critical: f.critical.checked, speaker: f.speaker.value,
      window: f.window.value, answer_type: f.answer_type.value,
      phrases: lines(f.phrases.value), keywords: lines(f.keywords.value),
    });
  });
  return form;
}
