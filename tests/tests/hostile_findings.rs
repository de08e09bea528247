//! Two holes the hostile network of the fault harness (`tests/src/hostile/`) showed, each as the
//! test that failed before it was closed (`docs/security.md`).

use carebank_core::ids::Id;
use carebank_core::sync::bundle::Since;
use carebank_core::sync::peer::{ReplyFrame, RequestFrame};
use carebank_core::sync::{Initiator, Message};
use carebank_scenarios::hostile::forge::{doc_of, document};
use carebank_scenarios::net::small_circle;
use carebank_scenarios::{MINUTE, START_MS, SimClock, visit};

fn refused(reply: &[u8]) -> bool {
    let frame = ReplyFrame::decode(reply).expect("a reply frame");
    matches!(
        Message::decode(&frame.message).expect("a message"),
        Message::Refused { .. }
    )
}

/// A request names the phone it is for, so a request recorded on the way to one phone is refused
/// by another; only a sync's opening hello may name no phone, and its answer holds no record.
#[test]
fn a_request_recorded_on_the_way_to_one_phone_is_refused_by_another() {
    let clock = SimClock::at(START_MS);
    let mut c = small_circle(30, 3, &clock).expect("circle");
    let circle = c.circle.circle_id;
    let hello = Initiator::new("phone")
        .start(&mut c.devices[0].0)
        .expect("hello");
    let phone_1 = c.devices[1].0.public_key();
    let frame = RequestFrame::sign(
        &c.device_key(0),
        circle,
        Some(phone_1),
        clock.now(),
        hello.clone(),
    )
    .encode();
    // Phone 0 asks phone 1, which serves it.
    let reply = c.devices[1].0.answer_sync(&frame).expect("an answer");
    assert!(!refused(&reply), "phone 1 serves phone 0");
    // Someone on the channel recorded the frame and plays it to phone 2.
    let reply = c.devices[2].0.answer_sync(&frame).expect("an answer");
    assert!(
        refused(&reply),
        "phone 2 served a request meant for phone 1"
    );
    // A hello that names no phone is answered by any, with document heads only.
    let open = RequestFrame::sign(&c.device_key(0), circle, None, clock.now(), hello).encode();
    let reply = ReplyFrame::decode(&c.devices[2].0.answer_sync(&open).expect("an answer"))
        .expect("a reply frame");
    assert!(matches!(
        Message::decode(&reply.message).expect("a message"),
        Message::Heads { .. } | Message::UpToDate
    ));
    // Any other request that names no phone is refused.
    let push = Message::Push {
        docs: Vec::new(),
        reply_budget: 0,
        keys: None,
    }
    .encode()
    .expect("push");
    let unaddressed =
        RequestFrame::sign(&c.device_key(0), circle, None, clock.now(), push).encode();
    assert!(refused(
        &c.devices[2].0.answer_sync(&unaddressed).expect("an answer")
    ));
}

/// A value that is not a valid record, slipped into a phone's documents by a hostile party, is
/// kept out of every store it reaches, and does not make that phone's bundles unfit: they
/// import, the value counted in the report and kept out.
#[test]
fn a_bundle_from_a_phone_that_was_sent_a_forged_record_still_imports() {
    let clock = SimClock::at(START_MS);
    let mut c = small_circle(31, 2, &clock).expect("circle");
    let (elder, member) = (c.elder, c.devices[0].1);
    let phone = &mut c.devices[0].0;
    let id = phone
        .record_visit(visit(elder, member, START_MS + MINUTE))
        .expect("visit");
    let bytes = phone.get(id).expect("the record").as_bytes().to_vec();
    // A hostile relay slipped a copy with a signature bit flipped into phone 0's documents:
    // rejected there, never counted, but kept in the document's history.
    let mut altered = bytes.clone();
    altered[0] ^= 1;
    let forged = document(&[(Id::random().to_string(), altered)]).expect("a document");
    let merged = phone
        .merge_docs(vec![(doc_of(&bytes).expect("its month"), forged)])
        .expect("merge");
    assert_eq!(merged.rejected.len(), 1, "the altered copy is rejected");
    let bundle = phone.export_bundle(&Since::Everything).expect("export");
    let report = c.devices[1]
        .0
        .import_bundle(&bundle)
        .expect("phone 1 takes phone 0's honest records, the altered copy rejected alone");
    assert_eq!(report.values_rejected, 1, "the altered copy is counted");
    assert!(c.devices[1].0.get(id).is_ok());
    assert_eq!(c.devices[1].0.rejections().expect("rejections").len(), 1);
}
