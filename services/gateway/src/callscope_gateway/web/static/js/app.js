// The web application's shell: who is signed in, the navigation their role allows, and a
// hash router that loads one page module per screen (static/js/pages/<name>.js).
//
// A page module exports `render(root, ctx)`; it may return a cleanup function (stop polling).
// ctx: { params, query, user, can(permission), navigate(path), refreshUser() }.
// `can` reads the permission names the server sends in /api/v1/auth/me, so the screens show
// what the role table allows; the server enforces the same table on every request.

import { api, setCsrfToken, whenUnauthenticated } from "./api.js";
import { clear, errorBox, h } from "./ui.js";

const ROUTES = [
  ["/login", "login"],
  ["/dashboard", "dashboard"],
  ["/calls", "calls"],
  ["/calls/:id", "call"],
  ["/review", "review"],
  ["/upload", "upload"],
  ["/campaigns", "campaigns"],
  ["/campaigns/:id", "campaign"],
  ["/campaigns/:id/bulk", "bulk"],
  ["/campaigns/:id/jobs", "jobs"],
  ["/agents", "agents"],
  ["/agents/:id", "agent"],
  ["/users", "users"],
  ["/audit", "audit"],
];

// Navigation entries: label, path, and the permission that shows them (null: everyone).
const NAV = [
  ["Dashboard", "/dashboard", "VIEW_CALLS"],
  ["Calls", "/calls", "VIEW_CALLS"],
  ["Review", "/review", "REVIEW_CALLS"],
  ["Upload", "/upload", "UPLOAD_CALLS"],
  ["Campaigns", "/campaigns", "VIEW_CAMPAIGNS"],
  ["Agents", "/agents", "VIEW_AGENTS"],
  ["Users", "/users", "MANAGE_USERS"],
  ["Audit log", "/audit", "READ_AUDIT_LOG"],
];

const state = { user: null, permissions: new Set(), cleanup: null, route: 0 };

function match(path) {
  const parts = path.split("/").filter(Boolean);
  for (const [pattern, page] of ROUTES) {
    const wanted = pattern.split("/").filter(Boolean);
    if (wanted.length !== parts.length) continue;
    const params = {};
    const ok = wanted.every((segment, index) => {
      if (segment.startsWith(":")) {
        params[segment.slice(1)] = decodeURIComponent(parts[index]);
        return true;
      }
      return segment === parts[index];
    });
    if (ok) return { page, params };
  }
  return null;
}

function currentLocation() {
  const hash = window.location.hash.replace(/^#/, "") || "/";
  const [path, search] = hash.split("?");
  return { path: path || "/", query: new URLSearchParams(search || "") };
}

export function navigate(path) {
  if (window.location.hash === `#${path}`) route();
  else window.location.hash = path;
}

function can(permission) {
  return state.permissions.has(permission);
}

async function loadUser() {
  try {
    const me = await api.get("/api/v1/auth/me");
    state.user = me.user;
    state.permissions = new Set(me.permissions || []);
    setCsrfToken(me.csrf_token);
  } catch (error) {
    if (error.status !== 401) throw error;
    state.user = null;
    state.permissions = new Set();
  }
}

function renderChrome() {
  const bar = document.getElementById("topbar");
  bar.hidden = !state.user;
  if (!state.user) return;
  const { path } = currentLocation();
  clear(document.getElementById("nav"),
    NAV.filter(([, , permission]) => !permission || can(permission)).map(([label, target]) =>
      h("a", {
        href: `#${target}`,
        class: path === target || path.startsWith(`${target}/`) ? "active" : null,
        dataset: { nav: target.slice(1) },
      }, label)));
  clear(document.getElementById("who"), state.user.email, " · ",
    h("span", { dataset: { role: state.user.role } }, roleLabel(state.user.role)));
}

export function roleLabel(role) {
  return (role || "").toLowerCase().split("_").map((w) => w[0].toUpperCase() + w.slice(1))
    .join(" ");
}

function landing() {
  return can("VIEW_CALLS") ? "/dashboard" : "/campaigns";
}

async function route() {
  // Each navigation gets a number: a page still loading when the next navigation starts
  // must not draw over the new one, nor leave its polling running.
  state.route += 1;
  const current = state.route;
  if (state.cleanup) {
    try {
      state.cleanup();
    } catch (error) {
      console.warn(error);
    }
    state.cleanup = null;
  }
  const { path, query } = currentLocation();
  if (!state.user && path !== "/login") {
    navigate(`/login?next=${encodeURIComponent(path === "/" ? "" : path)}`);
    return;
  }
  if (state.user && (path === "/" || path === "/login")) {
    navigate(landing());
    return;
  }
  renderChrome();
  const main = document.getElementById("main");
  const found = match(path);
  if (!found) {
    clear(main, h("h1", {}, "Not found"), h("p", {}, "There is no screen at this address. "),
      h("a", { href: `#${landing()}` }, "Go to the start page"));
    return;
  }
  // Each page draws into a container of its own: a stale page that resumes after an await
  // writes into a detached node, never into the screen that replaced it.
  const root = h("div", { class: "page", dataset: { page: found.page } });
  clear(main, root);
  main.dataset.page = found.page;
  try {
    const module = await import(`./pages/${found.page}.js`);
    if (current !== state.route) return;
    const ctx = {
      params: found.params,
      query,
      user: state.user,
      can,
      navigate,
      refreshUser: async () => {
        await loadUser();
        renderChrome();
      },
    };
    const cleanup = await module.render(root, ctx);
    if (typeof cleanup !== "function") return;
    if (current === state.route) state.cleanup = cleanup;
    else cleanup();
  } catch (error) {
    if (current !== state.route) return;
    console.error(error);
    clear(root, errorBox(error));
  }
}

async function logout() {
  try {
    await api.post("/api/v1/auth/logout");
  } finally {
    state.user = null;
    state.permissions = new Set();
    setCsrfToken("");
    navigate("/login");
  }
}

async function start() {
  whenUnauthenticated(() => {
    if (!state.user) return;
    state.user = null;
    state.permissions = new Set();
    navigate("/login");
  });
  document.getElementById("logout").addEventListener("click", logout);
  window.addEventListener("hashchange", route);
  try {
    await loadUser();
  } catch (error) {
    clear(document.getElementById("main"), errorBox(error));
    return;
  }
  await route();
}

export async function signedIn() {
  await loadUser();
}

start();
