//! Progress on a terminal for the long commands (sync, import, reconcile, the demo): drawn on
//! standard error when it is a terminal, and nothing at all when it is not (a pipe, a log file,
//! a test), so that scripts read only the results.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Whether progress is drawn: standard error is a terminal.
fn drawn() -> bool {
    std::io::stderr().is_terminal()
}

fn hidden_unless_drawn(bar: ProgressBar) -> ProgressBar {
    if !drawn() {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    bar
}

/// A bar of `len` steps, each called `unit` ("day"), with a message at its end.
pub fn bar(len: u64, unit: &str) -> ProgressBar {
    let bar = hidden_unless_drawn(ProgressBar::new(len));
    bar.set_style(
        ProgressStyle::with_template(&format!(
            "{{spinner}} {unit} {{pos}}/{{len}} [{{bar:30}}] {{msg}}"
        ))
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar
}

/// A spinner saying what is being done, for work whose length is not known in advance.
pub fn spinner(doing: impl Into<String>) -> ProgressBar {
    let spinner = hidden_unless_drawn(ProgressBar::new_spinner());
    spinner.set_style(
        ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    spinner.set_message(doing.into());
    spinner.enable_steady_tick(Duration::from_millis(120));
    spinner
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_is_not_drawn_when_standard_error_is_not_a_terminal() {
        // Under `cargo test` standard error is captured, not a terminal.
        if !drawn() {
            assert!(bar(3, "day").is_hidden());
            assert!(spinner("syncing").is_hidden());
        }
    }
}
