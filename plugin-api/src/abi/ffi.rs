//! The FFI trait objects that cross the boundary. Plugin authors never implement these: they
//! implement [`ChainBackend`](crate::ChainBackend), [`Transport`](crate::Transport) or
//! [`Store`](crate::Store), and [`export_plugin!`](crate::export_plugin) wraps them. Every
//! composite argument and result is the canonical encoding of the corresponding model type.
//!
//! New methods may only be added after the last one (abi_stable prefix types): a plugin with
//! more methods loads into an older node, never the reverse. abi_stable checks that the node's
//! method table is a prefix of the plugin's, and since every plugin's root module names all
//! three tables (through [`PluginInstance`](super::PluginInstance)), a method appended to any
//! of them makes the node refuse every plugin built before it, of every kind. Such a change
//! therefore comes with a new [`PLUGIN_ABI_VERSION`](super::PLUGIN_ABI_VERSION), so that the
//! refusal is one sentence instead of a layout report (ABI 2 added the transport's frame
//! limits).
#![allow(non_local_definitions)]

use crate::error::PluginError;
use abi_stable::{
    sabi_trait,
    std_types::{RBox, ROption, RResult, RSlice, RStr, RString, RVec},
};

/// An encoded value or an error.
pub type FfiResult = RResult<RVec<u8>, PluginError>;

/// The chain backend across the boundary. See [`ChainBackend`](crate::ChainBackend) for each
/// method's contract.
#[sabi_trait]
pub trait FfiChain: Send + Sync {
    /// Encoded `ChainInfo`.
    fn info(&self) -> FfiResult;
    /// Encoded `Vec<Participant>`.
    fn accounts(&self) -> FfiResult;
    /// `Params` in, `ChannelId` out.
    fn channel_id(&self, params: RSlice<'_, u8>) -> FfiResult;
    /// `Participant`, `State` in, `Sig` out.
    fn sign_state(&self, account: RSlice<'_, u8>, state: RSlice<'_, u8>) -> FfiResult;
    /// `State`, `Sig`, `Participant` in, `bool` out.
    fn verify_state(
        &self,
        state: RSlice<'_, u8>,
        sig: RSlice<'_, u8>,
        participant: RSlice<'_, u8>,
    ) -> FfiResult;
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
    fn unwatch(&self, channel: RSlice<'_, u8>) -> FfiResult;
    /// Seconds in, new chain time (`u64`) out.
    #[sabi(last_prefix_field)]
    fn advance_time(&self, seconds: u64) -> FfiResult;
}

/// A boxed [`FfiChain`].
pub type FfiChainBox = FfiChain_TO<'static, RBox<()>>;

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
    /// The frame limit new connections start with (ABI 2).
    fn set_initial_frame_limit(&self, max_frame: u64) -> RResult<(), PluginError>;
    /// Raises or lowers one connection's frame limit (ABI 2).
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
}

/// A boxed [`FfiStore`].
pub type FfiStoreBox = FfiStore_TO<'static, RBox<()>>;
