//! Monthly figures upward (issue 15, item 1): three villages in two districts close November;
//! each district's official collects its villages' closes through the relay and verifies them
//! itself; every village's figures in the district report equal the village's own report; a
//! correction is a second version that supersedes the first, both kept and shown. And the
//! relay's `/district` page, loaded in headless Chromium (`tests/browser/district_page.js`).

use carebank_core::CareStore;
use carebank_core::domain::{Funding, Role};
use carebank_core::hlc::wall_clock_ms;
use carebank_core::identity::DeviceKey;
use carebank_core::identity::authority::{AuthorityChain, AuthorityLevel, AuthorityStatement};
use carebank_core::report::MonthlyReport;
use carebank_core::report::district::{DistrictMonth, FetchedCloses, Village};
use carebank_core::sync::http::RelayClient;
use carebank_core::sync::{CancelToken, SyncError, Transport};
use carebank_core::time::{Month, UnixMs};
use carebank_relay::{RelayConfig, RelayHandle};
use carebank_scenarios::net::{SmallCircle, client, small_circle, stranger, sync};
use carebank_scenarios::{DAY, START_MS, SimClock, enrolment, fixed_id, meal, service};

const PROVINCE: u8 = 0x50;

fn authority(seed: u8) -> DeviceKey {
    DeviceKey::from_seed([seed; 32])
}

/// `issuer` certifies `subject` as `level`, valid a year before the test's start to five after.
fn certify(
    issuer: &DeviceKey,
    level: AuthorityLevel,
    subject: carebank_core::identity::PublicKey,
    name: &str,
) -> carebank_core::identity::authority::AuthorityCertificate {
    AuthorityStatement {
        level,
        subject,
        name: name.into(),
        region: "330112".into(),
        issuer: issuer.public_key(),
        valid_from_ms: START_MS - 365 * DAY,
        valid_until_ms: START_MS + 5 * 365 * DAY,
    }
    .sign(issuer)
    .expect("certificate")
}

/// A district's chain and the chains it makes for its towns and its official.
struct District {
    key: DeviceKey,
    chain: AuthorityChain,
    official: DeviceKey,
    official_chain: AuthorityChain,
}

impl District {
    fn new(seed: u8, name: &str) -> District {
        let key = authority(seed);
        let chain = AuthorityChain::new(vec![certify(
            &authority(PROVINCE),
            AuthorityLevel::District,
            key.public_key(),
            name,
        )]);
        let official = authority(seed + 1);
        let official_chain = chain.extended(certify(
            &key,
            AuthorityLevel::Official,
            official.public_key(),
            "科长",
        ));
        District {
            key,
            chain,
            official,
            official_chain,
        }
    }

    fn town(&self, village: &SmallCircle, name: &str) -> AuthorityChain {
        self.chain.extended(certify(
            &self.key,
            AuthorityLevel::Town,
            village.circle.centre_key,
            name,
        ))
    }

    /// What the official's own software does: fetch through the relay, verify everything.
    fn fetch(&self, relay: &RelayClient) -> Result<(FetchedCloses, Vec<u8>), SyncError> {
        let wall = wall_clock_ms;
        let mut transport = relay.signed(
            "/v1/district/closes",
            &self.official,
            &wall,
            CancelToken::new(),
        );
        let answer = transport.request(&self.official_chain.encode().expect("chain"))?;
        Ok((FetchedCloses::decode(&answer).expect("answer"), answer))
    }

    fn report(&self, relay: &RelayClient, month: &str, expected: &[Village]) -> DistrictMonth {
        let (fetched, _) = self.fetch(relay).expect("fetch");
        let (closes, refused) =
            fetched.verify(authority(PROVINCE).public_key(), self.key.public_key());
        assert!(refused.is_empty(), "{refused:?}");
        DistrictMonth::assemble(month, "district", &closes, expected)
    }
}

/// Caregiver 0 of `village` gives `visits` visits and `meals` meals in November; the centre
/// takes them in.
fn november(village: &mut SmallCircle, clock: &SimClock, visits: u64, meals: u64) {
    let (elder, (phone, member)) = (village.elder, &mut village.devices[0]);
    for i in 0..visits {
        let at = START_MS + i * DAY;
        clock.set(at);
        phone
            .record_visit(carebank_scenarios::visit(elder, *member, at))
            .expect("visit");
    }
    for i in 0..meals {
        let at = START_MS + i * DAY + 3 * 3_600_000;
        clock.set(at);
        phone
            .record_service(service(elder, *member, at, 30, Funding::SelfPaid, meal()))
            .expect("meal");
    }
    village
        .centre
        .merge_from(phone)
        .expect("centre takes the records in");
}

/// A relay on loopback serving `villages`, trusting the test's province root.
fn relay_for(dir: &std::path::Path, villages: &[&SmallCircle]) -> RelayHandle {
    let mut config = RelayConfig::new(([127, 0, 0, 1], 0).into(), dir.to_path_buf());
    config.circles = villages
        .iter()
        .map(|v| (v.circle.circle_id, v.circle.centre_key))
        .collect();
    config.province_roots = vec![authority(PROVINCE).public_key()];
    carebank_relay::spawn(config).expect("relay")
}

/// The village's own report's figures, as of the month's last instant.
fn own_figures(store: &mut CareStore, month: Month) -> Vec<carebank_core::domain::Figure> {
    let last = UnixMs::new(month.end_ms() - 1).expect("instant");
    MonthlyReport::build(store, month, last, false)
        .expect("report")
        .figures()
}

#[test]
fn three_villages_in_two_districts_close_a_month_and_correct_it() {
    let clock = SimClock::at(START_MS - DAY);
    let month: Month = "2026-11".parse().expect("month");
    let west = District::new(0x60, "西区");
    let east = District::new(0x70, "东区");
    let mut villages: Vec<SmallCircle> = (1..=3)
        .map(|n| small_circle(n, 1, &clock).expect("village"))
        .collect();
    let towns = [
        west.town(&villages[0], "一村镇"),
        west.town(&villages[1], "二村镇"),
        east.town(&villages[2], "三村镇"),
    ];
    // Village 1's month is closed by a coordinator the centre enrolled, the others' by their
    // centre.
    let coordinator_seed = 0x99_0000;
    let mut coordinator = stranger(villages[0].circle, coordinator_seed, &clock).expect("store");
    let site = fixed_id(0x5_0000 + 1);
    villages[0]
        .centre
        .enrol(enrolment(
            fixed_id(coordinator_seed),
            "站长".into(),
            Role::Coordinator,
            site,
            coordinator.public_key(),
        ))
        .expect("enrol the coordinator");
    for (v, (visits, meals)) in villages.iter_mut().zip([(3, 2), (5, 0), (1, 4)]) {
        november(v, &clock, visits, meals);
    }
    coordinator
        .merge_from(&villages[0].centre)
        .expect("coordinator takes the records in");

    let dir = tempfile::tempdir().expect("tempdir");
    let relay = relay_for(dir.path(), &villages.iter().collect::<Vec<_>>());
    let http = client(&relay);

    // December 1st: every village closes November and syncs.
    clock.set(month.end_ms() as u64 + 3_600_000);
    coordinator
        .close_month(month, towns[0].clone())
        .expect("the coordinator closes");
    for (v, town) in villages.iter_mut().zip(&towns).skip(1) {
        v.centre
            .close_month(month, town.clone())
            .expect("the centre closes");
    }
    for v in &mut villages {
        sync(&mut v.centre, &http).expect("centre syncs");
    }
    sync(&mut coordinator, &http).expect("coordinator syncs");

    let village = |v: &SmallCircle, name: &str| Village {
        circle: v.circle.circle_id,
        name: name.into(),
    };
    let west_expected = [
        village(&villages[0], "一村镇"),
        village(&villages[1], "二村镇"),
    ];
    let report = west.report(&http, "2026-11", &west_expected);
    assert_eq!(
        report.villages.len(),
        2,
        "the west district sees its two villages only"
    );
    assert!(report.not_closed().is_empty());
    let own = [
        own_figures(&mut coordinator, month),
        own_figures(&mut villages[1].centre, month),
    ];
    for (v, own) in report.villages.iter().zip(&own) {
        let current = v.current.as_ref().expect("closed");
        assert_eq!(current.version, 1);
        assert_eq!(&current.figures, own, "{}", v.village.name);
    }
    assert_eq!(
        report.value(villages[0].circle.circle_id, "person_times", "visit"),
        Some(3)
    );
    assert_eq!(
        report.value(villages[0].circle.circle_id, "person_times", "meal"),
        Some(2)
    );
    assert_eq!(
        report.value(villages[1].circle.circle_id, "person_times", "visit"),
        Some(5)
    );
    let total = |r: &DistrictMonth, key: &str| {
        carebank_core::report::district::figure_value(&r.totals, "person_times", key)
    };
    assert_eq!((total(&report, "visit"), total(&report, "meal")), (8, 2));
    assert_eq!(
        carebank_core::report::district::figure_value(
            &report.totals,
            "minutes_by_funding",
            "self_paid"
        ),
        60
    );

    // The east district sees its one village; neither sees the other's.
    let east_report = east.report(&http, "2026-11", &[]);
    assert_eq!(east_report.villages.len(), 1);
    assert_eq!(
        east_report.villages[0].village.circle,
        villages[2].circle.circle_id
    );
    assert_eq!(
        east_report.villages[0]
            .current
            .as_ref()
            .map(|c| c.figures.clone()),
        Some(own_figures(&mut villages[2].centre, month))
    );

    // A month nobody closed: both west villages are listed as not closed.
    let october = west.report(&http, "2026-10", &[]);
    assert_eq!(october.not_closed().len(), 2);

    // Village 2 finds two meals it forgot and closes November again: version 2 supersedes 1.
    clock.set(month.end_ms() as u64 + 2 * 3_600_000);
    let v = &mut villages[1];
    let (elder, (phone, member)) = (v.elder, &mut v.devices[0]);
    for i in 0..2u64 {
        let at = START_MS + (10 + i) * DAY;
        phone
            .record_service(service(elder, *member, at, 45, Funding::SelfPaid, meal()))
            .expect("late meal");
    }
    v.centre.merge_from(phone).expect("merge");
    let first = villages[1].centre.month_closes(month).expect("closes")[0].id;
    let second = villages[1]
        .centre
        .close_month(month, towns[1].clone())
        .expect("close again");
    sync(&mut villages[1].centre, &http).expect("sync");
    let corrected = west.report(&http, "2026-11", &west_expected);
    let v2 = corrected
        .villages
        .iter()
        .find(|v| v.village.circle == villages[1].circle.circle_id)
        .expect("village 2");
    let current = v2.current.as_ref().expect("closed");
    assert_eq!((current.version, current.record_id), (2, second));
    assert_eq!(current.supersedes, Some(first));
    assert_eq!(current.figures, own_figures(&mut villages[1].centre, month));
    assert_eq!(v2.superseded.len(), 1, "the first version is kept");
    assert_eq!(v2.superseded[0].record_id, first);
    assert_eq!(
        carebank_core::report::district::figure_value(
            &v2.superseded[0].figures,
            "person_times",
            "meal"
        ),
        0
    );
    assert_eq!(
        carebank_core::report::district::figure_value(&current.figures, "person_times", "meal"),
        2
    );
    assert_eq!(
        total(&corrected, "meal"),
        4,
        "totals count the current versions only"
    );
    let csv = corrected.to_csv();
    assert!(
        csv.contains(&format!(
            ",2,current,{second},person_times,meal,2,person_times"
        )),
        "{csv}"
    );
    assert!(
        csv.contains(&format!(
            ",1,superseded,{first},person_times,visit,5,person_times"
        )),
        "{csv}"
    );
}

#[test]
fn the_relay_serves_closes_only_to_an_official_of_the_district_it_proves() {
    let clock = SimClock::at(START_MS);
    let west = District::new(0x60, "西区");
    let mut village = small_circle(4, 1, &clock).expect("village");
    let town = west.town(&village, "四村镇");
    november(&mut village, &clock, 2, 1);
    let dir = tempfile::tempdir().expect("tempdir");
    let relay = relay_for(dir.path(), &[&village]);
    let http = client(&relay);
    clock.set(START_MS + 30 * DAY);
    village
        .centre
        .close_month("2026-11".parse().expect("month"), town)
        .expect("close");
    sync(&mut village.centre, &http).expect("sync");

    // The official's chain signed by another key; a district's own chain (not an official's);
    // a chain under another province: each refused.
    let impostor = District {
        official: authority(0x66),
        ..District::new(0x60, "西区")
    };
    assert!(matches!(
        impostor.fetch(&http),
        Err(SyncError::NotAuthorised(_))
    ));
    let district_itself = District {
        official: authority(0x60),
        official_chain: west.chain.clone(),
        ..District::new(0x60, "西区")
    };
    assert!(matches!(
        district_itself.fetch(&http),
        Err(SyncError::NotAuthorised(_))
    ));
    let foreign = {
        let mut d = District::new(0x60, "西区");
        d.official_chain = AuthorityChain::new(vec![
            certify(
                &authority(0x51),
                AuthorityLevel::District,
                d.key.public_key(),
                "西区",
            ),
            certify(
                &d.key,
                AuthorityLevel::Official,
                d.official.public_key(),
                "科长",
            ),
        ]);
        d
    };
    assert!(matches!(
        foreign.fetch(&http),
        Err(SyncError::NotAuthorised(_))
    ));

    // A close altered on the way is refused by the official's own verification.
    let (mut fetched, _) = west.fetch(&http).expect("fetch");
    assert_eq!(fetched.closes.len(), 1);
    let root = authority(PROVINCE).public_key();
    assert_eq!(fetched.verify(root, west.key.public_key()).0.len(), 1);
    let record = &mut fetched.closes[0].record;
    let flipped = if record.ends_with('0') { '1' } else { '0' };
    record.pop();
    record.push(flipped);
    let (verified, refused) = fetched.verify(root, west.key.public_key());
    assert!(verified.is_empty());
    assert_eq!(refused.len(), 1, "{refused:?}");
    // Filed under the wrong district key: nothing verifies for another district.
    let (fetched, _) = west.fetch(&http).expect("fetch");
    assert!(
        fetched
            .verify(root, authority(0x70).public_key())
            .0
            .is_empty()
    );
}

/// Where `scripts/test.sh` installs playwright-core: `<target>/tools/playwright`.
fn playwright_modules() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("the target directory")
        .join("tools/playwright/node_modules")
}

/// Logs the official in to the page: its session token.
fn login(relay: &RelayHandle, district: &District) -> reqwest::StatusCode {
    let (status, _) = page_session(relay, district);
    status
}

fn page_session(relay: &RelayHandle, district: &District) -> (reqwest::StatusCode, String) {
    let body = district.official_chain.encode().expect("chain");
    let auth = carebank_core::sync::RequestAuth::sign(
        &district.official,
        "POST",
        "/district/login",
        &body,
        wall_clock_ms(),
    );
    let response = reqwest::blocking::Client::new()
        .post(format!("{}/district/login", relay.url()))
        .header("authorization", auth.header_value())
        .body(body)
        .send()
        .expect("login");
    let status = response.status();
    let token = response
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .and_then(|v| v.strip_prefix("carebank_district="))
        .unwrap_or_default()
        .to_string();
    (status, token)
}

#[test]
fn the_district_page_shows_the_table_and_chart_in_a_browser() {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let modules = playwright_modules();
    let in_ci = std::env::var_os("CI").is_some();
    if !(std::path::Path::new(&chromium).exists() && modules.join("playwright-core").exists()) {
        assert!(
            !in_ci,
            "CI must run the browser test: install chromium and playwright-core (scripts/test.sh)"
        );
        eprintln!(
            "skipped: no {chromium} or no {} (scripts/test.sh installs them)",
            modules.display()
        );
        return;
    }
    let clock = SimClock::at(START_MS - DAY);
    let month: Month = "2026-11".parse().expect("month");
    let west = District::new(0x60, "西区");
    let mut villages: Vec<SmallCircle> = (5..=6)
        .map(|n| small_circle(n, 1, &clock).expect("village"))
        .collect();
    for (v, (visits, meals)) in villages.iter_mut().zip([(4, 2), (1, 3)]) {
        november(v, &clock, visits, meals);
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let relay = relay_for(dir.path(), &villages.iter().collect::<Vec<_>>());
    let http = client(&relay);
    clock.set(month.end_ms() as u64 + 3_600_000);
    for (v, name) in villages.iter_mut().zip(["五村镇", "六村镇"]) {
        let town = west.town(v, name);
        v.centre.close_month(month, town.clone()).expect("close");
        if name == "六村镇" {
            v.centre.close_month(month, town).expect("correct");
        }
        sync(&mut v.centre, &http).expect("sync");
    }
    let report = west.report(&http, "2026-11", &[]);

    // Without a session the page is refused; an impostor cannot log in.
    let page_url = format!("{}/district?month=2026-11", relay.url());
    let anonymous = reqwest::blocking::get(&page_url).expect("get");
    assert_eq!(anonymous.status(), reqwest::StatusCode::UNAUTHORIZED);
    let impostor = District {
        official: authority(0x66),
        ..District::new(0x60, "西区")
    };
    assert_eq!(login(&relay, &impostor), reqwest::StatusCode::FORBIDDEN);
    let (status, token) = page_session(&relay, &west);
    assert_eq!(status, reqwest::StatusCode::OK);
    assert!(!token.is_empty());

    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("browser/district_page.js");
    let out = std::process::Command::new("node")
        .arg(&script)
        .arg(&page_url)
        .arg(&token)
        .env("NODE_PATH", &modules)
        .env("CHROMIUM", &chromium)
        .output()
        .expect("node runs");
    assert!(
        out.status.success(),
        "the browser script failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shown: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(shown["status"], 200);
    assert!(
        shown["summary"]
            .as_str()
            .expect("summary")
            .starts_with("2 / 2 villages")
    );
    // Every request the page made was the page itself: no scripts, fonts or images elsewhere.
    assert_eq!(
        shown["requests"].as_array().expect("requests").len(),
        1,
        "{shown}"
    );

    // The table: one closed row per village with the village's own figures, then the total.
    let rows = shown["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 3, "{shown}");
    for v in &report.villages {
        let circle = v.village.circle.to_string();
        let row = rows
            .iter()
            .find(|r| r["circle"] == circle.as_str())
            .expect("a row per village");
        assert_eq!(row["class"], "closed");
        for kind in ["visit", "meal"] {
            let own = report
                .value(v.village.circle, "person_times", kind)
                .expect("figure");
            assert_eq!(row["kinds"][kind], own, "{circle} {kind}");
        }
    }
    let total = rows
        .iter()
        .find(|r| r["class"] == "total")
        .expect("total row");
    assert_eq!(total["kinds"]["visit"], 5);
    assert_eq!(total["kinds"]["meal"], 5);

    // The chart: a bar per village and kind, its value the village's figure, its drawn height
    // in proportion (the tallest bar is 200 px).
    let bars = shown["bars"].as_array().expect("bars");
    assert_eq!(bars.len(), 2 * 9);
    let height = |circle: &str, kind: &str| {
        let bar = bars
            .iter()
            .find(|b| b["circle"] == circle && b["kind"] == kind)
            .expect("bar");
        (
            bar["value"].as_i64().expect("value"),
            bar["height"].as_f64().expect("height"),
        )
    };
    let (five, six) = (
        villages[0].circle.circle_id.to_string(),
        villages[1].circle.circle_id.to_string(),
    );
    assert_eq!(height(&five, "visit"), (4, 200.0));
    let (meals, h) = height(&six, "meal");
    assert_eq!(meals, 3);
    assert!((h - 150.0).abs() < 0.5, "{h}");
    assert_eq!(height(&six, "bath"), (0, 0.0));

    // The versions: village six's correction and the version it superseded, both shown.
    let mut versions: Vec<&str> = shown["versions"]
        .as_array()
        .expect("versions")
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    versions.sort();
    assert_eq!(versions, ["current", "current", "superseded"]);
}
