#!/usr/bin/env bash
# A vanishing peer: after a few payments bob is killed with kill -9. Alice settles on her own
# (`channel settle --force`): she registers her newest state, waits out the challenge duration
# on chain time, concludes and withdraws exactly her balance. When bob comes back he finds the
# channel concluded and withdraws exactly his.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/nodes.sh"

alice_deposit=1000
bob_deposit=500
challenge=600

step "start alice and bob; alice opens a channel ($alice_deposit / $bob_deposit, challenge $challenge s)"
new_node alice
new_node bob
introduce alice bob
alice_before=$(eth_balance alice)
bob_before=$(eth_balance bob)
open_channel alice bob "$alice_deposit" "$bob_deposit" "$challenge"
channel=$CHANNEL

step "12 payments each way"
for _ in $(seq 12); do
  cli alice channel pay "$channel" 31 >/dev/null || fail "alice's payment failed"
  cli bob channel pay "$channel" 7 >/dev/null || fail "bob's payment failed"
done
alice_mine=$((alice_deposit - 12 * 31 + 12 * 7))
bob_mine=$((bob_deposit + 12 * 31 - 12 * 7))
[ "$(balances_of alice "$channel")" = "24 $alice_mine $bob_mine" ] \
  || fail "alice sees '$(balances_of alice "$channel")', expected '24 $alice_mine $bob_mine'"
[ "$(balances_of bob "$channel")" = "24 $bob_mine $alice_mine" ] \
  || fail "bob sees '$(balances_of bob "$channel")', expected '24 $bob_mine $alice_mine'"

step "bob vanishes (kill -9)"
kill_node bob

step "alice settles on her own: she registers version 24"
json alice channel settle "$channel" --force -- 'r["phase"]' >"$SCRATCH/settle.out" 2>"$SCRATCH/settle.err" &
settle_pid=$!
BG_PIDS+=("$settle_pid")
wait_for_dispute alice "$channel" 24 60
[ "$(json alice chain dispute --channel "$channel" -- 'r["version"]')" = 24 ] \
  || fail "the chain's record is not version 24: $(cli alice chain dispute --channel "$channel" --json)"
[ "$(channel_of alice "$channel" 'r["phase"]')" != closed ] || fail "alice closed the channel before the challenge ran out"
kill -0 "$settle_pid" 2>/dev/null \
  || fail "settle --force returned before the challenge duration passed on chain: $(cat "$SCRATCH/settle.out" "$SCRATCH/settle.err")"

step "the challenge duration passes on chain; alice concludes and withdraws"
cli alice chain advance $((challenge + 1)) >/dev/null || fail "chain advance failed"
wait_bounded "$settle_pid" 60 "settle --force" || { cat "$SCRATCH/settle.err" >&2; fail "settle --force failed"; }
[ "$(cat "$SCRATCH/settle.out")" = closed ] || fail "settle --force returned phase '$(cat "$SCRATCH/settle.out")', not closed"
[ "$(channel_of alice "$channel" 'r["dispute"]["version"], r["dispute"]["phase"]')" = "(24, 'concluded')" ] \
  || fail "alice's view of the record is not version 24 concluded: $(channel_of alice "$channel" 'r')"
expect_balance alice "$alice_before" "$alice_deposit" "$alice_mine"
# Bob's share stays with the asset holder until bob withdraws it.
expect_chain_balance bob "$bob_before" "$bob_deposit" 0

step "bob comes back, finds the channel concluded and withdraws his balance"
restart_node bob
wait_for_phase bob "$channel" closed 60
expect_balance bob "$bob_before" "$bob_deposit" "$bob_mine"
expect_balance alice "$alice_before" "$alice_deposit" "$alice_mine"
echo "PASS vanishing_peer"
