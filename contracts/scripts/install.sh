#!/usr/bin/env bash
# Installs the pinned contract toolchain (solc, anvil, forge) into contracts/node_modules with
# `npm ci`, exactly as package-lock.json says. Idempotent and fast when nothing changed: a stamp
# file in node_modules records the hash of the lock it was installed from.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"

for tool in node npm; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "install.sh: '$tool' is not on PATH; the contract build needs Node.js 20 or newer" \
             "with npm (https://nodejs.org)" >&2
        exit 1
    fi
done

stamp=node_modules/.parley-lock-hash
want="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    exit 0
fi

echo "install.sh: installing the pinned solc, anvil and forge (npm ci) in $here" >&2
npm ci --no-audit --no-fund --loglevel=error >&2
echo "$want" >"$stamp"
