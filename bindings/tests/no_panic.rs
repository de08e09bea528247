//! No panic crosses the FFI: every exported function, given bad input (malformed ids and keys,
//! out-of-range numbers, unknown records, wrong roles, failing app callbacks), returns a
//! `CareError` a UI can act on. Each call runs under `catch_unwind`, so a panic fails the test
//! by name. A last test checks that every exported function appears here.

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex};

use carebank_ffi::records::{
    AccessPurpose, CareCircle, CareLevel, CodeVerdict, ConfirmMethod, Confirmation, ConfirmedBy,
    Consent, ConsentAction, ConsentChange, ConsentPurpose, ConsentRelation, CorrectionAction,
    Elder, Enrolment, ErasureReason, FollowUp, FollowUpDone, Funding, LedgerRules, Level, MealMode,
    Observations, Revocation, Role, Service, ServiceDetail, Site, SiteKind, Verdict, Visit,
    WithdrawalReason,
};
use carebank_ffi::{
    CancellationToken, CareError, CareStore, PhoneChannel, PlatformError, ProgressListener,
    ProgressUpdate, SecureKeyStore, device_public_key, new_id,
};

/// 2026-11-02 08:00 China Standard Time.
const T0: i64 = 1_793_577_600_000;

#[derive(Default)]
struct Keys(Mutex<HashMap<String, Vec<u8>>>);

impl SecureKeyStore for Keys {
    fn load(&self, name: String) -> Result<Option<Vec<u8>>, PlatformError> {
        Ok(self.0.lock().expect("keys").get(&name).cloned())
    }
    fn save(&self, name: String, secret: Vec<u8>) -> Result<(), PlatformError> {
        self.0.lock().expect("keys").insert(name, secret);
        Ok(())
    }
}

/// A key store whose platform backend fails, as a locked Keystore does.
struct BrokenKeys;

impl SecureKeyStore for BrokenKeys {
    fn load(&self, _: String) -> Result<Option<Vec<u8>>, PlatformError> {
        Err(PlatformError::Failed {
            reason: "keystore locked".into(),
        })
    }
    fn save(&self, _: String, _: Vec<u8>) -> Result<(), PlatformError> {
        Err(PlatformError::Failed {
            reason: "keystore locked".into(),
        })
    }
}

struct Cancelled;

impl CancellationToken for Cancelled {
    fn is_cancelled(&self) -> Result<bool, PlatformError> {
        Ok(true)
    }
}

/// A phone link that is down.
struct BrokenChannel;

impl PhoneChannel for BrokenChannel {
    fn exchange(&self, _: Vec<u8>) -> Result<Vec<u8>, PlatformError> {
        Err(uniffi::UnexpectedUniFFICallbackError::new("IOException: socket closed").into())
    }
}

/// A phone link that brings back bytes that are no answer.
struct GarbageChannel;

impl PhoneChannel for GarbageChannel {
    fn exchange(&self, _: Vec<u8>) -> Result<Vec<u8>, PlatformError> {
        Ok(b"HTTP/1.1 502 Bad Gateway".to_vec())
    }
}

/// A listener that throws, as a buggy app callback would.
struct ThrowingListener;

impl ProgressListener for ThrowingListener {
    fn on_progress(&self, _: ProgressUpdate) -> Result<(), PlatformError> {
        Err(uniffi::UnexpectedUniFFICallbackError::new("NullPointerException").into())
    }
}

/// Runs one exported call; fails the test if it panics or succeeds, returns its error.
fn fails<T>(call: &str, f: impl FnOnce() -> Result<T, CareError>) -> CareError {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Err(e)) => e,
        Ok(Ok(_)) => panic!("{call} accepted bad input"),
        Err(_) => panic!("{call} panicked"),
    }
}

/// Runs one exported call that takes no input; fails the test if it panics or errs.
fn works<T>(call: &str, f: impl FnOnce() -> Result<T, CareError>) -> T {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => panic!("{call} failed: {e}"),
        Err(_) => panic!("{call} panicked"),
    }
}

fn field_of(e: &CareError) -> &str {
    match e {
        CareError::InvalidInput { field, .. } => field,
        other => panic!("expected invalid input, got {other:?}"),
    }
}

/// A centre, a village point, a coordinator and a caregiver, and one elder who consented to
/// care records only.
struct Village {
    centre: Arc<CareStore>,
    coordinator: Arc<CareStore>,
    caregiver: Arc<CareStore>,
    caregiver_id: String,
    elder_id: String,
    circle: CareCircle,
}

fn village() -> Village {
    let keys = Arc::new(Keys::default());
    let circle = CareCircle {
        circle_id: new_id(),
        centre_key: device_public_key(keys.clone(), "centre".into()).expect("key"),
    };
    let open = |name: &str| {
        CareStore::open_in_memory(circle.clone(), keys.clone(), name.into()).expect("open")
    };
    let (centre, coordinator, caregiver) = (open("centre"), open("coordinator"), open("caregiver"));
    let (centre_site, point) = (new_id(), new_id());
    centre
        .add_site(Site {
            site_id: centre_site.clone(),
            kind: SiteKind::Centre,
            name: "龙泉镇养老服务中心".into(),
            parent: None,
        })
        .expect("centre site");
    centre
        .add_site(Site {
            site_id: point.clone(),
            kind: SiteKind::VillagePoint,
            name: "石桥村互助养老点".into(),
            parent: Some(centre_site),
        })
        .expect("point");
    centre
        .enrol(enrolment(&point, Role::Coordinator, &coordinator))
        .expect("coordinator");
    coordinator
        .merge_from(centre.clone(), None, None)
        .expect("merge");
    let caregiver_enrolment = enrolment(&point, Role::Caregiver, &caregiver);
    let caregiver_id = caregiver_enrolment.member_id.clone();
    coordinator.enrol(caregiver_enrolment).expect("caregiver");
    let elder = elder(&point);
    let elder_id = elder.elder_id.clone();
    coordinator.enrol_elder(elder).expect("elder");
    caregiver
        .merge_from(coordinator.clone(), None, None)
        .expect("merge");
    Village {
        centre,
        coordinator,
        caregiver,
        caregiver_id,
        elder_id,
        circle,
    }
}

fn enrolment(site: &str, role: Role, device: &CareStore) -> Enrolment {
    Enrolment {
        member_id: new_id(),
        name: "王芳".into(),
        role,
        site_id: site.into(),
        device_key: device.device_key().expect("key"),
        family_of: None,
        valid_from_ms: None,
        valid_until_ms: None,
        household: None,
        birth_year: None,
    }
}

fn elder(site: &str) -> Elder {
    Elder {
        elder_id: new_id(),
        site_id: site.into(),
        name: "张大爷".into(),
        birth_year: 1938,
        groups: vec![],
        care_level: CareLevel::Mild,
        visit_cadence_days: 7,
        monthly_entitled_hours: 0,
        responsible_member: None,
        consent: Consent {
            given_by: "本人".into(),
            relation: ConsentRelation::Elder,
            given_at_ms: T0,
            purposes: vec![ConsentPurpose::CareRecords],
        },
    }
}

fn visit(v: &Village) -> Visit {
    Visit {
        elder_id: v.elder_id.clone(),
        caregiver_id: v.caregiver_id.clone(),
        check_in_ms: T0,
        check_out_ms: T0 + 1_800_000,
        location: None,
        observations: Observations::default(),
        risk_flags: vec![],
        follow_ups: vec![],
    }
}

fn meal(v: &Village) -> Service {
    Service {
        elder_id: v.elder_id.clone(),
        provider_id: v.caregiver_id.clone(),
        started_ms: T0,
        duration_minutes: 30,
        funding: Funding::SelfPaid,
        detail: ServiceDetail::Meal {
            mode: MealMode::Delivered,
            portions: 1,
            diet_notes: None,
        },
        confirmation: None,
    }
}

#[test]
fn key_storage_and_opening_fail_cleanly() {
    let v = village();
    let e = fails("device_public_key", || {
        device_public_key(Arc::new(BrokenKeys), "device".into())
    });
    assert!(matches!(e, CareError::KeyStorage { .. }), "{e:?}");
    let short = Arc::new(Keys::default());
    short.save("device".into(), vec![1, 2, 3]).expect("save");
    let e = fails("device_public_key", || {
        device_public_key(short.clone(), "device".into())
    });
    assert!(matches!(e, CareError::KeyStorage { .. }), "{e:?}");

    let keys = Arc::new(Keys::default());
    let bad_id = CareCircle {
        circle_id: "village".into(),
        ..v.circle.clone()
    };
    let e = fails("open_in_memory", || {
        CareStore::open_in_memory(bad_id.clone(), keys.clone(), "d".into())
    });
    assert_eq!(field_of(&e), "circle_id");
    let bad_key = CareCircle {
        centre_key: "00".into(),
        ..v.circle.clone()
    };
    let e = fails("open", || {
        CareStore::open(
            "/tmp/x.db".into(),
            bad_key.clone(),
            keys.clone(),
            "d".into(),
        )
    });
    assert_eq!(field_of(&e), "centre_key");
    let e = fails("open", || {
        CareStore::open(
            "/nonexistent/dir/store.db".into(),
            v.circle.clone(),
            keys.clone(),
            "d".into(),
        )
    });
    assert!(matches!(e, CareError::Storage { .. }), "{e:?}");
    let e = fails("open", || {
        CareStore::open(
            "/tmp/never.db".into(),
            v.circle.clone(),
            Arc::new(BrokenKeys),
            "d".into(),
        )
    });
    assert!(matches!(e, CareError::KeyStorage { .. }), "{e:?}");

    // Another circle's store file cannot be opened as this circle's.
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("store.db").to_string_lossy().into_owned();
    drop(CareStore::open(path.clone(), v.circle.clone(), keys.clone(), "d".into()).expect("open"));
    // The file is encrypted under the key store's `store-key`: a key store with another one,
    // or none, opens nothing and changes nothing.
    let before = std::fs::read(&path).expect("bytes");
    let stranger = Arc::new(Keys::default());
    stranger
        .save(
            "d".into(),
            keys.load("d".into()).expect("load").expect("device key"),
        )
        .expect("save");
    let e = fails("open", || {
        CareStore::open(path.clone(), v.circle.clone(), stranger.clone(), "d".into())
    });
    assert!(matches!(e, CareError::KeyStorage { .. }), "{e:?}");
    stranger
        .save("store-key".into(), vec![1; 32])
        .expect("save");
    let e = fails("open", || {
        CareStore::open(path.clone(), v.circle.clone(), stranger.clone(), "d".into())
    });
    assert!(e.to_string().contains("wrong key for this store"), "{e}");
    assert_eq!(std::fs::read(&path).expect("bytes"), before);

    let other = CareCircle {
        circle_id: new_id(),
        ..v.circle.clone()
    };
    let e = fails("open", || CareStore::open(path, other, keys, "d".into()));
    assert_eq!(field_of(&e), "circle_id");
}

/// A write call with its arguments bound.
type Write = Box<dyn FnOnce() -> Result<String, CareError>>;

#[test]
fn writes_refuse_bad_records_with_the_field_named() {
    let v = village();
    let cases: Vec<(&str, &str, Write)> = vec![
        ("add_site", "site_id", {
            let c = v.centre.clone();
            Box::new(move || {
                c.add_site(Site {
                    site_id: "".into(),
                    kind: SiteKind::Centre,
                    name: "x".into(),
                    parent: None,
                })
            })
        }),
        ("add_site", "name", {
            let c = v.centre.clone();
            Box::new(move || {
                c.add_site(Site {
                    site_id: new_id(),
                    kind: SiteKind::Centre,
                    name: "长".repeat(10_000),
                    parent: None,
                })
            })
        }),
        ("enrol", "device_key", {
            let c = v.coordinator.clone();
            Box::new(move || {
                c.enrol(Enrolment {
                    member_id: new_id(),
                    name: "x".into(),
                    role: Role::Volunteer,
                    site_id: new_id(),
                    device_key: "ZZ".repeat(32),
                    family_of: None,
                    valid_from_ms: None,
                    valid_until_ms: None,
                    household: None,
                    birth_year: None,
                })
            })
        }),
        ("revoke", "effective_ms", {
            let c = v.coordinator.clone();
            let key = v.caregiver.device_key().expect("key");
            Box::new(move || {
                c.revoke(Revocation {
                    device_key: key,
                    effective_ms: -1,
                    reason: "lost".into(),
                })
            })
        }),
        ("enrol_elder", "birth_year", {
            let c = v.coordinator.clone();
            let site = new_id();
            Box::new(move || {
                c.enrol_elder(Elder {
                    birth_year: 0,
                    ..elder(&site)
                })
            })
        }),
        ("record_visit", "elder_id", {
            let c = v.caregiver.clone();
            let bad = Visit {
                elder_id: "张大爷".into(),
                ..visit(&v)
            };
            Box::new(move || c.record_visit(bad))
        }),
        ("record_visit", "check_in_ms", {
            let c = v.caregiver.clone();
            let bad = Visit {
                check_in_ms: i64::MIN,
                ..visit(&v)
            };
            Box::new(move || c.record_visit(bad))
        }),
        ("record_visit", "check_out_ms", {
            let c = v.caregiver.clone();
            let bad = Visit {
                check_out_ms: T0 - 1,
                ..visit(&v)
            };
            Box::new(move || c.record_visit(bad))
        }),
        ("record_visit", "follow_ups.action", {
            let c = v.caregiver.clone();
            let bad = Visit {
                follow_ups: vec![FollowUp {
                    action: " ".into(),
                    due_ms: None,
                }],
                ..visit(&v)
            };
            Box::new(move || c.record_visit(bad))
        }),
        ("record_service", "duration_minutes", {
            let c = v.caregiver.clone();
            let bad = Service {
                duration_minutes: i64::MIN,
                ..meal(&v)
            };
            Box::new(move || c.record_service(bad))
        }),
        ("record_service", "portions", {
            let c = v.caregiver.clone();
            let bad = Service {
                detail: ServiceDetail::Meal {
                    mode: MealMode::DiningTable,
                    portions: u32::MAX,
                    diet_notes: None,
                },
                ..meal(&v)
            };
            Box::new(move || c.record_service(bad))
        }),
        ("follow_up_done", "visit_id", {
            let c = v.caregiver.clone();
            Box::new(move || {
                c.follow_up_done(FollowUpDone {
                    visit_id: "1".into(),
                    index: 0,
                    done_at_ms: T0,
                    note: None,
                })
            })
        }),
        ("follow_up_done", "done_at_ms", {
            let c = v.caregiver.clone();
            Box::new(move || {
                c.follow_up_done(FollowUpDone {
                    visit_id: new_id(),
                    index: 0,
                    done_at_ms: i64::MAX,
                    note: None,
                })
            })
        }),
        ("correct", "target_id", {
            let c = v.caregiver.clone();
            Box::new(move || c.correct("".into(), CorrectionAction::Void, "dup".into()))
        }),
        ("correct", "elder_id", {
            let c = v.caregiver.clone();
            let bad = Visit {
                elder_id: "x".into(),
                ..visit(&v)
            };
            Box::new(move || {
                c.correct(
                    new_id(),
                    CorrectionAction::AmendVisit { visit: bad },
                    "typo".into(),
                )
            })
        }),
    ];
    for (call, field, f) in cases {
        let e = fails(call, f);
        assert_eq!(field_of(&e), field, "{call}: {e}");
    }
}

#[test]
fn writes_refuse_what_the_store_does_not_allow() {
    let v = village();
    let e = fails("add_site", || {
        v.caregiver.add_site(Site {
            site_id: new_id(),
            kind: SiteKind::Centre,
            name: "x".into(),
            parent: None,
        })
    });
    assert!(matches!(e, CareError::NotAuthorised { .. }), "{e:?}");
    let e = fails("enrol_elder", || v.caregiver.enrol_elder(elder(&new_id())));
    assert!(matches!(e, CareError::NotAuthorised { .. }), "{e:?}");
    let e = fails("record_visit", || {
        v.caregiver.record_visit(Visit {
            elder_id: new_id(),
            ..visit(&v)
        })
    });
    assert!(
        matches!(e, CareError::NotFound { ref what, .. } if what == "elder"),
        "{e:?}"
    );
    let e = fails("record_visit", || {
        v.caregiver.record_visit(Visit {
            observations: Observations {
                health: Some(Level::Poor),
                ..Observations::default()
            },
            ..visit(&v)
        })
    });
    assert!(matches!(e, CareError::ConsentMissing { .. }), "{e:?}");
    let e = fails("record_service", || {
        v.caregiver.record_service(Service {
            funding: Funding::Government,
            ..meal(&v)
        })
    });
    assert!(matches!(e, CareError::InvalidInput { .. }), "{e:?}");
    let visit_id = v.caregiver.record_visit(visit(&v)).expect("visit");
    let e = fails("follow_up_done", || {
        v.caregiver.follow_up_done(FollowUpDone {
            visit_id: visit_id.clone(),
            index: 3,
            done_at_ms: T0,
            note: None,
        })
    });
    assert!(matches!(e, CareError::NotFound { .. }), "{e:?}");
    let e = fails("correct", || {
        v.caregiver
            .correct(new_id(), CorrectionAction::Void, "dup".into())
    });
    assert!(matches!(e, CareError::NotFound { .. }), "{e:?}");
    let e = fails("get", || v.caregiver.get(new_id(), AccessPurpose::Care));
    assert!(matches!(e, CareError::NotFound { .. }), "{e:?}");
    let e = fails("get", || {
        v.caregiver.get("not hex".into(), AccessPurpose::Care)
    });
    assert_eq!(field_of(&e), "record_id");
}

#[test]
fn queries_refuse_bad_months_and_instants() {
    let v = village();
    for now in [i64::MIN, -1, i64::MAX] {
        let e = fails("overdue_visits", || {
            v.coordinator.overdue_visits(now, AccessPurpose::Care)
        });
        assert_eq!(field_of(&e), "now_ms");
    }
    for month in [
        "",
        "2026-13",
        "26-11",
        "2026-1",
        "９９９９-12",
        "2026-11-01",
    ] {
        let e = fails("elder_month", || {
            v.coordinator
                .elder_month(v.elder_id.clone(), month.into(), AccessPurpose::Care)
        });
        assert_eq!(field_of(&e), "month", "{month:?}");
        let e = fails("entitlement_use", || {
            v.coordinator
                .entitlement_use(month.into(), AccessPurpose::Report)
        });
        assert_eq!(field_of(&e), "month", "{month:?}");
        let e = fails("person_times", || v.coordinator.person_times(month.into()));
        assert_eq!(field_of(&e), "month", "{month:?}");
    }
    let e = fails("elder_month", || {
        v.coordinator
            .elder_month("".into(), "2026-11".into(), AccessPurpose::Care)
    });
    assert_eq!(field_of(&e), "elder_id");
    // The extremes that are valid do not panic either.
    works("overdue_visits", || {
        v.coordinator.overdue_visits(0, AccessPurpose::Care)
    });
    works("overdue_visits", || {
        v.coordinator
            .overdue_visits(253_402_300_799_999, AccessPurpose::Audit)
    });
    works("person_times", || {
        v.coordinator.person_times("9999-12".into())
    });
    works("person_times", || {
        v.coordinator.person_times("1970-01".into())
    });
}

#[test]
fn privacy_calls_refuse_bad_ids_unknown_elders_and_wrong_roles() {
    let v = village();
    for bad in ["", "not hex", "٣٣"] {
        let e = fails("access_log", || v.coordinator.access_log(bad.into()));
        assert_eq!(field_of(&e), "elder_id");
        let e = fails("export_elder", || v.coordinator.export_elder(bad.into()));
        assert_eq!(field_of(&e), "elder_id");
    }
    let e = fails("export_elder", || v.coordinator.export_elder(new_id()));
    assert!(matches!(e, CareError::NotFound { .. }), "{e:?}");
    // An elder nobody read has an empty log; the export is logged and shows itself.
    assert!(
        works("access_log", || v
            .coordinator
            .access_log(v.elder_id.clone()))
        .is_empty()
    );
    let json = works("export_elder", || {
        v.coordinator.export_elder(v.elder_id.clone())
    });
    assert!(json.contains("\"export_elder\""), "{json}");
    let change = |elder_id: String, at_ms: i64, by: &str| ConsentChange {
        elder_id,
        purpose: ConsentPurpose::HealthObservations,
        action: ConsentAction::Withdraw,
        at_ms,
        by: by.into(),
        relation: ConsentRelation::Elder,
        reason: None,
    };
    let e = fails("change_consent", || {
        v.coordinator
            .change_consent(change("x".into(), T0, "张大爷"))
    });
    assert_eq!(field_of(&e), "elder_id");
    for at in [i64::MIN, -1] {
        let e = fails("change_consent", || {
            v.coordinator
                .change_consent(change(v.elder_id.clone(), at, "张大爷"))
        });
        assert_eq!(field_of(&e), "at_ms");
    }
    let e = fails("change_consent", || {
        v.coordinator
            .change_consent(change(v.elder_id.clone(), T0, " "))
    });
    assert_eq!(field_of(&e), "by");
    let e = fails("change_consent", || {
        v.coordinator.change_consent(change(new_id(), T0, "张大爷"))
    });
    assert!(matches!(e, CareError::NotFound { .. }), "{e:?}");
    let e = fails("change_consent", || {
        v.caregiver
            .change_consent(change(v.elder_id.clone(), T0, "张大爷"))
    });
    assert!(matches!(e, CareError::NotAuthorised { .. }), "{e:?}");
    works("change_consent", || {
        v.coordinator
            .change_consent(change(v.elder_id.clone(), T0, "张大爷"))
    });
    // Erasure: bad ids, unknown elders and a caregiver are refused; once erased, an elder is
    // erased for good and nothing more is recorded about them.
    for bad in ["", "not hex"] {
        let e = fails("erase_elder", || {
            v.coordinator
                .erase_elder(bad.into(), ErasureReason::ElderRequest)
        });
        assert_eq!(field_of(&e), "elder_id");
        let e = fails("is_erased", || v.coordinator.is_erased(bad.into()));
        assert_eq!(field_of(&e), "elder_id");
    }
    let e = fails("erase_elder", || {
        v.coordinator
            .erase_elder(new_id(), ErasureReason::ElderRequest)
    });
    assert!(matches!(e, CareError::NotFound { .. }), "{e:?}");
    let e = fails("erase_elder", || {
        v.caregiver
            .erase_elder(v.elder_id.clone(), ErasureReason::ElderRequest)
    });
    assert!(matches!(e, CareError::NotAuthorised { .. }), "{e:?}");
    assert!(!works("is_erased", || v
        .coordinator
        .is_erased(v.elder_id.clone())));
    works("erase_elder", || {
        v.coordinator
            .erase_elder(v.elder_id.clone(), ErasureReason::ServiceEnded)
    });
    assert!(works("is_erased", || v
        .coordinator
        .is_erased(v.elder_id.clone())));
    let e = fails("erase_elder", || {
        v.coordinator
            .erase_elder(v.elder_id.clone(), ErasureReason::ServiceEnded)
    });
    assert_eq!(field_of(&e), "elder_id", "{e:?}");
    let e = fails("change_consent", || {
        v.coordinator
            .change_consent(change(v.elder_id.clone(), T0, "张大爷"))
    });
    assert_eq!(field_of(&e), "elder_id", "{e:?}");
}

#[test]
fn card_calls_refuse_bad_ids_codes_and_wrong_roles() {
    let v = village();
    for bad in ["", "x", "0123"] {
        let e = fails("issue_card", || v.coordinator.issue_card(bad.into(), 10));
        assert_eq!(field_of(&e), "elder_id");
        let e = fails("card_sheet", || v.coordinator.card_sheet(bad.into()));
        assert_eq!(field_of(&e), "card_id");
        let e = fails("withdraw_card", || {
            v.coordinator
                .withdraw_card(bad.into(), None, WithdrawalReason::Lost)
        });
        assert_eq!(field_of(&e), "card_id");
    }
    for codes in [0, 201, u32::MAX] {
        let e = fails("issue_card", || {
            v.coordinator.issue_card(v.elder_id.clone(), codes)
        });
        assert_eq!(field_of(&e), "codes");
    }
    let e = fails("issue_card", || v.coordinator.issue_card(new_id(), 10));
    assert!(matches!(e, CareError::NotFound { .. }), "{e:?}");
    let e = fails("issue_card", || {
        v.caregiver.issue_card(v.elder_id.clone(), 10)
    });
    assert!(matches!(e, CareError::NotAuthorised { .. }), "{e:?}");
    let sheet = works("issue_card", || {
        v.coordinator.issue_card(v.elder_id.clone(), 10)
    });
    let card = sheet.card.card_id.clone();
    assert_eq!(sheet.codes.len(), 10);
    v.caregiver
        .merge_from(v.coordinator.clone(), None, None)
        .expect("merge");
    let e = fails("card_sheet", || v.caregiver.card_sheet(card.clone()));
    assert!(matches!(e, CareError::NotAuthorised { .. }), "{e:?}");
    let e = fails("card_sheet", || v.coordinator.card_sheet(new_id()));
    assert!(matches!(e, CareError::NotFound { .. }), "{e:?}");
    let e = fails("withdraw_card", || {
        v.caregiver
            .withdraw_card(card.clone(), None, WithdrawalReason::Lost)
    });
    assert!(matches!(e, CareError::NotAuthorised { .. }), "{e:?}");
    let e = fails("withdraw_card", || {
        v.coordinator
            .withdraw_card(card.clone(), Some(-1), WithdrawalReason::Lost)
    });
    assert_eq!(field_of(&e), "from_ms");
    let coded = |code: Option<&str>, card_id: Option<String>, method| {
        let mut s = meal(&v);
        s.confirmation = Some(Confirmation {
            by: ConfirmedBy::Elder,
            member_id: None,
            method,
            at_ms: T0,
            card_code: code.map(str::to_string),
            card_id,
        });
        s
    };
    for (code, card_id, method) in [
        (Some("12345"), None, ConfirmMethod::CardCode),
        (Some("１２３４５６"), None, ConfirmMethod::CardCode),
        (None, None, ConfirmMethod::CardCode),
        (Some("123456"), None, ConfirmMethod::InPerson),
        (None, Some(card.clone()), ConfirmMethod::CardCode),
        (Some("123456"), Some("x".into()), ConfirmMethod::CardCode),
    ] {
        let e = fails("record_service", || {
            v.caregiver.record_service(coded(code, card_id, method))
        });
        assert!(
            field_of(&e).starts_with("confirmation") || field_of(&e).is_empty(),
            "{e:?}"
        );
    }
    let e = fails("record_service", || {
        v.caregiver.record_service(coded(
            Some(sheet.codes[0].as_str()),
            Some(new_id()),
            ConfirmMethod::CardCode,
        ))
    });
    assert!(matches!(e, CareError::NotFound { .. }), "{e:?}");
    works("record_service", || {
        v.caregiver.record_service(coded(
            Some(sheet.codes[0].as_str()),
            Some(card.clone()),
            ConfirmMethod::CardCode,
        ))
    });
    for bad in ["", "2026-13", "11/2026"] {
        let e = fails("card_confirmations", || {
            v.coordinator.card_confirmations(bad.into())
        });
        assert_eq!(field_of(&e), "month");
    }
    v.coordinator
        .merge_from(v.caregiver.clone(), None, None)
        .expect("merge");
    let checks = works("card_confirmations", || {
        v.coordinator.card_confirmations("2026-11".into())
    });
    assert_eq!(checks.len(), 1);
    assert_eq!(checks[0].verdict, CodeVerdict::Valid);
    works("withdraw_card", || {
        v.coordinator
            .withdraw_card(card.clone(), None, WithdrawalReason::Replaced)
    });
}

#[test]
fn calls_without_input_answer_on_a_healthy_store() {
    let v = village();
    let s = &v.coordinator;
    assert_eq!(works("new_id", || Ok(new_id())).len(), 32);
    assert_eq!(works("device_key", || s.device_key()).len(), 64);
    assert_eq!(works("circle", || s.circle()), v.circle);
    assert!(works("open_follow_ups", || s.open_follow_ups(AccessPurpose::Care)).is_empty());
    assert!(works("rejections", || s.rejections()).is_empty());
    assert!(works("untrusted_records", || s.untrusted_records()).is_empty());
    assert!(works("consent_conflicts", || s.consent_conflicts()).is_empty());
    assert_eq!(works("trusted_keys", || s.trusted_keys()).len(), 3);
    works("run_maintenance", || s.run_maintenance());
    assert_eq!(
        works("run_maintenance", || s.run_maintenance()).documents_compacted,
        0,
        "the first run left every document in one chunk"
    );
    assert!(
        works("rebuild_indexes", || s.rebuild_indexes())
            .rejected
            .is_empty()
    );
}

#[test]
fn merges_fail_cleanly_on_self_cancellation_and_throwing_listeners() {
    let v = village();
    let e = fails("merge_from", || {
        v.caregiver.merge_from(v.caregiver.clone(), None, None)
    });
    assert_eq!(field_of(&e), "other");
    let e = fails("merge_from", || {
        v.centre
            .merge_from(v.coordinator.clone(), None, Some(Arc::new(Cancelled)))
    });
    assert_eq!(e, CareError::Cancelled);
    let e = fails("merge_from", || {
        v.centre.merge_from(
            v.coordinator.clone(),
            Some(Arc::new(ThrowingListener)),
            None,
        )
    });
    assert!(matches!(e, CareError::Internal { .. }), "{e:?}");
    // The store is still usable after the failed merges.
    works("merge_from", || {
        v.centre.merge_from(v.coordinator.clone(), None, None)
    });
}

#[test]
fn ledger_calls_refuse_bad_input_with_the_field_named() {
    let v = village();
    let (cg, co) = (&v.caregiver, &v.coordinator);
    let cases: Vec<(&str, &str, Write)> = vec![
        ("claim_hours", "service_id", {
            let c = cg.clone();
            Box::new(move || c.claim_hours("".into(), 30))
        }),
        ("confirm_claim", "claim_id", {
            let c = co.clone();
            Box::new(move || c.confirm_claim("x".into(), ConfirmMethod::InPerson))
        }),
        ("redeem_hours", "service_id", {
            let c = cg.clone();
            Box::new(move || c.redeem_hours(30, Some("飯".into())))
        }),
        ("gift_hours", "to_member_id", {
            let c = cg.clone();
            Box::new(move || c.gift_hours("-1".into(), 30))
        }),
        ("decide", "target_id", {
            let c = co.clone();
            Box::new(move || c.decide("".into(), Verdict::Reject, "fork".into()))
        }),
        ("set_ledger_rules", "cap_minutes", {
            let c = v.centre.clone();
            Box::new(move || {
                c.set_ledger_rules(LedgerRules {
                    cap_minutes: Some(-5),
                    expiry_days: None,
                    redemption_age: None,
                    gift_cap_minutes_per_year: None,
                    approval_required: false,
                })
            })
        }),
    ];
    for (call, field, f) in cases {
        let e = fails(call, f);
        assert_eq!(field_of(&e), field, "{call}: {e}");
    }
    let e = fails("balance", || cg.balance("member".into()));
    assert_eq!(field_of(&e), "member_id");
    for now in [i64::MIN, -1, i64::MAX] {
        let e = fails("balances", || co.balances(now));
        assert_eq!(field_of(&e), "now_ms");
    }
    let e = fails("export_statement", || co.export_statement("".into()));
    assert_eq!(field_of(&e), "member_id");
    for bytes in [vec![], vec![0xff; 64], b"{\"statement\":1}".to_vec()] {
        let e = fails("verify_statement", || co.verify_statement(bytes.clone()));
        assert_eq!(field_of(&e), "statement", "{e}");
    }
}

#[test]
fn ledger_calls_refuse_what_the_time_bank_does_not_allow() {
    let v = village();
    let e = fails("set_ledger_rules", || {
        v.caregiver.set_ledger_rules(LedgerRules {
            cap_minutes: None,
            expiry_days: None,
            redemption_age: None,
            gift_cap_minutes_per_year: None,
            approval_required: true,
        })
    });
    assert!(matches!(e, CareError::NotAuthorised { .. }), "{e:?}");
    // Unknown records, out-of-range minutes and overdrafts all come back as errors.
    fails("claim_hours", || v.caregiver.claim_hours(new_id(), 30));
    fails("claim_hours", || {
        v.caregiver.claim_hours(new_id(), i64::MIN)
    });
    // A confirmation of a claim not yet here is kept, pending until the claim arrives.
    works("confirm_claim", || {
        v.coordinator
            .confirm_claim(new_id(), ConfirmMethod::PhoneCall)
    });
    fails("redeem_hours", || v.caregiver.redeem_hours(i64::MAX, None));
    // An overdraft says the balance it would leave; an entry the coordinator would have to
    // settle says why, in words.
    let e = fails("redeem_hours", || v.caregiver.redeem_hours(60, None));
    assert_eq!(
        e,
        CareError::Overdraft {
            balance_after_minutes: -60
        }
    );
    let e = fails("gift_hours", || {
        v.caregiver.gift_hours(v.caregiver_id.clone(), 30)
    });
    assert_eq!(field_of(&e), "", "{e:?}");
    let e = fails("gift_hours", || {
        v.coordinator.gift_hours(v.caregiver_id.clone(), 30)
    });
    assert_eq!(
        e,
        CareError::NeedsCoordinator {
            reason: "hours may be given only to a member of the same household".into()
        }
    );
    fails("gift_hours", || v.caregiver.gift_hours(new_id(), 0));
    fails("decide", || {
        v.caregiver.decide(new_id(), Verdict::Approve, "ok".into())
    });
    fails("decide", || {
        v.coordinator.decide(new_id(), Verdict::Approve, "".into())
    });
    // The read calls answer on an empty ledger.
    let b = works("balance", || v.coordinator.balance(v.caregiver_id.clone()));
    assert_eq!(b.available_minutes, 0);
    assert!(works("balances", || v.coordinator.balances(T0)).is_empty());
    assert!(works("conflict_queue", || v.coordinator.conflict_queue()).is_empty());
}

#[test]
fn sync_calls_fail_cleanly() {
    let v = village();
    let s = &v.caregiver;
    assert_eq!(
        works("peer_name", || s.peer_name()),
        s.device_key().expect("key")
    );
    let everything = works("export_bundle", || s.export_bundle(None));
    works("export_bundle", || {
        s.export_bundle(Some("no such peer".into()))
    });
    for bytes in [
        vec![],
        vec![0; 100],
        everything[..everything.len() / 2].to_vec(),
    ] {
        let e = fails("import_bundle", || s.import_bundle(bytes.clone()));
        assert_eq!(field_of(&e), "bundle", "{e}");
    }
    // A bundle of another circle.
    let keys = Arc::new(Keys::default());
    let other = CareCircle {
        circle_id: new_id(),
        centre_key: device_public_key(keys.clone(), "centre".into()).expect("key"),
    };
    let stranger = CareStore::open_in_memory(other, keys, "centre".into()).expect("open");
    let foreign = stranger.export_bundle(None).expect("bundle");
    let e = fails("import_bundle", || s.import_bundle(foreign));
    assert_eq!(field_of(&e), "bundle", "{e}");
    // A frame too damaged to answer is invalid input.
    let e = fails("answer_sync", || s.answer_sync(vec![1, 2, 3]));
    assert_eq!(field_of(&e), "frame", "{e}");
    // A channel that throws, one that brings back garbage, and a cancelled sync.
    for channel in [
        Arc::new(BrokenChannel) as Arc<dyn PhoneChannel>,
        Arc::new(GarbageChannel),
    ] {
        let e = fails("sync_with_phone", || {
            s.sync_with_phone(channel.clone(), None, None)
        });
        assert!(matches!(e, CareError::Network { .. }), "{e:?}");
    }
    let e = fails("sync_with_phone", || {
        s.sync_with_phone(Arc::new(GarbageChannel), None, Some(Arc::new(Cancelled)))
    });
    assert_eq!(e, CareError::Cancelled);
    // An address that is not a URL is the form's mistake; one that does not answer is the
    // network's.
    for url in ["not a url", "", "relay.example:8443"] {
        let e = fails("sync_with_relay", || {
            s.sync_with_relay(url.into(), None, None, None)
        });
        assert_eq!(field_of(&e), "url", "{url}: {e:?}");
    }
    let e = fails("sync_with_relay", || {
        s.sync_with_relay("http://127.0.0.1:1".into(), None, None, None)
    });
    assert!(matches!(e, CareError::Network { .. }), "{e:?}");
    let e = fails("sync_with_relay", || {
        s.sync_with_relay(
            "https://127.0.0.1:1".into(),
            None,
            None,
            Some("not a certificate".into()),
        )
    });
    assert_eq!(field_of(&e), "ca_pem", "{e}");
    let e = fails("sync_with_relay", || {
        s.sync_with_relay(
            "http://127.0.0.1:1".into(),
            None,
            Some(Arc::new(Cancelled)),
            None,
        )
    });
    assert_eq!(e, CareError::Cancelled);
}

/// Every function the library exports must be exercised above: collects the `pub fn` names of
/// the exported modules and looks for each in this file.
#[test]
fn every_exported_function_is_covered_here() {
    let this = include_str!("no_panic.rs");
    let exported = [
        include_str!("../src/store.rs"),
        include_str!("../src/lib.rs"),
    ];
    let mut missing = vec![];
    for source in exported {
        for name in source
            .split("pub fn ")
            .skip(1)
            .filter_map(|rest| rest.split(['(', '<']).next())
        {
            if !this.contains(&format!("\"{name}\"")) {
                missing.push(name.to_string());
            }
        }
    }
    assert!(
        missing.is_empty(),
        "exported but not tested for panics: {missing:?}"
    );
}
