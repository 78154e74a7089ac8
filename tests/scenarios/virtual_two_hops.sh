#!/usr/bin/env bash
# A virtual channel over two intermediaries (A-I1-I2-B): alice has a ledger channel with ingrid,
# ingrid one with ivan, ivan one with bob. Ingrid charges a fixed fee of 5 per virtual channel,
# ivan 0.1% of its total. Alice opens a virtual channel with bob through ingrid and then ivan
# (`--through`, offering each its fee with `--fee`): no transaction; each of the three ledger
# channels locks its funds, ingrid standing in for alice in her channel with ivan and ivan for
# bob, and each lock carries the fees of the intermediaries after it. Alice and bob pay each
# other directly with both intermediaries' nodes stopped, settle the virtual channel, and its
# outcome merges into all three ledger channels off chain. Then a second virtual channel over
# the same path ends in a dispute while both intermediaries are stopped: alice settles it by
# force, bob's node follows with his ledger channel, and the intermediaries, back later, put
# the channel between them on chain with the state each kept. Alice and bob are paid what the
# virtual channels' last states say, ingrid and ivan exactly what they put in plus their fees.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/nodes.sh"

PAYMENTS=${TWO_HOP_PAYMENTS:-200}

step "alice, ingrid, ivan and bob; ledger channels alice-ingrid, ingrid-ivan, ivan-bob, 5000 / 5000 each"
new_node alice
init_node ingrid 'serve = true
fee_base = "5"'
start_node ingrid
init_node ivan 'serve = true
fee_ppm = 1000'
start_node ivan
new_node bob
pin_listen ingrid
pin_listen ivan
introduce alice ingrid
introduce ingrid ivan
introduce ivan bob
alice_before=$(eth_balance alice)
ingrid_before=$(eth_balance ingrid)
ivan_before=$(eth_balance ivan)
bob_before=$(eth_balance bob)
open_channel alice ingrid 5000 5000 60
first=$CHANNEL
open_channel ingrid ivan 5000 5000 60
middle=$CHANNEL
open_channel ivan bob 5000 5000 60
last=$CHANNEL
ivan_id=$(node_id ivan)

step "paths and fees that cannot work are refused: an end as an intermediary, a fee too few, ivan's fee too low"
if cli alice channel open "$(node_id bob)" --mine 10 --theirs 10 --asset ETH --challenge 60 \
  --via "$first" --through "$(node_id bob)" >"$SCRATCH/looped.out" 2>&1; then
  fail "a path through the accepter itself was proposed"
fi
grep -q "on the path once" "$SCRATCH/looped.out" || { cat "$SCRATCH/looped.out"; fail "the refusal does not say why"; }
if cli alice channel open "$(node_id bob)" --mine 2000 --theirs 1000 --asset ETH --challenge 60 \
  --via "$first" --through "$ivan_id" --fee 5 >"$SCRATCH/one-fee.out" 2>&1; then
  fail "a proposal naming one fee for two intermediaries was sent"
fi
grep -q "one per intermediary" "$SCRATCH/one-fee.out" || { cat "$SCRATCH/one-fee.out"; fail "the refusal does not say why"; }
# Ivan's refusal comes back through ingrid.
if cli alice channel open "$(node_id bob)" --mine 2000 --theirs 1000 --asset ETH --challenge 60 \
  --via "$first" --through "$ivan_id" --fee 5 --fee 2 >"$SCRATCH/cheap.out" 2>&1; then
  fail "ivan carried a virtual channel offering less than his fee"
fi
grep -q "charges a fee of 3" "$SCRATCH/cheap.out" || { cat "$SCRATCH/cheap.out"; fail "the refusal does not name ivan's fee"; }

step "alice opens a virtual channel with bob (2000 / 1000) through ingrid and ivan, paying 5 + 3: no transaction"
chain_before=$(eth_balance alice)
open_virtual alice bob "$first" 2000 1000 60 --through "$ivan_id" --fee 5 --fee 3
virtual=$CHANNEL
[ "$(eth_balance alice)" = "$chain_before" ] || fail "opening the virtual channel touched the chain"
# Every channel on the path locks 3000: the participant on alice's side puts in alice's 2000,
# the one on bob's side bob's 1000; with the lock alice pays ingrid 8 (her 5 and ivan's 3),
# ingrid pays ivan 3.
locked_everywhere() {
  [ "$(channel_of ingrid "$middle" 'r["balances"][0]["mine"]')" = 2997 ] \
    && [ "$(channel_of ivan "$last" 'r["balances"][0]["mine"]')" = 3000 ]
}
wait_until 30 locked_everywhere
holds alice "$first" 2992 4008
holds ingrid "$first" 4008 2992
holds ingrid "$middle" 2997 4003
holds ivan "$middle" 4003 2997
holds ivan "$last" 3000 4000
holds bob "$last" 4000 3000
holds alice "$virtual" 2000 1000
holds bob "$virtual" 1000 2000
[ "$(channel_of ivan "$middle" 'r["sub_channels"][0]')" = "$virtual" ] \
  || fail "the channel between the intermediaries does not lock the virtual channel"

step "both intermediaries' nodes stop; alice and bob pay each other $PAYMENTS times directly"
kill_node ingrid
kill_node ivan
pay_alternately alice bob "$virtual" "$PAYMENTS"
alice_v=$((2000 - PAYMENTS))
bob_v=$((1000 + PAYMENTS))
holds alice "$virtual" "$alice_v" "$bob_v"
holds bob "$virtual" "$bob_v" "$alice_v"

step "the intermediaries are back; alice settles the virtual channel: all three ledger channels merge it"
restart_node ingrid
restart_node ivan
wait_for_phase ingrid "$middle" active 30
cli alice channel settle "$virtual" >/dev/null || fail "alice could not settle the virtual channel"
wait_for_phase alice "$virtual" closed 60
wait_for_phase bob "$virtual" closed 60
merged() {
  local name=$1 id=$2
  [ "$(channel_of "$name" "$id" '(len(r.get("sub_channels") or []))')" = 0 ]
}
wait_until 30 merged ingrid "$first"
wait_until 30 merged ingrid "$middle"
wait_until 30 merged ivan "$middle"
wait_until 30 merged bob "$last"
# Each channel: its side towards alice gets alice's share back, the other bob's.
first_alice=$((2992 + alice_v)) first_ingrid=$((4008 + bob_v))
middle_ingrid=$((2997 + alice_v)) middle_ivan=$((4003 + bob_v))
last_ivan=$((3000 + alice_v)) last_bob=$((4000 + bob_v))
holds alice "$first" "$first_alice" "$first_ingrid"
holds ingrid "$middle" "$middle_ingrid" "$middle_ivan"
holds ivan "$middle" "$middle_ivan" "$middle_ingrid"
holds bob "$last" "$last_bob" "$last_ivan"
[ "$(eth_balance alice)" = "$chain_before" ] || fail "closing the virtual channel touched the chain"

step "a second virtual channel over the same path (1000 / 1000, fees 5 + 2); alice pays bob 300 in it"
open_virtual alice bob "$first" 1000 1000 60 --through "$ivan_id" --fee 5 --fee 2
second=$CHANNEL
locked_again() { [ "$(channel_of ivan "$last" 'r["balances"][0]["mine"]')" = $((last_ivan - 1000)) ]; }
wait_until 30 locked_again
holds alice "$first" $((first_alice - 1007)) $((first_ingrid - 993))
holds ingrid "$middle" $((middle_ingrid - 1002)) $((middle_ivan - 998))
cli alice channel pay "$second" 300 >/dev/null || fail "alice could not pay bob"
holds bob "$second" 1300 700

step "both intermediaries stop; alice settles the virtual channel by force through her ledger channel with ingrid"
kill_node ingrid
kill_node ivan
json alice channel settle "$second" --force -- 'r["phase"]' >"$SCRATCH/alice-settle.out" 2>"$SCRATCH/alice-settle.err" &
alice_settle=$!
BG_PIDS+=("$alice_settle")
wait_for_record alice "$second" 1 60

step "bob's node sees the virtual channel on chain and puts his ledger channel with ivan there too"
has_record() { [ -n "$(json "$1" chain dispute --channel "$2" -- 'r["phase"]' 2>/dev/null)" ]; }
wait_until 60 has_record bob "$last"
cli alice chain advance 61 >/dev/null || fail "chain advance failed"
wait_bounded "$alice_settle" 120 "alice's settle --force" || { cat "$SCRATCH/alice-settle.err" >&2; fail "alice's settle --force failed"; }
wait_for_phase alice "$first" closed 60
wait_for_phase bob "$second" closed 60
wait_for_phase bob "$last" closed 60
# Each end is paid its side of its ledger channel with the virtual channel's last state.
expect_balance alice "$alice_before" 5000 $((first_alice - 1007 + 700))
expect_balance bob "$bob_before" 5000 $((last_bob - 1000 + 1300))

step "ingrid and ivan come back: each withdraws from its channel with an end and puts the channel between them on chain"
restart_node ingrid
restart_node ivan
wait_for_phase ingrid "$first" closed 90
wait_for_phase ivan "$last" closed 90
wait_until 60 has_record ingrid "$middle"
cli ingrid chain advance 61 >/dev/null || fail "chain advance failed"
wait_for_phase ingrid "$middle" closed 90
wait_for_phase ivan "$middle" closed 90
# Each intermediary put 5000 into each of its two channels and stands in for opposite ends in
# them, so it gets that back whatever the ends did, plus its fees: ingrid 5 + 5, ivan 3 + 2.
expect_balance ingrid "$ingrid_before" 10000 10010
expect_balance ivan "$ivan_before" 10000 10005
echo "PASS virtual_two_hops"
