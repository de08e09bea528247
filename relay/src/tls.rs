//! HTTPS served by the relay itself (rustls with the ring provider, HTTP/1.1), for operators
//! without a TLS terminator in front of it.

use std::path::PathBuf;
use std::sync::Arc;

use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::server::TlsStream;

use crate::RelayError;
use crate::connections::Accept;

/// The PEM files the relay serves HTTPS with.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// The certificate chain, the relay's own certificate first.
    pub cert: PathBuf,
    /// Its private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// Accepts TLS connections with the certificate of the files.
#[derive(Clone)]
pub struct Tls(TlsAcceptor);

impl Tls {
    /// Reads the certificate chain and key; the error names the file at fault.
    pub fn load(files: &TlsFiles) -> Result<Tls, RelayError> {
        let unreadable = |path: &PathBuf, e: &dyn std::fmt::Display| {
            RelayError::Config(format!("TLS file {}: {e}", path.display()))
        };
        let chain = CertificateDer::pem_file_iter(&files.cert)
            .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
            .map_err(|e| unreadable(&files.cert, &e))?;
        if chain.is_empty() {
            return Err(unreadable(&files.cert, &"no certificate in it"));
        }
        let key =
            PrivateKeyDer::from_pem_file(&files.key).map_err(|e| unreadable(&files.key, &e))?;
        let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .and_then(|b| b.with_no_client_auth().with_single_cert(chain, key))
            .map_err(|e| unreadable(&files.key, &e))?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Tls(TlsAcceptor::from(Arc::new(config))))
    }
}

impl Accept for Tls {
    type Stream = TlsStream<TcpStream>;

    async fn accept(&self, tcp: TcpStream) -> std::io::Result<Self::Stream> {
        self.0.accept(tcp).await
    }
}
