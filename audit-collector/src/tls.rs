//! TLS for the collector (rustls with the ring provider): loading the server's PEM certificate
//! and key, and making a self-signed certificate for a demo or a test.

use std::sync::Arc;

use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::error::CollectorError;

/// A certificate and its private key, PEM. `Debug` hides the key.
pub struct TlsIdentity {
    /// The certificate (chain), PEM.
    pub cert_pem: String,
    /// The private key, PEM.
    pub key_pem: zeroize::Zeroizing<String>,
}

impl std::fmt::Debug for TlsIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsIdentity").finish_non_exhaustive()
    }
}

impl TlsIdentity {
    /// A self-signed certificate for `names` (DNS names or IP addresses), valid for clients that
    /// are given this certificate as their only root.
    pub fn self_signed(names: &[&str]) -> Result<Self, CollectorError> {
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let certified = rcgen::generate_simple_self_signed(names)
            .map_err(|e| CollectorError::Tls(format!("cannot make a certificate: {e}")))?;
        Ok(Self {
            cert_pem: certified.cert.pem(),
            key_pem: zeroize::Zeroizing::new(certified.signing_key.serialize_pem()),
        })
    }

    /// The rustls server configuration.
    pub fn server_config(&self) -> Result<Arc<rustls::ServerConfig>, CollectorError> {
        let certs = certificates(self.cert_pem.as_bytes())?;
        let key = PrivateKeyDer::from_pem_slice(self.key_pem.as_bytes())
            .map_err(|_| CollectorError::Tls("the private key is not a PEM private key".into()))?;
        let config = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| CollectorError::Tls(e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(|e| CollectorError::Tls(e.to_string()))?;
        Ok(Arc::new(config))
    }
}

/// The certificates in a PEM text.
pub fn certificates(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, CollectorError> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<_, _>>()
        .map_err(|_| CollectorError::Tls("not a PEM certificate".into()))?;
    if certs.is_empty() {
        return Err(CollectorError::Tls("no certificate in the PEM text".into()));
    }
    Ok(certs)
}

/// The crypto provider: ring.
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}
