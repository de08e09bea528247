//! The authority hierarchy set up from the command line: a province root certifies a district,
//! the district certifies a town centre and an official, and each imports its chain; chains
//! that are not theirs, or not under their province, are refused with a reason. Then the month
//! closed by the town and collected by the official through a relay (`close-month`,
//! `district report`).

mod common;

use std::path::Path;

use common::relay::Relay;
use common::{entitled_elder, fails, join, new_circle, ok};

fn path(dir: &Path, name: &str) -> String {
    dir.join(name).display().to_string()
}

/// `authority certify` by the folder `by`: (level, subject key, name, region) into `out`.
fn certify(by: &str, who: [&str; 4], out: &str) -> Vec<String> {
    let [level, subject, name, region] = who;
    [
        "authority",
        "certify",
        "--store",
        by,
        "--level",
        level,
        "--subject",
        subject,
        "--name",
        name,
        "--region",
        region,
        "--out",
        out,
    ]
    .map(String::from)
    .to_vec()
}

/// `authority import` of `file` into the folder `into`, under `root`.
fn import(into: &str, file: &str, root: &str) -> Vec<String> {
    [
        "authority",
        "import",
        "--store",
        into,
        file,
        "--province-root",
        root,
    ]
    .map(String::from)
    .to_vec()
}

fn args(list: &[String]) -> Vec<&str> {
    list.iter().map(String::as_str).collect()
}

#[test]
fn a_province_certifies_a_district_which_certifies_a_town_and_an_official() {
    let dir = tempfile::tempdir().expect("tempdir");
    let [province, district, official, other, centre, coordinator] = [
        "province",
        "district",
        "official",
        "other-province",
        "centre",
        "coordinator",
    ]
    .map(|name| path(dir.path(), name));
    let new_root = |store: &str, name: &str, region: &str| {
        let out = ok(&[
            "authority",
            "new-root",
            "--store",
            store,
            "--name",
            name,
            "--region",
            region,
        ]);
        out.trim().to_string()
    };
    let level_key = |store: &str, level: &str| {
        let out = ok(&["authority", "key", "--store", store, "--level", level]);
        out.trim().to_string()
    };
    let root = new_root(&province, "浙江省", "33");
    assert_eq!(root.len(), 64);
    let district_key = level_key(&district, "district");
    let district_file = path(dir.path(), "district.chain");
    let who = ["district", &district_key, "临安区", "330112"];
    ok(&args(&certify(&province, who, &district_file)));

    // A district may not certify before it holds its own chain.
    let (circle, centre_key, _) = new_circle(&centre, "青山镇养老服务中心");
    let town_file = path(dir.path(), "town.chain");
    let town = certify(
        &district,
        ["town", &centre_key, "青山镇", "330112101"],
        &town_file,
    );
    assert!(fails(&args(&town)).contains("holds no district certificate"));
    let imported = ok(&args(&import(&district, &district_file, &root)));
    assert!(imported.contains("district 临安区"), "{imported}");
    ok(&args(&town));

    // The coordinator's folder (same circle) keeps the town chain: it names the circle's centre.
    join(&coordinator, &circle, &centre_key);
    let imported = ok(&args(&import(&coordinator, &town_file, &root)));
    assert!(
        imported.contains("town 青山镇 (330112101) of district 临安区"),
        "{imported}"
    );

    // Another province's root refuses the same chain; a district chain is not a town's.
    let other_root = new_root(&other, "别省", "34");
    let refused = fails(&args(&import(&coordinator, &town_file, &other_root)));
    assert!(refused.contains("does not verify"), "{refused}");
    let refused = fails(&args(&import(&official, &district_file, &root)));
    assert!(refused.contains("not this folder's key"), "{refused}");

    // An official: certified by the district, imported into the official's folder.
    let official_key = level_key(&official, "official");
    let official_file = path(dir.path(), "official.chain");
    let who = ["official", &official_key, "王科长", "330112"];
    ok(&args(&certify(&district, who, &official_file)));
    let imported = ok(&args(&import(&official, &official_file, &root)));
    assert!(imported.contains("official 王科长"), "{imported}");

    // A province does not certify a town directly; a damaged chain file is refused.
    let direct = certify(&province, ["town", &centre_key, "镇", "3301"], &town_file);
    let refused = fails(&args(&direct));
    assert!(
        refused.contains("holds no district certificate"),
        "{refused}"
    );
    let damaged = path(dir.path(), "damaged.chain");
    let mut bytes = std::fs::read(&official_file).expect("chain");
    let last = bytes.len() - 3;
    bytes[last] ^= 1;
    std::fs::write(&damaged, bytes).expect("write");
    let refused = fails(&args(&import(&official, &damaged, &root)));
    assert!(refused.contains("damaged.chain"), "{refused}");
}

#[test]
fn a_town_closes_its_month_and_the_official_collects_it_through_the_relay() {
    let dir = tempfile::tempdir().expect("tempdir");
    let [province, district, official, centre] =
        ["province", "district", "official", "centre"].map(|name| path(dir.path(), name));
    let root = ok(&[
        "authority",
        "new-root",
        "--store",
        &province,
        "--name",
        "浙江省",
        "--region",
        "33",
    ]);
    let root = root.trim();
    let chain = |name: &str| path(dir.path(), name);
    let key_of = |store: &str, level: &str| {
        let out = ok(&["authority", "key", "--store", store, "--level", level]);
        out.trim().to_string()
    };
    let district_key = key_of(&district, "district");
    let who = ["district", &district_key, "临安区", "330112"];
    ok(&args(&certify(&province, who, &chain("d"))));
    ok(&args(&import(&district, &chain("d"), root)));
    let official_key = key_of(&official, "official");
    let who = ["official", &official_key, "王科长", "330112"];
    ok(&args(&certify(&district, who, &chain("o"))));
    ok(&args(&import(&official, &chain("o"), root)));
    let (circle, centre_key, centre_site) = new_circle(&centre, "青山镇养老服务中心");
    let who = ["town", &centre_key, "青山镇", "330112101"];
    ok(&args(&certify(&district, who, &chain("t"))));

    // Without its town chain a centre cannot close a month.
    let close = ["close-month", "--store", &centre, "--month", "2026-11"];
    assert!(fails(&close).contains("holds no town certificate"));
    ok(&args(&import(&centre, &chain("t"), root)));
    entitled_elder(
        &centre,
        "王奶奶",
        &centre_site,
        &["--birth-year", "1938", "--hours", "30"],
    );
    let closed = ok(&close);
    assert!(closed.contains("(version 1)"), "{closed}");

    let relay = Relay::start_with(
        &dir.path().join("relay"),
        &circle,
        &centre_key,
        &["--province-root", root],
    );
    ok(&["sync", "--store", &centre, "--relay", &relay.url]);
    let report = |month: &str, format: &str| {
        ok(&[
            "district", "report", "--store", &official, "--relay", &relay.url, "--month", month,
            format,
        ])
    };
    let csv = report("2026-11", "--csv");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "month,circle,village,version,status,record_id,section,key,value,unit"
    );
    let line = |status: &str, key: &str, value: &str| {
        lines.iter().any(|l| {
            l.starts_with(&format!("2026-11,{circle},青山镇,"))
                && l.contains(&format!(",{status},"))
                && l.ends_with(&format!(",entitlement,{key},{value},elders"))
        })
    };
    assert!(line("current", "under_served", "1"), "{csv}");
    assert!(
        lines.contains(&"2026-11,,total,,total,,entitlement,under_served,1,elders"),
        "{csv}"
    );

    // Closing again is a correction: version 2 is current, version 1 still listed.
    let closed = ok(&close);
    assert!(closed.contains("(version 2)"), "{closed}");
    ok(&["sync", "--store", &centre, "--relay", &relay.url]);
    let json: serde_json::Value = serde_json::from_str(&report("2026-11", "--json")).expect("json");
    let village = &json["villages"][0];
    assert_eq!(village["current"]["version"], 2);
    assert_eq!(village["superseded"][0]["version"], 1);
    assert_eq!(
        village["current"]["supersedes"],
        village["superseded"][0]["record_id"]
    );
    let table = report("2026-10", "--json");
    let october: serde_json::Value = serde_json::from_str(&table).expect("json");
    assert!(october["villages"][0].get("current").is_none(), "{table}");
    let text = ok(&[
        "district", "report", "--store", &official, "--relay", &relay.url, "--month", "2026-10",
    ]);
    assert!(text.contains("not closed: 青山镇"), "{text}");

    // The district's own key is no official's: the relay refuses it.
    let refused = fails(&[
        "district", "report", "--store", &district, "--relay", &relay.url, "--month", "2026-11",
    ]);
    assert!(
        refused.contains("holds no official certificate"),
        "{refused}"
    );
}
