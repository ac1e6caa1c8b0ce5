//! "Did you mean …": the existing names closest to one that matches nothing (a typo is likelier
//! than intent), and their wording, for every error that names something missing.

/// How alike two names must be to suggest one for the other (Jaro-Winkler, 0 to 1).
const THRESHOLD: f64 = 0.85;

/// At most this many suggestions: more would be a listing, not a correction.
const MAX: usize = 3;

/// Suggestions this much less alike than the best are left out: names sharing a long prefix
/// (`shop/…`, `app=…`) all pass the threshold, but only the near-best are likely typos.
const MARGIN: f64 = 0.05;

/// Up to three of `names` close to `wanted` (and about as close as the closest), closest first;
/// never `wanted` itself, no repeats.
pub fn closest(wanted: &str, names: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut scored: Vec<(f64, String)> = names
        .into_iter()
        .filter(|n| n != wanted)
        .map(|n| (similarity(wanted, &n), n))
        .filter(|(score, _)| *score >= THRESHOLD)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    scored.dedup_by(|a, b| a.1 == b.1);
    let best = scored.first().map_or(0.0, |(score, _)| *score);
    scored.into_iter().take_while(|(score, _)| *score >= best - MARGIN).take(MAX).map(|(_, n)| n).collect()
}

/// Jaro-Winkler (a typo late in a long name costs little) of what follows the segments both
/// share (`shop/`, `app=`: a shared namespace is no likeness of names); any single edit is close
/// enough, as short names ("dta" for "data") score low on Jaro-Winkler alone.
fn similarity(a: &str, b: &str) -> f64 {
    let shared = a.char_indices().zip(b.chars()).take_while(|((_, x), y)| x == y).map(|((i, x), _)| i + x.len_utf8());
    let segments = shared.filter(|&end| matches!(a.as_bytes()[end - 1], b'/' | b'=' | b',')).last().unwrap_or(0);
    let (a, b) = (&a[segments..], &b[segments..]);
    let score = strsim::jaro_winkler(a, b);
    if strsim::osa_distance(a, b) <= 1 || a.eq_ignore_ascii_case(b) {
        score.max(THRESHOLD)
    } else {
        score
    }
}

/// `first` then `rest`, without repeats, at most three: the suggestions of several sources.
pub fn merge(first: Vec<String>, rest: Vec<String>) -> Vec<String> {
    let mut out = first;
    for name in rest {
        if !out.contains(&name) {
            out.push(name);
        }
    }
    out.truncate(MAX);
    out
}

/// ` (did you mean "shop"?)`, ` (did you mean "a" or "b"?)`, ` (did you mean "a", "b" or "c"?)`;
/// nothing without suggestions. Appended to the message that names what is missing.
pub fn did_you_mean(suggestions: &[String]) -> String {
    let quoted: Vec<String> = suggestions.iter().map(|s| format!("{s:?}")).collect();
    match quoted.as_slice() {
        [] => String::new(),
        [one] => format!(" (did you mean {one}?)"),
        [init @ .., last] => format!(" (did you mean {} or {last}?)", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn typos_are_close_and_other_names_are_not() {
        let existing = names(&["shop", "data", "payments", "kube-system"]);
        assert_eq!(closest("shpo", existing.clone()), ["shop"]);
        assert_eq!(closest("dta", existing.clone()), ["data"], "one edit in a short name");
        assert_eq!(closest("paymnts", existing.clone()), ["payments"]);
        assert!(closest("frontend", existing.clone()).is_empty());
        assert!(closest("shop", existing).is_empty(), "the name itself is no suggestion");
        let many = names(&["web-1", "web-2", "web-3", "web-4", "web-1"]);
        assert_eq!(closest("web-0", many), ["web-1", "web-2", "web-3"], "at most three, no repeats");
        let workloads = names(&["shop/cart", "shop/catalog", "shop/recommendations", "shop/frontend"]);
        assert_eq!(closest("shop/cart-service", workloads.clone()), ["shop/cart"], "the shared shop/ is no likeness");
        assert_eq!(closest("shop/fronted", workloads), ["shop/frontend"]);
        assert_eq!(closest("tier=webb", names(&["tier=web", "tier=db", "tier=node"])), ["tier=web"]);
    }

    #[test]
    fn wording() {
        assert_eq!(did_you_mean(&[]), "");
        assert_eq!(did_you_mean(&names(&["a"])), " (did you mean \"a\"?)");
        assert_eq!(did_you_mean(&names(&["a", "b"])), " (did you mean \"a\" or \"b\"?)");
        assert_eq!(did_you_mean(&names(&["a", "b", "c"])), " (did you mean \"a\", \"b\" or \"c\"?)");
        assert_eq!(merge(names(&["a"]), names(&["a", "b", "c", "d"])), ["a", "b", "c"]);
    }
}
