// The scripts' side of a local anvil chain: a minimal ABI encoder, JSON-RPC over fetch, anvil
// from node_modules on a free port, and deploying and calling the committed artifacts. Used by
// smoke-anvil.mjs and gas-table.mjs; no npm package beyond the pinned toolchain is needed
// (hashing is done by the node, web3_sha3).
//
// The encoder covers the types these contracts use (uint/int, address, bool, bytesN, bytes,
// arrays, tuples).

import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const artifact = (name) => JSON.parse(readFileSync(join(root, "artifacts", `${name}.json`), "utf8"));

// ---- ABI encoding -------------------------------------------------------------------------

export const word = (big) => BigInt.asUintN(256, BigInt(big)).toString(16).padStart(64, "0");
export const strip = (hex) => (hex.startsWith("0x") ? hex.slice(2) : hex);
const padRight = (hex) => hex.padEnd(Math.ceil(hex.length / 64) * 64, "0");

export function canonical(param) {
  if (!param.type.startsWith("tuple")) return param.type;
  return `(${param.components.map(canonical).join(",")})${param.type.slice(5)}`;
}

function isDynamic(param) {
  if (param.type === "bytes" || param.type === "string" || param.type.endsWith("[]")) return true;
  return param.type === "tuple" && param.components.some(isDynamic);
}

function encodeOne(param, value) {
  const t = param.type;
  if (t.endsWith("[]")) {
    const inner = { ...param, type: t.slice(0, -2) };
    return word(value.length) + encodeTuple(value.map(() => inner), value);
  }
  if (t === "tuple") {
    const values = Array.isArray(value) ? value : param.components.map((c) => value[c.name]);
    return encodeTuple(param.components, values);
  }
  if (t === "bytes") return word(strip(value).length / 2) + padRight(strip(value));
  if (t === "address") return strip(value).toLowerCase().padStart(64, "0");
  if (t === "bool") return word(value ? 1 : 0);
  if (/^bytes\d+$/.test(t)) return padRight(strip(value));
  if (/^u?int\d*$/.test(t)) return word(value);
  throw new Error(`smoke-anvil: cannot encode type ${t}`);
}

export function encodeTuple(params, values) {
  const heads = [];
  const tails = [];
  let tailOffset = params.length * 32;
  params.forEach((param, i) => {
    const encoded = encodeOne(param, values[i]);
    if (isDynamic(param)) {
      heads.push(word(tailOffset));
      tails.push(encoded);
      tailOffset += encoded.length / 2;
    } else {
      heads.push(encoded);
    }
  });
  return heads.join("") + tails.join("");
}

// ---- JSON-RPC -----------------------------------------------------------------------------

let url;
let rpcId = 0;
export async function rpc(method, params = []) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: ++rpcId, method, params }),
  });
  const body = await response.json();
  if (body.error) throw new Error(`${method}: ${body.error.message}`);
  return body.result;
}

export const keccak = (hex) => rpc("web3_sha3", [`0x${strip(hex)}`]);

export async function calldata(abi, name, args) {
  const fn = abi.find((e) => e.type === "function" && e.name === name);
  const selector = (await keccak(Buffer.from(`${name}(${fn.inputs.map(canonical).join(",")})`).toString("hex"))).slice(2, 10);
  return `0x${selector}${encodeTuple(fn.inputs, args)}`;
}

/** Sends `tx` from an unlocked account and returns its receipt; a reverted transaction throws
 * unless `mayRevert`. */
export async function send(from, tx, { mayRevert = false } = {}) {
  const hash = await rpc("eth_sendTransaction", [{ from, ...tx }]);
  // anvil mines at once, but the receipt can show up a moment after the hash is returned.
  for (let attempt = 0; attempt < 100; ++attempt) {
    const receipt = await rpc("eth_getTransactionReceipt", [hash]);
    if (receipt) {
      if (receipt.status !== "0x1" && !mayRevert) throw new Error(`transaction ${hash} reverted`);
      return receipt;
    }
    await new Promise((ok) => setTimeout(ok, 20));
  }
  throw new Error(`transaction ${hash} was not mined`);
}

export async function deploy(from, name, args = []) {
  const { abi, bytecode } = artifact(name);
  const ctor = abi.find((e) => e.type === "constructor");
  const encodedArgs = ctor ? encodeTuple(ctor.inputs, args) : "";
  const receipt = await send(from, { data: bytecode + encodedArgs, gas: "0x1c9c380" });
  return { name, abi, address: receipt.contractAddress, gas: BigInt(receipt.gasUsed) };
}

export async function call(contract, name, args = []) {
  return rpc("eth_call", [{ to: contract.address, data: await calldata(contract.abi, name, args) }, "latest"]);
}

/** Calls `name` in a transaction with a fixed gas limit (no estimate, so that a transaction
 * that reverts is mined and costs what it costs); returns the gas it used. */
export async function transact(from, contract, name, args, value = 0n, { mayRevert = false } = {}) {
  const data = await calldata(contract.abi, name, args);
  const tx = { to: contract.address, data, value: `0x${value.toString(16)}`, gas: "0x989680" };
  const receipt = await send(from, tx, { mayRevert });
  return BigInt(receipt.gasUsed);
}

// ---- anvil --------------------------------------------------------------------------------

/** Starts anvil (its default dev accounts, automine) on a port it picks itself, and points
 * `rpc` at it. Returns the child process; kill it when done. */
export async function startAnvil() {
  const anvil = spawn(join(root, "node_modules", ".bin", "anvil"), ["--host", "127.0.0.1", "--port", "0"], {
    stdio: ["ignore", "pipe", "ignore"],
  });
  const address = await new Promise((ok, fail) => {
    let out = "";
    const timer = setTimeout(() => fail(new Error("anvil did not start within 30 s")), 30_000);
    anvil.stdout.on("data", (chunk) => {
      out += chunk;
      const found = /Listening on (\S+)/.exec(out);
      if (found) {
        clearTimeout(timer);
        anvil.stdout.resume();
        ok(found[1]);
      }
    });
    anvil.once("exit", (code) => fail(new Error(`anvil exited (${code}) while starting`)));
  });
  url = `http://${address}`;
  return anvil;
}

