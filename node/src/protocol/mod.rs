//! The sans-IO two-party channel protocol (DESIGN §2, §4): plain types and functions that take
//! inputs and return outputs and effects. No sockets, files, threads, async or clocks: the
//! client's channel task feeds messages, decisions and chain observations in, and executes the
//! returned [`Effect`]s in order.
//!
//! - [`messages`]: the channel-level messages and their canonical encoding.
//! - [`proposal`]: validating a channel proposal and deriving `Params` and version 0.
//! - [`transition`]: the invariants every new state must keep; payments.
//! - [`channel`]: the state machine of one channel (open, fund, update, close, re-sync).
//! - [`phase`]: a channel's life cycle.
//! - [`effect`]: what the state machine asks the driver to do, and the order contract.
//! - [`record`]: what a channel persists and how it is restored.
//! - [`funding`]: how a channel gets its funds (ledger, sub-channel, virtual) and what funding
//!   step it takes next.
//! - [`tree`]: the channel tree: a ledger channel and the channels it funds, with the rules for
//!   locking, merging, registering and paying out a tree.
//! - [`signer`]: channel ids, signing and verification, as traits the chain backend implements.
//! - [`update_queue`]: our updates of a channel, started one at a time and retried once.

pub mod app_rules;
pub mod channel;
pub mod effect;
pub mod funding;
pub mod messages;
pub mod phase;
pub mod proposal;
pub mod record;
pub mod signer;
pub mod transition;
pub mod tree;
pub mod update_queue;

#[cfg(test)]
mod test_support;

pub use app_rules::{AppLookup, AppRules, NoApps};
pub use channel::{
    Channel, ChannelError, FaultResponse, IncomingUpdateError, OpenError, SyncError, VirtualTerms,
};
pub use effect::{ChannelEvent, Effect};
pub use funding::{Funding, FundingError, FundingStep};
pub use messages::{
    BatchedPayment, ChannelMessage, ChannelProposal, FullySignedState, OpeningSig, PaymentNote,
    ProposalAccept, ProposalId, ProposalReject, RejectReason, SyncReply, SyncRequest, UpdateAccept,
    UpdateProposal, UpdateReject, VirtualChild, VirtualProposal, MAX_BATCH, MAX_VIRTUAL_PATH,
};
pub use phase::Phase;
pub use proposal::{
    build_params, channel_nonce, opening_state, validate_accept, validate_proposal,
    validate_proposal_with_apps, ProposalError, MAX_CHALLENGE_DURATION,
};
pub use record::{
    ChannelRecord, ChannelSnapshot, PendingUpdate, PersistRecord, RestoreError, SignedRecord,
};
pub use signer::{BackendError, ChannelIdFn, StateSigner, StateVerifier};
pub use transition::{
    check_agreed_transition, check_app_transition, check_conservation, check_succession,
    check_transition, final_state, payment, PaymentError, TransitionError,
};
pub use update_queue::{Answer, Started, UpdateFailure, UpdateIntent, UpdateQueue};
