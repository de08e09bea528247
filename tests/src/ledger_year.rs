//! The reference village-year of time-bank entries (`WORKLOAD.md`), generated deterministically
//! from a seed without a store: 1 centre, 1 coordinator, 6 caregivers, 20 volunteers in 10
//! households; each day 15 claims each confirmed by a caregiver or the coordinator, 5
//! redemptions and 1 gift (about 13,000 entries a year). With anomalies on, it also makes, each
//! month, a fork from a cloned phone, a broken link, a duplicate claim and a voided service,
//! and on day 45 one
//! volunteer's phone is lost: it is revoked, still signs one entry, and a new phone carries on.

use std::cell::RefCell;
use std::collections::HashMap;

use carebank_core::domain::{
    ConfirmMethod, Enrolment, EntryHash, EntryKind, LedgerEntry, LedgerRules, RecordBody,
    Revocation, Role,
};
use carebank_core::hlc::Hlc;
use carebank_core::identity::{DeviceKey, PublicKey};
use carebank_core::ids::Id;
use carebank_core::ledger::{Ledger, ServiceFacts, ServiceView};
use carebank_core::record::{ChainLink, Envelope, FORMAT_VERSION, NoKeys, SignedRecord};

use crate::{DAY, MINUTE, START_MS, fixed_id, key};

const CAREGIVERS: u64 = 6;
const VOLUNTEERS: u64 = 20;
const ELDERS: u64 = 120;
/// The day volunteer 0's phone is lost (with anomalies on).
pub const LOST_PHONE_DAY: u64 = 45;

/// A small deterministic generator (SplitMix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

struct Member {
    id: Id,
    key: DeviceKey,
    head: Option<(u64, EntryHash)>,
    balance: i64,
    born: u32,
    household: Option<Id>,
}

/// Generates a village's time-bank records day by day.
pub struct YearGenerator {
    rng: Rng,
    circle: Id,
    centre: DeviceKey,
    coordinator: Member,
    caregivers: Vec<Member>,
    volunteers: Vec<Member>,
    services: HashMap<Id, ServiceFacts>,
    claims: Vec<(Id, Id)>,
    day: u64,
    anomalies: bool,
    next_id: u64,
    /// Each signing key's next place in its device chain.
    chains: RefCell<HashMap<PublicKey, ChainLink>>,
}

/// The circle's rules in the reference year: Nanjing's cap, redemption from 65, gifts capped at
/// 100 hours a year.
pub fn reference_rules() -> LedgerRules {
    LedgerRules {
        cap_minutes: Some(1_500 * 60),
        expiry_days: None,
        redemption_age: Some(65),
        gift_cap_minutes_per_year: Some(100 * 60),
        approval_required: false,
    }
}

impl YearGenerator {
    /// A village with no records yet; `anomalies` adds forks, duplicates, voids and a lost phone.
    pub fn new(seed: u64, anomalies: bool) -> YearGenerator {
        let member = |n: u64, seed: u64, born: u32, household: Option<Id>| Member {
            id: fixed_id(0x8000 + n),
            key: key(seed),
            head: None,
            balance: 0,
            born,
            household,
        };
        let mut rng = Rng(seed);
        let volunteers = (0..VOLUNTEERS)
            .map(|i| {
                let born = 1945 + u32::try_from(rng.below(55)).unwrap_or(0);
                member(100 + i, 200 + i, born, Some(fixed_id(0x9000 + i / 2)))
            })
            .collect();
        YearGenerator {
            rng,
            circle: fixed_id(0xc1),
            centre: key(1),
            coordinator: member(0, 2, 1970, None),
            caregivers: (0..CAREGIVERS)
                .map(|i| member(10 + i, 100 + i, 1975, None))
                .collect(),
            volunteers,
            services: HashMap::new(),
            claims: Vec::new(),
            day: 0,
            anomalies,
            next_id: 0,
            chains: RefCell::default(),
        }
    }

    /// The circle.
    pub fn circle(&self) -> Id {
        self.circle
    }

    /// The centre's public key.
    pub fn centre(&self) -> PublicKey {
        self.centre.public_key()
    }

    /// The facts of every service claimed so far (some voided, with anomalies on).
    pub fn services(&self) -> &HashMap<Id, ServiceFacts> {
        &self.services
    }

    /// Every member id (coordinator, caregivers, volunteers).
    pub fn members(&self) -> Vec<Id> {
        std::iter::once(&self.coordinator)
            .chain(&self.caregivers)
            .chain(&self.volunteers)
            .map(|m| m.id)
            .collect()
    }

    /// The instant just after the last generated day.
    pub fn now_ms(&self) -> u64 {
        START_MS + self.day * DAY
    }

    fn sign(&self, signer: &DeviceKey, at_ms: u64, body: RecordBody) -> SignedRecord {
        let envelope = Envelope {
            v: FORMAT_VERSION,
            circle: self.circle,
            author: signer.public_key(),
            hlc: Hlc {
                ms: at_ms,
                counter: 0,
            },
            body,
            link: Some(self.next_link(signer.public_key())),
        };
        let record =
            SignedRecord::sign(envelope, signer).unwrap_or_else(|e| panic!("fixture record: {e}"));
        let seq = self.next_link(signer.public_key()).seq;
        self.chains
            .borrow_mut()
            .insert(signer.public_key(), ChainLink::after(seq, record.id()));
        record
    }

    /// The place in `signer`'s device chain of the next record it signs.
    fn next_link(&self, signer: PublicKey) -> ChainLink {
        self.chains
            .borrow()
            .get(&signer)
            .copied()
            .unwrap_or(ChainLink::FIRST)
    }

    /// The certificates and rules: the centre enrols the coordinator, who enrols the rest.
    pub fn setup(&mut self) -> Vec<SignedRecord> {
        let at = START_MS - DAY;
        let enrolment = |m: &Member, role: Role| {
            RecordBody::Enrolment(Enrolment {
                member_id: m.id,
                name: format!("成员{}", m.id),
                role,
                site_id: fixed_id(0x5101),
                device_key: m.key.public_key(),
                family_of: None,
                valid_from_ms: None,
                valid_until_ms: None,
                household: m.household,
                birth_year: Some(m.born),
            })
        };
        let mut out = vec![
            self.sign(&self.centre, at, RecordBody::LedgerRules(reference_rules())),
            self.sign(
                &self.centre,
                at,
                enrolment(&self.coordinator, Role::Coordinator),
            ),
        ];
        for (i, m) in self.caregivers.iter().enumerate() {
            let body = enrolment(m, Role::Caregiver);
            out.push(self.sign(&self.coordinator.key, at + i as u64 + 1, body));
        }
        for (i, m) in self.volunteers.iter().enumerate() {
            let body = enrolment(m, Role::Volunteer);
            out.push(self.sign(&self.coordinator.key, at + 100 + i as u64, body));
        }
        out
    }

    fn fresh_id(&mut self) -> Id {
        self.next_id += 1;
        fixed_id(0xa000_0000 + self.next_id)
    }

    /// Signs the next entry of a member's chain at `at_ms`.
    fn entry(&mut self, which: Who, at_ms: u64, kind: EntryKind) -> SignedRecord {
        let member = self.member(which);
        let (seq, prev) = match member.head {
            None => (1, None),
            Some((s, h)) => (s + 1, Some(h)),
        };
        let body = RecordBody::Ledger(LedgerEntry {
            member_id: member.id,
            seq,
            prev,
            kind,
        });
        let record = self.sign(&self.member(which).key, at_ms, body);
        self.member_mut(which).head = Some((seq, EntryHash::of_payload(record.payload())));
        record
    }

    fn member(&self, which: Who) -> &Member {
        match which {
            Who::Coordinator => &self.coordinator,
            Who::Caregiver(i) => &self.caregivers[i],
            Who::Volunteer(i) => &self.volunteers[i],
        }
    }

    fn member_mut(&mut self, which: Who) -> &mut Member {
        match which {
            Who::Coordinator => &mut self.coordinator,
            Who::Caregiver(i) => &mut self.caregivers[i],
            Who::Volunteer(i) => &mut self.volunteers[i],
        }
    }

    /// One day's entries.
    pub fn next_day(&mut self) -> Vec<SignedRecord> {
        let base = START_MS + self.day * DAY + 8 * 60 * MINUTE;
        let mut out = Vec::with_capacity(40);
        let mut minute = 0u64;
        let mut tick = || {
            minute += 1;
            base + minute * MINUTE
        };
        for _ in 0..15 {
            let v = usize::try_from(self.rng.below(VOLUNTEERS)).unwrap_or(0);
            let minutes = 30 + 15 * i64::try_from(self.rng.below(7)).unwrap_or(0);
            let service = self.fresh_id();
            let elder = fixed_id(0x4000 + self.rng.below(ELDERS));
            self.services.insert(
                service,
                ServiceFacts {
                    elder_id: elder,
                    provider_id: self.volunteers[v].id,
                    started_ms: i64::try_from(base).unwrap_or(0),
                    duration_minutes: minutes,
                    time_bank: true,
                    voided: false,
                    counted: true,
                },
            );
            let kind = EntryKind::Claim {
                service,
                elder_id: elder,
                minutes,
            };
            let claim = self.entry(Who::Volunteer(v), tick(), kind);
            self.claims.push((claim.id(), service));
            out.push(claim.clone());
            let confirmer = match self.rng.below(10) {
                0..=6 => Who::Caregiver(usize::try_from(self.rng.below(CAREGIVERS)).unwrap_or(0)),
                _ => Who::Coordinator,
            };
            let kind = EntryKind::Confirm {
                claim: claim.id(),
                method: ConfirmMethod::InPerson,
            };
            out.push(self.entry(confirmer, tick(), kind));
            self.volunteers[v].balance += minutes;
        }
        let year = 2026;
        for _ in 0..5 {
            // A random member old enough, holding enough minutes.
            let minutes = 30;
            let start = usize::try_from(self.rng.below(VOLUNTEERS)).unwrap_or(0);
            let eligible = (0..self.volunteers.len())
                .map(|i| (start + i) % self.volunteers.len())
                .find(|i| {
                    let m = &self.volunteers[*i];
                    year - i64::from(m.born) >= 65 && m.balance >= minutes
                });
            if let Some(v) = eligible {
                self.volunteers[v].balance -= minutes;
                let kind = EntryKind::Redeem {
                    minutes,
                    service: None,
                };
                out.push(self.entry(Who::Volunteer(v), tick(), kind));
            }
        }
        let giver = usize::try_from(self.rng.below(VOLUNTEERS)).unwrap_or(0);
        let to = giver ^ 1;
        if self.volunteers[giver].balance >= 15 {
            self.volunteers[giver].balance -= 15;
            self.volunteers[to].balance += 15;
            let kind = EntryKind::Gift {
                to: self.volunteers[to].id,
                minutes: 15,
            };
            out.push(self.entry(Who::Volunteer(giver), tick(), kind));
        }
        if self.anomalies {
            let mut at = tick();
            self.anomalies_of_the_day(&mut out, &mut at);
        }
        self.day += 1;
        out
    }

    fn anomalies_of_the_day(&mut self, out: &mut Vec<SignedRecord>, at: &mut u64) {
        let day = self.day;
        if day % 30 == 10 {
            // A cloned phone: a copy of an older volunteer's device signs at the same sequence
            // number.
            let start = usize::try_from(self.rng.below(VOLUNTEERS)).unwrap_or(0);
            let old_enough = |m: &Member| 2026 - i64::from(m.born) >= 65;
            let v = (0..self.volunteers.len())
                .map(|i| (start + i) % self.volunteers.len())
                .find(|i| old_enough(&self.volunteers[*i]))
                .unwrap_or(start);
            let saved = self.volunteers[v].head;
            let kind = EntryKind::Redeem {
                minutes: 15,
                service: None,
            };
            out.push(self.entry(Who::Volunteer(v), *at, kind));
            self.volunteers[v].head = saved;
            // The copy spends more than the member holds.
            let overdrawn = (self.volunteers[v].balance + 60).min(24 * 60);
            self.volunteers[v].balance -= 15 + overdrawn;
            let kind = EntryKind::Redeem {
                minutes: overdrawn,
                service: None,
            };
            out.push(self.entry(Who::Volunteer(v), *at + 1, kind));
        }
        if day % 30 == 25 {
            // A phone that lost its chain's head: its next entry names a previous entry that
            // does not exist (a broken link), and the chain goes on from it.
            if let Some(v) = self
                .volunteers
                .iter()
                .position(|m| 2026 - i64::from(m.born) >= 65 && m.balance >= 15)
                && let Some((seq, _)) = self.volunteers[v].head
            {
                self.volunteers[v].head = Some((seq, EntryHash::of_payload(b"no such entry")));
                self.volunteers[v].balance -= 15;
                let kind = EntryKind::Redeem {
                    minutes: 15,
                    service: None,
                };
                out.push(self.entry(Who::Volunteer(v), *at + 5, kind));
            }
        }
        if day % 30 == 20
            && let Some((claim, service)) = self.claims.last().copied()
        {
            // A duplicate claim for yesterday's last service, and that service voided.
            let provider = self.services.get(&service).map(|s| s.provider_id);
            if let Some(v) = self.volunteers.iter().position(|m| Some(m.id) == provider) {
                let (elder, minutes) = self
                    .services
                    .get(&service)
                    .map(|s| (s.elder_id, s.duration_minutes))
                    .unwrap_or((claim, 30));
                let kind = EntryKind::Claim {
                    service,
                    elder_id: elder,
                    minutes,
                };
                out.push(self.entry(Who::Volunteer(v), *at + 2, kind));
            }
            if let Some((_, earlier)) = self.claims.get(self.claims.len().saturating_sub(20))
                && let Some(s) = self.services.get_mut(earlier)
            {
                s.voided = true;
                let (provider, minutes) = (s.provider_id, s.duration_minutes);
                if let Some(m) = self.volunteers.iter_mut().find(|m| m.id == provider) {
                    m.balance -= minutes;
                }
            }
        }
        if day == LOST_PHONE_DAY {
            // Volunteer 0 loses their phone: revoked now; the lost phone signs once more; a new
            // phone (a new key, the same member) carries the chain on.
            let lost = self.volunteers[0].key.public_key();
            let head = self.next_link(lost);
            let revoke = RecordBody::Revocation(Revocation {
                device_key: lost,
                effective_ms: *at,
                reason: "手机丢失".into(),
                last_seq: Some(head.seq - 1),
                last_id: head.prev,
            });
            out.push(self.sign(&self.coordinator.key, *at, revoke));
            let kind = EntryKind::Redeem {
                minutes: 60,
                service: None,
            };
            out.push(self.entry(Who::Volunteer(0), *at + 3, kind));
            let new_key = key(299);
            let m = &self.volunteers[0];
            let enrol = RecordBody::Enrolment(Enrolment {
                member_id: m.id,
                name: format!("成员{}", m.id),
                role: Role::Volunteer,
                site_id: fixed_id(0x5101),
                device_key: new_key.public_key(),
                family_of: None,
                valid_from_ms: None,
                valid_until_ms: None,
                household: m.household,
                birth_year: Some(m.born),
            });
            out.push(self.sign(&self.coordinator.key, *at + 4, enrol));
            self.volunteers[0].key = new_key;
        }
        *at += 10;
    }

    /// `days` more days of entries.
    pub fn days(&mut self, days: u64) -> Vec<SignedRecord> {
        (0..days).flat_map(|_| self.next_day()).collect()
    }
}

#[derive(Clone, Copy)]
enum Who {
    Coordinator,
    Caregiver(usize),
    Volunteer(usize),
}

/// Decodes (without verifying), indexes and reconciles `raw` on top of `ledger`; returns the
/// number of queue items and the sum of all balances, so that nothing is optimised away.
pub fn reconcile_on(
    ledger: &mut Ledger,
    raw: &[Vec<u8>],
    services: &ServiceView,
    members: &[Id],
    now: u64,
) -> (usize, i64) {
    let records: Vec<SignedRecord> = raw
        .iter()
        .filter_map(|b| SignedRecord::decode_unverified(b, &NoKeys).ok())
        .collect();
    ledger.insert_verified(records);
    let reconciled = ledger.reconcile(services);
    let total = members
        .iter()
        .map(|m| reconciled.balance(*m, now).available_minutes)
        .sum();
    (reconciled.conflicts().len(), total)
}

/// A year of entries (from the village's setup) and one week more, as raw bytes, with what
/// reconciling them needs.
pub struct LedgerYear {
    /// The circle.
    pub circle: Id,
    /// The centre's key.
    pub centre: PublicKey,
    /// The year's records.
    pub year: Vec<Vec<u8>>,
    /// The next week's.
    pub week: Vec<Vec<u8>>,
    /// The services the entries refer to.
    pub services: ServiceView,
    /// Every member.
    pub members: Vec<Id>,
    /// The end of the week.
    pub now: u64,
}

impl LedgerYear {
    /// `days` days from `seed`, anomalies on, and the week after.
    pub fn generate(seed: u64, days: u64) -> LedgerYear {
        let mut generator = YearGenerator::new(seed, true);
        let mut year = generator.setup();
        year.extend(generator.days(days));
        let week = generator.days(7);
        let raw = |records: Vec<SignedRecord>| -> Vec<Vec<u8>> {
            records.iter().map(|r| r.as_bytes().to_vec()).collect()
        };
        LedgerYear {
            circle: generator.circle(),
            centre: generator.centre(),
            year: raw(year),
            week: raw(week),
            services: ServiceView::Known(generator.services().clone()),
            members: generator.members(),
            now: generator.now_ms(),
        }
    }
}
