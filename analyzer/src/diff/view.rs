//! The diff at one `--level`: nodes (shared pods and external atoms, or groups), and the
//! changes between them, streamed one source at a time (group levels walk the joint classes
//! group by group).

use super::{ChangeKind, Delta, Diff, GroupPairs};
use crate::aggregate::{GroupKind, Grouping, Level};
use netreach_model::PortSet;
use std::collections::HashMap;

impl<'a> Diff<'a> {
    fn shared_node(&self, k: usize) -> Node {
        if k < self.common_pods {
            let id = self.after.cluster.pods[self.shared[k].after].id();
            Node { name: id.clone(), id }
        } else {
            let atom = &self.atoms[k - self.common_pods];
            Node { id: atom.id.clone(), name: atom.to_string() }
        }
    }

    /// The diff at one level: pod pairs, or merged per workload or namespace pair.
    pub fn view(&self, level: Level) -> DiffView<'_, 'a> {
        if level == Level::Pod {
            let nodes = (0..self.shared.len()).map(|k| self.shared_node(k)).collect();
            let counts = self.pair_counts();
            let mut view = DiffView {
                diff: self,
                level,
                nodes,
                external: Vec::new(),
                sizes: Vec::new(),
                by_group: Vec::new(),
                split: Vec::new(),
                counts: [counts.added, counts.removed, counts.changed],
                widths: (0, 0),
                scope: None,
                namespaces: Vec::new(),
            };
            view.widths = view.pod_widths();
            return view;
        }
        // Group of each shared endpoint: the group both sides agree on; a pod whose group
        // differs between the sides (it moved to another workload) stands alone.
        let (gb, ga) = (Grouping::new(self.before, level), Grouping::new(self.after, level));
        let mut index: HashMap<(bool, String), u32> = HashMap::new();
        let mut keys: Vec<(bool, String, String)> = Vec::new();
        let mut group_of: Vec<u32> = Vec::with_capacity(self.shared.len());
        for (k, s) in self.shared.iter().enumerate() {
            let (external, id, name) = if k < self.common_pods {
                let (b, a) = (&gb.groups[gb.group_of(s.before)], &ga.groups[ga.group_of(s.after)]);
                if b.id == a.id && b.kind == a.kind {
                    (a.kind == GroupKind::External, a.id.clone(), a.id.clone())
                } else {
                    let id = self.after.cluster.pods[s.after].id();
                    (false, id.clone(), id)
                }
            } else {
                let atom = &self.atoms[k - self.common_pods];
                (true, atom.id.clone(), atom.to_string())
            };
            let g = *index.entry((external, id.clone())).or_insert_with(|| {
                keys.push((external, id, name));
                keys.len() as u32 - 1
            });
            group_of.push(g);
        }
        let mut order: Vec<u32> = (0..keys.len() as u32).collect();
        order.sort_by(|&x, &y| {
            (keys[x as usize].0, &keys[x as usize].1).cmp(&(keys[y as usize].0, &keys[y as usize].1))
        });
        let mut renumber = vec![0u32; keys.len()];
        for (new, &old) in order.iter().enumerate() {
            renumber[old as usize] = new as u32;
        }
        let nodes: Vec<Node> =
            order.iter().map(|&o| Node { id: keys[o as usize].1.clone(), name: keys[o as usize].2.clone() }).collect();
        let external: Vec<bool> = order.iter().map(|&o| keys[o as usize].0).collect();
        let group_of: Vec<u32> = group_of.iter().map(|&g| renumber[g as usize]).collect();
        let mut sizes = vec![0u64; nodes.len()];
        for &g in &group_of {
            sizes[g as usize] += 1;
        }
        // Each joint class as (group, members in it), and each group as (joint class, members).
        let mut split: Vec<Vec<(u32, u64)>> = vec![Vec::new(); self.members.len()];
        let mut by_group: Vec<Vec<(u32, u64)>> = vec![Vec::new(); nodes.len()];
        for (j, m) in self.members.iter().enumerate() {
            for &e in m {
                let g = group_of[e as usize];
                match split[j].iter_mut().find(|(x, _)| *x == g) {
                    Some(entry) => entry.1 += 1,
                    None => split[j].push((g, 1)),
                }
            }
            for &(g, n) in &split[j] {
                by_group[g as usize].push((j as u32, n));
            }
        }
        let mut view = DiffView {
            diff: self,
            level,
            nodes,
            external,
            sizes,
            by_group,
            split,
            counts: [0; 3],
            widths: (0, 0),
            scope: None,
            namespaces: Vec::new(),
        };
        // One pass to count entries and size the text columns; output passes stream again.
        let (mut counts, mut widths) = ([0u64; 3], (0, 0));
        let width = |n: &Node| n.name.chars().count();
        let _ = view.walk_groups::<()>(|gs, gd, _, pairs| {
            counts[group_kind(&pairs) as usize] += 1;
            widths = (widths.0.max(width(&view.nodes[gs as usize])), widths.1.max(width(&view.nodes[gd as usize])));
            Ok(())
        });
        view.counts = counts;
        view.widths = widths;
        view
    }
}

/// The kind of a group-level entry: `added` when every pair that changed was added, `removed`
/// when every one was removed, else `changed` (exactly the kinds of the merged before/after).
fn group_kind(p: &GroupPairs) -> ChangeKind {
    if p.removed == 0 && p.changed == 0 {
        ChangeKind::Added
    } else if p.added == 0 && p.changed == 0 {
        ChangeKind::Removed
    } else {
        ChangeKind::Changed
    }
}

/// A node of a diff view: a shared pod or external atom (`--level pod`) or a group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    /// Pod id, group id (`ns/Kind/name`, `ns`) or external atom id.
    pub id: String,
    /// For people: the id, or an external atom spelled out with its exceptions.
    pub name: String,
}

/// One difference: between two shared endpoints, or merged between two groups.
pub struct Change<'v> {
    pub src: &'v Node,
    pub dst: &'v Node,
    pub delta: &'v Delta,
    /// At workload and namespace level: the endpoint pairs behind the entry.
    pub pairs: Option<GroupPairs>,
    /// Node indices, and the delta's index in the diff when it is one (not merged): writers
    /// render each node and each delta once.
    pub(super) src_index: u32,
    pub(super) dst_index: u32,
    pub(super) delta_index: Option<u32>,
}

impl Change<'_> {
    pub fn kind(&self) -> ChangeKind {
        self.delta.kind()
    }
}

/// The diff at one `--level`. At group levels an entry merges the endpoint pairs that changed
/// between two groups: `before`/`after`/`gained`/`lost` are unions over those pairs, and the
/// entry is `added` when none of them allowed anything before, `removed` when none allows
/// anything after, `changed` otherwise. Entries are streamed one source at a time, never
/// stored: a diff that opens every pair of a large cluster costs time, not memory.
pub struct DiffView<'d, 'a> {
    pub diff: &'d Diff<'a>,
    pub level: Level,
    /// Pod level: the shared endpoints; else the groups, sorted by (external, id).
    pub(super) nodes: Vec<Node>,
    /// Group levels: per group, external or not; shared members; members by joint class.
    external: Vec<bool>,
    sizes: Vec<u64>,
    by_group: Vec<Vec<(u32, u64)>>,
    /// Group levels: per joint class, its members by group.
    split: Vec<Vec<(u32, u64)>>,
    /// Entries per kind (endpoint pairs at pod level).
    counts: [u64; 3],
    /// Widest source and destination names among the entries.
    widths: (usize, usize),
    /// After [`DiffView::narrow`]: per node, whether it is in the namespaces asked for; an
    /// entry is kept when either end is.
    scope: Option<Vec<bool>>,
    /// The namespaces [`DiffView::narrow`] keeps.
    namespaces: Vec<String>,
}

impl DiffView<'_, '_> {
    /// Entries of a kind at this level (endpoint pairs at `--level pod`).
    pub fn count(&self, kind: ChangeKind) -> u64 {
        self.counts[kind as usize]
    }

    /// Keeps the entries with an end in `namespaces` (`diff -n`): counts and widths are those
    /// of the entries kept. Costs one pass over the entries; nothing when `namespaces` is empty.
    pub fn narrow(&mut self, namespaces: &[String]) {
        if namespaces.is_empty() {
            return;
        }
        let scope =
            (0..self.nodes.len()).map(|k| self.node_namespace(k).is_some_and(|ns| namespaces.iter().any(|n| n == ns)));
        self.scope = Some(scope.collect());
        self.namespaces = namespaces.to_vec();
        let (mut counts, mut widths) = ([0u64; 3], (0, 0));
        for kind in ChangeKind::ALL {
            let _ = self.for_each_change::<()>(kind, |c| {
                counts[kind as usize] += 1;
                widths = (widths.0.max(c.src.name.chars().count()), widths.1.max(c.dst.name.chars().count()));
                Ok(())
            });
        }
        self.counts = counts;
        self.widths = widths;
    }

    /// Whether anything differs among the entries shown, or a pod of the namespaces narrowed to
    /// (all of them when not narrowed) is on one side only: `diff --exit-code`.
    pub fn differs(&self) -> bool {
        if self.scope.is_none() {
            return !self.diff.is_empty();
        }
        let in_scope = |pod: &String| pod.split('/').next().is_some_and(|ns| self.namespaces.iter().any(|n| n == ns));
        self.counts.iter().any(|&n| n > 0)
            || self.diff.pods_only_before.iter().any(in_scope)
            || self.diff.pods_only_after.iter().any(in_scope)
    }

    /// The namespace of a node: a pod's or a group's (ids `ns/name`, `ns/Kind/name`, `ns`);
    /// `None` for external ranges.
    fn node_namespace(&self, k: usize) -> Option<&str> {
        let external = if self.level == Level::Pod { self.diff.is_external(k as u32) } else { self.external[k] };
        let id = &self.nodes[k].id;
        (!external).then(|| id.split('/').next().unwrap_or(id))
    }

    /// Whether an entry between two nodes is shown.
    fn in_scope(&self, src: u32, dst: u32) -> bool {
        self.scope.as_ref().is_none_or(|s| s[src as usize] || s[dst as usize])
    }

    /// The widest source and destination names among the entries (for aligned text columns).
    pub fn name_widths(&self) -> (usize, usize) {
        self.widths
    }

    fn pod_widths(&self) -> (usize, usize) {
        let width = |g: u32| self.nodes[g as usize].name.chars().count();
        let diff = self.diff;
        let (mut src, mut dst) = (vec![false; diff.members.len()], vec![false; diff.members.len()]);
        for (s, row) in diff.rows.iter().enumerate() {
            for &(d, _) in row {
                src[s] = true;
                dst[d as usize] = true;
            }
        }
        let widest = |marked: Vec<bool>| {
            let classes = marked.into_iter().enumerate().filter(|&(_, m)| m).map(|(c, _)| c);
            classes.flat_map(|c| &diff.members[c]).map(|&e| width(e)).max().unwrap_or(0)
        };
        (widest(src), widest(dst))
    }

    /// Group levels: every group pair with a changed endpoint pair, in (source, destination)
    /// order, with the deltas involved (sorted, distinct) and the pair counts. Work follows the
    /// joint class rows; memory is one accumulator per group.
    fn walk_groups<E>(&self, mut f: impl FnMut(u32, u32, &[u32], GroupPairs) -> Result<(), E>) -> Result<(), E> {
        let diff = self.diff;
        let mut acc: Vec<(Vec<u32>, GroupPairs)> = vec![(Vec::new(), GroupPairs::default()); self.nodes.len()];
        let mut touched: Vec<u32> = Vec::new();
        for gs in 0..self.nodes.len() {
            for &(js, cs) in &self.by_group[gs] {
                for &(jd, delta) in &diff.rows[js as usize] {
                    let kind = diff.deltas[delta as usize].kind();
                    for &(gd, cd) in &self.split[jd as usize] {
                        if self.external[gs] && self.external[gd as usize] {
                            continue;
                        }
                        let n = if js == jd && gs == gd as usize { cs * (cs - 1) } else { cs * cd };
                        if n == 0 {
                            continue;
                        }
                        let (deltas, pairs) = &mut acc[gd as usize];
                        if deltas.is_empty() {
                            touched.push(gd);
                        }
                        if deltas.last() != Some(&delta) {
                            deltas.push(delta);
                        }
                        match kind {
                            ChangeKind::Added => pairs.added += n,
                            ChangeKind::Removed => pairs.removed += n,
                            ChangeKind::Changed => pairs.changed += n,
                        }
                    }
                }
            }
            touched.sort_unstable();
            for &gd in &touched {
                let (deltas, pairs) = &mut acc[gd as usize];
                deltas.sort_unstable();
                deltas.dedup();
                let (ns, nd) = (self.sizes[gs], self.sizes[gd as usize]);
                pairs.of = if gs == gd as usize { ns * (ns - 1) } else { ns * nd };
                f(gs as u32, gd, deltas, *pairs)?;
                deltas.clear();
                *pairs = GroupPairs::default();
            }
            touched.clear();
        }
        Ok(())
    }

    /// Every entry of one kind, sorted by source then destination (pods in namespace/name
    /// order, groups by id, external ranges last), expanded one source at a time.
    pub fn for_each_change<E>(
        &self,
        kind: ChangeKind,
        mut f: impl FnMut(Change<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        let diff = self.diff;
        if self.level != Level::Pod {
            return self.walk_groups(|gs, gd, deltas, pairs| {
                if group_kind(&pairs) != kind || !self.in_scope(gs, gd) {
                    return Ok(());
                }
                let merged;
                let (delta, delta_index) = if let [one] = deltas {
                    (&diff.deltas[*one as usize], Some(*one))
                } else {
                    let mut m = Delta {
                        before: PortSet::empty(),
                        after: PortSet::empty(),
                        gained: PortSet::empty(),
                        lost: PortSet::empty(),
                    };
                    for &k in deltas {
                        let d = &diff.deltas[k as usize];
                        m.before.union_with(&d.before);
                        m.after.union_with(&d.after);
                        m.gained.union_with(&d.gained);
                        m.lost.union_with(&d.lost);
                    }
                    merged = m;
                    (&merged, None)
                };
                let (src, dst) = (&self.nodes[gs as usize], &self.nodes[gd as usize]);
                f(Change { src, dst, delta, pairs: Some(pairs), src_index: gs, dst_index: gd, delta_index })
            });
        }
        let mut dsts: Vec<(u32, u32)> = Vec::new();
        for src in 0..diff.shared.len() as u32 {
            let src_external = diff.is_external(src);
            dsts.clear();
            for &(dc, delta) in &diff.rows[diff.class_of[src as usize] as usize] {
                if diff.deltas[delta as usize].kind() != kind {
                    continue;
                }
                for &dst in &diff.members[dc as usize] {
                    if dst != src && !(src_external && diff.is_external(dst)) && self.in_scope(src, dst) {
                        dsts.push((dst, delta));
                    }
                }
            }
            dsts.sort_unstable();
            for &(dst, delta) in &dsts {
                f(Change {
                    src: &self.nodes[src as usize],
                    dst: &self.nodes[dst as usize],
                    delta: &diff.deltas[delta as usize],
                    pairs: None,
                    src_index: src,
                    dst_index: dst,
                    delta_index: Some(delta),
                })?;
            }
        }
        Ok(())
    }
}
