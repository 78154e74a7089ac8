//! The transport suite: two instances, A and B, each with its own [`TestHost`], talk over the
//! loopback interface. A dials, B listens. Every wait is bounded, so a broken transport fails
//! checks instead of hanging the suite; a run against a working transport takes a few seconds
//! (most of it the check of an unreachable port, bounded by the transport's connect timeout).
//!
//! Beyond the events a check waits for, every event is screened as it arrives: a second
//! `Closed` for a connection, a frame after its `Closed`, or a `Closed` for a connection this
//! side closed itself fails whichever check is waiting.

use super::{call, Factory, Report, TestHost};
use crate::ensure;
use crate::model::{ConnectionId, PluginEvent, TransportEvent};
use crate::Transport;
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::net::{SocketAddr, UdpSocket};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

/// The longest any single wait lasts.
const WAIT: Duration = Duration::from_secs(10);

/// The largest frame the suite sends, whatever the transport allows.
const LARGEST_CHECKED_FRAME: usize = 8 << 20;

/// The frame limit the held-frames check gives B's new connections.
const HELD_LIMIT: usize = 1024;

/// The size of the frames the held-frames check piles up (or `max_frame_size` if smaller).
const PILED_FRAME: usize = 64 * 1024;

/// How much the held-frames check queues at most before it calls the outbox unbounded.
const MOST_QUEUED: usize = 1 << 30;

/// Runs the transport suite against fresh instances from `new`.
pub fn run(new: &Factory<'_, Box<dyn Transport>>) -> Report {
    let mut report = Report::default();
    let (a, b) = match (Peer::start("A", new), Peer::start("B", new)) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => {
            report.check("transport: an instance starts from the factory", || Err(e));
            return report;
        }
    };
    let suite = Suite {
        a,
        b,
        listen_addr: None,
        first: None,
        second: None,
        third: None,
        held: None,
    };
    suite.run(&mut report);
    report
}

/// One instance under test and what its host received. The transport is declared before the
/// host so that it is dropped first.
struct Peer {
    name: &'static str,
    /// Shared so that a dial can run on a helper thread with a deadline.
    transport: Arc<dyn Transport>,
    host: TestHost,
    /// Every connection a `Closed` event arrived for.
    closed: RefCell<HashSet<ConnectionId>>,
    /// Connections this side closed itself, which must get no `Closed` event here.
    closed_here: RefCell<HashSet<ConnectionId>>,
}

/// A connection as both ends number it.
#[derive(Clone, Copy)]
struct Pair {
    a: ConnectionId,
    b: ConnectionId,
}

struct Suite {
    a: Peer,
    b: Peer,
    listen_addr: Option<String>,
    first: Option<Pair>,
    second: Option<Pair>,
    third: Option<Pair>,
    /// The connection the frame-limit check held frames on.
    held: Option<Pair>,
}

impl Peer {
    fn start(name: &'static str, new: &Factory<'_, Box<dyn Transport>>) -> Result<Self, String> {
        let host = TestHost::new("wire");
        let transport = call(&format!("creating transport {name}"), new(host.context()))?;
        Ok(Peer {
            name,
            transport: Arc::from(transport),
            host,
            closed: RefCell::new(HashSet::new()),
            closed_here: RefCell::new(HashSet::new()),
        })
    }

    /// The next transport event before `deadline`, screened for contract breaches.
    fn next(&self, deadline: Instant, waiting_for: &str) -> Result<TransportEvent, String> {
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let event = self
                .host
                .next_event(left)
                .ok_or_else(|| format!("{} saw no {waiting_for} within {WAIT:?}", self.name))?;
            let PluginEvent::Transport(event) = event else {
                continue;
            };
            match &event {
                TransportEvent::Closed { connection, .. } => {
                    ensure!(
                        !self.closed_here.borrow().contains(connection),
                        "{} got Closed for connection {connection}, which it closed itself",
                        self.name
                    );
                    ensure!(
                        self.closed.borrow_mut().insert(*connection),
                        "{} got a second Closed for connection {connection}",
                        self.name
                    );
                }
                TransportEvent::Frame { connection, .. } => {
                    ensure!(
                        !self.closed.borrow().contains(connection),
                        "{} got a frame on connection {connection} after its Closed",
                        self.name
                    );
                }
                TransportEvent::Connected { .. } => {}
            }
            return Ok(event);
        }
    }

    /// Waits for `Connected`, returning the connection and its direction.
    fn connected(&self) -> Result<(ConnectionId, bool), String> {
        let deadline = Instant::now() + WAIT;
        loop {
            if let TransportEvent::Connected {
                connection,
                inbound,
                ..
            } = self.next(deadline, "Connected event")?
            {
                return Ok((connection, inbound));
            }
        }
    }

    /// Waits until `Closed` was seen for every one of `connections` (also if it arrived
    /// during an earlier wait).
    fn closed(&self, connections: &[ConnectionId]) -> Result<(), String> {
        let deadline = Instant::now() + WAIT;
        loop {
            let missing: Vec<ConnectionId> = connections
                .iter()
                .copied()
                .filter(|c| !self.closed.borrow().contains(c))
                .collect();
            if missing.is_empty() {
                return Ok(());
            }
            self.next(
                deadline,
                &format!("Closed event for connection(s) {missing:?}"),
            )?;
        }
    }

    /// Waits until exactly `expected[c]` arrived on each connection `c`, in order.
    fn receive(&self, expected: &[(ConnectionId, &[Vec<u8>])]) -> Result<(), String> {
        let deadline = Instant::now() + WAIT;
        let mut got: HashMap<ConnectionId, usize> = expected.iter().map(|(c, _)| (*c, 0)).collect();
        let done = |got: &HashMap<ConnectionId, usize>| {
            expected.iter().all(|(c, frames)| got[c] == frames.len())
        };
        while !done(&got) {
            let missing: Vec<String> = expected
                .iter()
                .map(|(c, frames)| format!("{}/{} on {c}", got[c], frames.len()))
                .collect();
            let what = format!("more frames (have {})", missing.join(", "));
            match self.next(deadline, &what)? {
                TransportEvent::Frame { connection, frame } => {
                    let Some((_, frames)) = expected.iter().find(|(c, _)| *c == connection) else {
                        continue;
                    };
                    let index = got[&connection];
                    ensure!(
                        index < frames.len(),
                        "{} got more frames on connection {connection} than were sent",
                        self.name
                    );
                    if let Some(diff) = describe_mismatch(&frames[index], &frame) {
                        return Err(format!(
                            "{} got a wrong frame #{index} on connection {connection}: {diff}",
                            self.name
                        ));
                    }
                    *got.get_mut(&connection).expect("expected connection") += 1;
                }
                TransportEvent::Closed { connection, reason } => {
                    ensure!(
                        !got.contains_key(&connection),
                        "connection {connection} closed on {} while frames were due: {reason}",
                        self.name
                    );
                }
                TransportEvent::Connected { .. } => {}
            }
        }
        Ok(())
    }

    fn send_all(&self, connection: ConnectionId, frames: &[Vec<u8>]) -> Result<(), String> {
        for (i, frame) in frames.iter().enumerate() {
            call(
                &format!("{}.send(frame #{i} of {} bytes)", self.name, frame.len()),
                self.transport.send(connection, frame),
            )?;
        }
        Ok(())
    }

    /// Dials on a helper thread, so that a dial that never returns fails the check instead
    /// of hanging the suite.
    fn dial(&self, addr: &str) -> Result<crate::PluginResult<ConnectionId>, String> {
        let transport = self.transport.clone();
        let target = addr.to_string();
        let (reply, result) = mpsc::channel();
        std::thread::Builder::new()
            .name("conformance-dial".into())
            .spawn(move || {
                let _ = reply.send(transport.dial(&target));
            })
            .map_err(|e| format!("cannot start a thread: {e}"))?;
        result.recv_timeout(WAIT * 2).map_err(|_| {
            format!(
                "{}.dial({addr}) did not return within {:?}",
                self.name,
                WAIT * 2
            )
        })
    }
}

/// `None` if equal, else where they differ.
fn describe_mismatch(expected: &[u8], got: &[u8]) -> Option<String> {
    if expected == got {
        return None;
    }
    let first = expected.iter().zip(got).position(|(x, y)| x != y);
    Some(match first {
        Some(offset) => format!(
            "{} bytes instead of {}, first difference at byte {offset}",
            got.len(),
            expected.len()
        ),
        None => format!("{} bytes instead of {}", got.len(), expected.len()),
    })
}

/// Frame `n` of a numbered sequence: the tag, the number, then a length that varies, so that
/// a transport that splits or merges frames is caught.
fn numbered(tag: u8, n: u32) -> Vec<u8> {
    let mut frame = vec![tag];
    frame.extend_from_slice(&n.to_be_bytes());
    frame.extend((0..(n as usize * 7) % 300).map(|i| (i as u8) ^ tag));
    frame
}

fn sequence(tag: u8, count: u32) -> Vec<Vec<u8>> {
    (0..count).map(|n| numbered(tag, n)).collect()
}

fn need<T: Copy>(value: Option<T>, what: &str) -> Result<T, String> {
    value.ok_or_else(|| format!("not checked: {what} failed earlier"))
}

impl Suite {
    fn run(mut self, report: &mut Report) {
        report.check(
            "transport: listen on 127.0.0.1:0 returns a usable address",
            || self.listen(),
        );
        report.check(
            "transport: dial connects and both sides report Connected with the right direction",
            || self.connect().map(|pair| self.first = Some(pair)),
        );
        report.check("transport: 1,000 frames arrive whole and in order", || {
            self.thousand_frames()
        });
        report.check("transport: frames flow in both directions", || {
            self.both_directions()
        });
        report.check(
            "transport: an empty frame arrives as an empty frame",
            || self.empty_frame(),
        );
        report.check(
            "transport: a frame of max_frame_size bytes (at most 8 MiB) arrives intact",
            || self.largest_frame(),
        );
        report.check(
            "transport: an oversized frame is refused and the connection keeps working",
            || self.oversized_frame(),
        );
        report.check(
            "transport: two connections at once keep each one's order",
            || self.two_connections(),
        );
        report.check(
            "transport: close by A gives B Closed, and sends on the closed id fail on both sides",
            || self.close_by_a(),
        );
        report.check("transport: sending on an unknown connection fails", || {
            self.unknown_connection()
        });
        report.check(
            "transport: a re-dial after close gets a new id and works",
            || self.redial(),
        );
        report.check(
            "transport: a second listener works alongside the first",
            || self.second_listener(),
        );
        report.check(
            "transport: dialing a port nobody listens on fails in bounded time",
            || self.dial_nobody(),
        );
        report.check(
            "transport: frames above a connection's limit are held until it is raised; \
             a full outbox refuses with Unavailable and loses nothing",
            || self.held_frames(),
        );
        report.check(
            "transport: frame limits outside 1..=max_frame_size or on unknown connections \
             are refused",
            || self.bad_frame_limits(),
        );
        report.check(
            "transport: dropping an instance gives its peer Closed for every connection",
            || self.drop_a(),
        );
    }

    fn listen(&mut self) -> Result<(), String> {
        let addr = call(
            "B.listen(127.0.0.1:0)",
            self.b.transport.listen("127.0.0.1:0"),
        )?;
        let parsed: SocketAddr = addr
            .parse()
            .map_err(|e| format!("listen returned `{addr}`, not an IP address and port: {e}"))?;
        ensure!(
            parsed.port() != 0,
            "listen returned port 0 instead of the bound port"
        );
        self.listen_addr = Some(addr);
        Ok(())
    }

    fn connect(&self) -> Result<Pair, String> {
        let addr = self
            .listen_addr
            .as_deref()
            .ok_or("not checked: no listener")?;
        let a = call("A.dial", self.a.dial(addr)?)?;
        let (a_event, a_inbound) = self.a.connected()?;
        ensure!(
            a_event == a,
            "A's Connected names connection {a_event}, dial returned {a}"
        );
        ensure!(!a_inbound, "A's Connected for its own dial says inbound");
        let (b, b_inbound) = self.b.connected()?;
        ensure!(
            b_inbound,
            "B's Connected for an accepted connection says outbound"
        );
        Ok(Pair { a, b })
    }

    fn thousand_frames(&self) -> Result<(), String> {
        let pair = need(self.first, "the first connection")?;
        let frames = sequence(1, 1000);
        self.a.send_all(pair.a, &frames)?;
        self.b.receive(&[(pair.b, &frames)])
    }

    fn both_directions(&self) -> Result<(), String> {
        let pair = need(self.first, "the first connection")?;
        let to_b = sequence(2, 100);
        let to_a = sequence(3, 100);
        self.a.send_all(pair.a, &to_b)?;
        self.b.send_all(pair.b, &to_a)?;
        self.b.receive(&[(pair.b, &to_b)])?;
        self.a.receive(&[(pair.a, &to_a)])
    }

    fn empty_frame(&self) -> Result<(), String> {
        let pair = need(self.first, "the first connection")?;
        let frames = vec![Vec::new(), b"after".to_vec()];
        self.a.send_all(pair.a, &frames)?;
        self.b.receive(&[(pair.b, &frames)])
    }

    fn largest_frame(&self) -> Result<(), String> {
        let pair = need(self.first, "the first connection")?;
        let max = self.a.transport.max_frame_size();
        ensure!(max > 0, "max_frame_size() is 0");
        let size = max.min(LARGEST_CHECKED_FRAME);
        let frame: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
        let frames = vec![frame, b"after".to_vec()];
        self.a.send_all(pair.a, &frames)?;
        self.b.receive(&[(pair.b, &frames)])
    }

    fn oversized_frame(&self) -> Result<(), String> {
        let pair = need(self.first, "the first connection")?;
        let max = self.a.transport.max_frame_size();
        ensure!(
            max < 1 << 32,
            "max_frame_size() is {max}; the suite checks refusal only below 4 GiB"
        );
        // Zeroed memory is not touched until written, so even a 1 GiB limit costs little.
        let oversized = vec![0u8; max + 1];
        ensure!(
            self.a.transport.send(pair.a, &oversized).is_err(),
            "A.send accepted a frame of {} bytes, above max_frame_size() = {max}",
            max + 1
        );
        drop(oversized);
        let frames = vec![b"still here".to_vec()];
        self.a.send_all(pair.a, &frames)?;
        self.b.receive(&[(pair.b, &frames)])
    }

    fn two_connections(&mut self) -> Result<(), String> {
        let first = need(self.first, "the first connection")?;
        let second = self.connect()?;
        ensure!(
            second.a != first.a,
            "A reused id {} for a second connection",
            first.a
        );
        ensure!(
            second.b != first.b,
            "B reused id {} for a second connection",
            first.b
        );
        self.second = Some(second);
        let on_first = sequence(4, 500);
        let on_second = sequence(5, 500);
        for (x, y) in on_first.iter().zip(&on_second) {
            call(
                "A.send on the first connection",
                self.a.transport.send(first.a, x),
            )?;
            call(
                "A.send on the second connection",
                self.a.transport.send(second.a, y),
            )?;
        }
        self.b
            .receive(&[(first.b, &on_first), (second.b, &on_second)])
    }

    fn close_by_a(&self) -> Result<(), String> {
        let pair = need(self.second, "the second connection")?;
        let first = need(self.first, "the first connection")?;
        self.a.closed_here.borrow_mut().insert(pair.a);
        call("A.close", self.a.transport.close(pair.a))?;
        call("A.close a second time", self.a.transport.close(pair.a))?;
        ensure!(
            self.a.transport.send(pair.a, b"late").is_err(),
            "A.send on connection {} succeeded after A closed it",
            pair.a
        );
        self.b.closed(&[pair.b])?;
        ensure!(
            self.b.transport.send(pair.b, b"late").is_err(),
            "B.send on connection {} succeeded after its Closed event",
            pair.b
        );
        // Closing one connection leaves the other alone.
        let frames = vec![b"first still open".to_vec()];
        self.a.send_all(first.a, &frames)?;
        self.b.receive(&[(first.b, &frames)])
    }

    fn unknown_connection(&self) -> Result<(), String> {
        let unknown = ConnectionId::MAX - 7;
        ensure!(
            self.a.transport.send(unknown, b"nobody").is_err(),
            "A.send on connection {unknown}, which never existed, succeeded"
        );
        Ok(())
    }

    fn redial(&mut self) -> Result<(), String> {
        let first = need(self.first, "the first connection")?;
        let second = need(self.second, "the second connection")?;
        let third = self.connect()?;
        ensure!(
            third.a != first.a && third.a != second.a,
            "A reused connection id {} after close",
            third.a
        );
        ensure!(
            third.b != first.b && third.b != second.b,
            "B reused connection id {} after close",
            third.b
        );
        self.third = Some(third);
        let to_b = sequence(6, 50);
        let to_a = sequence(7, 50);
        self.a.send_all(third.a, &to_b)?;
        self.b.send_all(third.b, &to_a)?;
        self.b.receive(&[(third.b, &to_b)])?;
        self.a.receive(&[(third.a, &to_a)])
    }

    fn second_listener(&self) -> Result<(), String> {
        let first_addr = self
            .listen_addr
            .as_deref()
            .ok_or("not checked: no listener")?;
        let addr = call(
            "B.listen a second time",
            self.b.transport.listen("127.0.0.1:0"),
        )?;
        ensure!(
            addr != first_addr,
            "the second listener reports the first one's address {addr}"
        );
        let a = call("A.dial the second listener", self.a.dial(&addr)?)?;
        self.a.connected()?;
        let (b, _) = self.b.connected()?;
        let frames = vec![b"via the second listener".to_vec()];
        self.a.send_all(a, &frames)?;
        self.b.receive(&[(b, &frames)])?;
        self.a.closed_here.borrow_mut().insert(a);
        call("A.close", self.a.transport.close(a))?;
        self.b.closed(&[b])
    }

    fn dial_nobody(&self) -> Result<(), String> {
        // A port that was free a moment ago: bind, note it, release.
        let port = UdpSocket::bind("127.0.0.1:0")
            .and_then(|socket| socket.local_addr())
            .map_err(|e| format!("cannot find a free UDP port: {e}"))?
            .port();
        let started = Instant::now();
        let result = self.a.dial(&format!("127.0.0.1:{port}"))?;
        ensure!(
            result.is_err(),
            "A.dial to 127.0.0.1:{port}, where nobody listens, returned connection {:?}",
            result.ok()
        );
        ensure!(
            started.elapsed() <= WAIT * 2,
            "the failed dial took {:?}",
            started.elapsed()
        );
        Ok(())
    }

    /// B's new connections start with a small limit; A piles frames above it onto one until
    /// its `send` refuses, B delivers none of them until it raises the limit, then all in
    /// order.
    fn held_frames(&mut self) -> Result<(), String> {
        let size = PILED_FRAME.min(self.a.transport.max_frame_size());
        ensure!(
            size > HELD_LIMIT,
            "max_frame_size() is {size}; the check needs frames above {HELD_LIMIT} bytes"
        );
        call(
            &format!("B.set_initial_frame_limit({HELD_LIMIT})"),
            self.b.transport.set_initial_frame_limit(HELD_LIMIT),
        )?;
        let pair = self.connect()?;
        self.held = Some(pair);
        let restored = self.pile_up_and_release(pair, size);
        call(
            "B.set_initial_frame_limit(max_frame_size) again",
            self.b
                .transport
                .set_initial_frame_limit(self.b.transport.max_frame_size()),
        )?;
        restored
    }

    fn pile_up_and_release(&self, pair: Pair, size: usize) -> Result<(), String> {
        let small = vec![b"below the limit".to_vec()];
        self.a.send_all(pair.a, &small)?;
        self.b.receive(&[(pair.b, &small)])?;
        let frame = |n: usize| {
            let mut frame = numbered(8, n as u32);
            frame.resize(size, n as u8);
            frame
        };
        let mut piled = Vec::new();
        let refusal = loop {
            ensure!(
                piled.len() * size < MOST_QUEUED,
                "A.send accepted {} frames ({} MiB) for a peer that holds them all; the outbox \
                 must be bounded and refuse with Unavailable",
                piled.len(),
                (piled.len() * size) >> 20
            );
            let next = frame(piled.len());
            match self.a.transport.send(pair.a, &next) {
                Ok(()) => piled.push(next),
                Err(error) => break error,
            }
        };
        ensure!(
            refusal.kind == crate::ErrorKind::Unavailable,
            "A.send on a full outbox failed with {refusal}, expected kind unavailable"
        );
        // Whatever is in flight must stay held: B delivers nothing above its limit.
        if let Some(PluginEvent::Transport(TransportEvent::Frame { connection, frame })) =
            self.b.host.next_event(Duration::from_millis(300))
        {
            return Err(format!(
                "B delivered a frame of {} bytes on connection {connection} above its limit of \
                 {HELD_LIMIT} bytes",
                frame.len()
            ));
        }
        call(
            "B.set_frame_limit(held connection, max_frame_size)",
            self.b
                .transport
                .set_frame_limit(pair.b, self.b.transport.max_frame_size()),
        )?;
        piled.push(b"after the refusal".to_vec());
        let last = piled.len() - 1;
        self.a.send_all(pair.a, &piled[last..])?;
        self.b.receive(&[(pair.b, &piled)])
    }

    fn bad_frame_limits(&self) -> Result<(), String> {
        let pair = need(self.first, "the first connection")?;
        let max = self.a.transport.max_frame_size();
        for limit in [0, max.saturating_add(1)] {
            ensure!(
                self.a.transport.set_frame_limit(pair.a, limit).is_err(),
                "A.set_frame_limit(connection {}, {limit}) succeeded; max_frame_size() is {max}",
                pair.a
            );
            ensure!(
                self.a.transport.set_initial_frame_limit(limit).is_err(),
                "A.set_initial_frame_limit({limit}) succeeded; max_frame_size() is {max}"
            );
        }
        let unknown = ConnectionId::MAX - 7;
        ensure!(
            self.a.transport.set_frame_limit(unknown, 10).is_err(),
            "A.set_frame_limit on connection {unknown}, which never existed, succeeded"
        );
        Ok(())
    }

    /// The last check: it consumes the suite, dropping A (its transport first, then its
    /// host).
    fn drop_a(self) -> Result<(), String> {
        let open: Vec<ConnectionId> = [self.first, self.third, self.held]
            .into_iter()
            .flatten()
            .map(|pair| pair.b)
            .collect();
        drop(self.a);
        self.b.closed(&open)
    }
}
