//! The chain backend interface: a ledger that holds channel funds and enforces the newest
//! fully signed state (DESIGN §3, §8).
//!
//! A backend is two halves kept apart in the types: [`ChainSigner`], the fast calls the node
//! makes on its hot path (ids, signatures), and [`ChainLedger`], the calls that wait for the chain
//! (transactions, reads of the chain's state), which the node makes only from its worker
//! threads. A test ledger also offers a [`TestClock`]; that is not part of a production
//! backend's contract. [`ChainBackend`] is what a plugin implements: both halves, and the
//! clock if it has one.

use crate::abi::ffi::{
    FfiChain, FfiChainBox, FfiChainSigner, FfiChainSignerBox, FfiChainSigner_TO, FfiChain_TO,
    FfiLedger, FfiLedgerBox, FfiLedger_TO, FfiResult, FfiTestClock, FfiTestClockBox,
    FfiTestClock_TO,
};
use crate::abi::host::Host;
use crate::codec::{Decode, Encode};
use crate::error::PluginResult;
use crate::model::{
    Amount, Asset, ChainInfo, ChainTime, ChannelId, ConcludeFinalRequest, ConcludeRequest,
    DepositRequest, Dispute, FundingOutcome, FundingRequest, Params, Participant, ProgressRequest,
    RegisterRequest, Sig, State, TxReceipt, WithdrawRequest,
};
use crate::panic::catch;
use crate::store::answer_error;
use abi_stable::{
    sabi_trait::TD_Opaque,
    std_types::{ROption, RSlice, RVec},
};
use std::sync::Arc;

/// The fast half of a ledger backend: the chain's description, the wallet's accounts, channel
/// ids and state signatures.
///
/// Contract: every method is **fast**. It is called directly on the node's hot path, from many
/// threads at once, and must never block on I/O (keys are in memory; ids and signatures are
/// local computation). An error is [`ErrorKind::InvalidArgument`] for a malformed input or an
/// account the backend has no key for.
///
/// [`ErrorKind::InvalidArgument`]: crate::ErrorKind::InvalidArgument
pub trait ChainSigner: Send + Sync + 'static {
    /// The chain id, backend name and supported assets.
    fn info(&self) -> PluginResult<ChainInfo>;

    /// The wallet accounts this instance can sign and pay with.
    fn accounts(&self) -> PluginResult<Vec<Participant>>;

    /// The channel id of `params` (a hash; equal params give equal ids).
    fn channel_id(&self, params: &Params) -> PluginResult<ChannelId>;

    /// Signs `state` with `account`'s key.
    fn sign_state(&self, account: &Participant, state: &State) -> PluginResult<Sig>;

    /// Whether `sig` is `participant`'s signature on `state`. A malformed signature is `false`,
    /// not an error.
    fn verify_state(
        &self,
        state: &State,
        sig: &Sig,
        participant: &Participant,
    ) -> PluginResult<bool>;
}

/// The waiting half of a ledger backend: funding, disputes, payouts and reads of the chain's
/// state, under the rules of the Perun contracts (DESIGN §8).
///
/// Contract:
/// - **Waiting calls.** Every method may block on the chain; the node calls them only from its
///   long-lived worker threads, several at once. Transactions return once included with the
///   backend's configured confirmation depth.
/// - **Errors.** A transaction the ledger refuses under its rules is [`ErrorKind::Rejected`]
///   with the rule in the message; one that was sent but not confirmed in time is
///   [`ErrorKind::Timeout`] (it may still take effect); an unreachable ledger is
///   [`ErrorKind::Unavailable`]. The node retries only `Timeout` and `Unavailable`.
/// - **Accounts.** Calls that send transactions name the paying wallet account in `from`; it
///   must be one of [`ChainSigner::accounts`], else [`ErrorKind::InvalidArgument`].
/// - **Events.** After `watch(id)`, every change of the channel's on-chain record and every
///   deposit for it is emitted as a [`ChainEvent`](crate::model::ChainEvent) through the host's
///   event sink, in chain order. `watch` emits the current record at once if there is one, so a
///   node that restarts sees a registration that happened while it was down. The shared
///   [`EventPoller`](crate::poller::EventPoller) does this for a backend that can read its
///   chain's log.
///   Events may still arrive for a short while after `unwatch` or after the instance is
///   dropped begins; the node ignores them.
///
/// [`ErrorKind::Rejected`]: crate::ErrorKind::Rejected
/// [`ErrorKind::Timeout`]: crate::ErrorKind::Timeout
/// [`ErrorKind::Unavailable`]: crate::ErrorKind::Unavailable
/// [`ErrorKind::InvalidArgument`]: crate::ErrorKind::InvalidArgument
pub trait ChainLedger: Send + Sync + 'static {
    /// The ledger's current time (the latest block's timestamp).
    fn now(&self) -> PluginResult<ChainTime>;

    /// What `owner` holds of `asset` outside channels.
    fn balance(&self, owner: &Participant, asset: &Asset) -> PluginResult<Amount>;

    /// What the asset holder keeps for `participant` in `channel`: its deposit before the
    /// channel concludes, its payout afterwards (less what it withdrew).
    fn holdings(
        &self,
        channel: &ChannelId,
        participant: &Participant,
        asset: &Asset,
    ) -> PluginResult<Amount>;

    /// Deposits into a channel. Fails with `Rejected` if `from` cannot pay.
    fn deposit(&self, request: &DepositRequest) -> PluginResult<TxReceipt>;

    /// Deposits our share of every asset (skipping an asset whose holding already covers it, so
    /// a retry after a crash never pays twice), then waits until every participant's share is
    /// held or `timeout_secs` of wall-clock time pass.
    fn fund(&self, request: &FundingRequest) -> PluginResult<FundingOutcome>;

    /// Registers a fully signed state: starts a dispute, or refutes a registered older version
    /// before the dispute's timeout. Refused if the version is not newer, the timeout passed, a
    /// signature is wrong or the channel concluded. One exception, the Adjudicator's: the very
    /// state already on record, given again with sub-channel states, leaves the ledger
    /// channel's record as it is and registers (or refutes) its sub-channels, so that a stale
    /// sub-channel can be refuted under an unchanged parent.
    fn register(&self, request: &RegisterRequest) -> PluginResult<TxReceipt>;

    /// Advances a registered app channel by one valid move after the dispute timeout.
    fn progress(&self, request: &ProgressRequest) -> PluginResult<TxReceipt>;

    /// Concludes a registered channel once its timeout passed, fixing the payout.
    fn conclude(&self, request: &ConcludeRequest) -> PluginResult<TxReceipt>;

    /// Concludes a channel at once with a final state signed by all participants.
    fn conclude_final(&self, request: &ConcludeFinalRequest) -> PluginResult<TxReceipt>;

    /// Pays a concluded channel's share to the receiver; `amounts` in the receipt says how much
    /// of each asset moved. Withdrawing a zero holding is not an error.
    fn withdraw(&self, request: &WithdrawRequest) -> PluginResult<TxReceipt>;

    /// The channel's on-chain record, if any state was ever registered or concluded.
    fn dispute(&self, channel: &ChannelId) -> PluginResult<Option<Dispute>>;

    /// The state on record for `channel`: the one registered, progressed to or concluded with
    /// (the version of [`ChainLedger::dispute`]'s record), or `None` without a record. The
    /// node needs it to follow an app channel's force execution, where the state on record
    /// carries only the actor's signature and may be one it never saw. A backend must return
    /// exactly the state the ledger holds (a backend that reconstructs it checks it against
    /// the ledger's commitment, e.g. its hash); it must never guess.
    ///
    /// Revision 3; the default (and a plugin built before) answers
    /// [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported): the node then cannot follow
    /// force execution, and says so.
    fn registered_state(&self, channel: &ChannelId) -> PluginResult<Option<State>> {
        let _ = channel;
        Err(crate::PluginError::unsupported(
            "this chain backend cannot read the state on record",
        ))
    }

    /// Starts reporting events for `channel` (see the trait's contract). Idempotent.
    fn watch(&self, channel: &ChannelId) -> PluginResult<()>;

    /// Stops reporting events for `channel`. Idempotent.
    fn unwatch(&self, channel: &ChannelId) -> PluginResult<()>;
}

/// The clock of a test ledger (the sim chain, anvil): moves chain time forward so that tests
/// can reach a dispute's timeout. Never part of a production backend; the node reaches it only
/// through `parley chain advance-time` and the conformance suite.
pub trait TestClock: Send + Sync + 'static {
    /// Moves chain time forward by `seconds` and returns the new time. `Unsupported` if the
    /// connected ledger turns out not to be a test ledger.
    fn advance_time(&self, seconds: u64) -> PluginResult<ChainTime>;
}

/// A ledger backend as a plugin implements it: both halves, and a test clock on test ledgers.
pub trait ChainBackend: ChainSigner + ChainLedger {
    /// The test clock, if this backend is a test ledger. `None` (the default) for real ledgers.
    fn test_clock(&self) -> Option<&dyn TestClock> {
        None
    }
}

/// The waiting half of [`ChainLedger::fund`], for backends to share: asks `missing` for the
/// `(participant index, asset index)` pairs whose share is not yet held, every `poll`, until
/// none is missing ([`FundingOutcome::Funded`]) or `deadline` passes
/// ([`FundingOutcome::TimedOut`] with what is still missing). An error of `missing` ends the
/// wait with that error.
pub fn await_funding(
    deadline: std::time::Instant,
    poll: std::time::Duration,
    mut missing: impl FnMut() -> PluginResult<Vec<(u16, u16)>>,
) -> PluginResult<FundingOutcome> {
    loop {
        let short = missing()?;
        if short.is_empty() {
            return Ok(FundingOutcome::Funded);
        }
        let now = std::time::Instant::now();
        if now >= deadline {
            return Ok(FundingOutcome::TimedOut { missing: short });
        }
        std::thread::sleep(poll.min(deadline - now));
    }
}

/// Wraps a plugin's chain backend for export (used by `export_plugin!`); every call runs with
/// `host` bound to the thread.
pub fn export_chain<C: ChainBackend>(chain: C, host: Host) -> FfiChainBox {
    FfiChain_TO::from_value(
        Exported {
            backend: Arc::new(chain),
            host,
        },
        TD_Opaque,
    )
}

/// One exported instance; the three tables share it.
struct Exported<C> {
    backend: Arc<C>,
    host: Host,
}

impl<C> Clone for Exported<C> {
    fn clone(&self) -> Self {
        Exported {
            backend: Arc::clone(&self.backend),
            host: self.host.clone(),
        }
    }
}

impl<C> Exported<C> {
    /// Runs one exported call: binds the instance, catches panics, encodes the answer.
    fn serve<T: Encode>(&self, what: &str, call: impl FnOnce(&C) -> PluginResult<T>) -> FfiResult {
        self.host
            .scope(|| {
                catch(what, || {
                    call(&self.backend).map(|value| RVec::from(value.encode()))
                })
            })
            .into()
    }
}

fn arg<T: Decode>(bytes: RSlice<'_, u8>) -> PluginResult<T> {
    Ok(T::decode(bytes.as_slice())?)
}

/// `()` crosses as no bytes.
struct Unit;

impl Encode for Unit {
    fn encode_to(&self, _: &mut Vec<u8>) {}
}

impl Decode for Unit {
    fn decode_from(_: &mut crate::codec::Reader<'_>) -> Result<Self, crate::codec::DecodeError> {
        Ok(Unit)
    }
}

impl<C: ChainBackend> FfiChain for Exported<C> {
    fn signer(&self) -> FfiChainSignerBox {
        FfiChainSigner_TO::from_value(self.clone(), TD_Opaque)
    }

    fn ledger(&self) -> FfiLedgerBox {
        FfiLedger_TO::from_value(self.clone(), TD_Opaque)
    }

    fn test_clock(&self) -> ROption<FfiTestClockBox> {
        match self.backend.test_clock() {
            Some(_) => ROption::RSome(FfiTestClock_TO::from_value(self.clone(), TD_Opaque)),
            None => ROption::RNone,
        }
    }

    fn registered_state(&self, channel: RSlice<'_, u8>) -> FfiResult {
        self.serve("chain.registered_state", |c| {
            c.registered_state(&arg(channel)?)
        })
    }
}

impl<C: ChainBackend> FfiChainSigner for Exported<C> {
    fn info(&self) -> FfiResult {
        self.serve("chain.info", |c| c.info())
    }

    fn accounts(&self) -> FfiResult {
        self.serve("chain.accounts", |c| c.accounts())
    }

    fn channel_id(&self, params: RSlice<'_, u8>) -> FfiResult {
        self.serve("chain.channel_id", |c| c.channel_id(&arg(params)?))
    }

    fn sign_state(&self, account: RSlice<'_, u8>, state: RSlice<'_, u8>) -> FfiResult {
        self.serve("chain.sign_state", |c| {
            c.sign_state(&arg(account)?, &arg(state)?)
        })
    }

    fn verify_state(
        &self,
        state: RSlice<'_, u8>,
        sig: RSlice<'_, u8>,
        participant: RSlice<'_, u8>,
    ) -> FfiResult {
        self.serve("chain.verify_state", |c| {
            c.verify_state(&arg(state)?, &arg(sig)?, &arg(participant)?)
        })
    }
}

impl<C: ChainBackend> FfiLedger for Exported<C> {
    fn now(&self) -> FfiResult {
        self.serve("chain.now", |c| c.now())
    }

    fn balance(&self, owner: RSlice<'_, u8>, asset: RSlice<'_, u8>) -> FfiResult {
        self.serve("chain.balance", |c| c.balance(&arg(owner)?, &arg(asset)?))
    }

    fn holdings(
        &self,
        channel: RSlice<'_, u8>,
        participant: RSlice<'_, u8>,
        asset: RSlice<'_, u8>,
    ) -> FfiResult {
        self.serve("chain.holdings", |c| {
            c.holdings(&arg(channel)?, &arg(participant)?, &arg(asset)?)
        })
    }

    fn deposit(&self, request: RSlice<'_, u8>) -> FfiResult {
        self.serve("chain.deposit", |c| c.deposit(&arg(request)?))
    }

    fn fund(&self, request: RSlice<'_, u8>) -> FfiResult {
        self.serve("chain.fund", |c| c.fund(&arg(request)?))
    }

    fn register(&self, request: RSlice<'_, u8>) -> FfiResult {
        self.serve("chain.register", |c| c.register(&arg(request)?))
    }

    fn progress(&self, request: RSlice<'_, u8>) -> FfiResult {
        self.serve("chain.progress", |c| c.progress(&arg(request)?))
    }

    fn conclude(&self, request: RSlice<'_, u8>) -> FfiResult {
        self.serve("chain.conclude", |c| c.conclude(&arg(request)?))
    }

    fn conclude_final(&self, request: RSlice<'_, u8>) -> FfiResult {
        self.serve("chain.conclude_final", |c| c.conclude_final(&arg(request)?))
    }

    fn withdraw(&self, request: RSlice<'_, u8>) -> FfiResult {
        self.serve("chain.withdraw", |c| c.withdraw(&arg(request)?))
    }

    fn dispute(&self, channel: RSlice<'_, u8>) -> FfiResult {
        self.serve("chain.dispute", |c| c.dispute(&arg(channel)?))
    }

    fn watch(&self, channel: RSlice<'_, u8>) -> FfiResult {
        self.serve("chain.watch", |c| c.watch(&arg(channel)?).map(|()| Unit))
    }

    fn unwatch(&self, channel: RSlice<'_, u8>) -> FfiResult {
        self.serve("chain.unwatch", |c| {
            c.unwatch(&arg(channel)?).map(|()| Unit)
        })
    }
}

impl<C: ChainBackend> FfiTestClock for Exported<C> {
    fn advance_time(&self, seconds: u64) -> FfiResult {
        self.serve("chain.advance_time", |c| match c.test_clock() {
            Some(clock) => clock.advance_time(seconds),
            None => Err(crate::PluginError::unsupported(
                "this chain backend has no test clock",
            )),
        })
    }
}

/// A chain backend loaded from a plugin library, usable as a [`ChainBackend`]: the signer, the
/// ledger and the test clock the plugin's instance handed over.
pub struct LoadedChain {
    /// The instance's own table, for the calls appended to it (revision 3 on).
    instance: FfiChainBox,
    signer: FfiChainSignerBox,
    ledger: FfiLedgerBox,
    clock: Option<LoadedTestClock>,
}

struct LoadedTestClock(FfiTestClockBox);

impl LoadedChain {
    /// Takes the halves of the instance a plugin's constructor returned.
    pub fn new(inner: FfiChainBox) -> Self {
        LoadedChain {
            signer: inner.signer(),
            ledger: inner.ledger(),
            clock: inner.test_clock().into_option().map(LoadedTestClock),
            instance: inner,
        }
    }
}

/// Decodes a plugin's answer.
fn answer<T: Decode>(result: FfiResult) -> PluginResult<T> {
    let bytes = result.into_result()?;
    T::decode(&bytes).map_err(answer_error)
}

fn slice(bytes: &[u8]) -> RSlice<'_, u8> {
    RSlice::from(bytes)
}

impl ChainSigner for LoadedChain {
    fn info(&self) -> PluginResult<ChainInfo> {
        answer(self.signer.info())
    }

    fn accounts(&self) -> PluginResult<Vec<Participant>> {
        answer(self.signer.accounts())
    }

    fn channel_id(&self, params: &Params) -> PluginResult<ChannelId> {
        answer(self.signer.channel_id(slice(&params.encode())))
    }

    fn sign_state(&self, account: &Participant, state: &State) -> PluginResult<Sig> {
        answer(
            self.signer
                .sign_state(slice(&account.encode()), slice(&state.encode())),
        )
    }

    fn verify_state(
        &self,
        state: &State,
        sig: &Sig,
        participant: &Participant,
    ) -> PluginResult<bool> {
        answer(self.signer.verify_state(
            slice(&state.encode()),
            slice(&sig.encode()),
            slice(&participant.encode()),
        ))
    }
}

impl ChainLedger for LoadedChain {
    fn now(&self) -> PluginResult<ChainTime> {
        answer(self.ledger.now())
    }

    fn balance(&self, owner: &Participant, asset: &Asset) -> PluginResult<Amount> {
        answer(
            self.ledger
                .balance(slice(&owner.encode()), slice(&asset.encode())),
        )
    }

    fn holdings(
        &self,
        channel: &ChannelId,
        participant: &Participant,
        asset: &Asset,
    ) -> PluginResult<Amount> {
        answer(self.ledger.holdings(
            slice(&channel.encode()),
            slice(&participant.encode()),
            slice(&asset.encode()),
        ))
    }

    fn deposit(&self, request: &DepositRequest) -> PluginResult<TxReceipt> {
        answer(self.ledger.deposit(slice(&request.encode())))
    }

    fn fund(&self, request: &FundingRequest) -> PluginResult<FundingOutcome> {
        answer(self.ledger.fund(slice(&request.encode())))
    }

    fn register(&self, request: &RegisterRequest) -> PluginResult<TxReceipt> {
        answer(self.ledger.register(slice(&request.encode())))
    }

    fn progress(&self, request: &ProgressRequest) -> PluginResult<TxReceipt> {
        answer(self.ledger.progress(slice(&request.encode())))
    }

    fn conclude(&self, request: &ConcludeRequest) -> PluginResult<TxReceipt> {
        answer(self.ledger.conclude(slice(&request.encode())))
    }

    fn conclude_final(&self, request: &ConcludeFinalRequest) -> PluginResult<TxReceipt> {
        answer(self.ledger.conclude_final(slice(&request.encode())))
    }

    fn withdraw(&self, request: &WithdrawRequest) -> PluginResult<TxReceipt> {
        answer(self.ledger.withdraw(slice(&request.encode())))
    }

    fn dispute(&self, channel: &ChannelId) -> PluginResult<Option<Dispute>> {
        answer(self.ledger.dispute(slice(&channel.encode())))
    }

    fn registered_state(&self, channel: &ChannelId) -> PluginResult<Option<State>> {
        answer(self.instance.registered_state(slice(&channel.encode())))
    }

    fn watch(&self, channel: &ChannelId) -> PluginResult<()> {
        answer::<Unit>(self.ledger.watch(slice(&channel.encode()))).map(|Unit| ())
    }

    fn unwatch(&self, channel: &ChannelId) -> PluginResult<()> {
        answer::<Unit>(self.ledger.unwatch(slice(&channel.encode()))).map(|Unit| ())
    }
}

impl TestClock for LoadedTestClock {
    fn advance_time(&self, seconds: u64) -> PluginResult<ChainTime> {
        answer(self.0.advance_time(seconds))
    }
}

impl ChainBackend for LoadedChain {
    fn test_clock(&self) -> Option<&dyn TestClock> {
        self.clock.as_ref().map(|clock| clock as &dyn TestClock)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn funding_is_awaited_until_nothing_is_missing_or_the_deadline() {
        let mut polls = 0;
        let outcome = await_funding(
            Instant::now() + Duration::from_secs(60),
            Duration::from_millis(1),
            || {
                polls += 1;
                Ok(if polls < 3 { vec![(1, 0)] } else { Vec::new() })
            },
        );
        assert_eq!(outcome.unwrap(), FundingOutcome::Funded);
        assert_eq!(polls, 3);

        let outcome = await_funding(Instant::now(), Duration::from_millis(1), || {
            Ok(vec![(0, 1)])
        });
        assert_eq!(
            outcome.unwrap(),
            FundingOutcome::TimedOut {
                missing: vec![(0, 1)]
            }
        );

        let failed = await_funding(Instant::now(), Duration::from_millis(1), || {
            Err(crate::PluginError::internal("unreachable"))
        });
        assert!(failed.is_err());
    }
}
