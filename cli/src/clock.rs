//! The clock a command runs by: the machine's, or one that `CAREBANK_NOW` starts at a given
//! China Standard Time and lets run on from there (for tests and for training on a fixed day).
//! It stamps records and answers "now"; requests to a relay are stamped by the machine's clock,
//! which the relay checks against its own. It is no security boundary: a phone's owner can set
//! the phone's clock just as well.

use std::sync::OnceLock;
use std::time::Instant;

use anyhow::{Context, Result};
use carebank_core::hlc::wall_clock_ms;

/// The environment variable that sets the clock (`YYYY-MM-DD` or `YYYY-MM-DDTHH:MM`, CST).
pub const CLOCK_ENV: &str = "CAREBANK_NOW";

/// The set start, and when the process read it.
static SET: OnceLock<Option<(u64, Instant)>> = OnceLock::new();

/// Reads `CAREBANK_NOW` once; a value that is not a time is an error, never the machine's clock.
pub fn init() -> Result<()> {
    let set = match std::env::var(CLOCK_ENV) {
        Ok(text) => Some((
            crate::args::parse_civil_time(&text).context(CLOCK_ENV)?,
            Instant::now(),
        )),
        Err(_) => None,
    };
    let _ = SET.set(set);
    Ok(())
}

/// Now, in Unix milliseconds, by the clock this command runs by.
pub fn now_ms() -> u64 {
    match SET.get() {
        Some(Some((start, at))) => {
            start.saturating_add(u64::try_from(at.elapsed().as_millis()).unwrap_or(u64::MAX))
        }
        _ => wall_clock_ms(),
    }
}
