//! What a test node changes in the messages it sends (`[testing]` in `node.toml`, which needs
//! `allow_misbehaviour = true`), so that multi-node tests can play a malicious peer against an
//! honest one. Everything here runs after the honest code decided what to send: the protocol
//! itself never cheats, the node only tampers with the message on its way out, and signs what
//! it tampered with, so that the honest peer can refuse it only by the rule it breaks.
//!
//! Every tampering is logged as a warning starting with `[testing] MISBEHAVING`.

use super::TestingSection;
use crate::protocol::effect::{ChannelEvent, Effect};
use crate::protocol::{Channel, ChannelMessage, ChannelProposal, StateSigner};
use parley_plugin_api::codec::Bytes;
use parley_plugin_api::model::{Address, Amount, ChannelId, State, SubAlloc};

/// The app a misbehaving node names: no contract anyone deployed.
fn testing_app() -> Address {
    Address(crate::hash::keccak256(&[b"parley-testing-app"])[..20].to_vec())
}

/// App data no node can interpret.
const TESTING_APP_DATA: &[u8] = b"parley-testing: app data no node can check";

/// The sub-channel a misbehaving node locks funds in: none that exists.
/// The id of the sub-channel a misbehaving node's states lock funds in (no such channel).
pub(crate) fn testing_sub_channel() -> ChannelId {
    ChannelId(crate::hash::keccak256(&[b"parley-testing-sub-channel"]))
}

/// Makes `proposal` (ours, valid, about to be sent) carry what `[testing]` asks for: an app,
/// locked funds, the virtual flag. The honest peer must refuse it with the rule's reason.
pub fn tamper_proposal(testing: &TestingSection, proposal: &mut ChannelProposal) {
    if testing.propose_app {
        proposal.app = Some(testing_app());
        proposal.app_data = Bytes(TESTING_APP_DATA.to_vec());
        tracing::warn!(proposal = %proposal.proposal_id, "[testing] MISBEHAVING: the proposal names an app");
    }
    if testing.propose_locked {
        // The proposer's whole deposit goes into the sub-channel: every total stays the same.
        let amounts = proposal
            .balances
            .iter_mut()
            .map(|row| row.first_mut().map_or(Amount::ZERO, std::mem::take))
            .collect();
        proposal.locked.push(SubAlloc {
            id: testing_sub_channel(),
            balances: amounts,
            index_map: vec![0, 1],
        });
        tracing::warn!(proposal = %proposal.proposal_id, "[testing] MISBEHAVING: the proposal locks funds in a sub-channel");
    }
    if testing.propose_virtual {
        proposal.virtual_channel = true;
        proposal.ledger_channel = false;
        tracing::warn!(proposal = %proposal.proposal_id, "[testing] MISBEHAVING: the proposal is for a virtual channel");
    }
}

/// The `[testing]` switches a channel task applies to what it sends.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ChannelMisbehaviour {
    /// Our update proposals change the app data.
    pub update_app_data: bool,
    /// Our update proposals lock our balance in a sub-channel.
    pub update_locked: bool,
    /// Our answers to the peer's `SyncRequest` carry a forked state.
    pub fork_on_sync: bool,
    /// A race we win is never followed by our update proposed again.
    pub silent_race_winner: bool,
}

impl ChannelMisbehaviour {
    /// The switches of `[testing]` (all off on real nodes).
    pub fn from_testing(testing: &TestingSection) -> ChannelMisbehaviour {
        ChannelMisbehaviour {
            update_app_data: testing.update_app_data,
            update_locked: testing.update_locked,
            fork_on_sync: testing.fork_on_sync,
            silent_race_winner: testing.silent_race_winner,
        }
    }

    /// `effects` as a misbehaving node of `channel` carries them out: with
    /// `silent_race_winner`, the proposal that renumbers our update after a race we won is
    /// not sent (the rest is: we still persist and withdraw nothing).
    pub fn filter(&self, channel: &Channel, effects: Vec<Effect>) -> Vec<Effect> {
        let renumbered =
            |e: &Effect| matches!(e, Effect::Event(ChannelEvent::UpdateRenumbered { .. }));
        if !self.silent_race_winner || !effects.iter().any(renumbered) {
            return effects;
        }
        tracing::warn!(channel = %channel.id(), "[testing] MISBEHAVING: won a race and does not propose the update again");
        effects
            .into_iter()
            .filter(|e| {
                !matches!(
                    e,
                    Effect::Send {
                        message: ChannelMessage::UpdateProposal(_),
                        ..
                    }
                )
            })
            .collect()
    }

    /// `message` as a misbehaving node of `channel` sends it; unchanged when every switch is
    /// off or the message is not one the switches apply to. A state we tamper with is signed
    /// again with our key (if signing fails, the message goes out untouched).
    pub fn tamper(
        &self,
        channel: &Channel,
        message: ChannelMessage,
        signer: &(impl StateSigner + ?Sized),
    ) -> ChannelMessage {
        match message {
            ChannelMessage::UpdateProposal(mut update)
                if self.update_app_data || self.update_locked =>
            {
                let mut state = update.state.clone();
                if self.update_app_data {
                    state.app_data = Bytes(TESTING_APP_DATA.to_vec());
                }
                if self.update_locked {
                    lock_balance(&mut state, channel.my_index());
                }
                if let Ok(sig) = signer.sign(channel.me(), &state) {
                    tracing::warn!(channel = %channel.id(), version = state.version, "[testing] MISBEHAVING: the update proposed breaks a rule");
                    update.state = state;
                    update.sig = sig;
                }
                ChannelMessage::UpdateProposal(update)
            }
            ChannelMessage::SyncReply(mut reply) if self.fork_on_sync => {
                let mut fork = reply.latest.state.clone();
                take_everything(&mut fork, channel.my_index());
                let me = channel.my_index();
                if let (Ok(sig), Some(slot)) = (
                    signer.sign(channel.me(), &fork),
                    reply.latest.sigs.get_mut(me),
                ) {
                    tracing::warn!(channel = %channel.id(), version = fork.version, "[testing] MISBEHAVING: answering re-synchronisation with a forked state");
                    *slot = sig;
                    reply.latest.state = fork;
                }
                ChannelMessage::SyncReply(reply)
            }
            other => other,
        }
    }
}

/// Moves participant `me`'s balance of every asset into a sub-channel (totals unchanged).
fn lock_balance(state: &mut State, me: usize) {
    let amounts = state
        .allocation
        .balances
        .iter_mut()
        .map(|row| row.get_mut(me).map_or(Amount::ZERO, std::mem::take))
        .collect();
    state.allocation.locked.push(SubAlloc {
        id: testing_sub_channel(),
        balances: amounts,
        index_map: vec![0, 1],
    });
}

/// Gives participant `me` every coin of the state (totals unchanged); a state where `me`
/// holds everything already gets app data instead, so that the fork always differs.
fn take_everything(state: &mut State, me: usize) {
    let before = state.clone();
    for row in &mut state.allocation.balances {
        let total = Amount::checked_sum(row.iter()).unwrap_or(Amount::ZERO);
        for (index, amount) in row.iter_mut().enumerate() {
            *amount = if index == me { total } else { Amount::ZERO };
        }
    }
    if *state == before {
        state.app_data = Bytes(TESTING_APP_DATA.to_vec());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::validate_proposal;
    use crate::protocol::{ProposalError, ProposalId};
    use parley_plugin_api::model::{Asset, Participant};

    fn proposal() -> ChannelProposal {
        ChannelProposal {
            proposal_id: ProposalId([1; 32]),
            proposer: Participant(vec![1; 20]),
            assets: vec![Asset {
                chain_id: 1,
                holder: Address(vec![2; 20]),
            }],
            balances: vec![vec![Amount::from(70u64), Amount::from(30u64)]],
            locked: Vec::new(),
            challenge_duration: 60,
            nonce_share: [3; 32],
            app: None,
            app_data: Bytes::default(),
            ledger_channel: true,
            virtual_channel: false,
            parent: None,
        }
    }

    fn tampered(testing: TestingSection) -> ChannelProposal {
        let mut p = proposal();
        tamper_proposal(&testing, &mut p);
        p
    }

    #[test]
    fn each_proposal_switch_breaks_exactly_its_rule() {
        let honest = tampered(TestingSection::default());
        assert_eq!(honest, proposal());
        let with_app = tampered(TestingSection {
            propose_app: true,
            ..TestingSection::default()
        });
        assert!(matches!(
            validate_proposal(&with_app),
            Err(ProposalError::App { .. })
        ));
        let locked = tampered(TestingSection {
            propose_locked: true,
            ..TestingSection::default()
        });
        assert_eq!(
            validate_proposal(&locked),
            Err(ProposalError::Locked { count: 1 })
        );
        assert_eq!(
            locked.locked[0].balances[0],
            Amount::from(70u64),
            "the deposit moved"
        );
        assert_eq!(locked.balances[0][0], Amount::ZERO);
        let virtual_channel = tampered(TestingSection {
            propose_virtual: true,
            ..TestingSection::default()
        });
        assert!(matches!(
            validate_proposal(&virtual_channel),
            Err(ProposalError::Virtual { .. })
        ));
    }

    #[test]
    fn a_fork_always_differs_and_keeps_the_totals() {
        let mut state = State {
            channel_id: ChannelId([1; 32]),
            version: 4,
            allocation: parley_plugin_api::model::Allocation {
                assets: proposal().assets,
                balances: vec![vec![Amount::from(70u64), Amount::from(30u64)]],
                locked: Vec::new(),
            },
            app_data: Bytes::default(),
            is_final: false,
        };
        let original = state.clone();
        take_everything(&mut state, 1);
        assert_eq!(
            state.allocation.balances[0],
            vec![Amount::ZERO, Amount::from(100u64)]
        );
        assert_eq!(state.allocation.totals(), original.allocation.totals());
        let rich = state.clone();
        take_everything(&mut state, 1);
        assert_ne!(
            state, rich,
            "a fork of a state that pays us all still differs"
        );
        assert_eq!(state.version, original.version);
    }
}
