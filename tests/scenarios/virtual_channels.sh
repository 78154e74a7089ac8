#!/usr/bin/env bash
# Virtual channels through the CLI: alice and bob, who have no channel with each other, each
# have a ledger channel with ingrid. Alice opens a virtual channel with bob through ingrid (no
# transaction: both ledger channels lock its funds, ingrid standing in for the end missing in
# each), then alice and bob pay each other directly, with ingrid's node stopped. Ingrid comes
# back; alice settles the virtual channel and its outcome merges into both ledger channels off
# chain. Then a game of tic-tac-toe runs in another virtual channel and its pot merges into both
# ledger channels; those settle on chain and every balance is exact: ingrid charges a fee of 7
# base units per virtual channel, which alice pays with each lock in her channel with ingrid,
# and ingrid ends with what she put in plus the fees.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/nodes.sh"

PAYMENTS=${VIRTUAL_PAYMENTS:-1000}

step "alice, ingrid and bob; ledger channels alice-ingrid and ingrid-bob, 5000 / 5000 each (base units)"
new_node alice
new_node ingrid
new_node bob
pin_listen ingrid
introduce alice ingrid
introduce ingrid bob
alice_before=$(eth_balance alice)
ingrid_before=$(eth_balance ingrid)
bob_before=$(eth_balance bob)
open_channel alice ingrid 5000 5000 60
left=$CHANNEL
open_channel ingrid bob 5000 5000 60
right=$CHANNEL

step "ingrid's node carries no virtual channels until [hub] serve is on: alice's proposal is refused"
if cli alice channel open "$(node_id bob)" --mine 2000 --theirs 1000 --asset ETH --challenge 60 \
  --via "$left" >"$SCRATCH/refused.out" 2>&1; then
  fail "a virtual channel opened through a node that does not serve as a hub"
fi
grep -q "\[hub\] serve is off" "$SCRATCH/refused.out" || { cat "$SCRATCH/refused.out"; fail "the refusal does not say why"; }
[ "$(json bob proposal list -- 'len(r)')" = 0 ] || fail "bob was asked about a virtual channel ingrid refused to carry"
kill_node ingrid
python3 - "$SCRATCH/ingrid/node.toml" <<'PY'
import re, sys
path = sys.argv[1]
text, n = re.subn(r"(?m)^serve = false", "serve = true", open(path).read())
text, m = re.subn(r"(?m)^fee_base = .*$", 'fee_base = "7"', text)
if n != 1 or m != 1:
    sys.exit(f"no `serve = false` or `fee_base` in {path}")
open(path, "w").write(text)
PY
restart_node ingrid
wait_for_phase ingrid "$left" active 30
wait_for_phase ingrid "$right" active 30
FEE=7

step "ingrid charges $FEE per virtual channel: a proposal offering less is refused, naming her fee"
if cli alice channel open "$(node_id bob)" --mine 2000 --theirs 1000 --asset ETH --challenge 60 \
  --via "$left" --fee 6 >"$SCRATCH/cheap.out" 2>&1; then
  fail "a virtual channel opened offering less than the hub's fee"
fi
grep -q "charges a fee of 7" "$SCRATCH/cheap.out" || { cat "$SCRATCH/cheap.out"; fail "the refusal does not name the fee"; }

step "alice opens a virtual channel with bob (2000 / 1000) through ingrid, paying her fee: no transaction"
chain_before=$(eth_balance alice)
open_virtual alice bob "$left" 2000 1000 60 --fee "$FEE"
virtual=$CHANNEL
[ "$(eth_balance alice)" = "$chain_before" ] || fail "opening the virtual channel touched the chain"
# Each ledger channel locks the whole 3000: alice-ingrid takes alice's 2000 (and the fee, paid
# to ingrid) from alice and bob's 1000 from ingrid; ingrid-bob takes alice's 2000 from ingrid
# and bob's 1000 from bob.
holds alice "$left" $((3000 - FEE)) $((4000 + FEE))
holds ingrid "$left" $((4000 + FEE)) $((3000 - FEE))
ingrid_locked() { [ "$(channel_of ingrid "$right" 'r["balances"][0]["mine"]')" = 3000 ]; }
wait_until 30 ingrid_locked
holds ingrid "$right" 3000 4000
holds bob "$right" 4000 3000
holds alice "$virtual" 2000 1000
holds bob "$virtual" 1000 2000

step "ingrid's node stops; alice and bob pay each other $PAYMENTS times directly"
kill_node ingrid
pay_alternately alice bob "$virtual" "$PAYMENTS"
# alice paid 3 and bob 1, PAYMENTS / 2 times each (in base units): alice moved PAYMENTS to bob.
alice_v=$((2000 - PAYMENTS))
bob_v=$((1000 + PAYMENTS))
holds alice "$virtual" "$alice_v" "$bob_v"
holds bob "$virtual" "$bob_v" "$alice_v"

step "ingrid is back; alice settles the virtual channel: both ledger channels merge its outcome"
restart_node ingrid
cli alice channel settle "$virtual" >/dev/null || fail "alice could not settle the virtual channel"
wait_for_phase alice "$virtual" closed 60
wait_for_phase bob "$virtual" closed 60
left_alice=$((3000 - FEE + alice_v))
left_ingrid=$((4000 + FEE + bob_v))
right_ingrid=$((3000 + alice_v))
right_bob=$((4000 + bob_v))
ingrid_merged() { [ "$(channel_of ingrid "$right" '(len(r.get("sub_channels") or []))')" = 0 ]; }
wait_until 30 ingrid_merged
holds alice "$left" "$left_alice" "$left_ingrid"
holds ingrid "$left" "$left_ingrid" "$left_alice"
holds ingrid "$right" "$right_ingrid" "$right_bob"
holds bob "$right" "$right_bob" "$right_ingrid"
[ "$(eth_balance alice)" = "$chain_before" ] || fail "closing the virtual channel touched the chain"

step "tic-tac-toe in a virtual channel (100 / 100): alice wins, the pot merges into both ledger channels"
open_virtual alice bob "$left" 100 100 60 --app tictactoe --fee "$FEE"
game=$CHANNEL
holds alice "$left" $((left_alice - 100 - FEE)) $((left_ingrid - 100 + FEE))
for step_move in "alice 0" "bob 4" "alice 1" "bob 3" "alice 2"; do
  set -- $step_move
  cli "$1" channel move "$game" "{\"cell\": $2}" >"$SCRATCH/move.out" 2>&1 \
    || { cat "$SCRATCH/move.out"; fail "$1 could not mark cell $2"; }
done
wait_for_phase alice "$game" closed 60
wait_for_phase bob "$game" closed 60
wait_until 30 ingrid_merged
# The pot of 200 goes to alice in her channel with ingrid, and to ingrid (standing in for
# alice) in hers with bob.
left_alice=$((left_alice + 100 - FEE))
left_ingrid=$((left_ingrid - 100 + FEE))
right_ingrid=$((right_ingrid + 100))
right_bob=$((right_bob - 100))
holds alice "$left" "$left_alice" "$left_ingrid"
holds bob "$right" "$right_bob" "$right_ingrid"

step "alice pays bob by node id (parley pay): her node opens a virtual channel through ingrid for it, then reuses it"
paid_in=$(json alice pay "$(node_id bob)" 50 --deposit 100 --fee "$FEE" -- 'r["channel"]')
[ "$(channel_of alice "$paid_in" 'r["funding"]')" = "virtual channel locked in $left" ] \
  || fail "the payment did not go through a virtual channel locked in alice's channel with ingrid"
again=$(json alice pay "$(node_id bob)" 30 -- 'r["channel"]')
[ "$again" = "$paid_in" ] || fail "the second payment opened another channel instead of reusing $paid_in"
holds bob "$paid_in" 80 20
cli alice channel settle "$paid_in" >/dev/null || fail "alice could not settle the payment channel"
wait_for_phase bob "$paid_in" closed 60
wait_until 30 ingrid_merged
left_alice=$((left_alice - 80 - FEE))
left_ingrid=$((left_ingrid + 80 + FEE))
right_ingrid=$((right_ingrid - 80))
right_bob=$((right_bob + 80))
holds alice "$left" "$left_alice" "$left_ingrid"
holds bob "$right" "$right_bob" "$right_ingrid"

step "both ledger channels settle on chain: alice, bob and ingrid are paid exactly"
cli alice channel settle "$left" >/dev/null || fail "alice could not settle with ingrid"
cli bob channel settle "$right" >/dev/null || fail "bob could not settle with ingrid"
wait_for_phase ingrid "$left" closed 60
wait_for_phase ingrid "$right" closed 60
expect_balance alice "$alice_before" 5000 "$left_alice"
expect_balance bob "$bob_before" 5000 "$right_bob"
# Ingrid gets back what she put in, plus the three fees alice paid her.
expect_balance ingrid "$ingrid_before" 10000 $((10000 + 3 * FEE))
[ $((left_ingrid + right_ingrid)) = $((10000 + 3 * FEE)) ] || fail "ingrid's two channels do not add up to her deposits and fees"
echo "PASS virtual_channels"
