//! Inverted indexes over label maps (namespaces, or pods' label groups): a selector starts from
//! its shortest posting list instead of being tried on every item. `LabelSelector::matches`
//! stays the one place that decides; the index only narrows the candidates it is asked about.

use crate::engine::HashMap;
use crate::labels::{LabelSelector, Labels, Operator};

/// A set of label keys.
pub type KeySet<'a> = std::collections::HashSet<&'a str, foldhash::fast::RandomState>;

/// Items (by index) with their labels, and which items hold each label pair and each key
/// (of the keys indexed: those some selector tests).
pub struct LabelIndex<'a> {
    labels: Vec<&'a Labels>,
    indexed: KeySet<'a>,
    /// Per key: the items holding it, and per value the items holding that pair.
    by_key: HashMap<&'a str, Posting<'a>>,
}

#[derive(Default)]
struct Posting<'a> {
    items: Vec<u32>,
    by_value: HashMap<&'a str, Vec<u32>>,
}

/// Where a selector's matches can be: every item, or the union of some sorted posting lists
/// (no list: nothing can match).
pub enum Candidates<'i> {
    /// No requirement names a posting list (empty selector, or only NotIn/DoesNotExist).
    All,
    /// The shortest posting list's sources: one list, or one per value of an `In`.
    Lists(Vec<&'i [u32]>),
}

impl<'a> LabelIndex<'a> {
    /// Indexes the `indexed` keys of `labels`; item `i` is `labels[i]`. Posting lists come out sorted.
    pub fn new(labels: Vec<&'a Labels>, indexed: KeySet<'a>) -> LabelIndex<'a> {
        let mut by_key: HashMap<&str, Posting> = HashMap::default();
        for (i, l) in labels.iter().enumerate() {
            for (k, v) in l.iter().filter(|(k, _)| indexed.contains(k.as_str())) {
                let posting = by_key.entry(k.as_str()).or_default();
                posting.items.push(i as u32);
                posting.by_value.entry(v.as_str()).or_default().push(i as u32);
            }
        }
        LabelIndex { labels, indexed, by_key }
    }

    /// The number of items.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether item `i` satisfies the selector (the labels module's own matching).
    pub fn matches(&self, selector: &LabelSelector, i: u32) -> bool {
        selector.matches(self.labels[i as usize])
    }

    /// The items holding label `key=value`.
    fn pair(&self, key: &str, value: &str) -> &[u32] {
        self.by_key.get(key).and_then(|p| p.by_value.get(value)).map_or(&[][..], |l| l.as_slice())
    }

    /// A superset of the items `selector` matches, from its most selective requirement.
    pub fn candidates<'i>(&'i self, selector: &LabelSelector) -> Candidates<'i> {
        let mut best: Option<(usize, Vec<&[u32]>)> = None;
        let mut offer = |lists: Vec<&'i [u32]>| {
            let len = lists.iter().map(|l| l.len()).sum::<usize>();
            if best.as_ref().is_none_or(|(b, _)| len < *b) {
                best = Some((len, lists));
            }
        };
        // A key nobody indexed has no posting list (it would wrongly read as "no item has it").
        for (k, v) in selector.match_labels.iter().filter(|(k, _)| self.indexed.contains(k.as_str())) {
            offer(vec![self.pair(k, v)]);
        }
        for r in selector.match_expressions.iter().filter(|r| self.indexed.contains(r.key.as_str())) {
            match r.operator {
                Operator::In => {
                    let mut values: Vec<&str> = r.values.iter().map(String::as_str).collect();
                    values.sort_unstable();
                    values.dedup();
                    offer(values.into_iter().map(|v| self.pair(&r.key, v)).collect());
                }
                Operator::Exists => {
                    offer(vec![self.by_key.get(r.key.as_str()).map_or(&[][..], |p| p.items.as_slice())])
                }
                Operator::NotIn | Operator::DoesNotExist => {}
            }
        }
        match best {
            Some((_, lists)) => Candidates::Lists(lists),
            None => Candidates::All,
        }
    }
}

impl Candidates<'_> {
    /// How many candidates lie in `range` of item indices.
    pub fn count_in(&self, range: (u32, u32)) -> usize {
        match self {
            Candidates::All => (range.1 - range.0) as usize,
            Candidates::Lists(lists) => lists.iter().map(|l| slice_in(l, range).len()).sum(),
        }
    }

    /// Appends the candidates in `range` that satisfy `keep`, in increasing order.
    pub fn collect_in(&self, range: (u32, u32), mut keep: impl FnMut(u32) -> bool, out: &mut Vec<u32>) {
        match self {
            Candidates::All => out.extend((range.0..range.1).filter(|&i| keep(i))),
            Candidates::Lists(lists) => {
                let start = out.len();
                for l in lists {
                    out.extend(slice_in(l, range).iter().copied().filter(|&i| keep(i)));
                }
                // An `In` unions several lists (disjoint: one value per key); restore the order.
                if lists.len() > 1 {
                    out[start..].sort_unstable();
                }
            }
        }
    }
}

/// The part of a sorted list within `range` (start inclusive, end exclusive).
pub fn slice_in(list: &[u32], range: (u32, u32)) -> &[u32] {
    let lo = list.partition_point(|&i| i < range.0);
    let hi = list.partition_point(|&i| i < range.1);
    &list[lo..hi]
}

/// A selector with its requirements and `In`/`NotIn` values sorted and deduplicated: the same
/// selector written in another order shares one memo entry.
pub fn normalized(selector: &LabelSelector) -> LabelSelector {
    let mut s = selector.clone();
    for r in &mut s.match_expressions {
        r.values.sort_unstable();
        r.values.dedup();
    }
    s.match_expressions.sort_unstable();
    s.match_expressions.dedup();
    s
}
