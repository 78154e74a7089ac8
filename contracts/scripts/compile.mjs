#!/usr/bin/env node
// Compiles contracts/src/*.sol with the pinned solcjs (standard-JSON API) and writes
// contracts/artifacts/<Name>.json = {contractName, abi, bytecode} for every deployable contract.
//
//   node scripts/compile.mjs           write the artifacts
//   node scripts/compile.mjs --check   compile and fail, naming each artifact that differs from
//                                      the one in artifacts/ (the sources changed but the
//                                      artifacts were not rebuilt, or the other way round)
//
// The output is deterministic: sources are keyed by their path relative to contracts/, and no
// metadata (whose hash would depend on paths and comments) is appended to the bytecode, so the
// same sources give byte-identical artifacts on every machine. Warnings fail the build.

import { createRequire } from "node:module";
import { readFileSync, readdirSync, writeFileSync, mkdirSync, existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(import.meta.url);

/** The contracts that get an artifact (the rest are libraries, interfaces, abstract bases). */
const DEPLOYABLE = [
  "Adjudicator", "AssetHolderETH", "AssetHolderERC20", "TicTacToeApp", "HashLockApp", "PerunToken",
];
/** EIP-170: the largest runtime bytecode a chain accepts. */
const MAX_RUNTIME = 24_576;
/** EIP-3860: the largest creation bytecode. */
const MAX_INITCODE = 49_152;

const SETTINGS = {
  optimizer: { enabled: true, runs: 200 },
  // Explicit, so that a solc upgrade cannot change the target chain features silently.
  evmVersion: "cancun",
  metadata: { bytecodeHash: "none", appendCBOR: false },
  outputSelection: { "*": { "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"] } },
};

function loadSolc() {
  try {
    return require(join(root, "node_modules", "solc"));
  } catch {
    console.error("compile.mjs: solc is not installed; run contracts/scripts/install.sh first");
    process.exit(1);
  }
}

function readSources() {
  const sources = {};
  for (const file of readdirSync(join(root, "src")).filter((f) => f.endsWith(".sol")).sort()) {
    sources[`src/${file}`] = { content: readFileSync(join(root, "src", file), "utf8") };
  }
  return sources;
}

/** Resolves imports outside the given sources (none today) relative to contracts/. */
function findImports(path) {
  const file = join(root, path);
  return existsSync(file) ? { contents: readFileSync(file, "utf8") } : { error: `not found: ${path}` };
}

function compile(solc) {
  const input = { language: "Solidity", sources: readSources(), settings: SETTINGS };
  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));
  const problems = output.errors ?? [];
  for (const problem of problems) {
    console.error(problem.formattedMessage ?? problem.message);
  }
  if (problems.length > 0) {
    const errors = problems.filter((p) => p.severity === "error").length;
    console.error(`compile.mjs: ${errors} errors, ${problems.length - errors} warnings or notes; ` +
      "the build accepts neither");
    process.exit(1);
  }
  const artifacts = {};
  for (const [path, contracts] of Object.entries(output.contracts)) {
    for (const [name, contract] of Object.entries(contracts)) {
      if (!DEPLOYABLE.includes(name)) continue;
      if (artifacts[name]) {
        console.error(`compile.mjs: contract ${name} is defined twice (again in ${path})`);
        process.exit(1);
      }
      artifacts[name] = {
        json: JSON.stringify(
          { contractName: name, abi: contract.abi, bytecode: `0x${contract.evm.bytecode.object}` },
          null,
          2,
        ) + "\n",
        initSize: contract.evm.bytecode.object.length / 2,
        runtimeSize: contract.evm.deployedBytecode.object.length / 2,
      };
    }
  }
  const missing = DEPLOYABLE.filter((name) => !artifacts[name]);
  if (missing.length > 0) {
    console.error(`compile.mjs: no contract named ${missing.join(", ")} in src/`);
    process.exit(1);
  }
  return artifacts;
}

function reportSizes(artifacts) {
  let tooBig = false;
  for (const name of DEPLOYABLE) {
    const { runtimeSize, initSize } = artifacts[name];
    const over = runtimeSize > MAX_RUNTIME || initSize > MAX_INITCODE;
    tooBig ||= over;
    console.log(`${name.padEnd(18)} runtime ${String(runtimeSize).padStart(6)} bytes ` +
      `(limit ${MAX_RUNTIME}), creation ${String(initSize).padStart(6)} bytes${over ? "  TOO BIG" : ""}`);
  }
  if (tooBig) {
    console.error("compile.mjs: a contract exceeds the EIP-170/EIP-3860 size limit");
    process.exit(1);
  }
}

const check = process.argv.includes("--check");
const solc = loadSolc();
const artifacts = compile(solc);
console.log(`solc ${solc.version()}, optimizer runs ${SETTINGS.optimizer.runs}, evm ${SETTINGS.evmVersion}`);
reportSizes(artifacts);

const dir = join(root, "artifacts");
if (check) {
  const stale = [];
  for (const name of DEPLOYABLE) {
    const file = join(dir, `${name}.json`);
    if (!existsSync(file)) {
      stale.push(`artifacts/${name}.json (missing)`);
    } else if (readFileSync(file, "utf8") !== artifacts[name].json) {
      stale.push(`artifacts/${name}.json (differs from what src/ compiles to)`);
    }
  }
  const extra = existsSync(dir)
    ? readdirSync(dir).filter((f) => f.endsWith(".json") && !DEPLOYABLE.includes(f.slice(0, -5)))
    : [];
  stale.push(...extra.map((f) => `artifacts/${f} (no such deployable contract)`));
  if (stale.length > 0) {
    for (const line of stale) console.error(`stale: ${line}`);
    console.error("compile.mjs --check: run `node contracts/scripts/compile.mjs` and commit the artifacts");
    process.exit(1);
  }
  console.log("artifacts match the sources");
} else {
  mkdirSync(dir, { recursive: true });
  for (const name of DEPLOYABLE) {
    writeFileSync(join(dir, `${name}.json`), artifacts[name].json);
  }
  console.log(`wrote ${DEPLOYABLE.length} artifacts to ${dir}`);
}
