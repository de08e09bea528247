//! The village itself: who is in it, how it is built (every store already holding the
//! enrolments, as after a first sync) and how its devices are reached.

use carebank_core::domain::{
    CareLevel, Consent, ConsentPurpose, ConsentRelation, Elder, Enrolment, EntitlementGroup, Role,
    Site, SiteKind,
};
use carebank_core::identity::DeviceKey;
use carebank_core::ids::Id;
use carebank_core::store::IngestReport;
use carebank_core::{CareStore, Circle};

use crate::{DAY, Result, START_MS, SimClock, fixed_id, household_of, key};

/// A member's device: their id and their store.
pub struct Device {
    /// The member's id.
    pub member_id: Id,
    /// The device's store.
    pub store: CareStore,
}

/// A village: a centre, one village point, a coordinator, caregivers, volunteers and elders.
pub struct Village {
    /// Which town's village this is (0 for the reference village; see [`Village::build_town`]).
    pub town: u64,
    /// The circle every store belongs to.
    pub circle: Circle,
    /// The clock every store reads.
    pub clock: SimClock,
    /// The centre's own store (holds the root key).
    pub centre: CareStore,
    /// The village point.
    pub point_id: Id,
    /// The coordinator.
    pub coordinator: Device,
    /// Caregivers (Android phones).
    pub caregivers: Vec<Device>,
    /// Volunteers (iPhones).
    pub volunteers: Vec<Device>,
    /// Elders, in enrolment order.
    pub elders: Vec<Id>,
}

/// What each elder of a village is like.
#[derive(Clone, Copy)]
pub struct ElderSpec {
    /// Visit cadence in days.
    pub cadence_days: u32,
    /// Monthly government-bought hours (0: not entitled).
    pub entitled_hours: u32,
}

impl ElderSpec {
    /// An elder visited weekly (a left-behind elder living alone) with `entitled_hours` of
    /// government-bought hours a month.
    pub const fn weekly(entitled_hours: u32) -> ElderSpec {
        ElderSpec {
            cadence_days: 7,
            entitled_hours,
        }
    }
}

/// How far apart two towns' key seeds lie: each town's devices sign with keys of their own.
const TOWN_SEEDS: u64 = 1_000_000;
/// How far apart two towns' fixed ids lie (circle, sites, members, elders).
const TOWN_IDS: u64 = 1 << 32;

/// Opens a device's store: given the device's name (`centre`, `coordinator`, `caregiver-01` …),
/// the circle and the device's key. The village sets the store's clock afterwards.
pub type Opener<'a> = &'a mut dyn FnMut(&str, Circle, DeviceKey) -> Result<CareStore>;

fn open_device(
    opener: Opener<'_>,
    name: &str,
    circle: Circle,
    seed: u64,
    clock: &SimClock,
) -> Result<CareStore> {
    let mut store = opener(name, circle, key(seed))?;
    clock.drive(&mut store);
    Ok(store)
}

/// An enrolment of `device_key` for `member_id` in `role` at `site_id`, with no validity
/// window, household or family tie.
pub fn enrolment(
    member_id: Id,
    name: String,
    role: Role,
    site_id: Id,
    device_key: carebank_core::identity::PublicKey,
) -> Enrolment {
    Enrolment {
        member_id,
        name,
        role,
        site_id,
        device_key,
        family_of: None,
        valid_from_ms: None,
        valid_until_ms: None,
        household: None,
        birth_year: None,
    }
}

/// The full consent the village's elders have given.
pub fn full_consent(at_ms: u64) -> Consent {
    Consent {
        given_by: "本人".into(),
        relation: ConsentRelation::Elder,
        given_at_ms: at_ms,
        purposes: vec![
            ConsentPurpose::CareRecords,
            ConsentPurpose::HealthObservations,
            ConsentPurpose::Location,
            ConsentPurpose::DistrictReporting,
        ],
    }
}

impl Village {
    /// Builds a village with `caregivers` caregivers, `volunteers` volunteers and one elder per
    /// spec, every store already holding the enrolments (as after a first sync).
    pub fn build(caregivers: usize, volunteers: usize, elders: &[ElderSpec]) -> Result<Village> {
        Self::build_with(
            &mut |_, circle, key| Ok(CareStore::open_in_memory(circle, key)?),
            caregivers,
            volunteers,
            elders,
        )
    }

    /// A village whose phones keep their stores in files under `dir` (`NAME.db`), the n-th
    /// store opened (from 1) with the key `store_key(n)`.
    pub fn on_disk(
        dir: &std::path::Path,
        store_key: impl Fn(u8) -> carebank_core::store::StoreKey,
        caregivers: usize,
        volunteers: usize,
        elders: &[ElderSpec],
    ) -> Result<Village> {
        let mut n = 0u8;
        let mut opener = |name: &str, circle, key| {
            n += 1;
            Ok(CareStore::open(
                &dir.join(format!("{name}.db")),
                &store_key(n),
                circle,
                key,
            )?)
        };
        Village::build_with(&mut opener, caregivers, volunteers, elders)
    }

    /// The village of town `town` (1, 2, …), built as [`Village::build`] builds the reference
    /// village (town 0) but with a circle, keys and ids of its own, so that several villages
    /// (in several districts) can stand side by side.
    pub fn build_town(
        town: u64,
        caregivers: usize,
        volunteers: usize,
        elders: &[ElderSpec],
    ) -> Result<Village> {
        Self::build_in(
            town,
            &mut |_, circle, key| Ok(CareStore::open_in_memory(circle, key)?),
            caregivers,
            volunteers,
            elders,
        )
    }

    /// As [`Village::build`], opening each device's store with `opener`.
    pub fn build_with(
        opener: Opener<'_>,
        caregivers: usize,
        volunteers: usize,
        elders: &[ElderSpec],
    ) -> Result<Village> {
        Self::build_in(0, opener, caregivers, volunteers, elders)
    }

    fn build_in(
        town: u64,
        opener: Opener<'_>,
        caregivers: usize,
        volunteers: usize,
        elders: &[ElderSpec],
    ) -> Result<Village> {
        let seed = |s: u64| s + town * TOWN_SEEDS;
        let fixed_id = |n: u64| fixed_id(n + town * TOWN_IDS);
        let clock = SimClock::at(START_MS - DAY);
        let centre_key = key(seed(1));
        let circle = Circle {
            circle_id: fixed_id(0xc1),
            centre_key: centre_key.public_key(),
        };
        let mut centre = open_device(opener, "centre", circle, seed(1), &clock)?;

        let centre_site = fixed_id(0x5100);
        let point_id = fixed_id(0x5101);
        centre.add_site(Site {
            site_id: centre_site,
            kind: SiteKind::Centre,
            name: "龙泉镇养老服务中心".into(),
            parent: None,
        })?;
        centre.add_site(Site {
            site_id: point_id,
            kind: SiteKind::VillagePoint,
            name: "石桥村互助养老点".into(),
            parent: Some(centre_site),
        })?;
        let coordinator_id = fixed_id(0x1000);
        let mut coordinator = open_device(opener, "coordinator", circle, seed(2), &clock)?;
        centre.enrol(enrolment(
            coordinator_id,
            "李站长".into(),
            Role::Coordinator,
            point_id,
            coordinator.public_key(),
        ))?;
        coordinator.merge_from(&centre)?;

        let mut make = |role: Role,
                        n: usize,
                        seed0: u64,
                        id0: u64,
                        name: &str,
                        file: &str|
         -> Result<Vec<Device>> {
            (0..n)
                .map(|i| {
                    let store = open_device(
                        opener,
                        &format!("{file}-{:02}", i + 1),
                        circle,
                        seed(seed0 + i as u64),
                        &clock,
                    )?;
                    let member_id = fixed_id(id0 + i as u64);
                    coordinator.enrol(Enrolment {
                        // Volunteers come in households of two (a retiree and a younger
                        // relative): relatives may give each other time-bank hours.
                        household: (role == Role::Volunteer).then(|| household_of(i)),
                        ..enrolment(
                            member_id,
                            format!("{name}{}", i + 1),
                            role,
                            point_id,
                            store.public_key(),
                        )
                    })?;
                    Ok(Device { member_id, store })
                })
                .collect()
        };
        let mut caregivers = make(
            Role::Caregiver,
            caregivers,
            100,
            0x2000,
            "助老员",
            "caregiver",
        )?;
        let mut volunteers = make(
            Role::Volunteer,
            volunteers,
            200,
            0x3000,
            "志愿者",
            "volunteer",
        )?;

        let mut elder_ids = Vec::new();
        for (i, spec) in elders.iter().enumerate() {
            let elder_id = fixed_id(0x4000 + i as u64);
            coordinator.enrol_elder(Elder {
                elder_id,
                site_id: point_id,
                name: format!("老人{:03}", i + 1),
                birth_year: 1940 + (i as u32 % 20),
                groups: if spec.entitled_hours > 0 {
                    vec![EntitlementGroup::ExtremePoverty]
                } else {
                    vec![]
                },
                care_level: CareLevel::Mild,
                visit_cadence_days: spec.cadence_days,
                monthly_entitled_hours: spec.entitled_hours,
                responsible_member: caregivers.first().map(|d| d.member_id),
                consent: full_consent(clock.now()),
            })?;
            elder_ids.push(elder_id);
        }
        for device in caregivers.iter_mut().chain(volunteers.iter_mut()) {
            device.store.merge_from(&coordinator)?;
        }
        clock.set(START_MS);
        Ok(Village {
            town,
            circle,
            clock,
            centre,
            point_id,
            coordinator: Device {
                member_id: coordinator_id,
                store: coordinator,
            },
            caregivers,
            volunteers,
            elders: elder_ids,
        })
    }

    /// The signing key of member device `i` (numbered as in [`Village::device`]): the village's
    /// keys are derived from fixed seeds, so benchmarks can sign records in bulk outside a store.
    pub fn device_key(&self, i: usize) -> DeviceKey {
        let seed = match i {
            0 => 2,
            i if i <= self.caregivers.len() => 100 + (i as u64 - 1),
            i => 200 + (i - 1 - self.caregivers.len()) as u64,
        };
        key(seed + self.town * TOWN_SEEDS)
    }

    /// Every member device's store, numbered as in [`Village::device`].
    pub fn devices_mut(&mut self) -> Vec<&mut CareStore> {
        let mut all = vec![&mut self.coordinator.store];
        all.extend(self.caregivers.iter_mut().map(|d| &mut d.store));
        all.extend(self.volunteers.iter_mut().map(|d| &mut d.store));
        all
    }

    /// How many member devices there are.
    pub fn device_count(&self) -> usize {
        1 + self.caregivers.len() + self.volunteers.len()
    }

    /// Member device `i`: 0 is the coordinator, then the caregivers, then the volunteers.
    pub fn device(&self, i: usize) -> &Device {
        match i {
            0 => &self.coordinator,
            i if i <= self.caregivers.len() => &self.caregivers[i - 1],
            i => &self.volunteers[i - 1 - self.caregivers.len()],
        }
    }

    /// Member device `i`, mutably (numbered as in [`Village::device`]).
    pub fn device_mut(&mut self, i: usize) -> &mut Device {
        match i {
            0 => &mut self.coordinator,
            i if i <= self.caregivers.len() => &mut self.caregivers[i - 1],
            i => &mut self.volunteers[i - 1 - self.caregivers.len()],
        }
    }

    /// Two different member devices at once (for two phones that meet).
    pub fn pair_mut(&mut self, a: usize, b: usize) -> (&mut CareStore, &mut CareStore) {
        assert_ne!(a, b, "a device does not meet itself");
        let mut all = self.devices_mut();
        let (low, high) = (a.min(b), a.max(b));
        let second = all.swap_remove(high);
        let first = all.swap_remove(low);
        if a < b {
            (first, second)
        } else {
            (second, first)
        }
    }

    /// Device `into` pulls every document device `from` holds, and its keyring.
    pub fn merge(&mut self, into: usize, from: usize) -> Result<IngestReport> {
        let (docs, keys) = {
            let from = &self.device(from).store;
            (from.documents()?, from.keyring()?)
        };
        let into = &mut self.device_mut(into).store;
        let mut report = into.merge_docs(docs)?;
        report.added.extend(into.take_keyring(&keys)?.admitted);
        Ok(report)
    }
}
