// The header: who this node is (id@address), its chain, and whether the live feed is up.

import { el, fill, short } from "../dom";
import type { LiveState } from "../live";
import type { Snapshot } from "../snapshot";

const STATE_TEXT: Record<LiveState, string> = {
  connecting: "connecting…",
  live: "live",
  disconnected: "disconnected, retrying",
};

export class Header {
  readonly element: HTMLElement;
  private readonly identity = el("div", { class: "identity" });
  private readonly chain = el("div", { class: "chain", "data-testid": "chain" });
  private readonly state = el("span", { class: "pill", "data-testid": "api-state" });

  constructor(onForget: () => void) {
    const forget = el("button", { class: "quiet", type: "button", "data-testid": "forget-token" }, "Forget token");
    forget.addEventListener("click", onForget);
    this.element = el(
      "header",
      { class: "top" },
      el("div", { class: "brand" }, el("span", { class: "logo" }, "⇄"), "Parley"),
      this.identity,
      this.chain,
      el("div", { class: "end" }, this.state, forget),
    );
    this.setState("connecting");
  }

  render(snapshot: Snapshot): void {
    const { info } = snapshot;
    const [id, address] = info.node_address.split("@");
    const nodeId = el("code", { title: id ?? info.node_id, "data-testid": "node-id" }, short(id ?? info.node_id));
    fill(
      this.identity,
      el("span", { class: "label" }, "node"),
      el("span", { "data-testid": "node-address", "data-full": info.node_address }, nodeId, "@", address ?? info.listen_address),
      el("span", { class: "dim" }, ` v${info.version}`),
    );
    fill(
      this.chain,
      el("span", { class: "label" }, "chain"),
      `${info.chain.backend} (id ${info.chain.chain_id})`,
      info.account ? el("code", { class: "dim", title: info.account }, ` ${short(info.account)}`) : null,
    );
  }

  setState(state: LiveState): void {
    this.state.textContent = `API ${STATE_TEXT[state]}`;
    this.state.dataset.state = state;
  }
}
