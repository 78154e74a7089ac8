// One consistent read of everything the dashboard shows. Every view renders from a snapshot;
// events do not patch views, they trigger a new read, so a view can never drift from the node.

import { call } from "./rpc";
import type { ChannelInfo, NodeInfo, OnChainBalance, PaymentInfo, PeerInfo } from "./types";

/** How many payments and closed channels the dashboard lists. */
export const RECENT = 20;

export interface Snapshot {
  info: NodeInfo;
  peers: PeerInfo[];
  /** The open channels (every phase before closed). */
  channels: ChannelInfo[];
  /** Closed (archived) channels, at most RECENT, in id order: the archive keeps no times. */
  closed: ChannelInfo[];
  onChain: OnChainBalance[];
  payments: PaymentInfo[];
  /** `Date.now()` when the read finished: disputes count down from the chain time read then. */
  readAt: number;
}

/** Reads a snapshot from the node (the calls run in parallel). */
export async function read(token: string): Promise<Snapshot> {
  const [info, peers, channels, closed, onChain, payments] = await Promise.all([
    call<NodeInfo>(token, "node_info"),
    call<PeerInfo[]>(token, "peer_list"),
    call<ChannelInfo[]>(token, "channel_list"),
    call<ChannelInfo[]>(token, "channel_list", { closed: true }),
    call<OnChainBalance[]>(token, "balance", {}),
    call<PaymentInfo[]>(token, "payment_list", { limit: RECENT }),
  ]);
  return { info, peers, channels, closed: closed.slice(0, RECENT), onChain, payments, readAt: Date.now() };
}

/** The peer's alias (or short id) of a channel, open or closed, for labelling payments. */
export function peerLabel(snapshot: Snapshot, channelId: string): string {
  const channel = [...snapshot.channels, ...snapshot.closed].find((c) => c.id === channelId);
  return channel?.peer_alias ?? channel?.peer?.slice(0, 10) ?? "unknown peer";
}
