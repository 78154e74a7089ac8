//! A two-party test bench: two [`Channel`]s, each with an in-memory store that checks the
//! write-ahead rule, connected by a message pump that delivers in order per direction. A
//! [`Node`] also serves the three-party bench (`three_party.rs`): there its messages queue per
//! addressee.

use crate::protocol::channel::{Channel, ChannelError};
use crate::protocol::effect::{ChannelEvent, Effect};
use crate::protocol::messages::{ChannelMessage, ChannelProposal, ProposalAccept, ProposalId};
use crate::protocol::phase::Phase;
use crate::protocol::record::{ChannelSnapshot, PersistRecord};
use crate::protocol::test_support::FakeCrypto;
use parley_plugin_api::codec::{Bytes, Decode, Encode};
use parley_plugin_api::model::{Address, Amount, Asset, State};
use std::collections::VecDeque;

/// Decides the peer's updates: `Ok` accepts, `Err(reason)` declines.
pub type Policy = fn(&State) -> Result<(), String>;

pub fn accept_all(_: &State) -> Result<(), String> {
    Ok(())
}

/// One party: its channel, its durable records, what it sent and what it was told.
pub struct Node {
    pub channel: Channel,
    pub store: Vec<PersistRecord>,
    /// What it sent to the other party (two-party channels).
    pub outbox: VecDeque<ChannelMessage>,
    /// What it sent, by addressee (channels of three or more).
    pub outboxes: Vec<VecDeque<ChannelMessage>>,
    pub events: Vec<ChannelEvent>,
    pub errors: Vec<ChannelError>,
    pub policy: Policy,
    /// Every state it signed, by version (from its durable records): one per version.
    pub signed: std::collections::BTreeMap<u64, State>,
}

impl Node {
    pub fn new(channel: Channel) -> Self {
        Node {
            outboxes: vec![VecDeque::new(); channel.participants()],
            channel,
            store: Vec::new(),
            outbox: VecDeque::new(),
            events: Vec::new(),
            errors: Vec::new(),
            policy: accept_all,
            signed: std::collections::BTreeMap::new(),
        }
    }

    /// Executes effects in order like a driver, checking write-ahead at every send, and
    /// answers `UpdateRequested` with the policy at once.
    pub fn run(&mut self, crypto: &FakeCrypto, effects: Vec<Effect>) {
        let mut decisions = Vec::new();
        for effect in effects {
            match effect {
                Effect::Persist(record) => {
                    // Records go through the codec, as they would through a store.
                    let bytes = record.encode();
                    self.note_signed(&record);
                    self.store.push(PersistRecord::decode(&bytes).unwrap());
                }
                Effect::Send { to, message } => {
                    let to = usize::from(to);
                    assert!(
                        to != self.channel.my_index() && to < self.channel.participants(),
                        "addressed to another participant, not {to}"
                    );
                    self.assert_write_ahead(&message);
                    if self.channel.participants() == 2 {
                        self.outbox.push_back(message);
                    } else {
                        self.outboxes[to].push_back(message);
                    }
                }
                Effect::Event(event) => {
                    if let ChannelEvent::UpdateRequested { state } = &event {
                        decisions.push((self.policy)(state));
                    }
                    self.events.push(event);
                }
            }
        }
        // The store now holds exactly what the channel holds durably.
        assert_eq!(
            self.durable(),
            self.channel.snapshot(),
            "store and channel differ"
        );
        for decision in decisions {
            let effects = match decision {
                Ok(()) => self.channel.accept_update(crypto),
                Err(reason) => self.channel.reject_update(reason),
            }
            .expect("answering a requested update");
            self.run(crypto, effects);
        }
    }

    /// Notes the state `record` holds our signature on, and checks that we never signed
    /// another state of its version (a peer holding both could register either).
    fn note_signed(&mut self, record: &PersistRecord) {
        let me = self.channel.my_index();
        let state = match record {
            PersistRecord::Pending(Some(pending)) => &pending.state,
            PersistRecord::Latest(latest) if latest.sigs[me].is_some() => &latest.state,
            _ => return,
        };
        let earlier = self
            .signed
            .entry(state.version)
            .or_insert_with(|| state.clone());
        assert_eq!(
            earlier, state,
            "signed two different states of version {}",
            state.version
        );
    }

    /// Feeds one message from the peer.
    pub fn receive(&mut self, crypto: &FakeCrypto, message: ChannelMessage) {
        let from = self.channel.peer_index();
        self.receive_from(from, crypto, message);
    }

    /// Feeds one message from participant `from`.
    pub fn receive_from(&mut self, from: usize, crypto: &FakeCrypto, message: ChannelMessage) {
        match self.channel.on_message(from, message, crypto) {
            Ok(effects) => self.run(crypto, effects),
            Err(e) => self.errors.push(e),
        }
    }

    /// The snapshot the store's records rebuild.
    pub fn durable(&self) -> ChannelSnapshot {
        ChannelSnapshot::from_records(&self.store).expect("store holds a channel")
    }

    /// A message revealing our signature on a state may only leave once that state and that
    /// signature are durable.
    fn assert_write_ahead(&self, message: &ChannelMessage) {
        let durable = self.durable();
        let me = self.channel.my_index();
        let my_sig_on_latest = durable.latest.sigs[me].as_ref();
        match message {
            ChannelMessage::OpeningSig(m) => {
                assert_eq!(durable.latest.state.version, 0);
                assert_eq!(
                    my_sig_on_latest,
                    Some(&m.sig),
                    "opening sig sent before persisted"
                );
            }
            ChannelMessage::UpdateProposal(m) => {
                let pending = durable
                    .pending
                    .as_ref()
                    .expect("proposal sent before persisted");
                assert_eq!((&pending.state, &pending.sig), (&m.state, &m.sig));
            }
            ChannelMessage::UpdateAccept(m) if self.channel.participants() == 2 => {
                assert_eq!(
                    durable.latest.state.version, m.version,
                    "accept sent before persisted"
                );
                assert_eq!(my_sig_on_latest, Some(&m.sig));
                assert!(durable.latest.sigs.iter().all(Option::is_some));
            }
            // With others still to sign, our signature waits in the pending slot; if the
            // accept completed the update, it is in the newest state.
            ChannelMessage::UpdateAccept(m) => match &durable.pending {
                Some(pending) if pending.state.version == m.version => {
                    assert_eq!(pending.sig, m.sig, "accept sent before persisted")
                }
                _ => {
                    assert_eq!(
                        durable.latest.state.version, m.version,
                        "accept sent before persisted"
                    );
                    assert_eq!(my_sig_on_latest, Some(&m.sig));
                }
            },
            ChannelMessage::SyncReply(m) => {
                assert_eq!(durable.latest.state, m.latest.state);
                assert_eq!(my_sig_on_latest, Some(&m.latest.sigs[me]));
                assert_eq!(
                    durable.pending.map(|p| (p.state, p.sig)),
                    m.pending,
                    "pending revealed before persisted"
                );
            }
            ChannelMessage::UpdateReject(_) | ChannelMessage::SyncRequest(_) => {}
            other => panic!("a channel sent a {} message", other.kind()),
        }
    }

    /// Simulates a crash and restart: everything not in the store is lost.
    pub fn crash_and_restore(&mut self) {
        self.outbox.clear();
        self.outboxes.iter_mut().for_each(VecDeque::clear);
        self.channel = Channel::restore_from_records(&self.store).expect("restore");
    }

    /// Records the version the restore spent, as the node does for every channel it restores
    /// before any proposal (`assembly::restore`).
    pub fn record_restart_spent(&mut self) {
        if let Some(version) = self.channel.unrecorded_restart_spent() {
            self.store.push(PersistRecord::Spent(version));
            self.channel.restart_spent_recorded(version);
        }
    }

    pub fn take_events(&mut self) -> Vec<ChannelEvent> {
        std::mem::take(&mut self.events)
    }
}

/// Two parties, A (participant 0, the proposer) and B (participant 1).
pub struct Pair {
    pub crypto: FakeCrypto,
    pub a: Node,
    pub b: Node,
}

pub fn asset(n: u8) -> Asset {
    Asset {
        chain_id: 31337,
        holder: Address(vec![n; 20]),
    }
}

pub fn proposal(crypto: &FakeCrypto, balances: Vec<Vec<u64>>) -> ChannelProposal {
    ChannelProposal {
        proposal_id: ProposalId([1; 32]),
        proposer: crypto.participant(0),
        assets: (0..balances.len() as u8).map(asset).collect(),
        balances: balances
            .into_iter()
            .map(|row| row.into_iter().map(Amount::from).collect())
            .collect(),
        locked: Vec::new(),
        challenge_duration: 3600,
        nonce_share: [2; 32],
        app: None,
        app_data: Bytes::default(),
        ledger_channel: true,
        virtual_channel: false,
        parent: None,
    }
}

pub fn accept(crypto: &FakeCrypto) -> ProposalAccept {
    ProposalAccept {
        proposal_id: ProposalId([1; 32]),
        nonce_share: [3; 32],
        participant: crypto.participant(1),
    }
}

impl Pair {
    /// Both sides open the channel and exchange opening signatures; both end in `Funding`.
    pub fn opened(balances: Vec<Vec<u64>>) -> Pair {
        let crypto = FakeCrypto::new(2);
        let proposal = proposal(&crypto, balances);
        let accept = accept(&crypto);
        let (b, b_fx) =
            Channel::open(&proposal, &accept, &crypto.participant(1), &crypto, &crypto).unwrap();
        let (a, a_fx) =
            Channel::open(&proposal, &accept, &crypto.participant(0), &crypto, &crypto).unwrap();
        let mut pair = Pair {
            a: Node::new(a),
            b: Node::new(b),
            crypto,
        };
        pair.b.run(&pair.crypto, b_fx);
        pair.a.run(&pair.crypto, a_fx);
        pair.pump();
        assert_eq!(pair.a.channel.phase(), Phase::Funding);
        assert_eq!(pair.b.channel.phase(), Phase::Funding);
        pair
    }

    /// Opened and funded: both `Active`.
    pub fn active(balances: Vec<Vec<u64>>) -> Pair {
        let mut pair = Pair::opened(balances);
        let fx = pair.a.channel.funded().unwrap();
        pair.a.run(&pair.crypto, fx);
        let fx = pair.b.channel.funded().unwrap();
        pair.b.run(&pair.crypto, fx);
        pair.a.take_events();
        pair.b.take_events();
        pair
    }

    /// Delivers one message from A to B (`a_to_b`) or from B to A; false if none was queued.
    pub fn deliver(&mut self, a_to_b: bool) -> bool {
        let (from, to) = if a_to_b {
            (&mut self.a, &mut self.b)
        } else {
            (&mut self.b, &mut self.a)
        };
        match from.outbox.pop_front() {
            Some(message) => {
                to.receive(&self.crypto, message);
                true
            }
            None => false,
        }
    }

    /// Delivers until both outboxes are empty, alternating directions.
    pub fn pump(&mut self) {
        while self.deliver(true) | self.deliver(false) {}
    }

    pub fn node(&mut self, a: bool) -> &mut Node {
        if a {
            &mut self.a
        } else {
            &mut self.b
        }
    }

    /// Runs an action's effects on one side.
    pub fn act(
        &mut self,
        on_a: bool,
        action: impl FnOnce(&mut Channel, &FakeCrypto) -> Result<Vec<Effect>, ChannelError>,
    ) {
        let crypto = self.crypto.clone();
        let node = self.node(on_a);
        let effects = action(&mut node.channel, &crypto).expect("action");
        node.run(&crypto, effects);
    }

    /// A reconnect: whatever was in flight on the old connection is lost, then each side that
    /// noticed (`a_notices`, `b_notices`) re-synchronises, as drivers do on reconnection.
    pub fn reconnect(&mut self, a_notices: bool, b_notices: bool) {
        self.a.outbox.clear();
        self.b.outbox.clear();
        let crypto = self.crypto.clone();
        for (node, notices) in [(&mut self.a, a_notices), (&mut self.b, b_notices)] {
            if notices {
                let effects = node.channel.sync_request();
                node.run(&crypto, effects);
            }
        }
        self.pump();
        assert!(!self.a.channel.is_syncing() && !self.b.channel.is_syncing());
    }

    /// Both sides hold the same fully signed newest state, and nothing is in flight.
    pub fn assert_agree(&self) {
        let a = self.a.channel.fully_signed().expect("A fully signed");
        let b = self.b.channel.fully_signed().expect("B fully signed");
        assert_eq!(a, b);
        assert!(self.a.channel.pending().is_none() && self.b.channel.pending().is_none());
        assert!(self.a.outbox.is_empty() && self.b.outbox.is_empty());
    }
}

pub fn balances(state: &State, asset: usize) -> Vec<u64> {
    state.allocation.balances[asset]
        .iter()
        .map(|a| a.to_u128().unwrap() as u64)
        .collect()
}
