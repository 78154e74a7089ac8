#!/usr/bin/env bash
# A full disk under the real LMDB store: alice's store lives on a small tmpfs that a filler file
# fills up. LMDB (without WRITEMAP) keeps reusing its freed pages, so small updates may still
# fit; the first commit that needs the file to grow fails with ENOSPC and only aborts its
# transaction (the environment stays usable, no reopen needed). Alice opens channels until one
# hits the full disk: that open fails at once with the disk's error, the channel stays listed
# with the problem, and once the filler is gone it opens, funds and pays without a restart.
# Needs root with CAP_SYS_ADMIN for the mount (CI and the dev machines run as root).
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/nodes.sh"

disk="$SCRATCH/disk"
mkdir -p "$disk"
mount -t tmpfs -o size=8m tmpfs "$disk" 2>"$SCRATCH/mount.err" \
  || fail "cannot mount a tmpfs for the full-disk test ($(cat "$SCRATCH/mount.err")); it needs root with CAP_SYS_ADMIN"
# As nodes.sh's exit trap, and the tmpfs unmounted once the nodes are gone.
trap 'exit_status=$?; set +e; kill_recorded_nodes; umount "$disk"; [ "$PARLEY_CHAIN" != anvil ] || anvil_stop; (exit $exit_status); cleanup' EXIT
# A failed open is answered at once; today's node waited funding_timeout + 30 s (330 s).
quick=30

step "alice keeps her LMDB store on an 8 MiB tmpfs; bob accepts any channel"
init_node alice
python3 - "$SCRATCH/alice/node.toml" "$disk/store" <<'PY'
import re, sys
path, store = sys.argv[1:]
text = open(path).read()
text, n = re.subn(r'(?m)^map_size_mib = 1024$', f'map_size_mib = 64\npath = "{store}"', text)
if n != 1:
    sys.exit(f"no map_size_mib in {path}")
open(path, "w").write(text)
PY
start_node alice
new_node bob 'auto_accept_from = ["*"]
max_auto_deposit = "100000"'
introduce alice bob

step "the disk fills up; alice opens channels until one needs more space than there is"
dd if=/dev/zero of="$disk/filler" bs=64k 2>/dev/null || true
[ "$(df --output=avail -k "$disk" | tail -1 | tr -d ' ')" -lt 64 ] || fail "the tmpfs did not fill up"
failed_open=""
for attempt in $(seq 1 40); do
  cli alice channel open bob --mine 10 --theirs 0 --asset ETH --challenge 600 >"$SCRATCH/open.out" 2>"$SCRATCH/open.err" &
  open_pid=$!
  BG_PIDS+=("$open_pid")
  if ! wait_bounded "$open_pid" "$quick" "channel open $attempt on a full disk"; then
    failed_open=$attempt
    break
  fi
done
[ -n "$failed_open" ] || fail "40 channels opened on a full disk"
step "open $failed_open failed at once with the disk's error; its channel stays listed"
assert_contains "$SCRATCH/open.err" "No space left on device"
opening=$(json alice channel list -- '[c["id"] for c in r if c["phase"] == "opening"]')
[ "$(python3 -c "print(len($opening))")" = 1 ] || fail "alice lists no single opening channel: $opening"
channel=$(python3 -c "print($opening[0])")
channel_of alice "$channel" 'r["status"]' | grep -q "No space left on device" \
  || fail "alice's channel does not show the full disk: $(channel_of alice "$channel" 'r')"

step "the disk has space again: the same channel opens, funds and pays without a restart"
rm -f "$disk/filler"
wait_for_phase alice "$channel" active 60
wait_for_phase bob "$channel" active 30
[ -z "$(channel_of alice "$channel" 'r.get("status") or ""')" ] || fail "the store problem is still shown: $(channel_of alice "$channel" 'r')"
cli alice channel pay "$channel" 4 >/dev/null || fail "paying on the recovered channel failed"
[ "$(balances_of alice "$channel")" = "1 6 4" ] || fail "alice's balances: $(balances_of alice "$channel")"
bob_at_1() { [ "$(balances_of bob "$channel")" = "1 4 6" ]; }
wait_until 30 bob_at_1
echo "PASS disk_full"
