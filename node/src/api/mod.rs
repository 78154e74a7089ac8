//! The JSON-RPC 2.0 API (DESIGN §6): HTTP POST and WebSocket subscriptions on one loopback port,
//! every call authenticated by the bearer token in `<data_dir>/api.token`.
//!
//! - [`node_api`]: the [`NodeApi`] trait the server calls, and the [`EventBus`] its
//!   subscribers hear [`NodeEvent`]s on.
//! - [`service`]: the [`NodeApi`] over the driver ([`crate::client`]): its operations, domain
//!   errors and events in the API's terms.
//! - [`types`]: requests, results and events as JSON.
//! - [`params`]: pure parsing and checking of method parameters.
//! - [`error`]: stable error codes and categories.
//! - [`token`]: creating, reading and checking the bearer token.
//! - [`request_guard`]: body size and request ids, checked before jsonrpsee parses a request.
//! - [`server`]: the server itself.
//! - [`dashboard`]: the web dashboard's page and assets (built from `node/dashboard/`),
//!   served on the same port without the token.
//! - [`client`]: the CLI's client of it; [`events_client`]: its event subscriber.
//! - `test_support` (in tests, and with the `fuzzing` feature): an in-memory node behind the
//!   API, for exercising the server without a real node.
//!
//! Methods: `node_info`, `peer_add`, `peer_list`, `channel_open`, `proposal_list`,
//! `proposal_accept`, `proposal_reject`, `channel_list`, `channel_get`, `channel_pay`,
//! `channel_move` (also as `channel_update`), `channel_pending`, `channel_answer`, `channel_settle`, `balance`,
//! `payment_list`, `payment_get`, `invoice_create`, `invoice_pay`, `invoice_list`;
//! subscription `subscribe_events` (notifications `node_event`, ended by
//! `unsubscribe_events`); `rpc.discover` answers the OpenRPC document of all of them
//! ([`openrpc`]).

pub mod client;
pub mod dashboard;
pub mod error;
pub mod events_client;
pub mod node_api;
pub mod openrpc;
pub mod params;
pub mod payments;
pub mod request_guard;
pub mod server;
pub mod service;
pub mod token;
pub mod types;

#[cfg(test)]
mod server_tests;
#[cfg(any(test, feature = "fuzzing"))]
pub mod test_support;

pub use error::{ApiError, ErrorCategory};
pub use node_api::{ApiFuture, EventBus, NodeApi};
pub use server::{ApiServer, ApiServerConfig, ApiServerError};
pub use token::{load_or_create_token, read_token, token_path, ApiToken, TokenError};
pub use types::NodeEvent;
