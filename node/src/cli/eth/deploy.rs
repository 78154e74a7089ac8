//! One contract creation, start to end, through the Ethereum library's one send path
//! ([`parley_ethereum::tx`]): estimate and price it, check that the deployer can pay, sign,
//! send, wait for the confirmations, and check the status and the code at the new address.
//! What is the deployment's own is here: that balance check, and errors as one sentence for
//! the operator (what failed, where, and what to do), made from the library's typed errors.

use super::artifacts::Artifact;
use super::table::address;
use ethers_core::abi::Token;
use ethers_core::types::{H160, H256, U256};
use k256::ecdsa::SigningKey;
use parley_ethereum::crypto::account_address;
use parley_ethereum::rpc::Rpc;
use parley_ethereum::tx::{Call, GasPricing, Prepared, Sender, TxSettings};
use parley_ethereum::RpcError;
use std::sync::Arc;
use std::time::Duration;

/// How often the receipt and the head block are polled.
const POLL: Duration = Duration::from_millis(200);

/// The margin on the node's gas estimate: 20 %.
const GAS_LIMIT_MULTIPLIER: f64 = 1.2;

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
pub struct Deployer {
    rpc: Arc<Rpc>,
    sender: Sender,
    key: SigningKey,
    /// The deployer's address.
    pub from: H160,
    /// How transactions are priced: what the chain offers.
    pub pricing: GasPricing,
}

impl Deployer {
    /// Connects to the node at `url` as the account of `key`; every creation waits up to
    /// `timeout` for `confirmations`. The error is one sentence for the operator.
    pub fn connect(
        url: &str,
        key: SigningKey,
        confirmations: u64,
        timeout: Duration,
    ) -> Result<Deployer, String> {
        let rpc = Arc::new(Rpc::connect(url, confirmations, || {}).map_err(explain)?);
        let pricing = GasPricing::offered_by(&rpc).map_err(explain)?;
        let settings = TxSettings {
            gas: pricing.clone(),
            gas_limit_multiplier: GAS_LIMIT_MULTIPLIER,
            timeout,
            poll_interval: POLL,
        };
        Ok(Deployer {
            sender: Sender::new(Arc::clone(&rpc), settings),
            rpc,
            from: account_address(key.verifying_key()),
            key,
            pricing,
        })
    }

    /// The endpoint, as given.
    pub fn url(&self) -> &str {
        self.rpc.url()
    }

    /// The chain the node serves.
    pub fn chain_id(&self) -> u64 {
        self.rpc.chain_id()
    }

    /// Deploys `artifact` with constructor `args`.
    pub fn deploy(&self, artifact: &Artifact, args: &[Token]) -> Result<Deployed, String> {
        let name = artifact.name;
        let what = format!("deploying {name}");
        let creation = Call {
            from: self.from,
            to: None,
            data: artifact.creation_code(args)?,
            value: U256::zero(),
        };
        let prepared = self
            .sender
            .prepare(creation, &what)
            .map_err(|e| self.failed(name, "estimating its gas", e))?;
        self.check_funds(name, &prepared)?;
        let sent = self
            .sender
            .send_prepared(&self.key, prepared, &what)
            .map_err(|e| self.failed(name, "sending it", e))?;
        Ok(Deployed {
            name,
            address: sent
                .contract
                .expect("a confirmed creation names its contract"),
            transaction: sent.hash,
            block: sent.block,
            gas_used: sent.gas_used,
        })
    }

    /// Refuses a creation the deployer cannot pay for at the most it may cost, before it is
    /// signed (the node would refuse it with less to go on).
    fn check_funds(&self, name: &str, prepared: &Prepared) -> Result<(), String> {
        let balance = self.rpc.eth_balance(self.from).map_err(explain)?;
        if balance >= prepared.max_cost() {
            return Ok(());
        }
        Err(format!(
            "the deployer {} has {balance} wei on chain {}, but deploying {name} may cost up to \
             {} wei ({} gas at {} wei per gas): send it ether, or use the key of a funded \
             account (on anvil: one of the keys it prints at start)",
            address(self.from),
            self.chain_id(),
            prepared.max_cost(),
            prepared.gas_limit(),
            prepared.max_fee_per_gas()
        ))
    }

    /// The sentence for a creation that failed while `doing` (estimating or sending it).
    fn failed(&self, name: &str, doing: &str, error: RpcError) -> String {
        let url = self.url();
        match error {
            RpcError::CannotPay { message, .. } => format!(
                "deploying {name}: the node says the deployer {} cannot pay ({message}): send \
                 it ether on chain {}, or use the key of a funded account",
                address(self.from),
                self.chain_id()
            ),
            RpcError::Reverts {
                message, reason, ..
            } => {
                // The node's words; the reason decoded from its data where they give none.
                let bare = message.trim_end().ends_with("revert")
                    || message.trim_end().ends_with("reverted");
                let said = if bare && reason != message {
                    format!("{message}: {reason}")
                } else {
                    message
                };
                would_fail(name, doing, &said)
            }
            RpcError::Node { message, .. } if !older_evm(&message).is_empty() => {
                would_fail(name, doing, &message)
            }
            RpcError::Reverted {
                hash,
                block,
                gas_used,
                gas_limit,
                reason,
                ..
            } => {
                let why = if gas_used >= gas_limit {
                    " (all of its gas limit: it ran out of gas)".to_owned()
                } else {
                    format!(": {reason}")
                };
                format!(
                    "deploying {name} reverted: transaction {hash:?} in block {block} used \
                     {gas_used} gas{why}"
                )
            }
            RpcError::NotConfirmed {
                hash,
                confirmations,
                waited,
                ..
            } => format!(
                "deploying {name}: transaction {hash:?} was sent but did not get {confirmations} \
                 confirmation(s) within {} s; it may still be included: look it up \
                 (eth_getTransactionReceipt) before deploying again, raise --tx-timeout, or on a \
                 dev chain that mines only on demand use --confirmations 1",
                waited.as_secs()
            ),
            RpcError::NoContract {
                hash,
                address: None,
                ..
            } => format!(
                "deploying {name}: the receipt of {hash:?} names no contract address; is {url} \
                 an Ethereum node?"
            ),
            RpcError::NoContract {
                hash,
                address: Some(contract),
                ..
            } => format!(
                "deploying {name}: transaction {hash:?} succeeded but there is no code at {}; \
                 the node at {url} may have reorganised the chain: deploy again",
                address(contract)
            ),
            other => explain(other),
        }
    }
}

fn would_fail(name: &str, doing: &str, said: &str) -> String {
    format!(
        "deploying {name} would fail: the node refused {doing}: {said}{}",
        older_evm(said)
    )
}

/// A hint when the node's message says that the EVM lacks an instruction the contracts use.
fn older_evm(message: &str) -> &'static str {
    let lower = message.to_lowercase();
    if lower.contains("notactivated") || lower.contains("invalid opcode") {
        " (the contracts are compiled for the Cancun EVM; this chain seems to run an older one)"
    } else {
        ""
    }
}

/// The sentence for an error that is not about one creation: the library's, with advice
/// where the operator can act.
pub fn explain(error: RpcError) -> String {
    match error {
        RpcError::BadUrl { .. } => format!("--rpc {error}"),
        RpcError::Unreachable { .. } => format!(
            "{error}; is it running and is --rpc right? (for a local test chain, start `anvil`)"
        ),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_that_are_not_about_a_creation_say_what_to_do() {
        let unreachable = explain(RpcError::Unreachable {
            what: "reading the chain id".into(),
            url: "http://127.0.0.1:9".into(),
            cause: "Connection refused (os error 111)".into(),
        });
        assert!(
            unreachable.contains("cannot reach the Ethereum node at http://127.0.0.1:9"),
            "{unreachable}"
        );
        assert!(unreachable.contains("is --rpc right?"), "{unreachable}");
        let url = explain(RpcError::BadUrl {
            url: "ftp://x".into(),
            why: "is not an http:// or https:// JSON-RPC endpoint".into(),
        });
        assert!(url.starts_with("--rpc `ftp://x` is not"), "{url}");
    }

    #[test]
    fn an_older_evm_is_named() {
        let text = would_fail("Adjudicator", "estimating its gas", "invalid opcode: PUSH0");
        assert!(text.contains("Cancun"), "{text}");
        assert!(older_evm("execution reverted").is_empty());
    }
}
