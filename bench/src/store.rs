//! Store figures: bulk import of a village-year into a new phone's store (in a process of its
//! own, for its peak memory), the store's size on disk, cold open until the overdue list
//! answers (likewise), one durable visit write at a time, and the floors: this disk's fsync,
//! the zstd size of the signed records, and verifying their signatures alone. Each store
//! figure is taken with the store encrypted at rest (SQLCipher) and plain, in the same run.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use carebank_core::domain::AccessPurpose;
use carebank_core::identity::DeviceKey;
use carebank_core::ledger::verify_signatures;
use carebank_core::record::elder_key::ENTRY_LEN;
use carebank_core::record::{OuterRecord, SignedRecord};
use carebank_core::replica::DocId;
use carebank_core::store::{Durability, StoreKey};
use carebank_core::time::UnixMs;
use carebank_core::{CareStore, Circle};
use carebank_scenarios::visit;
use carebank_village::{DAY, MINUTE, START_MS, Village};
use serde::{Deserialize, Serialize};

use crate::figures::{Figures, Target};
use crate::machine::peak_rss;

const MB: f64 = 1024.0 * 1024.0;

/// Whether a store is encrypted at rest: every store figure is taken both ways in one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AtRest {
    /// SQLCipher with a raw 32-byte key, as on a phone.
    Encrypted,
    /// No encryption, the format before encryption at rest.
    Plain,
}

impl AtRest {
    /// The key a store of this kind is opened with.
    pub fn key(self) -> StoreKey {
        match self {
            AtRest::Encrypted => StoreKey::Raw([7; 32]),
            AtRest::Plain => StoreKey::Plain,
        }
    }

    /// The store file of this kind in a work directory.
    fn file(self, dir: &Path) -> PathBuf {
        dir.join(match self {
            AtRest::Encrypted => "store.db",
            AtRest::Plain => "plain.db",
        })
    }

    /// The flag a child process is given.
    fn args(self) -> Vec<String> {
        match self {
            AtRest::Encrypted => Vec::new(),
            AtRest::Plain => vec!["--plain".into()],
        }
    }
}

/// Opens a device store file under `store_key`: the one place the bench opens stores.
pub fn open_store(path: &Path, circle: Circle, key: DeviceKey, store_key: &StoreKey) -> CareStore {
    CareStore::open(path, store_key, circle, key).expect("the store opens")
}

/// What a child process reports.
#[derive(Debug, Serialize, Deserialize)]
pub struct ChildReport {
    /// How long the measured work took.
    pub seconds: f64,
    /// Records the work added (import) or overdue elders (open).
    pub count: usize,
    /// The process's peak resident memory, in bytes.
    pub peak_rss: u64,
}

/// The arguments naming a circle, for a child process.
fn circle_args(circle: Circle) -> [String; 2] {
    [circle.circle_id.to_string(), circle.centre_key.to_string()]
}

/// Parses the circle a child was given.
pub fn circle_from(id: &str, centre: &str) -> Circle {
    Circle {
        circle_id: id.parse().expect("circle id"),
        centre_key: centre.parse().expect("centre key"),
    }
}

/// The key seed of the village's coordinator: the child processes open their stores as the
/// coordinator's new phone would, a device of the circle that holds its epoch keys and so opens
/// its sealed records.
const READER_SEED: u64 = 2;
/// The file beside the saved documents that holds the village's keyring entries, one after
/// another.
const KEYRING_FILE: &str = "keyring";

/// In a child process: imports every document saved under `dir/docs` into a new store at
/// the store file of `at_rest`, as a new phone's first sync or a bundle of a year does, every
/// record verified.
pub fn child_import(dir: &Path, circle: Circle, at_rest: AtRest) -> ChildReport {
    let mut files: Vec<_> = std::fs::read_dir(dir.join("docs"))
        .expect("docs")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "am"))
        .collect();
    files.sort();
    let started = Instant::now();
    let mut store = open_store(
        &at_rest.file(dir),
        circle,
        carebank_village::key(READER_SEED),
        &at_rest.key(),
    );
    // The keys first, as a sync takes them, so that each record opens as it arrives.
    let keyring = std::fs::read(dir.join(KEYRING_FILE)).expect("keyring file");
    let entries: Vec<Vec<u8>> = keyring.chunks(ENTRY_LEN).map(<[u8]>::to_vec).collect();
    store.take_keyring(&entries).expect("keyring");
    let mut count = 0;
    for file in files {
        let name = std::fs::read_to_string(file.with_extension("name")).expect("name");
        let doc = DocId::parse(&name).expect("document name");
        let bytes = std::fs::read(&file).expect("document");
        let report = store.merge_doc(&doc, &bytes).expect("import");
        assert!(report.rejected.is_empty(), "{:?}", report.rejected.first());
        count += report.added.len();
    }
    drop(store);
    ChildReport {
        seconds: started.elapsed().as_secs_f64(),
        count,
        peak_rss: peak_rss(),
    }
}

/// In a child process: opens the store file of `at_rest` and asks for the overdue visits.
pub fn child_open(dir: &Path, circle: Circle, now_ms: i64, at_rest: AtRest) -> ChildReport {
    let started = Instant::now();
    let mut store = open_store(
        &at_rest.file(dir),
        circle,
        carebank_village::key(READER_SEED),
        &at_rest.key(),
    );
    // Through the façade, as the app asks: the read is logged.
    let overdue = store
        .overdue_visits(
            UnixMs::new(now_ms).expect("an instant"),
            AccessPurpose::Care,
        )
        .expect("overdue visits");
    ChildReport {
        seconds: started.elapsed().as_secs_f64(),
        count: overdue.len(),
        peak_rss: peak_rss(),
    }
}

/// Runs this program again with `args`, and reads the report it prints.
fn child(args: &[String]) -> ChildReport {
    let exe = std::env::current_exe().expect("this program");
    let out = Command::new(exe).args(args).output().expect("child runs");
    assert!(
        out.status.success(),
        "child {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("child report")
}

/// The median and the 99th percentile of `samples` (ms).
pub fn median_p99(mut samples: Vec<f64>) -> (f64, f64) {
    samples.sort_by(f64::total_cmp);
    let n = samples.len();
    (samples[n / 2], samples[(n * 99 / 100).min(n - 1)])
}

/// This disk's fsync latency (ms): appending 4 KiB to a file and `fdatasync`, as one WAL
/// commit does at the least.
fn fsync_latencies(dir: &Path, n: usize) -> Vec<f64> {
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("fsync.probe"))
        .expect("probe file");
    let page = [0x5au8; 4096];
    (0..n)
        .map(|_| {
            let t = Instant::now();
            file.write_all(&page).expect("write");
            file.sync_data().expect("fdatasync");
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect()
}

fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

/// Measures the store figures on the year `docs` (the coordinator's documents after the year)
/// of village `v`, played over `days` days, with the store encrypted (the figures set against
/// the targets) and plain (their ratio); `writes` durable writes are timed each way.
pub fn measure(
    figures: &mut Figures,
    v: &Village,
    docs: &[(DocId, Vec<u8>)],
    records: &[SignedRecord],
    days: u64,
    writes: usize,
) {
    let dir = tempfile::tempdir().expect("tempdir");
    let docs_dir = dir.path().join("docs");
    std::fs::create_dir(&docs_dir).expect("docs dir");
    for (i, (doc, bytes)) in docs.iter().enumerate() {
        let file = docs_dir.join(format!("{i:04}.am"));
        std::fs::write(&file, bytes).expect("document file");
        std::fs::write(file.with_extension("name"), doc.as_str()).expect("name file");
    }
    // The elder keys travel beside the documents, as in a sync or a bundle.
    let keyring = v.coordinator.store.keyring().expect("keyring");
    std::fs::write(dir.path().join(KEYRING_FILE), keyring.concat()).expect("keyring file");

    // Verifying the same signatures alone: strict one by one, and in batches.
    let bytes: Vec<&[u8]> = records.iter().map(SignedRecord::as_bytes).collect();
    let t = Instant::now();
    let valid = bytes
        .iter()
        .filter(|b| OuterRecord::verify(b).is_ok())
        .count();
    let strict = t.elapsed();
    assert_eq!(valid, records.len(), "every stored record verifies");
    let t = Instant::now();
    let batch_ok = verify_signatures(records)
        .into_iter()
        .filter(|ok| *ok)
        .count();
    let batch = t.elapsed();
    assert_eq!(batch_ok, records.len());

    let now = START_MS + days * DAY;
    let (fsync, _) = median_p99(fsync_latencies(dir.path(), writes.max(20)));
    let work = |at_rest| Taken::measure(v, dir.path(), now, writes, at_rest);
    let (encrypted, plain) = (work(AtRest::Encrypted), work(AtRest::Plain));
    assert_eq!(encrypted.imported, records.len(), "every record imported");
    assert_eq!(plain.imported, records.len(), "every record imported");

    let rate = |d: f64| records.len() as f64 / d;
    let import = rate(encrypted.import_s);
    figures.versus(
        format!("bulk import, {} records", records.len()),
        import,
        "records/s",
        ("verify alone, strict", rate(strict.as_secs_f64())),
        Some(Target::AtLeast(30_000.0)),
    );
    figures.versus(
        "bulk import",
        import,
        "records/s",
        ("verify alone, batch", rate(batch.as_secs_f64())),
        None,
    );
    against_plain(
        figures,
        "bulk import",
        "records/s",
        (import, rate(plain.import_s)),
    );
    figures.target(
        "bulk import: peak RSS",
        encrypted.import_rss as f64 / MB,
        "MB",
        Target::AtMost(100.0),
    );

    let signed: Vec<u8> = bytes.concat();
    let zstd = zstd::encode_all(signed.as_slice(), 3).expect("zstd").len() as f64;
    let name = format!("village-year on disk ({days} days)");
    let on_disk = encrypted.on_disk as f64 / MB;
    figures.versus(
        &name,
        on_disk,
        "MB",
        ("zstd of the signed records", zstd / MB),
        Some(Target::RatioAtMost(3.0)),
    );
    against_plain(figures, &name, "MB", (on_disk, plain.on_disk as f64 / MB));
    figures.add(
        "on disk per record",
        encrypted.on_disk as f64 / records.len() as f64,
        "B",
    );

    let name = "cold open until the overdue list answers (median of 3)";
    figures.target(name, encrypted.open_ms, "ms", Target::AtMost(20.0));
    against_plain(figures, name, "ms", (encrypted.open_ms, plain.open_ms));
    figures.target(
        "cold open: peak RSS",
        encrypted.open_rss as f64 / MB,
        "MB",
        Target::AtMost(30.0),
    );

    let name = format!("durable visit write, median of {writes}");
    let median = (encrypted.write_median, plain.write_median);
    figures.target(&name, median.0, "ms", Target::AtMost(1.0));
    figures.versus(
        &name,
        median.0,
        "ms",
        ("fsync of this disk (median)", fsync),
        Some(Target::RatioAtMost(5.0)),
    );
    against_plain(figures, &name, "ms", median);
    let name = "durable visit write, p99";
    let p99 = (encrypted.write_p99, plain.write_p99);
    figures.target(name, p99.0, "ms", Target::AtMost(5.0));
    against_plain(figures, name, "ms", p99);
    let name = format!("maintenance when idle, after the {writes} writes");
    let maintenance = (encrypted.maintenance_ms, plain.maintenance_ms);
    figures.add(&name, maintenance.0, "ms");
    against_plain(figures, &name, "ms", maintenance);
}

/// A figure of the encrypted store set against the same figure of the plain store.
fn against_plain(figures: &mut Figures, name: &str, unit: &'static str, values: (f64, f64)) {
    figures.versus(name, values.0, unit, ("plain store", values.1), None);
}

/// The store figures of one kind of store, on the year saved in `dir/docs`.
struct Taken {
    imported: usize,
    import_s: f64,
    import_rss: u64,
    /// The store file and its WAL after the import.
    on_disk: u64,
    open_ms: f64,
    open_rss: u64,
    write_median: f64,
    write_p99: f64,
    /// `run_maintenance` after the writes.
    maintenance_ms: f64,
}

impl Taken {
    /// Imports the year into a new store of `at_rest` (in a child process), opens it cold three
    /// times (likewise), then times `writes` durable visits on top of it.
    fn measure(v: &Village, dir: &Path, now: u64, writes: usize, at_rest: AtRest) -> Taken {
        let [circle, centre] = circle_args(v.circle);
        let dir_arg = dir.display().to_string();
        let run = |what: &str, extra: &[String]| {
            let mut args = vec![
                what.to_string(),
                dir_arg.clone(),
                circle.clone(),
                centre.clone(),
            ];
            args.extend_from_slice(extra);
            args.extend(at_rest.args());
            child(&args)
        };
        let import = run("import", &[]);
        let path = at_rest.file(dir);
        let on_disk = file_len(&path) + file_len(&path.with_extension("db-wal"));
        let opens: Vec<ChildReport> = (0..3).map(|_| run("open", &[now.to_string()])).collect();
        let (open_ms, _) = median_p99(opens.iter().map(|o| o.seconds * 1e3).collect());
        let open_rss = opens.iter().map(|o| o.peak_rss).max().unwrap_or(0);

        // One durable visit at a time on top of the year, on the same disk as the fsync probe.
        let mut store = open_store(&path, v.circle, v.device_key(1), &at_rest.key());
        store
            .set_durability(Durability::EveryWrite)
            .expect("durability");
        store.set_wall_clock(Box::new(move || now));
        let caregiver = v.device(1).member_id;
        let latencies: Vec<f64> = (0..writes as u64)
            .map(|i| {
                let elder = v.elders[(i as usize) % v.elders.len()];
                let t = Instant::now();
                store
                    .record_visit(visit(elder, caregiver, now - DAY + i * MINUTE))
                    .expect("visit");
                t.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        let (write_median, write_p99) = median_p99(latencies);
        // The work the writes left for an idle moment (compaction, the log truncated).
        let t = Instant::now();
        store.run_maintenance().expect("maintenance");
        let maintenance_ms = t.elapsed().as_secs_f64() * 1e3;
        Taken {
            imported: import.count,
            import_s: import.seconds,
            import_rss: import.peak_rss,
            on_disk,
            open_ms,
            open_rss,
            write_median,
            write_p99,
            maintenance_ms,
        }
    }
}
