//! Which keys a circle trusts, derived from its enrolment and revocation records alone.
//!
//! The one implementation of the trust rules: the device store materialises its result into
//! `trusted_keys`, and the relay uses it to decide which devices it serves.
//!
//! The centre key is trusted. A key enrolled by a trusted issuer is trusted when the issuer may
//! enrol that role (the centre: anyone; a coordinator: anyone but a coordinator) and the
//! enrolment is not cut off by a revocation of the issuer and lies within the issuer's own
//! validity period. A revocation by the centre or a coordinator cuts a key off: when it names the
//! last record of the key it accepts (`last_seq`, `last_id`), the key's version-2 records after
//! that chain position never count, whatever their clocks say; version-1 records (which have no
//! position), and every record under a revocation that names none, stop counting from its
//! `effective_ms`. A trusted key's records count only within its certificate's validity period.
//! [`Trust::counts`] is the rule; the store's index applies the same rule in SQL (`counted_at`
//! in `store/index.rs`, held to this one by a test), and the ledger through
//! `identity::certificates`, which is built on this module.

use std::collections::{HashMap, HashSet};

use crate::domain::{RecordBody, Role};
use crate::identity::Certificate;
use crate::identity::PublicKey;
use crate::record::SignedRecord;

/// An enrolment as trust sees it: the earliest enrolment (by clock, then record id) of a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrolmentFact {
    /// The member's id (hex).
    pub member_id: String,
    /// The role's name.
    pub role: String,
    /// The signing key of the enrolment record.
    pub issuer: String,
    /// The enrolment record's clock (ms).
    pub hlc_ms: i64,
    /// From when the certificate is valid (ms), if it says.
    pub valid_from_ms: Option<i64>,
    /// Until when (exclusive, ms) the certificate is valid, if it says.
    pub valid_until_ms: Option<i64>,
    /// The enrolment record's id (hex).
    pub record_id: String,
    /// The enrolment record's place in its issuer's chain (none for version 1).
    pub seq: Option<i64>,
    /// Whether another record of the issuer holds the same place (a fork).
    pub forked: bool,
}

impl EnrolmentFact {
    fn position(&self) -> Option<Position<'_>> {
        self.seq.map(|seq| Position {
            seq,
            id: &self.record_id,
            forked: self.forked,
        })
    }
}

/// A record's place in its author's device chain, as trust judges it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position<'a> {
    /// Its `seq`.
    pub seq: i64,
    /// Its record id (hex).
    pub id: &'a str,
    /// Whether another record of the same author holds the same `seq` (a fork: a restored
    /// backup, a cloned phone, or a thief who emptied the store to sign at early positions).
    pub forked: bool,
}

/// A revocation as trust sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevocationFact {
    /// The key withdrawn.
    pub device_key: String,
    /// From when its records stop counting (ms), for records without a chain position.
    pub effective_ms: i64,
    /// The last chain position of the key that still counts, if the revocation names one.
    pub last_seq: Option<i64>,
    /// The id of the record at `last_seq` that counts (another record there is a fork).
    pub last_id: Option<String>,
    /// The signing key of the revocation record.
    pub issuer: String,
}

/// Where a revocation cuts a key off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cutoff {
    /// Records without a chain position count only before this instant (the earliest
    /// `effective_ms` of the key's revocations).
    pub from_ms: i64,
    /// Records with a chain position count only up to this position (the lowest `last_seq` of
    /// the revocations that name one); without one, they are judged by `from_ms` too.
    pub after_seq: Option<i64>,
    /// The record that counts at `after_seq`, if the revocation says.
    pub last_id: Option<String>,
}

impl Cutoff {
    /// Whether a record at clock `at_ms` and chain position `position` is before the cut. At or
    /// below the cut, a forked position counts neither of its records (one of them may have been
    /// signed after the theft), unless the revocation names the record (`last_id`).
    pub fn allows(&self, at_ms: i64, position: Option<Position<'_>>) -> bool {
        match (self.after_seq, position) {
            (Some(last), Some(p)) => {
                let named = p.seq == last && self.last_id.as_deref() == Some(p.id);
                let below = p.seq < last || (p.seq == last && self.last_id.is_none());
                named || (below && !p.forked)
            }
            _ => at_ms < self.from_ms,
        }
    }

    /// The cut of one revocation.
    fn of(r: &RevocationFact) -> Cutoff {
        Cutoff {
            from_ms: r.effective_ms,
            after_seq: r.last_seq,
            last_id: r.last_id.clone(),
        }
    }

    /// Adds another revocation of the same key: the earliest instant and the lowest position
    /// apply; two revocations naming different records at one position leave neither counting
    /// (`last_id` becomes the empty string, which no record id equals). Returns whether the cut
    /// moved.
    fn tighten(&mut self, r: &RevocationFact) -> bool {
        let before = self.clone();
        self.from_ms = self.from_ms.min(r.effective_ms);
        match (r.last_seq, self.after_seq) {
            (Some(seq), Some(current)) if seq == current => {
                if let Some(id) = &r.last_id {
                    match &self.last_id {
                        None => self.last_id = Some(id.clone()),
                        Some(held) if held != id => self.last_id = Some(String::new()),
                        Some(_) => {}
                    }
                }
            }
            (Some(seq), current) if current.is_none_or(|c| seq < c) => {
                self.after_seq = Some(seq);
                self.last_id = r.last_id.clone();
            }
            _ => {}
        }
        *self != before
    }
}

/// A key the circle trusts, and from when it stops counting if revoked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trust {
    /// The member the key belongs to (none for the centre).
    pub member_id: Option<String>,
    /// `centre`, or the member's role.
    pub role: String,
    /// Where a revocation cuts the key off, if it is revoked.
    pub revoked: Option<Cutoff>,
    /// From when its certificate is valid (ms), if it says.
    pub valid_from_ms: Option<i64>,
    /// Until when (exclusive, ms) its certificate is valid, if it says.
    pub valid_until_ms: Option<i64>,
}

impl Trust {
    /// Whether the certificate's validity period contains `at_ms`.
    pub fn valid_at(&self, at_ms: i64) -> bool {
        self.valid_from_ms.is_none_or(|from| at_ms >= from)
            && self.valid_until_ms.is_none_or(|until| at_ms < until)
    }

    /// Whether a record of this key made at `at_ms` (its clock), at chain position `position`
    /// (none for a version-1 record) counts: within the certificate's
    /// validity and before any revocation's cut.
    pub fn counts(&self, at_ms: i64, position: Option<Position<'_>>) -> bool {
        self.valid_at(at_ms)
            && self
                .revoked
                .as_ref()
                .is_none_or(|cut| cut.allows(at_ms, position))
    }

    /// Whether the key may act at `at_ms` as far as a clock can tell (the relay's question
    /// about a request arriving now): valid, and not revoked from an earlier instant.
    pub fn live_at(&self, at_ms: i64) -> bool {
        self.valid_at(at_ms) && self.revoked.as_ref().is_none_or(|cut| at_ms < cut.from_ms)
    }
}

/// The inputs of trust gathered from verified records (the relay's and the ledger's way in;
/// the store reads the same facts from its index tables).
#[derive(Debug, Default, Clone)]
pub struct TrustFacts {
    /// Device key (hex) → its earliest enrolment, and that enrolment as a certificate.
    enrolments: HashMap<String, (EnrolmentFact, Certificate)>,
    revocations: Vec<RevocationFact>,
    /// Forked chain positions: (author key hex, seq).
    forks: HashSet<(String, i64)>,
}

impl TrustFacts {
    /// Adds a verified record; records other than enrolments and revocations are ignored.
    pub fn add(&mut self, record: &SignedRecord) {
        let issuer = record.author().to_string();
        let hlc_ms = ms_i64(record.hlc().ms);
        match record.body() {
            RecordBody::Enrolment(e) => {
                let fact = EnrolmentFact {
                    member_id: e.member_id.to_string(),
                    role: e.role.as_str().to_string(),
                    issuer,
                    hlc_ms,
                    valid_from_ms: e.valid_from_ms.map(ms_i64),
                    valid_until_ms: e.valid_until_ms.map(ms_i64),
                    record_id: record.id().to_string(),
                    seq: record.link().map(|l| ms_i64(l.seq)),
                    forked: false,
                };
                let earlier =
                    self.enrolments
                        .get(&e.device_key.to_string())
                        .is_some_and(|(old, _)| {
                            (old.hlc_ms, &old.record_id) <= (fact.hlc_ms, &fact.record_id)
                        });
                if !earlier {
                    let certificate = Certificate {
                        record_id: record.id(),
                        issued_ms: record.hlc().ms,
                        issuer: record.author(),
                        enrolment: e.clone(),
                    };
                    self.enrolments
                        .insert(e.device_key.to_string(), (fact, certificate));
                }
            }
            RecordBody::Revocation(r) => self.revocations.push(RevocationFact {
                device_key: r.device_key.to_string(),
                effective_ms: ms_i64(r.effective_ms),
                last_seq: r.last_seq.map(ms_i64),
                last_id: r.last_id.map(|id| id.to_string()),
                issuer,
            }),
            _ => {}
        }
    }

    /// The keys trusted under `centre`.
    pub fn derive(&self, centre: PublicKey) -> HashMap<String, Trust> {
        let enrolments: HashMap<String, EnrolmentFact> = self
            .enrolments
            .iter()
            .map(|(k, (f, _))| {
                let forked = f
                    .seq
                    .is_some_and(|seq| self.forks.contains(&(f.issuer.clone(), seq)));
                (
                    k.clone(),
                    EnrolmentFact {
                        forked,
                        ..f.clone()
                    },
                )
            })
            .collect();
        derive_trust(centre, &enrolments, &self.revocations)
    }

    /// Notes that two records of `author` hold chain position `seq`.
    pub fn note_fork(&mut self, author: PublicKey, seq: u64) {
        self.forks.insert((author.to_string(), ms_i64(seq)));
    }

    /// Each enrolled key's earliest enrolment, as a certificate (trusted or not).
    pub fn certificates(&self) -> impl Iterator<Item = Certificate> + '_ {
        self.enrolments.values().map(|(_, c)| c.clone())
    }
}

/// An instant as the signed millisecond count the index stores.
fn ms_i64(ms: u64) -> i64 {
    i64::try_from(ms).unwrap_or(i64::MAX)
}

/// Whether a record's body bears on trust (an enrolment or a revocation).
pub fn bears_on_trust(body: &RecordBody) -> bool {
    matches!(body, RecordBody::Enrolment(_) | RecordBody::Revocation(_))
}

/// The keys trusted under `centre`, given each key's earliest enrolment and every revocation.
/// Revocation cut-offs depend on the trust of the revoker, and enrolments on the cut-offs of
/// their issuer; both are iterated until nothing changes.
pub fn derive_trust(
    centre: PublicKey,
    enrolments: &HashMap<String, EnrolmentFact>,
    revocations: &[RevocationFact],
) -> HashMap<String, Trust> {
    let centre = centre.to_string();
    let validity = |key: &str| -> Validity {
        enrolments
            .get(key)
            .filter(|_| key != centre)
            .map_or((None, None), |m| (m.valid_from_ms, m.valid_until_ms))
    };
    // Who is trusted depends on which revocations count, and which count depends on who is
    // trusted: each is worked out whole from the other until neither changes, so the answer
    // does not depend on the order the records are held in. (Only the centre, which is never
    // revoked, enrols coordinators, and only they revoke: this settles by the third round.)
    let mut revoked: HashMap<String, Cutoff> = HashMap::new();
    let mut trusted = trusted_given(&centre, enrolments, &revoked, &validity);
    for _ in 0..SETTLING_ROUNDS {
        let next_revoked = revoked_given(&centre, &trusted, revocations);
        let next_trusted = trusted_given(&centre, enrolments, &next_revoked, &validity);
        let settled = next_revoked == revoked && next_trusted == trusted;
        revoked = next_revoked;
        trusted = next_trusted;
        if settled {
            break;
        }
    }
    trusted
        .into_iter()
        .map(|(key, (member_id, role))| {
            let revoked = revoked.get(&key).cloned();
            let (valid_from_ms, valid_until_ms) = validity(&key);
            (
                key,
                Trust {
                    member_id,
                    role,
                    revoked,
                    valid_from_ms,
                    valid_until_ms,
                },
            )
        })
        .collect()
}

/// More rounds than trust ever needs to settle (three: see [`derive_trust`]).
const SETTLING_ROUNDS: usize = 8;

/// A key's member id (none for the centre) and role.
type Standing = (Option<String>, String);

/// A certificate's validity period: from, until (exclusive), in ms, each if it says.
type Validity = (Option<i64>, Option<i64>);

/// The keys trusted when the revocations that count are `revoked`: the centre, and every key
/// enrolled by a trusted key that may enrol its role, live and valid when it signed. Given the
/// revocations, this only ever adds keys, so the order of `enrolments` does not matter.
fn trusted_given(
    centre: &str,
    enrolments: &HashMap<String, EnrolmentFact>,
    revoked: &HashMap<String, Cutoff>,
    validity: &dyn Fn(&str) -> Validity,
) -> HashMap<String, Standing> {
    let mut trusted: HashMap<String, Standing> = HashMap::new();
    trusted.insert(centre.to_string(), (None, "centre".to_string()));
    loop {
        let mut changed = false;
        for (key, m) in enrolments {
            if trusted.contains_key(key) {
                continue;
            }
            let Some((_, issuer_role)) = trusted.get(&m.issuer) else {
                continue;
            };
            let may_enrol = match issuer_role.as_str() {
                "centre" => true,
                "coordinator" => m.role != Role::Coordinator.as_str(),
                _ => false,
            };
            let issuer_live = revoked
                .get(&m.issuer)
                .is_none_or(|cut| cut.allows(m.hlc_ms, m.position()));
            let (from, until) = validity(&m.issuer);
            let issuer_valid =
                from.is_none_or(|f| m.hlc_ms >= f) && until.is_none_or(|u| m.hlc_ms < u);
            if may_enrol && issuer_live && issuer_valid {
                trusted.insert(key.clone(), (Some(m.member_id.clone()), m.role.clone()));
                changed = true;
            }
        }
        if !changed {
            return trusted;
        }
    }
}

/// The cut-offs of the revocations signed by the centre or a trusted coordinator (the lowest
/// cut of each key), when the trusted keys are `trusted`.
fn revoked_given(
    centre: &str,
    trusted: &HashMap<String, Standing>,
    revocations: &[RevocationFact],
) -> HashMap<String, Cutoff> {
    let mut revoked: HashMap<String, Cutoff> = HashMap::new();
    for r in revocations {
        let issuer_may = matches!(
            trusted.get(&r.issuer).map(|t| t.1.as_str()),
            Some("centre" | "coordinator")
        );
        if !issuer_may || r.device_key == centre {
            continue;
        }
        match revoked.get_mut(&r.device_key) {
            Some(cut) => {
                cut.tighten(r);
            }
            None => {
                revoked.insert(r.device_key.clone(), Cutoff::of(r));
            }
        }
    }
    revoked
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::DeviceKey;

    fn enrolment(issuer: &str, role: &str, hlc_ms: i64, member: &str) -> EnrolmentFact {
        EnrolmentFact {
            member_id: member.into(),
            role: role.into(),
            issuer: issuer.into(),
            hlc_ms,
            valid_from_ms: None,
            valid_until_ms: None,
            record_id: format!("{member:0>32}"),
            seq: None,
            forked: false,
        }
    }

    /// Found while documenting the ledger format (issue 13): a coordinator revoked from time
    /// 50 enrols a key at time 100. Whether that key came out trusted depended on the order a
    /// hash map held the enrolments in (114 of 200 runs trusted it); it must never be.
    #[test]
    fn an_enrolment_after_its_issuers_revocation_is_never_trusted_whatever_the_order() {
        let centre = DeviceKey::from_seed([1; 32]).public_key();
        let coordinator = DeviceKey::from_seed([2; 32]).public_key().to_string();
        let late = DeviceKey::from_seed([3; 32]).public_key().to_string();
        let early = DeviceKey::from_seed([4; 32]).public_key().to_string();
        let revocation = RevocationFact {
            device_key: coordinator.clone(),
            effective_ms: 50,
            last_seq: None,
            last_id: None,
            issuer: centre.to_string(),
        };
        for _ in 0..200 {
            // A new map each time: each has its own hash seed, so its own order.
            let enrolments: HashMap<String, EnrolmentFact> = [
                (
                    coordinator.clone(),
                    enrolment(&centre.to_string(), "coordinator", 10, "c"),
                ),
                (late.clone(), enrolment(&coordinator, "caregiver", 100, "l")),
                (early.clone(), enrolment(&coordinator, "caregiver", 20, "e")),
            ]
            .into_iter()
            .collect();
            let trust = derive_trust(centre, &enrolments, std::slice::from_ref(&revocation));
            assert!(
                !trust.contains_key(&late),
                "enrolled after its issuer's cut"
            );
            assert!(trust.contains_key(&early), "enrolled before it");
            assert!(trust[&coordinator].revoked.is_some());
        }
    }
}
