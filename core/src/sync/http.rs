//! The HTTP transport to the relay (reqwest, rustls, no OpenSSL): timeouts, bounded retries
//! with exponential backoff, each attempt signed afresh. Message bodies are already zstd
//! compressed by the protocol, so HTTP adds no second compression. Requests carry no headers
//! beyond what HTTP/1.1 needs and the signature: a sync with nothing new fits in 512 bytes.

use std::time::Duration;

use super::{CancelToken, RequestAuth, SyncError, Transport};
use crate::identity::DeviceKey;
use crate::ids::Id;

/// A relay's address and how to talk to it.
pub struct RelayClient {
    client: reqwest::blocking::Client,
    base: String,
    attempts: u32,
    backoff: Duration,
}

impl RelayClient {
    /// A client for the relay at `base_url` (e.g. `https://relay.example:8443`), with a 10 s
    /// connect timeout, a 120 s request timeout and 4 attempts per request. HTTPS certificates
    /// are checked by the platform's verifier against the system's trusted roots (on Android the
    /// app must first initialise `rustls-platform-verifier`; see `android/README.md`, or use
    /// [`RelayClient::with_ca`]). An address that is not an `http://` or `https://` URL is
    /// [`SyncError::BadUrl`], before anything is sent.
    pub fn new(base_url: &str) -> Result<RelayClient, SyncError> {
        Self::build(base_url, None)
    }

    /// As [`RelayClient::new`], but HTTPS certificates are trusted only if they chain to one of
    /// the CA certificates in `ca_pem` (PEM, one or more): a district that runs its relay under
    /// its own CA pins it this way, and it needs no platform set-up on any phone.
    pub fn with_ca(base_url: &str, ca_pem: &str) -> Result<RelayClient, SyncError> {
        let roots = reqwest::Certificate::from_pem_bundle(ca_pem.as_bytes())
            .map_err(|e| SyncError::Malformed(format!("CA certificates: {e}")))?;
        if roots.is_empty() {
            return Err(SyncError::Malformed(
                "CA certificates: no PEM certificate found".into(),
            ));
        }
        Self::build(base_url, Some(roots))
    }

    fn build(
        base_url: &str,
        roots: Option<Vec<reqwest::Certificate>>,
    ) -> Result<RelayClient, SyncError> {
        let parsed = reqwest::Url::parse(base_url)
            .ok()
            .filter(|url| matches!(url.scheme(), "http" | "https") && url.host().is_some());
        if parsed.is_none() {
            return Err(SyncError::BadUrl(base_url.to_string()));
        }
        // Several clients may race to install it; any one installed is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = reqwest::blocking::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(120));
        if let Some(roots) = roots {
            builder = builder.tls_certs_only(roots);
        }
        let client = builder
            .build()
            .map_err(|e| SyncError::Transport(format!("HTTP client: {e}")))?;
        Ok(RelayClient {
            client,
            base: base_url.trim_end_matches('/').to_string(),
            attempts: 4,
            backoff: Duration::from_millis(200),
        })
    }

    /// Sets the attempts per request (at least one) and the first backoff (doubled each time).
    pub fn with_retries(mut self, attempts: u32, backoff: Duration) -> RelayClient {
        self.attempts = attempts.max(1);
        self.backoff = backoff;
        self
    }

    /// The name the relay is remembered under as a sync peer.
    pub fn peer_name(&self) -> String {
        format!("relay:{}", self.base)
    }

    /// Whether the relay answers its health check.
    pub fn health(&self) -> Result<(), SyncError> {
        let response = self
            .client
            .get(format!("{}/health", self.base))
            .send()
            .map_err(|e| SyncError::Transport(with_causes(&e)))?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(SyncError::Transport(format!(
                "health: {}",
                response.status()
            )))
        }
    }

    /// A transport for one sync of `circle`, signing with `key`.
    pub fn transport<'a>(
        &'a self,
        circle: Id,
        key: &'a DeviceKey,
        wall: &'a dyn Fn() -> u64,
        cancel: CancelToken,
    ) -> HttpTransport<'a> {
        self.signed(&format!("/v1/circles/{circle}/sync"), key, wall, cancel)
    }

    /// A transport whose requests are signed POSTs to `path` (e.g. a district official's
    /// `/v1/district/closes`), with the same timeouts and retries as a sync.
    pub fn signed<'a>(
        &'a self,
        path: &str,
        key: &'a DeviceKey,
        wall: &'a dyn Fn() -> u64,
        cancel: CancelToken,
    ) -> HttpTransport<'a> {
        HttpTransport {
            relay: self,
            path: path.to_string(),
            key,
            wall,
            cancel,
        }
    }
}

/// One sync's transport to the relay.
pub struct HttpTransport<'a> {
    relay: &'a RelayClient,
    path: String,
    key: &'a DeviceKey,
    wall: &'a dyn Fn() -> u64,
    cancel: CancelToken,
}

enum Attempt {
    Done(Vec<u8>),
    Retry(SyncError),
}

impl HttpTransport<'_> {
    fn attempt(&self, request: &[u8]) -> Result<Attempt, SyncError> {
        let auth = RequestAuth::sign(self.key, "POST", &self.path, request, (self.wall)());
        let sent = self
            .relay
            .client
            .post(format!("{}{}", self.relay.base, self.path))
            .header(super::AUTH_HEADER, auth.header_value())
            .body(request.to_vec())
            .send();
        let response = match sent {
            Ok(r) => r,
            Err(e) => return Ok(Attempt::Retry(SyncError::Transport(with_causes(&e)))),
        };
        let status = response.status();
        let body = match response.bytes() {
            Ok(b) => b.to_vec(),
            Err(e) => return Ok(Attempt::Retry(SyncError::Transport(e.to_string()))),
        };
        let text = || String::from_utf8_lossy(&body).into_owned();
        match status.as_u16() {
            200 => Ok(Attempt::Done(body)),
            401 | 403 => Err(SyncError::NotAuthorised(text())),
            408 | 429 | 500..=599 => Ok(Attempt::Retry(SyncError::Transport(format!(
                "{status}: {}",
                text()
            )))),
            _ => Err(SyncError::Refused(format!("{status}: {}", text()))),
        }
    }
}

/// An error with its causes ("error sending request: … : invalid peer certificate: …"), so
/// that a refused certificate or a refused connection says so.
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

impl Transport for HttpTransport<'_> {
    fn request(&mut self, request: &[u8]) -> Result<Vec<u8>, SyncError> {
        let mut last = SyncError::Transport("no attempt made".into());
        for attempt in 0..self.relay.attempts {
            if self.cancel.is_cancelled() {
                return Err(SyncError::Cancelled);
            }
            if attempt > 0 {
                let factor = 1u32 << (attempt - 1).min(6);
                std::thread::sleep(self.relay.backoff.saturating_mul(factor));
            }
            match self.attempt(request)? {
                Attempt::Done(body) => return Ok(body),
                Attempt::Retry(e) => last = e,
            }
        }
        Err(last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_that_is_not_an_http_url_is_refused_before_anything_is_sent() {
        for bad in ["relay.example:8443", "ftp://relay.example", "", "https://"] {
            assert!(
                matches!(RelayClient::new(bad), Err(SyncError::BadUrl(_))),
                "{bad}"
            );
        }
        assert!(RelayClient::new("https://relay.example:8443/").is_ok());
        assert!(RelayClient::new("http://127.0.0.1:8080").is_ok());
    }
}
