//! Running the relay, and syncing a device: with the relay, or by bundle files carried by hand.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use carebank_core::sync::CancelToken;
use carebank_core::sync::bundle::Since;
use carebank_core::sync::http::RelayClient;
use carebank_relay::RelayArgs;

use crate::StoreOpt;

/// `carebank serve`.
#[derive(clap::Args)]
pub struct ServeArgs {
    #[command(flatten)]
    relay: RelayArgs,
}

/// Runs the relay until Ctrl-C or SIGTERM.
pub fn serve(a: ServeArgs) -> Result<()> {
    carebank_relay::init_logging();
    let a = a.relay;
    let config = a.config();
    let database = match &a.database_url {
        Some(_) => "PostgreSQL".to_string(),
        None => format!("SQLite in {}", a.data.display()),
    };
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async move {
        let (addr, server) = carebank_relay::bind(config, carebank_relay::shutdown_signal()).await?;
        let scheme = if a.tls_cert.is_some() { "https" } else { "http" };
        println!(
            "carebank relay listening on {scheme}://{addr}  database: {database}  circles given: {} (registered ones are remembered)",
            a.circles.len()
        );
        server.await
    })?;
    Ok(())
}

/// `carebank sync`.
#[derive(clap::Args)]
pub struct SyncArgs {
    #[command(flatten)]
    store: StoreOpt,
    /// Sync with the relay at this URL (https://host:port, or http:// on a trusted network).
    #[arg(long, conflicts_with_all = ["export_bundle", "import_bundle"])]
    relay: Option<String>,
    /// With --relay: trust only the CA certificates in this PEM file for HTTPS (the district's
    /// own CA) instead of the system's roots.
    #[arg(long, requires = "relay")]
    relay_ca: Option<PathBuf>,
    /// Write a bundle file of everything this device holds (for a USB stick, an SD card, a chat).
    #[arg(long, conflicts_with = "import_bundle")]
    export_bundle: Option<PathBuf>,
    /// With --export-bundle: only what the device with this key is not known to hold.
    #[arg(long, requires = "export_bundle")]
    for_peer: Option<String>,
    /// Read a bundle file from another device of the circle (sealed for this device and signed
    /// by a device the circle trusts; all of it is imported, or nothing).
    #[arg(long)]
    import_bundle: Option<PathBuf>,
    /// With --import-bundle: also read a plain (unsealed) bundle file, or one written by an
    /// earlier version (unsigned). Nothing authenticates such a file: use it only when you know
    /// where the file came from.
    #[arg(long, requires = "import_bundle")]
    allow_plain_bundle: bool,
}

/// Syncs a device by the chosen path.
pub fn sync(a: SyncArgs) -> Result<()> {
    let mut store = a.store.open()?;
    if let Some(url) = &a.relay {
        let client = match &a.relay_ca {
            Some(path) => {
                let pem = std::fs::read_to_string(path)
                    .with_context(|| format!("reading {}", path.display()))?;
                RelayClient::with_ca(url, &pem)
                    .with_context(|| format!("the CA certificates in {}", path.display()))?
            }
            None => RelayClient::new(url)?,
        }
        .with_retries(3, Duration::from_millis(500));
        let syncing = crate::progress::spinner(format!("syncing with {url}"));
        let synced = store.sync_with_relay(&client, &CancelToken::new(), &mut |p| {
            syncing.set_message(format!(
                "syncing with {url}: {} of {} documents, {} round trips",
                p.docs_synced, p.docs_to_sync, p.round_trips
            ));
        });
        syncing.finish_and_clear();
        let progress = synced.map_err(|e| {
            anyhow::anyhow!("sync with {url} failed: {e}. Nothing recorded here is lost: it stays on this device and goes with the next sync")
        })?;
        println!(
            "synced with {url}: {} round trips, {} bytes sent, {} bytes received, {} documents differed",
            progress.round_trips,
            progress.bytes_sent,
            progress.bytes_received,
            progress.docs_to_sync
        );
        return Ok(());
    }
    if let Some(file) = &a.export_bundle {
        let since = match &a.for_peer {
            Some(peer) => Since::Peer(peer.clone()),
            None => Since::Everything,
        };
        let writing = crate::progress::spinner(format!("writing {}", file.display()));
        let bytes = store.export_bundle(&since);
        writing.finish_and_clear();
        let bytes = bytes?;
        std::fs::write(file, &bytes).with_context(|| format!("writing {}", file.display()))?;
        println!("wrote {} ({} bytes)", file.display(), bytes.len());
        return Ok(());
    }
    if let Some(file) = &a.import_bundle {
        let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
        let importing = crate::progress::spinner(format!("importing {}", file.display()));
        let report = if a.allow_plain_bundle {
            store.import_bundle_allowing_plain(&bytes)
        } else {
            store.import_bundle(&bytes)
        };
        importing.finish_and_clear();
        let report = report?;
        println!(
            "imported {}: {} documents, {} new records",
            file.display(),
            report.docs,
            report.records_added
        );
        if report.values_rejected > 0 {
            eprintln!(
                "kept out {} values that are not valid records (altered on the way to the \
                 exporter once; see the store's rejections)",
                report.values_rejected
            );
        }
        return Ok(());
    }
    bail!("say --relay URL, --export-bundle FILE or --import-bundle FILE")
}
