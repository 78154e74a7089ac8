//! The blocking step of a cooperative close against a scripted chain: which transactions each
//! side sends for which record, and what a failed read does.

use super::*;
use parley_plugin_api::codec::Bytes;
use parley_plugin_api::model::{
    Address, Allocation, Amount, ChainTime, ConcludeRequest, DepositRequest, Dispute,
    FundingOutcome, FundingRequest, Params, ProgressRequest, RegisterRequest, Sig, State,
};
use parley_plugin_api::{ChainLedger, PluginError, PluginResult};
use std::collections::VecDeque;
use std::sync::Mutex;

const PATIENCE: Duration = Duration::from_secs(120);
const CHANNEL: ChannelId = ChannelId([7; 32]);

/// A chain whose `dispute` answers come from a script, and which logs every transaction.
#[derive(Default)]
struct ScriptedChain {
    records: Mutex<VecDeque<PluginResult<Option<Dispute>>>>,
    conclude_final_fails: bool,
    sent: Mutex<Vec<&'static str>>,
}

impl ScriptedChain {
    fn answering(records: Vec<PluginResult<Option<Dispute>>>) -> ScriptedChain {
        ScriptedChain {
            records: Mutex::new(records.into()),
            ..ScriptedChain::default()
        }
    }

    fn sent(&self) -> Vec<&'static str> {
        self.sent.lock().unwrap().clone()
    }
}

fn concluded() -> Option<Dispute> {
    Some(Dispute {
        channel_id: CHANNEL,
        version: 5,
        phase: DisputePhase::Concluded,
        timeout: 100,
    })
}

fn no<T>() -> PluginResult<T> {
    Err(PluginError::unsupported("not in the scripted chain"))
}

impl ChainLedger for ScriptedChain {
    fn now(&self) -> PluginResult<ChainTime> {
        no()
    }

    fn balance(&self, _: &Participant, _: &Asset) -> PluginResult<Amount> {
        no()
    }

    fn holdings(&self, _: &ChannelId, _: &Participant, _: &Asset) -> PluginResult<Amount> {
        no()
    }

    fn deposit(&self, _: &DepositRequest) -> PluginResult<TxReceipt> {
        no()
    }

    fn fund(&self, _: &FundingRequest) -> PluginResult<FundingOutcome> {
        no()
    }

    fn register(&self, _: &RegisterRequest) -> PluginResult<TxReceipt> {
        no()
    }

    fn progress(&self, _: &ProgressRequest) -> PluginResult<TxReceipt> {
        no()
    }

    fn conclude(&self, _: &ConcludeRequest) -> PluginResult<TxReceipt> {
        no()
    }

    fn conclude_final(&self, _: &ConcludeFinalRequest) -> PluginResult<TxReceipt> {
        self.sent.lock().unwrap().push("concludeFinal");
        if self.conclude_final_fails {
            return Err(PluginError::rejected("concludeFinal: already concluded"));
        }
        Ok(TxReceipt::default())
    }

    fn withdraw(&self, _: &WithdrawRequest) -> PluginResult<TxReceipt> {
        self.sent.lock().unwrap().push("withdraw");
        Ok(TxReceipt {
            amounts: vec![Amount::from(3u64)],
            ..TxReceipt::default()
        })
    }

    fn dispute(&self, _: &ChannelId) -> PluginResult<Option<Dispute>> {
        self.records
            .lock()
            .unwrap()
            .pop_front()
            .expect("the test scripted fewer record reads than the close made")
    }

    fn watch(&self, _: &ChannelId) -> PluginResult<()> {
        no()
    }

    fn unwatch(&self, _: &ChannelId) -> PluginResult<()> {
        no()
    }
}

/// The close of a two-party channel by participant `my_index`.
fn close(my_index: u16) -> FinalClose {
    let participants = vec![Participant(vec![0xa; 20]), Participant(vec![0xb; 20])];
    let asset = Asset {
        chain_id: 1,
        holder: Address(vec![0xe; 20]),
    };
    FinalClose {
        signed: SignedState {
            params: Params {
                participants: participants.clone(),
                challenge_duration: 60,
                nonce: [1; 32],
                app: None,
                ledger_channel: true,
                virtual_channel: false,
            },
            state: State {
                channel_id: CHANNEL,
                version: 5,
                allocation: Allocation {
                    assets: vec![asset.clone()],
                    balances: vec![vec![Amount::from(3u64), Amount::from(7u64)]],
                    locked: Vec::new(),
                },
                app_data: Bytes(Vec::new()),
                is_final: true,
            },
            sigs: vec![Sig(vec![1; 65]), Sig(vec![2; 65])],
        },
        my_index,
        me: participants[usize::from(my_index)].clone(),
        assets: vec![asset],
        may_conclude: true,
    }
}

#[test]
fn the_proposer_concludes_at_once_and_withdraws() {
    let chain = ScriptedChain::answering(vec![Ok(None)]);
    let step = close(0).step(&chain, Duration::ZERO, PATIENCE).unwrap();
    assert!(matches!(step, CloseStep::Withdrawn(_)), "{step:?}");
    assert_eq!(chain.sent(), ["concludeFinal", "withdraw"]);
}

#[test]
fn the_other_side_sends_nothing_while_the_proposer_concludes() {
    // Both reach the close at the same moment, before either transaction landed.
    let chain = ScriptedChain::answering(vec![Ok(None)]);
    let step = close(1).step(&chain, Duration::ZERO, PATIENCE).unwrap();
    assert!(
        matches!(step, CloseStep::AwaitPeer { within } if within == PATIENCE),
        "{step:?}"
    );
    assert!(chain.sent().is_empty(), "sent {:?}", chain.sent());
}

#[test]
fn a_channel_the_peer_concluded_is_only_withdrawn_from() {
    for index in [0, 1] {
        let chain = ScriptedChain::answering(vec![Ok(concluded())]);
        let step = close(index).step(&chain, Duration::ZERO, PATIENCE).unwrap();
        assert!(matches!(step, CloseStep::Withdrawn(_)), "{step:?}");
        assert_eq!(chain.sent(), ["withdraw"], "participant {index}");
    }
}

#[test]
fn the_other_side_concludes_itself_when_the_proposer_never_does() {
    let chain = ScriptedChain::answering(vec![Ok(None)]);
    let step = close(1).step(&chain, PATIENCE, PATIENCE).unwrap();
    assert!(matches!(step, CloseStep::Withdrawn(_)), "{step:?}");
    assert_eq!(chain.sent(), ["concludeFinal", "withdraw"]);
}

#[test]
fn a_failed_record_read_is_an_error_and_sends_nothing() {
    for index in [0, 1] {
        let chain = ScriptedChain::answering(vec![Err(PluginError::unavailable(
            "the Ethereum node is unreachable",
        ))]);
        let error = close(index).step(&chain, PATIENCE, PATIENCE).unwrap_err();
        assert!(
            error.is_transient(),
            "an unreachable chain is retried: {error}"
        );
        let error = error.to_string();
        assert!(
            error.contains("cannot read the channel's record"),
            "{error}"
        );
        assert!(error.contains("unreachable"), "{error}");
        assert!(chain.sent().is_empty(), "sent {:?}", chain.sent());
    }
}

#[test]
fn a_refused_conclude_is_fine_if_the_channel_concluded_anyway() {
    let chain = ScriptedChain {
        conclude_final_fails: true,
        ..ScriptedChain::answering(vec![Ok(None), Ok(concluded())])
    };
    let step = close(0).step(&chain, Duration::ZERO, PATIENCE).unwrap();
    assert!(matches!(step, CloseStep::Withdrawn(_)), "{step:?}");
    assert_eq!(chain.sent(), ["concludeFinal", "withdraw"]);
}

#[test]
fn a_refused_conclude_with_an_unreadable_record_is_an_error_naming_both() {
    let chain = ScriptedChain {
        conclude_final_fails: true,
        ..ScriptedChain::answering(vec![Ok(None), Err(PluginError::internal("garbled record"))])
    };
    let error = close(0).step(&chain, Duration::ZERO, PATIENCE).unwrap_err();
    assert!(
        !error.is_transient(),
        "a garbled record is not retried as is: {error}"
    );
    let error = error.to_string();
    assert!(error.contains("already concluded"), "{error}");
    assert!(error.contains("garbled record"), "{error}");
    assert_eq!(chain.sent(), ["concludeFinal"]);
}

#[test]
fn a_test_node_withholding_concludes_nothing_but_withdraws_once_concluded() {
    let withholding = FinalClose {
        may_conclude: false,
        ..close(0)
    };
    let chain = ScriptedChain::answering(vec![Ok(None), Ok(concluded())]);
    let step = withholding.step(&chain, PATIENCE, PATIENCE).unwrap();
    assert!(matches!(step, CloseStep::AwaitPeer { .. }), "{step:?}");
    let step = withholding.step(&chain, PATIENCE, PATIENCE).unwrap();
    assert!(matches!(step, CloseStep::Withdrawn(_)), "{step:?}");
    assert_eq!(chain.sent(), ["withdraw"]);
}
