//! Phone to phone: the sync session over the app's bytes channel (LAN, Bluetooth, a cable), with
//! every request and every reply signed by the sending phone's device key.
//!
//! The answering phone serves only a key its own store trusts (enrolled in the circle, not
//! revoked), refuses a request whose time is more than [`PEER_MAX_SKEW_MS`] from its clock or
//! whose nonce it has seen, and signs its reply over the request's time and nonce. The asking
//! phone accepts a reply only when it is so bound and signed by a key its own store trusts, and
//! only from the phone that answered first; it pushes nothing before such a reply. So a phone
//! outside the circle can neither read a circle's records from a phone nor slip records into
//! one. The channel itself is the app's: on Android's Nearby Connections, Bluetooth pairing or
//! Wi-Fi Direct it is encrypted by the platform (see `docs/sync-protocol.md`).
//!
//! A request names the phone it is for (`to`: the key that answered the sync's first request),
//! so that a request recorded on the way to one phone is refused by every other. Only the first
//! request, a `Hello` (whose answer is document heads, no record), may name no phone.
//!
//! A request frame is `"CBP" ‖ 2 ‖ 1 ‖ key[32] ‖ to[32] ‖ time_ms (u64, big-endian) ‖ nonce[16]
//! ‖ signature[64] ‖ message` (`to` all zeros: no phone named), a reply frame
//! `"CBP" ‖ 2 ‖ 2 ‖ key[32] ‖ signature[64] ‖ message`. Both signatures are over
//! `PEER_CONTEXT ‖ kind ‖ circle[16] ‖ to[32] ‖ time_ms ‖ nonce ‖ SHA-256(message)`, with the
//! request's `to`, time and nonce in both.

use std::collections::{BTreeSet, HashMap};

use sha2::{Digest, Sha256};

use super::{Limits, SyncError, SyncReplica, Transport, respond_bytes};
use crate::identity::{DeviceKey, PublicKey, SignatureBytes};
use crate::ids::Id;

/// The first three bytes of every phone-to-phone frame.
pub const PEER_MAGIC: &[u8; 3] = b"CBP";
/// The frame version this build speaks.
pub const PEER_VERSION: u8 = 2;
/// Prefixed to the signed bytes, so a frame signature means nothing elsewhere.
pub const PEER_CONTEXT: &[u8] = b"carebank/peer/v2\0";
/// How far a request's time may be from the answering phone's clock.
pub const PEER_MAX_SKEW_MS: u64 = 30 * 60 * 1000;
/// How many request nonces a phone remembers at most (far more than any real meeting sends).
const MAX_REMEMBERED_NONCES: usize = 100_000;

const REQUEST: u8 = 1;
const REPLY: u8 = 2;
const REQUEST_HEADER: usize = 5 + 32 + 32 + 8 + 16 + 64;
const REPLY_HEADER: usize = 5 + 32 + 64;

/// The bytes a frame's signature covers: `kind` and the request's circle, addressee, time and
/// nonce, and the message's digest.
fn signed_bytes(kind: u8, circle: Id, request: &RequestFrame, message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(PEER_CONTEXT.len() + 1 + 16 + 32 + 8 + 16 + 32);
    out.extend_from_slice(PEER_CONTEXT);
    out.push(kind);
    out.extend_from_slice(circle.as_bytes());
    out.extend_from_slice(&addressee_bytes(request.to));
    out.extend_from_slice(&request.time_ms.to_be_bytes());
    out.extend_from_slice(&request.nonce);
    out.extend_from_slice(&Sha256::digest(message));
    out
}

/// A request's addressee as its 32 bytes (all zeros: none).
fn addressee_bytes(to: Option<PublicKey>) -> [u8; 32] {
    to.map_or([0; 32], |k| *k.as_bytes())
}

fn header(kind: u8) -> [u8; 5] {
    [
        PEER_MAGIC[0],
        PEER_MAGIC[1],
        PEER_MAGIC[2],
        PEER_VERSION,
        kind,
    ]
}

/// Checks a frame's header; returns the bytes after it.
fn open_frame(bytes: &[u8], kind: u8, min_len: usize) -> Result<&[u8], SyncError> {
    let what = if kind == REQUEST { "request" } else { "reply" };
    if bytes.len() < 5 || &bytes[..3] != PEER_MAGIC {
        return Err(SyncError::Malformed(format!(
            "not a phone-to-phone {what} frame"
        )));
    }
    if bytes[3] != PEER_VERSION {
        return Err(SyncError::Version(bytes[3]));
    }
    if bytes[4] != kind {
        return Err(SyncError::Malformed(format!(
            "expected a {what} frame, found kind {}",
            bytes[4]
        )));
    }
    if bytes.len() < min_len {
        return Err(SyncError::Malformed(format!(
            "{} bytes is shorter than a {what} frame's {min_len}-byte header",
            bytes.len()
        )));
    }
    Ok(&bytes[5..])
}

fn array<const N: usize>(bytes: &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    out.copy_from_slice(&bytes[..N]);
    out
}

/// A signed request from the asking phone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestFrame {
    /// The asking phone's device key.
    pub key: PublicKey,
    /// The phone the request is for (none: whichever answers; only for the first request).
    pub to: Option<PublicKey>,
    /// Its clock when it asked (Unix ms).
    pub time_ms: u64,
    /// 16 random bytes, never used twice.
    pub nonce: [u8; 16],
    /// The signature.
    pub signature: SignatureBytes,
    /// The sync message.
    pub message: Vec<u8>,
}

impl RequestFrame {
    /// Signs `message` for the phone `to` (none: whichever answers) of `circle` at `time_ms`
    /// with a fresh nonce.
    pub fn sign(
        key: &DeviceKey,
        circle: Id,
        to: Option<PublicKey>,
        time_ms: u64,
        message: Vec<u8>,
    ) -> RequestFrame {
        let nonce = *Id::random().as_bytes();
        Self::sign_with_nonce(key, circle, to, time_ms, nonce, message)
    }

    /// Signs with a given nonce (the test vectors of `docs/sync-protocol.md`; a real request
    /// takes a fresh one from [`RequestFrame::sign`]).
    pub fn sign_with_nonce(
        key: &DeviceKey,
        circle: Id,
        to: Option<PublicKey>,
        time_ms: u64,
        nonce: [u8; 16],
        message: Vec<u8>,
    ) -> RequestFrame {
        let mut frame = RequestFrame {
            key: key.public_key(),
            to,
            time_ms,
            nonce,
            signature: [0; 64],
            message,
        };
        frame.signature = key.sign(&signed_bytes(REQUEST, circle, &frame, &frame.message));
        frame
    }

    /// Whether the signature covers the frame for `circle`.
    pub fn verify(&self, circle: Id) -> bool {
        let signed = signed_bytes(REQUEST, circle, self, &self.message);
        self.key.verify(&signed, &self.signature)
    }

    /// The frame's bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(REQUEST_HEADER + self.message.len());
        out.extend_from_slice(&header(REQUEST));
        out.extend_from_slice(self.key.as_bytes());
        out.extend_from_slice(&addressee_bytes(self.to));
        out.extend_from_slice(&self.time_ms.to_be_bytes());
        out.extend_from_slice(&self.nonce);
        out.extend_from_slice(&self.signature);
        out.extend_from_slice(&self.message);
        out
    }

    /// Reads a frame (the signature is not checked here).
    pub fn decode(bytes: &[u8]) -> Result<RequestFrame, SyncError> {
        let rest = open_frame(bytes, REQUEST, REQUEST_HEADER)?;
        let to: [u8; 32] = array(&rest[32..64]);
        Ok(RequestFrame {
            key: PublicKey::from_bytes(array(&rest[..32])),
            to: (to != [0; 32]).then(|| PublicKey::from_bytes(to)),
            time_ms: u64::from_be_bytes(array(&rest[64..72])),
            nonce: array(&rest[72..88]),
            signature: array(&rest[88..152]),
            message: rest[152..].to_vec(),
        })
    }
}

/// A signed reply from the answering phone, bound to the request it answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyFrame {
    /// The answering phone's device key.
    pub key: PublicKey,
    /// The signature.
    pub signature: SignatureBytes,
    /// The sync message.
    pub message: Vec<u8>,
}

impl ReplyFrame {
    /// Signs `message` as the answer to `request` in `circle`.
    pub fn sign(key: &DeviceKey, circle: Id, request: &RequestFrame, message: Vec<u8>) -> Self {
        let signed = signed_bytes(REPLY, circle, request, &message);
        ReplyFrame {
            key: key.public_key(),
            signature: key.sign(&signed),
            message,
        }
    }

    /// Whether the signature covers the frame as the answer to `request` in `circle`.
    pub fn verify(&self, circle: Id, request: &RequestFrame) -> bool {
        let signed = signed_bytes(REPLY, circle, request, &self.message);
        self.key.verify(&signed, &self.signature)
    }

    /// The frame's bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(REPLY_HEADER + self.message.len());
        out.extend_from_slice(&header(REPLY));
        out.extend_from_slice(self.key.as_bytes());
        out.extend_from_slice(&self.signature);
        out.extend_from_slice(&self.message);
        out
    }

    /// Reads a frame (the signature is not checked here).
    pub fn decode(bytes: &[u8]) -> Result<ReplyFrame, SyncError> {
        let rest = open_frame(bytes, REPLY, REPLY_HEADER)?;
        Ok(ReplyFrame {
            key: PublicKey::from_bytes(array(&rest[..32])),
            signature: array(&rest[32..96]),
            message: rest[96..].to_vec(),
        })
    }
}

/// The nonces of the requests a phone has answered lately, so that a recorded request cannot be
/// played to it again. Entries older than twice the allowed skew are forgotten: a request that
/// old is refused for its time anyway.
#[derive(Debug, Default)]
pub struct SeenNonces(HashMap<[u8; 16], u64>);

impl SeenNonces {
    /// Remembers `nonce` (of a request made at `time_ms`); false if it was seen already or
    /// there is no room left.
    fn admit(&mut self, nonce: [u8; 16], time_ms: u64, now_ms: u64) -> bool {
        let horizon = now_ms.saturating_sub(2 * PEER_MAX_SKEW_MS);
        if self.0.len() >= MAX_REMEMBERED_NONCES {
            self.0.retain(|_, t| *t >= horizon);
        }
        if self.0.len() >= MAX_REMEMBERED_NONCES || self.0.contains_key(&nonce) {
            return false;
        }
        self.0.insert(nonce, time_ms);
        true
    }
}

/// What the answering phone needs besides its documents.
pub struct Answerer<'a> {
    /// This phone's key (signs the replies).
    pub key: &'a DeviceKey,
    /// This phone's clock now (Unix ms).
    pub now_ms: u64,
    /// The nonces answered lately.
    pub seen: &'a mut SeenNonces,
    /// The keys this phone's store trusts (enrolled in the circle, not revoked).
    pub trusted: &'a BTreeSet<PublicKey>,
}

impl Answerer<'_> {
    /// Answers one request frame with a signed reply frame. A request that is not signed by a
    /// trusted key, is stale or replayed, or carries a bad message is answered with a signed
    /// refusal and changes nothing. Only a frame too damaged to answer is an error.
    pub fn answer<R: SyncReplica + ?Sized>(
        &mut self,
        replica: &mut R,
        frame: &[u8],
    ) -> Result<Vec<u8>, SyncError> {
        let circle = replica.circle();
        let request = RequestFrame::decode(frame)?;
        let message = match self.admit(circle, &request) {
            Ok(()) => respond_bytes(replica, &request.message, &Limits::default())?,
            Err(reason) => super::Message::Refused { reason }.encode()?,
        };
        Ok(ReplyFrame::sign(self.key, circle, &request, message).encode())
    }

    fn admit(&mut self, circle: Id, request: &RequestFrame) -> Result<(), String> {
        if !request.verify(circle) {
            return Err("the request's signature does not check for this circle".into());
        }
        let skew = request.time_ms.abs_diff(self.now_ms);
        if skew > PEER_MAX_SKEW_MS {
            return Err(format!(
                "the two phones' clocks differ by {} minutes (at most {} allowed): set both to \
                 the network time",
                skew / 60_000,
                PEER_MAX_SKEW_MS / 60_000
            ));
        }
        if !self.trusted.contains(&request.key) {
            return Err(format!(
                "device {} is not enrolled in this circle, or was revoked",
                request.key
            ));
        }
        match request.to {
            Some(to) if to != self.key.public_key() => {
                return Err(format!(
                    "the request is for device {to}, not this one (recorded on its way there?)"
                ));
            }
            Some(_) => {}
            None => {
                if !matches!(
                    super::Message::decode(&request.message),
                    Ok(super::Message::Hello { .. })
                ) {
                    return Err("a request that names no phone may only open a sync (hello)".into());
                }
            }
        }
        if !self.seen.admit(request.nonce, request.time_ms, self.now_ms) {
            return Err("replayed request (its nonce was seen before)".into());
        }
        Ok(())
    }
}

/// The asking phone's side of the channel: signs each message, and checks that each reply is
/// signed by a key this phone's store trusts, is bound to the request, and comes from the same
/// phone throughout the sync.
pub struct PeerLink<'a> {
    channel: &'a mut dyn Transport,
    key: &'a DeviceKey,
    circle: Id,
    clock: &'a dyn Fn() -> u64,
    trusted: BTreeSet<PublicKey>,
    peer: Option<PublicKey>,
}

impl<'a> PeerLink<'a> {
    /// A link over `channel` for `circle`, signing with `key` at `clock`'s times, accepting
    /// replies from the `trusted` keys.
    pub fn new(
        channel: &'a mut dyn Transport,
        key: &'a DeviceKey,
        circle: Id,
        clock: &'a dyn Fn() -> u64,
        trusted: BTreeSet<PublicKey>,
    ) -> PeerLink<'a> {
        PeerLink {
            channel,
            key,
            circle,
            clock,
            trusted,
            peer: None,
        }
    }
}

impl Transport for PeerLink<'_> {
    fn request(&mut self, message: &[u8]) -> Result<Vec<u8>, SyncError> {
        let request = RequestFrame::sign(
            self.key,
            self.circle,
            self.peer,
            (self.clock)(),
            message.to_vec(),
        );
        let bytes = self.channel.request(&request.encode())?;
        let reply = ReplyFrame::decode(&bytes)?;
        if !reply.verify(self.circle, &request) {
            return Err(SyncError::Malformed(
                "the reply's signature does not check: damaged on the way, or not an answer to \
                 this request"
                    .into(),
            ));
        }
        if self.peer.is_some_and(|p| p != reply.key) {
            return Err(SyncError::NotAuthorised(
                "another phone answered in the middle of the sync".into(),
            ));
        }
        if !self.trusted.contains(&reply.key) {
            return Err(SyncError::NotAuthorised(format!(
                "the other phone's key {} is not enrolled in this circle, or was revoked",
                reply.key
            )));
        }
        self.peer = Some(reply.key);
        Ok(reply.message)
    }

    fn peer_name(&self) -> Option<String> {
        self.peer.map(|k| k.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u8) -> DeviceKey {
        DeviceKey::from_seed([n; 32])
    }

    #[test]
    fn frames_round_trip_and_signatures_bind_circle_message_and_request() {
        let circle = Id::from_bytes([9; 16]);
        let to = Some(key(2).public_key());
        let request = RequestFrame::sign(&key(1), circle, to, 1_000, b"hello".to_vec());
        let decoded = RequestFrame::decode(&request.encode()).expect("decode");
        assert_eq!(decoded, request);
        assert!(decoded.verify(circle));
        assert!(!decoded.verify(Id::from_bytes([8; 16])));
        let mut altered = decoded.clone();
        altered.message.push(0);
        assert!(!altered.verify(circle));
        let mut readdressed = decoded.clone();
        readdressed.to = Some(key(3).public_key());
        assert!(!readdressed.verify(circle), "bound to its addressee");

        let reply = ReplyFrame::sign(&key(2), circle, &request, b"heads".to_vec());
        let decoded = ReplyFrame::decode(&reply.encode()).expect("decode");
        assert_eq!(decoded, reply);
        assert!(decoded.verify(circle, &request));
        let other = RequestFrame::sign(&key(1), circle, to, 1_000, b"hello".to_vec());
        assert!(
            !decoded.verify(circle, &other),
            "bound to the request's nonce"
        );
    }

    /// The vector in `docs/sync-protocol.md`: the RFC 8032 test-1 key asks, the test-2 key
    /// answers.
    #[test]
    fn frames_match_the_documented_vector() {
        let asker = DeviceKey::from_seed(array(
            &hex::decode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
                .expect("hex"),
        ));
        let answerer = DeviceKey::from_seed(array(
            &hex::decode("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb")
                .expect("hex"),
        ));
        let circle = Id::from_bytes([0x11; 16]);
        let request = RequestFrame::sign_with_nonce(
            &asker,
            circle,
            Some(answerer.public_key()),
            1_793_577_600_000,
            [0x22; 16],
            vec![1, 2, 3],
        );
        let reply = ReplyFrame::sign(&answerer, circle, &request, vec![4, 5]);
        assert_eq!(hex::encode(request.encode()), REQUEST_VECTOR);
        assert_eq!(hex::encode(reply.encode()), REPLY_VECTOR);
    }

    const REQUEST_VECTOR: &str = "4342500201d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c000001a1998e440022222222222222222222222222222222ffd1368255d1e93638273ef174dd5bc0e1f9573082ac73eaf2a6e46e57795a649e268bec2b9213445a71f3b98c5c6a9edfa945e1cb9d301a3fe5c3720bf37504010203";
    const REPLY_VECTOR: &str = "43425002023d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660cd04b4e23fd5e411e1864e4f02be8bce6bbab9dbd96223365b0797c4e4a9f51b41ccc616b062d4d5e43d4487d38a91da209e4c0f80edb549ce63a3332c154930a0405";

    #[test]
    fn damaged_frames_are_clear_errors() {
        let circle = Id::from_bytes([9; 16]);
        let request = RequestFrame::sign(&key(1), circle, None, 1_000, b"x".to_vec()).encode();
        for cut in [0, 3, 5, REQUEST_HEADER - 1] {
            assert!(
                RequestFrame::decode(&request[..cut]).is_err(),
                "cut at {cut}"
            );
        }
        let mut version = request.clone();
        version[3] = 9;
        assert!(matches!(
            RequestFrame::decode(&version),
            Err(SyncError::Version(9))
        ));
        assert!(
            ReplyFrame::decode(&request).is_err(),
            "a request is not a reply"
        );
    }

    #[test]
    fn a_nonce_is_admitted_once() {
        let mut seen = SeenNonces::default();
        assert!(seen.admit([1; 16], 10, 10));
        assert!(!seen.admit([1; 16], 10, 10));
        assert!(seen.admit([2; 16], 10, 10));
    }
}
