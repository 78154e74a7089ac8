//! [`StoredProposal`]: a channel proposal awaiting an answer, as the node keeps it across a
//! restart.

use crate::protocol::ChannelProposal;
use crate::wire::NodeId;
use parley_plugin_api::codec::{Decode, DecodeError, Encode, Reader};
use parley_plugin_api::model::ChannelId;

/// Which side made a proposal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Proposer {
    /// We proposed; the peer has not answered (tag 0).
    Us,
    /// The peer proposed; we (our policy or our user) have not answered (tag 1).
    Peer,
}

impl Encode for Proposer {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.push(match self {
            Proposer::Us => 0,
            Proposer::Peer => 1,
        });
    }
}

impl Decode for Proposer {
    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match u8::decode_from(reader)? {
            0 => Ok(Proposer::Us),
            1 => Ok(Proposer::Peer),
            tag => Err(DecodeError::InvalidTag {
                what: "proposer",
                tag,
            }),
        }
    }
}

/// A proposal awaiting an answer, with the peer it is exchanged with and who made it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredProposal {
    /// The proposal as sent or received.
    pub proposal: ChannelProposal,
    /// The authenticated node on the other side.
    pub peer: NodeId,
    /// Who proposed.
    pub proposer: Proposer,
}

/// The proposal's fields, the peer, who proposed, then (only for a sub-channel) the parent's
/// id: a record written before sub-channels existed reads as a proposal without a parent.
impl Encode for StoredProposal {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.proposal.encode_to(out);
        self.peer.encode_to(out);
        self.proposer.encode_to(out);
        if let Some(parent) = &self.proposal.parent {
            parent.encode_to(out);
        }
    }
}

impl Decode for StoredProposal {
    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let mut proposal = ChannelProposal::decode_from(reader)?;
        let peer = NodeId::decode_from(reader)?;
        let proposer = Proposer::decode_from(reader)?;
        if reader.remaining() > 0 {
            proposal.parent = Some(ChannelId::decode_from(reader)?);
        }
        Ok(StoredProposal {
            proposal,
            peer,
            proposer,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::stored_proposal;

    #[test]
    fn a_parent_is_kept_after_the_other_fields_and_old_records_read_without_one() {
        let ledger = stored_proposal(3, Proposer::Peer);
        let old_bytes = ledger.encode();
        assert_eq!(StoredProposal::decode(&old_bytes), Ok(ledger.clone()));
        let mut sub = ledger;
        sub.proposal.parent = Some(ChannelId([8; 32]));
        let bytes = sub.encode();
        assert_eq!(bytes.len(), old_bytes.len() + 32);
        assert_eq!(StoredProposal::decode(&bytes), Ok(sub));
    }
}
