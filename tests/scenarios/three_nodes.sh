#!/usr/bin/env bash
# Three nodes: channels A-B and B-C, opened with B and C accepting by [policy], used at the same
# time (A pays B while B pays C), then both settled; every on-chain balance is exact.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/nodes.sh"

auto='auto_accept_from = ["*"]
max_auto_deposit = "100000"'
step "start a, b and c (b and c accept proposals by policy)"
new_node a
new_node b "$auto"
new_node c "$auto"
a_before=$(eth_balance a); b_before=$(eth_balance b); c_before=$(eth_balance c)
cli a peer add b "$(node_id b)" "$(node_addr b)" >/dev/null
cli b peer add c "$(node_id c)" "$(node_addr c)" >/dev/null

step "open A-B and B-C at the same time"
json a channel open b --mine 5000 --theirs 100 --challenge 60 -- 'r["id"]' >"$SCRATCH/ab.id" &
ab_pid=$!; BG_PIDS+=("$ab_pid")
json b channel open c --mine 3000 --theirs 200 --challenge 60 -- 'r["id"]' >"$SCRATCH/bc.id" &
bc_pid=$!; BG_PIDS+=("$bc_pid")
wait "$ab_pid" || fail "opening A-B failed"
wait "$bc_pid" || fail "opening B-C failed"
ab=$(cat "$SCRATCH/ab.id"); bc=$(cat "$SCRATCH/bc.id")
[ -n "$ab" ] && [ -n "$bc" ] && [ "$ab" != "$bc" ] || fail "expected two channel ids, got '$ab' and '$bc'"
[ "$(json b channel list -- 'len(r)')" = "2" ] || fail "b does not list both channels"

step "A pays B 30 times while B pays C 30 times"
pay_loop() { for _ in $(seq 30); do cli "$1" channel pay "$2" "$3" >/dev/null || exit 1; done; }
pay_loop a "$ab" 7 & p1=$!; BG_PIDS+=("$p1")
pay_loop b "$bc" 11 & p2=$!; BG_PIDS+=("$p2")
wait "$p1" || fail "A's payments failed"
wait "$p2" || fail "B's payments failed"
[ "$(json b channel show "$ab" -- '(r["version"], r["balances"][0]["mine"])')" = "(30, '310')" ] || fail "A-B is wrong on b"
[ "$(json c channel show "$bc" -- '(r["version"], r["balances"][0]["mine"])')" = "(30, '530')" ] || fail "B-C is wrong on c"

step "settle both; every account gets exactly its final balance"
json a channel settle "$ab" -- 'r["phase"]' >"$SCRATCH/s1" & s1=$!; BG_PIDS+=("$s1")
json c channel settle "$bc" -- 'r["phase"]' >"$SCRATCH/s2" & s2=$!; BG_PIDS+=("$s2")
wait "$s1" || fail "settling A-B failed"
wait "$s2" || fail "settling B-C failed"
# Closed channels leave the open list for the archive (`channel list --closed`).
b_closed() { [ "$(json b channel list --closed -- 'sorted(c["phase"] for c in r)')" = "['closed', 'closed']" ] && [ "$(json b channel list -- 'len(r)')" = 0 ]; }
wait_until 30 b_closed
expect_balance a "$a_before" 5000 4790
expect_balance b "$b_before" 3100 "$((310 + 2670))"
expect_balance c "$c_before" 200 530
echo "PASS three_nodes"
