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
//!   named as the engine names its ranges ([`ExternalRange::new`]), so with unchanged ipBlocks they are
//!   exactly the ids `connectivity` prints. An address family that has external ranges on one
//!   side only (e.g. the first IPv6 ipBlock) is listed as present on that side only.
//!
//! Nothing is compared pair by pair: shared endpoints are grouped into *joint classes* (same
//! engine class before and same class after), joint classes whose engine classes share rows on
//! both sides are compared once (port sets as interned ids, borrowed from the engines), and
//! pairs are expanded only when output is written (`--level pod`)
//! or counted per group pair (`--level workload|namespace`, through [`Grouping`](crate::aggregate::Grouping)).

mod authz;
mod exposure;
mod render;
mod view;

pub use crate::findings::FindingChanges;
pub use authz::AuthzChange;
pub use exposure::{exposure_changes, ExposureChange, ExposureChangeKind, ExposureSide};
pub use render::{diff_graph, write_diff, DiffNotes, SHOWN_NAMES};
pub use view::{Change, DiffView, Node};

use crate::analysis::Analysis;
use crate::rows::PortIds;
use netreach_model::{ordered_pairs, CommonRanges, ExternalRange, PortSet, Reachability};
use serde::Serialize;
use std::collections::HashMap;

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

/// A part of the address space that both sides treat alike: a BEFORE range ∩ an AFTER range,
/// named like the engine names its ranges, so unchanged ranges keep their ids.
pub type ExternalAtom = ExternalRange;

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

    /// Joint classes, then one comparison per (BEFORE row, AFTER row) pair and joint class.
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
        // Port sets of both sides interned by value, so a comparison is one integer compare.
        let mut ids = PortIds::default();
        let nothing = ids.intern(&PortSet::empty());
        let (mut side_b, mut side_a) = (CompactRows::new(rb, &reps_b, nothing), CompactRows::new(ra, &reps_a, nothing));
        // Joint classes whose BEFORE classes share a row and whose AFTER classes share a row
        // differ towards the same destinations: one comparison per distinct row pair.
        let row_pair = |&(kb, ka): &(u32, u32)| (side_b.row_id(kb), side_a.row_id(ka));
        let mut pair_of: HashMap<(usize, usize), u32> = HashMap::new();
        let mut pair_sources: Vec<(u32, u32)> = Vec::new();
        let source_pair: Vec<u32> = keys
            .iter()
            .map(|k| {
                *pair_of.entry(row_pair(k)).or_insert_with(|| {
                    pair_sources.push(*k);
                    pair_sources.len() as u32 - 1
                })
            })
            .collect();
        let mut by_pair: Vec<(usize, usize, u32)> =
            pair_sources.iter().enumerate().map(|(p, k)| (row_pair(k).0, row_pair(k).1, p as u32)).collect();
        by_pair.sort_unstable();
        // Per source joint class: (destination joint class, BEFORE id, AFTER id) where they
        // differ, from one comparison per row pair; each BEFORE row is read once.
        let mut sources_of: Vec<Vec<u32>> = vec![Vec::new(); pair_sources.len()];
        for (s, &p) in source_pair.iter().enumerate() {
            sources_of[p as usize].push(s as u32);
        }
        let mut changes: Vec<Vec<(u32, u32, u32)>> = vec![Vec::new(); j];
        let (mut row_b, mut row_a, mut differ) = (Vec::new(), Vec::new(), Vec::new());
        let mut row_b_of = usize::MAX;
        for &(rb_id, _, p) in &by_pair {
            let (kb, ka) = pair_sources[p as usize];
            if rb_id != row_b_of {
                side_b.fill(&mut ids, kb, &mut row_b);
                row_b_of = rb_id;
            }
            side_a.fill(&mut ids, ka, &mut row_a);
            differ.clear();
            differ.extend(keys.iter().enumerate().filter_map(|(d, &(db, da))| {
                let (before, after) = (row_b[db as usize], row_a[da as usize]);
                (before != after).then_some((d as u32, before, after))
            }));
            for &s in &sources_of[p as usize] {
                let (ns, es) = sizes[s as usize];
                changes[s as usize] = differ
                    .iter()
                    .copied()
                    .filter(|&(d, _, _)| ordered_pairs((ns, es), sizes[d as usize], s == d) > 0)
                    .collect();
            }
        }
        // Deltas numbered in order of first use, sources in order of their BEFORE class.
        let mut by_before: Vec<u32> = (0..j as u32).collect();
        by_before.sort_by_key(|&c| keys[c as usize]);
        let mut interned: HashMap<(u32, u32), u32> = HashMap::new();
        let mut last = None;
        let mut rows = vec![Vec::new(); j];
        for &s in &by_before {
            let row: &mut Vec<(u32, u32)> = &mut rows[s as usize];
            for (d, before, after) in std::mem::take(&mut changes[s as usize]) {
                let id = match last {
                    Some((b, a, id)) if (b, a) == (before, after) => id,
                    _ => {
                        let next = self.deltas.len() as u32;
                        let id = *interned.entry((before, after)).or_insert_with(|| {
                            let (b, a) = (ids.values[before as usize].clone(), ids.values[after as usize].clone());
                            self.deltas.push(Delta::new(b, a));
                            next
                        });
                        last = Some((before, after, id));
                        id
                    }
                };
                row.push((d, id));
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
        ordered_pairs((self.members[s].len() as u64, ext(s)), (self.members[d].len() as u64, ext(d)), s == d)
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
}

/// One side's rows as seen by the compact classes: what an engine class allows to each compact
/// class, as port set ids, from one walk of its row.
struct CompactRows<'r> {
    reach: &'r Reachability,
    /// The engine class of each compact class.
    engine_of: Vec<usize>,
    /// Per engine class, scratch: the id its row gives it (`nothing` between walks).
    scratch: Vec<u32>,
    nothing: u32,
}

impl<'r> CompactRows<'r> {
    fn new(reach: &'r Reachability, reps: &[usize], nothing: u32) -> CompactRows<'r> {
        let engine_of = reps.iter().map(|&e| reach.class_of(reach.endpoint(e))).collect();
        CompactRows { reach, engine_of, scratch: vec![nothing; reach.class_count()], nothing }
    }

    fn row_id(&self, compact: u32) -> usize {
        self.reach.row_of(self.engine_of[compact as usize])
    }

    /// Fills `row[compact]` with what the compact class `src` allows to each compact class.
    fn fill(&mut self, ids: &mut PortIds, src: u32, row: &mut Vec<u32>) {
        let from = self.engine_of[src as usize];
        for (d, ports) in self.reach.class_row(from) {
            self.scratch[d] = ids.id_of(ports);
        }
        row.clear();
        row.extend(self.engine_of.iter().map(|&d| self.scratch[d]));
        for (d, _) in self.reach.class_row(from) {
            self.scratch[d] = self.nothing;
        }
    }
}

/// The common atoms of both sides' external ranges (the model cuts them), with each atom's
/// endpoint on either side.
fn refine_externals(before: &Analysis, after: &Analysis) -> (Vec<ExternalAtom>, Vec<Shared>, Vec<String>, Vec<String>) {
    let common = CommonRanges::new(before.reach.externals(), after.reach.externals());
    let shared = common
        .sides
        .iter()
        .map(|&(b, a)| Shared { before: before.reach.pod_count() + b, after: after.reach.pod_count() + a })
        .collect();
    (common.ranges, shared, common.only_before, common.only_after)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::Level;
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
