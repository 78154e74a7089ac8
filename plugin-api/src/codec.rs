//! The one canonical binary encoding of Parley.
//!
//! Every value has exactly one encoding, and decoding rejects anything that is not that encoding
//! (a boolean byte other than 0 or 1, an option tag other than 0 or 1, invalid UTF-8, trailing
//! bytes). This is what crosses the plugin boundary for composite values, what the node writes to
//! its store and what it sends on the wire, so it must stay deterministic.
//!
//! Rules: integers are fixed-width big-endian; `bool` is one byte; byte strings, strings and
//! sequences carry a `u32` length prefix; `Option` is a one-byte tag followed by the value; fixed
//! arrays are written raw; enums are a one-byte tag followed by their fields; structs are their
//! fields in declaration order.
//!
//! Decoding never allocates more than the remaining input could possibly fill, so a malicious
//! length prefix cannot make the decoder reserve gigabytes.

use thiserror::Error;

/// Why a byte string is not the canonical encoding of the expected type.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    /// The input ended before the value was complete.
    #[error("input ends early: needed {needed} more bytes while reading {what}")]
    UnexpectedEnd {
        /// What was being read.
        what: &'static str,
        /// How many bytes were missing.
        needed: usize,
    },
    /// Bytes were left over after the value.
    #[error("{0} trailing bytes after the value")]
    TrailingBytes(usize),
    /// A tag byte (bool, option, enum variant) had a value that the type does not define.
    #[error("invalid tag {tag} for {what}")]
    InvalidTag {
        /// The type whose tag was read.
        what: &'static str,
        /// The tag found.
        tag: u8,
    },
    /// A string was not valid UTF-8.
    #[error("string is not valid UTF-8")]
    InvalidUtf8,
    /// A value decoded but breaks a rule of its type (for example a wrong fixed length).
    #[error("invalid {what}: {reason}")]
    Invalid {
        /// The type that was read.
        what: &'static str,
        /// Which rule it broke.
        reason: String,
    },
}

/// Writes a value in the canonical encoding.
pub trait Encode {
    /// Appends the encoding of `self` to `out`.
    fn encode_to(&self, out: &mut Vec<u8>);

    /// Returns the encoding of `self` as a fresh buffer.
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        self.encode_to(&mut out);
        out
    }
}

/// Reads a value from its canonical encoding.
pub trait Decode: Sized {
    /// Reads one value from the front of `reader`, leaving the rest.
    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError>;

    /// Decodes a value that must span `bytes` exactly.
    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut reader = Reader::new(bytes);
        let value = Self::decode_from(&mut reader)?;
        reader.finish()?;
        Ok(value)
    }
}

/// A cursor over an input buffer.
#[derive(Debug)]
pub struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    /// Starts reading at the front of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Reader { rest: bytes }
    }

    /// How many bytes are left.
    pub fn remaining(&self) -> usize {
        self.rest.len()
    }

    /// Takes the next `n` bytes.
    pub fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], DecodeError> {
        if self.rest.len() < n {
            return Err(DecodeError::UnexpectedEnd {
                what,
                needed: n - self.rest.len(),
            });
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    /// Takes the next `N` bytes as an array.
    pub fn take_array<const N: usize>(
        &mut self,
        what: &'static str,
    ) -> Result<[u8; N], DecodeError> {
        let bytes = self.take(N, what)?;
        let mut out = [0u8; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }

    /// Reads a `u32` length prefix and checks that at least `min_item_size * len` bytes remain,
    /// so that a forged prefix is refused before anything is allocated.
    pub fn take_len(
        &mut self,
        min_item_size: usize,
        what: &'static str,
    ) -> Result<usize, DecodeError> {
        let len = u32::decode_from(self)? as usize;
        let needed = len.saturating_mul(min_item_size.max(1));
        if needed > self.rest.len() && min_item_size > 0 {
            return Err(DecodeError::UnexpectedEnd {
                what,
                needed: needed - self.rest.len(),
            });
        }
        Ok(len)
    }

    /// Fails unless every byte was consumed.
    pub fn finish(self) -> Result<(), DecodeError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(DecodeError::TrailingBytes(self.rest.len()))
        }
    }
}

macro_rules! impl_int {
    ($($t:ty),*) => {$(
        impl Encode for $t {
            fn encode_to(&self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_be_bytes());
            }
        }
        impl Decode for $t {
            fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
                Ok(<$t>::from_be_bytes(reader.take_array(stringify!($t))?))
            }
        }
    )*};
}
impl_int!(u8, u16, u32, u64, u128, i64);

impl Encode for bool {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.push(u8::from(*self));
    }
}

impl Decode for bool {
    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match u8::decode_from(reader)? {
            0 => Ok(false),
            1 => Ok(true),
            tag => Err(DecodeError::InvalidTag { what: "bool", tag }),
        }
    }
}

impl<const N: usize> Encode for [u8; N] {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self);
    }
}

impl<const N: usize> Decode for [u8; N] {
    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        reader.take_array("fixed byte array")
    }
}

fn encode_len(len: usize, out: &mut Vec<u8>) {
    let len = u32::try_from(len).expect("canonical encoding limits lengths to u32::MAX");
    len.encode_to(out);
}

/// Encodes a byte string (length prefix, then the bytes). `Vec<u8>` cannot use the generic
/// sequence impl without specialisation, so byte strings go through [`Bytes`] or these helpers.
pub fn encode_bytes(bytes: &[u8], out: &mut Vec<u8>) {
    encode_len(bytes.len(), out);
    out.extend_from_slice(bytes);
}

/// Decodes a byte string written by [`encode_bytes`].
pub fn decode_bytes(reader: &mut Reader<'_>) -> Result<Vec<u8>, DecodeError> {
    let len = reader.take_len(1, "byte string")?;
    Ok(reader.take(len, "byte string")?.to_vec())
}

impl Encode for String {
    fn encode_to(&self, out: &mut Vec<u8>) {
        encode_bytes(self.as_bytes(), out);
    }
}

impl Decode for String {
    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        String::from_utf8(decode_bytes(reader)?).map_err(|_| DecodeError::InvalidUtf8)
    }
}

/// A slice encodes as the `Vec` of its items does (length, then each item), so a borrowed
/// sequence is encoded without copying it into a `Vec` first.
impl<T: Encode> Encode for [T] {
    fn encode_to(&self, out: &mut Vec<u8>) {
        encode_len(self.len(), out);
        for item in self {
            item.encode_to(out);
        }
    }
}

impl<T: Encode> Encode for Vec<T> {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.as_slice().encode_to(out);
    }
}

impl<T: Decode> Decode for Vec<T> {
    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        // Every encodable item takes at least one byte, so the remaining input bounds the count.
        let len = reader.take_len(1, "sequence")?;
        let mut items = Vec::with_capacity(len.min(reader.remaining()));
        for _ in 0..len {
            items.push(T::decode_from(reader)?);
        }
        Ok(items)
    }
}

impl<T: Encode> Encode for Option<T> {
    fn encode_to(&self, out: &mut Vec<u8>) {
        match self {
            None => out.push(0),
            Some(value) => {
                out.push(1);
                value.encode_to(out);
            }
        }
    }
}

impl<T: Decode> Decode for Option<T> {
    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match u8::decode_from(reader)? {
            0 => Ok(None),
            1 => Ok(Some(T::decode_from(reader)?)),
            tag => Err(DecodeError::InvalidTag {
                what: "option",
                tag,
            }),
        }
    }
}

impl<A: Encode, B: Encode> Encode for (A, B) {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.0.encode_to(out);
        self.1.encode_to(out);
    }
}

impl<A: Decode, B: Decode> Decode for (A, B) {
    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok((A::decode_from(reader)?, B::decode_from(reader)?))
    }
}

/// Implements [`Encode`] and [`Decode`] for a struct by writing its fields in the order listed.
///
/// List every field, in declaration order: the encoding is the concatenation of the fields.
#[macro_export]
macro_rules! canonical_struct {
    ($name:ident { $($field:ident),* $(,)? }) => {
        impl $crate::codec::Encode for $name {
            fn encode_to(&self, out: &mut Vec<u8>) {
                $( $crate::codec::Encode::encode_to(&self.$field, out); )*
            }
        }
        impl $crate::codec::Decode for $name {
            fn decode_from(
                reader: &mut $crate::codec::Reader<'_>,
            ) -> Result<Self, $crate::codec::DecodeError> {
                Ok($name { $( $field: $crate::codec::Decode::decode_from(reader)?, )* })
            }
        }
    };
}

/// An owned byte string with the canonical length-prefixed encoding and hex in JSON.
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Bytes(pub Vec<u8>);

impl std::fmt::Debug for Bytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "0x{}", hex::encode(&self.0))
    }
}

impl std::fmt::Display for Bytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "0x{}", hex::encode(&self.0))
    }
}

impl std::ops::Deref for Bytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl From<Vec<u8>> for Bytes {
    fn from(bytes: Vec<u8>) -> Self {
        Bytes(bytes)
    }
}

impl From<&[u8]> for Bytes {
    fn from(bytes: &[u8]) -> Self {
        Bytes(bytes.to_vec())
    }
}

impl Encode for Bytes {
    fn encode_to(&self, out: &mut Vec<u8>) {
        encode_bytes(&self.0, out);
    }
}

impl Decode for Bytes {
    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        decode_bytes(reader).map(Bytes)
    }
}

impl serde::Serialize for Bytes {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_string())
    }
}

impl<'de> serde::Deserialize<'de> for Bytes {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        parse_hex(&text)
            .map(Bytes)
            .map_err(serde::de::Error::custom)
    }
}

/// Parses hex with or without a `0x` prefix.
pub fn parse_hex(text: &str) -> Result<Vec<u8>, String> {
    let digits = text.strip_prefix("0x").unwrap_or(text);
    hex::decode(digits).map_err(|e| format!("`{text}` is not hex: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_big_endian_fixed_width() {
        assert_eq!(0x0102u16.encode(), vec![1, 2]);
        assert_eq!(7u64.encode(), vec![0, 0, 0, 0, 0, 0, 0, 7]);
    }

    #[test]
    fn a_slice_encodes_as_its_vec_and_decodes_as_one() {
        let items = vec![1u16, 2, 3];
        assert_eq!(items.as_slice().encode(), items.encode());
        assert_eq!(Vec::<u16>::decode(&items[..2].encode()), Ok(vec![1, 2]));
    }

    #[test]
    fn non_canonical_tags_are_refused() {
        assert_eq!(
            bool::decode(&[2]),
            Err(DecodeError::InvalidTag {
                what: "bool",
                tag: 2
            })
        );
        assert!(matches!(
            Option::<u8>::decode(&[7, 1]),
            Err(DecodeError::InvalidTag { .. })
        ));
    }

    #[test]
    fn trailing_bytes_are_refused() {
        assert_eq!(u8::decode(&[1, 2]), Err(DecodeError::TrailingBytes(1)));
    }

    #[test]
    fn forged_length_prefix_fails_without_allocating() {
        let forged = u32::MAX.encode();
        assert!(matches!(
            Vec::<u64>::decode(&forged),
            Err(DecodeError::UnexpectedEnd { .. })
        ));
        assert!(matches!(
            Bytes::decode(&forged),
            Err(DecodeError::UnexpectedEnd { .. })
        ));
    }
}
