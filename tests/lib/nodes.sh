# Helpers for scenarios that run several nodes through the CLI. Source after common.sh.
#
#   new_node NAME [POLICY_TOML]   parley init $SCRATCH/NAME on the shared ledger, start it
#   cli NAME ARGS...              parley ARGS --config <NAME's config>
#   json NAME ARGS... -- EXPR     parley ARGS --json, then EXPR on the result (bound as `r`)
#   eth_balance NAME              the node's on-chain ETH balance (base units)
#   node_id NAME / node_addr NAME the node's id and transport address

LEDGER="$SCRATCH/ledger"

new_node() {
  local name=$1 policy=${2:-}
  "$PARLEY" init "$SCRATCH/$name" --ledger "$LEDGER" >"$SCRATCH/$name-init.out" 2>&1 \
    || { cat "$SCRATCH/$name-init.out" >&2; fail "parley init $name failed"; }
  if [ -n "$policy" ]; then
    # Replace the [policy] keys init wrote with the given ones.
    python3 - "$SCRATCH/$name/node.toml" "$policy" <<'PY'
import re, sys
path, policy = sys.argv[1], sys.argv[2]
text = open(path).read()
for line in policy.splitlines():
    key = line.split("=", 1)[0].strip()
    text, n = re.subn(rf"(?m)^{key}\s*=.*$", line, text)
    if n != 1:
        sys.exit(f"no `{key}` in {path}")
open(path, "w").write(text)
PY
  fi
  start_bg "$name" "$PARLEY" run --config "$SCRATCH/$name/node.toml"
  wait_for_log "$SCRATCH/$name.log" "API listening" 30
}

cli() {
  local name=$1; shift
  "$PARLEY" "$@" --config "$SCRATCH/$name/node.toml"
}

json() {
  local name=$1; shift
  local args=()
  while [ "$1" != "--" ]; do args+=("$1"); shift; done
  shift
  local out
  out=$(cli "$name" "${args[@]}" --json) || fail "parley ${args[*]} ($name) failed"
  python3 -c 'import json,sys; r=json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$out" "$1"
}

eth_balance() { asset_balance "$1" ETH; }
asset_balance() {
  json "$1" balance --asset "$2" -- 'r[0]["amount"]'
}

node_id() { json "$1" info -- 'r["node_id"]'; }
node_addr() { json "$1" info -- 'r["listen_address"]'; }

# expect_balance NAME BEFORE DEPOSIT PAYOUT [ASSET]: on-chain = BEFORE - DEPOSIT + PAYOUT, exactly.
expect_balance() {
  local name=$1 before=$2 deposit=$3 payout=$4 asset=${5:-ETH} now expected
  now=$(asset_balance "$name" "$asset")
  expected=$(python3 -c "print($before - $deposit + $payout)")
  [ "$now" = "$expected" ] || fail "$name holds $now $asset units on chain, expected $expected ($before - $deposit + $payout)"
}

# wait_until SECONDS CMD...: retries CMD until it succeeds.
wait_until() {
  local seconds=$1; shift
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || fail "timed out waiting for: $*"
    sleep 0.2
  done
}
