#!/usr/bin/env bash
# Funding never completed: bob accepts alice's channel but never deposits. Alice's open fails
# after her funding timeout, `channel show` says why and that her deposit is being recovered,
# and once the chain lets her (the challenge duration passes on chain) her deposit comes back:
# her on-chain balance is exactly what it was before the open. Bob's never moved.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/nodes.sh"

deposit=1000
challenge=600
funding_timeout=10

step "start alice (funding timeout $funding_timeout s) and bob, who accepts any channel but never deposits"
new_node alice "funding_timeout_seconds = $funding_timeout"
init_node bob 'auto_accept_from = ["*"]
max_auto_deposit = "100000"'
allow_misbehaviour bob "withhold_deposits = true"
start_node bob
introduce alice bob
alice_before=$(eth_balance alice)
bob_before=$(eth_balance bob)

step "alice proposes; bob accepts; alice deposits, bob does not"
cli alice channel open bob --mine "$deposit" --theirs 500 --asset ETH --challenge "$challenge" --json \
  >"$SCRATCH/open.json" 2>"$SCRATCH/open.err" &
open_pid=$!
BG_PIDS+=("$open_pid")
has_channel() { [ "$(json alice channel list -- 'len(r)')" = 1 ]; }
wait_until 30 has_channel
channel=$(json alice channel list -- 'r[0]["id"]')
alice_deposited() { [ "$(eth_balance alice)" = "$(python3 -c "print($alice_before - $deposit)")" ]; }
wait_until 30 alice_deposited
bob_has_it() { [ "$(json bob channel list -- 'len(r)')" = 1 ]; }
wait_until 30 bob_has_it
[ "$(json bob channel list -- 'r[0]["id"]')" = "$channel" ] || fail "bob accepted a different channel than alice's $channel"

step "alice's open fails after her funding timeout, with a clear error"
if wait_bounded "$open_pid" $((funding_timeout + 60)) "channel open"; then
  fail "channel open succeeded although bob never deposited: $(cat "$SCRATCH/open.json")"
fi
grep -qi "fund" "$SCRATCH/open.err" || { cat "$SCRATCH/open.err" >&2; fail "the failed open does not mention the funding"; }
[ ! -s "$SCRATCH/open.json" ] || fail "the failed open printed a result on stdout"
expect_chain_balance bob "$bob_before" 0 0

step "alice's channel show says what happened"
phase=$(channel_of alice "$channel" 'r["phase"]')
case "$phase" in
  active | closed) fail "alice's unfunded channel is '$phase'" ;;
esac
status=$(channel_of alice "$channel" 'r.get("status") or ""')
[ -n "$status" ] || fail "alice's channel show has no status: $(channel_of alice "$channel" 'r')"
grep -qi "fund" <<<"$status" || fail "alice's status does not mention the funding: $status"
grep -qi "deposit" <<<"$status" || fail "alice's status does not mention her deposit: $status"

step "alice recovers her deposit once the chain allows it"
advanced=no
deadline=$((SECONDS + 90))
until [ "$(channel_of alice "$channel" 'r["phase"]')" = closed ]; do
  # Recovery goes through the adjudicator: once alice's record is on chain, let the challenge
  # duration pass on chain time.
  if [ "$advanced" = no ] && [ -n "$(dispute_version alice "$channel")" ]; then
    cli alice chain advance $((challenge + 1)) >/dev/null || fail "chain advance failed"
    advanced=yes
  fi
  [ $SECONDS -lt $deadline ] || fail "alice's channel is not closed after 90 s: $(channel_of alice "$channel" 'r')"
  sleep 0.2
done
expect_balance alice "$alice_before" "$deposit" "$deposit"
expect_balance bob "$bob_before" 0 0
echo "PASS funding_failure"
