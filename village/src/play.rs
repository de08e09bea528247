//! A day's planned work (`workload::Work`) done on the village's devices.

use carebank_core::domain::{CorrectionAction, Funding, RecordBody};
use carebank_core::ids::Id;

use crate::workload::Work;
use crate::{MINUTE, Result, Village};

/// What [`Village::play`] wrote.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Played {
    /// Visits and services recorded.
    pub care_records: usize,
    /// Of those, voided later the same day.
    pub voids: usize,
    /// Of those, amended later the same day.
    pub amendments: usize,
    /// Services given for time-bank hours: (device, service record id, minutes).
    pub time_bank_services: Vec<(usize, Id, i64)>,
}

impl std::ops::AddAssign for Played {
    fn add_assign(&mut self, other: Played) {
        self.care_records += other.care_records;
        self.voids += other.voids;
        self.amendments += other.amendments;
        self.time_bank_services.extend(other.time_bank_services);
    }
}

impl Village {
    /// Does a day's planned work on the devices it names, moving the clock along with it.
    pub fn play(&mut self, work: Vec<(usize, Work)>) -> Result<Played> {
        let mut written: Vec<Vec<Id>> = vec![Vec::new(); self.device_count()];
        let mut played = Played::default();
        for (device, item) in work {
            let clock = self.clock.clone();
            let store = &mut self.device_mut(device).store;
            let id = match item {
                Work::Visit(v) => {
                    clock.set(clock.now().max(v.check_out_ms));
                    store.record_visit(v)?
                }
                Work::Service(s) => {
                    clock.set(
                        clock
                            .now()
                            .max(s.started_ms + s.duration_minutes as u64 * MINUTE),
                    );
                    let (minutes, time_bank) = (s.duration_minutes, s.funding == Funding::TimeBank);
                    let id = store.record_service(s)?;
                    if time_bank {
                        played.time_bank_services.push((device, id, minutes));
                    }
                    id
                }
                Work::Correct { nth_latest, void } => {
                    let mine = &written[device];
                    let Some(target) = mine.len().checked_sub(1 + nth_latest).map(|i| mine[i])
                    else {
                        continue;
                    };
                    let action = match (void, store.get(target)?.body().clone()) {
                        (true, _) => CorrectionAction::Void {},
                        (false, RecordBody::Service(mut s)) => {
                            s.duration_minutes += 15;
                            CorrectionAction::Amend {
                                replacement: Box::new(RecordBody::Service(s)),
                            }
                        }
                        (false, RecordBody::Visit(mut v)) => {
                            v.check_out_ms += 15 * MINUTE;
                            CorrectionAction::Amend {
                                replacement: Box::new(RecordBody::Visit(v)),
                            }
                        }
                        (false, _) => continue,
                    };
                    let reason = if void {
                        "重复录入，作废"
                    } else {
                        "时长填错，更正"
                    };
                    store.correct(target, action, reason)?;
                    if void {
                        played.voids += 1;
                    } else {
                        played.amendments += 1;
                    }
                    continue;
                }
            };
            written[device].push(id);
            played.care_records += 1;
        }
        Ok(played)
    }
}
