// The newest payments, both ways, with amounts in the asset's units.

import { el, fill, when } from "../dom";
import { peerLabel, type Snapshot } from "../snapshot";
import type { PaymentInfo } from "../types";
import { decimalsOf, formatUnits } from "../units";

export class Payments {
  readonly element: HTMLElement;
  private readonly body = el("tbody");

  constructor() {
    this.element = el(
      "section",
      { class: "card wide", "data-testid": "payments" },
      el("h2", {}, "Last payments"),
      el(
        "table",
        {},
        el("thead", {}, el("tr", {},
          el("th", {}, "time"), el("th", {}, ""), el("th", { class: "num" }, "amount"), el("th", {}, "peer"),
          el("th", { class: "num" }, "version"), el("th", {}, "status"), el("th", { class: "num" }, "mine after"),
        )),
        this.body,
      ),
    );
  }

  render(snapshot: Snapshot): void {
    if (snapshot.payments.length === 0) {
      fill(this.body, el("tr", {}, el("td", { class: "empty", colspan: "7" }, "No payments yet.")));
      return;
    }
    const assets = snapshot.info.chain.assets;
    fill(
      this.body,
      ...snapshot.payments.map((p) => {
        const decimals = decimalsOf(assets, p.asset);
        const sent = p.direction === "sent";
        return el(
          "tr",
          { "data-testid": "payment", "data-payment": p.id, "data-direction": p.direction, "data-status": p.status },
          el("td", { class: "dim" }, when(p.time)),
          el("td", { class: `direction ${p.direction}` }, sent ? "↑ sent" : "↓ received"),
          el("td", { class: "num", "data-testid": "payment-amount", "data-base": p.amount }, `${sent ? "−" : "+"}${formatUnits(p.amount, decimals)} ${p.asset}`),
          el("td", {}, peerLabel(snapshot, p.channel), p.memo ? el("span", { class: "dim" }, ` · ${p.memo}`) : null),
          el("td", { class: "num dim", "data-testid": "payment-version" }, versionOf(p)),
          el("td", { class: "reason" }, el("span", { class: `status-${p.status}` }, p.status), p.reason ? el("div", { class: "dim small" }, p.reason) : null),
          el("td", { class: "num" }, `${formatUnits(p.mine, decimals)} ${p.asset}`),
        );
      }),
    );
  }
}

/** The channel version a payment proposed or became; none for one that made no state (failed
 * or rejected: the version it named, if any, holds another state or none). */
function versionOf(p: PaymentInfo): string {
  return p.status === "completed" || p.status === "pending" ? `v${p.version}` : "—";
}
