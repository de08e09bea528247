//! Store figures on the reference workload (`shared/WORKLOAD.md`): bulk import of a village-year
//! of care records, cold open of a device store holding the year until the first query (overdue
//! visits) answers, with the peak memory of that process, and the latency of one signed, durable
//! visit record on top of the year. Each figure is taken twice in one run, with the store
//! encrypted at rest (SQLCipher, a raw key as phones use) and plain, and their ratio printed.
//!
//! Run: `cargo bench -p carebank-scenarios --bench store` (add `-- --days N` for a shorter year).
//! Wall-clock figures on a shared machine are noisy: compare ratios within one run.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use carebank_core::domain::RecordBody;
use carebank_core::hlc::Hlc;
use carebank_core::identity::DeviceKey;
use carebank_core::record::{Envelope, FORMAT_VERSION, SignedRecord};
use carebank_core::replica::{DocId, RecordDoc, session_actor};
use carebank_core::store::{Durability, StoreKey};
use carebank_core::{CareStore, Circle};
use carebank_scenarios::workload::{Work, Workload, WorkloadSpec};
use carebank_scenarios::{DAY, MINUTE, START_MS, Village, visit};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--open-child") {
        open_child(&args[i + 1..i + 6]);
        return;
    }
    let days: u64 = args
        .iter()
        .position(|a| a == "--days")
        .and_then(|i| args.get(i + 1)?.parse().ok())
        .unwrap_or(365);

    // The village, and a year of its work signed by each member's own key.
    let spec = WorkloadSpec::default();
    let v = Village::build(spec.caregivers, spec.volunteers, &spec.elder_specs()).expect("village");
    let members = (0..v.device_count())
        .map(|i| v.device(i).member_id)
        .collect();
    let keys: Vec<DeviceKey> = (0..v.device_count()).map(|i| v.device_key(i)).collect();
    let mut plan = Workload::new(spec, v.elders.clone(), members);
    let t = Instant::now();
    let mut docs: BTreeMap<DocId, RecordDoc> = BTreeMap::new();
    let mut counter = 0u32;
    let mut records = 0usize;
    for day in 0..days {
        for (device, work) in plan.day(day) {
            let (body, at) = match work {
                Work::Visit(x) => (RecordBody::Visit(x.clone()), x.check_out_ms),
                Work::Service(x) => (
                    RecordBody::Service(x.clone()),
                    x.started_ms + x.duration_minutes as u64 * MINUTE,
                ),
                Work::Correct { .. } => continue,
            };
            counter += 1;
            let envelope = Envelope {
                v: FORMAT_VERSION,
                circle: v.circle.circle_id,
                author: keys[device].public_key(),
                hlc: Hlc { ms: at, counter },
                body,
            };
            let record = SignedRecord::sign(envelope, &keys[device]).expect("sign");
            let doc = docs
                .entry(DocId::for_hlc(record.hlc()))
                .or_insert_with(|| RecordDoc::new(&session_actor()));
            doc.put(record.id(), record.as_bytes()).expect("put");
            records += 1;
        }
    }
    let generated = t.elapsed();

    // The month documents as they arrive from the relay.
    let docs: Vec<(DocId, Vec<u8>)> = docs
        .into_iter()
        .map(|(doc_id, mut doc)| (doc_id, doc.save()))
        .collect();
    let now = START_MS + days * DAY;
    let encrypted = measure(&v, &docs, &StoreKey::Raw([0x5c; 32]), now);
    let plain = measure(&v, &docs, &StoreKey::Plain, now);

    println!(
        "store benchmark: reference village, {days} days, {records} care records ({} kB on disk encrypted, {} kB plain)",
        encrypted.size / 1024,
        plain.size / 1024
    );
    println!(
        "  generate+sign   {:>8.1} ms ({:.0} records/s)",
        generated.as_secs_f64() * 1e3,
        records as f64 / generated.as_secs_f64()
    );
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let row = |what: &str, on: f64, off: f64, unit: &str| {
        println!(
            "  {what:<28} encrypted {on:>9.2} {unit}  plain {off:>9.2} {unit}  ratio {:.2}x",
            on / off
        );
    };
    row("bulk import", ms(encrypted.import), ms(plain.import), "ms");
    println!(
        "  {:<28} ({:.0} records/s encrypted, {:.0} plain)",
        "",
        records as f64 / encrypted.import.as_secs_f64(),
        records as f64 / plain.import.as_secs_f64()
    );
    row(
        "cold open + overdue query",
        encrypted.open_ms,
        plain.open_ms,
        "ms",
    );
    println!("  {:<28} encrypted: {}", "", encrypted.open_report);
    println!("  {:<28} plain:     {}", "", plain.open_report);
    row(
        "durable visit, median",
        encrypted.median,
        plain.median,
        "ms",
    );
    row("durable visit, p99", encrypted.p99, plain.p99, "ms");
}

/// One pass of the store figures, with the store file protected by `key`.
struct Figures {
    import: Duration,
    size: u64,
    open_ms: f64,
    open_report: String,
    median: f64,
    p99: f64,
}

/// Bulk import, cold open and durable writes on a fresh store file under `key`.
fn measure(v: &Village, docs: &[(DocId, Vec<u8>)], key: &StoreKey, now: u64) -> Figures {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("coordinator.db");

    // Bulk import: the coordinator's store receives the year, one month document at a time,
    // on top of the village's enrolments.
    let mut store = CareStore::open(&path, key, v.circle, v.device_key(0)).expect("open");
    store.merge_from(&v.coordinator.store).expect("enrolments");
    let t = Instant::now();
    for (doc_id, bytes) in docs {
        let report = store.merge_doc(doc_id, bytes).expect("import");
        assert!(report.rejected.is_empty());
    }
    let import = t.elapsed();
    drop(store);
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0)
        + std::fs::metadata(path.with_extension("db-wal"))
            .map(|m| m.len())
            .unwrap_or(0);

    // Cold open until the first query answers, in a fresh process so peak memory is its own.
    let key_arg = match key {
        StoreKey::Raw(bytes) => hex::encode(bytes),
        _ => "plain".to_string(),
    };
    let child = std::process::Command::new(std::env::current_exe().expect("exe"))
        .args([
            "--open-child",
            &path.display().to_string(),
            &key_arg,
            &v.circle.circle_id.to_string(),
            &v.circle.centre_key.to_string(),
            &now.to_string(),
        ])
        .output()
        .expect("child");
    let open_report = String::from_utf8_lossy(&child.stdout).trim().to_string();
    let open_ms = open_report
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .expect("the child's time");

    // One durable visit record at a time on top of the year.
    let mut store = CareStore::open(&path, key, v.circle, v.device_key(1)).expect("open");
    store
        .set_durability(Durability::EveryWrite)
        .expect("durability");
    store.set_wall_clock(Box::new(move || now));
    let caregiver = v.device(1).member_id;
    let mut latencies: Vec<f64> = (0..200u64)
        .map(|i| {
            let t = Instant::now();
            store
                .record_visit(visit(
                    v.elders[(i % 120) as usize],
                    caregiver,
                    now - DAY + i * MINUTE,
                ))
                .expect("visit");
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    latencies.sort_by(f64::total_cmp);
    Figures {
        import,
        size,
        open_ms,
        open_report,
        median: latencies[latencies.len() / 2],
        p99: latencies[latencies.len() * 99 / 100],
    }
}

/// Opens the store, answers the overdue-visits query, and prints the time and peak memory.
fn open_child(args: &[String]) {
    let [path, key, circle, centre, now] = args else {
        panic!("--open-child PATH KEY CIRCLE CENTRE NOW");
    };
    let t = Instant::now();
    let key = match key.as_str() {
        "plain" => StoreKey::Plain,
        hex_key => StoreKey::Raw(
            hex::decode(hex_key)
                .ok()
                .and_then(|b| b.try_into().ok())
                .expect("a 32-byte hex key"),
        ),
    };
    let circle = Circle {
        circle_id: circle.parse().expect("circle"),
        centre_key: centre.parse().expect("centre"),
    };
    let store = CareStore::open(Path::new(path), &key, circle, DeviceKey::from_seed([0; 32]))
        .expect("open");
    let overdue = store
        .overdue_visits(now.parse().expect("now"))
        .expect("overdue");
    let elapsed = t.elapsed();
    let peak_kb = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(|l| l.trim_start_matches("VmHWM:").trim().to_string())
        })
        .unwrap_or_else(|| "n/a".into());
    println!(
        "{:>8.1} ms until overdue visits answered ({} overdue); peak RSS {peak_kb}",
        elapsed.as_secs_f64() * 1e3,
        overdue.len()
    );
}
