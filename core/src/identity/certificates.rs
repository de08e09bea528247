//! The chain of trust as a pure function of the certificate records a replica holds: the town
//! centre key is the root; the centre certifies coordinator keys; a coordinator certifies member
//! device keys (member, role, validity); revocations withdraw keys from an instant on.
//!
//! The rules are those of the store's index (`store::index::recompute_trust`), plus the
//! certificate's validity period, which the ledger honours:
//! - of several enrolments of one device key, the earliest by (clock, record id) is the
//!   certificate;
//! - it is trusted when its issuer is trusted, may certify that role (the centre: any role; a
//!   coordinator: any role but coordinator), and the enrolment's clock is before any revocation
//!   of the issuer and within the issuer's own validity;
//! - a revocation signed by the centre or a trusted coordinator withdraws a key (never the
//!   centre's) from its `effective_ms`; the earliest such instant applies.

use std::collections::HashMap;

use crate::domain::{Enrolment, RecordBody, Role};
use crate::identity::PublicKey;
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

impl Certificate {
    /// Whether `at_ms` lies within the certificate's validity period.
    pub fn valid_at(&self, at_ms: u64) -> bool {
        self.enrolment
            .valid_from_ms
            .is_none_or(|from| at_ms >= from)
            && self
                .enrolment
                .valid_until_ms
                .is_none_or(|until| at_ms < until)
    }
}

/// How the circle regards a key at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyStanding {
    /// The centre's own key.
    Centre,
    /// A certified member key, within its validity and not revoked.
    Member,
    /// No trusted certificate names this key.
    Unknown,
    /// Revoked from this instant (ms) on.
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
    certificates: HashMap<PublicKey, Certificate>,
    revoked: HashMap<PublicKey, u64>,
    profiles: HashMap<Id, PublicKey>,
}

impl TrustChain {
    /// Builds the chain rooted at `centre` from the enrolment and revocation records among
    /// `records` (others are ignored). Order does not matter.
    pub fn build<'a>(
        centre: PublicKey,
        records: impl IntoIterator<Item = &'a SignedRecord>,
    ) -> TrustChain {
        let mut candidates: HashMap<PublicKey, Certificate> = HashMap::new();
        let mut revocations: Vec<(PublicKey, u64, PublicKey)> = Vec::new();
        for record in records {
            match record.body() {
                RecordBody::Enrolment(e) => {
                    let cert = Certificate {
                        record_id: record.id(),
                        issued_ms: record.hlc().ms,
                        issuer: record.author(),
                        enrolment: e.clone(),
                    };
                    let earlier = candidates.get(&e.device_key).is_some_and(|old| {
                        (old.issued_ms, old.record_id) <= (cert.issued_ms, cert.record_id)
                    });
                    if !earlier {
                        candidates.insert(e.device_key, cert);
                    }
                }
                RecordBody::Revocation(r) => {
                    revocations.push((r.device_key, r.effective_ms, record.author()));
                }
                _ => {}
            }
        }
        let mut chain = TrustChain {
            centre: Some(centre),
            ..TrustChain::default()
        };
        // Trust of issuers and cut-offs of revokers depend on each other: grow to a fixpoint.
        loop {
            let mut changed = false;
            for (key, cert) in &candidates {
                if chain.certificates.contains_key(key) || *key == centre {
                    continue;
                }
                let may_enrol = match chain.role_of(cert.issuer) {
                    Some(IssuerRole::Centre) => true,
                    Some(IssuerRole::Member(Role::Coordinator)) => {
                        cert.enrolment.role != Role::Coordinator
                    }
                    _ => false,
                };
                let issuer_live = cert.issuer == centre
                    || (chain
                        .revoked
                        .get(&cert.issuer)
                        .is_none_or(|from| cert.issued_ms < *from)
                        && chain
                            .certificates
                            .get(&cert.issuer)
                            .is_some_and(|c| c.valid_at(cert.issued_ms)));
                if may_enrol && issuer_live {
                    chain.certificates.insert(*key, cert.clone());
                    changed = true;
                }
            }
            for (key, from, issuer) in &revocations {
                let issuer_may = matches!(
                    chain.role_of(*issuer),
                    Some(IssuerRole::Centre | IssuerRole::Member(Role::Coordinator))
                );
                if !issuer_may || *key == centre {
                    continue;
                }
                if chain.revoked.get(key).is_none_or(|c| from < c) {
                    chain.revoked.insert(*key, *from);
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        // A member's profile is their latest trusted certificate.
        for (key, cert) in &chain.certificates {
            let member = cert.enrolment.member_id;
            let later = match chain.profiles.get(&member) {
                None => true,
                Some(current) => chain
                    .certificates
                    .get(current)
                    .is_none_or(|c| (c.issued_ms, c.record_id) < (cert.issued_ms, cert.record_id)),
            };
            if later {
                chain.profiles.insert(member, *key);
            }
        }
        chain
    }

    fn role_of(&self, key: PublicKey) -> Option<IssuerRole> {
        if Some(key) == self.centre {
            return Some(IssuerRole::Centre);
        }
        self.certificates
            .get(&key)
            .map(|c| IssuerRole::Member(c.enrolment.role))
    }

    /// How the circle regards `key` at `at_ms`.
    pub fn standing(&self, key: PublicKey, at_ms: u64) -> KeyStanding {
        if Some(key) == self.centre {
            return KeyStanding::Centre;
        }
        let Some(cert) = self.certificates.get(&key) else {
            return KeyStanding::Unknown;
        };
        if let Some(from) = self.revoked.get(&key)
            && at_ms >= *from
        {
            return KeyStanding::Revoked { from_ms: *from };
        }
        if !cert.valid_at(at_ms) {
            return KeyStanding::OutsideValidity;
        }
        KeyStanding::Member
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

    /// From when a key is revoked, if it is.
    pub fn revoked_from(&self, key: PublicKey) -> Option<u64> {
        self.revoked.get(&key).copied()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IssuerRole {
    Centre,
    Member(Role),
}
