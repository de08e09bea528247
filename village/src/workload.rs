//! The reference workload (`shared/WORKLOAD.md`): one village, generated deterministically from
//! a seed, day by day, so that tests, benchmarks and the demo play the same village-year.

use carebank_core::domain::{
    BathCheck, BathPlace, ConfirmMethod, Confirmation, ConfirmedBy, FollowUp, Funding, Level,
    MealMode, Observations, RiskFlag, Service, ServiceDetail, Visit,
};
use carebank_core::ids::Id;

use crate::{DAY, ElderSpec, MINUTE, START_MS};

/// A small, fast, portable pseudo-random generator (SplitMix64): the same seed gives the same
/// village on every machine and every version of every dependency.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
    /// True with probability `percent`/100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// The shape of the village and of a day's work.
#[derive(Debug, Clone)]
pub struct WorkloadSpec {
    /// Seed for everything random.
    pub seed: u64,
    /// Caregivers (Android).
    pub caregivers: usize,
    /// Volunteers (iOS).
    pub volunteers: usize,
    /// Elders.
    pub elders: usize,
    /// Of which entitled to government-bought services (30, 45 or 60 h a month).
    pub entitled: usize,
    /// Of which left behind, visited every 7 days (the rest every 14).
    pub left_behind: usize,
    /// Home visits a day.
    pub visits: usize,
    /// Meal services a day.
    pub meals: usize,
    /// Bath services a day.
    pub baths: usize,
    /// Other services a day (cleaning, mobility, medical escort, companionship).
    pub others: usize,
    /// Volunteer services that earn time-bank hours, a day.
    pub volunteer_services: usize,
    /// Corrections a day.
    pub corrections: usize,
}

impl Default for WorkloadSpec {
    /// The reference village of `shared/WORKLOAD.md`.
    fn default() -> Self {
        WorkloadSpec {
            seed: 2026,
            caregivers: 6,
            volunteers: 20,
            elders: 120,
            entitled: 40,
            left_behind: 30,
            visits: 60,
            meals: 80,
            baths: 8,
            others: 25,
            volunteer_services: 30,
            corrections: 2,
        }
    }
}

impl WorkloadSpec {
    /// The elders: the first `entitled` get 30, 45 or 60 hours; the first `left_behind` are
    /// visited weekly, the rest fortnightly.
    pub fn elder_specs(&self) -> Vec<ElderSpec> {
        (0..self.elders)
            .map(|i| ElderSpec {
                cadence_days: if i < self.left_behind { 7 } else { 14 },
                entitled_hours: if i < self.entitled {
                    [30, 45, 60][i % 3]
                } else {
                    0
                },
            })
            .collect()
    }
}

/// One piece of work for one device: `device` numbers as in `Village::device`
/// (0 the coordinator, then caregivers, then volunteers).
#[derive(Debug, Clone)]
pub enum Work {
    /// Record this visit.
    Visit(Visit),
    /// Record this service.
    Service(Service),
    /// Correct this device's `nth` most recent care record of the day (void or amend the duration).
    Correct {
        /// Which of the day's own records, counting back from the latest.
        nth_latest: usize,
        /// Void it, or else amend its duration (services) / check-out (visits) by this many minutes.
        void: bool,
    },
}

/// Plans the village's days.
pub struct Workload {
    spec: WorkloadSpec,
    rng: Rng,
    elders: Vec<Id>,
    members: Vec<Id>,
    last_visit_day: Vec<Option<u64>>,
}

impl Workload {
    /// A planner for a village whose elders and member devices have these ids.
    pub fn new(spec: WorkloadSpec, elders: Vec<Id>, members: Vec<Id>) -> Workload {
        let rng = Rng::new(spec.seed);
        let n = elders.len();
        Workload {
            spec,
            rng,
            elders,
            members,
            last_visit_day: vec![None; n],
        }
    }

    /// The seed's generator, for callers that draw their own events (outages, meetings).
    pub fn rng(&mut self) -> &mut Rng {
        &mut self.rng
    }

    fn caregiver(&mut self) -> usize {
        1 + self.rng.below(self.spec.caregivers as u64) as usize
    }

    fn volunteer(&mut self) -> usize {
        1 + self.spec.caregivers + self.rng.below(self.spec.volunteers as u64) as usize
    }

    fn elder(&mut self) -> usize {
        self.rng.below(self.elders.len() as u64) as usize
    }

    fn at(&mut self, day: u64) -> u64 {
        START_MS + day * DAY + self.rng.below(10 * 60) * MINUTE
    }

    /// The elders most due for a visit on `day`, a few picked at random instead.
    fn visit_targets(&mut self, day: u64) -> Vec<usize> {
        let specs = self.spec.elder_specs();
        let mut order: Vec<(i64, usize)> = (0..self.elders.len())
            .map(|e| {
                let last = self.last_visit_day[e].map_or(-1, |d| d as i64);
                (last + i64::from(specs[e].cadence_days) - day as i64, e)
            })
            .collect();
        order.sort();
        let mut picked: Vec<usize> = Vec::new();
        while picked.len() < self.spec.visits.min(self.elders.len()) {
            let e = if self.rng.chance(70) {
                order.iter().map(|(_, e)| *e).find(|e| !picked.contains(e))
            } else {
                Some(self.elder()).filter(|e| !picked.contains(e))
            };
            if let Some(e) = e {
                picked.push(e);
            }
        }
        picked
    }

    /// Everything the village does on `day` (0 = the first morning), in time order.
    pub fn day(&mut self, day: u64) -> Vec<(usize, Work)> {
        let specs = self.spec.elder_specs();
        let mut work: Vec<(u64, usize, Work)> = Vec::new();

        for e in self.visit_targets(day) {
            let device = self.caregiver();
            let at = self.at(day);
            let risky = self.rng.chance(10);
            let visit = Visit {
                elder_id: self.elders[e],
                caregiver_id: self.members[device],
                check_in_ms: at,
                check_out_ms: at + (20 + self.rng.below(40)) * MINUTE,
                location: None,
                observations: Observations {
                    health: Some(if risky { Level::Poor } else { Level::Good }),
                    mood: Some([Level::Good, Level::Fair, Level::Poor][self.rng.below(3) as usize]),
                    home_safety: None,
                    note: None,
                },
                risk_flags: if risky {
                    vec![RiskFlag::Illness]
                } else {
                    vec![]
                },
                follow_ups: if risky {
                    vec![FollowUp {
                        action: "联系村医上门看诊".into(),
                        due_ms: Some(at + 2 * DAY),
                    }]
                } else {
                    vec![]
                },
            };
            self.last_visit_day[e] = Some(day);
            work.push((at, device, Work::Visit(visit)));
        }

        let entitled = self.spec.entitled.min(self.elders.len()) as u64;
        let mut add_service =
            |w: &mut Workload, device: usize, minutes: i64, detail: ServiceDetail, earns: bool| {
                // Entitled elders receive most of the services (their hours are paid for).
                let e = if entitled > 0 && w.rng.chance(60) {
                    w.rng.below(entitled) as usize
                } else {
                    w.elder()
                };
                let at = w.at(day);
                let funding = if earns {
                    Funding::TimeBank
                } else if specs[e].entitled_hours > 0 {
                    Funding::Government
                } else {
                    Funding::SelfPaid
                };
                let confirmation = w.rng.chance(60).then_some(Confirmation {
                    by: ConfirmedBy::Elder,
                    member_id: None,
                    method: ConfirmMethod::PrintedCard,
                    at_ms: at,
                    card: None,
                });
                let service = Service {
                    elder_id: w.elders[e],
                    provider_id: w.members[device],
                    started_ms: at,
                    duration_minutes: minutes,
                    funding,
                    detail,
                    confirmation,
                };
                work.push((at, device, Work::Service(service)));
            };

        for _ in 0..self.spec.meals {
            let device = if self.rng.chance(50) {
                self.caregiver()
            } else {
                self.volunteer()
            };
            let mode = [MealMode::Delivered, MealMode::DiningTable][self.rng.below(2) as usize];
            let detail = ServiceDetail::Meal {
                mode,
                portions: 1,
                diet_notes: None,
            };
            add_service(self, device, 30, detail, false);
        }
        for _ in 0..self.spec.baths {
            let device = self.caregiver();
            let place = [BathPlace::Home, BathPlace::BathingPoint][self.rng.below(2) as usize];
            let detail = ServiceDetail::Bath {
                place,
                safety_checks: vec![BathCheck::WaterTemperature, BathCheck::NonSlipMat],
                skin_condition: None,
            };
            let minutes = 40 + self.rng.below(30) as i64;
            add_service(self, device, minutes, detail, false);
        }
        for _ in 0..self.spec.others {
            let device = self.caregiver();
            let detail = match self.rng.below(4) {
                0 => ServiceDetail::Cleaning {},
                1 => ServiceDetail::Mobility {},
                2 => ServiceDetail::MedicalEscort {
                    destination: Some("镇卫生院".into()),
                },
                _ => ServiceDetail::Companionship {},
            };
            let minutes = 30 + self.rng.below(90) as i64;
            add_service(self, device, minutes, detail, false);
        }
        for _ in 0..self.spec.volunteer_services {
            let device = self.volunteer();
            let detail = [
                ServiceDetail::Companionship {},
                ServiceDetail::Cleaning {},
                ServiceDetail::Mobility {},
            ][self.rng.below(3) as usize]
                .clone();
            let minutes = 30 + 30 * self.rng.below(4) as i64;
            add_service(self, device, minutes, detail, true);
        }
        for _ in 0..self.spec.corrections {
            let device = self.caregiver();
            let at = START_MS + day * DAY + 11 * 3_600_000;
            let void = self.rng.chance(50);
            work.push((
                at,
                device,
                Work::Correct {
                    nth_latest: self.rng.below(3) as usize,
                    void,
                },
            ));
        }
        work.sort_by_key(|(at, device, _)| (*at, *device));
        work.into_iter().map(|(_, device, w)| (device, w)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixed_id;

    fn planner(seed: u64) -> Workload {
        let spec = WorkloadSpec {
            seed,
            ..WorkloadSpec::default()
        };
        let elders = (0..spec.elders as u64).map(fixed_id).collect();
        let members = (0..27u64).map(|i| fixed_id(1000 + i)).collect();
        Workload::new(spec, elders, members)
    }

    #[test]
    fn a_day_has_the_reference_amounts_and_the_same_seed_gives_the_same_day() {
        let day = planner(7).day(0);
        let visits = day
            .iter()
            .filter(|(_, w)| matches!(w, Work::Visit(_)))
            .count();
        let services = day
            .iter()
            .filter(|(_, w)| matches!(w, Work::Service(_)))
            .count();
        assert_eq!(visits, 60);
        assert_eq!(services, 80 + 8 + 25 + 30);
        assert_eq!(format!("{:?}", planner(7).day(0)), format!("{day:?}"));
        assert_ne!(format!("{:?}", planner(8).day(0)), format!("{day:?}"));
        for (_, w) in &day {
            match w {
                Work::Visit(v) => v.validate().expect("valid visit"),
                Work::Service(s) => s.validate().expect("valid service"),
                Work::Correct { .. } => {}
            }
        }
    }
}
