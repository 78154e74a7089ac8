//! Peers: the transport plugin turned into authenticated peers that exchange
//! [`ChannelMessage`]s (DESIGN §5).
//!
//! [`Peers::start`] spawns one driver task that owns every connection. For each transport
//! `Connected` it runs a [`Session`](crate::wire::Session) (inbound: listener, outbound:
//! dialer), feeds it every frame of that connection and sends what it returns. Until the
//! handshake has authenticated the peer, nothing from the connection reaches the node; after,
//! every message is reported with the connection's authenticated peer as its sender. A broken
//! rule closes the connection with a goodbye and one log line. Handshakes are bounded by
//! [`PeersConfig::handshake_timeout`]; open connections are probed by pings if configured.
//!
//! Every peer is held to its [`PeerLimits`] (`[limits]`): until it is authenticated the
//! transport holds any frame above `handshake_frame` and the [`Intake`] admits no more than a
//! handshake needs; after, what it has in flight anywhere in the node is bounded by the intake,
//! and its frame rate by the driver. A peer over a limit is disconnected
//! ([`DisconnectReason::OverBudget`]). Going the other way, a transport whose outbox for the
//! peer is full refuses the message; the connection is then ended too (a gap would break the
//! order of the messages after it) and re-synchronisation on reconnect restores what was lost.
//!
//! Rules the driver keeps:
//! - one authenticated connection per peer: when two nodes dial each other at once, both keep
//!   the same one ([`dedupe`]) and close the other without reporting a disconnect. A peer back
//!   from a restart (a new incarnation in its handshake) always replaces its old connection,
//!   which died with its earlier process. When the one kept is the older, it is probed at once
//!   and ended if it does not answer within [`PeersConfig::suspect_grace`]: it may have died
//!   without a word, and the peer's next dial must get through;
//! - `connect` proves the peer's identity: the dialed side's handshake must show the expected
//!   [`NodeId`], else [`PeerError::UnexpectedPeer`];
//! - per peer, [`PeerEvent`]s keep the order things happened: `Connected`, its messages in
//!   arrival order, `Disconnected`; `Connected` repeats when the route moves to a newer
//!   connection, and means "re-synchronise now" every time.
//!
//! What it is not: it does not reconnect on its own, route messages to channels, or persist
//! anything; the node's client does that on top of [`PeerEvent`]s.
//!
//! Files: [`config`] (settings), [`event`] and [`error`] (what callers see), [`dedupe`],
//! [`liveness`] and [`budget`] (pure decisions), [`intake`] (admitting the transport's
//! events), `driver` (the task), `connection` and `routes` (its state), [`router`] (the node's
//! route for plugin events).

pub mod budget;
pub mod config;
mod connection;
pub mod dedupe;
mod driver;
pub mod error;
pub mod event;
pub mod intake;
pub mod liveness;
pub mod router;
mod routes;

#[cfg(test)]
mod memory;
#[cfg(test)]
mod tests;

pub use budget::{Overdraft, PeerLimits};
pub use config::PeersConfig;
pub use error::PeerError;
pub use event::{ConnectedPeer, DisconnectReason, PeerEvent};
pub use intake::{Inbound, Intake, Ticket};
pub use router::{route_plugin_events, PluginEventRoute};

use crate::client::peer_names::PeerNames;
use crate::protocol::ChannelMessage;
use crate::wire::{GoodbyeReason, NodeId, NodeKey, Session, SessionError};
use driver::{Command, Driver, Inputs};
use parley_plugin_api::model::ConnectionId;
use parley_plugin_api::{ErrorKind, PluginError, Transport};
use routes::{lock, Announced, Routes};
use std::sync::Arc;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use tokio::sync::oneshot;

/// A handle on the peer manager; cheap to clone, and every clone drives the same peers. The
/// driver task stops (closing every connection) on [`Peers::shutdown`], when the last handle
/// is dropped, or when the transport's event stream ends.
#[derive(Clone)]
pub struct Peers {
    inner: Arc<Inner>,
}

struct Inner {
    own: NodeId,
    transport: Arc<dyn Transport>,
    routes: Arc<Routes>,
    announced: Announced,
    commands: UnboundedSender<Command>,
    /// What log lines call peers.
    names: PeerNames,
}

impl Peers {
    /// Starts the driver task for `transport`, whose events arrive through `intake` (made with
    /// `config.limits`, and handed to the transport's host as its event route, for a node by
    /// [`route_plugin_events`]) on `transport_events`. Returns the handle and the stream of
    /// [`PeerEvent`]s, which the caller must keep draining. Must be called inside a tokio
    /// runtime, before the transport listens or dials: new connections start limited to
    /// `config.limits.handshake_frame` from here on (a transport that cannot do this gets one
    /// warning, and the driver still closes a connection on such a frame once it arrives).
    pub fn start(
        key: NodeKey,
        transport: Arc<dyn Transport>,
        (intake, transport_events): (Intake, UnboundedReceiver<Inbound>),
        config: PeersConfig,
    ) -> (Peers, UnboundedReceiver<PeerEvent>) {
        let (events_tx, events_rx) = unbounded_channel();
        let (commands_tx, commands_rx) = unbounded_channel();
        let (dials_tx, dials_rx) = unbounded_channel();
        let routes = Arc::new(Routes::default());
        let transport_max = transport.max_frame_size();
        let handshake_frame = config.limits.handshake_frame.min(transport_max);
        match transport.set_initial_frame_limit(handshake_frame) {
            Ok(()) => {}
            Err(error) if error.kind == ErrorKind::Unsupported => tracing::warn!(
                "the transport cannot hold back large frames from peers that have not \
                 authenticated ({error}); each such connection can make this node buffer up to \
                 {transport_max} bytes before it is closed"
            ),
            Err(error) => tracing::warn!(
                "the transport refused the handshake frame limit of {handshake_frame} bytes: \
                 {error}"
            ),
        }
        let own = key.node_id();
        let announced = Announced::default();
        let names = config.names.clone();
        let driver = Driver::new(
            key,
            transport.clone(),
            intake,
            config,
            routes.clone(),
            announced.clone(),
            events_tx,
            dials_tx,
        );
        let inputs = Inputs {
            transport_events,
            commands: commands_rx,
        };
        tokio::spawn(driver.run(inputs, dials_rx));
        let inner = Inner {
            own,
            transport,
            routes,
            announced,
            commands: commands_tx,
            names,
        };
        (
            Peers {
                inner: Arc::new(inner),
            },
            events_rx,
        )
    }

    /// This node's id.
    pub fn node_id(&self) -> NodeId {
        self.inner.own
    }

    /// Starts accepting connections on `addr`; returns the address bound, which every later
    /// handshake announces to the peer (so that a peer we dial, or that dials us, learns where
    /// to dial back). Runs the transport's blocking `listen` off the async threads.
    pub async fn listen(&self, addr: &str) -> Result<String, PeerError> {
        let transport = self.inner.transport.clone();
        let target = addr.to_string();
        let bound = tokio::task::spawn_blocking(move || transport.listen(&target))
            .await
            .unwrap_or_else(|error| {
                Err(PluginError::internal(format!(
                    "the listen thread failed: {error}"
                )))
            })
            .map_err(|error| PeerError::Listen {
                addr: addr.to_string(),
                error,
            })?;
        self.inner.announced.set(bound.clone());
        Ok(bound)
    }

    /// Connects to `peer` at transport address `addr` and returns once the handshake proved
    /// that the node there is `peer`. Returns at once if `peer` is connected already; joins a
    /// connect to `peer` already in progress. Bounded by the transport's dial timeout plus
    /// the handshake timeout.
    pub async fn connect(&self, peer: NodeId, addr: &str) -> Result<(), PeerError> {
        if self.inner.routes.get(&peer).is_some() {
            return Ok(());
        }
        let (reply, answer) = oneshot::channel();
        self.command(Command::Connect {
            peer,
            addr: addr.to_string(),
            reply,
        })?;
        answer.await.map_err(|_| PeerError::Stopped)?
    }

    /// Sends `message` to the connected `peer`. Only queues it on the transport (never
    /// waits); messages to one peer are delivered in the order they were sent, unless the
    /// connection ends first. When the transport's outbox for the peer is full the message is
    /// not sent and the connection is ended (see the module doc).
    pub async fn send(&self, peer: NodeId, message: &ChannelMessage) -> Result<(), PeerError> {
        let route = self
            .inner
            .routes
            .get(&peer)
            .ok_or(PeerError::NotConnected(peer))?;
        let connection = route.connection;
        // Encoded and queued under the session's lock, so that once a send is refused for a
        // full outbox no later message goes out on the connection: the peer must never see a
        // gap in the order.
        let mut session = lock(&route.session);
        let frame = encode(&session, peer, message)?;
        self.inner
            .transport
            .send(connection, &frame)
            .map_err(|error| {
                if error.kind == ErrorKind::Unavailable {
                    session.close(GoodbyeReason::Shutdown, "");
                    tracing::warn!(peer = %self.inner.names.of(&peer), peer_id = %peer, connection, "ending the connection: {error}");
                    let reason = DisconnectReason::SendFailed(error.clone());
                    let _ = self.command(Command::End { connection, reason });
                }
                PeerError::Send { peer, error }
            })
    }

    /// The connection that is `peer`'s route, and `message` encoded as a frame for it (for a
    /// caller that sends it on the transport itself, such as a test tool).
    pub fn frame_for(
        &self,
        peer: NodeId,
        message: &ChannelMessage,
    ) -> Result<(ConnectionId, Vec<u8>), PeerError> {
        let route = self
            .inner
            .routes
            .get(&peer)
            .ok_or(PeerError::NotConnected(peer))?;
        let frame = encode(&lock(&route.session), peer, message)?;
        Ok((route.connection, frame))
    }

    /// Disconnects `peer` for going over its budget (telling it which limit), if connected.
    pub fn over_budget(&self, peer: NodeId, overdraft: Overdraft) {
        if let Some(route) = self.inner.routes.get(&peer) {
            let reason = DisconnectReason::OverBudget(overdraft);
            let _ = self.command(Command::End {
                connection: route.connection,
                reason,
            });
        }
    }

    /// Closes the connection to `peer` (with a goodbye) and cancels a connect to it in
    /// progress. A [`PeerEvent::Disconnected`] with [`DisconnectReason::Local`] follows if it
    /// was connected; when this returns, `peer` is no longer in [`Peers::connected`].
    pub async fn disconnect(&self, peer: NodeId) -> Result<(), PeerError> {
        let (reply, done) = oneshot::channel();
        self.command(Command::Disconnect { peer, reply })?;
        done.await.map_err(|_| PeerError::Stopped)
    }

    /// The authenticated peers, in id order.
    pub fn connected(&self) -> Vec<NodeId> {
        self.inner.routes.peers()
    }

    /// The authenticated peers with their connections, in id order.
    pub fn connections(&self) -> Vec<ConnectedPeer> {
        self.inner
            .routes
            .all()
            .into_iter()
            .map(|(node_id, route)| ConnectedPeer {
                node_id,
                inbound: route.inbound,
                remote: route.remote,
                listen_address: Some(route.listen_address).filter(|a| !a.is_empty()),
            })
            .collect()
    }

    /// The connection of `peer`, if it is connected.
    pub fn connection(&self, peer: &NodeId) -> Option<ConnectedPeer> {
        let route = self.inner.routes.get(peer)?;
        Some(ConnectedPeer {
            node_id: *peer,
            inbound: route.inbound,
            remote: route.remote,
            listen_address: Some(route.listen_address).filter(|a| !a.is_empty()),
        })
    }

    /// Whether `peer` has an authenticated connection.
    pub fn is_connected(&self, peer: &NodeId) -> bool {
        self.inner.routes.get(peer).is_some()
    }

    /// Closes every connection (peers get a goodbye; a `Disconnected` is reported for each)
    /// and stops the driver. Later calls fail with [`PeerError::Stopped`].
    pub async fn shutdown(&self) {
        let (reply, done) = oneshot::channel();
        if self.command(Command::Shutdown { reply }).is_ok() {
            let _ = done.await;
        }
    }

    fn command(&self, command: Command) -> Result<(), PeerError> {
        self.inner
            .commands
            .send(command)
            .map_err(|_| PeerError::Stopped)
    }

    /// The transport connection that is `peer`'s route, for tests that check which one of a
    /// duplicate pair survived.
    #[cfg(test)]
    pub(crate) fn connection_of(
        &self,
        peer: &NodeId,
    ) -> Option<parley_plugin_api::model::ConnectionId> {
        self.inner.routes.get(peer).map(|route| route.connection)
    }
}

/// `message` as a frame of `session`, whose peer is `peer`.
fn encode(
    session: &Session<ChannelMessage>,
    peer: NodeId,
    message: &ChannelMessage,
) -> Result<Vec<u8>, PeerError> {
    session
        .encode_channel(message)
        .map_err(|error| match error {
            SessionError::OutgoingTooLarge { size, max } => {
                PeerError::MessageTooLarge { size, max }
            }
            // The driver closed the session after the route was read.
            _ => PeerError::NotConnected(peer),
        })
}
