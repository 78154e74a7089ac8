//! The chain backend interface: a ledger that holds channel funds and enforces the newest
//! fully signed state (DESIGN §3, §8).

use crate::abi::ffi::{FfiChain, FfiChainBox, FfiChain_TO, FfiResult};
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
    std_types::{RSlice, RVec},
};

/// A ledger backend: signatures, channel ids, funding, disputes and payouts, under the rules of
/// the Perun contracts (DESIGN §8).
///
/// Contract:
/// - **Fast calls** (may be called on the hot path, never block on I/O): `info`, `accounts`,
///   `channel_id`, `sign_state`, `verify_state`.
/// - **Waiting calls** (the node runs them on long-lived worker threads): everything else.
///   Transactions return once included with the backend's configured confirmation depth.
/// - **Errors.** A transaction the ledger refuses under its rules is [`ErrorKind::Rejected`]
///   with the rule in the message; one that was sent but not confirmed in time is
///   [`ErrorKind::Timeout`] (it may still take effect); an unreachable ledger is
///   [`ErrorKind::Unavailable`].
/// - **Accounts.** Calls that send transactions name the paying wallet account in `from`; it
///   must be one of [`ChainBackend::accounts`], else [`ErrorKind::InvalidArgument`].
/// - **Events.** After `watch(id)`, every change of the channel's on-chain record and every
///   deposit for it is emitted as a [`ChainEvent`](crate::model::ChainEvent) through the host's
///   event sink, in chain order. `watch` emits the current record at once if there is one, so a
///   node that restarts sees a registration that happened while it was down.
///
/// [`ErrorKind::Rejected`]: crate::ErrorKind::Rejected
/// [`ErrorKind::Timeout`]: crate::ErrorKind::Timeout
/// [`ErrorKind::Unavailable`]: crate::ErrorKind::Unavailable
/// [`ErrorKind::InvalidArgument`]: crate::ErrorKind::InvalidArgument
pub trait ChainBackend: Send + Sync + 'static {
    /// The chain id, backend name and supported assets. Fast.
    fn info(&self) -> PluginResult<ChainInfo>;

    /// The wallet accounts this instance can sign and pay with. Fast.
    fn accounts(&self) -> PluginResult<Vec<Participant>>;

    /// The channel id of `params` (a hash; equal params give equal ids). Fast.
    fn channel_id(&self, params: &Params) -> PluginResult<ChannelId>;

    /// Signs `state` with `account`'s key. Fast.
    fn sign_state(&self, account: &Participant, state: &State) -> PluginResult<Sig>;

    /// Whether `sig` is `participant`'s signature on `state`. A malformed signature is `false`,
    /// not an error. Fast.
    fn verify_state(
        &self,
        state: &State,
        sig: &Sig,
        participant: &Participant,
    ) -> PluginResult<bool>;

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
    /// signature is wrong or the channel concluded.
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

    /// Starts reporting events for `channel` (see the trait's contract). Idempotent.
    fn watch(&self, channel: &ChannelId) -> PluginResult<()>;

    /// Stops reporting events for `channel`. Idempotent.
    fn unwatch(&self, channel: &ChannelId) -> PluginResult<()>;

    /// Moves chain time forward by `seconds` and returns the new time: for test ledgers only
    /// (the sim chain, anvil). Real ledgers answer `Unsupported`.
    fn advance_time(&self, seconds: u64) -> PluginResult<ChainTime>;
}

/// The waiting half of [`ChainBackend::fund`], for backends to share: asks `missing` for the
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

/// Wraps a plugin's chain backend for export (used by `export_plugin!`).
pub fn export_chain<C: ChainBackend>(chain: C) -> FfiChainBox {
    FfiChain_TO::from_value(ExportedChain(chain), TD_Opaque)
}

struct ExportedChain<C>(C);

/// Runs one exported call: catches panics and encodes the answer.
fn serve<T: Encode>(what: &str, call: impl FnOnce() -> PluginResult<T>) -> FfiResult {
    catch(what, || call().map(|value| RVec::from(value.encode()))).into()
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

impl<C: ChainBackend> FfiChain for ExportedChain<C> {
    fn info(&self) -> FfiResult {
        serve("chain.info", || self.0.info())
    }

    fn accounts(&self) -> FfiResult {
        serve("chain.accounts", || self.0.accounts())
    }

    fn channel_id(&self, params: RSlice<'_, u8>) -> FfiResult {
        serve("chain.channel_id", || self.0.channel_id(&arg(params)?))
    }

    fn sign_state(&self, account: RSlice<'_, u8>, state: RSlice<'_, u8>) -> FfiResult {
        serve("chain.sign_state", || {
            self.0.sign_state(&arg(account)?, &arg(state)?)
        })
    }

    fn verify_state(
        &self,
        state: RSlice<'_, u8>,
        sig: RSlice<'_, u8>,
        participant: RSlice<'_, u8>,
    ) -> FfiResult {
        serve("chain.verify_state", || {
            self.0
                .verify_state(&arg(state)?, &arg(sig)?, &arg(participant)?)
        })
    }

    fn now(&self) -> FfiResult {
        serve("chain.now", || self.0.now())
    }

    fn balance(&self, owner: RSlice<'_, u8>, asset: RSlice<'_, u8>) -> FfiResult {
        serve("chain.balance", || {
            self.0.balance(&arg(owner)?, &arg(asset)?)
        })
    }

    fn holdings(
        &self,
        channel: RSlice<'_, u8>,
        participant: RSlice<'_, u8>,
        asset: RSlice<'_, u8>,
    ) -> FfiResult {
        serve("chain.holdings", || {
            self.0
                .holdings(&arg(channel)?, &arg(participant)?, &arg(asset)?)
        })
    }

    fn deposit(&self, request: RSlice<'_, u8>) -> FfiResult {
        serve("chain.deposit", || self.0.deposit(&arg(request)?))
    }

    fn fund(&self, request: RSlice<'_, u8>) -> FfiResult {
        serve("chain.fund", || self.0.fund(&arg(request)?))
    }

    fn register(&self, request: RSlice<'_, u8>) -> FfiResult {
        serve("chain.register", || self.0.register(&arg(request)?))
    }

    fn progress(&self, request: RSlice<'_, u8>) -> FfiResult {
        serve("chain.progress", || self.0.progress(&arg(request)?))
    }

    fn conclude(&self, request: RSlice<'_, u8>) -> FfiResult {
        serve("chain.conclude", || self.0.conclude(&arg(request)?))
    }

    fn conclude_final(&self, request: RSlice<'_, u8>) -> FfiResult {
        serve("chain.conclude_final", || {
            self.0.conclude_final(&arg(request)?)
        })
    }

    fn withdraw(&self, request: RSlice<'_, u8>) -> FfiResult {
        serve("chain.withdraw", || self.0.withdraw(&arg(request)?))
    }

    fn dispute(&self, channel: RSlice<'_, u8>) -> FfiResult {
        serve("chain.dispute", || self.0.dispute(&arg(channel)?))
    }

    fn watch(&self, channel: RSlice<'_, u8>) -> FfiResult {
        serve("chain.watch", || {
            self.0.watch(&arg(channel)?).map(|()| Unit)
        })
    }

    fn unwatch(&self, channel: RSlice<'_, u8>) -> FfiResult {
        serve("chain.unwatch", || {
            self.0.unwatch(&arg(channel)?).map(|()| Unit)
        })
    }

    fn advance_time(&self, seconds: u64) -> FfiResult {
        serve("chain.advance_time", || self.0.advance_time(seconds))
    }
}

/// A chain backend loaded from a plugin library, usable as a [`ChainBackend`].
pub struct LoadedChain(FfiChainBox);

impl LoadedChain {
    /// Wraps the instance a plugin's constructor returned.
    pub fn new(inner: FfiChainBox) -> Self {
        LoadedChain(inner)
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

impl ChainBackend for LoadedChain {
    fn info(&self) -> PluginResult<ChainInfo> {
        answer(self.0.info())
    }

    fn accounts(&self) -> PluginResult<Vec<Participant>> {
        answer(self.0.accounts())
    }

    fn channel_id(&self, params: &Params) -> PluginResult<ChannelId> {
        answer(self.0.channel_id(slice(&params.encode())))
    }

    fn sign_state(&self, account: &Participant, state: &State) -> PluginResult<Sig> {
        answer(
            self.0
                .sign_state(slice(&account.encode()), slice(&state.encode())),
        )
    }

    fn verify_state(
        &self,
        state: &State,
        sig: &Sig,
        participant: &Participant,
    ) -> PluginResult<bool> {
        answer(self.0.verify_state(
            slice(&state.encode()),
            slice(&sig.encode()),
            slice(&participant.encode()),
        ))
    }

    fn now(&self) -> PluginResult<ChainTime> {
        answer(self.0.now())
    }

    fn balance(&self, owner: &Participant, asset: &Asset) -> PluginResult<Amount> {
        answer(
            self.0
                .balance(slice(&owner.encode()), slice(&asset.encode())),
        )
    }

    fn holdings(
        &self,
        channel: &ChannelId,
        participant: &Participant,
        asset: &Asset,
    ) -> PluginResult<Amount> {
        answer(self.0.holdings(
            slice(&channel.encode()),
            slice(&participant.encode()),
            slice(&asset.encode()),
        ))
    }

    fn deposit(&self, request: &DepositRequest) -> PluginResult<TxReceipt> {
        answer(self.0.deposit(slice(&request.encode())))
    }

    fn fund(&self, request: &FundingRequest) -> PluginResult<FundingOutcome> {
        answer(self.0.fund(slice(&request.encode())))
    }

    fn register(&self, request: &RegisterRequest) -> PluginResult<TxReceipt> {
        answer(self.0.register(slice(&request.encode())))
    }

    fn progress(&self, request: &ProgressRequest) -> PluginResult<TxReceipt> {
        answer(self.0.progress(slice(&request.encode())))
    }

    fn conclude(&self, request: &ConcludeRequest) -> PluginResult<TxReceipt> {
        answer(self.0.conclude(slice(&request.encode())))
    }

    fn conclude_final(&self, request: &ConcludeFinalRequest) -> PluginResult<TxReceipt> {
        answer(self.0.conclude_final(slice(&request.encode())))
    }

    fn withdraw(&self, request: &WithdrawRequest) -> PluginResult<TxReceipt> {
        answer(self.0.withdraw(slice(&request.encode())))
    }

    fn dispute(&self, channel: &ChannelId) -> PluginResult<Option<Dispute>> {
        answer(self.0.dispute(slice(&channel.encode())))
    }

    fn watch(&self, channel: &ChannelId) -> PluginResult<()> {
        answer::<Unit>(self.0.watch(slice(&channel.encode()))).map(|_| ())
    }

    fn unwatch(&self, channel: &ChannelId) -> PluginResult<()> {
        answer::<Unit>(self.0.unwatch(slice(&channel.encode()))).map(|_| ())
    }

    fn advance_time(&self, seconds: u64) -> PluginResult<ChainTime> {
        answer(self.0.advance_time(seconds))
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
