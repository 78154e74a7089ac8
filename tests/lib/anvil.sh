# The anvil backend of the node helpers (PARLEY_CHAIN=anvil). Sourced by nodes.sh.
#
#   anvil_start              start one anvil on a free loopback port (automine), deploy the
#                            contracts once with `parley eth deploy`; the first node's init
#                            calls it
#   anvil_configure NAME     give NAME the next dev account (key file in its dir, mode 0600)
#                            and replace its node.toml's [chain] with the ethereum table and
#                            its [[apps]] (`parley init`'s are for the sim chain) with the
#                            deployed app contracts' entries, at the end of the file
#   anvil_stop               kill anvil (the exit trap calls it)
#   anvil_plus_gas NAME CMD...  CMD prints an ETH amount of NAME's account; prints it plus the
#                            fees that account paid up to the same block
#   anvil_transactions NAME  the transactions NAME's account sent, oldest first, by function
#                            ("deposit concludeFinal withdraw"; "(reverted)" marks a revert)
#
# State lives in $SCRATCH/anvil/ (url, pid, the deployed table and apps, the next account's
# index), so that the helpers also work from subshells.

ANVIL_DIR="$SCRATCH/anvil"
ANVIL_PY="$REPO/tests/lib/anvil.py"

anvil_start() {
  [ ! -f "$ANVIL_DIR/url" ] || return 0
  mkdir -p "$ANVIL_DIR"
  "$REPO/contracts/scripts/install.sh" || fail "contracts/scripts/install.sh failed"
  local binary="$REPO/contracts/node_modules/.bin/anvil" out="$ANVIL_DIR/anvil.out" pid
  [ -x "$binary" ] || fail "no anvil at $binary after contracts/scripts/install.sh"
  # Port 0: anvil binds a free port itself and says which (no race with another process).
  "$binary" --host 127.0.0.1 --port 0 --accounts 10 --config-out "$ANVIL_DIR/accounts.json" \
    >"$out" 2>&1 &
  pid=$!
  echo "$pid" >"$ANVIL_DIR/pid"
  local deadline=$((SECONDS + 30))
  until grep -q "^Listening on 127.0.0.1:" "$out" 2>/dev/null && [ -s "$ANVIL_DIR/accounts.json" ]; do
    [ -e "/proc/$pid" ] || { cat "$out" >&2; fail "anvil exited while starting"; }
    [ $SECONDS -lt $deadline ] || fail "anvil did not start within 30 s (see $out)"
    sleep 0.05
  done
  local url
  url="http://$(sed -n 's/^Listening on //p' "$out" | head -n 1)"
  # The project's own deployment, paid by dev account 0 (no node uses it, so no node pays for
  # it); every other dev account gets TOK.
  local supply=() account
  python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["private_keys"][0][2:])' \
    "$ANVIL_DIR/accounts.json" >"$ANVIL_DIR/deployer.key"
  chmod 600 "$ANVIL_DIR/deployer.key"
  for account in $(python3 -c 'import json,sys; print(*json.load(open(sys.argv[1]))["available_accounts"][1:])' \
    "$ANVIL_DIR/accounts.json"); do
    supply+=(--token-supply-to "$account")
  done
  "$PARLEY" eth deploy --rpc "$url" --key "$ANVIL_DIR/deployer.key" --token-name TOK "${supply[@]}" \
    >"$ANVIL_DIR/deployed.toml" 2>"$ANVIL_DIR/deploy.err" \
    || { cat "$ANVIL_DIR/deploy.err" >&2; fail "parley eth deploy failed"; }
  python3 "$ANVIL_PY" adapt "$ANVIL_DIR/deployed.toml" "$ANVIL_DIR/chain.toml" \
    "$ANVIL_DIR/apps.toml" || fail "cannot use what parley eth deploy printed (see $ANVIL_DIR/deployed.toml)"
  echo 1 >"$ANVIL_DIR/next-account"
  echo "$url" >"$ANVIL_DIR/url"
}

anvil_stop() {
  local pid
  pid=$(cat "$ANVIL_DIR/pid" 2>/dev/null) || return 0
  # Only our anvil: the pid must still run the binary we started.
  grep -q anvil "/proc/$pid/cmdline" 2>/dev/null || return 0
  { kill -9 "$pid" && wait "$pid"; } 2>/dev/null
  return 0
}

anvil_configure() {
  local name=$1 index key_file="$SCRATCH/$1/eth.key"
  anvil_start
  index=$(cat "$ANVIL_DIR/next-account")
  [ "$index" -lt 10 ] || fail "anvil has 10 dev accounts; $name would need an 11th"
  echo $((index + 1)) >"$ANVIL_DIR/next-account"
  python3 - "$ANVIL_DIR/accounts.json" "$index" "$key_file" "$SCRATCH/$name/eth.address" <<'PY'
import json, os, sys
accounts = json.load(open(sys.argv[1]))
index = int(sys.argv[2])
fd = os.open(sys.argv[3], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
os.write(fd, accounts["private_keys"][index][2:].encode() + b"\n")
os.close(fd)
open(sys.argv[4], "w").write(accounts["available_accounts"][index] + "\n")
PY
  python3 "$ANVIL_PY" node-table "$ANVIL_DIR/chain.toml" "$key_file" "$SCRATCH/$name/chain.toml"
  # Replace the [chain] table and the [[apps]] entries `parley init` wrote (for the sim chain)
  # with the deployed ones; then check the file as the node will read it.
  python3 "$ANVIL_PY" node-config "$SCRATCH/$name/node.toml" "$SCRATCH/$name/chain.toml" \
    "$ANVIL_DIR/apps.toml" || fail "cannot put the anvil chain and apps into $name's node.toml"
  python3 "$ANVIL_PY" check-node "$SCRATCH/$name/node.toml" "$SCRATCH/$name/chain.toml" \
    "$ANVIL_DIR/apps.toml" \
    || fail "$name's node.toml lacks the deployed [chain] table or [[apps]] entries"
}

anvil_plus_gas() {
  local name=$1 url address before amount after
  shift
  url=$(cat "$ANVIL_DIR/url")
  address=$(cat "$SCRATCH/$name/eth.address")
  # The block number before and after the read must agree, or a transaction of NAME's may
  # have been mined in between and the fees would not match the balance read.
  for _ in $(seq 20); do
    before=$(python3 "$ANVIL_PY" block "$url") || return 1
    amount=$("$@") || return 1
    after=$(python3 "$ANVIL_PY" block "$url") || return 1
    if [ "$before" = "$after" ]; then
      python3 "$ANVIL_PY" plus-gas "$url" "$address" "$before" "$amount"
      return
    fi
  done
  fail "the chain kept moving while reading $name's balance"
}

anvil_transactions() {
  python3 "$ANVIL_PY" transactions "$(cat "$ANVIL_DIR/url")" "$(cat "$SCRATCH/$1/eth.address")"
}
