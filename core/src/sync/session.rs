//! The initiating side of a sync, as a state machine: [`Initiator::start`] gives the first
//! message, [`Initiator::receive`] takes each reply and gives the next message or the end.
//!
//! Round 1 sends a digest of every document's heads; equal digests end the sync. Otherwise the
//! responder's heads come back, and each later round pushes, for a batch of the documents that
//! differ, the changes the responder lacks (those not covered by the heads it is known to hold)
//! and receives the changes this side lacks. What is learnt is remembered per peer as soon as
//! each document converges, so a link that drops loses at most the round in flight.
//!
//! Each round is bounded by bytes (changes pushed plus changes asked for), adapting to the link:
//! rounds grow while they come back quickly, shrink when they come back slowly, and shrink hard
//! when the link drops one ([`Initiator::retry`] rebuilds it smaller). A document's changes that
//! do not fit are split into batches in dependency order, so every round commits progress.
//! The keyring (elder keys, beside the documents) goes a page of ids at a time in the same
//! rounds, its bytes within the same budget, until every id is exchanged.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Duration;

use automerge::ChangeHash;

use super::message::{KeyPage, KeyringPart};
use super::{
    DocChanges, DocHeads, Message, SyncError, SyncPeers, SyncReplica, check_changes, digest,
};
use crate::ids::Id;
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
    /// Rounds lost to the link and sent again.
    pub rounds_retried: u32,
    /// Encoded bytes of the requests in rounds that were lost.
    pub bytes_wasted: u64,
    /// The byte budget of the last round.
    pub round_budget: usize,
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

/// The smallest round budget: a few records, so that even a very poor link makes progress.
pub const MIN_ROUND_BYTES: usize = 8 * 1024;
/// The largest round budget.
pub const MAX_ROUND_BYTES: usize = 8 * 1024 * 1024;
/// The first round's budget on a link not yet known to be slow.
const FIRST_ROUND_BYTES: usize = 1024 * 1024;
/// The first round's budget on a link whose hello took long (a slow or distant link).
const SLOW_ROUND_BYTES: usize = 64 * 1024;
/// A hello that takes longer than this marks the link as slow.
const SLOW_HELLO: Duration = Duration::from_millis(500);
/// Rounds are sized to take about this long: long enough to fill the link, short enough that a
/// drop loses little.
const ROUND_TIME: Duration = Duration::from_secs(4);

/// The byte budget of each round, adapted to the link.
#[derive(Debug, Clone)]
struct RoundSizer {
    budget: usize,
    /// No larger than this for now: half of a round the link dropped, raised again after
    /// [`KEPT_TO_RAISE`] rounds in a row came back.
    ceiling: usize,
    /// Rounds in a row that came back.
    kept: u32,
}

/// Rounds in a row that must come back before the ceiling a drop set is raised again.
const KEPT_TO_RAISE: u32 = 8;

impl RoundSizer {
    fn new(budget: usize) -> RoundSizer {
        RoundSizer {
            budget: budget.clamp(MIN_ROUND_BYTES, MAX_ROUND_BYTES),
            ceiling: MAX_ROUND_BYTES,
            kept: 0,
        }
    }

    /// A round of `budget` came back after `elapsed`, having carried `used` bytes of changes.
    fn observe(&mut self, used: usize, elapsed: Duration) {
        self.kept += 1;
        if self.kept >= KEPT_TO_RAISE {
            self.kept = 0;
            self.ceiling = (self.ceiling * 2).min(MAX_ROUND_BYTES);
        }
        if elapsed > ROUND_TIME {
            let scaled = self.budget as f64 * ROUND_TIME.as_secs_f64() / elapsed.as_secs_f64();
            self.budget = (scaled as usize).max(MIN_ROUND_BYTES);
        } else if elapsed < ROUND_TIME / 4 && used >= self.budget / 2 {
            self.budget = (self.budget * 2).min(self.ceiling);
        }
    }

    /// The link dropped a round of this budget.
    fn dropped(&mut self) {
        self.ceiling = (self.budget / 2).max(MIN_ROUND_BYTES);
        self.budget = (self.budget / 4).max(MIN_ROUND_BYTES);
        self.kept = 0;
    }
}

/// The bytes an id takes in a keyring part.
const ID_BYTES: usize = 16;

/// The id after `id` in byte order, none after the last.
fn id_after(id: Id) -> Option<Id> {
    let next = u128::from_be_bytes(*id.as_bytes()).checked_add(1)?;
    Some(Id::from_bytes(next.to_be_bytes()))
}

/// One sync, from the side that opens it.
pub struct Initiator {
    peer: String,
    state: State,
    /// The responder's heads as last reported.
    remote: BTreeMap<DocId, Vec<ChangeHash>>,
    pending: VecDeque<DocId>,
    in_flight: BTreeSet<DocId>,
    attempts: BTreeMap<DocId, u32>,
    /// Documents whose last push carried only the first part of this side's changes.
    pushed_part: BTreeSet<DocId>,
    sizer: RoundSizer,
    /// The bytes of changes the round in flight pushes.
    push_bytes: usize,
    /// How long the round in flight took to come back, when the caller said.
    round_elapsed: Option<Duration>,
    /// The encoded size of the request in flight.
    request_bytes: usize,
    /// The keyring page the push in flight carries (the first pushes of a session, until the
    /// keyring is exchanged, and the retries of them).
    keys_in_flight: Option<KeyPage>,
    /// Where the keyring exchange goes on from: the first id of the next page, none once done.
    keys_from: Option<Id>,
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
            pushed_part: BTreeSet::new(),
            sizer: RoundSizer::new(FIRST_ROUND_BYTES),
            push_bytes: 0,
            round_elapsed: None,
            request_bytes: 0,
            keys_in_flight: None,
            keys_from: Some(KeyPage::ALL.first),
            progress: Progress::default(),
        }
    }

    /// Names the peer after all (before the first reply is taken): a phone learns which phone
    /// answered from the reply's signature.
    pub fn set_peer(&mut self, peer: impl Into<String>) {
        self.peer = peer.into();
    }

    /// Tells the session how long the round in flight took to come back (call it before
    /// [`Initiator::receive`]): later rounds are sized by it.
    pub fn round_took(&mut self, elapsed: Duration) {
        self.round_elapsed = Some(elapsed);
    }

    /// The round in flight was lost (the link dropped before its reply arrived): the next
    /// rounds are smaller, and this gives the message to send in its place. What the lost
    /// round may have changed at the responder is harmless to send again.
    pub fn retry<R: SyncReplica + SyncPeers + ?Sized>(
        &mut self,
        replica: &mut R,
    ) -> Result<Vec<u8>, SyncError> {
        self.progress.rounds_retried += 1;
        self.progress.bytes_wasted += self.request_bytes as u64;
        self.sizer.dropped();
        match self.state {
            State::AwaitHeads => {
                self.state = State::New;
                self.start(replica)
            }
            State::AwaitChanges => {
                for doc in std::mem::take(&mut self.in_flight).into_iter().rev() {
                    self.pending.push_front(doc);
                }
                self.pushed_part.clear();
                match self.next(replica)? {
                    Step::Send(bytes) => Ok(bytes),
                    Step::Done(_) => Err(SyncError::Unexpected {
                        got: "retry",
                        state: "nothing left to send",
                    }),
                }
            }
            State::New | State::Done => Err(SyncError::Unexpected {
                got: "retry",
                state: "no round in flight",
            }),
        }
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
        self.request_bytes = bytes.len();
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
                let slow = self.round_elapsed.take().is_some_and(|e| e > SLOW_HELLO);
                if slow {
                    self.sizer = RoundSizer::new(SLOW_ROUND_BYTES);
                }
                self.plan(replica, docs)?;
                self.next(replica)
            }
            (State::AwaitChanges, Message::Changes { docs, keys }) => {
                let received: usize = docs.iter().map(|d| d.changes.len()).sum::<usize>()
                    + keys
                        .iter()
                        .flat_map(|k| &k.entries)
                        .map(Vec::len)
                        .sum::<usize>();
                if let Some(elapsed) = self.round_elapsed.take() {
                    self.sizer.observe(self.push_bytes + received, elapsed);
                }
                // The keys first, so that the records about elders open as they arrive.
                self.absorb_keys(replica, keys)?;
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
        let before: BTreeMap<DocId, Vec<ChangeHash>> = replica
            .doc_heads()?
            .into_iter()
            .map(|d| (d.doc, d.heads))
            .collect();
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
        // Documents taken in parts go on first, one after another: taken all at once in turn,
        // a year's months would each be loaded again for every part (a device keeps only a
        // few loaded) and every one would be half there for the whole sync.
        let mut continuing = Vec::new();
        for d in docs {
            answered.insert(d.doc.clone());
            let pushed_part = self.pushed_part.remove(&d.doc);
            if d.deferred {
                self.pending.push_back(d.doc);
                continue;
            }
            let mine = local.get(&d.doc).cloned().unwrap_or_default();
            if mine == d.heads && !d.more && !pushed_part {
                if !mine.is_empty() {
                    replica.set_shared_heads(&self.peer, &d.doc, &mine)?;
                }
                self.progress.docs_synced += 1;
                continue;
            }
            if !d.heads.is_empty() && replica.known(&d.doc, &d.heads)?.len() == d.heads.len() {
                replica.set_shared_heads(&self.peer, &d.doc, &d.heads)?;
            }
            // A part went either way: the rest follows in the next round, which is no failure
            // as long as each part moves something.
            let moved =
                before.get(&d.doc) != Some(&mine) || self.remote.get(&d.doc) != Some(&d.heads);
            if (d.more || pushed_part) && moved {
                self.remote.insert(d.doc.clone(), d.heads);
                continuing.push(d.doc);
                continue;
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
        for doc in continuing.into_iter().rev() {
            self.pending.push_front(doc);
        }
        Ok(())
    }

    /// Takes the responder's keyring entries (before the documents: a device keeps entries
    /// whatever their maker, see `store::elder_keys`), remembers which entries of the page the
    /// reply covers the responder holds, and moves on to the next page.
    fn absorb_keys<R: SyncReplica + SyncPeers + ?Sized>(
        &mut self,
        replica: &mut R,
        keys: Option<KeyringPart>,
    ) -> Result<(), SyncError> {
        let Some(sent) = self.keys_in_flight.take() else {
            return Ok(());
        };
        let Some(keys) = keys else {
            // A responder that does not speak keyrings: nothing is known to be held there.
            self.keys_from = None;
            return Ok(());
        };
        let covered = keys.page.unwrap_or(sent);
        if covered.first != sent.first || covered.last > sent.last {
            return Err(SyncError::Malformed(
                "a keyring reply for another page than the one pushed".into(),
            ));
        }
        if covered.last < sent.last && keys.entries.is_empty() {
            return Err(SyncError::Malformed(
                "a keyring reply cut short with no entry".into(),
            ));
        }
        self.progress.records_received += replica.take_keyring(&keys.entries)?;
        let lacking: BTreeSet<Id> = keys.ids.iter().copied().collect();
        // The responder holds what it had in the page (all of it sent here, unless offered)
        // and what was pushed to it, except what it says it lacks.
        let held: Vec<Id> = replica
            .keyring_ids()?
            .into_iter()
            .filter(|id| covered.contains(id) && !lacking.contains(id))
            .collect();
        replica.note_peer_keyring(&self.peer, &held, &keys.ids)?;
        self.keys_from = id_after(covered.last);
        Ok(())
    }

    /// The next keyring page from `from`: the ids held from there on and the entries the
    /// responder is not known to hold, as many as fit in `room` bytes (at least one id); with
    /// the bytes they take.
    fn keyring_page<R: SyncReplica + SyncPeers + ?Sized>(
        &self,
        replica: &mut R,
        from: Id,
        room: usize,
    ) -> Result<(KeyringPart, usize), SyncError> {
        let mut unknown: BTreeMap<Id, Vec<u8>> = replica
            .keyring_unknown_to(&self.peer)?
            .into_iter()
            .filter(|(id, _)| *id >= from)
            .collect();
        let mut ids = replica.keyring_ids()?;
        ids.retain(|id| *id >= from);
        ids.sort_unstable();
        let mut part = KeyringPart {
            page: Some(KeyPage {
                first: from,
                last: KeyPage::ALL.last,
            }),
            ..KeyringPart::default()
        };
        let mut used = 0usize;
        for id in ids {
            let entry = unknown.remove(&id);
            let cost = ID_BYTES + entry.as_ref().map_or(0, |e| e.len() + 2);
            if let (Some(page), Some(last)) = (part.page.as_mut(), part.ids.last())
                && used + cost > room
            {
                page.last = *last;
                break;
            }
            used += cost;
            part.ids.push(id);
            part.entries.extend(entry);
        }
        Ok((part, used))
    }

    /// The next push, or the end when nothing is left.
    fn next<R: SyncReplica + SyncPeers + ?Sized>(
        &mut self,
        replica: &mut R,
    ) -> Result<Step, SyncError> {
        if self.pending.is_empty() && self.keys_from.is_none() {
            return self.finish();
        }
        let local: BTreeMap<DocId, Vec<ChangeHash>> = replica
            .doc_heads()?
            .into_iter()
            .map(|d| (d.doc, d.heads))
            .collect();
        let budget = self.sizer.budget;
        // The keyring first (a quarter of the round at most), so that the records about elders
        // open as they arrive.
        let (keys, mut used) = match self.keys_from {
            Some(from) => {
                let (part, bytes) = self.keyring_page(replica, from, budget / 4)?;
                (Some(part), bytes)
            }
            None => (None, 0),
        };
        self.keys_in_flight = keys.as_ref().and_then(|k| k.page);
        let mut docs = Vec::new();
        while used < budget / 2
            && let Some(doc) = self.pending.pop_front()
        {
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
            // Pushes fill at most half the round, so that the reply has room too.
            let room = (budget / 2).saturating_sub(used).max(1);
            let batch = replica.changes_since(&doc, &have, room)?;
            used += batch.bytes.len();
            self.in_flight.insert(doc.clone());
            let (heads, more) = if batch.complete {
                (local.get(&doc).cloned().unwrap_or_default(), false)
            } else {
                // Only the first part goes: the responder is told the heads it will hold
                // after it, so that it answers with what this side lacks, not with this
                // side's own changes it has not yet been sent.
                self.pushed_part.insert(doc.clone());
                (batch.heads, true)
            };
            docs.push(DocChanges {
                heads,
                doc,
                changes: batch.bytes,
                deferred: false,
                more,
            });
        }
        let reply_budget = budget.saturating_sub(used).max(budget / 2);
        self.push_bytes = used;
        self.progress.round_budget = budget;
        let bytes = Message::Push {
            docs,
            reply_budget: reply_budget as u64,
            keys,
        }
        .encode()?;
        self.state = State::AwaitChanges;
        self.progress.bytes_sent += bytes.len() as u64;
        self.request_bytes = bytes.len();
        Ok(Step::Send(bytes))
    }
}
