//! Every decoder of bytes from outside (records, sync messages, phone frames, bundle files, the
//! relay's authorization header, authority chains, the relay's answer to a district official,
//! transfer statements) given random bytes and damaged copies of valid input: an error or a
//! refusal, never a panic, and nothing changed in the store that read them. The same decoders
//! are fuzz targets under `fuzz/` for longer runs.

use std::sync::OnceLock;

use carebank_core::CareStore;
use carebank_core::identity::authority::{AuthorityChain, AuthorityLevel, AuthorityStatement};
use carebank_core::record::{OuterRecord, RecordError, SignedRecord};
use carebank_core::report::district::FetchedCloses;
use carebank_core::sync::peer::{ReplyFrame, RequestFrame};
use carebank_core::sync::{CancelToken, Initiator, Message, RequestAuth, Transport};
use carebank_scenarios::{DAY, START_MS, Village, record_ids, visit_at, weekly_village};
use proptest::prelude::*;

/// Valid samples of each kind of input, from a small village.
struct Samples {
    record: Vec<u8>,
    hello: Vec<u8>,
    push: Vec<u8>,
    request_frame: Vec<u8>,
    reply_frame: Vec<u8>,
    bundle: Vec<u8>,
    auth_header: String,
    authority_chain: Vec<u8>,
    district_closes: Vec<u8>,
    transfer: Vec<u8>,
}

/// Keeps the frames a phone link carries.
struct Recorder<'a> {
    to: &'a mut CareStore,
    frames: Vec<(Vec<u8>, Vec<u8>)>,
}

impl Transport for Recorder<'_> {
    fn request(&mut self, frame: &[u8]) -> Result<Vec<u8>, carebank_core::sync::SyncError> {
        let reply = self.to.answer_sync(frame)?;
        self.frames.push((frame.to_vec(), reply.clone()));
        Ok(reply)
    }
}

fn village() -> Village {
    let mut v = weekly_village(1, 1, 1, 0);
    visit_at(&mut v, 0, 0, START_MS + DAY / 2);
    v
}

fn samples() -> &'static Samples {
    static SAMPLES: OnceLock<Samples> = OnceLock::new();
    SAMPLES.get_or_init(|| {
        let mut v = village();
        let cg = &mut v.caregivers[0].store;
        // A care record, sealed for the circle: its header and signature are what a decoder
        // outside the circle reads.
        let record = cg
            .store()
            .record_ids()
            .expect("ids")
            .into_iter()
            .map(|id| cg.get(id).expect("record"))
            .find(|r| r.key_id().is_some())
            .expect("a sealed record")
            .as_bytes()
            .to_vec();
        let mut session = Initiator::new("sample");
        let hello = session.start(cg).expect("hello");
        let bundle = cg
            .export_bundle(&carebank_core::sync::bundle::Since::Everything)
            .expect("bundle");
        let vol = &mut v.volunteers[0].store;
        let mut recorder = Recorder {
            to: vol,
            frames: Vec::new(),
        };
        cg.sync_with_phone(&mut recorder, &CancelToken::new(), &mut |_| {})
            .expect("sync");
        let (request_frame, reply_frame) = recorder.frames[1].clone();
        let push = RequestFrame::decode(&request_frame).expect("frame").message;
        let auth_header = RequestAuth::sign(
            &carebank_scenarios::key(100),
            "POST",
            "/v1/circles/x/sync",
            &hello,
            START_MS,
        )
        .header_value();
        Samples {
            district_closes: district_closes(&record),
            authority_chain: authority_chain().encode().expect("chain"),
            transfer: documented_transfer(),
            record,
            hello,
            push,
            request_frame,
            reply_frame,
            bundle,
            auth_header,
        }
    })
}

/// A town's authority chain: a district certified by province key 1, the town by the district.
fn authority_chain() -> AuthorityChain {
    let certify = |level, subject: u64, issuer: u64| {
        AuthorityStatement {
            level,
            subject: carebank_scenarios::key(subject).public_key(),
            name: "青山".into(),
            region: "330112".into(),
            issuer: carebank_scenarios::key(issuer).public_key(),
            valid_from_ms: START_MS,
            valid_until_ms: START_MS + 365 * DAY,
        }
        .sign(&carebank_scenarios::key(issuer))
        .expect("certificate")
    };
    AuthorityChain::new(vec![
        certify(AuthorityLevel::District, 2, 1),
        certify(AuthorityLevel::Town, 3, 2),
    ])
}

/// A relay's answer to a district official, holding `record` as a close and as a trust record.
fn district_closes(record: &[u8]) -> Vec<u8> {
    let circle = "c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1";
    let answer = serde_json::json!({
        "format": "carebank/district-closes/v1",
        "closes": [{"circle": circle, "record": hex::encode(record)}],
        "trust": {circle: [hex::encode(record)]},
    });
    serde_json::to_vec(&answer).expect("json")
}

/// The documented transfer statement (`docs/transfer-vectors.json`), a valid file for circle
/// `c2…c2` under the province key of seed `11…11`.
fn documented_transfer() -> Vec<u8> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/transfer-vectors.json");
    let text = std::fs::read_to_string(path).expect("docs/transfer-vectors.json");
    let vectors: serde_json::Value = serde_json::from_str(&text).expect("json");
    vectors["transfer"]["file"]
        .as_str()
        .expect("the transfer file")
        .as_bytes()
        .to_vec()
}

/// Verifies `bytes` as a transfer statement for the documented vector's circle and province.
fn verify_documented_transfer(
    bytes: &[u8],
) -> Result<carebank_core::ledger::VerifiedTransfer, carebank_core::ledger::TransferError> {
    carebank_core::ledger::verify_transfer(
        bytes,
        carebank_core::identity::DeviceKey::from_seed([0x11; 32]).public_key(),
        carebank_core::ids::Id::from_bytes([0xc2; 16]),
    )
}

/// A damaged copy of `bytes`: cut short, one byte changed, or a byte inserted.
fn damaged(bytes: &[u8], how: u8, at: usize, value: u8) -> Vec<u8> {
    let mut out = bytes.to_vec();
    if out.is_empty() {
        return vec![value];
    }
    let i = at % out.len();
    match how % 3 {
        0 => out.truncate(i),
        1 => out[i] ^= value | 1,
        _ => out.insert(i, value),
    }
    out
}

/// Feeds `bytes` to every decoder; a fresh phone answers the frames and reads the bundle, and
/// must hold exactly what it held before.
fn feed(bytes: &[u8]) {
    let _ = SignedRecord::from_bytes(bytes);
    let _ = OuterRecord::verify(bytes);
    let _ = Message::decode(bytes);
    let _ = RequestFrame::decode(bytes);
    let _ = ReplyFrame::decode(bytes);
    if let Ok(entry) = carebank_core::record::elder_key::ElderKeyEntry::decode(bytes) {
        let _ = entry.open(&[0x42; 32]);
    }
    if let Ok(text) = std::str::from_utf8(bytes) {
        let _ = RequestAuth::parse_header(text);
    }
    let _ = verify_documented_transfer(bytes);
    if let Ok(chain) = AuthorityChain::decode(bytes) {
        let _ = chain.verify(carebank_scenarios::key(1).public_key(), START_MS);
    }
    if let Ok(fetched) = FetchedCloses::decode(bytes) {
        let key = |seed| carebank_scenarios::key(seed).public_key();
        let _ = fetched.verify(key(1), key(2));
    }
    let mut v = village();
    let phone = &mut v.volunteers[0].store;
    let before = record_ids(phone);
    let _ = phone.answer_sync(bytes);
    let _ = phone.import_bundle(bytes);
    let _ = phone.take_keyring(&[bytes.to_vec()]);
    assert_eq!(record_ids(phone), before, "bad bytes changed the store");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_are_refused_without_a_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        feed(&bytes);
    }

    #[test]
    fn damaged_valid_input_is_refused_without_a_panic(
        which in 0usize..10, how in any::<u8>(), at in any::<usize>(), value in any::<u8>(),
    ) {
        let s = samples();
        let sample: Vec<u8> = match which {
            0 => s.record.clone(),
            1 => s.hello.clone(),
            2 => s.push.clone(),
            3 => s.request_frame.clone(),
            4 => s.reply_frame.clone(),
            5 => s.bundle.clone(),
            6 => s.auth_header.clone().into_bytes(),
            7 => s.authority_chain.clone(),
            8 => s.district_closes.clone(),
            _ => s.transfer.clone(),
        };
        feed(&damaged(&sample, how, at, value));
    }
}

#[test]
fn the_samples_themselves_are_accepted() {
    let s = samples();
    assert!(OuterRecord::verify(&s.record).is_ok());
    assert!(matches!(
        SignedRecord::from_bytes(&s.record),
        Err(RecordError::Sealed(_))
    ));
    assert!(Message::decode(&s.hello).is_ok());
    assert!(matches!(Message::decode(&s.push), Ok(Message::Push { .. })));
    assert!(RequestFrame::decode(&s.request_frame).is_ok());
    assert!(ReplyFrame::decode(&s.reply_frame).is_ok());
    assert!(RequestAuth::parse_header(&s.auth_header).is_ok());
    assert!(verify_documented_transfer(&s.transfer).is_ok());
    let chain = AuthorityChain::decode(&s.authority_chain).expect("the chain decodes");
    assert!(
        chain
            .verify(carebank_scenarios::key(1).public_key(), START_MS)
            .is_ok()
    );
    let mut v = village();
    let phone = &mut v.volunteers[0].store;
    let report = phone.import_bundle(&s.bundle).expect("the bundle imports");
    assert!(report.records_added > 0);
}
