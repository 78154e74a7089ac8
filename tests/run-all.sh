#!/usr/bin/env bash
# Runs every test of Parley, in the order a failure is cheapest to find:
#   format and lints, the build, the plugins built outside the workspace, the contracts (pinned
#   solc/anvil/forge installed from npm, artifacts checked against the sources, forge tests),
#   unit/property/integration tests (cargo; the Ethereum plugin's run on anvil), then the
#   multi-process scenarios in tests/scenarios.
# Needs cargo, gcc and Node.js with npm; contracts/scripts/install.sh installs the rest
# (idempotently). Set CARGO_TARGET_DIR to reuse builds.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$REPO/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
started=$SECONDS
section() { echo; echo "=== $* ($((SECONDS - started)) s)"; }

section "format"
cargo fmt --all -- --check
(cd tests/external-plugins && cargo fmt --all -- --check)

section "build (plugins are cdylibs the tests load)"
cargo build --workspace --all-targets

section "clippy"
cargo clippy --workspace --all-targets --quiet -- -D warnings

section "plugin-api docs (third parties build against them)"
RUSTDOCFLAGS="-D warnings" cargo doc -p parley-plugin-api --no-deps --quiet

section "plugins built outside the workspace"
tests/lib/build-external-plugins.sh
(cd tests/external-plugins && cargo clippy --quiet --all-targets -- -D warnings)

section "contracts: install the pinned toolchain, check the artifacts, run the forge tests"
contracts/scripts/install.sh
node contracts/scripts/compile.mjs --check
bash contracts/scripts/test.sh

section "unit, property and integration tests"
cargo test --workspace --quiet

section "multi-process scenarios"
passed=0
failed=0
failures=()
for scenario in tests/scenarios/*.sh; do
  name=$(basename "$scenario" .sh)
  echo "--- $name"
  if timeout 600 bash "$scenario"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    failures+=("$name")
  fi
done
echo
[ "$failed" -eq 0 ] || echo "failed scenarios: ${failures[*]}"
echo "all tests finished in $((SECONDS - started)) s"
echo "scenarios: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
