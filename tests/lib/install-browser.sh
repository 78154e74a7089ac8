#!/usr/bin/env bash
# Installs what the dashboard's end-to-end test needs, idempotently: Debian's `chromium`
# package (only when /usr/bin/chromium is missing; Playwright never downloads a browser here)
# and the test's pinned playwright-core in tests/dashboard/node_modules (`npm ci`, skipped when
# package-lock.json has not changed since the last install).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../dashboard" && pwd)"

if [ ! -x /usr/bin/chromium ]; then
  command -v apt-get >/dev/null 2>&1 \
    || { echo "install-browser.sh: /usr/bin/chromium is missing and there is no apt-get to install Debian's chromium" >&2; exit 1; }
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "install-browser.sh: installing Debian's chromium (apt-get)" >&2
  log="$(mktemp)"
  # A fresh machine may have no package lists yet; an update is cheap next to the install.
  if ! { $sudo apt-get update -qq \
         && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium; } >"$log" 2>&1; then
    cat "$log" >&2
    echo "install-browser.sh: could not install chromium with apt-get (output above)" >&2
    exit 1
  fi
  rm -f "$log"
  [ -x /usr/bin/chromium ] || { echo "install-browser.sh: apt-get installed chromium, but /usr/bin/chromium is missing" >&2; exit 1; }
fi

for tool in node npm; do
  command -v "$tool" >/dev/null 2>&1 \
    || { echo "install-browser.sh: '$tool' is not on PATH; the dashboard test needs Node.js 20 or newer with npm" >&2; exit 1; }
done
stamp="$here/node_modules/.parley-lock-hash"
want="$(sha256sum "$here/package-lock.json" | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "install-browser.sh: installing the pinned playwright-core (npm ci) in $here" >&2
  # PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: playwright-core downloads nothing, but say so anyway.
  (cd "$here" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error >&2)
  echo "$want" >"$stamp"
fi
