//! The QUIC and TLS settings of both ends of a connection.
//!
//! TLS here gives confidentiality and integrity only. The node authenticates its peer with its
//! own challenge-response handshake over the first frames (DESIGN §5), the same way on every
//! transport, so the client accepts whatever certificate the server shows. It still checks
//! that the server holds the key of that certificate (the handshake signature), which keeps the
//! TLS session itself sound.

use crate::cert::{NodeCertificate, SERVER_NAME};
use crate::config::QuicSettings;
use crate::link::LIMITED_RECEIVE_WINDOW;
use parley_plugin_api::{PluginError, PluginResult};
use quinn::crypto::rustls::{QuicClientConfig, QuicServerConfig};
use quinn::{IdleTimeout, TransportConfig, VarInt};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use std::sync::Arc;

/// The ALPN protocol both ends require; a QUIC peer speaking anything else is refused in the
/// TLS handshake.
pub const ALPN: &[u8] = b"parley/1";

/// The name the client puts in its TLS hello (the server's certificate is issued for it).
pub const DIAL_SERVER_NAME: &str = SERVER_NAME;

/// Builds the QUIC settings every connection of one instance uses. `limited`: connections
/// start with a frame limit below `max_frame_size`, so they also start with the small receive
/// window [`LIMITED_RECEIVE_WINDOW`] (raised per connection with its limit).
pub fn transport_config(
    settings: &QuicSettings,
    limited: bool,
) -> PluginResult<Arc<TransportConfig>> {
    let idle = IdleTimeout::try_from(settings.idle_timeout).map_err(|_| {
        PluginError::config(format!(
            "idle_timeout_ms {} is too large for QUIC",
            settings.idle_timeout.as_millis()
        ))
    })?;
    let mut config = TransportConfig::default();
    config
        .max_idle_timeout(Some(idle))
        .keep_alive_interval(settings.keep_alive)
        // Each side sends its frames on one unidirectional stream; the peer gets no other
        // streams and no datagrams, which bounds what a hostile peer can make us hold.
        .max_concurrent_bidi_streams(VarInt::from_u32(0))
        .max_concurrent_uni_streams(VarInt::from_u32(1))
        .datagram_receive_buffer_size(None);
    if limited {
        config.receive_window(VarInt::from_u32(LIMITED_RECEIVE_WINDOW));
    }
    Ok(Arc::new(config))
}

/// The configuration of a listening endpoint.
pub fn server_config(
    certificate: &NodeCertificate,
    transport: Arc<TransportConfig>,
) -> PluginResult<quinn::ServerConfig> {
    let mut tls = rustls::ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(internal)?
        .with_no_client_auth()
        .with_single_cert(vec![certificate.cert.clone()], certificate.key.clone_key())
        .map_err(|e| {
            PluginError::config(format!(
                "the stored QUIC certificate or key is unusable ({e}); delete cert.der and \
                 key.der in the certificate directory to have a new pair made"
            ))
        })?;
    tls.alpn_protocols = vec![ALPN.to_vec()];
    let crypto = QuicServerConfig::try_from(tls).map_err(internal)?;
    let mut config = quinn::ServerConfig::with_crypto(Arc::new(crypto));
    config.transport_config(transport);
    Ok(config)
}

/// The configuration for dialing.
pub fn client_config(transport: Arc<TransportConfig>) -> PluginResult<quinn::ClientConfig> {
    let provider = provider();
    let mut tls = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(internal)?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyServerCertificate { provider }))
        .with_no_client_auth();
    tls.alpn_protocols = vec![ALPN.to_vec()];
    let crypto = QuicClientConfig::try_from(tls).map_err(internal)?;
    let mut config = quinn::ClientConfig::new(Arc::new(crypto));
    config.transport_config(transport);
    Ok(config)
}

/// One crypto provider for everything, passed explicitly: a plugin library has its own copy of
/// rustls' globals, and nobody installs a process-wide default in it.
fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn internal(error: impl std::fmt::Display) -> PluginError {
    PluginError::internal(format!("cannot set up TLS for QUIC: {error}"))
}

/// Accepts any server certificate but checks the handshake signature against it.
#[derive(Debug)]
struct AnyServerCertificate {
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for AnyServerCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        // Deliberate: peer identity is proven by the node's handshake above the transport.
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
