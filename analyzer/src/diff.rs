//! Semantic diff of two cluster states: which connections a change opens, closes or alters.
//!
//! The two sides are compared on what they have in common:
//! - **Pods** are matched by id (`namespace/name`). Pods present on one side only are listed as
//!   such (they would otherwise show up as thousands of added or removed edges).
//! - **External ranges** may differ between the sides (ipBlocks change), so they are refined into
//!   their common *atoms*: the non-empty intersections of a BEFORE range and an AFTER range. An
//!   atom is a set of addresses that both sides treat alike, so every address in it has one
//!   verdict before and one after. "Egress to 0.0.0.0/0 on 443" becoming "egress to 0.0.0.0/0
//!   except 10.0.0.0/8 on 443" shows as removed for the atom 10.0.0.0/8 only. Atom ids are
//!   built like the engine's (`external:` and the CIDRs), so with unchanged ipBlocks they are
//!   exactly the ids `connectivity` prints. An address family that has external ranges on one
//!   side only (e.g. the first IPv6 ipBlock) is listed as present on that side only.
//!
//! Nothing is compared pair by pair: shared endpoints are grouped into *joint classes* (same
//! engine class before and same class after), each joint class pair is compared once through
//! `Reachability::allowed`, and pairs are expanded only when output is written (`--level pod`)
//! or counted per group pair (`--level workload|namespace`, through [`Grouping`]).

use crate::aggregate::{GroupKind, Grouping, Level};
use crate::analysis::Analysis;
use crate::audit::{AuditReport, Finding, ObjectRef};
use crate::load::AppliedChanges;
use crate::render::allowed_json;
use crate::render::text::{md_cell, plural, thousands};
use crate::render::Format;
use netreach_model::{IpFamily, IpRanges, PortSet};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::io::{self, Write};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ChangeKind {
    /// Nothing was allowed before.
    Added,
    /// Nothing is allowed after.
    Removed,
    /// Allowed on both sides, on different ports.
    Changed,
}

impl ChangeKind {
    pub const ALL: [ChangeKind; 3] = [ChangeKind::Added, ChangeKind::Removed, ChangeKind::Changed];

    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Added => "added",
            ChangeKind::Removed => "removed",
            ChangeKind::Changed => "changed",
        }
    }
}

/// What changed between two endpoints (or, merged, between two groups).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Delta {
    pub before: PortSet,
    pub after: PortSet,
    /// Allowed after and not before (for a group pair: merged over its pod pairs).
    pub gained: PortSet,
    /// Allowed before and not after (for a group pair: merged over its pod pairs).
    pub lost: PortSet,
}

impl Delta {
    fn new(before: PortSet, after: PortSet) -> Delta {
        let gained = after.difference(&before);
        let lost = before.difference(&after);
        Delta { before, after, gained, lost }
    }

    pub fn kind(&self) -> ChangeKind {
        if self.before.is_empty() {
            ChangeKind::Added
        } else if self.after.is_empty() {
            ChangeKind::Removed
        } else {
            ChangeKind::Changed
        }
    }
}

/// Endpoint pairs that changed, by kind (ordered pairs of distinct endpoints, not both external).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PairCounts {
    pub added: u64,
    pub removed: u64,
    pub changed: u64,
}

impl PairCounts {
    fn add(&mut self, kind: ChangeKind, n: u64) {
        match kind {
            ChangeKind::Added => self.added += n,
            ChangeKind::Removed => self.removed += n,
            ChangeKind::Changed => self.changed += n,
        }
    }

    pub fn get(&self, kind: ChangeKind) -> u64 {
        match kind {
            ChangeKind::Added => self.added,
            ChangeKind::Removed => self.removed,
            ChangeKind::Changed => self.changed,
        }
    }

    pub fn total(&self) -> u64 {
        self.added + self.removed + self.changed
    }
}

/// The pod pairs behind a group-level entry: how many changed, of how many there are between
/// the two groups' shared members.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct GroupPairs {
    pub added: u64,
    pub removed: u64,
    pub changed: u64,
    pub of: u64,
}

/// A part of the address space that both sides treat alike: a BEFORE range ∩ an AFTER range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExternalAtom {
    /// `external:<cidrs>`, built like the engine's ids.
    pub id: String,
    pub ranges: IpRanges,
    /// Exactly `cidrs` minus `except`.
    pub cidrs: Vec<ipnet::IpNet>,
    pub except: Vec<ipnet::IpNet>,
}

impl ExternalAtom {
    pub fn display_name(&self) -> String {
        let cidrs: Vec<String> = self.cidrs.iter().map(|c| c.to_string()).collect();
        let mut s = format!("external {}", cidrs.join(","));
        if !self.except.is_empty() {
            let ex: Vec<String> = self.except.iter().map(|c| c.to_string()).collect();
            s.push_str(&format!(" except {}", ex.join(",")));
        }
        s
    }
}

/// An endpoint present on both sides: its endpoint index in each analysis.
#[derive(Clone, Copy, Debug)]
struct Shared {
    before: usize,
    after: usize,
}

/// The semantic diff of two analyses, at class granularity.
pub struct Diff<'a> {
    pub before: &'a Analysis,
    pub after: &'a Analysis,
    /// Pods present on both sides in (namespace, name) order, then the external atoms.
    shared: Vec<Shared>,
    common_pods: usize,
    pub atoms: Vec<ExternalAtom>,
    /// Ids of pods present on one side only, in (namespace, name) order.
    pub pods_only_before: Vec<String>,
    pub pods_only_after: Vec<String>,
    /// Ids of external ranges of an address family that has ranges on one side only.
    pub externals_only_before: Vec<String>,
    pub externals_only_after: Vec<String>,
    /// Joint class of each shared endpoint, and the members of each joint class (ascending).
    class_of: Vec<u32>,
    members: Vec<Vec<u32>>,
    /// Per joint class pair that differs (and has at least one endpoint pair): per source
    /// joint class, (destination joint class, index into `deltas`), sorted by destination.
    rows: Vec<Vec<(u32, u32)>>,
    deltas: Vec<Delta>,
}

impl<'a> Diff<'a> {
    pub fn new(before: &'a Analysis, after: &'a Analysis) -> Diff<'a> {
        // Pods by id.
        let order = |a: &Analysis| {
            let mut v: Vec<usize> = (0..a.cluster.pods.len()).collect();
            v.sort_by(|&x, &y| {
                let (p, q) = (&a.cluster.pods[x], &a.cluster.pods[y]);
                (&p.namespace, &p.name).cmp(&(&q.namespace, &q.name))
            });
            v
        };
        let (ob, oa) = (order(before), order(after));
        let mut shared = Vec::new();
        let (mut pods_only_before, mut pods_only_after) = (Vec::new(), Vec::new());
        let (mut i, mut j) = (0, 0);
        while i < ob.len() || j < oa.len() {
            let key = |a: &'a Analysis, k: usize| {
                let p = &a.cluster.pods[k];
                (p.namespace.as_str(), p.name.as_str())
            };
            let cmp = match (ob.get(i), oa.get(j)) {
                (Some(&x), Some(&y)) => key(before, x).cmp(&key(after, y)),
                (Some(_), None) => std::cmp::Ordering::Less,
                _ => std::cmp::Ordering::Greater,
            };
            match cmp {
                std::cmp::Ordering::Less => {
                    pods_only_before.push(before.cluster.pods[ob[i]].id());
                    i += 1;
                }
                std::cmp::Ordering::Greater => {
                    pods_only_after.push(after.cluster.pods[oa[j]].id());
                    j += 1;
                }
                std::cmp::Ordering::Equal => {
                    shared.push(Shared { before: ob[i], after: oa[j] });
                    i += 1;
                    j += 1;
                }
            }
        }
        let common_pods = shared.len();
        let (atoms, atom_endpoints, externals_only_before, externals_only_after) = refine_externals(before, after);
        shared.extend(atom_endpoints);

        let mut diff = Diff {
            before,
            after,
            shared,
            common_pods,
            atoms,
            pods_only_before,
            pods_only_after,
            externals_only_before,
            externals_only_after,
            class_of: Vec::new(),
            members: Vec::new(),
            rows: Vec::new(),
            deltas: Vec::new(),
        };
        diff.compare();
        diff
    }

    fn is_external(&self, shared: u32) -> bool {
        shared as usize >= self.common_pods
    }

    /// Joint classes, then one comparison per joint class pair.
    fn compare(&mut self) {
        let (rb, ra) = (&self.before.reach, &self.after.reach);
        // Engine classes that shared endpoints fall in, numbered compactly, with a representative.
        let compact = |reach: &netreach_model::Reachability, pick: fn(&Shared) -> usize| {
            let mut index: HashMap<usize, u32> = HashMap::new();
            let mut reps: Vec<usize> = Vec::new();
            let of: Vec<u32> = self
                .shared
                .iter()
                .map(|s| {
                    let e = pick(s);
                    *index.entry(reach.class_of(reach.endpoint(e))).or_insert_with(|| {
                        reps.push(e);
                        reps.len() as u32 - 1
                    })
                })
                .collect();
            (of, reps)
        };
        let (cb, reps_b) = compact(rb, |s| s.before);
        let (ca, reps_a) = compact(ra, |s| s.after);
        let mut joint: HashMap<(u32, u32), u32> = HashMap::new();
        let mut keys: Vec<(u32, u32)> = Vec::new();
        for (k, (&b, &a)) in cb.iter().zip(&ca).enumerate() {
            let id = *joint.entry((b, a)).or_insert_with(|| {
                keys.push((b, a));
                self.members.push(Vec::new());
                keys.len() as u32 - 1
            });
            self.class_of.push(id);
            self.members[id as usize].push(k as u32);
        }
        let j = keys.len();
        let sizes: Vec<(u64, u64)> = self
            .members
            .iter()
            .map(|m| (m.len() as u64, m.iter().filter(|&&e| self.is_external(e)).count() as u64))
            .collect();
        // Source joint classes in order of their BEFORE class, so each BEFORE row is read once.
        let mut by_before: Vec<u32> = (0..j as u32).collect();
        by_before.sort_by_key(|&c| keys[c as usize]);
        let mut interned: HashMap<(PortSet, PortSet), u32> = HashMap::new();
        let mut rows = vec![Vec::new(); j];
        let mut row_b: Vec<PortSet> = Vec::new();
        let mut row_b_of = u32::MAX;
        for &s in &by_before {
            let (kb, ka) = keys[s as usize];
            if kb != row_b_of {
                let src = rb.endpoint(reps_b[kb as usize]);
                row_b = reps_b.iter().map(|&d| rb.allowed(src, rb.endpoint(d))).collect();
                row_b_of = kb;
            }
            let src = ra.endpoint(reps_a[ka as usize]);
            let row_a: Vec<PortSet> = reps_a.iter().map(|&d| ra.allowed(src, ra.endpoint(d))).collect();
            let (ns, es) = sizes[s as usize];
            for (d, &(db, da)) in keys.iter().enumerate() {
                let (before, after) = (&row_b[db as usize], &row_a[da as usize]);
                if before == after {
                    continue;
                }
                let (nd, ed) = sizes[d];
                let mut pairs = ns * nd - es * ed;
                if s as usize == d {
                    pairs -= ns - es;
                }
                if pairs == 0 {
                    continue;
                }
                let next = self.deltas.len() as u32;
                let id = *interned.entry((before.clone(), after.clone())).or_insert_with(|| {
                    self.deltas.push(Delta::new(before.clone(), after.clone()));
                    next
                });
                rows[s as usize].push((d as u32, id));
            }
        }
        self.rows = rows;
    }

    /// Endpoint pairs present on both sides whose reachability differs, counted per joint
    /// class pair without expanding them.
    pub fn pair_counts(&self) -> PairCounts {
        let mut counts = PairCounts::default();
        for (s, row) in self.rows.iter().enumerate() {
            for &(d, delta) in row {
                counts.add(self.deltas[delta as usize].kind(), self.pairs_between(s, d as usize));
            }
        }
        counts
    }

    fn pairs_between(&self, s: usize, d: usize) -> u64 {
        let ext = |c: usize| self.members[c].iter().filter(|&&e| self.is_external(e)).count() as u64;
        let (ns, es, nd, ed) = (self.members[s].len() as u64, ext(s), self.members[d].len() as u64, ext(d));
        let mut n = ns * nd - es * ed;
        if s == d {
            n -= ns - es;
        }
        n
    }

    /// True when reachability between shared endpoints is identical (pods or external ranges
    /// present on one side only may still differ).
    pub fn reachability_unchanged(&self) -> bool {
        self.rows.iter().all(Vec::is_empty)
    }

    /// True when nothing differs: same reachability and no endpoint on one side only.
    pub fn is_empty(&self) -> bool {
        self.reachability_unchanged()
            && self.pods_only_before.is_empty()
            && self.pods_only_after.is_empty()
            && self.externals_only_before.is_empty()
            && self.externals_only_after.is_empty()
    }

    pub fn common_pods(&self) -> usize {
        self.common_pods
    }

    /// The id of the shared node (pod id or atom id) an address outside the pods falls in.
    pub fn atom_containing(&self, ip: std::net::IpAddr) -> Option<&ExternalAtom> {
        self.atoms.iter().find(|a| a.ranges.contains(&ip))
    }

    fn shared_node(&self, k: usize) -> Node {
        if k < self.common_pods {
            let id = self.after.cluster.pods[self.shared[k].after].id();
            Node { name: id.clone(), id }
        } else {
            let atom = &self.atoms[k - self.common_pods];
            Node { id: atom.id.clone(), name: atom.display_name() }
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
                (true, atom.id.clone(), atom.display_name())
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
        let mut view =
            DiffView { diff: self, level, nodes, external, sizes, by_group, split, counts: [0; 3], widths: (0, 0) };
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

/// Builds the common atoms of both sides' external ranges, family by family.
#[allow(clippy::type_complexity)]
fn refine_externals(before: &Analysis, after: &Analysis) -> (Vec<ExternalAtom>, Vec<Shared>, Vec<String>, Vec<String>) {
    let mut atoms: Vec<(IpRanges, Shared)> = Vec::new();
    let (mut only_before, mut only_after) = (Vec::new(), Vec::new());
    for family in [IpFamily::V4, IpFamily::V6] {
        // (lo, hi, endpoint index), sorted by lo: the ranges of one family partition it.
        let intervals = |a: &Analysis| {
            let mut v: Vec<(u128, u128, usize)> = Vec::new();
            for (k, ext) in a.reach.externals().iter().enumerate() {
                if ext.ranges.family == family {
                    let e = a.reach.pod_count() + k;
                    v.extend(ext.ranges.intervals().iter().map(|&(lo, hi)| (lo, hi, e)));
                }
            }
            v.sort_unstable();
            v
        };
        let ids = |a: &Analysis| -> Vec<String> {
            a.reach.externals().iter().filter(|e| e.ranges.family == family).map(|e| e.id.clone()).collect()
        };
        let (vb, va) = (intervals(before), intervals(after));
        if vb.is_empty() || va.is_empty() {
            only_before.extend(if va.is_empty() { ids(before) } else { Vec::new() });
            only_after.extend(if vb.is_empty() { ids(after) } else { Vec::new() });
            continue;
        }
        let mut groups: HashMap<(usize, usize), Vec<(u128, u128)>> = HashMap::new();
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
        let mut family_atoms: Vec<(IpRanges, Shared)> = groups
            .into_iter()
            .map(|((b, a), v)| (IpRanges::from_intervals(family, v), Shared { before: b, after: a }))
            .collect();
        family_atoms.sort_by_key(|(r, _)| r.intervals()[0].0);
        atoms.extend(family_atoms);
    }
    let mut out: Vec<ExternalAtom> = Vec::with_capacity(atoms.len());
    let mut shared = Vec::with_capacity(atoms.len());
    for (ranges, s) in atoms {
        // The engine's naming (externals.rs), so unchanged ranges keep their ids.
        let (cidrs, except) = ranges.describe();
        let mut id = format!("external:{}", cidrs.iter().map(|c| c.to_string()).collect::<Vec<_>>().join(","));
        if out.iter().any(|o| o.id == id) {
            let ex: Vec<String> = except.iter().map(|c| c.to_string()).collect();
            id = format!("{id}-except-{}", ex.join(","));
        }
        out.push(ExternalAtom { id, ranges, cidrs, except });
        shared.push(s);
    }
    (out, shared, only_before, only_after)
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
    src_index: u32,
    dst_index: u32,
    delta_index: Option<u32>,
}

/// Renders each of the diff's deltas once, however many entries share it.
struct DeltaCache(Vec<Option<String>>);

impl DeltaCache {
    fn new(diff: &Diff) -> DeltaCache {
        DeltaCache(vec![None; diff.deltas.len()])
    }

    fn get(&mut self, c: &Change, render: impl Fn(&Delta) -> String) -> std::borrow::Cow<'_, str> {
        match c.delta_index {
            Some(k) => std::borrow::Cow::Borrowed(self.0[k as usize].get_or_insert_with(|| render(c.delta)).as_str()),
            None => std::borrow::Cow::Owned(render(c.delta)),
        }
    }
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
    nodes: Vec<Node>,
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
}

impl DiffView<'_, '_> {
    /// Entries of a kind at this level (endpoint pairs at `--level pod`).
    pub fn count(&self, kind: ChangeKind) -> u64 {
        self.counts[kind as usize]
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
                if group_kind(&pairs) != kind {
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
                    if dst != src && !(src_external && diff.is_external(dst)) {
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

/// How many names of one-sided pods text and Markdown show (JSON lists them all).
pub const SHOWN_NAMES: usize = 10;

/// `gained …; lost …`, leaving out an empty side.
fn gained_lost(d: &Delta) -> String {
    let mut parts = Vec::new();
    if !d.gained.is_empty() {
        parts.push(format!("gained {}", d.gained));
    }
    if !d.lost.is_empty() {
        parts.push(format!("lost {}", d.lost));
    }
    parts.join("; ")
}

/// Audit findings that differ between the sides. A finding is identified by its check,
/// namespace and objects: present after only, it *appeared*; before only, it was *resolved*; on
/// both sides with another message (more pods exposed, other ports, other range names), it
/// *changed*.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FindingChanges {
    pub appeared: Vec<Finding>,
    pub resolved: Vec<Finding>,
    /// (before, after).
    pub changed: Vec<(Finding, Finding)>,
}

impl FindingChanges {
    pub fn new(before: &AuditReport, after: &AuditReport) -> FindingChanges {
        type Key<'f> = (&'f str, &'f Option<String>, &'f [ObjectRef]);
        fn by_key(report: &AuditReport) -> BTreeMap<Key<'_>, Vec<&Finding>> {
            let mut map: BTreeMap<Key, Vec<&Finding>> = BTreeMap::new();
            for f in &report.findings {
                map.entry((f.id, &f.namespace, &f.objects)).or_default().push(f);
            }
            map
        }
        let (b, a) = (by_key(before), by_key(after));
        let mut changes = FindingChanges::default();
        for (key, fb) in &b {
            let fa = a.get(key).map(Vec::as_slice).unwrap_or_default();
            match (fb.as_slice(), fa) {
                ([x], [y]) if x.message != y.message => changes.changed.push(((*x).clone(), (*y).clone())),
                _ => changes
                    .resolved
                    .extend(fb.iter().filter(|x| !fa.iter().any(|y| y.message == x.message)).map(|x| (*x).clone())),
            }
        }
        for (key, fa) in &a {
            let fb = b.get(key).map(Vec::as_slice).unwrap_or_default();
            if !matches!((fb, fa.as_slice()), ([x], [y]) if x.message != y.message) {
                changes
                    .appeared
                    .extend(fa.iter().filter(|y| !fb.iter().any(|x| x.message == y.message)).map(|y| (*y).clone()));
            }
        }
        // The audit's order: severity (high first), check, namespace, objects.
        let order = |f: &Finding| (std::cmp::Reverse(f.severity), f.id, f.namespace.clone(), f.objects.clone());
        changes.appeared.sort_by_key(order);
        changes.resolved.sort_by_key(order);
        // A change may change the severity too: order by the higher one, so that swapping the
        // sides gives the same order.
        changes.changed.sort_by_key(|(x, y)| {
            let (_, id, namespace, objects) = order(x);
            (std::cmp::Reverse(x.severity.max(y.severity)), id, namespace, objects)
        });
        changes
    }

    pub fn len(&self) -> usize {
        self.appeared.len() + self.resolved.len() + self.changed.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What the writers print besides the view: the what-if changes (when AFTER was built with
/// `--apply`/`--delete`) and the audit findings that appeared or were resolved.
#[derive(Clone, Copy, Default)]
pub struct DiffNotes<'n> {
    pub applied: Option<&'n AppliedChanges>,
    pub findings: Option<&'n FindingChanges>,
}

/// Writes a diff view.
pub fn write_diff(view: &DiffView, format: Format, notes: DiffNotes, out: &mut dyn Write) -> io::Result<()> {
    match format {
        Format::Json => write_json(view, notes, out),
        Format::Text => write_text(view, notes, out),
        Format::Md => write_md(view, notes, out),
    }
}

#[derive(Serialize)]
struct SideJson {
    pods: usize,
    externals: usize,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SummaryJson {
    before: SideJson,
    after: SideJson,
    common_pods: usize,
    /// Endpoint pairs that changed.
    pairs: PairCounts,
    /// Entries at this level, per kind.
    entries: PairCounts,
}

#[derive(Serialize)]
struct OnlyJson<'a> {
    pods: &'a [String],
    externals: &'a [String],
}

#[derive(Serialize)]
struct AppliedJson<'a> {
    created: &'a [String],
    replaced: &'a [String],
    deleted: &'a [String],
}

/// Findings in the shape of `netreach audit -o json`.
#[derive(Serialize)]
struct FindingsJson<'a> {
    appeared: &'a [Finding],
    resolved: &'a [Finding],
    changed: Vec<ChangedFindingJson<'a>>,
}

#[derive(Serialize)]
struct ChangedFindingJson<'a> {
    before: &'a Finding,
    after: &'a Finding,
}

fn write_json(view: &DiffView, notes: DiffNotes, out: &mut dyn Write) -> io::Result<()> {
    let diff = view.diff;
    let side = |a: &Analysis| SideJson { pods: a.reach.pod_count(), externals: a.reach.externals().len() };
    let summary = SummaryJson {
        before: side(diff.before),
        after: side(diff.after),
        common_pods: diff.common_pods,
        pairs: diff.pair_counts(),
        entries: PairCounts {
            added: view.count(ChangeKind::Added),
            removed: view.count(ChangeKind::Removed),
            changed: view.count(ChangeKind::Changed),
        },
    };
    writeln!(out, "{{\n  \"schemaVersion\": 1,\n  \"level\": \"{}\",", Level::name(view.level))?;
    // Both sides' unevaluated policies, each once.
    let mut unevaluated: Vec<netreach_model::UnevaluatedPolicy> = diff
        .before
        .cluster
        .unevaluated_policies
        .iter()
        .chain(&diff.after.cluster.unevaluated_policies)
        .cloned()
        .collect();
    unevaluated.sort();
    unevaluated.dedup();
    writeln!(out, "  \"unevaluatedPolicies\": {},", crate::render::unevaluated_policies_json(&unevaluated))?;
    let incomplete: Vec<String> =
        diff.before.cluster.skipped_invalid.iter().chain(&diff.after.cluster.skipped_invalid).cloned().collect();
    writeln!(out, "  \"incomplete\": {},", crate::render::incomplete_json(&incomplete))?;
    write!(out, "  \"summary\": ")?;
    serde_json::to_writer(&mut *out, &summary)?;
    write!(out, ",\n  \"onlyBefore\": ")?;
    serde_json::to_writer(
        &mut *out,
        &OnlyJson { pods: &diff.pods_only_before, externals: &diff.externals_only_before },
    )?;
    write!(out, ",\n  \"onlyAfter\": ")?;
    serde_json::to_writer(&mut *out, &OnlyJson { pods: &diff.pods_only_after, externals: &diff.externals_only_after })?;
    if let Some(applied) = notes.applied {
        write!(out, ",\n  \"applied\": ")?;
        let json = AppliedJson { created: &applied.created, replaced: &applied.replaced, deleted: &applied.deleted };
        serde_json::to_writer(&mut *out, &json)?;
    }
    if let Some(findings) = notes.findings {
        write!(out, ",\n  \"findings\": ")?;
        let changed = findings.changed.iter().map(|(before, after)| ChangedFindingJson { before, after }).collect();
        serde_json::to_writer(
            &mut *out,
            &FindingsJson { appeared: &findings.appeared, resolved: &findings.resolved, changed },
        )?;
    }
    // Entries are written from pieces rendered once: node ids, and each delta's fields.
    let ids: Vec<String> = view.nodes.iter().map(|n| serde_json::to_string(&n.id)).collect::<Result<_, _>>()?;
    let json = |p: &PortSet| serde_json::to_string(&allowed_json(p)).expect("port lists serialize");
    for kind in ChangeKind::ALL {
        write!(out, ",\n  \"{}\": [", kind.as_str())?;
        let mut first = true;
        let mut cache = DeltaCache::new(diff);
        view.for_each_change(kind, |c| {
            out.write_all(if first { b"\n    {\"src\":" } else { b",\n    {\"src\":" })?;
            first = false;
            out.write_all(ids[c.src_index as usize].as_bytes())?;
            out.write_all(b",\"dst\":")?;
            out.write_all(ids[c.dst_index as usize].as_bytes())?;
            let fields = cache.get(&c, |d| match kind {
                ChangeKind::Added => format!(",\"allowed\":{}", json(&d.after)),
                ChangeKind::Removed => format!(",\"allowed\":{}", json(&d.before)),
                ChangeKind::Changed => format!(
                    ",\"before\":{},\"after\":{},\"gained\":{},\"lost\":{}",
                    json(&d.before),
                    json(&d.after),
                    json(&d.gained),
                    json(&d.lost)
                ),
            });
            out.write_all(fields.as_bytes())?;
            if let Some(pairs) = &c.pairs {
                out.write_all(b",\"pairs\":")?;
                serde_json::to_writer(&mut *out, pairs)?;
            }
            out.write_all(b"}")
        })?;
        out.write_all(if first { b"]" } else { b"\n  ]" })?;
    }
    writeln!(out, "\n}}")
}

/// Names of one side's pods or ranges: the first [`SHOWN_NAMES`], then how many more.
fn name_list(names: &[String], quote: &str) -> String {
    let mut s: Vec<String> = names.iter().take(SHOWN_NAMES).map(|n| format!("{quote}{n}{quote}")).collect();
    if names.len() > SHOWN_NAMES {
        s.push(format!("… and {} more", names.len() - SHOWN_NAMES));
    }
    s.join(", ")
}

/// The lines every format starts with: sizes, what-if changes, pairs, one-sided endpoints.
fn preamble(view: &DiffView, notes: DiffNotes, quote: &str) -> Vec<String> {
    let diff = view.diff;
    let side = |a: &Analysis| {
        format!(
            "{}, {}",
            plural(a.reach.pod_count() as u64, "pod", "pods"),
            plural(a.reach.externals().len() as u64, "external range", "external ranges")
        )
    };
    let mut lines = vec![format!(
        "Before: {}. After: {}. Compared: {} present on both sides and the external address ranges.",
        side(diff.before),
        side(diff.after),
        plural(diff.common_pods as u64, "pod", "pods")
    )];
    if let Some(applied) = notes.applied {
        let mut parts = Vec::new();
        for (what, list) in
            [("created", &applied.created), ("replaced", &applied.replaced), ("deleted", &applied.deleted)]
        {
            if !list.is_empty() {
                parts.push(format!("{what} {}", name_list(list, quote)));
            }
        }
        lines.push(format!("What-if: {}.", if parts.is_empty() { "no changes".to_string() } else { parts.join("; ") }));
    }
    let pairs = diff.pair_counts();
    lines.push(if pairs.total() == 0 {
        "No difference in reachability between endpoints present on both sides.".to_string()
    } else {
        format!(
            "Endpoint pairs: {} added, {} removed, {} changed.",
            thousands(pairs.added),
            thousands(pairs.removed),
            thousands(pairs.changed)
        )
    });
    if let Some(f) = notes.findings.filter(|f| !f.is_empty()) {
        lines.push(format!(
            "Audit findings: {} appeared, {} resolved, {} changed.",
            f.appeared.len(),
            f.resolved.len(),
            f.changed.len()
        ));
    }
    for (what, list) in [
        ("Pods only before", &diff.pods_only_before),
        ("Pods only after", &diff.pods_only_after),
        ("External ranges only before (address family not used after)", &diff.externals_only_before),
        ("External ranges only after (address family not used before)", &diff.externals_only_after),
    ] {
        if !list.is_empty() {
            lines.push(format!("{what} ({}): {}.", list.len(), name_list(list, quote)));
        }
    }
    lines
}

fn entry_unit(level: Level, n: u64) -> String {
    match level {
        Level::Pod => plural(n, "pair", "pairs"),
        Level::Workload => plural(n, "workload pair", "workload pairs"),
        Level::Namespace => plural(n, "namespace pair", "namespace pairs"),
    }
}

/// `2 added, 1 changed of 6`, written without building strings (one call per entry).
fn write_pairs(out: &mut dyn Write, p: &GroupPairs) -> io::Result<()> {
    let mut first = true;
    for (n, what) in [(p.added, "added"), (p.removed, "removed"), (p.changed, "changed")] {
        if n > 0 {
            if !first {
                out.write_all(b", ")?;
            }
            first = false;
            write!(out, "{n} {what}")?;
        }
    }
    write!(out, " of {}", p.of)
}

fn pairs_text(p: &Option<GroupPairs>) -> String {
    match p {
        None => String::new(),
        Some(p) => {
            let mut parts = Vec::new();
            for (n, what) in [(p.added, "added"), (p.removed, "removed"), (p.changed, "changed")] {
                if n > 0 {
                    parts.push(format!("{n} {what}"));
                }
            }
            format!("{} of {}", parts.join(", "), p.of)
        }
    }
}

fn write_text(view: &DiffView, notes: DiffNotes, out: &mut dyn Write) -> io::Result<()> {
    for line in preamble(view, notes, "") {
        writeln!(out, "{line}")?;
    }
    let (sw, dw) = view.name_widths();
    let (sw, dw) = (sw.max("SOURCE".len()), dw.max("DESTINATION".len()));
    let grouped = view.level != Level::Pod;
    for kind in ChangeKind::ALL {
        let n = view.count(kind);
        if n == 0 {
            continue;
        }
        writeln!(out, "\n{} ({}):", kind.as_str().to_uppercase(), entry_unit(view.level, n))?;
        let pairs_col = if grouped { "  PAIRS" } else { "" };
        match kind {
            ChangeKind::Changed => {
                writeln!(out, "  {:sw$}  {:dw$}  BEFORE -> AFTER (gained; lost){pairs_col}", "SOURCE", "DESTINATION")?
            }
            _ => writeln!(
                out,
                "  {:sw$}  {:dw$}  {}{pairs_col}",
                "SOURCE",
                "DESTINATION",
                if kind == ChangeKind::Added { "ALLOWED NOW" } else { "NO LONGER ALLOWED" }
            )?,
        }
        let mut cache = DeltaCache::new(view.diff);
        view.for_each_change(kind, |c| {
            let what = cache.get(&c, |d| match kind {
                ChangeKind::Added => d.after.to_string(),
                ChangeKind::Removed => d.before.to_string(),
                ChangeKind::Changed => format!("{} -> {} ({})", d.before, d.after, gained_lost(d)),
            });
            if let Some(p) = &c.pairs {
                write!(out, "  {:sw$}  {:dw$}  {what}  [", c.src.name, c.dst.name)?;
                write_pairs(out, p)?;
                out.write_all(b"]\n")
            } else {
                writeln!(out, "  {:sw$}  {:dw$}  {what}", c.src.name, c.dst.name)
            }
        })?;
    }
    if let Some(findings) = notes.findings {
        for (what, list) in [("APPEARED", &findings.appeared), ("RESOLVED", &findings.resolved)] {
            if list.is_empty() {
                continue;
            }
            writeln!(out, "\nAUDIT FINDINGS {what} ({}):", list.len())?;
            for f in list.iter() {
                writeln!(out, "  {}: {}", finding_title(f), f.message)?;
            }
        }
        if !findings.changed.is_empty() {
            writeln!(out, "\nAUDIT FINDINGS CHANGED ({}):", findings.changed.len())?;
            for (b, a) in &findings.changed {
                writeln!(out, "  {}\n    before: {}\n    after:  {}", finding_title(a), b.message, a.message)?;
            }
        }
    }
    Ok(())
}

fn finding_title(f: &Finding) -> String {
    let ns = f.namespace.as_deref().map(|n| format!(" [{n}]")).unwrap_or_default();
    format!("{:<7}{} {}{ns}", f.severity.as_str().to_uppercase(), f.id, f.name)
}

fn md_ports(p: &PortSet) -> String {
    if p.is_empty() {
        "—".to_string()
    } else {
        p.to_string()
    }
}

fn write_md(view: &DiffView, notes: DiffNotes, out: &mut dyn Write) -> io::Result<()> {
    let diff = view.diff;
    let pairs = diff.pair_counts();
    let title = if diff.is_empty() {
        "no difference".to_string()
    } else if pairs.total() == 0 {
        "same reachability, different pods".to_string()
    } else {
        format!("{} added, {} removed, {} changed", pairs.added, pairs.removed, pairs.changed)
    };
    writeln!(out, "### netreach diff: {title}\n")?;
    for line in preamble(view, notes, "`") {
        writeln!(out, "{}  ", md_cell(&line))?;
    }
    let grouped = view.level != Level::Pod;
    let pairs_head = if grouped { " Pairs |" } else { "" };
    let pairs_rule = if grouped { "---|" } else { "" };
    for kind in ChangeKind::ALL {
        let n = view.count(kind);
        if n == 0 {
            continue;
        }
        let title = match kind {
            ChangeKind::Added => "Added",
            ChangeKind::Removed => "Removed",
            ChangeKind::Changed => "Changed",
        };
        writeln!(out, "\n#### {title} ({})\n", entry_unit(view.level, n))?;
        match kind {
            ChangeKind::Changed => writeln!(out, "| Source | Destination | Before | After | Gained | Lost |{pairs_head}\n|---|---|---|---|---|---|{pairs_rule}")?,
            _ => writeln!(out, "| Source | Destination | {} |{pairs_head}\n|---|---|---|{pairs_rule}", if kind == ChangeKind::Added { "Allowed now" } else { "No longer allowed" })?,
        }
        let mut cache = DeltaCache::new(view.diff);
        view.for_each_change(kind, |c| {
            let cells = cache.get(&c, |d| match kind {
                ChangeKind::Added => d.after.to_string(),
                ChangeKind::Removed => d.before.to_string(),
                ChangeKind::Changed => {
                    format!("{} | {} | {} | {}", d.before, d.after, md_ports(&d.gained), md_ports(&d.lost))
                }
            });
            let pairs = if grouped { format!(" {} |", pairs_text(&c.pairs)) } else { String::new() };
            writeln!(out, "| `{}` | `{}` | {cells} |{pairs}", md_cell(&c.src.name), md_cell(&c.dst.name))
        })?;
    }
    if let Some(findings) = notes.findings.filter(|f| !f.is_empty()) {
        let (a, r, c) = (findings.appeared.len(), findings.resolved.len(), findings.changed.len());
        writeln!(out, "\n#### Audit findings ({a} appeared, {r} resolved, {c} changed)\n")?;
        writeln!(out, "| | Severity | Check | Namespace | Finding |\n|---|---|---|---|---|")?;
        let row = |what: &str, f: &Finding, message: String| {
            let ns = f.namespace.as_deref().unwrap_or("");
            format!("| {what} | {} | {} `{}` | {ns} | {} |", f.severity.as_str(), f.id, f.name, md_cell(&message))
        };
        for (what, list) in [("appeared", &findings.appeared), ("resolved", &findings.resolved)] {
            for f in list.iter() {
                writeln!(out, "{}", row(what, f, f.message.clone()))?;
            }
        }
        for (b, a) in &findings.changed {
            writeln!(out, "{}", row("changed", a, format!("before: {}<br>after: {}", b.message, a.message)))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use netreach_model::{
        Cluster, Direction, EngineOptions, IpBlock, LabelSelector, Labels, NetworkPolicy, Peer, Pod, PortEntry,
        PortSpec, Protocol, Rule,
    };

    fn egress_policy(block: IpBlock, port: u16) -> NetworkPolicy {
        NetworkPolicy {
            namespace: "a".into(),
            name: "out".into(),
            pod_selector: LabelSelector::everything(),
            policy_types: Some(vec![Direction::Egress]),
            ingress: vec![],
            egress: vec![Rule {
                peers: vec![Peer::IpBlock(block)],
                ports: vec![PortEntry { protocol: Protocol::Tcp, port: Some(PortSpec::Number(port)), end_port: None }],
            }],
        }
    }

    fn analysis(policies: Vec<NetworkPolicy>) -> Analysis {
        let cluster = Cluster { pods: vec![Pod::new("a", "p", Labels::new())], policies, ..Default::default() };
        Analysis::new(cluster, &EngineOptions::default())
    }

    #[test]
    fn external_ranges_are_refined_into_common_atoms() {
        let before = analysis(vec![egress_policy(IpBlock::parse("0.0.0.0/0", &[]).unwrap(), 443)]);
        let after = analysis(vec![egress_policy(IpBlock::parse("0.0.0.0/0", &["10.0.0.0/8".into()]).unwrap(), 443)]);
        let diff = Diff::new(&before, &after);
        let ids: Vec<&str> = diff.atoms.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(ids, ["external:0.0.0.0/0", "external:10.0.0.0/8"]);
        let view = diff.view(Level::Pod);
        let mut removed = Vec::new();
        view.for_each_change::<()>(ChangeKind::Removed, |c| {
            removed.push((c.src.id.clone(), c.dst.id.clone(), c.delta.before.to_string()));
            Ok(())
        })
        .unwrap();
        assert_eq!(removed, [("a/p".to_string(), "external:10.0.0.0/8".to_string(), "TCP 443".to_string())]);
        assert_eq!(diff.pair_counts(), PairCounts { added: 0, removed: 1, changed: 0 });
        assert!(Diff::new(&before, &before).is_empty());
    }
}
