//! Sync messages and their encoding (see `docs/sync-protocol.md`).

use automerge::ChangeHash;
use sha2::{Digest, Sha256};

use super::SyncError;
use super::wire::{Reader, Writer, open, seal};
use crate::ids::Id;
use crate::replica::{DocHeads, DocId};

/// The first three bytes of every sync message.
pub const MAGIC: &[u8; 3] = b"CBS";
/// The sync protocol version this build speaks.
pub const PROTOCOL_VERSION: u8 = 1;

/// One document's part of a push or a reply: the sender's heads and the changes it believes
/// the receiver lacks (Automerge bytes for `load_incremental`, possibly empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocChanges {
    /// The document.
    pub doc: DocId,
    /// The sender's heads (for a reply: after applying the push).
    pub heads: Vec<ChangeHash>,
    /// The changes.
    pub changes: Vec<u8>,
    /// Set in a reply when the responder left this document's changes for a later round.
    pub deferred: bool,
    /// Set when the sender had more changes for this document than the round's budget let it
    /// send: these are the first of them in dependency order, and a later round carries the rest.
    pub more: bool,
}

/// Keyring entries carried beside the documents (elder keys, `record::elder_key`; see
/// `docs/sync-protocol.md` "Keyring"). They are not in any document, so that an erasure can
/// destroy them; the first pushes of a session and their replies carry them, a page of ids at
/// a time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyringPart {
    /// In a push: the id of every entry the initiator holds within the page. In a reply: those
    /// of them the responder does not hold (and did not receive in the push), which the
    /// initiator pushes on a later sync.
    pub ids: Vec<Id>,
    /// Entries the receiver is not known to hold (235 bytes each).
    pub entries: Vec<Vec<u8>>,
    /// The ids the part is complete for. In a push: the page its ids and entries speak of; in
    /// the reply: the part of that page its entries cover (the same first id; the last is
    /// earlier when the responder stopped at its budget). Absent: every id (a push from a
    /// build before pages, and the reply to one).
    pub page: Option<KeyPage>,
}

/// A range of keyring ids, `first..=last` in byte order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyPage {
    /// The first id of the range.
    pub first: Id,
    /// The last id of the range (inclusive).
    pub last: Id,
}

impl KeyPage {
    /// Every id.
    pub const ALL: KeyPage = KeyPage {
        first: Id::from_bytes([0; 16]),
        last: Id::from_bytes([0xff; 16]),
    };

    /// Whether `id` lies in the range.
    pub fn contains(&self, id: &Id) -> bool {
        (self.first..=self.last).contains(id)
    }
}

/// A sync message. The initiator sends `Hello`, then `Push`es; the responder answers `Hello`
/// with `UpToDate` or `Heads`, each `Push` with `Changes`, and anything it refuses with `Refused`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// The initiator's circle and a digest of every document's heads.
    Hello {
        /// The circle both sides must belong to.
        circle: Id,
        /// [`digest`] of the initiator's documents.
        digest: [u8; 16],
    },
    /// The digests matched: nothing to do.
    UpToDate,
    /// The digests differ: the responder's heads of every document.
    Heads {
        /// Every document the responder holds.
        docs: Vec<DocHeads>,
    },
    /// What the responder lacks, for the documents whose heads differ.
    Push {
        /// One entry per document.
        docs: Vec<DocChanges>,
        /// How many bytes of changes the reply may carry (0: as many as the responder allows).
        /// Given, a responder splits a document's changes to keep within it (`more`); not given,
        /// it sends each document's changes whole, as before the field existed.
        reply_budget: u64,
        /// The initiator's keyring: on the first push of a session.
        keys: Option<KeyringPart>,
    },
    /// What the initiator lacks, for the documents it pushed.
    Changes {
        /// One entry per pushed document.
        docs: Vec<DocChanges>,
        /// The responder's part of the keyring exchange, when the push had one.
        keys: Option<KeyringPart>,
    },
    /// The responder will not go on.
    Refused {
        /// Why, for people.
        reason: String,
    },
}

const HELLO: u8 = 1;
const UP_TO_DATE: u8 = 2;
const HEADS: u8 = 3;
const PUSH: u8 = 4;
const CHANGES: u8 = 5;
const REFUSED: u8 = 6;

impl Message {
    /// The message's name, for logs and errors.
    pub fn name(&self) -> &'static str {
        match self {
            Message::Hello { .. } => "hello",
            Message::UpToDate => "up-to-date",
            Message::Heads { .. } => "heads",
            Message::Push { .. } => "push",
            Message::Changes { .. } => "changes",
            Message::Refused { .. } => "refused",
        }
    }

    /// Encodes the message: header, then the body in one checksummed zstd frame.
    pub fn encode(&self) -> Result<Vec<u8>, SyncError> {
        let mut w = Writer::default();
        let kind = match self {
            Message::Hello { circle, digest } => {
                w.id(*circle);
                w.fixed(digest);
                HELLO
            }
            Message::UpToDate => UP_TO_DATE,
            Message::Heads { docs } => {
                w.uint(docs.len() as u64);
                for d in docs {
                    w.doc_id(&d.doc);
                    w.heads(&d.heads);
                }
                HEADS
            }
            Message::Push {
                docs,
                reply_budget,
                keys,
            } => {
                write_docs(&mut w, docs);
                // Written only when given (or when a keyring follows), so a push without them
                // is byte for byte as before.
                if *reply_budget > 0 || keys.is_some() {
                    w.uint(*reply_budget);
                }
                if let Some(keys) = keys {
                    write_keyring(&mut w, keys);
                }
                PUSH
            }
            Message::Changes { docs, keys } => {
                write_docs(&mut w, docs);
                if let Some(keys) = keys {
                    write_keyring(&mut w, keys);
                }
                CHANGES
            }
            Message::Refused { reason } => {
                w.bytes(reason.as_bytes());
                REFUSED
            }
        };
        seal(MAGIC, PROTOCOL_VERSION, kind, &w.into_bytes())
    }

    /// Decodes a message, checking every field; anything malformed is an error naming the fault.
    pub fn decode(bytes: &[u8]) -> Result<Message, SyncError> {
        let (kind, body) = open(bytes, MAGIC, PROTOCOL_VERSION)?;
        let mut r = Reader::new(&body);
        let message = match kind {
            HELLO => {
                let circle = r.id("circle")?;
                let mut digest = [0u8; 16];
                digest.copy_from_slice(r.fixed(16, "digest")?);
                Message::Hello { circle, digest }
            }
            UP_TO_DATE => Message::UpToDate,
            HEADS => {
                let n = r.count("documents", 2)?;
                let docs = (0..n)
                    .map(|_| {
                        Ok(DocHeads {
                            doc: r.doc_id()?,
                            heads: r.heads()?,
                        })
                    })
                    .collect::<Result<_, SyncError>>()?;
                Message::Heads { docs }
            }
            PUSH | CHANGES => {
                let n = r.count("documents", 4)?;
                let docs = (0..n)
                    .map(|_| read_doc_changes(&mut r))
                    .collect::<Result<_, SyncError>>()?;
                if kind == PUSH {
                    let reply_budget = if r.at_end() {
                        0
                    } else {
                        r.uint("reply budget")?
                    };
                    let keys = read_keyring(&mut r)?;
                    Message::Push {
                        docs,
                        reply_budget,
                        keys,
                    }
                } else {
                    let keys = read_keyring(&mut r)?;
                    Message::Changes { docs, keys }
                }
            }
            REFUSED => {
                let reason = String::from_utf8_lossy(r.bytes("reason")?).into_owned();
                Message::Refused { reason }
            }
            other => {
                return Err(SyncError::Malformed(format!(
                    "unknown message kind {other}"
                )));
            }
        };
        r.finish()?;
        Ok(message)
    }
}

fn write_keyring(w: &mut Writer, keys: &KeyringPart) {
    w.uint(keys.ids.len() as u64);
    for id in &keys.ids {
        w.id(*id);
    }
    w.uint(keys.entries.len() as u64);
    for entry in &keys.entries {
        w.bytes(entry);
    }
    if let Some(page) = keys.page {
        w.id(page.first);
        w.id(page.last);
    }
}

/// Reads the keyring part that may end a push or a reply (none if the message ends first).
fn read_keyring(r: &mut Reader<'_>) -> Result<Option<KeyringPart>, SyncError> {
    if r.at_end() {
        return Ok(None);
    }
    let n = r.count("keyring ids", 16)?;
    let ids = (0..n)
        .map(|_| r.id("keyring id"))
        .collect::<Result<_, SyncError>>()?;
    let n = r.count("keyring entries", 1)?;
    let entries = (0..n)
        .map(|_| r.bytes("keyring entry").map(<[u8]>::to_vec))
        .collect::<Result<_, SyncError>>()?;
    let page = if r.at_end() {
        None
    } else {
        let page = KeyPage {
            first: r.id("keyring page's first id")?,
            last: r.id("keyring page's last id")?,
        };
        if page.first > page.last {
            return Err(SyncError::Malformed(
                "a keyring page that ends before it starts".into(),
            ));
        }
        Some(page)
    };
    Ok(Some(KeyringPart { ids, entries, page }))
}

fn write_docs(w: &mut Writer, docs: &[DocChanges]) {
    w.uint(docs.len() as u64);
    for d in docs {
        write_doc_changes(w, d);
    }
}

/// The flag of a document's changes: whole (0), deferred (1), or the first part (2).
const WHOLE: u64 = 0;
const DEFERRED: u64 = 1;
const MORE: u64 = 2;

/// Writes one document's changes (shared with bundle files).
pub(super) fn write_doc_changes(w: &mut Writer, d: &DocChanges) {
    w.doc_id(&d.doc);
    w.heads(&d.heads);
    w.uint(match (d.deferred, d.more) {
        (true, _) => DEFERRED,
        (false, true) => MORE,
        (false, false) => WHOLE,
    });
    w.bytes(&d.changes);
}

/// Reads one document's changes (shared with bundle files).
pub(super) fn read_doc_changes(r: &mut Reader<'_>) -> Result<DocChanges, SyncError> {
    let doc = r.doc_id()?;
    let heads = r.heads()?;
    let (deferred, more) = match r.uint("deferred flag")? {
        WHOLE => (false, false),
        DEFERRED => (true, false),
        MORE => (false, true),
        other => {
            return Err(SyncError::Malformed(format!(
                "deferred flag must be 0, 1 or 2, not {other}"
            )));
        }
    };
    let changes = r.bytes("changes")?.to_vec();
    Ok(DocChanges {
        doc,
        heads,
        changes,
        deferred,
        more,
    })
}

/// The digest of a replica's state: the first 16 bytes of SHA-256 over, for each document in
/// name order, its name, a zero byte, its head count (u32 big-endian) and its sorted heads.
/// Documents without heads are skipped.
pub fn digest(docs: &[DocHeads]) -> [u8; 16] {
    let mut sorted: Vec<&DocHeads> = docs.iter().filter(|d| !d.heads.is_empty()).collect();
    sorted.sort_by(|a, b| a.doc.cmp(&b.doc));
    let mut hasher = Sha256::new();
    for d in sorted {
        hasher.update(d.doc.as_str().as_bytes());
        hasher.update([0u8]);
        hasher.update((d.heads.len() as u32).to_be_bytes());
        let mut heads = d.heads.clone();
        heads.sort();
        for h in heads {
            hasher.update(h.0);
        }
    }
    let mut out = [0u8; 16];
    out.copy_from_slice(&hasher.finalize()[..16]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn doc(name: &str) -> DocId {
        DocId::parse(name).expect("doc id")
    }

    fn samples() -> Vec<Message> {
        let heads = vec![ChangeHash([1; 32]), ChangeHash([2; 32])];
        vec![
            Message::Hello {
                circle: Id::from_bytes([9; 16]),
                digest: [3; 16],
            },
            Message::UpToDate,
            Message::Heads {
                docs: vec![DocHeads {
                    doc: doc("records/2026-11"),
                    heads: heads.clone(),
                }],
            },
            Message::Push {
                docs: vec![DocChanges {
                    doc: doc("records/2026-10"),
                    heads: heads.clone(),
                    changes: b"some automerge bytes".repeat(20),
                    deferred: false,
                    more: false,
                }],
                reply_budget: 0,
                keys: None,
            },
            Message::Push {
                docs: Vec::new(),
                reply_budget: 0,
                keys: Some(KeyringPart {
                    ids: vec![Id::from_bytes([4; 16]), Id::from_bytes([5; 16])],
                    entries: vec![vec![7; 235]],
                    page: Some(KeyPage {
                        first: Id::from_bytes([0; 16]),
                        last: Id::from_bytes([0x7f; 16]),
                    }),
                }),
            },
            Message::Push {
                docs: vec![DocChanges {
                    doc: doc("records/2026-10"),
                    heads: heads.clone(),
                    changes: b"the first of some automerge bytes".repeat(5),
                    deferred: false,
                    more: true,
                }],
                reply_budget: 65_536,
                keys: None,
            },
            Message::Changes {
                docs: vec![
                    DocChanges {
                        doc: doc("records/2026-12"),
                        heads: heads.clone(),
                        changes: Vec::new(),
                        deferred: true,
                        more: false,
                    },
                    DocChanges {
                        doc: doc("records/2026-11"),
                        heads,
                        changes: b"part".to_vec(),
                        deferred: false,
                        more: true,
                    },
                ],
                keys: None,
            },
            Message::Changes {
                docs: Vec::new(),
                keys: Some(KeyringPart {
                    ids: Vec::new(),
                    entries: vec![vec![8; 235], vec![9; 235]],
                    page: Some(KeyPage {
                        first: Id::from_bytes([0; 16]),
                        last: Id::from_bytes([0x30; 16]),
                    }),
                }),
            },
            Message::Refused {
                reason: "不行".into(),
            },
        ]
    }

    #[test]
    fn every_message_round_trips() {
        for m in samples() {
            let bytes = m.encode().expect("encode");
            assert_eq!(Message::decode(&bytes).expect("decode"), m, "{}", m.name());
        }
    }

    #[test]
    fn a_keyring_page_that_ends_before_it_starts_is_refused() {
        let mut message = Message::Push {
            docs: Vec::new(),
            reply_budget: 0,
            keys: Some(KeyringPart {
                page: Some(KeyPage {
                    first: Id::from_bytes([0x10; 16]),
                    last: Id::from_bytes([0x10; 16]),
                }),
                ..KeyringPart::default()
            }),
        };
        assert!(Message::decode(&message.encode().expect("encode")).is_ok());
        if let Message::Push {
            keys: Some(keys), ..
        } = &mut message
        {
            keys.page = Some(KeyPage {
                first: Id::from_bytes([0x10; 16]),
                last: Id::from_bytes([0x0f; 16]),
            });
        }
        let err = Message::decode(&message.encode().expect("encode")).expect_err("refused");
        assert!(err.to_string().contains("ends before it starts"), "{err}");
    }

    #[test]
    fn every_truncation_is_a_clear_error() {
        for m in samples() {
            let bytes = m.encode().expect("encode");
            for len in 0..bytes.len() {
                let err = Message::decode(&bytes[..len]).expect_err("truncated");
                assert!(
                    matches!(err, SyncError::Malformed(_)),
                    "{} cut at {len}: {err}",
                    m.name()
                );
            }
        }
    }

    #[test]
    fn a_flipped_byte_never_yields_another_message() {
        for m in samples() {
            let bytes = m.encode().expect("encode");
            for i in 0..bytes.len() {
                for bit in [0x01u8, 0x80] {
                    let mut bad = bytes.clone();
                    bad[i] ^= bit;
                    if let Ok(decoded) = Message::decode(&bad) {
                        assert_eq!(decoded, m, "{} with byte {i} flipped", m.name());
                    }
                }
            }
        }
    }

    #[test]
    fn the_digest_ignores_order_and_empty_documents() {
        let a = DocHeads {
            doc: doc("records/2026-11"),
            heads: vec![ChangeHash([1; 32]), ChangeHash([2; 32])],
        };
        let b = DocHeads {
            doc: doc("records/2026-12"),
            heads: vec![ChangeHash([3; 32])],
        };
        let empty = DocHeads {
            doc: doc("records/2027-01"),
            heads: vec![],
        };
        let mut a_reversed = a.clone();
        a_reversed.heads.reverse();
        assert_eq!(
            digest(&[a.clone(), b.clone()]),
            digest(&[b.clone(), a_reversed, empty])
        );
        assert_ne!(digest(std::slice::from_ref(&a)), digest(&[a, b]));
    }

    /// The documents of the published vectors (`docs/sync-protocol.md`, "Test vectors of the
    /// messages"): heads of 32 equal bytes, the first document's given out of order, and a
    /// document without heads, which the digest leaves out.
    fn vector_docs() -> Vec<DocHeads> {
        vec![
            DocHeads {
                doc: doc("records/2026-11"),
                heads: vec![ChangeHash([2; 32]), ChangeHash([1; 32])],
            },
            DocHeads {
                doc: doc("records/2026-12"),
                heads: vec![ChangeHash([3; 32])],
            },
            DocHeads {
                doc: doc("records/2027-01"),
                heads: vec![],
            },
        ]
    }

    /// The published messages, each with the content of its zstd frame (the kind, then the
    /// body) and the whole message, in hex.
    fn vector_messages() -> Vec<(Message, &'static str, &'static str)> {
        let sorted = || vec![ChangeHash([1; 32]), ChangeHash([2; 32])];
        let november = |changes: &[u8], more: bool| DocChanges {
            doc: doc("records/2026-11"),
            heads: sorted(),
            changes: changes.to_vec(),
            deferred: false,
            more,
        };
        vec![
            (
                Message::Hello {
                    circle: Id::from_bytes([0x11; 16]),
                    digest: digest(&vector_docs()),
                },
                HELLO_CONTENT,
                HELLO_VECTOR,
            ),
            (Message::UpToDate, UP_TO_DATE_CONTENT, UP_TO_DATE_VECTOR),
            (
                Message::Heads {
                    docs: vec![
                        DocHeads {
                            doc: doc("records/2026-11"),
                            heads: sorted(),
                        },
                        DocHeads {
                            doc: doc("records/2026-12"),
                            heads: vec![ChangeHash([3; 32])],
                        },
                    ],
                },
                HEADS_CONTENT,
                HEADS_VECTOR,
            ),
            (
                Message::Push {
                    docs: vec![november(&[0x0a, 0x0b, 0x0c, 0x0d, 0x0e], false)],
                    reply_budget: 0,
                    keys: None,
                },
                PUSH_CONTENT,
                PUSH_VECTOR,
            ),
            (
                Message::Push {
                    docs: vec![november(&[0x0a, 0x0b, 0x0c], true)],
                    reply_budget: 65_536,
                    keys: None,
                },
                PUSH_PART_CONTENT,
                PUSH_PART_VECTOR,
            ),
            (
                Message::Changes {
                    docs: vec![
                        DocChanges {
                            doc: doc("records/2026-12"),
                            heads: vec![ChangeHash([3; 32])],
                            changes: Vec::new(),
                            deferred: true,
                            more: false,
                        },
                        november(&[0x0f, 0x10], false),
                    ],
                    keys: None,
                },
                CHANGES_CONTENT,
                CHANGES_VECTOR,
            ),
            (
                Message::Refused {
                    reason: "wrong circle".into(),
                },
                REFUSED_CONTENT,
                REFUSED_VECTOR,
            ),
            (
                Message::Push {
                    docs: Vec::new(),
                    reply_budget: 0,
                    keys: Some(KeyringPart {
                        ids: vec![Id::from_bytes([4; 16]), Id::from_bytes([5; 16])],
                        entries: vec![vec![0x0e; 4]],
                        page: None,
                    }),
                },
                KEYS_PUSH_CONTENT,
                KEYS_PUSH_VECTOR,
            ),
            (
                Message::Push {
                    docs: Vec::new(),
                    reply_budget: 8_192,
                    keys: Some(KeyringPart {
                        ids: vec![Id::from_bytes([4; 16]), Id::from_bytes([5; 16])],
                        entries: Vec::new(),
                        page: Some(KeyPage {
                            first: Id::from_bytes([0; 16]),
                            last: Id::from_bytes([0x7f; 16]),
                        }),
                    }),
                },
                KEYS_PAGE_PUSH_CONTENT,
                KEYS_PAGE_PUSH_VECTOR,
            ),
            (
                Message::Changes {
                    docs: Vec::new(),
                    keys: Some(KeyringPart {
                        ids: vec![Id::from_bytes([5; 16])],
                        entries: Vec::new(),
                        page: None,
                    }),
                },
                KEYS_REPLY_CONTENT,
                KEYS_REPLY_VECTOR,
            ),
            (
                Message::Changes {
                    docs: Vec::new(),
                    keys: Some(KeyringPart {
                        ids: vec![Id::from_bytes([5; 16])],
                        entries: vec![vec![0x0e; 4]],
                        page: Some(KeyPage {
                            first: Id::from_bytes([0; 16]),
                            last: Id::from_bytes([0x20; 16]),
                        }),
                    }),
                },
                KEYS_PAGE_REPLY_CONTENT,
                KEYS_PAGE_REPLY_VECTOR,
            ),
        ]
    }

    /// The digest vector: what is hashed, and the digest.
    #[test]
    fn the_digest_matches_the_documented_vector() {
        let mut hashed = Vec::new();
        for (name, heads) in [
            ("records/2026-11", &[1u8, 2][..]),
            ("records/2026-12", &[3]),
        ] {
            hashed.extend_from_slice(name.as_bytes());
            hashed.push(0);
            hashed.extend_from_slice(&(heads.len() as u32).to_be_bytes());
            for h in heads {
                hashed.extend_from_slice(&[*h; 32]);
            }
        }
        assert_eq!(hex::encode(&hashed), DIGEST_INPUT);
        assert_eq!(hex::encode(digest(&vector_docs())), DIGEST_VECTOR);
        assert_eq!(
            hex::encode(&Sha256::digest(&hashed)[..16]),
            DIGEST_VECTOR,
            "the digest is the first 16 bytes of SHA-256 of the input shown"
        );
    }

    /// The message vectors: each encodes to the published bytes, its frame holds the published
    /// content, and the published bytes decode to the message.
    #[test]
    fn messages_match_the_documented_vectors() {
        for (message, content, vector) in vector_messages() {
            let bytes = message.encode().expect("encode");
            let (kind, body) = open(&bytes, MAGIC, PROTOCOL_VERSION).expect("open");
            let mut framed = vec![kind];
            framed.extend_from_slice(&body);
            assert_eq!(hex::encode(&framed), content, "{} content", message.name());
            assert_eq!(hex::encode(&bytes), vector, "{} message", message.name());
            let published = hex::decode(vector).expect("hex");
            assert_eq!(Message::decode(&published).expect("decode"), message);
        }
    }

    const DIGEST_INPUT: &str = "7265636f7264732f323032362d31310000000002010101010101010101010101010101010101010101010101010101010101010102020202020202020202020202020202020202020202020202020202020202027265636f7264732f323032362d313200000000010303030303030303030303030303030303030303030303030303030303030303";
    const KEYS_PUSH_CONTENT: &str =
        "04000002040404040404040404040404040404040505050505050505050505050505050501040e0e0e0e";
    const KEYS_PUSH_VECTOR: &str =
        "434253010428b52ffd0400a500006004000002040501040e0e0e0e0200a0131dd0029d56b4f4";
    const KEYS_REPLY_CONTENT: &str = "0500010505050505050505050505050505050500";
    const KEYS_REPLY_VECTOR: &str = "434253010528b52ffd04005d000028050001050001001d2002febf83ec";
    const KEYS_PAGE_PUSH_CONTENT: &str = "0400804002040404040404040404040404040404040505050505050505050505050505050500000000000000000000000000000000007f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f";
    const KEYS_PAGE_PUSH_VECTOR: &str =
        "434253010428b52ffd04009d00004804008040020405007f0410009d20d7b10e0e9b4c6c41";
    const KEYS_PAGE_REPLY_CONTENT: &str = "0500010505050505050505050505050505050501040e0e0e0e0000000000000000000000000000000020202020202020202020202020202020";
    const KEYS_PAGE_REPLY_VECTOR: &str =
        "434253010528b52ffd0400a50000600500010501040e0e0e0e00200314000cc21001036f463e";
    const DIGEST_VECTOR: &str = "25c933cb8aad28dd8b8339b799793a77";
    const HELLO_CONTENT: &str =
        "011111111111111111111111111111111125c933cb8aad28dd8b8339b799793a77";
    const HELLO_VECTOR: &str =
        "434253010128b52ffd0400c5000090011125c933cb8aad28dd8b8339b799793a7701001dc002e2457cd5";
    const UP_TO_DATE_CONTENT: &str = "02";
    const UP_TO_DATE_VECTOR: &str = "434253010228b52ffd040009000002e7b03257";
    const HEADS_CONTENT: &str = "03020f7265636f7264732f323032362d313102010101010101010101010101010101010101010101010101010101010101010102020202020202020202020202020202020202020202020202020202020202020f7265636f7264732f323032362d3132010303030303030303030303030303030303030303030303030303030303030303";
    const HEADS_VECTOR: &str = "434253010328b52ffd0400250100c003020f7265636f7264732f323032362d31310201023201030400783354e80034570398e842e274";
    const PUSH_CONTENT: &str = "04010f7265636f7264732f323032362d3131020101010101010101010101010101010101010101010101010101010101010101020202020202020202020202020202020202020202020202020202020202020200050a0b0c0d0e";
    const PUSH_VECTOR: &str = "434253010428b52ffd0400250100e004010f7265636f7264732f323032362d313102010200050a0b0c0d0e0200a0111ac0046d83bf33";
    const PUSH_PART_CONTENT: &str = "04010f7265636f7264732f323032362d3131020101010101010101010101010101010101010101010101010101010101010101020202020202020202020202020202020202020202020202020202020202020202030a0b0c808004";
    const PUSH_PART_VECTOR: &str = "434253010428b52ffd0400250100e004010f7265636f7264732f323032362d3131020102030a0b0c808004020000171ac0048faef866";
    const CHANGES_CONTENT: &str = "05020f7265636f7264732f323032362d313201030303030303030303030303030303030303030303030303030303030303030301000f7265636f7264732f323032362d3131020101010101010101010101010101010101010101010101010101010101010101020202020202020202020202020202020202020202020202020202020202020200020f10";
    const CHANGES_VECTOR: &str = "434253010528b52ffd04005d0100f005020f7265636f7264732f323032362d3132010301003102010200020f100400a011b86658d5610d600255e3fb2b";
    const REFUSED_CONTENT: &str = "060c77726f6e6720636972636c65";
    const REFUSED_VECTOR: &str = "434253010628b52ffd0400710000060c77726f6e6720636972636c65a5b0352d";

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = Message::decode(&bytes);
            let mut framed = b"CBS\x01\x04".to_vec();
            framed.extend_from_slice(&bytes);
            let _ = Message::decode(&framed);
        }

        #[test]
        fn arbitrary_bodies_never_panic(kind in 0u8..8, body in proptest::collection::vec(any::<u8>(), 0..256)) {
            let sealed = super::super::wire::seal(MAGIC, PROTOCOL_VERSION, kind, &body).expect("seal");
            let _ = Message::decode(&sealed);
        }
    }
}
