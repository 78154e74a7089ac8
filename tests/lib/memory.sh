# Memory of a running node, for the scenarios that check what a hostile peer can make it hold.
# Source after common.sh and nodes.sh.
#
#   rss_kib PID                 the process's resident set size now (VmRSS), in KiB
#   rest_rss_kib PID            its RSS at rest: the largest of ten samples over one second
#   watch_rss PID OUT_FILE      samples PID's RSS every 50 ms into OUT_FILE until killed;
#                               start it in the background, $! is the sampler
#   peak_of OUT_FILE            the largest sample written by watch_rss, in KiB
#
# Sizes come from /proc/PID/status, so these need Linux.

rss_kib() {
  awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0
}

rest_rss_kib() {
  local pid=$1 peak=0 now
  for _ in $(seq 10); do
    now=$(rss_kib "$pid")
    [ "$now" -gt "$peak" ] && peak=$now
    sleep 0.1
  done
  echo "$peak"
}

watch_rss() {
  local pid=$1 out=$2
  : >"$out"
  while [ -e "/proc/$pid" ]; do
    rss_kib "$pid" >>"$out"
    sleep 0.05
  done
}

peak_of() {
  sort -n "$1" | tail -n 1
}
