//! Reads of elders' personal data, each logged with its purpose (PIPL Art. 45 and 51), the
//! elder's own copy of their data, and consent per purpose: checked when a record is written,
//! withdrawn or given again by a coordinator, and flagged when a record made elsewhere used a
//! purpose already withdrawn.
//!
//! Every call here that returns elders' names, notes, observations or service history writes
//! one access-log record (a care record: sealed, synced and signed like a visit) naming the
//! call, the purpose and the elders it returned, before it returns; a call that returns no
//! elder logs nothing. Reports made on the coordinator's own phone are logged too: the log is
//! who saw what, whoever they are. Reading the access log itself is not logged (it holds ids,
//! roles and purposes, no names or notes, and logging it would log the log without end).

use serde::Serialize;

use super::{Actor, CareStore};
use crate::domain::{
    ACCESS_ELDERS_MAX, AccessCall, AccessLog, AccessPurpose, ConsentChange, ConsentState,
    RecordBody, purposes_used,
};
use crate::error::{Error, Kind, Result};
use crate::ids::Id;
use crate::record::SignedRecord;
use crate::store::{
    AccessEntry, ConsentConflict, ElderMonth, EntitlementUse, OpenFollowUp, OverdueElder,
};
use crate::time::{Month, UnixMs};

/// The format name written at the top of an elder's export.
pub const EXPORT_FORMAT: &str = "carebank-elder-export/1";

/// One record in an elder's export: the signed body as held, and whether it counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExportedRecord {
    /// The record's id.
    pub id: String,
    /// The signing device's key.
    pub author: String,
    /// The record's clock (Unix ms).
    pub hlc_ms: u64,
    /// The record's content.
    pub body: RecordBody,
}

/// Everything one store holds about one elder (PIPL Art. 45: the person's right to a copy).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ElderExport {
    /// [`EXPORT_FORMAT`].
    pub format: &'static str,
    /// The elder.
    pub elder_id: String,
    /// When the copy was made (Unix ms).
    pub exported_at_ms: u64,
    /// The device that made it.
    pub exported_by: String,
    /// The elder's enrolment: name, birth year, groups, care level, the consent given then.
    pub profile: Vec<ExportedRecord>,
    /// Consent withdrawn or given again since.
    pub consent: Vec<ExportedRecord>,
    /// Home visits: observations, risks, location where consented, follow-ups promised.
    pub visits: Vec<ExportedRecord>,
    /// Services given.
    pub services: Vec<ExportedRecord>,
    /// Follow-ups marked done.
    pub follow_ups_done: Vec<ExportedRecord>,
    /// Corrections (voids and amendments) of any of these.
    pub corrections: Vec<ExportedRecord>,
    /// Who read the elder's data, when and why (this export included).
    pub access_log: Vec<AccessEntry>,
}

impl ElderExport {
    /// The export as pretty-printed JSON.
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string_pretty(self).map_err(|e| Error::Corrupt(e.to_string()))
    }
}

fn exported(record: &SignedRecord) -> ExportedRecord {
    ExportedRecord {
        id: record.id().to_string(),
        author: record.author().to_string(),
        hlc_ms: record.hlc().ms,
        body: record.body().clone(),
    }
}

impl CareStore {
    /// Logs that `call` read the data of `elders` for `purpose`: one signed record per call
    /// (split every [`ACCESS_ELDERS_MAX`] elders), none when no elder was read.
    pub fn log_access(
        &mut self,
        call: AccessCall,
        purpose: AccessPurpose,
        elders: Vec<Id>,
    ) -> Result<()> {
        let all = AccessLog::new(call, purpose, elders);
        for chunk in all.elders.chunks(ACCESS_ELDERS_MAX) {
            self.write(RecordBody::AccessLog(AccessLog {
                call,
                purpose,
                elders: chunk.to_vec(),
            }))?;
        }
        Ok(())
    }

    /// Elders overdue for a visit at `now`, most overdue first (names included: logged).
    pub fn overdue_visits(
        &mut self,
        now: UnixMs,
        purpose: AccessPurpose,
    ) -> Result<Vec<OverdueElder>> {
        let list = self.store.overdue_visits(now)?;
        let elders = list.iter().map(|o| o.elder_id).collect();
        self.log_access(AccessCall::OverdueVisits, purpose, elders)?;
        Ok(list)
    }

    /// Follow-ups not yet done (what was promised to whom: logged).
    pub fn open_follow_ups(&mut self, purpose: AccessPurpose) -> Result<Vec<OpenFollowUp>> {
        let list = self.store.open_follow_ups()?;
        let elders = list.iter().map(|f| f.elder_id).collect();
        self.log_access(AccessCall::OpenFollowUps, purpose, elders)?;
        Ok(list)
    }

    /// An elder's visits and services in a month (logged, even when the month is empty: the
    /// caller asked about this elder).
    pub fn elder_month(
        &mut self,
        elder_id: Id,
        month: Month,
        purpose: AccessPurpose,
    ) -> Result<ElderMonth> {
        let found = self.store.elder_month(elder_id, month)?;
        self.log_access(AccessCall::ElderMonth, purpose, vec![elder_id])?;
        Ok(found)
    }

    /// Government-funded hours used by each entitled elder in a month, by name (logged).
    pub fn entitlement_use(
        &mut self,
        month: Month,
        purpose: AccessPurpose,
    ) -> Result<Vec<EntitlementUse>> {
        let list = self.store.entitlement_use(month)?;
        let elders = list.iter().map(|u| u.elder_id).collect();
        self.log_access(AccessCall::EntitlementUse, purpose, elders)?;
        Ok(list)
    }

    /// Reads one record back whole, verified; a record about an elder (their enrolment, a
    /// visit, a service, a consent change, an amendment of one) is logged as read.
    pub fn read_record(&mut self, id: Id, purpose: AccessPurpose) -> Result<SignedRecord> {
        let record = self.store.get(id)?;
        let elders = self.elder_of(record.body())?.into_iter().collect();
        self.log_access(AccessCall::ReadRecord, purpose, elders)?;
        Ok(record)
    }

    /// Every logged read of `elder_id`'s data this store holds, oldest first (reading the log
    /// is not itself logged).
    pub fn access_log(&self, elder_id: Id) -> Result<Vec<AccessEntry>> {
        self.store.access_log(elder_id)
    }

    /// Everything this store holds about `elder_id`, for the elder's own copy (PIPL Art. 45).
    /// The export is logged first (purpose `export`), so the copy shows it too. An elder this
    /// store has never heard of is [`Error::UnknownElder`].
    pub fn export_elder(&mut self, elder_id: Id) -> Result<ElderExport> {
        let ids = self.store.elder_record_ids(elder_id)?;
        if ids.profile.is_empty() {
            return Err(Error::not_found(Kind::Elder, elder_id));
        }
        self.log_access(
            AccessCall::ExportElder,
            AccessPurpose::Export,
            vec![elder_id],
        )?;
        let load = |list: &[Id]| -> Result<Vec<ExportedRecord>> {
            list.iter()
                .map(|id| Ok(exported(&self.store.get(*id)?)))
                .collect()
        };
        Ok(ElderExport {
            format: EXPORT_FORMAT,
            elder_id: elder_id.to_string(),
            exported_at_ms: self.store.now()?.as_u64(),
            exported_by: self.public_key().to_string(),
            profile: load(&ids.profile)?,
            consent: load(&ids.consent)?,
            visits: load(&ids.visits)?,
            services: load(&ids.services)?,
            follow_ups_done: load(&ids.follow_ups_done)?,
            corrections: load(&ids.corrections)?,
            access_log: self.store.access_log(elder_id)?,
        })
    }

    /// Withdraws or gives again an elder's consent for one purpose (the centre or a
    /// coordinator): from `at_ms`, new records of that purpose are refused (or allowed again).
    /// Records made before stay as they are.
    pub fn change_consent(&mut self, change: ConsentChange) -> Result<Id> {
        self.write(RecordBody::Consent(change))
    }

    /// Visits and services that used a purpose the elder had withdrawn (or never given) when
    /// the data was collected: made on a phone that had not yet heard of the withdrawal, kept
    /// and counted, listed for the coordinator to void or leave.
    pub fn consent_conflicts(&self) -> Result<Vec<ConsentConflict>> {
        self.store.consent_conflicts()
    }

    /// Checks a consent record's context: a coordinator (or the centre) records it, for an
    /// elder the store knows.
    pub(super) fn check_consent_change(&self, actor: Actor, change: &ConsentChange) -> Result<()> {
        if !actor.coordinates() {
            return Err(Error::NotAuthorised(
                "only the centre or a coordinator records consent withdrawn or given".into(),
            ));
        }
        self.elder(change.elder_id)?;
        Ok(())
    }

    /// Checks that the elder's consent covered every purpose a visit or service uses at the
    /// time its data was collected (the same rule [`CareStore::consent_conflicts`] applies to
    /// records that arrive by sync).
    pub(super) fn check_purposes(&self, body: &RecordBody) -> Result<()> {
        let Some(used) = purposes_used(body) else {
            return Ok(());
        };
        let elder = self.elder(used.elder_id)?;
        let events = self.store.consent_events(used.elder_id)?;
        for (purpose, field) in used.purposes {
            match crate::domain::consent_at(&elder.consent, &events, purpose, used.at_ms) {
                ConsentState::Given => {}
                ConsentState::NotGiven => return Err(Error::NoConsent(purpose.describe())),
                ConsentState::Withdrawn { at_ms } => {
                    return Err(Error::ConsentWithdrawn {
                        purpose: purpose.describe(),
                        field,
                        at_ms,
                    });
                }
            }
        }
        Ok(())
    }
}
