//! The instance's wallet: secp256k1 keys kept as hex files `account-<i>.key` (mode 0600),
//! created on first use and reused afterwards, so a node keeps its addresses across restarts.

use crate::crypto::address_of;
use k256::ecdsa::SigningKey;
use parley_plugin_api::model::Participant;
use parley_plugin_api::{PluginError, PluginResult};
use std::fs;
use std::io::{ErrorKind as IoErrorKind, Write};
use std::path::{Path, PathBuf};

/// The accounts this instance can sign and pay with, in configuration order.
pub struct Wallet {
    accounts: Vec<(Participant, SigningKey)>,
}

impl Wallet {
    /// Loads (or creates) `count` keys in `dir`.
    pub fn load(dir: &Path, count: usize) -> PluginResult<Wallet> {
        create_private_dir(dir)?;
        let accounts = (0..count)
            .map(|index| {
                let key = load_or_create(&dir.join(format!("account-{index}.key")))?;
                Ok((address_of(key.verifying_key()), key))
            })
            .collect::<PluginResult<Vec<_>>>()?;
        Ok(Wallet { accounts })
    }

    /// The addresses, in order.
    pub fn addresses(&self) -> Vec<Participant> {
        self.accounts
            .iter()
            .map(|(address, _)| address.clone())
            .collect()
    }

    /// The key of `account`, or `InvalidArgument` naming the accounts there are.
    pub fn key(&self, account: &Participant) -> PluginResult<&SigningKey> {
        self.accounts
            .iter()
            .find(|(address, _)| address == account)
            .map(|(_, key)| key)
            .ok_or_else(|| {
                let known: Vec<String> = self.accounts.iter().map(|(a, _)| a.to_string()).collect();
                PluginError::invalid(format!(
                    "account {account} is not in this sim-chain wallet (its accounts: {}); \
                     raise `accounts` in the [chain] table to get more",
                    known.join(", ")
                ))
            })
    }
}

fn create_private_dir(dir: &Path) -> PluginResult<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(|e| {
        PluginError::unavailable(format!(
            "cannot create the sim-chain key directory {}: {e}",
            dir.display()
        ))
    })
}

/// Reads the key at `path`, or creates it with a fresh random key. Creation uses `create_new`,
/// so two processes starting at once cannot overwrite each other's key: the loser reads the
/// winner's file.
fn load_or_create(path: &Path) -> PluginResult<SigningKey> {
    match read_key(path) {
        Ok(key) => return Ok(key),
        Err(KeyFileError::Missing) => {}
        Err(KeyFileError::Bad(message)) => return Err(PluginError::config(message)),
    }
    let key = random_key()?;
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(mut file) => {
            let text = format!("{}\n", hex::encode(key.to_bytes()));
            file.write_all(text.as_bytes())
                .and_then(|()| file.sync_all())
                .map_err(|e| unavailable(path, e))?;
            tracing::info!("created sim-chain account key {}", path.display());
            Ok(key)
        }
        Err(e) if e.kind() == IoErrorKind::AlreadyExists => {
            read_key(path).map_err(|e| PluginError::config(e.message(path)))
        }
        Err(e) => Err(unavailable(path, e)),
    }
}

enum KeyFileError {
    Missing,
    Bad(String),
}

impl KeyFileError {
    fn message(self, path: &Path) -> String {
        match self {
            KeyFileError::Missing => {
                format!("key file {} vanished while reading it", path.display())
            }
            KeyFileError::Bad(message) => message,
        }
    }
}

fn read_key(path: &Path) -> Result<SigningKey, KeyFileError> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == IoErrorKind::NotFound => return Err(KeyFileError::Missing),
        Err(e) => {
            return Err(KeyFileError::Bad(format!(
                "cannot read key file {}: {e}",
                path.display()
            )))
        }
    };
    warn_if_readable_by_others(path);
    let digits = text.trim();
    let digits = digits.strip_prefix("0x").unwrap_or(digits);
    hex::decode(digits)
        .ok()
        .and_then(|bytes| SigningKey::from_slice(&bytes).ok())
        .ok_or_else(|| {
            KeyFileError::Bad(format!(
                "key file {} does not hold a secp256k1 secret key as 64 hex digits; \
                 fix it or delete it to get a new account",
                path.display()
            ))
        })
}

#[cfg(unix)]
fn warn_if_readable_by_others(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = fs::metadata(path) {
        if meta.permissions().mode() & 0o077 != 0 {
            tracing::warn!(
                "key file {} is readable by other users; run `chmod 600` on it",
                path.display()
            );
        }
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_: &Path) {}

fn random_key() -> PluginResult<SigningKey> {
    // A random 32-byte string is a valid scalar except with probability ~2^-128; retry anyway.
    loop {
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret)
            .map_err(|e| PluginError::internal(format!("the OS random source failed: {e}")))?;
        if let Ok(key) = SigningKey::from_slice(&secret) {
            return Ok(key);
        }
    }
}

fn unavailable(path: &Path, error: std::io::Error) -> PluginError {
    PluginError::unavailable(format!("cannot write key file {}: {error}", path.display()))
}

/// Where keys go when the table names no `key_dir`.
pub fn default_key_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("sim-chain")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let first = Wallet::load(dir.path(), 2).unwrap().addresses();
        assert_eq!(first.len(), 2);
        assert_ne!(first[0], first[1]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(dir.path().join("account-0.key"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let again = Wallet::load(dir.path(), 3).unwrap().addresses();
        assert_eq!(&again[..2], &first[..]);
    }

    #[test]
    fn a_corrupt_key_file_is_a_config_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("account-0.key"), "not hex").unwrap();
        let error = Wallet::load(dir.path(), 1).err().unwrap();
        assert!(error.message().contains("account-0.key"), "{error}");
    }

    #[test]
    fn an_unknown_account_is_an_invalid_argument() {
        let dir = tempfile::tempdir().unwrap();
        let wallet = Wallet::load(dir.path(), 1).unwrap();
        let error = wallet.key(&Participant(vec![9; 20])).err().unwrap();
        assert_eq!(error.kind, parley_plugin_api::ErrorKind::InvalidArgument);
    }
}
