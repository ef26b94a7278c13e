// Pieces shared by the call screens (calls, call, review, dashboard, agents): lookups of
// campaign and agent names, score and flag cells, and the terminal-status rule for polling.

import { api } from "./api.js";
import { h } from "./ui.js";

export const STATUSES = ["PENDING", "TRANSCRIBING", "ANALYZING", "COMPLETED", "FAILED",
  "DUPLICATE"];
export const SOURCES = ["UI", "API", "BULK", "SFTP"];
// A call in one of these states will not change by itself: polling can stop.
export const TERMINAL = new Set(["COMPLETED", "FAILED", "DUPLICATE"]);

// (`queued` stays true on a call once queued, so only the status decides.)
export function isTerminal(call) {
  return TERMINAL.has(call.status);
}

// id → name of the campaigns the user may see; an empty map when the role may not list them.
export async function campaignNames(ctx) {
  if (!ctx.can("VIEW_CAMPAIGNS")) return new Map();
  try {
    const { campaigns } = await api.get("/api/v1/campaigns");
    return new Map(campaigns.map((campaign) => [campaign.id, campaign.name]));
  } catch (error) {
    console.warn("campaign names unavailable", error);
    return new Map();
  }
}

// The organisation's agents (or one campaign's); empty when the role may not view agents.
export async function agentList(ctx, campaignId) {
  if (!ctx.can("VIEW_AGENTS")) return [];
  try {
    const { agents } = await api.get("/api/v1/agents", { campaign_id: campaignId });
    return agents;
  } catch (error) {
    console.warn("agents unavailable", error);
    return [];
  }
}

export function scoreText(score) {
  return score === null || score === undefined ? "—" : Number(score).toFixed(1);
}

export function scoreCell(score) {
  return h("span", { class: "score", dataset: { score: score ?? "" } }, scoreText(score));
}

export function flagCell(call) {
  if (call.flagged) {
    return h("span", { class: "flag", title: (call.flag_reasons || []).join("\n") }, "⚑ Flagged");
  }
  return call.flagged === false ? h("span", { class: "muted" }, "—") : "";
}

export function agentText(agent) {
  if (!agent || !agent.id) return "—";
  return agent.name ? `${agent.name} (${agent.code})` : agent.code;
}

export function answerLabel(answer) {
  return { YES: "Yes", NO: "No", NOT_APPLICABLE: "N/A" }[answer] || answer || "—";
}

export function answerBadge(answer, extraClass) {
  const name = (answer || "unknown").toLowerCase();
  return h("span", { class: `answer answer-${name} ${extraClass || ""}`.trim(),
    dataset: { answer: answer || "" } }, answerLabel(answer));
}

// Today (local) as YYYY-MM-DD, for date inputs.
export function isoDate(date) {
  const local = new Date(date.getTime() - date.getTimezoneOffset() * 60000);
  return local.toISOString().slice(0, 10);
}
