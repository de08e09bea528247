//! Time-bank fixtures: a village whose members include two relatives of one household (an
//! older and a younger volunteer) and a family member of the first elder, and helpers to give
//! time-bank services and to sync every device.

use carebank_core::CareStore;
use carebank_core::domain::{Enrolment, Funding, Role, ServiceDetail};
use carebank_core::ids::Id;

use crate::{
    DAY, Device, ElderSpec, MINUTE, Result, START_MS, Village, enrolment, fixed_id, open, service,
};

/// A village with a time bank.
pub struct Bank {
    /// The village (coordinator, 2 caregivers, 2 volunteers, 2 elders).
    pub v: Village,
    /// A volunteer born in 1950, of the [`household`].
    pub senior: Device,
    /// A volunteer born in 1995, of the [`household`] (the senior's relative).
    pub junior: Device,
    /// A family member of the first elder.
    pub family: Device,
}

/// The household the senior and junior volunteers share.
pub fn household() -> Id {
    fixed_id(0x6000)
}

/// What a member's certificate says beyond their role.
#[derive(Clone, Copy, Default)]
pub struct Profile {
    /// Their household.
    pub household: Option<Id>,
    /// Their year of birth.
    pub birth_year: Option<u32>,
    /// For family members, their elder.
    pub family_of: Option<Id>,
}

/// Enrols a new member with a device of key `seed`, certified by the coordinator.
pub fn enrol(v: &mut Village, role: Role, seed: u64, profile: Profile) -> Result<Device> {
    let store = open(v.circle, seed, &v.clock)?;
    let member_id = fixed_id(0x7000 + seed);
    v.coordinator.store.enrol(Enrolment {
        family_of: profile.family_of,
        household: profile.household,
        birth_year: profile.birth_year,
        ..enrolment(
            member_id,
            format!("成员{seed}"),
            role,
            v.point_id,
            store.public_key(),
        )
    })?;
    Ok(Device { member_id, store })
}

impl Bank {
    /// Builds the bank and syncs every device.
    pub fn build() -> Result<Bank> {
        let spec = ElderSpec::weekly(0);
        let mut v = Village::build(2, 2, &[spec, spec])?;
        let relative = |birth_year| Profile {
            household: Some(household()),
            birth_year: Some(birth_year),
            family_of: None,
        };
        let senior = enrol(&mut v, Role::Volunteer, 300, relative(1950))?;
        let junior = enrol(&mut v, Role::Volunteer, 301, relative(1995))?;
        let family_of = Some(v.elders[0]);
        let family = enrol(
            &mut v,
            Role::Family,
            302,
            Profile {
                family_of,
                ..Profile::default()
            },
        )?;
        let mut bank = Bank {
            v,
            senior,
            junior,
            family,
        };
        bank.sync()?;
        Ok(bank)
    }

    /// Every device store: coordinator, caregivers, volunteers, senior, junior, family.
    pub fn stores_mut(&mut self) -> Vec<&mut CareStore> {
        let mut all = self.v.devices_mut();
        all.push(&mut self.senior.store);
        all.push(&mut self.junior.store);
        all.push(&mut self.family.store);
        all
    }

    /// Every device (and the centre) syncs through the coordinator.
    pub fn sync(&mut self) -> Result<()> {
        let Bank {
            v,
            senior,
            junior,
            family,
        } = self;
        let mut stores = vec![&mut v.coordinator.store, &mut v.centre];
        stores.extend(v.caregivers.iter_mut().map(|d| &mut d.store));
        stores.extend(v.volunteers.iter_mut().map(|d| &mut d.store));
        stores.extend([&mut senior.store, &mut junior.store, &mut family.store]);
        sync_all(&mut stores)
    }
}

/// The first store collects from all the others, then they all take from it.
pub fn sync_all(stores: &mut [&mut CareStore]) -> Result<()> {
    let Some((hub, rest)) = stores.split_first_mut() else {
        return Ok(());
    };
    for store in rest.iter() {
        hub.merge_from(store)?;
    }
    for store in rest.iter_mut() {
        store.merge_from(hub)?;
    }
    Ok(())
}

/// `provider` records `minutes` of time-bank companionship for `elder`, `day` days after the
/// fixtures' first morning; returns the service record's id.
pub fn serve(
    store: &mut CareStore,
    provider: Id,
    elder: Id,
    day: u64,
    minutes: i64,
) -> carebank_core::Result<Id> {
    store.record_service(service(
        elder,
        provider,
        START_MS + day * DAY + 10 * 60 * MINUTE,
        minutes,
        Funding::TimeBank,
        ServiceDetail::Companionship {},
    ))
}
