#!/usr/bin/env node
// A smoke test of the committed artifacts on a real local chain: starts anvil (from
// node_modules) on a free port, deploys every artifact from an unlocked anvil account with raw
// JSON-RPC, and runs one channel's life: ETH and token deposits, concludeFinal with signatures
// made by anvil's eth_sign, a withdrawal, and a replay of that withdrawal (which must fail).
// Prints the gas each step used. It checks the artifacts, not the sources: compile first.
//
//   node scripts/smoke-anvil.mjs
//
// The chain plumbing (ABI encoder, JSON-RPC, anvil) is lib/anvil.mjs.

import { artifact, call, deploy, encodeTuple, keccak, rpc, startAnvil, transact } from "./lib/anvil.mjs";

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
    const apps = [await deploy(carol, "TicTacToeApp"), await deploy(carol, "HashLockApp")];
    for (const c of [adj, ethHolder, token, tokenHolder, ...apps]) {
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
