#!/usr/bin/env node
// Measures the gas of every transaction a Parley node sends, on a fresh anvil with the committed
// artifacts, and prints contracts/README.md's gas table (Markdown). Reproducible to the unit:
// anvil's dev accounts, the deployment order and every channel nonce are fixed, and eth_sign is
// deterministic (RFC 6979), so the same artifacts give the same calldata and the same figures.
//
//   node scripts/gas-table.mjs           print the table
//   node scripts/gas-table.mjs --check   fail if contracts/README.md's table differs
//   node scripts/gas-table.mjs --write   put the table into contracts/README.md
//
// Each figure is the receipt's gasUsed: the 21,000 every transaction pays, the calldata, the
// execution, less the storage refund. It depends on what the storage held before (a first write
// to a slot costs 20,000 more than changing a non-zero one; clearing one refunds 4,800), so each
// row says which case it measures.

import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { call, deploy, encodeTuple, keccak, root, rpc, startAnvil, transact } from "./lib/anvil.mjs";

const ZERO = "0x0000000000000000000000000000000000000000";
const ETHER = 10n ** 18n;
const BEGIN = "<!-- gas-table: begin (node contracts/scripts/gas-table.mjs --write) -->";
const END = "<!-- gas-table: end -->";

async function measure() {
  // ingrid, the intermediary of section 6, is a fourth dev account: the first three keep their
  // roles, so the deployment and everything before section 6 stay as they were.
  const [alice, bob, deployer, ingrid] = await rpc("eth_accounts");
  const chainID = BigInt(await rpc("eth_chainId"));
  const adj = await deploy(deployer, "Adjudicator");
  const eth = await deploy(deployer, "AssetHolderETH", [adj.address]);
  const token = await deploy(deployer, "PerunToken", [[alice, bob], 1000n * ETHER]);
  const tok = await deploy(deployer, "AssetHolderERC20", [adj.address, token.address]);
  const asset = (holder) => ({ chainID, ethHolder: holder.address, ccHolder: "0x" });

  let nonce = 0n;
  /** A fresh two-party channel without app: by default a ledger channel of alice (index 0) and
   * bob (index 1); `parts` names other participants, `virtual` makes it a virtual channel. */
  async function channel(parts = [alice, bob], { virtual = false } = {}) {
    const params = {
      challengeDuration: 60n,
      nonce: ++nonce,
      participants: parts.map((who) => ({ ethAddress: who, ccAddress: "0x" })),
      app: ZERO,
      ledgerChannel: !virtual,
      virtualChannel: virtual,
    };
    const id = await call(adj, "channelID", [params]);
    const fid = (who) => keccak(encodeTuple([{ type: "bytes32" }, { type: "address" }], [id, who]));
    const fids = {};
    for (const who of parts) fids[who] = await fid(who);
    return { params, parts, id, fid: fids };
  }
  /** Each participant deposits its row of `deposits` ([[alice, bob] per holder]) as the
   * Ethereum plugin does: a token deposit follows an approve of exactly its amount. Returns the
   * gas of alice's transactions per holder ({approve, deposit}). */
  async function fund(c, holders, deposits) {
    const gas = [];
    for (const [h, holder] of holders.entries()) {
      for (const [p, who] of c.parts.entries()) {
        const amount = deposits[h][p];
        if (amount === 0n) continue;
        const approved = holder === tok ? await transact(who, token, "approve", [tok.address, amount]) : 0n;
        const value = holder === eth ? amount : 0n;
        const used = await transact(who, holder, "deposit", [c.fid[who], amount], value);
        if (p === 0) gas.push({ approve: approved, deposit: used });
      }
    }
    return gas;
  }
  /** A state of `c`, signed by each of its participants in order; `locked` lists the
   * sub-allocations ({ID, balances, indexMap}) of the sub-channels it funds. */
  async function signed(c, holders, balances, version, isFinal, locked = []) {
    const state = {
      channelID: c.id,
      version,
      outcome: { assets: holders.map(asset), backends: holders.map(() => 1n), balances, locked },
      appData: "0x",
      isFinal,
    };
    const hash = await call(adj, "hashState", [state]);
    const sigs = [];
    for (const who of c.parts) sigs.push(await rpc("eth_sign", [who, hash]));
    return { state, sigs };
  }
  async function withdraw(c, holder, who, amount) {
    const authType = holder.abi.find((e) => e.name === "withdraw").inputs[0];
    const auth = { channelID: c.id, participant: { ethAddress: who, ccAddress: "0x" }, receiver: who, amount };
    const sig = await rpc("eth_sign", [who, await keccak(encodeTuple([authType], [auth]))]);
    return transact(who, holder, "withdraw", [auth, sig]);
  }
  const one = 1n * ETHER;
  const rows = [];

  // 1. ETH only: deposits, concludeFinal, withdrawal.
  let c = await channel();
  const [{ deposit: ethDeposit }] = await fund(c, [eth], [[one, one]]);
  let s = await signed(c, [eth], [[one / 2n, one + one / 2n]], 7n, true);
  const finalEth = await transact(alice, adj, "concludeFinal", [c.params, s.state, s.sigs]);
  const withdrawEth = await withdraw(c, eth, bob, one + one / 2n);
  // The same concludeFinal again: what a second participant paid when it did not look first.
  const finalAgain = await transact(bob, adj, "concludeFinal", [c.params, s.state, s.sigs], 0n, { mayRevert: true });

  // 2. ETH and the token, every deposit and every payout non-zero.
  c = await channel();
  await fund(c, [eth, tok], [[one, one], [5n * one, 5n * one]]);
  s = await signed(c, [eth, tok], [[one / 2n, one + one / 2n], [3n * one, 7n * one]], 7n, true);
  const finalBoth = await transact(alice, adj, "concludeFinal", [c.params, s.state, s.sigs]);
  const withdrawToken = await withdraw(c, tok, bob, 7n * one);

  // 3. As 2, but alice gets none of the token: her holding is cleared (a refund). Her token
  // deposit here is a typical one: the holder holds tokens already.
  c = await channel();
  const [, { approve, deposit: tokenDeposit }] = await fund(c, [eth, tok], [[one, one], [5n * one, 5n * one]]);
  s = await signed(c, [eth, tok], [[one / 2n, one + one / 2n], [0n, 10n * one]], 7n, true);
  const finalZeroPayout = await transact(alice, adj, "concludeFinal", [c.params, s.state, s.sigs]);

  // 4. As 2, but bob deposited no token and is paid some: a first write to his holding.
  c = await channel();
  await fund(c, [eth, tok], [[one, one], [5n * one, 0n]]);
  s = await signed(c, [eth, tok], [[one / 2n, one + one / 2n], [3n * one, 2n * one]], 7n, true);
  const finalFreshHolding = await transact(alice, adj, "concludeFinal", [c.params, s.state, s.sigs]);

  // 5. A dispute: register a non-final state, conclude after the challenge duration.
  c = await channel();
  await fund(c, [eth], [[one, one]]);
  s = await signed(c, [eth], [[one / 2n, one + one / 2n]], 3n, false);
  const params = c.params;
  const register = await transact(alice, adj, "register", [{ params, state: s.state, sigs: s.sigs }, []]);
  await rpc("evm_increaseTime", [61]);
  await rpc("evm_mine");
  const conclude = await transact(alice, adj, "conclude", [params, s.state, []]);

  // 6. A virtual channel V of alice and bob through ingrid, funded by ledger channels L1
  // (alice 0, ingrid 1) and L2 (ingrid 0, bob 1), each locking V's whole 1 ETH. V opened with
  // alice 1, bob 0: in L1 alice put in her 1 and ingrid bob's 0, in L2 ingrid put in alice's 1
  // and bob his 0. A payment later V holds alice 0.7, bob 0.3. Made after section 5, so that
  // the nonces before stay as they were.
  const l1 = await channel([alice, ingrid]);
  const l2 = await channel([ingrid, bob]);
  const v = await channel([alice, bob], { virtual: true });
  await fund(l1, [eth], [[one, one]]);
  await fund(l2, [eth], [[one, one]]);
  const tenth = one / 10n;
  const vs = await signed(v, [eth], [[7n * tenth, 3n * tenth]], 1n, false);
  // indexMap: for each of V's participants (alice, bob), the ledger participant standing in.
  const lockV = [{ ID: v.id, balances: [one], indexMap: [0n, 1n] }];
  const l1s = await signed(l1, [eth], [[0n, one]], 1n, false, lockV); // alice->alice, bob->ingrid
  const l2s = await signed(l2, [eth], [[0n, one]], 1n, false, lockV); // alice->ingrid, bob->bob
  const registerVirtual = await transact(alice, adj, "register", [
    { params: l1.params, state: l1s.state, sigs: l1s.sigs },
    [{ params: v.params, state: vs.state, sigs: vs.sigs }],
  ]);
  await rpc("evm_increaseTime", [61]);
  await rpc("evm_mine");
  const concludeVirtual = await transact(alice, adj, "conclude", [l1.params, l1s.state, [vs.state]]);
  // The intermediary's node registers L2 with V's state on record, which needs no signatures.
  const registerCarried = await transact(ingrid, adj, "register", [
    { params: l2.params, state: l2s.state, sigs: l2s.sigs },
    [{ params: v.params, state: vs.state, sigs: [] }],
  ]);
  await rpc("evm_increaseTime", [61]);
  await rpc("evm_mine");
  const concludeCarried = await transact(ingrid, adj, "conclude", [l2.params, l2s.state, [vs.state]]);
  // The outcome: L1 pays alice 0.7 and ingrid 1 + 0.3, L2 ingrid 0.7 and bob 1 + 0.3; ingrid
  // withdraws both holdings and gets back exactly the 2 she deposited.
  const holding = async (c, who) => BigInt(await call(eth, "holdings", [c.fid[who]]));
  const expected = [[l1, alice, 7n * tenth], [l1, ingrid, 13n * tenth], [l2, ingrid, 7n * tenth], [l2, bob, 13n * tenth]];
  for (const [c, who, amount] of expected) {
    const held = await holding(c, who);
    if (held !== amount) throw new Error(`section 6: ${who} holds ${held} in ${c.id}, expected ${amount}`);
  }
  let ingridGot = 0n;
  for (const c of [l1, l2]) {
    const before = BigInt(await rpc("eth_getBalance", [eth.address, "latest"]));
    await withdraw(c, eth, ingrid, await holding(c, ingrid));
    ingridGot += before - BigInt(await rpc("eth_getBalance", [eth.address, "latest"]));
    if ((await holding(c, ingrid)) !== 0n) throw new Error(`section 6: ingrid's holding in ${c.id} not emptied`);
  }
  if (ingridGot !== 2n * one) {
    throw new Error(`section 6: the intermediary deposited ${2n * one} and withdrew ${ingridGot}`);
  }

  rows.push(["deposit ETH (a first deposit into the funding id)", ethDeposit]);
  rows.push(["approve the ERC20 holder for one deposit (the plugin approves each)", approve]);
  rows.push(["deposit ERC20 (using up that approval)", tokenDeposit]);
  rows.push(["concludeFinal, ETH only (both deposited, both paid)", finalEth]);
  rows.push(["concludeFinal, ETH + ERC20 (both deposited both, all four payouts non-zero)", finalBoth]);
  rows.push(["concludeFinal, ETH + ERC20, one participant paid nothing of the token", finalZeroPayout]);
  rows.push(["concludeFinal, ETH + ERC20, one participant paid token it did not deposit", finalFreshHolding]);
  rows.push(["concludeFinal reverted: the channel is already concluded", finalAgain]);
  rows.push(["register (first registration, ETH only)", register]);
  rows.push(["conclude after the challenge duration (ETH only)", conclude]);
  rows.push(["withdraw ETH", withdrawEth]);
  rows.push(["withdraw ERC20", withdrawToken]);
  rows.push(["register a ledger channel with its virtual channel (an end's dispute)", registerVirtual]);
  rows.push(["conclude a ledger channel with its virtual channel", concludeVirtual]);
  rows.push([
    "register the intermediary's other ledger channel with the concluded virtual channel (state on record, unsigned)",
    registerCarried,
  ]);
  rows.push(["conclude that ledger channel: the virtual channel's outcome folded in", concludeCarried]);
  return rows;
}

function table(rows) {
  const width = Math.max(...rows.map(([what]) => what.length));
  const lines = [`| ${"Transaction (two participants)".padEnd(width)} | Gas used |`, `| ${"-".repeat(width)} | --------: |`];
  for (const [what, gas] of rows) {
    lines.push(`| ${what.padEnd(width)} | ${gas.toLocaleString("en-US").padStart(9)} |`);
  }
  return lines.join("\n");
}

const mode = process.argv[2] ?? "";
if (!["", "--check", "--write"].includes(mode)) {
  console.error("usage: node scripts/gas-table.mjs [--check | --write]");
  process.exit(2);
}
const anvil = await startAnvil();
let rows;
try {
  rows = await measure();
} finally {
  anvil.kill();
}
const measured = table(rows);
console.log(measured);
if (mode) {
  const readme = join(root, "README.md");
  const text = readFileSync(readme, "utf8");
  const begin = text.indexOf(BEGIN);
  const end = text.indexOf(END);
  if (begin < 0 || end < begin) {
    console.error(`gas-table.mjs: no "${BEGIN}" ... "${END}" block in ${readme}`);
    process.exit(1);
  }
  const current = text.slice(begin + BEGIN.length, end).trim();
  if (mode === "--write") {
    writeFileSync(readme, `${text.slice(0, begin + BEGIN.length)}\n${measured}\n${text.slice(end)}`);
    console.log(`gas-table.mjs: wrote the table into ${readme}`);
  } else if (current !== measured) {
    console.error("gas-table.mjs --check: contracts/README.md's gas table differs from the measurement above; " +
      "run `node contracts/scripts/gas-table.mjs --write` and commit README.md");
    process.exit(1);
  } else {
    console.log("gas-table.mjs --check: contracts/README.md's gas table matches");
  }
}
