//! The authority hierarchy above the circles: a province key (the trust anchor, configured),
//! district keys it certifies, and the town centres and district officials a district
//! certifies. An [`AuthorityCertificate`] is one signed link; an [`AuthorityChain`] carries the
//! links from the province down to one key, and [`AuthorityChain::verify`] checks it offline
//! with the province key alone. Format: `docs/authority-format.md`; why: decision 0016.

use serde::{Deserialize, Serialize};

use super::{DeviceKey, PublicKey};
use crate::canonical::{CanonicalError, from_canonical, to_canonical};
use crate::domain::ValidationError;
use crate::domain::validation::{NAME_MAX, instant, required_text};

/// The format name of an encoded chain.
pub const AUTHORITY_CHAIN_FORMAT: &str = "carebank/authority-chain/v1";
/// Prefixed to a certificate's signed bytes, so its signature means nothing elsewhere.
pub const AUTHORITY_SIGNING_CONTEXT: &[u8] = b"carebank/authority/v1\0";
/// The largest encoded chain accepted.
pub const MAX_AUTHORITY_CHAIN_BYTES: usize = 16 * 1024;
/// The longest chain: a province's own certificate, a district's, a town's or an official's.
pub const MAX_AUTHORITY_CHAIN_LEN: usize = 3;
/// The longest region code, in characters.
pub const REGION_MAX: usize = 32;

/// What an authority key is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthorityLevel {
    /// The trust anchor: configured by its key, its certificate signed by itself.
    Province,
    /// A district (县/区), certified by the province.
    District,
    /// A town centre (乡镇): an existing circle's centre key, certified by its district.
    Town,
    /// A district official's key, certified by the district: reads the district's reports.
    Official,
}

impl AuthorityLevel {
    /// The level of the key that may certify this level.
    pub fn issuer_level(self) -> AuthorityLevel {
        match self {
            AuthorityLevel::Province | AuthorityLevel::District => AuthorityLevel::Province,
            AuthorityLevel::Town | AuthorityLevel::Official => AuthorityLevel::District,
        }
    }

    /// The snake_case name written in certificates.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthorityLevel::Province => "province",
            AuthorityLevel::District => "district",
            AuthorityLevel::Town => "town",
            AuthorityLevel::Official => "official",
        }
    }
}

/// The signed content of a certificate: an issuer key says that a subject key is an authority
/// of a level, named so, for a region, within a validity window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorityStatement {
    /// What the subject is.
    pub level: AuthorityLevel,
    /// The certified key.
    pub subject: PublicKey,
    /// The authority's name (e.g. 青山镇), 1–100 characters, not blank.
    pub name: String,
    /// Its region code (e.g. the administrative division code), 1–32 characters from
    /// `0-9 A-Z a-z - .`.
    pub region: String,
    /// The certifying key (the subject's own for a province).
    pub issuer: PublicKey,
    /// The certificate holds from this instant (Unix ms, inclusive).
    pub valid_from_ms: u64,
    /// The certificate holds until just before this instant (Unix ms, exclusive).
    pub valid_until_ms: u64,
}

/// A signed [`AuthorityStatement`]. Signature: ed25519 by `issuer` over
/// [`AUTHORITY_SIGNING_CONTEXT`] ‖ the canonical JSON of the statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorityCertificate {
    /// What is certified.
    #[serde(flatten)]
    pub statement: AuthorityStatement,
    /// The issuer's signature, 128 lowercase hex characters.
    pub signature: String,
}

/// Why a certificate or chain is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AuthorityError {
    /// The bytes are not a canonical encoding of a chain.
    #[error("authority chain encoding: {0}")]
    Encoding(#[from] CanonicalError),
    /// Too large.
    #[error("authority chain is {0} bytes, more than {MAX_AUTHORITY_CHAIN_BYTES}")]
    Size(usize),
    /// A format this build does not read.
    #[error("authority chain format {0:?} is not supported")]
    Format(String),
    /// A field breaks its rule.
    #[error("authority certificate: {0}")]
    Invalid(#[from] ValidationError),
    /// Empty, or longer than [`MAX_AUTHORITY_CHAIN_LEN`].
    #[error("an authority chain holds 1 to {MAX_AUTHORITY_CHAIN_LEN} certificates, not {0}")]
    Length(usize),
    /// A certificate's signature does not verify.
    #[error("the {0} certificate's signature does not verify")]
    BadSignature(&'static str),
    /// A link not allowed: wrong issuer, wrong level, or out of order.
    #[error("{0}")]
    Link(String),
    /// A certificate does not hold at the instant asked about.
    #[error("the {level} certificate of {name:?} does not hold at {at_ms} (valid {from}..{until})")]
    OutsideValidity {
        /// Its level.
        level: &'static str,
        /// Its subject's name.
        name: String,
        /// The instant.
        at_ms: u64,
        /// Its first instant.
        from: u64,
        /// Its end (exclusive).
        until: u64,
    },
}

impl AuthorityStatement {
    /// Checks the fields' own rules (not the signature, not the hierarchy).
    pub fn validate(&self) -> Result<(), AuthorityError> {
        required_text("name", &self.name, NAME_MAX)?;
        let region_ok = !self.region.is_empty()
            && self.region.len() <= REGION_MAX
            && self
                .region
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
        if !region_ok {
            return Err(ValidationError::Inconsistent(
                "region must be 1-32 characters from 0-9 A-Z a-z - .",
            )
            .into());
        }
        instant("valid_from_ms", self.valid_from_ms)?;
        instant("valid_until_ms", self.valid_until_ms)?;
        if self.valid_until_ms <= self.valid_from_ms {
            return Err(ValidationError::Inconsistent(
                "valid_until_ms must be after valid_from_ms",
            )
            .into());
        }
        Ok(())
    }

    /// The bytes the issuer signs: the context, then the statement's canonical JSON.
    pub fn signing_message(&self) -> Result<Vec<u8>, AuthorityError> {
        let mut message = AUTHORITY_SIGNING_CONTEXT.to_vec();
        message.extend_from_slice(&to_canonical(self)?);
        Ok(message)
    }

    /// Signs the statement with `issuer`, whose public key must be the statement's `issuer`.
    pub fn sign(self, issuer: &DeviceKey) -> Result<AuthorityCertificate, AuthorityError> {
        self.validate()?;
        if issuer.public_key() != self.issuer {
            return Err(AuthorityError::Link(
                "the signing key is not the statement's issuer".into(),
            ));
        }
        let signature = hex::encode(issuer.sign(&self.signing_message()?));
        Ok(AuthorityCertificate {
            statement: self,
            signature,
        })
    }
}

impl AuthorityCertificate {
    /// Checks the fields and the issuer's signature (not the hierarchy).
    pub fn check_signature(&self) -> Result<(), AuthorityError> {
        let s = &self.statement;
        s.validate()?;
        let mut signature = [0u8; 64];
        let decoded = self.signature.len() == 128
            && self
                .signature
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
            && hex::decode_to_slice(&self.signature, &mut signature).is_ok();
        if !decoded || !s.issuer.verify(&s.signing_message()?, &signature) {
            return Err(AuthorityError::BadSignature(s.level.as_str()));
        }
        Ok(())
    }

    fn check_holds_at(&self, at_ms: u64) -> Result<(), AuthorityError> {
        let s = &self.statement;
        if (s.valid_from_ms..s.valid_until_ms).contains(&at_ms) {
            return Ok(());
        }
        Err(AuthorityError::OutsideValidity {
            level: s.level.as_str(),
            name: s.name.clone(),
            at_ms,
            from: s.valid_from_ms,
            until: s.valid_until_ms,
        })
    }
}

/// The certificates from a province down to one key, province end first: optionally the
/// province's own certificate, then a district's, then (for a town or an official) the
/// district's certificate of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorityChain {
    /// [`AUTHORITY_CHAIN_FORMAT`].
    pub format: String,
    /// The certificates, province end first.
    pub certificates: Vec<AuthorityCertificate>,
}

/// One authority as a verified chain shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authority {
    /// Its key.
    pub key: PublicKey,
    /// Its name.
    pub name: String,
    /// Its region code.
    pub region: String,
}

impl Authority {
    fn of(statement: &AuthorityStatement) -> Authority {
        Authority {
            key: statement.subject,
            name: statement.name.clone(),
            region: statement.region.clone(),
        }
    }
}

/// What a verified chain proves: the last key's level, the key itself, and its district.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedAuthority {
    /// The level of the chain's last key.
    pub level: AuthorityLevel,
    /// The chain's last key.
    pub subject: Authority,
    /// The district above it (itself for a district; `None` for a province's own chain).
    pub district: Option<Authority>,
    /// The province root the chain was verified against.
    pub province: PublicKey,
}

impl AuthorityChain {
    /// A chain of these certificates.
    pub fn new(certificates: Vec<AuthorityCertificate>) -> AuthorityChain {
        AuthorityChain {
            format: AUTHORITY_CHAIN_FORMAT.to_string(),
            certificates,
        }
    }

    /// This chain with `certificate` added at its end (not verified here).
    pub fn extended(&self, certificate: AuthorityCertificate) -> AuthorityChain {
        let mut certificates = self.certificates.clone();
        certificates.push(certificate);
        AuthorityChain::new(certificates)
    }

    /// The chain's canonical JSON bytes.
    pub fn encode(&self) -> Result<Vec<u8>, AuthorityError> {
        Ok(to_canonical(self)?)
    }

    /// Reads a chain from outside bytes: size, canonical encoding, format. Verify it with
    /// [`AuthorityChain::verify`] before believing it.
    pub fn decode(bytes: &[u8]) -> Result<AuthorityChain, AuthorityError> {
        if bytes.len() > MAX_AUTHORITY_CHAIN_BYTES {
            return Err(AuthorityError::Size(bytes.len()));
        }
        let chain: AuthorityChain = from_canonical(bytes)?;
        if chain.format != AUTHORITY_CHAIN_FORMAT {
            return Err(AuthorityError::Format(chain.format));
        }
        Ok(chain)
    }

    /// Verifies the chain with the province root key alone, at instant `at_ms`: every
    /// signature, every certificate holding at `at_ms`, and the levels linking
    /// province → district → {town, official}, each issued by the key above it. Nothing else
    /// verifies: no town or official without its district, no district certifying a district.
    pub fn verify(
        &self,
        province_root: PublicKey,
        at_ms: u64,
    ) -> Result<VerifiedAuthority, AuthorityError> {
        let n = self.certificates.len();
        if n == 0 || n > MAX_AUTHORITY_CHAIN_LEN {
            return Err(AuthorityError::Length(n));
        }
        let mut above: Option<&AuthorityStatement> = None;
        let mut district = None;
        for (i, cert) in self.certificates.iter().enumerate() {
            cert.check_signature()?;
            cert.check_holds_at(at_ms)?;
            let s = &cert.statement;
            let expected_issuer = match (s.level, above) {
                (AuthorityLevel::Province, None) if i == 0 => s.subject,
                (AuthorityLevel::District, None) => province_root,
                (AuthorityLevel::District, Some(p)) if p.level == AuthorityLevel::Province => {
                    p.subject
                }
                (AuthorityLevel::Town | AuthorityLevel::Official, Some(d))
                    if d.level == AuthorityLevel::District =>
                {
                    d.subject
                }
                (level, _) => {
                    return Err(AuthorityError::Link(format!(
                        "a {} certificate may not stand at position {} of a chain{}",
                        level.as_str(),
                        i + 1,
                        above.map_or(String::new(), |a| format!(
                            " below a {} certificate",
                            a.level.as_str()
                        ))
                    )));
                }
            };
            if s.level == AuthorityLevel::Province && s.subject != province_root {
                return Err(AuthorityError::Link(
                    "the chain's province is not the configured province root".into(),
                ));
            }
            if s.issuer != expected_issuer {
                return Err(AuthorityError::Link(format!(
                    "the {} certificate of {:?} is not issued by the key above it",
                    s.level.as_str(),
                    s.name
                )));
            }
            if s.level == AuthorityLevel::District {
                district = Some(Authority::of(s));
            }
            above = Some(s);
        }
        let last = above.ok_or(AuthorityError::Length(0))?;
        Ok(VerifiedAuthority {
            level: last.level,
            subject: Authority::of(last),
            district,
            province: province_root,
        })
    }

    /// The chain's last certificate.
    pub fn leaf(&self) -> Option<&AuthorityCertificate> {
        self.certificates.last()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A year in ms.
    const YEAR: u64 = 365 * 86_400_000;
    const T0: u64 = 1_790_000_000_000;

    fn key(seed: u8) -> DeviceKey {
        DeviceKey::from_seed([seed; 32])
    }

    fn certify(
        issuer: &DeviceKey,
        level: AuthorityLevel,
        subject: &DeviceKey,
        name: &str,
    ) -> AuthorityCertificate {
        AuthorityStatement {
            level,
            subject: subject.public_key(),
            name: name.into(),
            region: "330100".into(),
            issuer: issuer.public_key(),
            valid_from_ms: T0,
            valid_until_ms: T0 + YEAR,
        }
        .sign(issuer)
        .expect("sign")
    }

    struct Tree {
        province: DeviceKey,
        district_chain: AuthorityChain,
        town_chain: AuthorityChain,
        official_chain: AuthorityChain,
    }

    fn tree() -> Tree {
        let (province, district, town, official) = (key(1), key(2), key(3), key(4));
        let district_chain = AuthorityChain::new(vec![certify(
            &province,
            AuthorityLevel::District,
            &district,
            "临安区",
        )]);
        let town_chain =
            district_chain.extended(certify(&district, AuthorityLevel::Town, &town, "青山镇"));
        let official_chain = district_chain.extended(certify(
            &district,
            AuthorityLevel::Official,
            &official,
            "王科长",
        ));
        Tree {
            province,
            district_chain,
            town_chain,
            official_chain,
        }
    }

    #[test]
    fn a_town_and_an_official_verify_under_their_province() {
        let t = tree();
        let root = t.province.public_key();
        let town = t.town_chain.verify(root, T0 + 1).expect("town");
        assert_eq!(town.level, AuthorityLevel::Town);
        assert_eq!(town.subject.key, key(3).public_key());
        assert_eq!(
            town.district.as_ref().map(|d| d.key),
            Some(key(2).public_key())
        );
        let official = t.official_chain.verify(root, T0).expect("official");
        assert_eq!(official.level, AuthorityLevel::Official);
        let district = t.district_chain.verify(root, T0).expect("district");
        assert_eq!(district.level, AuthorityLevel::District);
        // With the province's own certificate in front, the same.
        let own = certify(&t.province, AuthorityLevel::Province, &t.province, "浙江省");
        let mut longer = vec![own];
        longer.extend(t.town_chain.certificates.clone());
        let longer = AuthorityChain::new(longer);
        assert_eq!(
            longer.verify(root, T0).expect("longer").subject,
            town.subject
        );
    }

    #[test]
    fn another_province_root_refuses_the_chain() {
        let t = tree();
        assert!(matches!(
            t.town_chain.verify(key(9).public_key(), T0),
            Err(AuthorityError::Link(_))
        ));
        let own = certify(&key(9), AuthorityLevel::Province, &key(9), "别省");
        let mut chain = vec![own];
        chain.extend(t.town_chain.certificates.clone());
        assert!(matches!(
            AuthorityChain::new(chain).verify(t.province.public_key(), T0),
            Err(AuthorityError::Link(_))
        ));
    }

    #[test]
    fn level_rules_refuse_every_other_shape() {
        let t = tree();
        let root = t.province.public_key();
        let (district, town, official) = (key(2), key(3), key(4));
        // A town certified by the province directly.
        let direct = AuthorityChain::new(vec![certify(
            &t.province,
            AuthorityLevel::Town,
            &town,
            "镇",
        )]);
        assert!(matches!(
            direct.verify(root, T0),
            Err(AuthorityError::Link(_))
        ));
        // A district certifying a district.
        let sub =
            t.district_chain
                .extended(certify(&district, AuthorityLevel::District, &key(5), "区"));
        assert!(matches!(sub.verify(root, T0), Err(AuthorityError::Link(_))));
        // A town or an official certifying anything.
        let below_town =
            t.town_chain
                .extended(certify(&town, AuthorityLevel::Official, &key(6), "人"));
        assert!(matches!(
            below_town.verify(root, T0),
            Err(AuthorityError::Length(_) | AuthorityError::Link(_))
        ));
        let below_official = AuthorityChain::new(vec![
            t.official_chain.certificates[1].clone(),
            certify(&official, AuthorityLevel::Town, &key(7), "镇"),
        ]);
        assert!(below_official.verify(root, T0).is_err());
        // A town whose certificate was issued by another district.
        let stranger =
            t.district_chain
                .extended(certify(&key(8), AuthorityLevel::Town, &town, "镇"));
        assert!(matches!(
            stranger.verify(root, T0),
            Err(AuthorityError::Link(_))
        ));
        // A province certificate anywhere but first, and an empty chain.
        let late = t.district_chain.extended(certify(
            &t.province,
            AuthorityLevel::Province,
            &t.province,
            "省",
        ));
        assert!(matches!(
            late.verify(root, T0),
            Err(AuthorityError::Link(_))
        ));
        assert_eq!(
            AuthorityChain::new(vec![]).verify(root, T0),
            Err(AuthorityError::Length(0))
        );
    }

    #[test]
    fn validity_windows_bound_every_link() {
        let t = tree();
        let root = t.province.public_key();
        assert!(t.town_chain.verify(root, T0 + YEAR - 1).is_ok());
        assert!(matches!(
            t.town_chain.verify(root, T0 + YEAR),
            Err(AuthorityError::OutsideValidity { .. })
        ));
        assert!(matches!(
            t.town_chain.verify(root, T0 - 1),
            Err(AuthorityError::OutsideValidity { .. })
        ));
        // A district certificate that lapsed makes its town's chain lapse too.
        let mut short = t.town_chain.clone();
        let mut district = short.certificates[0].statement.clone();
        district.valid_until_ms = T0 + 10;
        short.certificates[0] = district.sign(&t.province).expect("sign");
        assert!(short.verify(root, T0 + 5).is_ok());
        assert!(matches!(
            short.verify(root, T0 + 10),
            Err(AuthorityError::OutsideValidity { .. })
        ));
    }

    #[test]
    fn altered_certificates_and_bytes_are_refused() {
        let t = tree();
        let root = t.province.public_key();
        let mut renamed = t.town_chain.clone();
        renamed.certificates[1].statement.name = "别镇".into();
        assert_eq!(
            renamed.verify(root, T0),
            Err(AuthorityError::BadSignature("town"))
        );
        let mut promoted = t.official_chain.clone();
        promoted.certificates[1].statement.level = AuthorityLevel::Town;
        assert!(matches!(
            promoted.verify(root, T0),
            Err(AuthorityError::BadSignature(_))
        ));
        let mut bad_hex = t.town_chain.clone();
        bad_hex.certificates[1].signature = bad_hex.certificates[1].signature.to_uppercase();
        assert!(matches!(
            bad_hex.verify(root, T0),
            Err(AuthorityError::BadSignature(_))
        ));

        let bytes = t.town_chain.encode().expect("encode");
        assert_eq!(
            AuthorityChain::decode(&bytes).expect("decode"),
            t.town_chain
        );
        let text = String::from_utf8(bytes.clone()).expect("utf8");
        let spaced = text.replacen(',', ", ", 1);
        assert!(matches!(
            AuthorityChain::decode(spaced.as_bytes()),
            Err(AuthorityError::Encoding(CanonicalError::NotCanonical))
        ));
        let other = text.replace(AUTHORITY_CHAIN_FORMAT, "carebank/authority-chain/v9");
        assert!(matches!(
            AuthorityChain::decode(other.as_bytes()),
            Err(AuthorityError::Format(_))
        ));
        assert!(matches!(
            AuthorityChain::decode(&vec![b' '; MAX_AUTHORITY_CHAIN_BYTES + 1]),
            Err(AuthorityError::Size(_))
        ));
    }

    #[test]
    fn bad_fields_are_refused_at_signing() {
        let base = AuthorityStatement {
            level: AuthorityLevel::District,
            subject: key(2).public_key(),
            name: "区".into(),
            region: "330100".into(),
            issuer: key(1).public_key(),
            valid_from_ms: T0,
            valid_until_ms: T0 + 1,
        };
        for bad in [
            AuthorityStatement {
                name: " ".into(),
                ..base.clone()
            },
            AuthorityStatement {
                region: "33 01".into(),
                ..base.clone()
            },
            AuthorityStatement {
                region: String::new(),
                ..base.clone()
            },
            AuthorityStatement {
                valid_until_ms: T0,
                ..base.clone()
            },
        ] {
            assert!(matches!(bad.sign(&key(1)), Err(AuthorityError::Invalid(_))));
        }
        assert!(matches!(
            base.clone().sign(&key(2)),
            Err(AuthorityError::Link(_))
        ));
        assert!(base.sign(&key(1)).is_ok());
    }
}
