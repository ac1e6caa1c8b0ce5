//! Endpoint sets of Cilium subjects and peers. Selectors are evaluated over the Cilium label
//! view once per group of pods Cilium cannot tell apart (namespace, service account, labels),
//! memoized per distinct selector; entities and CIDRs become sets of pods and external ranges.

use super::labels::endpoint_labels;
use super::{CiliumPeer, CiliumSubject, Entity, Section};
use crate::addresses::IpFamily;
use crate::cluster::Cluster;
use crate::engine::externals::ExternalRange;
use crate::engine::selection::{ranges_contains, SetId, SetTable};
use crate::engine::HashMap;
use crate::labels::{LabelSelector, Labels};

/// The sets the Cilium grants are built from.
#[derive(Default)]
pub struct CiliumSelections {
    /// Per Cilium policy: the endpoints it selects.
    pub subjects: Vec<SetId>,
    /// Per policy, section ([`Section::ALL`] order), rule, peer: the endpoints matched.
    pub peers: Vec<[Vec<Vec<SetId>>; 4]>,
    /// Per policy and section: the endpoints every `fromRequires`/`toRequires` selector of
    /// the section matches; `None` without requirements. Cilium keeps allow and deny
    /// requirements apart (pkg/policy/rule.go).
    pub requires: Vec<[Option<SetId>; 4]>,
    /// Per policy naming the `host` or `remote-node` entity (else empty): its subject cut by
    /// node, each part with the host endpoints of its own node and of every other node.
    pub node_parts: Vec<Vec<NodePart>>,
    /// Under allow-localhost, per node with hostNetwork pods: (those pods, the other pods on
    /// the node), the second reachable from the first whatever the allow rules say.
    pub localhost: Vec<(SetId, SetId)>,
}

/// The endpoints a policy selects on one node, and what `host` and `remote-node` are for them.
/// https://docs.cilium.io/en/stable/security/policy/language/#entities-based: `host` is the
/// local host (hostNetwork pods on the selected endpoint's node), `remote-node` any other node.
#[derive(Clone, Copy, Debug)]
pub struct NodePart {
    /// The selected endpoints on that node (or with no known node).
    pub subject: SetId,
    /// The hostNetwork pods on the same node: none when the node is unknown.
    pub host: SetId,
    /// The hostNetwork pods on any other node (every one when the node is unknown).
    pub remote_node: SetId,
}

/// Per node with hostNetwork pods: those pods and the other pods scheduled there.
fn local_hosts(cluster: &Cluster, table: &mut SetTable) -> Vec<(SetId, SetId)> {
    let mut by_node: std::collections::BTreeMap<&str, (Vec<u32>, Vec<u32>)> = Default::default();
    for (i, pod) in cluster.pods.iter().enumerate() {
        if let Some(node) = pod.node.as_deref() {
            let (hosts, endpoints) = by_node.entry(node).or_default();
            if pod.host_network { hosts } else { endpoints }.push(i as u32);
        }
    }
    by_node
        .into_values()
        .filter(|(hosts, endpoints)| !hosts.is_empty() && !endpoints.is_empty())
        .map(|(hosts, endpoints)| (table.intern(hosts), table.intern(endpoints)))
        .collect()
}

/// Cuts a subject by node: per node (`None`: pods with no `spec.nodeName`), its members there and
/// the host / remote-node endpoints as they see them.
fn node_parts(cluster: &Cluster, subject: &[u32], table: &mut SetTable) -> Vec<NodePart> {
    let mut by_node: std::collections::BTreeMap<Option<&str>, Vec<u32>> = Default::default();
    for &m in subject.iter().filter(|&&m| (m as usize) < cluster.pods.len()) {
        by_node.entry(cluster.pods[m as usize].node.as_deref()).or_default().push(m);
    }
    let host_network = || cluster.pods.iter().enumerate().filter(|(_, p)| p.host_network);
    by_node
        .into_iter()
        .map(|(node, members)| {
            let local = |p: &crate::cluster::Pod| node.is_some() && p.node.as_deref() == node;
            let host: Vec<u32> = host_network().filter(|(_, p)| local(p)).map(|(i, _)| i as u32).collect();
            let remote: Vec<u32> = host_network().filter(|(_, p)| !local(p)).map(|(i, _)| i as u32).collect();
            NodePart { subject: table.intern(members), host: table.intern(host), remote_node: table.intern(remote) }
        })
        .collect()
}

/// Pods Cilium gives identity labels to (every pod but hostNetwork ones), grouped.
struct Groups {
    views: Vec<Labels>,
    members: Vec<Vec<u32>>,
    /// Label key → value → the groups whose view has it, ascending: a selector with an equality
    /// (matchLabels, or In) tests only the groups that have it. Namespaced policies' selectors
    /// all name their namespace, so each tests its own namespace's groups, not the cluster's.
    postings: HashMap<String, HashMap<String, Vec<u32>>>,
}

impl Groups {
    fn new(cluster: &Cluster) -> Groups {
        let namespace_labels: HashMap<&str, &Labels> =
            cluster.namespaces.iter().map(|n| (n.name.as_str(), &n.labels)).collect();
        let mut index: HashMap<(&str, &str, &Labels), usize> = HashMap::default();
        let mut groups = Groups { views: Vec::new(), members: Vec::new(), postings: HashMap::default() };
        let empty = Labels::new();
        for (i, pod) in cluster.pods.iter().enumerate().filter(|(_, p)| !p.host_network) {
            let key = (pod.namespace.as_str(), pod.service_account.as_str(), &pod.labels);
            let g = *index.entry(key).or_insert_with(|| {
                let mut ns = namespace_labels.get(pod.namespace.as_str()).copied().unwrap_or(&empty).clone();
                ns.entry(crate::cluster::NAMESPACE_NAME_LABEL.into()).or_insert_with(|| pod.namespace.clone());
                groups.views.push(endpoint_labels(pod, &ns));
                groups.members.push(Vec::new());
                groups.views.len() - 1
            });
            groups.members[g].push(i as u32);
        }
        for (g, view) in groups.views.iter().enumerate() {
            for (k, v) in view {
                groups.postings.entry(k.clone()).or_default().entry(v.clone()).or_default().push(g as u32);
            }
        }
        groups
    }

    /// The groups that have `key=value`.
    fn posting(&self, key: &str, value: &str) -> &[u32] {
        self.postings.get(key).and_then(|values| values.get(value)).map_or(&[], Vec::as_slice)
    }

    /// The fewest groups a selector can match, ascending: those with its rarest required pair
    /// (matchLabels, or the values of an In); `None` when it requires no value (test them all).
    fn candidates(&self, selector: &LabelSelector) -> Option<Vec<u32>> {
        // The rarest matchLabels pair, borrowed: copied once, at the end.
        let rarest_pair = selector.match_labels.iter().map(|(k, v)| self.posting(k, v)).min_by_key(|p| p.len());
        let mut best: Option<Vec<u32>> = rarest_pair.map(<[u32]>::to_vec);
        for r in selector.match_expressions.iter().filter(|r| r.operator == crate::labels::Operator::In) {
            let mut union: Vec<u32> = r.values.iter().flat_map(|v| self.posting(&r.key, v)).copied().collect();
            union.sort_unstable();
            union.dedup();
            if best.as_ref().is_none_or(|b| union.len() < b.len()) {
                best = Some(union);
            }
        }
        best
    }

    fn matching(&self, selector: &LabelSelector) -> Vec<u32> {
        let mut out: Vec<u32> = Vec::new();
        let mut add = |g: usize| {
            if selector.matches(&self.views[g]) {
                out.extend_from_slice(&self.members[g]);
            }
        };
        match self.candidates(selector) {
            Some(candidates) => candidates.into_iter().for_each(|g| add(g as usize)),
            None => (0..self.views.len()).for_each(add),
        }
        out
    }
}

/// Resolves every Cilium subject, peer and requirement into interned endpoint sets.
pub fn select(
    cluster: &Cluster,
    externals: &[ExternalRange],
    options: &crate::engine::EngineOptions,
    table: &mut SetTable,
) -> CiliumSelections {
    let mut out = CiliumSelections::default();
    if options.cni == super::CniProfile::Cilium && options.cilium_allow_localhost.allows() {
        out.localhost = local_hosts(cluster, table);
    }
    if cluster.cilium_policies.is_empty() {
        return out;
    }
    let pod_count = cluster.pods.len() as u32;
    let groups = Groups::new(cluster);
    let mut memo: HashMap<LabelSelector, SetId> = HashMap::default();
    let host_network: Vec<u32> =
        cluster.pods.iter().enumerate().filter(|(_, p)| p.host_network).map(|(i, _)| i as u32).collect();
    // The kube-apiserver entity: the API server's addresses as the infrastructure destination
    // resolves them (external ranges, cut there by the engine, and hostNetwork pods on them).
    // https://docs.cilium.io/en/stable/security/policy/language/#entities-based
    let apiserver: Vec<u32> = {
        let nets: Vec<&ipnet::IpNet> = cluster
            .infrastructure
            .iter()
            .filter(|d| d.destination == crate::infrastructure::Destination::KubeApiserver)
            .flat_map(|d| &d.addresses)
            .collect();
        let blocks: Vec<_> =
            nets.iter().map(|n| crate::addresses::IpBlock { cidr: **n, except: Vec::new() }.to_ranges()).collect();
        let pods =
            cluster.pods.iter().enumerate().filter(|(_, p)| p.ips.iter().any(|ip| nets.iter().any(|n| n.contains(ip))));
        let ranges = externals.iter().enumerate().filter(|(_, ext)| {
            // Atoms are cut at the API server's addresses: one address decides.
            let first = ext.ranges.intervals()[0].0;
            blocks.iter().any(|b| b.family == ext.ranges.family && ranges_contains(b, first))
        });
        pods.map(|(i, _)| i as u32).chain(ranges.map(|(j, _)| pod_count + j as u32)).collect()
    };
    let world = |family: Option<IpFamily>| -> Vec<u32> {
        (0..externals.len() as u32)
            .filter(|&j| family.is_none_or(|f| externals[j as usize].ranges.family == f))
            .map(|j| pod_count + j)
            .collect()
    };
    let entity = |e: Entity| -> Vec<u32> {
        match e {
            Entity::All => (0..pod_count + externals.len() as u32).collect(),
            Entity::World => world(None),
            Entity::WorldIpv4 => world(Some(IpFamily::V4)),
            Entity::WorldIpv6 => world(Some(IpFamily::V6)),
            Entity::Cluster => (0..pod_count).collect(),
            // Either is every hostNetwork pod here; which ones depends on the selected endpoint's
            // node, and the grants take them from `node_parts`.
            Entity::Host | Entity::RemoteNode => host_network.clone(),
            Entity::KubeApiserver => apiserver.clone(),
            Entity::Ingress | Entity::Health | Entity::Init | Entity::Unmanaged => Vec::new(),
        }
    };
    let mut selector_set = |table: &mut SetTable, selector: &LabelSelector| -> SetId {
        if let Some(&id) = memo.get(selector) {
            return id;
        }
        let id = table.intern(groups.matching(selector));
        memo.insert(selector.clone(), id);
        id
    };
    for policy in &cluster.cilium_policies {
        let subject = match &policy.subject {
            CiliumSubject::Endpoints(selector) => selector_set(table, selector),
            // Host policies: hosts are not endpoints of the model (the loader warns).
            CiliumSubject::Nodes(_) => table.intern(Vec::new()),
        };
        out.subjects.push(subject);
        let names_node_entity = policy
            .sections
            .iter()
            .flatten()
            .flat_map(|r| r.peers.iter().flatten())
            .any(|peer| matches!(peer, CiliumPeer::Entity(Entity::Host) | CiliumPeer::Entity(Entity::RemoteNode)));
        out.node_parts.push(if names_node_entity {
            let members = table.sets[subject as usize].clone();
            node_parts(cluster, &members, table)
        } else {
            Vec::new()
        });
        let mut sections: [Vec<Vec<SetId>>; 4] = Default::default();
        let mut requires: [Option<Vec<u32>>; 4] = Default::default();
        for section in Section::ALL {
            for rule in policy.rules(section) {
                let ids = rule
                    .peers
                    .iter()
                    .flatten()
                    .map(|peer| match peer {
                        CiliumPeer::Endpoints(selector) => selector_set(table, selector),
                        CiliumPeer::Entity(e) => table.intern(entity(*e)),
                        // CIDR rules never match in-cluster endpoints: external ranges only.
                        CiliumPeer::Cidr(block) => {
                            let ranges = block.to_ranges();
                            table.intern(
                                (0..externals.len())
                                    .filter(|&j| {
                                        // Atoms are cut along every block's edges: one address decides.
                                        let ext = &externals[j];
                                        ext.ranges.family == ranges.family
                                            && ranges_contains(&ranges, ext.ranges.intervals()[0].0)
                                    })
                                    .map(|j| pod_count + j as u32)
                                    .collect(),
                            )
                        }
                    })
                    .collect();
                sections[section as usize].push(ids);
                let d = section as usize;
                for required in &rule.requires {
                    let id = selector_set(table, required);
                    let members = table.sets[id as usize].clone();
                    requires[d] = Some(match requires[d].take() {
                        None => members,
                        Some(before) => before.into_iter().filter(|m| members.binary_search(m).is_ok()).collect(),
                    });
                }
            }
        }
        out.peers.push(sections);
        out.requires.push(requires.map(|r| r.map(|members| table.intern(members))));
    }
    out
}

/// The named-port keys Cilium rules use: a port of protocol ANY resolves under every protocol.
pub fn named_port_keys(cluster: &Cluster) -> impl Iterator<Item = crate::engine::selection::NamedPortKey> + '_ {
    cluster
        .cilium_policies
        .iter()
        .flat_map(|p| p.sections.iter().flatten())
        .flat_map(|r| r.ports.iter().flatten())
        .filter_map(|port| match &port.port {
            Some(crate::networkpolicy::PortSpec::Name(n)) => Some(port.protocols().into_iter().map(|p| (n.clone(), p))),
            _ => None,
        })
        .flatten()
}
