#!/usr/bin/env bash
# `parley demo`: two nodes started as child processes open a channel, pay both ways and
# settle, and the chain pays out exactly the final balances. The demo leaves no process and no
# file behind: after a normal run, after Ctrl-C (SIGINT), and when one of its nodes dies.
source "$(dirname "$0")/../lib/common.sh"

# The demo makes its directory under $TMPDIR: here, so whatever it leaves behind is seen.
export TMPDIR="$SCRATCH/tmp"
mkdir -p "$TMPDIR"

# workspace_of FILE: the directory the demo announced in its first line.
workspace_of() { sed -n 's/^parley demo: workspace \(.*\) (logs.*/\1/p' "$1" | head -n 1; }

# pid_of NAME FILE: the pid the demo printed for node NAME.
pid_of() { sed -n "s/^  $1 *pid \([0-9]*\) .*/\1/p" "$2" | head -n 1; }

# nodes_under DIR: pids of `parley run` processes whose config lies under DIR.
nodes_under() { pgrep -f -- "run --config $1/" || true; }

# assert_cleaned_up WORKSPACE PID...: the directory is gone and none of the nodes runs.
assert_cleaned_up() {
  local workspace=$1; shift
  [ -n "$workspace" ] || fail "the demo did not print its workspace"
  [ ! -e "$workspace" ] || fail "the demo left its directory $workspace behind"
  [ -z "$(ls -A "$TMPDIR")" ] || fail "the demo left files in $TMPDIR: $(ls -A "$TMPDIR")"
  [ -z "$(nodes_under "$workspace")" ] || fail "parley run processes survived: $(nodes_under "$workspace")"
  local pid
  for pid in "$@"; do
    ! kill -0 "$pid" 2>/dev/null || fail "node process $pid survived"
  done
}

# On a failed assertion, no node the demo started may outlive this script either.
kill_leftover_nodes() {
  local pid
  for pid in $(nodes_under "$TMPDIR"); do kill -9 "$pid" 2>/dev/null || true; done
}
trap 'status=$?; kill_leftover_nodes; (exit $status); cleanup' EXIT

step "100 payments each way settle to the unit, and everything is cleaned up"
"$PARLEY" demo --payments 100 >"$SCRATCH/run.out" 2>"$SCRATCH/run.err" \
  || { cat "$SCRATCH/run.out" "$SCRATCH/run.err" >&2; fail "parley demo exited with $?"; }
assert_contains "$SCRATCH/run.out" "alice deposits 0.3 ETH, bob deposits 0.1 ETH"
assert_contains "$SCRATCH/run.out" "100 payments in"
assert_contains "$SCRATCH/run.out" "200 updates in"
# Payments both ways race at times; a race's winner lands one version up (one version, one
# state), so the final version is 201 or more.
grep -Eq "final state version (20[1-9]|2[1-9][0-9]|[3-9][0-9][0-9]): alice 0.1 ETH, bob 0.3 ETH" "$SCRATCH/run.out" \
  || fail "$SCRATCH/run.out has no final state of version 201 or more paying alice 0.1 ETH, bob 0.3 ETH"
grep -qE '^  alice +999\.8 +\(-0\.2\)$' "$SCRATCH/run.out" || fail "alice's balance after is not 999.8 (-0.2)"
grep -qE '^  bob +1000\.2 +\(\+0\.2\)$' "$SCRATCH/run.out" || fail "bob's balance after is not 1000.2 (+0.2)"
assert_contains "$SCRATCH/run.out" "balance check: OK"
# Not a terminal: progress comes as plain lines on stderr, without control characters.
assert_contains "$SCRATCH/run.err" "payments: 100% (200/200)"
if grep -q $'\x1b' "$SCRATCH/run.err"; then fail "control characters on a non-terminal stderr"; fi
assert_cleaned_up "$(workspace_of "$SCRATCH/run.out")" \
  "$(pid_of alice "$SCRATCH/run.out")" "$(pid_of bob "$SCRATCH/run.out")"

step "--json prints one document with the figures and the check"
"$PARLEY" demo --payments 20 --in-flight 1 --json >"$SCRATCH/json.out" 2>"$SCRATCH/json.err" \
  || { cat "$SCRATCH/json.err" >&2; fail "parley demo --json exited with $?"; }
python3 - "$SCRATCH/json.out" <<'PY' || fail "the --json document is wrong: $(cat "$SCRATCH/json.out")"
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc["balance_check_ok"] is True and doc["mismatches"] == [], doc
assert [d["payments"] for d in doc["directions"]] == [20, 20], doc["directions"]
# 40 payments and the final state; payments both ways race at times, and a race spends a
# version (one version, one state).
assert doc["final_version"] >= 41, doc["final_version"]
alice, bob = doc["accounts"]
for a in (alice, bob):
    assert int(a["after"]) + int(a["deposit"]) == int(a["before"]) + int(a["final_balance"]), a
assert int(bob["after"]) - int(bob["before"]) == 40 * 10**15, bob
assert doc["total_updates_per_second"] > 0 and doc["latency_p99_ms"] >= doc["latency_p50_ms"] > 0
assert doc["kept"] is False
PY
[ -z "$(ls -A "$TMPDIR")" ] || fail "the --json run left files in $TMPDIR"

step "Ctrl-C (SIGINT) while paying stops both nodes and removes the directory"
start_bg interrupted "$PARLEY" demo --payments 100000
demo=$LAST_PID
wait_for_log "$SCRATCH/interrupted.log" "paying:" 120
workspace=$(workspace_of "$SCRATCH/interrupted.log")
alice=$(pid_of alice "$SCRATCH/interrupted.log")
bob=$(pid_of bob "$SCRATCH/interrupted.log")
kill -0 "$alice" && kill -0 "$bob" || fail "the nodes are not running while the demo pays"
kill -INT "$demo"
status=0
wait "$demo" || status=$?
[ "$status" -eq 130 ] || { cat "$SCRATCH/interrupted.log" >&2; fail "the interrupted demo exited with $status, expected 130"; }
assert_contains "$SCRATCH/interrupted.log" "SIGINT received: stopping the nodes"
assert_cleaned_up "$workspace" "$alice" "$bob"

step "a node killed under the demo is reported with its log, and the rest is cleaned up"
start_bg killed "$PARLEY" demo --payments 100000
demo=$LAST_PID
wait_for_log "$SCRATCH/killed.log" "paying:" 120
workspace=$(workspace_of "$SCRATCH/killed.log")
alice=$(pid_of alice "$SCRATCH/killed.log")
bob=$(pid_of bob "$SCRATCH/killed.log")
kill -9 "$bob"
status=0
wait "$demo" || status=$?
[ "$status" -eq 1 ] || { cat "$SCRATCH/killed.log" >&2; fail "the demo exited with $status after its node died, expected 1"; }
assert_contains "$SCRATCH/killed.log" "bob (pid $bob) stopped unexpectedly: it was killed by signal 9"
assert_contains "$SCRATCH/killed.log" "the last lines of its log"
assert_cleaned_up "$workspace" "$alice" "$bob"

echo "demo: ok"
