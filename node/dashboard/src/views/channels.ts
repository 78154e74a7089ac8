// The channels grouped by phase, in the order a channel lives through them; closed channels
// last. A card is kept across refreshes (see `syncKeyed`), also when its channel changes phase.

import { el, syncKeyed } from "../dom";
import type { Snapshot } from "../snapshot";
import type { ChannelInfo } from "../types";
import { ChannelCard, type ChannelActions } from "./channel-card";

const GROUPS: { phase: string; title: string }[] = [
  { phase: "active", title: "Active" },
  { phase: "opening", title: "Opening" },
  { phase: "funding", title: "Funding" },
  { phase: "closing", title: "Closing" },
  { phase: "disputed", title: "Disputed" },
  { phase: "unknown", title: "Damaged records" },
  { phase: "closed", title: "Closed" },
];

export class Channels {
  readonly element: HTMLElement;
  private readonly cards = new Map<string, ChannelCard>();
  private readonly groups = new Map<string, { section: HTMLElement; count: HTMLElement; list: HTMLElement }>();
  private readonly empty = el("p", { class: "empty" }, "No channels yet: open one with `parley channel open`.");

  constructor(private readonly actions: ChannelActions) {
    this.element = el("section", { class: "card wide", "data-testid": "channels" }, el("h2", {}, "Channels"), this.empty);
    for (const { phase, title } of GROUPS) {
      const count = el("span", { class: "count" });
      const list = el("div", { class: "channel-list" });
      const section = el("div", { class: "group", "data-testid": "phase-group", "data-phase": phase }, el("h3", {}, title, count), list);
      this.groups.set(phase, { section, count, list });
      this.element.append(section);
    }
  }

  render(snapshot: Snapshot): void {
    const open = new Set(snapshot.channels.map((c) => c.id));
    const all = [...snapshot.channels, ...snapshot.closed.filter((c) => !open.has(c.id))];
    const assets = snapshot.info.chain.assets;
    const card = (channel: ChannelInfo) => {
      let found = this.cards.get(channel.id);
      if (!found) {
        found = new ChannelCard(channel, this.actions);
        this.cards.set(channel.id, found);
      }
      return found;
    };
    for (const [phase, group] of this.groups) {
      const members = all.filter((c) => (c.phase ?? "unknown") === phase);
      group.section.hidden = members.length === 0;
      group.count.textContent = ` ${members.length}`;
      syncKeyed(group.list, members, (c) => c.id, (c) => card(c).element, (_, c) => card(c).update(c, assets));
    }
    for (const id of this.cards.keys()) {
      if (!all.some((c) => c.id === id)) this.cards.delete(id);
    }
    this.empty.hidden = all.length > 0;
  }
}
