//! The API's bearer token: 32 random bytes as 64 hex digits in `<data_dir>/api.token`.
//!
//! The node creates the file on first start (mode 0600) and reuses it after, so the CLI and
//! scripts read the same token across restarts. A token file that its group or others can read
//! is refused: anyone who can read it can move the node's funds. The token never appears in
//! `Debug` output or logs.
//!
//! A client sends it in `Authorization: Bearer <token>`, except a browser's WebSocket, which
//! cannot set headers: it offers two subprotocols, [`BEARER_SUBPROTOCOL`] then the token
//! (`Sec-WebSocket-Protocol: parley.bearer, <token>`), checked the same way
//! ([`ApiToken::authorizes_subprotocols`]). Never in the URL, where proxies, logs and browser
//! history would keep it.

use std::fmt;
use std::fs;
use std::io::ErrorKind as IoErrorKind;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// The token file's name inside the data directory.
pub const TOKEN_FILE: &str = "api.token";

/// The WebSocket subprotocol that says the next offered one is the API token; the server
/// accepts it by answering with this name alone.
pub const BEARER_SUBPROTOCOL: &str = "parley.bearer";

/// Bytes of randomness in a token.
pub const TOKEN_BYTES: usize = 32;

/// Why the token could not be created or read.
#[derive(Debug, Error)]
pub enum TokenError {
    /// The OS random source failed.
    #[error("the OS random source failed: {0}")]
    Random(String),
    /// The token file could not be read.
    #[error("cannot read API token file {path}: {source}")]
    Read {
        /// The token file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The token file could not be created or written.
    #[error("cannot write API token file {path}: {source}")]
    Write {
        /// The token file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file is readable by its group or others.
    #[error(
        "API token file {path} is readable by other users (mode {mode:o}); \
         run `chmod 600 {path}`"
    )]
    TooOpen {
        /// The token file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The file does not hold 64 hex digits.
    #[error("API token file {path} does not hold a token (64 hex digits); delete it and restart the node to get a new one")]
    Malformed {
        /// The token file.
        path: PathBuf,
    },
}

/// A bearer token. Compared in constant time; redacted in `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiToken(String);

impl fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiToken(<redacted>)")
    }
}

impl ApiToken {
    /// A fresh random token.
    pub fn generate() -> Result<ApiToken, TokenError> {
        let mut bytes = [0u8; TOKEN_BYTES];
        getrandom::fill(&mut bytes).map_err(|e| TokenError::Random(e.to_string()))?;
        Ok(ApiToken(hex::encode(bytes)))
    }

    /// The token from its 64 hex digits (surrounding whitespace ignored), if well formed.
    pub fn parse(text: &str) -> Option<ApiToken> {
        let digits = text.trim();
        let well_formed = digits.len() == TOKEN_BYTES * 2
            && digits
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase());
        well_formed.then(|| ApiToken(digits.to_owned()))
    }

    /// The text to send in `Authorization: Bearer <token>`.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether `candidate` is this token. Takes the same time wherever the first difference
    /// is, so response times do not reveal a prefix of the token.
    pub fn matches(&self, candidate: &str) -> bool {
        constant_time_eq(self.0.as_bytes(), candidate.as_bytes())
    }

    /// Whether the value of an `Authorization` header carries this token (`Bearer <token>`;
    /// the scheme is case-insensitive as RFC 9110 says).
    pub fn authorizes(&self, authorization: Option<&str>) -> bool {
        let Some(value) = authorization else {
            return false;
        };
        let Some((scheme, credentials)) = value.trim().split_once(' ') else {
            return false;
        };
        scheme.eq_ignore_ascii_case("bearer") && self.matches(credentials.trim())
    }

    /// Whether the subprotocols a WebSocket client offers (the values of its
    /// `Sec-WebSocket-Protocol` headers, in order) are exactly [`BEARER_SUBPROTOCOL`] and this
    /// token. Anything else offered alongside is refused, so that the answer's one subprotocol
    /// is always the one the client can check for.
    pub fn authorizes_subprotocols<'a>(&self, offered: impl IntoIterator<Item = &'a str>) -> bool {
        let mut names = offered
            .into_iter()
            .flat_map(|value| value.split(','))
            .map(str::trim);
        match (names.next(), names.next(), names.next()) {
            (Some(BEARER_SUBPROTOCOL), Some(token), None) => self.matches(token),
            _ => false,
        }
    }
}

/// Equality whose running time depends only on the lengths. The lengths are not secret (every
/// token has 64 digits).
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let difference = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(difference) == 0
}

/// Where the token lives for a node whose data directory is `data_dir`.
pub fn token_path(data_dir: &Path) -> PathBuf {
    data_dir.join(TOKEN_FILE)
}

/// Reads the token at `path` (for the CLI). The file must exist, be owner-only and well formed.
pub fn read_token(path: &Path) -> Result<ApiToken, TokenError> {
    let text = fs::read_to_string(path).map_err(|source| TokenError::Read {
        path: path.to_owned(),
        source,
    })?;
    check_private(path)?;
    ApiToken::parse(&text).ok_or_else(|| TokenError::Malformed {
        path: path.to_owned(),
    })
}

/// Reads the token at `path`, or creates it (mode 0600) if there is none. Never overwrites: if
/// another process creates the file first, its token is read.
pub fn load_or_create_token(path: &Path) -> Result<ApiToken, TokenError> {
    match read_token(path) {
        Err(TokenError::Read { source, .. }) if source.kind() == IoErrorKind::NotFound => {}
        other => return other,
    }
    let token = ApiToken::generate()?;
    match crate::secret_file::create_private(path, format!("{}\n", token.0).as_bytes()) {
        Ok(true) => Ok(token),
        Ok(false) => read_token(path),
        Err(source) => Err(TokenError::Write {
            path: path.to_owned(),
            source,
        }),
    }
}

fn check_private(path: &Path) -> Result<(), TokenError> {
    match crate::secret_file::exposed_mode(path) {
        Ok(None) => Ok(()),
        Ok(Some(mode)) => Err(TokenError::TooOpen {
            path: path.to_owned(),
            mode,
        }),
        Err(source) => Err(TokenError::Read {
            path: path.to_owned(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn created_once_then_reused_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let path = token_path(&dir.path().join("data"));
        let first = load_or_create_token(&path).unwrap();
        assert_eq!(first.expose().len(), 64);
        let second = load_or_create_token(&path).unwrap();
        assert_eq!(first, second);
        assert_eq!(read_token(&path).unwrap(), first);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
    }

    #[test]
    fn fresh_tokens_differ() {
        assert_ne!(ApiToken::generate().unwrap(), ApiToken::generate().unwrap());
    }

    #[cfg(unix)]
    #[test]
    fn group_readable_file_is_refused_with_chmod_advice() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = token_path(dir.path());
        load_or_create_token(&path).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
        let error = load_or_create_token(&path).unwrap_err();
        assert!(matches!(error, TokenError::TooOpen { mode: 0o640, .. }));
        assert!(error.to_string().contains("chmod 600"), "{error}");
        assert!(read_token(&path).is_err());
    }

    #[test]
    fn malformed_file_is_refused_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = token_path(dir.path());
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        options
            .open(&path)
            .unwrap()
            .write_all(b"not a token")
            .unwrap();
        assert!(matches!(
            load_or_create_token(&path),
            Err(TokenError::Malformed { .. })
        ));
        assert_eq!(fs::read_to_string(&path).unwrap(), "not a token");
    }

    #[test]
    fn missing_file_is_a_read_error_for_the_cli() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            read_token(&token_path(dir.path())),
            Err(TokenError::Read { .. })
        ));
    }

    #[test]
    fn authorization_header_forms() {
        let token = ApiToken::parse(&"ab".repeat(32)).unwrap();
        let good = format!("Bearer {}", "ab".repeat(32));
        assert!(token.authorizes(Some(&good)));
        assert!(token.authorizes(Some(&format!("bearer  {}", "ab".repeat(32)))));
        assert!(!token.authorizes(None));
        assert!(!token.authorizes(Some("Bearer")));
        assert!(!token.authorizes(Some(&format!("Basic {}", "ab".repeat(32)))));
        assert!(!token.authorizes(Some(&format!("Bearer {}", "ac".repeat(32)))));
        assert!(!token.authorizes(Some(&format!("Bearer {}a", "ab".repeat(32)))));
        assert!(!token.authorizes(Some(&format!("Bearer {}", &good[7..70]))));
    }

    #[test]
    fn subprotocol_forms() {
        let token = ApiToken::parse(&"ab".repeat(32)).unwrap();
        let good = "ab".repeat(32);
        assert!(token.authorizes_subprotocols([format!("parley.bearer, {good}").as_str()]));
        assert!(token.authorizes_subprotocols(["parley.bearer", good.as_str()]));
        assert!(token.authorizes_subprotocols([format!("parley.bearer,{good}").as_str()]));
        assert!(!token.authorizes_subprotocols(None::<&str>));
        assert!(!token.authorizes_subprotocols(["parley.bearer"]));
        assert!(!token.authorizes_subprotocols([good.as_str()]));
        assert!(!token.authorizes_subprotocols([format!("{good}, parley.bearer").as_str()]));
        let wrong = "ac".repeat(32);
        assert!(!token.authorizes_subprotocols([format!("parley.bearer, {wrong}").as_str()]));
        let extra = format!("parley.bearer, {good}, chat");
        assert!(!token.authorizes_subprotocols([extra.as_str()]));
        let other = format!("Parley.Bearer, {good}");
        assert!(!token.authorizes_subprotocols([other.as_str()]));
    }

    #[test]
    fn debug_does_not_show_the_token() {
        let token = ApiToken::parse(&"cd".repeat(32)).unwrap();
        assert!(!format!("{token:?}").contains("cdcd"));
    }

    #[test]
    fn parse_requires_64_lowercase_hex_digits() {
        assert!(ApiToken::parse(&format!("{}\n", "0f".repeat(32))).is_some());
        assert!(ApiToken::parse(&"0F".repeat(32)).is_none());
        assert!(ApiToken::parse(&"0f".repeat(31)).is_none());
        assert!(ApiToken::parse(&"zz".repeat(32)).is_none());
    }
}
