#!/usr/bin/env bash
# A dead connection never wins over a live one. The payer is the node with the LOWER node id
# and dialed the channel's connection, which is the case where the rule for simultaneous dials
# alone would keep its own connection. Each node in turn is killed (kill -9) and started again,
# and payments resume; the payee comes back on a new port (as `parley init` configures it), so
# that only its own dial can bring the channel back. The survivor still holds the connection of the dead process; the restarted
# node's handshake shows a new incarnation, so its first connection replaces the dead one: it is
# never refused as a duplicate, and the survivor never has to find the old one dead by a probe.
# At the end a cooperative settle pays out exactly what both agree on.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/nodes.sh"

deposit=1000
challenge=600

step "start two nodes; the one with the lower node id is the payer"
new_node one
new_node two
if [[ "$(node_id one)" < "$(node_id two)" ]]; then payer=one; payee=two; else payer=two; payee=one; fi
echo "    payer: $payer ($(node_id "$payer")), payee: $payee ($(node_id "$payee"))"
introduce "$payer" "$payee"
# The payer comes back where the payee knows it; the payee's port changes at its restart.
pin_listen "$payer"
payer_before=$(eth_balance "$payer")
payee_before=$(eth_balance "$payee")

step "the payer opens a channel ($deposit / 0) and pays 5"
open_channel "$payer" "$payee" "$deposit" 0 "$challenge"
channel=$CHANNEL
cli "$payer" channel pay "$channel" 5 >/dev/null || fail "the first payment failed"
paid=5
version=1

# restart_and_pay VICTIM SURVIVOR: kill -9 VICTIM, start it again, then pay
# until a payment goes through (bounded), and check that no live connection lost to a dead one.
restart_and_pay() {
  local victim=$1 survivor=$2 victim_log="$SCRATCH/$1.log" survivor_log="$SCRATCH/$2.log"
  local victim_from survivor_from deadline
  kill_node "$victim"
  survivor_from=$(stat -c %s "$survivor_log")
  (restart_node "$victim") || fail "$victim did not restart"
  victim_from=$(stat -c %s "$victim_log")
  deadline=$((SECONDS + 60))
  until cli "$payer" channel pay "$channel" 1 >/dev/null 2>>"$SCRATCH/pay-errors.log"; do
    [ $SECONDS -lt $deadline ] \
      || fail "no payment went through within 60 s of $victim's restart (last error: $(tail -n 1 "$SCRATCH/pay-errors.log"))"
    sleep 0.2
  done
  paid=$((paid + 1))
  version=$((version + 1))
  # The restarted node was never refused in favour of the dead connection...
  if tail -c "+$((victim_from + 1))" "$victim_log" | grep -q "duplicate connection: keeping the earlier one"; then
    fail "$survivor refused $victim's new connection and kept the dead one (see $victim.log)"
  fi
  # ...so the survivor never had to find the dead one out by an unanswered probe.
  if tail -c "+$((survivor_from + 1))" "$survivor_log" | grep -q "did not answer a ping"; then
    fail "$survivor kept the dead connection until a probe failed (see $survivor.log)"
  fi
  tail -c "+$((survivor_from + 1))" "$survivor_log" | grep -q "peer restarted (a new incarnation)" \
    || fail "$survivor never saw $victim's new incarnation (see $survivor.log)"
}

step "the payer (lower id) restarts; payments resume"
restart_and_pay "$payer" "$payee"

step "the payee restarts while the payer (lower id, which dialed the old connection) survives; payments resume"
restart_and_pay "$payee" "$payer"

step "both agree; a cooperative settle pays out exactly those balances"
# Every payment took a version, and each restart spent one more (a proposal may leave before
# its record is durable): at least $version, the same on both sides.
read -r payer_version payer_balances <<<"$(balances_of "$payer" "$channel")"
read -r payee_version payee_balances <<<"$(balances_of "$payee" "$channel")"
[ "$payer_balances" = "$((deposit - paid)) $paid" ] && [ "$payer_version" -ge "$version" ] \
  || fail "the payer sees '$(balances_of "$payer" "$channel")', expected version $version or later with $((deposit - paid)) $paid"
[ "$payee_balances" = "$paid $((deposit - paid))" ] && [ "$payee_version" = "$payer_version" ] \
  || fail "the payee sees '$(balances_of "$payee" "$channel")', expected version $payer_version with $paid $((deposit - paid))"
[ "$(json "$payer" channel settle "$channel" -- 'r["phase"]')" = closed ] || fail "the settle did not close the channel"
wait_for_phase "$payee" "$channel" closed 60
expect_balance "$payer" "$payer_before" "$deposit" $((deposit - paid))
expect_balance "$payee" "$payee_before" 0 "$paid"
echo "PASS restart_lower_id"
