//! What the demo pays and deposits, from the chain's first asset.

use crate::api::types::NodeInfo;
use crate::lab::LabError;
use parley_plugin_api::model::Amount;

/// What the demo pays and deposits, in base units of the chain's first asset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The asset's name.
    pub asset: String,
    /// Its decimals.
    pub decimals: u8,
    /// Payments per direction.
    pub payments: u64,
    /// Concurrent calls per direction.
    pub in_flight: usize,
    /// Each payment alice makes (3 thousandths of a unit).
    pub alice_pays: Amount,
    /// Each payment bob makes (1 thousandth).
    pub bob_pays: Amount,
    /// Alice's deposit: enough for all her payments even if none of bob's came first.
    pub alice_deposit: Amount,
    /// Bob's deposit, likewise.
    pub bob_deposit: Amount,
}

impl Plan {
    /// The plan for the chain alice reports: its first asset, in thousandths of a unit so
    /// that the balances before and after read as round numbers (alice ends 2 units down
    /// per 1,000 payments, bob 2 up).
    pub fn new(info: &NodeInfo, payments: u64, in_flight: usize) -> Result<Plan, LabError> {
        let asset = info.chain.assets.first().ok_or_else(|| {
            LabError::failed(format!(
                "the chain backend {} has no assets to open a channel in",
                info.chain.backend
            ))
        })?;
        let too_big = || {
            LabError::failed(format!(
                "{} has {} decimals; the demo's amounts do not fit",
                asset.name, asset.decimals
            ))
        };
        let thousandth = 10u128
            .checked_pow(u32::from(asset.decimals.saturating_sub(3)))
            .ok_or_else(too_big)?;
        let times = |each: u128, count: u64| each.checked_mul(u128::from(count));
        let alice_pays = thousandth.checked_mul(3).ok_or_else(too_big)?;
        let bob_pays = thousandth;
        Ok(Plan {
            asset: asset.name.clone(),
            decimals: asset.decimals,
            payments,
            in_flight,
            alice_pays: Amount::from_u128(alice_pays),
            bob_pays: Amount::from_u128(bob_pays),
            alice_deposit: Amount::from_u128(times(alice_pays, payments).ok_or_else(too_big)?),
            bob_deposit: Amount::from_u128(times(bob_pays, payments).ok_or_else(too_big)?),
        })
    }

    /// The final channel balances the payments must lead to: (alice, bob).
    pub fn expected_final(&self) -> Option<(Amount, Amount)> {
        let n = Amount::from(self.payments);
        let times = |each: Amount| {
            each.to_u128()
                .and_then(|e| e.checked_mul(n.to_u128()?))
                .map(Amount::from_u128)
        };
        let (alice_out, bob_out) = (times(self.alice_pays)?, times(self.bob_pays)?);
        let alice = self
            .alice_deposit
            .checked_add(bob_out)?
            .checked_sub(alice_out)?;
        let bob = self
            .bob_deposit
            .checked_add(alice_out)?
            .checked_sub(bob_out)?;
        Some((alice, bob))
    }
}

/// A node info naming one asset, ETH with `decimals`, for the tests of the demo.
#[cfg(test)]
pub(crate) fn info(decimals: u8) -> NodeInfo {
    use parley_plugin_api::model::{Asset, AssetInfo, ChainInfo};
    NodeInfo {
        node_id: crate::wire::NodeKey::generate().unwrap().node_id(),
        version: "0.1.0".into(),
        chain: ChainInfo {
            chain_id: 1337,
            backend: "sim-chain".into(),
            assets: vec![AssetInfo {
                name: "ETH".into(),
                decimals,
                asset: Asset {
                    chain_id: 1337,
                    holder: Default::default(),
                },
            }],
        },
        listen_address: "127.0.0.1:1".into(),
        node_address: String::new(),
        account: None,
        channels: 0,
        peers: 0,
        api_address: None,
        apps: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn few_decimals_pay_single_base_units_and_too_many_are_refused() {
        let plan = Plan::new(&info(0), 10, 1).unwrap();
        assert_eq!(plan.bob_pays, Amount::from(1u64));
        assert_eq!(plan.alice_deposit, Amount::from(30u64));
        assert!(Plan::new(&info(60), 10, 1).is_err());
        let mut empty = info(18);
        empty.chain.assets.clear();
        assert!(Plan::new(&empty, 10, 1).is_err());
    }
}
