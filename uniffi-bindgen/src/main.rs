//! `uniffi-bindgen`, built from the workspace so that the generator's version always matches the
//! `uniffi` the library was built with. Used as
//! `cargo run -p carebank-uniffi-bindgen -- generate --library <lib> --language kotlin --out-dir <dir>`.

fn main() {
    uniffi::uniffi_bindgen_main()
}
