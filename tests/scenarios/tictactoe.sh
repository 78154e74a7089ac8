#!/usr/bin/env bash
# Two nodes play tic-tac-toe in an app channel through the CLI. Every move is checked by the
# app's rules on both sides before it is signed: a move out of turn, onto a taken cell, or a
# payment in the app channel is refused with the reason, and nothing changes. The winning move
# makes the state final with the whole pot to the winner; the channel then settles on chain by
# itself and pays exactly what the app said. A node without the app refuses to open a channel
# that names it.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/nodes.sh"

step "start alice, bob and carol; carol has no apps"
new_node alice
new_node bob
init_node carol
python3 - "$SCRATCH/carol/node.toml" <<'PY'
import re, sys
path = sys.argv[1]
text = open(path).read()
# The [[apps]] entries come last (`parley init` writes them there, and so does the anvil
# setup); everything from the first one on goes.
text = text[: text.index("\n[[apps]]")] + "\n"
open(path, "w").write(text)
PY
start_node carol
introduce alice bob
introduce alice carol
alice_before=$(eth_balance alice)
bob_before=$(eth_balance bob)
[ "$(json alice info -- 'r["apps"][0]["name"]')" = tictactoe ] || fail "alice does not list the tictactoe app"

step "carol, without the app, refuses a tic-tac-toe channel with the reason"
if cli alice channel open carol --mine 5 --theirs 5 --asset ETH --challenge 60 --app tictactoe \
    >"$SCRATCH/carol-open.out" 2>&1; then
  fail "carol accepted a channel running an app she does not have"
fi
grep -q "does not have" "$SCRATCH/carol-open.out" || { cat "$SCRATCH/carol-open.out"; fail "the refusal does not say carol lacks the app"; }

step "alice opens a tic-tac-toe channel with bob (10 / 10); alice moves first"
open_channel alice bob 10 10 60 --app tictactoe
game=$CHANNEL
[ "$(channel_of bob "$game" 'r["app"]["name"]')" = tictactoe ] || fail "bob does not see the app"
[ "$(channel_of bob "$game" 'r["app"]["state"]["turn"]')" = 0 ] || fail "it is not alice's turn"

# move NAME CELL: NAME marks CELL; the new version on both sides.
move() {
  cli "$1" channel move "$game" "{\"cell\": $2}" >"$SCRATCH/move.out" 2>&1 \
    || { cat "$SCRATCH/move.out"; fail "$1 could not mark cell $2"; }
}
# refused NAME ACTION REASON: NAME's move ACTION is refused, saying REASON; nothing changes.
refused() {
  local version
  version=$(channel_of "$1" "$game" 'r["version"]')
  if cli "$1" channel move "$game" "$2" >"$SCRATCH/refused.out" 2>&1; then
    fail "$1's move $2 was accepted"
  fi
  grep -q "$3" "$SCRATCH/refused.out" || { cat "$SCRATCH/refused.out"; fail "the refusal of $2 does not say '$3'"; }
  [ "$(channel_of "$1" "$game" 'r["version"]')" = "$version" ] || fail "a refused move changed the channel"
}

step "moves: alice 0, bob 4; out of turn, a taken cell, a bad action and a payment are refused"
refused bob '{"cell": 4}' "not the actor's turn"
move alice 0
refused alice '{"cell": 1}' "not the actor's turn"
refused bob '{"cell": 0}' "taken\|empty cell"
refused bob '{"row": 1}' "cell"
if cli bob channel pay "$game" 1 >"$SCRATCH/pay.out" 2>&1; then fail "a payment in the app channel went through"; fi
grep -q "runs an app" "$SCRATCH/pay.out" || { cat "$SCRATCH/pay.out"; fail "the payment refusal does not say why"; }
move bob 4
[ "$(channel_of alice "$game" 'r["app"]["state"]["rows"][1]')" = ".O." ] || fail "alice does not see bob's mark in the centre"

step "alice 1, bob 3, alice 2: alice completes the top row and wins the pot"
move alice 1
move bob 3
move alice 2
[ "$(channel_of alice "$game" 'r["app"]["state"]["winner"]')" = 0 ] || fail "alice is not the winner"
[ "$(channel_of bob "$game" '" ".join(r["balances"][0]["by_participant"])')" = "20 0" ] || fail "the final state does not give alice the pot"

step "the final state settles on chain by itself: alice is paid 20, bob 0"
wait_for_phase alice "$game" closed 60
wait_for_phase bob "$game" closed 60
expect_balance alice "$alice_before" 10 20
expect_balance bob "$bob_before" 10 0
echo "PASS tictactoe"
