//! The little JSON this app reads and writes, by hand: the setup and the actions are each an
//! object with one member whose value is a string or `true`, and `describe` writes a flat
//! object of strings and `null`. (plugin-api exposes no JSON library, and a plugin depends on
//! plugin-api alone.)

use crate::layout::Bytes32;

/// A member's value, of the two kinds the app reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value<'a> {
    /// A string without escapes (hex never needs them).
    Str(&'a str),
    /// `true` or `false`.
    Bool(bool),
}

/// Reads `text` as a JSON object with exactly one member, `{"key": value}`, with any JSON
/// whitespace around the tokens. `None` for anything else: another value, several members, a
/// string with escapes, trailing text.
pub fn single_member(text: &str) -> Option<(&str, Value<'_>)> {
    let mut rest = skip_ws(text).strip_prefix('{')?;
    let key;
    (key, rest) = string(skip_ws(rest))?;
    rest = skip_ws(rest).strip_prefix(':')?;
    rest = skip_ws(rest);
    let value = if let Some(after) = rest.strip_prefix("true") {
        rest = after;
        Value::Bool(true)
    } else if let Some(after) = rest.strip_prefix("false") {
        rest = after;
        Value::Bool(false)
    } else {
        let text;
        (text, rest) = string(rest)?;
        Value::Str(text)
    };
    rest = skip_ws(rest).strip_prefix('}')?;
    skip_ws(rest).is_empty().then_some((key, value))
}

/// A JSON string at the start of `text` and what follows it; escapes and control characters
/// are refused.
fn string(text: &str) -> Option<(&str, &str)> {
    let body = text.strip_prefix('"')?;
    let end = body.find('"')?;
    let content = &body[..end];
    if content.contains('\\') || content.chars().any(char::is_control) {
        return None;
    }
    Some((content, &body[end + 1..]))
}

/// `text` without leading JSON whitespace (space, tab, line feed, carriage return).
fn skip_ws(text: &str) -> &str {
    text.trim_start_matches([' ', '\t', '\n', '\r'])
}

/// 32 bytes from 64 hex digits of either case, with or without a `0x` prefix.
pub fn parse_bytes32(text: &str) -> Option<Bytes32> {
    let digits = text
        .strip_prefix("0x")
        .or_else(|| text.strip_prefix("0X"))
        .unwrap_or(text)
        .as_bytes();
    if digits.len() != 64 {
        return None;
    }
    let mut out = [0; 32];
    for (byte, pair) in out.iter_mut().zip(digits.chunks(2)) {
        *byte = nibble(pair[0])? << 4 | nibble(pair[1])?;
    }
    Some(out)
}

fn nibble(digit: u8) -> Option<u8> {
    (digit as char).to_digit(16).map(|n| n as u8)
}

/// `0x` and lower-case hex digits.
pub fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(2 + 2 * bytes.len());
    out.push_str("0x");
    for byte in bytes {
        out.push(DIGITS[usize::from(byte >> 4)] as char);
        out.push(DIGITS[usize::from(byte & 0xf)] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_member_objects_are_read_with_any_whitespace() {
        assert_eq!(
            single_member(r#"{"release":true}"#),
            Some(("release", Value::Bool(true)))
        );
        assert_eq!(
            single_member(" \n{ \"claim\"\t:\r\n \"0xAb\" } \n"),
            Some(("claim", Value::Str("0xAb")))
        );
        assert_eq!(
            single_member(r#"{"release": false}"#),
            Some(("release", Value::Bool(false)))
        );
    }

    #[test]
    fn anything_else_is_not_read() {
        for text in [
            "",
            "{}",
            "[]",
            "true",
            r#"{"claim": "ab""#,
            r#"{"claim": "ab"} x"#,
            r#"{"claim": "ab", "release": true}"#,
            r#"{"claim": 12}"#,
            r#"{"claim": null}"#,
            r#"{"claim": "a\"b"}"#,
            r#"{claim: "ab"}"#,
            r#"{"release": truex}"#,
            "{\"claim\": \"a\u{1}b\"}",
        ] {
            assert_eq!(single_member(text), None, "{text:?}");
        }
    }

    #[test]
    fn hex_is_read_in_either_case_with_or_without_the_prefix() {
        let lower = "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470";
        let expected = parse_bytes32(lower).unwrap();
        assert_eq!(to_hex(&expected), format!("0x{lower}"));
        for text in [
            format!("0x{lower}"),
            format!("0X{lower}"),
            format!("0x{}", lower.to_uppercase()),
        ] {
            assert_eq!(parse_bytes32(&text), Some(expected), "{text}");
        }
    }

    #[test]
    fn hex_of_another_length_or_with_other_digits_is_not_read() {
        let lower = "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470";
        for text in [
            String::new(),
            "0x".into(),
            lower[2..].to_string(),
            format!("{lower}00"),
            format!("0x{}g", &lower[1..]),
            format!(" 0x{lower}"),
            format!("0x{}é", &lower[2..]),
        ] {
            assert_eq!(parse_bytes32(&text), None, "{text}");
        }
    }
}
