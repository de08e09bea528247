//! The reference village played day by day through the store façade (every record signed and
//! written as a phone writes it), and the sizes any protocol or store is measured against.

use std::collections::BTreeSet;
use std::io::Write;

use carebank_core::hlc::Hlc;
use carebank_core::ids::Id;
use carebank_core::record::{EpochKeys, SignedRecord};
use carebank_core::replica::{DocId, RecordDoc, session_actor};
use carebank_village::Village;
use carebank_village::workload::{Workload, WorkloadSpec};

/// The reference village (`WORKLOAD.md`) with a planner for its days from `seed`.
pub fn village(seed: u64) -> (Village, Workload) {
    let spec = WorkloadSpec {
        seed,
        ..WorkloadSpec::default()
    };
    let v = Village::build(spec.caregivers, spec.volunteers, &spec.elder_specs())
        .expect("the reference village");
    let members = (0..v.device_count())
        .map(|i| v.device(i).member_id)
        .collect();
    let plan = Workload::new(spec, v.elders.clone(), members);
    (v, plan)
}

/// Plays day `day` of `plan` on `v`, skipping the work of device `offline` (if any): the care
/// work, then the time bank's claims, redemptions and gifts. Returns the claims written.
pub fn play_day(v: &mut Village, plan: &mut Workload, day: u64, offline: Option<usize>) -> Vec<Id> {
    let work = plan
        .day(day)
        .into_iter()
        .filter(|(device, _)| Some(*device) != offline)
        .collect();
    let today = v.play(work).expect("a day's care work");
    v.play_time_bank(&today, plan.rng())
        .expect("a day's time bank")
        .claims
}

/// A village-year: `days` days played on every phone of the village; once a week every phone's
/// records of the week reach the coordinator's store, and she confirms the claims among them.
/// Returns the village, the coordinator's store holding the year.
pub fn play_year(seed: u64, days: u64) -> Village {
    let (mut v, mut plan) = village(seed);
    let mut unconfirmed = Vec::new();
    let mut week = BTreeSet::new();
    let month_now = |v: &Village| {
        DocId::for_hlc(Hlc {
            ms: v.clock.now(),
            counter: 0,
        })
    };
    for day in 0..days {
        week.insert(month_now(&v));
        unconfirmed.extend(play_day(&mut v, &mut plan, day, None));
        week.insert(month_now(&v));
        if day % 7 == 6 || day + 1 == days {
            // Only the week's documents: a phone's older months reached her already.
            for i in 1..v.device_count() {
                let docs = v.device(i).store.documents().expect("documents");
                let recent = docs.into_iter().filter(|(d, _)| week.contains(d)).collect();
                v.coordinator
                    .store
                    .merge_docs(recent)
                    .expect("a phone's week reaches the coordinator");
            }
            v.confirm_reached(&mut unconfirmed).expect("confirmations");
            week.clear();
        }
    }
    v
}

/// Every record held in `docs` (saved Automerge documents), decoded (sealed ones opened with
/// `keys`) without checking the signatures (they were checked when stored).
pub fn records_in(docs: &[(DocId, Vec<u8>)], keys: &dyn EpochKeys) -> Vec<SignedRecord> {
    let actor = session_actor();
    docs.iter()
        .flat_map(|(_, bytes)| {
            let doc = RecordDoc::load(bytes, &actor).expect("a stored document loads");
            doc.all_entries().expect("entries")
        })
        .flat_map(|(_, values)| values)
        .map(|bytes| {
            SignedRecord::decode_unverified(&bytes, keys).expect("a stored record decodes")
        })
        .collect()
}

/// Of `records`, those whose ids are in `ids`.
pub fn only(records: &[SignedRecord], ids: &BTreeSet<Id>) -> Vec<SignedRecord> {
    records
        .iter()
        .filter(|r| ids.contains(&r.id()))
        .cloned()
        .collect()
}

/// The gzip size (default level) of `bytes`.
fn gzip_len(bytes: &[u8]) -> u64 {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(bytes).expect("gzip");
    gz.finish().expect("gzip").len() as u64
}

/// The canonical JSON of `records` as one array.
fn json_array(records: &[SignedRecord]) -> Vec<u8> {
    let mut json = b"[".to_vec();
    for (i, r) in records.iter().enumerate() {
        if i > 0 {
            json.push(b',');
        }
        json.extend_from_slice(r.payload());
    }
    json.push(b']');
    json
}

/// The floor any protocol that carries every record with its signature has: the gzip size of
/// the records' canonical JSON, plus 64 bytes a signature (random bytes do not compress).
pub fn floor_bytes(records: &[SignedRecord]) -> u64 {
    gzip_len(&json_array(records)) + 64 * records.len() as u64
}
