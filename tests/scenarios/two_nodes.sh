#!/usr/bin/env bash
# Two nodes from `parley init` on one sim-chain ledger, driven only through the CLI: Alice
# proposes a channel holding ETH and TOK, Bob accepts by hand, both pay each other, an
# overdraft is refused and changes nothing, Alice settles, and each account's on-chain balance
# of each asset changes by exactly its final channel balance minus its deposit.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/nodes.sh"

step "start alice and bob"
new_node alice
new_node bob
alice_before=$(eth_balance alice)
bob_before=$(eth_balance bob)
alice_tok=$(asset_balance alice TOK)
bob_tok=$(asset_balance bob TOK)

step "alice adds bob as a peer"
cli alice peer add bob "$(node_id bob)" "$(node_addr bob)" >"$SCRATCH/peer-add.out"
assert_contains "$SCRATCH/peer-add.out" "bob"
[ "$(json alice peer list -- 'r[0]["alias"]')" = "bob" ] || fail "peer list does not show bob"

step "bob follows his node's events"
start_bg bob-events "$PARLEY" events --json --config "$SCRATCH/bob/node.toml"
sleep 0.5

step "alice proposes a channel; bob sees the proposal and accepts it"
cli alice channel open bob --mine 1000 --theirs 500 --asset ETH --with TOK:200:100 --challenge 60 --json >"$SCRATCH/open.json" 2>"$SCRATCH/open.err" &
open_pid=$!
BG_PIDS+=("$open_pid")
has_proposal() { [ "$(json bob proposal list -- 'len(r)')" = "1" ]; }
wait_until 30 has_proposal
[ "$(json bob proposal list -- 'r[0]["balances"][0]["mine"]')" = "500" ] || fail "bob's proposal shows the wrong deposit"
proposal=$(json bob proposal list -- 'r[0]["id"]')
cli bob proposal accept "$proposal" --json >"$SCRATCH/accept.json" || fail "proposal accept failed"
wait "$open_pid" || { cat "$SCRATCH/open.err" >&2; fail "channel open failed"; }
channel=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$SCRATCH/open.json")
[ "$(json alice channel show "$channel" -- 'r["phase"]')" = "active" ] || fail "the channel is not active for alice"
# Bob sees the funding on chain a moment after alice (he polls the chain).
bob_active() { [ "$(json bob channel show "$channel" -- 'r["phase"]')" = "active" ]; }
wait_until 30 bob_active
expect_balance alice "$alice_before" 1000 0
expect_balance bob "$bob_before" 500 0

step "20 payments each way in ETH, one in TOK"
for _ in $(seq 20); do
  # Base units written three ways: with the unit wei (which names ETH), bare with --asset.
  cli alice channel pay "$channel" 10wei >/dev/null || fail "alice's payment failed"
  cli bob channel pay "$channel" 3 --asset ETH >/dev/null || fail "bob's payment failed"
done
# And whole units, the unit as a word of its own: 60 base units of the 18-decimal TOK.
cli bob channel pay "$channel" 0.00000000000000006 TOK >"$SCRATCH/tok.out" || fail "bob's TOK payment failed"
assert_contains "$SCRATCH/tok.out" "paid 0.00000000000000006 TOK to"
cli alice channel show "$channel" >"$SCRATCH/show.out"
assert_contains "$SCRATCH/show.out" "ETH      0.00000000000000086 / 0.00000000000000064 (mine / theirs)"
expect_fail "$SCRATCH/ambiguous.err" cli alice channel pay "$channel" 1
assert_contains "$SCRATCH/ambiguous.err" "asset"
[ "$(json alice channel show "$channel" -- 'r["version"]')" = "41" ] || fail "alice is not at version 41"
[ "$(json alice channel show "$channel" -- 'r["balances"][1]["mine"]')" = "260" ] || fail "alice's TOK balance is wrong"
[ "$(json alice channel show "$channel" -- '(r["balances"][0]["mine"], r["balances"][0]["theirs"])')" = "('860', '640')" ] \
  || fail "alice's channel balances are wrong"
[ "$(json bob channel show "$channel" -- '(r["balances"][0]["mine"], r["balances"][0]["theirs"])')" = "('640', '860')" ] \
  || fail "bob's channel balances are wrong"

step "an overdraft is refused with a clear error and changes nothing"
expect_fail "$SCRATCH/overdraft.err" cli alice channel pay "$channel" 100000 --asset ETH
assert_contains "$SCRATCH/overdraft.err" "insufficient_funds"
assert_contains "$SCRATCH/overdraft.err" "the payment of 0.0000000000001 ETH exceeds the available balance of 0.00000000000000086 ETH"
[ "$(json alice channel show "$channel" -- 'r["version"]')" = "41" ] || fail "the refused payment changed the channel"
[ "$(json bob channel show "$channel" -- 'r["version"]')" = "41" ] || fail "the refused payment reached bob"

step "alice's metrics count her 20 payments, the active channel and the connected peer"
[ "$(metric alice 'parley_payments_total{outcome="completed"}')" = 20 ] \
  || fail "alice's metrics count $(metric alice 'parley_payments_total{outcome="completed"}') completed payments, not 20"
[ "$(metric alice 'parley_payment_seconds_count')" = 20 ] || fail "the latency histogram does not count 20 payments"
[ "$(metric alice 'parley_channels{phase="active"}')" = 1 ] || fail "alice's metrics do not show one active channel"
[ "$(metric bob 'parley_peers_connected')" = 1 ] || fail "bob's metrics do not show alice connected"

step "alice settles; both sides close and the chain pays out the final balances"
[ "$(json alice channel settle "$channel" -- 'r["phase"]')" = "closed" ] || fail "settle did not close the channel"
bob_closed() { [ "$(json bob channel show "$channel" -- 'r["phase"]')" = "closed" ]; }
wait_until 30 bob_closed
expect_balance alice "$alice_before" 1000 860
expect_balance bob "$bob_before" 500 640
expect_balance alice "$alice_tok" 200 260 TOK
expect_balance bob "$bob_tok" 100 40 TOK

step "bob's event stream saw the proposal, the updates and the phases"
events="$SCRATCH/bob-events.log"
grep -q '"kind":"proposal_received"' "$events" || fail "no proposal_received event"
[ "$(grep -c '"kind":"update_accepted"' "$events")" -ge 41 ] || fail "fewer than 41 update_accepted events"
grep -q '"to":"active"' "$events" || fail "no phase change to active"
grep -q '"to":"closed"' "$events" || fail "no phase change to closed"
echo "PASS two_nodes"
