//! The report's graph edges, merged per workload and per namespace from the engine's class rows:
//! each class is read once with the groups its members fall in, so the cost follows classes ×
//! row entries × groups per class, never pod pairs. Each namespace edge also carries the rules
//! behind it, as `can` words them, read on a few class pairs.

use crate::aggregate::{GroupKind, Grouping};
use crate::analysis::Analysis;
use crate::explain::explain_pair;
use crate::render::can::{cilium_rule_text, rule_text};
use netreach_model::PortSet;
use std::collections::{BTreeSet, HashMap};

/// Allowed traffic from one group to another, merged over their member pairs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MergedEdge {
    pub src: usize,
    pub dst: usize,
    pub ports: PortSet,
    /// Member pairs with anything allowed (a pod to itself never counts).
    pub connected_pairs: u64,
}

/// Per class: the groups of `grouping` its members fall in, with how many members each, and
/// whether the group is an external range.
fn groups_per_class(analysis: &Analysis, grouping: &Grouping) -> Vec<Vec<(usize, u64, bool)>> {
    let reach = &analysis.reach;
    (0..reach.class_count())
        .map(|c| {
            let mut counts: Vec<(usize, u64, bool)> = Vec::new();
            for &e in reach.class_members(c) {
                let g = grouping.group_of(e as usize);
                match counts.iter_mut().find(|(group, _, _)| *group == g) {
                    Some(entry) => entry.1 += 1,
                    None => counts.push((g, 1, grouping.groups[g].kind == GroupKind::External)),
                }
            }
            counts
        })
        .collect()
}

/// Every group pair of `grouping` with anything allowed, sorted by (src, dst): the same answer
/// as [`crate::aggregate::aggregate`] (tested against it), computed from class rows.
pub fn merged_edges(analysis: &Analysis, grouping: &Grouping) -> Vec<MergedEdge> {
    let reach = &analysis.reach;
    let per_class = groups_per_class(analysis, grouping);
    let mut merged: HashMap<(usize, usize), (PortSet, u64)> = HashMap::new();
    for (src_class, src_groups) in per_class.iter().enumerate() {
        for (dst_class, ports) in reach.class_row(src_class) {
            if ports.is_empty() {
                continue;
            }
            for &(sg, sn, s_external) in src_groups {
                for &(dg, dn, d_external) in &per_class[dst_class] {
                    // External ranges never reach one another; a pod's traffic to itself is not counted.
                    if s_external && d_external {
                        continue;
                    }
                    let pairs = if src_class == dst_class && sg == dg { sn * (sn - 1) } else { sn * dn };
                    if pairs == 0 {
                        continue;
                    }
                    let entry = merged.entry((sg, dg)).or_insert_with(|| (PortSet::empty(), 0));
                    entry.0.union_with(ports);
                    entry.1 += pairs;
                }
            }
        }
    }
    let mut edges: Vec<MergedEdge> = merged
        .into_iter()
        .map(|((src, dst), (ports, connected_pairs))| MergedEdge { src, dst, ports, connected_pairs })
        .collect();
    edges.sort_by_key(|e| (e.src, e.dst));
    edges
}

/// The rules behind an edge, as `can` words them, and how many class pairs they were read on.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EdgeRules {
    /// `egress: shop/allow-web egress[0]: …` lines, each rule once, in the order found.
    pub rules: Vec<String>,
    /// Class pairs explained, and class pairs with anything allowed along the edge.
    pub explained: usize,
    pub class_pairs: usize,
}

/// How many class pairs of one namespace edge are explained: enough for the common case (one
/// policy per direction) while a dense cluster's report stays small. The count says when
/// there were more.
pub const EXPLAINED_PAIRS_PER_EDGE: usize = 8;

/// For each edge of a namespace-level `grouping`, the rules that allow it, read with
/// [`explain_pair`] on up to [`EXPLAINED_PAIRS_PER_EDGE`] class pairs (one member pair each).
pub fn edge_rules(analysis: &Analysis, grouping: &Grouping, edges: &[MergedEdge]) -> Vec<EdgeRules> {
    let reach = &analysis.reach;
    // Per group: its classes and, for each, one member in the group.
    let mut members: Vec<Vec<(usize, usize)>> = vec![Vec::new(); grouping.groups.len()];
    for (g, group) in grouping.groups.iter().enumerate() {
        let mut seen = BTreeSet::new();
        for &e in &group.members {
            let class = reach.class_of(reach.endpoint(e));
            if seen.insert(class) {
                members[g].push((class, e));
            }
        }
    }
    edges
        .iter()
        .map(|edge| {
            let mut rules = EdgeRules::default();
            let mut seen = BTreeSet::new();
            for &(sc, s) in &members[edge.src] {
                for &(dc, d) in &members[edge.dst] {
                    if s == d || reach.class_allowed(sc, dc).is_none_or(PortSet::is_empty) {
                        continue;
                    }
                    rules.class_pairs += 1;
                    if rules.explained == EXPLAINED_PAIRS_PER_EDGE {
                        continue;
                    }
                    rules.explained += 1;
                    let verdict = explain_pair(analysis, s, d, None);
                    for side in [&verdict.egress, &verdict.ingress] {
                        let direction = side.direction.field();
                        let mut lines: Vec<String> = side
                            .allowed_by
                            .iter()
                            .map(|m| format!("{direction}: {} → {}", rule_text(analysis, &m.rule), m.ports))
                            .collect();
                        lines.extend(
                            side.cilium
                                .iter()
                                .map(|m| format!("{direction}: {} → {}", cilium_rule_text(analysis, &m.rule), m.ports)),
                        );
                        if side.isolated_by.is_empty() {
                            lines.push(format!("{direction}: not isolated (no policy selects this side)"));
                        }
                        for line in lines {
                            if seen.insert(line.clone()) {
                                rules.rules.push(line);
                            }
                        }
                    }
                }
            }
            rules
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::{aggregate, Level};

    #[test]
    fn merged_edges_agree_with_the_pair_by_pair_aggregate_at_every_level() {
        for fixture in ["shop", "weak"] {
            let analysis = crate::lateral::tests::fixture(fixture);
            for level in [Level::Pod, Level::Workload, Level::Namespace] {
                let grouping = Grouping::new(&analysis, level);
                let expected: Vec<MergedEdge> = aggregate(&analysis, &grouping)
                    .into_iter()
                    .map(|c| MergedEdge { src: c.src, dst: c.dst, ports: c.ports, connected_pairs: c.connected_pairs })
                    .collect();
                assert!(!expected.is_empty());
                assert_eq!(merged_edges(&analysis, &grouping), expected, "{fixture} at {level:?}");
            }
        }
    }

    #[test]
    fn namespace_edges_name_the_rules_that_allow_them() {
        let analysis = crate::lateral::tests::fixture("shop");
        let grouping = Grouping::new(&analysis, Level::Namespace);
        let edges = merged_edges(&analysis, &grouping);
        let rules = edge_rules(&analysis, &grouping, &edges);
        assert_eq!(rules.len(), edges.len());
        for (edge, rules) in edges.iter().zip(&rules) {
            assert!(rules.explained >= 1 && rules.explained <= rules.class_pairs, "{edge:?}");
            assert!(!rules.rules.is_empty(), "an allowed edge has a reason: {edge:?}");
        }
        let named_policy = rules.iter().flat_map(|r| &r.rules).any(|line| line.starts_with("ingress: shop/"));
        assert!(named_policy, "shop's ingress policies are named: {rules:?}");
    }
}
