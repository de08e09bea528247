//! What a coordinator reads at the command line (issue 13): members and elders by name on the
//! coordinator's device, ids with `--ids` and on other devices; the conflict queue in words, in
//! English and with `--lang zh`; a report part-way through a month that says so; an error that
//! says its thing once.

mod common;

use std::path::Path;

use common::relay::Relay;
use common::{companionship_claim, enrol, entitled_elder, fails, join, new_circle, ok};

/// Copies a device folder whole, as restoring a phone's backup onto a second phone does.
fn restore_backup(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            restore_backup(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// Whether `text` holds 32 lowercase hex characters in a row (an id).
fn holds_an_id(text: &str) -> bool {
    text.as_bytes().windows(32).any(|w| {
        w.iter()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
    })
}

/// A coordinator's list three ways: in English by name, in Chinese, and with `--ids`.
fn three_ways(args: &[&str]) -> [String; 3] {
    let with = |more: &[&str]| ok(&[args, more].concat());
    [with(&[]), with(&["--lang", "zh"]), with(&["--ids"])]
}

/// Asserts that `output` holds every one of `parts`.
fn holds(output: &str, parts: &[&str]) {
    for part in parts {
        assert!(output.contains(part), "{part:?} not in {output}");
    }
}

#[test]
fn the_coordinator_reads_names_and_the_conflict_queue_in_words_in_english_and_chinese() {
    let dir = tempfile::tempdir().expect("tempdir");
    let at = |name: &str| dir.path().join(name).display().to_string();
    let (centre, coordinator, volunteer, restored) = (
        at("centre"),
        at("coordinator"),
        at("volunteer"),
        at("volunteer-restored"),
    );
    let (circle, centre_key, centre_site) = new_circle(&centre, "龙泉镇养老服务中心");
    let relay = Relay::start(&dir.path().join("relay"), &circle, &centre_key);
    let sync = |store: &str| ok(&["sync", "--store", store, "--relay", &relay.url]);

    let coordinator_key = join(&coordinator, &circle, &centre_key);
    let coordinator_id = enrol(
        &centre,
        "李站长",
        "coordinator",
        &centre_site,
        &coordinator_key,
    );
    let coordinator_id = coordinator_id.trim();
    sync(&centre);
    sync(&coordinator);
    let volunteer_key = join(&volunteer, &circle, &centre_key);
    let volunteer_id = enrol(
        &coordinator,
        "张阿姨",
        "volunteer",
        &centre_site,
        &volunteer_key,
    );
    let volunteer_id = volunteer_id.trim();
    let elder = entitled_elder(
        &coordinator,
        "刘奶奶",
        &centre_site,
        &["--birth-year", "1940", "--hours", "30"],
    );
    sync(&coordinator);
    sync(&volunteer);

    // The coordinator visits 刘奶奶 and promises a follow-up; 张阿姨 keeps her company for 90
    // minutes and claims them; the coordinator confirms the claim.
    ok(&[
        "visit",
        "--store",
        &coordinator,
        "--elder",
        &elder,
        "--follow-up",
        "下周送降压药",
    ]);
    let claim = companionship_claim(&volunteer, &elder, &[]);
    sync(&volunteer);
    sync(&coordinator);
    ok(&["confirm", "--store", &coordinator, "--claim", &claim]);
    sync(&coordinator);
    sync(&volunteer);

    // Her phone's backup is restored onto a second phone; both spend an hour of her 1.5.
    restore_backup(Path::new(&volunteer), Path::new(&restored));
    ok(&["redeem", "--store", &volunteer, "--minutes", "60"]);
    ok(&["redeem", "--store", &restored, "--minutes", "60"]);
    sync(&volunteer);
    sync(&restored);
    sync(&coordinator);

    // The queue in words, by name.
    let queue = ok(&["reconcile", "--store", &coordinator]);
    assert!(
        queue.starts_with("2 items need a coordinator's decision"),
        "{queue}"
    );
    assert!(
        queue.contains(
            "张阿姨's phone signed two different entries as number 2 (a restored backup?"
        ),
        "{queue}"
    );
    assert!(
        queue.contains("张阿姨: spending would leave −0.5 h"),
        "{queue}"
    );
    assert!(queue.contains("awaiting a decision on: "), "{queue}");
    for internal in ["Fork", "Overdraft", "seq:", "balance_after_minutes", "-30"] {
        assert!(!queue.contains(internal), "{internal} in {queue}");
    }
    let sentences: Vec<&str> = queue.lines().filter(|l| !l.contains("awaiting")).collect();
    assert!(!sentences.iter().any(|l| holds_an_id(l)), "{queue}");

    // The same in Chinese.
    let zh = ok(&["reconcile", "--store", &coordinator, "--lang", "zh"]);
    assert!(zh.starts_with("2 项待协理员决定"), "{zh}");
    assert!(
        zh.contains("张阿姨的手机把两条不同的记录都签为第 2 号（恢复了备份？"),
        "{zh}"
    );
    assert!(
        zh.contains("张阿姨：这笔支出会使余额变为 −0.5 小时"),
        "{zh}"
    );
    assert!(zh.contains("待决定的记录："), "{zh}");

    // Ids on request.
    let ids = ok(&["reconcile", "--store", &coordinator, "--ids"]);
    assert!(
        ids.contains(&format!("member {volunteer_id}'s phone signed")),
        "{ids}"
    );
    assert!(!ids.contains("张阿姨"), "{ids}");

    // Balances by name on the coordinator's device, by id with --ids and on her own phone.
    let balances = ok(&["balance", "--store", &coordinator, "--all"]);
    assert!(balances.starts_with("张阿姨"), "{balances}");
    let balances = ok(&["balance", "--store", &coordinator, "--all", "--ids"]);
    assert!(balances.starts_with(volunteer_id), "{balances}");
    let own = ok(&["balance", "--store", &volunteer]);
    assert!(own.starts_with(volunteer_id), "{own}");

    // Follow-ups name the elder (the read is in the access log, as before).
    let follow_ups = ok(&["follow-ups", "--store", &coordinator]);
    assert!(
        follow_ups.contains("elder 刘奶奶  下周送降压药"),
        "{follow_ups}"
    );
    let follow_ups = ok(&["follow-ups", "--store", &coordinator, "--ids"]);
    assert!(
        follow_ups.contains(&format!("elder {elder}")),
        "{follow_ups}"
    );
    let log = ok(&["access-log", "--store", &coordinator, "--elder", &elder]);
    assert!(log.starts_with("2 reads of elder"), "{log}");
    // The access log names who read, in English and Chinese; ids and keys with --ids.
    let [en, zh, ids] = three_ways(&["access-log", "--store", &coordinator, "--elder", &elder]);
    holds(
        &en,
        &["open_follow_ups  purpose care    coordinator 李站长\n"],
    );
    assert!(!en.contains(&coordinator_key), "{en}");
    holds(
        &zh,
        &[
            &format!("老人 {elder} 的数据被读取 2 次"),
            "用途 照护 协理员 李站长\n",
        ],
    );
    holds(
        &ids,
        &[&format!(
            "coordinator {coordinator_id} (device {coordinator_key})"
        )],
    );
    assert!(!ids.contains("李站长"), "{ids}");

    // The device chains: the restored backup's fork, by her phone's name.
    let [en, zh, ids] = three_ways(&["chains", "--store", &coordinator]);
    holds(
        &en,
        &["1 chain problems", "  fork  张阿姨's phone position 3: "],
    );
    holds(
        &zh,
        &[
            "1 处设备链问题",
            "  分叉  张阿姨的手机 第 3 号：",
            "0 条记录不计入",
        ],
    );
    holds(
        &ids,
        &[&format!("  fork  device {volunteer_key} position 3: ")],
    );

    // On the 5th, the report is month to date: 刘奶奶's 30 hours are due pro rata, and she is
    // named in the table (not in the CSV unless --names).
    let report = ok(&["report", "--store", &coordinator, "--month", "2026-11"]);
    assert!(report.contains("month to date: day 5 of 30"), "{report}");
    assert!(report.contains("刘奶奶"), "{report}");
    let report = ok(&[
        "report",
        "--store",
        &coordinator,
        "--month",
        "2026-11",
        "--lang",
        "zh",
    ]);
    assert!(report.contains("本月截至第 5 天（共 30 天）"), "{report}");
    let csv = ok(&[
        "report",
        "--store",
        &coordinator,
        "--month",
        "2026-11",
        "--csv",
    ]);
    assert!(!csv.contains("刘奶奶"), "{csv}");
    assert!(csv.contains(&elder), "{csv}");

    // The coordinator withdraws 刘奶奶's consent to care records; 张阿姨's phone, not yet told,
    // records one more service: the conflict names the phone that signed it.
    ok(&[
        "consent",
        "--store",
        &coordinator,
        "--elder",
        &elder,
        "--purpose",
        "care_records",
        "--withdraw",
        "--by",
        "刘奶奶",
    ]);
    ok(&[
        "service",
        "--store",
        &volunteer,
        "--elder",
        &elder,
        "--kind",
        "companionship",
        "--minutes",
        "30",
        "--funding",
        "time_bank",
    ]);
    sync(&coordinator);
    sync(&volunteer);
    sync(&coordinator);
    let [en, zh, ids] = three_ways(&["consent-conflicts", "--store", &coordinator]);
    holds(
        &en,
        &[
            "1 records used a purpose",
            &format!("elder {elder}  care_records ("),
            "  signed by 张阿姨's phone\n",
        ],
    );
    holds(
        &zh,
        &[
            "1 条记录使用了老人已撤回或未同意的用途",
            "服务 ",
            "照护记录（",
            "已撤回  由张阿姨的手机签名\n",
        ],
    );
    holds(&ids, &[&format!("  signed by device {volunteer_key}\n")]);
}

#[test]
fn an_error_says_its_thing_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let centre = dir.path().join("centre").display().to_string();
    new_circle(&centre, "中心");
    let err = fails(&["access-log", "--store", &centre, "--elder", "deadbeef"]);
    assert_eq!(err.matches("deadbeef").count(), 1, "{err}");
    assert_eq!(err.matches("--elder").count(), 1, "{err}");
    let err = fails(&["sync", "--store", &centre, "--relay", "relay.example:8443"]);
    assert!(err.contains("not a relay URL"), "{err}");
    assert_eq!(err.matches("relay.example:8443").count(), 1, "{err}");
}
