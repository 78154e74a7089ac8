//! The async driver of the node (DESIGN §1 `client/`): peers over the transport plugin,
//! message routing, one task per channel, timeouts. The channel logic itself is the sans-IO
//! [`crate::protocol`]; this module only feeds it and executes its effects.
//!
//! It speaks domain types only: its operations ([`driver::Driver`]) return domain values and
//! fail with [`error::Error`], and it tells followers what happens through the
//! [`events::EventSink`] it is handed. The API adapts all three ([`crate::api::service`]);
//! the node is put together outside it ([`crate::assembly`]).

pub mod book;
pub mod chain;
pub mod channel_policy;
pub mod channel_task;
pub mod closing;
pub mod dialer;
pub mod dispatch;
pub mod driver;
pub mod error;
pub mod events;
pub mod lifecycle;
pub mod misbehaviour;
pub mod opening;
pub mod overview;
pub mod payment;
pub mod peers;
pub mod proposals;
pub mod registry;
pub mod settling;
pub mod start;
