//! The relay's shared state, and the blocking work of one request, in two steps. From its
//! head alone ([`Relay::admit`]): its freshness, its circle, its key's standing in the circle.
//! Then, once the body is read ([`Relay::answer`]): the signature over it, the nonce (recorded
//! only now, so requests from keys the circle does not trust never write to the database), the
//! circle's lock, one sync round.

use std::sync::{Arc, Mutex};

use carebank_core::ids::Id;
use carebank_core::sync::{Limits, Message, RequestAuth, respond};

use crate::RelayError;
use crate::circles::{CircleState, Circles, lock};
use crate::district::DistrictDesk;
use crate::pool::Pool;

/// Loaded documents, across all circles, beyond which least recently used circles' documents
/// are dropped (and reloaded as needed).
const MAX_CACHED_DOCS: usize = 256;

/// How a request is checked.
#[derive(Debug, Clone, Copy)]
pub struct AuthPolicy {
    /// The largest difference allowed between a request's time and the relay's clock.
    pub max_skew_ms: i64,
}

/// What every request shares: the database and the circles' state.
pub struct Relay {
    pub(crate) db: Pool,
    circles: Circles,
    policy: AuthPolicy,
    limits: Limits,
    pub(crate) district: DistrictDesk,
}

/// A request whose head passed: fresh, for a circle served here, by a key the circle trusts.
pub struct Admitted {
    circle: Id,
    state: Arc<Mutex<CircleState>>,
    auth: RequestAuth,
    time_ms: i64,
    now_ms: i64,
}

impl Admitted {
    /// The circle it is for.
    pub fn circle(&self) -> Id {
        self.circle
    }

    /// The key that signed it.
    pub fn key(&self) -> carebank_core::identity::PublicKey {
        self.auth.key
    }
}

impl Relay {
    /// A relay over `db`, checking requests by `policy`.
    pub fn new(db: Pool, policy: AuthPolicy) -> Relay {
        Relay {
            db,
            circles: Circles::new(MAX_CACHED_DOCS),
            policy,
            limits: Limits::default(),
            district: DistrictDesk::default(),
        }
    }

    /// The same relay, serving district officials under these province roots.
    pub fn with_province_roots(self, roots: Vec<carebank_core::identity::PublicKey>) -> Relay {
        Relay {
            district: DistrictDesk::new(roots),
            ..self
        }
    }

    /// Whether the database answers.
    pub fn health(&self) -> Result<(), RelayError> {
        self.db.get()?.health()
    }

    /// Refuses a request whose time is too far from the relay's clock `now_ms`; returns its
    /// time.
    pub(crate) fn fresh(&self, auth: &RequestAuth, now_ms: i64) -> Result<i64, RelayError> {
        let time_ms = i64::try_from(auth.time_ms).unwrap_or(i64::MAX);
        if (time_ms - now_ms).abs() > self.policy.max_skew_ms {
            return Err(RelayError::Unauthorised(format!(
                "request time {time_ms} is more than {} ms from the relay's clock {now_ms}",
                self.policy.max_skew_ms
            )));
        }
        Ok(time_ms)
    }

    /// Records a request's nonce; refuses one this key used before.
    pub(crate) fn use_nonce(
        &self,
        auth: &RequestAuth,
        time_ms: i64,
        now_ms: i64,
    ) -> Result<(), RelayError> {
        let forget_before = now_ms - 2 * self.policy.max_skew_ms;
        if !self
            .db
            .get()?
            .use_nonce(&auth.key, &auth.nonce, time_ms, forget_before)?
        {
            return Err(RelayError::Unauthorised(
                "replayed request (nonce seen before)".into(),
            ));
        }
        Ok(())
    }

    /// Checks what a request's head says, at `now_ms`: its time is near the relay's clock, its
    /// circle is served here, and the circle trusts its key. Writes nothing.
    pub fn admit(
        &self,
        circle: Id,
        auth: RequestAuth,
        now_ms: i64,
    ) -> Result<Admitted, RelayError> {
        let time_ms = self.fresh(&auth, now_ms)?;
        let state = self
            .circles
            .get(circle, || self.db.get()?.circle_centre(circle))?
            .ok_or_else(|| RelayError::NotFound(format!("circle {circle} is not served here")))?;
        self.check_trust(circle, &mut lock(&state), &auth, now_ms)?;
        Ok(Admitted {
            circle,
            state,
            auth,
            time_ms,
            now_ms,
        })
    }

    /// Answers an admitted request whose body is `body`: checks the signature over it, records
    /// the nonce, then answers one sync round under the circle's lock. Returns the request and
    /// the reply.
    pub fn answer(
        &self,
        admitted: Admitted,
        path: &str,
        body: &[u8],
    ) -> Result<(Message, Message), RelayError> {
        let Admitted {
            circle,
            state,
            auth,
            time_ms,
            now_ms,
        } = admitted;
        if !auth.verify("POST", path, body) {
            return Err(RelayError::Unauthorised("bad request signature".into()));
        }
        self.use_nonce(&auth, time_ms, now_ms)?;
        let mut state = lock(&state);
        let answered = self.respond(circle, &mut state, body, &auth, now_ms);
        self.circles.used(circle, &mut state)?;
        answered
    }

    /// Refuses a key the circle does not trust at `now_ms` (unenrolled, revoked, or outside
    /// its certificate's validity).
    fn check_trust(
        &self,
        circle: Id,
        state: &mut CircleState,
        auth: &RequestAuth,
        now_ms: i64,
    ) -> Result<(), RelayError> {
        state
            .trust
            .check(&self.db, circle, state.centre, auth.key, now_ms)
    }

    /// The part of [`Relay::answer`] under the circle's lock. The key's standing is checked
    /// again: a revocation may have arrived while the body did.
    fn respond(
        &self,
        circle: Id,
        state: &mut CircleState,
        body: &[u8],
        auth: &RequestAuth,
        now_ms: i64,
    ) -> Result<(Message, Message), RelayError> {
        self.check_trust(circle, state, auth, now_ms)?;
        let request = Message::decode(body)?;
        state.docs.refresh(&self.db, circle)?;
        let reply = respond(
            &mut state.docs.replica(&self.db, circle),
            &request,
            &self.limits,
        )?;
        Ok((request, reply))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::sync::{Arc, mpsc};
    use std::time::Duration;

    use carebank_core::domain::Revocation;
    use carebank_core::sync::{SyncError, SyncReplica};

    use super::*;
    use crate::docs::COMPACT_AFTER_CHUNKS;
    use crate::testing::{Db, Phone, RECORD_MS};

    #[test]
    fn a_busy_circle_does_not_hold_up_another() {
        let db = Db::all().remove(0);
        let (mut a, mut b) = (Phone::centre(1), Phone::centre(2));
        let (circle_a, circle_b) = (a.store.circle(), b.store.circle());
        let relay = Arc::new(db.relay(&[circle_a, circle_b]));
        a.sync(&relay).expect("a syncs");
        b.sync(&relay).expect("b syncs");
        a.write();
        b.write();

        // Circle A is busy (as if a long request of its own were running).
        let held = relay
            .circles
            .get(circle_a.circle_id, || Ok(None))
            .expect("registry")
            .expect("a is served");
        let busy = lock(&held);
        let waiting = {
            let relay = relay.clone();
            std::thread::spawn(move || a.sync(&relay).map(|_| a))
        };
        let (done, served) = mpsc::channel();
        {
            let relay = relay.clone();
            std::thread::spawn(move || {
                let synced = b.sync(&relay).map(|_| b);
                let _ = done.send(synced);
            });
        }
        let b = served
            .recv_timeout(Duration::from_secs(120))
            .expect("circle B is served while circle A is busy")
            .expect("b's sync");
        assert!(!waiting.is_finished(), "circle A's sync waits for its turn");
        drop(busy);
        let a = waiting
            .join()
            .expect("thread")
            .expect("then circle A's sync");
        for mut phone in [a, b] {
            let again = phone.sync(&relay).expect("sync");
            assert_eq!(again.round_trips, 1, "the relay holds everything");
        }
    }

    #[test]
    fn signed_requests_from_keys_the_circle_does_not_trust_leave_no_nonce() {
        for db in Db::all() {
            let mut centre = Phone::centre(40);
            let circle = centre.store.circle();
            let relay = db.relay(&[circle]);
            centre.sync(&relay).expect("centre");
            for seed in 0..32 {
                let mut stranger = Phone::open(circle, 4000 + seed);
                let err = stranger.sync(&relay).expect_err("not enrolled");
                assert!(err.to_string().contains("not enrolled"), "{err}");
            }
            // The centre's own requests were recorded; none of the strangers'.
            let centre_key = centre.key.public_key().to_string();
            let nonces = db.count(&format!(
                "SELECT count(*) FROM nonces WHERE key <> '{centre_key}'"
            ));
            assert_eq!(nonces, 0, "{}", db.name());
            assert!(db.count("SELECT count(*) FROM nonces") > 0, "{}", db.name());
        }
    }

    #[test]
    fn loaded_documents_stay_bounded_across_circles() {
        let db = Db::all().remove(0);
        let mut phones: Vec<Phone> = (0..3).map(|i| Phone::centre(10 + i)).collect();
        let circles: Vec<_> = phones.iter().map(|p| p.store.circle()).collect();
        let mut relay = db.relay(&circles);
        relay.circles = Circles::new(2);
        for round in 0..2 {
            for phone in &mut phones {
                let progress = phone.sync(&relay).expect("sync");
                if round == 1 {
                    assert_eq!(progress.round_trips, 1, "answered after eviction too");
                }
                let (counted, actual) = relay.circles.loaded();
                assert_eq!(counted, actual);
                assert!(actual <= 2, "{actual} documents loaded");
            }
        }
    }

    #[test]
    fn a_revocation_stored_by_another_instance_counts_on_the_next_request() {
        for db in Db::all() {
            let mut centre = Phone::centre(20);
            let mut phone = centre.enrol(21);
            let circle = centre.store.circle();
            let (one, two) = (db.relay(&[circle]), db.relay(&[circle]));
            centre.sync(&one).expect("centre");
            for _ in 0..2 {
                phone.sync(&one).expect("enrolled phone");
            }
            centre
                .store
                .revoke(Revocation {
                    device_key: phone.key.public_key(),
                    effective_ms: RECORD_MS,
                    reason: "手机丢失".into(),
                    last_seq: None,
                    last_id: None,
                })
                .expect("revoke");
            centre
                .sync(&two)
                .expect("revocation through the other instance");
            let err = phone.sync(&one).expect_err("revoked");
            assert!(
                matches!(err, SyncError::Refused(ref m) if m.contains("revoked")),
                "{}: {err}",
                db.name()
            );
        }
    }

    fn chunk_counts(db: &Db, circle: Id) -> Vec<(i64, usize)> {
        let mut backend = db.backend();
        let docs = backend.doc_versions(circle).expect("docs");
        docs.iter()
            .map(|(doc, _)| {
                let chunks = backend.chunks_after(circle, doc, -1).expect("chunks");
                (chunks[0].0, chunks.len())
            })
            .collect()
    }

    #[test]
    fn compaction_keeps_every_record_across_instances_and_restarts() {
        for db in Db::all() {
            let mut centre = Phone::centre(30);
            let circle = centre.store.circle();
            let (one, two) = (db.relay(&[circle]), db.relay(&[circle]));
            centre.sync(&one).expect("first push");
            // A second device of the centre's key, which instance two loads now.
            let mut reader = Phone::open(circle, 30);
            reader.sync(&two).expect("reader");
            // Pushes through both instances in turn: each one's appends interleave with the
            // other's, and either may compact.
            for i in 0..2 * COMPACT_AFTER_CHUNKS {
                centre.write();
                let relay = if i % 2 == 0 { &one } else { &two };
                centre.sync(relay).expect("push");
            }
            let counts = chunk_counts(&db, circle.circle_id);
            assert_eq!(counts.len(), 1, "{}: one document", db.name());
            let (first, chunks) = counts[0];
            assert!(first > 0, "{}: compacted", db.name());
            assert!(
                chunks as i64 <= COMPACT_AFTER_CHUNKS,
                "{}: {chunks} chunks",
                db.name()
            );

            let expected = centre.store.record_ids().expect("ids");
            let want = SyncReplica::doc_heads(&mut centre.store).expect("heads");
            let check = |phone: &mut Phone, relay: &Relay| {
                phone.sync(relay).expect("sync");
                let got: BTreeSet<Id> = phone.store.record_ids().expect("ids");
                assert_eq!(got, expected, "{}", db.name());
                assert_eq!(
                    SyncReplica::doc_heads(&mut phone.store).expect("heads"),
                    want
                );
            };
            // Instance two had loaded only the first chunks: it catches up.
            check(&mut reader, &two);
            // A fresh instance (a restart) loads the compacted chunk and the rest.
            let three = db.relay(&[circle]);
            check(&mut Phone::open(circle, 30), &three);
            check(&mut Phone::open(circle, 30), &one);
        }
    }
}
