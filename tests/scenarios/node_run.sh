#!/usr/bin/env bash
# `parley run` starts with the default plugins, logs them, and exits 0 on SIGTERM; a second
# instance on the same data directory is refused while the first runs (and not after a kill -9);
# bad configs (log level and format, keys and types, the plugins' own tables) fail with
# messages naming the file and key.
source "$(dirname "$0")/../lib/common.sh"

step "parley run with the repository's node.toml logs its three plugins and exits 0 on SIGTERM"
mkdir -p "$SCRATCH/default"
sed "s#^data_dir = .*#data_dir = \"$SCRATCH/default/data\"#" "$REPO/node.toml" >"$SCRATCH/default/node.toml"
start_bg default "$PARLEY" run --config "$SCRATCH/default/node.toml"
pid=$LAST_PID
wait_for_log "$SCRATCH/default.log" "listening"
assert_contains "$SCRATCH/default.log" "loaded store plugin \`lmdb\`"
assert_contains "$SCRATCH/default.log" "loaded chain plugin \`sim-chain\`"
assert_contains "$SCRATCH/default.log" "loaded transport plugin \`quic\`"
kill -TERM "$pid"
wait "$pid" || fail "parley run exited with $? after SIGTERM"
assert_contains "$SCRATCH/default.log" "SIGTERM received, shutting down"
[ "$(stat -c %a "$SCRATCH/default/data")" = "700" ] || fail "data dir is not owner-only"
[ "$(stat -c %a "$SCRATCH/default/data/node.key")" = "600" ] || fail "node key is not owner-only"
id1=$(grep -o 'node_id=0x[0-9a-f]*' "$SCRATCH/default.log" | head -n 1)
[ -n "$id1" ] || fail "the node id is not logged"
secret=$(tr -d '\n' <"$SCRATCH/default/data/node.key" | sed 's/^0x//')
if grep -qi "$secret" "$SCRATCH/default.log"; then fail "the node's secret key appears in the log"; fi

step "SIGINT stops it cleanly too, and JSON logs are JSON, plugins' fields as fields"
start_bg json "$PARLEY" run --config "$SCRATCH/default/node.toml" --log-format json
pid=$LAST_PID
wait_for_log "$SCRATCH/json.log" "listening"
grep -q "${id1#node_id=}" "$SCRATCH/json.log" || fail "the node id changed across restarts"
head -n 1 "$SCRATCH/json.log" | python3 -c 'import json,sys; json.loads(sys.stdin.readline())' || fail "log line is not JSON"
# One "ready" line says what the node is and where it listens, as structured fields.
wait_for_log "$SCRATCH/json.log" '"message":"ready"'
grep '"message":"ready"' "$SCRATCH/json.log" | head -n 1 | python3 -c '
import json, sys
line = json.loads(sys.stdin.readline())
fields = line.get("fields", line)
for key in ("node", "chain", "chain_id", "account", "api", "channels"):
    assert key in fields, (key, line)
assert "@" in fields["node"], fields["node"]
' || fail "the ready line lacks the node, chain, account, API or channel count"
# A plugin's own tracing fields are fields of the JSON line too, not text in its message: the
# LMDB plugin's "opened the LMDB store" carries path, map_size_mib and durable.
grep '"opened the LMDB store"' "$SCRATCH/json.log" | head -n 1 | python3 -c '
import json, sys
line = json.loads(sys.stdin.readline())
fields = line["fields"]
assert line["target"] == "plugin", line
assert fields["message"] == "opened the LMDB store", line
assert fields["section"] == "store", line
assert fields["map_size_mib"] == "1024" and fields["durable"] == "true", line
assert fields["path"].endswith("store"), line
' || { grep LMDB "$SCRATCH/json.log" >&2; fail "the fields of the LMDB plugin are not structured fields of the JSON line"; }
kill -INT "$pid"
wait "$pid" || fail "parley run exited with $? after SIGINT"

step "[node] log_file: the log lines also go to an owner-only file"
sed -i 's|^# log_file = .*$|log_file = "data/node.log"|' "$SCRATCH/default/node.toml"
grep -q '^log_file = "data/node.log"' "$SCRATCH/default/node.toml" || fail "could not set log_file in the config"
start_bg logfile "$PARLEY" run --config "$SCRATCH/default/node.toml"
pid=$LAST_PID
wait_for_log "$SCRATCH/logfile.log" "API listening"
wait_for_log "$SCRATCH/default/data/node.log" "API listening"
[ "$(stat -c %a "$SCRATCH/default/data/node.log")" = 600 ] || fail "the log file is not owner-only"
kill -TERM "$pid"
wait "$pid" || fail "parley run with a log file exited with $?"
sed -i 's|^log_file = .*$|# log_file = "data/node.log"|' "$SCRATCH/default/node.toml"

step "a second parley run on the same data directory is refused and leaves the first alone"
start_bg first "$PARLEY" run --config "$SCRATCH/default/node.toml"
pid=$LAST_PID
wait_for_log "$SCRATCH/first.log" "API listening"
data="$SCRATCH/default/data"
cp "$data/api.addr" "$SCRATCH/api.addr.before"
addr_inode=$(stat -c %i "$data/api.addr")
key_before=$(stat -c %Y "$data/node.key")
expect_exit 1 "$SCRATCH/second.err" "$PARLEY" run --config "$SCRATCH/default/node.toml"
assert_contains "$SCRATCH/second.err" "already running (pid $pid)"
assert_contains "$SCRATCH/second.err" "$data"
if grep -q "listening" "$SCRATCH/second.err"; then fail "the second instance got as far as listening"; fi
cmp -s "$data/api.addr" "$SCRATCH/api.addr.before" || fail "the second instance changed api.addr"
[ "$(stat -c %i "$data/api.addr")" = "$addr_inode" ] || fail "the second instance replaced api.addr"
[ "$(stat -c %Y "$data/node.key")" = "$key_before" ] || fail "the second instance touched the node key"
"$PARLEY" info --config "$SCRATCH/default/node.toml" >"$SCRATCH/first-info.out" \
  || fail "the first node does not answer after the second was refused"
step "the lock goes with the process, even on kill -9"
kill -9 "$pid"
wait "$pid" 2>/dev/null || true
start_bg after_kill "$PARLEY" run --config "$SCRATCH/default/node.toml"
pid=$LAST_PID
wait_for_log "$SCRATCH/after_kill.log" "API listening"
kill -TERM "$pid"
wait "$pid" || fail "parley run exited with $? after SIGTERM"

step "a bad log level is refused with the valid levels, in node.toml and in RUST_LOG"
for level in loud verbose; do
  write_config "$SCRATCH/level-$level/node.toml" "$SCRATCH/level-$level/data"
  sed -i "s/^log_level = .*/log_level = \"$level\"/" "$SCRATCH/level-$level/node.toml"
  # Bounded: a node that took the level would run on, silent.
  expect_exit 1 "$SCRATCH/level-$level.err" timeout 30 "$PARLEY" run --config "$SCRATCH/level-$level/node.toml"
  assert_contains "$SCRATCH/level-$level.err" "node.log_level"
  assert_contains "$SCRATCH/level-$level.err" "\`$level\` is not a log level"
  assert_contains "$SCRATCH/level-$level.err" "trace, debug, info, warn, error, off"
  [ ! -e "$SCRATCH/level-$level/data" ] || fail "a node with a bad log level created its data directory"
done
write_config "$SCRATCH/envlevel/node.toml" "$SCRATCH/envlevel/data"
expect_exit 1 "$SCRATCH/envlevel.err" env RUST_LOG=loud timeout 30 "$PARLEY" run --config "$SCRATCH/envlevel/node.toml"
assert_contains "$SCRATCH/envlevel.err" "RUST_LOG"
assert_contains "$SCRATCH/envlevel.err" "\`loud\` is not a log level"
write_config "$SCRATCH/format/node.toml" "$SCRATCH/format/data"
sed -i 's/^log_level = .*/log_format = "xml"/' "$SCRATCH/format/node.toml"
expect_exit 1 "$SCRATCH/format.err" "$PARLEY" run --config "$SCRATCH/format/node.toml"
assert_contains "$SCRATCH/format.err" "node.log_format"
assert_contains "$SCRATCH/format.err" "expected \"text\" or \"json\""

step "a misspelled key is named"
write_config "$SCRATCH/typo/node.toml" "$SCRATCH/typo/data"
sed -i 's/^log_level/log_levle/' "$SCRATCH/typo/node.toml"
expect_exit 1 "$SCRATCH/typo.err" "$PARLEY" run --config "$SCRATCH/typo/node.toml"
assert_contains "$SCRATCH/typo.err" "$SCRATCH/typo/node.toml"
assert_contains "$SCRATCH/typo.err" "node.log_levle"

step "a misspelled key in a plugin's table is named with its section"
write_config "$SCRATCH/ptypo/node.toml" "$SCRATCH/ptypo/data" "map_sise_mib = 64"
expect_exit 1 "$SCRATCH/ptypo.err" "$PARLEY" run --config "$SCRATCH/ptypo/node.toml"
assert_contains "$SCRATCH/ptypo.err" "[store]"
assert_contains "$SCRATCH/ptypo.err" "map_sise_mib"

step "a wrong type in a plugin's table names the section and the key (lmdb, quic, sim-chain)"
# plugin_type_error NAME SECTION_PLUGIN LINE SECTION KEY: LINE in the table of the plugin
# SECTION_PLUGIN makes parley run fail naming [SECTION] and `KEY`.
plugin_type_error() {
  local name=$1 plugin=$2 line=$3 section=$4 key=$5
  write_config "$SCRATCH/$name/node.toml" "$SCRATCH/$name/data"
  sed -i "/^plugin = \"$plugin\"/a $line" "$SCRATCH/$name/node.toml"
  expect_exit 1 "$SCRATCH/$name.err" "$PARLEY" run --config "$SCRATCH/$name/node.toml"
  assert_contains "$SCRATCH/$name.err" "[$section] in node.toml: \`$key\`: invalid type"
}
plugin_type_error lmdb_size lmdb 'map_size_mib = "big"' store map_size_mib
plugin_type_error lmdb_durable lmdb 'durable = "yes"' store durable
plugin_type_error quic_frame quic 'max_frame_size = "big"' wire max_frame_size
plugin_type_error sim_accounts sim-chain 'accounts = "two"' chain accounts
plugin_type_error sim_prefund sim-chain 'prefund = { ETH = true }' chain prefund.ETH

step "a wrong type is named"
write_config "$SCRATCH/type/node.toml" "$SCRATCH/type/data"
sed -i 's/^plugin = "lmdb"/plugin = 7/' "$SCRATCH/type/node.toml"
expect_exit 1 "$SCRATCH/type.err" "$PARLEY" run --config "$SCRATCH/type/node.toml"
assert_contains "$SCRATCH/type.err" "store.plugin"
assert_contains "$SCRATCH/type.err" "expected a string"

step "a missing plugin file is named with how to fix it"
write_config "$SCRATCH/missing/node.toml" "$SCRATCH/missing/data"
sed -i 's/^plugin = "lmdb"/plugin = "nosuchstore"/' "$SCRATCH/missing/node.toml"
expect_exit 1 "$SCRATCH/missing.err" "$PARLEY" run --config "$SCRATCH/missing/node.toml"
assert_contains "$SCRATCH/missing.err" "plugin \`nosuchstore\` not found"
assert_contains "$SCRATCH/missing.err" "libparley_nosuchstore.so"

step "a plugin of the wrong kind is refused"
write_config "$SCRATCH/kind/node.toml" "$SCRATCH/kind/data"
sed -i 's/^plugin = "lmdb"/plugin = "quic"/' "$SCRATCH/kind/node.toml"
expect_exit 1 "$SCRATCH/kind.err" "$PARLEY" run --config "$SCRATCH/kind/node.toml"
assert_contains "$SCRATCH/kind.err" "which is a transport plugin, not a store plugin"

step "a missing config file says how to make one"
expect_exit 1 "$SCRATCH/noconf.err" "$PARLEY" run --config "$SCRATCH/none/node.toml"
assert_contains "$SCRATCH/noconf.err" "cannot read the config file"
echo "node_run: ok"
