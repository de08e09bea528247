//! Running the `carebank` binary from the end-to-end tests.

use std::sync::atomic::{AtomicU32, Ordering};

use assert_cmd::Command;

#[allow(dead_code)] // Not every test file syncs through a relay.
pub mod relay;

/// The morning the tests' clock starts (`CAREBANK_NOW`, China Standard Time): the tests never
/// read the machine's date, so they pass on any day.
const TEST_DAY: &str = "2026-11-05";

/// Commands run so far by this test binary: each runs a minute after the one before, as a
/// person at a terminal would, so that every store's clock moves forward from command to command.
static COMMANDS: AtomicU32 = AtomicU32::new(0);

/// The time the next command runs at: 08:00 on [`TEST_DAY`], one minute later for each command
/// before it (the day holds 16 hours of commands).
fn next_now() -> String {
    let n = COMMANDS.fetch_add(1, Ordering::SeqCst);
    assert!(n < 16 * 60, "more commands than one test day holds");
    format!("{TEST_DAY}T{:02}:{:02}", 8 + n / 60, n % 60)
}

/// Runs `carebank` with `args` by the tests' clock; returns whether it succeeded, its stdout
/// and its stderr.
pub fn run(args: &[&str]) -> (bool, String, String) {
    let out = Command::cargo_bin("carebank")
        .expect("binary")
        .env("CAREBANK_NOW", next_now())
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

/// Makes a town centre's new circle named `name` in the device folder `store`; returns the
/// circle id, the centre key and the centre site.
pub fn new_circle(store: &str, name: &str) -> (String, String, String) {
    let out = ok(&["init", "--store", store, "--new-circle", name]);
    (
        field(&out, "circle:"),
        field(&out, "centre key:"),
        field(&out, "centre site:"),
    )
}

/// Makes a device folder `store` that joins `circle`; returns its device key.
pub fn join(store: &str, circle: &str, centre_key: &str) -> String {
    let out = ok(&[
        "init",
        "--store",
        store,
        "--circle",
        circle,
        "--centre-key",
        centre_key,
    ]);
    field(&out, "device key:")
}

/// Enrols `device_key` from the device folder `by` as member `name` in `role` at `site`;
/// returns what the command printed (the member id).
#[allow(dead_code)] // Not every test file uses every helper.
pub fn enrol(by: &str, name: &str, role: &str, site: &str, device_key: &str) -> String {
    ok(&[
        "enrol",
        "--store",
        by,
        "--name",
        name,
        "--role",
        role,
        "--site",
        site,
        "--device-key",
        device_key,
    ])
}

/// Enrols, from the device folder `store`, an elder named `name` at `site` in the extreme-poverty
/// group who consented herself, with the further flags in `more` (birth year, hours …);
/// returns the elder's id.
#[allow(dead_code)] // Not every test file uses every helper.
pub fn entitled_elder(store: &str, name: &str, site: &str, more: &[&str]) -> String {
    let mut args = vec![
        "elder",
        "--store",
        store,
        "--name",
        name,
        "--site",
        site,
        "--group",
        "extreme_poverty",
        "--consent-by",
        "本人",
    ];
    args.extend_from_slice(more);
    ok(&args).trim().to_string()
}

/// From the device folder `volunteer`, records 90 minutes of companionship (陪伴) given to
/// `elder` for the time bank, with the further flags in `more` (a time …), and claims the 90
/// minutes for it; returns the claim's id.
#[allow(dead_code)] // Not every test file uses every helper.
pub fn companionship_claim(volunteer: &str, elder: &str, more: &[&str]) -> String {
    let mut args = vec![
        "service",
        "--store",
        volunteer,
        "--elder",
        elder,
        "--kind",
        "companionship",
        "--minutes",
        "90",
        "--funding",
        "time_bank",
    ];
    args.extend_from_slice(more);
    let service = ok(&args);
    ok(&[
        "claim",
        "--store",
        volunteer,
        "--service",
        service.trim(),
        "--minutes",
        "90",
    ])
    .trim()
    .to_string()
}

/// The value after `label` on the line of `output` that starts with it.
pub fn field(output: &str, label: &str) -> String {
    output
        .lines()
        .find_map(|l| l.strip_prefix(label))
        .map(|v| v.trim().to_string())
        .unwrap_or_else(|| panic!("no {label} in {output}"))
}
