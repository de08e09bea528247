//! The whole path from the command line: a centre, a relay started with `carebank serve` on
//! loopback, a coordinator, a caregiver and a volunteer each on their own device folder;
//! records, time-bank hours, syncs through the relay, reconciliation and the monthly report,
//! whose numbers are checked against what was recorded.

mod common;

use common::relay::Relay;
use common::{companionship_claim, enrol, entitled_elder, field, join, new_circle, ok, run};

#[test]
fn init_record_sync_reconcile_report() {
    let dir = tempfile::tempdir().expect("tempdir");
    let at = |name: &str| dir.path().join(name).display().to_string();
    let (centre, coordinator, caregiver, volunteer) = (
        at("centre"),
        at("coordinator"),
        at("caregiver"),
        at("volunteer"),
    );

    let (circle, centre_key, centre_site) = new_circle(&centre, "龙泉镇养老服务中心");
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
    let point = point.trim();
    let relay = Relay::start(&dir.path().join("relay"), &circle, &centre_key);
    let sync = |store: &str| ok(&["sync", "--store", store, "--relay", &relay.url]);

    let coordinator_key = join(&coordinator, &circle, &centre_key);
    enrol(&centre, "李站长", "coordinator", point, &coordinator_key);
    sync(&centre);
    sync(&coordinator);
    assert_eq!(
        field(&ok(&["whoami", "--store", &coordinator]), "role:"),
        "coordinator"
    );

    let caregiver_key = join(&caregiver, &circle, &centre_key);
    let volunteer_key = join(&volunteer, &circle, &centre_key);
    enrol(&coordinator, "王芳", "caregiver", point, &caregiver_key);
    let volunteer_id = enrol(&coordinator, "张志愿", "volunteer", point, &volunteer_key);
    let elder = entitled_elder(
        &coordinator,
        "刘奶奶",
        point,
        &[
            "--birth-year",
            "1936",
            "--cadence",
            "7",
            "--hours",
            "2",
            "--consent",
            "health_observations",
        ],
    );
    let elder = elder.as_str();
    sync(&coordinator);
    sync(&caregiver);
    sync(&volunteer);

    // A caregiver's morning: a visit, a meal and a bath; the volunteer keeps the elder company.
    ok(&[
        "visit",
        "--store",
        &caregiver,
        "--elder",
        elder,
        "--at",
        "2026-11-03T09:00",
        "--minutes",
        "30",
        "--health",
        "fair",
        "--follow-up",
        "下周复查血压",
    ]);
    ok(&[
        "service",
        "--store",
        &caregiver,
        "--elder",
        elder,
        "--kind",
        "meal",
        "--at",
        "2026-11-03T11:30",
        "--minutes",
        "60",
        "--funding",
        "government",
        "--confirmed-by-elder",
    ]);
    ok(&[
        "service",
        "--store",
        &caregiver,
        "--elder",
        elder,
        "--kind",
        "助浴",
        "--at",
        "2026-11-03T15:00",
        "--minutes",
        "45",
        "--funding",
        "government",
    ]);
    let claim = companionship_claim(&volunteer, elder, &["--at", "2026-11-04T10:00"]);
    sync(&caregiver);
    sync(&volunteer);

    // The coordinator confirms the claim; the volunteer sees her hours and spends half an hour.
    sync(&coordinator);
    ok(&["confirm", "--store", &coordinator, "--claim", &claim]);
    sync(&coordinator);
    sync(&volunteer);
    let balance = ok(&["balance", "--store", &volunteer]);
    assert!(balance.contains("1.5 h available"), "{balance}");
    ok(&["redeem", "--store", &volunteer, "--minutes", "30"]);
    sync(&volunteer);
    sync(&coordinator);
    let balance = ok(&[
        "balance",
        "--store",
        &coordinator,
        "--member",
        volunteer_id.trim(),
    ]);
    assert!(
        balance.contains("1.0 h available") && balance.contains("redeemed 0.5"),
        "{balance}"
    );
    assert!(ok(&["reconcile", "--store", &coordinator]).starts_with("0 items"));

    // The month's report on the coordinator's phone, checked against what was recorded.
    let csv = ok(&[
        "report",
        "--store",
        &coordinator,
        "--month",
        "2026-11",
        "--csv",
        "--at",
        "2026-11-30T12:00",
    ]);
    let row = |section: &str, key: &str| -> Vec<String> {
        csv.lines()
            .map(|l| l.split(',').map(str::to_string).collect::<Vec<_>>())
            .find(|r| r[1] == section && r[2] == key)
            .unwrap_or_else(|| panic!("no {section}/{key} in {csv}"))
    };
    assert_eq!(row("person_times", "visit")[4], "1");
    assert_eq!(row("person_times", "meal")[4], "1");
    assert_eq!(row("person_times", "bath")[4], "1");
    assert_eq!(row("person_times", "companionship")[4], "1");
    assert_eq!(row("person_times", "cleaning")[4], "0");
    assert_eq!(row("minutes_by_funding", "government")[4], "105");
    assert_eq!(row("minutes_by_funding", "time_bank")[4], "90");
    assert_eq!(row("time_bank", "earned")[4], "90");
    assert_eq!(row("time_bank", "redeemed")[4], "30");
    assert_eq!(row("time_bank", "given")[4], "0");
    let entitlement = row("entitlement", elder);
    assert_eq!(
        (
            entitlement[4].as_str(),
            entitlement[6].as_str(),
            entitlement[7].as_str()
        ),
        ("105", "120", "within_quota")
    );
    assert_eq!(
        row("overdue_visit", elder)[4],
        "20",
        "visited 3 Nov, due 10 Nov, 20 days late on 30 Nov"
    );
    assert!(ok(&["follow-ups", "--store", &coordinator]).starts_with("1 follow-ups open"));

    // A relay that cannot be reached: a clear message, and the work stays on the phone.
    let (success, _, stderr) = run(&[
        "sync",
        "--store",
        &caregiver,
        "--relay",
        "http://127.0.0.1:9",
    ]);
    assert!(!success);
    assert!(stderr.contains("Nothing recorded here is lost"), "{stderr}");
    drop(relay);
}
