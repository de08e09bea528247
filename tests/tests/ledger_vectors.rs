//! The test vectors of `docs/ledger-format.md`, kept in `docs/ledger-vectors.json` and (the
//! transfer statement, §5) `docs/transfer-vectors.json`: fixed keys and clocks give fixed bytes
//! (ed25519 signatures are deterministic). These tests rebuild every vector and check the
//! files. `CAREBANK_BLESS=1` rewrites them after a deliberate format change.

use std::collections::HashMap;
use std::path::PathBuf;

use carebank_core::domain::{
    ConfirmMethod, Enrolment, EntryHash, EntryKind, LedgerEntry, LedgerRules, RecordBody, Role,
};
use carebank_core::hlc::Hlc;
use carebank_core::identity::DeviceKey;
use carebank_core::identity::authority::{AuthorityChain, AuthorityLevel, AuthorityStatement};
use carebank_core::ids::Id;
use carebank_core::ledger::{
    Ledger, ServiceFacts, ServiceView, export_statement, export_transfer, verify_statement,
    verify_transfer,
};
use carebank_core::record::{Envelope, SignedRecord, V1};
use carebank_scenarios::START_MS;
use serde_json::{Value, json};

fn id(byte: u8) -> Id {
    Id::from_bytes([byte; 16])
}

fn sign(key: &DeviceKey, ms: u64, body: RecordBody) -> SignedRecord {
    let envelope = Envelope {
        v: V1,
        circle: id(0xc1),
        author: key.public_key(),
        hlc: Hlc { ms, counter: 0 },
        body,
        link: None,
    };
    SignedRecord::sign(envelope, key).expect("sign")
}

fn enrol(member: Id, role: Role, key: &DeviceKey) -> RecordBody {
    RecordBody::Enrolment(Enrolment {
        member_id: member,
        name: "王芳".into(),
        role,
        site_id: id(0x51),
        device_key: key.public_key(),
        family_of: None,
        valid_from_ms: None,
        valid_until_ms: Some(START_MS + 365 * 86_400_000),
        household: Some(id(0x60)),
        birth_year: Some(1956),
    })
}

fn vector(name: &str, seed: u8, record: &SignedRecord) -> Value {
    json!({
        "name": name,
        "signer_seed": hex::encode([seed; 32]),
        "signer_public_key": record.author().to_string(),
        "payload": String::from_utf8_lossy(record.payload()),
        "signature": hex::encode(record.signature()),
        "record_id": record.id().to_string(),
        "entry_hash": EntryHash::of_payload(record.payload()).to_string(),
        "record_hex": hex::encode(record.as_bytes()),
    })
}

/// The records of the vectors' circle, its ledger and service facts.
struct Book {
    centre: DeviceKey,
    coordinator: DeviceKey,
    coordinator_id: Id,
    volunteer_id: Id,
    records: Vec<(&'static str, u8, SignedRecord)>,
    ledger: Ledger,
    services: ServiceView,
}

fn book() -> Book {
    let centre = DeviceKey::from_seed([1; 32]);
    let coordinator = DeviceKey::from_seed([2; 32]);
    let volunteer = DeviceKey::from_seed([3; 32]);
    let (coordinator_id, volunteer_id) = (id(0x10), id(0x30));
    let rules = sign(
        &centre,
        START_MS,
        RecordBody::LedgerRules(LedgerRules {
            cap_minutes: Some(90_000),
            expiry_days: None,
            redemption_age: Some(65),
            gift_cap_minutes_per_year: Some(6_000),
            approval_required: false,
        }),
    );
    let coordinator_cert = sign(
        &centre,
        START_MS + 1,
        enrol(coordinator_id, Role::Coordinator, &coordinator),
    );
    let volunteer_cert = sign(
        &coordinator,
        START_MS + 2,
        enrol(volunteer_id, Role::Volunteer, &volunteer),
    );
    let service = id(0x5e);
    let claim = sign(
        &volunteer,
        START_MS + 3_600_000,
        RecordBody::Ledger(LedgerEntry {
            member_id: volunteer_id,
            seq: 1,
            prev: None,
            kind: EntryKind::Claim {
                service,
                elder_id: id(0x40),
                minutes: 90,
            },
        }),
    );
    let confirm = sign(
        &coordinator,
        START_MS + 7_200_000,
        RecordBody::Ledger(LedgerEntry {
            member_id: coordinator_id,
            seq: 1,
            prev: None,
            kind: EntryKind::Confirm {
                claim: claim.id(),
                method: ConfirmMethod::PrintedCard,
            },
        }),
    );
    let redeem = sign(
        &volunteer,
        START_MS + 86_400_000,
        RecordBody::Ledger(LedgerEntry {
            member_id: volunteer_id,
            seq: 2,
            prev: Some(EntryHash::of_payload(claim.payload())),
            kind: EntryKind::Redeem {
                minutes: 30,
                service: None,
            },
        }),
    );
    let records = vec![
        ("rules", 1, rules),
        (
            "certificate: centre enrols a coordinator",
            1,
            coordinator_cert,
        ),
        (
            "certificate: coordinator enrols a volunteer",
            2,
            volunteer_cert,
        ),
        ("entry: claim (seq 1)", 3, claim),
        ("entry: confirm (the coordinator's seq 1)", 2, confirm),
        ("entry: redeem (seq 2)", 3, redeem),
    ];
    let mut ledger = Ledger::new(id(0xc1), centre.public_key());
    ledger.insert_verified(records.iter().map(|r| r.2.clone()));
    let services = ServiceView::Known(HashMap::from([(
        service,
        ServiceFacts {
            elder_id: id(0x40),
            provider_id: volunteer_id,
            started_ms: START_MS as i64,
            duration_minutes: 90,
            time_bank: true,
            voided: false,
            counted: true,
        },
    )]));
    Book {
        centre,
        coordinator,
        coordinator_id,
        volunteer_id,
        records,
        ledger,
        services,
    }
}

fn vectors() -> Value {
    let Book {
        centre,
        coordinator,
        volunteer_id,
        records,
        ledger,
        services,
        ..
    } = book();
    let as_of = START_MS + 2 * 86_400_000;
    let statement =
        export_statement(&ledger, &services, volunteer_id, as_of, &coordinator).expect("export");
    let verified = verify_statement(&statement, centre.public_key()).expect("verify");
    let records: Vec<Value> = records
        .iter()
        .map(|(name, seed, record)| vector(name, *seed, record))
        .collect();
    json!({
        "centre_public_key": centre.public_key().to_string(),
        "records": records,
        "statement": {
            "member": volunteer_id.to_string(),
            "as_of_ms": as_of,
            "exporter_seed": hex::encode([2u8; 32]),
            "balance_minutes": verified.balance.available_minutes,
            "file_hex": hex::encode(&statement),
        }
    })
}

/// The transfer statement vector: the province (seed 0x11) certifies a district (0x12), which
/// certifies the town centre (seed 1); the coordinator moves the volunteer's 60 minutes to
/// circle `c2…c2` and exports the transfer statement; the new circle's coordinator (seed 4)
/// opens it with a transfer-in.
fn transfer_vectors() -> Value {
    let Book {
        centre,
        coordinator,
        coordinator_id,
        volunteer_id,
        mut ledger,
        services,
        ..
    } = book();
    let (province, district) = (
        DeviceKey::from_seed([0x11; 32]),
        DeviceKey::from_seed([0x12; 32]),
    );
    let year = 365 * 86_400_000;
    let certify = |issuer: &DeviceKey, level, subject: &DeviceKey, name: &str, region: &str| {
        AuthorityStatement {
            level,
            subject: subject.public_key(),
            name: name.into(),
            region: region.into(),
            issuer: issuer.public_key(),
            valid_from_ms: START_MS - year,
            valid_until_ms: START_MS + 5 * year,
        }
        .sign(issuer)
        .expect("certify")
    };
    let chain = AuthorityChain::new(vec![
        certify(
            &province,
            AuthorityLevel::District,
            &district,
            "临安区",
            "330112",
        ),
        certify(
            &district,
            AuthorityLevel::Town,
            &centre,
            "龙泉镇",
            "330112101",
        ),
    ])
    .encode()
    .expect("chain");
    let confirm_hash = ledger
        .head(coordinator_id)
        .map(|h| h.1)
        .expect("the coordinator's confirmation");
    let transfer_out = sign(
        &coordinator,
        START_MS + 2 * 86_400_000,
        RecordBody::Ledger(LedgerEntry {
            member_id: coordinator_id,
            seq: 2,
            prev: Some(confirm_hash),
            kind: EntryKind::TransferOut {
                member: volunteer_id,
                minutes: 60,
                to_circle: id(0xc2),
                head_seq: 2,
            },
        }),
    );
    ledger.insert_verified([transfer_out.clone()]);
    let as_of = START_MS + 2 * 86_400_000 + 60_000;
    let file = export_transfer(
        &ledger,
        &services,
        transfer_out.id(),
        as_of,
        &chain,
        &coordinator,
    )
    .expect("export the transfer");
    let verified = verify_transfer(&file, province.public_key(), id(0xc2)).expect("verify");
    let new_coordinator = DeviceKey::from_seed([4; 32]);
    let transfer_in = SignedRecord::sign(
        Envelope {
            v: V1,
            circle: id(0xc2),
            author: new_coordinator.public_key(),
            hlc: Hlc {
                ms: as_of + 86_400_000,
                counter: 0,
            },
            body: RecordBody::Ledger(LedgerEntry {
                member_id: id(0x11),
                seq: 1,
                prev: None,
                kind: EntryKind::TransferIn {
                    member: verified.member,
                    minutes: verified.minutes,
                    from_circle: verified.from_circle,
                    transfer_out: verified.transfer_out,
                    statement: verified.file_hash,
                },
            }),
            link: None,
        },
        &new_coordinator,
    )
    .expect("sign");
    json!({
        "province_public_key": province.public_key().to_string(),
        "authority_chain": String::from_utf8_lossy(&chain),
        "transfer_out": vector("entry: transfer-out (the coordinator's seq 2)", 2, &transfer_out),
        "transfer": {
            "into_circle": id(0xc2).to_string(),
            "as_of_ms": as_of,
            "member": verified.member.to_string(),
            "minutes": verified.minutes,
            "balance_after_minutes": verified.statement.balance.available_minutes,
            "file_sha256": verified.file_hash.to_string(),
            "file": String::from_utf8_lossy(&file),
        },
        "transfer_in": vector("entry: transfer-in (the new circle's coordinator's seq 1)", 4, &transfer_in),
    })
}

/// Checks `made` against the documented file (rewriting it first under `CAREBANK_BLESS`).
fn check_documented(file: &str, made: &Value) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../docs")
        .join(file);
    if std::env::var_os("CAREBANK_BLESS").is_some() {
        let text = serde_json::to_string_pretty(made).expect("json");
        std::fs::write(&path, text + "\n").expect("write vectors");
    }
    let text = std::fs::read_to_string(&path).expect("the vectors file");
    let documented: Value = serde_json::from_str(&text).expect("vectors are JSON");
    assert_eq!(&documented, made, "docs/{file}");
}

#[test]
fn the_documented_vectors_are_what_this_build_makes() {
    let made = vectors();
    check_documented("ledger-vectors.json", &made);
    assert_eq!(made["statement"]["balance_minutes"], json!(60));
}

#[test]
fn the_documented_transfer_vectors_are_what_this_build_makes() {
    let made = transfer_vectors();
    check_documented("transfer-vectors.json", &made);
    assert_eq!(made["transfer"]["minutes"], json!(60));
    assert_eq!(made["transfer"]["balance_after_minutes"], json!(0));
    // The documented file verifies on its own, with the province key alone.
    let file = made["transfer"]["file"].as_str().expect("file").as_bytes();
    let province = DeviceKey::from_seed([0x11; 32]).public_key();
    let verified = verify_transfer(file, province, id(0xc2)).expect("the documented file verifies");
    assert_eq!(verified.minutes, 60);
    assert!(verify_transfer(file, province, id(0xc3)).is_err());
}
