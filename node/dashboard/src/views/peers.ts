// The peers: every named peer and every connected one, with whether it is connected now.

import { el, fill, short } from "../dom";
import type { Snapshot } from "../snapshot";

export class Peers {
  readonly element: HTMLElement;
  private readonly list = el("ul", { class: "peers" });

  constructor() {
    this.element = el("section", { class: "card", "data-testid": "peers" }, el("h2", {}, "Peers"), this.list);
  }

  render(snapshot: Snapshot): void {
    if (snapshot.peers.length === 0) {
      fill(this.list, el("li", { class: "empty" }, "No peers yet: add one with `parley peer add`."));
      return;
    }
    fill(
      this.list,
      ...snapshot.peers.map((peer) =>
        el(
          "li",
          { "data-testid": "peer", "data-peer": peer.alias ?? peer.node_id, "data-connected": String(peer.connected) },
          el("span", { class: `dot ${peer.connected ? "on" : "off"}`, title: peer.connected ? "connected" : "not connected" }),
          el("span", { class: "alias" }, peer.alias ?? "(unnamed)"),
          el("code", { class: "dim", title: peer.node_id }, short(peer.node_id)),
          el("span", { class: "dim small" }, peer.connected ? (peer.direction ?? "connected") : "offline"),
        ),
      ),
    );
  }
}
