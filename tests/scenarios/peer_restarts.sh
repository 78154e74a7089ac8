#!/usr/bin/env bash
# Peers that survive restarts. `parley init` writes a fixed listen port, so a node comes back
# where its peers know it; a node that was only dialed learns where its peer listens from the
# handshake and keeps it (and names it by the node id alone). Two nodes, one channel: bob (who never adds alice) is killed -9 and
# restarted, alice reconnects by herself and a payment works; then both are killed, bob starts
# first and already knows where alice listens, and once she is up a payment from bob works.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/nodes.sh"

listen_of() { # the [wire] listen in NAME's node.toml
  python3 - "$SCRATCH/$1/node.toml" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
section = re.search(r"(?ms)^\[wire\]\n.*?(?=^\[|\Z)", text).group(0)
print(re.search(r'(?m)^listen\s*=\s*"([^"]*)"', section).group(1))
PY
}

step "init writes a fixed listen port (INIT_LISTEN: init's own choice, not the helpers' port 0)"
INIT_LISTEN=127.0.0.1 new_node alice
INIT_LISTEN=127.0.0.1 new_node bob
alice_listen=$(listen_of alice)
bob_listen=$(listen_of bob)
case "$alice_listen$bob_listen" in *:0*) fail "init wrote port 0 ($alice_listen, $bob_listen)";; esac
[ "$alice_listen" != "$bob_listen" ] || fail "both nodes got $alice_listen"
[ "$(node_addr alice)" = "$alice_listen" ] || fail "alice listens at $(node_addr alice), not $alice_listen"

step "info gives a pasteable <node id>@<host:port>; peer add takes it and connects at once"
bob_address=$(json bob info -- 'r["node_address"]')
[ "$bob_address" = "$(node_id bob)@$bob_listen" ] || fail "bob's address is $bob_address"
cli alice peer add bob "$bob_address" >"$SCRATCH/add.out" || fail "peer add failed"
grep -q "connected  yes" "$SCRATCH/add.out" || { cat "$SCRATCH/add.out"; fail "peer add did not connect"; }
[ "$(json alice info -- 'r["peers"]')" = 1 ] || fail "alice's info does not count bob"
[ -n "$(json alice info -- 'r["api_address"]')" ] || fail "info has no API address"

step "bob, who never added alice, lists her: no alias, inbound, at her listen address"
wait_until 10 json bob peer list -- 'r[0]["connected"] or sys.exit(1)'
[ "$(json bob peer list -- 'len(r)')" = 1 ] || fail "bob lists $(json bob peer list -- 'len(r)') peers"
[ "$(json bob peer list -- 'r[0]["alias"]')" = None ] || fail "bob has an alias for alice"
[ "$(json bob peer list -- 'r[0]["direction"]')" = inbound ] || fail "bob's connection is not inbound"
[ "$(json bob peer list -- 'r[0]["transport_address"]')" = "$alice_listen" ] \
  || fail "bob learned $(json bob peer list -- 'r[0]["transport_address"]'), not $alice_listen"
[ "$(json alice peer list -- 'r[0]["direction"]')" = outbound ] || fail "alice's connection is not outbound"

step "a channel, and a payment"
open_channel alice bob 1000 0 600
channel=$CHANNEL
cli alice channel pay "$channel" 5 >/dev/null || fail "the first payment failed"

# pay_within SECONDS PAYER: until a payment of 1 goes through.
pay_within() {
  local seconds=$1 payer=$2 deadline=$((SECONDS + $1))
  until cli "$payer" channel pay "$channel" 1 >/dev/null 2>>"$SCRATCH/pay-errors.log"; do
    [ $SECONDS -lt $deadline ] \
      || fail "$payer could not pay within $seconds s (last error: $(tail -n 1 "$SCRATCH/pay-errors.log"))"
    sleep 0.2
  done
}

step "kill -9 bob and restart him: same port, alice reconnects by herself, a payment works"
kill_node bob
restart_node bob
[ "$(node_addr bob)" = "$bob_listen" ] || fail "bob came back at $(node_addr bob), not $bob_listen"
pay_within 60 alice

step "kill both; bob starts first and already knows where alice listens"
kill_node alice
kill_node bob
restart_node bob
[ "$(json bob peer list -- 'r[0]["transport_address"]')" = "$alice_listen" ] \
  || fail "bob forgot where alice listens"
restart_node alice
wait_until 60 json bob peer list -- 'r[0]["connected"] or sys.exit(1)'
step "bob pays alice back"
pay_within 60 bob
# Three payments; each restart also spent a version (a proposal may leave before its record
# is durable), so the version is 3 or more.
read -r alice_version alice_balances <<<"$(balances_of alice "$channel")"
[ "$alice_balances" = "995 5" ] && [ "$alice_version" -ge 3 ] \
  || fail "alice sees $(balances_of alice "$channel")"
step "bob names alice by her node id alone: the address she announced is used"
cli bob peer add alice "$(node_id alice)" >"$SCRATCH/add-alice.out" || fail "bob could not name alice by her id"
assert_contains "$SCRATCH/add-alice.out" "added peer alice"
[ "$(json bob peer list -- 'r[0]["alias"]')" = alice ] || fail "bob's peer list has no alias for alice"
[ "$(json bob peer list -- 'r[0]["transport_address"]')" = "$alice_listen" ] || fail "bob keeps another address for alice"
echo "PASS peer_restarts"
