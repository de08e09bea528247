//! The layers of carebank-core hold as `src/lib.rs` states them: a module uses the modules of
//! its own layer and of the layers below it, never one above. Read from the source, so that a
//! `use` across the line fails here instead of waiting for a reviewer.

use std::fs;
use std::path::{Path, PathBuf};

/// The layers, top to bottom, as `src/lib.rs` lists them: each a group of top-level modules.
const LAYERS: &[&[&str]] = &[
    &["report"],
    &["api"],
    &["sync"],
    &["ledger"],
    &["store"],
    &["replica"],
    &["domain", "record", "identity"],
];

/// Modules that every layer may use and that use no layer themselves.
const SHARED: &[&str] = &["canonical", "hlc", "ids", "lang", "time"];

/// The crate's error, which every layer returns and which gathers each layer's own error.
const ERROR: &str = "error";

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The position of `module`'s layer, top first; `None` for shared modules and the error.
fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

/// The source files of a top-level module: `src/<name>.rs` and everything under `src/<name>/`.
fn files_of(module: &str) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let file = src().join(format!("{module}.rs"));
    if file.is_file() {
        files.push(file);
    }
    let mut dirs = vec![src().join(module)];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// Every top-level module `text` names as `crate::<module>`, with its line number; comments
/// are skipped (a doc link is no dependency).
fn crate_paths(text: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or_default();
        for (at, _) in code.match_indices("crate::") {
            let before = code[..at].chars().next_back();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue; // `carebank_crate::`, not this crate's root
            }
            let name: String = code[at + "crate::".len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            found.push((n + 1, name));
        }
    }
    found
}

/// The modules `src/lib.rs` declares.
fn declared_modules() -> Vec<String> {
    let lib = fs::read_to_string(src().join("lib.rs")).expect("lib.rs");
    lib.lines()
        .filter_map(|l| {
            let l = l.trim();
            let l = l.strip_prefix("pub ").unwrap_or(l);
            l.strip_prefix("mod ")?
                .strip_suffix(';')
                .map(str::to_string)
        })
        .collect()
}

#[test]
fn no_module_uses_a_module_of_a_layer_above_its_own() {
    let mut wrong = Vec::new();
    let checked: Vec<&str> = LAYERS
        .iter()
        .flat_map(|l| l.iter().copied())
        .chain(SHARED.iter().copied())
        .collect();
    for module in checked {
        // A shared module is below every layer.
        let own = layer_of(module).unwrap_or(LAYERS.len());
        for file in files_of(module) {
            let text = fs::read_to_string(&file).expect("a source file");
            for (line, used) in crate_paths(&text) {
                if matches!(layer_of(&used), Some(theirs) if theirs < own) {
                    let at = file.strip_prefix(src()).expect("under src").display();
                    wrong.push(format!("src/{at}:{line}: {module} uses crate::{used}"));
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "modules using a layer above their own (order in src/lib.rs):\n{}",
        wrong.join("\n")
    );
}

#[test]
fn every_module_has_a_place_in_the_layers() {
    for module in declared_modules() {
        assert!(
            layer_of(&module).is_some() || SHARED.contains(&module.as_str()) || module == ERROR,
            "src/lib.rs declares `{module}`, which no layer of this test holds: place it"
        );
    }
}

#[test]
fn lib_rs_lists_the_layers_in_this_order() {
    let lib = fs::read_to_string(src().join("lib.rs")).expect("lib.rs");
    let declared = declared_modules();
    // The bullets after "Layers", each with its continuation lines.
    let mut items: Vec<String> = Vec::new();
    for line in lib.lines().skip_while(|l| !l.starts_with("//! Layers")) {
        if let Some(item) = line.strip_prefix("//! - ") {
            items.push(item.to_string());
        } else if let (Some(more), Some(last)) = (line.strip_prefix("//!   "), items.last_mut()) {
            last.push_str(more);
        } else if !items.is_empty() {
            break;
        }
    }
    let listed: Vec<Vec<String>> = items
        .iter()
        .map(|item| {
            item.split('`')
                .skip(1)
                .step_by(2)
                .filter(|name| declared.iter().any(|d| d == name))
                .map(str::to_string)
                .collect()
        })
        .collect();
    let expected: Vec<Vec<String>> = LAYERS
        .iter()
        .map(|l| l.iter().map(|m| m.to_string()).collect())
        .collect();
    assert_eq!(listed, expected, "the layers listed in src/lib.rs");
}
