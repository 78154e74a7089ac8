#!/usr/bin/env bash
# The `parley` commands that talk to a running node: info, peer add/list and balance print
# readable text by default and one JSON document with --json; bad command lines are refused
# before anything is sent (a spy listener posing as a node sees no connection); a wrong token
# is refused as `unauthorized`; node errors keep their category and code; a stopped node is
# reported with how to start it. Errors go to stderr, stdout stays empty.
source "$(dirname "$0")/../lib/common.sh"

ID_AB="0x$(printf 'ab%.0s' $(seq 32))"
PEER_ID="0x0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"  # 1·G: nobody here
PREFUND=4242000

# json_eval FILE PYTHON_EXPR: evaluates EXPR on the JSON document in FILE (bound as `r`); the
# file must hold exactly one document.
json_eval() {
  python3 - "$1" "$2" <<'PY'
import json, sys
r = json.loads(open(sys.argv[1]).read())
print(eval(sys.argv[2]))
PY
}

# expect_usage_error NAME TEXT ARGS...: parley ARGS must fail with exit status 2 (a wrong
# command line, README "Exit status"), print nothing on stdout and name the problem (TEXT) on
# stderr.
expect_usage_error() {
  local name=$1 text=$2; shift 2
  expect_exit 2 "$SCRATCH/$name.err" "$PARLEY" "$@"
  [ ! -s "$SCRATCH/$name.err.stdout" ] || fail "parley $* printed on stdout"
  head -n 1 "$SCRATCH/$name.err" | grep -q '^error: ' || { cat "$SCRATCH/$name.err" >&2; fail "parley $*: no 'error:' line"; }
  assert_contains "$SCRATCH/$name.err" "$text"
}

step "parley init a node with a known prefund and run it until the API listens"
"$PARLEY" init "$SCRATCH/alice" --ledger "$SCRATCH/ledger" --api-listen 127.0.0.1:0 \
  >"$SCRATCH/init.out" 2>&1 || { cat "$SCRATCH/init.out" >&2; fail "parley init failed"; }
node_id=$(grep -o 'node id: *0x[0-9a-f]*' "$SCRATCH/init.out" | grep -o '0x[0-9a-f]*')
[ -n "$node_id" ] || fail "parley init does not print the node id"
printf '\n[chain.prefund]\nETH = "%s"\n' "$PREFUND" >>"$SCRATCH/alice/node.toml"
CONFIG="$SCRATCH/alice/node.toml"
start_bg run "$PARLEY" run --config "$CONFIG"
node_pid=$LAST_PID
wait_for_log "$SCRATCH/run.log" "API listening address="

step "info: the node id in text and in JSON"
"$PARLEY" info --config "$CONFIG" >"$SCRATCH/info.out" 2>"$SCRATCH/info.err" || { cat "$SCRATCH/info.err" >&2; fail "parley info failed"; }
assert_contains "$SCRATCH/info.out" "node $node_id"
assert_contains "$SCRATCH/info.out" "transport"
[ ! -s "$SCRATCH/info.err" ] || { cat "$SCRATCH/info.err" >&2; fail "parley info wrote to stderr"; }
"$PARLEY" info --config "$CONFIG" --json >"$SCRATCH/info.json" || fail "parley info --json failed"
[ "$(json_eval "$SCRATCH/info.json" 'r["node_id"]')" = "$node_id" ] || { cat "$SCRATCH/info.json" >&2; fail "info --json has another node id"; }
# PARLEY_CONFIG names the config instead of --config (from any directory).
(cd / && PARLEY_CONFIG="$CONFIG" "$PARLEY" info --json) >"$SCRATCH/info-env.json" || fail "parley info with PARLEY_CONFIG failed"
[ "$(json_eval "$SCRATCH/info-env.json" 'r["node_id"]')" = "$node_id" ] || fail "PARLEY_CONFIG did not name the node's config"

step "peer add without an address, for a node that never connected in, says what to give"
expect_exit 1 "$SCRATCH/add-no-address.err" "$PARLEY" peer add bob "$PEER_ID" --config "$CONFIG"
assert_contains "$SCRATCH/add-no-address.err" "never connected in"
assert_contains "$SCRATCH/add-no-address.err" "<node id>@<host:port>"
[ "$("$PARLEY" peer list --json --config "$CONFIG")" = "[]" ] || fail "a refused peer add saved the peer"

step "peer add, then peer list shows the alias (text and JSON)"
"$PARLEY" peer add bob "$PEER_ID" 127.0.0.1:4999 --config "$CONFIG" >"$SCRATCH/add.out" \
  || fail "parley peer add failed"
assert_contains "$SCRATCH/add.out" "added peer bob"
assert_contains "$SCRATCH/add.out" "$PEER_ID"
"$PARLEY" peer list --config "$CONFIG" >"$SCRATCH/peers.out" || fail "parley peer list failed"
grep -qE "^bob +$PEER_ID +127\.0\.0\.1:4999 " "$SCRATCH/peers.out" \
  || { cat "$SCRATCH/peers.out" >&2; fail "peer list does not show bob on one aligned row"; }
"$PARLEY" --verbose peer --json list --config "$CONFIG" >"$SCRATCH/peers.json" || fail "parley peer list --json failed"
[ "$(json_eval "$SCRATCH/peers.json" '[(p["alias"], p["node_id"]) for p in r] == [("bob", "'"$PEER_ID"'")]')" = "True" ] \
  || { cat "$SCRATCH/peers.json" >&2; fail "peer list --json does not hold bob"; }

step "balance prints the prefunded amount"
"$PARLEY" balance --config "$CONFIG" >"$SCRATCH/balance.out" || fail "parley balance failed"
# In whole ETH (18 decimals on the sim chain), exactly: 4242000 wei.
grep -qE "^ETH +0\.000000000004242$" "$SCRATCH/balance.out" || { cat "$SCRATCH/balance.out" >&2; fail "balance does not show ETH 0.000000000004242"; }
"$PARLEY" balance --asset ETH --json --config "$CONFIG" >"$SCRATCH/balance.json" || fail "parley balance --json failed"
[ "$(json_eval "$SCRATCH/balance.json" 'r == [{"asset": "ETH", "amount": "'"$PREFUND"'"}]')" = "True" ] \
  || { cat "$SCRATCH/balance.json" >&2; fail "balance --json is not [ETH $PREFUND]"; }

step "a node error keeps its category and code (exit status 1); with --json it is one JSON document on stderr"
expect_exit 1 "$SCRATCH/nope.err" "$PARLEY" balance --asset NOPE --json --config "$CONFIG"
[ ! -s "$SCRATCH/nope.err.stdout" ] || fail "an error printed on stdout with --json"
assert_one_line "$SCRATCH/nope.err"
[ "$(json_eval "$SCRATCH/nope.err" '(r["error"]["category"], r["error"]["code"], r["error"]["message"].startswith("invalid_argument (1001): "))')" = "('invalid_argument', 1001, True)" ] \
  || { cat "$SCRATCH/nope.err" >&2; fail "the --json error is not {error: {category, code, message}}"; }
expect_exit 1 "$SCRATCH/nope-text.err" "$PARLEY" balance --asset NOPE --config "$CONFIG"
assert_contains "$SCRATCH/nope-text.err" "error: invalid_argument (1001):"
expect_exit 1 "$SCRATCH/notfound.err" "$PARLEY" channel show "$ID_AB" --config "$CONFIG"
assert_contains "$SCRATCH/notfound.err" "error: not_found (1002):"
assert_one_line "$SCRATCH/notfound.err"

step "a command line only the node's chain shows is wrong (a unit it has no asset of) exits with 2 too"
expect_exit 2 "$SCRATCH/unit.err" "$PARLEY" channel open "$PEER_ID" --mine 1FOO --theirs 0 --config "$CONFIG"
assert_contains "$SCRATCH/unit.err" "\`FOO\` is not a unit of this chain"

step "shell completions: a bash script that registers itself and knows the commands"
"$PARLEY" completions bash >"$SCRATCH/parley.bash" || fail "parley completions bash failed"
bash -c "source '$SCRATCH/parley.bash' && complete -p parley" | grep -q "_parley parley" \
  || fail "the bash completion script does not register itself"
grep -q "settle" "$SCRATCH/parley.bash" || fail "the completion script does not know channel settle"
"$PARLEY" completions zsh | grep -q "#compdef parley" || fail "parley completions zsh is no zsh completion"

step "bad command lines are refused before anything is sent"
# A spy posing as a node: its data dir has a token and an api.addr pointing at a listener that
# records every connection.
"$PARLEY" init "$SCRATCH/spy" --api-listen 127.0.0.1:0 >/dev/null 2>&1 || fail "parley init spy failed"
start_bg spy python3 -c '
import os, socket, sys
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(16)
with open(sys.argv[1] + ".tmp", "w") as f: f.write("127.0.0.1:%d\n" % s.getsockname()[1])
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
while True:
    c, _ = s.accept()
    with open(sys.argv[2], "a") as f: f.write("connection\n")
    c.close()
' "$SCRATCH/spy/data/api.addr" "$SCRATCH/spy.connections"
spy_pid=$LAST_PID
for _ in $(seq 100); do [ -s "$SCRATCH/spy/data/api.addr" ] && break; sleep 0.1; done
[ -s "$SCRATCH/spy/data/api.addr" ] || fail "the spy listener did not start"
SPY="$SCRATCH/spy/node.toml"
expect_usage_error amount "\`ten\` is not an amount" channel pay "$ID_AB" ten --config "$SPY"
expect_usage_error negative "\`-5\` is not an amount" channel pay "$ID_AB" -5 --config "$SPY"
expect_usage_error zero "more than zero" channel pay "$ID_AB" 0 --config "$SPY"
expect_usage_error mine "\`1.5\` is not an amount without a unit" channel open bob --mine 1.5 --theirs 1 --config "$SPY"
expect_usage_error mine_zero "both zero" channel open bob --mine 0ETH --theirs 0 --config "$SPY"
expect_usage_error both "both zero" channel open bob --mine 0 --theirs 0 --config "$SPY"
expect_usage_error challenge "at least 1 second" channel open bob --mine 1 --theirs 1 --challenge 0 --config "$SPY"
expect_usage_error short_id "too short to name a channel" channel show 0x123 --config "$SPY"
expect_usage_error long_id "65 hex digits" channel show "${ID_AB}a" --config "$SPY"
expect_usage_error short_proposal "too short to name a proposal" proposal accept 0x12 --config "$SPY"
expect_usage_error hex "not a hex digit" proposal accept "0x$(printf 'zz%.0s' $(seq 32))" --config "$SPY"
expect_usage_error node_id "0x followed by 66 hex digits" peer add carol 0x1234 127.0.0.1:1 --config "$SPY"
expect_usage_error alias "kept for node ids" peer add 0xcarol "$PEER_ID" 127.0.0.1:1 --config "$SPY"
expect_usage_error address "has no port" peer add carol "$PEER_ID" "not an address" --config "$SPY"
expect_usage_error port0 "port 0" peer add carol "$PEER_ID" 127.0.0.1:0 --config "$SPY"
expect_usage_error unknown "unrecognized subcommand 'frobnicate'" frobnicate --config "$SPY"
expect_usage_error unknown_sub "unrecognized subcommand 'frobnicate'" channel frobnicate --config "$SPY"
[ ! -e "$SCRATCH/spy.connections" ] || fail "a refused command line reached the node"
# The control: a good command line does reach the spy (which answers nothing useful).
expect_fail "$SCRATCH/spy_info.err" "$PARLEY" info --config "$SPY"
[ -s "$SCRATCH/spy.connections" ] || fail "the spy saw no connection; the check above proves nothing"
kill "$spy_pid"
wait "$spy_pid" 2>/dev/null || true

step "a wrong token is refused with unauthorized"
"$PARLEY" init "$SCRATCH/mallory" --api-listen 127.0.0.1:0 >/dev/null 2>&1 || fail "parley init mallory failed"
cp "$SCRATCH/alice/data/api.addr" "$SCRATCH/mallory/data/api.addr"
expect_exit 1 "$SCRATCH/token.err" "$PARLEY" info --json --config "$SCRATCH/mallory/node.toml"
[ ! -s "$SCRATCH/token.err.stdout" ] || fail "an unauthorized call printed on stdout"
assert_contains "$SCRATCH/token.err" '"category":"unauthorized","code":1000'
assert_contains "$SCRATCH/token.err" "$SCRATCH/mallory/data/api.token"
assert_one_line "$SCRATCH/token.err"

step "parley stop stops it cleanly (exit 0, api.addr gone); stopping it again says it is not running"
"$PARLEY" stop --config "$CONFIG" >"$SCRATCH/stop.out" 2>&1 || { cat "$SCRATCH/stop.out" >&2; fail "parley stop failed"; }
assert_contains "$SCRATCH/stop.out" "stopped (pid $node_pid)"
wait "$node_pid" || fail "parley run exited with $? after parley stop"
[ ! -e "$SCRATCH/alice/data/api.addr" ] || fail "api.addr is still there after parley stop"
"$PARLEY" stop --config "$CONFIG" >"$SCRATCH/stop-again.out" 2>&1 || fail "parley stop of a stopped node failed"
assert_contains "$SCRATCH/stop-again.out" "not running"

step "a stopped node is reported with how to start it"
expect_exit 1 "$SCRATCH/stopped.err" "$PARLEY" info --config "$CONFIG"
assert_contains "$SCRATCH/stopped.err" "the node is not running"
assert_contains "$SCRATCH/stopped.err" "start it with \`parley run --config $CONFIG\`"
assert_one_line "$SCRATCH/stopped.err"

echo "cli_basics: ok"
