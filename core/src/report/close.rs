//! Closing a month: the monthly report's aggregate figures become a signed record for the
//! district (decision 0017). Closing the same month again is a correction: a new version that
//! supersedes the latest one, both kept.

use super::MonthlyReport;
use crate::api::CareStore;
use crate::domain::{Figure, MonthClose, RecordBody, ValidationError};
use crate::error::Result;
use crate::identity::authority::AuthorityChain;
use crate::ids::Id;
use crate::record::SignedRecord;
use crate::time::{Month, UnixMs};

/// The entitlement statuses a close counts elders by, always all three.
const STATUSES: [&str; 3] = ["under_served", "within_quota", "over_quota"];

impl MonthlyReport {
    /// The report's aggregates, as a month close carries them: every person-time, funding and
    /// time-bank figure, the count of entitled elders by status and of elders overdue for a
    /// visit. No names, no ids.
    pub fn figures(&self) -> Vec<Figure> {
        let figure = |section: &str, key: &str, value: i64, unit: &str| Figure {
            section: section.into(),
            key: key.into(),
            value,
            unit: unit.into(),
        };
        let mut figures: Vec<Figure> = self
            .rows
            .iter()
            .filter(|r| {
                matches!(
                    r.section,
                    "person_times" | "minutes_by_funding" | "time_bank"
                )
            })
            .map(|r| figure(r.section, &r.key, r.value, r.unit))
            .collect();
        for status in STATUSES {
            let count = self
                .rows
                .iter()
                .filter(|r| r.section == "entitlement" && r.status == Some(status))
                .count();
            figures.push(figure("entitlement", status, count as i64, "elders"));
        }
        let overdue = self
            .rows
            .iter()
            .filter(|r| r.section == "overdue_visit")
            .count();
        figures.push(figure("overdue_visit", "elders", overdue as i64, "elders"));
        figures.sort();
        figures
    }
}

/// A month close this store holds: its record id and the close.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldClose {
    /// The record's id.
    pub id: Id,
    /// Who signed it.
    pub author: crate::identity::PublicKey,
    /// The close.
    pub close: MonthClose,
}

impl CareStore {
    /// Closes `month` (a coordinator or the centre): signs the month's aggregate figures, from
    /// the monthly report as of the month's last instant (or now, if earlier), with the town's
    /// chain `town` (which must certify this circle's centre key). If the month was closed
    /// before, the new close is the next version and supersedes the latest one. Returns the
    /// new record's id.
    pub fn close_month(&mut self, month: Month, town: AuthorityChain) -> Result<Id> {
        let centre = self.circle().centre_key;
        if town.leaf().map(|c| c.statement.subject) != Some(centre) {
            return Err(ValidationError::Inconsistent(
                "the town chain certifies another key than this circle's centre",
            )
            .into());
        }
        let latest = self
            .month_closes(month)?
            .into_iter()
            .max_by_key(|c| (c.close.version, c.id));
        let last = UnixMs::new(month.end_ms() - 1).map_err(|source| ValidationError::Instant {
            field: "month",
            source,
        })?;
        let now = last.min(self.store().now()?);
        let report = MonthlyReport::build(self, month, now, false)?;
        let close = MonthClose {
            month: month.to_string(),
            version: latest
                .as_ref()
                .map_or(1, |c| c.close.version.saturating_add(1)),
            supersedes: latest.map(|c| c.id),
            figures: report.figures(),
            town,
        };
        self.write(RecordBody::MonthClose(close))
    }

    /// Every close of `month` this store holds, every version, in no particular order.
    pub fn month_closes(&self, month: Month) -> Result<Vec<HeldClose>> {
        let wanted = month.to_string();
        let mut closes = Vec::new();
        for added in self.store().records_added_since(0, &["month_close"])? {
            let Some(bytes) = added.bytes else { continue };
            let record = SignedRecord::from_bytes(&bytes)?;
            if let RecordBody::MonthClose(close) = record.body()
                && close.month == wanted
            {
                closes.push(HeldClose {
                    id: record.id(),
                    author: record.author(),
                    close: close.clone(),
                });
            }
        }
        Ok(closes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Circle;
    use crate::domain::{Enrolment, Role, Site, SiteKind};
    use crate::hlc::Hlc;
    use crate::identity::DeviceKey;
    use crate::identity::authority::{AuthorityLevel, AuthorityStatement};
    use crate::record::month_close::{CloseError, verify_month_close};
    use crate::record::{ChainLink, Envelope, FORMAT_VERSION};

    const NOV_2026: u64 = 1_793_577_600_000;
    const YEAR: u64 = 365 * 86_400_000;

    fn chain_to(subject: crate::identity::PublicKey) -> AuthorityChain {
        let (province, district) = (DeviceKey::from_seed([1; 32]), DeviceKey::from_seed([2; 32]));
        let statement = |level, subject, issuer: &DeviceKey| AuthorityStatement {
            level,
            subject,
            name: "镇".into(),
            region: "3301".into(),
            issuer: issuer.public_key(),
            valid_from_ms: NOV_2026 - YEAR,
            valid_until_ms: NOV_2026 + YEAR,
        };
        let d = statement(AuthorityLevel::District, district.public_key(), &province);
        let t = statement(AuthorityLevel::Town, subject, &district);
        AuthorityChain::new(vec![
            d.sign(&province).expect("district"),
            t.sign(&district).expect("town"),
        ])
    }

    /// A centre with a caregiver enrolled; returns it, the caregiver's key and the enrolment's
    /// bytes.
    fn circle() -> (CareStore, DeviceKey, Vec<u8>) {
        let centre = DeviceKey::from_seed([10; 32]);
        let circle = Circle {
            circle_id: Id::from_bytes([0xc1; 16]),
            centre_key: centre.public_key(),
        };
        let mut store = CareStore::open_in_memory(circle, centre).expect("store");
        store.set_wall_clock(Box::new(|| NOV_2026 + 40 * 86_400_000));
        let site_id = Id::from_bytes([0x51; 16]);
        store
            .add_site(Site {
                site_id,
                kind: SiteKind::Centre,
                name: "中心".into(),
                parent: None,
            })
            .expect("site");
        let caregiver = DeviceKey::from_seed([11; 32]);
        let enrolled = store
            .enrol(Enrolment {
                member_id: Id::from_bytes([0x77; 16]),
                name: String::new(),
                role: Role::Caregiver,
                site_id,
                device_key: caregiver.public_key(),
                family_of: None,
                valid_from_ms: None,
                valid_until_ms: None,
                household: None,
                birth_year: None,
            })
            .expect("enrol");
        let bytes = store.get(enrolled).expect("record").as_bytes().to_vec();
        (store, caregiver, bytes)
    }

    #[test]
    fn a_centre_closes_and_corrects_and_both_verify_under_the_province() {
        let (mut store, _, _) = circle();
        let month: Month = "2026-11".parse().expect("month");
        let town = chain_to(store.circle().centre_key);
        let first = store.close_month(month, town.clone()).expect("close");
        let second = store.close_month(month, town).expect("correct");
        let root = DeviceKey::from_seed([1; 32]).public_key();
        for (id, version, supersedes) in [(first, 1, None), (second, 2, Some(first))] {
            let bytes = store.get(id).expect("record").as_bytes().to_vec();
            let verified = verify_month_close(&bytes, &[], root).expect("verifies");
            assert_eq!(verified.close.version, version);
            assert_eq!(verified.close.supersedes, supersedes);
            assert_eq!(verified.town.subject.key, store.circle().centre_key);
        }
        let other_root = DeviceKey::from_seed([3; 32]).public_key();
        let bytes = store.get(first).expect("record").as_bytes().to_vec();
        assert!(matches!(
            verify_month_close(&bytes, &[], other_root),
            Err(CloseError::Authority(_))
        ));
        // A chain to another centre is refused before anything is signed.
        let elsewhere = chain_to(DeviceKey::from_seed([12; 32]).public_key());
        assert!(store.close_month(month, elsewhere).is_err());
        assert_eq!(store.month_closes(month).expect("closes").len(), 2);
    }

    #[test]
    fn a_close_signed_by_a_caregiver_does_not_verify() {
        let (store, caregiver, enrolment) = circle();
        let close = MonthClose {
            month: "2026-11".into(),
            version: 1,
            supersedes: None,
            figures: vec![],
            town: chain_to(store.circle().centre_key),
        };
        let envelope = Envelope {
            v: FORMAT_VERSION,
            circle: store.circle().circle_id,
            author: caregiver.public_key(),
            hlc: Hlc {
                ms: NOV_2026 + 35 * 86_400_000,
                counter: 0,
            },
            body: RecordBody::MonthClose(close),
            link: Some(ChainLink::FIRST),
        };
        let record = SignedRecord::sign(envelope, &caregiver).expect("signed");
        let root = DeviceKey::from_seed([1; 32]).public_key();
        assert_eq!(
            verify_month_close(record.as_bytes(), &[enrolment], root),
            Err(CloseError::Signer(caregiver.public_key()))
        );
    }

    #[test]
    fn a_close_holds_aggregates_only() {
        let (store, _, _) = circle();
        let figure = |key: &str| Figure {
            section: "entitlement".into(),
            key: key.into(),
            value: 1,
            unit: "elders".into(),
        };
        let close = |figures, version, supersedes| MonthClose {
            month: "2026-11".into(),
            version,
            supersedes,
            figures,
            town: chain_to(store.circle().centre_key),
        };
        assert!(
            close(vec![figure("under_served")], 1, None)
                .validate()
                .is_ok()
        );
        // An elder's id does not fit a figure's key.
        let elder = Id::from_bytes([0x42; 16]).to_string();
        assert!(close(vec![figure(&elder)], 1, None).validate().is_err());
        assert!(close(vec![figure("王奶奶")], 1, None).validate().is_err());
        assert!(close(vec![], 2, None).validate().is_err());
        assert!(
            close(vec![], 1, Some(Id::from_bytes([1; 16])))
                .validate()
                .is_err()
        );
        let unsorted = vec![figure("within_quota"), figure("over_quota")];
        assert!(close(unsorted, 1, None).validate().is_err());
    }
}
