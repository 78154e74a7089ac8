#!/usr/bin/env bash
# `parley plugin check` passes on every built-in plugin (the apps `hashlock` and `tictactoe`
# included), and refuses a shared library that is not a plugin and a plugin built for another
# ABI version, each with one clear sentence.
source "$(dirname "$0")/../lib/common.sh"

for name in lmdb quic sim_chain hashlock tictactoe; do
  step "plugin check passes on libparley_$name.so"
  "$PARLEY" plugin check "$PROFILE_DIR/libparley_$name.so" >"$SCRATCH/check-$name.log" 2>&1 \
    || { cat "$SCRATCH/check-$name.log"; fail "plugin check failed on $name"; }
  assert_contains "$SCRATCH/check-$name.log" " 0 failed"
  grep -q '^ok ' "$SCRATCH/check-$name.log" || fail "no contract lines for $name"
  ! grep -q '^FAIL' "$SCRATCH/check-$name.log" || fail "a FAIL line for $name"
done

step "a shared library that is not a plugin is refused in one sentence"
echo 'int answer(void) { return 42; }' | gcc -shared -fPIC -x c - -o "$SCRATCH/libnotaplugin.so"
expect_fail "$SCRATCH/notaplugin.err" "$PARLEY" plugin check "$SCRATCH/libnotaplugin.so"
assert_one_line "$SCRATCH/notaplugin.err"
assert_contains "$SCRATCH/notaplugin.err" "is a shared library but not a Parley plugin"

step "a file that is not a shared library at all is refused in one sentence"
echo "hello" >"$SCRATCH/libtext.so"
expect_fail "$SCRATCH/text.err" "$PARLEY" plugin check "$SCRATCH/libtext.so"
assert_one_line "$SCRATCH/text.err"
assert_contains "$SCRATCH/text.err" "cannot be loaded as a shared library"

step "a plugin built for another ABI version is refused in one sentence"
other="$EXTERNAL_DIR/libparley_snapshot_store_other_abi.so"
[ -f "$other" ] || fail "$other missing: run tests/lib/build-external-plugins.sh"
expect_fail "$SCRATCH/abi.err" "$PARLEY" plugin check "$other"
assert_one_line "$SCRATCH/abi.err"
# The node's ABI generation, as `plugin info` reports it; the other plugin claims the next one.
abi=$("$PARLEY" plugin info "$PROFILE_DIR/libparley_lmdb.so" | sed -n 's/.*(ABI \([0-9]*\) revision.*/\1/p')
[ -n "$abi" ] || fail "plugin info did not report the ABI generation"
assert_contains "$SCRATCH/abi.err" "was built for plugin ABI $((abi + 1))"
assert_contains "$SCRATCH/abi.err" "this node speaks ABI $abi"

step "a missing file is refused in one sentence"
expect_fail "$SCRATCH/missing.err" "$PARLEY" plugin check "$SCRATCH/nope.so"
assert_one_line "$SCRATCH/missing.err"
assert_contains "$SCRATCH/missing.err" "does not exist"
echo "plugin_check: ok"
