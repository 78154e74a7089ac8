// Asks for the API token and checks it with `node_info` before keeping it.

import { el } from "./dom";
import { RpcError, call } from "./rpc";

/** Shows the token form in `root`; calls `done` with a token the node accepted. */
export function askToken(root: HTMLElement, done: (token: string) => void, notice = ""): void {
  const input = el("input", {
    type: "password",
    autocomplete: "off",
    spellcheck: "false",
    placeholder: "64 hex digits",
    "aria-label": "API token",
    "data-testid": "token-input",
  });
  const error = el("p", { class: "error", role: "alert", "data-testid": "token-error" }, notice);
  const submit = el("button", { type: "submit", "data-testid": "token-submit" }, "Open dashboard");
  const form = el(
    "form",
    { class: "login card", "data-testid": "token-form" },
    el("h1", {}, el("span", { class: "logo" }, "⇄"), " Parley"),
    el("p", {}, "This node's API token, once per browser tab. It is the contents of ", el("code", {}, "<data_dir>/api.token"), " next to the node's ", el("code", {}, "node.toml"), " (for example ", el("code", {}, "cat alice/data/api.token"), ")."),
    el("label", {}, "API token", input),
    submit,
    error,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const token = input.value.trim();
    if (!/^[0-9a-f]{64}$/.test(token)) {
      error.textContent = "A token is 64 lowercase hex digits, as in the token file.";
      return;
    }
    submit.disabled = true;
    error.textContent = "";
    try {
      await call(token, "node_info");
      done(token);
    } catch (e) {
      error.textContent =
        e instanceof RpcError && e.unauthorized
          ? `The node refused this token: ${e.describe()}`
          : e instanceof RpcError
            ? e.describe()
            : String(e);
    } finally {
      submit.disabled = false;
    }
  });
  root.replaceChildren(el("main", { class: "center" }, form));
  input.focus();
}
