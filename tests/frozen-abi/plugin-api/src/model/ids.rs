//! Identifiers: channels, participants, signatures, assets.

use crate::codec::{decode_bytes, encode_bytes, parse_hex, Decode, DecodeError, Encode, Reader};
use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! hex_display {
    ($name:ident) => {
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "0x{}", hex::encode(self.as_bytes()))
            }
        }
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(
                    f,
                    "{}(0x{})",
                    stringify!($name),
                    hex::encode(self.as_bytes())
                )
            }
        }
        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.to_string())
            }
        }
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

/// The 32-byte identifier of a channel, computed by the chain backend from its [`Params`].
///
/// [`Params`]: super::Params
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ChannelId(pub [u8; 32]);

impl ChannelId {
    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl std::str::FromStr for ChannelId {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        let bytes = parse_hex(text)?;
        let array: [u8; 32] = bytes
            .try_into()
            .map_err(|b: Vec<u8>| format!("a channel id has 32 bytes, `{text}` has {}", b.len()))?;
        Ok(ChannelId(array))
    }
}

hex_display!(ChannelId);

impl Encode for ChannelId {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.0.encode_to(out);
    }
}

impl Decode for ChannelId {
    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(ChannelId(reader.take_array("channel id")?))
    }
}

macro_rules! opaque_bytes {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub Vec<u8>);

        impl $name {
            /// The raw bytes.
            pub fn as_bytes(&self) -> &[u8] {
                &self.0
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(text: &str) -> Result<Self, String> {
                parse_hex(text).map($name)
            }
        }

        hex_display!($name);

        impl Encode for $name {
            fn encode_to(&self, out: &mut Vec<u8>) {
                encode_bytes(&self.0, out);
            }
        }

        impl Decode for $name {
            fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
                decode_bytes(reader).map($name)
            }
        }
    };
}

opaque_bytes!(
    /// A channel participant's on-chain address, opaque to the node: the chain backend defines
    /// its format (20 bytes on Ethereum and the sim chain). Shown as hex.
    Participant
);

opaque_bytes!(
    /// A signature on a [`State`](super::State), produced and verified by the chain backend
    /// (65 bytes `r ‖ s ‖ v` on Ethereum and the sim chain).
    Sig
);

opaque_bytes!(
    /// The address of an on-chain contract (an asset holder or an app), opaque to the node.
    Address
);

/// An asset: which ledger, and which holder contract on it keeps the deposits.
///
/// Two assets are the same asset exactly when both fields are equal.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Asset {
    /// The ledger's chain id (31337 on anvil, whatever the sim chain is configured with).
    pub chain_id: u64,
    /// The holder contract's address on that ledger.
    pub holder: Address,
}

crate::canonical_struct!(Asset { chain_id, holder });

impl fmt::Display for Asset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.holder, self.chain_id)
    }
}
