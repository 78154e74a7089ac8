//! The two JSON inputs of the app (`{"first": 0}`, `{"cell": 4}`), read by hand: a flat object
//! whose values are non-negative integers. Keeping this small parser avoids a JSON dependency in
//! a plugin that needs nothing else.
//!
//! What it accepts is a subset of JSON (RFC 8259): whitespace anywhere between tokens, keys in
//! any order, keys with the standard escapes. It refuses everything else, and never guesses: a
//! duplicate key, a fraction (`4.0`), an exponent, a sign, a leading zero, a string or a nested
//! value is an error, and so is anything after the closing brace.

/// One `key: value` member of the object, in the order written.
pub type Member = (String, u64);

/// Parses `text` as a flat object of non-negative integers. The error says what was found where;
/// callers add the form they expected.
pub fn parse_object(text: &str) -> Result<Vec<Member>, String> {
    let mut reader = Reader {
        bytes: text.as_bytes(),
        at: 0,
    };
    let members = reader.object()?;
    reader.skip_whitespace();
    if reader.at != reader.bytes.len() {
        return Err(format!(
            "unexpected text after the object at byte {}",
            reader.at
        ));
    }
    Ok(members)
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn skip_whitespace(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    /// Skips whitespace, then consumes `byte` or fails naming it.
    fn expect(&mut self, byte: u8, what: &str) -> Result<(), String> {
        self.skip_whitespace();
        match self.peek() {
            Some(found) if found == byte => {
                self.at += 1;
                Ok(())
            }
            Some(found) => Err(format!(
                "expected {what} at byte {}, found `{}`",
                self.at,
                char::from(found).escape_default()
            )),
            None => Err(format!(
                "expected {what} at byte {}, found the end",
                self.at
            )),
        }
    }

    fn object(&mut self) -> Result<Vec<Member>, String> {
        self.expect(b'{', "`{`")?;
        let mut members: Vec<Member> = Vec::new();
        self.skip_whitespace();
        if self.peek() == Some(b'}') {
            self.at += 1;
            return Ok(members);
        }
        loop {
            self.skip_whitespace();
            let key = self.string()?;
            if members.iter().any(|(seen, _)| *seen == key) {
                return Err(format!(
                    "the key \"{}\" appears twice",
                    key.escape_default()
                ));
            }
            self.expect(b':', "`:`")?;
            let value = self.integer(&key)?;
            members.push((key, value));
            self.skip_whitespace();
            match self.peek() {
                Some(b',') => self.at += 1,
                Some(b'}') => {
                    self.at += 1;
                    return Ok(members);
                }
                Some(found) => {
                    return Err(format!(
                        "expected `,` or `}}` at byte {}, found `{}`",
                        self.at,
                        char::from(found).escape_default()
                    ))
                }
                None => {
                    return Err(format!(
                        "expected `,` or `}}` at byte {}, found the end",
                        self.at
                    ))
                }
            }
        }
    }

    /// A JSON string (the opening quote is next).
    fn string(&mut self) -> Result<String, String> {
        self.expect(b'"', "a key in double quotes")?;
        let mut text = String::new();
        loop {
            let start = self.at;
            // Copy the run up to the next quote or escape whole, so multi-byte UTF-8 stays
            // intact (the input is a &str, and `"` and `\` never occur inside a UTF-8 sequence).
            while !matches!(self.peek(), None | Some(b'"' | b'\\')) {
                if self.peek().is_some_and(|b| b < 0x20) {
                    return Err(format!("a control character in a key at byte {}", self.at));
                }
                self.at += 1;
            }
            text.push_str(std::str::from_utf8(&self.bytes[start..self.at]).expect("from a str"));
            match self.peek() {
                None => return Err("a key's string is not closed".into()),
                Some(b'"') => {
                    self.at += 1;
                    return Ok(text);
                }
                _ => {
                    self.at += 1;
                    text.push(self.escape()?);
                }
            }
        }
    }

    /// The character of an escape (the backslash is consumed).
    fn escape(&mut self) -> Result<char, String> {
        let at = self.at;
        let code = self.peek().ok_or("a key's string ends in a backslash")?;
        self.at += 1;
        Ok(match code {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let hex = self
                    .bytes
                    .get(self.at..self.at + 4)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u32::from_str_radix(h, 16).ok())
                    .ok_or_else(|| format!("a bad \\u escape at byte {at}"))?;
                self.at += 4;
                // Surrogate pairs never spell a key this app knows; refuse them rather than
                // decode them.
                char::from_u32(hex)
                    .ok_or_else(|| format!("an unsupported \\u escape at byte {at}"))?
            }
            _ => return Err(format!("a bad escape at byte {at}")),
        })
    }

    /// A non-negative JSON integer without fraction or exponent, as the value of `key`.
    fn integer(&mut self, key: &str) -> Result<u64, String> {
        self.skip_whitespace();
        let start = self.at;
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.at += 1;
        }
        let digits = &self.bytes[start..self.at];
        let is_number_text =
            |b: u8| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E');
        let not_integer = || {
            format!(
                "the value of \"{}\" at byte {start} is not a non-negative integer",
                key.escape_default()
            )
        };
        if digits.is_empty() || self.peek().is_some_and(is_number_text) {
            return Err(not_integer());
        }
        if digits.len() > 1 && digits[0] == b'0' {
            return Err(format!(
                "the value of \"{}\" at byte {start} has a leading zero",
                key.escape_default()
            ));
        }
        std::str::from_utf8(digits)
            .expect("ASCII digits")
            .parse()
            .map_err(|_| {
                format!(
                    "the value of \"{}\" at byte {start} is too large",
                    key.escape_default()
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn members(list: &[(&str, u64)]) -> Vec<Member> {
        list.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    #[test]
    fn reads_flat_objects_with_any_whitespace_and_key_order() {
        assert_eq!(parse_object("{}").unwrap(), members(&[]));
        assert_eq!(parse_object(" { } ").unwrap(), members(&[]));
        assert_eq!(
            parse_object("{\"cell\":4}").unwrap(),
            members(&[("cell", 4)])
        );
        assert_eq!(
            parse_object("\n\t{ \"b\" :\r\n 10 , \"a\":0 }\n").unwrap(),
            members(&[("b", 10), ("a", 0)])
        );
    }

    #[test]
    fn decodes_escapes_in_keys() {
        assert_eq!(
            parse_object(r#"{"\u0063ell": 1, "a\"b\\c\/": 2}"#).unwrap(),
            members(&[("cell", 1), ("a\"b\\c/", 2)])
        );
        assert_eq!(parse_object("{\"zé\": 3}").unwrap(), members(&[("zé", 3)]));
    }

    #[test]
    fn refuses_everything_else() {
        for text in [
            "",
            "   ",
            "4",
            "[4]",
            "{",
            "{\"cell\"}",
            "{\"cell\":}",
            "{\"cell\":4",
            "{\"cell\":4,}",
            "{\"cell\":4}}",
            "{\"cell\":4} x",
            "{cell:4}",
            "{'cell':4}",
            "{\"cell\":\"4\"}",
            "{\"cell\":4.0}",
            "{\"cell\":4e0}",
            "{\"cell\":-1}",
            "{\"cell\":+1}",
            "{\"cell\":04}",
            "{\"cell\":null}",
            "{\"cell\":true}",
            "{\"cell\":[4]}",
            "{\"cell\":{}}",
            "{\"cell\":4 5}",
            "{\"cell\":4,\"cell\":5}",
            "{\"cell\":99999999999999999999999}",
            "{\"ce\nll\":4}",
            "{\"\\x\":4}",
            "{\"\\u12\":4}",
            "{\"\\ud800\":4}",
            "{\"cell",
        ] {
            assert!(parse_object(text).is_err(), "accepted {text:?}");
        }
    }

    #[test]
    fn errors_say_where() {
        let error = parse_object("{\"cell\": 4.5}").unwrap_err();
        assert!(error.contains("\"cell\""), "{error}");
        assert!(error.contains("byte 9"), "{error}");
        let error = parse_object("{\"cell\":4,\"cell\":5}").unwrap_err();
        assert!(error.contains("twice"), "{error}");
        let error = parse_object("{\"cell\":4;}").unwrap_err();
        assert!(error.contains("expected `,` or `}` at byte 9"), "{error}");
        let error = parse_object("{\"cell\":99999999999999999999}").unwrap_err();
        assert!(error.contains("too large"), "{error}");
    }
}
