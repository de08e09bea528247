//! The village demo, the README's first command, played end to end (on 10 days, the fewest that
//! include the staged double spend, instead of the default 14, to keep the test short).

use assert_cmd::Command;

#[test]
fn the_village_demo_plays_the_double_spend_and_ends_with_an_empty_queue() {
    let dir = tempfile::tempdir().expect("dir");
    let out = dir.path().join("demo");
    // The demo keeps its own simulated clock: no test clock is needed.
    let run = Command::cargo_bin("carebank")
        .expect("binary")
        .args(["demo", "--days", "10", "--out"])
        .arg(&out)
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "the demo failed: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    for heading in [
        "Person-times (人次)",
        "Service hours by funding source",
        "Time-bank balances",
        "Open follow-ups",
        "Integrity",
    ] {
        assert!(stdout.contains(heading), "no {heading:?} in:\n{stdout}");
    }
    assert!(
        stdout.contains("Conflict queue: 2 items need the coordinator"),
        "the restored phone's double spend is not in the queue:\n{stdout}"
    );
    assert!(stdout.contains("the queue now holds 0 items"), "{stdout}");
    assert!(
        stdout.contains("0 records refused, 0 from unknown or revoked keys"),
        "{stdout}"
    );
    assert!(out.join("relay").is_dir() && out.join("devices").is_dir());
}
