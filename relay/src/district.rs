//! The district's side of the relay (decision 0017): a district official, proving its key by a
//! signed request whose body is its authority chain, collects the month closes of the circles
//! whose town chain names its district, verified under the configured province roots.
//!
//! - `POST /v1/district/closes`: the closes as JSON, with each circle's trust records, so the
//!   official's own software verifies every one itself (`carebank district report`).
//! - `POST /district/login`: the same signed request; answers with a session cookie.
//! - `GET /district?month=YYYY-MM`: the month's table and chart, for that cookie
//!   ([`crate::district_page`]).
//!
//! Formats: `docs/report-format.md`, "District report".

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use carebank_core::identity::PublicKey;
use carebank_core::identity::authority::{
    AuthorityChain, AuthorityLevel, MAX_AUTHORITY_CHAIN_BYTES,
};
use carebank_core::ids::Id;
use carebank_core::record::month_close::{VerifiedClose, verify_month_close};
use carebank_core::report::district::DISTRICT_CLOSES_FORMAT;
use carebank_core::sync::RequestAuth;
use serde::Serialize;

use crate::RelayError;
use crate::state::Relay;

/// The largest request body a district endpoint reads: one chain.
pub const MAX_DISTRICT_BODY: usize = MAX_AUTHORITY_CHAIN_BYTES;
/// How long a page session lasts: one hour.
const SESSION_MS: i64 = 3_600_000;
/// Sessions kept at most; the oldest go first.
const MAX_SESSIONS: usize = 1024;

/// A district as a verified official's chain shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DistrictOf {
    /// The district's key.
    pub key: PublicKey,
    /// Its name.
    pub name: String,
    /// Its region code.
    pub region: String,
    /// The province root its chain verified under.
    #[serde(skip)]
    pub province: PublicKey,
}

/// Page sessions by token: the district and when the session ends (Unix ms).
type Sessions = HashMap<String, (DistrictOf, i64)>;

/// The province roots this relay trusts, and the page sessions of officials logged in.
#[derive(Default)]
pub struct DistrictDesk {
    roots: Vec<PublicKey>,
    sessions: Mutex<Sessions>,
}

impl DistrictDesk {
    /// A desk trusting `roots`.
    pub fn new(roots: Vec<PublicKey>) -> DistrictDesk {
        DistrictDesk {
            roots,
            sessions: Mutex::default(),
        }
    }
}

/// Verified closes with their bytes, and the trust records of their circles.
pub type CheckedCloses = (Vec<(VerifiedClose, Vec<u8>)>, BTreeMap<Id, Vec<Vec<u8>>>);

/// One close in the endpoint's answer.
#[derive(Debug, Serialize)]
pub struct CloseEntry {
    /// The circle.
    pub circle: Id,
    /// The signed record, hex.
    pub record: String,
}

/// The closes endpoint's answer.
#[derive(Debug, Serialize)]
pub struct DistrictCloses {
    /// [`DISTRICT_CLOSES_FORMAT`].
    pub format: &'static str,
    /// The district.
    pub district: DistrictOf,
    /// Every close that verified under the district, every month and version.
    pub closes: Vec<CloseEntry>,
    /// For each circle with a close, its enrolment and revocation records, hex.
    pub trust: BTreeMap<Id, Vec<String>>,
}

impl Relay {
    /// Admits a district official's signed request: fresh, signed over `body`, its nonce
    /// unused, and `body` an authority chain that verifies under one of the configured province
    /// roots now, ending in an official whose key signed the request. Returns its district.
    pub fn official(
        &self,
        auth: &RequestAuth,
        path: &str,
        body: &[u8],
        now_ms: i64,
    ) -> Result<DistrictOf, RelayError> {
        let time_ms = self.fresh(auth, now_ms)?;
        if !auth.verify("POST", path, body) {
            return Err(RelayError::Unauthorised("bad request signature".into()));
        }
        let chain = AuthorityChain::decode(body)
            .map_err(|e| RelayError::BadRequest(format!("the body is not a chain: {e}")))?;
        let at = u64::try_from(now_ms).unwrap_or(0);
        let mut refusals = Vec::new();
        let verified = self.district.roots.iter().find_map(|root| {
            chain
                .verify(*root, at)
                .map_err(|e| refusals.push(e.to_string()))
                .ok()
        });
        let Some(verified) = verified else {
            return Err(RelayError::Forbidden(if self.district.roots.is_empty() {
                "this relay trusts no province root (--province-root)".into()
            } else {
                format!(
                    "the chain does not verify under this relay's province roots: {}",
                    refusals.join("; ")
                )
            }));
        };
        let district = match (verified.level, verified.district) {
            (AuthorityLevel::Official, Some(d)) if verified.subject.key == auth.key => d,
            _ => {
                return Err(RelayError::Forbidden(
                    "the chain does not make the signing key a district official".into(),
                ));
            }
        };
        self.use_nonce(auth, time_ms, now_ms)?;
        Ok(DistrictOf {
            key: district.key,
            name: district.name,
            region: district.region,
            province: verified.province,
        })
    }

    /// The month closes kept for `district` that verify under its province root and name it,
    /// each with the records they were verified with.
    pub fn district_closes(&self, district: &DistrictOf) -> Result<DistrictCloses, RelayError> {
        let (verified, trust) = self.verified_closes(district)?;
        Ok(DistrictCloses {
            format: DISTRICT_CLOSES_FORMAT,
            district: district.clone(),
            closes: verified
                .into_iter()
                .map(|(close, bytes)| CloseEntry {
                    circle: close.circle,
                    record: hex::encode(bytes),
                })
                .collect(),
            trust: trust
                .into_iter()
                .map(|(circle, records)| (circle, records.iter().map(hex::encode).collect()))
                .collect(),
        })
    }

    /// The verified closes of `district` (with their bytes) and the trust records of their
    /// circles.
    pub fn verified_closes(&self, district: &DistrictOf) -> Result<CheckedCloses, RelayError> {
        let rows = self.db.get()?.month_closes(&district.key.to_string())?;
        let mut trust: BTreeMap<Id, Vec<Vec<u8>>> = BTreeMap::new();
        let mut verified = Vec::new();
        for (circle, bytes) in rows {
            if let std::collections::btree_map::Entry::Vacant(slot) = trust.entry(circle) {
                slot.insert(self.db.get()?.trust_records(circle)?);
            }
            let records = trust.get(&circle).map_or(&[][..], Vec::as_slice);
            match verify_month_close(&bytes, records, district.province) {
                Ok(close)
                    if close.circle == circle
                        && close.town.district.as_ref().map(|d| d.key) == Some(district.key) =>
                {
                    verified.push((close, bytes));
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(%circle, error = %e, "a month close does not verify"),
            }
        }
        trust.retain(|circle, _| verified.iter().any(|(c, _)| c.circle == *circle));
        Ok((verified, trust))
    }

    /// Opens a page session for a verified official; returns its token.
    pub fn open_session(&self, district: DistrictOf, now_ms: i64) -> Result<String, RelayError> {
        let token = format!("{}{}", Id::random(), Id::random());
        let mut sessions = self.sessions()?;
        sessions.retain(|_, (_, expires)| *expires > now_ms);
        if sessions.len() >= MAX_SESSIONS
            && let Some(oldest) = sessions
                .iter()
                .min_by_key(|(_, (_, expires))| *expires)
                .map(|(t, _)| t.clone())
        {
            sessions.remove(&oldest);
        }
        sessions.insert(token.clone(), (district, now_ms + SESSION_MS));
        Ok(token)
    }

    /// The district of a live session.
    pub fn session(&self, token: &str, now_ms: i64) -> Result<DistrictOf, RelayError> {
        match self.sessions()?.get(token) {
            Some((district, expires)) if *expires > now_ms => Ok(district.clone()),
            _ => Err(RelayError::Unauthorised(
                "not logged in, or the session ended: log in again".into(),
            )),
        }
    }

    fn sessions(&self) -> Result<std::sync::MutexGuard<'_, Sessions>, RelayError> {
        self.district
            .sessions
            .lock()
            .map_err(|_| RelayError::Internal("district sessions poisoned".into()))
    }
}
