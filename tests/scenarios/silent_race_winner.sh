#!/usr/bin/env bash
# A peer that stalls a channel without proving any fault: when both sides propose at once, the
# race's winner is to propose its update again above the race while the loser waits for it.
# Alice runs with the [testing] switch silent_race_winner: she wins races and never proposes
# again. Bob's node waits 5 s for her, then re-synchronises with her on the open connection;
# that frees the channel on both sides (her withheld update is dropped), and payments go on
# without a reconnect. Both then agree on the channel's version and balances, and the moved
# amounts add up to the payments that succeeded.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/nodes.sh"

deposit=1000

step "start alice (allowed to misbehave: silent_race_winner) and bob"
init_node alice
allow_misbehaviour alice "silent_race_winner = true"
(start_node alice) || fail "alice did not start"
new_node bob
introduce alice bob
open_channel alice bob "$deposit" "$deposit" 600
channel=$CHANNEL

step "both pay at once, in bursts, until alice wins a race and stays silent"
closed_before=$(grep -c "connection closed" "$SCRATCH/bob.log" || true)
won=""
for round in $(seq 30); do
  payers=()
  for i in $(seq 4); do
    cli alice channel pay "$channel" 1 >/dev/null 2>&1 &
    payers+=($!)
    cli bob channel pay "$channel" 1 >/dev/null 2>&1 &
    payers+=($!)
  done
  # Each is answered within [policy] update_timeout_seconds (30 s) at most.
  wait "${payers[@]}" || true
  if grep -q "MISBEHAVING: won a race and does not propose the update again" "$SCRATCH/alice.log"; then
    won=$round
    break
  fi
done
[ -n "$won" ] || fail "alice won no race in 30 bursts of concurrent payments"
echo "  - alice won a race in burst $won and did not propose again"

step "bob re-synchronises after the wait, without a reconnect, and the channel goes on"
wait_until 30 grep -q "did not propose its update again within 5 s; re-synchronising with it" "$SCRATCH/bob.log"
start_bg bob-pay "$PARLEY" channel pay "$channel" 2 --config "$SCRATCH/bob/node.toml"
wait_bounded "$LAST_PID" 25 "bob's payment after the stall" \
  || fail "bob's payment after the stall failed: $(cat "$SCRATCH/bob-pay.log")"
cli alice channel pay "$channel" 3 >/dev/null || fail "alice's payment after the stall failed"
[ "$(grep -c "connection closed" "$SCRATCH/bob.log" || true)" = "$closed_before" ] \
  || fail "bob's connection to alice closed: the channel was freed by a reconnect, not by re-synchronisation"

step "both agree on the channel, and its total is whole"
wait_until 10 test "$(balances_of alice "$channel" | cut -d' ' -f1)" = "$(balances_of bob "$channel" | cut -d' ' -f1)"
read -r version_a alice_mine alice_theirs <<<"$(balances_of alice "$channel")"
read -r version_b bob_mine bob_theirs <<<"$(balances_of bob "$channel")"
[ "$alice_mine $alice_theirs" = "$bob_theirs $bob_mine" ] \
  || fail "alice sees $alice_mine/$alice_theirs at v$version_a, bob $bob_mine/$bob_theirs at v$version_b"
[ $((alice_mine + alice_theirs)) = $((2 * deposit)) ] || fail "the channel holds $((alice_mine + alice_theirs)), not $((2 * deposit))"
echo "  - both at version $version_a: alice $alice_mine, bob $bob_mine"
echo "PASS silent_race_winner"
