#!/usr/bin/env bash
# A peer that answers re-synchronisation with a forked state. Alice and bob pay each other;
# then alice comes back from a restart with the [testing] switch fork_on_sync: her answer to
# bob's re-synchronisation request is her newest version with every coin moved to her, signed
# by her, next to bob's signature on the real state (she cannot forge his signature on the
# fork). That proves her faulty: bob's node disputes on its own (registers his newest state),
# `channel show` says why, his event stream carries a peer_fault event, and after the challenge
# duration has passed on chain both are paid exactly the newest state (on-chain balances
# checked exactly).
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/nodes.sh"

deposit=1000
challenge=600

step "start alice (allowed to misbehave) and bob at fixed addresses"
init_node alice
allow_misbehaviour alice
(start_node alice) || fail "alice did not start"
pin_listen alice
new_node bob
pin_listen bob
introduce alice bob
alice_before=$(eth_balance alice)
bob_before=$(eth_balance bob)

step "alice opens a channel with bob, $deposit each; bob follows his node's events"
open_channel alice bob "$deposit" "$deposit" "$challenge"
channel=$CHANNEL
start_bg bob-events "$PARLEY" events --json --config "$SCRATCH/bob/node.toml"

step "10 payments both ways"
alice_mine=$deposit
bob_mine=$deposit
for i in $(seq 10); do
  if [ $((i % 2)) = 1 ]; then
    cli alice channel pay "$channel" 40 >/dev/null || fail "payment $i (alice -> bob) failed"
    alice_mine=$((alice_mine - 40)); bob_mine=$((bob_mine + 40))
  else
    cli bob channel pay "$channel" 15 >/dev/null || fail "payment $i (bob -> alice) failed"
    alice_mine=$((alice_mine + 15)); bob_mine=$((bob_mine - 15))
  fi
done
[ "$(balances_of bob "$channel")" = "10 $bob_mine $alice_mine" ] \
  || fail "bob sees '$(balances_of bob "$channel")', expected '10 $bob_mine $alice_mine'"

# The subscription is up once it carried the last payment.
wait_until 10 grep -q '"kind":"update_accepted".*"version":10' "$SCRATCH/bob-events.log"

step "alice restarts with fork_on_sync and answers bob's re-synchronisation with a fork"
kill_node alice
echo "fork_on_sync = true" >>"$SCRATCH/alice/node.toml"
(restart_node alice) || fail "alice did not restart"

step "bob's node disputes on its own and registers his newest state, version 10"
wait_for_phase bob "$channel" disputed 60
wait_for_dispute bob "$channel" 10 60
grep -q "MISBEHAVING: answering re-synchronisation with a forked state" "$SCRATCH/alice.log" \
  || fail "alice's node never sent the fork (see alice.log)"
status=$(channel_of bob "$channel" 'r.get("status") or ""')
case "$status" in
  *"the peer proved itself faulty during re-synchronisation: its answer carries a signature of ours that does not verify"*"disputing"*) ;;
  *) fail "bob's channel status does not say why it is disputed: '$status'" ;;
esac
wait_until 10 grep -q '"kind":"peer_fault"' "$SCRATCH/bob-events.log"
grep '"kind":"peer_fault"' "$SCRATCH/bob-events.log" | grep -qF "$channel" \
  || fail "bob's peer_fault event does not name the channel: $(grep peer_fault "$SCRATCH/bob-events.log")"
[ "$(balances_of bob "$channel")" = "10 $bob_mine $alice_mine" ] \
  || fail "bob adopted something of the fork: '$(balances_of bob "$channel")'"

step "the challenge duration passes on chain; both are paid exactly the newest state"
cli bob chain advance $((challenge + 1)) >/dev/null || fail "chain advance failed"
wait_for_phase bob "$channel" closed 60
wait_for_phase alice "$channel" closed 60
[ "$(channel_of bob "$channel" 'r["dispute"]["version"], r["dispute"]["phase"]')" = "(10, 'concluded')" ] \
  || fail "the record is not version 10 concluded: $(channel_of bob "$channel" 'r')"
expect_balance bob "$bob_before" "$deposit" "$bob_mine"
expect_balance alice "$alice_before" "$deposit" "$alice_mine"
echo "PASS forked_resync"
