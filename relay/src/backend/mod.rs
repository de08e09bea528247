//! Where the relay keeps its data: SQLite (embedded, the default) or PostgreSQL (shared by
//! several relay instances). Both hold the same tables: circles, document chunks (each append
//! numbered per document), the records that bear on trust, and recently used request nonces.

mod pg;
mod sqlite;

pub use pg::PostgresBackend;
pub use sqlite::SqliteBackend;

use carebank_core::identity::PublicKey;
use carebank_core::ids::Id;

use crate::RelayError;

/// A record that bears on trust (an enrolment or a revocation), kept beside the chunks.
pub struct TrustRecord {
    /// The record id (hex).
    pub id: String,
    /// The signed record's bytes.
    pub bytes: Vec<u8>,
}

/// The relay's storage. Calls block; the server runs them off the async threads.
pub trait Backend: Send {
    /// Serves `circle`, rooted at `centre`; refuses a circle already registered to another key.
    fn register_circle(&mut self, circle: Id, centre: PublicKey) -> Result<(), RelayError>;
    /// The centre key of a served circle.
    fn circle_centre(&mut self, circle: Id) -> Result<Option<PublicKey>, RelayError>;
    /// Each document of the circle with the number of its latest chunk.
    fn doc_versions(&mut self, circle: Id) -> Result<Vec<(String, i64)>, RelayError>;
    /// A document's chunks numbered above `after`, in order.
    fn chunks_after(
        &mut self,
        circle: Id,
        doc: &str,
        after: i64,
    ) -> Result<Vec<(i64, Vec<u8>)>, RelayError>;
    /// Appends a chunk to a document, with the trust records it brought, in one transaction.
    fn append_chunk(
        &mut self,
        circle: Id,
        doc: &str,
        chunk: &[u8],
        trust: &[TrustRecord],
    ) -> Result<(), RelayError>;
    /// Every trust record of the circle.
    fn trust_records(&mut self, circle: Id) -> Result<Vec<Vec<u8>>, RelayError>;
    /// Records a request nonce; false if this key used it before. Nonces older than
    /// `forget_before_ms` are dropped.
    fn use_nonce(
        &mut self,
        key: &PublicKey,
        nonce: &[u8; 16],
        time_ms: i64,
        forget_before_ms: i64,
    ) -> Result<bool, RelayError>;
    /// Whether the database answers.
    fn health(&mut self) -> Result<(), RelayError>;
}

/// Reads a stored public key.
fn parse_key(text: &str) -> Result<PublicKey, RelayError> {
    text.parse()
        .map_err(|_| RelayError::Database(format!("stored centre key {text:?}")))
}
