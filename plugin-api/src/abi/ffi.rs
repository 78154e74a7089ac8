//! The FFI trait objects that cross the boundary. Plugin authors never implement these: they
//! implement [`ChainBackend`](crate::ChainBackend), [`Transport`](crate::Transport),
//! [`Store`](crate::Store) or [`App`](crate::App), and [`export_plugin!`](crate::export_plugin) wraps them. Every
//! composite argument and result is the canonical encoding of the corresponding model type.
//!
//! **How the tables grow.** Each table is an abi_stable prefix type whose
//! `#[sabi(last_prefix_field)]` stays where it was when this ABI version
//! ([`PLUGIN_ABI_VERSION`](super::PLUGIN_ABI_VERSION)) began. A later revision appends methods
//! after it, each with a default body: abi_stable then loads a plugin built before the method
//! existed, and calling the method on it runs the default (which answers the way a plugin
//! without the capability must, typically `Unsupported`). Moving `last_prefix_field`, changing
//! a method's signature or removing one is a new ABI version. The revision a plugin was built
//! at is in its root module ([`super::PluginModule`]).
#![allow(non_local_definitions)]

use crate::error::PluginError;
use abi_stable::{
    sabi_trait,
    std_types::{RBox, ROption, RResult, RSlice, RStr, RString, RVec},
};

/// An encoded value or an error.
pub type FfiResult = RResult<RVec<u8>, PluginError>;

/// A chain backend instance across the boundary: its two halves, kept apart in the types so
/// that the fast one is all the node's hot path can reach, and an optional test clock.
#[sabi_trait]
pub trait FfiChain: Send + Sync {
    /// The fast half: called directly on the node's hot path.
    fn signer(&self) -> FfiChainSignerBox;
    /// The waiting half: called only from the node's worker threads.
    fn ledger(&self) -> FfiLedgerBox;
    /// The test clock, on test ledgers only.
    #[sabi(last_prefix_field)]
    fn test_clock(&self) -> ROption<FfiTestClockBox>;
    /// Revision 3, a waiting call of the ledger: `ChannelId` in, `Option<State>` out (the
    /// state on record, see [`ChainLedger::registered_state`](crate::ChainLedger::registered_state)).
    /// A backend built before answers `Unsupported`.
    ///
    /// Appended here rather than to [`FfiLedger`]: abi_stable merges the layouts of a prefix
    /// table from every library loaded into one process and checks nested tables through the
    /// merged layout of the table around them, so a nested table can grow only where every
    /// table around it grows too. The ledger table sits inside this one, which an older
    /// plugin has at the same length: a revision-0 plugin loaded first would pin the shorter
    /// ledger table, and every up-to-date chain plugin after it would be refused.
    fn registered_state(&self, channel: RSlice<'_, u8>) -> FfiResult {
        let _ = channel;
        RResult::RErr(PluginError::unsupported(
            "this chain plugin was built before ABI revision 3 and cannot read the state on \
             record (rebuild it against plugin-api 0.2.2 or newer)",
        ))
    }
}

/// A boxed [`FfiChain`].
pub type FfiChainBox = FfiChain_TO<'static, RBox<()>>;

/// The fast half of a chain backend. See [`ChainSigner`](crate::ChainSigner).
#[sabi_trait]
pub trait FfiChainSigner: Send + Sync {
    /// Encoded `ChainInfo`.
    fn info(&self) -> FfiResult;
    /// Encoded `Vec<Participant>`.
    fn accounts(&self) -> FfiResult;
    /// `Params` in, `ChannelId` out.
    fn channel_id(&self, params: RSlice<'_, u8>) -> FfiResult;
    /// `Participant`, `State` in, `Sig` out.
    fn sign_state(&self, account: RSlice<'_, u8>, state: RSlice<'_, u8>) -> FfiResult;
    /// `State`, `Sig`, `Participant` in, `bool` out.
    #[sabi(last_prefix_field)]
    fn verify_state(
        &self,
        state: RSlice<'_, u8>,
        sig: RSlice<'_, u8>,
        participant: RSlice<'_, u8>,
    ) -> FfiResult;
}

/// A boxed [`FfiChainSigner`].
pub type FfiChainSignerBox = FfiChainSigner_TO<'static, RBox<()>>;

/// The waiting half of a chain backend. See [`ChainLedger`](crate::ChainLedger).
#[sabi_trait]
pub trait FfiLedger: Send + Sync {
    /// `u64` out.
    fn now(&self) -> FfiResult;
    /// `Participant`, `Asset` in, `Amount` out.
    fn balance(&self, owner: RSlice<'_, u8>, asset: RSlice<'_, u8>) -> FfiResult;
    /// `ChannelId`, `Participant`, `Asset` in, `Amount` out.
    fn holdings(
        &self,
        channel: RSlice<'_, u8>,
        participant: RSlice<'_, u8>,
        asset: RSlice<'_, u8>,
    ) -> FfiResult;
    /// `DepositRequest` in, `TxReceipt` out.
    fn deposit(&self, request: RSlice<'_, u8>) -> FfiResult;
    /// `FundingRequest` in, `FundingOutcome` out.
    fn fund(&self, request: RSlice<'_, u8>) -> FfiResult;
    /// `RegisterRequest` in, `TxReceipt` out.
    fn register(&self, request: RSlice<'_, u8>) -> FfiResult;
    /// `ProgressRequest` in, `TxReceipt` out.
    fn progress(&self, request: RSlice<'_, u8>) -> FfiResult;
    /// `ConcludeRequest` in, `TxReceipt` out.
    fn conclude(&self, request: RSlice<'_, u8>) -> FfiResult;
    /// `ConcludeFinalRequest` in, `TxReceipt` out.
    fn conclude_final(&self, request: RSlice<'_, u8>) -> FfiResult;
    /// `WithdrawRequest` in, `TxReceipt` out.
    fn withdraw(&self, request: RSlice<'_, u8>) -> FfiResult;
    /// `ChannelId` in, `Option<Dispute>` out.
    fn dispute(&self, channel: RSlice<'_, u8>) -> FfiResult;
    /// `ChannelId` in, `()` (empty) out.
    fn watch(&self, channel: RSlice<'_, u8>) -> FfiResult;
    /// `ChannelId` in, `()` (empty) out.
    #[sabi(last_prefix_field)]
    fn unwatch(&self, channel: RSlice<'_, u8>) -> FfiResult;
}

/// A boxed [`FfiLedger`].
pub type FfiLedgerBox = FfiLedger_TO<'static, RBox<()>>;

/// A test ledger's clock. See [`TestClock`](crate::TestClock).
#[sabi_trait]
pub trait FfiTestClock: Send + Sync {
    /// Seconds in, new chain time (`u64`) out.
    #[sabi(last_prefix_field)]
    fn advance_time(&self, seconds: u64) -> FfiResult;
}

/// A boxed [`FfiTestClock`].
pub type FfiTestClockBox = FfiTestClock_TO<'static, RBox<()>>;

/// The transport across the boundary. See [`Transport`](crate::Transport).
#[sabi_trait]
pub trait FfiTransport: Send + Sync {
    /// Address in, bound address out.
    fn listen(&self, addr: RStr<'_>) -> RResult<RString, PluginError>;
    /// Address in, connection id out.
    fn dial(&self, addr: RStr<'_>) -> RResult<u64, PluginError>;
    /// Queues a frame.
    fn send(&self, connection: u64, frame: RSlice<'_, u8>) -> RResult<(), PluginError>;
    /// Closes a connection.
    fn close(&self, connection: u64) -> RResult<(), PluginError>;
    /// The largest frame accepted.
    fn max_frame_size(&self) -> u64;
    /// The frame limit new connections start with.
    fn set_initial_frame_limit(&self, max_frame: u64) -> RResult<(), PluginError>;
    /// Raises or lowers one connection's frame limit.
    #[sabi(last_prefix_field)]
    fn set_frame_limit(&self, connection: u64, max_frame: u64) -> RResult<(), PluginError>;
}

/// A boxed [`FfiTransport`].
pub type FfiTransportBox = FfiTransport_TO<'static, RBox<()>>;

/// The store across the boundary. See [`Store`](crate::Store).
#[sabi_trait]
pub trait FfiStore: Send + Sync {
    /// The value of a key.
    fn get(&self, key: RSlice<'_, u8>) -> RResult<ROption<RVec<u8>>, PluginError>;
    /// Encoded `Vec<(Bytes, Bytes)>` of the pairs under `prefix` after `after`, at most `limit`.
    fn scan(&self, prefix: RSlice<'_, u8>, after: ROption<RSlice<'_, u8>>, limit: u32)
        -> FfiResult;
    /// Encoded `Vec<WriteOp>` in; atomic and durable on return.
    #[sabi(last_prefix_field)]
    fn commit(&self, batch: RSlice<'_, u8>) -> RResult<(), PluginError>;
    /// Revision 1: a `Durability` code. A store built before answers `Unknown` (0).
    fn durability(&self) -> u8 {
        0
    }
}

/// A boxed [`FfiStore`].
pub type FfiStoreBox = FfiStore_TO<'static, RBox<()>>;

/// An app across the boundary (revision 2). See [`App`](crate::App). `Params` and `State`
/// cross encoded; JSON crosses as text.
#[sabi_trait]
pub trait FfiApp: Send + Sync {
    /// `Params` and the setup JSON in, encoded `Bytes` (the app data) out.
    fn init(&self, params: RSlice<'_, u8>, setup: RStr<'_>) -> FfiResult;
    /// `Params`, `State` in.
    fn valid_init(&self, params: RSlice<'_, u8>, state: RSlice<'_, u8>)
        -> RResult<(), PluginError>;
    /// `Params`, two `State`s and the actor's index in.
    fn valid_transition(
        &self,
        params: RSlice<'_, u8>,
        from: RSlice<'_, u8>,
        to: RSlice<'_, u8>,
        actor: u16,
    ) -> RResult<(), PluginError>;
    /// `Params`, `State` in, JSON out.
    fn describe(
        &self,
        params: RSlice<'_, u8>,
        state: RSlice<'_, u8>,
    ) -> RResult<RString, PluginError>;
    /// `Params`, `State`, the action JSON and the actor's index in, the next `State` out.
    fn apply(
        &self,
        params: RSlice<'_, u8>,
        state: RSlice<'_, u8>,
        action: RStr<'_>,
        actor: u16,
    ) -> FfiResult;
    /// Encoded `AppSamples` out.
    #[sabi(last_prefix_field)]
    fn samples(&self) -> FfiResult;
}

/// A boxed [`FfiApp`].
pub type FfiAppBox = FfiApp_TO<'static, RBox<()>>;
