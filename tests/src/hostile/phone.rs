//! A hostile phone channel: the bytes channel between two phones in the same process, turned
//! hostile. It drops, duplicates, reorders, replays or flips bits in the frames it carries; and,
//! altering, it plays an enrolled phone gone bad that slips altered records into its own replies
//! and signs them with its own key, so that only the records' signatures can tell.

use carebank_core::CareStore;
use carebank_core::identity::DeviceKey;
use carebank_core::sync::peer::{ReplyFrame, RequestFrame};
use carebank_core::sync::{Message, SyncError, Transport};

use super::{Fault, Hostility};

/// The channel to the answering phone `to`, whose key is `key`.
pub struct HostileChannel<'a> {
    /// The answering phone.
    pub to: &'a mut CareStore,
    /// Its device key (a phone gone bad signs its altered replies with it).
    pub key: &'a DeviceKey,
    /// What the channel does.
    pub hostile: &'a mut Hostility,
}

fn dropped() -> SyncError {
    SyncError::Transport("the hostile channel dropped it".into())
}

/// The message a reply frame carries.
fn message_of(reply: &[u8]) -> Option<Message> {
    ReplyFrame::decode(reply)
        .ok()
        .and_then(|f| Message::decode(&f.message).ok())
}

/// Whether a reply frame carries a refusal.
fn is_refusal(reply: &[u8]) -> bool {
    message_of(reply).is_some_and(|m| matches!(m, Message::Refused { .. }))
}

/// Whether a reply frame carries records (anything but document heads or a refusal).
fn carries_records(reply: &[u8]) -> bool {
    message_of(reply).is_some_and(|m| matches!(m, Message::Changes { .. }))
}

impl HostileChannel<'_> {
    /// Plays the answering phone a request recorded on the way to `peer` (this phone, or
    /// another); counts it, and counts it served unless the answer is a refusal (or the frame is
    /// not answered at all); played to another phone, served only if the answer holds records.
    fn resend(&mut self, peer: &str, frame: &[u8]) {
        let reply = self.to.answer_sync(frame).ok();
        let c = &mut self.hostile.counts;
        if peer == self.to.peer_name() {
            c.resent += 1;
            c.accepted_twice += u64::from(reply.is_some_and(|r| !is_refusal(&r)));
        } else {
            c.replayed_elsewhere += 1;
            c.served_elsewhere += u64::from(reply.is_some_and(|r| carries_records(&r)));
        }
    }

    /// The reply with an altered record slipped in and signed again by the answering phone.
    fn forged(&mut self, frame: &[u8], reply: &[u8]) -> Option<Vec<u8>> {
        let request = RequestFrame::decode(frame).ok()?;
        let message = self
            .hostile
            .forge(&ReplyFrame::decode(reply).ok()?.message)?;
        let circle = self.to.circle().circle_id;
        Some(ReplyFrame::sign(self.key, circle, &request, message).encode())
    }

    /// An exchange with a bit flipped in the request (a fifth of them), or an altered record
    /// slipped into the reply (most replies that carry changes), or a bit flipped in the reply
    /// (a quarter of the others).
    fn altered(&mut self, frame: &[u8]) -> Result<Vec<u8>, SyncError> {
        if self.hostile.rng.chance(20)
            && let Some(bad) = self.hostile.flip(frame, |b| Some(b.to_vec()))
        {
            return self.to.answer_sync(&bad);
        }
        let reply = self.to.answer_sync(frame)?;
        if self.hostile.rng.chance(60)
            && let Some(forged) = self.forged(frame, &reply)
        {
            return Ok(forged);
        }
        if self.hostile.rng.chance(25)
            && let Some(bad) = self.hostile.flip(&reply, |b| Some(b.to_vec()))
        {
            return Ok(bad);
        }
        Ok(reply)
    }
}

impl Transport for HostileChannel<'_> {
    fn request(&mut self, frame: &[u8]) -> Result<Vec<u8>, SyncError> {
        let h = &mut *self.hostile;
        let reply = match h.fault {
            Some(Fault::Drop) if h.rng.chance(30) => {
                h.counts.dropped += 1;
                if h.rng.chance(50) {
                    self.to.answer_sync(frame)?;
                }
                return Err(dropped());
            }
            Some(Fault::Duplicate) if h.rng.chance(30) => {
                let reply = self.to.answer_sync(frame)?;
                self.resend(&self.to.peer_name(), frame);
                reply
            }
            Some(Fault::Replay) if h.rng.chance(30) => {
                if let Some((peer, old)) = h.old_request() {
                    self.resend(&peer, &old);
                }
                let reply = self.to.answer_sync(frame)?;
                match self.hostile.old_reply() {
                    Some(old) if self.hostile.rng.chance(50) => {
                        self.hostile.counts.out_of_turn += 1;
                        old
                    }
                    _ => reply,
                }
            }
            Some(Fault::Reorder) if h.rng.chance(30) => {
                let reply = self.to.answer_sync(frame)?;
                match self.hostile.hold(reply) {
                    Some(earlier) => {
                        self.hostile.counts.out_of_turn += 1;
                        earlier
                    }
                    None => return Err(dropped()),
                }
            }
            Some(Fault::Alter) => self.altered(frame)?,
            _ => self.to.answer_sync(frame)?,
        };
        self.hostile.keep(&self.to.peer_name(), frame, &reply);
        Ok(reply)
    }
}
