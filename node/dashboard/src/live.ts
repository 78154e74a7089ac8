// The live feed: `subscribe_events` over a WebSocket to the node that served the page, with
// reconnection, so the dashboard follows the node across restarts.
//
// Browsers cannot set headers on a WebSocket, so the token travels as the second of two
// subprotocols (`parley.bearer`, token), which the node checks like the Authorization header
// and answers with `parley.bearer` alone. It never goes into the URL.

import type { NodeEvent } from "./types";

/** `live`: subscribed; `connecting`: (re)opening; `disconnected`: waiting to retry. */
export type LiveState = "connecting" | "live" | "disconnected";

export interface LiveHandlers {
  /** Every `node_event` notification. */
  event(event: NodeEvent): void;
  /** The state changed; `live` after a reconnection means events may have been missed. */
  state(state: LiveState): void;
}

/** The subprotocol that says the next one is the API token. */
export const BEARER_PROTOCOL = "parley.bearer";

const SUBSCRIBE_ID = 1;
/** Waits between attempts, growing to the last one while the node stays away. */
const RETRY_MS = [500, 1000, 2000, 5000];

/** Follows the node's events until `stop()`; returns it. */
export function follow(token: string, handlers: LiveHandlers): { stop(): void } {
  let socket: WebSocket | null = null;
  let attempts = 0;
  let retry: number | undefined;
  let stopped = false;

  const open = () => {
    handlers.state("connecting");
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    socket = new WebSocket(`${scheme}//${location.host}/`, [BEARER_PROTOCOL, token]);
    socket.onopen = () => {
      socket?.send(JSON.stringify({ jsonrpc: "2.0", id: SUBSCRIBE_ID, method: "subscribe_events", params: [] }));
    };
    socket.onmessage = (message) => {
      const data = JSON.parse(String(message.data)) as {
        id?: number;
        result?: unknown;
        method?: string;
        params?: { result: NodeEvent };
      };
      if (data.id === SUBSCRIBE_ID && data.result !== undefined) {
        attempts = 0;
        handlers.state("live");
      } else if (data.method === "node_event" && data.params) {
        handlers.event(data.params.result);
      }
    };
    socket.onclose = () => {
      socket = null;
      if (stopped) return;
      handlers.state("disconnected");
      retry = window.setTimeout(open, RETRY_MS[Math.min(attempts++, RETRY_MS.length - 1)]);
    };
  };
  open();
  return {
    stop() {
      stopped = true;
      window.clearTimeout(retry);
      socket?.close();
    },
  };
}
