#!/usr/bin/env bash
# Runs every test of Parley, in the order a failure is cheapest to find:
#   format and lints, the build, the plugins built outside the workspace, the contracts (pinned
#   solc/anvil/forge installed from npm, artifacts checked against the sources, forge tests,
#   contracts/README.md's gas table checked against a measurement on anvil), the dashboard's
#   committed build checked against its sources,
#   unit/property/integration tests (cargo; the Ethereum plugin's run on anvil), the fuzz
#   targets (tests/lib/fuzz.sh, 20 s each), then the multi-process scenarios in
#   tests/scenarios: all on the sim chain, and those that run nodes through tests/lib/nodes.sh
#   a second time on anvil with the Ethereum plugin.
# Needs cargo, gcc and Node.js with npm; contracts/scripts/install.sh, node/dashboard/build.sh,
# tests/lib/install-browser.sh (Debian's chromium through apt-get, and playwright-core) and
# tests/lib/fuzz.sh install the rest (idempotently); the fuzz targets use rustup's nightly
# toolchain if present.
# Set CARGO_TARGET_DIR to reuse builds.
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
(cd tests/plugin-template && cargo fmt -- --check)
(cd fuzz && cargo fmt --all -- --check)

section "build (plugins are cdylibs the tests load)"
cargo build --workspace --all-targets

section "clippy"
cargo clippy --workspace --all-targets --quiet -- -D warnings
(cd fuzz && cargo clippy --all-targets --quiet -- -D warnings)

section "plugin-api docs (third parties build against them)"
RUSTDOCFLAGS="-D warnings" cargo doc -p parley-plugin-api --no-deps --all-features --quiet

section "plugins built outside the workspace (the template against the packaged plugin-api, one against the frozen ABI)"
tests/lib/build-external-plugins.sh
(cd tests/external-plugins && cargo clippy --quiet --all-targets -- -D warnings)
(cd tests/external-plugins && cargo test --quiet)
api_version=$(sed -n 's/^version = "\(.*\)"/\1/p' plugin-api/Cargo.toml | head -n 1)
(cd tests/plugin-template && cargo clippy --quiet --all-targets \
  --config "patch.crates-io.parley-plugin-api.path=\"$CARGO_TARGET_DIR/package/unpacked/parley-plugin-api-$api_version\"" \
  -- -D warnings)

section "contracts: install the pinned toolchain, check the artifacts, run the forge tests, check the gas table"
contracts/scripts/install.sh
node contracts/scripts/compile.mjs --check
bash contracts/scripts/test.sh
node contracts/scripts/gas-table.mjs --check

section "dashboard: check node/dashboard/dist/ against its sources (pinned Vite from npm), install the browser for its test"
bash node/dashboard/build.sh --check
tests/lib/install-browser.sh

section "unit, property and integration tests"
cargo test --workspace --quiet

section "fuzz targets, ${FUZZ_SECONDS:-20} s each (cargo-fuzz installed if missing)"
tests/lib/fuzz.sh

section "multi-process scenarios"
# Every scenario runs on the sim chain. Those that run nodes through tests/lib/nodes.sh (the
# multi-node ones) run a second time on anvil with the Ethereum plugin (PARLEY_CHAIN=anvil:
# nodes.sh starts one anvil on a free loopback port, deploys the contracts, gives each node its
# own dev account, and stops anvil at the end). The others do not depend on the chain backend
# or exercise sim-chain features by design: shared_ledger (the sim chain's shared ledger file),
# demo (`parley demo` runs its own sim-chain nodes), init and node_run (what `parley init`
# writes and config errors), api and cli_basics (one node's API and CLI), plugin_check and
# external_plugin (plugin loading), external_app (an app plugin with no Ethereum contract) and
# dashboard (a browser on the API, which is the same on every chain): those two set
# PARLEY_CHAIN=sim on the line that sources nodes.sh, so the grep below leaves them out.
# ethereum_plugin_check runs `parley plugin check` on the Ethereum plugin against anvil in the
# first pass already.
passed_sim=0
passed_anvil=0
failed=0
failures=()
# run_scenario CHAIN FILE: runs one scenario on CHAIN; counts and names failures.
run_scenario() {
  local chain=$1 scenario=$2 name
  name=$(basename "$scenario" .sh)
  echo "--- $name ($chain)"
  if PARLEY_CHAIN=$chain timeout 600 bash "$scenario"; then
    if [ "$chain" = sim ]; then passed_sim=$((passed_sim + 1)); else passed_anvil=$((passed_anvil + 1)); fi
  else
    failed=$((failed + 1))
    failures+=("$name ($chain)")
  fi
}
for scenario in tests/scenarios/*.sh; do
  run_scenario sim "$scenario"
done
section "multi-node scenarios again on anvil with the Ethereum plugin"
anvil_started=$SECONDS
for scenario in $(grep -l '^source .*lib/nodes.sh' tests/scenarios/*.sh); do
  run_scenario anvil "$scenario"
done
echo "(the anvil runs took $((SECONDS - anvil_started)) s)"
echo
[ "$failed" -eq 0 ] || echo "failed scenarios: ${failures[*]}"
echo "all tests finished in $((SECONDS - started)) s"
echo "scenarios: $passed_sim passed on sim, $passed_anvil passed on anvil, $failed failed"
[ "$failed" -eq 0 ]
