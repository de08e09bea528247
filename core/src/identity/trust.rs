//! Which keys a circle trusts, derived from its enrolment and revocation records alone.
//!
//! The one implementation of the trust rules: the device store materialises its result into
//! `trusted_keys`, and the relay uses it to decide which devices it serves.
//!
//! The centre key is trusted. A key enrolled by a trusted issuer is trusted when the issuer may
//! enrol that role (the centre: anyone; a coordinator: anyone but a coordinator) and the
//! enrolment's clock is before any revocation of the issuer and within the issuer's own validity
//! period. A revocation by the centre or a coordinator stops a key's records counting from its
//! `effective_ms`. A trusted key's records count only within its certificate's validity period
//! ([`Trust::counts_at`]; the store's index applies the same rule in SQL, `counted_at` in
//! `store/index.rs`, and the ledger through `identity::certificates`).

use std::collections::HashMap;

use crate::domain::{RecordBody, Role};
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
}

/// A revocation as trust sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevocationFact {
    /// The key withdrawn.
    pub device_key: String,
    /// From when its records stop counting (ms).
    pub effective_ms: i64,
    /// The signing key of the revocation record.
    pub issuer: String,
}

/// A key the circle trusts, and from when it stops counting if revoked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trust {
    /// The member the key belongs to (none for the centre).
    pub member_id: Option<String>,
    /// `centre`, or the member's role.
    pub role: String,
    /// From when (record clock, ms) the key's records stop counting, if revoked.
    pub revoked_from_ms: Option<i64>,
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

    /// Whether a record of this key made at `at_ms` (its clock) counts: within the
    /// certificate's validity and before any revocation.
    pub fn counts_at(&self, at_ms: i64) -> bool {
        self.valid_at(at_ms) && self.revoked_from_ms.is_none_or(|from| at_ms < from)
    }
}

/// The inputs of trust gathered from verified records (the relay's way in; the store reads the
/// same facts from its index tables).
#[derive(Debug, Default, Clone)]
pub struct TrustFacts {
    /// Device key (hex) → its earliest enrolment, with that record's id for tie-breaking.
    enrolments: HashMap<String, (EnrolmentFact, String)>,
    revocations: Vec<RevocationFact>,
}

impl TrustFacts {
    /// Adds a verified record; records other than enrolments and revocations are ignored.
    pub fn add(&mut self, record: &SignedRecord) {
        let issuer = record.author().to_string();
        let hlc_ms = record.hlc().ms as i64;
        match record.body() {
            RecordBody::Enrolment(e) => {
                let fact = EnrolmentFact {
                    member_id: e.member_id.to_string(),
                    role: e.role.as_str().to_string(),
                    issuer,
                    hlc_ms,
                    valid_from_ms: e.valid_from_ms.map(ms_i64),
                    valid_until_ms: e.valid_until_ms.map(ms_i64),
                };
                let id = record.id().to_string();
                let slot = self.enrolments.entry(e.device_key.to_string());
                let entry = slot.or_insert_with(|| (fact.clone(), id.clone()));
                if (fact.hlc_ms, &id) < (entry.0.hlc_ms, &entry.1) {
                    *entry = (fact, id);
                }
            }
            RecordBody::Revocation(r) => self.revocations.push(RevocationFact {
                device_key: r.device_key.to_string(),
                effective_ms: r.effective_ms as i64,
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
            .map(|(k, (f, _))| (k.clone(), f.clone()))
            .collect();
        derive_trust(centre, &enrolments, &self.revocations)
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
    let mut trusted: HashMap<String, (Option<String>, String)> = HashMap::new();
    trusted.insert(centre.clone(), (None, "centre".to_string()));
    let validity = |key: &str| -> (Option<i64>, Option<i64>) {
        enrolments
            .get(key)
            .filter(|_| key != centre)
            .map_or((None, None), |m| (m.valid_from_ms, m.valid_until_ms))
    };
    let mut revoked: HashMap<String, i64> = HashMap::new();
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
            let issuer_live = revoked.get(&m.issuer).is_none_or(|from| m.hlc_ms < *from);
            let (from, until) = validity(&m.issuer);
            let issuer_valid =
                from.is_none_or(|f| m.hlc_ms >= f) && until.is_none_or(|u| m.hlc_ms < u);
            if may_enrol && issuer_live && issuer_valid {
                trusted.insert(key.clone(), (Some(m.member_id.clone()), m.role.clone()));
                changed = true;
            }
        }
        for r in revocations {
            let issuer_may = matches!(
                trusted.get(&r.issuer).map(|t| t.1.as_str()),
                Some("centre" | "coordinator")
            );
            if !issuer_may || r.device_key == centre {
                continue;
            }
            let current = revoked.get(&r.device_key).copied();
            if current.is_none_or(|c| r.effective_ms < c) {
                revoked.insert(r.device_key.clone(), r.effective_ms);
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    trusted
        .into_iter()
        .map(|(key, (member_id, role))| {
            let revoked_from_ms = revoked.get(&key).copied();
            let (valid_from_ms, valid_until_ms) = validity(&key);
            (
                key,
                Trust {
                    member_id,
                    role,
                    revoked_from_ms,
                    valid_from_ms,
                    valid_until_ms,
                },
            )
        })
        .collect()
}
