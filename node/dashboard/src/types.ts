// The node's JSON-RPC results and events as the dashboard reads them (node/src/api/types.rs
// and payments.rs are the source of truth). Amounts are exact decimal strings of base units;
// they are never turned into JavaScript numbers, which are exact only up to 2^53.

export interface AssetInfo {
  name: string;
  decimals: number;
}

export interface NodeInfo {
  node_id: string;
  version: string;
  chain: { chain_id: number; backend: string; assets: AssetInfo[] };
  listen_address: string;
  node_address: string;
  account: string | null;
  channels: number;
  peers: number;
  api_address: string | null;
}

export interface PeerInfo {
  alias: string | null;
  node_id: string;
  transport_address: string | null;
  connected: boolean;
  direction?: string;
}

export interface AssetBalances {
  asset: string;
  mine: string;
  theirs: string;
}

/** A channel's on-chain record: `timeout` and `chain_time` are seconds of chain time. */
export interface DisputeInfo {
  version: number;
  phase: "dispute" | "force_exec" | "concluded";
  timeout: number;
  chain_time: number;
}

export type Phase = "opening" | "funding" | "active" | "closing" | "disputed" | "closed";

export interface ChannelInfo {
  id: string;
  peer: string | null;
  peer_alias: string | null;
  phase: Phase | null;
  version: number;
  challenge_seconds: number;
  balances: AssetBalances[];
  status?: string;
  dispute?: DisputeInfo;
  app?: { address: string; name?: string };
  funding?: string;
}

export interface OnChainBalance {
  asset: string;
  amount: string;
}

export interface PaymentInfo {
  id: string;
  channel: string;
  direction: "sent" | "received";
  asset: string;
  amount: string;
  version: number;
  status: "pending" | "completed" | "rejected" | "failed";
  reason?: string;
  mine: string;
  theirs: string;
  time: number;
  updated: number;
  memo?: string;
}

/** `node_event` notifications; only `kind` is read, every event triggers a refresh. */
export interface NodeEvent {
  kind: string;
  [field: string]: unknown;
}
