//! Printed code cards at the command line (issue 15, item 3; decision 0019): the coordinator
//! issues and prints cards, the caregiver types the codes elders show into `service
//! --card-code`, and `card checks` on the coordinator's device says, in words, which codes were
//! valid, reused, out of order, of the wrong elder or of a withdrawn card.

mod common;

use common::{enrol, entitled_elder, fails, join, new_circle, ok};

/// Carries everything `from` holds to `to` in a bundle file.
fn carry(from: &str, to: &str, file: &str) {
    ok(&["sync", "--store", from, "--export-bundle", file]);
    ok(&["sync", "--store", to, "--import-bundle", file]);
}

/// The codes of a card this device issued, as `card print` lists them.
fn codes(store: &str, card: &str) -> Vec<String> {
    ok(&["card", "print", "--store", store, "--card", card])
        .lines()
        .map(|l| l.split_whitespace().nth(1).expect("a code").to_string())
        .collect()
}

/// The caregiver records a meal for `elder` at `at` confirmed by `code`; returns its id.
fn meal(caregiver: &str, elder: &str, at: &str, code: &str) -> String {
    ok(&[
        "service",
        "--store",
        caregiver,
        "--elder",
        elder,
        "--kind",
        "meal",
        "--minutes",
        "30",
        "--at",
        at,
        "--card-code",
        code,
    ])
    .trim()
    .to_string()
}

/// The line of `list` about service `id`.
fn line_of<'a>(list: &'a str, id: &str) -> &'a str {
    list.lines()
        .find(|l| l.contains(id))
        .unwrap_or_else(|| panic!("{id} not in {list}"))
}

#[test]
fn card_codes_are_checked_on_the_coordinators_device_and_flagged_in_words() {
    let dir = tempfile::tempdir().expect("tempdir");
    let at = |name: &str| dir.path().join(name).display().to_string();
    let (centre, coordinator, caregiver) = (at("centre"), at("coordinator"), at("caregiver"));
    let bundle = at("bundle.cbb");
    let (circle, centre_key, site) = new_circle(&centre, "龙泉镇养老服务中心");
    let coordinator_key = join(&coordinator, &circle, &centre_key);
    enrol(&centre, "李站长", "coordinator", &site, &coordinator_key);
    carry(&centre, &coordinator, &bundle);
    let caregiver_key = join(&caregiver, &circle, &centre_key);
    enrol(&coordinator, "王护理员", "caregiver", &site, &caregiver_key);
    let grandma = entitled_elder(&coordinator, "刘奶奶", &site, &["--birth-year", "1940"]);
    let grandpa = entitled_elder(&coordinator, "陈爷爷", &site, &["--birth-year", "1938"]);

    let png = at("card.png");
    let card = ok(&[
        "card",
        "issue",
        "--store",
        &coordinator,
        "--elder",
        &grandma,
        "--codes",
        "10",
        "--out",
        &png,
    ]);
    let card = card.trim();
    let image = std::fs::read(&png).expect("the card image");
    assert!(image.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG file");
    let other = ok(&[
        "card",
        "issue",
        "--store",
        &coordinator,
        "--elder",
        &grandpa,
    ]);
    let ours = codes(&coordinator, card);
    let theirs = codes(&coordinator, other.trim());
    assert_eq!(ours.len(), 10);
    carry(&coordinator, &caregiver, &bundle);

    // The caregiver's phone can neither issue nor print a card, and refuses a malformed code.
    fails(&["card", "issue", "--store", &caregiver, "--elder", &grandma]);
    fails(&["card", "print", "--store", &caregiver, "--card", card]);
    fails(&[
        "service",
        "--store",
        &caregiver,
        "--elder",
        &grandma,
        "--kind",
        "meal",
        "--minutes",
        "30",
        "--card-code",
        "12345",
    ]);

    let valid = meal(&caregiver, &grandma, "2026-11-02T09:00", &ours[0]);
    let reused = meal(&caregiver, &grandma, "2026-11-03T09:00", &ours[0]);
    meal(&caregiver, &grandma, "2026-11-04T09:00", &ours[2]);
    let out_of_order = meal(&caregiver, &grandma, "2026-11-04T12:00", &ours[1]);
    let wrong_elder = meal(&caregiver, &grandma, "2026-11-04T15:00", &theirs[0]);
    let unheld = ok(&[
        "card", "checks", "--store", &caregiver, "--month", "2026-11", "--all",
    ]);
    assert!(
        unheld.contains("0 of 5 card-code confirmations in 2026-11 flagged"),
        "{unheld}"
    );
    assert!(
        line_of(&unheld, &valid).contains("not checkable here"),
        "{unheld}"
    );

    carry(&caregiver, &coordinator, &bundle);
    ok(&[
        "card",
        "withdraw",
        "--store",
        &coordinator,
        "--card",
        card,
        "--reason",
        "lost",
    ]);
    carry(&coordinator, &caregiver, &bundle);
    let withdrawn = meal(&caregiver, &grandma, "now", &ours[3]);
    carry(&caregiver, &coordinator, &bundle);

    let checks = |more: &[&str]| {
        let month = [
            "card",
            "checks",
            "--store",
            &coordinator,
            "--month",
            "2026-11",
        ];
        ok(&[&month[..], more].concat())
    };
    let flagged = checks(&[]);
    assert!(
        flagged.contains("4 of 6 card-code confirmations in 2026-11 flagged"),
        "{flagged}"
    );
    assert!(
        !flagged.lines().any(|l| l.starts_with("  valid")),
        "a valid code is not listed: {flagged}"
    );
    for (service, words) in [
        (&reused, "  reused"),
        (&out_of_order, "  out of order"),
        (&wrong_elder, "  wrong elder"),
        (&withdrawn, "  withdrawn card"),
    ] {
        assert!(line_of(&flagged, service).starts_with(words), "{flagged}");
    }
    assert!(
        line_of(&flagged, &reused).contains(&valid),
        "names the first use"
    );
    assert!(
        line_of(&flagged, &out_of_order).contains("No. 2 of card"),
        "{flagged}"
    );
    assert!(
        line_of(&flagged, &wrong_elder).contains(other.trim()),
        "names the other card"
    );
    let all = checks(&["--all"]);
    assert!(line_of(&all, &valid).starts_with("  valid"), "{all}");
    let zh = checks(&["--lang", "zh"]);
    for word in ["重复使用", "顺序颠倒", "非本人卡码", "卡已作废"] {
        assert!(zh.contains(word), "{word} not in {zh}");
    }

    let report = ["report", "--store", &coordinator, "--month", "2026-11"];
    let csv = ok(&[&report[..], &["--csv", "--at", "2026-11-30"]].concat());
    for row in [
        "2026-11,confirmation,card_code,\"card code, checked\",2,person_times,,",
        "2026-11,confirmation,card_code_flagged,\"card code, flagged\",4,person_times,,",
        "2026-11,confirmation,unconfirmed,unconfirmed,0,person_times,,",
    ] {
        assert!(csv.contains(row), "{row} not in {csv}");
    }
}
