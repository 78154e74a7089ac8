#!/usr/bin/env bash
# Crash loop: during 1,000 payments from a to b, one of the two nodes is killed with kill -9 at
# a random moment and restarted at once, 20 times. After each restart the channel goes on (a
# payment succeeds). At the end both nodes agree on the channel, every payment that succeeded
# moved one unit and no more units moved than were attempted, and a cooperative settle pays
# out exactly the balances both agreed on. CRASH_SEED=N replays a run's random choices.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/nodes.sh"

rounds=20
per_round=50
a_deposit=2000
b_deposit=100
challenge=600
seed=${CRASH_SEED:-$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')}
RANDOM=$seed
echo "  (CRASH_SEED=$seed)"

# A payment that meets a dead peer fails after update_timeout_seconds.
policy='update_timeout_seconds = 2'
step "start a and b at fixed addresses; each knows the other"
# Started from subshells like the restarts below, so that no node is a child of this shell
# and bash does not report "Killed" for it (the exit trap kills them by their pid files).
for node in a b; do
  init_node "$node" "$policy"
  (start_node "$node") || fail "$node did not start"
  pin_listen "$node"
done
introduce a b
a_before=$(eth_balance a)
b_before=$(eth_balance b)

step "a opens a channel with b ($a_deposit / $b_deposit)"
open_channel a b "$a_deposit" "$b_deposit" "$challenge"
channel=$CHANNEL

attempts=0
successes=0
# pay: one payment of 1 from a to b; counts the attempt and, when the CLI says so, the success.
pay() {
  attempts=$((attempts + 1))
  if cli a channel pay "$channel" 1 >/dev/null 2>>"$SCRATCH/payment-errors.log"; then
    successes=$((successes + 1))
  else
    return 1
  fi
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }

step "$rounds rounds of $per_round payments; in each, a or b is killed at a random moment and restarted"
round_ms=1000
kills_a=0
kills_b=0
for round in $(seq "$rounds"); do
  if [ $((RANDOM % 2)) = 0 ]; then victim=a; kills_a=$((kills_a + 1)); else victim=b; kills_b=$((kills_b + 1)); fi
  # A random moment within the time a round of payments took last time.
  delay_ms=$((RANDOM * 32768 + RANDOM))
  delay_ms=$((delay_ms % round_ms))
  (
    sleep "$(printf '%d.%03d' $((delay_ms / 1000)) $((delay_ms % 1000)))"
    kill_node "$victim"
    restart_node "$victim" 60
  ) &
  killer=$!
  round_start=$(now_ms)
  failed=0
  for _ in $(seq "$per_round"); do pay || failed=$((failed + 1)); done
  if [ "$failed" = 0 ]; then round_ms=$(($(now_ms) - round_start)); fi
  wait_bounded "$killer" 90 "round $round's kill and restart of $victim" \
    || fail "round $round: killing and restarting $victim failed (see $victim.log)"
  # The channel goes on after the restart: a payment succeeds, within a generous bound.
  deadline=$((SECONDS + 60))
  until pay; do
    [ $SECONDS -lt $deadline ] \
      || fail "round $round: no payment succeeded within 60 s of $victim's restart (last error: $(tail -n 1 "$SCRATCH/payment-errors.log"))"
    sleep 0.2
  done
  echo "    round $round: killed $victim after ${delay_ms} ms; $failed of $per_round payments failed"
done
[ "$kills_a" -gt 0 ] && [ "$kills_b" -gt 0 ] || echo "  (note: this seed killed only one side: a $kills_a, b $kills_b times)"

step "both nodes agree on the channel's last state"
read -r a_version a_mine a_theirs <<<"$(balances_of a "$channel")"
read -r b_version b_mine b_theirs <<<"$(balances_of b "$channel")"
[ "$a_version $a_mine $a_theirs" = "$b_version $b_theirs $b_mine" ] \
  || fail "a sees version $a_version ($a_mine / $a_theirs), b sees version $b_version ($b_mine / $b_theirs, mine / theirs)"
[ $((a_mine + b_mine)) = $((a_deposit + b_deposit)) ] \
  || fail "the balances $a_mine + $b_mine do not sum to the deposits $((a_deposit + b_deposit))"
moved=$((b_mine - b_deposit))
echo "    $attempts payments attempted, $successes succeeded, $moved units moved, version $a_version"
[ "$successes" -le "$moved" ] || fail "$successes payments succeeded but only $moved units moved"
[ "$moved" -le "$attempts" ] || fail "$moved units moved but only $attempts payments were attempted"
# Every payment of one unit took a version of its own; versions are skipped only where a
# signed state did not become the newest (one version, one state): at most two per restart
# (the proposal it may have forgotten, the one it then dropped) and one per failed payment.
skipped=$((a_version - moved))
skip_bound=$((2 * (kills_a + kills_b) + attempts - successes))
[ "$skipped" -ge 0 ] || fail "the channel is at version $a_version but $moved units moved"
[ "$skipped" -le "$skip_bound" ] \
  || fail "the channel is at version $a_version after $moved payments: $skipped versions skipped, more than $skip_bound"
[ "$(channel_of a "$channel" 'r["phase"]')" = active ] || fail "the channel is not active on a"

step "a settles cooperatively; the chain pays out exactly those balances"
json a channel settle "$channel" -- 'r["phase"]' >"$SCRATCH/settle.out" 2>"$SCRATCH/settle.err" &
settle_pid=$!
BG_PIDS+=("$settle_pid")
# Well below the challenge duration: a settle that fell back to a dispute would not finish.
wait_bounded "$settle_pid" 60 "the cooperative settle" || { cat "$SCRATCH/settle.err" >&2; fail "settle failed"; }
[ "$(cat "$SCRATCH/settle.out")" = closed ] || fail "settle returned phase '$(cat "$SCRATCH/settle.out")', not closed"
wait_for_phase b "$channel" closed 30
expect_balance a "$a_before" "$a_deposit" "$a_mine"
expect_balance b "$b_before" "$b_deposit" "$b_mine"
echo "PASS crash_loop"
