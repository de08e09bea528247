//! Signature checks for bulk ingest (a statement file, a ledger built from raw bytes).
//!
//! The rule is the store's: a signature is valid exactly when ed25519 `verify_strict` accepts
//! it. Batch verification is a fast path: records are taken in record-id order, in batches of
//! [`BATCH_SIZE`]; a batch that passes is accepted whole, a batch that fails is checked again
//! signature by signature with `verify_strict`. Keys that are not valid points, or are of small
//! order, never enter a batch (strict refuses them). See `docs/decisions/0011-batch-verification.md` for the one
//! case where a batch can accept what strict refuses, and why it cannot admit a forgery.

use std::collections::HashMap;

use ed25519_dalek::{Signature, VerifyingKey, verify_batch};

use crate::identity::PublicKey;
use crate::record::SignedRecord;

/// How many signatures one batch holds.
pub const BATCH_SIZE: usize = 256;

/// For each record (decoded with its signature unchecked), whether its signature is valid.
pub fn verify_signatures(records: &[SignedRecord]) -> Vec<bool> {
    let mut order: Vec<usize> = (0..records.len()).collect();
    order.sort_by_key(|&i| records[i].id());
    let mut keys: HashMap<PublicKey, Option<VerifyingKey>> = HashMap::new();
    let mut verdicts = vec![false; records.len()];
    for chunk in order.chunks(BATCH_SIZE) {
        let mut batch = Vec::with_capacity(chunk.len());
        for &i in chunk {
            let author = records[i].author();
            let key = *keys.entry(author).or_insert_with(|| usable_key(author));
            if let Some(key) = key {
                batch.push((i, key));
            }
        }
        if batch.is_empty() {
            continue;
        }
        let messages: Vec<Vec<u8>> = batch
            .iter()
            .map(|(i, _)| records[*i].signing_message())
            .collect();
        let message_refs: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();
        let signatures: Vec<Signature> = batch
            .iter()
            .map(|(i, _)| Signature::from_bytes(records[*i].signature()))
            .collect();
        let verifying: Vec<VerifyingKey> = batch.iter().map(|(_, k)| *k).collect();
        if verify_batch(&message_refs, &signatures, &verifying).is_ok() {
            for (i, _) in &batch {
                verdicts[*i] = true;
            }
        } else {
            for ((i, _), message) in batch.iter().zip(&messages) {
                verdicts[*i] = records[*i]
                    .author()
                    .verify(message, records[*i].signature());
            }
        }
    }
    verdicts
}

/// The key as a curve point, unless strict verification would refuse it outright.
fn usable_key(key: PublicKey) -> Option<VerifyingKey> {
    VerifyingKey::from_bytes(key.as_bytes())
        .ok()
        .filter(|k| !k.is_weak())
}
