//! The initiating side of a sync, as a state machine: [`Initiator::start`] gives the first
//! message, [`Initiator::receive`] takes each reply and gives the next message or the end.
//!
//! Round 1 sends a digest of every document's heads; equal digests end the sync. Otherwise the
//! responder's heads come back, and each later round pushes, for a batch of the documents that
//! differ, the changes the responder lacks (those not covered by the heads it is known to hold)
//! and receives the changes this side lacks. What is learnt is remembered per peer as soon as
//! each document converges, so a link that drops loses at most the round in flight.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use automerge::ChangeHash;

use super::{
    DocChanges, DocHeads, Message, SyncError, SyncPeers, SyncReplica, check_changes, digest,
};
use crate::replica::DocId;

/// How far a sync has got.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Progress {
    /// Replies received.
    pub round_trips: u32,
    /// Encoded bytes sent.
    pub bytes_sent: u64,
    /// Encoded bytes received.
    pub bytes_received: u64,
    /// Documents found to differ.
    pub docs_to_sync: usize,
    /// Of those, documents now converged.
    pub docs_synced: usize,
    /// Records received that were new here.
    pub records_received: usize,
}

/// What to do after a reply.
#[derive(Debug)]
pub enum Step {
    /// Send this message and pass the reply to [`Initiator::receive`].
    Send(Vec<u8>),
    /// The sync is complete.
    Done(Progress),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    New,
    AwaitHeads,
    AwaitChanges,
    Done,
}

/// After this many unsuccessful rounds for one document the session gives up on it.
const MAX_ATTEMPTS: u32 = 3;

/// One sync, from the side that opens it.
pub struct Initiator {
    peer: String,
    state: State,
    /// The responder's heads as last reported.
    remote: BTreeMap<DocId, Vec<ChangeHash>>,
    pending: VecDeque<DocId>,
    in_flight: BTreeSet<DocId>,
    attempts: BTreeMap<DocId, u32>,
    push_budget_bytes: usize,
    progress: Progress,
}

impl Initiator {
    /// A sync with `peer` (the name its shared heads are remembered under: the relay's URL, or
    /// the other phone's key).
    pub fn new(peer: impl Into<String>) -> Initiator {
        Initiator {
            peer: peer.into(),
            state: State::New,
            remote: BTreeMap::new(),
            pending: VecDeque::new(),
            in_flight: BTreeSet::new(),
            attempts: BTreeMap::new(),
            push_budget_bytes: 4 * 1024 * 1024,
            progress: Progress::default(),
        }
    }

    /// Names the peer after all (before the first reply is taken): a phone learns which phone
    /// answered from the reply's signature.
    pub fn set_peer(&mut self, peer: impl Into<String>) {
        self.peer = peer.into();
    }

    /// Sets how many bytes of changes one push carries before the rest waits a round.
    pub fn with_push_budget(mut self, bytes: usize) -> Initiator {
        self.push_budget_bytes = bytes.max(1);
        self
    }

    /// How far the sync has got.
    pub fn progress(&self) -> &Progress {
        &self.progress
    }

    /// The first message: the circle and the digest of every document's heads.
    pub fn start<R: SyncReplica + ?Sized>(
        &mut self,
        replica: &mut R,
    ) -> Result<Vec<u8>, SyncError> {
        if self.state != State::New {
            return Err(SyncError::Unexpected {
                got: "start",
                state: "already started",
            });
        }
        let docs = replica.doc_heads()?;
        let bytes = Message::Hello {
            circle: replica.circle(),
            digest: digest(&docs),
        }
        .encode()?;
        self.state = State::AwaitHeads;
        self.progress.bytes_sent += bytes.len() as u64;
        Ok(bytes)
    }

    /// Takes a reply. A reply that is malformed, or that carries malformed changes, is an
    /// error and changes nothing.
    pub fn receive<R: SyncReplica + SyncPeers + ?Sized>(
        &mut self,
        replica: &mut R,
        reply: &[u8],
    ) -> Result<Step, SyncError> {
        let message = Message::decode(reply)?;
        self.progress.bytes_received += reply.len() as u64;
        self.progress.round_trips += 1;
        match (self.state, message) {
            (_, Message::Refused { reason }) => Err(SyncError::Refused(reason)),
            (State::AwaitHeads, Message::UpToDate) => self.finish(),
            (State::AwaitHeads, Message::Heads { docs }) => {
                self.plan(replica, docs)?;
                self.next(replica)
            }
            (State::AwaitChanges, Message::Changes { docs }) => {
                self.absorb(replica, docs)?;
                self.next(replica)
            }
            (state, other) => Err(SyncError::Unexpected {
                got: other.name(),
                state: match state {
                    State::New => "not started",
                    State::AwaitHeads => "waiting for heads",
                    State::AwaitChanges => "waiting for changes",
                    State::Done => "done",
                },
            }),
        }
    }

    fn finish(&mut self) -> Result<Step, SyncError> {
        self.state = State::Done;
        Ok(Step::Done(self.progress.clone()))
    }

    /// Compares heads, remembers what the responder is known to hold, queues what differs.
    fn plan<R: SyncReplica + SyncPeers + ?Sized>(
        &mut self,
        replica: &mut R,
        remote: Vec<DocHeads>,
    ) -> Result<(), SyncError> {
        let local: BTreeMap<DocId, Vec<ChangeHash>> = replica
            .doc_heads()?
            .into_iter()
            .map(|d| (d.doc, d.heads))
            .collect();
        self.remote = remote.into_iter().map(|d| (d.doc, d.heads)).collect();
        let names: BTreeSet<DocId> = local.keys().chain(self.remote.keys()).cloned().collect();
        for doc in names {
            let mine = local.get(&doc).cloned().unwrap_or_default();
            let theirs = self.remote.get(&doc).cloned().unwrap_or_default();
            if mine == theirs {
                if !mine.is_empty() {
                    replica.set_shared_heads(&self.peer, &doc, &mine)?;
                }
                continue;
            }
            if !theirs.is_empty() && replica.known(&doc, &theirs)?.len() == theirs.len() {
                replica.set_shared_heads(&self.peer, &doc, &theirs)?;
            }
            self.pending.push_back(doc);
        }
        self.progress.docs_to_sync = self.pending.len();
        Ok(())
    }

    /// Applies a reply's changes (all checked first), and requeues what did not converge.
    fn absorb<R: SyncReplica + SyncPeers + ?Sized>(
        &mut self,
        replica: &mut R,
        docs: Vec<DocChanges>,
    ) -> Result<(), SyncError> {
        for d in &docs {
            if !self.in_flight.contains(&d.doc) {
                return Err(SyncError::Malformed(format!(
                    "changes for {}, which was not asked for",
                    d.doc.as_str()
                )));
            }
            check_changes(&d.doc, &d.changes)?;
        }
        for d in &docs {
            if !d.changes.is_empty() {
                self.progress.records_received += replica.apply_changes(&d.doc, &d.changes)?;
            }
        }
        let local: BTreeMap<DocId, Vec<ChangeHash>> = replica
            .doc_heads()?
            .into_iter()
            .map(|d| (d.doc, d.heads))
            .collect();
        let mut answered = BTreeSet::new();
        for d in docs {
            answered.insert(d.doc.clone());
            if d.deferred {
                self.pending.push_back(d.doc);
                continue;
            }
            let mine = local.get(&d.doc).cloned().unwrap_or_default();
            if mine == d.heads {
                if !mine.is_empty() {
                    replica.set_shared_heads(&self.peer, &d.doc, &mine)?;
                }
                self.progress.docs_synced += 1;
                continue;
            }
            if !d.heads.is_empty() && replica.known(&d.doc, &d.heads)?.len() == d.heads.len() {
                replica.set_shared_heads(&self.peer, &d.doc, &d.heads)?;
            }
            let attempts = self.attempts.entry(d.doc.clone()).or_insert(0);
            *attempts += 1;
            if *attempts >= MAX_ATTEMPTS {
                return Err(SyncError::TooManyRounds(self.progress.round_trips));
            }
            self.remote.insert(d.doc.clone(), d.heads);
            self.pending.push_back(d.doc);
        }
        // Documents the reply left out are asked again.
        for doc in std::mem::take(&mut self.in_flight) {
            if !answered.contains(&doc) {
                self.pending.push_back(doc);
            }
        }
        Ok(())
    }

    /// The next push, or the end when nothing is left.
    fn next<R: SyncReplica + SyncPeers + ?Sized>(
        &mut self,
        replica: &mut R,
    ) -> Result<Step, SyncError> {
        if self.pending.is_empty() {
            return self.finish();
        }
        let local: BTreeMap<DocId, Vec<ChangeHash>> = replica
            .doc_heads()?
            .into_iter()
            .map(|d| (d.doc, d.heads))
            .collect();
        let mut docs = Vec::new();
        let mut used = 0usize;
        while let Some(doc) = self.pending.pop_front() {
            let attempts = self.attempts.get(&doc).copied().unwrap_or(0);
            let theirs = self.remote.get(&doc).cloned().unwrap_or_default();
            // First the remembered shared heads and the responder's heads known here; if that
            // did not converge, the known heads alone; last, everything.
            let mut have = match attempts {
                0 => replica.shared_heads(&self.peer, &doc)?,
                _ => Vec::new(),
            };
            if attempts < 2 {
                have.extend(replica.known(&doc, &theirs)?);
            }
            let changes = replica.changes_since(&doc, &have)?;
            used += changes.len();
            self.in_flight.insert(doc.clone());
            docs.push(DocChanges {
                heads: local.get(&doc).cloned().unwrap_or_default(),
                doc,
                changes,
                deferred: false,
            });
            if used >= self.push_budget_bytes {
                break;
            }
        }
        let bytes = Message::Push { docs }.encode()?;
        self.state = State::AwaitChanges;
        self.progress.bytes_sent += bytes.len() as u64;
        Ok(Step::Send(bytes))
    }
}
