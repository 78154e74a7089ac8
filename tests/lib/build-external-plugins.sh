#!/usr/bin/env bash
# Builds the plugins that live outside the workspace (tests/external-plugins) against
# plugin-api alone, and puts them in $CARGO_TARGET_DIR/external-plugins:
#   libparley_snapshot_store.so            the example third-party store
#   libparley_snapshot_store_other_abi.so  the same, claiming another plugin ABI version
#   libparley_panicking_store.so           a store that panics on purpose
#   libparley_failing_store.so             a durable store whose commits fail on demand
#   libparley_counter_race.so              an app (race a counter to a goal), sim chain only
#   libparley_frozen_abi_store.so          a store built against the frozen copy of plugin-api
#                                          at ABI 3 revision 0 (tests/frozen-abi)
#   libparley_plugin_template.so           the plugin template (tests/plugin-template), built
#                                          against the crate `cargo package` makes of plugin-api
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
cp "$TARGET_DIR/debug/libparley_counter_race.so" "$OUT/libparley_counter_race.so"

# The frozen ABI: a plugin built before the ABI's later revisions.
(cd "$REPO/tests/frozen-abi" && cargo build --quiet)
cp "$TARGET_DIR/debug/libparley_frozen_abi_store.so" "$OUT/libparley_frozen_abi_store.so"

# The template, built the way a stranger builds it: its dependency on parley-plugin-api is by
# version, patched to the packaged crate (what crates.io would serve), not to the source tree.
PACKAGE_DIR="$TARGET_DIR/package"
version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$REPO/plugin-api/Cargo.toml" | head -n 1)
(cd "$REPO" && cargo package -p parley-plugin-api --no-verify --allow-dirty --quiet)
rm -rf "$PACKAGE_DIR/unpacked"
mkdir -p "$PACKAGE_DIR/unpacked"
tar xzf "$PACKAGE_DIR/parley-plugin-api-$version.crate" -C "$PACKAGE_DIR/unpacked"
# The packaged files carry a fixed old mtime, so cargo would keep a template built against an
# earlier package of the same version: mark them new.
find "$PACKAGE_DIR/unpacked" -type f -exec touch {} +
(cd "$REPO/tests/plugin-template" && cargo build --quiet \
  --config "patch.crates-io.parley-plugin-api.path=\"$PACKAGE_DIR/unpacked/parley-plugin-api-$version\"")
cp "$TARGET_DIR/debug/libparley_plugin_template.so" "$OUT/libparley_plugin_template.so"
echo "external plugins built in $OUT"
