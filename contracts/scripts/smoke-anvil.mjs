#!/usr/bin/env node
// A smoke test of the committed artifacts on a real local chain: starts anvil (from
// node_modules) on a free port, deploys every artifact from an unlocked anvil account with raw
// JSON-RPC, and runs one channel's life: ETH and token deposits, concludeFinal with signatures
// made by anvil's eth_sign, a withdrawal, and a replay of that withdrawal (which must fail).
// Prints the gas each step used. It checks the artifacts, not the sources: compile first.
//
//   node scripts/smoke-anvil.mjs
//
// The ABI encoder below covers the types these contracts use (uint/int, address, bool, bytesN,
// bytes, arrays, tuples); hashing is done by the node (web3_sha3), so no npm package beyond the
// pinned toolchain is needed.

import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const artifact = (name) => JSON.parse(readFileSync(join(root, "artifacts", `${name}.json`), "utf8"));

// ---- ABI encoding -------------------------------------------------------------------------

const word = (big) => BigInt.asUintN(256, BigInt(big)).toString(16).padStart(64, "0");
const strip = (hex) => (hex.startsWith("0x") ? hex.slice(2) : hex);
const padRight = (hex) => hex.padEnd(Math.ceil(hex.length / 64) * 64, "0");

function canonical(param) {
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

function encodeTuple(params, values) {
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
async function rpc(method, params = []) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: ++rpcId, method, params }),
  });
  const body = await response.json();
  if (body.error) throw new Error(`${method}: ${body.error.message}`);
  return body.result;
}

const keccak = (hex) => rpc("web3_sha3", [`0x${strip(hex)}`]);

async function calldata(abi, name, args) {
  const fn = abi.find((e) => e.type === "function" && e.name === name);
  const selector = (await keccak(Buffer.from(`${name}(${fn.inputs.map(canonical).join(",")})`).toString("hex"))).slice(2, 10);
  return `0x${selector}${encodeTuple(fn.inputs, args)}`;
}

async function send(from, tx) {
  const hash = await rpc("eth_sendTransaction", [{ from, ...tx }]);
  // anvil mines at once, but the receipt can show up a moment after the hash is returned.
  for (let attempt = 0; attempt < 100; ++attempt) {
    const receipt = await rpc("eth_getTransactionReceipt", [hash]);
    if (receipt) {
      if (receipt.status !== "0x1") throw new Error(`transaction ${hash} reverted`);
      return receipt;
    }
    await new Promise((ok) => setTimeout(ok, 20));
  }
  throw new Error(`transaction ${hash} was not mined`);
}

async function deploy(from, name, args = []) {
  const { abi, bytecode } = artifact(name);
  const ctor = abi.find((e) => e.type === "constructor");
  const encodedArgs = ctor ? encodeTuple(ctor.inputs, args) : "";
  const receipt = await send(from, { data: bytecode + encodedArgs, gas: "0x1c9c380" });
  return { name, abi, address: receipt.contractAddress, gas: BigInt(receipt.gasUsed) };
}

async function call(contract, name, args = []) {
  return rpc("eth_call", [{ to: contract.address, data: await calldata(contract.abi, name, args) }, "latest"]);
}

async function transact(from, contract, name, args, value = 0n) {
  const data = await calldata(contract.abi, name, args);
  const receipt = await send(from, { to: contract.address, data, value: `0x${value.toString(16)}`, gas: "0x989680" });
  return BigInt(receipt.gasUsed);
}

// ---- anvil --------------------------------------------------------------------------------

function freePort() {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => ok(port));
    });
  });
}

async function startAnvil() {
  const port = await freePort();
  const anvil = spawn(join(root, "node_modules", ".bin", "anvil"), ["--port", String(port)], {
    stdio: "ignore",
  });
  url = `http://127.0.0.1:${port}`;
  for (let attempt = 0; attempt < 100; ++attempt) {
    try {
      await rpc("eth_chainId");
      return anvil;
    } catch {
      await new Promise((ok) => setTimeout(ok, 50));
    }
  }
  anvil.kill();
  throw new Error(`anvil did not answer on ${url}`);
}

// ---- the scenario -------------------------------------------------------------------------

function check(condition, what) {
  if (!condition) throw new Error(`smoke-anvil: ${what}`);
  console.log(`ok  ${what}`);
}

async function main() {
  const anvil = await startAnvil();
  try {
    const [alice, bob, carol] = await rpc("eth_accounts");
    const chainId = BigInt(await rpc("eth_chainId"));
    const ether = 10n ** 18n;

    const adj = await deploy(carol, "Adjudicator");
    const ethHolder = await deploy(carol, "AssetHolderETH", [adj.address]);
    const token = await deploy(carol, "PerunToken", [[alice, bob], 1000n * ether]);
    const tokenHolder = await deploy(carol, "AssetHolderERC20", [adj.address, token.address]);
    const app = await deploy(carol, "TicTacToeApp");
    for (const c of [adj, ethHolder, token, tokenHolder, app]) {
      console.log(`deployed ${c.name.padEnd(17)} at ${c.address}, gas ${c.gas}`);
    }
    check(BigInt(await call(ethHolder, "adjudicator")) === BigInt(adj.address), "AssetHolderETH.adjudicator() is the Adjudicator");
    check(BigInt(await call(token, "balanceOf", [alice])) === 1000n * ether, "PerunToken minted 1000 tokens to alice");

    const params = {
      challengeDuration: 60n,
      nonce: BigInt(Date.now()),
      participants: [{ ethAddress: alice, ccAddress: "0x" }, { ethAddress: bob, ccAddress: "0x" }],
      app: "0x0000000000000000000000000000000000000000",
      ledgerChannel: true,
      virtualChannel: false,
    };
    const channelId = await call(adj, "channelID", [params]);
    const fid = (who) => keccak(encodeTuple([{ type: "bytes32" }, { type: "address" }], [channelId, who]));
    const [aliceFid, bobFid] = [await fid(alice), await fid(bob)];

    const depositGas = await transact(alice, ethHolder, "deposit", [aliceFid, ether], ether);
    console.log(`gas: ETH deposit ${depositGas}`);
    await transact(bob, ethHolder, "deposit", [bobFid, ether], ether);
    check(BigInt(await call(ethHolder, "holdings", [aliceFid])) === ether, "alice's ETH holding is 1 ether");
    const approveGas = await transact(alice, token, "approve", [tokenHolder.address, 5n * ether]);
    const tokenDepositGas = await transact(alice, tokenHolder, "deposit", [aliceFid, 5n * ether]);
    console.log(`gas: token approve ${approveGas}, token deposit ${tokenDepositGas}`);
    check(BigInt(await call(tokenHolder, "holdings", [aliceFid])) === 5n * ether, "alice's token holding is 5 tokens");

    const asset = (holder) => ({ chainID: chainId, ethHolder: holder.address, ccHolder: "0x" });
    const state = {
      channelID: channelId,
      version: 7n,
      outcome: {
        assets: [asset(ethHolder), asset(tokenHolder)],
        backends: [0n, 0n],
        balances: [[ether / 2n, ether + ether / 2n], [3n * ether, 2n * ether]],
        locked: [],
      },
      appData: "0x",
      isFinal: true,
    };
    const stateHash = await call(adj, "hashState", [state]);
    const sigs = [await rpc("eth_sign", [alice, stateHash]), await rpc("eth_sign", [bob, stateHash])];
    const concludeGas = await transact(carol, adj, "concludeFinal", [params, state, sigs]);
    console.log(`gas: concludeFinal (2 participants, 2 assets) ${concludeGas}`);
    check(BigInt(await call(ethHolder, "settled", [channelId])) === 1n, "the ETH holder knows the outcome");
    check(BigInt(await call(ethHolder, "holdings", [bobFid])) === ether + ether / 2n, "bob's ETH holding is the outcome, 1.5 ether");

    const authType = artifact("AssetHolderETH").abi.find((e) => e.name === "withdraw").inputs[0];
    const auth = { channelID: channelId, participant: params.participants[1], receiver: carol, amount: ether + ether / 2n };
    const authHash = await keccak(encodeTuple([authType], [auth]));
    const authSig = await rpc("eth_sign", [bob, authHash]);
    const before = BigInt(await rpc("eth_getBalance", [carol, "latest"]));
    const withdrawGas = await transact(alice, ethHolder, "withdraw", [auth, authSig]);
    console.log(`gas: ETH withdraw ${withdrawGas}`);
    const after = BigInt(await rpc("eth_getBalance", [carol, "latest"]));
    check(after - before === ether + ether / 2n, "carol received bob's 1.5 ether");
    let refusal = "";
    try {
      await call(ethHolder, "withdraw", [auth, authSig]);
    } catch (err) {
      refusal = err.message;
    }
    check(refusal.includes("authorisation already used"), "the same withdrawal authorisation is refused the second time");
  } finally {
    anvil.kill();
  }
}

main().catch((err) => {
  console.error(err.message);
  process.exit(1);
});
