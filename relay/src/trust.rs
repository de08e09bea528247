//! Which keys a circle trusts, derived from its enrolment and revocation records and kept
//! between requests. Each request asks the database only for the count of the circle's trust
//! records (they are only ever added); the records are read and verified again only when that
//! count differs from the one the cached answer was derived from, so a revocation written by any
//! instance counts from the next request.

use std::collections::HashMap;

use carebank_core::identity::PublicKey;
use carebank_core::identity::trust::{Trust, TrustFacts};
use carebank_core::ids::Id;
use carebank_core::record::SignedRecord;

use crate::RelayError;
use crate::pool::Pool;

/// A circle's derived trust, and the count of trust records it was derived from.
#[derive(Default)]
pub struct TrustCache {
    derived: Option<(i64, HashMap<String, Trust>)>,
}

impl TrustCache {
    /// Refuses `key` unless the circle (rooted at `centre`) trusts it, has not revoked it, and
    /// its certificate is valid at `now_ms` (the relay's clock): a device serves only while its
    /// records would count.
    pub fn check(
        &mut self,
        db: &Pool,
        circle: Id,
        centre: PublicKey,
        key: PublicKey,
        now_ms: i64,
    ) -> Result<(), RelayError> {
        let version = db.get()?.trust_version(circle)?;
        let (seen, keys) = match self.derived.take() {
            Some(derived) if derived.0 == version => derived,
            _ => {
                let records = db.get()?.trust_records(circle)?;
                // The count of what was read: a record added since the version was asked for
                // is in it, and the next request sees the count change and derives again.
                (records.len() as i64, derive(circle, centre, &records))
            }
        };
        let verdict = match keys.get(&key.to_string()) {
            Some(t) if t.revoked.is_some() => {
                Err(RelayError::Forbidden(format!("device {key} was revoked")))
            }
            Some(t) if !t.valid_at(now_ms) => Err(RelayError::Forbidden(format!(
                "device {key}'s certificate is not valid now (valid from {} until {}, in Unix ms)",
                t.valid_from_ms
                    .map_or("its issue".into(), |ms| ms.to_string()),
                t.valid_until_ms
                    .map_or("no end".into(), |ms| ms.to_string())
            ))),
            Some(_) => Ok(()),
            None => Err(RelayError::Forbidden(format!(
                "device {key} is not enrolled in circle {circle}"
            ))),
        };
        self.derived = Some((seen, keys));
        verdict
    }

    /// Forgets the cached answer.
    pub fn clear(&mut self) {
        self.derived = None;
    }
}

/// A circle's centre key and the keys it trusts (by their text), with their standing.
pub type CircleTrust = (PublicKey, HashMap<String, Trust>);

/// The keys `circle` trusts now, from its stored trust records, and its centre key (none for
/// a circle the relay does not serve).
pub fn trusted_now(db: &Pool, circle: Id) -> Result<Option<CircleTrust>, RelayError> {
    let Some(centre) = db.get()?.circle_centre(circle)? else {
        return Ok(None);
    };
    let records = db.get()?.trust_records(circle)?;
    Ok(Some((centre, derive(circle, centre, &records))))
}

/// The keys trusted under `centre`, from the circle's stored trust records (verified here:
/// records that do not verify or belong to another circle are ignored).
fn derive(circle: Id, centre: PublicKey, records: &[Vec<u8>]) -> HashMap<String, Trust> {
    let mut facts = TrustFacts::default();
    for bytes in records {
        if let Ok(record) = SignedRecord::from_bytes(bytes)
            && record.envelope().circle == circle
        {
            facts.add(&record);
        }
    }
    facts.derive(centre)
}
