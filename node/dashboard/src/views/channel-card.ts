// One channel: its peer, phase, version and balances in the asset's units, and while it is
// active a Pay form and a Settle button (with an inline confirmation: settling closes the
// channel for good and pays out on chain).

import { el, fill, short } from "../dom";
import { RpcError } from "../rpc";
import type { AssetInfo, ChannelInfo } from "../types";
import { decimalsOf, formatUnits, parseUnits } from "../units";

/** What the cards ask the dashboard to do; both resolve once the node has answered. */
export interface ChannelActions {
  pay(channel: string, amount: string, asset: string): Promise<void>;
  settle(channel: string): Promise<void>;
}

function describe(error: unknown): string {
  if (error instanceof RpcError) return error.describe();
  return error instanceof Error ? error.message : String(error);
}

export class ChannelCard {
  readonly element: HTMLElement;
  private channel: ChannelInfo;
  private assets: AssetInfo[] = [];
  private readonly title = el("div", { class: "title" });
  private readonly phase = el("span", { class: "badge", "data-testid": "channel-phase" });
  private readonly version = el("span", { class: "dim", "data-testid": "channel-version" });
  private readonly meta = el("div", { class: "meta dim small" });
  private readonly balances = el("div", { class: "balances" });
  private readonly status = el("div", { class: "status small", "data-testid": "channel-status" });
  private readonly message = el("div", { class: "message small", "data-testid": "channel-message", role: "status" });
  private readonly error = el("div", { class: "error small", "data-testid": "channel-error", role: "alert" });
  private readonly amount = el("input", {
    type: "text",
    inputmode: "decimal",
    autocomplete: "off",
    placeholder: "0.001",
    "aria-label": "amount to pay",
    "data-testid": "pay-amount",
  });
  private readonly asset = el("select", { "aria-label": "asset", "data-testid": "pay-asset" });
  private readonly payButton = el("button", { type: "submit", "data-testid": "pay-submit" }, "Pay");
  private readonly actions = el("div", { class: "actions" });
  private readonly settleButton = el("button", { type: "button", class: "danger-outline", "data-testid": "settle" }, "Settle…");
  private readonly confirm = el("div", { class: "confirm", hidden: true });

  constructor(channel: ChannelInfo, private readonly act: ChannelActions) {
    this.channel = channel;
    const form = el("form", { class: "pay", "data-testid": "pay-form" }, this.amount, this.asset, this.payButton);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      void this.pay();
    });
    this.settleButton.addEventListener("click", () => {
      this.confirm.hidden = false;
      this.settleButton.hidden = true;
    });
    const yes = el("button", { type: "button", class: "danger", "data-testid": "settle-confirm" }, "Settle now");
    const no = el("button", { type: "button", class: "quiet", "data-testid": "settle-cancel" }, "Cancel");
    yes.addEventListener("click", () => void this.settle());
    no.addEventListener("click", () => this.closeConfirm());
    fill(
      this.confirm,
      el("span", { class: "small" }, "Close the channel and pay both sides out on chain? No payments after this."),
      yes,
      no,
    );
    fill(this.actions, form, this.settleButton);
    this.element = el(
      "article",
      { class: "channel", "data-testid": "channel", "data-channel": channel.id },
      el("div", { class: "head" }, this.title, this.phase, this.version),
      this.meta,
      this.balances,
      this.status,
      this.actions,
      this.confirm,
      this.message,
      this.error,
    );
  }

  update(channel: ChannelInfo, assets: AssetInfo[]): void {
    this.channel = channel;
    this.assets = assets;
    const phase = channel.phase ?? "unknown";
    this.element.dataset.phase = phase;
    fill(this.title, el("span", { class: "alias" }, channel.peer_alias ?? short(channel.peer ?? "unknown peer")));
    this.phase.textContent = phase;
    this.phase.dataset.phase = phase;
    this.version.textContent = `v${channel.version}`;
    fill(
      this.meta,
      el("code", { title: channel.id }, short(channel.id)),
      ` · ${channel.funding ?? "?"} · challenge ${channel.challenge_seconds} s`,
      channel.app ? ` · app ${channel.app.name ?? short(channel.app.address)}` : "",
    );
    fill(this.balances, ...channel.balances.map((b) => this.balanceRow(b.asset, b.mine, b.theirs)));
    this.status.textContent = channel.status ?? "";
    this.status.hidden = !channel.status;
    this.actions.hidden = phase !== "active" || !!channel.app;
    if (this.actions.hidden) this.closeConfirm();
    const names = channel.balances.map((b) => b.asset);
    if (this.asset.options.length !== names.length || names.some((n, i) => this.asset.options[i]?.value !== n)) {
      fill(this.asset, ...names.map((n) => el("option", { value: n }, n)));
    }
    this.asset.disabled = names.length < 2;
  }

  private balanceRow(asset: string, mine: string, theirs: string): HTMLElement {
    const decimals = decimalsOf(this.assets, asset);
    const total = BigInt(mine) + BigInt(theirs);
    const share = total === 0n ? 0 : Number((BigInt(mine) * 1000n) / total) / 10;
    const bar = el("div", { class: "bar" }, el("div", { class: "fill" }));
    (bar.firstElementChild as HTMLElement).style.width = `${share}%`;
    return el(
      "div",
      { class: "balance", "data-asset": asset },
      el("div", { class: "sides" },
        el("span", {}, "mine ", el("strong", { "data-testid": "balance-mine", "data-base": mine }, formatUnits(mine, decimals)), ` ${asset}`),
        el("span", {}, "theirs ", el("strong", { "data-testid": "balance-theirs", "data-base": theirs }, formatUnits(theirs, decimals)), ` ${asset}`),
      ),
      bar,
    );
  }

  private say(message: string, error = ""): void {
    this.message.textContent = message;
    this.error.textContent = error;
  }

  private async pay(): Promise<void> {
    const asset = this.asset.value || this.channel.balances[0]?.asset || "";
    let base: string;
    try {
      base = parseUnits(this.amount.value, decimalsOf(this.assets, asset), asset);
      if (base === "0") throw new Error("the amount must be more than zero");
    } catch (error) {
      this.say("", describe(error));
      return;
    }
    const shown = `${formatUnits(base, decimalsOf(this.assets, asset))} ${asset}`;
    this.payButton.disabled = true;
    this.say(`paying ${shown}…`);
    try {
      await this.act.pay(this.channel.id, base, asset);
      this.amount.value = "";
      this.say(`paid ${shown}`);
    } catch (error) {
      this.say("", describe(error));
    } finally {
      this.payButton.disabled = false;
    }
  }

  private async settle(): Promise<void> {
    this.closeConfirm();
    this.settleButton.disabled = true;
    this.say("settling: agreeing a final state, then the chain pays out…");
    try {
      await this.act.settle(this.channel.id);
      this.say("settled: paid out on chain");
    } catch (error) {
      this.say("", describe(error));
    } finally {
      this.settleButton.disabled = false;
    }
  }

  private closeConfirm(): void {
    this.confirm.hidden = true;
    this.settleButton.hidden = false;
  }
}
