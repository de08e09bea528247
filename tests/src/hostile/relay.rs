//! A hostile relay: an HTTP/1.1 proxy on loopback in front of the real relay. Honest until given
//! a fault; then it drops, duplicates, reorders, replays or alters the exchanges that pass, or
//! withholds one device's pushes (acknowledging them as if the relay had stored them). One
//! exchange a connection (it answers `Connection: close`); every socket has a timeout.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use carebank_core::identity::PublicKey;
use carebank_core::sync::{AUTH_HEADER, DocChanges, Message, RequestAuth};

use super::{Counts, Fault, Hostility};

/// How long the proxy waits on any socket.
const TIMEOUT: Duration = Duration::from_secs(30);
/// The largest request head it reads.
const MAX_HEAD: usize = 64 * 1024;

/// The proxy; it runs until the process ends.
pub struct HostileRelay {
    addr: SocketAddr,
    state: Arc<Mutex<Proxy>>,
}

struct Proxy {
    target: SocketAddr,
    hostile: Hostility,
    victim: Option<PublicKey>,
}

/// A request as it came: its head (request line and headers, without the length and
/// connection headers, which the proxy writes itself), the device that signed it, its body.
struct Request {
    head: String,
    signer: Option<PublicKey>,
    body: Vec<u8>,
}

impl Request {
    fn bytes(&self, body: &[u8]) -> Vec<u8> {
        let mut out = format!(
            "{}content-length: {}\r\nconnection: close\r\n\r\n",
            self.head,
            body.len()
        )
        .into_bytes();
        out.extend_from_slice(body);
        out
    }
}

/// A reply: its status and body.
#[derive(Clone)]
struct Reply {
    status: u16,
    body: Vec<u8>,
}

impl HostileRelay {
    /// Starts an honest proxy in front of the relay at `target`, drawing from `seed`.
    pub fn start(target: SocketAddr, seed: u64) -> std::io::Result<HostileRelay> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let state = Arc::new(Mutex::new(Proxy {
            target,
            hostile: Hostility::new(seed),
            victim: None,
        }));
        let shared = state.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let _ = serve(&shared, client);
            }
        });
        Ok(HostileRelay { addr, state })
    }

    fn proxy(&self) -> MutexGuard<'_, Proxy> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The proxy's URL, for a relay client.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Plays `fault` from now on (none: honest); `victim` is the device whose pushes a
    /// withholding relay holds back.
    pub fn set_fault(&self, fault: Option<Fault>, victim: Option<PublicKey>) {
        let mut proxy = self.proxy();
        proxy.hostile.fault = fault;
        proxy.victim = victim;
    }

    /// Remembers a record the relay carried, to alter later.
    pub fn saw_record(&self, bytes: Vec<u8>) {
        self.proxy().hostile.saw_record(bytes);
    }

    /// The altered records it slipped in so far, from the `from`-th on.
    pub fn forged_since(&self, from: u64) -> Vec<Vec<u8>> {
        self.proxy().hostile.forged_since(from)
    }

    /// What the proxy did so far.
    pub fn counts(&self) -> Counts {
        self.proxy().hostile.counts
    }
}

fn serve(state: &Mutex<Proxy>, mut client: TcpStream) -> std::io::Result<()> {
    client.set_read_timeout(Some(TIMEOUT))?;
    client.set_write_timeout(Some(TIMEOUT))?;
    let request = read_request(&mut client)?;
    let reply = state
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .exchange(&request)?;
    if let Some(reply) = reply {
        let head = format!(
            "HTTP/1.1 {} hostile\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            reply.status,
            reply.body.len()
        );
        client.write_all(head.as_bytes())?;
        client.write_all(&reply.body)?;
    }
    client.shutdown(std::net::Shutdown::Both)
}

impl Proxy {
    /// One exchange under the fault played now; none: the client gets no answer.
    fn exchange(&mut self, request: &Request) -> std::io::Result<Option<Reply>> {
        let h = &mut self.hostile;
        let honest = |p: &Proxy| forward(p.target, &request.bytes(&request.body));
        let reply = match h.fault {
            Some(Fault::Drop) if h.rng.chance(30) => {
                h.counts.dropped += 1;
                if h.rng.chance(50) {
                    honest(self)?;
                }
                return Ok(None);
            }
            Some(Fault::Duplicate) if h.rng.chance(30) => {
                let reply = honest(self)?;
                self.resend(&request.bytes(&request.body))?;
                reply
            }
            Some(Fault::Replay) if h.rng.chance(30) => {
                let reply = honest(self)?;
                if let Some((_, old)) = self.hostile.old_request() {
                    self.resend(&old)?;
                }
                match self.hostile.old_reply() {
                    Some(body) if self.hostile.rng.chance(50) => {
                        self.hostile.counts.out_of_turn += 1;
                        Reply { status: 200, body }
                    }
                    _ => reply,
                }
            }
            Some(Fault::Reorder) if h.rng.chance(30) => {
                let reply = honest(self)?;
                match self.hostile.hold(reply.body) {
                    Some(body) => {
                        self.hostile.counts.out_of_turn += 1;
                        Reply { status: 200, body }
                    }
                    None => return Ok(None),
                }
            }
            Some(Fault::Alter) => self.altered(request)?,
            Some(Fault::Withhold) if self.victim.is_some() && self.victim == request.signer => {
                match acknowledged(&request.body) {
                    Some(body) => {
                        self.hostile.counts.withheld_pushes += 1;
                        Reply { status: 200, body }
                    }
                    None => honest(self)?,
                }
            }
            _ => honest(self)?,
        };
        self.hostile
            .keep("relay", &request.bytes(&request.body), &reply.body);
        Ok(Some(reply))
    }

    /// Sends a request the relay has seen before; counts it, and counts it accepted if the relay
    /// served it.
    fn resend(&mut self, request: &[u8]) -> std::io::Result<()> {
        let again = forward(self.target, request)?;
        self.hostile.counts.resent += 1;
        if again.status == 200 {
            self.hostile.counts.accepted_twice += 1;
        }
        Ok(())
    }

    /// An exchange with a bit flipped in the request's body (a fifth of them), or with an
    /// altered record slipped into the reply (most replies that carry changes), or with a bit
    /// flipped in the reply (a quarter of the others).
    fn altered(&mut self, request: &Request) -> std::io::Result<Reply> {
        let h = &mut self.hostile;
        if h.rng.chance(20)
            && let Some(body) = h.flip(&request.body, |b| Some(b.to_vec()))
        {
            return forward(self.target, &request.bytes(&body));
        }
        let mut reply = forward(self.target, &request.bytes(&request.body))?;
        if reply.status != 200 {
            return Ok(reply);
        }
        let h = &mut self.hostile;
        if h.rng.chance(60)
            && let Some(forged) = h.forge(&reply.body)
        {
            reply.body = forged;
        } else if h.rng.chance(25)
            && let Some(flipped) = h.flip(&reply.body, |b| Message::decode(b).ok())
        {
            reply.body = flipped;
        }
        Ok(reply)
    }
}

/// For a push, the reply a relay that stored it would give: every document at the pusher's
/// heads, nothing to send back. None for any other message.
fn acknowledged(body: &[u8]) -> Option<Vec<u8>> {
    let Ok(Message::Push { docs, .. }) = Message::decode(body) else {
        return None;
    };
    let docs = docs
        .into_iter()
        .map(|d| DocChanges {
            doc: d.doc,
            heads: d.heads,
            changes: Vec::new(),
            deferred: false,
            more: false,
        })
        .collect();
    Message::Changes { docs, keys: None }.encode().ok()
}

fn invalid(what: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_string())
}

/// Reads one request with a `content-length` body.
fn read_request(client: &mut TcpStream) -> std::io::Result<Request> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let end = loop {
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at;
        }
        if buf.len() > MAX_HEAD {
            return Err(invalid("request head too long"));
        }
        let n = client.read(&mut chunk)?;
        if n == 0 {
            return Err(invalid("connection closed in the request head"));
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let text = String::from_utf8_lossy(&buf[..end]).into_owned();
    let (mut head, mut length, mut signer) = (String::new(), 0usize, None);
    for (i, line) in text.split("\r\n").enumerate() {
        let lower = line.to_ascii_lowercase();
        if i > 0 && (lower.starts_with("content-length:") || lower.starts_with("connection:")) {
            if let Some(n) = lower.strip_prefix("content-length:") {
                length = n.trim().parse().map_err(|_| invalid("content-length"))?;
            }
            continue;
        }
        if let Some(value) = lower
            .starts_with(&format!("{AUTH_HEADER}:"))
            .then(|| line[AUTH_HEADER.len() + 1..].trim())
        {
            signer = RequestAuth::parse_header(value).ok().map(|a| a.key);
        }
        head.push_str(line);
        head.push_str("\r\n");
    }
    let mut body = buf[end + 4..].to_vec();
    let mut rest = vec![0u8; length.saturating_sub(body.len())];
    client.read_exact(&mut rest)?;
    body.extend_from_slice(&rest);
    body.truncate(length);
    Ok(Request { head, signer, body })
}

/// Sends `request` to the relay on a connection of its own and reads the whole reply.
fn forward(target: SocketAddr, request: &[u8]) -> std::io::Result<Reply> {
    let mut relay = TcpStream::connect_timeout(&target, TIMEOUT)?;
    relay.set_read_timeout(Some(TIMEOUT))?;
    relay.set_write_timeout(Some(TIMEOUT))?;
    relay.write_all(request)?;
    let mut raw = Vec::new();
    relay.read_to_end(&mut raw)?;
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| invalid("reply without a head"))?;
    let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| invalid("reply without a status"))?;
    let body = &raw[end + 4..];
    let body = if head.contains("transfer-encoding: chunked") {
        dechunk(body)?
    } else {
        body.to_vec()
    };
    Ok(Reply { status, body })
}

/// The body of a chunked reply.
fn dechunk(mut raw: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line_end = raw
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or_else(|| invalid("chunk size"))?;
        let size_text = String::from_utf8_lossy(&raw[..line_end]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| invalid("chunk size"))?;
        if size == 0 {
            return Ok(body);
        }
        let start = line_end + 2;
        let chunk = raw
            .get(start..start + size)
            .ok_or_else(|| invalid("chunk cut short"))?;
        body.extend_from_slice(chunk);
        raw = raw.get(start + size + 2..).unwrap_or_default();
    }
}
