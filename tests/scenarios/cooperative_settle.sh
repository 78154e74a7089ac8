#!/usr/bin/env bash
# Cooperative settles send one concludeFinal, never two. Alice proposes every channel, so she
# concludes them; bob, who holds the same final state at the same moment, waits for her
# transaction and only withdraws, whether he or she asked to settle. When alice signs the final
# state but never concludes (she vanishes; a [testing] switch plays that), bob concludes himself
# after `peer_conclude_timeout_seconds`, and both are paid. On anvil each account's transactions
# are listed by function: bob's are deposits and withdrawals only, none reverted (before, both
# sides raced and the second paid ~60k gas for a reverted concludeFinal), and every balance is
# exact to the unit once the listed transactions' gas is counted.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/nodes.sh"

patience=3

step "start alice and bob (bob waits $patience s for alice's concludeFinal)"
new_node alice
new_node bob "peer_conclude_timeout_seconds = $patience"
pin_listen alice
introduce alice bob
alice_before=$(eth_balance alice)
bob_before=$(eth_balance bob)

step "channel 1 (1000 / 500): payments both ways; bob settles, alice concludes"
open_channel alice bob 1000 500 60
one=$CHANNEL
cli alice channel pay "$one" 300 >/dev/null || fail "alice's payment failed"
cli bob channel pay "$one" 100 >/dev/null || fail "bob's payment failed"
[ "$(json bob channel settle "$one" -- 'r["phase"]')" = closed ] || fail "bob's settle did not close channel 1"
wait_for_phase alice "$one" closed 30
expect_balance alice "$alice_before" 1000 800
expect_balance bob "$bob_before" 500 700
expect_transactions alice "deposit concludeFinal withdraw"
expect_transactions bob "deposit withdraw"

step "channel 2 (400 / 400): alice settles, and concludes"
open_channel alice bob 400 400 60
two=$CHANNEL
cli alice channel pay "$two" 50 >/dev/null || fail "alice's payment failed"
[ "$(json alice channel settle "$two" -- 'r["phase"]')" = closed ] || fail "alice's settle did not close channel 2"
wait_for_phase bob "$two" closed 30
expect_balance alice "$alice_before" 1400 1150
expect_balance bob "$bob_before" 900 1150
expect_transactions alice "deposit concludeFinal withdraw deposit concludeFinal withdraw"
expect_transactions bob "deposit withdraw deposit withdraw"
# Whatever the chain: bob never sent a concludeFinal, and said why he waited.
! grep -q "concluded the channel on chain with its final state" "$SCRATCH/bob.log" \
  || fail "bob concluded a channel alice was concluding"

step "alice restarts as a peer that signs the final state and then never concludes"
kill_node alice
allow_misbehaviour alice "withhold_conclude_final = true"
restart_node alice

step "channel 3 (200 / 300): alice settles; bob concludes after $patience s without her transaction"
open_channel alice bob 200 300 60
three=$CHANNEL
cli bob channel pay "$three" 20 >/dev/null || fail "bob's payment failed"
[ "$(json alice channel settle "$three" -- 'r["phase"]')" = closed ] || fail "alice's settle did not close channel 3"
wait_for_phase bob "$three" closed 30
grep -q "withhold_conclude_final: not concluding" "$SCRATCH/alice.log" || fail "alice was not withholding"
grep -q "concluded the channel on chain with its final state" "$SCRATCH/bob.log" || fail "bob did not conclude channel 3"
expect_balance alice "$alice_before" 1600 1370
expect_balance bob "$bob_before" 1200 1430
expect_transactions alice "deposit concludeFinal withdraw deposit concludeFinal withdraw deposit withdraw"
expect_transactions bob "deposit withdraw deposit withdraw deposit concludeFinal withdraw"
echo "PASS cooperative_settle"
