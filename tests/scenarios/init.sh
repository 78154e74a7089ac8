#!/usr/bin/env bash
# `parley init` makes node directories that `parley run` starts as they are: owner-only keys and
# token, the same node id in init's output and run's log, no secret in any output, and a second
# init that refuses and changes nothing.
source "$(dirname "$0")/../lib/common.sh"

ledger="$SCRATCH/ledger"

step "parley init writes two nodes sharing a ledger"
# alice gets a fixed port (9740 if free); init only checks a port free when it runs, so bob,
# initialised before alice runs, would get the same one: he asks for a new port at each start.
"$PARLEY" init "$SCRATCH/alice" --ledger "$ledger" >"$SCRATCH/init-alice.out" 2>&1 \
  || { cat "$SCRATCH/init-alice.out" >&2; fail "parley init alice failed"; }
"$PARLEY" init "$SCRATCH/bob" --ledger "$ledger" --listen 127.0.0.1:0 --json >"$SCRATCH/init-bob.out" 2>"$SCRATCH/init-bob.err" \
  || { cat "$SCRATCH/init-bob.err" >&2; fail "parley init bob failed"; }
assert_contains "$SCRATCH/init-alice.out" "parley run --config $SCRATCH/alice/node.toml"
id_alice=$(grep -o 'node id: *0x[0-9a-f]*' "$SCRATCH/init-alice.out" | grep -o '0x[0-9a-f]*')
[ -n "$id_alice" ] || fail "parley init does not print the node id"
listen_alice=$(grep -o 'listen: *127.0.0.1:[0-9]*' "$SCRATCH/init-alice.out" | grep -o '127.0.0.1:[0-9]*')
case "$listen_alice" in ""|*:0) fail "parley init did not fix a listen port (printed '$listen_alice')";; esac
assert_contains "$SCRATCH/alice/node.toml" "listen = \"$listen_alice\""
id_bob=$(python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["node_id"])' <"$SCRATCH/init-bob.out") \
  || fail "parley init --json is not JSON with node_id"
python3 - "$SCRATCH/init-bob.out" "$SCRATCH/bob" <<'PY' || fail "parley init --json has the wrong fields"
import json, sys
d = json.load(open(sys.argv[1]))
assert sorted(d) == ["config", "data_dir", "listen", "node_id"], d
assert d["listen"] == "127.0.0.1:0", d
assert d["config"] == sys.argv[2] + "/node.toml", d
assert d["data_dir"] == sys.argv[2] + "/data", d
PY
[ "$id_alice" != "$id_bob" ] || fail "two nodes got the same id"

for n in alice bob; do
  [ "$(stat -c %a "$SCRATCH/$n/data")" = "700" ] || fail "$n: data dir is not 0700"
  [ "$(stat -c %a "$SCRATCH/$n/data/node.key")" = "600" ] || fail "$n: node key is not 0600"
  [ "$(stat -c %a "$SCRATCH/$n/data/api.token")" = "600" ] || fail "$n: API token is not 0600"
  assert_contains "$SCRATCH/$n/node.toml" "ledger = \"$ledger\""
  assert_contains "$SCRATCH/$n/node.toml" "[api]"
  if grep -q '^\[testing\]' "$SCRATCH/$n/node.toml"; then fail "$n: init wrote a [testing] section"; fi
done

step "parley run starts each node with the id init printed, and exits 0 on SIGTERM"
for n in alice bob; do
  start_bg "run-$n" "$PARLEY" run --config "$SCRATCH/$n/node.toml"
  eval "pid_$n=$LAST_PID"
done
for n in alice bob; do
  wait_for_log "$SCRATCH/run-$n.log" "listening"
done
assert_contains "$SCRATCH/run-alice.log" "node_id=$id_alice"
assert_contains "$SCRATCH/run-bob.log" "node_id=$id_bob"
for n in alice bob; do
  pid_var="pid_$n"
  kill -TERM "${!pid_var}"
  wait "${!pid_var}" || fail "parley run ($n) exited with $? after SIGTERM"
  assert_contains "$SCRATCH/run-$n.log" "SIGTERM received, shutting down"
done

step "init again without --force refuses and changes nothing"
snapshot() { (cd "$SCRATCH/alice" && find . -path ./data/store -prune -o -type f -print0 | sort -z | xargs -0 sha256sum); }
before=$(snapshot)
expect_fail "$SCRATCH/reinit.err" "$PARLEY" init "$SCRATCH/alice" --listen 127.0.0.1:9999
assert_contains "$SCRATCH/reinit.err" "already exists"
assert_contains "$SCRATCH/reinit.err" "--force"
assert_one_line "$SCRATCH/reinit.err"
[ "$(snapshot)" = "$before" ] || fail "a refused init changed files"

step "neither the key nor the token appears in any output or log"
for n in alice bob; do
  secret=$(tr -d '\n' <"$SCRATCH/$n/data/node.key" | sed 's/^0x//')
  token=$(tr -d '\n' <"$SCRATCH/$n/data/api.token")
  [ -n "$secret" ] && [ -n "$token" ] || fail "$n: key or token is empty"
  for out in "$SCRATCH"/*.out "$SCRATCH"/*.err "$SCRATCH"/*.stdout "$SCRATCH"/*.log; do
    [ -f "$out" ] || continue
    if grep -qiF -- "$secret" "$out"; then fail "$n's node key appears in $out"; fi
    if grep -qiF -- "$token" "$out"; then fail "$n's API token appears in $out"; fi
  done
done
echo "init: ok"
