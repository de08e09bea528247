//! A hostile network for the fault harness (`scripts/faults.sh` runs the `hostile` example): a
//! relay proxy on loopback ([`relay::HostileRelay`]), a phone channel ([`phone::HostileChannel`])
//! and a courier of bundle files that drop, duplicate, reorder, replay, alter and withhold what
//! they carry, each with a seeded generator; and the scenario that plays a circle through them
//! and checks afterwards that nothing forged was counted and nothing honest was lost
//! ([`scenario::play`]).

pub mod forge;
pub mod phone;
pub mod relay;
pub mod scenario;

use crate::workload::Rng;

/// What a hostile party does to what it carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Loses requests or replies (or whole bundle files).
    Drop,
    /// Delivers a request twice (or imports a bundle twice).
    Duplicate,
    /// Answers a request with the reply to an earlier one (or imports bundles out of order).
    Reorder,
    /// Plays requests and replies of earlier syncs again (or an old bundle file).
    Replay,
    /// Flips bits in requests, replies and bundle files, and slips altered records into replies.
    Alter,
    /// Holds back one device's records while serving the rest.
    Withhold,
}

impl Fault {
    /// Every fault, in the order the harness plays them.
    pub const ALL: [Fault; 6] = [
        Fault::Drop,
        Fault::Duplicate,
        Fault::Reorder,
        Fault::Replay,
        Fault::Alter,
        Fault::Withhold,
    ];

    /// The fault's name, as its line of the harness begins.
    pub fn name(self) -> &'static str {
        match self {
            Fault::Drop => "drop",
            Fault::Duplicate => "duplicate",
            Fault::Reorder => "reorder",
            Fault::Replay => "replay",
            Fault::Alter => "alter",
            Fault::Withhold => "withhold",
        }
    }
}

/// What a hostile party did, counted as it did it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Requests or replies lost.
    pub dropped: u64,
    /// Requests delivered again: duplicated, or replayed from an earlier sync.
    pub resent: u64,
    /// Of those, how many were served as if new (must stay 0).
    pub accepted_twice: u64,
    /// Requests recorded on the way to one phone and played to another.
    pub replayed_elsewhere: u64,
    /// Of those, how many the other phone served with records (must stay 0: a request names
    /// its answerer; only an opening hello names none, and its answer holds no record).
    pub served_elsewhere: u64,
    /// Replies given for another request than their own (earlier, or of an earlier sync).
    pub out_of_turn: u64,
    /// Requests or replies with a bit flipped.
    pub flipped: u64,
    /// Replies with an altered record slipped in.
    pub forged: u64,
    /// Pushes held back from the relay and acknowledged as if it had stored them.
    pub withheld_pushes: u64,
    /// Honest bundle files whose exporter's documents hold a value a hostile party slipped in
    /// earlier: imported, that value kept out.
    pub bundles_with_values_kept_out: u64,
}

impl std::ops::Add for Counts {
    type Output = Counts;
    fn add(self, o: Counts) -> Counts {
        Counts {
            dropped: self.dropped + o.dropped,
            resent: self.resent + o.resent,
            accepted_twice: self.accepted_twice + o.accepted_twice,
            replayed_elsewhere: self.replayed_elsewhere + o.replayed_elsewhere,
            served_elsewhere: self.served_elsewhere + o.served_elsewhere,
            out_of_turn: self.out_of_turn + o.out_of_turn,
            flipped: self.flipped + o.flipped,
            forged: self.forged + o.forged,
            withheld_pushes: self.withheld_pushes + o.withheld_pushes,
            bundles_with_values_kept_out: self.bundles_with_values_kept_out
                + o.bundles_with_values_kept_out,
        }
    }
}

/// The state a hostile party keeps between exchanges: its fault, its generator, the records it
/// has seen (to alter), what it carried before (to replay) and a reply it holds back (to
/// reorder).
pub struct Hostility {
    /// The fault played now (none: honest).
    pub fault: Option<Fault>,
    /// The generator every choice is drawn from.
    pub rng: Rng,
    /// What was done so far.
    pub counts: Counts,
    records: Vec<Vec<u8>>,
    forged: Vec<Vec<u8>>,
    requests: Vec<Kept>,
    replies: Vec<Kept>,
    held: Option<Vec<u8>>,
}

/// A request or reply kept to replay, with the peer it went to or came from.
type Kept = (String, Vec<u8>);

/// How many earlier requests and replies a hostile party keeps to replay.
const KEPT: usize = 64;

impl Hostility {
    /// An honest party for now, drawing from `seed`.
    pub fn new(seed: u64) -> Hostility {
        Hostility {
            fault: None,
            rng: Rng::new(seed),
            counts: Counts::default(),
            records: Vec::new(),
            forged: Vec::new(),
            requests: Vec::new(),
            replies: Vec::new(),
            held: None,
        }
    }

    /// Whether `fault` is played now, and this exchange is one it hits (`percent` of them).
    pub fn hits(&mut self, fault: Fault, percent: u64) -> bool {
        self.fault == Some(fault) && self.rng.chance(percent)
    }

    /// Remembers a record it carried (signed bytes), to alter later.
    pub fn saw_record(&mut self, bytes: Vec<u8>) {
        self.records.push(bytes);
    }

    /// The altered records slipped in so far, from the `from`-th on.
    pub fn forged_since(&self, from: u64) -> Vec<Vec<u8>> {
        self.forged
            .get(from as usize..)
            .unwrap_or_default()
            .to_vec()
    }

    /// Remembers a request to `peer` and its reply, to replay later.
    pub fn keep(&mut self, peer: &str, request: &[u8], reply: &[u8]) {
        for (list, bytes) in [(&mut self.requests, request), (&mut self.replies, reply)] {
            if list.len() == KEPT {
                list.remove(0);
            }
            list.push((peer.to_string(), bytes.to_vec()));
        }
    }

    /// An earlier request, with the peer it went to, if one was kept.
    pub fn old_request(&mut self) -> Option<Kept> {
        self.pick(|h| &h.requests)
    }

    /// An earlier reply, if one was kept.
    pub fn old_reply(&mut self) -> Option<Vec<u8>> {
        self.pick(|h| &h.replies).map(|(_, reply)| reply)
    }

    fn pick(&mut self, list: fn(&Hostility) -> &Vec<Kept>) -> Option<Kept> {
        let n = list(self).len() as u64;
        if n == 0 {
            return None;
        }
        let i = self.rng.below(n) as usize;
        list(self).get(i).cloned()
    }

    /// Holds `bytes` back and gives what was held before, if anything.
    pub fn hold(&mut self, bytes: Vec<u8>) -> Option<Vec<u8>> {
        self.held.replace(bytes)
    }

    /// What is held back, if anything, holding nothing after.
    pub fn take_held(&mut self) -> Option<Vec<u8>> {
        self.held.take()
    }
}
