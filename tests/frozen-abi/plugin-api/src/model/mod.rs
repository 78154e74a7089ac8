//! The chain-agnostic data model (DESIGN §2), in Perun's vocabulary, shared by the node and every
//! plugin. Every type has serde derives (JSON for the API) and the canonical binary encoding of
//! [`crate::codec`] (for the plugin boundary, the store and the wire).

mod amount;
mod chain;
mod channel;
mod ids;
mod io;

pub use amount::{Amount, ParseAmountError};
pub use chain::{
    AssetInfo, ChainEvent, ChainInfo, ChainTime, ConcludeFinalRequest, ConcludeRequest,
    DepositRequest, Dispute, DisputePhase, FundingOutcome, FundingRequest, ProgressRequest,
    RegisterRequest, TxReceipt, WithdrawRequest,
};
pub use channel::{Allocation, AllocationError, Params, SignedState, State, SubAlloc};
pub use ids::{Address, Asset, ChannelId, Participant, Sig};
pub use io::{ConnectionId, PluginEvent, TransportEvent, WriteOp};

