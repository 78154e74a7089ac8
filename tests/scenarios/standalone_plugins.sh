#!/usr/bin/env bash
# Plugins built outside the workspace, the way strangers build them, load into this node and
# keep their contracts:
# - the plugin template, built against the crate `cargo package` makes of plugin-api (the
#   packaged crate alone is enough to write a plugin);
# - a store built against the frozen copy of plugin-api at ABI 3 revision 0: the ABI grew
#   after it (revision 1 added the store's durability answer and the root module's revision)
#   and the node still loads it, runs it, and answers the missing method with its default.
source "$(dirname "$0")/../lib/common.sh"
template="$EXTERNAL_DIR/libparley_plugin_template.so"
frozen="$EXTERNAL_DIR/libparley_frozen_abi_store.so"
[ -f "$template" ] && [ -f "$frozen" ] || fail "plugins missing: run tests/lib/build-external-plugins.sh"

step "the template built against the packaged plugin-api passes plugin check"
"$PARLEY" plugin check "$template" >"$SCRATCH/template.log" 2>&1 \
  || { cat "$SCRATCH/template.log"; fail "plugin check failed on the template"; }
assert_contains "$SCRATCH/template.log" "plugin       template-store"
assert_contains "$SCRATCH/template.log" " 0 failed"
assert_contains "$SCRATCH/template.log" "durability   durable commits"

step "a store built against the frozen ABI 3 revision 0 loads and passes plugin check"
"$PARLEY" plugin check "$frozen" >"$SCRATCH/frozen.log" 2>&1 \
  || { cat "$SCRATCH/frozen.log"; fail "plugin check failed on the frozen-ABI store"; }
assert_contains "$SCRATCH/frozen.log" "(ABI 3 revision 0; this node: revision "
assert_contains "$SCRATCH/frozen.log" " 0 failed"
! grep -q '^FAIL' "$SCRATCH/frozen.log" || fail "a FAIL line for the frozen-ABI store"

step "the method it lacks answers its default"
assert_contains "$SCRATCH/frozen.log" "durability   not stated (built before ABI revision 1"

step "parley run serves a node from the frozen-ABI store, twice on the same data"
write_config "$SCRATCH/node/node.toml" "$SCRATCH/node/data"
sed -i "s#^plugin = \"lmdb\"#plugin = \"$frozen\"#" "$SCRATCH/node/node.toml"
for run in first second; do
  start_bg "node-$run" "$PARLEY" run --config "$SCRATCH/node/node.toml"
  pid=$LAST_PID
  wait_for_log "$SCRATCH/node-$run.log" "listening"
  assert_contains "$SCRATCH/node-$run.log" "loaded store plugin \`frozen-abi-store\`"
  kill -TERM "$pid"
  wait "$pid" || fail "parley run ($run) exited with $? after SIGTERM"
done
[ -s "$SCRATCH/node/data/frozen-abi-store.bin" ] || fail "the node wrote nothing through the frozen-ABI store"
echo "standalone_plugins: ok"
