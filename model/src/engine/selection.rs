//! Which endpoints each selector, ipBlock and named port picks out. Everything the policies can
//! observe about an endpoint is one of these sets, so they also define the equivalence classes.

use super::externals::ExternalRange;
use super::{EngineOptions, HostNetworkSelection, IpBlockPodMatching};
use crate::addresses::{IpBlock, IpFamily};
use crate::admin::{ClusterPeer, ClusterPort, ClusterSubject};
use crate::cluster::{Cluster, NAMESPACE_NAME_LABEL};
use crate::engine::HashMap;
use crate::labels::{LabelSelector, Labels};
use crate::networkpolicy::{Peer, PortSpec};
use crate::ports::Protocol;
use std::collections::BTreeMap;
use std::net::IpAddr;

/// An interned set of endpoint indices, sorted.
pub type SetId = u32;

/// Interns endpoint sets so equal sets share one [`SetId`].
#[derive(Default)]
pub struct SetTable {
    /// The sets, indexed by [`SetId`].
    pub sets: Vec<Vec<u32>>,
    index: HashMap<Vec<u32>, SetId>,
}

impl SetTable {
    /// The id of this set of endpoints (sorted and deduplicated first), adding it if new.
    pub fn intern(&mut self, mut members: Vec<u32>) -> SetId {
        members.sort_unstable();
        members.dedup();
        if let Some(&id) = self.index.get(&members) {
            return id;
        }
        let id = self.sets.len() as SetId;
        self.sets.push(members.clone());
        self.index.insert(members, id);
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
}

/// A peer as the cache keys it: pod selector, namespace (a rule's own), namespace selector.
type PeerKey<'a> = (Option<&'a LabelSelector>, Option<usize>, Option<&'a LabelSelector>);

/// Pods that selectors cannot tell apart share labels, namespace and selectability; evaluating
/// selectors once per such group instead of per pod keeps large replica sets cheap.
struct LabelGroup<'a> {
    namespace: usize,
    labels: &'a Labels,
    pods: Vec<u32>,
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
    for (name, labels) in defined.chain(referenced) {
        if !ns_index.contains_key(name) {
            let mut l: Labels = labels.cloned().unwrap_or_default();
            l.entry(NAMESPACE_NAME_LABEL.to_string()).or_insert_with(|| name.to_string());
            ns_index.insert(name, ns_labels.len());
            ns_labels.push(l);
        }
    }

    // Label groups per namespace, of selectable pods only.
    let selectable = |host_network: bool| !host_network || options.host_network == HostNetworkSelection::LikePods;
    let mut groups: Vec<LabelGroup> = Vec::new();
    let mut group_index: HashMap<(usize, &Labels), usize> = HashMap::default();
    let mut groups_in_ns: Vec<Vec<usize>> = vec![Vec::new(); ns_labels.len()];
    for (i, pod) in cluster.pods.iter().enumerate() {
        if !selectable(pod.host_network) {
            continue;
        }
        let ns = ns_index[pod.namespace.as_str()];
        let g = *group_index.entry((ns, &pod.labels)).or_insert_with(|| {
            groups.push(LabelGroup { namespace: ns, labels: &pod.labels, pods: Vec::new() });
            groups_in_ns[ns].push(groups.len() - 1);
            groups.len() - 1
        });
        groups[g].pods.push(i as u32);
    }
    let pods_matching = |namespaces: &[usize], selector: Option<&LabelSelector>| -> Vec<u32> {
        let mut out = Vec::new();
        for &ns in namespaces {
            for &g in &groups_in_ns[ns] {
                let group = &groups[g];
                debug_assert_eq!(group.namespace, ns);
                if selector.is_none_or(|s| s.matches(group.labels)) {
                    out.extend_from_slice(&group.pods);
                }
            }
        }
        out
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
    let mut peer_cache: HashMap<PeerKey, SetId> = HashMap::default();
    let mut block_cache: HashMap<&IpBlock, SetId> = HashMap::default();
    for policy in &cluster.policies {
        let own_ns = ns_index[policy.namespace.as_str()];
        subjects.push(table.intern(pods_matching(&[own_ns], Some(&policy.pod_selector))));
        let mut per_direction: [Vec<Vec<SetId>>; 2] = [Vec::new(), Vec::new()];
        for (d, rules) in [&policy.ingress, &policy.egress].into_iter().enumerate() {
            for rule in rules {
                let mut ids = Vec::with_capacity(rule.peers.len());
                for peer in &rule.peers {
                    let id = match peer {
                        Peer::Pods { pod_selector, namespace_selector } => {
                            let scope = if namespace_selector.is_none() { Some(own_ns) } else { None };
                            let key = (namespace_selector.as_ref(), scope, pod_selector.as_ref());
                            if let Some(&id) = peer_cache.get(&key) {
                                id
                            } else {
                                let namespaces: Vec<usize> = match namespace_selector {
                                    None => vec![own_ns],
                                    Some(sel) => (0..ns_labels.len()).filter(|&n| sel.matches(&ns_labels[n])).collect(),
                                };
                                let id = table.intern(pods_matching(&namespaces, pod_selector.as_ref()));
                                peer_cache.insert(key, id);
                                id
                            }
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
    let namespaces_matching =
        |sel: &LabelSelector| -> Vec<usize> { (0..ns_labels.len()).filter(|&n| sel.matches(&ns_labels[n])).collect() };
    let mut cluster_subjects = Vec::with_capacity(cluster.cluster_policies.len());
    let mut cluster_peers = Vec::with_capacity(cluster.cluster_policies.len());
    for policy in &cluster.cluster_policies {
        let subject = match &policy.subject {
            ClusterSubject::Namespaces(ns) => pods_matching(&namespaces_matching(ns), None),
            ClusterSubject::Pods { namespace_selector, pod_selector } => {
                pods_matching(&namespaces_matching(namespace_selector), Some(pod_selector))
            }
        };
        cluster_subjects.push(table.intern(subject));
        let mut per_direction: [Vec<Vec<SetId>>; 2] = [Vec::new(), Vec::new()];
        for (d, rules) in [&policy.ingress, &policy.egress].into_iter().enumerate() {
            for rule in rules {
                let ids = rule
                    .peers
                    .iter()
                    .map(|peer| {
                        let members = match peer {
                            ClusterPeer::Namespaces(ns) => pods_matching(&namespaces_matching(ns), None),
                            ClusterPeer::Pods { namespace_selector, pod_selector } => {
                                pods_matching(&namespaces_matching(namespace_selector), Some(pod_selector))
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
        .collect();
    for key in keys {
        let mut by_port: BTreeMap<u16, Vec<u32>> = BTreeMap::new();
        for (i, pod) in cluster.pods.iter().enumerate() {
            for port in pod.resolve_named_port(&key.0, key.1) {
                by_port.entry(port).or_default().push(i as u32);
            }
        }
        let sets = by_port.into_iter().map(|(port, members)| (port, table.intern(members))).collect();
        named_ports.insert(key, sets);
    }
    Selections { table, all, subjects, peers, named_ports, cluster_subjects, cluster_peers }
}

fn ip_value(ip: &IpAddr) -> u128 {
    match ip {
        IpAddr::V4(a) => u32::from(*a) as u128,
        IpAddr::V6(a) => u128::from(*a),
    }
}

fn ranges_contains(ranges: &crate::addresses::IpRanges, v: u128) -> bool {
    let iv = ranges.intervals();
    let i = iv.partition_point(|&(_, hi)| hi < v);
    i < iv.len() && iv[i].0 <= v
}
