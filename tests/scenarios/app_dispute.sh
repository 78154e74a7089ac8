#!/usr/bin/env bash
# Force execution of an app channel: alice and bob play tic-tac-toe for a pot of 20; mid-game,
# when it is alice's turn, bob vanishes (kill -9) and stops answering off chain. Alice settles
# on her own (`channel settle --force`) and registers the last state both signed. A move before
# the challenge ends is refused, saying when moves on chain become possible. Once it ends,
# alice moves on chain (`channel move` becomes the Adjudicator's `progress`, signed by her
# alone); bob comes back and answers on chain (a move out of turn is refused with the app's
# reason); alice is killed and restarted between two moves and follows the state on record at
# once; her winning move makes the state on record final, the channel concludes at once, and
# both are paid exactly what the app says (alice 20, bob 0). On anvil the gas of each `progress`
# is printed.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/nodes.sh"

challenge=60

step "start alice and bob; alice opens a tic-tac-toe channel (10 / 10, challenge $challenge s)"
new_node alice
new_node bob
introduce alice bob
alice_before=$(eth_balance alice)
bob_before=$(eth_balance bob)
open_channel alice bob 10 10 "$challenge" --app tictactoe
game=$CHANNEL

# move NAME CELL: NAME marks CELL (off chain, or on chain in a dispute); output in move.out.
move() {
  cli "$1" channel move "$game" "{\"cell\": $2}" >"$SCRATCH/move.out" 2>&1 \
    || { cat "$SCRATCH/move.out"; fail "$1 could not mark cell $2"; }
}
# refused NAME CELL REASON: NAME's move to CELL is refused, saying REASON.
refused() {
  if cli "$1" channel move "$game" "{\"cell\": $2}" >"$SCRATCH/refused.out" 2>&1; then
    fail "$1's move to cell $2 was accepted"
  fi
  grep -q "$3" "$SCRATCH/refused.out" || { cat "$SCRATCH/refused.out"; fail "the refusal of $1's move to $2 does not say '$3'"; }
}
# on_record NAME EXPR: EXPR on NAME's view of the state on record (bound as `s`).
on_record() { channel_of "$1" "$game" "(lambda s: $2)(r['app'].get('on_record') or {})"; }
# wait_on_record NAME VERSION: until NAME's node shows VERSION on record in force execution.
wait_on_record() {
  local deadline=$((SECONDS + 30)) now=""
  until now=$(channel_of "$1" "$game" '"%s %s" % (r["dispute"]["version"], r["dispute"]["phase"])' 2>/dev/null) \
      && [ "$now" = "$2 force_exec" ]; do
    [ $SECONDS -lt $deadline ] || fail "$1 sees '$now' on record, not version $2 in force execution"
    sleep 0.2
  done
}
# gas: the fee units of the newest move on chain in NAME's log (anvil only).
print_gas() {
  [ "$PARLEY_CHAIN" = anvil ] || return 0
  local gas
  gas=$(grep "moved on chain (progress)" "$SCRATCH/$1.log" | tail -n 1 | sed -n 's/.*gas=\([0-9]*\).*/\1/p')
  echo "    gas of progress ($1's move to version $2): $gas"
}

step "off chain: alice 0, bob 4 (version 2); it is alice's turn"
move alice 0
move bob 4
[ "$(balances_of alice "$game")" = "2 10 10" ] || fail "alice sees '$(balances_of alice "$game")'"

step "bob vanishes (kill -9); alice settles on her own and registers version 2"
kill_node bob
cli alice channel settle "$game" --force >"$SCRATCH/settle.out" 2>&1 &
BG_PIDS+=("$!")
wait_for_dispute alice "$game" 2 60
wait_for_phase alice "$game" disputed 10

step "a move before the challenge ends is refused, saying when moves on chain become possible"
refused alice 1 "become possible at chain time"
[ "$(json alice chain dispute --channel "$game" -- 'r["version"]')" = 2 ] || fail "the refused move changed the record"

step "the challenge passes on chain; alice moves on chain: cell 1 (version 3, signed by her alone)"
cli alice chain advance $((challenge + 1)) >/dev/null || fail "chain advance failed"
move alice 1
grep -q "moved on chain" "$SCRATCH/move.out" || { cat "$SCRATCH/move.out"; fail "the move does not say it went on chain"; }
wait_on_record alice 3
print_gas alice 3
[ "$(on_record alice 's["turn"]')" = 1 ] || fail "alice's view of the state on record is not bob's turn"
cli alice channel show "$game" >"$SCRATCH/show.out" || fail "channel show failed"
grep -q "force execution" "$SCRATCH/show.out" || { cat "$SCRATCH/show.out"; fail "show does not say force execution"; }
grep -q "participant 1's (the peer's), on chain" "$SCRATCH/show.out" || { cat "$SCRATCH/show.out"; fail "show does not say whose move it is"; }
refused alice 2 "not the actor's turn"

step "bob comes back, follows the state on record and answers on chain: cell 3 (version 4)"
restart_node bob
wait_for_phase bob "$game" disputed 30
wait_on_record bob 3
[ "$(on_record bob 's["state"]["rows"][0]')" = "XX." ] || fail "bob does not see alice's moves on record: $(on_record bob 's')"
move bob 3
grep -q "moved on chain" "$SCRATCH/move.out" || { cat "$SCRATCH/move.out"; fail "bob's move does not say it went on chain"; }
wait_on_record bob 4
print_gas bob 4

step "alice is killed and restarted between two moves; she follows the state on record"
kill_node alice
restart_node alice
wait_on_record alice 4
[ "$(on_record alice 's["state"]["rows"][1]')" = "OO." ] || fail "alice does not see bob's move on record: $(on_record alice 's')"

step "alice completes the top row on chain (version 5, final): the channel concludes at once"
move alice 2
print_gas alice 5
wait_for_phase alice "$game" closed 60
wait_for_phase bob "$game" closed 60
[ "$(json alice chain dispute --channel "$game" -- '"%s %s" % (r["version"], r["phase"])')" = "5 Concluded" ] \
  || [ "$(json alice chain dispute --channel "$game" -- '"%s %s" % (r["version"], r["phase"])')" = "5 concluded" ] \
  || fail "the record is not version 5 concluded: $(cli alice chain dispute --channel "$game" --json)"

step "both are paid exactly what the app says: alice 20, bob 0"
expect_balance alice "$alice_before" 10 20
expect_balance bob "$bob_before" 10 0
if [ "$PARLEY_CHAIN" = anvil ]; then
  # Two moves on chain by alice, one by bob, each its own `progress` transaction.
  for who in alice:2 bob:1; do
    sent=$(anvil_transactions "${who%%:*}") || fail "cannot list ${who%%:*}'s transactions"
    moves=$(echo "$sent" | tr ' ' '\n' | grep -c '^progress$' || true)
    [ "$moves" = "${who##*:}" ] || fail "${who%%:*} sent [$sent], expected ${who##*:} progress"
  done
fi
echo "PASS app_dispute"
