#!/usr/bin/env bash
# A plugin built outside the workspace against plugin-api alone loads into the unmodified
# `parley` binary, passes the store conformance suite and serves a running node; a plugin that
# panics returns errors and never takes the node down.
source "$(dirname "$0")/../lib/common.sh"

snapshot="$EXTERNAL_DIR/libparley_snapshot_store.so"
panicking="$EXTERNAL_DIR/libparley_panicking_store.so"
[ -f "$snapshot" ] && [ -f "$panicking" ] || fail "external plugins missing: run tests/lib/build-external-plugins.sh"

step "the external store passes parley plugin check"
"$PARLEY" plugin check "$snapshot" >"$SCRATCH/check.log" 2>&1 || { cat "$SCRATCH/check.log"; fail "check failed"; }
assert_contains "$SCRATCH/check.log" "plugin       snapshot-store 0.1.0"
assert_contains "$SCRATCH/check.log" " 0 failed"

step "parley run loads it from a path in node.toml and stops cleanly"
write_config "$SCRATCH/node/node.toml" "$SCRATCH/node/data"
sed -i "s#^plugin = \"lmdb\"#plugin = \"$snapshot\"#" "$SCRATCH/node/node.toml"
start_bg node "$PARLEY" run --config "$SCRATCH/node/node.toml"
pid=$LAST_PID
wait_for_log "$SCRATCH/node.log" "listening"
assert_contains "$SCRATCH/node.log" "loaded store plugin \`snapshot-store\` 0.1.0"
kill -TERM "$pid"
wait "$pid" || fail "parley run exited with $? after SIGTERM"

step "panics inside a plugin come back as errors; the checking process survives"
set +e
"$PARLEY" plugin check "$panicking" >"$SCRATCH/panic.log" 2>&1
status=$?
set -e
[ "$status" -eq 1 ] || { cat "$SCRATCH/panic.log"; fail "expected exit 1 (failed checks), got $status"; }
assert_contains "$SCRATCH/panic.log" "plugin panicked in store.get: deliberate panic in get"
assert_contains "$SCRATCH/panic.log" "plugin panicked in store.commit"
assert_contains "$SCRATCH/panic.log" "conformance:"

step "a panic in the constructor fails startup with a clear error, not a crash"
echo 'panic_in_constructor = true' >"$SCRATCH/panic.toml"
set +e
"$PARLEY" plugin check "$panicking" --config "$SCRATCH/panic.toml" >"$SCRATCH/ctor.log" 2>&1
status=$?
set -e
[ "$status" -eq 1 ] || { cat "$SCRATCH/ctor.log"; fail "expected exit 1, got $status"; }
assert_contains "$SCRATCH/ctor.log" "plugin panicked in the plugin's constructor: deliberate panic in the constructor"
step "a plugin's panic goes through the node's log: with --log-format json every stderr line is JSON"
write_config "$SCRATCH/panicky/node.toml" "$SCRATCH/panicky/data"
sed -i "s#^plugin = \"lmdb\"#plugin = \"$panicking\"#" "$SCRATCH/panicky/node.toml"
set +e
RUST_BACKTRACE=1 timeout 60 "$PARLEY" run --config "$SCRATCH/panicky/node.toml" --log-format json \
  >"$SCRATCH/panicky.out" 2>"$SCRATCH/panicky.err"
status=$?
set -e
[ "$status" -eq 1 ] || { cat "$SCRATCH/panicky.err"; fail "expected the node to refuse the panicking store (exit 1), got $status"; }
python3 - "$SCRATCH/panicky.err" <<'PY' || fail "the plugin's panic did not go through the JSON log (see $SCRATCH/panicky.err)"
import json, sys
lines = [l for l in open(sys.argv[1]).read().splitlines() if l.strip()]
# The CLI's own last word on a failed start is plain text; every log line before it is JSON.
if lines and lines[-1].startswith("error: "):
    lines.pop()
records = []
for line in lines:
    try:
        records.append(json.loads(line))
    except ValueError:
        sys.exit(f"not JSON: {line}")
panics = [r for r in records if "deliberate panic in get" in json.dumps(r) and r.get("fields", {}).get("module") == "panic"]
if not panics:
    sys.exit("no JSON log record of the panic")
message = panics[0]["fields"]["message"]
if "src/lib.rs" not in message or "stack backtrace" not in message:
    sys.exit(f"the panic record lacks its place or the backtrace RUST_BACKTRACE asked for: {message}")
PY
echo "external_plugin: ok"
