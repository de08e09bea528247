//! The relay's state behind one lock: the backend and the documents it has loaded, and the
//! blocking work of one request (authorisation, then one sync round).

use std::collections::HashMap;

use automerge::ChangeHash;
use carebank_core::identity::PublicKey;
use carebank_core::identity::trust::{TrustFacts, bears_on_trust};
use carebank_core::ids::Id;
use carebank_core::record::SignedRecord;
use carebank_core::replica::{DocId, RecordDoc, session_actor};
use carebank_core::sync::{
    DocHeads, Limits, Message, RequestAuth, SyncError, SyncReplica, respond,
};

use crate::RelayError;
use crate::backend::{Backend, TrustRecord};

/// Loaded documents beyond this many are all dropped (and reloaded as needed).
const MAX_CACHED_DOCS: usize = 256;

struct Cached {
    doc: RecordDoc,
    /// The number of the last chunk applied.
    seq: i64,
}

/// The backend and the loaded documents.
pub struct RelayState {
    backend: Box<dyn Backend>,
    docs: HashMap<(Id, DocId), Cached>,
    limits: Limits,
}

/// How a request is checked.
#[derive(Debug, Clone, Copy)]
pub struct AuthPolicy {
    /// The largest difference allowed between a request's time and the relay's clock.
    pub max_skew_ms: i64,
}

impl RelayState {
    /// State over `backend`.
    pub fn new(backend: Box<dyn Backend>) -> RelayState {
        RelayState {
            backend,
            docs: HashMap::new(),
            limits: Limits::default(),
        }
    }

    /// The backend, for registration and health checks.
    pub fn backend(&mut self) -> &mut dyn Backend {
        self.backend.as_mut()
    }

    /// Checks a request's signature, freshness, nonce and the key's standing in the circle.
    pub fn authorise(
        &mut self,
        circle: Id,
        path: &str,
        body: &[u8],
        auth: &RequestAuth,
        now_ms: i64,
        policy: AuthPolicy,
    ) -> Result<(), RelayError> {
        let time = i64::try_from(auth.time_ms).unwrap_or(i64::MAX);
        if (time - now_ms).abs() > policy.max_skew_ms {
            return Err(RelayError::Unauthorised(format!(
                "request time {time} is more than {} ms from the relay's clock {now_ms}",
                policy.max_skew_ms
            )));
        }
        if !auth.verify("POST", path, body) {
            return Err(RelayError::Unauthorised("bad request signature".into()));
        }
        let centre = self
            .backend
            .circle_centre(circle)?
            .ok_or_else(|| RelayError::NotFound(format!("circle {circle} is not served here")))?;
        let forget_before = now_ms - 2 * policy.max_skew_ms;
        if !self
            .backend
            .use_nonce(&auth.key, &auth.nonce, time, forget_before)?
        {
            return Err(RelayError::Unauthorised(
                "replayed request (nonce seen before)".into(),
            ));
        }
        self.check_trusted(circle, centre, auth.key)
    }

    fn check_trusted(
        &mut self,
        circle: Id,
        centre: PublicKey,
        key: PublicKey,
    ) -> Result<(), RelayError> {
        let mut facts = TrustFacts::default();
        for bytes in self.backend.trust_records(circle)? {
            if let Ok(record) = SignedRecord::from_bytes(&bytes)
                && record.envelope().circle == circle
            {
                facts.add(&record);
            }
        }
        match facts.derive(centre).get(&key.to_string()) {
            Some(t) if t.revoked_from_ms.is_none() => Ok(()),
            Some(_) => Err(RelayError::Forbidden(format!("device {key} was revoked"))),
            None => Err(RelayError::Forbidden(format!(
                "device {key} is not enrolled in circle {circle}"
            ))),
        }
    }

    /// Answers one sync message for `circle`.
    pub fn sync(&mut self, circle: Id, body: &[u8]) -> Result<(Message, Message), RelayError> {
        let request = Message::decode(body)?;
        self.refresh(circle)?;
        let limits = self.limits;
        let mut replica = CircleReplica {
            state: self,
            circle,
        };
        let reply = respond(&mut replica, &request, &limits)?;
        Ok((request, reply))
    }

    /// Brings the loaded documents of `circle` up to what the backend holds (other instances
    /// may have written).
    fn refresh(&mut self, circle: Id) -> Result<(), RelayError> {
        if self.docs.len() > MAX_CACHED_DOCS {
            self.docs.clear();
        }
        for (name, latest) in self.backend.doc_versions(circle)? {
            let doc = DocId::parse(&name)
                .ok_or_else(|| RelayError::Database(format!("document name {name:?}")))?;
            let key = (circle, doc);
            let seen = self.docs.get(&key).map_or(-1, |c| c.seq);
            if seen >= latest {
                continue;
            }
            let chunks = self.backend.chunks_after(circle, &name, seen)?;
            let cached = self.docs.entry(key.clone()).or_insert_with(|| Cached {
                doc: RecordDoc::new(&session_actor()),
                seq: -1,
            });
            for (seq, bytes) in chunks {
                if let Err(e) = cached.doc.apply_changes(&bytes) {
                    self.docs.remove(&key);
                    return Err(RelayError::Database(format!("stored chunk of {name}: {e}")));
                }
                cached.seq = seq;
            }
        }
        Ok(())
    }
}

/// One circle's documents as a sync replica.
struct CircleReplica<'a> {
    state: &'a mut RelayState,
    circle: Id,
}

impl CircleReplica<'_> {
    fn doc(&mut self, doc: &DocId) -> &mut RecordDoc {
        &mut self
            .state
            .docs
            .entry((self.circle, doc.clone()))
            .or_insert_with(|| Cached {
                doc: RecordDoc::new(&session_actor()),
                seq: -1,
            })
            .doc
    }
}

fn store_error(e: impl std::fmt::Display) -> SyncError {
    SyncError::Internal(e.to_string())
}

impl SyncReplica for CircleReplica<'_> {
    fn circle(&self) -> Id {
        self.circle
    }

    fn doc_heads(&mut self) -> Result<Vec<DocHeads>, SyncError> {
        let circle = self.circle;
        let mut out: Vec<DocHeads> = self
            .state
            .docs
            .iter_mut()
            .filter(|((c, _), _)| *c == circle)
            .map(|((_, doc), cached)| {
                let mut heads = cached.doc.heads();
                heads.sort();
                DocHeads {
                    doc: doc.clone(),
                    heads,
                }
            })
            .filter(|d| !d.heads.is_empty())
            .collect();
        out.sort_by(|a, b| a.doc.cmp(&b.doc));
        Ok(out)
    }

    fn known(&mut self, doc: &DocId, hashes: &[ChangeHash]) -> Result<Vec<ChangeHash>, SyncError> {
        Ok(self.doc(doc).known(hashes))
    }

    fn changes_since(&mut self, doc: &DocId, have: &[ChangeHash]) -> Result<Vec<u8>, SyncError> {
        self.doc(doc).changes_since(have).map_err(store_error)
    }

    fn apply_changes(&mut self, doc: &DocId, changes: &[u8]) -> Result<usize, SyncError> {
        let circle = self.circle;
        let (chunk, added) = self.doc(doc).apply_changes(changes).map_err(store_error)?;
        if chunk.is_empty() {
            return Ok(0);
        }
        let mut trust = Vec::new();
        for (_, values) in &added {
            for bytes in values {
                // A cheap look before verifying: only enrolments and revocations matter here.
                let named = |word: &[u8]| bytes.windows(word.len()).any(|w| w == word);
                if !(named(b"\"enrolment\"") || named(b"\"revocation\"")) {
                    continue;
                }
                if let Ok(record) = SignedRecord::from_bytes(bytes)
                    && record.envelope().circle == circle
                    && bears_on_trust(record.body())
                {
                    trust.push(TrustRecord {
                        id: record.id().to_string(),
                        bytes: bytes.clone(),
                    });
                }
            }
        }
        let stored = self
            .state
            .backend
            .append_chunk(circle, doc.as_str(), &chunk, &trust);
        if let Err(e) = stored {
            // The loaded document is ahead of the database: forget it, reload next time.
            self.state.docs.remove(&(circle, doc.clone()));
            return Err(store_error(e));
        }
        Ok(added.len())
    }
}
