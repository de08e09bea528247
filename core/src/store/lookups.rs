//! Facts the façade checks before it writes a record: does this elder, member, site or record
//! exist and count, and what may it be used for.

use rusqlite::{OptionalExtension, params};

use super::Store;
use crate::domain::{ConsentPurpose, Role};
use crate::error::{Error, Result};
use crate::identity::PublicKey;
use crate::ids::Id;

/// What the store knows of an enrolled elder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElderFacts {
    /// The site that serves the elder.
    pub site_id: Id,
    /// Monthly government-bought hours.
    pub entitled_hours: u32,
    /// What the elder consented to.
    pub consent: Vec<ConsentPurpose>,
}

/// What the store knows of a trusted member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberFacts {
    /// The member's role.
    pub role: Role,
    /// For family members, their elder.
    pub family_of: Option<Id>,
}

/// Who signed a stored record, and what it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordFacts {
    /// The record's type name.
    pub type_name: String,
    /// The signing key.
    pub author: PublicKey,
}

/// Reads a value the index stores as text (an id, a key), as corrupt if it does not parse.
pub(crate) fn parse<T: std::str::FromStr>(text: &str, what: &str) -> Result<T> {
    text.parse()
        .map_err(|_| Error::Corrupt(format!("{what} {text:?} in an index")))
}

impl Store {
    /// A counted, unvoided elder.
    pub fn elder_facts(&self, elder_id: Id) -> Result<Option<ElderFacts>> {
        let row = self
            .conn()
            .query_row(
                "SELECT site_id, entitled_hours, consent FROM elders WHERE elder_id = ?1 AND counted = 1 AND voided = 0",
                [elder_id.to_string()],
                |r| Ok((r.get::<_, String>(0)?, r.get::<_, u32>(1)?, r.get::<_, String>(2)?)),
            )
            .optional()?;
        row.map(|(site, hours, consent)| {
            Ok(ElderFacts {
                site_id: parse(&site, "site id")?,
                entitled_hours: hours,
                consent: serde_json::from_str(&consent)
                    .map_err(|e| Error::Corrupt(e.to_string()))?,
            })
        })
        .transpose()
    }

    /// A member with at least one trusted, unrevoked key.
    pub fn member_facts(&self, member_id: Id) -> Result<Option<MemberFacts>> {
        let row = self
            .conn()
            .query_row(
                "SELECT m.role, m.family_of FROM members m JOIN trusted_keys t ON t.device_key = m.device_key
                 WHERE m.member_id = ?1 AND t.revoked_from_ms IS NULL LIMIT 1",
                [member_id.to_string()],
                |r| Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?)),
            )
            .optional()?;
        row.map(|(role, family_of)| {
            let role = serde_json::from_value(serde_json::Value::String(role.clone()))
                .map_err(|_| Error::Corrupt(format!("role {role:?}")))?;
            Ok(MemberFacts {
                role,
                family_of: family_of.map(|f| parse(&f, "elder id")).transpose()?,
            })
        })
        .transpose()
    }

    /// The trusted role and member of a key, if the circle trusts it and it is not revoked.
    pub fn key_trust(&self, key: PublicKey) -> Result<Option<(String, Option<Id>)>> {
        let row = self
            .conn()
            .query_row(
                "SELECT role, member_id FROM trusted_keys WHERE device_key = ?1 AND revoked_from_ms IS NULL",
                [key.to_string()],
                |r| Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?)),
            )
            .optional()?;
        row.map(|(role, member)| Ok((role, member.map(|m| parse(&m, "member id")).transpose()?)))
            .transpose()
    }

    /// Whether a counted, unvoided site exists.
    pub fn site_exists(&self, site_id: Id) -> Result<bool> {
        let n: i64 = self.conn().query_row(
            "SELECT count(*) FROM sites WHERE site_id = ?1 AND counted = 1 AND voided = 0",
            [site_id.to_string()],
            |r| r.get(0),
        )?;
        Ok(n > 0)
    }

    /// How many follow-ups a counted, unvoided visit promised, if it exists.
    pub fn visit_follow_up_count(&self, visit_id: Id) -> Result<Option<u32>> {
        let visit = visit_id.to_string();
        let exists: i64 = self.conn().query_row(
            "SELECT count(*) FROM visits WHERE record_id = ?1 AND counted = 1 AND voided = 0",
            [&visit],
            |r| r.get(0),
        )?;
        if exists == 0 {
            return Ok(None);
        }
        let n: u32 = self.conn().query_row(
            "SELECT count(*) FROM follow_ups WHERE visit_id = ?1",
            params![visit],
            |r| r.get(0),
        )?;
        Ok(Some(n))
    }

    /// The type and author of a stored record.
    pub fn record_facts(&self, record_id: Id) -> Result<Option<RecordFacts>> {
        let row = self
            .conn()
            .query_row(
                "SELECT type, author FROM records WHERE id = ?1",
                [record_id.to_string()],
                |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)),
            )
            .optional()?;
        row.map(|(type_name, author)| {
            Ok(RecordFacts {
                type_name,
                author: parse(&author, "author key")?,
            })
        })
        .transpose()
    }
}
