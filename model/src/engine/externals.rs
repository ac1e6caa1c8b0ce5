//! The address space outside the pods, cut into the disjoint ranges that no ipBlock can tell
//! apart. Each range becomes one `External` endpoint. Owns how a range is named (its id and its
//! name for people) and how many endpoint pairs a set of endpoints with ranges among them has.

use crate::addresses::{IpBlock, IpFamily, IpRanges};
use crate::engine::HashMap;
use std::collections::BTreeSet;

/// One disjoint range of the address space outside the pods: one `External` endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExternalRange {
    /// `external:<cidrs>`: stable for the same set of ipBlocks.
    pub id: String,
    /// The addresses the range covers.
    pub ranges: IpRanges,
    /// The exact set as `cidrs` minus `except`, for display.
    pub cidrs: Vec<ipnet::IpNet>,
    /// The blocks carved out of `cidrs`, for display.
    pub except: Vec<ipnet::IpNet>,
}

impl ExternalRange {
    /// The range of these addresses, named `external:<cidrs>`, or `external:<cidrs>-except-<cidrs>`
    /// when one of the `earlier` ranges already has the shorter id.
    pub fn new(ranges: IpRanges, earlier: &[ExternalRange]) -> ExternalRange {
        let (cidrs, except) = ranges.describe();
        let mut id = format!("external:{}", join(&cidrs));
        if earlier.iter().any(|o| o.id == id) {
            id = format!("{id}-except-{}", join(&except));
        }
        ExternalRange { id, ranges, cidrs, except }
    }
}

impl std::fmt::Display for ExternalRange {
    /// For people: `external 0.0.0.0/0 except 10.0.0.0/8`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "external {}", join(&self.cidrs))?;
        if !self.except.is_empty() {
            write!(f, " except {}", join(&self.except))?;
        }
        Ok(())
    }
}

/// `10.0.0.0/8,192.168.0.0/16`.
fn join(nets: &[ipnet::IpNet]) -> String {
    nets.iter().map(|c| c.to_string()).collect::<Vec<_>>().join(",")
}

/// What two cuts of the address space (two clusters' external ranges) have in common: the atoms
/// where both are constant, each with the range it lies in on either side (indices into the two
/// slices), and the ids of ranges of a family only one side cuts. `netreach diff` compares the
/// two sides on these atoms, so an unchanged range keeps its id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommonRanges {
    /// The atoms, family by family, ascending, named as the engine names ranges.
    pub ranges: Vec<ExternalRange>,
    /// Per atom: (index in `before`, index in `after`).
    pub sides: Vec<(usize, usize)>,
    /// Ranges of a family that only `before` has (the other side has no range of that family).
    pub only_before: Vec<String>,
    /// Ranges of a family that only `after` has.
    pub only_after: Vec<String>,
}

impl CommonRanges {
    /// Intersects the two partitions family by family with one merge of their sorted intervals.
    pub fn new(before: &[ExternalRange], after: &[ExternalRange]) -> CommonRanges {
        let mut atoms: Vec<(IpRanges, (usize, usize))> = Vec::new();
        let (mut only_before, mut only_after) = (Vec::new(), Vec::new());
        for family in [IpFamily::V4, IpFamily::V6] {
            // (lo, hi, range index), sorted by lo: the ranges of one family partition it.
            let intervals = |side: &[ExternalRange]| {
                let mut v: Vec<(u128, u128, usize)> = Vec::new();
                for (k, ext) in side.iter().enumerate().filter(|(_, e)| e.ranges.family == family) {
                    v.extend(ext.ranges.intervals().iter().map(|&(lo, hi)| (lo, hi, k)));
                }
                v.sort_unstable();
                v
            };
            let ids = |side: &[ExternalRange]| -> Vec<String> {
                side.iter().filter(|e| e.ranges.family == family).map(|e| e.id.clone()).collect()
            };
            let (vb, va) = (intervals(before), intervals(after));
            if vb.is_empty() || va.is_empty() {
                only_before.extend(if va.is_empty() { ids(before) } else { Vec::new() });
                only_after.extend(if vb.is_empty() { ids(after) } else { Vec::new() });
                continue;
            }
            let mut groups: HashMap<(usize, usize), Vec<(u128, u128)>> = HashMap::default();
            let (mut i, mut j) = (0, 0);
            while i < vb.len() && j < va.len() {
                let (lo, hi) = (vb[i].0.max(va[j].0), vb[i].1.min(va[j].1));
                if lo <= hi {
                    groups.entry((vb[i].2, va[j].2)).or_default().push((lo, hi));
                }
                if vb[i].1 < va[j].1 {
                    i += 1;
                } else {
                    j += 1;
                }
            }
            let mut family_atoms: Vec<(IpRanges, (usize, usize))> =
                groups.into_iter().map(|(sides, v)| (IpRanges::from_intervals(family, v), sides)).collect();
            family_atoms.sort_by_key(|(r, _)| r.intervals()[0].0);
            atoms.extend(family_atoms);
        }
        let mut ranges: Vec<ExternalRange> = Vec::with_capacity(atoms.len());
        let mut sides = Vec::with_capacity(atoms.len());
        for (atom, side) in atoms {
            let range = ExternalRange::new(atom, &ranges);
            ranges.push(range);
            sides.push(side);
        }
        CommonRanges { ranges, sides, only_before, only_after }
    }
}

/// Ordered pairs of distinct endpoints from a source set to a destination set, pairs of two
/// external ranges left out (no traffic is computed between them). `src` and `dst` are
/// (endpoints, external ranges among them); `same_set` when they are one set.
pub fn ordered_pairs(src: (u64, u64), dst: (u64, u64), same_set: bool) -> u64 {
    let ((ns, es), (nd, ed)) = (src, dst);
    let pairs = ns * nd - es * ed;
    if same_set {
        pairs - (ns - es) // pods to themselves; external self-pairs are already out
    } else {
        pairs
    }
}

/// Splits each family present into atoms: maximal sets of addresses that belong to exactly the
/// same ipBlocks. Works by a sweep over interval boundaries, not by testing every block.
pub fn external_ranges(blocks: &[&IpBlock], families: &BTreeSet<IpFamily>) -> Vec<ExternalRange> {
    let mut out = Vec::new();
    for &family in families {
        let family_blocks: Vec<IpRanges> =
            blocks.iter().filter(|b| b.family() == family).map(|b| b.to_ranges()).collect();
        // (position, block, +1 start / -1 end) events; an interval ending at the top never ends.
        let mut events: Vec<(u128, bool, u32)> = Vec::new();
        for (i, r) in family_blocks.iter().enumerate() {
            for &(lo, hi) in r.intervals() {
                events.push((lo, true, i as u32));
                if let Some(next) = hi.checked_add(1).filter(|_| !is_top(family, hi)) {
                    events.push((next, false, i as u32));
                }
            }
        }
        events.sort_unstable();
        let mut starts: Vec<u128> = events.iter().map(|e| e.0).collect();
        starts.push(0);
        starts.sort_unstable();
        starts.dedup();
        let top = IpRanges::whole(family).intervals()[0].1;
        let mut active: BTreeSet<u32> = BTreeSet::new();
        let mut groups: HashMap<Vec<u32>, Vec<(u128, u128)>> = HashMap::default();
        let mut order: Vec<Vec<u32>> = Vec::new();
        let mut e = 0;
        for (k, &start) in starts.iter().enumerate() {
            while e < events.len() && events[e].0 == start {
                let (_, is_start, block) = events[e];
                if is_start {
                    active.insert(block);
                } else {
                    active.remove(&block);
                }
                e += 1;
            }
            let end = starts.get(k + 1).map_or(top, |next| next - 1);
            let key: Vec<u32> = active.iter().copied().collect();
            groups
                .entry(key.clone())
                .or_insert_with(|| {
                    order.push(key);
                    Vec::new()
                })
                .push((start, end));
        }
        let mut atoms: Vec<IpRanges> =
            order.into_iter().map(|k| IpRanges::from_intervals(family, groups.remove(&k).unwrap())).collect();
        atoms.sort_by_key(|r| r.intervals()[0].0);
        for ranges in atoms {
            let range = ExternalRange::new(ranges, &out);
            out.push(range);
        }
    }
    out
}

fn is_top(family: IpFamily, v: u128) -> bool {
    IpRanges::whole(family).intervals()[0].1 == v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_cut_the_space_into_atoms() {
        let a = IpBlock::parse("0.0.0.0/0", &["10.0.0.0/8".into()]).unwrap();
        let b = IpBlock::parse("10.1.0.0/16", &[]).unwrap();
        let fams = BTreeSet::from([IpFamily::V4]);
        let atoms = external_ranges(&[&a, &b], &fams);
        let ids: Vec<&str> = atoms.iter().map(|a| a.id.as_str()).collect();
        // 0/0 minus 10/8; 10/8 minus 10.1/16; 10.1/16
        assert_eq!(ids, ["external:0.0.0.0/0", "external:10.0.0.0/8", "external:10.1.0.0/16"]);
        assert_eq!(atoms[0].except, vec!["10.0.0.0/8".parse::<ipnet::IpNet>().unwrap()]);
        assert_eq!(atoms[1].except, vec!["10.1.0.0/16".parse::<ipnet::IpNet>().unwrap()]);
    }

    #[test]
    fn no_blocks_gives_one_range_per_family() {
        let fams = BTreeSet::from([IpFamily::V4, IpFamily::V6]);
        let atoms = external_ranges(&[], &fams);
        let ids: Vec<&str> = atoms.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(ids, ["external:0.0.0.0/0", "external:::/0"]);
    }

    #[test]
    fn a_range_is_named_with_its_exceptions_for_people() {
        let a = IpBlock::parse("0.0.0.0/0", &["10.0.0.0/8".into()]).unwrap();
        let atoms = external_ranges(&[&a], &BTreeSet::from([IpFamily::V4]));
        assert_eq!(atoms[0].to_string(), "external 0.0.0.0/0 except 10.0.0.0/8");
        assert_eq!(atoms[1].to_string(), "external 10.0.0.0/8");
    }

    #[test]
    fn ordered_pairs_leave_out_self_pairs_and_external_pairs() {
        // 3 pods and 2 ranges to themselves: 5*5 - 2*2 external pairs - 3 pod self-pairs.
        assert_eq!(ordered_pairs((5, 2), (5, 2), true), 18);
        assert_eq!(ordered_pairs((5, 2), (4, 1), false), 18);
    }
}
