#!/usr/bin/env bash
# Eight connections that never authenticate, each sending a 16 MiB frame, leave the node's
# memory near its idle size: until a peer has proven who it is, the transport holds any frame
# above [limits] handshake_frame_bytes (4 KiB) instead of reading it, and lets the peer push
# no more than a 64 KiB receive window; the node closes each connection at its handshake
# deadline. Before this, the node read all eight frames (17 MB -> 137 MB).
#
# The bound: eight held connections cost the node 8 x (64 KiB window + 4 KiB + QUIC state),
# well under 2 MiB; 24 MiB above the idle size leaves room for allocator and thread-stack noise
# and is still far below one buffered 16 MiB frame per connection (128 MiB).
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/nodes.sh"
source "$(dirname "$0")/../lib/memory.sh"

connections=8
frame=$((16 << 20))
bound_kib=$((24 << 10))

step "start alice and measure her memory at rest"
new_node alice
pid=$(node_pid alice)
addr=$(node_addr alice)
idle=$(rest_rss_kib "$pid")

step "$connections connections that never authenticate send a $((frame >> 20)) MiB frame each"
watch_rss "$pid" "$SCRATCH/rss" &
sampler=$!
BG_PIDS+=("$sampler")
"$PARLEY" hostile unauthenticated "$addr" --connections "$connections" --frame-bytes "$frame" \
  --wait-seconds 60 --json >"$SCRATCH/attack.json" 2>"$SCRATCH/attack.err" \
  || { cat "$SCRATCH/attack.err" >&2; fail "the hostile client failed"; }
kill "$sampler" 2>/dev/null; wait "$sampler" 2>/dev/null || true
peak=$(peak_of "$SCRATCH/rss")
echo "    alice: ${idle} KiB at rest, at most ${peak} KiB during the attack"

[ $((peak - idle)) -le "$bound_kib" ] \
  || fail "alice grew by $((peak - idle)) KiB (from $idle to $peak KiB), more than $bound_kib KiB"
closed=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["closed_by_node"])' "$SCRATCH/attack.json")
[ "$closed" = "$connections" ] || fail "alice closed $closed of $connections connections: $(cat "$SCRATCH/attack.json")"
[ "$(grep -c 'no handshake within' "$SCRATCH/alice.log")" -ge "$connections" ] \
  || fail "alice did not end every connection at its handshake deadline"

step "alice still serves peers: bob opens a channel with her and pays"
new_node bob
introduce bob alice
open_channel bob alice 100 50 600
cli bob channel pay "$CHANNEL" 7 >/dev/null || fail "bob's payment failed"
[ "$(balances_of alice "$CHANNEL")" = "1 57 93" ] || fail "alice sees '$(balances_of alice "$CHANNEL")', expected '1 57 93'"
echo "PASS unauthenticated_frames"
