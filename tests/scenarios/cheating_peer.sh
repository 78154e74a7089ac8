#!/usr/bin/env bash
# A cheating peer: alice and bob pay each other 50 times, then alice registers the old version
# 3 on chain as a cheater would. Bob's watcher refutes it with version 50; once the challenge
# duration has passed on chain both withdraw, and each account gets exactly its balance of the
# newest state, not of version 3. Bob's node, whose config does not allow misbehaviour,
# refuses the same command.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/nodes.sh"

deposit=1000
challenge=600

step "start alice (allowed to misbehave) and bob"
init_node alice
allow_misbehaviour alice
start_node alice
new_node bob
introduce alice bob
alice_before=$(eth_balance alice)
bob_before=$(eth_balance bob)

step "alice opens a channel with bob, $deposit each, challenge $challenge s"
open_channel alice bob "$deposit" "$deposit" "$challenge"
channel=$CHANNEL
expect_balance alice "$alice_before" "$deposit" 0
expect_balance bob "$bob_before" "$deposit" 0

step "50 payments, alternating directions, varied amounts"
alice_mine=$deposit
bob_mine=$deposit
for i in $(seq 50); do
  if [ $((i % 2)) = 1 ]; then
    amount=$(((i * 7) % 23 + 1))
    cli alice channel pay "$channel" "$amount" >/dev/null || fail "payment $i (alice -> bob, $amount) failed"
    alice_mine=$((alice_mine - amount)); bob_mine=$((bob_mine + amount))
  else
    amount=$(((i * 11) % 19 + 1))
    cli bob channel pay "$channel" "$amount" >/dev/null || fail "payment $i (bob -> alice, $amount) failed"
    alice_mine=$((alice_mine + amount)); bob_mine=$((bob_mine - amount))
  fi
  if [ "$i" = 3 ]; then old_alice=$alice_mine; old_bob=$bob_mine; fi
done
[ "$(balances_of alice "$channel")" = "50 $alice_mine $bob_mine" ] \
  || fail "alice sees '$(balances_of alice "$channel")', expected '50 $alice_mine $bob_mine'"
[ "$(balances_of bob "$channel")" = "50 $bob_mine $alice_mine" ] \
  || fail "bob sees '$(balances_of bob "$channel")', expected '50 $bob_mine $alice_mine'"
# Version 3 must pay alice more than the newest state, or cheating with it would prove nothing.
[ "$old_alice" -gt "$alice_mine" ] || fail "version 3 gives alice $old_alice, not more than the newest $alice_mine"

step "bob's node does not allow misbehaviour and refuses to register an old state"
expect_fail "$SCRATCH/bob-misbehave.err" cli bob misbehave register "$channel" --version 3
assert_contains "$SCRATCH/bob-misbehave.err" "allow_misbehaviour"
[ "$(channel_of bob "$channel" '(r["phase"], "dispute" in r)')" = "('active', False)" ] \
  || fail "bob's refused misbehaviour changed the channel: $(channel_of bob "$channel" 'r')"

step "alice registers version 3 on chain"
registered=$(json alice misbehave register "$channel" --version 3 -- 'r["dispute"]["version"]')
# The command shows the record as it is when it returns: on anvil, bob's watcher can have
# refuted already (it polls the chain as often as alice's node awaits her transaction).
[ "$registered" = 3 ] || [ "$registered" = 50 ] \
  || fail "alice's misbehave register shows version '$registered' on chain, expected 3 (or bob's 50)"

step "bob's watcher refutes with version 50"
wait_for_dispute bob "$channel" 50 60
# What the chain told bob: version 3 was registered, and he refuted it.
grep -q "on-chain record changed.*version=3 phase=Dispute" "$SCRATCH/bob.log" \
  || fail "bob's node never saw version 3 registered on chain (see bob.log)"
grep -q "refuted an older registered state.*refuted=3 version=50" "$SCRATCH/bob.log" \
  || fail "bob's node does not log refuting version 3 with 50 (see bob.log)"
[ "$(json bob chain dispute --channel "$channel" -- 'r["version"]')" = 50 ] \
  || fail "the chain's record is not version 50: $(cli bob chain dispute --channel "$channel" --json)"
wait_for_dispute alice "$channel" 50 30
[ "$(channel_of bob "$channel" 'r["dispute"]["phase"]')" = dispute ] \
  || fail "the record is not in its dispute phase before the challenge ran out"

step "the challenge duration passes on chain; both withdraw"
cli alice chain advance $((challenge + 1)) >/dev/null || fail "chain advance failed"
wait_for_phase alice "$channel" closed 60
wait_for_phase bob "$channel" closed 60
[ "$(channel_of bob "$channel" 'r["dispute"]["phase"]')" = concluded ] \
  || fail "bob's channel is closed but the record is not concluded: $(channel_of bob "$channel" 'r')"

step "the chain paid out the newest state, not version 3"
expect_balance alice "$alice_before" "$deposit" "$alice_mine"
expect_balance bob "$bob_before" "$deposit" "$bob_mine"
echo "PASS cheating_peer"
