#!/usr/bin/env bash
# Disputes of a whole channel tree. (1) A cheater registers an old state of a sub-channel (with
# its tree, from the root): the honest node refutes it by registering the tree's newest
# states, and the chain pays out what the newest tree says. (2) A player vanishes mid-game in
# a tic-tac-toe sub-channel: the other settles the game by force, which registers the whole
# tree from its root; once the challenge passes she wins by a move on chain (`progress` of the
# sub-channel), and the root concludes with the game's outcome folded in. The vanished player
# comes back and withdraws what the tree says is his.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/nodes.sh"

challenge=600

step "start alice (allowed to misbehave) and bob"
init_node alice
allow_misbehaviour alice
start_node alice
new_node bob
introduce alice bob
alice_before=$(eth_balance alice)
bob_before=$(eth_balance bob)

step "(1) a ledger channel 50 / 50 with a payment sub-channel 10 / 10; alice pays 1 and 2 in it"
open_channel alice bob 50 50 "$challenge"
ledger=$CHANNEL
open_channel alice bob 10 10 "$challenge" --parent "$ledger"
sub=$CHANNEL
cli alice channel pay "$sub" 1 >/dev/null || fail "alice could not pay 1 in the sub-channel"
cli alice channel pay "$sub" 2 >/dev/null || fail "alice could not pay 2 in the sub-channel"
[ "$(balances_of bob "$sub")" = "2 13 7" ] || fail "bob's sub-channel is '$(balances_of bob "$sub")', expected '2 13 7'"
ledger_version=$(channel_of alice "$ledger" 'r["version"]')

step "alice registers the tree with the sub-channel's old version 0 (10 / 10)"
cli alice misbehave register "$sub" --version 0 >/dev/null || fail "alice could not register the old sub-channel state"

step "bob's node refutes it: the tree goes on chain again with the sub-channel's version 2"
wait_for_dispute bob "$ledger" "$ledger_version" 60
wait_for_record bob "$sub" 2 60
grep -q "refuting a sub-channel's older registered state.*refuted=0 version=2" "$SCRATCH/bob.log" \
  || fail "bob's node does not log refuting the sub-channel's version 0 with 2 (see bob.log)"

step "the challenge passes; the root concludes with the sub-channel's newest state; both withdraw"
cli alice chain advance $((challenge + 1)) >/dev/null || fail "chain advance failed"
for name in alice bob; do
  wait_for_phase "$name" "$ledger" closed 60
  wait_for_phase "$name" "$sub" closed 60
done
# alice: 40 in the ledger channel + 7 in the sub-channel; bob: 40 + 13.
expect_balance alice "$alice_before" 50 47
expect_balance bob "$bob_before" 50 53

step "(2) a new ledger channel 50 / 50 with a tic-tac-toe sub-channel 10 / 10"
alice_before=$(eth_balance alice)
bob_before=$(eth_balance bob)
open_channel alice bob 50 50 "$challenge"
ledger=$CHANNEL
open_channel alice bob 10 10 "$challenge" --app tictactoe --parent "$ledger"
game=$CHANNEL
for step_move in "alice 0" "bob 4" "alice 1" "bob 3"; do
  set -- $step_move
  cli "$1" channel move "$game" "{\"cell\": $2}" >/dev/null || fail "$1 could not mark cell $2"
done

step "bob vanishes; alice settles the game by force: the whole tree is registered from its root"
kill_node bob
json alice channel settle "$game" --force -- 'r["phase"]' >"$SCRATCH/settle.out" 2>"$SCRATCH/settle.err" &
settle_pid=$!
BG_PIDS+=("$settle_pid")
ledger_version=$(channel_of alice "$ledger" 'r["version"]')
wait_for_dispute alice "$ledger" "$ledger_version" 60
wait_for_record alice "$game" 4 60

step "a move on chain before the challenge passed is refused; after it, alice wins on chain"
if cli alice channel move "$game" '{"cell": 2}' >"$SCRATCH/early.out" 2>&1; then
  fail "a move on chain was accepted before the challenge passed"
fi
grep -q "chain time" "$SCRATCH/early.out" || { cat "$SCRATCH/early.out"; fail "the early move's refusal does not say when moves become possible"; }
cli alice chain advance $((challenge + 1)) >/dev/null || fail "chain advance failed"
cli alice channel move "$game" '{"cell": 2}' >"$SCRATCH/win.out" 2>&1 || { cat "$SCRATCH/win.out"; fail "alice's winning move on chain failed"; }
if [ "$PARLEY_CHAIN" = anvil ]; then
  gas=$(grep "moved on chain (progress)" "$SCRATCH/alice.log" | tail -n 1 | sed -n 's/.*gas=\([0-9]*\).*/\1/p')
  echo "    gas of progress (alice's winning move in the sub-channel, to version 5): $gas"
fi
wait_bounded "$settle_pid" 60 "settle --force" || { cat "$SCRATCH/settle.err" >&2; fail "settle --force failed"; }
wait_for_phase alice "$ledger" closed 60
[ "$(json alice chain dispute --channel "$game" -- 'r["phase"]')" = Concluded ] || fail "the game is not concluded on chain"

step "bob comes back and withdraws his share of the tree"
restart_node bob
wait_for_phase bob "$ledger" closed 60
wait_for_phase bob "$game" closed 60
# alice: 40 in the ledger channel + the pot of 20; bob: 40.
expect_balance alice "$alice_before" 50 60
expect_balance bob "$bob_before" 50 40
echo "PASS tree_dispute"
