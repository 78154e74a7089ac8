//! The API served by the driver: the layer between [`crate::client`], which speaks domain
//! types, errors and events, and the JSON-RPC server, which speaks the API's.
//!
//! - [`events`]: the driver's events as the API's [`NodeEvent`](super::NodeEvent)s.
//! - [`views`]: the driver's channels and proposals as the API shows them.

pub mod events;
pub mod views;
