//! Reading a device's or a relay's files as an attacker with the disk but not the keys would:
//! every byte as it is, and whatever inflates from a zlib or zstd stream starting anywhere.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Whether `needle` is in `bytes`, as they are or inside any zlib or zstd stream that starts in
/// them (an attacker would try to inflate what looks compressed).
pub fn holds(bytes: &[u8], needle: &[u8]) -> bool {
    let found = |hay: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
    if found(bytes) {
        return true;
    }
    (0..bytes.len().saturating_sub(4)).any(|i| {
        let tail = &bytes[i..];
        let mut out = Vec::new();
        let inflated = if tail.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            zstd::stream::read::Decoder::new(tail)
                .and_then(|d| d.take(1 << 20).read_to_end(&mut out))
                .is_ok()
        } else if tail[0] == 0x78 && matches!(tail[1], 0x01 | 0x5e | 0x9c | 0xda) {
            flate2::read::ZlibDecoder::new(tail)
                .take(1 << 20)
                .read_to_end(&mut out)
                .is_ok()
        } else {
            false
        };
        inflated && found(&out)
    })
}

/// Every file under `dir` (recursively), with its bytes.
pub fn files_under(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut folders = vec![dir.to_path_buf()];
    while let Some(folder) = folders.pop() {
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        for path in entries.flatten().map(|e| e.path()) {
            if path.is_dir() {
                folders.push(path);
            } else if let Ok(bytes) = std::fs::read(&path) {
                out.insert(path, bytes);
            }
        }
    }
    out
}

/// The files of `files` that hold `needle` (see [`holds`]).
pub fn files_holding(files: &BTreeMap<PathBuf, Vec<u8>>, needle: &str) -> Vec<PathBuf> {
    files
        .iter()
        .filter(|(_, bytes)| holds(bytes, needle.as_bytes()))
        .map(|(p, _)| p.clone())
        .collect()
}
