//! Token amounts: unsigned 256-bit integers, as on Ethereum.

use crate::codec::{Decode, DecodeError, Encode, Reader};
use primitive_types::U256;
use std::fmt;
use std::str::FromStr;

/// An amount of one asset in its smallest unit (wei for ETH). Never negative; arithmetic is
/// checked so that an overflow or an overdraft is an error the caller sees, never a wrap.
///
/// Encoded as 32 big-endian bytes; shown and parsed as a decimal string (JSON included), because
/// JSON numbers lose precision above 2^53.
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Amount(U256);

impl Amount {
    /// Zero.
    pub const ZERO: Amount = Amount(U256::zero());

    /// The amount from a `u128`.
    pub fn from_u128(value: u128) -> Self {
        Amount(U256::from(value))
    }

    /// The amount from 32 big-endian bytes.
    pub fn from_be_bytes(bytes: [u8; 32]) -> Self {
        Amount(U256::from_big_endian(&bytes))
    }

    /// The amount as 32 big-endian bytes (the Ethereum ABI's `uint256`).
    pub fn to_be_bytes(&self) -> [u8; 32] {
        self.0.to_big_endian()
    }

    /// The amount as a `u128`, if it fits.
    pub fn to_u128(&self) -> Option<u128> {
        if self.0.bits() <= 128 {
            Some(self.0.as_u128())
        } else {
            None
        }
    }

    /// `self + other`, or `None` on overflow.
    pub fn checked_add(self, other: Amount) -> Option<Amount> {
        self.0.checked_add(other.0).map(Amount)
    }

    /// `self - other`, or `None` if `other` is larger.
    pub fn checked_sub(self, other: Amount) -> Option<Amount> {
        self.0.checked_sub(other.0).map(Amount)
    }

    /// `self * other`, or `None` on overflow.
    pub fn checked_mul(self, other: Amount) -> Option<Amount> {
        self.0.checked_mul(other.0).map(Amount)
    }

    /// `self / other` rounded down, or `None` if `other` is zero.
    pub fn checked_div(self, other: Amount) -> Option<Amount> {
        self.0.checked_div(other.0).map(Amount)
    }

    /// `self - other`, or zero if `other` is larger.
    pub fn saturating_sub(self, other: Amount) -> Amount {
        Amount(self.0.saturating_sub(other.0))
    }

    /// Whether the amount is zero.
    pub fn is_zero(&self) -> bool {
        self.0.is_zero()
    }

    /// The sum of `amounts`, or `None` on overflow.
    pub fn checked_sum<'a>(amounts: impl IntoIterator<Item = &'a Amount>) -> Option<Amount> {
        amounts
            .into_iter()
            .try_fold(Amount::ZERO, |acc, a| acc.checked_add(*a))
    }
}

impl From<u64> for Amount {
    fn from(value: u64) -> Self {
        Amount(U256::from(value))
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Debug for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Why a string is not an amount.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not an amount: expected a non-negative whole number below 2^256 (digits 0-9 only)"
)]
pub struct ParseAmountError(pub String);

impl FromStr for Amount {
    type Err = ParseAmountError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let digits = text.replace('_', "");
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ParseAmountError(text.to_string()));
        }
        U256::from_dec_str(&digits)
            .map(Amount)
            .map_err(|_| ParseAmountError(text.to_string()))
    }
}

impl Encode for Amount {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_be_bytes());
    }
}

impl Decode for Amount {
    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Amount::from_be_bytes(reader.take_array("amount")?))
    }
}

impl serde::Serialize for Amount {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_string())
    }
}

impl<'de> serde::Deserialize<'de> for Amount {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Amount;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a decimal amount as a string or a non-negative integer")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Amount, E> {
                v.parse().map_err(E::custom)
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Amount, E> {
                Ok(Amount::from(v))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Amount, E> {
                u64::try_from(v)
                    .map(Amount::from)
                    .map_err(|_| E::custom("amounts cannot be negative"))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_decimal() {
        let max = "115792089237316195423570985008687907853269984665640564039457584007913129639935";
        let amount: Amount = max.parse().unwrap();
        assert_eq!(amount.to_string(), max);
        assert!("-1".parse::<Amount>().is_err());
        assert!("1.5".parse::<Amount>().is_err());
        assert!("".parse::<Amount>().is_err());
        assert_eq!("1_000".parse::<Amount>().unwrap(), Amount::from(1000u64));
    }

    #[test]
    fn arithmetic_is_checked() {
        let one = Amount::from(1u64);
        assert_eq!(Amount::ZERO.checked_sub(one), None);
        let max = Amount::from_be_bytes([0xff; 32]);
        assert_eq!(max.checked_add(one), None);
    }
}
