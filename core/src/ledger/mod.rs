//! The time bank (时间银行): per-member hash chains of signed entries (claims, confirmations,
//! redemptions, gifts, coordinator decisions), balances derived from them, the conflicts that
//! offline work leaves behind, statements that carry a member's hours to another village, and
//! the transfers that open them there once (通存通兑). The encodings are specified in
//! `docs/ledger-format.md`.
//!
//! Everything here is a pure function of a set of verified records: [`Ledger`] holds the set
//! and indexes it as records arrive; [`Ledger::reconcile`] computes every entry's
//! [`Standing`], every member's [`Balance`] and the coordinator's queue of [`Conflict`]s.

mod balance;
mod book;
mod chain_findings;
mod conflict;
mod idmap;
mod month;
mod reconcile;
mod services;
mod standing;
mod statement;
mod transfer;
mod verify;
pub mod words;

/// What [`ServiceView::Known`] holds per service (a domain type: the store fills it).
pub use crate::domain::ServiceFacts;
pub use balance::{Balance, Movement, MovementKind};
pub use book::{Ledger, LedgerIngest};
pub use conflict::{Conflict, ConflictKind};
pub use month::{MonthTotals, month_totals};
pub use reconcile::Reconciliation;
pub use services::{ClaimRef, ServiceProblem, ServiceView};
pub use standing::{Hold, KeyProblem, Pending, Rule, Standing};
pub use statement::{
    STATEMENT_FORMAT, STATEMENT_SIGNING_CONTEXT, Statement, StatementError, VerifiedStatement,
    export_statement, verify_statement,
};
pub use transfer::{
    MAX_TRANSFER_BYTES, TRANSFER_FORMAT, TransferError, TransferFile, VerifiedTransfer,
    export_transfer, verify_transfer,
};
pub use verify::{BATCH_SIZE, verify_signatures};
