//! Funding a channel, for the owner of the chain side: a [`Funder`] (our account and the
//! funding timeout), asked per channel what funding it needs and, for ledger funding, doing
//! it. The decision is the sans-IO [`crate::protocol::funding::plan`]; this module adds only
//! the one chain call. No async here: [`Funder::fund`] blocks on the chain backend and is run
//! on a worker thread ([`super::failure::chain_step`]), never on a channel task or the runtime.
//!
//! # How the chain side uses it ([`super::funding`])
//!
//! For a channel in `Funding` (a fresh one, or one restored in that phase):
//!
//! 1. Take the channel's [`ChannelSnapshot`] (`ChannelHandle::snapshot`), and call
//!    [`Funder::fund`] with it on a worker thread.
//! 2. `Ok(FundingOutcome::Funded)`: tell the channel (`ChannelHandle::funded`); it becomes
//!    `Active`. `Ok(FundingOutcome::TimedOut { missing })`: the others did not deposit in time;
//!    start the dispute that recovers our deposit (`ChannelHandle::dispute`).
//! 3. `Err(FundError::Chain(_))`: the backend failed (transient unless the plugin says
//!    otherwise); take the step again later. Funding is safe to repeat: the backend deposits
//!    only what is not yet held.
//! 4. `Err(FundError::Refused(_))`: nothing was sent and retrying will not help. A
//!    [`FundingError::SubChannelNotYet`] or [`FundingError::VirtualNotYet`] means the channel
//!    is funded by a parent's lock, which arrives with #12 and #14; report it on the channel and
//!    do not retry. The other refusals are the caller's mistake (wrong phase, wrong account).
//!
//! [`Funder::plan`] gives the same decision without the chain call, for a caller that runs
//! the deposit itself (or shows what would be done).

use crate::protocol::funding::{plan, FundingError, FundingStep};
use crate::protocol::ChannelSnapshot;
use parley_plugin_api::model::{FundingOutcome, Participant};
use parley_plugin_api::{ChainLedger, PluginError};
use std::time::Duration;
use thiserror::Error;

/// Funds channels from one account, waiting up to one timeout for the others' deposits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Funder {
    account: Participant,
    timeout: Duration,
}

/// Why [`Funder::fund`] did not fund. The variant says whether trying again can help.
#[derive(Debug, Error)]
pub enum FundError {
    /// The channel cannot be funded this way now; nothing was sent to the chain.
    #[error("{0}")]
    Refused(#[from] FundingError),
    /// The chain backend failed while depositing or waiting.
    #[error("funding failed on the chain: {0}")]
    Chain(#[source] PluginError),
}

impl Funder {
    /// A funder paying from `account` (the node's chain account, the same that signs its
    /// states) and waiting `timeout` of wall-clock time for the others' deposits
    /// (`[policy] funding_timeout_seconds`). The timeout is passed to the backend in whole
    /// seconds.
    pub fn new(account: Participant, timeout: Duration) -> Funder {
        Funder { account, timeout }
    }

    /// What funding `snapshot`'s channel takes next (pure; see
    /// [`crate::protocol::funding::plan`]).
    pub fn plan(&self, snapshot: &ChannelSnapshot) -> Result<FundingStep, FundingError> {
        plan(snapshot, &self.account, self.timeout.as_secs())
    }

    /// Funds `snapshot`'s channel through `ledger`: for ledger funding, deposits our share
    /// and waits until every share is held or the timeout passes (`ChainLedger::fund`). Blocks
    /// for as long as that takes; refused without touching the chain for any other funding.
    pub fn fund(
        &self,
        ledger: &dyn ChainLedger,
        snapshot: &ChannelSnapshot,
    ) -> Result<FundingOutcome, FundError> {
        match self.plan(snapshot)? {
            FundingStep::Deposit(request) => ledger.fund(&request).map_err(FundError::Chain),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::funding::Funding;
    use crate::protocol::{ChannelRecord, Phase, SignedRecord};
    use parley_plugin_api::model::{Allocation, ChannelId, Params, Sig, State};

    fn snapshot(funding: Funding) -> ChannelSnapshot {
        let channel_id = ChannelId([1; 32]);
        ChannelSnapshot {
            channel: ChannelRecord {
                params: Params {
                    participants: vec![Participant(vec![1; 20]), Participant(vec![2; 20])],
                    challenge_duration: 60,
                    nonce: [0; 32],
                    app: None,
                    ledger_channel: funding == Funding::Ledger,
                    virtual_channel: false,
                },
                channel_id,
                my_index: 0,
            },
            phase: Phase::Funding,
            latest: SignedRecord {
                state: State {
                    channel_id,
                    version: 0,
                    allocation: Allocation::default(),
                    app_data: Default::default(),
                    is_final: false,
                },
                sigs: vec![Some(Sig(vec![1; 65])), Some(Sig(vec![2; 65]))],
            },
            pending: None,
            funding,
            spent: 0,
        }
    }

    #[test]
    fn the_funder_pays_from_its_account_and_waits_its_timeout_in_seconds() {
        let funder = Funder::new(Participant(vec![1; 20]), Duration::from_millis(90_500));
        let FundingStep::Deposit(request) = funder.plan(&snapshot(Funding::Ledger)).unwrap();
        assert_eq!(request.from, Participant(vec![1; 20]));
        assert_eq!(request.index, 0);
        assert_eq!(request.timeout_secs, 90);
    }

    #[test]
    fn a_sub_channel_is_refused_with_a_reason_that_says_when_it_arrives() {
        let funder = Funder::new(Participant(vec![1; 20]), Duration::from_secs(60));
        let sub = snapshot(Funding::SubChannel {
            parent: ChannelId([2; 32]),
        });
        let error = funder.plan(&sub).unwrap_err();
        let refused = FundError::from(error.clone());
        assert!(matches!(
            refused,
            FundError::Refused(FundingError::SubChannelNotYet { .. })
        ));
        assert_eq!(refused.to_string(), error.to_string());
        assert!(refused.to_string().contains("app channels (#12)"));
    }
}
