#!/usr/bin/env bash
# Runs the contract tests (contracts/test/*.t.sol) with forge, offline, compiling with solcjs
# through the scripts/solc wrapper. Installs the pinned toolchain first if needed
# (scripts/install.sh). Extra arguments go to `forge test` (e.g. --match-test NAME, -vvv).
# The exit status is forge's: 0 when every test passed. The run is bounded by
# PARLEY_FORGE_TIMEOUT seconds (default 900). Ends with a plain "contracts: N passed, N failed"
# line.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"

bash scripts/install.sh

forge=node_modules/.bin/forge
if [[ ! -x "$forge" ]]; then
    echo "test.sh: $here/$forge is missing after install.sh" >&2
    exit 1
fi

log="$(mktemp)"
trap 'rm -f "$log"' EXIT

limit="${PARLEY_FORGE_TIMEOUT:-900}"
status=0
timeout --kill-after=10 "$limit" "$forge" test --offline "$@" 2>&1 | tee "$log" || status=${PIPESTATUS[0]}
if [[ $status -eq 124 || $status -eq 137 ]]; then
    echo "test.sh: forge test did not finish within ${limit}s" >&2
fi

# forge's summary: "Ran N test suites in ...: P tests passed, F failed, S skipped (T total tests)".
summary="$(grep -Eo '[0-9]+ tests passed, [0-9]+ failed, [0-9]+ skipped' "$log" | tail -n 1 || true)"
if [[ -n "$summary" ]]; then
    read -r passed _ _ failed _ skipped _ <<<"${summary//,/}"
    echo "contracts: $passed passed, $failed failed, $skipped skipped"
elif [[ $status -eq 0 ]]; then
    echo "test.sh: forge reported no test summary" >&2
    status=1
fi
exit "$status"
