//! One contract creation, start to end: estimate the gas, price it (EIP-1559 where the chain
//! has a base fee, legacy otherwise), check that the deployer can pay, sign locally (k256),
//! send, wait for the receipt and the confirmations, and check the status and the code at the
//! new address. Errors are one sentence for the user: what failed, where, and what to do.

use super::artifacts::Artifact;
use super::rpc::{Rpc, RpcError};
use super::table::address;
use ethers_core::abi::Token;
use ethers_core::types::transaction::eip2718::TypedTransaction;
use ethers_core::types::{
    Eip1559TransactionRequest, Signature, TransactionRequest, H160, H256, U256,
};
use k256::ecdsa::SigningKey;
use serde_json::json;
use std::time::{Duration, Instant};

/// How often the receipt and the head block are polled.
const POLL: Duration = Duration::from_millis(200);

/// The margin on the node's gas estimate, in percent.
const GAS_MARGIN_PERCENT: u64 = 20;

/// The priority fee used when the node does not offer `eth_maxPriorityFeePerGas`: 1 gwei.
const FALLBACK_TIP_WEI: u64 = 1_000_000_000;

/// How transactions are priced, decided once from the latest block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pricing {
    /// The chain has a base fee: type-2 transactions.
    Eip1559,
    /// No base fee: legacy transactions at `eth_gasPrice`.
    Legacy,
}

impl std::fmt::Display for Pricing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Pricing::Eip1559 => "EIP-1559 fees",
            Pricing::Legacy => "legacy gas price",
        })
    }
}

/// A contract on chain.
#[derive(Debug, Clone)]
pub struct Deployed {
    /// The contract's name.
    pub name: &'static str,
    /// Its address.
    pub address: H160,
    /// The creating transaction.
    pub transaction: H256,
    /// The block it is in.
    pub block: u64,
    /// Gas the creation used.
    pub gas_used: u64,
}

/// Sends creations from one account.
pub struct Deployer<'a> {
    /// The node.
    pub rpc: &'a Rpc,
    /// The deployer's key.
    pub key: &'a SigningKey,
    /// Its address.
    pub from: H160,
    /// The chain (signed into every transaction, EIP-155).
    pub chain_id: u64,
    /// How transactions are priced.
    pub pricing: Pricing,
    /// Blocks the creation's block must have on top of it, itself included.
    pub confirmations: u64,
    /// How long to wait for them.
    pub timeout: Duration,
}

impl Deployer<'_> {
    /// Deploys `artifact` with constructor `args`.
    pub async fn deploy(&self, artifact: &Artifact, args: &[Token]) -> Result<Deployed, String> {
        let name = artifact.name;
        let code = artifact.creation_code(args)?;
        let estimate = self
            .rpc
            .quantity(
                "eth_estimateGas",
                json!([{"from": self.from, "data": format!("0x{}", hex::encode(&code))}]),
            )
            .await
            .map_err(|e| self.refused(name, "estimating its gas", e))?;
        let limit = estimate + estimate * GAS_MARGIN_PERCENT / 100;
        let (mut tx, max_fee) = self.priced(code, limit).await?;

        let balance = self
            .rpc
            .balance(self.from)
            .await
            .map_err(|e| e.to_string())?;
        let most = limit.saturating_mul(max_fee);
        if balance < most {
            return Err(self.no_funds(name, balance, limit, max_fee));
        }

        let nonce = self
            .rpc
            .next_nonce(self.from)
            .await
            .map_err(|e| e.to_string())?;
        tx.set_nonce(nonce);
        let signed = tx.rlp_signed(&self.sign(tx.sighash()));
        let hash = self
            .rpc
            .send_raw(&signed)
            .await
            .map_err(|e| self.refused(name, "sending it", e))?;
        self.confirmed(name, hash, limit).await
    }

    /// The unsigned creation with its gas limit and fees, and the most it pays per gas.
    async fn priced(&self, code: Vec<u8>, limit: U256) -> Result<(TypedTransaction, U256), String> {
        let rpc = self.rpc;
        match self.pricing {
            Pricing::Legacy => {
                let price = rpc
                    .quantity("eth_gasPrice", json!([]))
                    .await
                    .map_err(|e| e.to_string())?;
                let tx = TransactionRequest::new()
                    .from(self.from)
                    .data(code)
                    .gas(limit)
                    .gas_price(price)
                    .chain_id(self.chain_id);
                Ok((tx.into(), price))
            }
            Pricing::Eip1559 => {
                let base = rpc
                    .base_fee()
                    .await
                    .map_err(|e| e.to_string())?
                    .unwrap_or_default();
                let tip = match rpc.quantity("eth_maxPriorityFeePerGas", json!([])).await {
                    Ok(tip) => tip,
                    // Not every node offers it; a small tip is enough where it is missing.
                    Err(RpcError::Node { .. }) => U256::from(FALLBACK_TIP_WEI),
                    Err(e) => return Err(e.to_string()),
                };
                // Twice the base fee rides out six full blocks of base-fee increases.
                let max_fee = base * 2 + tip;
                let tx = Eip1559TransactionRequest::new()
                    .from(self.from)
                    .data(code)
                    .gas(limit)
                    .max_fee_per_gas(max_fee)
                    .max_priority_fee_per_gas(tip)
                    .chain_id(self.chain_id);
                Ok((tx.into(), max_fee))
            }
        }
    }

    /// Signs a transaction digest; `v` in the EIP-155 form, which ethers turns into the y
    /// parity for typed transactions.
    fn sign(&self, digest: H256) -> Signature {
        let (signature, recovery) = self.key.sign_prehash_recoverable(digest.as_bytes());
        let rs = signature.to_bytes();
        Signature {
            r: U256::from_big_endian(&rs[..32]),
            s: U256::from_big_endian(&rs[32..]),
            v: u64::from(recovery.is_y_odd()) + 35 + 2 * self.chain_id,
        }
    }

    /// Waits for `hash` to have its confirmations, then checks what it did.
    async fn confirmed(
        &self,
        name: &'static str,
        hash: H256,
        limit: U256,
    ) -> Result<Deployed, String> {
        let rpc = self.rpc;
        let deadline = Instant::now() + self.timeout;
        let receipt = loop {
            // A receipt can vanish again in a reorg; the loop then waits for the re-inclusion.
            if let Some(receipt) = rpc.receipt(hash).await.map_err(|e| e.to_string())? {
                let head = rpc.block_number().await.map_err(|e| e.to_string())?;
                if head + 1 >= receipt.block + self.confirmations {
                    break receipt;
                }
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "deploying {name}: transaction {hash:?} was sent but did not get {} \
                     confirmation(s) within {} s; it may still be included: look it up \
                     (eth_getTransactionReceipt) before deploying again, raise --tx-timeout, or \
                     on a dev chain that mines only on demand use --confirmations 1",
                    self.confirmations,
                    self.timeout.as_secs()
                ));
            }
            tokio::time::sleep(POLL).await;
        };
        if !receipt.success {
            let out_of_gas = if U256::from(receipt.gas_used) >= limit {
                " (all of its gas limit: it ran out of gas)"
            } else {
                ""
            };
            return Err(format!(
                "deploying {name} reverted: transaction {hash:?} in block {} used {} gas{out_of_gas}",
                receipt.block, receipt.gas_used
            ));
        }
        let contract = receipt.contract_address.ok_or_else(|| {
            format!(
                "deploying {name}: the receipt of {hash:?} names no contract address; is {} an \
                 Ethereum node?",
                rpc.url()
            )
        })?;
        let has_code = rpc.has_code(contract).await.map_err(|e| e.to_string())?;
        if !has_code {
            return Err(format!(
                "deploying {name}: transaction {hash:?} succeeded but there is no code at \
                 {}; the node at {} may have reorganised the chain: deploy again",
                address(contract),
                rpc.url()
            ));
        }
        Ok(Deployed {
            name,
            address: contract,
            transaction: hash,
            block: receipt.block,
            gas_used: receipt.gas_used,
        })
    }

    /// The error for a node that refused to estimate or take a creation.
    fn refused(&self, name: &str, doing: &str, error: RpcError) -> String {
        let Some(message) = error.node_message() else {
            return format!("deploying {name}: {error}");
        };
        let lower = message.to_lowercase();
        if lower.contains("insufficient funds") || lower.contains("exceeds balance") {
            return format!(
                "deploying {name}: the node says the deployer {} cannot pay ({message}): send \
                 it ether on chain {}, or use the key of a funded account",
                address(self.from),
                self.chain_id
            );
        }
        let hint = if lower.contains("notactivated") || lower.contains("invalid opcode") {
            " (the contracts are compiled for the Cancun EVM; this chain seems to run an older \
             one)"
        } else {
            ""
        };
        format!("deploying {name} would fail: the node refused {doing}: {message}{hint}")
    }

    fn no_funds(&self, name: &str, balance: U256, limit: U256, max_fee: U256) -> String {
        format!(
            "the deployer {} has {balance} wei on chain {}, but deploying {name} may cost up to \
             {} wei ({limit} gas at {max_fee} wei per gas): send it ether, or use the key of a \
             funded account (on anvil: one of the keys it prints at start)",
            address(self.from),
            self.chain_id,
            limit.saturating_mul(max_fee)
        )
    }
}
