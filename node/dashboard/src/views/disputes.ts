// Channels with a record on chain, and how long until the current phase of that record ends.
//
// The deadline is chain time (`dispute.timeout`), not the clock of this browser: the node
// tells the chain's time when it read the record (`dispute.chain_time`), and the countdown
// runs from there at wall-clock speed. That is an estimate (blocks come when they come), so
// the dashboard re-reads the node every few seconds while a dispute is shown, which resets it.

import { el, fill, short } from "../dom";
import type { Snapshot } from "../snapshot";

const PHASE_TEXT: Record<string, string> = {
  dispute: "refutable until the timeout",
  force_exec: "moves on chain until the timeout",
  concluded: "concluded: the outcome is fixed",
};

/** `1 h 02 min 05 s`, `42 s`. */
export function duration(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (h > 0) return `${h} h ${String(m).padStart(2, "0")} min ${String(s).padStart(2, "0")} s`;
  if (m > 0) return `${m} min ${String(s).padStart(2, "0")} s`;
  return `${s} s`;
}

/** Seconds of chain time as a UTC date and time, `2026-12-04 10:01:31 UTC`; only the time
 * when `day` is the same day. */
export function chainTime(seconds: number, day?: number): string {
  const text = new Date(seconds * 1000).toISOString().replace("T", " ").slice(0, 19);
  const sameDay = day !== undefined && text.slice(0, 10) === chainTime(day).slice(0, 10);
  return sameDay ? `${text.slice(11)} UTC` : `${text} UTC`;
}

export class Disputes {
  readonly element: HTMLElement;
  private readonly list = el("ul", { class: "disputes" });
  private snapshot: Snapshot | null = null;

  constructor() {
    this.element = el("section", { class: "card", "data-testid": "disputes" }, el("h2", {}, "Disputes"), this.list);
  }

  /** Whether a record on chain is still running out (then the dashboard re-reads often). */
  get running(): boolean {
    return !!this.snapshot?.channels.some((c) => c.dispute && c.dispute.phase !== "concluded");
  }

  render(snapshot: Snapshot): void {
    this.snapshot = snapshot;
    this.tick();
  }

  /** Redraws the countdowns (every second). */
  tick(): void {
    const snapshot = this.snapshot;
    if (!snapshot) return;
    const disputed = snapshot.channels.filter((c) => c.dispute);
    if (disputed.length === 0) {
      fill(this.list, el("li", { class: "empty" }, "No channel has a record on chain."));
      return;
    }
    const elapsed = Math.floor((Date.now() - snapshot.readAt) / 1000);
    fill(
      this.list,
      ...disputed.map((channel) => {
        const d = channel.dispute!;
        const left = Math.max(0, d.timeout - d.chain_time - elapsed);
        const countdown =
          d.phase === "concluded" ? "done" : left > 0 ? `ends in ${duration(left)}` : "timed out; concluding";
        return el(
          "li",
          { "data-testid": "dispute", "data-channel": channel.id, "data-phase": d.phase },
          el("div", {},
            el("span", { class: "alias" }, channel.peer_alias ?? "unknown peer"),
            " ",
            el("code", { class: "dim", title: channel.id }, short(channel.id)),
            el("span", { class: "dim small" }, ` version ${d.version} on record`),
          ),
          el("div", { class: "countdown", "data-testid": "dispute-countdown", "data-left": String(left) }, countdown),
          el("div", { class: "dim small" }, `${PHASE_TEXT[d.phase] ?? d.phase} · chain time ${chainTime(d.chain_time + elapsed)} → ${chainTime(d.timeout, d.chain_time + elapsed)}`),
          channel.status ? el("div", { class: "small" }, channel.status) : null,
        );
      }),
    );
  }
}
