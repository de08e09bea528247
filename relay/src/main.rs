//! `carebank-relay --listen 127.0.0.1:PORT --data DIR [--database-url postgres://…]
//! [--circle CIRCLE_ID:CENTRE_KEY]…`: runs the relay until Ctrl-C or SIGTERM.

use std::process::ExitCode;

use carebank_relay::{RelayArgs, init_logging, serve, shutdown_signal};
use clap::Parser;

/// The carebank relay: an HTTP sync server for the circles' devices.
#[derive(Parser)]
#[command(version)]
struct Args {
    #[command(flatten)]
    relay: RelayArgs,
}

#[tokio::main]
async fn main() -> ExitCode {
    init_logging();
    let args = Args::parse();
    match serve(args.relay.config(), shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "relay failed");
            ExitCode::FAILURE
        }
    }
}
