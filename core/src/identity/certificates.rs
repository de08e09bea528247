//! The chain of trust as the ledger reads it: which certificate (enrolment) stands behind each
//! trusted key, each member's current profile, and how the circle regards a key for one record.
//!
//! The rules themselves are in [`crate::identity::trust`] (the one implementation, shared with
//! the store's index and the relay); this module only builds the typed view the ledger needs
//! from the same facts.

use std::collections::{HashMap, HashSet};

use crate::domain::Enrolment;
use crate::identity::PublicKey;
use crate::identity::trust::{Position, Trust, TrustFacts};
use crate::ids::Id;
use crate::record::SignedRecord;

/// A trusted certificate: the enrolment that certifies a device key, and who issued it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificate {
    /// The enrolment record's id.
    pub record_id: Id,
    /// Its clock (ms): when it was issued.
    pub issued_ms: u64,
    /// The issuing key (the centre or a coordinator).
    pub issuer: PublicKey,
    /// What it certifies.
    pub enrolment: Enrolment,
}

/// How the circle regards a key for one record (or one instant).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyStanding {
    /// The centre's own key.
    Centre,
    /// A certified member key, within its validity and not cut off by a revocation.
    Member,
    /// No trusted certificate names this key.
    Unknown,
    /// Revoked, and the record is after the revocation's cut (its chain position, or for a
    /// record without one, this instant in ms).
    Revoked {
        /// The revocation's effective instant.
        from_ms: u64,
    },
    /// Certified, but not at this instant.
    OutsideValidity,
}

/// The keys a set of certificate records makes trusted.
#[derive(Debug, Clone, Default)]
pub struct TrustChain {
    centre: Option<PublicKey>,
    trust: HashMap<PublicKey, Trust>,
    certificates: HashMap<PublicKey, Certificate>,
    profiles: HashMap<Id, PublicKey>,
    forks: HashSet<(PublicKey, u64)>,
}

impl TrustChain {
    /// Builds the chain rooted at `centre` from the enrolment and revocation records among
    /// `records` (others are ignored), knowing the chain positions `forks` that two records of
    /// one author hold. Order does not matter.
    pub fn build<'a>(
        centre: PublicKey,
        records: impl IntoIterator<Item = &'a SignedRecord>,
        forks: &HashSet<(PublicKey, u64)>,
    ) -> TrustChain {
        let mut facts = TrustFacts::default();
        for record in records {
            facts.add(record);
        }
        for (author, seq) in forks {
            facts.note_fork(*author, *seq);
        }
        let trust: HashMap<PublicKey, Trust> = facts
            .derive(centre)
            .into_iter()
            .filter_map(|(key, trust)| Some((key.parse().ok()?, trust)))
            .collect();
        let certificates: HashMap<PublicKey, Certificate> = facts
            .certificates()
            .filter(|c| c.enrolment.device_key != centre)
            .filter(|c| trust.contains_key(&c.enrolment.device_key))
            .map(|c| (c.enrolment.device_key, c))
            .collect();
        // A member's profile is their latest trusted certificate.
        let mut profiles: HashMap<Id, PublicKey> = HashMap::new();
        for (key, cert) in &certificates {
            let member = cert.enrolment.member_id;
            let later = profiles.get(&member).is_none_or(|current| {
                certificates
                    .get(current)
                    .is_none_or(|c| (c.issued_ms, c.record_id) < (cert.issued_ms, cert.record_id))
            });
            if later {
                profiles.insert(member, *key);
            }
        }
        TrustChain {
            centre: Some(centre),
            trust,
            certificates,
            profiles,
            forks: forks.clone(),
        }
    }

    /// How the circle regards `record`'s author for that record: by its chain position when
    /// it has one, else by its clock.
    pub fn standing_of(&self, record: &SignedRecord) -> KeyStanding {
        // The record's id and whether its position is forked are read only against a
        // revocation that cuts at a chain position, so they are worked out only then (the id's
        // hex is an allocation, on every entry of every reconciliation).
        let cut_at_position = self
            .trust
            .get(&record.author())
            .and_then(|t| t.revoked.as_ref())
            .is_some_and(|cut| cut.after_seq.is_some());
        let id = if cut_at_position {
            record.id().to_string()
        } else {
            String::new()
        };
        let position = record.link().map(|l| Position {
            seq: i64::try_from(l.seq).unwrap_or(i64::MAX),
            id: &id,
            forked: cut_at_position && self.forks.contains(&(record.author(), l.seq)),
        });
        self.standing(record.author(), record.hlc().ms, position)
    }

    /// How the circle regards `key` for something it signed at `at_ms`, at chain position
    /// `position` if it has one.
    pub fn standing(
        &self,
        key: PublicKey,
        at_ms: u64,
        position: Option<Position<'_>>,
    ) -> KeyStanding {
        if Some(key) == self.centre {
            return KeyStanding::Centre;
        }
        let Some(trust) = self.trust.get(&key) else {
            return KeyStanding::Unknown;
        };
        let at = i64::try_from(at_ms).unwrap_or(i64::MAX);
        if !trust.valid_at(at) {
            return KeyStanding::OutsideValidity;
        }
        match &trust.revoked {
            Some(cut) if !cut.allows(at, position) => KeyStanding::Revoked {
                from_ms: u64::try_from(cut.from_ms).unwrap_or(0),
            },
            _ => KeyStanding::Member,
        }
    }

    /// The trusted certificate of a key, whatever the instant.
    pub fn certificate(&self, key: PublicKey) -> Option<&Certificate> {
        self.certificates.get(&key)
    }

    /// A member's latest trusted certificate (their role, household, birth year).
    pub fn profile(&self, member_id: Id) -> Option<&Certificate> {
        self.profiles
            .get(&member_id)
            .and_then(|key| self.certificates.get(key))
    }
}
