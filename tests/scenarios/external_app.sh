#!/usr/bin/env bash
# An app plugin built outside the workspace against plugin-api alone (tests/external-plugins/
# counter-race: race a shared counter to a goal, adding 1 to 3 a turn; the winner takes the pot)
# passes `parley plugin check`, and two nodes that list it in [[apps]] play it through the
# unmodified `parley` binary: the app's rules refuse a move out of turn, too big or past the
# goal with their reason; the winning move is final and the chain pays exactly what the app
# said; a race stopped half way settles cooperatively with the stakes back. A node without the
# app refuses a channel that names it.
#
# Sim chain only: the app has no Ethereum contract (the sim chain takes its rules from the
# node's plugin), so PARLEY_CHAIN is fixed here and run-all.sh's anvil pass leaves it out.
source "$(dirname "$0")/../lib/common.sh"
PARLEY_CHAIN=sim; source "$(dirname "$0")/../lib/nodes.sh"

race="$EXTERNAL_DIR/libparley_counter_race.so"
[ -f "$race" ] || fail "external plugins missing: run tests/lib/build-external-plugins.sh"
# Any 20 bytes name the app on the sim chain; both nodes must name it the same.
race_address="0x00000000000000000000000000000000c0de0021"

step "the external app passes parley plugin check"
"$PARLEY" plugin check "$race" >"$SCRATCH/check.log" 2>&1 || { cat "$SCRATCH/check.log"; fail "check failed"; }
assert_contains "$SCRATCH/check.log" "plugin       counter-race 0.1.0"
assert_contains "$SCRATCH/check.log" "kind         app"
assert_contains "$SCRATCH/check.log" "conformance: 8 passed, 0 failed"

step "alice and bob list it in [[apps]] by path for chain 1337; carol does not"
for name in alice bob; do
  init_node "$name"
  printf '[[apps]]\nplugin = "%s"\n[apps.addresses]\n1337 = "%s"\n' "$race" "$race_address" \
    >>"$SCRATCH/$name/node.toml"
  start_node "$name"
done
new_node carol
introduce alice bob
introduce alice carol
assert_contains "$SCRATCH/alice.log" "loaded app plugin \`counter-race\` 0.1.0"
[ "$(json alice info -- '" ".join(a["name"] for a in r["apps"])')" = "tictactoe hashlock counter-race" ] \
  || fail "alice does not list the counter race after the built-in apps"
alice_before=$(eth_balance alice)
bob_before=$(eth_balance bob)

step "carol, without the app, refuses a race with the reason"
if cli alice channel open carol --mine 5 --theirs 5 --asset ETH --challenge 60 --app counter-race \
    >"$SCRATCH/carol-open.out" 2>&1; then
  fail "carol accepted a channel running an app she does not have"
fi
grep -q "does not have" "$SCRATCH/carol-open.out" || { cat "$SCRATCH/carol-open.out"; fail "the refusal does not say carol lacks the app"; }

step "alice (7) and bob (5) race to 10; bob adds first"
open_channel alice bob 7 5 60 --app counter-race --app-setup '{"goal": 10, "first": 1}'
game=$CHANNEL
[ "$(channel_of bob "$game" 'r["app"]["name"]')" = counter-race ] || fail "bob does not see the app"
opening=$(channel_of alice "$game" 'json.dumps(r["app"]["state"], sort_keys=True, separators=(",", ":"))')
[ "$opening" = '{"count":0,"goal":10,"over":false,"turn":1,"winner":null}' ] \
  || fail "the opening position $opening is not a race to 10 with bob first"

# add NAME N: NAME adds N; the count both sides see afterwards is checked by the caller.
add() {
  cli "$1" channel move "$game" "{\"add\": $2}" >"$SCRATCH/move.out" 2>&1 \
    || { cat "$SCRATCH/move.out"; fail "$1 could not add $2"; }
}
# refused NAME ACTION REASON: NAME's move ACTION is refused, saying REASON; nothing changes.
refused() {
  local version
  version=$(channel_of "$1" "$game" 'r["version"]')
  if cli "$1" channel move "$game" "$2" >"$SCRATCH/refused.out" 2>&1; then
    fail "$1's move $2 was accepted"
  fi
  grep -qF "$3" "$SCRATCH/refused.out" || { cat "$SCRATCH/refused.out"; fail "the refusal of $2 does not say '$3'"; }
  [ "$(channel_of "$1" "$game" 'r["version"]')" = "$version" ] || fail "a refused move changed the channel"
}
count() { channel_of "$1" "$game" 'r["app"]["state"]["count"]'; }

step "the rules refuse out of turn, too big, malformed and past the goal; bob 3, alice 3, bob 2"
refused alice '{"add": 1}' "not your turn (participant 1 adds next, not 0)"
add bob 3
refused bob '{"add": 1}' "not your turn"
refused alice '{"add": 4}' "a move adds 1 to 3, not 4"
refused alice '{"add": "two"}' 'expected {"add": n} with n from 1 to 3'
add alice 3
add bob 2
[ "$(count alice)" = 8 ] && [ "$(count bob)" = 8 ] || fail "the count is not 8 on both sides"
refused alice '{"add": 3}' "adding 3 passes the goal 10 (the count is 8; add at most 2)"

step "alice adds 2, reaches 10 and wins the pot of 12"
add alice 2
[ "$(channel_of bob "$game" 'r["app"]["state"]["winner"]')" = 0 ] || fail "bob does not see alice win"
[ "$(channel_of bob "$game" '" ".join(r["balances"][0]["by_participant"])')" = "12 0" ] \
  || fail "the final state does not give alice the pot"

step "the final state settles on chain by itself: alice is paid 12, bob 0"
wait_for_phase alice "$game" closed 60
wait_for_phase bob "$game" closed 60
expect_balance alice "$alice_before" 7 12
expect_balance bob "$bob_before" 5 0

step "a second race stopped after one move settles cooperatively: the stakes come back"
alice_before=$(eth_balance alice)
bob_before=$(eth_balance bob)
open_channel alice bob 4 6 60 --app counter-race
game=$CHANNEL
add alice 1
cli alice channel settle "$game" >"$SCRATCH/settle.out" 2>&1 || { cat "$SCRATCH/settle.out"; fail "alice could not settle the race"; }
assert_contains "$SCRATCH/settle.out" "settled: the chain paid out the final balances"
wait_for_phase bob "$game" closed 60
expect_balance alice "$alice_before" 4 4
expect_balance bob "$bob_before" 6 6
echo "PASS external_app"
