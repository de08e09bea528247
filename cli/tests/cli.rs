//! The command line driven as a person would: set-up, records, reports, and the mistakes people
//! make, each with a clear message.

mod common;

use std::path::Path;

use common::{enrol, entitled_elder, fails, field, join, new_circle, ok, run};

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
    let elder = entitled_elder(
        &centre,
        "王奶奶",
        point.trim(),
        &["--birth-year", "1938", "--cadence", "7", "--hours", "30"],
    );
    assert_eq!(elder.len(), 32);
    let who = ok(&["whoami", "--store", &centre]);
    assert_eq!(field(&who, "role:"), "centre");
    // The writes so far left their documents in several chunks; maintenance leaves one each.
    let compacted = |out: &str| -> u64 {
        let after = out.split("documents compacted: ").nth(1).expect("count");
        after
            .split(' ')
            .next()
            .expect("number")
            .parse()
            .expect("number")
    };
    assert!(compacted(&ok(&["maintain", "--store", &centre])) >= 1);
    assert_eq!(compacted(&ok(&["maintain", "--store", &centre])), 0);

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

/// The device key kept in a device folder.
fn device_key(store: &str) -> carebank_core::identity::DeviceKey {
    let secrets = carebank_core::identity::FileSecretStore::new(Path::new(store).join("keys"))
        .expect("key folder");
    carebank_core::identity::DeviceKey::load_or_create(&secrets, "device").expect("key")
}

/// Bundle files between devices: a sealed bundle from the centre imports; a bundle of another
/// circle's records under this circle's header, though signed by a trusted device, fails with
/// their count and keeps nothing; a plain bundle (as earlier versions wrote) is refused unless
/// `--allow-plain-bundle` is given.
#[test]
fn bundle_files_are_imported_whole_or_refused_loudly_and_plain_ones_only_when_allowed() {
    use carebank_core::sync::bundle::{BUNDLE_MAGIC, Bundle};
    use carebank_core::sync::{seal, wire};

    let dir = tempfile::tempdir().expect("tempdir");
    let (centre, coordinator, elsewhere) = (
        path(dir.path(), "centre"),
        path(dir.path(), "coordinator"),
        path(dir.path(), "elsewhere"),
    );
    let (circle, centre_key, centre_site) = new_circle(&centre, "中心");
    let coordinator_key = join(&coordinator, &circle, &centre_key);
    enrol(
        &centre,
        "李站长",
        "coordinator",
        &centre_site,
        &coordinator_key,
    );
    let file = |name: &str| path(dir.path(), name);
    ok(&[
        "sync",
        "--store",
        &centre,
        "--export-bundle",
        &file("a.cbundle"),
    ]);
    let out = ok(&[
        "sync",
        "--store",
        &coordinator,
        "--import-bundle",
        &file("a.cbundle"),
    ]);
    assert!(!out.contains(" 0 new records"), "{out}");

    // Another circle's records, put under this circle's header and signed by the coordinator.
    ok(&["init", "--store", &elsewhere, "--new-circle", "别处"]);
    ok(&[
        "sync",
        "--store",
        &elsewhere,
        "--export-bundle",
        &file("b.cbundle"),
    ]);
    let sealed = std::fs::read(file("b.cbundle")).expect("read");
    let plain = seal::open_sealed(&sealed, &device_key(&elsewhere)).expect("open");
    let (mut bundle, _) = Bundle::decode(&plain).expect("decode");
    bundle.circle = circle.parse().expect("circle id");
    let signed = bundle.sign(&device_key(&coordinator)).expect("sign");
    let centre_pk = device_key(&centre).public_key();
    let resealed = seal::seal(&signed, &[centre_pk]).expect("seal");
    std::fs::write(file("c.cbundle"), resealed).expect("write");
    let before = ok(&["whoami", "--store", &centre]);
    let err = fails(&[
        "sync",
        "--store",
        &centre,
        "--import-bundle",
        &file("c.cbundle"),
    ]);
    assert!(err.contains("of another circle"), "{err}");
    assert!(err.contains("nothing was imported"), "{err}");
    assert_eq!(ok(&["whoami", "--store", &centre]), before);

    // A plain bundle of version 1 (unsigned, as earlier versions wrote), of no documents.
    let mut body = wire::Writer::default();
    body.id(circle.parse().expect("circle id"));
    body.bytes(coordinator_key.as_bytes());
    body.uint(0);
    let legacy = wire::seal(BUNDLE_MAGIC, 1, 1, &body.into_bytes()).expect("frame");
    std::fs::write(file("d.cbundle"), legacy).expect("write");
    let err = fails(&[
        "sync",
        "--store",
        &centre,
        "--import-bundle",
        &file("d.cbundle"),
    ]);
    assert!(err.contains("--allow-plain-bundle"), "{err}");
    let out = ok(&[
        "sync",
        "--store",
        &centre,
        "--import-bundle",
        &file("d.cbundle"),
        "--allow-plain-bundle",
    ]);
    assert!(out.contains("0 documents, 0 new records"), "{out}");
}

/// Whether `bytes` contain `needle` anywhere.
fn holds(bytes: &[u8], needle: &str) -> bool {
    bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[test]
fn a_device_folder_keeps_its_store_encrypted_under_a_key_file_only_its_owner_reads() {
    let dir = tempfile::tempdir().expect("tempdir");
    let centre = path(dir.path(), "centre");
    new_circle(&centre, "龙泉镇养老服务中心");
    let store = std::fs::read(dir.path().join("centre/store.db")).expect("store");
    assert!(!store.starts_with(b"SQLite format 3\0"));
    assert!(!holds(&store, "龙泉镇养老服务中心"));
    let key = std::fs::read(dir.path().join("centre/keys/store-key.key")).expect("key file");
    assert_eq!(key.len(), 32);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &str| {
            std::fs::metadata(dir.path().join(p))
                .expect("meta")
                .permissions()
                .mode()
                & 0o777
        };
        assert_eq!(mode("centre/keys"), 0o700);
        assert_eq!(mode("centre/keys/store-key.key"), 0o600);
        assert_eq!(mode("centre/keys/device.key"), 0o600);
    }
    assert_eq!(
        field(&ok(&["whoami", "--store", &centre]), "role:"),
        "centre"
    );
}

#[test]
fn a_passphrase_file_encrypts_the_store_and_a_wrong_or_missing_one_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let centre = path(dir.path(), "centre");
    let phrase = path(dir.path(), "phrase.txt");
    std::fs::write(&phrase, "石桥村 the long way round\n").expect("phrase");
    let with = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--passphrase-file", &phrase]);
        ok(&all)
    };
    with(&[
        "init",
        "--store",
        &centre,
        "--new-circle",
        "龙泉镇养老服务中心",
    ]);
    assert!(!dir.path().join("centre/keys/store-key.key").exists());
    let store_db = dir.path().join("centre/store.db");
    let before = std::fs::read(&store_db).expect("store");
    assert!(!before.starts_with(b"SQLite format 3\0"));

    let wrong = path(dir.path(), "wrong.txt");
    std::fs::write(&wrong, "石桥村 the short way\n").expect("phrase");
    let err = fails(&["whoami", "--store", &centre, "--passphrase-file", &wrong]);
    assert!(err.contains("wrong key for this store"), "{err}");
    let err = fails(&["whoami", "--store", &centre]);
    assert!(err.contains("wrong key for this store"), "{err}");
    assert!(!dir.path().join("centre/keys/store-key.key").exists());
    let empty = path(dir.path(), "empty.txt");
    std::fs::write(&empty, "\n").expect("empty");
    let err = fails(&["whoami", "--store", &centre, "--passphrase-file", &empty]);
    assert!(err.contains("is empty"), "{err}");
    assert_eq!(std::fs::read(&store_db).expect("store"), before);

    assert_eq!(
        field(&with(&["whoami", "--store", &centre]), "role:"),
        "centre"
    );
}

/// `revoke` names the position of the key's chain after which nothing counts (here 0: the
/// centre holds none of the coordinator phone's records, so none of them will count), and
/// `chains` lists forks, gaps and the records that do not count.
#[test]
fn revoke_cuts_a_key_at_its_chain_and_chains_lists_what_does_not_count() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (centre, coordinator) = (path(dir.path(), "centre"), path(dir.path(), "coordinator"));
    let (circle, centre_key, centre_site) = new_circle(&centre, "中心");
    let coordinator_key = join(&coordinator, &circle, &centre_key);
    enrol(
        &centre,
        "李站长",
        "coordinator",
        &centre_site,
        &coordinator_key,
    );
    let chains = ok(&["chains", "--store", &centre]);
    assert!(
        chains.starts_with("0 chain problems\n0 records not counted"),
        "{chains}"
    );
    let (done, _, stderr) = run(&[
        "revoke",
        "--store",
        &centre,
        "--device-key",
        &coordinator_key,
        "--reason",
        "手机丢失",
    ]);
    assert!(done, "{stderr}");
    assert!(stderr.contains("after position 0 of its chain"), "{stderr}");
    let (done, _, stderr) = run(&[
        "revoke",
        "--store",
        &centre,
        "--device-key",
        &coordinator_key,
        "--reason",
        "补充",
        "--last-seq",
        "3",
    ]);
    assert!(done, "{stderr}");
    assert!(stderr.contains("after position 3 of its chain"), "{stderr}");
}

/// Issue 12, items 4 and 5: the access log, the elder's own copy and consent per purpose.
#[test]
fn reads_are_logged_the_elder_gets_a_copy_and_consent_can_be_withdrawn() {
    let dir = tempfile::tempdir().expect("tempdir");
    let centre = path(dir.path(), "centre");
    let (_, _, centre_site) = new_circle(&centre, "龙泉镇养老服务中心");
    let elder = entitled_elder(
        &centre,
        "王奶奶",
        &centre_site,
        &[
            "--birth-year",
            "1938",
            "--hours",
            "30",
            "--consent",
            "health_observations",
        ],
    );
    let elder = elder.as_str();
    let access_log = || ok(&["access-log", "--store", &centre, "--elder", elder]);
    let log = access_log();
    assert!(log.starts_with("0 reads of elder"), "{log}");

    // A report with names, and a purpose nobody has: refused before anything is read.
    let report_with_names = || {
        ok(&[
            "report",
            "--store",
            &centre,
            "--month",
            "2026-11",
            "--names",
            "--at",
            "2026-11-30T12:00",
        ])
    };
    let err = fails(&["follow-ups", "--store", &centre, "--purpose", "curiosity"]);
    assert!(err.contains("--purpose"), "{err}");
    let report = report_with_names();
    assert!(report.contains("王奶奶"), "{report}");
    let log = access_log();
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
    let log = access_log();
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
    // Erased (PIPL Art. 47): a reason from the list, once; the name is gone from reports and
    // from the elder's copy, and nothing more is recorded about them.
    let erase = |reason: &'static str| {
        [
            "erase",
            "--store",
            centre.as_str(),
            "--elder",
            elder,
            "--reason",
            reason,
        ]
    };
    let err = fails(&erase("because"));
    assert!(
        err.contains("--reason") && err.contains("service_ended"),
        "{err}"
    );
    let erased = ok(&erase("service-ended"));
    assert!(erased.contains("erased elder"), "{erased}");
    let err = fails(&erase("service-ended"));
    assert!(err.contains("was erased"), "{err}");
    let report = report_with_names();
    assert!(
        !report.contains("王奶奶") && report.contains("erased elder"),
        "{report}"
    );
    let copy = ok(&["export-elder", "--store", &centre, "--elder", elder]);
    assert!(!copy.contains("王奶奶") && !copy.contains("1938"), "{copy}");
}
