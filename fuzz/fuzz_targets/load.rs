//! Fuzzes the manifest loader: arbitrary bytes, read as text, go through
//! `netreach::load::load_str` (multi-document YAML, or a JSON stream when the text starts
//! with `{` or `[`), and every cluster that loads is handed to the engine.
//! Errors are expected; a panic, abort, hang or OOM is a bug.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netreach_model::EngineOptions;

/// Inputs above this size are skipped: huge inputs are a separate, known issue and only slow
/// the fuzzer down.
const MAX_INPUT: usize = 64 * 1024;

fuzz_target!(|data: &[u8]| {
    if data.len() > MAX_INPUT {
        return;
    }
    let Ok(text) = std::str::from_utf8(data) else { return };
    // `load_str` picks the format from the text itself (a leading `{` or `[` means a JSON
    // stream, anything else multi-document YAML), so both parsers are reached whatever the
    // name; the name matches the sniffed format so that errors and origins read sensibly.
    // No byte is spent on choosing a name, so seed files stay valid manifests as they are.
    let name = if text.trim_start().starts_with(['{', '[']) { "fuzz.json" } else { "fuzz.yaml" };
    if let Ok(loaded) = netreach::load::load_str(name, text) {
        let _ = loaded.report.notes();
        let analysis = netreach::Analysis::new(loaded.cluster, &EngineOptions::default());
        std::hint::black_box(&analysis);
    }
});
