//! The access log, the elder's own copy and consent per purpose, driven as a coordinator would
//! from the command line (issue 12, items 4 and 5).

mod common;

use std::path::Path;

use common::{fails, new_circle, ok};

fn path(dir: &Path, name: &str) -> String {
    dir.join(name).display().to_string()
}

#[test]
fn reads_are_logged_the_elder_gets_a_copy_and_consent_can_be_withdrawn() {
    let dir = tempfile::tempdir().expect("tempdir");
    let centre = path(dir.path(), "centre");
    let (_, _, centre_site) = new_circle(&centre, "龙泉镇养老服务中心");
    let elder = ok(&[
        "elder",
        "--store",
        &centre,
        "--name",
        "王奶奶",
        "--site",
        &centre_site,
        "--birth-year",
        "1938",
        "--hours",
        "30",
        "--group",
        "extreme_poverty",
        "--consent-by",
        "本人",
        "--consent",
        "health_observations",
    ]);
    let elder = elder.trim();
    let log = ok(&["access-log", "--store", &centre, "--elder", elder]);
    assert!(log.starts_with("0 reads of elder"), "{log}");

    // A report with names, and a purpose nobody has: refused before anything is read.
    let err = fails(&["follow-ups", "--store", &centre, "--purpose", "curiosity"]);
    assert!(err.contains("--purpose"), "{err}");
    let report = ok(&[
        "report",
        "--store",
        &centre,
        "--month",
        "2026-11",
        "--names",
        "--at",
        "2026-11-30T12:00",
    ]);
    assert!(report.contains("王奶奶"), "{report}");
    let log = ok(&["access-log", "--store", &centre, "--elder", elder]);
    assert!(log.starts_with("1 reads of elder"), "{log}");
    assert!(
        log.contains("monthly_report") && log.contains("purpose report") && log.contains("centre"),
        "{log}"
    );

    // The elder's copy, written to a file, and logged.
    let out = path(dir.path(), "王奶奶.json");
    ok(&[
        "export-elder",
        "--store",
        &centre,
        "--elder",
        elder,
        "--out",
        &out,
    ]);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).expect("export")).expect("json");
    assert_eq!(json["elder_id"], elder);
    assert_eq!(json["profile"][0]["body"]["name"], "王奶奶");
    assert_eq!(json["access_log"][1]["call"], "export_elder");
    let log = ok(&["access-log", "--store", &centre, "--elder", elder]);
    assert!(
        log.starts_with("2 reads of elder") && log.contains("export_elder"),
        "{log}"
    );
    let err = fails(&[
        "export-elder",
        "--store",
        &centre,
        "--elder",
        &"0".repeat(32),
    ]);
    assert!(err.contains("unknown elder"), "{err}");
    let err = fails(&["access-log", "--store", &centre, "--elder", "王奶奶"]);
    assert!(err.contains("--elder"), "{err}");

    // Consent withdrawn for one purpose, then given again; bad purposes are named.
    let withdrawn = ok(&[
        "consent",
        "--store",
        &centre,
        "--elder",
        elder,
        "--purpose",
        "health_observations",
        "--withdraw",
        "--by",
        "本人",
        "--reason",
        "不愿记录健康情况",
    ]);
    assert_eq!(withdrawn.trim().len(), 32);
    ok(&[
        "consent",
        "--store",
        &centre,
        "--elder",
        elder,
        "--purpose",
        "health_observations",
        "--by",
        "本人",
    ]);
    let err = fails(&[
        "consent",
        "--store",
        &centre,
        "--elder",
        elder,
        "--purpose",
        "gossip",
        "--by",
        "本人",
    ]);
    assert!(err.contains("unknown consent purpose"), "{err}");
    let conflicts = ok(&["consent-conflicts", "--store", &centre]);
    assert!(conflicts.starts_with("0 records"), "{conflicts}");
}
