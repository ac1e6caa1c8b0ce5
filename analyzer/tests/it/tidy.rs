//! The source tree's own rules, checked on the files as they are (rust-analyzer's
//! xtask/src/tidy.rs): every source file says what it owns in a `//!` header, ARCHITECTURE.md's
//! map names every module, and no help text or rustdoc promises what is already done
//! ("not yet", "for now").

use crate::support::repo;
use std::path::{Path, PathBuf};

/// The `.rs` files under `dir`, sorted, as paths relative to the repository.
fn rust_files(dir: &str) -> Vec<PathBuf> {
    fn walk(root: &Path, dir: &Path, files: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, files);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path.strip_prefix(root).unwrap().to_path_buf());
            }
        }
    }
    let root = repo();
    let mut files = Vec::new();
    walk(&root, &root.join(dir), &mut files);
    files.sort();
    files
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(repo().join(path)).unwrap()
}

#[test]
fn every_source_file_starts_with_a_module_doc() {
    let missing: Vec<String> = ["model/src", "analyzer/src", "proptests/src"]
        .into_iter()
        .flat_map(rust_files)
        .filter(|path| !read(path).starts_with("//!"))
        .map(|path| path.display().to_string())
        .collect();
    assert!(
        missing.is_empty(),
        "these files do not start with a `//!` doc saying what they own:\n{}",
        missing.join("\n")
    );
}

/// Whether `needle` occurs in `text` with no path or identifier character just before it
/// (so `src/admin.rs` is not found inside `src/load/admin.rs`).
fn mentions(text: &str, needle: &str) -> bool {
    text.match_indices(needle).any(|(i, _)| {
        !text[..i].chars().next_back().is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '/' || c == '-')
    })
}

/// How ARCHITECTURE.md may name a module file, relative to its crate's `src/`: `dir/` for
/// `dir/mod.rs`, `src/name.rs` for a top-level file, `dir/name.rs`, or the bare `name.rs`
/// when no other module of the two crates has that file name (the map lists a folder's files
/// indented under it).
fn names_module(map: &str, module: &Path, file_name_count: usize) -> bool {
    let module = module.to_str().unwrap();
    let (dir, file) = module.rsplit_once('/').map_or(("", module), |(d, f)| (d, f));
    match (dir, file) {
        // The crate itself, and unit tests of their parent module.
        ("", "lib.rs") | (_, "tests.rs") => true,
        (dir, "mod.rs") => mentions(map, &format!("{dir}/")),
        ("", file) => mentions(map, &format!("src/{file}")),
        (dir, file) => mentions(map, &format!("{dir}/{file}")) || (file_name_count == 1 && mentions(map, file)),
    }
}

#[test]
fn architecture_md_names_every_module() {
    let map = read(Path::new("ARCHITECTURE.md"));
    let modules: Vec<(PathBuf, PathBuf)> = ["model/src", "analyzer/src"]
        .into_iter()
        .flat_map(|src| {
            rust_files(src).into_iter().map(move |p| (p.clone(), p.strip_prefix(src).unwrap().to_path_buf()))
        })
        .collect();
    let count = |name: &std::ffi::OsStr| modules.iter().filter(|(_, m)| m.file_name() == Some(name)).count();
    let unnamed: Vec<String> = modules
        .iter()
        .filter(|(_, module)| !names_module(&map, module, count(module.file_name().unwrap())))
        .map(|(path, _)| path.display().to_string())
        .collect();
    assert!(unnamed.is_empty(), "ARCHITECTURE.md's map does not name these modules:\n{}", unnamed.join("\n"));
}

/// Phrases that promise later what may be done by now.
const STALE: [&str; 4] = ["not yet", "for now", "not have yet", "until netreach"];

/// Lines allowed to hold one of [`STALE`] (a file and the line's text); every entry must still
/// occur, so that a fixed line leaves the list.
const STALE_ALLOWED: [(&str, &str); 1] = [
    // "Not yet" meaning "not already", not a promise.
    ("analyzer/src/generate.rs", "suffix not yet in `used`"),
];

#[test]
fn no_help_text_or_rustdoc_says_not_yet() {
    let mut found = Vec::new();
    let mut allowed_seen = [false; STALE_ALLOWED.len()];
    for path in rust_files("analyzer/src") {
        let text = read(&path);
        for (number, line) in text.lines().enumerate() {
            let trimmed = line.trim_start();
            // Rustdoc and code (string literals hold clap's help texts); not `//` comments for maintainers.
            let documented = trimmed.starts_with("///") || trimmed.starts_with("//!") || !trimmed.starts_with("//");
            let lower = line.to_lowercase();
            if !documented || !STALE.iter().any(|phrase| lower.contains(phrase)) {
                continue;
            }
            match STALE_ALLOWED.iter().position(|(file, text)| path == Path::new(file) && line.contains(text)) {
                Some(entry) => allowed_seen[entry] = true,
                None => found.push(format!("{}:{}: {}", path.display(), number + 1, trimmed)),
            }
        }
    }
    assert!(found.is_empty(), "stale promises (say what is true today):\n{}", found.join("\n"));
    let unused: Vec<_> =
        STALE_ALLOWED.iter().zip(allowed_seen).filter(|(_, seen)| !seen).map(|(entry, _)| entry).collect();
    assert!(unused.is_empty(), "remove these entries of STALE_ALLOWED, their lines are gone: {unused:?}");
}
