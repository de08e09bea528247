//! Many devices, a relay on loopback, random outages, phone-to-phone meetings and bundle
//! hand-offs. After the network heals every store holds the same records, documents and
//! answers, and no record was lost or duplicated. Runs on SQLite, and on PostgreSQL (two relay
//! instances sharing one database) when `CAREBANK_TEST_POSTGRES_URL` is set.

use std::collections::BTreeSet;

use carebank_core::CareStore;
use carebank_core::domain::{ConfirmMethod, Funding};
use carebank_core::ids::Id;
use carebank_core::sync::bundle::Since;
use carebank_core::sync::{CancelToken, SyncError, SyncReplica};
use carebank_core::time::{Month, UnixMs};
use carebank_relay::RelayHandle;
use carebank_scenarios::net::{PgSchema, client, start_relay};
use carebank_scenarios::{DAY, ElderSpec, MINUTE, START_MS, Village, meal, service, visit};

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

struct Phone {
    member: Id,
    provider_role: Role,
    store: CareStore,
}

#[derive(Clone, Copy, PartialEq)]
enum Role {
    Caregiver,
    Volunteer,
    Coordinator,
}

/// The relays of the simulation: restartable, on fixed addresses.
struct Relays {
    dir: tempfile::TempDir,
    circle: carebank_core::Circle,
    database_url: Option<String>,
    running: Vec<Option<RelayHandle>>,
    addrs: Vec<std::net::SocketAddr>,
}

impl Relays {
    fn start(
        circle: carebank_core::Circle,
        database_url: Option<String>,
        instances: usize,
    ) -> Relays {
        let dir = tempfile::tempdir().expect("dir");
        let running: Vec<Option<RelayHandle>> = (0..instances)
            .map(|_| Some(start_relay(dir.path(), circle, None, database_url.clone())))
            .collect();
        let addrs = running.iter().flatten().map(|r| r.addr()).collect();
        Relays {
            dir,
            circle,
            database_url,
            running,
            addrs,
        }
    }
    fn take_down(&mut self, i: usize, crash: bool) {
        if let Some(relay) = self.running[i].take() {
            if crash {
                relay.kill().expect("kill");
            } else {
                relay.stop().expect("stop");
            }
        }
    }
    fn bring_up(&mut self, i: usize) {
        if self.running[i].is_none() {
            self.running[i] = Some(start_relay(
                self.dir.path(),
                self.circle,
                Some(self.addrs[i]),
                self.database_url.clone(),
            ));
        }
    }
    fn up(&self, i: usize) -> bool {
        self.running[i].is_some()
    }
    fn client(&self, i: usize) -> carebank_core::sync::http::RelayClient {
        match &self.running[i] {
            Some(r) => client(r),
            None => {
                carebank_core::sync::http::RelayClient::new(&format!("http://{}", self.addrs[i]))
                    .expect("client")
                    .with_retries(1, std::time::Duration::from_millis(1))
            }
        }
    }
}

fn no_progress(_: &carebank_core::sync::Progress) {}

fn simulate(database_url: Option<String>, instances: usize, seed: u64) {
    let v = Village::build(3, 3, &[ElderSpec::weekly(30); 8]).expect("village");
    let Village {
        circle,
        clock,
        mut centre,
        coordinator,
        caregivers,
        volunteers,
        elders,
        ..
    } = v;
    let mut phones: Vec<Phone> = vec![Phone {
        member: coordinator.member_id,
        provider_role: Role::Coordinator,
        store: coordinator.store,
    }];
    phones.extend(caregivers.into_iter().map(|d| Phone {
        member: d.member_id,
        provider_role: Role::Caregiver,
        store: d.store,
    }));
    phones.extend(volunteers.into_iter().map(|d| Phone {
        member: d.member_id,
        provider_role: Role::Volunteer,
        store: d.store,
    }));
    let mut expected: BTreeSet<Id> = centre.store().record_ids().expect("ids");
    for p in &phones {
        expected.extend(p.store.store().record_ids().expect("ids"));
    }

    let mut relays = Relays::start(circle, database_url, instances);
    centre
        .sync_with_relay(&relays.client(0), &CancelToken::new(), &mut no_progress)
        .expect("the centre bootstraps the circle");
    // The coordinator's phone brings the members' enrolments; until it has synced once, the
    // relay rightly refuses the members' phones.
    phones[0]
        .store
        .sync_with_relay(&relays.client(0), &CancelToken::new(), &mut no_progress)
        .expect("the coordinator brings the enrolments");
    let mut rng = Rng(seed);
    let cancel = CancelToken::new();
    let (mut relay_syncs, mut failed_syncs, mut meetings, mut bundles) = (0, 0, 0, 0);
    let mut unconfirmed: Vec<Id> = Vec::new();

    for day in 0..12u64 {
        let morning = START_MS + day * DAY;
        clock.set(morning);
        // Work, whatever the network.
        for p in phones.iter_mut() {
            for k in 0..2u64 {
                let elder = elders[rng.below(elders.len())];
                let at =
                    morning + (p.member.as_bytes()[7] as u64 % 5) * 60 * MINUTE + k * 45 * MINUTE;
                clock.set(at);
                let id = match p.provider_role {
                    Role::Caregiver | Role::Coordinator => p
                        .store
                        .record_visit(visit(elder, p.member, at))
                        .expect("visit"),
                    Role::Volunteer => {
                        let meal = p
                            .store
                            .record_service(service(
                                elder,
                                p.member,
                                at,
                                30,
                                Funding::TimeBank,
                                meal(),
                            ))
                            .expect("meal");
                        // The volunteer claims the half hour in the time bank.
                        let claim = p.store.claim_hours(meal, 30).expect("claim");
                        expected.insert(claim);
                        unconfirmed.push(claim);
                        // Now and then she spends an hour, if her phone shows she has it.
                        if rng.chance(30)
                            && p.store
                                .balance(p.member)
                                .expect("balance")
                                .available_minutes
                                >= 60
                        {
                            expected.insert(p.store.redeem_hours(60, None).expect("redeem"));
                        }
                        meal
                    }
                };
                expected.insert(id);
            }
        }
        clock.set(morning + 10 * 60 * MINUTE);
        // Outages: a relay instance may be down for the day, stopped or crashed.
        for i in 0..instances {
            if rng.chance(25) {
                let crash = rng.chance(50);
                relays.take_down(i, crash);
            }
        }
        // Devices that have a connection today sync with a relay instance.
        for p in phones.iter_mut() {
            if !rng.chance(50) {
                continue;
            }
            let i = rng.below(instances);
            let result = p
                .store
                .sync_with_relay(&relays.client(i), &cancel, &mut no_progress);
            match (relays.up(i), result) {
                (true, Ok(_)) => relay_syncs += 1,
                (false, Err(SyncError::Transport(_))) => failed_syncs += 1,
                (up, other) => panic!("relay up={up}: {other:?}"),
            }
        }
        // The coordinator (phones[0]) confirms every claim that has reached her phone.
        let coordinator = &mut phones[0].store;
        let mut still = Vec::new();
        for claim in unconfirmed.drain(..) {
            if coordinator.get(claim).is_ok() {
                expected.insert(
                    coordinator
                        .confirm_claim(claim, ConfirmMethod::InPerson)
                        .expect("confirm"),
                );
            } else {
                still.push(claim);
            }
        }
        unconfirmed = still;
        // Two phones meet in the village, or a bundle is carried from one to another.
        for _ in 0..2 {
            let a = rng.below(phones.len());
            let b = (a + 1 + rng.below(phones.len() - 1)) % phones.len();
            let (lo, hi) = (a.min(b), a.max(b));
            let (left, right) = phones.split_at_mut(hi);
            let (x, y) = (&mut left[lo].store, &mut right[0].store);
            if rng.chance(60) {
                x.sync_with_peer(y, &cancel, &mut no_progress)
                    .expect("meeting");
                meetings += 1;
            } else {
                let bundle = x
                    .export_bundle(&Since::Peer(y.peer_name()))
                    .expect("export");
                y.import_bundle(&bundle).expect("import");
                y.import_bundle(&bundle)
                    .expect("importing twice is harmless");
                bundles += 1;
            }
        }
        for i in 0..instances {
            relays.bring_up(i);
        }
    }

    // The network heals: everyone syncs until nothing is new.
    for i in 0..instances {
        relays.bring_up(i);
    }
    for round in 0..3 {
        for (n, p) in phones.iter_mut().enumerate() {
            p.store
                .sync_with_relay(
                    &relays.client((n + round) % instances),
                    &cancel,
                    &mut no_progress,
                )
                .expect("sync after healing");
        }
    }
    centre
        .sync_with_relay(&relays.client(0), &cancel, &mut no_progress)
        .expect("centre syncs");
    eprintln!(
        "simulation: {relay_syncs} relay syncs, {failed_syncs} during outages, {meetings} meetings, \
         {bundles} bundles, {} records",
        expected.len()
    );
    assert!(failed_syncs > 0 && meetings > 0 && bundles > 0 && relay_syncs > 0);

    let november: Month = "2026-11".parse().expect("month");
    let now = UnixMs::try_from(clock.now()).expect("instant");
    let reference = &mut centre;
    let ref_heads = SyncReplica::doc_heads(reference).expect("heads");
    let ref_times = reference.person_times(november).expect("times");
    let ref_overdue = reference.store().overdue_visits(now).expect("overdue");
    let ref_use = reference.store().entitlement_use(november).expect("use");
    let ref_keys = reference.trusted_keys().expect("keys");
    let ref_balances = reference.balances_at(now).expect("balances");
    let ref_queue = reference.conflict_queue().expect("queue");
    assert!(
        ref_balances
            .iter()
            .any(|b| b.earned_minutes > 0 && b.redeemed_minutes > 0),
        "the time bank was used: {ref_balances:?}"
    );
    assert_eq!(reference.store().record_ids().expect("ids"), expected);
    for p in phones.iter_mut() {
        let s = &mut p.store;
        assert_eq!(
            s.store().record_ids().expect("ids"),
            expected,
            "records of {}",
            p.member
        );
        assert_eq!(SyncReplica::doc_heads(s).expect("heads"), ref_heads);
        assert_eq!(s.person_times(november).expect("times"), ref_times);
        assert_eq!(s.store().overdue_visits(now).expect("overdue"), ref_overdue);
        assert_eq!(s.store().entitlement_use(november).expect("use"), ref_use);
        assert_eq!(s.trusted_keys().expect("keys"), ref_keys);
        assert_eq!(
            s.balances_at(now).expect("balances"),
            ref_balances,
            "ledger of {}",
            p.member
        );
        assert_eq!(s.conflict_queue().expect("queue"), ref_queue);
        assert!(s.rejections().expect("rejections").is_empty());
        // Each record is held exactly once in the documents.
        let rebuilt = s.rebuild_indexes().expect("rebuild");
        assert_eq!(rebuilt.added.len(), expected.len(), "no duplicates");
        assert!(rebuilt.rejected.is_empty());
    }
}

#[test]
fn a_village_converges_through_outages_meetings_and_bundles() {
    simulate(None, 1, 0x5eed_cafe);
}

#[test]
fn a_village_converges_through_two_relays_sharing_postgresql() {
    let Some(schema) = PgSchema::create() else {
        return;
    };
    simulate(Some(schema.url.clone()), 2, 0xdead_beef);
}
