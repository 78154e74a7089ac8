#!/usr/bin/env bash
# Two `parley` processes on one machine share one sim-chain ledger: a deposit made by one is
# visible to the other, also while two nodes run on the same ledger at once.
source "$(dirname "$0")/../lib/common.sh"

ledger="$SCRATCH/ledger"
write_config "$SCRATCH/a/node.toml" "$SCRATCH/a/data"
write_config "$SCRATCH/b/node.toml" "$SCRATCH/b/data"
for n in a b; do
  sed -i "s#^block_time = 0#block_time = 0\nledger = \"$ledger\"#" "$SCRATCH/$n/node.toml"
done

step "both nodes run at once on the shared ledger"
start_bg node-a "$PARLEY" run --config "$SCRATCH/a/node.toml"
pid_a=$LAST_PID
start_bg node-b "$PARLEY" run --config "$SCRATCH/b/node.toml"
pid_b=$LAST_PID
wait_for_log "$SCRATCH/node-a.log" "listening"
wait_for_log "$SCRATCH/node-b.log" "listening"

addr_a=$("$PARLEY" chain --config "$SCRATCH/a/node.toml" --json accounts | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["address"])')
addr_b=$("$PARLEY" chain --config "$SCRATCH/b/node.toml" --json accounts | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["address"])')
[ "$addr_a" != "$addr_b" ] || fail "both nodes have the same account"
channel=0x$(printf 'ab%.0s' $(seq 32))

# chain_amount CONFIG ARGS...: the base-unit amount a `parley chain` read gives in --json.
chain_amount() {
  local config=$1; shift
  "$PARLEY" chain --config "$config" --json "$@" | python3 -c 'import json,sys; print(json.load(sys.stdin)["amount"])'
}

step "A deposits 12345 wei; B sees A's holding and A's balance"
before=$(chain_amount "$SCRATCH/b/node.toml" balance --address "$addr_a" --asset ETH)
"$PARLEY" chain --config "$SCRATCH/a/node.toml" deposit --channel "$channel" --amount 12345wei >"$SCRATCH/deposit.out"
assert_contains "$SCRATCH/deposit.out" "deposited 0.000000000000012345 ETH for"
seen=$(chain_amount "$SCRATCH/b/node.toml" holdings --channel "$channel" --participant "$addr_a" --asset ETH)
[ "$seen" = "12345" ] || fail "B sees holding $seen, expected 12345"
seen=$("$PARLEY" chain --config "$SCRATCH/b/node.toml" holdings --channel "$channel" --participant "$addr_a" --asset ETH)
[ "$seen" = "0.000000000000012345 ETH" ] || fail "B shows holding $seen, expected 0.000000000000012345 ETH"
after=$(chain_amount "$SCRATCH/b/node.toml" balance --address "$addr_a" --asset ETH)
python3 -c "import sys; sys.exit(0 if $before - $after == 12345 else 1)" || fail "A's balance went $before -> $after"

step "B deposits too; A sees it"
"$PARLEY" chain --config "$SCRATCH/b/node.toml" deposit --channel "$channel" --amount 7 --asset TOK >/dev/null
seen=$(chain_amount "$SCRATCH/a/node.toml" holdings --channel "$channel" --participant "$addr_b" --asset TOK)
[ "$seen" = "7" ] || fail "A sees holding $seen, expected 7"

step "chain time advanced through one process is seen by the other"
t0=$("$PARLEY" chain --config "$SCRATCH/a/node.toml" now)
"$PARLEY" chain --config "$SCRATCH/a/node.toml" advance 3600 >/dev/null
t1=$("$PARLEY" chain --config "$SCRATCH/b/node.toml" now)
[ $((t1 - t0)) -eq 3600 ] || fail "chain time moved by $((t1 - t0)), expected 3600"

step "an overdraft is refused with a clear error and changes nothing"
expect_fail "$SCRATCH/overdraft.err" "$PARLEY" chain --config "$SCRATCH/a/node.toml" deposit --channel "$channel" --amount 999999999999999999999999999999 --asset ETH
assert_contains "$SCRATCH/overdraft.err" "deposit"
seen=$(chain_amount "$SCRATCH/b/node.toml" holdings --channel "$channel" --participant "$addr_a" --asset ETH)
[ "$seen" = "12345" ] || fail "holding changed to $seen after a refused deposit"

kill -TERM "$pid_a" "$pid_b"
wait "$pid_a" || fail "node A exited with $?"
wait "$pid_b" || fail "node B exited with $?"
echo "shared_ledger: ok"
