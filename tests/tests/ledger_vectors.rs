//! The test vectors of `docs/ledger-format.md`, kept in `docs/ledger-vectors.json`: fixed keys
//! and clocks give fixed bytes (ed25519 signatures are deterministic). This test rebuilds every
//! vector and checks the file. `CAREBANK_BLESS=1` rewrites the file after a deliberate format
//! change.

use std::collections::HashMap;
use std::path::PathBuf;

use carebank_core::domain::{
    ConfirmMethod, Enrolment, EntryHash, EntryKind, LedgerEntry, LedgerRules, RecordBody, Role,
};
use carebank_core::hlc::Hlc;
use carebank_core::identity::DeviceKey;
use carebank_core::ids::Id;
use carebank_core::ledger::{
    Ledger, ServiceFacts, ServiceView, export_statement, verify_statement,
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

fn vectors() -> Value {
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
    let records = [
        &rules,
        &coordinator_cert,
        &volunteer_cert,
        &claim,
        &confirm,
        &redeem,
    ];
    let mut ledger = Ledger::new(id(0xc1), centre.public_key());
    ledger.insert_verified(records.iter().map(|r| (*r).clone()));
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
    let as_of = START_MS + 2 * 86_400_000;
    let statement =
        export_statement(&ledger, &services, volunteer_id, as_of, &coordinator).expect("export");
    let verified = verify_statement(&statement, centre.public_key()).expect("verify");
    json!({
        "centre_public_key": centre.public_key().to_string(),
        "records": [
            vector("rules", 1, &rules),
            vector("certificate: centre enrols a coordinator", 1, &coordinator_cert),
            vector("certificate: coordinator enrols a volunteer", 2, &volunteer_cert),
            vector("entry: claim (seq 1)", 3, &claim),
            vector("entry: confirm (the coordinator's seq 1)", 2, &confirm),
            vector("entry: redeem (seq 2)", 3, &redeem),
        ],
        "statement": {
            "member": volunteer_id.to_string(),
            "as_of_ms": as_of,
            "exporter_seed": hex::encode([2u8; 32]),
            "balance_minutes": verified.balance.available_minutes,
            "file_hex": hex::encode(&statement),
        }
    })
}

#[test]
fn the_documented_vectors_are_what_this_build_makes() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/ledger-vectors.json");
    let made = vectors();
    if std::env::var_os("CAREBANK_BLESS").is_some() {
        let text = serde_json::to_string_pretty(&made).expect("json");
        std::fs::write(&path, text + "\n").expect("write vectors");
    }
    let text = std::fs::read_to_string(&path).expect("docs/ledger-vectors.json");
    let documented: Value = serde_json::from_str(&text).expect("vectors are JSON");
    assert_eq!(documented, made);
    assert_eq!(made["statement"]["balance_minutes"], json!(60));
}
