//! The requests, results and events of the API, as they appear in JSON.
//!
//! Amounts are decimal strings and ids are `0x`-prefixed hex (the serde forms of [`Amount`],
//! [`ChannelId`], [`NodeId`] and [`ProposalId`]); assets are referred to by the name the chain
//! backend gives them (`ETH`), and the node's default asset is used when a request names none.

use crate::protocol::{Phase, ProposalId};
use crate::wire::NodeId;
use parley_plugin_api::codec::Bytes;
use parley_plugin_api::model::{Address, Amount, ChainInfo, ChannelId, Participant, SubAlloc};
use serde::{Deserialize, Serialize};

/// `node_info`: who this node is.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NodeInfo {
    /// The node's identity (its public key).
    pub node_id: NodeId,
    /// The node software's version.
    pub version: String,
    /// The chain backend and its assets.
    pub chain: ChainInfo,
    /// Where this node accepts peers (the transport address to give to `peer_add`).
    pub listen_address: String,
    /// `<node id>@<listen address>`: what a peer pastes into `parley peer add <alias>`.
    #[serde(default)]
    pub node_address: String,
    /// The chain account this node pays from and signs states with, if the backend has one.
    #[serde(default)]
    pub account: Option<Participant>,
    /// How many channels the node runs now (closed ones are archived and not counted).
    #[serde(default)]
    pub channels: usize,
    /// How many peers are connected now.
    #[serde(default)]
    pub peers: usize,
    /// Where this API listens, once it does.
    #[serde(default)]
    pub api_address: Option<String>,
    /// The apps this node can run channels of (`[[apps]]` in its `node.toml`).
    #[serde(default)]
    pub apps: Vec<AppInfo>,
}

/// One app a node can run channels of.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppInfo {
    /// What users call it (`channel_open`'s `app`).
    pub name: String,
    /// Its contract's address on the node's chain; `None` if it has none there (then no
    /// channel can use it).
    pub address: Option<Address>,
}

/// `peer_add`: remember a peer under an alias.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerAddRequest {
    /// A short local name for the peer, used by `channel_open`.
    pub alias: String,
    /// The peer's identity.
    pub node_id: NodeId,
    /// Where to reach it, in the transport plugin's format (`127.0.0.1:4000` for QUIC).
    /// Omitted: the address the peer announced when it connected in, if it ever did.
    pub transport_address: Option<String>,
}

/// One peer (`peer_list`: every named peer and every connected one; the result of
/// `peer_add`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerInfo {
    /// The local alias; `None` for a peer that connected but was never added.
    pub alias: Option<String>,
    /// The peer's identity.
    pub node_id: NodeId,
    /// Where it is dialed: the address it announced when it last connected, unless
    /// `peer_add` gave one since; `None` if unknown.
    pub transport_address: Option<String>,
    /// Whether an authenticated connection is open now.
    pub connected: bool,
    /// While connected: who dialed, `"inbound"` (the peer) or `"outbound"` (this node).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<String>,
    /// `peer_add` only: why connecting to the peer failed (it is remembered anyway).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_error: Option<String>,
}

/// `channel_open`: propose a two-party ledger channel to a peer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelOpenRequest {
    /// The peer, by alias or node id.
    pub peer: String,
    /// What this node deposits.
    pub mine: Amount,
    /// What the peer deposits.
    pub theirs: Amount,
    /// The asset by name; the chain's first asset when absent.
    pub asset: Option<String>,
    /// The challenge duration in seconds; the node's default when absent.
    pub challenge_seconds: Option<u64>,
    /// Further assets in the same channel, each with both deposits (multi-asset channels).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub more_assets: Vec<AssetDeposit>,
    /// The app the channel runs, by the name in the node's `[[apps]]` (`node_info` lists
    /// them); a payment channel when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<String>,
    /// The app's setup (a JSON object, e.g. `{"first": 1}` for tic-tac-toe); `{}` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_setup: Option<serde_json::Value>,
    /// Open a sub-channel of this channel (with the same peer) instead of a channel funded on
    /// chain: the parent's balances lock `mine` and `theirs`, no transaction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<ChannelId>,
    /// Open a virtual channel with `peer` through this ledger channel with an intermediary
    /// (who must have a ledger channel with `peer`): this channel and the intermediary's
    /// channel with `peer` lock `mine` and `theirs`, no transaction, and `peer` is paid
    /// directly. `peer` may be a node id this node never met.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<ChannelId>,
    /// With `via`: the further intermediaries on the way to `peer`, in order (node ids or
    /// aliases): the intermediary of `via` has a ledger channel with the first, each with the
    /// next, the last with `peer`. Each of them locks the virtual channel's funds in both of
    /// its channels on the path.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub through: Vec<String>,
    /// With `via`: the fee offered to each intermediary for carrying the virtual channel
    /// (base units of the first asset), the intermediary of `via` first, then one per entry
    /// of `through`; empty: none. A hub refuses less than its `[hub]` fee and says how much.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fees: Vec<Amount>,
}

impl ChannelOpenRequest {
    /// A payment channel with `peer` of the chain's first asset, funded on chain with `mine`
    /// and `theirs`, the node's default challenge: the other fields are set with struct update
    /// syntax (`ChannelOpenRequest { via: Some(id), ..ChannelOpenRequest::payment(..) }`).
    pub fn payment(peer: impl Into<String>, mine: Amount, theirs: Amount) -> ChannelOpenRequest {
        ChannelOpenRequest {
            peer: peer.into(),
            mine,
            theirs,
            asset: None,
            challenge_seconds: None,
            more_assets: Vec::new(),
            app: None,
            app_setup: None,
            parent: None,
            via: None,
            through: Vec::new(),
            fees: Vec::new(),
        }
    }
}

/// One more asset of a channel being opened, with what each side deposits.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssetDeposit {
    /// The asset's name.
    pub asset: String,
    /// What this node deposits.
    pub mine: Amount,
    /// What the peer deposits.
    pub theirs: Amount,
}

/// `proposal_accept`: accept an incoming proposal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProposalAcceptRequest {
    /// The proposal.
    pub id: ProposalId,
}

/// `proposal_reject`: reject an incoming proposal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProposalRejectRequest {
    /// The proposal.
    pub id: ProposalId,
    /// Told to the proposer.
    pub reason: Option<String>,
}

/// An incoming proposal waiting for an answer (`proposal_list`): every field that decides what
/// accepting it risks. (The node refuses, before listing, any proposal it could not enforce:
/// one naming an app, with app data or locked funds, or not for a ledger channel; the fields
/// are shown anyway, so that nothing about a proposal is hidden from the user.)
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProposalInfo {
    /// The proposal.
    pub id: ProposalId,
    /// Who proposed.
    pub proposer: NodeId,
    /// The proposer's alias, if it is a known peer.
    pub proposer_alias: Option<String>,
    /// Per asset, what each side would deposit.
    pub balances: Vec<AssetBalances>,
    /// The challenge duration in seconds.
    pub challenge_seconds: u64,
    /// Unix seconds after which the proposal lapses unanswered.
    pub expires_at: u64,
    /// The app that would rule the channel; absent (`null`) for a payment channel.
    pub app: Option<Address>,
    /// The opening state's app data, hex (empty for a payment channel).
    pub app_data: Bytes,
    /// Funds the opening state would lock in sub-channels: each sub-channel's id, its amount
    /// of every asset (in `balances` order) and the participants' indices.
    pub locked: Vec<SubAlloc>,
    /// Whether the channel would be funded directly on the ledger.
    pub ledger_channel: bool,
    /// Whether the channel would be a virtual channel, funded through an intermediary.
    pub virtual_channel: bool,
}

/// What each party holds (or deposits) of one asset, seen from this node.
///
/// `mine` and `theirs` are the two-party view; `by_participant` is the whole row, one amount
/// per participant in the channel's order (see [`ChannelInfo::participants`]), which is what
/// a channel of more than two parties shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssetBalances {
    /// The asset's name.
    pub asset: String,
    /// This node's part.
    pub mine: Amount,
    /// The peer's part.
    pub theirs: Amount,
    /// Every participant's part, in the channel's participant order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub by_participant: Vec<Amount>,
}

/// One participant of a channel.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParticipantInfo {
    /// Its place in the channel's parameters (and in every balance row).
    pub index: u16,
    /// Its chain address.
    pub address: Participant,
    /// Whether it is this node.
    pub me: bool,
}

/// `channel_get`, `channel_settle`: one channel, by id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelRef {
    /// The channel.
    pub id: ChannelId,
}

/// `channel_settle`: close a channel and pay out on chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelSettleRequest {
    /// The channel.
    pub id: ChannelId,
    /// Settle unilaterally: register our newest fully signed state, wait out the challenge
    /// duration on chain time, conclude and withdraw, without the peer. Off: agree a final
    /// state with the peer first (falling back to unilateral settlement when the peer does not
    /// answer within `[policy] update_timeout_seconds` or cannot be reached).
    #[serde(default)]
    pub force: bool,
}

/// `misbehave_register` (test nodes only, `[testing] allow_misbehaviour = true`): register an
/// old fully signed state on chain as a cheating peer would, and do not refute it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MisbehaveRegisterRequest {
    /// The channel.
    pub id: ChannelId,
    /// The old version to register (the node keeps the versions signed since it started).
    pub version: u64,
}

/// `channel_pay`: move `amount` of an asset from this node to the peer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelPayRequest {
    /// The channel.
    pub id: ChannelId,
    /// How much; must be more than zero.
    pub amount: Amount,
    /// The asset by name; the channel's only asset when absent (an error if it has several).
    pub asset: Option<String>,
    /// The payment's id (32 hex digits), so that a call that times out can be looked up with
    /// `payment_get`; the node picks one when absent. A repeated id is not paid twice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment: Option<crate::store::PaymentId>,
}

/// `channel_move`: a move in an app channel.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelMoveRequest {
    /// The channel.
    pub id: ChannelId,
    /// The move, as the channel's app takes it (tic-tac-toe: `{"cell": 4}`).
    pub action: serde_json::Value,
}

/// `channel_pending`: the peer's updates awaiting this node's answer.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelPendingRequest {
    /// Only this channel's; every open channel's when absent.
    pub id: Option<ChannelId>,
}

/// `channel_answer`: accept or reject the peer's update awaiting this node's answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelAnswerRequest {
    /// The channel.
    pub id: ChannelId,
    /// The proposed version the answer is for (as `channel_pending` lists it); whichever
    /// awaits when absent.
    pub version: Option<u64>,
    /// Accept (sign) it, or reject it.
    pub accept: bool,
    /// Why it is rejected, told to the peer (only with `accept: false`).
    pub reason: Option<String>,
}

/// One asset's balances before and after the peer's update, seen from this node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BalanceChange {
    /// The asset's name.
    pub asset: String,
    /// This node's part now.
    pub mine_before: Amount,
    /// This node's part if the update is accepted.
    pub mine_after: Amount,
    /// The peer's part now.
    pub theirs_before: Amount,
    /// The peer's part if the update is accepted.
    pub theirs_after: Amount,
}

/// The app's view of the peer's move (`channel_pending`, app channels only).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppMoveInfo {
    /// The app's contract address.
    pub address: Address,
    /// What this node calls the app.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The participant index of the one who moves (the proposer of the update).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<u16>,
    /// The current state as the app describes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<serde_json::Value>,
    /// The proposed state as the app describes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proposed: Option<serde_json::Value>,
    /// Why a state cannot be described, if one cannot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

/// The peer's update awaiting this node's answer (`channel_pending`): what accepting it
/// changes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingUpdateInfo {
    /// The channel.
    pub id: ChannelId,
    /// The peer; `null` if this node lost its record of it.
    pub peer: Option<NodeId>,
    /// The peer's alias, if known.
    pub peer_alias: Option<String>,
    /// The proposed version (what `channel_answer` names).
    pub version: u64,
    /// The channel's version now.
    pub current_version: u64,
    /// What the update is: `payment_to_us`, `app_move`, `settle` (the final state of a
    /// cooperative close) or `other` (such as a payment to the peer).
    pub kind: String,
    /// Per asset, the balances now and after the update, in base units.
    pub balances: Vec<BalanceChange>,
    /// Whether the proposed state is final (no update can follow it).
    pub is_final: bool,
    /// When the node rejects it unanswered ("not answered in time"), in Unix seconds; `null`
    /// if the node answers it by itself.
    pub answer_by: Option<u64>,
    /// For an app channel, the app's view of the move.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<AppMoveInfo>,
}

/// An app channel's app and its newest state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppStateInfo {
    /// The app's contract address (from the channel's parameters).
    pub address: Address,
    /// What this node calls the app; absent if it does not have it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The newest state as the app describes it (tic-tac-toe: the grid, whose turn, the
    /// winner); absent without the app.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<serde_json::Value>,
    /// Why the state cannot be described, if it cannot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    /// In a dispute whose moves on chain advanced the app (force execution): the state on
    /// record. Absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_record: Option<OnRecordInfo>,
}

/// The state on record of an app channel advanced on chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OnRecordInfo {
    /// Its version.
    pub version: u64,
    /// As the app describes it; absent if it cannot (then `problem` says why).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<serde_json::Value>,
    /// Whose move it is on chain (a participant index), if the app's description says
    /// (a `turn` field, as tic-tac-toe's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn: Option<u16>,
    /// Why the state cannot be described, if it cannot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

/// `channel_list`: which channels.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelListRequest {
    /// The closed (archived) channels instead of the open ones.
    #[serde(default)]
    pub closed: bool,
}

/// A channel as the API shows it (`channel_list`, `channel_get`, results of changes).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelInfo {
    /// The channel.
    pub id: ChannelId,
    /// The other participant; `null` if this node lost its record of the peer (the status
    /// says so).
    pub peer: Option<NodeId>,
    /// The peer's alias, if known.
    pub peer_alias: Option<String>,
    /// Where the channel is in its life; `null` if its stored record is damaged (the status
    /// says what is wrong; version and balances are then unknown).
    pub phase: Option<Phase>,
    /// The version of the latest fully signed state.
    pub version: u64,
    /// How long, in seconds of chain time, a registered state can be refuted.
    #[serde(default)]
    pub challenge_seconds: u64,
    /// The balances in that state.
    pub balances: Vec<AssetBalances>,
    /// The channel's participants, in the order of its parameters (empty for a damaged
    /// record).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub participants: Vec<ParticipantInfo>,
    /// What the node is doing on chain for the channel, or what failed: a store outage, a
    /// problem on chain, a lost peer or a damaged record (absent when there is nothing to
    /// say).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// The channel's record on chain, once a state was registered or it concluded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dispute: Option<DisputeInfo>,
    /// The app the channel runs and its state; absent for a payment channel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<AppStateInfo>,
    /// Where the channel's funds come from: "ledger" (deposits on chain) or "sub-channel of
    /// <parent id>" (locked in the parent's state); absent when the record is damaged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub funding: Option<String>,
    /// The sub-channels whose funds the newest state locks, in lock order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sub_channels: Vec<ChannelId>,
}

impl ChannelInfo {
    /// The phase's name, or `unknown` for a damaged record.
    pub fn phase_name(&self) -> &'static str {
        self.phase.map_or("unknown", Phase::as_str)
    }
}

/// A channel's on-chain record as the node last read it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisputeInfo {
    /// The registered (or concluded) version.
    pub version: u64,
    /// `dispute` (refutable until `timeout`), `force_exec` (an app channel advancing on
    /// chain) or `concluded` (the outcome is fixed).
    pub phase: String,
    /// The chain time at which the current phase ends.
    pub timeout: u64,
    /// The chain's time when the record was read.
    pub chain_time: u64,
}

/// `balance`: on-chain balances of this node's account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BalanceRequest {
    /// One asset by name; every asset of the chain when absent.
    pub asset: Option<String>,
}

/// One on-chain balance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OnChainBalance {
    /// The asset's name.
    pub asset: String,
    /// The account's balance.
    pub amount: Amount,
}

/// What the node tells subscribers (`subscribe_events`), as `{"kind": "...", ...}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum NodeEvent {
    /// A peer proposed a channel; answer with `proposal_accept` or `proposal_reject` before it
    /// expires (unless the policy already did).
    ProposalReceived {
        /// The proposal.
        proposal: ProposalInfo,
    },
    /// The peer proposed an update to a channel.
    UpdateReceived {
        /// The channel.
        channel: ChannelId,
        /// The proposed version.
        version: u64,
    },
    /// The peer's update waits for this node's user (`[policy]` asks for its kind): see it
    /// with `channel_pending` and answer with `channel_answer` before `expires_at` (Unix
    /// seconds), or the node declines it as not answered in time.
    UpdateAwaitsAnswer {
        /// The channel.
        channel: ChannelId,
        /// The proposed version.
        version: u64,
        /// When it is declined unanswered, in Unix seconds.
        expires_at: u64,
    },
    /// An update is fully signed: `version` is the channel's state now.
    UpdateAccepted {
        /// The channel.
        channel: ChannelId,
        /// The new version.
        version: u64,
    },
    /// A channel's state changed (balances, version or phase); carries the new view as the
    /// channel's task holds it (its durable state and phase; `channel_get` adds the peer's
    /// alias, the chain side's status and an app's description).
    ChannelChanged {
        /// The channel as it is now.
        channel: Box<ChannelInfo>,
    },
    /// This node paid: the payment is signed by both and durable.
    PaymentSent {
        /// The payment, with the balances after it and its version.
        payment: crate::api::payments::PaymentInfo,
    },
    /// This node was paid: the payment is signed by both and durable.
    PaymentReceived {
        /// The payment, with the balances after it and its version.
        payment: crate::api::payments::PaymentInfo,
    },
    /// The final state of a cooperative settle is signed by both (not a payment): the channel
    /// takes no more updates and is concluded on chain next.
    ChannelSettling {
        /// The channel.
        channel: ChannelId,
        /// The final state's version.
        version: u64,
    },
    /// A channel moved to another phase.
    PhaseChanged {
        /// The channel.
        channel: ChannelId,
        /// The phase it left.
        from: Phase,
        /// The phase it entered.
        to: Phase,
    },
    /// The peer proved itself faulty on a channel (it answered re-synchronisation with a
    /// state that no honest peer sends: a fork, a signature that does not verify); the node
    /// protects the funds on chain (a dispute with our newest state) and `channel show` says
    /// so.
    PeerFault {
        /// The channel.
        channel: ChannelId,
        /// What the peer sent and what the node does about it.
        reason: String,
    },
    /// Sent by the server, never published by the node: this subscriber fell behind and
    /// `count` events were dropped; re-read the state (`channel_list`, `proposal_list`).
    EventsMissed {
        /// How many events were dropped.
        count: u64,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_tagged_by_kind() {
        let event = NodeEvent::PhaseChanged {
            channel: ChannelId([7; 32]),
            from: Phase::Funding,
            to: Phase::Active,
        };
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json["kind"], "phase_changed");
        assert_eq!(json["from"], "funding");
        assert_eq!(json["to"], "active");
        assert_eq!(json["channel"], format!("0x{}", "07".repeat(32)));
        let back: NodeEvent = serde_json::from_value(json).unwrap();
        assert_eq!(back, event);
    }

    #[test]
    fn amounts_are_decimal_strings() {
        let balance = OnChainBalance {
            asset: "ETH".into(),
            amount: Amount::from_u128(10u128.pow(30)),
        };
        let json = serde_json::to_value(&balance).unwrap();
        assert_eq!(json["amount"], "1000000000000000000000000000000");
    }
}
