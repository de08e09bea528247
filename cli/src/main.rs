//! `carebank`: run the village demo, act as a device or a coordinator, and produce the monthly
//! report, from the command line.

mod args;
mod card_image;
mod clock;
mod commands;
mod demo;
mod device_dir;
mod errors;
mod progress;
mod words;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// carebank: community home care records and the time bank, offline first.
#[derive(Parser)]
#[command(
    name = "carebank",
    version,
    about,
    after_help = "Times are China Standard Time. CAREBANK_NOW=YYYY-MM-DDTHH:MM runs a command as if it were then (tests, training)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Play the reference village with a relay on loopback and print what a coordinator sees.
    Demo(demo::DemoArgs),
    /// Run the relay: the HTTP sync server for a province's circles (SQLite by default).
    Serve(commands::net::ServeArgs),
    /// Sync this device: with the relay, or by a bundle file carried by hand.
    Sync(commands::net::SyncArgs),
    /// Create a device store and key (or a new circle, for a town centre).
    Init(commands::setup::InitArgs),
    /// Add a station or village point (the centre).
    Site(commands::setup::SiteArgs),
    /// Certify a member's device key (the centre for coordinators, a coordinator for others).
    Enrol(commands::setup::EnrolArgs),
    /// Withdraw a lost or replaced device key.
    Revoke(commands::setup::RevokeArgs),
    /// Enrol an elder (a coordinator).
    Elder(commands::setup::ElderArgs),
    /// Record a home visit.
    Visit(commands::care::VisitArgs),
    /// Record a service (meal, bath, cleaning, mobility, medical_escort, companionship, emergency, other).
    Service(commands::care::ServiceArgs),
    /// Printed code cards for elders without a phone: issue, print, withdraw, checks.
    Card(commands::cards::CardArgs),
    /// Mark a visit's follow-up done.
    FollowUpDone(commands::care::FollowUpDoneArgs),
    /// Void a record entered in error (it stays on file, with the reason).
    Void(commands::care::VoidArgs),
    /// Claim time-bank hours for a service you gave.
    Claim(commands::timebank::ClaimArgs),
    /// Confirm someone's claim from the recipient side.
    Confirm(commands::timebank::ConfirmArgs),
    /// Spend hours on services received.
    Redeem(commands::timebank::RedeemArgs),
    /// Give hours to a relative.
    Gift(commands::timebank::GiftArgs),
    /// Time-bank balances.
    Balance(commands::timebank::BalanceArgs),
    /// Forks and gaps in the device chains, and the records that do not count.
    Chains(commands::view::ReviewArgs),
    /// The coordinator's queue of what needs a decision, or a decision.
    Reconcile(commands::timebank::ReconcileArgs),
    /// Export or verify a member's time-bank statement (valid in any village of the centre).
    Statement(commands::timebank::StatementArgs),
    /// Move a member's hours out to another circle (a coordinator): writes a transfer statement.
    TransferOut(commands::transfer::TransferOutArgs),
    /// Open a member's hours moved here from another circle (a coordinator), once.
    TransferIn(commands::transfer::TransferInArgs),
    /// Elders overdue for a visit.
    Overdue(commands::view::OverdueArgs),
    /// Follow-ups promised and not yet done.
    FollowUps(commands::view::FollowUpsArgs),
    /// Who this device is.
    Whoami(commands::view::StoreArg),
    /// Compact the store and truncate its log: the work writes leave for later (run it nightly).
    Maintain(commands::view::StoreArg),
    /// The monthly report: person-times by service type, hours by funding, entitlement use, overdue visits.
    Report(commands::view::ReportArgs),
    /// Who read an elder's data, when and why (the access log).
    AccessLog(commands::privacy::AccessLogArgs),
    /// Everything held about one elder, as JSON: their own copy (PIPL Art. 45).
    ExportElder(commands::privacy::ExportElderArgs),
    /// Withdraw (--withdraw) or give again an elder's consent for one purpose (a coordinator).
    Consent(commands::privacy::ConsentArgs),
    /// Erase an elder's personal data on every phone and the relay (a coordinator; PIPL Art. 47).
    Erase(commands::privacy::EraseArgs),
    /// Records made after the elder withdrew consent for what they hold (kept, for review).
    ConsentConflicts(commands::view::ReviewArgs),
    /// The authority hierarchy: a province root, districts, town centres, district officials.
    Authority(commands::authority::AuthorityArgs),
    /// Close a month: its aggregate figures signed for the district (again: a correction).
    CloseMonth(commands::district::CloseMonthArgs),
    /// A district official's view: every village's closed figures, verified (`district report`).
    District(commands::district::DistrictArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(e) = clock::init() {
        eprintln!("error: {}", errors::say(&e));
        return ExitCode::FAILURE;
    }
    let result = match cli.command {
        Command::Demo(a) => demo::run(a),
        Command::Serve(a) => commands::net::serve(a),
        Command::Sync(a) => commands::net::sync(a),
        Command::Init(a) => commands::setup::init(a),
        Command::Site(a) => commands::setup::site(a),
        Command::Enrol(a) => commands::setup::enrol(a),
        Command::Revoke(a) => commands::setup::revoke(a),
        Command::Elder(a) => commands::setup::elder(a),
        Command::Visit(a) => commands::care::visit(a),
        Command::Service(a) => commands::care::service(a),
        Command::Card(a) => commands::cards::card(a),
        Command::FollowUpDone(a) => commands::care::follow_up_done(a),
        Command::Void(a) => commands::care::void(a),
        Command::Claim(a) => commands::timebank::claim(a),
        Command::Confirm(a) => commands::timebank::confirm(a),
        Command::Redeem(a) => commands::timebank::redeem(a),
        Command::Gift(a) => commands::timebank::gift(a),
        Command::Balance(a) => commands::timebank::balance(a),
        Command::Reconcile(a) => commands::timebank::reconcile(a),
        Command::Statement(a) => commands::timebank::statement(a),
        Command::TransferOut(a) => commands::transfer::transfer_out(a),
        Command::TransferIn(a) => commands::transfer::transfer_in(a),
        Command::Overdue(a) => commands::view::overdue(a),
        Command::Chains(a) => commands::view::chains(a),
        Command::FollowUps(a) => commands::view::follow_ups(a),
        Command::Whoami(a) => commands::view::whoami(a),
        Command::Maintain(a) => commands::setup::maintain(a),
        Command::Report(a) => commands::view::report(a),
        Command::AccessLog(a) => commands::privacy::access_log(a),
        Command::ExportElder(a) => commands::privacy::export_elder(a),
        Command::Erase(a) => commands::privacy::erase(a),
        Command::Consent(a) => commands::privacy::consent(a),
        Command::ConsentConflicts(a) => commands::privacy::consent_conflicts(a),
        Command::Authority(a) => commands::authority::authority(a),
        Command::CloseMonth(a) => commands::district::close_month(a),
        Command::District(a) => commands::district::district(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", errors::say(&e));
            ExitCode::FAILURE
        }
    }
}

/// The `--store` and `--passphrase-file` options every device command takes.
#[derive(clap::Args)]
pub struct StoreOpt {
    /// The device folder (created by `carebank init`).
    #[arg(long, default_value = "carebank-data")]
    pub store: PathBuf,
    /// Encrypt the store under the passphrase in this file (its first line) instead of the
    /// random key kept in the folder's keys/store-key.key. Give it to every command.
    #[arg(long, env = "CAREBANK_PASSPHRASE_FILE", value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,
}

impl StoreOpt {
    /// The device folder, with the passphrase if one was given.
    pub fn dir(&self) -> anyhow::Result<device_dir::DeviceDir> {
        let dir = device_dir::DeviceDir::new(&self.store);
        match &self.passphrase_file {
            None => Ok(dir),
            Some(file) => Ok(dir.with_passphrase(device_dir::read_passphrase(file)?)),
        }
    }

    /// Opens the device's store.
    pub fn open(&self) -> anyhow::Result<carebank_core::CareStore> {
        self.dir()?.open()
    }
}
