// Balances per asset: the node's account on chain, its side of every open channel, and the sum.

import { el, fill } from "../dom";
import type { Snapshot } from "../snapshot";
import { formatUnits, sum } from "../units";

export class Balances {
  readonly element: HTMLElement;
  private readonly body = el("tbody");

  constructor() {
    this.element = el(
      "section",
      { class: "card", "data-testid": "balances" },
      el("h2", {}, "Balances"),
      el(
        "table",
        {},
        el("thead", {}, el("tr", {}, el("th", {}, "asset"), el("th", { class: "num" }, "on chain"), el("th", { class: "num" }, "in channels"), el("th", { class: "num" }, "total"))),
        this.body,
      ),
    );
  }

  render(snapshot: Snapshot): void {
    const rows = snapshot.info.chain.assets.map((asset) => {
      const onChain = snapshot.onChain.find((b) => b.asset === asset.name)?.amount ?? "0";
      const inChannels = sum(
        snapshot.channels.flatMap((c) => c.balances.filter((b) => b.asset === asset.name).map((b) => b.mine)),
      );
      const cell = (testid: string, amount: string) =>
        el("td", { class: "num", "data-testid": testid, "data-base": amount }, formatUnits(amount, asset.decimals));
      return el(
        "tr",
        { "data-testid": "balance-row", "data-asset": asset.name },
        el("th", {}, asset.name),
        cell("on-chain", onChain),
        cell("in-channels", inChannels),
        cell("total", sum([onChain, inChannels])),
      );
    });
    fill(this.body, ...rows);
  }
}
