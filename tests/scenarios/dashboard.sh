#!/usr/bin/env bash
# The web dashboard (issue #13) end to end: two real nodes with two funded channels, and both
# nodes' dashboards open in Debian's headless Chromium (tests/dashboard/e2e.mjs, driven by
# playwright-core). A wrong token is refused; alice pays 0.25 ETH with the Pay form and bob's
# dashboard shows the payment and his new balance live, alice's shows it sent; bad amounts are
# refused with clear messages; bob's node restarts and his dashboard says so and comes back
# live by itself; a forced settle shows a running chain-time countdown on both; Settle closes
# the other channel on both. The chain then holds exactly what was shown.
#
# Screenshots go to $PARLEY_SCREENSHOTS if set (kept), else into the scenario's scratch
# directory (kept only when the scenario fails). tests/lib/install-browser.sh installs
# Debian's chromium and the pinned playwright-core first if they are missing.
#
# Sim chain only: the dashboard talks to the node's API alone, which is the same on every
# chain backend (the other scenarios run the API on anvil), so run-all.sh's anvil pass leaves
# it out.
source "$(dirname "$0")/../lib/common.sh"
PARLEY_CHAIN=sim; source "$(dirname "$0")/../lib/nodes.sh"

step "install Debian's chromium and playwright-core if missing"
"$REPO/tests/lib/install-browser.sh"

step "start alice and bob; open a payment channel (10 / 5 ETH) and one to dispute (2 / 2 ETH)"
new_node alice
new_node bob
introduce alice bob
alice_before=$(eth_balance alice)
bob_before=$(eth_balance bob)
open_channel alice bob 10ETH 5ETH 60
pay_channel=$CHANNEL
open_channel alice bob 2ETH 2ETH 15
dispute_channel=$CHANNEL

# pin_api NAME: keep the node's API on the port it has now, so that a dashboard open in a
# browser finds it again after a restart.
pin_api() {
  local name=$1 addr
  addr=$(cat "$SCRATCH/$name/data/api.addr")
  python3 - "$SCRATCH/$name/node.toml" "$addr" <<'PY'
import re, sys
path, addr = sys.argv[1], sys.argv[2]
text = open(path).read()
section = re.search(r"(?ms)^\[api\]\n.*?(?=^\[|\Z)", text)
body, n = re.subn(r'(?m)^listen\s*=\s*"[^"]*"', f'listen = "{addr}"', section.group(0))
if n != 1:
    sys.exit(f"no `listen` in the [api] section of {path}")
open(path, "w").write(text[: section.start()] + body + text[section.end():])
PY
}
pin_listen bob
pin_api bob

step "both dashboards in headless Chromium (tests/dashboard/e2e.mjs); bob restarts when it asks"
shots="${PARLEY_SCREENSHOTS:-$SCRATCH/screenshots}"
mkdir -p "$shots" "$SCRATCH/chromium-profile"
api_url() { echo "http://$(cat "$SCRATCH/$1/data/api.addr")"; }
# `parley info` tells where the dashboard is.
shown=$(cli alice info | awk '$1 == "dashboard" { print $2 }')
[ "$shown" = "$(api_url alice)/dashboard/" ] || fail "parley info shows the dashboard at '$shown'"
A_URL=$(api_url alice) A_TOKEN=$(cat "$SCRATCH/alice/data/api.token") \
B_URL=$(api_url bob) B_TOKEN=$(cat "$SCRATCH/bob/data/api.token") \
PAY_CHANNEL=$pay_channel DISPUTE_CHANNEL=$dispute_channel \
SHOTS=$shots PROFILE="$SCRATCH/chromium-profile" \
RESTART_ASKED="$SCRATCH/restart-bob" RESTART_DONE="$SCRATCH/bob-restarted" \
  node "$REPO/tests/dashboard/e2e.mjs" &
e2e=$!
BG_PIDS+=("$e2e")
# The test asks once (a file appears) and waits for the answer (another file).
while kill -0 "$e2e" 2>/dev/null; do
  if [ -f "$SCRATCH/restart-bob" ] && [ ! -f "$SCRATCH/bob-restarted" ]; then
    kill_node bob
    restart_node bob
    touch "$SCRATCH/bob-restarted"
  fi
  sleep 0.2
done
wait "$e2e" || fail "the dashboard test failed (screenshots in $shots)"
[ -f "$SCRATCH/bob-restarted" ] || fail "the dashboard test never asked for bob's restart"

step "the chain paid what the dashboards showed: alice 9.75 + 2 ETH, bob 5.25 + 2 ETH"
wait_for_phase bob "$pay_channel" closed 30
wait_for_phase bob "$dispute_channel" closed 30
expect_balance alice "$alice_before" 12000000000000000000 11750000000000000000
expect_balance bob "$bob_before" 7000000000000000000 7250000000000000000
echo "ok: dashboard (screenshots in $shots)"
