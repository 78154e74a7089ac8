# Shared helpers for the multi-node scenarios. Source it; it sets strict mode, finds the
# `parley` binary, makes a scratch directory and kills every process started through
# `start_bg` when the script exits, whether it passes or fails.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-$REPO/target}"
PROFILE_DIR="$TARGET_DIR/${PARLEY_PROFILE:-debug}"
PARLEY="${PARLEY_BIN:-$PROFILE_DIR/parley}"
EXTERNAL_DIR="$TARGET_DIR/external-plugins"
[ -x "$PARLEY" ] || { echo "FAIL: $PARLEY not found; run cargo build --workspace first" >&2; exit 1; }

SCRATCH="$(mktemp -d "${TMPDIR:-/tmp}/parley-scenario.XXXXXX")"
BG_PIDS=()

cleanup() {
  local status=$?
  for pid in "${BG_PIDS[@]:-}"; do
    # Reaping the killed job here keeps bash from reporting "Killed" for it.
    [ -n "$pid" ] && { kill -9 "$pid" && wait "$pid"; } 2>/dev/null || true
  done
  if [ "$status" -ne 0 ]; then
    echo "--- scenario failed; logs in $SCRATCH:" >&2
    for log in "$SCRATCH"/*.log; do
      [ -f "$log" ] && { echo "--- $log" >&2; tail -n 30 "$log" >&2; }
    done
  else
    rm -rf "$SCRATCH"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "  - $*"; }

# start_bg NAME CMD...: runs CMD in the background with output in $SCRATCH/NAME.log;
# the pid is in $LAST_PID.
start_bg() {
  local name=$1; shift
  "$@" >"$SCRATCH/$name.log" 2>&1 &
  LAST_PID=$!
  BG_PIDS+=("$LAST_PID")
}

# wait_for_log FILE PATTERN [SECONDS]: waits until FILE contains PATTERN.
wait_for_log() {
  local file=$1 pattern=$2 seconds=${3:-20}
  local deadline=$((SECONDS + seconds))
  until grep -q -- "$pattern" "$file" 2>/dev/null; do
    [ $SECONDS -lt $deadline ] || fail "timed out waiting for '$pattern' in $file"
    sleep 0.1
  done
}

# expect_fail OUTFILE CMD...: runs CMD, which must exit non-zero; its stderr goes to OUTFILE.
expect_fail() {
  local out=$1; shift
  if "$@" >"$out.stdout" 2>"$out"; then
    fail "expected failure from: $*"
  fi
}

# expect_exit STATUS OUTFILE CMD...: runs CMD, which must exit with STATUS; its stderr goes to
# OUTFILE, its stdout to OUTFILE.stdout.
expect_exit() {
  local status=$1 out=$2; shift 2
  local got=0
  "$@" >"$out.stdout" 2>"$out" || got=$?
  [ "$got" = "$status" ] || { cat "$out" >&2; fail "expected exit status $status, got $got, from: $*"; }
}

# assert_contains FILE TEXT
assert_contains() {
  grep -qF -- "$2" "$1" || { echo "--- $1:" >&2; cat "$1" >&2; fail "$1 does not contain: $2"; }
}

# assert_one_line FILE: an error must be one clear sentence.
assert_one_line() {
  local lines
  lines=$(grep -c . "$1" || true)
  [ "$lines" -eq 1 ] || { cat "$1" >&2; fail "$1 has $lines lines, expected one sentence"; }
}

# write_config FILE DATA_DIR [EXTRA_TOML]: a node.toml using the built-in plugins.
write_config() {
  local file=$1 data=$2 extra=${3:-}
  mkdir -p "$(dirname "$file")"
  cat >"$file" <<TOML
[node]
data_dir = "$data"
log_level = "info"

[chain]
plugin = "sim-chain"
block_time = 0

[wire]
plugin = "quic"
listen = "127.0.0.1:0"

[store]
plugin = "lmdb"
$extra
TOML
}

export PARLEY_PLUGIN_DIR="$PROFILE_DIR"
