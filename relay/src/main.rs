//! `carebank-relay --listen 127.0.0.1:PORT --data DIR [--database-url postgres://…]
//! [--circle CIRCLE_ID:CENTRE_KEY]…`: runs the relay until Ctrl-C or SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use carebank_core::identity::PublicKey;
use carebank_core::ids::Id;
use carebank_relay::{RelayConfig, serve};
use clap::Parser;

/// The carebank relay: an HTTP sync server for the circles' devices.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Directory of the embedded SQLite database.
    #[arg(long, default_value = "relay-data")]
    data: PathBuf,
    /// Use this PostgreSQL database instead of SQLite.
    #[arg(long)]
    database_url: Option<String>,
    /// Serve a circle: `CIRCLE_ID:CENTRE_KEY` (hex). Registered circles are remembered.
    #[arg(long = "circle", value_parser = parse_circle)]
    circles: Vec<(Id, PublicKey)>,
    /// Largest request body in bytes.
    #[arg(long, default_value_t = 32 * 1024 * 1024)]
    max_body_bytes: usize,
}

fn parse_circle(text: &str) -> Result<(Id, PublicKey), String> {
    let (circle, centre) = text
        .split_once(':')
        .ok_or("expected CIRCLE_ID:CENTRE_KEY")?;
    Ok((
        circle.parse().map_err(|e| format!("{e}"))?,
        centre.parse().map_err(|e| format!("{e}"))?,
    ))
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { () = ctrl_c => {}, () = term => {} }
    tracing::info!("shutting down");
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let args = Args::parse();
    let mut config = RelayConfig::new(args.listen, args.data);
    config.database_url = args.database_url;
    config.circles = args.circles;
    config.max_body_bytes = args.max_body_bytes;
    match serve(config, shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "relay failed");
            ExitCode::FAILURE
        }
    }
}
