//! Values of the transport and store interfaces, and the event envelope plugins emit.

use super::ChainEvent;
use crate::codec::{Bytes, Decode, DecodeError, Encode, Reader};
use serde::{Deserialize, Serialize};

/// A transport connection, numbered by the transport plugin; unique for the plugin instance's
/// lifetime (never reused after close).
pub type ConnectionId = u64;

/// Something that happened on a transport, delivered through the host's event sink.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TransportEvent {
    /// A connection is up: one we dialed (`inbound == false`) or one a listener accepted.
    Connected {
        /// The connection.
        connection: ConnectionId,
        /// The remote transport address, as text.
        remote: String,
        /// Whether the peer dialed us.
        inbound: bool,
    },
    /// One whole frame arrived, exactly as the peer passed it to `send`.
    Frame {
        /// The connection it came on.
        connection: ConnectionId,
        /// The frame.
        frame: Bytes,
    },
    /// A connection is gone; no more frames arrive on it and sends to it fail.
    Closed {
        /// The connection.
        connection: ConnectionId,
        /// Why, for the log.
        reason: String,
    },
}

impl Encode for TransportEvent {
    fn encode_to(&self, out: &mut Vec<u8>) {
        match self {
            TransportEvent::Connected {
                connection,
                remote,
                inbound,
            } => {
                out.push(0);
                connection.encode_to(out);
                remote.encode_to(out);
                inbound.encode_to(out);
            }
            TransportEvent::Frame { connection, frame } => {
                out.push(1);
                connection.encode_to(out);
                frame.encode_to(out);
            }
            TransportEvent::Closed { connection, reason } => {
                out.push(2);
                connection.encode_to(out);
                reason.encode_to(out);
            }
        }
    }
}

impl Decode for TransportEvent {
    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match u8::decode_from(reader)? {
            0 => Ok(TransportEvent::Connected {
                connection: Decode::decode_from(reader)?,
                remote: Decode::decode_from(reader)?,
                inbound: Decode::decode_from(reader)?,
            }),
            1 => Ok(TransportEvent::Frame {
                connection: Decode::decode_from(reader)?,
                frame: Decode::decode_from(reader)?,
            }),
            2 => Ok(TransportEvent::Closed {
                connection: Decode::decode_from(reader)?,
                reason: Decode::decode_from(reader)?,
            }),
            tag => Err(DecodeError::InvalidTag {
                what: "transport event",
                tag,
            }),
        }
    }
}

/// One write in a store commit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum WriteOp {
    /// Set `key` to `value`, replacing any old value.
    Put {
        /// The key.
        key: Bytes,
        /// The value.
        value: Bytes,
    },
    /// Remove `key`; removing a missing key is not an error.
    Delete {
        /// The key.
        key: Bytes,
    },
}

impl WriteOp {
    /// A put.
    pub fn put(key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) -> Self {
        WriteOp::Put {
            key: Bytes(key.into()),
            value: Bytes(value.into()),
        }
    }

    /// A delete.
    pub fn delete(key: impl Into<Vec<u8>>) -> Self {
        WriteOp::Delete {
            key: Bytes(key.into()),
        }
    }

    /// The key written.
    pub fn key(&self) -> &[u8] {
        match self {
            WriteOp::Put { key, .. } | WriteOp::Delete { key } => key,
        }
    }
}

impl Encode for WriteOp {
    fn encode_to(&self, out: &mut Vec<u8>) {
        match self {
            WriteOp::Put { key, value } => {
                out.push(0);
                key.encode_to(out);
                value.encode_to(out);
            }
            WriteOp::Delete { key } => {
                out.push(1);
                key.encode_to(out);
            }
        }
    }
}

impl Decode for WriteOp {
    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match u8::decode_from(reader)? {
            0 => Ok(WriteOp::Put {
                key: Decode::decode_from(reader)?,
                value: Decode::decode_from(reader)?,
            }),
            1 => Ok(WriteOp::Delete {
                key: Decode::decode_from(reader)?,
            }),
            tag => Err(DecodeError::InvalidTag {
                what: "write op",
                tag,
            }),
        }
    }
}

/// What a plugin reports to the node through the host's event sink.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PluginEvent {
    /// From a chain backend.
    Chain(ChainEvent),
    /// From a transport.
    Transport(TransportEvent),
}

impl Encode for PluginEvent {
    fn encode_to(&self, out: &mut Vec<u8>) {
        match self {
            PluginEvent::Chain(event) => {
                out.push(0);
                event.encode_to(out);
            }
            PluginEvent::Transport(event) => {
                out.push(1);
                event.encode_to(out);
            }
        }
    }
}

impl Decode for PluginEvent {
    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match u8::decode_from(reader)? {
            0 => Ok(PluginEvent::Chain(Decode::decode_from(reader)?)),
            1 => Ok(PluginEvent::Transport(Decode::decode_from(reader)?)),
            tag => Err(DecodeError::InvalidTag {
                what: "plugin event",
                tag,
            }),
        }
    }
}
