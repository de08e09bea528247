//! The test vectors of `docs/authority-format.md`, kept in `docs/authority-vectors.json`: fixed
//! seeds give fixed keys, certificates, signatures and chain bytes, and the verdicts on them;
//! and a month close (`docs/report-format.md`) signed by the town centre, carrying the town chain.
//! `CAREBANK_BLESS=1` rewrites the file from this build (then review the diff).

use std::path::PathBuf;

use carebank_core::domain::{Figure, MonthClose, RecordBody};
use carebank_core::hlc::Hlc;
use carebank_core::identity::DeviceKey;
use carebank_core::identity::authority::{
    AuthorityChain, AuthorityLevel, AuthorityStatement, MAX_AUTHORITY_CHAIN_LEN,
};
use carebank_core::ids::Id;
use carebank_core::record::month_close::verify_month_close;
use carebank_core::record::{ChainLink, Envelope, FORMAT_VERSION, SignedRecord};
use serde_json::{Value, json};

/// 2026-01-01 00:00 China Standard Time.
const FROM_MS: u64 = 1_767_196_800_000;
/// 2031-01-01 00:00 China Standard Time.
const UNTIL_MS: u64 = 1_924_963_200_000;
/// 2026-11-15 00:00 China Standard Time: the instant the chains are verified at.
const AT_MS: u64 = 1_794_672_000_000;

fn key(seed: u8) -> DeviceKey {
    DeviceKey::from_seed([seed; 32])
}

fn statement(
    level: AuthorityLevel,
    subject: u8,
    issuer: u8,
    name: &str,
    region: &str,
) -> AuthorityStatement {
    AuthorityStatement {
        level,
        subject: key(subject).public_key(),
        name: name.into(),
        region: region.into(),
        issuer: key(issuer).public_key(),
        valid_from_ms: FROM_MS,
        valid_until_ms: UNTIL_MS,
    }
}

fn vectors() -> Value {
    let province = statement(AuthorityLevel::Province, 1, 1, "浙江省", "33");
    let district = statement(AuthorityLevel::District, 2, 1, "临安区", "330112");
    let town = statement(AuthorityLevel::Town, 3, 2, "青山镇", "330112101");
    let official = statement(AuthorityLevel::Official, 4, 2, "王科长", "330112");
    let seeds = [1u8, 1, 2, 2];
    let certs: Vec<_> = [province, district, town, official]
        .into_iter()
        .zip(seeds)
        .map(|(s, seed)| s.sign(&key(seed)).expect("sign"))
        .collect();
    let root = key(1).public_key();
    let town_chain = AuthorityChain::new(certs[..3].to_vec());
    let official_chain = AuthorityChain::new(vec![certs[1].clone(), certs[3].clone()]);
    let verified = town_chain
        .verify(root, AT_MS)
        .expect("the town chain verifies");
    assert_eq!(verified.level, AuthorityLevel::Town);
    let official = official_chain
        .verify(root, AT_MS)
        .expect("the official chain verifies");
    assert_eq!(official.level, AuthorityLevel::Official);
    assert!(town_chain.certificates.len() <= MAX_AUTHORITY_CHAIN_LEN);
    let refusals = [
        (
            "town chain at valid_until_ms",
            town_chain.verify(root, UNTIL_MS).is_err(),
        ),
        (
            "town chain under another root",
            town_chain.verify(key(9).public_key(), AT_MS).is_err(),
        ),
        (
            "town certificate without its district's",
            AuthorityChain::new(vec![certs[2].clone()])
                .verify(root, AT_MS)
                .is_err(),
        ),
    ];
    let month_close = month_close(&town_chain);
    json!({
        "month_close": month_close,
        "keys": (1u8..=4).map(|seed| json!({
            "seed": hex::encode([seed; 32]),
            "public_key": key(seed).public_key().to_string(),
        })).collect::<Vec<_>>(),
        "certificates": certs.iter().map(|c| json!({
            "level": c.statement.level.as_str(),
            "signing_message_hex": hex::encode(c.statement.signing_message().expect("message")),
            "signature": c.signature,
        })).collect::<Vec<_>>(),
        "province_root": root.to_string(),
        "verified_at_ms": AT_MS,
        "town_chain": String::from_utf8(town_chain.encode().expect("encode")).expect("utf8"),
        "town_chain_verdict": {
            "level": verified.level.as_str(),
            "subject": verified.subject.key.to_string(),
            "district": verified.district.as_ref().map(|d| d.key.to_string()),
        },
        "official_chain": String::from_utf8(official_chain.encode().expect("encode")).expect("utf8"),
        "refused": refusals.iter().map(|(what, refused)| json!({"case": what, "refused": refused})).collect::<Vec<_>>(),
    })
}

/// The town centre (seed 3) closes 2026-11 of circle `c1…c1` as its first record.
fn month_close(town: &AuthorityChain) -> Value {
    let figure = |section: &str, key: &str, value: i64, unit: &str| Figure {
        section: section.into(),
        key: key.into(),
        value,
        unit: unit.into(),
    };
    let close = MonthClose {
        month: "2026-11".into(),
        version: 1,
        supersedes: None,
        figures: vec![
            figure("overdue_visit", "elders", 1, "elders"),
            figure("person_times", "visit", 12, "person_times"),
        ],
        town: town.clone(),
    };
    let envelope = Envelope {
        v: FORMAT_VERSION,
        circle: Id::from_bytes([0xc1; 16]),
        author: key(3).public_key(),
        hlc: Hlc {
            ms: AT_MS,
            counter: 0,
        },
        body: RecordBody::MonthClose(close),
        link: Some(ChainLink::FIRST),
    };
    let record = SignedRecord::sign(envelope, &key(3)).expect("signed");
    let verified =
        verify_month_close(record.as_bytes(), &[], key(1).public_key()).expect("it verifies");
    json!({
        "record_hex": hex::encode(record.as_bytes()),
        "record_id": record.id().to_string(),
        "verdict": {
            "month": verified.close.month,
            "version": verified.close.version,
            "town": verified.town.subject.name,
            "district": verified.town.district.as_ref().map(|d| d.key.to_string()),
        },
    })
}

#[test]
fn the_documented_vectors_are_what_this_build_makes() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/authority-vectors.json");
    let made = vectors();
    if std::env::var_os("CAREBANK_BLESS").is_some() {
        let text = serde_json::to_string_pretty(&made).expect("json");
        std::fs::write(&path, text + "\n").expect("write vectors");
    }
    let text = std::fs::read_to_string(&path).expect("docs/authority-vectors.json");
    let documented: Value = serde_json::from_str(&text).expect("vectors are JSON");
    assert_eq!(documented, made);
    for case in made["refused"].as_array().expect("refusals") {
        assert_eq!(case["refused"], json!(true), "{case}");
    }
    // The documented chain bytes decode to the same chain and verify.
    let chain = AuthorityChain::decode(
        documented["town_chain"]
            .as_str()
            .expect("chain text")
            .as_bytes(),
    )
    .expect("decode");
    let root = key(1).public_key();
    assert_eq!(
        chain.verify(root, AT_MS).expect("verify").subject.key,
        key(3).public_key()
    );
}
