//! Which part of the driver gets which service: the services are made here, each owning its
//! own state, and handed to the parts that work with them (the driver's operations, the chain
//! side, the peer-event dispatcher, the channel starter). Nothing else holds them.

use crate::client::apps::Apps;
use crate::client::book::PeerBook;
use crate::client::chain::ChainAccess;
use crate::client::channel_policy::NodePolicy;
use crate::client::channel_task::ChannelReport;
use crate::client::dialer::Dialer;
use crate::client::dispatch::Dispatcher;
use crate::client::driver::Driver;
use crate::client::events::SharedSink;
use crate::client::intermediary::{Intermediary, VirtualHolds};
use crate::client::onchain::force::{ForceMove, ForceMoves};
use crate::client::onchain::ChainSide;
use crate::client::peers::Peers;
use crate::client::proposals::Proposals;
use crate::client::registry::Registry;
use crate::client::start::ChannelStarter;
use crate::config::NodeConfig;
use crate::store::ChannelStore;
use crate::wire::NodeId;
use parley_plugin_api::model::ChannelId;
use std::sync::Arc;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};

/// Who this node is to its peers.
pub struct Identity {
    /// Its node id.
    pub node_id: NodeId,
    /// Where it accepts peers.
    pub listen_address: String,
    /// Its key, which signs its invoices.
    pub key: crate::wire::NodeKey,
}

/// The driver's parts, wired.
pub struct Wired {
    /// What the API calls.
    pub driver: Arc<Driver>,
    /// Funding, closing and disputes on chain.
    pub chain_side: Arc<ChainSide>,
    /// Routes the peers' events (to be spawned).
    pub dispatcher: Dispatcher,
    /// Starts channel tasks (the restored ones first).
    pub starter: Arc<ChannelStarter>,
    /// What the channel tasks report, for the owners of the channels' chain side.
    pub reports: UnboundedReceiver<(ChannelId, ChannelReport)>,
    /// The moves on chain people ask for, for the owners of the channels' chain side.
    pub moves: UnboundedReceiver<ForceMove>,
}

/// What the node's channels run on: the chain, and the apps whose rules it checks.
pub struct Ledger {
    /// The chain backend with our account.
    pub chain: ChainAccess,
    /// The apps of `[[apps]]`.
    pub apps: Apps,
}

/// Wires the driver of the node of `config`: it reaches peers through `peers` and those named
/// in `book`, acts on the `ledger`'s chain with its apps, persists to `store`, and publishes
/// its events on `events`.
pub fn wire(
    config: &NodeConfig,
    identity: Identity,
    Ledger { chain, apps }: Ledger,
    peers: Peers,
    store: Arc<ChannelStore>,
    book: PeerBook,
    events: SharedSink,
) -> Wired {
    let (reports_tx, reports) = unbounded_channel();
    let (force_moves, moves) = ForceMoves::channel();
    let chain = Arc::new(chain);
    let registry = Arc::new(Registry::default());
    let book = Arc::new(book);
    let dialer = Arc::new(Dialer::new(
        peers.clone(),
        book.clone(),
        registry.clone(),
        store.clone(),
    ));
    let apps = Arc::new(apps);
    let (virtual_holds, held_locks) = unbounded_channel();
    let starter = Arc::new(ChannelStarter::new(
        registry.clone(),
        peers.clone(),
        chain.clone(),
        apps.clone(),
        store.clone(),
        events.clone(),
        Arc::new(NodePolicy {
            incoming: config.policy.incoming,
            ask_within: config.policy.update_timeout,
        }),
        reports_tx,
        &config.testing,
        VirtualHolds {
            sender: virtual_holds,
            hold: config.hub.hold,
        },
    ));
    let metrics = Arc::new(crate::client::metrics::Metrics::default());
    let chain_side = Arc::new(ChainSide {
        metrics: metrics.clone(),
        registry: registry.clone(),
        chain: chain.clone(),
        policy: config.policy.clone(),
        testing: config.testing.clone(),
        store: store.clone(),
        apps: apps.clone(),
    });
    let proposals = Arc::new(Proposals::new(
        peers.clone(),
        dialer.clone(),
        book.clone(),
        starter.clone(),
        chain.clone(),
        config.policy.clone(),
        config.limits.open_proposals,
        events,
    ));
    let intermediary = Arc::new(Intermediary::new(
        identity.node_id,
        registry.clone(),
        peers.clone(),
        dialer.clone(),
        chain.clone(),
        store.clone(),
        config.hub.clone(),
        config.policy.proposal_timeout * 2 + config.hub.hold,
    ));
    let dispatcher = Dispatcher {
        registry: registry.clone(),
        proposals: proposals.clone(),
        dialer: dialer.clone(),
        intermediary,
        held_locks: Some(held_locks),
    };
    let driver = Arc::new(Driver {
        metrics,
        node_id: identity.node_id,
        listen_address: identity.listen_address,
        registry,
        proposals,
        book,
        peers,
        dialer,
        chain,
        apps,
        store,
        policy: config.policy.clone(),
        testing: config.testing.clone(),
        force_moves,
        invoice_key: Some(identity.key),
    });
    Wired {
        driver,
        chain_side,
        dispatcher,
        starter,
        reports,
        moves,
    }
}
