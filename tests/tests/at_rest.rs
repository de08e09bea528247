//! The device store is encrypted at rest: what an attacker reads from the files, a wrong key, and
//! the upgrade of a plain store written by an earlier version.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use carebank_core::domain::{CareLevel, Elder};
use carebank_core::ids::Id;
use carebank_core::store::StoreKey;
use carebank_core::time::{Month, UnixMs};
use carebank_core::{CareStore, Error};
use carebank_scenarios::raw_files::files_holding;
use carebank_scenarios::{START_MS, Village, fixed_id, full_consent, weekly_village};

/// A name no other byte sequence in a store will hold by chance.
const NAME: &str = "龙凤呈祥Zhuangxiaomei";

const KEY: StoreKey = StoreKey::Raw([0x3c; 32]);

fn village() -> Village {
    weekly_village(1, 1, 2, 30)
}

/// The coordinator's store as a file under `key`, holding the village and one more elder named
/// [`NAME`]; left open, so its log holds the latest writes.
fn coordinator_store(v: &Village, path: &Path, key: &StoreKey) -> CareStore {
    let mut store = CareStore::open(path, key, v.circle, v.device_key(0)).expect("open");
    store.set_wall_clock(Box::new(|| START_MS));
    store.merge_from(&v.coordinator.store).expect("the village");
    store
        .enrol_elder(Elder {
            elder_id: Id::random(),
            site_id: fixed_id(0x5101),
            name: NAME.into(),
            birth_year: 1938,
            groups: vec![],
            care_level: CareLevel::Moderate,
            visit_cadence_days: 7,
            monthly_entitled_hours: 0,
            responsible_member: None,
            consent: full_consent(START_MS),
        })
        .expect("elder");
    store
}

/// Copies an open store's file and log to `to`: what a phone that lost power leaves on disk.
fn copy_as_crashed(from: &Path, to: &Path) {
    for suffix in ["", "-wal"] {
        let mut source = from.as_os_str().to_owned();
        source.push(suffix);
        let mut target = to.as_os_str().to_owned();
        target.push(suffix);
        std::fs::copy(&source, &target).expect("copy");
    }
}

/// The store file and its companions (`-wal`, `-shm`), by name, with their bytes.
fn store_files(path: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let folder = path.parent().expect("folder");
    std::fs::read_dir(folder)
        .expect("list")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_file())
        .map(|p| {
            let bytes = std::fs::read(&p).expect("read");
            (p, bytes)
        })
        .collect()
}

/// Read as an attacker with the files but not the key would: the elder's name is nowhere in the
/// database, its log or its shared-memory index, open or closed. The same search finds it in a
/// plain store, so the check can fail.
#[test]
fn an_elders_name_is_in_no_file_of_an_encrypted_store_but_is_in_a_plain_one() {
    let v = village();
    let plain_dir = tempfile::tempdir().expect("tempdir");
    let plain_path = plain_dir.path().join("store.db");
    let plain = coordinator_store(&v, &plain_path, &StoreKey::Plain);
    assert!(
        !files_holding(&store_files(&plain_path), NAME).is_empty(),
        "the search finds the name in a plain store"
    );
    drop(plain);

    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("store.db");
    let store = coordinator_store(&v, &path, &KEY);
    let open_files = store_files(&path);
    let names: Vec<String> = open_files
        .keys()
        .filter_map(|p| Some(p.file_name()?.to_string_lossy().into_owned()))
        .collect();
    assert_eq!(names, ["store.db", "store.db-shm", "store.db-wal"]);
    assert!(
        open_files.values().all(|b| !b.is_empty()),
        "the log holds the latest writes"
    );
    assert_eq!(files_holding(&open_files, NAME), Vec::<PathBuf>::new());
    drop(store);
    let closed = store_files(&path);
    assert_eq!(files_holding(&closed, NAME), Vec::<PathBuf>::new());
    assert!(!closed[&path].starts_with(b"SQLite format 3\0"));
    // And the records are all there for the key's holder: the village's and the new elder.
    let store = CareStore::open(&path, &KEY, v.circle, v.device_key(0)).expect("reopen");
    let ids = store.store().record_ids().expect("ids");
    let village_ids = v.coordinator.store.store().record_ids().expect("ids");
    assert!(village_ids.is_subset(&ids));
    assert_eq!(ids.len(), village_ids.len() + 1);
}

/// Opening with a wrong key, a wrong passphrase or no key says so, and leaves every file byte
/// for byte as it was; the right key still opens it.
#[test]
fn a_wrong_key_is_a_clear_error_and_leaves_the_store_byte_identical() {
    let v = village();
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("store.db");
    let written = coordinator_store(&v, &path, &KEY).store().record_ids();
    let before = store_files(&path);
    for wrong in [
        StoreKey::Raw([0x3d; 32]),
        StoreKey::Passphrase("x'3c3c'".into()),
        StoreKey::Plain,
    ] {
        let err = CareStore::open(&path, &wrong, v.circle, v.device_key(0))
            .err()
            .unwrap_or_else(|| panic!("{wrong:?} opened the store"));
        assert!(matches!(err, Error::WrongStoreKey(_)), "{wrong:?}: {err}");
        assert!(
            err.to_string().starts_with("wrong key for this store"),
            "{err}"
        );
        assert!(store_files(&path) == before, "{wrong:?} changed the files");
    }
    let store = CareStore::open(&path, &KEY, v.circle, v.device_key(0)).expect("right key");
    assert_eq!(
        store.store().record_ids().expect("ids"),
        written.expect("ids")
    );

    // A phone that lost power with the store open: its log holds writes. A wrong key leaves
    // the database and its log as they were (SQLite may rebuild the `-shm` index, which holds
    // no data), and the right key then finds every record.
    drop(store);
    let running = coordinator_store(&v, &dir.path().join("running.db"), &KEY);
    let crashed = tempfile::tempdir().expect("tempdir");
    let crashed_path = crashed.path().join("store.db");
    copy_as_crashed(&dir.path().join("running.db"), &crashed_path);
    drop(running);
    let data = |files: BTreeMap<PathBuf, Vec<u8>>| {
        files
            .into_iter()
            .filter(|(p, _)| !p.to_string_lossy().ends_with("-shm"))
            .collect::<BTreeMap<_, _>>()
    };
    let before = data(store_files(&crashed_path));
    assert_eq!(before.len(), 2, "the database and its log");
    assert!(before.values().all(|b| !b.is_empty()));
    let wrong = CareStore::open(
        &crashed_path,
        &StoreKey::Raw([0x3d; 32]),
        v.circle,
        v.device_key(0),
    );
    assert!(matches!(wrong, Err(Error::WrongStoreKey(_))));
    assert!(
        data(store_files(&crashed_path)) == before,
        "a wrong key changed the files"
    );
    let store = CareStore::open(&crashed_path, &KEY, v.circle, v.device_key(0)).expect("right key");
    assert_eq!(
        store.store().record_ids().expect("ids").len(),
        before_ids_len(&v) + 1
    );
}

/// How many records the village's coordinator holds.
fn before_ids_len(v: &Village) -> usize {
    v.coordinator.store.store().record_ids().expect("ids").len()
}

/// A phone in the field upgrades: its plain store (as the earlier version wrote it, closed or
/// not) is encrypted on the first open with a key, and every record, query answer and the clock
/// are as they were.
#[test]
fn a_plain_store_is_encrypted_on_first_open_and_loses_nothing() {
    let v = village();
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("store.db");
    let november = Month::of_instant(START_MS as i64);
    let (ids, overdue, person_times, clock) = {
        let plain = coordinator_store(&v, &path, &StoreKey::Plain);
        // The phone was switched off without closing the store: the log holds writes.
        copy_as_crashed(&path, &dir.path().join("crashed.db"));
        (
            plain.store().record_ids().expect("ids"),
            plain
                .store()
                .overdue_visits(UnixMs::try_from(START_MS + 30 * 86_400_000).expect("instant"))
                .expect("overdue"),
            plain.person_times(november).expect("person-times"),
            plain.clock().expect("clock"),
        )
    };
    for path in [path, dir.path().join("crashed.db")] {
        let store = CareStore::open(&path, &KEY, v.circle, v.device_key(0)).expect("upgrade");
        assert_eq!(store.store().record_ids().expect("ids"), ids);
        assert_eq!(
            store
                .store()
                .overdue_visits(UnixMs::try_from(START_MS + 30 * 86_400_000).expect("instant"))
                .expect("overdue"),
            overdue
        );
        assert_eq!(store.person_times(november).expect("pt"), person_times);
        assert_eq!(store.clock().expect("clock"), clock);
        drop(store);
        let files = store_files(&path);
        assert!(!files[&path].starts_with(b"SQLite format 3\0"));
        let leftovers: Vec<_> = files
            .keys()
            .filter(|p| p.to_string_lossy().contains(".encrypting"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
        assert!(matches!(
            CareStore::open(&path, &StoreKey::Plain, v.circle, v.device_key(0)),
            Err(Error::WrongStoreKey(_))
        ));
    }
    let after = store_files(dir.path().join("store.db").as_path());
    assert_eq!(files_holding(&after, NAME), Vec::<PathBuf>::new());
}
