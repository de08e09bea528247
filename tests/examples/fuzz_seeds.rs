//! Writes seed inputs for the `sync_message` and `peer_frame` fuzz targets: the real frames and
//! messages of a phone-to-phone sync between two caregivers of a small circle (hello, heads,
//! push, changes, up to date, a refusal), made by the code itself so that they stay valid as the
//! formats change. `scripts/fuzz.sh` runs it before fuzzing and gives the seeds to libFuzzer
//! beside the committed corpus.
//!
//! Run: `cargo run -p carebank-scenarios --example fuzz_seeds -- OUT_DIR` (writes
//! `OUT_DIR/sync_message/*` and `OUT_DIR/peer_frame/*`).

use std::path::Path;
use std::process::ExitCode;

use carebank_core::CareStore;
use carebank_core::sync::peer::{ReplyFrame, RequestFrame};
use carebank_core::sync::{CancelToken, SyncError, Transport};
use carebank_scenarios::net::small_circle;
use carebank_scenarios::{START_MS, SimClock, visit};

/// A channel to a phone in the same process that keeps every frame both ways.
struct Recording<'a> {
    to: &'a mut CareStore,
    frames: Vec<Vec<u8>>,
}

impl Transport for Recording<'_> {
    fn request(&mut self, frame: &[u8]) -> Result<Vec<u8>, SyncError> {
        let reply = self.to.answer_sync(frame)?;
        self.frames.push(frame.to_vec());
        self.frames.push(reply.clone());
        Ok(reply)
    }
}

fn main() -> ExitCode {
    let Some(out) = std::env::args().nth(1) else {
        eprintln!("usage: fuzz_seeds OUT_DIR");
        return ExitCode::FAILURE;
    };
    match write_seeds(Path::new(&out)) {
        Ok(n) => {
            println!("fuzz seeds: {n} files in {out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("fuzz_seeds: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The frames of two syncs (the second finds nothing new) and of a refused stale request.
fn meeting() -> carebank_scenarios::Result<Vec<Vec<u8>>> {
    let clock = SimClock::at(START_MS);
    let mut c = small_circle(0, 2, &clock)?;
    let (circle, asker_key) = (c.circle.circle_id, c.device_key(0));
    let (first, second) = c.devices.split_at_mut(1);
    let (asker, member) = (&mut first[0].0, first[0].1);
    let (answerer, other) = (&mut second[0].0, second[0].1);
    for k in 0..3 {
        asker.record_visit(visit(c.elder, member, START_MS + k * 60_000))?;
    }
    // Something the asker lacks, so that the reply to its push carries changes too.
    answerer.record_visit(visit(c.elder, other, START_MS + 3_600_000))?;
    let mut channel = Recording {
        to: answerer,
        frames: Vec::new(),
    };
    for _ in 0..2 {
        asker.sync_with_phone(&mut channel, &CancelToken::new(), &mut |_| {})?;
    }
    let hello = RequestFrame::decode(&channel.frames[0])?;
    let stale = RequestFrame::sign(
        &asker_key,
        circle,
        None,
        START_MS - 86_400_000,
        hello.message,
    );
    let refusal = channel.to.answer_sync(&stale.encode())?;
    channel.frames.extend([stale.encode(), refusal]);
    Ok(channel.frames)
}

fn write_seeds(out: &Path) -> carebank_scenarios::Result<usize> {
    let (messages, frame_dir) = (out.join("sync_message"), out.join("peer_frame"));
    std::fs::create_dir_all(&messages)?;
    std::fs::create_dir_all(&frame_dir)?;
    let mut n = 0;
    for (i, frame) in meeting()?.into_iter().enumerate() {
        let message = match RequestFrame::decode(&frame) {
            Ok(request) => request.message,
            Err(_) => ReplyFrame::decode(&frame)?.message,
        };
        std::fs::write(frame_dir.join(format!("seed-{i:02}")), &frame)?;
        std::fs::write(messages.join(format!("seed-{i:02}")), &message)?;
        n += 2;
    }
    Ok(n)
}
