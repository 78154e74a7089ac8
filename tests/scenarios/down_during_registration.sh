#!/usr/bin/env bash
# Down while the peer cheats: bob is killed with kill -9, and while he is down alice registers
# the old version 3 of a channel at version 10. Half the challenge duration passes on chain;
# bob comes back within it, his watcher still refutes with version 10, and once the challenge
# has passed both withdraw exactly their balances of version 10.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/nodes.sh"

deposit=1000
challenge=600

step "start alice (allowed to misbehave) and bob, at fixed addresses"
init_node alice
allow_misbehaviour alice
start_node alice
new_node bob
pin_listen alice
pin_listen bob
introduce alice bob
alice_before=$(eth_balance alice)
bob_before=$(eth_balance bob)

step "alice opens a channel with bob ($deposit each, challenge $challenge s); 10 payments"
open_channel alice bob "$deposit" "$deposit" "$challenge"
channel=$CHANNEL
alice_mine=$deposit
bob_mine=$deposit
for i in $(seq 10); do
  if [ $((i % 2)) = 1 ]; then
    cli alice channel pay "$channel" $((40 + i)) >/dev/null || fail "payment $i (alice -> bob) failed"
    alice_mine=$((alice_mine - 40 - i)); bob_mine=$((bob_mine + 40 + i))
  else
    cli bob channel pay "$channel" $((5 + i)) >/dev/null || fail "payment $i (bob -> alice) failed"
    alice_mine=$((alice_mine + 5 + i)); bob_mine=$((bob_mine - 5 - i))
  fi
  if [ "$i" = 3 ]; then old_alice=$alice_mine; fi
done
[ "$(balances_of alice "$channel")" = "10 $alice_mine $bob_mine" ] \
  || fail "alice sees '$(balances_of alice "$channel")', expected '10 $alice_mine $bob_mine'"
[ "$(balances_of bob "$channel")" = "10 $bob_mine $alice_mine" ] \
  || fail "bob sees '$(balances_of bob "$channel")', expected '10 $bob_mine $alice_mine'"
[ "$old_alice" -gt "$alice_mine" ] || fail "version 3 gives alice $old_alice, not more than the newest $alice_mine"

step "bob goes down (kill -9)"
kill_node bob

step "alice registers version 3 while bob is down"
[ "$(json alice misbehave register "$channel" --version 3 -- 'r["dispute"]["version"]')" = 3 ] \
  || fail "alice's misbehave register did not show version 3 on chain"
[ "$(json alice chain dispute --channel "$channel" -- 'r["version"]')" = 3 ] \
  || fail "the chain's record is not version 3: $(cli alice chain dispute --channel "$channel" --json)"

step "half the challenge duration passes on chain; nobody refutes meanwhile"
cli alice chain advance $((challenge / 2)) >/dev/null || fail "chain advance failed"
sleep 2 # a few of alice's chain polls: she must not refute her own registration
[ "$(json alice chain dispute --channel "$channel" -- 'r["version"]')" = 3 ] \
  || fail "the record changed while bob was down: $(cli alice chain dispute --channel "$channel" --json)"

step "bob comes back within the challenge duration and refutes with version 10"
restart_node bob
wait_for_dispute bob "$channel" 10 60
[ "$(json alice chain dispute --channel "$channel" -- 'r["version"]')" = 10 ] \
  || fail "the chain's record is not version 10: $(cli alice chain dispute --channel "$channel" --json)"
wait_for_dispute alice "$channel" 10 30

step "the challenge duration passes on chain; both withdraw the newest state"
cli alice chain advance $((challenge + 1)) >/dev/null || fail "chain advance failed"
wait_for_phase alice "$channel" closed 60
wait_for_phase bob "$channel" closed 60
expect_balance alice "$alice_before" "$deposit" "$alice_mine"
expect_balance bob "$bob_before" "$deposit" "$bob_mine"
echo "PASS down_during_registration"
