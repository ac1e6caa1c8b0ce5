//! Which endpoints each selector, ipBlock and named port picks out. Everything the policies can
//! observe about an endpoint is one of these sets, so they also define the equivalence classes.

use super::externals::ExternalRange;
use super::{EngineOptions, HostNetworkSelection, IpBlockPodMatching};
use crate::addresses::{IpBlock, IpFamily};
use crate::admin::{ClusterPeer, ClusterPort, ClusterSubject};
use crate::cluster::{Cluster, NAMESPACE_NAME_LABEL};
use crate::engine::HashMap;
use crate::labels::{LabelSelector, Labels, Operator};
use crate::networkpolicy::{Peer, PortSpec};
use crate::ports::Protocol;
use fixedbitset::FixedBitSet;
use std::collections::BTreeMap;
use std::hash::BuildHasher;
use std::net::IpAddr;

/// An interned set of endpoint indices, sorted.
pub type SetId = u32;

/// Interns endpoint sets so equal sets share one [`SetId`].
#[derive(Default)]
pub struct SetTable {
    /// The sets, indexed by [`SetId`].
    pub sets: Vec<Vec<u32>>,
    /// A 64-bit hash of the members -> the sets with that hash (one, barring collisions).
    index: HashMap<u64, Vec<SetId>>,
    hasher: foldhash::fast::RandomState,
}

impl SetTable {
    /// The id of this set of endpoints (sorted and deduplicated first), adding it if new.
    pub fn intern(&mut self, mut members: Vec<u32>) -> SetId {
        // Selections mostly come out sorted already (pods are grouped in index order).
        if !members.is_sorted() {
            members.sort_unstable();
        }
        members.dedup();
        let hash = self.hasher.hash_one(members.as_slice());
        let ids = self.index.entry(hash).or_default();
        if let Some(&id) = ids.iter().find(|&&id| self.sets[id as usize] == members) {
            return id;
        }
        let id = self.sets.len() as SetId;
        ids.push(id);
        self.sets.push(members);
        id
    }
}

/// A named port key as used in rules: the name and the protocol of the entry.
pub type NamedPortKey = (String, Protocol);

/// The endpoint sets the grants are built from.
pub struct Selections {
    /// Every endpoint set the selections refer to.
    pub table: SetTable,
    /// The set of every endpoint.
    pub all: SetId,
    /// Per policy: the pods it selects.
    pub subjects: Vec<SetId>,
    /// Per policy, direction (0 ingress, 1 egress), rule, peer: the endpoints the peer matches.
    pub peers: Vec<[Vec<Vec<SetId>>; 2]>,
    /// Per named port key: port number -> endpoints that resolve the name to it.
    pub named_ports: HashMap<NamedPortKey, BTreeMap<u16, SetId>>,
    /// Per cluster policy: the pods it applies to.
    pub cluster_subjects: Vec<SetId>,
    /// Per cluster policy, direction (0 ingress, 1 egress), rule, peer: the endpoints matched.
    pub cluster_peers: Vec<[Vec<Vec<SetId>>; 2]>,
    /// Cilium subjects, peers and requirements.
    pub cilium: crate::cilium::select::CiliumSelections,
    /// Calico subjects and rule entities.
    pub calico: crate::calico::select::CalicoSelections,
}

mod index;

use index::{normalized, slice_in, KeySet, LabelIndex};

/// The empty selector: a peer without `podSelector` selects every pod of its namespaces.
static EVERYTHING: LabelSelector = LabelSelector { match_labels: BTreeMap::new(), match_expressions: Vec::new() };

/// Which namespaces a pod query covers: a policy's own, or those a namespace selector matches.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Scope {
    Own(u32),
    Selected(u32),
}

/// Selectors by content, normalized: equal selectors (up to requirement and value order) share
/// one id, so their memo entries are shared.
#[derive(Default)]
struct SelectorIds<'a> {
    raw: HashMap<&'a LabelSelector, u32>,
    normal: HashMap<LabelSelector, u32>,
    list: Vec<LabelSelector>,
}

impl<'a> SelectorIds<'a> {
    fn id(&mut self, selector: &'a LabelSelector) -> u32 {
        if let Some(&id) = self.raw.get(selector) {
            return id;
        }
        let n = normalized(selector);
        let next = self.list.len() as u32;
        let id = *self.normal.entry(n.clone()).or_insert(next);
        if id == next {
            self.list.push(n);
        }
        self.raw.insert(selector, id);
        id
    }
}

/// Per pod selector: the label groups it matches cluster-wide once that is cheaper than what
/// per-namespace evaluation has already spent (so it costs at most twice the cheaper way).
#[derive(Default)]
struct PodMemo {
    spent: usize,
    global: Option<Vec<u32>>,
}

/// Label groups (contiguous per namespace) with their index, and the selector memos.
struct Groups<'a> {
    /// Per group: its selectable pods, ascending.
    pods: Vec<Vec<u32>>,
    namespace_of: Vec<u32>,
    /// Per namespace: its groups, `start..end`.
    ranges: Vec<(u32, u32)>,
    index: LabelIndex<'a>,
    namespaces: LabelIndex<'a>,
    pod_selectors: SelectorIds<'a>,
    pod_memo: Vec<PodMemo>,
    namespace_selectors: SelectorIds<'a>,
    /// Per namespace selector id: the matching namespaces, ascending, and as a bitset.
    namespace_memo: Vec<Option<(Vec<u32>, FixedBitSet)>>,
    sets: HashMap<(Scope, u32), SetId>,
}

impl<'a> Groups<'a> {
    /// The namespaces a namespace selector matches, memoized per distinct selector.
    fn namespaces_matching(&mut self, selector: &'a LabelSelector) -> u32 {
        let id = self.namespace_selectors.id(selector);
        if self.namespace_memo.len() <= id as usize {
            self.namespace_memo.resize_with(id as usize + 1, || None);
        }
        if self.namespace_memo[id as usize].is_none() {
            let sel = &self.namespace_selectors.list[id as usize];
            let mut list = Vec::new();
            let all = (0, self.namespaces.len() as u32);
            self.namespaces.candidates(sel).collect_in(all, |n| self.namespaces.matches(sel, n), &mut list);
            let mut bits = FixedBitSet::with_capacity(self.namespaces.len());
            list.iter().for_each(|&n| bits.insert(n as usize));
            self.namespace_memo[id as usize] = Some((list, bits));
        }
        id
    }

    /// Appends the groups of namespace `ns` that pod selector `id` matches.
    fn groups_in(&mut self, id: u32, ns: u32, out: &mut Vec<u32>) {
        let range = self.ranges[ns as usize];
        let sel = &self.pod_selectors.list[id as usize];
        if sel.is_everything() {
            out.extend(range.0..range.1);
            return;
        }
        let memo = &mut self.pod_memo[id as usize];
        if let Some(global) = &memo.global {
            out.extend_from_slice(slice_in(global, range));
            return;
        }
        let candidates = self.index.candidates(sel);
        memo.spent += candidates.count_in(range);
        candidates.collect_in(range, |g| self.index.matches(sel, g), out);
        let everywhere = (0, self.index.len() as u32);
        if memo.spent >= candidates.count_in(everywhere) {
            let mut global = Vec::new();
            candidates.collect_in(everywhere, |g| self.index.matches(sel, g), &mut global);
            memo.global = Some(global);
        }
    }

    /// The endpoint set of pods `pod_selector` matches in `scope`, interned once per distinct query.
    fn pods(&mut self, table: &mut SetTable, scope: Scope, pod_selector: &'a LabelSelector) -> SetId {
        let id = self.pod_selectors.id(pod_selector);
        if self.pod_memo.len() <= id as usize {
            self.pod_memo.resize_with(id as usize + 1, PodMemo::default);
        }
        if let Some(&set) = self.sets.get(&(scope, id)) {
            return set;
        }
        let mut groups = Vec::new();
        match scope {
            Scope::Own(ns) => self.groups_in(id, ns, &mut groups),
            Scope::Selected(nsid) => {
                let (list, bits) = self.namespace_memo[nsid as usize].take().expect("namespaces memoized");
                match &self.pod_memo[id as usize].global {
                    // Walk the smaller side: the selector's groups, or the matched namespaces.
                    Some(global) if global.len() < list.len() * 8 => groups.extend(
                        global.iter().copied().filter(|&g| bits.contains(self.namespace_of[g as usize] as usize)),
                    ),
                    _ => list.iter().for_each(|&ns| self.groups_in(id, ns, &mut groups)),
                }
                self.namespace_memo[nsid as usize] = Some((list, bits));
            }
        }
        let mut members = Vec::with_capacity(groups.iter().map(|&g| self.pods[g as usize].len()).sum());
        for g in groups {
            members.extend_from_slice(&self.pods[g as usize]);
        }
        let set = table.intern(members);
        self.sets.insert((scope, id), set);
        set
    }

    /// Pods matching both selectors (`None`: the empty selector) across namespaces.
    fn selected(
        &mut self,
        table: &mut SetTable,
        namespaces: &'a LabelSelector,
        pods: Option<&'a LabelSelector>,
    ) -> SetId {
        let nsid = self.namespaces_matching(namespaces);
        self.pods(table, Scope::Selected(nsid), pods.unwrap_or(&EVERYTHING))
    }
}

/// Resolves every selector of the cluster's policies to endpoint sets, once per label group.
pub fn select(cluster: &Cluster, externals: &[ExternalRange], options: &EngineOptions) -> Selections {
    let pod_count = cluster.pods.len();
    let endpoint_count = pod_count + externals.len();
    let mut table = SetTable::default();
    let all = table.intern((0..endpoint_count as u32).collect());

    // Namespaces: defined ones plus any a pod or policy names (with only the name label).
    let mut ns_index: HashMap<&str, usize> = HashMap::default();
    let mut ns_labels: Vec<Labels> = Vec::new();
    let defined = cluster.namespaces.iter().map(|ns| (ns.name.as_str(), Some(&ns.labels)));
    let referenced = cluster
        .pods
        .iter()
        .map(|p| (p.namespace.as_str(), None))
        .chain(cluster.policies.iter().map(|p| (p.namespace.as_str(), None)));
    let mut last_name = None;
    for (name, labels) in defined.chain(referenced) {
        // Pods and policies come sorted by namespace: most names repeat the previous one.
        if last_name != Some(name) && !ns_index.contains_key(name) {
            let mut l: Labels = labels.cloned().unwrap_or_default();
            l.entry(NAMESPACE_NAME_LABEL.to_string()).or_insert_with(|| name.to_string());
            ns_index.insert(name, ns_labels.len());
            ns_labels.push(l);
        }
        last_name = Some(name);
    }

    let (pod_keys, namespace_keys) = selector_keys(cluster);
    // Label groups of selectable pods: pods selectors cannot tell apart (same namespace and
    // labels) are evaluated once. Consecutive pods (replicas, sorted by name) usually share one.
    let selectable = |host_network: bool| !host_network || options.host_network == HostNetworkSelection::LikePods;
    let mut first_seen: Vec<(usize, &Labels, Vec<u32>)> = Vec::new();
    // Sized up front: growing would hash every label map again.
    let mut group_index: HashMap<(usize, &Labels), usize> =
        HashMap::with_capacity_and_hasher(cluster.pods.len(), Default::default());
    let mut last: Option<(&str, usize, usize)> = None;
    for (i, pod) in cluster.pods.iter().enumerate() {
        if !selectable(pod.host_network) {
            continue;
        }
        let g = match last {
            Some((name, ns, g)) if name == pod.namespace && first_seen[g].1 == &pod.labels => {
                debug_assert_eq!(first_seen[g].0, ns);
                g
            }
            _ => {
                let ns = ns_index[pod.namespace.as_str()];
                *group_index.entry((ns, &pod.labels)).or_insert_with(|| {
                    first_seen.push((ns, &pod.labels, Vec::new()));
                    first_seen.len() - 1
                })
            }
        };
        first_seen[g].2.push(i as u32);
        last = Some((pod.namespace.as_str(), first_seen[g].0, g));
    }
    drop(group_index);
    // Renumber so each namespace's groups are contiguous: a namespace is then a range of ids.
    first_seen.sort_by_key(|(ns, _, _)| *ns);
    let mut ranges = vec![(0u32, 0u32); ns_labels.len()];
    for (g, (ns, _, _)) in first_seen.iter().enumerate().rev() {
        ranges[*ns] = (g as u32, if ranges[*ns].1 == 0 { g as u32 + 1 } else { ranges[*ns].1 });
    }
    let mut groups = Groups {
        namespace_of: first_seen.iter().map(|(ns, _, _)| *ns as u32).collect(),
        ranges,
        index: LabelIndex::new(first_seen.iter().map(|(_, l, _)| *l).collect(), pod_keys),
        pods: first_seen.into_iter().map(|(_, _, pods)| pods).collect(),
        namespaces: LabelIndex::new(ns_labels.iter().collect(), namespace_keys),
        pod_selectors: SelectorIds::default(),
        pod_memo: Vec::new(),
        namespace_selectors: SelectorIds::default(),
        namespace_memo: Vec::new(),
        sets: HashMap::default(),
    };

    // Addresses of pods, sorted per family, for ipBlock lookups.
    let mut pod_addrs: Vec<(IpFamily, u128, u32)> = Vec::new();
    for (i, pod) in cluster.pods.iter().enumerate() {
        for ip in &pod.ips {
            pod_addrs.push((IpFamily::of(ip), ip_value(ip), i as u32));
        }
    }
    pod_addrs.sort_unstable();
    // NetworkPolicy ipBlocks match pods by option; cluster policies' networks always do.
    let block_members = |block: &IpBlock, match_pods: bool| -> Vec<u32> {
        let ranges = block.to_ranges();
        let fam = ranges.family;
        let mut out = Vec::new();
        for &(lo, hi) in ranges.intervals().iter().filter(|_| match_pods) {
            let start = pod_addrs.partition_point(|&(f, v, _)| (f, v) < (fam, lo));
            for &(f, v, pod) in &pod_addrs[start..] {
                if f != fam || v > hi {
                    break;
                }
                out.push(pod);
            }
        }
        for (j, ext) in externals.iter().enumerate() {
            // Atoms are cut along every block's edges: one address decides for the whole atom.
            if ext.ranges.family == fam && ranges_contains(&ranges, ext.ranges.intervals()[0].0) {
                out.push((pod_count + j) as u32);
            }
        }
        out
    };

    let mut subjects = Vec::with_capacity(cluster.policies.len());
    let mut peers = Vec::with_capacity(cluster.policies.len());
    let mut block_cache: HashMap<&IpBlock, SetId> = HashMap::default();
    for policy in &cluster.policies {
        let own_ns = ns_index[policy.namespace.as_str()] as u32;
        subjects.push(groups.pods(&mut table, Scope::Own(own_ns), &policy.pod_selector));
        let mut per_direction: [Vec<Vec<SetId>>; 2] = [Vec::new(), Vec::new()];
        for (d, rules) in [&policy.ingress, &policy.egress].into_iter().enumerate() {
            for rule in rules {
                let mut ids = Vec::with_capacity(rule.peers.len());
                for peer in &rule.peers {
                    let id = match peer {
                        Peer::Pods { pod_selector, namespace_selector: None } => {
                            groups.pods(&mut table, Scope::Own(own_ns), pod_selector.as_ref().unwrap_or(&EVERYTHING))
                        }
                        Peer::Pods { pod_selector, namespace_selector: Some(ns) } => {
                            groups.selected(&mut table, ns, pod_selector.as_ref())
                        }
                        Peer::IpBlock(block) => {
                            if let Some(&id) = block_cache.get(block) {
                                id
                            } else {
                                let id = table
                                    .intern(block_members(block, options.ip_block_pods == IpBlockPodMatching::Match));
                                block_cache.insert(block, id);
                                id
                            }
                        }
                    };
                    ids.push(id);
                }
                per_direction[d].push(ids);
            }
        }
        peers.push(per_direction);
    }

    // Cluster-scoped policies: subjects and peers. hostNetwork pods are never selected by their
    // namespace or pod selectors (as for NetworkPolicy), but nodes and networks peers match them
    // by address.
    let mut cluster_subjects = Vec::with_capacity(cluster.cluster_policies.len());
    let mut cluster_peers = Vec::with_capacity(cluster.cluster_policies.len());
    for policy in &cluster.cluster_policies {
        cluster_subjects.push(match &policy.subject {
            ClusterSubject::Namespaces(ns) => groups.selected(&mut table, ns, None),
            ClusterSubject::Pods { namespace_selector, pod_selector } => {
                groups.selected(&mut table, namespace_selector, Some(pod_selector))
            }
        });
        let mut per_direction: [Vec<Vec<SetId>>; 2] = [Vec::new(), Vec::new()];
        for (d, rules) in [&policy.ingress, &policy.egress].into_iter().enumerate() {
            for rule in rules {
                let ids = rule
                    .peers
                    .iter()
                    .map(|peer| {
                        let members = match peer {
                            ClusterPeer::Namespaces(ns) => return groups.selected(&mut table, ns, None),
                            ClusterPeer::Pods { namespace_selector, pod_selector } => {
                                return groups.selected(&mut table, namespace_selector, Some(pod_selector))
                            }
                            ClusterPeer::Nodes(sel) => cluster
                                .nodes
                                .iter()
                                .filter(|n| sel.matches(&n.labels))
                                .flat_map(|n| &n.addresses)
                                .flat_map(|ip| block_members(&IpBlock::host(*ip), true))
                                .collect(),
                            ClusterPeer::Networks(blocks) => {
                                blocks.iter().flat_map(|b| block_members(b, true)).collect()
                            }
                            ClusterPeer::DomainNames(_) => Vec::new(),
                        };
                        table.intern(members)
                    })
                    .collect();
                per_direction[d].push(ids);
            }
        }
        cluster_peers.push(per_direction);
    }

    // Named ports: only pods declare container ports, so only pods resolve them.
    let mut named_ports: HashMap<NamedPortKey, BTreeMap<u16, SetId>> = HashMap::default();
    let keys: std::collections::BTreeSet<NamedPortKey> = cluster
        .policies
        .iter()
        .flat_map(|p| p.ingress.iter().chain(&p.egress))
        .flat_map(|r| &r.ports)
        .filter_map(|e| match &e.port {
            Some(PortSpec::Name(n)) => Some((n.clone(), e.protocol)),
            _ => None,
        })
        .chain(
            // A cluster policy's named port names no protocol: it resolves under any of them.
            cluster
                .cluster_policies
                .iter()
                .flat_map(|p| p.ingress.iter().chain(&p.egress))
                .flat_map(|r| r.ports.iter().flatten())
                .filter_map(|p| match p {
                    ClusterPort::Named(n) => Some(n),
                    _ => None,
                })
                .flat_map(|n| Protocol::ALL.map(|proto| (n.clone(), proto))),
        )
        .chain(crate::cilium::select::named_port_keys(cluster))
        .chain(crate::calico::select::named_port_keys(cluster))
        .collect();
    // One pass over the pods' ports instead of one per key: a port resolves a key when its name
    // and protocol are the key's (`Pod::resolve_named_port`).
    let keys: Vec<NamedPortKey> = keys.into_iter().collect();
    let key_of: HashMap<(&str, Protocol), usize> =
        keys.iter().enumerate().map(|(k, (name, proto))| ((name.as_str(), *proto), k)).collect();
    let mut by_port: Vec<BTreeMap<u16, Vec<u32>>> = vec![BTreeMap::new(); keys.len()];
    if !keys.is_empty() {
        for (i, pod) in cluster.pods.iter().enumerate() {
            for port in &pod.ports {
                if let Some(&k) = port.name.as_deref().and_then(|name| key_of.get(&(name, port.protocol))) {
                    by_port[k].entry(port.port).or_default().push(i as u32);
                }
            }
        }
    }
    drop(key_of);
    for (key, by_port) in keys.into_iter().zip(by_port) {
        let sets = by_port.into_iter().map(|(port, members)| (port, table.intern(members))).collect();
        named_ports.insert(key, sets);
    }
    let cilium = crate::cilium::select::select(cluster, externals, options, &mut table);
    let calico = crate::calico::select::select(cluster, externals, &mut table);
    Selections { table, all, subjects, peers, named_ports, cluster_subjects, cluster_peers, cilium, calico }
}

/// The label keys pod selectors and namespace selectors test with a posting list (matchLabels,
/// `In`, `Exists`): only those are indexed.
fn selector_keys(cluster: &Cluster) -> (KeySet<'_>, KeySet<'_>) {
    let (mut pods, mut namespaces) = (KeySet::default(), KeySet::default());
    fn add<'a>(keys: &mut KeySet<'a>, selector: Option<&'a LabelSelector>) {
        let Some(s) = selector else { return };
        keys.extend(s.match_labels.keys().map(String::as_str));
        keys.extend(
            s.match_expressions
                .iter()
                .filter(|r| matches!(r.operator, Operator::In | Operator::Exists))
                .map(|r| r.key.as_str()),
        );
    }
    for policy in &cluster.policies {
        add(&mut pods, Some(&policy.pod_selector));
        for peer in policy.ingress.iter().chain(&policy.egress).flat_map(|r| &r.peers) {
            if let Peer::Pods { pod_selector, namespace_selector } = peer {
                add(&mut pods, pod_selector.as_ref());
                add(&mut namespaces, namespace_selector.as_ref());
            }
        }
    }
    for policy in &cluster.cluster_policies {
        let peers = policy.ingress.iter().chain(&policy.egress).flat_map(|r| &r.peers);
        let selectors = peers
            .filter_map(|peer| match peer {
                ClusterPeer::Namespaces(ns) => Some((ns, None)),
                ClusterPeer::Pods { namespace_selector, pod_selector } => {
                    Some((namespace_selector, Some(pod_selector)))
                }
                _ => None,
            })
            .chain(std::iter::once(match &policy.subject {
                ClusterSubject::Namespaces(ns) => (ns, None),
                ClusterSubject::Pods { namespace_selector, pod_selector } => (namespace_selector, Some(pod_selector)),
            }));
        for (ns, pod) in selectors {
            add(&mut namespaces, Some(ns));
            add(&mut pods, pod);
        }
    }
    (pods, namespaces)
}

fn ip_value(ip: &IpAddr) -> u128 {
    match ip {
        IpAddr::V4(a) => u32::from(*a) as u128,
        IpAddr::V6(a) => u128::from(*a),
    }
}

pub(crate) fn ranges_contains(ranges: &crate::addresses::IpRanges, v: u128) -> bool {
    let iv = ranges.intervals();
    let i = iv.partition_point(|&(_, hi)| hi < v);
    i < iv.len() && iv[i].0 <= v
}

#[cfg(test)]
mod tests {
    //! The index and memos against a per-pod evaluation of the same selectors.
    use super::*;
    use crate::cluster::{Namespace, Pod};
    use crate::labels::Requirement;
    use crate::networkpolicy::{NetworkPolicy, Rule};
    use crate::rng::SplitMix64;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn expr(key: &str, op: &str, values: &[&str]) -> Requirement {
        Requirement::new(key, op, values.iter().map(|v| v.to_string()).collect()).unwrap()
    }

    /// The namespaces' labels as `select` sees them: defined ones, or only the name label.
    fn namespace_labels(cluster: &Cluster, name: &str) -> Labels {
        let defined = cluster.namespaces.iter().find(|ns| ns.name == name).map(|ns| ns.labels.clone());
        defined.unwrap_or_else(|| labels(&[(NAMESPACE_NAME_LABEL, name)]))
    }

    /// Pods a peer selects, one pod at a time.
    fn expected(
        cluster: &Cluster,
        options: &EngineOptions,
        own: &str,
        namespaces: Option<&LabelSelector>,
        pods: Option<&LabelSelector>,
    ) -> Vec<u32> {
        let pods_ok = |p: &Pod| pods.is_none_or(|s| s.matches(&p.labels));
        let ns_ok = |p: &Pod| match namespaces {
            None => p.namespace == own,
            Some(s) => s.matches(&namespace_labels(cluster, &p.namespace)),
        };
        let selectable = |p: &Pod| !p.host_network || options.host_network == HostNetworkSelection::LikePods;
        (0..cluster.pods.len() as u32)
            .filter(|&i| {
                let p = &cluster.pods[i as usize];
                selectable(p) && ns_ok(p) && pods_ok(p)
            })
            .collect()
    }

    /// Every subject and pod peer of every policy equals the per-pod evaluation.
    fn check(cluster: &Cluster) {
        for host_network in [HostNetworkSelection::NodeIdentity, HostNetworkSelection::LikePods] {
            let options = EngineOptions { host_network, ..Default::default() };
            let s = select(cluster, &[], &options);
            let set = |id: SetId| s.table.sets[id as usize].clone();
            for (p, policy) in cluster.policies.iter().enumerate() {
                let own = policy.namespace.as_str();
                let subject = expected(cluster, &options, own, None, Some(&policy.pod_selector));
                assert_eq!(set(s.subjects[p]), subject, "subject of {}", policy.name);
                for (d, rules) in [&policy.ingress, &policy.egress].into_iter().enumerate() {
                    for (r, rule) in rules.iter().enumerate() {
                        for (k, peer) in rule.peers.iter().enumerate() {
                            let id = s.peers[p][d][r][k];
                            match peer {
                                Peer::Pods { pod_selector, namespace_selector } => {
                                    let want = expected(
                                        cluster,
                                        &options,
                                        own,
                                        namespace_selector.as_ref(),
                                        pod_selector.as_ref(),
                                    );
                                    assert_eq!(set(id), want, "{} rule {r} peer {k}: {peer:?}", policy.name);
                                }
                                Peer::IpBlock(_) => {}
                            }
                        }
                    }
                }
            }
        }
    }

    fn policy(ns: &str, name: &str, subject: LabelSelector, peers: Vec<Peer>) -> NetworkPolicy {
        NetworkPolicy {
            namespace: ns.into(),
            name: name.into(),
            pod_selector: subject,
            policy_types: None,
            ingress: vec![Rule { peers, ports: Vec::new() }],
            egress: Vec::new(),
        }
    }

    fn peer(pods: Option<LabelSelector>, namespaces: Option<LabelSelector>) -> Peer {
        Peer::Pods { pod_selector: pods, namespace_selector: namespaces }
    }

    #[test]
    fn edge_cases_match_per_pod_evaluation() {
        let mut host = Pod::new("a", "host", labels(&[("app", "web")]));
        host.host_network = true;
        let with_ip = |mut p: Pod, ip: &str| {
            p.ips = vec![ip.parse().unwrap()];
            p
        };
        let cluster = Cluster {
            namespaces: vec![
                Namespace::new("a", labels(&[("env", "prod")])),
                Namespace::new("b", labels(&[("env", "dev")])),
            ],
            pods: vec![
                // Same labels in two namespaces: two groups; pods of one group not adjacent.
                with_ip(Pod::new("b", "web-1", labels(&[("app", "web")])), "10.0.0.1"),
                Pod::new("a", "web-1", labels(&[("app", "web")])),
                Pod::new("a", "db", labels(&[("app", "db"), ("tier", "data")])),
                Pod::new("b", "web-2", labels(&[("app", "web")])),
                Pod::new("a", "bare", Labels::new()),
                host,
                // A namespace nobody defined: only its name label.
                Pod::new("c", "web", labels(&[("app", "web"), ("tier", "front")])),
            ],
            policies: vec![
                policy(
                    "a",
                    "empty",
                    LabelSelector::everything(),
                    vec![
                        peer(None, None),
                        peer(Some(LabelSelector::everything()), None),
                        peer(None, Some(LabelSelector::everything())),
                        peer(Some(LabelSelector::from_labels([("app", "web")])), Some(LabelSelector::everything())),
                        Peer::IpBlock(IpBlock::parse("10.0.0.0/8", &[]).unwrap()),
                    ],
                ),
                policy(
                    "b",
                    "expressions",
                    LabelSelector { match_labels: Labels::new(), match_expressions: vec![expr("app", "In", &["web"])] },
                    ["In", "NotIn", "Exists", "DoesNotExist"]
                        .into_iter()
                        .flat_map(|op| {
                            let values: &[&str] = if op.ends_with("In") { &["data", "front"] } else { &[] };
                            let s = LabelSelector {
                                match_labels: Labels::new(),
                                match_expressions: vec![expr("tier", op, values)],
                            };
                            [peer(Some(s.clone()), None), peer(Some(s.clone()), Some(LabelSelector::everything()))]
                        })
                        .chain([
                            // Same selector, requirements and values in another order: one memo entry.
                            peer(
                                Some(LabelSelector {
                                    match_labels: labels(&[("app", "web")]),
                                    match_expressions: vec![
                                        expr("tier", "In", &["front", "data"]),
                                        expr("x", "DoesNotExist", &[]),
                                    ],
                                }),
                                Some(LabelSelector::everything()),
                            ),
                            peer(
                                Some(LabelSelector {
                                    match_labels: labels(&[("app", "web")]),
                                    match_expressions: vec![
                                        expr("x", "DoesNotExist", &[]),
                                        expr("tier", "In", &["data", "front"]),
                                    ],
                                }),
                                Some(LabelSelector::everything()),
                            ),
                            // Namespace selectors: by label, by name, by a label nobody has, NotIn.
                            peer(None, Some(LabelSelector::from_labels([("env", "prod")]))),
                            peer(None, Some(LabelSelector::from_labels([(NAMESPACE_NAME_LABEL, "c")]))),
                            peer(None, Some(LabelSelector::from_labels([("missing", "x")]))),
                            peer(
                                Some(LabelSelector::from_labels([("app", "web")])),
                                Some(LabelSelector {
                                    match_labels: Labels::new(),
                                    match_expressions: vec![expr("env", "NotIn", &["prod"])],
                                }),
                            ),
                            peer(Some(LabelSelector::from_labels([("app", "nope")])), None),
                        ])
                        .collect(),
                ),
            ],
            ..Default::default()
        };
        check(&cluster);
        // hostNetwork pods are selected only LikePods; ipBlocks reach pods by address, and pod
        // selectors never select the external ranges.
        let s = select(&cluster, &[], &EngineOptions::default());
        assert!(!s.table.sets[s.subjects[0] as usize].contains(&5), "hostNetwork pod selected by default");
        assert_eq!(s.table.sets[s.peers[0][0][0][4] as usize], vec![0]);
    }

    /// Random clusters: few label values (so selectors overlap), namespaces interleaved in pod
    /// order, defined and undefined namespaces, hostNetwork pods, every operator.
    #[test]
    fn random_selections_match_per_pod_evaluation() {
        let keys = ["app", "tier", "env"];
        let values = ["a", "b", "c"];
        let ns_names = ["n0", "n1", "n2", "n3"];
        for seed in 0..300 {
            let mut rng = SplitMix64::from_state(seed);
            let random_labels = |rng: &mut SplitMix64| -> Labels {
                let mut l = Labels::new();
                for k in keys {
                    if rng.chance(60) {
                        l.insert(k.to_string(), rng.pick(&values).to_string());
                    }
                }
                l
            };
            let random_selector = |rng: &mut SplitMix64| -> LabelSelector {
                let mut s = LabelSelector::everything();
                for _ in 0..rng.below(3) {
                    let key = *rng.pick(&keys);
                    match rng.below(5) {
                        0 => {
                            s.match_labels.insert(key.into(), rng.pick(&values).to_string());
                        }
                        n => {
                            let op = ["In", "NotIn", "Exists", "DoesNotExist"][n - 1];
                            let vals: Vec<&str> = if op.ends_with("In") {
                                (0..1 + rng.below(3)).map(|_| *rng.pick(&values)).collect()
                            } else {
                                Vec::new()
                            };
                            s.match_expressions.push(expr(key, op, &vals));
                        }
                    }
                }
                s
            };
            let mut namespaces = Vec::new();
            for n in &ns_names[..3] {
                if rng.chance(80) {
                    namespaces.push(Namespace::new(n, random_labels(&mut rng)));
                }
            }
            let pods = (0..rng.range(1, 30))
                .map(|i| {
                    let mut p = Pod::new(ns_names[rng.below(4)], &format!("p{i}"), random_labels(&mut rng));
                    p.host_network = rng.chance(10);
                    p
                })
                .collect();
            let policies = (0..rng.range(1, 6))
                .map(|i| {
                    let peers = (0..rng.range(1, 5))
                        .map(|_| {
                            let pods = rng.chance(70).then(|| random_selector(&mut rng));
                            let namespaces = rng.chance(60).then(|| random_selector(&mut rng));
                            peer(pods, namespaces)
                        })
                        .collect();
                    policy(ns_names[rng.below(4)], &format!("p{i}"), random_selector(&mut rng), peers)
                })
                .collect();
            check(&Cluster { namespaces, pods, policies, ..Default::default() });
        }
    }
}
