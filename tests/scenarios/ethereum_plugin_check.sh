#!/usr/bin/env bash
# `parley plugin check` passes on the Ethereum plugin against a real local chain: anvil, with
# the contracts deployed by `parley eth deploy`, and two funded dev accounts (the chain
# conformance suite opens channels between two accounts). It also refuses a table whose RPC
# endpoint is not reachable, naming it.
source "$(dirname "$0")/../lib/common.sh"
# About the Ethereum plugin, so always on anvil (and run once: run-all's second, anvil pass
# picks the scenarios whose line starts with `source .../nodes.sh`).
PARLEY_CHAIN=anvil; source "$(dirname "$0")/../lib/nodes.sh"

step "anvil with the contracts deployed"
anvil_start
accounts="$ANVIL_DIR/accounts.json"
# Dev accounts 1 and 2 (0 deployed; every account but 0 holds TOK).
for index in 1 2; do
  python3 - "$accounts" "$index" "$SCRATCH/key$index" <<'PY'
import json, os, sys
keys = json.load(open(sys.argv[1]))["private_keys"]
fd = os.open(sys.argv[3], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
os.write(fd, keys[int(sys.argv[2])][2:].encode() + b"\n")
os.close(fd)
PY
done

step "the plugin's own table: the deployed [chain] keys, without the header and plugin name"
python3 - "$ANVIL_DIR/chain.toml" "$SCRATCH/table.toml" "$SCRATCH/key1" "$SCRATCH/key2" <<'PY'
import sys
source, target, key1, key2 = sys.argv[1:5]
lines = []
for line in open(source).read().splitlines():
    if line.strip() == "[chain]" or line.startswith("plugin ") or line.startswith("key_file"):
        continue
    lines.append(line.replace("[[chain.erc20]]", "[[erc20]]"))
# Top-level keys must come before the [[erc20]] tables.
cut = next((i for i, l in enumerate(lines) if l.startswith("[[erc20]]")), len(lines))
keys = [f'key_files = ["{key1}", "{key2}"]']
open(target, "w").write("\n".join(lines[:cut] + keys + lines[cut:]) + "\n")
PY

step "plugin check passes against anvil"
"$PARLEY" plugin check "$PROFILE_DIR/libparley_ethereum.so" --config "$SCRATCH/table.toml" \
  >"$SCRATCH/check.log" 2>&1 || { cat "$SCRATCH/check.log"; fail "plugin check failed on the Ethereum plugin"; }
assert_contains "$SCRATCH/check.log" " 0 failed"
grep -q '^ok ' "$SCRATCH/check.log" || fail "no contract lines in the check"
# The state on record, read back from the call data of the register behind the record.
assert_contains "$SCRATCH/check.log" "ok    chain: registered_state is exactly the state on record"
! grep -q '^FAIL' "$SCRATCH/check.log" || fail "a FAIL line in the check"

step "an unreachable RPC endpoint is refused, naming the endpoint"
sed 's|^rpc_url = .*|rpc_url = "http://127.0.0.1:9"|' "$SCRATCH/table.toml" >"$SCRATCH/dead.toml"
expect_fail "$SCRATCH/dead.err" "$PARLEY" plugin check "$PROFILE_DIR/libparley_ethereum.so" --config "$SCRATCH/dead.toml"
cat "$SCRATCH/dead.err.stdout" "$SCRATCH/dead.err" >"$SCRATCH/dead.all"
grep -qi "127.0.0.1:9" "$SCRATCH/dead.all" || { cat "$SCRATCH/dead.all"; fail "the refusal does not name the endpoint"; }
echo "PASS ethereum_plugin_check"
