//! The reachability engine: from a [`Cluster`] to the exact set of allowed
//! (source, destination, protocol, port) under networking.k8s.io/v1 NetworkPolicy.
//!
//! Pipeline: external ranges → selections (endpoint sets) → equivalence classes → grants
//! (class-level rectangles with provenance) → port classes → per-class rows on bitsets.
//! A connection is allowed iff some egress grant and some ingress grant both cover it.

pub mod classes;
pub mod externals;
pub mod grants;
pub mod lateral;
pub mod selection;
#[cfg(test)]
mod tests;
pub mod tiers;

use crate::addresses::IpFamily;
use crate::admin::{Action, Tier};
use crate::cilium::CniProfile;
use crate::cluster::{Cluster, Direction};
use crate::networkpolicy::Peer;
use crate::ports::{PortSet, Protocol};
use classes::Classes;
pub use externals::{ordered_pairs, CommonRanges, ExternalRange};
use fixedbitset::FixedBitSet;
pub use grants::{GrantOrigin, RuleRef};
use grants::{GrantTable, PortClasses};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};
pub use tiers::{TierFindings, TierMatch};

/// The engine's hash maps: keys are label maps, endpoint sets and small integers it built
/// itself, so a fast non-cryptographic hasher (foldhash, already in the dependency tree
/// through hashbrown) replaces SipHash; the seed stays random, so no answer may depend on
/// iteration order.
pub(crate) type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

/// How hostNetwork pods are treated; the behaviour is implementation-defined upstream.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum HostNetworkSelection {
    /// The most common implementation: selectors never select hostNetwork pods (as subject or
    /// peer); their traffic carries the node's IP, which ipBlocks can match.
    #[default]
    NodeIdentity,
    /// Selectors match hostNetwork pods like any other pod.
    LikePods,
}

/// Whether ipBlock peers match pod IPs (the upstream conformance tests assume they do).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum IpBlockPodMatching {
    /// ipBlocks match pod IPs too (the default).
    #[default]
    Match,
    /// ipBlocks only match addresses outside the cluster's pods.
    Ignore,
}

/// How the engine reads what the specification leaves to implementations.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EngineOptions {
    /// How pod selectors treat hostNetwork pods.
    pub host_network: HostNetworkSelection,
    /// Whether ipBlocks match pod IPs.
    pub ip_block_pods: IpBlockPodMatching,
    /// The CNI's own rules: `Cilium` overrides the two choices above the way Cilium enforces.
    pub cni: CniProfile,
    /// Under the Cilium profile: whether the local host reaches its node's endpoints.
    pub cilium_allow_localhost: crate::cilium::AllowLocalhost,
}

impl EngineOptions {
    /// The options with the profile resolved for this cluster: `Auto` is Cilium when the input
    /// holds a Cilium policy. Under Cilium, ipBlocks never match in-cluster endpoints and
    /// hostNetwork pods are the host entity, never selected by selectors
    /// (https://docs.cilium.io/en/stable/security/policy/language/#ip-cidr-based).
    pub fn resolved(&self, cluster: &Cluster) -> EngineOptions {
        let cni = match self.cni {
            CniProfile::Auto if !cluster.cilium_policies.is_empty() => CniProfile::Cilium,
            CniProfile::Auto if cluster.calico.is_present() => CniProfile::Calico,
            CniProfile::Auto => CniProfile::Generic,
            other => other,
        };
        match cni {
            CniProfile::Cilium => EngineOptions {
                host_network: HostNetworkSelection::NodeIdentity,
                ip_block_pods: IpBlockPodMatching::Ignore,
                cni,
                ..*self
            },
            // Calico enforces on workload endpoints only (hostNetwork pods have none, so no
            // selector selects them) and matches nets by address, pods included.
            CniProfile::Calico => EngineOptions {
                host_network: HostNetworkSelection::NodeIdentity,
                ip_block_pods: IpBlockPodMatching::Match,
                cni,
                ..*self
            },
            _ => EngineOptions { cni, ..*self },
        }
    }
}

/// An endpoint of the reachability graph: `Cluster::pods[i]` or `Reachability::externals()[i]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Endpoint {
    /// A pod, by index into `Cluster::pods`.
    Pod(u32),
    /// An external range, by index into `Reachability::externals()`.
    External(u32),
}

/// Why one direction of a connection is allowed or not.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DirectionVerdict {
    /// The first Admin-tier rule that matched (Allow and Deny decide; Pass goes on).
    pub admin: Option<tiers::TierMatch>,
    /// Policies (indices into `Cluster::policies`) that isolate the endpoint in this direction.
    pub isolated_by: Vec<u32>,
    /// Every NetworkPolicy grant that covers the connection (or `NotIsolated`).
    pub allowed_by: Vec<GrantOrigin>,
    /// The first Baseline-tier rule that matched; it decides only for endpoints that no
    /// NetworkPolicy isolates.
    pub baseline: Option<tiers::TierMatch>,
    /// Cilium policies (indices into `Cluster::cilium_policies`) that put the endpoint in
    /// default deny in this direction; their allows are in `allowed_by`.
    pub cilium_isolated_by: Vec<u32>,
    /// Cilium deny rules covering the connection: it is denied whatever allows it.
    pub denied_by: Vec<GrantOrigin>,
    /// Under the Calico profile: the walk through Calico's tiers, which decides alone.
    pub calico: Option<crate::calico::tiers::CalicoTrace>,
}

/// What a row depends on: the egress, ingress and deny grant groups of a class, and the class
/// itself when a tier singles it out.
type RowKey<'a> = (&'a [u32], &'a [u32], &'a [u32], u32);

/// One thread's rows (destination class, combination) and the port-class combinations (bit
/// masks over port classes) it interned.
type RowsPart = (Vec<Box<[(u32, u32)]>>, Vec<Box<[u64]>>);

impl DirectionVerdict {
    /// Whether this direction allows the connection: the admin tier, then NetworkPolicy, then the baseline tier.
    pub fn allows(&self) -> bool {
        if let Some(trace) = &self.calico {
            return trace.allowed;
        }
        if !self.denied_by.is_empty() {
            return false;
        }
        match self.admin.map(|m| m.action) {
            Some(Action::Allow) => return true,
            Some(Action::Deny) => return false,
            _ => {}
        }
        if !self.isolated_by.is_empty() || !self.cilium_isolated_by.is_empty() {
            return !self.allowed_by.is_empty();
        }
        !matches!(self.baseline.map(|m| m.action), Some(Action::Deny))
    }

    /// The tier that decided.
    pub fn decider(&self) -> Decider {
        if self.calico.is_some() {
            return Decider::Calico;
        }
        if !self.denied_by.is_empty() {
            return Decider::CiliumDeny;
        }
        match self.admin.map(|m| m.action) {
            Some(Action::Allow | Action::Deny) => Decider::Admin,
            _ if !self.isolated_by.is_empty() || !self.cilium_isolated_by.is_empty() => Decider::NetworkPolicy,
            _ if matches!(self.baseline.map(|m| m.action), Some(Action::Allow | Action::Deny)) => Decider::Baseline,
            _ => Decider::Default,
        }
    }
}

/// Which tier decides one direction of a connection, in the order they are asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Decider {
    /// An Admin-tier rule that allows or denies.
    Admin,
    /// The NetworkPolicies and Cilium allow rules of the policies that isolate the endpoint.
    NetworkPolicy,
    /// A Cilium deny rule: it beats every allow.
    CiliumDeny,
    /// A Baseline-tier rule, for an endpoint no NetworkPolicy isolates.
    Baseline,
    /// Nothing: the endpoint is not isolated, so everything is allowed.
    Default,
    /// Calico's tiers (which hold NetworkPolicy and the admin tiers under the Calico profile).
    Calico,
}

/// Why a connection is allowed or not, per direction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Explanation {
    /// The source's side: its egress.
    pub egress: DirectionVerdict,
    /// The destination's side: its ingress.
    pub ingress: DirectionVerdict,
}

impl Explanation {
    /// Whether both directions allow the connection.
    pub fn allowed(&self) -> bool {
        self.egress.allows() && self.ingress.allows()
    }
}

/// What decides one source class's egress towards a destination ([`Reachability::egress_deciders`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EgressDeciders {
    /// The first Admin-tier rule that matched.
    pub admin: Option<tiers::TierMatch>,
    /// The first NetworkPolicy egress rule that allows it.
    pub first_rule: Option<RuleRef>,
    /// Some NetworkPolicy isolates the source for egress.
    pub isolated: bool,
    /// The first Baseline-tier rule that matched.
    pub baseline: Option<tiers::TierMatch>,
}

/// How one rule of an isolating policy fares against one connection: for `can`-style
/// explanations, including the closest miss when nothing allowed it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleEvaluation {
    /// Index into `Cluster::policies`.
    pub policy: u32,
    /// The direction of the rule.
    pub direction: Direction,
    /// Index of the rule within its direction.
    pub rule: u32,
    /// Per peer of the rule, whether it matches the other end; empty when the rule has no
    /// peers (it matches every peer).
    pub peers: Vec<bool>,
    /// Per port entry, whether it admits the port; empty when the rule has no ports.
    pub ports: Vec<bool>,
}

impl RuleEvaluation {
    /// Whether some peer matches the other end (every peer when the rule lists none).
    pub fn peer_matches(&self) -> bool {
        self.peers.is_empty() || self.peers.contains(&true)
    }

    /// Whether some port entry admits the port (every port when the rule lists none).
    pub fn port_matches(&self) -> bool {
        self.ports.is_empty() || self.ports.contains(&true)
    }

    /// Whether the rule allows the connection: a peer and a port both match.
    pub fn allows(&self) -> bool {
        self.peer_matches() && self.port_matches()
    }
}

/// Size figures of a computation, for summaries and benchmarks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EngineStats {
    /// Pods and external ranges.
    pub endpoints: usize,
    /// Equivalence classes of endpoints.
    pub classes: usize,
    /// Class-level grants.
    pub grants: usize,
    /// Port classes.
    pub port_classes: usize,
    /// Distinct rows: classes that reach the same destinations on the same ports share one.
    pub rows: usize,
    /// (destination class, ports) entries over all distinct rows: what the answer occupies.
    pub row_entries: usize,
    /// Wall-clock time of each phase of the computation.
    pub phases: EnginePhases,
}

/// Wall-clock time of the engine's phases, so benchmarks can say where the time went.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EnginePhases {
    /// Cutting the external address space into ranges.
    pub externals: Duration,
    /// Evaluating every selector into endpoint sets.
    pub select: Duration,
    /// Equivalence classes, grants, tier rules and port classes.
    pub classes: Duration,
    /// Every distinct row.
    pub rows: Duration,
}

/// How many endpoint pairs are connected, counted per class pair without expanding them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ConnectionCounts {
    /// Ordered pairs of distinct endpoints (not both external) with anything allowed.
    pub pairs: u64,
    /// The same, per protocol (TCP, UDP, SCTP): pairs with at least one port of it allowed.
    pub by_protocol: [u64; 3],
}

/// Grants of one direction grouped by their source classes, per port class: the row of a
/// source class is the union of the destination sets of the groups it belongs to.
struct DirectionIndex {
    groups: Vec<Vec<(u32, FixedBitSet)>>,
    groups_of_class: Vec<Vec<u32>>,
}

impl DirectionIndex {
    fn build<'g>(
        table: &GrantTable,
        grants: impl Iterator<Item = &'g grants::Grant>,
        port_classes: &PortClasses,
        class_count: usize,
    ) -> DirectionIndex {
        let mut group_of_sources: HashMap<u32, usize> = HashMap::default();
        let mut groups: Vec<HashMap<u32, FixedBitSet>> = Vec::new();
        let mut group_sources: Vec<u32> = Vec::new();
        for grant in grants {
            let g = *group_of_sources.entry(grant.sources).or_insert_with(|| {
                groups.push(HashMap::default());
                group_sources.push(grant.sources);
                groups.len() - 1
            });
            let dst = &table.class_sets[grant.destinations as usize];
            for &a in &port_classes.covering[grant.ports as usize] {
                groups[g].entry(a).or_insert_with(|| FixedBitSet::with_capacity(class_count)).union_with(dst);
            }
        }
        let mut groups_of_class = vec![Vec::new(); class_count];
        for (g, &sources) in group_sources.iter().enumerate() {
            for c in table.class_sets[sources as usize].ones() {
                groups_of_class[c].push(g as u32);
            }
        }
        let groups = groups
            .into_iter()
            .map(|m| {
                let mut v: Vec<(u32, FixedBitSet)> = m.into_iter().collect();
                v.sort_by_key(|(a, _)| *a);
                v
            })
            .collect();
        DirectionIndex { groups, groups_of_class }
    }

    /// Destinations per port class reachable from `class` in this direction.
    fn row(&self, class: usize, scratch: &mut [Option<FixedBitSet>], class_count: usize) {
        for &g in &self.groups_of_class[class] {
            for (a, dst) in &self.groups[g as usize] {
                scratch[*a as usize].get_or_insert_with(|| FixedBitSet::with_capacity(class_count)).union_with(dst);
            }
        }
    }
}

/// The computed reachability of a cluster, at class granularity; expanded to endpoints on
/// demand so memory follows the number of classes, not pods².
pub struct Reachability {
    pod_count: usize,
    externals: Vec<ExternalRange>,
    classes: Classes,
    table: GrantTable,
    tiers: tiers::Tiers,
    port_classes: PortClasses,
    /// Per distinct row: (destination class, index into `results`), sorted by destination.
    rows: Vec<Box<[(u32, u32)]>>,
    /// Per class: the index of its row in `rows`; classes that reach alike share one.
    row_of: Vec<u32>,
    phases: EnginePhases,
    results: Vec<PortSet>,
    profile: CniProfile,
}

impl Reachability {
    /// Runs the engine: selections, classes, grants and tiers, then every class-to-class row.
    pub fn compute(cluster: &Cluster, options: &EngineOptions) -> Reachability {
        let options = &options.resolved(cluster);
        let mut phases = EnginePhases::default();
        let mut clock = Instant::now();
        let mut lap = |phase: &mut Duration| {
            *phase = clock.elapsed();
            clock = Instant::now();
        };
        // Every address set a policy can name cuts the external address space.
        let node_blocks: Vec<crate::addresses::IpBlock> = if cluster.cluster_policies.iter().any(|p| {
            p.egress.iter().flat_map(|r| &r.peers).any(|peer| matches!(peer, crate::admin::ClusterPeer::Nodes(_)))
        }) {
            cluster.nodes.iter().flat_map(|n| &n.addresses).map(|ip| crate::addresses::IpBlock::host(*ip)).collect()
        } else {
            Vec::new()
        };
        // Infrastructure destinations a query names get ranges of their own, in the families
        // the cluster already has (a metadata address of a family no pod speaks reaches nothing);
        // so does the API server when a Cilium rule names the kube-apiserver entity.
        let apiserver_entity = crate::cilium::uses_entity(cluster, crate::cilium::Entity::KubeApiserver);
        let infra_blocks: Vec<crate::addresses::IpBlock> = cluster
            .infrastructure
            .iter()
            .filter(|d| {
                d.own_ranges || (apiserver_entity && d.destination == crate::infrastructure::Destination::KubeApiserver)
            })
            .flat_map(|d| &d.addresses)
            .map(|net| crate::addresses::IpBlock { cidr: *net, except: Vec::new() })
            .filter(|b| {
                cluster.pods.iter().flat_map(|p| &p.ips).any(|ip| IpFamily::of(ip) == b.family())
                    || (b.family() == IpFamily::V4 && cluster.pods.iter().all(|p| p.ips.is_empty()))
            })
            .collect();
        let blocks: Vec<&crate::addresses::IpBlock> = cluster
            .policies
            .iter()
            .flat_map(|p| p.ingress.iter().chain(&p.egress))
            .flat_map(|r| &r.peers)
            .filter_map(|peer| match peer {
                Peer::IpBlock(b) => Some(b),
                Peer::Pods { .. } => None,
            })
            .chain(
                cluster
                    .cluster_policies
                    .iter()
                    .flat_map(|p| p.ingress.iter().chain(&p.egress))
                    .flat_map(|r| &r.peers)
                    .filter_map(|peer| match peer {
                        crate::admin::ClusterPeer::Networks(blocks) => Some(blocks.iter()),
                        _ => None,
                    })
                    .flatten(),
            )
            .chain(node_blocks.iter())
            .chain(infra_blocks.iter())
            .chain(crate::cilium::cidrs(cluster))
            .chain(crate::calico::cidrs(cluster))
            .collect();
        let externals = externals::external_ranges(&blocks, &address_families(cluster, &blocks));
        lap(&mut phases.externals);
        let selections = selection::select(cluster, &externals, options);
        lap(&mut phases.select);
        let endpoint_count = cluster.pods.len() + externals.len();
        let classes = Classes::refine(endpoint_count, &selections.table.sets);
        let mut table = grants::build(cluster, &selections, &classes);
        let mut tiers = tiers::Tiers::build(cluster, &selections, &classes, &mut table);
        // Calico policies are evaluated in their tiers whatever the profile (as Cilium's are).
        if options.cni == CniProfile::Calico || !cluster.calico.policies.is_empty() {
            let calico = crate::calico::tiers::CalicoTiers::build(cluster, &selections, &classes, &mut table, &tiers);
            tiers.subjects.iter_mut().zip(&calico.subjects).for_each(|(all, c)| all.union_with(c));
            tiers.calico = Some(calico);
        }
        let port_classes = PortClasses::build(&table.port_sets);
        lap(&mut phases.classes);
        let mut reach = Reachability {
            pod_count: cluster.pods.len(),
            externals,
            classes,
            table,
            tiers,
            port_classes,
            rows: Vec::new(),
            row_of: Vec::new(),
            results: Vec::new(),
            phases,
            profile: options.cni,
        };
        reach.compute_rows();
        lap(&mut reach.phases.rows);
        reach
    }

    fn compute_rows(&mut self) {
        let c = self.classes.len();
        let of = |d: Direction| self.table.grants.iter().filter(move |g| g.direction == d);
        let egress = DirectionIndex::build(&self.table, of(Direction::Egress), &self.port_classes, c);
        let ingress = DirectionIndex::build(&self.table, of(Direction::Ingress), &self.port_classes, c);
        // Cilium denies, both directions at once: each is a rectangle of denied traffic.
        let deny = DirectionIndex::build(&self.table, self.table.denies.iter(), &self.port_classes, c);
        let a = self.port_classes.sets.len();
        let ingress_tiers = self.ingress_tier_columns();
        let (table, tiers, port_classes) = (&self.table, &self.tiers, &self.port_classes);
        // A row depends only on the grant groups a class is a source of, in both directions,
        // unless a tier rule (or a tier verdict on its ingress peers) singles the class out.
        let mut row_ids: HashMap<RowKey, u32> = HashMap::default();
        let mut representatives: Vec<u32> = Vec::new();
        self.row_of = (0..c)
            .map(|s| {
                let own = tiers.subjects[1].contains(s)
                    || ingress_tiers.as_ref().is_some_and(|(_, per_source)| per_source[s].iter().any(Option::is_some));
                let key = (
                    egress.groups_of_class[s].as_slice(),
                    ingress.groups_of_class[s].as_slice(),
                    deny.groups_of_class[s].as_slice(),
                    if own { s as u32 } else { u32::MAX },
                );
                *row_ids.entry(key).or_insert_with(|| {
                    representatives.push(s as u32);
                    representatives.len() as u32 - 1
                })
            })
            .collect();
        drop(row_ids);
        let mask_words = a.div_ceil(64).max(1);
        // Each thread interns the port-class combinations (bit masks) it meets; merged afterwards.
        let parts: Vec<RowsPart> = crate::parallel::map_ranges(representatives.len(), |rows_range| {
            let mut combos: HashMap<Box<[u64]>, u32> = HashMap::default();
            let mut combo_list: Vec<Box<[u64]>> = Vec::new();
            let mut rows = Vec::with_capacity(rows_range.len());
            let mut eg: Vec<Option<FixedBitSet>> = vec![None; a];
            let mut ing: Vec<Option<FixedBitSet>> = vec![None; a];
            let mut denied: Vec<Option<FixedBitSet>> = vec![None; a];
            let mut mask = vec![0u64; mask_words];
            let mut base = vec![0u64; mask_words];
            let mut last: Option<(Vec<u64>, u32)> = None;
            for &src in &representatives[rows_range] {
                let src = src as usize;
                egress.row(src, &mut eg, c);
                tiers.apply(Direction::Egress, src, table.isolated[1].contains(src), &mut eg, port_classes, c);
                ingress.row(src, &mut ing, c);
                if let Some((columns, per_source)) = &ingress_tiers {
                    // Destinations under cluster policies get their verdict from the tiers.
                    for k in 0..a {
                        if let Some(row) = &mut ing[k] {
                            row.difference_with(columns);
                        }
                        if let Some(extra) = &per_source[src][k] {
                            ing[k].get_or_insert_with(|| FixedBitSet::with_capacity(c)).union_with(extra);
                        }
                    }
                }
                deny.row(src, &mut denied, c);
                // Per port class, the destinations both sides allow and no deny covers.
                let mut allowed: Vec<(usize, FixedBitSet)> = Vec::new();
                for k in 0..a {
                    let denied_here = denied[k].take();
                    if let (Some(mut e), Some(i)) = (eg[k].take(), ing[k].take()) {
                        e.intersect_with(&i);
                        if let Some(d) = denied_here {
                            e.difference_with(&d);
                        }
                        if !e.is_clear() {
                            allowed.push((k, e));
                        }
                    }
                }
                // Transposed a block of 64 destinations at a time: each destination's port-class
                // mask comes out in destination order, with no per-pair allocation.
                // Port classes whose block holds every destination of the word set their bit for
                // all of them; only the others are tested bit by bit.
                let blocks: Vec<&[usize]> = allowed.iter().map(|(_, set)| set.as_slice()).collect();
                let mut row: Vec<(u32, u32)> = Vec::new();
                let mut partial: Vec<usize> = Vec::new();
                for w in 0..blocks.first().map_or(0, |b| b.len()) {
                    let mut any = blocks.iter().fold(0, |acc, b| acc | b[w]);
                    if any == 0 {
                        continue;
                    }
                    base.fill(0);
                    partial.clear();
                    for (j, block) in blocks.iter().enumerate() {
                        let k = allowed[j].0;
                        if block[w] == any {
                            base[k / 64] |= 1 << (k % 64);
                        } else if block[w] != 0 {
                            partial.push(j);
                        }
                    }
                    while any != 0 {
                        let bit = any.trailing_zeros();
                        any &= any - 1;
                        mask.copy_from_slice(&base);
                        for &j in &partial {
                            if blocks[j][w] >> bit & 1 != 0 {
                                let k = allowed[j].0;
                                mask[k / 64] |= 1 << (k % 64);
                            }
                        }
                        let id = match &last {
                            Some((m, id)) if *m == mask => *id,
                            _ => {
                                let id = *combos.entry(mask.clone().into_boxed_slice()).or_insert_with(|| {
                                    combo_list.push(mask.clone().into_boxed_slice());
                                    combo_list.len() as u32 - 1
                                });
                                last = Some((mask.clone(), id));
                                id
                            }
                        };
                        row.push(((w * usize::BITS as usize) as u32 + bit, id));
                    }
                }
                rows.push(row.into_boxed_slice());
            }
            (rows, combo_list)
        });
        let mut global: HashMap<Box<[u64]>, u32> = HashMap::default();
        for (rows, combo_list) in parts {
            let remap: Vec<u32> = combo_list
                .into_iter()
                .map(|combo| {
                    *global.entry(combo.clone()).or_insert_with(|| {
                        let mut set = PortSet::empty();
                        for k in (0..a).filter(|k| combo[k / 64] >> (k % 64) & 1 != 0) {
                            set.union_with(&self.port_classes.sets[k]);
                        }
                        self.results.push(set);
                        self.results.len() as u32 - 1
                    })
                })
                .collect();
            for mut row in rows {
                for entry in row.iter_mut() {
                    entry.1 = remap[entry.1 as usize];
                }
                self.rows.push(row);
            }
        }
    }

    /// For destinations that cluster policies apply to (ingress): their final verdicts,
    /// computed destination by destination, turned source-major: per source class and port
    /// class, the destinations that admit it. `None` without such policies.
    ///
    /// The destinations are taken one bitset word at a time (64 on 64-bit targets), their
    /// rows computed in parallel, and each 64×64 block of (destination, source) bits is
    /// transposed at once: one word write per source instead of one bit insert per pair.
    #[allow(clippy::type_complexity)]
    fn ingress_tier_columns(&self) -> Option<(FixedBitSet, Vec<Vec<Option<FixedBitSet>>>)> {
        let columns = &self.tiers.subjects[0];
        if columns.is_clear() {
            return None;
        }
        let (c, a) = (self.classes.len(), self.port_classes.sets.len());
        let mut per_source: Vec<Vec<Option<FixedBitSet>>> = vec![vec![None; a]; c];
        const BITS: usize = usize::BITS as usize;
        let source_words = c.div_ceil(BITS);
        let mut block = [0usize; BITS];
        for (dest_word, &bits) in columns.as_slice().iter().enumerate().filter(|(_, bits)| **bits != 0) {
            let dests: Vec<usize> = (0..BITS).filter(|j| bits >> j & 1 != 0).map(|j| dest_word * BITS + j).collect();
            let rows: Vec<Vec<Option<FixedBitSet>>> = crate::parallel::map(&dests, |&d| {
                let mut np = self.grant_row(Direction::Ingress, d);
                self.tiers.apply(
                    Direction::Ingress,
                    d,
                    self.table.isolated[0].contains(d),
                    &mut np,
                    &self.port_classes,
                    c,
                );
                np
            });
            for k in 0..a {
                if rows.iter().all(|row| row[k].is_none()) {
                    continue;
                }
                for w in 0..source_words {
                    block.fill(0);
                    for (d, row) in dests.iter().zip(&rows) {
                        if let Some(set) = &row[k] {
                            block[d % BITS] = set.as_slice()[w];
                        }
                    }
                    if block.iter().all(|&x| x == 0) {
                        continue;
                    }
                    transpose_words(&mut block);
                    for (i, &admitted_by) in block.iter().enumerate().filter(|(_, x)| **x != 0) {
                        let set = per_source[w * BITS + i][k].get_or_insert_with(|| FixedBitSet::with_capacity(c));
                        set.as_mut_slice()[dest_word] |= admitted_by;
                    }
                }
            }
        }
        Some((columns.clone(), per_source))
    }

    /// What the grants of `direction` whose local side (source for egress, destination for
    /// ingress) holds class `x` allow, per port class over peer classes: one class's
    /// NetworkPolicy row before the tiers.
    fn grant_row(&self, direction: Direction, x: usize) -> Vec<Option<FixedBitSet>> {
        let (c, a) = (self.classes.len(), self.port_classes.sets.len());
        let mut row: Vec<Option<FixedBitSet>> = vec![None; a];
        for g in self.table.grants.iter().filter(|g| g.direction == direction) {
            let (local, peer) = match direction {
                Direction::Egress => (g.sources, g.destinations),
                Direction::Ingress => (g.destinations, g.sources),
            };
            if self.table.class_sets[local as usize].contains(x) {
                for &k in &self.port_classes.covering[g.ports as usize] {
                    row[k as usize]
                        .get_or_insert_with(|| FixedBitSet::with_capacity(c))
                        .union_with(&self.table.class_sets[peer as usize]);
                }
            }
        }
        row
    }

    /// Classes whose traffic in `direction` a Calico tier's end-of-tier drop alone decides when
    /// nothing asked for it (see [`crate::calico::tiers::CalicoTiers::end_of_tier_drop`]), with
    /// the tier; `cluster` must be the cluster this was computed from. One tier walk per class
    /// some tier with default action Deny applies to, as computing its row did; spread over threads.
    pub fn calico_end_of_tier_drops(
        &self,
        cluster: &Cluster,
        direction: Direction,
    ) -> Vec<(usize, crate::calico::tiers::EndOfTierDrop)> {
        let Some(calico) = &self.tiers.calico else { return Vec::new() };
        let d = if direction == Direction::Ingress { 0 } else { 1 };
        let mut candidates = FixedBitSet::with_capacity(self.classes.len());
        calico.tiers.iter().filter(|t| !t.default_pass).for_each(|t| candidates.union_with(&t.applies[d]));
        let candidates: Vec<usize> = candidates.ones().collect();
        let (c, port_classes) = (self.classes.len(), &self.port_classes);
        crate::parallel::map(&candidates, |&x| {
            let isolated = self.table.isolated[d].contains(x);
            // The tiers read the NetworkPolicy row only of an isolated subject.
            let np = if isolated { self.grant_row(direction, x) } else { vec![None; port_classes.sets.len()] };
            calico.end_of_tier_drop(cluster, &self.tiers, direction, x, isolated, &np, port_classes, c).map(|e| (x, e))
        })
        .into_iter()
        .flatten()
        .collect()
    }

    /// The Calico tiers in evaluation order (empty when Calico's tiers were not built).
    pub fn calico_tier_names(&self) -> Vec<&str> {
        self.tiers.calico.as_ref().map_or_else(Vec::new, |c| c.tiers.iter().map(|t| t.name.as_str()).collect())
    }

    /// The CNI profile the answer was computed with (`Auto` resolved).
    pub fn profile(&self) -> CniProfile {
        self.profile
    }

    /// Cilium policies (indices) that put an endpoint in default deny in a direction.
    pub fn cilium_isolating(&self, endpoint: Endpoint, direction: Direction) -> Vec<u32> {
        self.cilium_isolating_class(self.class_of(endpoint), direction)
    }

    fn cilium_isolating_class(&self, class: usize, direction: Direction) -> Vec<u32> {
        let d = if direction == Direction::Ingress { 0 } else { 1 };
        (0..self.table.cilium_subjects.len())
            .filter(|&p| self.table.cilium_subjects[p].contains(class) && self.table.cilium_isolates[p][d])
            .map(|p| p as u32)
            .collect()
    }

    /// Cilium deny rules of one direction covering the pair, with the ports they deny.
    pub fn denies_between(&self, src: Endpoint, dst: Endpoint, direction: Direction) -> Vec<(GrantOrigin, &PortSet)> {
        self.rectangles_between(&self.table.denies, src, dst, direction)
    }

    /// The number of pods (the first endpoints).
    pub fn pod_count(&self) -> usize {
        self.pod_count
    }

    /// The external ranges, in endpoint order after the pods.
    pub fn externals(&self) -> &[ExternalRange] {
        &self.externals
    }

    /// Pods and external ranges.
    pub fn endpoint_count(&self) -> usize {
        self.pod_count + self.externals.len()
    }

    /// Endpoints in index order: pods (in `Cluster::pods` order), then external ranges.
    pub fn endpoint(&self, index: usize) -> Endpoint {
        if index < self.pod_count {
            Endpoint::Pod(index as u32)
        } else {
            Endpoint::External((index - self.pod_count) as u32)
        }
    }

    /// The index of an endpoint ([`Reachability::endpoint`] in reverse).
    pub fn index_of(&self, endpoint: Endpoint) -> usize {
        match endpoint {
            Endpoint::Pod(i) => i as usize,
            Endpoint::External(i) => self.pod_count + i as usize,
        }
    }

    /// Size figures of the computation.
    pub fn stats(&self) -> EngineStats {
        EngineStats {
            endpoints: self.endpoint_count(),
            classes: self.classes.len(),
            grants: self.table.grants.len(),
            port_classes: self.port_classes.sets.len(),
            rows: self.rows.len(),
            row_entries: self.rows.iter().map(|row| row.len()).sum(),
            phases: self.phases,
        }
    }

    /// Counts the connections `for_each_connection` would list, in time linear in the distinct
    /// rows: pair counts are linear in the source's size, so classes sharing a row add up first.
    pub fn count_connections(&self) -> ConnectionCounts {
        let sizes: Vec<(u64, u64)> = self
            .classes
            .members
            .iter()
            .map(|m| (m.len() as u64, m.iter().filter(|&&e| e as usize >= self.pod_count).count() as u64))
            .collect();
        let mut row_sizes = vec![(0u64, 0u64); self.rows.len()];
        for (class, &(n, e)) in sizes.iter().enumerate() {
            let r = &mut row_sizes[self.row_of(class)];
            *r = (r.0 + n, r.1 + e);
        }
        let protocols: Vec<[bool; 3]> =
            self.results.iter().map(|set| Protocol::ALL.map(|p| !set.ranges(p).is_empty())).collect();
        let mut counts = ConnectionCounts::default();
        let mut add = |n: u64, res: u32, sign_negative: bool| {
            let apply = |total: &mut u64| if sign_negative { *total -= n } else { *total += n };
            apply(&mut counts.pairs);
            for (k, has) in protocols[res as usize].iter().enumerate() {
                if *has {
                    apply(&mut counts.by_protocol[k]);
                }
            }
        };
        for (row, &(ns, es)) in self.rows.iter().zip(&row_sizes) {
            for &(d, res) in row.iter() {
                add(ordered_pairs((ns, es), sizes[d as usize], false), res, false);
            }
        }
        // A class in its own row: its endpoints are not paired with themselves.
        for (class, &(n, e)) in sizes.iter().enumerate() {
            let row = &self.rows[self.row_of(class)];
            if let Ok(i) = row.binary_search_by_key(&(class as u32), |entry| entry.0) {
                add(n - e, row[i].1, true);
            }
        }
        counts
    }

    /// The number of endpoint equivalence classes.
    pub fn class_count(&self) -> usize {
        self.classes.len()
    }

    /// Endpoint indices of one equivalence class, ascending.
    pub fn class_members(&self, class: usize) -> &[u32] {
        &self.classes.members[class]
    }

    /// Destination classes a class reaches, ascending, with what is allowed.
    pub fn class_row(&self, class: usize) -> impl Iterator<Item = (usize, &PortSet)> + '_ {
        self.rows[self.row_of(class)].iter().map(|&(d, res)| (d as usize, &self.results[res as usize]))
    }

    /// The row a class reads: classes with the same row id reach exactly the same destination
    /// classes on the same ports, so a query may work once per row instead of once per class.
    pub fn row_of(&self, class: usize) -> usize {
        self.row_of[class] as usize
    }

    /// The number of distinct rows (`row_of` maps classes onto `0..row_count()`).
    pub fn row_count(&self) -> usize {
        self.rows.len()
    }

    /// What one class allows to another, without cloning: `None` when nothing is allowed.
    pub fn class_allowed(&self, src_class: usize, dst_class: usize) -> Option<&PortSet> {
        let row = &self.rows[self.row_of(src_class)];
        row.binary_search_by_key(&(dst_class as u32), |e| e.0).ok().map(|i| &self.results[row[i].1 as usize])
    }

    /// The equivalence class of an endpoint; endpoints of one class are treated identically.
    pub fn class_of(&self, endpoint: Endpoint) -> usize {
        self.classes.class_of[self.index_of(endpoint)] as usize
    }

    /// What policy allows from `src` to `dst` (empty when denied). Traffic from a pod to itself
    /// is always allowed and is not a policy verdict; this returns the policy answer regardless.
    pub fn allowed(&self, src: Endpoint, dst: Endpoint) -> PortSet {
        self.class_allowed(self.class_of(src), self.class_of(dst)).cloned().unwrap_or_else(PortSet::empty)
    }

    /// Every allowed connection between distinct endpoints, except external-to-external, in
    /// (source index, destination index) order: `f(src, dst, ports)`.
    pub fn for_each_connection<E>(&self, mut f: impl FnMut(usize, usize, &PortSet) -> Result<(), E>) -> Result<(), E> {
        // Sorted destinations of the row last expanded: consecutive sources (replicas, pods of
        // one namespace) often read the same row, and sorting is the cost of a dense row.
        let mut dsts: Vec<(u32, u32)> = Vec::new();
        let mut expanded: Option<(usize, bool)> = None;
        for src in 0..self.endpoint_count() {
            let src_external = src >= self.pod_count;
            let row = self.row_of(self.classes.class_of[src] as usize);
            if expanded != Some((row, src_external)) {
                dsts.clear();
                for &(dc, res) in self.rows[row].iter() {
                    let members = &self.classes.members[dc as usize];
                    let members = if src_external {
                        &members[..members.partition_point(|&m| (m as usize) < self.pod_count)]
                    } else {
                        members
                    };
                    dsts.extend(members.iter().map(|&dst| (dst, res)));
                }
                dsts.sort_unstable();
                expanded = Some((row, src_external));
            }
            for &(dst, res) in &dsts {
                if dst as usize != src {
                    f(src, dst as usize, &self.results[res as usize])?;
                }
            }
        }
        Ok(())
    }

    /// The grants behind the verdict for one (protocol, port) between two endpoints.
    pub fn explain(&self, src: Endpoint, dst: Endpoint, protocol: Protocol, port: u16) -> Explanation {
        let (s, d) = (self.class_of(src), self.class_of(dst));
        let verdict = |direction: Direction, subject: Endpoint| {
            let isolated_by = self.isolating_policies(subject, direction);
            let allowed_by: Vec<GrantOrigin> = self
                .grants_between(src, dst, direction)
                .into_iter()
                .filter(|(_, ports)| ports.contains(protocol, port))
                .map(|(origin, _)| origin)
                .collect();
            let (subject_class, peer_class) = if direction == Direction::Egress { (s, d) } else { (d, s) };
            let tier =
                |t| self.tiers.first_match(t, direction, subject_class, peer_class, (protocol, port), &self.table);
            let denied_by = self
                .denies_between(src, dst, direction)
                .into_iter()
                .filter(|(_, ports)| ports.contains(protocol, port))
                .map(|(origin, _)| origin)
                .collect();
            let subject_class = if direction == Direction::Egress { s } else { d };
            let cilium_isolated_by = self.cilium_isolating_class(subject_class, direction);
            let calico = self.tiers.calico.as_ref().map(|c| {
                let dir = if direction == Direction::Ingress { 0 } else { 1 };
                let np_allows = allowed_by.iter().any(|o| !matches!(o, GrantOrigin::NotIsolated));
                let isolated = self.table.isolated[dir].contains(subject_class);
                c.trace(
                    &self.tiers,
                    direction,
                    subject_class,
                    peer_class,
                    (protocol, port),
                    isolated,
                    np_allows,
                    &self.table,
                )
            });
            DirectionVerdict {
                calico,
                admin: tier(Tier::Admin),
                isolated_by,
                allowed_by,
                baseline: tier(Tier::Baseline),
                cilium_isolated_by,
                denied_by,
            }
        };
        Explanation { egress: verdict(Direction::Egress, src), ingress: verdict(Direction::Ingress, dst) }
    }

    /// Every rule of every policy that isolates `src` for egress or `dst` for ingress, evaluated
    /// against one (protocol, port): which peers and port entries match. `cluster` must be the
    /// cluster this was computed from.
    pub fn evaluate_rules(
        &self,
        cluster: &Cluster,
        src: Endpoint,
        dst: Endpoint,
        protocol: Protocol,
        port: u16,
    ) -> Vec<RuleEvaluation> {
        let destination = match dst {
            Endpoint::Pod(i) => Some(&cluster.pods[i as usize]),
            Endpoint::External(_) => None,
        };
        let mut out = Vec::new();
        for (p, policy) in cluster.policies.iter().enumerate() {
            for direction in [Direction::Egress, Direction::Ingress] {
                let (dir, subject, other) = match direction {
                    Direction::Ingress => (0, dst, src),
                    Direction::Egress => (1, src, dst),
                };
                if !self.table.affects[p][dir] || !self.table.subjects[p].contains(self.class_of(subject)) {
                    continue;
                }
                let other_class = self.class_of(other);
                for (r, rule) in policy.rules(direction).iter().enumerate() {
                    let peers = self.table.peers[p][dir][r]
                        .iter()
                        .map(|&set| self.table.class_sets[set as usize].contains(other_class))
                        .collect();
                    let ports = rule.ports.iter().map(|entry| entry.matches(protocol, port, destination)).collect();
                    out.push(RuleEvaluation { policy: p as u32, direction, rule: r as u32, peers, ports });
                }
            }
        }
        out
    }

    /// Grants of one direction that cover the pair on some ports, with those ports.
    pub fn grants_between(&self, src: Endpoint, dst: Endpoint, direction: Direction) -> Vec<(GrantOrigin, &PortSet)> {
        self.rectangles_between(&self.table.grants, src, dst, direction)
    }

    /// The rectangles of `list` (grants or Cilium denies) of one direction covering the pair.
    fn rectangles_between<'a>(
        &'a self,
        list: &'a [grants::Grant],
        src: Endpoint,
        dst: Endpoint,
        direction: Direction,
    ) -> Vec<(GrantOrigin, &'a PortSet)> {
        let (s, d) = (self.class_of(src), self.class_of(dst));
        list.iter()
            .filter(|g| {
                g.direction == direction
                    && self.table.class_sets[g.sources as usize].contains(s)
                    && self.table.class_sets[g.destinations as usize].contains(d)
            })
            .map(|g| (g.origin, &self.table.port_sets[g.ports as usize]))
            .collect()
    }

    /// The egress side of [`Reachability::explain`], for many source classes towards one
    /// destination class on one port: the grants towards the destination are filtered once, so
    /// the cost per source class is the grants left, not every grant. Per source class: the
    /// first Admin-tier match, the first NetworkPolicy rule grant (in `allowed_by` order),
    /// whether a NetworkPolicy isolates it for egress, and the first Baseline-tier match.
    pub fn egress_deciders(
        &self,
        src_classes: &[usize],
        dst_class: usize,
        (protocol, port): (Protocol, u16),
    ) -> Vec<EgressDeciders> {
        let towards: Vec<&grants::Grant> = self
            .table
            .grants
            .iter()
            .filter(|g| {
                g.direction == Direction::Egress
                    && matches!(g.origin, GrantOrigin::Rule(r) if r.direction == Direction::Egress)
                    && self.table.class_sets[g.destinations as usize].contains(dst_class)
                    && self.table.port_sets[g.ports as usize].contains(protocol, port)
            })
            .collect();
        let mut isolated = FixedBitSet::with_capacity(self.classes.len());
        for (p, subjects) in self.table.subjects.iter().enumerate() {
            if self.table.affects[p][1] {
                isolated.union_with(subjects);
            }
        }
        let tier = |t, s| self.tiers.first_match(t, Direction::Egress, s, dst_class, (protocol, port), &self.table);
        src_classes
            .iter()
            .map(|&s| EgressDeciders {
                admin: tier(Tier::Admin, s),
                first_rule: towards.iter().find(|g| self.table.class_sets[g.sources as usize].contains(s)).and_then(
                    |g| match g.origin {
                        GrantOrigin::Rule(r) => Some(r),
                        _ => None,
                    },
                ),
                isolated: isolated.contains(s),
                baseline: tier(Tier::Baseline, s),
            })
            .collect()
    }

    /// Policies (indices) that isolate an endpoint in a direction.
    pub fn isolating_policies(&self, endpoint: Endpoint, direction: Direction) -> Vec<u32> {
        let dir = if direction == Direction::Ingress { 0 } else { 1 };
        let c = self.class_of(endpoint);
        (0..self.table.subjects.len())
            .filter(|&p| self.table.affects[p][dir] && self.table.subjects[p].contains(c))
            .map(|p| p as u32)
            .collect()
    }

    /// Shadowed cluster-policy rules and same-priority conflicts (see [`tiers::TierFindings`]).
    pub fn tier_findings(&self, cluster: &Cluster) -> tiers::TierFindings {
        self.tiers.findings(cluster, &self.table, &self.port_classes, self.classes.len())
    }

    /// Endpoints a Cilium policy selects (indices into `Cluster::cilium_policies`).
    pub fn cilium_selected_by(&self, policy: usize) -> Vec<usize> {
        self.expand(&self.table.cilium_subjects[policy])
    }

    /// Per Cilium deny rule `(policy, section, rule)`: whether some allow of its direction (a
    /// rule of any layer, or an endpoint left open) overlaps what it denies. A deny without
    /// overlap removes nothing from any answer.
    pub fn cilium_denies_overlapping_allows(
        &self,
    ) -> std::collections::BTreeMap<(u32, crate::cilium::Section, u32), bool> {
        let overlaps = |deny: &grants::Grant| {
            let (sources, destinations) =
                (&self.table.class_sets[deny.sources as usize], &self.table.class_sets[deny.destinations as usize]);
            let ports = &self.table.port_sets[deny.ports as usize];
            self.table.grants.iter().filter(|g| g.direction == deny.direction).any(|g| {
                !self.table.class_sets[g.sources as usize].is_disjoint(sources)
                    && !self.table.class_sets[g.destinations as usize].is_disjoint(destinations)
                    && !self.table.port_sets[g.ports as usize].intersection(ports).is_empty()
            })
        };
        let mut live = std::collections::BTreeMap::new();
        for deny in &self.table.denies {
            if let GrantOrigin::Cilium(r) = deny.origin {
                let entry = live.entry((r.policy, r.section, r.rule)).or_insert(false);
                *entry = *entry || overlaps(deny);
            }
        }
        live
    }

    /// Endpoints a policy selects (empty for a policy that selects no pod).
    pub fn selected_by(&self, policy: usize) -> Vec<usize> {
        self.expand(&self.table.subjects[policy])
    }

    /// Endpoints one peer of a rule matches.
    pub fn peer_members(&self, policy: usize, direction: Direction, rule: usize, peer: usize) -> Vec<usize> {
        let dir = if direction == Direction::Ingress { 0 } else { 1 };
        self.expand(&self.table.class_sets[self.table.peers[policy][dir][rule][peer] as usize])
    }

    fn expand(&self, classes: &FixedBitSet) -> Vec<usize> {
        let mut out: Vec<usize> =
            classes.ones().flat_map(|c| self.classes.members[c].iter().map(|&e| e as usize)).collect();
        out.sort_unstable();
        out
    }
}

/// Families that get external ranges: any family a pod address or an ipBlock uses; IPv4 when
/// nothing names an address at all. An IPv4-only cluster cannot reach the IPv6 internet.
fn address_families(cluster: &Cluster, blocks: &[&crate::addresses::IpBlock]) -> BTreeSet<IpFamily> {
    let mut families: BTreeSet<IpFamily> = cluster.pods.iter().flat_map(|p| &p.ips).map(IpFamily::of).collect();
    families.extend(blocks.iter().map(|b| b.family()));
    if families.is_empty() {
        families.insert(IpFamily::V4);
    }
    families
}

/// Transposes a square bit matrix of one word per row in place (row `r`, bit `b` ↔ row `b`,
/// bit `r`): swaps the off-diagonal halves, then quarters, down to single bits (Hacker's
/// Delight, §7-3).
fn transpose_words(m: &mut [usize; usize::BITS as usize]) {
    let mut j = usize::BITS as usize / 2;
    let mut mask = usize::MAX >> j;
    while j != 0 {
        let mut k = 0;
        while k < m.len() {
            let t = ((m[k] >> j) ^ m[k + j]) & mask;
            m[k] ^= t << j;
            m[k + j] ^= t;
            k = (k + j + 1) & !j;
        }
        j >>= 1;
        mask ^= mask << j;
    }
}
