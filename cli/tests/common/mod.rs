//! Running the `carebank` binary from the end-to-end tests.

use assert_cmd::Command;

/// Runs `carebank` with `args`; returns whether it succeeded, its stdout and its stderr.
pub fn run(args: &[&str]) -> (bool, String, String) {
    let out = Command::cargo_bin("carebank")
        .expect("binary")
        .args(args)
        .output()
        .expect("run");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs and returns stdout, failing the test with stderr if the command fails.
pub fn ok(args: &[&str]) -> String {
    let (success, stdout, stderr) = run(args);
    assert!(success, "{args:?} failed: {stderr}");
    stdout
}

/// Runs a command that must fail and returns its stderr.
#[allow(dead_code)] // Not every test file uses every helper.
pub fn fails(args: &[&str]) -> String {
    let (success, _, stderr) = run(args);
    assert!(!success, "{args:?} should have failed");
    stderr
}

/// The value after `label` on the line of `output` that starts with it.
pub fn field(output: &str, label: &str) -> String {
    output
        .lines()
        .find_map(|l| l.strip_prefix(label))
        .map(|v| v.trim().to_string())
        .unwrap_or_else(|| panic!("no {label} in {output}"))
}
