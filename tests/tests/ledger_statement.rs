//! Member statements: exported by a device, verified offline with only the centre's key; forged,
//! altered, truncated and re-signed statements are refused.

use carebank_core::canonical::{from_canonical, to_canonical};
use carebank_core::domain::{ConfirmMethod, Role};
use carebank_core::identity::DeviceKey;
use carebank_core::ledger::{
    STATEMENT_SIGNING_CONTEXT, Statement, StatementError, verify_statement,
};
use carebank_core::{CareStore, Error};
use carebank_scenarios::key;
use carebank_scenarios::ledger::{Bank, serve};
use proptest::prelude::*;

/// A bank where the senior volunteer earned 3 hours, redeemed one and gave one to the junior;
/// returns the coordinator's statement for the senior.
fn bank_with_history() -> (Bank, Vec<u8>) {
    let mut b = Bank::build().expect("bank");
    let (senior, junior) = (b.senior.member_id, b.junior.member_id);
    let elder = b.v.elders[0];
    let mut claims = Vec::new();
    for day in 0..3 {
        let s = serve(&mut b.senior.store, senior, elder, day, 60).expect("service");
        claims.push(b.senior.store.claim_hours(s, 60).expect("claim"));
    }
    b.sync().expect("sync");
    for claim in &claims {
        b.family
            .store
            .confirm_claim(*claim, ConfirmMethod::InPerson)
            .expect("confirm");
    }
    b.sync().expect("sync");
    b.senior.store.redeem_hours(60, None).expect("redeem");
    b.senior.store.gift_hours(junior, 60).expect("gift");
    b.sync().expect("sync");
    let statement =
        b.v.coordinator
            .store
            .export_statement(senior)
            .expect("export");
    (b, statement)
}

fn resign(statement: &Statement, with: &DeviceKey) -> Vec<u8> {
    let payload = to_canonical(statement).expect("encode");
    let mut message = STATEMENT_SIGNING_CONTEXT.to_vec();
    message.extend_from_slice(&payload);
    let mut bytes = with.sign(&message).to_vec();
    bytes.extend_from_slice(&payload);
    bytes
}

fn decode(bytes: &[u8]) -> Statement {
    from_canonical(&bytes[64..]).expect("statement payload")
}

#[test]
fn a_statement_verifies_offline_with_the_centre_key_alone() {
    let (b, bytes) = bank_with_history();
    let centre = b.v.circle.centre_key;
    let verified = verify_statement(&bytes, centre).expect("verifies");
    assert_eq!(verified.member, b.senior.member_id);
    assert_eq!(verified.balance.available_minutes, 60);
    assert_eq!(
        (
            verified.balance.earned_minutes,
            verified.balance.redeemed_minutes,
            verified.balance.given_minutes
        ),
        (180, 60, 60)
    );
    assert_eq!(verified.entries.len(), 5);
    assert!(verified.conflicts.is_empty());
    assert_eq!(verified.exporter_role, Some(Role::Coordinator));
    // In another village, a store of another circle verifies it against the same centre key.
    let elsewhere = CareStore::open_in_memory(
        carebank_core::Circle {
            circle_id: carebank_scenarios::fixed_id(0xc2),
            centre_key: centre,
        },
        DeviceKey::from_seed([9; 32]),
    )
    .expect("store");
    assert_eq!(
        elsewhere.verify_statement(&bytes).expect("verify").balance,
        verified.balance
    );
    // The member's own export verifies too, and says who vouches for it.
    let own = b
        .senior
        .store
        .export_statement(b.senior.member_id)
        .expect("export");
    let own = verify_statement(&own, centre).expect("own statement");
    assert_eq!(own.exporter_role, Some(Role::Volunteer));
    assert_eq!(own.balance.available_minutes, 60);
}

#[test]
fn forged_altered_and_truncated_statements_are_refused() {
    let (b, bytes) = bank_with_history();
    let centre = b.v.circle.centre_key;
    let other_centre = DeviceKey::from_seed([5; 32]).public_key();
    assert_eq!(
        verify_statement(&bytes, other_centre),
        Err(StatementError::WrongCentre)
    );
    for cut in [0, 10, 64, 65, bytes.len() / 2, bytes.len() - 1] {
        assert!(
            verify_statement(&bytes[..cut], centre).is_err(),
            "cut at {cut}"
        );
    }
    let statement = decode(&bytes);
    let coordinator = key(2);

    // A higher balance, re-signed by the coordinator's key: the recomputation disagrees.
    let mut richer = statement.clone();
    richer.balance_minutes += 600;
    assert!(matches!(
        verify_statement(&resign(&richer, &coordinator), centre),
        Err(StatementError::BalanceMismatch { .. })
    ));
    // The same, not re-signed: the signature fails.
    let mut unsigned = resign(&richer, &coordinator);
    unsigned[..64].copy_from_slice(&bytes[..64]);
    assert_eq!(
        verify_statement(&unsigned, centre),
        Err(StatementError::BadSignature)
    );
    // Dropping the redemption (an entry in the middle of the chain) leaves a gap.
    let mut gap = statement.clone();
    let redemption = gap
        .records
        .iter()
        .position(|r| hex_contains(r, "\"kind\":\"redeem\""))
        .expect("redemption in the statement");
    gap.records.remove(redemption);
    assert!(matches!(
        verify_statement(&resign(&gap, &coordinator), centre),
        Err(StatementError::Incomplete(_))
    ));
    // An altered record (one byte of its payload) no longer verifies.
    let mut altered = statement.clone();
    let last = altered.records.len() - 1;
    let mut record = hex::decode(&altered.records[last]).expect("hex");
    let at = record.len() - 3;
    record[at] ^= 0x01;
    altered.records[last] = hex::encode(record);
    assert!(matches!(
        verify_statement(&resign(&altered, &coordinator), centre),
        Err(StatementError::BadRecord { .. } | StatementError::RecordOrder)
    ));
    // A statement signed by a key the circle never enrolled.
    let outsider = DeviceKey::from_seed([0x42; 32]);
    let mut foreign = statement.clone();
    foreign.exporter = outsider.public_key();
    assert_eq!(
        verify_statement(&resign(&foreign, &outsider), centre),
        Err(StatementError::UntrustedExporter)
    );
    // A record replayed twice in the list.
    let mut replayed = statement.clone();
    replayed.records.push(replayed.records[0].clone());
    assert!(verify_statement(&resign(&replayed, &coordinator), centre).is_err());
    // And the façade reports the same refusal as an error.
    assert!(matches!(
        b.v.coordinator.store.verify_statement(&unsigned),
        Err(Error::Statement(StatementError::BadSignature))
    ));
}

fn hex_contains(record_hex: &str, needle: &str) -> bool {
    hex::decode(record_hex)
        .map(|bytes| String::from_utf8_lossy(&bytes).contains(needle))
        .unwrap_or(false)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Any single flipped bit anywhere in the file makes it fail to verify.
    #[test]
    fn any_flipped_bit_is_caught(position in any::<prop::sample::Index>(), bit in 0u8..8) {
        let (b, bytes) = shared_statement();
        let mut altered = bytes.clone();
        let at = position.index(altered.len());
        altered[at] ^= 1 << bit;
        prop_assert!(verify_statement(&altered, b).is_err());
    }
}

/// One statement for all property cases (building a bank per case would be slow).
fn shared_statement() -> (carebank_core::identity::PublicKey, Vec<u8>) {
    use std::sync::OnceLock;
    static SHARED: OnceLock<(carebank_core::identity::PublicKey, Vec<u8>)> = OnceLock::new();
    SHARED
        .get_or_init(|| {
            let (b, bytes) = bank_with_history();
            (b.v.circle.centre_key, bytes)
        })
        .clone()
}
