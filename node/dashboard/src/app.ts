// The dashboard once it has a token: reads a snapshot, renders every view from it, and reads
// again whenever the node tells of an event (coalesced), when the live feed comes back after
// an outage (events may have been missed), and every few seconds while a dispute runs out.

import { el } from "./dom";
import { follow, type LiveState } from "./live";
import { RpcError, call } from "./rpc";
import { read, type Snapshot } from "./snapshot";
import { Balances } from "./views/balances";
import { Channels } from "./views/channels";
import { Disputes } from "./views/disputes";
import { Header } from "./views/header";
import { Payments } from "./views/payments";
import { Peers } from "./views/peers";

/** Events that come in a burst (a payment: update, payment, channel changed) read once. */
const COALESCE_MS = 100;
/** How often a running dispute's chain time is re-read. */
const DISPUTE_REFRESH_MS = 5000;

export function startDashboard(root: HTMLElement, token: string, signOut: (why: string) => void): void {
  let live: { stop(): void } | null = null;
  let state: LiveState = "connecting";
  let reading = false;
  let again = false;
  let pending: number | undefined;
  const timers: number[] = [];

  const stop = (why: string) => {
    live?.stop();
    timers.forEach((t) => window.clearInterval(t));
    signOut(why);
  };
  const header = new Header(() => stop(""));
  const notice = el("div", { class: "notice", role: "alert", "data-testid": "notice", hidden: true });
  const balances = new Balances();
  const peers = new Peers();
  const disputes = new Disputes();
  const payments = new Payments();
  const channels = new Channels({
    // Read again after the call whether it worked or not: the node records a failed payment
    // too, and no event tells of it.
    async pay(channel, amount, asset) {
      try {
        await call(token, "channel_pay", { id: channel, amount, asset });
      } finally {
        schedule();
      }
    },
    async settle(channel) {
      try {
        await call(token, "channel_settle", { id: channel });
      } finally {
        schedule();
      }
    },
  });
  root.replaceChildren(
    header.element,
    notice,
    el("main", { class: "grid" },
      el("div", { class: "side" }, balances.element, peers.element, disputes.element),
      el("div", { class: "main" }, channels.element, payments.element),
    ),
  );

  const show = (snapshot: Snapshot) => {
    header.render(snapshot);
    balances.render(snapshot);
    peers.render(snapshot);
    channels.render(snapshot);
    disputes.render(snapshot);
    payments.render(snapshot);
  };
  const refresh = async () => {
    if (reading) {
      again = true;
      return;
    }
    reading = true;
    try {
      show(await read(token));
      notice.hidden = true;
    } catch (error) {
      if (error instanceof RpcError && error.unauthorized) {
        stop(`The node no longer accepts this token: ${error.describe()}`);
        return;
      }
      // While the feed is down the header already says so; the read is retried on reconnect.
      if (state === "live") {
        notice.textContent = error instanceof RpcError ? error.describe() : String(error);
        notice.hidden = false;
      }
    } finally {
      reading = false;
      if (again) {
        again = false;
        void refresh();
      }
    }
  };
  function schedule() {
    window.clearTimeout(pending);
    pending = window.setTimeout(() => void refresh(), COALESCE_MS);
  }

  live = follow(token, {
    event: () => schedule(),
    state: (next) => {
      state = next;
      header.setState(next);
      // What is shown may be stale while the node is away: the page greys it out.
      root.dataset.live = next;
      if (next === "live") schedule();
    },
  });
  timers.push(window.setInterval(() => disputes.tick(), 1000));
  timers.push(window.setInterval(() => disputes.running && schedule(), DISPUTE_REFRESH_MS));
  void refresh();
}
