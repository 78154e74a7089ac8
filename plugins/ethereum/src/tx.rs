//! The one way Parley sends an Ethereum transaction, for the backend's calls and for `parley eth
//! deploy`'s contract creations alike: estimate the gas (a transaction the chain would revert
//! is refused here and never sent), price it (EIP-1559 or legacy), sign it locally with k256
//! 0.14, send it, and wait until its block has the connection's confirmations; then check its
//! status and, for a creation, that the new address holds code.
//!
//! [`Sender::send`] does all of it. A caller that wants to look at the priced transaction
//! before it is signed (the deployment checks that the account can pay for it) calls
//! [`Sender::prepare`] and [`Sender::send_prepared`].

use crate::abi::u256;
use crate::crypto::sign_digest;
use crate::error::RpcError;
use crate::rpc::Rpc;
use ethers_core::types::transaction::eip2718::TypedTransaction;
use ethers_core::types::{
    Address as H160, BlockId, BlockNumber, Eip1559TransactionRequest, Signature,
    TransactionRequest, H256, U256, U64,
};
use ethers_providers::Middleware;
use k256::ecdsa::SigningKey;
use parley_plugin_api::model::Amount;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How transactions are priced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GasPricing {
    /// EIP-1559 fees; a `None` field is asked from the node for each transaction.
    Eip1559 {
        /// Most wei per gas paid in total.
        max_fee: Option<Amount>,
        /// Most wei per gas paid to the block producer.
        priority_fee: Option<Amount>,
    },
    /// Legacy (pre-1559) transactions at this gas price in wei, or at the node's
    /// `eth_gasPrice` for each transaction when `None`.
    Legacy(Option<Amount>),
}

impl GasPricing {
    /// What the chain offers, every fee asked from the node: EIP-1559 where the latest block
    /// has a base fee, else legacy.
    pub fn offered_by(rpc: &Rpc) -> Result<GasPricing, RpcError> {
        Ok(match rpc.base_fee()? {
            Some(_) => GasPricing::Eip1559 {
                max_fee: None,
                priority_fee: None,
            },
            None => GasPricing::Legacy(None),
        })
    }
}

impl std::fmt::Display for GasPricing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            GasPricing::Eip1559 { .. } => "EIP-1559 fees",
            GasPricing::Legacy(_) => "legacy gas price",
        })
    }
}

/// How a [`Sender`] prices and awaits transactions.
#[derive(Debug, Clone)]
pub struct TxSettings {
    /// Fee settings.
    pub gas: GasPricing,
    /// The node's gas estimate is multiplied by this (1.0 to 10.0).
    pub gas_limit_multiplier: f64,
    /// How long to wait for a sent transaction's confirmations.
    pub timeout: Duration,
    /// How often its receipt is polled.
    pub poll_interval: Duration,
}

/// What a transaction does: a call of `to`, or with `to: None` a contract creation whose
/// `data` is the creation code.
#[derive(Debug, Clone)]
pub struct Call {
    /// The sending account (the key's).
    pub from: H160,
    /// The contract called; `None` creates one.
    pub to: Option<H160>,
    /// Call data, or the creation code.
    pub data: Vec<u8>,
    /// Wei sent along.
    pub value: U256,
}

/// A transaction with its gas limit and fees: everything but the nonce and the signature.
#[derive(Debug, Clone)]
pub struct Prepared {
    tx: TypedTransaction,
    from: H160,
}

impl Prepared {
    /// Its gas limit (the estimate with the margin).
    pub fn gas_limit(&self) -> U256 {
        self.tx.gas().copied().unwrap_or_default()
    }

    /// The most it pays per gas: the max fee (EIP-1559) or the gas price (legacy).
    pub fn max_fee_per_gas(&self) -> U256 {
        match &self.tx {
            TypedTransaction::Eip1559(inner) => inner.max_fee_per_gas.unwrap_or_default(),
            other => other.gas_price().unwrap_or_default(),
        }
    }

    /// The most the sender can be charged: all of its gas at the most per gas, and the value.
    pub fn max_cost(&self) -> U256 {
        let value = self.tx.value().copied().unwrap_or_default();
        self.gas_limit()
            .saturating_mul(self.max_fee_per_gas())
            .saturating_add(value)
    }
}

/// A confirmed, successful transaction.
#[derive(Clone, Debug)]
pub struct Sent {
    /// Its hash.
    pub hash: H256,
    /// The block it is in.
    pub block: u64,
    /// Gas it used.
    pub gas_used: u64,
    /// For a creation, the new contract (its code checked).
    pub contract: Option<H160>,
}

/// Sends transactions through one connection, from any account whose key the caller holds.
pub struct Sender {
    rpc: Arc<Rpc>,
    settings: TxSettings,
    /// One lock per sending account, held from reading the nonce until the node has the
    /// transaction: two threads sending from one account must not pick the same nonce.
    nonce_locks: Mutex<HashMap<H160, Arc<Mutex<()>>>>,
}

impl Sender {
    /// A sender through `rpc`, with `settings`.
    pub fn new(rpc: Arc<Rpc>, settings: TxSettings) -> Sender {
        Sender {
            rpc,
            settings,
            nonce_locks: Mutex::default(),
        }
    }

    /// Sends `call`, signed with `key` (the key of `call.from`), and waits until it has the
    /// connection's confirmations. `what` names the operation in errors.
    ///
    /// A transaction the chain would refuse is found by the gas estimate and never sent
    /// ([`RpcError::Reverts`] with the revert reason, or [`RpcError::CannotPay`]); one that was
    /// sent and reverted anyway is [`RpcError::Reverted`]; one not confirmed within the
    /// timeout is [`RpcError::NotConfirmed`] naming its hash (it may still be included).
    pub fn send(&self, key: &SigningKey, call: Call, what: &str) -> Result<Sent, RpcError> {
        let prepared = self.prepare(call, what)?;
        self.send_prepared(key, prepared, what)
    }

    /// Estimates and prices `call`: the first half of [`Sender::send`].
    pub fn prepare(&self, call: Call, what: &str) -> Result<Prepared, RpcError> {
        self.rpc.block_on(self.priced(call, what))
    }

    /// Signs, sends and awaits `prepared`: the second half of [`Sender::send`].
    pub fn send_prepared(
        &self,
        key: &SigningKey,
        prepared: Prepared,
        what: &str,
    ) -> Result<Sent, RpcError> {
        let Prepared { mut tx, from } = prepared;
        let hash = {
            let lock = self.nonce_lock(from);
            let _guard = lock.lock().unwrap_or_else(PoisonError::into_inner);
            self.rpc
                .block_on(self.sign_and_send(&mut tx, key, from, what))?
        };
        self.rpc.block_on(self.confirm(hash, &tx, what))
    }

    fn nonce_lock(&self, account: H160) -> Arc<Mutex<()>> {
        let mut locks = self
            .nonce_locks
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        Arc::clone(locks.entry(account).or_default())
    }

    /// Builds the transaction with its gas limit and fees.
    async fn priced(&self, call: Call, what: &str) -> Result<Prepared, RpcError> {
        let rpc = &self.rpc;
        let provider = &rpc.provider;
        let chain_id = rpc.chain_id();
        let mut tx: TypedTransaction = match &self.settings.gas {
            GasPricing::Legacy(_) => TransactionRequest::new()
                .from(call.from)
                .data(call.data)
                .value(call.value)
                .chain_id(chain_id)
                .into(),
            GasPricing::Eip1559 { .. } => Eip1559TransactionRequest::new()
                .from(call.from)
                .data(call.data)
                .value(call.value)
                .chain_id(chain_id)
                .into(),
        };
        if let Some(to) = call.to {
            tx.set_to(to);
        }
        let estimate = rpc.ask(what, provider.estimate_gas(&tx, None)).await?;
        let limit = (estimate.as_u128() as f64 * self.settings.gas_limit_multiplier).ceil() as u128;
        tx.set_gas(U256::from(limit.max(21_000)));
        match (&self.settings.gas, &mut tx) {
            (GasPricing::Legacy(Some(price)), tx) => {
                tx.set_gas_price(u256(price));
            }
            (GasPricing::Legacy(None), tx) => {
                let what = format!("{what}: reading the gas price");
                let price = rpc.ask(&what, provider.get_gas_price()).await?;
                tx.set_gas_price(price);
            }
            (
                GasPricing::Eip1559 {
                    max_fee,
                    priority_fee,
                },
                TypedTransaction::Eip1559(inner),
            ) => {
                let (max_fee, priority_fee) = match (max_fee, priority_fee) {
                    (Some(max), Some(tip)) => (u256(max), u256(tip)),
                    _ => {
                        let what = format!("{what}: estimating fees");
                        let (node_max, node_tip) =
                            rpc.ask(&what, provider.estimate_eip1559_fees(None)).await?;
                        let tip = priority_fee.as_ref().map(u256).unwrap_or(node_tip);
                        let max = max_fee.as_ref().map(u256).unwrap_or(node_max.max(tip));
                        (max, tip)
                    }
                };
                inner.max_fee_per_gas = Some(max_fee);
                inner.max_priority_fee_per_gas = Some(priority_fee.min(max_fee));
            }
            _ => unreachable!("the request type follows the pricing"),
        }
        Ok(Prepared {
            tx,
            from: call.from,
        })
    }

    /// Picks the nonce, signs with k256 0.14 and hands the transaction to the node. The
    /// caller holds the account's nonce lock.
    async fn sign_and_send(
        &self,
        tx: &mut TypedTransaction,
        key: &SigningKey,
        from: H160,
        what: &str,
    ) -> Result<H256, RpcError> {
        let rpc = &self.rpc;
        let nonce = rpc
            .ask(
                &format!("{what}: reading the nonce"),
                rpc.provider
                    .get_transaction_count(from, Some(BlockNumber::Pending.into())),
            )
            .await?;
        tx.set_nonce(nonce);
        let (rs, recovery) = sign_digest(key, &tx.sighash().0);
        let signature = Signature {
            r: U256::from_big_endian(&rs[..32]),
            s: U256::from_big_endian(&rs[32..]),
            // EIP-155 form; ethers turns it into the y-parity for typed transactions.
            v: u64::from(recovery) + 35 + 2 * rpc.chain_id(),
        };
        let pending = rpc
            .ask(
                what,
                rpc.provider.send_raw_transaction(tx.rlp_signed(&signature)),
            )
            .await?;
        Ok(pending.tx_hash())
    }

    /// Waits for `hash` to be included with the configured confirmations, then checks that it
    /// succeeded and, for a creation, that the new contract has code.
    async fn confirm(
        &self,
        hash: H256,
        tx: &TypedTransaction,
        what: &str,
    ) -> Result<Sent, RpcError> {
        let rpc = &self.rpc;
        let confirmations = rpc.confirmations();
        let deadline = Instant::now() + self.settings.timeout;
        let receipt_of = format!("{what}: reading the receipt of {hash:?}");
        let (receipt, block) = loop {
            // A receipt can vanish again in a reorg; the loop then waits for the re-inclusion.
            let receipt = rpc
                .ask(&receipt_of, rpc.provider.get_transaction_receipt(hash))
                .await?;
            if let Some((receipt, block)) =
                receipt.and_then(|r| r.block_number.map(|b| (r, b.as_u64())))
            {
                let head = rpc
                    .ask("reading the block number", rpc.provider.get_block_number())
                    .await?;
                if head.as_u64() + 1 >= block + confirmations {
                    break (receipt, block);
                }
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(RpcError::NotConfirmed {
                    what: what.to_owned(),
                    hash,
                    confirmations,
                    waited: self.settings.timeout,
                });
            }
            tokio::time::sleep(self.settings.poll_interval.min(deadline - now)).await;
        };
        let gas_used = receipt.gas_used.map(|g| g.low_u64()).unwrap_or(0);
        if receipt.status != Some(U64::from(1)) {
            return Err(RpcError::Reverted {
                what: what.to_owned(),
                hash,
                block,
                gas_used,
                gas_limit: tx.gas().map(|g| g.low_u64()).unwrap_or(0),
                reason: self.replay_reason(tx, block).await,
            });
        }
        let contract = match tx.to() {
            Some(_) => None,
            None => {
                let no_contract = |address| RpcError::NoContract {
                    what: what.to_owned(),
                    hash,
                    address,
                };
                let address = receipt.contract_address.ok_or_else(|| no_contract(None))?;
                let code = rpc
                    .ask(
                        &format!("{what}: reading the new contract's code"),
                        rpc.provider.get_code(address, None),
                    )
                    .await?;
                if code.is_empty() {
                    return Err(no_contract(Some(address)));
                }
                Some(address)
            }
        };
        Ok(Sent {
            hash,
            block,
            gas_used,
            contract,
        })
    }

    /// Why a mined transaction reverted, found by replaying it as a call on its block's parent
    /// state (exact unless an earlier transaction of the same block changed what it read).
    async fn replay_reason(&self, tx: &TypedTransaction, block: u64) -> String {
        let at = Some(BlockId::Number(BlockNumber::Number(
            block.saturating_sub(1).into(),
        )));
        match self
            .rpc
            .ask("replaying it", self.rpc.provider.call(tx, at))
            .await
        {
            Err(RpcError::Reverts { reason, .. }) => reason,
            _ => "no reason given".into(),
        }
    }
}
