# Helpers for scenarios that run several nodes through the CLI. Source after common.sh.
#
# The chain backend is chosen by PARLEY_CHAIN: `sim` (the default: every node on one sim-chain
# ledger in $SCRATCH) or `anvil` (one anvil on a free loopback port with the contracts deployed,
# each node its own dev account; see anvil.sh). The helpers behave the same on both, except
# that ETH balances on anvil include the fees the account paid (see asset_balance).
#
#   new_node NAME [POLICY_TOML]   parley init $SCRATCH/NAME on the shared ledger, start it
#                                 (listen port 0 unless INIT_LISTEN says otherwise)
#   cli NAME ARGS...              parley ARGS --config <NAME's config>
#   json NAME ARGS... -- EXPR     parley ARGS --json, then EXPR on the result (bound as `r`)
#   eth_balance NAME              the node's on-chain ETH balance (base units; + fees on anvil)
#   node_id NAME / node_addr NAME the node's id and transport address
#   pin_listen NAME               keep the node's transport address across restarts
#   init_node NAME [POLICY_TOML] / start_node NAME   new_node in two steps
#   kill_node NAME                kill -9 the node; restart_node NAME starts it again
#   allow_misbehaviour NAME [KEY = VALUE...]  append a [testing] section to its node.toml
#   introduce A B                 `peer add` both ways, so that either side can redial
#   channel_of NAME ID EXPR       `channel show ID --json`, then EXPR on it (bound as `r`)
#   open_channel A B MINE THEIRS CHALLENGE    sets CHANNEL; balances_of NAME ID
#   open_virtual A B VIA MINE THEIRS CHALLENGE [ARGS...] sets CHANNEL; holds NAME ID MINE THEIRS
#   wait_for_phase / wait_for_dispute / dispute_version / wait_bounded / expect_chain_balance
#   expect_transactions NAME "F1 F2 ..."  on anvil: NAME's account sent exactly these, in order

LEDGER="$SCRATCH/ledger"
PARLEY_CHAIN=${PARLEY_CHAIN:-sim}
case "$PARLEY_CHAIN" in
  sim) ;;
  anvil) source "$(dirname "${BASH_SOURCE[0]}")/anvil.sh" ;;
  *) fail "PARLEY_CHAIN is '$PARLEY_CHAIN'; it must be sim or anvil" ;;
esac

new_node() {
  init_node "$@"
  start_bg "$1" "$PARLEY" run --config "$SCRATCH/$1/node.toml"
  echo "$LAST_PID" >"$SCRATCH/$1.pid"
  wait_for_log "$SCRATCH/$1.log" "API listening address=" 30
}

# init_node NAME [POLICY_TOML]: new_node without the start (see start_node).
init_node() {
  local name=$1 policy=${2:-}
  # Port 0 by default: several scenarios' nodes share this machine, and some count on a node
  # coming back on a new port. INIT_LISTEN=127.0.0.1 lets init fix a port (its default).
  "$PARLEY" init "$SCRATCH/$name" --ledger "$LEDGER" --listen "${INIT_LISTEN:-127.0.0.1:0}" \
    >"$SCRATCH/$name-init.out" 2>&1 \
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
  if [ "$PARLEY_CHAIN" = anvil ]; then anvil_configure "$name"; fi
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
# asset_balance NAME ASSET: what the node reports its account holds. On anvil every transaction
# costs its sender ETH in fees, so an ETH balance there is the node's figure PLUS every fee its
# account has paid so far: then each check "before - deposit + payout" holds exactly as on the
# sim chain (which charges no fees), i.e. the real balance moved by the outcome minus gas.
asset_balance() {
  if [ "$PARLEY_CHAIN" = anvil ] && [ "$2" = ETH ]; then
    anvil_plus_gas "$1" json "$1" balance --asset ETH -- 'r[0]["amount"]'
  else
    json "$1" balance --asset "$2" -- 'r[0]["amount"]'
  fi
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

# --- restarts, misbehaviour and disputes -------------------------------------------------
# The pid of each node's `parley run` is kept in $SCRATCH/NAME.pid, so that kill_node and
# restart_node also work from a background subshell (whose BG_PIDS the exit trap never sees).

# pin_listen NAME: init_node lets the transport pick a free port at each start; a node that
# is restarted must come back at the address its peer knows, so write the address it bound
# into the [wire] section's `listen` key. Call it before the first kill.
pin_listen() {
  local name=$1 addr
  addr=$(node_addr "$name")
  python3 - "$SCRATCH/$name/node.toml" "$addr" <<'PY'
import re, sys
path, addr = sys.argv[1], sys.argv[2]
text = open(path).read()
# Only the `listen` of [wire]: [api] has one too, and its port may change across restarts.
section = re.search(r"(?ms)^\[wire\]\n.*?(?=^\[|\Z)", text)
if not section:
    sys.exit(f"no [wire] section in {path}")
body, n = re.subn(r'(?m)^listen\s*=\s*"[^"]*"', f'listen = "{addr}"', section.group(0))
if n != 1:
    sys.exit(f"no `listen` in the [wire] section of {path}")
open(path, "w").write(text[: section.start()] + body + text[section.end():])
PY
  grep -qF "listen = \"$addr\"" "$SCRATCH/$name/node.toml" || fail "could not pin $name's address $addr"
}

# node_pid NAME: the recorded pid of the node's current process, if it is still that node.
node_pid() {
  local pid
  pid=$(cat "$SCRATCH/$1.pid" 2>/dev/null) || return 1
  grep -qF "$SCRATCH/$1/node.toml" "/proc/$pid/cmdline" 2>/dev/null || return 1
  echo "$pid"
}

# kill_node NAME: kill -9 the node's process and wait until it is gone.
kill_node() {
  local name=$1 pid
  pid=$(node_pid "$name") || fail "$name is not running, cannot kill it"
  kill -9 "$pid" 2>/dev/null || true
  # Reap it when it is our child (keeps bash from reporting "Killed"); otherwise poll.
  wait "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + 10))
  while [ -e "/proc/$pid" ] && [ "$(cut -d' ' -f3 "/proc/$pid/stat" 2>/dev/null)" != Z ]; do
    [ $SECONDS -lt $deadline ] || fail "$name (pid $pid) is still running after kill -9"
    sleep 0.05
  done
}

# start_node NAME [SECONDS]: start `parley run` on NAME's config with the log appended, and
# wait for "API listening" in the new output (after a kill, api.addr is stale until then).
# restart_node is the same, named for what it does after kill_node.
restart_node() { start_node "$@"; }
start_node() {
  local name=$1 seconds=${2:-30} log="$SCRATCH/$1.log" offset pid
  ! node_pid "$name" >/dev/null || fail "$name is still running, kill it before restarting"
  offset=$(stat -c %s "$log" 2>/dev/null || echo 0)
  [ "$offset" = 0 ] || echo "--- restart at $(date -u +%H:%M:%S.%N)" >>"$log"
  "$PARLEY" run --config "$SCRATCH/$name/node.toml" >>"$log" 2>&1 &
  pid=$!
  BG_PIDS+=("$pid")
  echo "$pid" >"$SCRATCH/$name.pid"
  local deadline=$((SECONDS + seconds))
  # "API listening address=" is logged after api.addr is written; the transport's
  # "JSON-RPC API listening local_addr=" line comes before it.
  until tail -c "+$((offset + 1))" "$log" | grep -q "API listening address="; do
    [ -e "/proc/$pid" ] || { tail -n 20 "$log" >&2; fail "$name exited while starting"; }
    [ $SECONDS -lt $deadline ] || fail "timed out waiting for $name to start (see $log)"
    sleep 0.05
  done
}

# Nodes restarted in a background subshell are not in this shell's BG_PIDS: the exit trap
# kills every recorded node as well, then runs common.sh's cleanup with the same status.
kill_recorded_nodes() {
  local file pid
  for file in "$SCRATCH"/*.pid; do
    [ -f "$file" ] || continue
    # Reaping our own children keeps bash from reporting "Killed" for them.
    pid=$(node_pid "$(basename "$file" .pid)") && { kill -9 "$pid" && wait "$pid"; } 2>/dev/null
  done
  return 0
}
# Anvil (PARLEY_CHAIN=anvil) goes after the nodes.
# (`set +e` first: under `set -e`, the `(exit ...)` that hands the status on would end the trap.)
trap 'exit_status=$?; set +e; kill_recorded_nodes; [ "$PARLEY_CHAIN" != anvil ] || anvil_stop; (exit $exit_status); cleanup' EXIT

# allow_misbehaviour NAME [KEY = VALUE...]: append a [testing] section allowing the
# misbehaviour commands, with extra keys (one per argument). Takes effect at the next start.
allow_misbehaviour() {
  local name=$1; shift
  { echo; echo "[testing]"; echo "allow_misbehaviour = true"
    for line in "$@"; do echo "$line"; done; } >>"$SCRATCH/$name/node.toml"
}

# introduce A B: each adds the other as a peer under its name.
introduce() {
  cli "$1" peer add "$2" "$(node_id "$2")" "$(node_addr "$2")" >/dev/null || fail "$1 cannot add $2 as a peer"
  cli "$2" peer add "$1" "$(node_id "$1")" "$(node_addr "$1")" >/dev/null || fail "$2 cannot add $1 as a peer"
}

# channel_of NAME ID EXPR: EXPR on NAME's `channel show ID --json` (bound as `r`).
channel_of() { json "$1" channel show "$2" -- "$3"; }

# balances_of NAME ID: "version mine theirs" of the channel's first asset, as NAME sees it.
balances_of() {
  channel_of "$1" "$2" '"%s %s %s" % (r["version"], r["balances"][0]["mine"], r["balances"][0]["theirs"])'
}

# open_channel A B MINE THEIRS CHALLENGE [ARGS...]: A proposes a channel holding ETH (with
# ARGS added to `channel open`, e.g. --app tictactoe) and B accepts it by hand (B's [policy]
# must not accept it by itself). Sets CHANNEL to the id once both see it active. (Not meant
# for $(...): bash drops `set -e` there.)
open_channel() {
  local a=$1 b=$2 mine=$3 theirs=$4 challenge=$5 out="$SCRATCH/open-$1-$2"
  shift 5
  cli "$a" channel open "$b" --mine "$mine" --theirs "$theirs" --asset ETH --challenge "$challenge" \
    "$@" --json >"$out.json" 2>"$out.err" &
  local open_pid=$! proposal="" deadline=$((SECONDS + 30))
  BG_PIDS+=("$open_pid")
  while [ -z "$proposal" ] && kill -0 "$open_pid" 2>/dev/null; do
    proposal=$(json "$b" proposal list -- 'r[0]["id"] if r else ""')
    [ $SECONDS -lt $deadline ] || fail "$b never saw $a's proposal"
    [ -n "$proposal" ] || sleep 0.1
  done
  if [ -n "$proposal" ]; then
    cli "$b" proposal accept "$proposal" >/dev/null || fail "$b could not accept $a's proposal"
  fi
  wait "$open_pid" || { cat "$out.err" >&2; fail "$a could not open a channel with $b"; }
  CHANNEL=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$out.json")
  [ "$(channel_of "$a" "$CHANNEL" 'r["phase"]')" = active ] || fail "the channel is not active for $a"
  wait_for_phase "$b" "$CHANNEL" active 30
}

# open_virtual A B VIA MINE THEIRS CHALLENGE [ARGS...]: A proposes a virtual channel holding
# ETH to B (by node id: A need not know B) through A's ledger channel VIA with an intermediary
# (with ARGS added to `channel open`, e.g. --app tictactoe), and B accepts it by hand. Sets
# CHANNEL once both see it active.
open_virtual() {
  local a=$1 b=$2 via=$3 mine=$4 theirs=$5 challenge=$6 out="$SCRATCH/virtual-$1-$2"
  shift 6
  cli "$a" channel open "$(node_id "$b")" --mine "$mine" --theirs "$theirs" --asset ETH \
    --challenge "$challenge" --via "$via" "$@" --json >"$out.json" 2>"$out.err" &
  local open_pid=$! proposal="" deadline=$((SECONDS + 30))
  BG_PIDS+=("$open_pid")
  until [ -n "$proposal" ]; do
    kill -0 "$open_pid" 2>/dev/null || { cat "$out.err" >&2; fail "$a's virtual channel proposal ended early"; }
    proposal=$(json "$b" proposal list -- 'r[0]["id"] if r else ""')
    [ $SECONDS -lt $deadline ] || { cat "$out.err" >&2; fail "$b never saw $a's virtual channel proposal"; }
    [ -n "$proposal" ] || sleep 0.1
  done
  cli "$b" proposal accept "$proposal" >/dev/null || fail "$b could not accept $a's virtual channel"
  wait "$open_pid" || { cat "$out.err" >&2; fail "$a could not open the virtual channel with $b"; }
  CHANNEL=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$out.json")
  wait_for_phase "$b" "$CHANNEL" active 30
}

# holds NAME ID MINE THEIRS: NAME's channel ID holds these balances of its first asset.
holds() {
  local now
  now=$(channel_of "$1" "$2" '"%s %s" % (r["balances"][0]["mine"], r["balances"][0]["theirs"])')
  [ "$now" = "$3 $4" ] || fail "$1's channel $2 holds $now, expected $3 $4"
}

# pay_alternately A B ID COUNT: COUNT payments on channel ID, A paying 3 and B 1 in turn (A
# first): A moves COUNT base units to B when COUNT is even.
pay_alternately() {
  local a=$1 b=$2 id=$3 count=$4 i
  for ((i = 0; i < count; i++)); do
    if ((i % 2 == 0)); then
      cli "$a" channel pay "$id" 3 >/dev/null || fail "$a's payment $i failed"
    else
      cli "$b" channel pay "$id" 1 >/dev/null || fail "$b's payment $i failed"
    fi
  done
}

# wait_for_phase NAME ID PHASE SECONDS: until NAME's `channel show` says PHASE.
wait_for_phase() {
  local name=$1 id=$2 phase=$3 seconds=$4 now="" deadline=$((SECONDS + $4))
  until now=$(channel_of "$name" "$id" 'r["phase"]' 2>/dev/null) && [ "$now" = "$phase" ]; do
    [ $SECONDS -lt $deadline ] || fail "$name's channel $id is '$now', not $phase, after ${seconds} s"
    sleep 0.2
  done
}

# dispute_version NAME ID: the registered version of NAME's view of the channel's on-chain
# record; empty without a record (or when the node cannot be asked).
dispute_version() {
  channel_of "$1" "$2" '(r.get("dispute") or {}).get("version", "")' 2>/dev/null || true
}

# wait_for_dispute NAME ID VERSION SECONDS: until NAME sees VERSION registered on chain.
wait_for_dispute() {
  local name=$1 id=$2 version=$3 seconds=$4 now="" deadline=$((SECONDS + $4))
  until now=$(dispute_version "$name" "$id") && [ "$now" = "$version" ]; do
    [ $SECONDS -lt $deadline ] || fail "$name sees version '$now' registered for $id, not $version, after ${seconds} s"
    sleep 0.2
  done
}

# wait_bounded PID SECONDS WHAT: waits for a background job of this shell, failing if it has
# not ended after SECONDS; returns the job's status.
wait_bounded() {
  local pid=$1 seconds=$2 what=$3 deadline=$((SECONDS + $2))
  while kill -0 "$pid" 2>/dev/null; do
    [ $SECONDS -lt $deadline ] || fail "$what has not finished after $seconds s"
    sleep 0.2
  done
  wait "$pid"
}

# expect_chain_balance NAME BEFORE DEPOSIT PAYOUT: expect_balance for ETH, asked of the chain
# plugin directly (`parley chain balance`), so that it also works while NAME is down. On anvil
# the fees NAME's account paid are added, as in asset_balance.
expect_chain_balance() {
  local name=$1 before=$2 deposit=$3 payout=$4 now expected
  if [ "$PARLEY_CHAIN" = anvil ]; then
    now=$(anvil_plus_gas "$name" json "$name" chain balance --asset ETH -- 'r["amount"]')
  else
    now=$(json "$name" chain balance --asset ETH -- 'r["amount"]')
  fi
  expected=$(python3 -c "print($before - $deposit + $payout)")
  [ "$now" = "$expected" ] || fail "$name's account holds $now ETH units on chain, expected $expected ($before - $deposit + $payout)"
}

# expect_transactions NAME "F1 F2 ...": on anvil, the transactions NAME's account has sent are
# exactly these functions, in this order, and none reverted (see anvil_transactions). Nothing to
# check on the sim chain, whose calls are not transactions anyone pays for.
expect_transactions() {
  [ "$PARLEY_CHAIN" = anvil ] || return 0
  local name=$1 expected=$2 sent
  sent=$(anvil_transactions "$name") || fail "cannot list $name's transactions"
  [ "$sent" = "$expected" ] || fail "$name's account sent [$sent], expected [$expected]"
}

# metric NAME SERIES: the value of SERIES (e.g. 'parley_peers_connected' or
# 'parley_payments_total{outcome="completed"}') in NAME's GET /metrics (with its API token).
metric() {
  python3 - "$SCRATCH/$1/data" "$2" <<'PY'
import sys, urllib.request
data, series = sys.argv[1:3]
addr = open(data + "/api.addr").read().strip()
token = open(data + "/api.token").read().strip()
request = urllib.request.Request("http://" + addr + "/metrics",
                                 headers={"Authorization": "Bearer " + token})
with urllib.request.urlopen(request, timeout=10) as response:
    for line in response.read().decode().splitlines():
        if line.startswith(series + " "):
            print(line.split(" ")[1])
            break
    else:
        raise SystemExit(series + " is not in the metrics")
PY
}

# wait_for_record NAME ID VERSION SECONDS: until the chain's record of channel ID (read
# through NAME's chain plugin, `parley chain dispute`) holds VERSION; a sub-channel's record
# is written with its tree's registration.
wait_for_record() {
  local name=$1 id=$2 version=$3 deadline=$((SECONDS + $4))
  until [ "$(json "$name" chain dispute --channel "$id" -- 'r["version"]' 2>/dev/null)" = "$version" ]; do
    [ $SECONDS -lt $deadline ] || fail "channel $id's record on chain is not version $version: $(cli "$name" chain dispute --channel "$id" --json 2>&1)"
    sleep 0.2
  done
}
