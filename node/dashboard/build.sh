#!/usr/bin/env bash
# Builds the dashboard (src/, index.html, public/) into dist/, which is committed and which the
# node embeds (node/src/api/dashboard.rs), so that `cargo build` never needs Node.js.
#
#   bash node/dashboard/build.sh           install the pinned toolchain, type-check, write dist/
#   bash node/dashboard/build.sh --check   the same into a temporary directory, then fail naming
#                                          every file of dist/ that differs from the sources'
#                                          build (sources changed, dist/ not rebuilt, or the
#                                          other way round)
#
# Idempotent: `npm ci` runs only when package-lock.json changed since the last install (a stamp
# in node_modules records its hash). Vite's output is deterministic and has fixed names, so the
# same sources give byte-identical files on every machine.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
# The files the node embeds; the build must make exactly these.
expected="app.css app.js favicon.svg index.html"

check=false
case "${1:-}" in
  "") ;;
  --check) check=true ;;
  *) echo "usage: build.sh [--check]" >&2; exit 2 ;;
esac

for tool in node npm; do
  command -v "$tool" >/dev/null 2>&1 \
    || { echo "build.sh: '$tool' is not on PATH; the dashboard build needs Node.js 20.19 or newer with npm" >&2; exit 1; }
done
stamp=node_modules/.parley-lock-hash
want="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "build.sh: installing the pinned Vite and TypeScript (npm ci) in $here" >&2
  npm ci --no-audit --no-fund --loglevel=error >&2
  echo "$want" >"$stamp"
fi

node_modules/.bin/tsc --noEmit -p .

out=dist
if $check; then
  out="$(mktemp -d "${TMPDIR:-/tmp}/parley-dashboard.XXXXXX")"
  trap 'rm -rf "$out"' EXIT
fi
node_modules/.bin/vite build --logLevel warn --outDir "$out" --emptyOutDir

made="$(cd "$out" && ls | sort | tr '\n' ' ' | sed 's/ $//')"
if [ "$made" != "$expected" ]; then
  echo "build.sh: the build made [$made], but the node embeds exactly [$expected];" \
       "update vite.config.mjs or node/src/api/dashboard.rs" >&2
  exit 1
fi

if $check; then
  stale=()
  for file in $expected; do
    cmp -s "$out/$file" "dist/$file" || stale+=("$file")
  done
  extra="$(cd dist && ls | sort | tr '\n' ' ' | sed 's/ $//')"
  if [ ${#stale[@]} -gt 0 ] || [ "$extra" != "$expected" ]; then
    echo "build.sh --check: node/dashboard/dist/ does not match its sources" \
         "(differs: ${stale[*]:-none}; dist/ holds [$extra]); run bash node/dashboard/build.sh and commit dist/" >&2
    exit 1
  fi
  echo "build.sh --check: node/dashboard/dist/ matches its sources"
fi
