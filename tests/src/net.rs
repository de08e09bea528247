//! Fixtures for sync over the network: a relay on loopback for a village's circle, and devices
//! whose signing key the test also holds (to forge, replay or tamper with requests).

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use carebank_core::domain::{CareLevel, Elder, Role, Site, SiteKind};
use carebank_core::identity::DeviceKey;
use carebank_core::ids::Id;
use carebank_core::sync::http::RelayClient;
use carebank_core::sync::{CancelToken, Progress, SyncError};
use carebank_core::{CareStore, Circle, Result};
use carebank_relay::{RelayConfig, RelayHandle};

use crate::{SimClock, Village, enrolment, fixed_id, full_consent};

/// A village and a relay on disk (see [`village_and_relay_on_disk`]).
pub struct OnDisk {
    /// The village, its phones' stores in files under `phones`, enrolled with the relay.
    pub village: Village,
    /// The relay, its data under `relay_dir`.
    pub relay: RelayHandle,
    /// A client of the relay.
    pub http: RelayClient,
    /// Where the phones' stores are.
    pub phones: std::path::PathBuf,
    /// Where the relay keeps its data.
    pub relay_dir: std::path::PathBuf,
}

/// A village whose phones keep their stores under `dir/phones` (the n-th opened with
/// `store_key(n)`), one elder per spec, and a relay on loopback keeping its data under
/// `dir/relay`, the phones bootstrapped with it: what a raw-file scan of every replica reads.
pub fn village_and_relay_on_disk(
    dir: &Path,
    store_key: impl Fn(u8) -> carebank_core::store::StoreKey,
    caregivers: usize,
    volunteers: usize,
    elders: &[crate::ElderSpec],
) -> OnDisk {
    let phones = dir.join("phones");
    let relay_dir = dir.join("relay");
    std::fs::create_dir_all(&phones).expect("phones");
    std::fs::create_dir_all(&relay_dir).expect("relay");
    let mut village =
        Village::on_disk(&phones, store_key, caregivers, volunteers, elders).expect("village");
    let relay = start_relay(&relay_dir, village.circle, None, None);
    let http = client(&relay);
    bootstrap(&mut village, &http);
    OnDisk {
        village,
        relay,
        http,
        phones,
        relay_dir,
    }
}

/// A relay configuration for `circle` on a free loopback port (or `addr`), data in `dir`.
pub fn relay_config(
    dir: &Path,
    circle: Circle,
    addr: Option<SocketAddr>,
    database_url: Option<String>,
) -> RelayConfig {
    let listen = addr.unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)));
    let mut config = RelayConfig::new(listen, dir.to_path_buf());
    config.circles = vec![(circle.circle_id, circle.centre_key)];
    config.database_url = database_url;
    config
}

/// Starts a relay for `circle`.
pub fn start_relay(
    dir: &Path,
    circle: Circle,
    addr: Option<SocketAddr>,
    database_url: Option<String>,
) -> RelayHandle {
    carebank_relay::spawn(relay_config(dir, circle, addr, database_url)).expect("relay starts")
}

/// A client for `relay` that gives up quickly (tests take relays down on purpose).
pub fn client(relay: &RelayHandle) -> RelayClient {
    RelayClient::new(&relay.url())
        .expect("client")
        .with_retries(2, Duration::from_millis(20))
}

/// One sync of `store` with `relay`, uncancelled and without progress reports.
pub fn sync(
    store: &mut CareStore,
    relay: &RelayClient,
) -> std::result::Result<Progress, SyncError> {
    store.sync_with_relay(relay, &CancelToken::new(), &mut |_| {})
}

/// One phone-to-phone sync of `a` with `b`, uncancelled and without progress reports.
pub fn sync_peers(
    a: &mut CareStore,
    b: &mut CareStore,
) -> std::result::Result<Progress, SyncError> {
    a.sync_with_peer(b, &CancelToken::new(), &mut |_| {})
}

/// Uploads the village centre's and coordinator's records, so the relay knows the circle's
/// members.
pub fn bootstrap(v: &mut Village, relay: &RelayClient) {
    sync(&mut v.centre, relay).expect("centre syncs");
    sync(&mut v.coordinator.store, relay).expect("coordinator syncs");
}

/// The key of test device `seed` (distinct from the village's own keys).
pub fn test_key(seed: u64) -> DeviceKey {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    bytes[8] = 0x7e;
    DeviceKey::from_seed(bytes)
}

/// A store for test device `seed` in `circle`, reading `clock`, not enrolled.
pub fn stranger(circle: Circle, seed: u64, clock: &SimClock) -> Result<CareStore> {
    let mut store = CareStore::open_in_memory(circle, test_key(seed))?;
    let clock = clock.clone();
    store.set_wall_clock(Box::new(move || clock.now()));
    Ok(store)
}

/// A caregiver device enrolled by the village's coordinator, holding the village's records;
/// returns it with its member id.
pub fn enrolled_caregiver(v: &mut Village, seed: u64) -> Result<(CareStore, Id)> {
    let mut store = stranger(v.circle, seed, &v.clock)?;
    let member_id = fixed_id(0x9000 + seed);
    v.coordinator.store.enrol(enrolment(
        member_id,
        format!("新助老员{seed}"),
        Role::Caregiver,
        v.point_id,
        store.public_key(),
    ))?;
    store.merge_from(&v.centre)?;
    store.merge_from(&v.coordinator.store)?;
    Ok((store, member_id))
}

/// A circle of its own, apart from the fixture village's: a centre, one elder, and caregiver
/// devices enrolled by the centre (each holding the enrolments and the elder already).
pub struct SmallCircle {
    /// The circle.
    pub circle: Circle,
    /// The centre's store.
    pub centre: CareStore,
    /// The elder the caregivers visit.
    pub elder: Id,
    /// The caregivers' stores, with their member ids.
    pub devices: Vec<(CareStore, Id)>,
    seed: u64,
}

impl SmallCircle {
    /// The signing key of caregiver device `i`.
    pub fn device_key(&self, i: usize) -> DeviceKey {
        test_key(self.seed + 1 + i as u64)
    }
}

/// Small circle number `n` (distinct circles and keys for distinct `n`) with `devices`
/// caregivers, every store reading `clock`.
pub fn small_circle(n: u64, devices: usize, clock: &SimClock) -> Result<SmallCircle> {
    let seed = 0x10_0000 * (n + 1);
    let circle = Circle {
        circle_id: fixed_id(0xc1_0000 + n),
        centre_key: test_key(seed).public_key(),
    };
    let mut centre = stranger(circle, seed, clock)?;
    let site_id = fixed_id(0x5_0000 + n);
    centre.add_site(Site {
        site_id,
        kind: SiteKind::Centre,
        name: format!("第{n}服务中心"),
        parent: None,
    })?;
    let elder = fixed_id(0x4_0000 + n);
    centre.enrol_elder(Elder {
        elder_id: elder,
        site_id,
        name: format!("老人{n}"),
        birth_year: 1945,
        groups: vec![],
        care_level: CareLevel::Mild,
        visit_cadence_days: 7,
        monthly_entitled_hours: 0,
        responsible_member: None,
        consent: full_consent(clock.now()),
    })?;
    let mut members = Vec::with_capacity(devices);
    for i in 0..devices {
        let device_seed = seed + 1 + i as u64;
        let member_id = fixed_id(device_seed);
        centre.enrol(enrolment(
            member_id,
            format!("助老员{n}-{i}"),
            Role::Caregiver,
            site_id,
            test_key(device_seed).public_key(),
        ))?;
        members.push((device_seed, member_id));
    }
    let devices = members
        .into_iter()
        .map(|(device_seed, member_id)| {
            let mut store = stranger(circle, device_seed, clock)?;
            store.merge_from(&centre)?;
            Ok((store, member_id))
        })
        .collect::<Result<_>>()?;
    Ok(SmallCircle {
        circle,
        centre,
        elder,
        devices,
        seed,
    })
}

/// A PostgreSQL schema of its own for one test, on the server `CAREBANK_TEST_POSTGRES_URL`
/// names, so runs never see each other's data; dropped with everything in it at the end.
pub struct PgSchema {
    base: String,
    name: String,
    /// The URL of the database with the schema first on the search path.
    pub url: String,
}

impl PgSchema {
    /// A fresh schema; none (the test is skipped) when no server is configured, except in CI,
    /// where one must be.
    pub fn create() -> Option<PgSchema> {
        let base = match std::env::var("CAREBANK_TEST_POSTGRES_URL") {
            Ok(url) if !url.is_empty() => url,
            _ => {
                assert!(
                    std::env::var("CI").as_deref() != Ok("true"),
                    "CI=true but CAREBANK_TEST_POSTGRES_URL is not set: start PostgreSQL with \
                     `eval \"$(bash scripts/start-postgres.sh)\"`"
                );
                eprintln!("skipped: CAREBANK_TEST_POSTGRES_URL is not set");
                return None;
            }
        };
        let name = format!("test_{}", Id::random());
        let mut admin = postgres::Client::connect(&base, postgres::NoTls).expect("connect");
        admin
            .batch_execute(&format!("CREATE SCHEMA {name}"))
            .expect("schema");
        let separator = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{separator}options=-csearch_path%3D{name}");
        Some(PgSchema { base, name, url })
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        if let Ok(mut admin) = postgres::Client::connect(&self.base, postgres::NoTls) {
            let _ = admin.batch_execute(&format!("DROP SCHEMA {} CASCADE", self.name));
        }
    }
}

/// A TCP proxy on loopback in front of `target` that counts the bytes it forwards both ways
/// and, when given a cut, closes each connection once that many bytes have passed on it (a
/// link that keeps dropping: every new connection gets another `cut` bytes).
pub struct LinkProxy {
    addr: SocketAddr,
    forwarded: Arc<AtomicU64>,
    cuts: Arc<AtomicU64>,
}

impl LinkProxy {
    /// Starts the proxy; it runs until the process ends.
    pub fn start(target: SocketAddr, cut: Option<u64>) -> LinkProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let addr = listener.local_addr().expect("proxy address");
        let forwarded = Arc::new(AtomicU64::new(0));
        let cuts = Arc::new(AtomicU64::new(0));
        let (total, cut_count) = (forwarded.clone(), cuts.clone());
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let Ok(server) = TcpStream::connect(target) else {
                    continue;
                };
                let (Ok(client2), Ok(server2)) = (client.try_clone(), server.try_clone()) else {
                    continue;
                };
                // Bytes left on this connection, shared by both directions.
                let left = Arc::new(AtomicU64::new(cut.unwrap_or(u64::MAX)));
                for (from, to) in [(client, server), (server2, client2)] {
                    let (total, left, cut_count) = (total.clone(), left.clone(), cut_count.clone());
                    std::thread::spawn(move || pipe(from, to, &total, &left, &cut_count));
                }
            }
        });
        LinkProxy {
            addr,
            forwarded,
            cuts,
        }
    }

    /// The proxy's URL, for a relay client.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Bytes forwarded so far, both ways (TCP payload: HTTP headers and bodies).
    pub fn forwarded(&self) -> u64 {
        self.forwarded.load(Ordering::SeqCst)
    }

    /// Connections cut so far.
    pub fn cuts(&self) -> u64 {
        self.cuts.load(Ordering::SeqCst)
    }

    /// Starts counting again from zero.
    pub fn reset(&self) {
        self.forwarded.store(0, Ordering::SeqCst);
        self.cuts.store(0, Ordering::SeqCst);
    }
}

/// Copies `from` to `to` until either closes or the connection's byte allowance runs out.
fn pipe(
    mut from: TcpStream,
    mut to: TcpStream,
    total: &AtomicU64,
    left: &AtomicU64,
    cuts: &AtomicU64,
) {
    let mut buf = [0u8; 16384];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let before = left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |l| {
                Some(l.saturating_sub(n as u64))
            })
            .unwrap_or(0);
        let allowed = before.min(n as u64) as usize;
        if allowed > 0 && to.write_all(&buf[..allowed]).is_err() {
            break;
        }
        total.fetch_add(allowed as u64, Ordering::SeqCst);
        if allowed < n {
            // Counted once, by the direction that used the connection's last byte.
            if before > 0 {
                cuts.fetch_add(1, Ordering::SeqCst);
            }
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Both);
    let _ = from.shutdown(Shutdown::Both);
}
