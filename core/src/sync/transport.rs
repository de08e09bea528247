//! Transports carry one request to a peer and bring back its reply; [`run`] drives a session
//! over one.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use super::{Initiator, Limits, Progress, Step, SyncError, SyncPeers, SyncReplica, respond_bytes};

/// Carries one request and returns the reply. Phone-to-phone links (LAN, Bluetooth) are the
/// app's own implementations of this trait over its bytes channel.
pub trait Transport {
    /// Sends `request` and waits for the reply.
    fn request(&mut self, request: &[u8]) -> Result<Vec<u8>, SyncError>;

    /// The name of the peer as learnt from its replies, when the transport authenticates it
    /// (a phone link learns the other phone's key from its first signed reply).
    fn peer_name(&self) -> Option<String> {
        None
    }
}

/// Asks a running sync to stop; cloned freely and shared across threads.
#[derive(Debug, Clone, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    /// A token not yet cancelled.
    pub fn new() -> CancelToken {
        CancelToken::default()
    }
    /// Asks the sync to stop at the next round.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
    /// Whether cancellation was asked for.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// Called after each round with the progress so far.
pub type ProgressFn<'a> = &'a mut dyn FnMut(&Progress);

/// After this many rounds lost in a row, a sync gives up (the next one resumes).
const MAX_LOST_ROUNDS: u32 = 8;

/// Syncs `replica` with `peer` (or the peer the transport names) over `transport` until both
/// hold the same documents, reporting progress after each round and stopping between rounds
/// when `cancel` is set. Rounds are sized to the link (see [`Initiator`]); a round the link
/// drops is sent again smaller, up to [`MAX_LOST_ROUNDS`] in a row. Whatever converged before
/// an error or a cancellation is kept, and the next sync continues from there.
pub fn run<R: SyncReplica + SyncPeers + ?Sized>(
    replica: &mut R,
    peer: &str,
    transport: &mut dyn Transport,
    cancel: &CancelToken,
    progress: ProgressFn<'_>,
) -> Result<Progress, SyncError> {
    let mut session = Initiator::new(peer);
    let mut message = session.start(replica)?;
    let mut lost_in_a_row = 0;
    loop {
        if cancel.is_cancelled() {
            return Err(SyncError::Cancelled);
        }
        let sent_at = Instant::now();
        let reply = match transport.request(&message) {
            Ok(reply) => reply,
            Err(SyncError::Transport(_)) if lost_in_a_row + 1 < MAX_LOST_ROUNDS => {
                lost_in_a_row += 1;
                message = session.retry(replica)?;
                continue;
            }
            Err(e) => return Err(e),
        };
        lost_in_a_row = 0;
        session.round_took(sent_at.elapsed());
        if let Some(name) = transport.peer_name() {
            session.set_peer(name);
        }
        let step = session.receive(replica, &reply)?;
        progress(session.progress());
        match step {
            Step::Send(next) => message = next,
            Step::Done(done) => return Ok(done),
        }
    }
}

/// A transport to a replica in the same process (tests, and the in-process phone-to-phone
/// path), counting the bytes each way, with an optional fault: the reply to the n-th request
/// is lost after the responder has handled it.
pub struct MemoryTransport<'a, R: SyncReplica + ?Sized> {
    responder: &'a mut R,
    limits: Limits,
    lose_reply_to: Option<u32>,
    /// Requests sent.
    pub requests: u32,
    /// Bytes sent to the responder.
    pub bytes_up: u64,
    /// Bytes received from it.
    pub bytes_down: u64,
}

impl<'a, R: SyncReplica + ?Sized> MemoryTransport<'a, R> {
    /// A transport answered by `responder`.
    pub fn new(responder: &'a mut R) -> MemoryTransport<'a, R> {
        MemoryTransport {
            responder,
            limits: Limits::default(),
            lose_reply_to: None,
            requests: 0,
            bytes_up: 0,
            bytes_down: 0,
        }
    }

    /// Loses the reply to request number `n` (1-based), as a link that drops mid-round.
    pub fn losing_reply_to(mut self, n: u32) -> Self {
        self.lose_reply_to = Some(n);
        self
    }
}

impl<R: SyncReplica + ?Sized> Transport for MemoryTransport<'_, R> {
    fn request(&mut self, request: &[u8]) -> Result<Vec<u8>, SyncError> {
        self.requests += 1;
        self.bytes_up += request.len() as u64;
        let reply = respond_bytes(self.responder, request, &self.limits)?;
        if self.lose_reply_to == Some(self.requests) {
            return Err(SyncError::Transport("the link dropped".into()));
        }
        self.bytes_down += reply.len() as u64;
        Ok(reply)
    }
}
