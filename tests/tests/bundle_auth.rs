//! Bundle files are authenticated and judged whole before anything of them is kept (security
//! review of bundle import): a plain bundle is refused unless the caller allows it; the exporter
//! signs the whole bundle, so an altered exporter key, heads, deferred flag or document name is
//! refused; the exporter must be trusted; and a bundle whose content is not for this store (a
//! document of an implausible month, records of another circle) fails loudly with counts and
//! keeps nothing.
//!
//! Bundles are taken apart and put together here from `docs/sync-protocol.md` ("Bundle files"),
//! with the byte-level reader and writer only, so these tests also check the documented layout.

use std::collections::BTreeSet;

use carebank_core::domain::{Role, Site, SiteKind};
use carebank_core::identity::{DeviceKey, PublicKey};
use carebank_core::ids::Id;
use carebank_core::sync::bundle::{BUNDLE_MAGIC, Since};
use carebank_core::sync::seal;
use carebank_core::sync::wire::{self, Reader, Writer};
use carebank_core::{CareStore, Circle};
use carebank_scenarios::{
    DAY, START_MS, Village, enrolment, fixed_id, key, lost_phone, visit_at, weekly_village,
};

/// What the exporter's signature covers first (`docs/sync-protocol.md`).
const SIGNATURE_CONTEXT: &[u8] = b"carebank/bundle/v2\0";
/// The exporter's key and signature after a version-2 bundle's frame.
const TRAILER: usize = 32 + 64;
/// Device numbers (as in `Village::device`).
const COORDINATOR: usize = 0;
const EXPORTER: usize = 1;
const OTHER_CAREGIVER: usize = 2;
const IMPORTER: usize = 3;

/// A coordinator, two caregivers who each visited the elder, and a volunteer who imports.
fn village() -> Village {
    let mut v = weekly_village(2, 1, 1, 0);
    for caregiver in 0..v.caregivers.len() {
        visit_at(&mut v, caregiver, 0, START_MS + DAY / 2);
    }
    v
}

/// What a store holds: its records, its documents' chunks, its rejected values.
fn state(store: &CareStore) -> (BTreeSet<Id>, Vec<(String, i64)>, usize) {
    (
        carebank_scenarios::record_ids(store),
        store.store().chunk_counts().expect("chunks"),
        store.store().rejections().expect("rejections").len(),
    )
}

/// One document's part of a bundle.
#[derive(Clone)]
struct Doc {
    name: String,
    heads: Vec<Vec<u8>>,
    deferred: u64,
    changes: Vec<u8>,
}

/// A plain bundle taken apart.
#[derive(Clone)]
struct Parts {
    version: u8,
    circle: Id,
    /// Version 1 only: the exporter's name in the body.
    exporter_name: Option<Vec<u8>>,
    docs: Vec<Doc>,
    /// Version 2: the keyring entries after the documents (elder keys), if any.
    keys: Vec<Vec<u8>>,
    /// Version 2: the exporter's key and signature.
    trailer: Vec<u8>,
}

fn take_apart(plain: &[u8]) -> Parts {
    let version = plain[3];
    let (frame, trailer) = if version == 1 {
        (plain, &[][..])
    } else {
        plain.split_at(plain.len() - TRAILER)
    };
    let (kind, body) = wire::open(frame, BUNDLE_MAGIC, version).expect("frame");
    assert_eq!(kind, 1);
    let mut r = Reader::new(&body);
    let circle = r.id("circle").expect("circle");
    let exporter_name = (version == 1).then(|| r.bytes("exporter").expect("exporter").to_vec());
    let n = r.uint("documents").expect("n");
    let docs = (0..n)
        .map(|_| {
            let name = String::from_utf8(r.bytes("doc").expect("doc").to_vec()).expect("utf-8");
            let heads = (0..r.uint("heads").expect("heads"))
                .map(|_| r.fixed(32, "head").expect("head").to_vec())
                .collect();
            let deferred = r.uint("deferred").expect("deferred");
            let changes = r.bytes("changes").expect("changes").to_vec();
            Doc {
                name,
                heads,
                deferred,
                changes,
            }
        })
        .collect();
    let keys = if r.at_end() {
        Vec::new()
    } else {
        (0..r.uint("keys").expect("keys"))
            .map(|_| r.bytes("entry").expect("entry").to_vec())
            .collect()
    };
    r.finish().expect("nothing left over");
    Parts {
        version,
        circle,
        exporter_name,
        docs,
        keys,
        trailer: trailer.to_vec(),
    }
}

/// The bundle again, with the trailer as it is (so a changed field breaks the signature).
fn put_together(p: &Parts) -> Vec<u8> {
    let mut w = Writer::default();
    w.id(p.circle);
    if let Some(name) = &p.exporter_name {
        w.bytes(name);
    }
    w.uint(p.docs.len() as u64);
    for d in &p.docs {
        w.bytes(d.name.as_bytes());
        w.uint(d.heads.len() as u64);
        for h in &d.heads {
            w.fixed(h);
        }
        w.uint(d.deferred);
        w.bytes(&d.changes);
    }
    if !p.keys.is_empty() {
        w.uint(p.keys.len() as u64);
        for entry in &p.keys {
            w.bytes(entry);
        }
    }
    let mut out = wire::seal(BUNDLE_MAGIC, p.version, 1, &w.into_bytes()).expect("frame");
    out.extend_from_slice(&p.trailer);
    out
}

/// The bundle as `key`'s device would write it: signed by it (version 2), or naming it
/// (version 1).
fn signed_by(p: &Parts, key: &DeviceKey) -> Vec<u8> {
    let mut p = p.clone();
    if p.version == 1 {
        p.exporter_name = Some(key.public_key().to_string().into_bytes());
        return put_together(&p);
    }
    p.trailer.clear();
    let mut out = put_together(&p);
    out.extend_from_slice(key.public_key().as_bytes());
    let signature = key.sign(&[SIGNATURE_CONTEXT, &out].concat());
    out.extend_from_slice(&signature);
    out
}

/// Seals a plain bundle for the importer, as a device of the circle could.
fn sealed_for(v: &Village, i: usize, plain: &[u8]) -> Vec<u8> {
    seal::seal(plain, &[v.device_key(i).public_key()]).expect("seal")
}

/// The exporter's bundle of everything, sealed, and opened with the importer's key.
fn exported(v: &mut Village) -> (Vec<u8>, Vec<u8>) {
    let sealed = v
        .device_mut(EXPORTER)
        .store
        .export_bundle(&Since::Everything)
        .expect("export");
    let plain = seal::open_sealed(&sealed, &v.device_key(IMPORTER)).expect("open");
    (sealed, plain)
}

/// Imports `bytes` on the importer, which must refuse them and keep nothing; returns the error.
fn refused(v: &mut Village, bytes: &[u8], what: &str) -> String {
    let importer = &mut v.device_mut(IMPORTER).store;
    let before = state(importer);
    let err = importer
        .import_bundle(bytes)
        .map(|r| format!("{r:?}"))
        .expect_err(what);
    assert_eq!(state(importer), before, "{what}: something was kept");
    err.to_string()
}

/// Finding 1: a plain (unsealed) bundle was imported by default.
#[test]
fn a_plain_bundle_is_refused_by_default_with_an_error_naming_the_allowance() {
    let mut v = village();
    let (_, plain) = exported(&mut v);
    let err = refused(&mut v, &plain, "a plain bundle");
    assert!(err.contains("--allow-plain-bundle"), "{err}");
    assert!(err.contains("nothing was imported"), "{err}");
}

/// Finding 1: the exporter key, the heads, the deferred flag and the document names were not
/// authenticated. Each is altered inside the bundle, which is then sealed again for the
/// importer (as any device of the circle, or anyone given a plain file, could).
#[test]
fn a_bundle_whose_exporter_heads_deferred_flag_or_document_name_was_altered_is_refused() {
    let mut v = village();
    let (_, plain) = exported(&mut v);
    let parts = take_apart(&plain);
    let someone_else = v.device_key(OTHER_CAREGIVER).public_key();
    type Edit = Box<dyn Fn(&mut Parts)>;
    let edits: Vec<(&str, Edit)> = vec![
        (
            "exporter",
            Box::new(move |p| match &mut p.exporter_name {
                Some(name) => *name = someone_else.to_string().into_bytes(),
                None => p.trailer[..32].copy_from_slice(someone_else.as_bytes()),
            }),
        ),
        ("heads", Box::new(|p| p.docs[0].heads[0] = vec![0x5a; 32])),
        ("deferred flag", Box::new(|p| p.docs[0].deferred = 1)),
        (
            "document name",
            Box::new(|p| p.docs[0].name = "records/2026-10".into()),
        ),
    ];
    let before = state(&v.device(IMPORTER).store);
    let mut accepted = Vec::new();
    for (what, edit) in edits {
        let mut altered = parts.clone();
        edit(&mut altered);
        let bytes = sealed_for(&v, IMPORTER, &put_together(&altered));
        if v.device_mut(IMPORTER).store.import_bundle(&bytes).is_ok() {
            accepted.push(what);
        }
    }
    assert_eq!(accepted, Vec::<&str>::new(), "bundles with these altered");
    assert_eq!(state(&v.device(IMPORTER).store), before, "nothing kept");
}

/// Finding 2: a document renamed to `records/3026-12` was kept (and would have been pushed on
/// to the relay). Here the bundle is even signed by a trusted device, so only the judging of
/// its content stops it.
#[test]
fn a_document_renamed_to_a_far_future_month_is_refused_loudly_and_nothing_is_kept() {
    let mut v = village();
    let (_, plain) = exported(&mut v);
    let mut parts = take_apart(&plain);
    let last = parts.docs.len() - 1;
    parts.docs[last].name = "records/3026-12".into();
    let bytes = sealed_for(&v, IMPORTER, &signed_by(&parts, &v.device_key(EXPORTER)));
    let err = refused(&mut v, &bytes, "a document of 3026");
    assert!(err.contains("1 document named records/3026-12"), "{err}");
    assert!(err.contains("filed under another month"), "{err}");
    assert!(err.ends_with("nothing was imported"), "{err}");
    let importer = &v.device(IMPORTER).store;
    assert!(
        !importer
            .store()
            .doc_ids()
            .expect("docs")
            .iter()
            .any(|d| d.as_str() == "records/3026-12"),
        "the document is not kept"
    );
}

/// Finding 3: records of another circle under this circle's header were refused silently
/// ("0 new records"), while their document was kept.
#[test]
fn records_of_another_circle_are_refused_loudly_with_their_count() {
    let mut v = village();
    // The exporter's key is also the centre of another circle, where it writes two sites.
    let seed = 100;
    assert_eq!(key(seed).public_key(), v.device_key(EXPORTER).public_key());
    let other = Circle {
        circle_id: fixed_id(0xee),
        centre_key: key(seed).public_key(),
    };
    let mut elsewhere = carebank_scenarios::open(other, seed, &v.clock).expect("other circle");
    for n in 0..2 {
        elsewhere
            .add_site(Site {
                site_id: fixed_id(0x7700 + n),
                kind: SiteKind::Centre,
                name: format!("别处{n}"),
                parent: None,
            })
            .expect("site");
    }
    let sealed = elsewhere.export_bundle(&Since::Everything).expect("export");
    let mut parts = take_apart(&seal::open_sealed(&sealed, &key(seed)).expect("open"));
    parts.circle = v.circle.circle_id;
    let bytes = sealed_for(&v, IMPORTER, &signed_by(&parts, &key(seed)));
    let err = refused(&mut v, &bytes, "records of another circle");
    assert!(
        err.starts_with("the bundle holds 2 records of another circle"),
        "{err}"
    );
    assert!(err.ends_with("nothing was imported"), "{err}");
}

#[test]
fn an_altered_byte_anywhere_in_a_sealed_bundle_or_in_the_bundle_inside_is_refused() {
    let mut v = village();
    let (sealed, plain) = exported(&mut v);
    for i in 0..sealed.len() {
        let mut bad = sealed.clone();
        bad[i] ^= 0x01;
        refused(&mut v, &bad, &format!("sealed byte {i}"));
    }
    // A device that can open the bundle alters it and seals it again: the signature fails.
    for i in 0..plain.len() {
        let mut bad = plain.clone();
        bad[i] ^= 0x01;
        let bytes = sealed_for(&v, IMPORTER, &bad);
        refused(&mut v, &bytes, &format!("plain byte {i}"));
    }
}

#[test]
fn a_bundle_signed_by_a_key_the_store_does_not_trust_is_refused() {
    let mut v = village();
    let (_, plain) = exported(&mut v);
    let parts = take_apart(&plain);
    let stranger = key(777);
    let bytes = sealed_for(&v, IMPORTER, &signed_by(&parts, &stranger));
    let err = refused(&mut v, &bytes, "a stranger's bundle");
    assert!(
        err.contains(&stranger.public_key().to_string()),
        "the error names the key: {err}"
    );

    // A device revoked since: its bundles are refused too.
    let revoked = v.device_key(OTHER_CAREGIVER).public_key();
    let now = v.clock.now();
    v.coordinator
        .store
        .revoke(lost_phone(revoked, now))
        .expect("revoke");
    v.merge(IMPORTER, COORDINATOR)
        .expect("the importer learns it");
    let bytes = sealed_for(
        &v,
        IMPORTER,
        &signed_by(&parts, &v.device_key(OTHER_CAREGIVER)),
    );
    refused(&mut v, &bytes, "a revoked device's bundle");
}

#[test]
fn a_valid_sealed_bundle_imports_and_importing_it_again_changes_nothing() {
    let mut v = village();
    let (sealed, _) = exported(&mut v);
    let importer = &mut v.device_mut(IMPORTER).store;
    let first = importer.import_bundle(&sealed).expect("import");
    assert!(first.records_added > 0);
    let after = state(importer);
    let again = importer.import_bundle(&sealed).expect("again");
    assert_eq!(again.records_added, 0);
    assert_eq!(state(importer), after);
}

/// The centre's key is trusted as an exporter, and a phone enrolled a moment ago (whose store
/// knows no key but the centre's) imports its first bundle from the coordinator's phone: the
/// bundle's own enrolment records make the coordinator trusted.
#[test]
fn the_centre_and_a_coordinator_met_for_the_first_time_are_trusted_exporters() {
    let mut v = village();
    // The centre's store knows only the coordinator, so its bundle is sealed again for the
    // importer by the centre's device.
    let from_centre = v.centre.export_bundle(&Since::Everything).expect("export");
    let plain = seal::open_sealed(&from_centre, &key(1)).expect("open");
    let from_centre = sealed_for(&v, IMPORTER, &plain);
    v.device_mut(IMPORTER)
        .store
        .import_bundle(&from_centre)
        .expect("the centre's bundle");

    let mut phone = carebank_scenarios::open(v.circle, 300, &v.clock).expect("new phone");
    let point = fixed_id(0x5101);
    v.coordinator
        .store
        .enrol(enrolment(
            fixed_id(0x3000),
            "新护理员".into(),
            Role::Caregiver,
            point,
            phone.public_key(),
        ))
        .expect("enrol");
    let bundle = v
        .coordinator
        .store
        .export_bundle(&Since::Everything)
        .expect("export");
    let report = phone.import_bundle(&bundle).expect("first bundle");
    assert!(report.records_added > 0);
    let trusted: BTreeSet<PublicKey> = phone
        .trusted_keys()
        .expect("keys")
        .into_iter()
        .map(|k| k.device_key)
        .collect();
    assert!(trusted.contains(&v.coordinator.store.public_key()));
}

// Tests of the allowance for plain and version-1 bundles (an API the earlier code lacked).

#[test]
fn with_the_allowance_a_plain_bundle_imports_and_its_signature_is_still_checked() {
    let mut v = village();
    let (_, plain) = exported(&mut v);
    let mut parts = take_apart(&plain);
    parts.docs[0].deferred = 1;
    let altered = put_together(&parts);
    let importer = &mut v.device_mut(IMPORTER).store;
    let before = state(importer);
    importer
        .import_bundle_allowing_plain(&altered)
        .expect_err("altered, even allowed");
    assert_eq!(state(importer), before);
    let report = importer
        .import_bundle_allowing_plain(&plain)
        .expect("allowed");
    assert!(report.records_added > 0);
}

#[test]
fn a_version_1_bundle_is_read_only_with_the_allowance_and_judged_the_same() {
    let mut v = village();
    let (_, plain) = exported(&mut v);
    let mut parts = take_apart(&plain);
    parts.version = 1;
    parts.trailer.clear();
    // Version 1 carried no keyring.
    parts.keys.clear();
    let legacy = signed_by(&parts, &v.device_key(EXPORTER));
    let sealed = sealed_for(&v, IMPORTER, &legacy);
    for bytes in [&legacy, &sealed] {
        let err = refused(&mut v, bytes, "version 1");
        assert!(err.contains("--allow-plain-bundle"), "{err}");
    }
    let mut renamed = parts.clone();
    renamed.docs[0].name = "records/1999-12".into();
    let renamed = signed_by(&renamed, &v.device_key(EXPORTER));
    let importer = &mut v.device_mut(IMPORTER).store;
    let err = importer
        .import_bundle_allowing_plain(&renamed)
        .expect_err("judged all the same");
    assert!(
        err.to_string().contains("document named records/1999-12"),
        "{err}"
    );
    let report = importer
        .import_bundle_allowing_plain(&sealed)
        .expect("allowed");
    assert!(report.records_added > 0);
}
