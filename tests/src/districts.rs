//! Villages in districts under one province (通存通兑): a province root key, district keys it
//! certifies, and villages whose town centres the districts certify, each with the authority
//! chain its coordinator hands out with a transfer statement; and helpers to earn hours and to
//! sync a village.

use carebank_core::CareStore;
use carebank_core::domain::{ConfirmMethod, Role};
use carebank_core::identity::authority::{
    AuthorityCertificate, AuthorityChain, AuthorityLevel, AuthorityStatement,
};
use carebank_core::identity::{DeviceKey, PublicKey};
use carebank_core::ids::Id;

use crate::ledger::{serve, sync_all};
use crate::{DAY, Device, ElderSpec, Result, START_MS, Village, enrolment, key, open};

/// Certificates hold from ten days before the fixtures' first morning …
pub const CERT_FROM: u64 = START_MS - 10 * DAY;
/// … for five years.
pub const CERT_UNTIL: u64 = START_MS + 5 * 365 * DAY;

/// `issuer` certifies `subject` as a `level` authority named `name`, valid `from..until`.
pub fn certify(
    issuer: &DeviceKey,
    level: AuthorityLevel,
    subject: PublicKey,
    name: &str,
    (from, until): (u64, u64),
) -> AuthorityCertificate {
    AuthorityStatement {
        level,
        subject,
        name: name.to_string(),
        region: format!("r{}", &subject.to_string()[..6]),
        issuer: issuer.public_key(),
        valid_from_ms: from,
        valid_until_ms: until,
    }
    .sign(issuer)
    .expect("sign an authority certificate")
}

/// The encoded chain province → `district` → the town centre `centre`, the district certified
/// for `district_validity`.
pub fn town_chain(
    province: &DeviceKey,
    district: &DeviceKey,
    district_validity: (u64, u64),
    centre: PublicKey,
) -> Vec<u8> {
    AuthorityChain::new(vec![
        certify(
            province,
            AuthorityLevel::District,
            district.public_key(),
            "区",
            district_validity,
        ),
        certify(
            district,
            AuthorityLevel::Town,
            centre,
            "镇",
            (CERT_FROM, CERT_UNTIL),
        ),
    ])
    .encode()
    .expect("encode a chain")
}

/// A village of the province: the village and its town centre's authority chain.
pub struct Town {
    /// The village.
    pub v: Village,
    /// Its town centre's chain (province → district → town), encoded.
    pub chain: Vec<u8>,
}

/// A province with two districts: the first holds towns 1 and 2, the second town 3.
pub struct Province {
    /// The province root key (the trust anchor every village is configured with).
    pub root: DeviceKey,
    /// District 1's key and district 2's key.
    pub districts: [DeviceKey; 2],
    /// Town 1 and town 2 (district 1), town 3 (district 2).
    pub towns: Vec<Town>,
}

impl Province {
    /// Three villages in two districts, each with a caregiver, two volunteers and an elder.
    pub fn build() -> Result<Province> {
        let root = key(900_001);
        let districts = [key(900_002), key(900_003)];
        let mut towns = Vec::new();
        for (town, district) in [(1, 0), (2, 0), (3, 1)] {
            let v = Village::build_town(town, 1, 2, &[ElderSpec::weekly(0)])?;
            let chain = town_chain(
                &root,
                &districts[district],
                (CERT_FROM, CERT_UNTIL),
                v.circle.centre_key,
            );
            towns.push(Town { v, chain });
        }
        Ok(Province {
            root,
            districts,
            towns,
        })
    }
}

/// Every device of a village (and its centre) syncs through the coordinator.
pub fn sync_village(v: &mut Village) -> Result<()> {
    let Village {
        coordinator,
        centre,
        caregivers,
        volunteers,
        ..
    } = v;
    let mut stores = vec![&mut coordinator.store, centre];
    stores.extend(caregivers.iter_mut().map(|d| &mut d.store));
    stores.extend(volunteers.iter_mut().map(|d| &mut d.store));
    sync_all(&mut stores)
}

/// Volunteer `volunteer` of `v` gives the first elder `services` time-bank services of
/// `minutes` each from day `day` on, claims them, and the first caregiver confirms each; the
/// village syncs before and after.
pub fn earn(
    v: &mut Village,
    volunteer: usize,
    day: u64,
    services: u64,
    minutes: i64,
) -> Result<()> {
    let elder = v.elders[0];
    let mut claims = Vec::new();
    for d in day..day + services {
        let member = v.volunteers[volunteer].member_id;
        let store = &mut v.volunteers[volunteer].store;
        let service = serve(store, member, elder, d, minutes)?;
        claims.push(store.claim_hours(service, minutes)?);
    }
    sync_village(v)?;
    for claim in claims {
        v.caregivers[0]
            .store
            .confirm_claim(claim, ConfirmMethod::InPerson)?;
    }
    sync_village(v)
}

/// Enrols a new device (key `seed`) in `v` for an existing person, `member_id` (a member who
/// moved here keeps their id), as a volunteer; the coordinator's records reach the device.
pub fn enrol_mover(v: &mut Village, member_id: Id, seed: u64) -> Result<Device> {
    let mut store: CareStore = open(v.circle, seed, &v.clock)?;
    v.coordinator.store.enrol(enrolment(
        member_id,
        "搬来的志愿者".into(),
        Role::Volunteer,
        v.point_id,
        store.public_key(),
    ))?;
    store.merge_from(&v.coordinator.store)?;
    Ok(Device { member_id, store })
}
