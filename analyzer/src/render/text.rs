//! One home for the spellings every readable output shares: numbers, plurals, percentages,
//! Markdown cells and capped lists.

/// `1234567` → `1,234,567`.
pub fn thousands(n: u64) -> String {
    let mut digits = n.to_string();
    let mut i = digits.len();
    while i > 3 {
        i -= 3;
        digits.insert(i, ',');
    }
    digits
}

/// `1 pod`, `2,000 pods`.
pub fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", thousands(n), if n == 1 { one } else { many })
}

/// A share in [0, 1] as `12.5%`, or `-` when there is nothing to share.
pub fn percent(share: Option<f64>) -> String {
    share.map_or_else(|| "-".to_string(), |s| format!("{:.1}%", s * 100.0))
}

/// A Markdown table cell: `|` escaped, a line break turned into a space.
pub fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// The first `shown` items as `show` spells them, then `{more}and N more` for the rest
/// (`more` is `""` or `"… "`).
pub fn capped<T>(items: &[T], shown: usize, show: impl FnMut(&T) -> String, more: &str) -> Vec<String> {
    let mut out: Vec<String> = items.iter().take(shown).map(show).collect();
    if items.len() > shown {
        out.push(format!("{more}and {} more", items.len() - shown));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_separates_groups_of_three_digits() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(thousands(u64::MAX), "18,446,744,073,709,551,615");
    }

    #[test]
    fn plural_picks_the_form_by_count() {
        assert_eq!(plural(1, "pod", "pods"), "1 pod");
        assert_eq!(plural(0, "pod", "pods"), "0 pods");
        assert_eq!(plural(12000, "pod", "pods"), "12,000 pods");
    }

    #[test]
    fn percent_has_one_decimal() {
        assert_eq!(percent(Some(0.125)), "12.5%");
        assert_eq!(percent(None), "-");
    }

    #[test]
    fn md_cell_keeps_a_table_row_on_one_line() {
        assert_eq!(md_cell("a|b\nc"), "a\\|b c");
    }

    #[test]
    fn capped_counts_what_it_leaves_out() {
        let items = [1, 2, 3];
        assert_eq!(capped(&items, 2, |n| n.to_string(), "… "), ["1", "2", "… and 1 more"]);
        assert_eq!(capped(&items, 3, |n| n.to_string(), ""), ["1", "2", "3"]);
    }
}
