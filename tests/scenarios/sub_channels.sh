#!/usr/bin/env bash
# Sub-channels through the CLI: a tic-tac-toe game inside a funded ledger channel, opened with
# no transaction (the parent's balances lock the stakes), with payments in the parent while it
# runs and a node killed mid-game that resumes; the winning move merges the pot back into the
# parent. Then sub-channels three levels deep, closed in two orders (a middle channel first,
# which settles its own child before itself; a leaf first, then the root, which settles what
# is still open below it). The root settles cooperatively and pays exactly what the tree says.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/nodes.sh"

step "start alice and bob; a ledger channel 50 / 50"
new_node alice
new_node bob
introduce alice bob
alice_before=$(eth_balance alice)
bob_before=$(eth_balance bob)
open_channel alice bob 50 50 60
ledger=$CHANNEL
cli alice channel pay "$ledger" 5 >/dev/null || fail "alice could not pay in the ledger channel"

# ledger_is MINE THEIRS: the ledger channel's balances as alice sees them (bob sees the mirror).
ledger_is() {
  [ "$(channel_of alice "$ledger" '"%s %s" % (r["balances"][0]["mine"], r["balances"][0]["theirs"])')" = "$1 $2" ] \
    || fail "alice's ledger channel holds $(channel_of alice "$ledger" '"%s %s" % (r["balances"][0]["mine"], r["balances"][0]["theirs"])'), expected $1 $2"
  [ "$(channel_of bob "$ledger" '"%s %s" % (r["balances"][0]["mine"], r["balances"][0]["theirs"])')" = "$2 $1" ] \
    || fail "bob's ledger channel disagrees with alice's"
}
ledger_is 45 55

step "a tic-tac-toe sub-channel (10 / 10) in the ledger channel: no transaction, the stakes locked"
chain_before=$(eth_balance alice)
open_channel alice bob 10 10 60 --app tictactoe --parent "$ledger"
game=$CHANNEL
[ "$(eth_balance alice)" = "$chain_before" ] || fail "opening the sub-channel touched the chain"
ledger_is 35 45
[ "$(channel_of bob "$game" 'r["funding"]')" = "sub-channel of $ledger" ] || fail "bob does not see the game as a sub-channel of the ledger channel"
[ "$(channel_of alice "$ledger" 'r["sub_channels"][0]')" = "$game" ] || fail "the ledger channel does not list the game"

move() {
  cli "$1" channel move "$game" "{\"cell\": $2}" >"$SCRATCH/move.out" 2>&1 \
    || { cat "$SCRATCH/move.out"; fail "$1 could not mark cell $2"; }
}

step "alice 0, bob 4, with payments in the parent beside the game"
move alice 0
cli bob channel pay "$ledger" 3 >/dev/null || fail "bob could not pay in the parent during the game"
move bob 4
ledger_is 38 42

step "bob is killed mid-game and restarted: the game resumes where it was"
kill_node bob
restart_node bob
wait_for_phase bob "$game" active 30
move alice 1
move bob 3
[ "$(channel_of bob "$game" 'r["app"]["state"]["rows"][0]')" = "XX." ] || fail "bob's game lost alice's moves"

step "alice 2 wins: the pot (20) merges back into the ledger channel, off chain"
move alice 2
wait_for_phase alice "$game" closed 30
wait_for_phase bob "$game" closed 30
ledger_is 58 42
[ "$(eth_balance alice)" = "$chain_before" ] || fail "closing the sub-channel touched the chain"

step "three levels: ledger > middle (10 / 10) > leaf (4 / 2); payments in the leaf"
open_channel alice bob 10 10 60 --parent "$ledger"
middle=$CHANNEL
open_channel alice bob 4 2 60 --parent "$middle"
leaf=$CHANNEL
ledger_is 48 32
[ "$(channel_of alice "$middle" '"%s %s" % (r["balances"][0]["mine"], r["balances"][0]["theirs"])')" = "6 8" ] || fail "the middle channel did not lock the leaf's funds"
cli alice channel pay "$leaf" 1 >/dev/null || fail "alice could not pay in the leaf"
cli bob channel pay "$middle" 2 >/dev/null || fail "bob could not pay in the middle channel"

step "the middle channel is settled first: it settles its leaf, then merges into the ledger channel"
cli alice channel settle "$middle" >/dev/null || fail "alice could not settle the middle channel"
wait_for_phase bob "$leaf" closed 30
wait_for_phase bob "$middle" closed 30
# middle: 6+2 (alice, after bob paid her 2) + 3 (the leaf gave her 3) = 11; bob 8-2+3 = 9.
ledger_is 59 41

step "another three levels; the leaf first, then the root settles what is left below it"
open_channel alice bob 8 8 60 --parent "$ledger"
middle=$CHANNEL
open_channel alice bob 2 2 60 --parent "$middle"
leaf=$CHANNEL
cli bob channel pay "$leaf" 2 >/dev/null || fail "bob could not pay in the second leaf"
cli alice channel settle "$leaf" >/dev/null || fail "alice could not settle the second leaf"
wait_for_phase bob "$leaf" closed 30
cli bob channel pay "$middle" 1 >/dev/null || fail "bob could not pay in the second middle channel"
# ledger 51 / 33 locked 16; middle after the leaf: alice 6+4 = 10 +1 = 11, bob 5.
cli alice channel settle "$ledger" >/dev/null || fail "alice could not settle the ledger channel"
wait_for_phase bob "$middle" closed 30
wait_for_phase bob "$ledger" closed 60

step "on chain: alice is paid 62, bob 38 (of 100), exactly"
expect_balance alice "$alice_before" 50 62
expect_balance bob "$bob_before" 50 38
echo "PASS sub_channels"
