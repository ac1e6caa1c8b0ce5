//! A bound on YAML alias expansion. An alias (`*a`) stands for a whole copy of its anchored
//! node, so a small file can describe gigabytes ("billion laughs", or one wide anchor repeated
//! many times). The YAML reader's event limit stops the deep kind, not the wide one; this pass
//! measures, before any value is built, how many bytes the aliases add, and refuses a file
//! whose aliases would add more than [`ALIAS_FACTOR`] times its own size (with a floor of
//! [`ALIAS_FLOOR`] so small files may still share anchors).

use granit_parser::{Event, Parser};
use std::collections::HashMap;

/// Aliases may add at most this many times the file's size…
pub(super) const ALIAS_FACTOR: u64 = 100;
/// …or this many bytes, whichever is larger…
pub(super) const ALIAS_FLOOR: u64 = 1 << 20;
/// …and never more than this.
pub(super) const ALIAS_CEILING: u64 = 1 << 30;

/// The bytes a node costs once built: its scalar text, or a small constant per collection.
fn cost(event: &Event<'_>) -> u64 {
    match event {
        Event::Scalar(text, ..) => text.len() as u64 + 1,
        Event::SequenceStart(..) | Event::MappingStart(..) => 2,
        _ => 0,
    }
}

/// `Err(message)` when the aliases of `text` expand beyond the limit. Syntax errors are left
/// to the real reader, which reports them with their location.
pub(super) fn check_expansion(text: &str) -> Result<(), String> {
    // Without a `*` there is no alias.
    if !text.contains('*') {
        return Ok(());
    }
    let size = text.len() as u64;
    let limit = size.saturating_mul(ALIAS_FACTOR).clamp(ALIAS_FLOOR, ALIAS_CEILING);
    // Expanded bytes so far; an anchored node's size is the growth of this counter between its
    // start and its end (aliases inside it included).
    let mut total: u64 = 0;
    let mut added: u64 = 0;
    let mut sizes: HashMap<usize, u64> = HashMap::new();
    // Open collections: their anchor (0: none) and the counter when they started.
    let mut open: Vec<(usize, u64)> = Vec::new();
    for event in Parser::new_from_str(text) {
        let Ok((event, _)) = event else { return Ok(()) };
        match &event {
            Event::Alias(id) => {
                let expanded = sizes.get(id).copied().unwrap_or(0);
                total = total.saturating_add(expanded);
                added = added.saturating_add(expanded);
                if added > limit {
                    return Err(format!(
                        "YAML aliases expand this {size}-byte file by more than {limit} bytes ({ALIAS_FACTOR}× its size, at least {ALIAS_FLOOR}, at most {ALIAS_CEILING}): refused as an alias bomb; write the repeated parts out"
                    ));
                }
            }
            Event::Scalar(_, _, anchor, _) => {
                total = total.saturating_add(cost(&event));
                if *anchor != 0 {
                    sizes.insert(*anchor, cost(&event));
                }
            }
            Event::SequenceStart(_, anchor, _) | Event::MappingStart(_, anchor, _) => {
                total = total.saturating_add(cost(&event));
                open.push((*anchor, total - cost(&event)));
            }
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some((anchor, start)) = open.pop() {
                    if anchor != 0 {
                        sizes.insert(anchor, total - start);
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_anchors_pass() {
        let text = "a: &x {k: v, l: [1, 2, 3]}\nb: *x\nc: *x\nimage: '*.example.com'\n";
        assert_eq!(check_expansion(text), Ok(()));
        assert_eq!(check_expansion("no aliases here: 2 * 3\n"), Ok(()));
    }

    #[test]
    fn wide_aliases_are_refused() {
        // One 10 kB anchor used 20,000 times: 200 MB from a 60 kB file.
        let mut text = format!("a: &x \"{}\"\nb: [", "y".repeat(10_000));
        text.push_str(&vec!["*x"; 20_000].join(", "));
        text.push_str("]\n");
        let error = check_expansion(&text).unwrap_err();
        assert!(error.contains("alias bomb"), "{error}");
    }

    #[test]
    fn nested_laughs_are_refused() {
        let mut text =
            String::from("l0: &l0 [\"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\"]\n");
        for i in 1..9 {
            let prev = format!("*l{}", i - 1);
            text.push_str(&format!("l{i}: &l{i} [{}]\n", [prev.as_str(); 9].join(", ")));
        }
        assert!(check_expansion(&text).is_err());
    }
}
