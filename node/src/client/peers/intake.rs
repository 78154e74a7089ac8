//! Where the transport's events enter the node, and the budget that bounds what each
//! connection's frames can make the node hold.
//!
//! Frames go from the transport's thread through the peer driver and the dispatcher to a
//! channel task, over queues that never block the sender (a blocked transport thread would
//! stall every peer, a blocked driver every connection). Instead of bounding each queue on its
//! own, [`Intake::admit`] bounds them together, per connection: every frame gets a [`Ticket`]
//! for its bytes, which travels with it (as the frame, then as the decoded message) and gives
//! them back when dropped, once the node is done with it. A frame that would take its
//! connection above its [`Budget`] is dropped with every later one, and the driver is told to
//! end the connection ([`Inbound::OverBudget`]): the peer sends faster than this node handles,
//! which an honest peer (one update in flight per channel) never does for long. So whatever
//! one peer has queued anywhere in the node stays below its budget, and the admission runs on
//! the transport's own thread, before anything is queued.
//!
//! A connection starts with the small handshake budget and gets the full one with the peer's
//! `Auth` frame, the last of its handshake. Waiting for the driver to verify it would race an
//! honest peer, which sends its channels' re-sync requests right behind its `Auth`; a forged
//! `Auth` gains nothing, since the driver ends that connection (and [`Intake::forget`]s it)
//! when it gets there, and anyone can authenticate with a fresh key anyway. What the handshake
//! budget stops is a stranger filling the node's queues without ever finishing a handshake.

use super::budget::{Budget, Overdraft, PeerLimits};
use crate::host::{EventRoute, SectionEvent};
use crate::wire::{MessageKind, HEADER_LEN};
use parley_plugin_api::model::{ConnectionId, PluginEvent, TransportEvent};
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

/// A transport event as the peer driver gets it.
#[derive(Debug)]
pub enum Inbound {
    /// See [`TransportEvent::Connected`].
    Connected {
        /// The connection.
        connection: ConnectionId,
        /// The peer's transport address, for logs.
        remote: String,
        /// Whether the peer dialed us.
        inbound: bool,
    },
    /// A frame, with its place in the connection's budget.
    Frame {
        /// The connection.
        connection: ConnectionId,
        /// The frame's bytes.
        frame: Vec<u8>,
        /// Given back when the node is done with the frame (or what it decoded to).
        ticket: Ticket,
    },
    /// See [`TransportEvent::Closed`].
    Closed {
        /// The connection.
        connection: ConnectionId,
        /// Why, as the transport says.
        reason: String,
    },
    /// The connection's frames went over its budget: that frame and every later one were
    /// dropped, so the connection must end. Sent once per connection.
    OverBudget {
        /// The connection.
        connection: ConnectionId,
        /// By how much.
        overdraft: Overdraft,
    },
}

/// Admits the transport's events into the node; cheap to clone, every clone shares the
/// accounts. See the module doc.
#[derive(Clone)]
pub struct Intake {
    shared: Arc<Shared>,
}

struct Shared {
    limits: PeerLimits,
    accounts: Mutex<HashMap<ConnectionId, Arc<Account>>>,
    queue: UnboundedSender<Inbound>,
}

/// One connection's frames in flight.
struct Account {
    frames: AtomicUsize,
    bytes: AtomicUsize,
    /// Whether the peer's `Auth` came: the full budget applies.
    past_handshake: AtomicBool,
    /// Set at the first overdraft: everything after is dropped.
    over: AtomicBool,
}

/// Whether `frame` is an `Auth` envelope: the peer's last handshake frame.
fn is_auth(frame: &[u8]) -> bool {
    frame.len() > HEADER_LEN && frame[HEADER_LEN - 1] == MessageKind::Auth.tag()
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Account {
    fn new() -> Account {
        Account {
            frames: AtomicUsize::new(0),
            bytes: AtomicUsize::new(0),
            past_handshake: AtomicBool::new(false),
            over: AtomicBool::new(false),
        }
    }

    /// Takes room for `frame` under `limits`, or says how far it would go over. Only the
    /// transport's thread takes (one emitting thread per connection), so the check and the
    /// add cannot be overtaken by another take; releases only make room.
    fn take(self: &Arc<Self>, frame: &[u8], limits: &PeerLimits) -> Result<Ticket, Overdraft> {
        if !self.past_handshake.load(Ordering::Acquire) && is_auth(frame) {
            self.past_handshake.store(true, Ordering::Release);
        }
        let past_handshake = self.past_handshake.load(Ordering::Acquire);
        let budget: Budget = if past_handshake {
            limits.budget()
        } else {
            limits.handshake_budget()
        };
        let len = frame.len();
        let frames = self.frames.load(Ordering::Acquire) + 1;
        let bytes = self.bytes.load(Ordering::Acquire) + len;
        if frames > budget.frames || bytes > budget.bytes {
            return Err(Overdraft::InFlight {
                frames,
                bytes,
                budget,
                authenticated: past_handshake,
            });
        }
        self.frames.fetch_add(1, Ordering::AcqRel);
        self.bytes.fetch_add(len, Ordering::AcqRel);
        Ok(Ticket(Some(Arc::new(Held {
            account: self.clone(),
            bytes: len,
        }))))
    }
}

impl Intake {
    /// An intake holding connections to `limits`, and the receiver the peer driver reads.
    pub fn new(limits: PeerLimits) -> (Intake, UnboundedReceiver<Inbound>) {
        let (queue, receiver) = unbounded_channel();
        let shared = Shared {
            limits,
            accounts: Mutex::new(HashMap::new()),
            queue,
        };
        (
            Intake {
                shared: Arc::new(shared),
            },
            receiver,
        )
    }

    /// Admits one event from the transport. Never blocks. Frames of a connection the intake
    /// does not know (never announced, or already ended) are dropped: the driver would drop
    /// them too.
    pub fn admit(&self, event: TransportEvent) {
        let inbound = match event {
            TransportEvent::Connected {
                connection,
                remote,
                inbound,
            } => {
                lock(&self.shared.accounts).insert(connection, Arc::new(Account::new()));
                Inbound::Connected {
                    connection,
                    remote,
                    inbound,
                }
            }
            TransportEvent::Frame { connection, frame } => {
                let account = lock(&self.shared.accounts).get(&connection).cloned();
                let Some(account) = account else { return };
                if account.over.load(Ordering::Acquire) {
                    return;
                }
                match account.take(&frame.0, &self.shared.limits) {
                    Ok(ticket) => Inbound::Frame {
                        connection,
                        frame: frame.0,
                        ticket,
                    },
                    Err(overdraft) => {
                        account.over.store(true, Ordering::Release);
                        Inbound::OverBudget {
                            connection,
                            overdraft,
                        }
                    }
                }
            }
            TransportEvent::Closed { connection, reason } => {
                self.forget(connection);
                Inbound::Closed { connection, reason }
            }
        };
        // A closed receiver means the peer driver stopped; nobody waits for the event.
        let _ = self.shared.queue.send(inbound);
    }

    /// The connection ended: its later frames are dropped. Tickets still out give their bytes
    /// back to nobody.
    pub fn forget(&self, connection: ConnectionId) {
        lock(&self.shared.accounts).remove(&connection);
    }

    /// What `connection` has in flight now, for tests.
    #[cfg(test)]
    pub fn in_flight(&self, connection: ConnectionId) -> Option<(usize, usize)> {
        lock(&self.shared.accounts).get(&connection).map(|account| {
            (
                account.frames.load(Ordering::Acquire),
                account.bytes.load(Ordering::Acquire),
            )
        })
    }
}

/// The wire section's transport events go through the intake when it is the node's plugin
/// event route; anything else a transport might emit is not the peers' business and dropped.
impl EventRoute for Intake {
    fn route(&self, event: SectionEvent) {
        if let PluginEvent::Transport(event) = event.event {
            self.admit(event);
        }
    }
}

/// A frame's place in its connection's budget, given back when the last clone is dropped.
/// Tickets compare equal whatever they hold: they are bookkeeping, not content.
#[derive(Clone, Default)]
pub struct Ticket(Option<Arc<Held>>);

struct Held {
    account: Arc<Account>,
    bytes: usize,
}

impl Drop for Held {
    fn drop(&mut self) {
        self.account.frames.fetch_sub(1, Ordering::AcqRel);
        self.account.bytes.fetch_sub(self.bytes, Ordering::AcqRel);
    }
}

impl Ticket {
    /// A ticket that holds nothing: for messages that never came through an intake (tests,
    /// messages the node makes itself).
    pub fn untracked() -> Ticket {
        Ticket(None)
    }
}

impl PartialEq for Ticket {
    fn eq(&self, _: &Ticket) -> bool {
        true
    }
}

impl Eq for Ticket {}

impl fmt::Debug for Ticket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Some(held) => write!(f, "Ticket({} bytes)", held.bytes),
            None => f.write_str("Ticket(untracked)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use parley_plugin_api::codec::Bytes;

    fn limits() -> PeerLimits {
        PeerLimits {
            handshake_frame: 100,
            frames_per_second: 1000,
            frames_in_flight: 3,
            bytes_in_flight: 1000,
            pending_handshakes: 64,
        }
    }

    fn connected(intake: &Intake, connection: ConnectionId) {
        intake.admit(TransportEvent::Connected {
            connection,
            remote: "test".into(),
            inbound: true,
        });
    }

    fn frame(intake: &Intake, connection: ConnectionId, len: usize) {
        intake.admit(TransportEvent::Frame {
            connection,
            frame: Bytes(vec![0; len]),
        });
    }

    /// The peer's `Auth` (the frame that ends its handshake), and its ticket dropped.
    fn auth(intake: &Intake, receiver: &mut UnboundedReceiver<Inbound>, connection: ConnectionId) {
        let mut frame = vec![0, 1, MessageKind::Auth.tag()];
        frame.resize(HEADER_LEN + 64, 0);
        intake.admit(TransportEvent::Frame {
            connection,
            frame: Bytes(frame),
        });
        assert!(tickets(receiver)[0].is_ok());
    }

    fn tickets(receiver: &mut UnboundedReceiver<Inbound>) -> Vec<Result<Ticket, Overdraft>> {
        std::iter::from_fn(|| receiver.try_recv().ok())
            .filter_map(|inbound| match inbound {
                Inbound::Frame { ticket, .. } => Some(Ok(ticket)),
                Inbound::OverBudget { overdraft, .. } => Some(Err(overdraft)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn frames_over_the_budget_end_the_connection_once_and_are_dropped() {
        let (intake, mut receiver) = Intake::new(limits());
        connected(&intake, 1);
        auth(&intake, &mut receiver, 1);
        for _ in 0..5 {
            frame(&intake, 1, 10);
        }
        let got = tickets(&mut receiver);
        assert_eq!(
            got.len(),
            4,
            "three frames, one overdraft, then nothing: {got:?}"
        );
        assert!(got[..3].iter().all(Result::is_ok));
        assert!(matches!(
            &got[3],
            Err(Overdraft::InFlight {
                frames: 4,
                authenticated: true,
                ..
            })
        ));
        assert_eq!(intake.in_flight(1), Some((3, 30)));
    }

    #[test]
    fn bytes_count_as_well_as_frames() {
        let (intake, mut receiver) = Intake::new(limits());
        connected(&intake, 1);
        auth(&intake, &mut receiver, 1);
        frame(&intake, 1, 600);
        frame(&intake, 1, 401);
        let got = tickets(&mut receiver);
        assert!(got[0].is_ok());
        assert!(matches!(
            &got[1],
            Err(Overdraft::InFlight { bytes: 1001, .. })
        ));
    }

    #[test]
    fn a_ticket_dropped_gives_its_room_back() {
        let (intake, mut receiver) = Intake::new(limits());
        connected(&intake, 1);
        auth(&intake, &mut receiver, 1);
        for _ in 0..3 {
            frame(&intake, 1, 10);
        }
        let mut got = tickets(&mut receiver);
        assert_eq!(intake.in_flight(1), Some((3, 30)));
        // A clone (the message in two places) holds the same room once.
        let clone = got[0].as_ref().unwrap().clone();
        drop(got.remove(0));
        assert_eq!(intake.in_flight(1), Some((3, 30)));
        drop(clone);
        assert_eq!(intake.in_flight(1), Some((2, 20)));
        frame(&intake, 1, 10);
        let last = tickets(&mut receiver);
        assert!(last[0].is_ok());
        drop(got);
        assert_eq!(intake.in_flight(1), Some((1, 10)));
        drop(last);
        assert_eq!(intake.in_flight(1), Some((0, 0)));
    }

    #[test]
    fn before_the_peers_auth_only_a_handshake_fits() {
        let (intake, mut receiver) = Intake::new(limits());
        connected(&intake, 1);
        // A frame of the handshake limit fits; the handshake budget holds eight of them.
        for _ in 0..8 {
            frame(&intake, 1, 100);
        }
        frame(&intake, 1, 1);
        let got = tickets(&mut receiver);
        assert_eq!(got.iter().filter(|t| t.is_ok()).count(), 8);
        assert!(matches!(
            got.last(),
            Some(Err(Overdraft::InFlight {
                authenticated: false,
                ..
            }))
        ));
    }

    #[test]
    fn frames_right_behind_the_auth_get_the_full_budget() {
        let mut limits = limits();
        limits.frames_in_flight = 100;
        let (intake, mut receiver) = Intake::new(limits);
        connected(&intake, 1);
        frame(&intake, 1, 70); // its hello
        auth(&intake, &mut receiver, 1);
        // Re-sync requests of many channels, before the driver has even seen the `Auth`.
        for _ in 0..50 {
            frame(&intake, 1, 10);
        }
        let got = tickets(&mut receiver);
        assert_eq!(got.len(), 50);
        assert!(got.iter().all(Result::is_ok));
    }

    #[test]
    fn each_connection_has_its_own_budget_and_ended_ones_are_forgotten() {
        let (intake, mut receiver) = Intake::new(limits());
        connected(&intake, 1);
        connected(&intake, 2);
        auth(&intake, &mut receiver, 1);
        auth(&intake, &mut receiver, 2);
        for _ in 0..4 {
            frame(&intake, 1, 10);
        }
        frame(&intake, 2, 10);
        let got = tickets(&mut receiver);
        assert_eq!(got.iter().filter(|t| t.is_ok()).count(), 4);
        intake.forget(2);
        assert_eq!(intake.in_flight(2), None);
        frame(&intake, 2, 10);
        frame(&intake, 9, 10);
        assert!(tickets(&mut receiver).is_empty());
        intake.admit(TransportEvent::Closed {
            connection: 1,
            reason: "gone".into(),
        });
        assert_eq!(intake.in_flight(1), None);
    }
}
