//! Facts the façade checks before it writes a record: does this elder, member, site or record
//! exist and count, and what may it be used for.

use rusqlite::{OptionalExtension, params};

use super::Store;
use super::sql_types::Columns;
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

impl Store {
    /// A counted, unvoided elder.
    pub fn elder_facts(&self, elder_id: Id) -> Result<Option<ElderFacts>> {
        let row = self
            .conn()
            .query_row(
                "SELECT site_id, entitled_hours, consent FROM elders WHERE elder_id = ?1 AND counted = 1 AND voided = 0",
                [elder_id],
                |r| Ok((r.column::<Id>(0)?, r.get::<_, u32>(1)?, r.get::<_, String>(2)?)),
            )
            .optional()?;
        row.map(|(site_id, hours, consent)| {
            Ok(ElderFacts {
                site_id,
                entitled_hours: hours,
                consent: serde_json::from_str(&consent)
                    .map_err(|e| Error::Corrupt(e.to_string()))?,
            })
        })
        .transpose()
    }

    /// A counted, unvoided elder's name (empty once the elder is erased). Callers that hand it
    /// to a person log the read.
    pub fn elder_name(&self, elder_id: Id) -> Result<Option<String>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT name FROM elders WHERE elder_id = ?1 AND counted = 1 AND voided = 0",
                [elder_id],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// A member with at least one trusted, unrevoked key.
    pub fn member_facts(&self, member_id: Id) -> Result<Option<MemberFacts>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT m.role, m.family_of FROM members m JOIN trusted_keys t ON t.device_key = m.device_key
                 WHERE m.member_id = ?1 AND t.revoked_from_ms IS NULL LIMIT 1",
                [member_id],
                |r| {
                    Ok(MemberFacts {
                        role: r.column(0)?,
                        family_of: r.column(1)?,
                    })
                },
            )
            .optional()?)
    }

    /// The trusted role and member of a key, if the circle trusts it and it is not revoked.
    pub fn key_trust(&self, key: PublicKey) -> Result<Option<(String, Option<Id>)>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT role, member_id FROM trusted_keys WHERE device_key = ?1 AND revoked_from_ms IS NULL",
                [key],
                |r| Ok((r.get(0)?, r.column(1)?)),
            )
            .optional()?)
    }

    /// Whether a counted, unvoided site exists.
    pub fn site_exists(&self, site_id: Id) -> Result<bool> {
        let n: i64 = self.conn().query_row(
            "SELECT count(*) FROM sites WHERE site_id = ?1 AND counted = 1 AND voided = 0",
            [site_id],
            |r| r.get(0),
        )?;
        Ok(n > 0)
    }

    /// How many follow-ups a counted, unvoided visit promised, if it exists.
    pub fn visit_follow_up_count(&self, visit_id: Id) -> Result<Option<u32>> {
        let exists: i64 = self.conn().query_row(
            "SELECT count(*) FROM visits WHERE record_id = ?1 AND counted = 1 AND voided = 0",
            [visit_id],
            |r| r.get(0),
        )?;
        if exists == 0 {
            return Ok(None);
        }
        let n: u32 = self.conn().query_row(
            "SELECT count(*) FROM follow_ups WHERE visit_id = ?1",
            params![visit_id],
            |r| r.get(0),
        )?;
        Ok(Some(n))
    }

    /// The type and author of a stored record.
    pub fn record_facts(&self, record_id: Id) -> Result<Option<RecordFacts>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT type, author FROM records WHERE id = ?1",
                [record_id],
                |r| {
                    Ok(RecordFacts {
                        type_name: r.get(0)?,
                        author: r.column(1)?,
                    })
                },
            )
            .optional()?)
    }
}
