//! Phone to phone over the app's channel: every frame is signed, a phone serves only phones its
//! circle trusts, and a recorded, stale, damaged or foreign frame is refused without changing
//! anything on either side.

use std::cell::RefCell;

use carebank_core::CareStore;
use carebank_core::sync::peer::{ReplyFrame, RequestFrame};
use carebank_core::sync::{CancelToken, Initiator, Message, SyncError, Transport};
use carebank_scenarios::net::{enrolled_caregiver, stranger, test_key};
use carebank_scenarios::{
    DAY, START_MS, Village, lost_phone, record_ids, visit_at, weekly_village,
};

fn village() -> Village {
    let mut v = weekly_village(2, 1, 2, 0);
    for elder in 0..v.elders.len() {
        visit_at(
            &mut v,
            0,
            elder,
            START_MS + DAY / 2 + elder as u64 * 3_600_000,
        );
    }
    v
}

/// A channel to a store in the same process that keeps every frame sent and can change them.
struct Channel<'a> {
    to: &'a mut CareStore,
    sent: &'a RefCell<Vec<Vec<u8>>>,
    alter_reply: &'a dyn Fn(usize, Vec<u8>) -> Vec<u8>,
}

impl Transport for Channel<'_> {
    fn request(&mut self, frame: &[u8]) -> Result<Vec<u8>, SyncError> {
        self.sent.borrow_mut().push(frame.to_vec());
        let n = self.sent.borrow().len();
        let reply = self.to.answer_sync(frame)?;
        Ok((self.alter_reply)(n, reply))
    }
}

fn sync_through(
    from: &mut CareStore,
    to: &mut CareStore,
    sent: &RefCell<Vec<Vec<u8>>>,
    alter_reply: &dyn Fn(usize, Vec<u8>) -> Vec<u8>,
) -> Result<carebank_core::sync::Progress, SyncError> {
    let mut channel = Channel {
        to,
        sent,
        alter_reply,
    };
    from.sync_with_phone(&mut channel, &CancelToken::new(), &mut |_| {})
}

fn unchanged(_: usize, reply: Vec<u8>) -> Vec<u8> {
    reply
}

fn refusal(reply: &[u8]) -> String {
    let frame = ReplyFrame::decode(reply).expect("a reply frame");
    match Message::decode(&frame.message).expect("a message") {
        Message::Refused { reason } => reason,
        other => panic!("expected a refusal, got {}", other.name()),
    }
}

#[test]
fn two_enrolled_phones_sync_and_remember_each_other_by_key() {
    let mut v = village();
    let sent = RefCell::new(Vec::new());
    let (cg, vol) = (&mut v.caregivers[0].store, &mut v.volunteers[0].store);
    let first = sync_through(cg, vol, &sent, &unchanged).expect("sync");
    assert_eq!(first.round_trips, 2);
    assert_eq!(record_ids(cg), record_ids(vol));
    // The second sync finds the digests equal: one round trip.
    let again = sync_through(cg, vol, &sent, &unchanged).expect("sync again");
    assert_eq!(again.round_trips, 1);
    // Every frame on the channel was a signed request by the caregiver's key.
    for frame in sent.borrow().iter() {
        let request = RequestFrame::decode(frame).expect("request frame");
        assert_eq!(request.key, cg.public_key());
        assert!(request.verify(cg.circle().circle_id));
    }
}

#[test]
fn a_phone_outside_the_circle_gets_nothing_from_a_village_phone() {
    let mut v = village();
    let mut outsider = stranger(v.circle, 41, &v.clock).expect("stranger");
    let before = record_ids(&v.caregivers[0].store);
    // Its hello, signed by its own (unenrolled) key, is refused with the reason.
    let hello = Initiator::new("village phone")
        .start(&mut outsider)
        .expect("hello");
    let frame = RequestFrame::sign(
        &test_key(41),
        v.circle.circle_id,
        None,
        v.clock.now(),
        hello,
    );
    let reply = v.caregivers[0]
        .store
        .answer_sync(&frame.encode())
        .expect("an answer");
    assert!(refusal(&reply).contains("not enrolled"));
    // A whole sync fails too, and the outsider learns no record.
    let sent = RefCell::new(Vec::new());
    sync_through(&mut outsider, &mut v.caregivers[0].store, &sent, &unchanged)
        .expect_err("refused");
    assert!(record_ids(&outsider).is_empty());
    assert_eq!(record_ids(&v.caregivers[0].store), before);
}

#[test]
fn a_village_phone_pushes_nothing_to_a_phone_outside_the_circle() {
    let mut v = village();
    let mut outsider = stranger(v.circle, 42, &v.clock).expect("stranger");
    let sent = RefCell::new(Vec::new());
    let err = sync_through(&mut v.caregivers[0].store, &mut outsider, &sent, &unchanged)
        .expect_err("the answer is not trusted");
    assert!(
        matches!(err, SyncError::NotAuthorised(ref r) if r.contains("not enrolled")),
        "{err}"
    );
    assert_eq!(sent.borrow().len(), 1, "only the hello went out");
    assert!(
        record_ids(&outsider).is_empty(),
        "the outsider received no record"
    );
}

#[test]
fn a_revoked_phone_is_refused() {
    let mut v = village();
    let (mut phone, _) = enrolled_caregiver(&mut v, 43).expect("enrolled");
    v.caregivers[0]
        .store
        .merge_from(&v.coordinator.store)
        .expect("the enrolment arrives");
    let sent = RefCell::new(Vec::new());
    sync_through(&mut phone, &mut v.caregivers[0].store, &sent, &unchanged)
        .expect("an enrolled phone is served");
    let revocation = v
        .coordinator
        .store
        .revoke(lost_phone(phone.public_key(), v.clock.now()))
        .expect("revoke");
    let cg = &mut v.caregivers[0].store;
    cg.merge_from(&v.coordinator.store)
        .expect("the revocation arrives");
    assert!(record_ids(cg).contains(&revocation));
    let err =
        sync_through(&mut phone, cg, &sent, &unchanged).expect_err("a revoked phone is refused");
    assert!(
        matches!(err, SyncError::Refused(ref r) if r.contains("revoked")),
        "{err}"
    );
}

#[test]
fn a_recorded_request_played_again_is_refused() {
    let mut v = village();
    let sent = RefCell::new(Vec::new());
    let (cg, vol) = (&mut v.caregivers[0].store, &mut v.volunteers[0].store);
    sync_through(cg, vol, &sent, &unchanged).expect("sync");
    let before = record_ids(vol);
    for frame in sent.borrow().iter() {
        let reply = vol.answer_sync(frame).expect("an answer");
        assert!(refusal(&reply).contains("replayed"));
    }
    assert_eq!(record_ids(vol), before);
}

#[test]
fn a_request_from_a_phone_with_a_wrong_clock_is_refused_with_the_reason() {
    let mut v = village();
    let sent = RefCell::new(Vec::new());
    let (cg, vol) = (&mut v.caregivers[0].store, &mut v.volunteers[0].store);
    // The caregiver's phone runs two hours behind the village.
    let clock = v.clock.clone();
    cg.set_wall_clock(Box::new(move || clock.now() - 2 * 3_600_000));
    let err = sync_through(cg, vol, &sent, &unchanged).expect_err("stale");
    assert!(
        matches!(err, SyncError::Refused(ref r) if r.contains("clocks differ by 120 minutes")),
        "{err}"
    );
}

#[test]
fn damaged_or_substituted_replies_are_errors_that_change_nothing() {
    let mut v = village();
    let before = record_ids(&v.caregivers[0].store);
    let flip = |n: usize, mut reply: Vec<u8>| {
        if n == 1 {
            let i = reply.len() - 3;
            reply[i] ^= 1;
        }
        reply
    };
    let cut = |n: usize, reply: Vec<u8>| {
        if n == 1 { reply[..50].to_vec() } else { reply }
    };
    for (name, alter) in [
        ("flipped", &flip as &dyn Fn(usize, Vec<u8>) -> Vec<u8>),
        ("cut", &cut),
    ] {
        let sent = RefCell::new(Vec::new());
        let (cg, vol) = (&mut v.caregivers[0].store, &mut v.volunteers[0].store);
        let err = sync_through(cg, vol, &sent, alter).expect_err(name);
        assert!(matches!(err, SyncError::Malformed(_)), "{name}: {err}");
        assert_eq!(record_ids(&v.caregivers[0].store), before, "{name}");
    }

    // A reply from another enrolled phone, not the one that answered the hello.
    let sent = RefCell::new(Vec::new());
    let other_reply = RefCell::new(None::<Vec<u8>>);
    {
        let (first, rest) = v.caregivers.split_at_mut(1);
        let (cg, other) = (&mut first[0].store, &mut rest[0].store);
        let vol = &mut v.volunteers[0].store;
        let swap = |n: usize, reply: Vec<u8>| {
            if n == 2 {
                other_reply.borrow_mut().take().unwrap_or(reply)
            } else {
                reply
            }
        };
        // The second phone answers the same push, signed by its own key.
        let mut channel = SwapChannel {
            to: vol,
            other,
            sent: &sent,
            other_reply: &other_reply,
            alter: &swap,
        };
        let err = cg
            .sync_with_phone(&mut channel, &CancelToken::new(), &mut |_| {})
            .expect_err("another phone");
        assert!(
            matches!(err, SyncError::NotAuthorised(ref r) if r.contains("another phone")),
            "{err}"
        );
    }
    assert_eq!(record_ids(&v.caregivers[0].store), before);
}

/// A channel on which a second phone answers the second request instead of the first phone.
struct SwapChannel<'a> {
    to: &'a mut CareStore,
    other: &'a mut CareStore,
    sent: &'a RefCell<Vec<Vec<u8>>>,
    other_reply: &'a RefCell<Option<Vec<u8>>>,
    alter: &'a dyn Fn(usize, Vec<u8>) -> Vec<u8>,
}

impl Transport for SwapChannel<'_> {
    fn request(&mut self, frame: &[u8]) -> Result<Vec<u8>, SyncError> {
        self.sent.borrow_mut().push(frame.to_vec());
        let n = self.sent.borrow().len();
        if n == 2 {
            *self.other_reply.borrow_mut() = Some(self.other.answer_sync(frame)?);
        }
        let reply = self.to.answer_sync(frame)?;
        Ok((self.alter)(n, reply))
    }
}
