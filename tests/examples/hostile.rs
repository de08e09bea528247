//! The hostile network of the fault harness (`scripts/faults.sh` runs it after the kills): for
//! each fault kind (drop, duplicate, reorder, replay, alter, withhold) a small circle plays a
//! bounded number of rounds through a hostile relay proxy, a hostile phone channel and a hostile
//! courier of bundle files, all on loopback and in this process, from a seeded generator; then
//! the network heals and every store is compared with the honest reference (see
//! `carebank_scenarios::hostile`). Prints one line a kind; exits 1 if any shows a forged record
//! counted, an honest one lost, something accepted twice, an alteration not refused or a
//! withheld record counted or not arriving.
//!
//! Run: `cargo run -p carebank-scenarios --example hostile -- [--long] [--seed N]` (100 rounds a
//! kind; `--long`: 1,000).

use std::process::ExitCode;
use std::time::Instant;

use carebank_scenarios::hostile::Fault;
use carebank_scenarios::hostile::scenario::play;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let long = args.iter().any(|a| a == "--long");
    let seed = args
        .iter()
        .position(|a| a == "--seed")
        .and_then(|i| args.get(i + 1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(1u64);
    let rounds = if long { 1000 } else { 100 };
    let started = Instant::now();
    let mut failed = false;
    for fault in Fault::ALL {
        match play(fault, rounds, seed) {
            Ok(line) => {
                println!("{}", line.text);
                failed |= line.failed;
            }
            Err(e) => {
                println!("{}: could not be played: {e}", fault.name());
                failed = true;
            }
        }
    }
    println!(
        "hostile network: {} run, seed {seed}, {:.0} s",
        if long { "long" } else { "short" },
        started.elapsed().as_secs_f64()
    );
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
