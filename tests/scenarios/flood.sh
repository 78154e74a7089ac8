#!/usr/bin/env bash
# Flood: a stranger authenticates to alice (any fresh key does) and sends valid-looking channel
# messages as fast as it can for 10 s, reconnecting whenever alice cuts it off. Alice's memory
# stays bounded, she disconnects the flooder for going over its budget (frames per second,
# frames in flight), and her channel with carol keeps paying throughout. Last, carol goes over
# alice's open_proposals (1 here; the rest of [limits] are the defaults): her second proposal
# is rejected with the reason, she is disconnected, and she reconnects and pays on.
#
# The bound: what one connection can make alice hold is its budget (the defaults of [limits]:
# 4096 frames or 16 MiB in flight; with these 1 KiB frames the 4096 frames bind, about 5 MiB
# with their queue entries) plus its QUIC buffers (a 1.25 MiB stream window), and the flooder
# has one connection at a time. 24 MiB above the idle size is three times that; a node that
# queued without bound grew by 55 MiB in these 10 s (debug build, 2 cores), and more the
# longer the flood lasts.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/nodes.sh"
source "$(dirname "$0")/../lib/memory.sh"

seconds=10
bound_kib=$((24 << 10))

step "start alice and carol; carol opens a channel with alice"
new_node alice "open_proposals = 1"
new_node carol
introduce carol alice
open_channel carol alice 1000000 1000000 600
channel=$CHANNEL
pid=$(node_pid alice)
idle=$(rest_rss_kib "$pid")

step "a stranger floods alice for $seconds s while carol and alice pay each other"
watch_rss "$pid" "$SCRATCH/rss" &
sampler=$!
BG_PIDS+=("$sampler")
"$PARLEY" hostile flood "$(node_addr alice)" --peer "$(node_id alice)" --seconds "$seconds" \
  --frame-bytes 1024 --json >"$SCRATCH/flood.json" 2>"$SCRATCH/flood.err" &
flooder=$!
BG_PIDS+=("$flooder")
paid=0
carol_paid=0
alice_paid=0
while kill -0 "$flooder" 2>/dev/null; do
  cli carol channel pay "$channel" 3 >/dev/null 2>"$SCRATCH/pay.err" \
    || { cat "$SCRATCH/pay.err" >&2; fail "carol's payment $paid failed during the flood"; }
  carol_paid=$((carol_paid + 3))
  cli alice channel pay "$channel" 1 >/dev/null 2>"$SCRATCH/pay.err" \
    || { cat "$SCRATCH/pay.err" >&2; fail "alice's payment $paid failed during the flood"; }
  alice_paid=$((alice_paid + 1))
  paid=$((paid + 2))
done
wait_bounded "$flooder" 30 "the flood" || { cat "$SCRATCH/flood.err" >&2; fail "the flooder failed"; }
kill "$sampler" 2>/dev/null; wait "$sampler" 2>/dev/null || true
peak=$(peak_of "$SCRATCH/rss")
summary=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["frames_sent"], r["bytes_sent"], r["connections"], len(r["disconnects"]))' "$SCRATCH/flood.json")
read -r frames bytes connections cut <<<"$summary"
echo "    flooder: $frames frames ($((bytes >> 20)) MiB) over $connections connections, cut off $cut times"
echo "    alice: ${idle} KiB at rest, at most ${peak} KiB during the flood; $paid payments made"

[ $((peak - idle)) -le "$bound_kib" ] \
  || fail "alice grew by $((peak - idle)) KiB (from $idle to $peak KiB), more than $bound_kib KiB"
[ "$cut" -ge 1 ] || fail "alice never disconnected the flooder: $(cat "$SCRATCH/flood.json")"
python3 - "$SCRATCH/flood.json" <<'PY' || fail "the flooder was not told it went over its budget: $(cat "$SCRATCH/flood.json")"
import json, sys
ends = json.load(open(sys.argv[1]))["disconnects"]
sys.exit(0 if any("over this node's budget for a peer" in end for end in ends) else 1)
PY
grep -q "went over its budget" "$SCRATCH/alice.log" || fail "alice's log does not say why she cut the flooder off"
[ "$paid" -ge 4 ] || fail "only $paid payments went through during the flood"

step "both sides agree on the channel after the flood"
version=$paid
alice_mine=$((1000000 + carol_paid - alice_paid))
carol_mine=$((1000000 - carol_paid + alice_paid))
[ "$(balances_of alice "$channel")" = "$version $alice_mine $carol_mine" ] \
  || fail "alice sees '$(balances_of alice "$channel")', expected '$version $alice_mine $carol_mine'"
[ "$(balances_of carol "$channel")" = "$version $carol_mine $alice_mine" ] \
  || fail "carol sees '$(balances_of carol "$channel")', expected '$version $carol_mine $alice_mine'"

step "carol goes over alice's open_proposals: told why, disconnected, and she pays on"
cli carol channel open alice --mine 10 --theirs 10 --asset ETH --json >"$SCRATCH/first.json" 2>&1 &
first=$!
BG_PIDS+=("$first")
one_proposal_waits() { [ "$(json alice proposal list -- 'len(r)')" = 1 ]; }
wait_until 30 one_proposal_waits
expect_fail "$SCRATCH/second.err" cli carol channel open alice --mine 10 --theirs 10 --asset ETH
assert_contains "$SCRATCH/second.err" "open_proposals"
grep -q "went over its budget: a channel proposal while 1 of its proposals" "$SCRATCH/alice.log" \
  || fail "alice's log does not say why she disconnected carol"
kill "$first" 2>/dev/null || true
cli carol channel pay "$channel" 5 >/dev/null || fail "carol cannot pay after being disconnected"
[ "$(balances_of alice "$channel")" = "$((version + 1)) $((alice_mine + 5)) $((carol_mine - 5))" ] \
  || fail "alice sees '$(balances_of alice "$channel")' after carol's last payment"
echo "PASS flood"
