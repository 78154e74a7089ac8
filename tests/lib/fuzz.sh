#!/usr/bin/env bash
# Runs every fuzz target of fuzz/ (cargo fuzz, libFuzzer) for a bounded time and fails on any
# crash. Installs the pinned cargo-fuzz when it is missing or another version (idempotent),
# builds all targets once, then runs each for FUZZ_SECONDS (default 20) from the committed
# seeds (fuzz/seeds/<target>, made by node/tests/fuzz_seeds/) and the inputs that once
# crashed it (fuzz/regressions/<target>), and prints per target the runs, executions per second,
# coverage and final corpus size.
#
#   tests/lib/fuzz.sh                      every target, FUZZ_SECONDS each
#   FUZZ_SECONDS=600 tests/lib/fuzz.sh frame   one target, longer
#
# Builds on rustup's nightly toolchain, or on the default one where there is no nightly. The
# build goes to $CARGO_TARGET_DIR/fuzz, so a CI that keeps CARGO_TARGET_DIR reuses it. New
# corpus entries libFuzzer finds go to a scratch directory under that target dir, never into
# the repository; a crash leaves its input in $CARGO_TARGET_DIR/fuzz/artifacts/<target>/.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-$REPO/target}"
FUZZ_DIR="$TARGET_DIR/fuzz"
FUZZ_SECONDS="${FUZZ_SECONDS:-20}"
CARGO_FUZZ_VERSION=0.13.2
TRIPLE="$(rustc -vV | sed -n 's/^host: //p')"  # cargo fuzz builds for the host

# The nightly toolchain when there is one. Without a sanitizer cargo fuzz passes only stable
# flags (coverage instrumentation, --cfg fuzzing), so a machine with one stable toolchain
# still fuzzes.
toolchain=(+nightly)
if ! rustup run nightly rustc --version >/dev/null 2>&1; then
  echo "fuzz.sh: no nightly toolchain; building the fuzz targets with the default one" >&2
  toolchain=()
fi
if [ "$(cargo fuzz --version 2>/dev/null || true)" != "cargo-fuzz $CARGO_FUZZ_VERSION" ]; then
  echo "fuzz.sh: installing cargo-fuzz $CARGO_FUZZ_VERSION" >&2
  cargo install cargo-fuzz --locked --version "$CARGO_FUZZ_VERSION" --quiet
fi

cd "$REPO/fuzz"
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cargo fuzz list)
fi

# Release with debug assertions (so an integer overflow is a crash, as in the debug build the
# tests use) and no sanitizer: the fuzzed code is safe Rust, and AddressSanitizer would double
# the build and halve the executions for nothing it could find there.
build_flags=(--sanitizer none --debug-assertions --target-dir "$FUZZ_DIR")
started=$SECONDS
cargo "${toolchain[@]}" fuzz build "${build_flags[@]}"
echo "fuzz targets built in $((SECONDS - started)) s"

failed=()
for target in "${targets[@]}"; do
  corpus="$FUZZ_DIR/corpus/$target"
  artifacts="$FUZZ_DIR/artifacts/$target"
  log="$FUZZ_DIR/logs/$target.log"
  rm -rf "$corpus" "$artifacts"
  mkdir -p "$corpus" "$artifacts" "$(dirname "$log")"
  inputs=("$REPO/fuzz/seeds/$target")
  [ -d "$REPO/fuzz/regressions/$target" ] && inputs+=("$REPO/fuzz/regressions/$target")
  # The first directory receives what libFuzzer finds; the seeds are only read.
  if "$FUZZ_DIR/$TRIPLE/release/$target" "$corpus" "${inputs[@]}" \
      -max_total_time="$FUZZ_SECONDS" -timeout=10 -artifact_prefix="$artifacts/" \
      -print_final_stats=1 >"$log" 2>&1; then
    status=ok
  else
    status=CRASH
    failed+=("$target")
  fi
  # libFuzzer's last status line: `#N DONE cov: C ft: F corp: K/SIZE ...`.
  last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
  field() { grep -o "$1 [^ ]*" <<<"$last" | cut -d' ' -f2; }
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
  printf '%-16s %-5s runs %-9s exec/s %-7s coverage %-6s features %-6s corpus %s (%s new files)\n' \
    "$target" "$status" "${runs:-?}" "${speed:-?}" "$(field cov:)" "$(field ft:)" \
    "$(field corp:)" "$(find "$corpus" -type f | wc -l)"
  if [ "$status" != ok ]; then
    # The panic and its message, then libFuzzer's account of the input (no backtrace).
    grep -A1 'panicked at' "$log" | head -4 >&2 || true
    grep -A8 'ERROR: libFuzzer' "$log" | grep -v '^ *[0-9]*: \|^ *at ' >&2 || true
    echo "fuzz.sh: $target crashed; the input is in $artifacts, the log in $log" >&2
  fi
done
[ ${#failed[@]} -eq 0 ] || { echo "fuzz.sh: crashes in: ${failed[*]}" >&2; exit 1; }
echo "fuzz: ${#targets[@]} targets ran ${FUZZ_SECONDS} s each without a crash"
