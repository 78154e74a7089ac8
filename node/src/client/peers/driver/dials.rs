//! Connects: dialing on a blocking thread, claiming the dialed connection, and answering the
//! callers waiting for the peer; disconnects.

use super::{local_goodbye, Connection, Driver, Ending, Stage};
use crate::client::peers::error::PeerError;
use crate::client::peers::event::DisconnectReason;
use crate::wire::{GoodbyeReason, NodeId, Role};
use parley_plugin_api::model::ConnectionId;
use parley_plugin_api::{PluginError, PluginResult};
use std::time::Instant;
use tokio::sync::oneshot;

/// The answer to one `connect` call.
pub(in crate::client::peers) type ConnectReply = oneshot::Sender<Result<(), PeerError>>;

/// A dial that returned, from the blocking thread it ran on.
pub(in crate::client::peers) struct DialDone {
    peer: NodeId,
    attempt: u64,
    addr: String,
    result: PluginResult<ConnectionId>,
}

/// A connect in progress.
pub(super) struct PendingConnect {
    pub(super) waiters: Vec<ConnectReply>,
    /// Matches the dial result to this attempt (a cancelled attempt's result may come late).
    attempt: u64,
    /// The dialed connection, once the dial returned.
    pub(super) connection: Option<ConnectionId>,
}

impl Driver {
    pub(super) fn connect(&mut self, peer: NodeId, addr: String, reply: ConnectReply) {
        if peer == self.key.node_id() {
            let _ = reply.send(Err(PeerError::OwnNodeId(peer)));
            return;
        }
        if self.routes.get(&peer).is_some() {
            let _ = reply.send(Ok(()));
            return;
        }
        if let Some(pending) = self.connects.get_mut(&peer) {
            pending.waiters.push(reply);
            return;
        }
        let attempt = self.next_attempt;
        self.next_attempt += 1;
        self.connects.insert(
            peer,
            PendingConnect {
                waiters: vec![reply],
                attempt,
                connection: None,
            },
        );
        // `dial` blocks for up to the transport's connect timeout; connects are rare, so one
        // blocking-pool thread each is fine (never on the message path).
        let transport = self.transport.clone();
        let done = self.dials.clone();
        tokio::spawn(async move {
            let target = addr.clone();
            let result = tokio::task::spawn_blocking(move || transport.dial(&target))
                .await
                .unwrap_or_else(|error| {
                    Err(PluginError::internal(format!(
                        "the dial thread failed: {error}"
                    )))
                });
            let _ = done.send(DialDone {
                peer,
                attempt,
                addr,
                result,
            });
        });
    }

    pub(super) fn on_dial_done(&mut self, done: DialDone) {
        let DialDone {
            peer,
            attempt,
            addr,
            result,
        } = done;
        let wanted = self
            .connects
            .get(&peer)
            .is_some_and(|pending| pending.attempt == attempt);
        let id = match result {
            Ok(id) => id,
            Err(error) => {
                if wanted {
                    self.fail_connect(&peer, |_| PeerError::Dial {
                        peer,
                        addr: addr.clone(),
                        error: error.clone(),
                    });
                }
                return;
            }
        };
        if !wanted {
            // Cancelled, or the peer connected over another connection meanwhile.
            if self.connections.contains_key(&id) {
                self.end(
                    id,
                    Ending::with_goodbye(
                        DisconnectReason::Unneeded,
                        GoodbyeReason::Shutdown,
                        "connection no longer needed".into(),
                    ),
                );
            } else if !self.retired.contains_key(&id) {
                let _ = self.transport.close(id);
                self.intake.forget(id);
                self.retired
                    .insert(id, (Instant::now(), DisconnectReason::Unneeded));
            }
            return;
        }
        if let Some(pending) = self.connects.get_mut(&peer) {
            pending.connection = Some(id);
        }
        if let Some((_, reason)) = self.retired.get(&id) {
            let reason = reason.clone();
            self.fail_connect(&peer, |peer| {
                PeerError::from_handshake_end(peer, reason.clone())
            });
            return;
        }
        match self.connections.remove(&id) {
            Some(Connection {
                remote,
                opened,
                stage: Stage::Unclaimed { early },
                ..
            }) => self.start_session(id, Role::Dialer, remote, Some(peer), opened, early),
            Some(other) => {
                // A transport that reuses a live id broke its contract; keep what we have.
                tracing::warn!(connection = id, "dial returned a connection already in use");
                self.connections.insert(id, other);
            }
            None => self.start_session(id, Role::Dialer, addr, Some(peer), Instant::now(), vec![]),
        }
    }

    /// Answers every waiter of the connect to `peer` with the error `make` builds.
    pub(super) fn fail_connect(&mut self, peer: &NodeId, make: impl Fn(NodeId) -> PeerError) {
        if let Some(pending) = self.connects.remove(peer) {
            for waiter in pending.waiters {
                let _ = waiter.send(Err(make(*peer)));
            }
        }
    }

    pub(super) fn disconnect(&mut self, peer: NodeId) {
        if let Some(pending) = self.connects.remove(&peer) {
            for waiter in pending.waiters {
                let _ = waiter.send(Err(PeerError::from_handshake_end(
                    peer,
                    DisconnectReason::Local,
                )));
            }
            if let Some(id) = pending.connection {
                if self.connections.contains_key(&id) {
                    self.end(id, local_goodbye(DisconnectReason::Local));
                }
            }
        }
        if let Some(route) = self.routes.get(&peer) {
            self.end(route.connection, local_goodbye(DisconnectReason::Local));
        }
    }
}
