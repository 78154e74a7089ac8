//! What a channel persists, and how it is read back (DESIGN §4, write-ahead and restore).
//!
//! A channel's durable record has five slots, and each [`PersistRecord`] replaces one of them:
//! the channel itself (written once), the newest state with the signatures we hold on it, our
//! pending update, the phase, and how the channel is funded (written once, and only for a
//! channel that is not ledger-funded: an absent funding slot is [`Funding::Ledger`], so records
//! written before the slot existed restore unchanged). A store may keep the records as a log and replay them with
//! [`ChannelSnapshot::from_records`], or keep one value per slot (the newest record of each
//! kind) and replay those in any order, or keep a [`ChannelSnapshot`] and
//! [`apply`](ChannelSnapshot::apply) each record to it: all three give the same snapshot.

use super::funding::Funding;
use super::phase::Phase;
use parley_plugin_api::canonical_struct;
use parley_plugin_api::codec::{Decode, DecodeError, Encode, Reader};
use parley_plugin_api::model::{ChannelId, Params, Sig, SignedState, State};
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

/// Our proposed update that the peer has not answered yet, with our signature on it; or, in
/// the pending slot, the last one withdrawn (rejected, lost in a race, dropped by
/// re-synchronisation), kept so that a restart knows its version is spent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingUpdate {
    /// The proposed state (version above the newest one).
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
    /// Our pending update (or the last one withdrawn), or `None` once the newest state covers
    /// it (tag 2).
    Pending(Option<PendingUpdate>),
    /// The phase (tag 3).
    Phase(Phase),
    /// How the channel is funded (tag 4). Written once, when the channel opens; a store keeps
    /// [`Funding::Ledger`] as no record at all, which is what every older store holds.
    Funding(Funding),
    /// The version a restart of this node spent above every state the other records hold
    /// (tag 5): a proposal of that version may have left before its record was durable, so
    /// no state of it is ever signed (`Channel::restore`). Written by the node as it starts,
    /// for every restored channel before any task runs (a few hundred channels a commit), so
    /// that the first proposal after the restart may leave while its own record is written. A store keeps 0 (never restarted)
    /// as no record at all.
    Spent(u64),
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
            PersistRecord::Funding(r) => {
                out.push(4);
                r.encode_to(out);
            }
            PersistRecord::Spent(version) => {
                out.push(5);
                version.encode_to(out);
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
            4 => PersistRecord::Funding(Decode::decode_from(reader)?),
            5 => PersistRecord::Spent(Decode::decode_from(reader)?),
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
    /// How the channel is funded ([`Funding::Ledger`] when no funding record was written).
    pub funding: Funding,
    /// The version the last restart spent ([`PersistRecord::Spent`]; 0 when none was written).
    pub spent: u64,
}

canonical_struct!(ChannelSnapshot {
    channel,
    phase,
    latest,
    pending,
    funding,
    spent
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
    /// Two `Funding` records disagree (a channel's funding never changes).
    #[error("two funding records disagree: {first} and then {second}")]
    ConflictingFunding {
        /// The funding recorded first.
        first: Funding,
        /// The funding that contradicts it.
        second: Funding,
    },
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
    /// The newest state with the parameters and every signature: what `register`,
    /// `conclude_final` and a tree's registration need. `None` if a signature is missing
    /// (only while opening).
    pub fn signed_latest(&self) -> Option<SignedState> {
        let sigs = self
            .latest
            .sigs
            .iter()
            .cloned()
            .collect::<Option<Vec<_>>>()?;
        Some(SignedState {
            params: self.channel.params.clone(),
            state: self.latest.state.clone(),
            sigs,
        })
    }

    /// Replays `records` in order (or the newest record of each kind, in any order).
    pub fn from_records<'a>(
        records: impl IntoIterator<Item = &'a PersistRecord>,
    ) -> Result<Self, RestoreError> {
        let mut channel = None;
        let mut latest = None;
        let mut pending = None;
        let mut phase = Phase::Opening;
        let mut funding: Option<Funding> = None;
        let mut spent = 0;
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
                PersistRecord::Funding(f) => {
                    if let Some(first) = funding.as_ref().filter(|first| *first != f) {
                        return Err(RestoreError::ConflictingFunding {
                            first: first.clone(),
                            second: f.clone(),
                        });
                    }
                    funding = Some(f.clone());
                }
                PersistRecord::Spent(version) => spent = *version,
            }
        }
        Ok(ChannelSnapshot {
            channel: channel.ok_or(RestoreError::MissingChannel)?,
            phase,
            latest: latest.ok_or(RestoreError::MissingLatest)?,
            pending,
            funding: funding.unwrap_or_default(),
            spent,
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
            PersistRecord::Funding(f) if *f != self.funding => {
                return Err(RestoreError::ConflictingFunding {
                    first: self.funding.clone(),
                    second: f.clone(),
                })
            }
            PersistRecord::Funding(_) => {}
            PersistRecord::Spent(version) => self.spent = *version,
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
            PersistRecord::Funding(self.funding.clone()),
            PersistRecord::Spent(self.spent),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::test_support::strategies::{channel_id, sig, state};
    use parley_plugin_api::model::{ChannelId, Participant};
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
            channel_id().prop_map(|parent| PersistRecord::Funding(Funding::SubChannel { parent })),
            Just(PersistRecord::Funding(Funding::Ledger)),
            any::<u64>().prop_map(PersistRecord::Spent),
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

    fn opened() -> ChannelRecord {
        ChannelRecord {
            params: Params {
                participants: vec![Participant(vec![1; 20]), Participant(vec![2; 20])],
                challenge_duration: 60,
                nonce: [0; 32],
                app: None,
                ledger_channel: true,
                virtual_channel: false,
            },
            channel_id: ChannelId([1; 32]),
            my_index: 0,
        }
    }

    fn latest() -> SignedRecord {
        let state = State {
            channel_id: ChannelId([1; 32]),
            version: 0,
            allocation: Default::default(),
            app_data: Default::default(),
            is_final: false,
        };
        SignedRecord {
            state,
            sigs: vec![None, None],
        }
    }

    #[test]
    fn records_without_a_funding_record_restore_as_ledger_funded() {
        let records = [
            PersistRecord::Opened(opened()),
            PersistRecord::Latest(latest()),
            PersistRecord::Phase(Phase::Funding),
        ];
        let snapshot = ChannelSnapshot::from_records(&records).unwrap();
        assert_eq!(snapshot.funding, Funding::Ledger);
        assert_eq!(
            ChannelSnapshot::from_records(&snapshot.to_records()),
            Ok(snapshot)
        );
    }

    #[test]
    fn a_funding_record_restores_and_never_changes() {
        let sub = Funding::SubChannel {
            parent: ChannelId([9; 32]),
        };
        let records = [
            PersistRecord::Opened(opened()),
            PersistRecord::Funding(sub.clone()),
            PersistRecord::Latest(latest()),
        ];
        let mut snapshot = ChannelSnapshot::from_records(&records).unwrap();
        assert_eq!(snapshot.funding, sub);
        assert_eq!(
            ChannelSnapshot::from_records(&snapshot.to_records()).as_ref(),
            Ok(&snapshot)
        );
        let other = PersistRecord::Funding(Funding::Ledger);
        assert!(matches!(
            snapshot.apply(&other),
            Err(RestoreError::ConflictingFunding { .. })
        ));
        snapshot
            .apply(&PersistRecord::Funding(sub.clone()))
            .unwrap();
        let mut twice = records.to_vec();
        twice.push(other);
        assert!(matches!(
            ChannelSnapshot::from_records(&twice),
            Err(RestoreError::ConflictingFunding { .. })
        ));
    }

    #[test]
    fn records_need_a_channel_and_a_state() {
        assert_eq!(
            ChannelSnapshot::from_records(&[PersistRecord::Phase(Phase::Active)]),
            Err(RestoreError::MissingChannel)
        );
        assert_eq!(
            PersistRecord::decode(&[6]),
            Err(DecodeError::InvalidTag {
                what: "persist record",
                tag: 6
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
