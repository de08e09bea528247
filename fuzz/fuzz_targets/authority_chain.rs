//! Fuzzes the authority chain decoder and verifier: any bytes must give a verdict, never a
//! panic. Run with `cargo fuzz run authority_chain` from `fuzz/`.
#![no_main]

use carebank_core::identity::DeviceKey;
use carebank_core::identity::authority::AuthorityChain;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(chain) = AuthorityChain::decode(data) {
        let root = DeviceKey::from_seed([1; 32]).public_key();
        let _ = chain.verify(root, 1_794_672_000_000);
    }
});
