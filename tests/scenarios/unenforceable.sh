#!/usr/bin/env bash
# A malicious peer offers what an honest node cannot enforce. Mallory's [testing] switches make
# her node put an app, a locked sub-allocation or the virtual flag into the proposals it sends,
# and later lock funds or change the app data in the updates it proposes (signed, so only the
# rule refuses them). Bob accepts any proposal by his [policy], so nothing but the protocol's
# rule stands between such a proposal and his deposit. Each is refused with its reason, which
# mallory's own command prints; no deposit is made for a refused proposal and no refused update
# moves a coin: both on-chain balances are checked exactly, through a final cooperative settle.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/nodes.sh"

deposit=100
challenge=600

# restart_with NAME [SWITCH...]: (re)start NAME with a [testing] section that allows
# misbehaviour and turns on exactly these switches (replacing the section it had).
restart_with() {
  local name=$1; shift
  if node_pid "$name" >/dev/null; then kill_node "$name"; fi
  python3 - "$SCRATCH/$name/node.toml" "$@" <<'PY'
import re, sys
path, switches = sys.argv[1], sys.argv[2:]
text = open(path).read()
text = re.sub(r"(?ms)^\[testing\]\n.*?(?=^\[|\Z)", "", text).rstrip() + "\n"
text += "\n[testing]\nallow_misbehaviour = true\n" + "".join(f"{s} = true\n" for s in switches)
open(path, "w").write(text)
PY
  (start_node "$name") || fail "$name did not start"
}

step "start bob (accepts any proposal up to 1000 units by [policy]) and mallory"
new_node bob 'auto_accept_from = ["*"]
max_auto_deposit = "1000"'
init_node mallory
restart_with mallory
pin_listen mallory
introduce mallory bob
mallory_before=$(eth_balance mallory)
bob_before=$(eth_balance bob)

# proposal_refused SWITCH REASON: mallory proposes with SWITCH on; bob refuses with REASON,
# which mallory's `channel open` prints, and nobody deposits anything.
proposal_refused() {
  local switch=$1 reason=$2 err="$SCRATCH/open-$1.err"
  step "mallory proposes with [testing] $switch: refused with the reason, nothing deposited"
  restart_with mallory "$switch"
  expect_fail "$err" cli mallory channel open bob --mine "$deposit" --theirs "$deposit" \
    --asset ETH --challenge "$challenge"
  assert_contains "$err" "rejected_by_peer"
  assert_contains "$err" "$reason"
  [ "$(json bob channel list -- 'len(r)')" = 0 ] || fail "bob opened a channel for mallory's $switch proposal"
  [ "$(json bob proposal list -- 'len(r)')" = 0 ] || fail "bob keeps mallory's $switch proposal"
  [ "$(json mallory channel list -- 'len(r)')" = 0 ] || fail "mallory has a channel after her $switch proposal"
  expect_balance mallory "$mallory_before" 0 0
  expect_balance bob "$bob_before" 0 0
}
proposal_refused propose_app "the proposal names app 0x"
proposal_refused propose_locked "the proposal locks funds in 1 sub-channel(s)"
proposal_refused propose_virtual "the proposal is for a virtual channel"

step "carol, who answers by hand, lists mallory's honest proposal with every term"
restart_with mallory
new_node carol
introduce mallory carol
cli mallory channel open carol --mine 7 --theirs 3 --asset ETH --challenge 900 >/dev/null 2>&1 &
carol_open=$!
BG_PIDS+=("$carol_open")
has_proposal() { [ "$(json carol proposal list -- 'len(r)')" = 1 ]; }
wait_until 30 has_proposal
terms=$(json carol proposal list -- '(r[0]["app"], r[0]["app_data"], r[0]["locked"], r[0]["ledger_channel"], r[0]["virtual_channel"], r[0]["challenge_seconds"], r[0]["balances"][0]["mine"], r[0]["balances"][0]["theirs"], r[0]["proposer_alias"], r[0]["expires_at"] > 0)')
[ "$terms" = "(None, '0x', [], True, False, 900, '3', '7', 'mallory', True)" ] \
  || fail "carol's proposal list shows '$terms'"
cli carol proposal list >"$SCRATCH/carol-proposals.txt"
assert_contains "$SCRATCH/carol-proposals.txt" "KIND"
assert_contains "$SCRATCH/carol-proposals.txt" "payment"
cli carol proposal reject "$(json carol proposal list -- 'r[0]["id"]')" >/dev/null || fail "carol could not reject"
wait "$carol_open" && fail "mallory's open succeeded although carol rejected"

step "mallory, honest again, opens a channel with bob ($deposit each) and pays 10"
channel=$(json mallory channel open bob --mine "$deposit" --theirs "$deposit" --asset ETH \
  --challenge "$challenge" -- 'r["id"]')
wait_for_phase bob "$channel" active 30
cli mallory channel pay "$channel" 10 >/dev/null || fail "mallory's honest payment failed"
[ "$(balances_of bob "$channel")" = "1 110 90" ] || fail "bob sees '$(balances_of bob "$channel")', expected '1 110 90'"

# update_refused SWITCH REASON: mallory pays with SWITCH on; bob refuses with REASON, which
# mallory's `channel pay` prints, and the channel stays at version 1.
update_refused() {
  local switch=$1 reason=$2 err="$SCRATCH/pay-$1.err"
  step "mallory pays with [testing] $switch: refused with the reason, nothing moves"
  restart_with mallory "$switch"
  expect_fail "$err" cli mallory channel pay "$channel" 5
  assert_contains "$err" "rejected_by_peer"
  assert_contains "$err" "$reason"
  [ "$(balances_of bob "$channel")" = "1 110 90" ] || fail "bob sees '$(balances_of bob "$channel")' after the refused update"
  [ "$(balances_of mallory "$channel")" = "1 90 110" ] || fail "mallory sees '$(balances_of mallory "$channel")' after the refused update"
}
update_refused update_locked "this node holds no fully signed opening state of it"
update_refused update_app_data "the app data cannot change"

step "bob settles cooperatively; the chain pays out version 1 exactly"
restart_with mallory
[ "$(json bob channel settle "$channel" -- 'r["phase"]')" = closed ] || fail "bob's settle did not close the channel"
wait_for_phase mallory "$channel" closed 60
expect_balance mallory "$mallory_before" "$deposit" 90
expect_balance bob "$bob_before" "$deposit" 110
echo "PASS unenforceable"
