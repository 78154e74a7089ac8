//! The channel-level messages two peers exchange (DESIGN §4), with the canonical binary encoding
//! of `parley_plugin_api::codec` and serde for the API.
//!
//! The wire module wraps a [`ChannelMessage`] in its versioned envelope; the sender of a message
//! is the authenticated peer of the connection it arrived on, never a field in the message.
//!
//! Every enum is encoded as a one-byte tag followed by its fields; every struct as its fields in
//! declaration order. The tags are part of the wire format: never renumber them.

use parley_plugin_api::canonical_struct;
use parley_plugin_api::codec::{parse_hex, Bytes, Decode, DecodeError, Encode, Reader};
use parley_plugin_api::model::{
    Address, Amount, Asset, ChannelId, Participant, Sig, SignedState, State, SubAlloc,
};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Identifies one channel proposal until it is accepted or rejected; chosen at random by the
/// proposer. Shown as hex.
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProposalId(pub [u8; 32]);

impl fmt::Display for ProposalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{}", hex::encode(self.0))
    }
}

impl fmt::Debug for ProposalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ProposalId({self})")
    }
}

impl std::str::FromStr for ProposalId {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        let bytes = parse_hex(text)?;
        let array: [u8; 32] = bytes.try_into().map_err(|b: Vec<u8>| {
            format!("a proposal id has 32 bytes, `{text}` has {}", b.len())
        })?;
        Ok(ProposalId(array))
    }
}

impl Serialize for ProposalId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for ProposalId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl Encode for ProposalId {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.0.encode_to(out);
    }
}

impl Decode for ProposalId {
    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(ProposalId(reader.take_array("proposal id")?))
    }
}

/// Serde for 32-byte values (nonce shares) as `0x`-prefixed hex, like every other id.
mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer, const N: usize>(
        value: &[u8; N],
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("0x{}", hex::encode(value)))
    }

    pub fn deserialize<'de, D: Deserializer<'de>, const N: usize>(
        d: D,
    ) -> Result<[u8; N], D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        let bytes = parley_plugin_api::codec::parse_hex(&text).map_err(serde::de::Error::custom)?;
        bytes
            .try_into()
            .map_err(|_| serde::de::Error::custom(format!("expected {N} bytes of hex")))
    }
}

/// The canonical encoding of a struct's fields in declaration order, leaving out `parent`
/// (which the enclosing encodings carry; see [`ChannelProposal::parent`]).
macro_rules! legacy_struct {
    ($name:ident { $($field:ident),* $(,)? }) => {
        impl Encode for $name {
            fn encode_to(&self, out: &mut Vec<u8>) {
                $( Encode::encode_to(&self.$field, out); )*
            }
        }
        impl Decode for $name {
            fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
                Ok($name { $( $field: Decode::decode_from(reader)?, )* parent: None })
            }
        }
    };
}

/// A proposal to open a two-party channel. The proposer is participant 0; the accepter names
/// its own address (participant 1) in its [`ProposalAccept`].
///
/// Every field a Perun channel's parameters and opening state take is here, so that a peer can
/// propose anything the chain would enforce, and the receiver refuses what it cannot enforce
/// (see [`validate_proposal`](super::validate_proposal)): this node opens two-party ledger
/// payment channels only, so `app`, `app_data` and `locked` must be empty, `ledger_channel`
/// set and `virtual_channel` clear.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelProposal {
    /// Names this proposal in the accept or reject that answers it.
    pub proposal_id: ProposalId,
    /// The proposer's chain address (participant 0).
    pub proposer: Participant,
    /// The channel's assets, in the order of `balances`.
    pub assets: Vec<Asset>,
    /// The opening balances: one row per asset, one column per participant.
    pub balances: Vec<Vec<Amount>>,
    /// Funds of the opening state locked in sub-channels.
    pub locked: Vec<SubAlloc>,
    /// Seconds of chain time a registered state can be refuted.
    pub challenge_duration: u64,
    /// The proposer's half of the channel nonce, chosen at random.
    #[serde(with = "hex_bytes")]
    pub nonce_share: [u8; 32],
    /// The app that rules the channel, or `None` for a payment channel.
    pub app: Option<Address>,
    /// The app data of the opening state (empty for payment channels).
    pub app_data: Bytes,
    /// Whether the channel is funded directly on the ledger (`Params::ledger_channel`).
    pub ledger_channel: bool,
    /// Whether the channel is a virtual channel funded through an intermediary
    /// (`Params::virtual_channel`).
    pub virtual_channel: bool,
    /// The channel of both parties whose state will lock this channel's funds (a sub-channel,
    /// `ledger_channel` clear), or `None` for a channel funded on chain. Not part of the
    /// struct's own encoding: [`ChannelMessage`] carries it by tag (a proposal without a
    /// parent keeps tag 0 and its bytes from before sub-channels existed) and the store after
    /// the proposal's other fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<ChannelId>,
}

legacy_struct!(ChannelProposal {
    proposal_id,
    proposer,
    assets,
    balances,
    locked,
    challenge_duration,
    nonce_share,
    app,
    app_data,
    ledger_channel,
    virtual_channel,
});

/// The accepter's yes to a [`ChannelProposal`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProposalAccept {
    /// The proposal accepted.
    pub proposal_id: ProposalId,
    /// The accepter's half of the channel nonce, chosen at random.
    #[serde(with = "hex_bytes")]
    pub nonce_share: [u8; 32],
    /// The accepter's chain address: participant 1 of the channel.
    pub participant: Participant,
}

canonical_struct!(ProposalAccept {
    proposal_id,
    nonce_share,
    participant,
});

/// The accepter's no to a [`ChannelProposal`], with a reason for the proposer's user.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProposalReject {
    /// The proposal rejected.
    pub proposal_id: ProposalId,
    /// Why, for humans.
    pub reason: String,
}

canonical_struct!(ProposalReject {
    proposal_id,
    reason
});

/// A participant's signature on the opening state (version 0) of a channel.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpeningSig {
    /// The channel.
    pub channel_id: ChannelId,
    /// The sender's signature on version 0.
    pub sig: Sig,
}

canonical_struct!(OpeningSig { channel_id, sig });

/// A proposed next state, signed by the proposer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateProposal {
    /// The channel (also inside `state`; both must agree).
    pub channel_id: ChannelId,
    /// The proposed state: a version above the newest one and every spent one (usually the
    /// newest + 1).
    pub state: State,
    /// The proposer's signature on `state`.
    pub sig: Sig,
    /// What the payer says about the payment this update makes (its id, an invoice's for an
    /// invoice payment), or `None` (a move, a settlement, an update not asked as a payment).
    /// Not part of the struct's own encoding: [`ChannelMessage`] carries it by tag (a proposal
    /// without one keeps tag 4 and its old bytes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment: Option<PaymentNote>,
    /// The payments this update makes together, when it makes several (queued payments
    /// batched into one update, #15): each with its id and amount; the amounts add up to the
    /// transfer the state makes. Empty otherwise; never together with `payment`. Carried by
    /// tag like `payment`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub batch: Vec<BatchedPayment>,
}

impl Encode for UpdateProposal {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.channel_id.encode_to(out);
        self.state.encode_to(out);
        self.sig.encode_to(out);
    }
}

impl Decode for UpdateProposal {
    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(UpdateProposal {
            channel_id: Decode::decode_from(reader)?,
            state: Decode::decode_from(reader)?,
            sig: Decode::decode_from(reader)?,
            payment: None,
            batch: Vec::new(),
        })
    }
}

/// The payment an [`UpdateProposal`] makes, as the payer names it: the id both nodes record
/// it under (an invoice's id, so the payee knows which invoice is paid) and the invoice's memo.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentNote {
    /// The payment's id.
    #[serde(with = "hex_bytes")]
    pub id: [u8; 16],
    /// The invoice's memo (at most [`PaymentNote::MAX_MEMO`] bytes are recorded).
    pub memo: String,
}

impl PaymentNote {
    /// The longest memo a node records, in bytes.
    pub const MAX_MEMO: usize = 256;
}

canonical_struct!(PaymentNote { id, memo });

/// One of the payments an [`UpdateProposal`] makes together ([`UpdateProposal::batch`]): its
/// id, its part of the transfer, and an invoice's memo for an invoice payment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchedPayment {
    /// The payment's id.
    #[serde(with = "hex_bytes")]
    pub id: [u8; 16],
    /// How much of the update's transfer it is.
    pub amount: Amount,
    /// The invoice's memo (at most [`PaymentNote::MAX_MEMO`] bytes are recorded).
    pub memo: String,
}

canonical_struct!(BatchedPayment { id, amount, memo });

/// The most payments one update makes together: a batch stays a small frame (its memos
/// included) and a small write.
pub const MAX_BATCH: usize = 32;

/// The peer's yes to an [`UpdateProposal`]: its signature on the proposed state, which makes
/// that state fully signed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateAccept {
    /// The channel.
    pub channel_id: ChannelId,
    /// The version accepted.
    pub version: u64,
    /// The accepter's signature on the proposed state.
    pub sig: Sig,
}

canonical_struct!(UpdateAccept {
    channel_id,
    version,
    sig
});

/// Why an update was refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "detail", rename_all = "snake_case")]
pub enum RejectReason {
    /// The proposal's version is spent: the sender signed another state of it (or knows that
    /// someone did), so it may not sign this one. The receiver retries above it. Also what a
    /// race's winner sends the loser if it cannot propose its update again.
    Concurrent,
    /// The proposal breaks a protocol rule (an invariant, a signature, the channel's phase).
    Invalid(String),
    /// The proposal is valid but the sender's user or policy declined it.
    Declined(String),
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RejectReason::Concurrent => {
                f.write_str("the version was spent by another proposal; retry above it")
            }
            RejectReason::Invalid(why) => write!(f, "invalid update: {why}"),
            RejectReason::Declined(why) => write!(f, "declined: {why}"),
        }
    }
}

impl Encode for RejectReason {
    fn encode_to(&self, out: &mut Vec<u8>) {
        match self {
            RejectReason::Concurrent => out.push(0),
            RejectReason::Invalid(why) => {
                out.push(1);
                why.encode_to(out);
            }
            RejectReason::Declined(why) => {
                out.push(2);
                why.encode_to(out);
            }
        }
    }
}

impl Decode for RejectReason {
    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match u8::decode_from(reader)? {
            0 => Ok(RejectReason::Concurrent),
            1 => Ok(RejectReason::Invalid(String::decode_from(reader)?)),
            2 => Ok(RejectReason::Declined(String::decode_from(reader)?)),
            tag => Err(DecodeError::InvalidTag {
                what: "reject reason",
                tag,
            }),
        }
    }
}

/// The peer's no to an [`UpdateProposal`]. Every proposal is answered, never met with silence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateReject {
    /// The channel.
    pub channel_id: ChannelId,
    /// The version refused.
    pub version: u64,
    /// Why.
    pub reason: RejectReason,
}

canonical_struct!(UpdateReject {
    channel_id,
    version,
    reason
});

/// A state with one signature per participant, in participant order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FullySignedState {
    /// The state.
    pub state: State,
    /// One signature per participant, in participant order.
    pub sigs: Vec<Sig>,
}

canonical_struct!(FullySignedState { state, sigs });

/// Asks the peer for its newest fully signed state after a (re)connection (crash recovery).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncRequest {
    /// The channel.
    pub channel_id: ChannelId,
    /// The version of the sender's newest fully signed state (0 while the channel opens).
    pub latest_version: u64,
    /// The highest version the sender knows spent (a state of it was signed and did not
    /// become the newest; see `protocol/channel/update.rs`): the receiver proposes above it.
    pub spent_version: u64,
}

canonical_struct!(SyncRequest {
    channel_id,
    latest_version,
    spent_version
});

/// The answer to a [`SyncRequest`]: the sender's newest fully signed state, and its own
/// half-done update if it has one (reported, never adopted: a half-done update is discarded).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncReply {
    /// The channel.
    pub channel_id: ChannelId,
    /// The sender's newest fully signed state.
    pub latest: FullySignedState,
    /// The sender's proposed-but-unanswered update and its signature on it, if any.
    pub pending: Option<(State, Sig)>,
}

canonical_struct!(SyncReply {
    channel_id,
    latest,
    pending
});

/// A virtual channel's proposal on its way along the path: from the proposer to the
/// intermediary, then from the intermediary on to the accepter. Each hop names its own ledger
/// channel with the receiver; the ends' nodes are named so that the accepter answers the
/// proposer directly (at `proposer_address`) and the intermediary knows where to forward.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VirtualProposal {
    /// The proposal, flagged virtual (its `parent` is not sent: each node sets its own).
    pub proposal: ChannelProposal,
    /// The sender's ledger channel with the receiver, which is to lock the virtual channel.
    pub parent: ChannelId,
    /// The proposer's node id (its compressed public key, 33 bytes).
    pub proposer_node: Bytes,
    /// Where the proposer's node listens, for the accepter to answer it directly.
    pub proposer_address: String,
    /// The accepter's node id (33 bytes).
    pub accepter_node: Bytes,
    /// The intermediaries after the receiver on the way to the accepter, in order, by node id
    /// (33 bytes each): empty when the receiver has a ledger channel with the accepter. Each
    /// intermediary forwards the proposal to the first one and drops it from the list; at most
    /// [`MAX_VIRTUAL_PATH`] of them.
    pub path: Vec<Bytes>,
    /// What each intermediary from the receiver on charges for carrying the virtual channel
    /// (base units of the first asset): the receiver's fee, then one per entry of `path`; the
    /// proposer pays them all, each hop's lock moving what the intermediaries after it charge
    /// from the participant on the proposer's side to the other. Empty: none charges.
    pub fees: Vec<Amount>,
}

canonical_struct!(VirtualProposal {
    proposal,
    parent,
    proposer_node,
    proposer_address,
    accepter_node,
    path,
    fees
});

/// The most intermediaries a [`VirtualProposal`] may still name after its receiver: every one
/// locks the virtual channel's funds for its lifetime, and a longer path only adds nodes that
/// can stall the opening.
pub const MAX_VIRTUAL_PATH: usize = 4;

/// An end of a virtual channel hands the intermediary the virtual channel's fully signed
/// state: its opening state before the end's ledger channel locks it, its final state before
/// that channel merges it. The intermediary checks it and holds it, so that it can register the
/// virtual channel with either of its ledger channels.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VirtualChild {
    /// The sender's ledger channel with the intermediary that locks it.
    pub parent: ChannelId,
    /// The virtual channel's parameters, state and every participant's signature.
    pub child: SignedState,
}

canonical_struct!(VirtualChild { parent, child });

/// Every channel-level message. The wire envelope carries one of these as its body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "body", rename_all = "snake_case")]
pub enum ChannelMessage {
    /// Tag 0.
    Proposal(ChannelProposal),
    /// Tag 1.
    ProposalAccept(ProposalAccept),
    /// Tag 2.
    ProposalReject(ProposalReject),
    /// Tag 3.
    OpeningSig(OpeningSig),
    /// Tag 4.
    UpdateProposal(UpdateProposal),
    /// Tag 5.
    UpdateAccept(UpdateAccept),
    /// Tag 6.
    UpdateReject(UpdateReject),
    /// Tag 7.
    SyncRequest(SyncRequest),
    /// Tag 8.
    SyncReply(SyncReply),
    /// Tag 11.
    VirtualProposal(Box<VirtualProposal>),
    /// Tag 12.
    VirtualChild(VirtualChild),
}

/// The tag of a [`ChannelMessage::Proposal`] that names a parent channel: the proposal's
/// fields, then the parent's id (a node that predates sub-channels refuses the unknown tag
/// instead of misreading it).
const SUB_CHANNEL_PROPOSAL_TAG: u8 = 9;

/// The tag of a [`ChannelMessage::UpdateProposal`] that carries a [`PaymentNote`]: the
/// proposal's fields, then the note.
const NOTED_UPDATE_PROPOSAL_TAG: u8 = 10;

/// The tag of a [`ChannelMessage::UpdateProposal`] that makes several payments: the
/// proposal's fields, then [`UpdateProposal::batch`] (2 to [`MAX_BATCH`] payments).
const BATCHED_UPDATE_PROPOSAL_TAG: u8 = 13;

impl ChannelMessage {
    /// The channel a message is about, for routing to its channel task; `None` for the
    /// proposal messages, which precede the channel (route those by [`ChannelMessage::proposal_id`]).
    pub fn channel_id(&self) -> Option<ChannelId> {
        match self {
            ChannelMessage::Proposal(_)
            | ChannelMessage::ProposalAccept(_)
            | ChannelMessage::ProposalReject(_)
            | ChannelMessage::VirtualProposal(_)
            | ChannelMessage::VirtualChild(_) => None,
            ChannelMessage::OpeningSig(m) => Some(m.channel_id),
            ChannelMessage::UpdateProposal(m) => Some(m.channel_id),
            ChannelMessage::UpdateAccept(m) => Some(m.channel_id),
            ChannelMessage::UpdateReject(m) => Some(m.channel_id),
            ChannelMessage::SyncRequest(m) => Some(m.channel_id),
            ChannelMessage::SyncReply(m) => Some(m.channel_id),
        }
    }

    /// The proposal a proposal message is about; `None` for channel messages.
    pub fn proposal_id(&self) -> Option<ProposalId> {
        match self {
            ChannelMessage::Proposal(m) => Some(m.proposal_id),
            ChannelMessage::ProposalAccept(m) => Some(m.proposal_id),
            ChannelMessage::ProposalReject(m) => Some(m.proposal_id),
            ChannelMessage::VirtualProposal(m) => Some(m.proposal.proposal_id),
            _ => None,
        }
    }

    /// A short name of the message kind, for logs.
    pub fn kind(&self) -> &'static str {
        match self {
            ChannelMessage::Proposal(_) => "proposal",
            ChannelMessage::ProposalAccept(_) => "proposal_accept",
            ChannelMessage::ProposalReject(_) => "proposal_reject",
            ChannelMessage::OpeningSig(_) => "opening_sig",
            ChannelMessage::UpdateProposal(_) => "update_proposal",
            ChannelMessage::UpdateAccept(_) => "update_accept",
            ChannelMessage::UpdateReject(_) => "update_reject",
            ChannelMessage::SyncRequest(_) => "sync_request",
            ChannelMessage::SyncReply(_) => "sync_reply",
            ChannelMessage::VirtualProposal(_) => "virtual_proposal",
            ChannelMessage::VirtualChild(_) => "virtual_child",
        }
    }
}

impl Encode for ChannelMessage {
    fn encode_to(&self, out: &mut Vec<u8>) {
        match self {
            ChannelMessage::Proposal(m) => match &m.parent {
                None => {
                    out.push(0);
                    m.encode_to(out);
                }
                Some(parent) => {
                    out.push(SUB_CHANNEL_PROPOSAL_TAG);
                    m.encode_to(out);
                    parent.encode_to(out);
                }
            },
            ChannelMessage::ProposalAccept(m) => {
                out.push(1);
                m.encode_to(out);
            }
            ChannelMessage::ProposalReject(m) => {
                out.push(2);
                m.encode_to(out);
            }
            ChannelMessage::OpeningSig(m) => {
                out.push(3);
                m.encode_to(out);
            }
            ChannelMessage::UpdateProposal(m) => match &m.payment {
                _ if !m.batch.is_empty() => {
                    out.push(BATCHED_UPDATE_PROPOSAL_TAG);
                    m.encode_to(out);
                    m.batch.encode_to(out);
                }
                None => {
                    out.push(4);
                    m.encode_to(out);
                }
                Some(note) => {
                    out.push(NOTED_UPDATE_PROPOSAL_TAG);
                    m.encode_to(out);
                    note.encode_to(out);
                }
            },
            ChannelMessage::UpdateAccept(m) => {
                out.push(5);
                m.encode_to(out);
            }
            ChannelMessage::UpdateReject(m) => {
                out.push(6);
                m.encode_to(out);
            }
            ChannelMessage::SyncRequest(m) => {
                out.push(7);
                m.encode_to(out);
            }
            ChannelMessage::SyncReply(m) => {
                out.push(8);
                m.encode_to(out);
            }
            ChannelMessage::VirtualProposal(m) => {
                out.push(11);
                m.encode_to(out);
            }
            ChannelMessage::VirtualChild(m) => {
                out.push(12);
                m.encode_to(out);
            }
        }
    }
}

impl Decode for ChannelMessage {
    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(match u8::decode_from(reader)? {
            0 => ChannelMessage::Proposal(Decode::decode_from(reader)?),
            1 => ChannelMessage::ProposalAccept(Decode::decode_from(reader)?),
            2 => ChannelMessage::ProposalReject(Decode::decode_from(reader)?),
            3 => ChannelMessage::OpeningSig(Decode::decode_from(reader)?),
            4 => ChannelMessage::UpdateProposal(Decode::decode_from(reader)?),
            5 => ChannelMessage::UpdateAccept(Decode::decode_from(reader)?),
            6 => ChannelMessage::UpdateReject(Decode::decode_from(reader)?),
            7 => ChannelMessage::SyncRequest(Decode::decode_from(reader)?),
            8 => ChannelMessage::SyncReply(Decode::decode_from(reader)?),
            11 => ChannelMessage::VirtualProposal(Box::new(Decode::decode_from(reader)?)),
            12 => ChannelMessage::VirtualChild(Decode::decode_from(reader)?),
            SUB_CHANNEL_PROPOSAL_TAG => {
                let mut proposal = ChannelProposal::decode_from(reader)?;
                proposal.parent = Some(ChannelId::decode_from(reader)?);
                ChannelMessage::Proposal(proposal)
            }
            NOTED_UPDATE_PROPOSAL_TAG => {
                let mut proposal = UpdateProposal::decode_from(reader)?;
                proposal.payment = Some(PaymentNote::decode_from(reader)?);
                ChannelMessage::UpdateProposal(proposal)
            }
            BATCHED_UPDATE_PROPOSAL_TAG => {
                let mut proposal = UpdateProposal::decode_from(reader)?;
                let batch = Vec::<BatchedPayment>::decode_from(reader)?;
                if !(2..=MAX_BATCH).contains(&batch.len()) {
                    return Err(DecodeError::Invalid {
                        what: "payment batch",
                        reason: format!("{} payments; a batch makes 2 to {MAX_BATCH}", batch.len()),
                    });
                }
                proposal.batch = batch;
                ChannelMessage::UpdateProposal(proposal)
            }
            tag => {
                return Err(DecodeError::InvalidTag {
                    what: "channel message",
                    tag,
                })
            }
        })
    }
}

#[cfg(test)]
#[path = "messages_tests.rs"]
mod tests;
