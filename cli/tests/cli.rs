//! The command line driven as a person would: set-up, records, reports, and the mistakes people
//! make, each with a clear message.

mod common;

use std::path::Path;

use common::{fails, field, ok};

fn path(dir: &Path, name: &str) -> String {
    dir.join(name).display().to_string()
}

#[test]
fn a_centre_sets_up_its_circle_and_reports_on_an_empty_month() {
    let dir = tempfile::tempdir().expect("tempdir");
    let centre = path(dir.path(), "centre");
    let out = ok(&[
        "init",
        "--store",
        &centre,
        "--new-circle",
        "龙泉镇养老服务中心",
    ]);
    let centre_site = field(&out, "centre site:");
    let point = ok(&[
        "site",
        "--store",
        &centre,
        "--kind",
        "village_point",
        "--name",
        "石桥村互助养老点",
        "--parent",
        &centre_site,
    ]);
    let elder = ok(&[
        "elder",
        "--store",
        &centre,
        "--name",
        "王奶奶",
        "--site",
        point.trim(),
        "--birth-year",
        "1938",
        "--cadence",
        "7",
        "--hours",
        "30",
        "--group",
        "extreme_poverty",
        "--consent-by",
        "本人",
    ]);
    assert_eq!(elder.trim().len(), 32);
    let who = ok(&["whoami", "--store", &centre]);
    assert_eq!(field(&who, "role:"), "centre");

    let csv = ok(&[
        "report",
        "--store",
        &centre,
        "--month",
        "2026-11",
        "--csv",
        "--lang",
        "zh",
        "--at",
        "2026-11-30T12:00",
    ]);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "月份,类别,项目,名称,数值,单位,额度,状态");
    assert_eq!(lines[1], "2026-11,person_times,visit,探访,0,person_times,,");
    assert!(
        csv.contains(&format!(
            "2026-11,entitlement,{},,0,minutes,1800,under_served",
            elder.trim()
        )),
        "{csv}"
    );
    let json = ok(&["report", "--store", &centre, "--month", "2026-11", "--json"]);
    let parsed: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert_eq!(parsed["month"], "2026-11");
}

#[test]
fn mistakes_get_clear_messages() {
    let dir = tempfile::tempdir().expect("tempdir");
    let nowhere = path(dir.path(), "nowhere");
    assert!(
        fails(&["report", "--store", &nowhere, "--month", "2026-11"])
            .contains("run `carebank init")
    );

    let centre = path(dir.path(), "centre");
    let out = ok(&["init", "--store", &centre, "--new-circle", "中心"]);
    let centre_site = field(&out, "centre site:");
    assert!(
        fails(&["init", "--store", &centre, "--new-circle", "again"]).contains("already holds")
    );
    assert!(fails(&["report", "--store", &centre, "--month", "2026-13"]).contains("not a month"));
    assert!(fails(&["report", "--store", &centre, "--month", "11/2026"]).contains("not a month"));
    assert!(
        fails(&[
            "report", "--store", &centre, "--month", "2026-11", "--lang", "fr"
        ])
        .contains("--lang")
    );

    // The centre is not a caregiver: it records no visits.
    let stranger = "0123456789abcdef0123456789abcdef";
    assert!(
        fails(&["visit", "--store", &centre, "--elder", stranger])
            .contains("not enrolled as a member")
    );
    assert!(
        fails(&[
            "service",
            "--store",
            &centre,
            "--elder",
            stranger,
            "--kind",
            "massage",
            "--minutes",
            "30"
        ])
        .contains("unknown service kind")
    );
    assert!(
        fails(&[
            "elder",
            "--store",
            &centre,
            "--name",
            "x",
            "--site",
            "",
            "--birth-year",
            "1940",
            "--consent-by",
            "x"
        ])
        .contains("--site")
    );
    assert!(
        fails(&[
            "elder",
            "--store",
            &centre,
            "--name",
            "x",
            "--site",
            stranger,
            "--birth-year",
            "1940",
            "--consent-by",
            "x"
        ])
        .contains("unknown site")
    );
    assert!(
        fails(&[
            "elder",
            "--store",
            &centre,
            "--name",
            "x",
            "--site",
            &centre_site,
            "--birth-year",
            "1940",
            "--consent-by",
            "x",
            "--group",
            "rich"
        ])
        .contains("unknown value")
    );
    assert!(
        fails(&[
            "visit",
            "--store",
            &centre,
            "--elder",
            stranger,
            "--at",
            "2026-02-30"
        ])
        .contains("not a time")
    );

    // A device that joined a circle but is not enrolled yet is told so.
    let phone = path(dir.path(), "phone");
    let centre_key = field(&ok(&["whoami", "--store", &centre]), "device key:");
    let circle = field(&ok(&["whoami", "--store", &centre]), "circle:");
    ok(&[
        "init",
        "--store",
        &phone,
        "--circle",
        &circle,
        "--centre-key",
        &centre_key,
    ]);
    assert_eq!(
        field(&ok(&["whoami", "--store", &phone]), "role:"),
        "not enrolled (or revoked)"
    );
    assert!(
        fails(&[
            "init",
            "--store",
            &path(dir.path(), "x"),
            "--circle",
            "nope",
            "--centre-key",
            &centre_key
        ])
        .contains("--circle")
    );
}
