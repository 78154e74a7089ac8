//! The async driver of the node (DESIGN §1 `client/`): peers over the transport plugin,
//! message routing, one task per channel, timeouts. The channel logic itself is the sans-IO
//! [`crate::protocol`]; this module only feeds it and executes its effects.
//!
//! It speaks domain types only: its operations ([`driver::Driver`]) return domain values and
//! fail with [`error::Error`], and it tells followers what happens through the
//! [`events::EventSink`] it is handed. It knows nothing of the API, which adapts all three,
//! nor of how the node is put together: both live outside it and depend on it, never the
//! reverse.
//!
//! Services, each owning its state behind a lock only its own methods take (none is held
//! across an `await`): [`registry`] (the running channels), [`proposals`] (channel proposals
//! both ways), [`book`] (the peers the user named), [`apps`] (the apps of `[[apps]]`, fixed
//! at start). Handles without state of their own:
//! [`chain`] (the backend and our account), [`dialer`] (reaching known peers), [`start`]
//! (starting channel tasks), [`peers`] (the connections).
//!
//! The parts that work with them, each handed only the services it needs: [`channel_task`]
//! (one per channel), [`dispatch`] (routes the peers' events), [`onchain`] (one owner per
//! channel of everything it does on chain: funding, the cooperative close, disputes; the
//! watchtower), and
//! [`driver`] with [`opening`], [`payment`], [`moves`], [`settling`], [`overview`] and
//! [`answers`] (the operations front ends call). [`error`] and [`events`] are what the driver says back.

pub mod answers;
pub mod apps;
pub mod book;
pub mod chain;
pub mod channel_policy;
pub mod channel_task;
pub mod dialer;
pub mod dispatch;
pub mod driver;
pub mod error;
pub mod events;
pub mod intermediary;
pub mod invoices;
pub mod metrics;
pub mod moves;
pub mod onchain;
pub mod opening;
pub mod overview;
pub mod pay_node;
pub mod payment;
pub mod peer_names;
pub mod peers;
pub mod proposals;
pub mod registry;
pub mod settling;
pub mod start;
pub mod sub_channels;
pub mod virtual_channels;
