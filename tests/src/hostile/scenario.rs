//! One fault kind played on a small circle (a centre, three caregivers' phones, a relay on
//! loopback behind a [`HostileRelay`]): each round a phone records a visit and it travels by the
//! relay, phone to phone or in a bundle file, through the hostile party. Then the network heals
//! (everyone syncs with the relay directly) and each store's counted records are compared with
//! the honest reference: the records the phones wrote, byte for byte as they signed them.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use carebank_core::CareStore;
use carebank_core::ids::Id;
use carebank_core::store::ChainProblem;
use carebank_core::sync::bundle::Since;
use carebank_core::sync::http::RelayClient;
use carebank_core::sync::{CancelToken, Progress, SyncError};

use super::forge::{doc_of, document, key_of};
use super::phone::HostileChannel;
use super::relay::HostileRelay;
use super::{Counts, Fault, Hostility};
use crate::net::{SmallCircle, client, small_circle, start_relay, sync};
use crate::{MINUTE, Result, START_MS, SimClock, visit};

/// A fault kind's line, and whether it shows a fault the product let through.
pub struct Line {
    /// `kind: rounds N, …`, as the harness prints it.
    pub text: String,
    /// Something forged was counted, something honest lost, something accepted twice, an
    /// alteration not refused, a withheld record counted or not arriving, or the fault never
    /// played.
    pub failed: bool,
}

/// How a sync through the hostile party ended, tallied over the rounds.
#[derive(Default)]
struct Tally {
    syncs: u64,
    failed: u64,
    refused: u64,
}

/// The circle, its relay behind the hostile proxy, and the honest reference.
struct Play {
    clock: SimClock,
    circle: SmallCircle,
    honest: RelayClient,
    hostile: RelayClient,
    proxy: HostileRelay,
    phones: Hostility,
    courier: Hostility,
    reference: BTreeMap<Id, Vec<u8>>,
    tally: Tally,
    imported: BTreeMap<usize, Vec<u8>>,
    _relay: carebank_relay::RelayHandle,
    _dir: tempfile::TempDir,
}

/// Plays `fault` for `rounds` rounds from `seed` and judges the outcome.
pub fn play(fault: Fault, rounds: u64, seed: u64) -> Result<Line> {
    let mut p = Play::start(fault, seed)?;
    if fault == Fault::Withhold {
        return p.withhold(rounds);
    }
    for r in 0..rounds {
        let (w, o) = ((r % 3) as usize, ((r + 1) % 3) as usize);
        p.write(w)?;
        match (r / 3) % 3 {
            0 => {
                p.through_relay(w)?;
                p.through_relay(o)?;
            }
            1 => p.phone_to_phone(w, o)?,
            _ => p.carry_bundle(w, o)?,
        }
    }
    p.heal()?;
    let (lost, forged, twice) = p.judge()?;
    let c = p.counts();
    let (text, played, held) = describe(fault, &c, &p.tally);
    let twice = twice + c.accepted_twice;
    Ok(Line {
        text: format!(
            "{}: rounds {rounds}, {text}, accepted twice: {twice}, forged counted: {forged}, \
             lost: {lost}",
            fault.name()
        ),
        failed: lost > 0 || forged > 0 || twice > 0 || played == 0 || !held,
    })
}

/// What the hostile party did under `fault`, for its line; how many times the fault was played
/// (0 means the round proved nothing); whether the kind's own check holds (every alteration
/// refused; no request played to another phone served with records).
fn describe(fault: Fault, c: &Counts, t: &Tally) -> (String, u64, bool) {
    let syncs = format!("syncs failed {} of {}", t.failed, t.syncs);
    match fault {
        Fault::Drop => (format!("dropped {}, {syncs}", c.dropped), c.dropped, true),
        Fault::Duplicate => (format!("duplicated {}", c.resent), c.resent, true),
        Fault::Reorder => (
            format!("out of turn {}, {syncs}", c.out_of_turn),
            c.out_of_turn,
            true,
        ),
        Fault::Replay => (
            format!(
                "replayed {} (requests {}, replies {}), played to another phone {} (served {})",
                c.resent + c.out_of_turn,
                c.resent,
                c.out_of_turn,
                c.replayed_elsewhere,
                c.served_elsewhere
            ),
            c.resent,
            c.served_elsewhere == 0,
        ),
        Fault::Alter | Fault::Withhold => {
            let altered = c.flipped + c.forged;
            (
                format!(
                    "altered {altered} (bits flipped {}, records forged {}), refused {}, honest \
                     bundles imported with a forged value their exporter held kept out {}",
                    c.flipped, c.forged, t.refused, c.bundles_with_values_kept_out
                ),
                altered,
                t.refused == altered,
            )
        }
    }
}

/// A store's records as the index holds them: id and signed bytes.
fn counted(store: &CareStore) -> Result<BTreeMap<Id, Vec<u8>>> {
    store
        .store()
        .record_ids()?
        .into_iter()
        .map(|id| Ok((id, store.get(id)?.as_bytes().to_vec())))
        .collect()
}

fn no_progress(_: &Progress) {}

impl Play {
    fn start(fault: Fault, seed: u64) -> Result<Play> {
        let clock = SimClock::at(START_MS);
        let n = 20 + Fault::ALL.iter().position(|f| *f == fault).unwrap_or(0) as u64;
        let mut circle = small_circle(n, 3, &clock)?;
        let dir = tempfile::tempdir()?;
        let relay = start_relay(dir.path(), circle.circle, None, None);
        let proxy = HostileRelay::start(relay.addr(), seed)?;
        let honest = client(&relay);
        // One attempt a request: each fault reaches the session.
        let hostile = RelayClient::new(&proxy.url())?.with_retries(1, Duration::from_millis(1));
        sync(&mut circle.centre, &honest)?;
        let mut reference = counted(&circle.centre)?;
        for (phone, _) in circle.devices.iter_mut() {
            sync(phone, &honest)?;
            reference.extend(counted(phone)?);
        }
        let victim = (fault == Fault::Withhold).then(|| circle.devices[0].0.public_key());
        proxy.set_fault(Some(fault), victim);
        let (mut phones, mut courier) = (Hostility::new(seed ^ 1), Hostility::new(seed ^ 2));
        phones.fault = Some(fault);
        courier.fault = Some(fault);
        Ok(Play {
            clock,
            circle,
            honest,
            hostile,
            proxy,
            phones,
            courier,
            reference,
            tally: Tally::default(),
            imported: BTreeMap::new(),
            _relay: relay,
            _dir: dir,
        })
    }

    fn counts(&self) -> Counts {
        self.proxy.counts() + self.phones.counts + self.courier.counts
    }

    /// Phone `i` records a visit, ten minutes after the last; every party sees its bytes.
    fn write(&mut self, i: usize) -> Result<(Id, Vec<u8>)> {
        self.clock.advance(10 * MINUTE);
        let (elder, at) = (self.circle.elder, self.clock.now());
        let (phone, member) = &mut self.circle.devices[i];
        let id = phone.record_visit(visit(elder, *member, at))?;
        let bytes = phone.get(id)?.as_bytes().to_vec();
        self.reference.insert(id, bytes.clone());
        self.proxy.saw_record(bytes.clone());
        self.phones.saw_record(bytes.clone());
        Ok((id, bytes))
    }

    /// Phone `i` syncs with the relay through the hostile proxy.
    fn through_relay(&mut self, i: usize) -> Result<()> {
        let before = self.proxy.counts();
        let phone = &mut self.circle.devices[i].0;
        let result = sync(phone, &self.hostile);
        let (after, forged) = (self.proxy.counts(), self.proxy.forged_since(before.forged));
        self.tally.judge(result, phone, (before, after), &forged)
    }

    /// Phone `w` syncs with phone `o` over the hostile channel.
    fn phone_to_phone(&mut self, w: usize, o: usize) -> Result<()> {
        let before = self.phones.counts;
        let key = self.circle.device_key(o);
        let (asker, answerer) = pair_mut(&mut self.circle.devices, w, o);
        let mut channel = HostileChannel {
            to: answerer,
            key: &key,
            hostile: &mut self.phones,
        };
        let result = asker.sync_with_phone(&mut channel, &CancelToken::new(), &mut no_progress);
        let forged = self.phones.forged_since(before.forged);
        self.tally
            .judge(result, asker, (before, self.phones.counts), &forged)
    }

    /// Phone `w` writes a bundle of what phone `o` lacks, and the hostile courier carries it.
    fn carry_bundle(&mut self, w: usize, o: usize) -> Result<()> {
        let (from, to) = pair_mut(&mut self.circle.devices, w, o);
        let bundle = from.export_bundle(&Since::Peer(to.peer_name()))?;
        let c = &mut self.courier;
        match c.fault {
            Some(Fault::Drop) if c.rng.chance(30) => c.counts.dropped += 1,
            Some(Fault::Duplicate | Fault::Replay) if c.rng.chance(30) => {
                import(to, &bundle, &mut c.counts)?;
                let again = match c.fault {
                    Some(Fault::Replay) => self.imported.get(&o).cloned(),
                    _ => Some(bundle.clone()),
                };
                if let Some(again) = again {
                    c.counts.resent += 1;
                    let added = import(to, &again, &mut c.counts)?;
                    c.counts.accepted_twice += u64::from(added > 0);
                }
            }
            Some(Fault::Reorder) => match c.take_held() {
                None if c.rng.chance(50) => {
                    c.hold(bundle.clone());
                }
                earlier => {
                    import(to, &bundle, &mut c.counts)?;
                    if let Some(earlier) = earlier {
                        c.counts.out_of_turn += 1;
                        import(to, &earlier, &mut c.counts)?;
                    }
                }
            },
            Some(Fault::Alter) if c.rng.chance(50) => {
                if let Some(bad) = c.flip(&bundle, |b| Some(b.to_vec())) {
                    let before = counted(to)?;
                    let refused = to.import_bundle(&bad).is_err() && counted(to)? == before;

                    self.tally.refused += u64::from(refused);
                }
            }
            _ => {
                import(to, &bundle, &mut c.counts)?;
            }
        }
        self.imported.insert(o, bundle);
        Ok(())
    }

    /// The hostile parties turn honest, and everyone syncs with the relay twice.
    fn heal(&mut self) -> Result<()> {
        self.proxy.set_fault(None, None);
        for _ in 0..2 {
            sync(&mut self.circle.centre, &self.honest)?;
            for (phone, _) in self.circle.devices.iter_mut() {
                sync(phone, &self.honest)?;
            }
        }
        Ok(())
    }

    /// Against the reference, over every store: honest records missing, records counted that
    /// are not the reference's (or not its bytes) or whose author is not trusted, and records
    /// held twice in the documents.
    fn judge(&mut self) -> Result<(u64, u64, u64)> {
        let (mut lost, mut forged, mut twice) = (0u64, 0u64, 0u64);
        let stores = std::iter::once(&mut self.circle.centre)
            .chain(self.circle.devices.iter_mut().map(|(phone, _)| phone));
        for store in stores {
            let got = counted(store)?;
            lost += self
                .reference
                .keys()
                .filter(|id| !got.contains_key(id))
                .count() as u64;
            forged += got
                .iter()
                .filter(|(id, bytes)| self.reference.get(id) != Some(bytes))
                .count() as u64;
            forged += store.untrusted_records()?.len() as u64;
            let held = store.rebuild_indexes()?.added.len();
            twice += held.saturating_sub(got.len()) as u64;
        }
        Ok((lost, forged, twice))
    }

    /// Withholding, half the rounds by the relay (phone 0's pushes are acknowledged and never
    /// stored), half by an enrolled phone gone bad that serves the centre phone 0's first and
    /// last record of the round but not the one between. The withheld records must not count
    /// while withheld and must all arrive once the network is honest.
    fn withhold(mut self, rounds: u64) -> Result<Line> {
        let (mut withheld, mut early, mut served) = (BTreeSet::new(), 0, 0);
        let mut gaps_shown = 0;
        for r in 0..rounds {
            let records = (0..3).map(|_| self.write(0)).collect::<Result<Vec<_>>>()?;
            let held: Vec<Id> = if r % 2 == 0 {
                self.through_relay(0)?;
                sync(&mut self.circle.centre, &self.hostile)?;
                records.iter().map(|(id, _)| *id).collect()
            } else {
                self.served_around(&records)?;
                let got = counted(&self.circle.centre)?;
                served += [&records[0], &records[2]]
                    .iter()
                    .filter(|(id, _)| got.contains_key(id))
                    .count();
                // The centre holds phone 0's records on both sides of `records[1]` but not
                // `records[1]`: its device chains must show that gap (phone 0's key, the missing
                // position). The relay rounds above leave no gap the centre can see: nothing of
                // phone 0's after the withheld records reaches it until the network heals.
                let phone = &self.circle.devices[0].0;
                let missing = phone.get(records[1].0)?.link().map(|l| l.seq);
                let author = phone.public_key();
                gaps_shown += usize::from(self.circle.centre.chain_problems()?.iter().any(|p| {
                    matches!(p, ChainProblem::Gap { author: a, from_seq, to_seq }
                        if *a == author && missing.is_some_and(|m| (*from_seq..=*to_seq).contains(&m)))
                }));
                vec![records[1].0]
            };
            let got = counted(&self.circle.centre)?;
            early += held.iter().filter(|id| got.contains_key(id)).count();
            withheld.extend(held);
        }
        self.heal()?;
        let (lost, forged, twice) = self.judge()?;
        let c = self.counts();
        let arrived = {
            let mut arrived = withheld.len();
            for store in std::iter::once(&self.circle.centre)
                .chain(self.circle.devices.iter().map(|(phone, _)| phone))
            {
                let got = counted(store)?;
                arrived = arrived.min(withheld.iter().filter(|id| got.contains_key(id)).count());
            }
            arrived
        };
        let expected_served = 2 * (rounds / 2) as usize;
        let gaps_left = self
            .circle
            .centre
            .chain_problems()?
            .iter()
            .filter(|p| matches!(p, ChainProblem::Gap { .. }))
            .count();
        let twice = twice + c.accepted_twice;
        Ok(Line {
            text: format!(
                "withhold: rounds {rounds}, withheld {} (pushes held back {}), served around \
                 the gaps {served} of {expected_served}, gaps shown {gaps_shown} of {}, counted \
                 while withheld: {early}, arrived {arrived}, gaps left after healing {gaps_left}, accepted twice: {twice}, forged counted: {forged}, lost: {lost}",
                withheld.len(),
                c.withheld_pushes,
                rounds / 2
            ),
            failed: withheld.is_empty()
                || early > 0
                || arrived != withheld.len()
                || served != expected_served
                || gaps_shown != (rounds / 2) as usize
                || gaps_left > 0
                || lost > 0
                || forged > 0
                || twice > 0,
        })
    }

    /// An enrolled phone gone bad (phone 2's key, on a store of its own holding what the centre
    /// holds) serves the centre the first and last of `records`, left out the one between.
    fn served_around(&mut self, records: &[(Id, Vec<u8>)]) -> Result<()> {
        let c = &mut self.circle;
        let mut bad = CareStore::open_in_memory(c.circle, c.device_key(2))?;
        let clock = self.clock.clone();
        bad.set_wall_clock(Box::new(move || clock.now()));
        bad.merge_from(&c.centre)?;
        let around: Vec<(String, Vec<u8>)> = [&records[0], &records[2]]
            .iter()
            .map(|(_, bytes)| (key_of(bytes), bytes.clone()))
            .collect();
        let doc = doc_of(&records[0].1).ok_or("a record written here does not decode")?;
        bad.merge_docs(vec![(doc, document(&around)?)])?;
        c.centre
            .sync_with_peer(&mut bad, &CancelToken::new(), &mut no_progress)?;
        Ok(())
    }
}

impl Tally {
    /// Tallies a sync of `store` during which the hostile party went from `before` to `after`
    /// and slipped in the altered records `forged`: a sync with a bit flipped must fail, and
    /// no altered record may count (it is rejected on intake, or it lost the Automerge conflict
    /// with the real record and is never read).
    fn judge(
        &mut self,
        result: std::result::Result<Progress, SyncError>,
        store: &CareStore,
        (before, after): (Counts, Counts),
        forged: &[Vec<u8>],
    ) -> Result<()> {
        self.syncs += 1;
        self.failed += u64::from(result.is_err());
        if result.is_err() {
            self.refused += after.flipped - before.flipped;
        }
        let held: BTreeSet<Vec<u8>> = counted(store)?.into_values().collect();
        self.refused += forged.iter().filter(|f| !held.contains(*f)).count() as u64;
        Ok(())
    }
}

/// Imports an honest bundle file into `to`; returns the records it added. A bundle that carries
/// values its exporter holds that are not valid records (slipped into the exporter's documents
/// by a hostile party before) imports, those values kept out; it is counted.
fn import(to: &mut CareStore, bundle: &[u8], counts: &mut Counts) -> Result<usize> {
    let report = to.import_bundle(bundle)?;
    counts.bundles_with_values_kept_out += u64::from(report.values_rejected > 0);
    Ok(report.records_added)
}

/// Phones `a` and `b` (distinct) of `devices`, both mutable.
fn pair_mut(
    devices: &mut [(CareStore, Id)],
    a: usize,
    b: usize,
) -> (&mut CareStore, &mut CareStore) {
    let (lo, hi) = (a.min(b), a.max(b));
    let (left, right) = devices.split_at_mut(hi);
    let (x, y) = (&mut left[lo].0, &mut right[0].0);
    if a < b { (x, y) } else { (y, x) }
}
