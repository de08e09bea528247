//! The relay's command-line options, shared by `carebank-relay` and `carebank serve`, and the
//! logging both set up.

use std::net::SocketAddr;
use std::path::PathBuf;

use carebank_core::identity::PublicKey;
use carebank_core::ids::Id;

use crate::{RelayConfig, TlsFiles};

/// How to run a relay, from the command line.
#[derive(clap::Args, Debug, Clone)]
pub struct RelayArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Folder of the embedded SQLite database (the default, zero set-up).
    #[arg(long, default_value = "relay-data")]
    pub data: PathBuf,
    /// Use this PostgreSQL database instead (postgres://…), so several relays can share it.
    #[arg(long)]
    pub database_url: Option<String>,
    /// Serve a circle: CIRCLE_ID:CENTRE_KEY (as printed by `carebank init --new-circle`).
    /// Circles registered once are remembered.
    #[arg(long = "circle", value_name = "CIRCLE_ID:CENTRE_KEY", value_parser = parse_circle)]
    pub circles: Vec<(Id, PublicKey)>,
    /// Largest request body in bytes.
    #[arg(long, default_value_t = 32 * 1024 * 1024)]
    pub max_body_bytes: usize,
    /// Serve HTTPS with this certificate chain (PEM, the relay's own certificate first), for
    /// running without a TLS-terminating proxy. Needs --tls-key.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Let the district officials under this province root key collect their districts' month
    /// closes (`/v1/district/closes`, the `/district` page). Repeat for several provinces.
    #[arg(long = "province-root", value_name = "KEY")]
    pub province_roots: Vec<PublicKey>,
}

impl RelayArgs {
    /// The configuration these options describe.
    pub fn config(&self) -> RelayConfig {
        let mut config = RelayConfig::new(self.listen, self.data.clone());
        config.database_url = self.database_url.clone();
        config.circles = self.circles.clone();
        config.max_body_bytes = self.max_body_bytes;
        config.province_roots = self.province_roots.clone();
        config.tls = self
            .tls_cert
            .clone()
            .zip(self.tls_key.clone())
            .map(|(cert, key)| TlsFiles { cert, key });
        config
    }
}

/// Reads `CIRCLE_ID:CENTRE_KEY`.
fn parse_circle(text: &str) -> Result<(Id, PublicKey), String> {
    let (circle, centre) = text
        .split_once(':')
        .ok_or("expected CIRCLE_ID:CENTRE_KEY")?;
    Ok((
        circle.parse().map_err(|e| format!("{e}"))?,
        centre.parse().map_err(|e| format!("{e}"))?,
    ))
}

/// Logs to standard error at `info` (or as `RUST_LOG` says); a second call changes nothing.
pub fn init_logging() {
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .try_init();
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        relay: RelayArgs,
    }

    #[test]
    fn tls_takes_a_certificate_and_a_key_together() {
        assert!(
            Cli::try_parse_from(["relay"])
                .expect("plain")
                .relay
                .config()
                .tls
                .is_none()
        );
        assert!(Cli::try_parse_from(["relay", "--tls-cert", "relay.crt"]).is_err());
        assert!(Cli::try_parse_from(["relay", "--tls-key", "relay.key"]).is_err());
        let cli =
            Cli::try_parse_from(["relay", "--tls-cert", "relay.crt", "--tls-key", "relay.key"])
                .expect("both");
        let tls = cli.relay.config().tls.expect("tls");
        assert_eq!(
            (tls.cert, tls.key),
            (PathBuf::from("relay.crt"), PathBuf::from("relay.key"))
        );
    }
}
