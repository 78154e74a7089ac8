#!/usr/bin/env bash
# Bob's node asks him about Alice's moves (`[policy] incoming_moves = "ask"`) in a tic-tac-toe
# channel, through the CLI: `channel pending` shows the move (the app's view of the grid now
# and proposed, who moves, the balances before and after), `channel accept` signs one,
# `channel reject --reason` refuses the next and Alice's `channel move` fails with the reason,
# and one nobody answers is rejected at Bob's deadline (`update_timeout_seconds = 5`, shorter
# than Alice's 30), so Alice is not stuck. After each, both sides are at the same version and
# grid, with the stakes untouched.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/nodes.sh"

step "start alice and bob; bob answers alice's moves himself, within 5 s"
new_node alice
init_node bob 'incoming_moves = "ask"
update_timeout_seconds = 5'
start_node bob
introduce alice bob
open_channel alice bob 10 10 60 --app tictactoe
game=$CHANNEL
[ "$(json bob channel pending -- 'len(r)')" = 0 ] || fail "bob has a pending update before any move"

# state NAME: "version rows balances" of the game as NAME sees it.
state() {
  channel_of "$1" "$game" '"%s %s %s" % (r["version"], "|".join(r["app"]["state"]["rows"]), " ".join(r["balances"][0]["by_participant"]))'
}
# same STATE: both see STATE.
same() {
  [ "$(state alice)" = "$1" ] || fail "alice sees $(state alice), expected $1"
  [ "$(state bob)" = "$1" ] || fail "bob sees $(state bob), expected $1"
}
# alice_moves CELL OUT: alice marks CELL in the background, her output to OUT.{out,err}.
alice_moves() {
  cli alice channel move "$game" "{\"cell\": $1}" >"$2.out" 2>"$2.err" &
  MOVE_PID=$!; BG_PIDS+=("$MOVE_PID")
}
# pending_version: the version of bob's pending update, once he has one.
pending_version() {
  local version="" deadline=$((SECONDS + 20))
  until version=$(json bob channel pending "$game" -- 'r[0]["version"] if r else ""') && [ -n "$version" ]; do
    [ $SECONDS -lt $deadline ] || fail "bob never saw alice's move"
    sleep 0.1
  done
  echo "$version"
}

step "alice marks 0; bob sees the move in channel pending and accepts it"
alice_moves 0 "$SCRATCH/move0"
version=$(pending_version)
[ "$version" = 1 ] || fail "the pending update is version $version, expected 1"
json bob channel pending "$game" -- 'r[0]' >"$SCRATCH/pending.txt"
pending() { json bob channel pending "$game" -- "$1"; }
[ "$(pending 'r[0]["kind"]')" = app_move ] || fail "the update is not an app move"
[ "$(pending 'r[0]["current_version"]')" = 0 ] || fail "the current version is not 0"
[ "$(pending 'r[0]["app"]["actor"]')" = 0 ] || fail "the actor is not alice (participant 0)"
[ "$(pending '"|".join(r[0]["app"]["current"]["rows"])')" = "...|...|..." ] || fail "the current grid is not empty"
[ "$(pending '"|".join(r[0]["app"]["proposed"]["rows"])')" = "X..|...|..." ] || fail "the proposed grid is not alice's X in cell 0"
[ "$(pending '"%s %s %s %s" % tuple(r[0]["balances"][0][k] for k in ("mine_before", "mine_after", "theirs_before", "theirs_after"))')" = "10 10 10 10" ] \
  || fail "the move changes the balances"
cli bob channel pending >"$SCRATCH/pending.human" || fail "channel pending failed"
assert_contains "$SCRATCH/pending.human" "version 0 -> 1 (app_move)"
assert_contains "$SCRATCH/pending.human" "X.."
expect_fail "$SCRATCH/wrong-version.err" cli bob channel accept "$game" --version 2
assert_contains "$SCRATCH/wrong-version.err" "version 1, not 2"
cli bob channel accept "$game" --version 1 >"$SCRATCH/accept.out" || fail "bob could not accept"
wait "$MOVE_PID" || { cat "$SCRATCH/move0.err"; fail "alice's accepted move failed"; }
same "1 X..|...|... 10 10"
[ "$(json bob channel pending -- 'len(r)')" = 0 ] || fail "the accepted move is still pending"

step "bob marks 4 (alice's node answers by itself); alice marks 1, bob rejects it with a reason"
cli bob channel move "$game" '{"cell": 4}' >/dev/null || fail "bob could not mark 4"
same "2 X..|.O.|... 10 10"
alice_moves 1 "$SCRATCH/move1"
[ "$(pending_version)" = 3 ] || fail "the pending update is not version 3"
cli bob channel reject "$game" --reason "not that cell, please" >/dev/null || fail "bob could not reject"
if wait "$MOVE_PID"; then fail "alice's rejected move succeeded"; fi
assert_contains "$SCRATCH/move1.err" "rejected_by_peer"
assert_contains "$SCRATCH/move1.err" "not that cell, please"
same "2 X..|.O.|... 10 10"
expect_fail "$SCRATCH/twice.err" cli bob channel accept "$game" --version 3
assert_contains "$SCRATCH/twice.err" "already rejected"

step "alice marks 2 and bob does not answer: his node rejects it after 5 s"
started=$SECONDS
alice_moves 2 "$SCRATCH/move2"
# Version 3 went to the rejected move: a state of it was signed, so the next is 4 (one
# version, one state).
[ "$(pending_version)" = 4 ] || fail "the pending update is not version 4"
if wait "$MOVE_PID"; then fail "alice's unanswered move succeeded"; fi
assert_contains "$SCRATCH/move2.err" "rejected_by_peer"
assert_contains "$SCRATCH/move2.err" "not answered in time"
[ $((SECONDS - started)) -lt 30 ] || fail "alice waited for her own timeout, not bob's deadline"
same "2 X..|.O.|... 10 10"
[ "$(json bob channel pending -- 'len(r)')" = 0 ] || fail "the lapsed move is still pending"
expect_fail "$SCRATCH/late.err" cli bob channel accept "$game"
assert_contains "$SCRATCH/late.err" "not_found"
assert_contains "$SCRATCH/late.err" "no update of the peer awaits an answer"

step "the game goes on: alice marks 2 again and bob accepts"
alice_moves 2 "$SCRATCH/move2b"
[ "$(pending_version)" = 5 ] || fail "the pending update is not version 5"
cli bob channel accept "$game" >/dev/null || fail "bob could not accept"
wait "$MOVE_PID" || { cat "$SCRATCH/move2b.err"; fail "alice's accepted move failed"; }
same "5 X.X|.O.|... 10 10"
echo "PASS user_answers"
