//! The node's TLS certificate: self-signed, made on first start, kept in the certificate
//! directory and reused afterwards.
//!
//! The certificate only gives the QUIC connection its encryption. Who the peer is gets decided
//! by the node's own handshake above the transport (DESIGN §5), so nothing here is trusted by
//! anyone and a lost certificate is simply made again.

use parley_plugin_api::{PluginError, PluginResult};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The file names inside the certificate directory.
pub const CERT_FILE: &str = "cert.der";
/// The private key, PKCS#8 DER, mode 0600.
pub const KEY_FILE: &str = "key.der";

/// The name the certificate is issued for; the client does not check it.
pub const SERVER_NAME: &str = "parley";

/// A certificate and its private key.
pub struct NodeCertificate {
    /// The DER certificate.
    pub cert: CertificateDer<'static>,
    /// The DER private key. Never logged.
    pub key: PrivateKeyDer<'static>,
}

impl NodeCertificate {
    /// Loads the pair from `dir`, or makes and stores a new one if either file is missing.
    /// Files that exist but cannot be read are an error rather than silently replaced.
    pub fn load_or_create(dir: &Path) -> PluginResult<Self> {
        let cert_path = dir.join(CERT_FILE);
        let key_path = dir.join(KEY_FILE);
        if cert_path.exists() && key_path.exists() {
            let cert = read(&cert_path)?;
            let key = read(&key_path)?;
            warn_if_key_is_readable_by_others(&key_path);
            tracing::debug!(dir = %dir.display(), "using the stored QUIC certificate");
            return Ok(NodeCertificate {
                cert: CertificateDer::from(cert),
                key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key)),
            });
        }
        let made = rcgen::generate_simple_self_signed(vec![SERVER_NAME.to_string()])
            .map_err(|e| PluginError::internal(format!("cannot make a TLS certificate: {e}")))?;
        let cert = made.cert.der().to_vec();
        let key = made.signing_key.serialize_der();
        create_private_dir(dir)?;
        // The key first: a crash between the two writes leaves the certificate missing, and
        // the next start then makes a fresh pair.
        write_atomically(&key_path, &key, 0o600)?;
        write_atomically(&cert_path, &cert, 0o644)?;
        tracing::info!(dir = %dir.display(), "made a new self-signed QUIC certificate");
        Ok(NodeCertificate {
            cert: CertificateDer::from(cert),
            key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key)),
        })
    }
}

fn read(path: &Path) -> PluginResult<Vec<u8>> {
    fs::read(path).map_err(|e| {
        PluginError::unavailable(format!(
            "cannot read {}: {e}; fix its permissions, or delete it together with its pair \
             ({CERT_FILE}, {KEY_FILE}) to have a new certificate made",
            path.display()
        ))
    })
}

fn create_private_dir(dir: &Path) -> PluginResult<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(|e| {
        PluginError::unavailable(format!(
            "cannot create the certificate directory {}: {e}",
            dir.display()
        ))
    })
}

/// Writes through a temporary file and a rename, so that a crash never leaves half a key.
fn write_atomically(path: &Path, bytes: &[u8], mode: u32) -> PluginResult<()> {
    let temporary: PathBuf = path.with_extension("der.tmp");
    let failed = |e: std::io::Error| {
        PluginError::unavailable(format!("cannot write {}: {e}", path.display()))
    };
    let _ = fs::remove_file(&temporary);
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = options.open(&temporary).map_err(failed)?;
    file.write_all(bytes).map_err(failed)?;
    file.sync_all().map_err(failed)?;
    fs::rename(&temporary, path).map_err(failed)
}

fn warn_if_key_is_readable_by_others(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(metadata) = fs::metadata(path) {
            let mode = metadata.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                tracing::warn!(
                    "{} has mode {mode:o}; other users can read the TLS key (chmod 600 it)",
                    path.display()
                );
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_certificate_is_made_once_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let cert_dir = dir.path().join("quic");
        let first = NodeCertificate::load_or_create(&cert_dir).unwrap();
        let second = NodeCertificate::load_or_create(&cert_dir).unwrap();
        assert_eq!(first.cert, second.cert);
        assert_eq!(first.key.secret_der(), second.key.secret_der());
        assert_eq!(
            fs::read(cert_dir.join(CERT_FILE)).unwrap(),
            first.cert.to_vec()
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(cert_dir.join(KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn a_missing_half_makes_a_new_pair() {
        let dir = tempfile::tempdir().unwrap();
        let first = NodeCertificate::load_or_create(dir.path()).unwrap();
        fs::remove_file(dir.path().join(CERT_FILE)).unwrap();
        let second = NodeCertificate::load_or_create(dir.path()).unwrap();
        assert_ne!(first.cert, second.cert);
        assert!(dir.path().join(CERT_FILE).exists());
    }
}
