// Login: email and password; the session lives in an HttpOnly cookie set by the server.

import { api, setCsrfToken } from "../api.js";
import { h } from "../ui.js";
import { navigate, signedIn } from "../app.js";

export async function render(root, ctx) {
  const error = h("div", { class: "error", role: "alert", hidden: true });
  const email = h("input", { type: "email", name: "email", id: "email", autocomplete: "username",
    required: true, autofocus: true });
  const password = h("input", { type: "password", name: "password", id: "password",
    autocomplete: "current-password", required: true });
  const submit = h("button", { type: "submit", class: "primary" }, "Log in");
  const form = h("form", { class: "login card", novalidate: false },
    h("h1", {}, "Log in to Callscope"),
    h("label", { for: "email" }, "Email"), email,
    h("label", { for: "password" }, "Password"), password,
    error, submit);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    submit.disabled = true;
    error.hidden = true;
    try {
      const result = await api.post("/api/v1/auth/login",
        { email: email.value, password: password.value });
      setCsrfToken(result.csrf_token);
      await signedIn();
      const next = ctx.query.get("next");
      navigate(next && next.startsWith("/") && !next.startsWith("//") ? next : "/");
    } catch (failure) {
      error.textContent = failure.message;
      error.hidden = false;
      password.select();
    } finally {
      submit.disabled = false;
    }
  });
  root.append(h("div", { class: "center" }, form));
}
