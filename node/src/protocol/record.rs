//! What a channel persists, and how it is read back (DESIGN §4, write-ahead and restore).
//!
//! A channel's durable record has four slots, and each [`PersistRecord`] replaces one of them:
//! the channel itself (written once), the newest state with the signatures we hold on it, our
//! pending update, and the phase. A store may keep the records as a log and replay them with
//! [`ChannelSnapshot::from_records`], or keep one value per slot (the newest record of each
//! kind) and replay those in any order, or keep a [`ChannelSnapshot`] and
//! [`apply`](ChannelSnapshot::apply) each record to it: all three give the same snapshot.

use super::phase::Phase;
use parley_plugin_api::canonical_struct;
use parley_plugin_api::codec::{Decode, DecodeError, Encode, Reader};
use parley_plugin_api::model::{ChannelId, Params, Sig, State};
use thiserror::Error;

/// The fixed facts of a channel: written once when it opens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelRecord {
    /// The channel's parameters.
    pub params: Params,
    /// Its id, as the chain backend computed it from `params`.
    pub channel_id: ChannelId,
    /// Our index among `params.participants`.
    pub my_index: u16,
}

canonical_struct!(ChannelRecord {
    params,
    channel_id,
    my_index
});

/// The newest state of a channel with the signatures we hold on it, in participant order.
/// Only while opening can a signature be missing; from `Funding` on, every one is present and
/// the state is fully signed. Our own signature is always present.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedRecord {
    /// The state.
    pub state: State,
    /// One slot per participant.
    pub sigs: Vec<Option<Sig>>,
}

canonical_struct!(SignedRecord { state, sigs });

/// Our proposed update that the peer has not answered yet, with our signature on it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingUpdate {
    /// The proposed state (version = newest version + 1).
    pub state: State,
    /// Our signature on it.
    pub sig: Sig,
}

canonical_struct!(PendingUpdate { state, sig });

/// One durable write. Each replaces the slot of its kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PersistRecord {
    /// The channel exists (tag 0). Written once, first.
    Opened(ChannelRecord),
    /// The newest state and its signatures (tag 1).
    Latest(SignedRecord),
    /// Our pending update, or `None` once it is answered or dropped (tag 2).
    Pending(Option<PendingUpdate>),
    /// The phase (tag 3).
    Phase(Phase),
}

impl Encode for PersistRecord {
    fn encode_to(&self, out: &mut Vec<u8>) {
        match self {
            PersistRecord::Opened(r) => {
                out.push(0);
                r.encode_to(out);
            }
            PersistRecord::Latest(r) => {
                out.push(1);
                r.encode_to(out);
            }
            PersistRecord::Pending(r) => {
                out.push(2);
                r.encode_to(out);
            }
            PersistRecord::Phase(r) => {
                out.push(3);
                r.encode_to(out);
            }
        }
    }
}

impl Decode for PersistRecord {
    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(match u8::decode_from(reader)? {
            0 => PersistRecord::Opened(Decode::decode_from(reader)?),
            1 => PersistRecord::Latest(Decode::decode_from(reader)?),
            2 => PersistRecord::Pending(Decode::decode_from(reader)?),
            3 => PersistRecord::Phase(Decode::decode_from(reader)?),
            tag => {
                return Err(DecodeError::InvalidTag {
                    what: "persist record",
                    tag,
                })
            }
        })
    }
}

/// Everything durable about one channel: what [`Channel::restore`] rebuilds it from.
///
/// [`Channel::restore`]: super::Channel::restore
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelSnapshot {
    /// The fixed facts.
    pub channel: ChannelRecord,
    /// The phase.
    pub phase: Phase,
    /// The newest state and its signatures.
    pub latest: SignedRecord,
    /// Our pending update, if any.
    pub pending: Option<PendingUpdate>,
}

canonical_struct!(ChannelSnapshot {
    channel,
    phase,
    latest,
    pending
});

/// Why persisted records do not make a channel.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RestoreError {
    /// No `Opened` record.
    #[error("the records have no `Opened` record")]
    MissingChannel,
    /// No `Latest` record.
    #[error("the records have no newest state")]
    MissingLatest,
    /// Two `Opened` records disagree.
    #[error("two `Opened` records disagree")]
    ConflictingChannel,
    /// The channel has fewer than two participants.
    #[error("the stored channel has {found} participants; a channel needs at least two")]
    UnsupportedParticipants {
        /// Participants stored.
        found: usize,
    },
    /// Our index is not a participant.
    #[error("our index {index} is not among the {participants} participants")]
    IndexOutOfRange {
        /// The stored index.
        index: u16,
        /// How many participants the channel has.
        participants: usize,
    },
    /// The newest state belongs to another channel.
    #[error("the stored state is for channel {found}, not {expected}")]
    StateOfOtherChannel {
        /// The channel's id.
        expected: ChannelId,
        /// The state's channel id.
        found: ChannelId,
    },
    /// The number of signature slots differs from the number of participants.
    #[error("the stored state has {found} signature slots for {expected} participants")]
    SignatureSlots {
        /// Slots found.
        found: usize,
        /// Participants.
        expected: usize,
    },
    /// Our own signature is missing (it is always persisted before anything else).
    #[error("our own signature on the stored state is missing")]
    MissingOwnSignature,
    /// A signature is missing although the channel is past `Opening`.
    #[error("participant {index}'s signature is missing in phase {phase}")]
    MissingSignature {
        /// The participant.
        index: usize,
        /// The stored phase.
        phase: Phase,
    },
    /// A final state is stored but the phase says updates continue.
    #[error("the stored state is final but the phase is {0}")]
    FinalInPhase(Phase),
}

impl ChannelSnapshot {
    /// Replays `records` in order (or the newest record of each kind, in any order).
    pub fn from_records<'a>(
        records: impl IntoIterator<Item = &'a PersistRecord>,
    ) -> Result<Self, RestoreError> {
        let mut channel = None;
        let mut latest = None;
        let mut pending = None;
        let mut phase = Phase::Opening;
        for record in records {
            match record {
                PersistRecord::Opened(r) => {
                    if channel.as_ref().is_some_and(|c| c != r) {
                        return Err(RestoreError::ConflictingChannel);
                    }
                    channel = Some(r.clone());
                }
                PersistRecord::Latest(r) => latest = Some(r.clone()),
                PersistRecord::Pending(r) => pending = r.clone(),
                PersistRecord::Phase(p) => phase = *p,
            }
        }
        Ok(ChannelSnapshot {
            channel: channel.ok_or(RestoreError::MissingChannel)?,
            phase,
            latest: latest.ok_or(RestoreError::MissingLatest)?,
            pending,
        })
    }

    /// Applies one more record, as a store that keeps snapshots does on every write.
    pub fn apply(&mut self, record: &PersistRecord) -> Result<(), RestoreError> {
        match record {
            PersistRecord::Opened(r) if *r != self.channel => {
                return Err(RestoreError::ConflictingChannel)
            }
            PersistRecord::Opened(_) => {}
            PersistRecord::Latest(r) => self.latest = r.clone(),
            PersistRecord::Pending(r) => self.pending = r.clone(),
            PersistRecord::Phase(p) => self.phase = *p,
        }
        Ok(())
    }

    /// The records that rebuild this snapshot, one per slot.
    pub fn to_records(&self) -> Vec<PersistRecord> {
        vec![
            PersistRecord::Opened(self.channel.clone()),
            PersistRecord::Latest(self.latest.clone()),
            PersistRecord::Pending(self.pending.clone()),
            PersistRecord::Phase(self.phase),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::test_support::strategies::{channel_id, sig, state};
    use parley_plugin_api::model::Participant;
    use proptest::collection::vec;
    use proptest::prelude::*;

    fn record() -> impl Strategy<Value = PersistRecord> {
        let phase = prop_oneof![
            Just(Phase::Opening),
            Just(Phase::Funding),
            Just(Phase::Active),
            Just(Phase::Closing),
            Just(Phase::Disputed),
            Just(Phase::Closed),
        ];
        prop_oneof![
            (channel_id(), any::<u16>(), any::<[u8; 32]>()).prop_map(|(id, my_index, nonce)| {
                PersistRecord::Opened(ChannelRecord {
                    params: Params {
                        participants: vec![Participant(vec![1; 20]), Participant(vec![2; 20])],
                        challenge_duration: 60,
                        nonce,
                        app: None,
                        ledger_channel: true,
                        virtual_channel: false,
                    },
                    channel_id: id,
                    my_index,
                })
            }),
            (state(), vec(proptest::option::of(sig()), 0..3))
                .prop_map(|(state, sigs)| PersistRecord::Latest(SignedRecord { state, sigs })),
            proptest::option::of((state(), sig())).prop_map(|p| PersistRecord::Pending(
                p.map(|(state, sig)| PendingUpdate { state, sig })
            )),
            phase.prop_map(PersistRecord::Phase),
        ]
    }

    proptest! {
        #[test]
        fn records_round_trip_canonically(record in record()) {
            let bytes = record.encode();
            let decoded = PersistRecord::decode(&bytes).unwrap();
            prop_assert_eq!(&decoded, &record);
            prop_assert_eq!(decoded.encode(), bytes);
        }

        #[test]
        fn arbitrary_bytes_never_panic(input in vec(any::<u8>(), 0..200)) {
            let _ = PersistRecord::decode(&input);
            let _ = ChannelSnapshot::decode(&input);
        }
    }

    #[test]
    fn records_need_a_channel_and_a_state() {
        assert_eq!(
            ChannelSnapshot::from_records(&[PersistRecord::Phase(Phase::Active)]),
            Err(RestoreError::MissingChannel)
        );
        assert_eq!(
            PersistRecord::decode(&[4]),
            Err(DecodeError::InvalidTag {
                what: "persist record",
                tag: 4
            })
        );
        assert_eq!(
            Phase::decode(&[6]),
            Err(DecodeError::InvalidTag {
                what: "phase",
                tag: 6
            })
        );
    }
}
