#!/usr/bin/env bash
# What the node and the CLI refuse, each with a clear error, and that nothing changes: a
# rejected proposal, an unknown peer, a wrong channel id, malformed CLI input, an API call
# without the right token.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/nodes.sh"

new_node alice
new_node bob
alice_before=$(eth_balance alice); bob_before=$(eth_balance bob)
cli alice peer add bob "$(node_id bob)" "$(node_addr bob)" >/dev/null

step "bob rejects alice's proposal; alice's open fails with the reason"
cli alice channel open bob --mine 100 --theirs 100 2>"$SCRATCH/open.err" >/dev/null &
open_pid=$!; BG_PIDS+=("$open_pid")
has_proposal() { [ "$(json bob proposal list -- 'len(r)')" = "1" ]; }
wait_until 30 has_proposal
# By the start of its id, as people type it.
cli bob proposal reject "$(json bob proposal list -- 'r[0]["id"][:10]')" --reason "not today" >/dev/null \
  || fail "proposal reject failed"
if wait "$open_pid"; then fail "channel open succeeded although bob rejected"; fi
assert_contains "$SCRATCH/open.err" "rejected_by_peer"
assert_contains "$SCRATCH/open.err" "not today"
[ "$(json bob proposal list -- 'len(r)')" = "0" ] || fail "the rejected proposal is still listed"

step "an unknown peer"
expect_fail "$SCRATCH/unknown-peer.err" cli alice channel open carol --mine 1 --theirs 1
assert_contains "$SCRATCH/unknown-peer.err" "not_found"
assert_contains "$SCRATCH/unknown-peer.err" "peer add"

step "a wrong channel id"
missing=0x$(printf '%064d' 7)
expect_fail "$SCRATCH/wrong-id.err" cli alice channel pay "$missing" 5
assert_contains "$SCRATCH/wrong-id.err" "not_found"
expect_fail "$SCRATCH/wrong-show.err" cli alice channel show "$missing"
assert_contains "$SCRATCH/wrong-show.err" "not_found"
expect_fail "$SCRATCH/wrong-settle.err" cli alice channel settle "$missing"
assert_contains "$SCRATCH/wrong-settle.err" "not_found"

step "malformed input is refused by the CLI itself"
expect_fail "$SCRATCH/bad-id.err" cli alice channel pay 0x1234 5
assert_one_line_or_usage() { grep -qi "channel id\|0x" "$1" || { cat "$1" >&2; fail "$1 does not explain the id"; }; }
assert_one_line_or_usage "$SCRATCH/bad-id.err"
expect_fail "$SCRATCH/bad-amount.err" cli alice channel pay "$missing" ten
assert_contains "$SCRATCH/bad-amount.err" "ten"
expect_fail "$SCRATCH/neg-amount.err" cli alice channel pay "$missing" -- -5
expect_fail "$SCRATCH/no-peer.err" cli alice channel open --mine 1 --theirs 1
expect_fail "$SCRATCH/bad-cmd.err" cli alice channel teleport

step "a call with the wrong token is refused"
token="$SCRATCH/alice/data/api.token"
cp "$token" "$SCRATCH/token.saved"
chmod u+w "$token"; printf '%064d\n' 0 >"$token"
expect_fail "$SCRATCH/bad-token.err" cli alice channel list
cp "$SCRATCH/token.saved" "$token"
assert_contains "$SCRATCH/bad-token.err" "unauthorized"

step "nothing changed"
[ "$(json alice channel list -- 'len(r)')" = "0" ] || fail "alice has a channel"
[ "$(json bob channel list -- 'len(r)')" = "0" ] || fail "bob has a channel"
expect_balance alice "$alice_before" 0 0
expect_balance bob "$bob_before" 0 0
echo "PASS refusals"
