//! Errors as a person at the command line reads them: each thing said once, and what to do
//! when the store is busy or the disk is full.
//!
//! An error here is a chain: what the command was doing, then each cause. Many causes also
//! print their own cause in their message (`invalid input: --elder: not an id …` over
//! `--elder: not an id …` over `not an id …`), so printing the chain whole says a thing two
//! or three times. [`say`] keeps a cause only when its text is not already in what was said.

use carebank_core::sync::SyncError;

/// The error's chain as one line, each part once, with a hint where one helps.
pub fn say(e: &anyhow::Error) -> String {
    let mut said = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if text.is_empty() || said.contains(&text) {
            continue;
        }
        if !said.is_empty() {
            said.push_str(": ");
        }
        said.push_str(&text);
    }
    if let Some(hint) = e.chain().find_map(hint) {
        said.push_str(hint);
    }
    said
}

/// What to do about a store that is busy or a disk that is full.
fn hint(cause: &(dyn std::error::Error + 'static)) -> Option<&'static str> {
    let core = cause.downcast_ref::<carebank_core::Error>().or_else(|| {
        match cause.downcast_ref::<SyncError>() {
            Some(SyncError::Store(e)) => Some(&**e),
            _ => None,
        }
    })?;
    if core.is_busy() {
        Some(" (another program is using this store: try again in a moment)")
    } else if core.is_disk_full() {
        Some(" (the disk is full: free some space, then try again; nothing was written)")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    #[test]
    fn a_cause_already_said_is_not_said_again() {
        let bad = carebank_core::domain::parse_id("--elder", "deadbeef").expect_err("not an id");
        let e = anyhow::Error::new(carebank_core::Error::from(bad));
        let said = say(&e);
        assert_eq!(said.matches("deadbeef").count(), 1, "{said}");
        assert_eq!(said.matches("--elder").count(), 1, "{said}");
    }

    #[test]
    fn context_and_cause_are_both_said() {
        let e = Err::<(), _>(std::io::Error::other("no space"))
            .context("writing report.csv")
            .expect_err("failed");
        assert_eq!(say(&e), "writing report.csv: no space");
    }

    #[test]
    fn a_busy_store_says_to_try_again() {
        let busy = rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
            None,
        );
        let e = anyhow::Error::new(carebank_core::Error::Storage(busy));
        assert!(say(&e).contains("try again in a moment"), "{}", say(&e));
    }
}
