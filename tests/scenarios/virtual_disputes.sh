#!/usr/bin/env bash
# Disputes of a virtual channel (direct disputes): alice and bob have a virtual channel through
# ingrid's ledger channels with each of them. When ingrid stops cooperating, each end settles
# the virtual channel by force: her ledger channel with ingrid goes on chain with the virtual
# channel's newest state; bob's node sees that and puts his ledger channel with ingrid on chain
# too, and the chain pays each end what that state says through its own ledger channel; ingrid,
# back later, withdraws exactly what she put in from the two. (2) Bob stops, then alice: the
# other end is paid the same way, and ingrid's node, seeing the virtual channel concluded through one of her ledger
# channels, puts the other one (with the absent bob) on chain with the state she kept of it. (3) Bob vanishes mid-game in a virtual tic-tac-toe channel: alice
# wins on chain by a move, and ingrid's channel with bob pays out the game as the chain
# concluded it, so ingrid comes out even.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/nodes.sh"

challenge=60

# has_record NAME ID: the chain holds a record of channel ID (read through NAME's plugin).
has_record() { [ -n "$(json "$1" chain dispute --channel "$2" -- 'r["phase"]' 2>/dev/null)" ]; }

step "alice, ingrid and bob; ledger channels alice-ingrid and ingrid-bob, 5000 / 5000 each"
new_node alice
init_node ingrid "serve = true"
start_node ingrid
new_node bob
pin_listen ingrid
introduce alice ingrid
introduce ingrid bob
alice_before=$(eth_balance alice)
ingrid_before=$(eth_balance ingrid)
bob_before=$(eth_balance bob)
open_channel alice ingrid 5000 5000 "$challenge"
left=$CHANNEL
open_channel ingrid bob 5000 5000 "$challenge"
right=$CHANNEL

step "a virtual channel alice-bob (2000 / 1000); alice pays bob 300 in it"
open_virtual alice bob "$left" 2000 1000 "$challenge"
virtual=$CHANNEL
cli alice channel pay "$virtual" 300 >/dev/null || fail "alice could not pay bob"
holds bob "$virtual" 1300 1700

step "ingrid stops; alice settles the virtual channel by force: her ledger channel goes on chain with it"
kill_node ingrid
json alice channel settle "$virtual" --force -- 'r["phase"]' >"$SCRATCH/alice-settle.out" 2>"$SCRATCH/alice-settle.err" &
alice_settle=$!
BG_PIDS+=("$alice_settle")
wait_for_record alice "$virtual" 1 60

step "bob's node sees the virtual channel on chain and puts his ledger channel with ingrid there too"
wait_until 60 has_record bob "$right"

step "the challenge passes: alice is paid 3000 + 1700, bob 4000 + 1300, through their own ledger channels"
cli alice chain advance $((challenge + 1)) >/dev/null || fail "chain advance failed"
wait_bounded "$alice_settle" 120 "alice's settle --force" || { cat "$SCRATCH/alice-settle.err" >&2; fail "alice's settle --force failed"; }
wait_for_phase alice "$left" closed 60
wait_for_phase bob "$virtual" closed 60
wait_for_phase bob "$right" closed 60
expect_balance alice "$alice_before" 5000 4700
expect_balance bob "$bob_before" 5000 5300

step "ingrid comes back and withdraws what she put in from both ledger channels"
restart_node ingrid
wait_for_phase ingrid "$left" closed 90
wait_for_phase ingrid "$right" closed 90
# alice-ingrid pays her 4000 + bob's 1300; ingrid-bob 3000 + alice's 1700: 10000.
expect_balance ingrid "$ingrid_before" 10000 10000

# an_end_stops GONE STAYING: over new ledger channels, a virtual channel alice-bob (2000 /
# 1000) in which alice pays bob 300; GONE's node stops; STAYING settles the virtual channel by
# force through its ledger channel with ingrid; ingrid's node, seeing the virtual channel
# concluded there, puts its channel with GONE on chain by itself with the state it kept; GONE
# comes back and withdraws. Everyone is paid exactly: alice 1700 of the virtual channel, bob 1300.
an_end_stops() {
  local gone=$1 staying=$2
  step "(2) $gone stops: new ledger channels and a virtual channel alice-bob (2000 / 1000); alice pays bob 300"
  local -A before ledger payout
  for name in alice ingrid bob; do before[$name]=$(eth_balance "$name"); done
  pin_listen "$gone"
  open_channel alice ingrid 5000 5000 "$challenge"
  ledger[alice]=$CHANNEL
  open_channel ingrid bob 5000 5000 "$challenge"
  ledger[bob]=$CHANNEL
  open_virtual alice bob "${ledger[alice]}" 2000 1000 "$challenge"
  local virtual=$CHANNEL
  cli alice channel pay "$virtual" 300 >/dev/null || fail "alice could not pay bob"
  holds bob "$virtual" 1300 1700
  payout[alice]=$((3000 + 1700))
  payout[bob]=$((4000 + 1300))

  step "$gone stops; $staying settles the virtual channel by force through its ledger channel with ingrid"
  kill_node "$gone"
  json "$staying" channel settle "$virtual" --force -- 'r["phase"]' >"$SCRATCH/settle.out" 2>"$SCRATCH/settle.err" &
  local settle=$!
  BG_PIDS+=("$settle")
  wait_for_record "$staying" "$virtual" 1 60
  cli "$staying" chain advance $((challenge + 1)) >/dev/null || fail "chain advance failed"
  wait_bounded "$settle" 120 "$staying's settle --force" || { cat "$SCRATCH/settle.err" >&2; fail "$staying's settle --force failed"; }
  wait_for_phase "$staying" "${ledger[$staying]}" closed 60
  wait_for_phase ingrid "${ledger[$staying]}" closed 60
  expect_balance "$staying" "${before[$staying]}" 5000 "${payout[$staying]}"

  step "ingrid's node puts her ledger channel with the absent $gone on chain by itself, with the virtual channel's state she kept"
  wait_until 60 has_record ingrid "${ledger[$gone]}"
  cli ingrid chain advance $((challenge + 1)) >/dev/null || fail "chain advance failed"
  wait_for_phase ingrid "${ledger[$gone]}" closed 60
  # Each ledger channel pays her what she did not lock, plus the share of the end she stands
  # in for: 4000 + 1300 and 3000 + 1700.
  expect_balance ingrid "${before[ingrid]}" 10000 10000

  step "$gone comes back and withdraws its share from its ledger channel with ingrid"
  restart_node "$gone"
  wait_for_phase "$gone" "${ledger[$gone]}" closed 90
  wait_for_phase "$gone" "$virtual" closed 90
  expect_balance "$gone" "${before[$gone]}" 5000 "${payout[$gone]}"
}
an_end_stops bob alice
an_end_stops alice bob

step "(3) tic-tac-toe in a virtual channel (100 / 100) over new ledger channels; four moves"
alice_before=$(eth_balance alice)
ingrid_before=$(eth_balance ingrid)
bob_before=$(eth_balance bob)
open_channel alice ingrid 5000 5000 "$challenge"
left=$CHANNEL
open_channel ingrid bob 5000 5000 "$challenge"
right=$CHANNEL
open_virtual alice bob "$left" 100 100 "$challenge" --app tictactoe
game=$CHANNEL
for step_move in "alice 0" "bob 4" "alice 1" "bob 3"; do
  set -- $step_move
  cli "$1" channel move "$game" "{\"cell\": $2}" >/dev/null || fail "$1 could not mark cell $2"
done

step "bob vanishes; alice settles the game by force and, once the challenge passed, wins on chain"
kill_node bob
json alice channel settle "$game" --force -- 'r["phase"]' >"$SCRATCH/alice-settle.out" 2>"$SCRATCH/alice-settle.err" &
alice_settle=$!
BG_PIDS+=("$alice_settle")
wait_for_record alice "$game" 4 60
cli alice chain advance $((challenge + 1)) >/dev/null || fail "chain advance failed"
cli alice channel move "$game" '{"cell": 2}' >"$SCRATCH/win.out" 2>&1 || { cat "$SCRATCH/win.out"; fail "alice's winning move on chain failed"; }
wait_bounded "$alice_settle" 120 "alice's settle --force" || { cat "$SCRATCH/alice-settle.err" >&2; fail "alice's settle --force failed"; }
wait_for_phase alice "$left" closed 60
wait_for_phase ingrid "$left" closed 60
# alice: 4900 free in her ledger channel and the pot of 200.
expect_balance alice "$alice_before" 5000 5100

step "ingrid's node puts her channel with the absent bob on chain by itself, with the game as the chain concluded it"
wait_until 60 has_record ingrid "$right"
cli ingrid chain advance $((challenge + 1)) >/dev/null || fail "chain advance failed"
wait_for_phase ingrid "$right" closed 60
# alice-ingrid paid her 4900 + bob's 0; ingrid-bob pays her 4900 + alice's 200 (she stands in
# for alice there): even.
expect_balance ingrid "$ingrid_before" 10000 10000

step "bob comes back and withdraws his 4900"
restart_node bob
wait_for_phase bob "$right" closed 90
wait_for_phase bob "$game" closed 90
expect_balance bob "$bob_before" 5000 4900
echo "PASS virtual_disputes"
