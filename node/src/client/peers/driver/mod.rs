//! The driver task: the one owner of every connection's state. It turns transport events into
//! session steps, runs dials, enforces the handshake deadline, the ping schedule and each
//! peer's budget (frame size before the handshake, frames per second; the intake reports
//! frames in flight), and keeps the route table that handles send through.
//!
//! Everything happens on one task in the order events arrive, so a peer's `Connected`, its
//! messages and its `Disconnected` reach the event channel in the order they happened.

mod dials;

use super::budget::{FrameRate, Overdraft};
use super::connection::{Connection, Stage, MAX_EARLY_FRAMES};
use super::dedupe::{resolve_duplicate, Candidate, Keep};
use super::error::PeerError;
use super::event::{DisconnectReason, PeerEvent};
use super::intake::{Inbound, Intake, Ticket};
use super::liveness::{Liveness, Probe};
use super::routes::{lock, Announced, Route, Routes};
use super::PeersConfig;
use crate::client::peer_names::PeerNames;
use crate::protocol::ChannelMessage;
use crate::wire::{
    encode_frame, Goodbye, GoodbyeReason, Incarnation, KeyError, NodeId, NodeKey, Role, Session,
    SessionError, SessionEvent, WireError, WireMessage,
};
use parley_plugin_api::model::ConnectionId;
use parley_plugin_api::{ErrorKind, Transport};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};
use tokio::sync::oneshot;
use tokio::time::MissedTickBehavior;

use dials::PendingConnect;
pub(super) use dials::{ConnectReply, DialDone};

/// How long the id of an ended connection is remembered, so that a `Connected` event or a dial
/// result that arrives after the end does not bring it back. Transport ids are never reused.
const RETIRED_MEMORY: Duration = Duration::from_secs(60);

/// What a handle asks the driver to do.
pub(super) enum Command {
    /// Connect to `peer` at `addr` unless connected; answer once it is authenticated.
    Connect {
        peer: NodeId,
        addr: String,
        reply: ConnectReply,
    },
    /// Close every connection to `peer` and cancel a connect in progress.
    Disconnect {
        peer: NodeId,
        reply: oneshot::Sender<()>,
    },
    /// End `connection` (if it is still open) for `reason`: its peer broke a limit, or its
    /// outbox refused a message.
    End {
        connection: ConnectionId,
        reason: DisconnectReason,
    },
    /// Close everything and stop.
    Shutdown { reply: oneshot::Sender<()> },
}

/// How a connection ends.
struct Ending {
    reason: DisconnectReason,
    /// What to tell the peer first; `None` when it said goodbye itself or is already gone.
    goodbye: Option<Goodbye>,
    /// Whether to close it on the transport (not when the transport reported it closed).
    close: bool,
}

impl Ending {
    /// We end it: say `goodbye` and close.
    fn with_goodbye(reason: DisconnectReason, goodbye: GoodbyeReason, detail: String) -> Ending {
        Ending {
            reason,
            goodbye: Some(Goodbye::new(goodbye, detail)),
            close: true,
        }
    }

    /// We close it without a word (the peer already left, or cannot be told).
    fn silent(reason: DisconnectReason) -> Ending {
        Ending {
            reason,
            goodbye: None,
            close: true,
        }
    }
}

/// The driver's state.
pub(super) struct Driver {
    key: NodeKey,
    /// This run's incarnation, the first half of every handshake nonce we send; drawn at the
    /// first connection.
    incarnation: Option<Incarnation>,
    transport: Arc<dyn Transport>,
    /// Where frames are admitted; told when a connection ends.
    intake: Intake,
    config: PeersConfig,
    max_frame_size: usize,
    routes: Arc<Routes>,
    /// Where our hellos say we listen.
    announced: Announced,
    connections: HashMap<ConnectionId, Connection>,
    connects: HashMap<NodeId, PendingConnect>,
    /// Ended connections: when, and why (a late dial result for one fails its connect).
    retired: HashMap<ConnectionId, (Instant, DisconnectReason)>,
    next_attempt: u64,
    events: UnboundedSender<PeerEvent>,
    dials: UnboundedSender<DialDone>,
}

/// The driver's inputs.
pub(super) struct Inputs {
    pub transport_events: UnboundedReceiver<Inbound>,
    pub commands: UnboundedReceiver<Command>,
}

impl Driver {
    // Each argument is one distinct part the driver owns or shares; a struct bundling them
    // would only be this list again, built in the one place that calls it.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn new(
        key: NodeKey,
        transport: Arc<dyn Transport>,
        intake: Intake,
        config: PeersConfig,
        routes: Arc<Routes>,
        announced: Announced,
        events: UnboundedSender<PeerEvent>,
        dials: UnboundedSender<DialDone>,
    ) -> Driver {
        let max_frame_size = config.max_frame_size.min(transport.max_frame_size());
        Driver {
            key,
            incarnation: None,
            transport,
            intake,
            config,
            max_frame_size,
            routes,
            announced,
            connections: HashMap::new(),
            connects: HashMap::new(),
            retired: HashMap::new(),
            next_attempt: 0,
            events,
            dials,
        }
    }

    /// Runs until shutdown, until every handle is dropped, or until the transport's event
    /// stream ends; then closes every connection.
    pub(super) async fn run(
        mut self,
        mut inputs: Inputs,
        mut dial_results: UnboundedReceiver<DialDone>,
    ) {
        let mut tick = tokio::time::interval(self.config.tick());
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                event = inputs.transport_events.recv() => match event {
                    Some(event) => self.on_transport_event(event),
                    None => break,
                },
                Some(done) = dial_results.recv() => self.on_dial_done(done),
                command = inputs.commands.recv() => match command {
                    Some(command) => {
                        if self.on_command(command) {
                            return;
                        }
                    }
                    None => break,
                },
                _ = tick.tick() => self.on_tick(Instant::now()),
            }
        }
        self.stop();
    }

    fn on_transport_event(&mut self, event: Inbound) {
        match event {
            Inbound::Connected {
                connection,
                remote,
                inbound,
            } => self.on_connected(connection, remote, inbound),
            Inbound::Frame {
                connection,
                frame,
                ticket,
            } => self.on_frame(connection, frame, ticket),
            Inbound::OverBudget {
                connection,
                overdraft,
            } => self.over_budget(connection, overdraft),
            Inbound::Closed { connection, reason } => {
                if self.connections.contains_key(&connection) {
                    self.end(
                        connection,
                        Ending {
                            reason: DisconnectReason::TransportClosed(reason),
                            goodbye: None,
                            close: false,
                        },
                    );
                }
            }
        }
    }

    fn on_connected(&mut self, id: ConnectionId, remote: String, inbound: bool) {
        if self.connections.contains_key(&id) || self.retired.contains_key(&id) {
            // Our dial returned first and claimed it, or it already ended.
            return;
        }
        if inbound {
            if self.pending_handshakes() >= self.config.limits.pending_handshakes {
                self.refuse_busy(id, remote);
                return;
            }
            self.start_session(id, Role::Listener, remote, None, Instant::now(), vec![]);
        } else {
            // Our own dial, most likely, but which peer it was for is only known when the dial
            // returns: until then frames wait (see `on_dial_done`).
            let connection = Connection {
                role: Role::Dialer,
                remote,
                opened: Instant::now(),
                stage: Stage::Unclaimed { early: vec![] },
            };
            self.connections.insert(id, connection);
        }
    }

    /// Starts the handshake on a connection (replacing an unclaimed entry), sends our hello,
    /// then feeds the frames that arrived before.
    fn start_session(
        &mut self,
        id: ConnectionId,
        role: Role,
        remote: String,
        expected: Option<NodeId>,
        opened: Instant,
        early: Vec<(Vec<u8>, Ticket)>,
    ) {
        let nonce = match self
            .incarnation()
            .and_then(|incarnation| incarnation.nonce())
        {
            Ok(nonce) => nonce,
            Err(error) => {
                // No session can start: end it like a connection that never got one.
                let stage = Stage::Unclaimed { early: vec![] };
                let connection = Connection {
                    role,
                    remote,
                    opened,
                    stage,
                };
                self.connections.insert(id, connection);
                let reason = DisconnectReason::Random(error.to_string());
                self.end(id, Ending::silent(reason.clone()));
                // `end` fails the connect of a connection with a session only.
                if let Some(peer) = expected {
                    self.fail_connect(&peer, |peer| {
                        PeerError::from_handshake_end(peer, reason.clone())
                    });
                }
                return;
            }
        };
        let (session, hello) = Session::<ChannelMessage>::announcing(
            role,
            &self.key,
            nonce,
            expected,
            self.announced.current(),
            self.max_frame_size,
        );
        let stage = Stage::Handshaking {
            session: Arc::new(Mutex::new(session)),
            expected,
        };
        let connection = Connection {
            role,
            remote,
            opened,
            stage,
        };
        self.connections.insert(id, connection);
        if !self.send_frames(id, hello) {
            return;
        }
        for (frame, ticket) in early {
            if !self.connections.contains_key(&id) {
                break;
            }
            self.on_frame(id, frame, ticket);
        }
    }

    /// Inbound connections still in their handshake.
    fn pending_handshakes(&self) -> usize {
        self.connections
            .values()
            .filter(|c| c.role == Role::Listener && matches!(c.stage, Stage::Handshaking { .. }))
            .count()
    }

    /// Closes a new inbound connection at once because too many others are in their
    /// handshake: nothing of it is held, and the goodbye tells an honest dialer to try again.
    fn refuse_busy(&mut self, id: ConnectionId, remote: String) {
        let overdraft = Overdraft::PendingHandshakes {
            max: self.config.limits.pending_handshakes,
        };
        let detail = format!("over this node's budget: {overdraft}");
        self.connections.insert(
            id,
            Connection {
                role: Role::Listener,
                remote,
                opened: Instant::now(),
                stage: Stage::Unclaimed { early: vec![] },
            },
        );
        self.end(
            id,
            Ending::with_goodbye(
                DisconnectReason::OverBudget(overdraft),
                GoodbyeReason::Shutdown,
                detail,
            ),
        );
    }

    /// Ends a connection whose peer broke one of its limits, telling it which.
    fn over_budget(&mut self, id: ConnectionId, overdraft: Overdraft) {
        if self.connections.contains_key(&id) {
            let detail = format!("over this node's budget for a peer: {overdraft}");
            self.end(
                id,
                Ending::with_goodbye(
                    DisconnectReason::OverBudget(overdraft),
                    GoodbyeReason::ProtocolViolation,
                    detail,
                ),
            );
        }
    }

    /// This run's incarnation (see `Incarnation`), drawn from the OS random source once.
    fn incarnation(&mut self) -> Result<Incarnation, KeyError> {
        if let Some(incarnation) = self.incarnation {
            return Ok(incarnation);
        }
        let incarnation = Incarnation::random()?;
        self.incarnation = Some(incarnation);
        Ok(incarnation)
    }

    /// Sends `frames` in order; on a refusal ends the connection and returns `false`.
    fn send_frames(&mut self, id: ConnectionId, frames: Vec<Vec<u8>>) -> bool {
        for frame in frames {
            if let Err(error) = self.transport.send(id, &frame) {
                self.end(id, Ending::silent(DisconnectReason::SendFailed(error)));
                return false;
            }
        }
        true
    }

    fn on_frame(&mut self, id: ConnectionId, frame: Vec<u8>, ticket: Ticket) {
        let Some(connection) = self.connections.get_mut(&id) else {
            return; // a frame that was in flight when we ended the connection
        };
        let handshake_frame = self.config.limits.handshake_frame;
        if !connection.is_open() && frame.len() > handshake_frame {
            // The transport holds such frames until the peer is authenticated; one that
            // cannot (a transport without frame limits) still gets no further than this.
            let error = SessionError::Frame(WireError::FrameTooLarge {
                size: frame.len(),
                max: handshake_frame,
            });
            let goodbye = error.goodbye();
            let reason = DisconnectReason::Protocol(error);
            return self.end(
                id,
                Ending {
                    reason,
                    goodbye,
                    close: true,
                },
            );
        }
        let session = match &mut connection.stage {
            Stage::Unclaimed { early } => {
                early.push((frame, ticket));
                let count = early.len();
                if count > MAX_EARLY_FRAMES {
                    self.end(
                        id,
                        Ending::with_goodbye(
                            DisconnectReason::EarlyFrames(count),
                            GoodbyeReason::ProtocolViolation,
                            "too many frames before the handshake".into(),
                        ),
                    );
                }
                return;
            }
            Stage::Handshaking { session, .. } => session.clone(),
            Stage::Open { session, rate, .. } => {
                if !rate.take(Instant::now()) {
                    let per_second = self.config.limits.frames_per_second;
                    return self.over_budget(id, Overdraft::Rate { per_second });
                }
                session.clone()
            }
        };
        let step = lock(&session).on_frame(&frame);
        match step {
            Ok(SessionEvent::Send(frames)) => {
                self.send_frames(id, frames);
            }
            Ok(SessionEvent::Authenticated { peer, send }) => {
                if self.send_frames(id, send) {
                    self.on_authenticated(id, peer);
                }
            }
            Ok(SessionEvent::Channel { from, message }) => {
                let _ = self.events.send(PeerEvent::Message {
                    from,
                    message,
                    ticket,
                });
            }
            Ok(SessionEvent::Pong { nonce }) => {
                if let Some(Connection {
                    stage: Stage::Open { liveness, .. },
                    ..
                }) = self.connections.get_mut(&id)
                {
                    liveness.on_pong(nonce);
                }
            }
            Ok(SessionEvent::PeerClosed(goodbye)) => {
                self.end(id, Ending::silent(DisconnectReason::PeerGoodbye(goodbye)));
            }
            Err(error) => {
                let goodbye = error.goodbye();
                self.end(
                    id,
                    Ending {
                        reason: DisconnectReason::Protocol(error),
                        goodbye,
                        close: true,
                    },
                );
            }
        }
    }

    /// The handshake on `id` proved `peer`: register the connection, or settle a duplicate.
    fn on_authenticated(&mut self, id: ConnectionId, peer: NodeId) {
        let Some(connection) = self.connections.get_mut(&id) else {
            return;
        };
        let Stage::Handshaking { session, .. } = &connection.stage else {
            return;
        };
        let session = session.clone();
        let Some(incarnation) = lock(&session).peer_incarnation() else {
            return; // a session reports `Authenticated` only once it knows the peer's
        };
        let role = connection.role;
        let remote = connection.remote.clone();
        let now = Instant::now();
        let liveness = Liveness::new(now, self.config.ping_interval, self.config.max_missed_pongs);
        connection.stage = Stage::Open {
            session: session.clone(),
            peer,
            incarnation,
            liveness,
            rate: FrameRate::new(self.config.limits.frames_per_second, now),
        };
        // The peer has proven who it is: the transport may now take its large frames. Up to
        // its own maximum, not the session's: a frame above the session's is then read and
        // refused with a goodbye at once, where a held one would stall the connection.
        let limit = self.transport.max_frame_size();
        match self.transport.set_frame_limit(id, limit) {
            Ok(()) => {}
            // Warned about once at start; the node's own check above still applies.
            Err(error) if error.kind == ErrorKind::Unsupported => {}
            Err(error) => {
                tracing::debug!(connection = id, "cannot raise the frame limit: {error}")
            }
        }
        let listen_address = lock(&session)
            .peer_listen_address()
            .unwrap_or_default()
            .to_owned();
        let route = Route {
            connection: id,
            session,
            inbound: role == Role::Listener,
            remote: remote.clone(),
            listen_address,
        };
        let Some(existing) = self.routes.get(&peer) else {
            tracing::info!(connection = id, peer = %self.config.names.of(&peer), peer_id = %peer, remote, "peer connected");
            self.routes.insert(peer, route);
            let _ = self.events.send(PeerEvent::Connected(peer));
            self.answer_connects(peer);
            return;
        };
        let incoming = Candidate { role, incarnation };
        let kept = match self.connections.get(&existing.connection) {
            Some(Connection {
                role,
                stage: Stage::Open { incarnation, .. },
                ..
            }) => Candidate {
                role: *role,
                incarnation: *incarnation,
            },
            // The route's connection is gone already: anything replaces it.
            _ => incoming,
        };
        let own = self.key.node_id();
        match resolve_duplicate(own, peer, kept, incoming) {
            Keep::Existing => {
                self.end(
                    id,
                    duplicate("duplicate connection: keeping the earlier one"),
                );
                // The peer did not restart (same incarnation), but the connection we keep may
                // have died without a word while the peer noticed and dialed again: probe it
                // now, so that the peer's next dial gets through soon if it is dead.
                self.suspect(existing.connection);
            }
            Keep::Incoming => {
                // Re-routed before the old one ends, so its end is not a disconnect.
                if kept.incarnation != incarnation {
                    tracing::info!(connection = id, peer = %self.config.names.of(&peer), peer_id = %peer, remote, "peer restarted (a new incarnation); its new connection replaces the old one");
                } else {
                    tracing::info!(connection = id, peer = %self.config.names.of(&peer), peer_id = %peer, remote, "peer connected again; the newer connection replaces the older");
                }
                self.routes.insert(peer, route);
                self.end(
                    existing.connection,
                    duplicate("duplicate connection: keeping the newer one"),
                );
                // The peer may have restarted and lost what the old connection carried:
                // listeners re-synchronise on this.
                let _ = self.events.send(PeerEvent::Connected(peer));
            }
        }
        self.answer_connects(peer);
    }

    /// Whoever waits to reach `peer` has it now, over whichever connection got there first.
    /// Called once the route is in place, so that a waiter's next send finds it.
    fn answer_connects(&mut self, peer: NodeId) {
        if let Some(pending) = self.connects.remove(&peer) {
            for waiter in pending.waiters {
                let _ = waiter.send(Ok(()));
            }
        }
    }

    /// Probes an open connection that a newer one from its peer makes doubtful (see
    /// [`Liveness::suspect`]); `on_tick` ends it if the probe goes unanswered.
    fn suspect(&mut self, id: ConnectionId) {
        let Some(Connection {
            stage: Stage::Open {
                session, liveness, ..
            },
            ..
        }) = self.connections.get_mut(&id)
        else {
            return;
        };
        let Some(nonce) = liveness.suspect(Instant::now(), self.config.suspect_grace) else {
            return; // probed already; the first deadline stands
        };
        let ping = lock(session).encode_ping(nonce);
        tracing::debug!(
            connection = id,
            "the peer connected again: probing the connection kept"
        );
        if let Ok(frame) = ping {
            self.send_frames(id, vec![frame]);
        }
    }

    /// Carries out a handle's command; returns whether the driver must stop.
    fn on_command(&mut self, command: Command) -> bool {
        match command {
            Command::Connect { peer, addr, reply } => self.connect(peer, addr, reply),
            Command::Disconnect { peer, reply } => {
                self.disconnect(peer);
                let _ = reply.send(());
            }
            Command::End { connection, reason } => {
                if let DisconnectReason::OverBudget(overdraft) = reason {
                    self.over_budget(connection, overdraft);
                } else if self.connections.contains_key(&connection) {
                    self.end(connection, Ending::silent(reason));
                }
            }
            Command::Shutdown { reply } => {
                self.stop();
                let _ = reply.send(());
                return true;
            }
        }
        false
    }

    /// Closes every connection (peers get a `Shutdown` goodbye) and fails pending connects.
    fn stop(&mut self) {
        let mut ids: Vec<ConnectionId> = self.connections.keys().copied().collect();
        ids.sort_unstable();
        for id in ids {
            self.end(id, local_goodbye(DisconnectReason::Shutdown));
        }
        for (_, pending) in self.connects.drain() {
            for waiter in pending.waiters {
                let _ = waiter.send(Err(PeerError::Stopped));
            }
        }
    }

    fn on_tick(&mut self, now: Instant) {
        let timeout = self.config.handshake_timeout;
        let grace = self.config.suspect_grace;
        let mut expired = Vec::new();
        let mut pings = Vec::new();
        let mut dead = Vec::new();
        for (&id, connection) in self.connections.iter_mut() {
            match &mut connection.stage {
                Stage::Open {
                    liveness, session, ..
                } => match liveness.on_tick(now) {
                    Probe::Wait => {}
                    Probe::Ping(nonce) => pings.push((id, session.clone(), nonce)),
                    Probe::Dead { missed } => dead.push((
                        id,
                        DisconnectReason::LivenessTimeout { missed },
                        format!("{missed} pings unanswered"),
                    )),
                    Probe::SuspectUnanswered => dead.push((
                        id,
                        DisconnectReason::SuspectTimeout(grace),
                        format!("ping unanswered for {} ms", grace.as_millis()),
                    )),
                },
                Stage::Unclaimed { .. } | Stage::Handshaking { .. } => {
                    if now.saturating_duration_since(connection.opened) >= timeout {
                        expired.push(id);
                    }
                }
            }
        }
        for id in expired {
            self.end(
                id,
                Ending::with_goodbye(
                    DisconnectReason::HandshakeTimeout(timeout),
                    GoodbyeReason::Timeout,
                    format!("no handshake within {} ms", timeout.as_millis()),
                ),
            );
        }
        for (id, reason, detail) in dead {
            self.end(
                id,
                Ending::with_goodbye(reason, GoodbyeReason::Timeout, detail),
            );
        }
        for (id, session, nonce) in pings {
            let ping = lock(&session).encode_ping(nonce);
            if let Ok(frame) = ping {
                self.send_frames(id, vec![frame]);
            }
        }
        self.retired
            .retain(|_, (at, _)| now.saturating_duration_since(*at) < RETIRED_MEMORY);
    }

    /// Ends a connection: one log line, the goodbye if any, the transport close, the route
    /// and the peer's `Disconnected` (only if it was the peer's route), and a failed connect
    /// if this was the dialed connection of one.
    fn end(&mut self, id: ConnectionId, ending: Ending) {
        let Some(connection) = self.connections.remove(&id) else {
            return;
        };
        let Ending {
            reason,
            goodbye,
            close,
        } = ending;
        log_end(id, &connection, &reason, &self.config.names);
        self.intake.forget(id);
        let frame = match (goodbye, connection.session()) {
            (Some(goodbye), Some(session)) => {
                Some(lock(session).close(goodbye.reason, goodbye.detail))
            }
            (Some(goodbye), None) => Some(encode_frame::<ChannelMessage>(&WireMessage::Goodbye(
                goodbye,
            ))),
            (None, Some(session)) => {
                // Nothing to send, but handles must not encode on it any more.
                lock(session).close(GoodbyeReason::Shutdown, "");
                None
            }
            (None, None) => None,
        };
        if let Some(frame) = frame {
            let _ = self.transport.send(id, &frame);
        }
        if close {
            let _ = self.transport.close(id);
        }
        self.retired.insert(id, (Instant::now(), reason.clone()));
        match connection.stage {
            Stage::Open { peer, .. } => {
                if self.routes.remove_if(&peer, id) {
                    let _ = self.events.send(PeerEvent::Disconnected(peer, reason));
                }
            }
            Stage::Handshaking {
                expected: Some(peer),
                ..
            } => {
                let dialed_here = self
                    .connects
                    .get(&peer)
                    .is_some_and(|pending| pending.connection == Some(id));
                if dialed_here {
                    self.fail_connect(&peer, |peer| {
                        PeerError::from_handshake_end(peer, reason.clone())
                    });
                }
            }
            Stage::Handshaking { expected: None, .. } | Stage::Unclaimed { .. } => {}
        }
    }
}

/// The end of the connection `dedupe` did not keep.
fn duplicate(detail: &str) -> Ending {
    Ending::with_goodbye(
        DisconnectReason::Duplicate,
        GoodbyeReason::Shutdown,
        detail.into(),
    )
}

/// An orderly close by this node.
fn local_goodbye(reason: DisconnectReason) -> Ending {
    let detail = reason.to_string();
    Ending::with_goodbye(reason, GoodbyeReason::Shutdown, detail)
}

/// The one log line for a connection's end.
fn log_end(
    id: ConnectionId,
    connection: &Connection,
    reason: &DisconnectReason,
    names: &PeerNames,
) {
    let hint = connection.peer_hint();
    let peer = hint.map_or_else(
        || "unauthenticated".to_string(),
        |peer| names.of(&peer).to_string(),
    );
    let peer_id = hint.map(|peer| peer.to_string()).unwrap_or_default();
    let remote = connection.remote.as_str();
    let authenticated = connection.is_open();
    match reason {
        // A refusal while busy is no fault of this peer, and a flood of them must not flood
        // the log either.
        DisconnectReason::Duplicate
        | DisconnectReason::Unneeded
        | DisconnectReason::OverBudget(Overdraft::PendingHandshakes { .. }) => {
            tracing::debug!(
                connection = id,
                peer,
                peer_id,
                remote,
                authenticated,
                "connection closed: {reason}"
            )
        }
        reason if reason.is_fault() => {
            tracing::warn!(
                connection = id,
                peer,
                peer_id,
                remote,
                authenticated,
                "connection closed: {reason}"
            )
        }
        reason => {
            tracing::info!(
                connection = id,
                peer,
                peer_id,
                remote,
                authenticated,
                "connection closed: {reason}"
            )
        }
    }
}
