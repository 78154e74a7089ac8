#!/usr/bin/env bash
# Builds the plugins that live outside the workspace (tests/external-plugins) against
# plugin-api alone, and puts them in $CARGO_TARGET_DIR/external-plugins:
#   libparley_snapshot_store.so            the example third-party store
#   libparley_snapshot_store_other_abi.so  the same, claiming another plugin ABI version
#   libparley_panicking_store.so           a store that panics on purpose
#   libparley_failing_store.so             a durable store whose commits fail on demand
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-$REPO/target}"
OUT="$TARGET_DIR/external-plugins"
mkdir -p "$OUT"
cd "$REPO/tests/external-plugins"
export CARGO_TARGET_DIR="$TARGET_DIR"
cargo build --quiet -p parley-plugin-snapshot-store --features claim-other-abi-version
cp "$TARGET_DIR/debug/libparley_snapshot_store.so" "$OUT/libparley_snapshot_store_other_abi.so"
cargo build --quiet
cp "$TARGET_DIR/debug/libparley_snapshot_store.so" "$OUT/libparley_snapshot_store.so"
cp "$TARGET_DIR/debug/libparley_panicking_store.so" "$OUT/libparley_panicking_store.so"
cp "$TARGET_DIR/debug/libparley_failing_store.so" "$OUT/libparley_failing_store.so"
echo "external plugins built in $OUT"
