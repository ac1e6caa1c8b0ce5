//! A reference evaluator of networking.k8s.io/v1 NetworkPolicy: a plain reading of the spec,
//! one (source, destination, protocol, port) at a time, with no precomputation and nothing from
//! the engine. It is slow on purpose; its only job is to be obviously right.
//!
//! What it shares with the engine: the model types and three leaf predicates the engine also
//! calls, `LabelSelector::matches` (engine/selection.rs), `NetworkPolicy::affects`
//! (engine/grants.rs) and `Pod::resolve_named_port` (engine/selection.rs). A bug in one of those
//! would fool both sides; their own unit tests in `model/` are what hold them. Everything else
//! (isolation, peers, ports, ipBlocks through `IpBlock::contains` where the engine cuts ranges,
//! tier order) is written here again.
//!
//! The reading, clause by clause:
//! - A connection is allowed iff the source's egress allows it AND the destination's ingress
//!   allows it. An external address is never isolated (its egress and ingress allow all).
//! - A pod is isolated in a direction iff some policy in its namespace selects it and affects
//!   that direction (`NetworkPolicy::affects`, i.e. policyTypes after defaulting). A pod that is
//!   not isolated in a direction allows everything in that direction.
//! - An isolated pod allows a connection iff some rule (of that direction) of some policy that
//!   selects it matches: the peer matches (an empty peer list matches every peer, external
//!   addresses included) AND the port matches (an empty port list matches every port).
//! - `Peer::Pods` matches pods only. Without a namespace selector: pods of the policy's own
//!   namespace; with one: pods of the namespaces whose labels it matches. Without a pod
//!   selector: every pod of those namespaces.
//! - `Peer::IpBlock` matches an external address it contains, and a pod with any IP it contains
//!   (only with `IpBlockPodMatching::Match`).
//! - hostNetwork pods under `HostNetworkSelection::NodeIdentity` are invisible to pod and
//!   namespace selectors (neither subject nor peer); under `LikePods` they are ordinary pods.
//!   In both cases their `ips` (node addresses) can be matched by ipBlocks.
//! - A port entry matches its protocol only: no port = every port; a number with optional
//!   endPort = that inclusive range; a name = the ports the *destination* pod declares under
//!   that name and the entry's protocol (an external destination declares none).
//!
//! Cluster-scoped tiers (policy.networking.k8s.io: AdminNetworkPolicy, BaselineAdminNetworkPolicy,
//! ClusterNetworkPolicy), per direction, at the subject pod (egress: the source; ingress: the
//! destination; an external address is never a subject):
//! 1. Admin tier: the `Tier::Admin` policies whose subject selects the pod, by ascending
//!    priority (ties by kind name, then name, as the engine orders them), rules in order. The
//!    first rule whose peers match the other end AND whose ports match decides: Allow allows,
//!    Deny denies (both final), Pass skips the rest of the Admin tier.
//! 2. Undecided and the pod isolated by NetworkPolicy in that direction: NetworkPolicy decides.
//! 3. Otherwise the Baseline tier, the same way: Allow allows, Deny denies, Pass goes on to
//! 4. the default: allowed.
//! - Subjects and `Namespaces`/`Pods` peers select pods only, by namespace labels (and pod
//!   labels); hostNetwork pods only under `HostNetworkSelection::LikePods`, as for NetworkPolicy.
//! - `Networks` matches an external address in any block, and a pod with any IP in any block,
//!   whatever `IpBlockPodMatching` says. `Nodes` matches an address (external, or any IP of a
//!   pod: hostNetwork pods carry their node's) equal to an address of a node it selects.
//!   `DomainNames` matches nothing. A rule with no peers matches nothing.
//! - Ports: `None` = every port of every protocol; a number or inclusive range of its protocol;
//!   a name = a container port of the destination pod (the peer for egress, the subject for
//!   ingress) with that name, the probed protocol and the probed number (externals have none).

use netreach_model::{
    Action, Cluster, ClusterPeer, ClusterPort, ClusterSubject, CniProfile, Direction, EngineOptions,
    HostNetworkSelection, IpBlockPodMatching, LabelSelector, Labels, NetworkPolicy, Peer, Pod, PortEntry, PortSpec,
    Protocol, Rule, Section, Tier, NAMESPACE_NAME_LABEL,
};
use std::net::IpAddr;

/// One end of a connection: a pod (index into `Cluster::pods`) or an address outside the pods.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Addr {
    Pod(usize),
    External(IpAddr),
}

/// Whether policy allows `protocol`/`port` from `src` to `dst`.
pub fn allowed(
    cluster: &Cluster,
    options: &EngineOptions,
    src: &Addr,
    dst: &Addr,
    protocol: Protocol,
    port: u16,
) -> bool {
    let options = &profile(cluster, options);
    direction_allows(cluster, options, Direction::Egress, src, dst, protocol, port)
        && direction_allows(cluster, options, Direction::Ingress, src, dst, protocol, port)
}

/// Whether the subject of `direction` (the source for egress, the destination for ingress)
/// lets the connection through.
pub fn direction_allows(
    cluster: &Cluster,
    options: &EngineOptions,
    direction: Direction,
    src: &Addr,
    dst: &Addr,
    protocol: Protocol,
    port: u16,
) -> bool {
    let (subject, peer) = match direction {
        Direction::Egress => (src, dst),
        Direction::Ingress => (dst, src),
    };
    let Addr::Pod(subject) = subject else {
        return true; // external addresses are never isolated, nor subjects of cluster policies
    };
    let options = &profile(cluster, options);
    // 0. A Cilium deny rule beats every allow, of every layer.
    let deny = if direction == Direction::Ingress { Section::IngressDeny } else { Section::EgressDeny };
    if crate::cilium::section_matches(cluster, deny, *subject, peer, dst, protocol, port) {
        return false;
    }
    // Calico's tiers hold NetworkPolicy and the admin tiers when they apply.
    if crate::calico::active(cluster, options) {
        return crate::calico::direction_allows(cluster, options, direction, *subject, peer, dst, protocol, port);
    }
    // 1. The Admin tier: Allow and Deny are final, Pass (or no match) goes on.
    match tier_decision(cluster, options, Tier::Admin, direction, *subject, peer, dst, protocol, port) {
        Some(TierDecision { action: Action::Allow, .. }) => return true,
        Some(TierDecision { action: Action::Deny, .. }) => return false,
        Some(TierDecision { action: Action::Pass, .. }) | None => {}
    }
    // 2. NetworkPolicy and Cilium allow rules decide for the pods either isolates: the union.
    let isolating = isolating_policies(cluster, options, *subject, direction);
    if !isolating.is_empty() || crate::cilium::isolated(cluster, *subject, direction) {
        let allow = if direction == Direction::Ingress { Section::Ingress } else { Section::Egress };
        return isolating.iter().any(|&p| {
            let policy = &cluster.policies[p];
            policy
                .rules(direction)
                .iter()
                .any(|rule| rule_matches(cluster, options, policy, rule, peer, dst, protocol, port))
        }) || crate::cilium::section_matches(cluster, allow, *subject, peer, dst, protocol, port)
            || (direction == Direction::Ingress && crate::cilium::localhost_allows(cluster, options, *subject, peer));
    }
    // 3. The Baseline tier, then 4. the default: allowed.
    match tier_decision(cluster, options, Tier::Baseline, direction, *subject, peer, dst, protocol, port) {
        Some(TierDecision { action: Action::Deny, .. }) => false,
        Some(TierDecision { action: Action::Allow | Action::Pass, .. }) | None => true,
    }
}

/// The options as the Cilium profile changes them: with any Cilium policy in the cluster (and
/// the profile left to `Auto`), or `Cilium`, ipBlocks never match pods and hostNetwork pods are
/// never selected.
pub fn profile(cluster: &Cluster, options: &EngineOptions) -> EngineOptions {
    let cilium = cilium_applies(cluster, options);
    // Calico: hostNetwork pods have no workload endpoint; nets match pod addresses.
    let calico = options.cni == CniProfile::Calico
        || (options.cni == CniProfile::Auto && !cilium && cluster.calico.is_present());
    if calico {
        return EngineOptions {
            host_network: HostNetworkSelection::NodeIdentity,
            ip_block_pods: IpBlockPodMatching::Match,
            ..*options
        };
    }
    if cilium {
        EngineOptions {
            host_network: HostNetworkSelection::NodeIdentity,
            ip_block_pods: IpBlockPodMatching::Ignore,
            ..*options
        }
    } else {
        *options
    }
}

/// Whether Cilium enforces: `--cni cilium`, or `auto` with a Cilium policy in the input.
pub fn cilium_applies(cluster: &Cluster, options: &EngineOptions) -> bool {
    match options.cni {
        CniProfile::Cilium => true,
        CniProfile::Generic | CniProfile::Calico => false,
        CniProfile::Auto => !cluster.cilium_policies.is_empty(),
    }
}

/// The rule of a cluster policy that decided (or passed) one connection in one direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TierDecision {
    /// Index into `Cluster::cluster_policies`.
    pub policy: usize,
    /// Index into the policy's rules of that direction.
    pub rule: usize,
    pub action: Action,
}

/// The policies of `tier` (indices into `Cluster::cluster_policies`) in evaluation order:
/// ascending priority; equal priorities (undefined upstream) by kind name, then name.
pub fn tier_order(cluster: &Cluster, tier: Tier) -> Vec<usize> {
    let mut order: Vec<usize> =
        (0..cluster.cluster_policies.len()).filter(|&i| cluster.cluster_policies[i].tier == tier).collect();
    order.sort_by_key(|&i| {
        let p = &cluster.cluster_policies[i];
        (p.priority, p.kind.as_str(), p.name.as_str())
    });
    order
}

/// The first rule of `tier` that matches: the subject pod `subject` (the source for egress, the
/// destination for ingress), the address `peer` on the other end, `protocol`/`port` towards
/// `dst`. `None` when no rule of the tier matches.
#[allow(clippy::too_many_arguments)]
pub fn tier_decision(
    cluster: &Cluster,
    options: &EngineOptions,
    tier: Tier,
    direction: Direction,
    subject: usize,
    peer: &Addr,
    dst: &Addr,
    protocol: Protocol,
    port: u16,
) -> Option<TierDecision> {
    for p in tier_order(cluster, tier) {
        let policy = &cluster.cluster_policies[p];
        if !cluster_subject_matches(cluster, options, &policy.subject, subject) {
            continue;
        }
        for (r, rule) in policy.rules(direction).iter().enumerate() {
            if cluster_rule_matches(cluster, options, rule, peer, dst, protocol, port) {
                return Some(TierDecision { policy: p, rule: r, action: rule.action });
            }
        }
    }
    None
}

/// Whether a cluster policy rule matches: a port entry (none: every port) and a peer.
pub fn cluster_rule_matches(
    cluster: &Cluster,
    options: &EngineOptions,
    rule: &netreach_model::ClusterRule,
    peer: &Addr,
    dst: &Addr,
    protocol: Protocol,
    port: u16,
) -> bool {
    let port_ok = match &rule.ports {
        None => true,
        Some(entries) => entries.iter().any(|e| cluster_port_matches(cluster, e, dst, protocol, port)),
    };
    port_ok && rule.peers.iter().any(|x| cluster_peer_matches(cluster, options, x, peer))
}

/// Whether a pod's namespace and labels fit a (namespace selector, optional pod selector) pair;
/// hostNetwork pods only when selectors may select them.
fn cluster_selects(
    cluster: &Cluster,
    options: &EngineOptions,
    namespace_selector: &LabelSelector,
    pod_selector: Option<&LabelSelector>,
    pod: &Pod,
) -> bool {
    selectable(options, pod)
        && pod_selector.is_none_or(|s| s.matches(&pod.labels))
        && namespace_matches(cluster, namespace_selector, &pod.namespace)
}

/// Whether a cluster policy's subject selects pod `pod`.
pub fn cluster_subject_matches(
    cluster: &Cluster,
    options: &EngineOptions,
    subject: &ClusterSubject,
    pod: usize,
) -> bool {
    let pod = &cluster.pods[pod];
    match subject {
        ClusterSubject::Namespaces(ns) => cluster_selects(cluster, options, ns, None, pod),
        ClusterSubject::Pods { namespace_selector, pod_selector } => {
            cluster_selects(cluster, options, namespace_selector, Some(pod_selector), pod)
        }
    }
}

/// Whether a cluster rule's peer matches the address on the other side of the connection.
pub fn cluster_peer_matches(cluster: &Cluster, options: &EngineOptions, peer: &ClusterPeer, addr: &Addr) -> bool {
    // The addresses an end of the connection has: an external one, or every IP of a pod.
    let addresses: &[IpAddr] = match addr {
        Addr::Pod(i) => &cluster.pods[*i].ips,
        Addr::External(ip) => std::slice::from_ref(ip),
    };
    match peer {
        ClusterPeer::Namespaces(ns) => match addr {
            Addr::Pod(i) => cluster_selects(cluster, options, ns, None, &cluster.pods[*i]),
            Addr::External(_) => false,
        },
        ClusterPeer::Pods { namespace_selector, pod_selector } => match addr {
            Addr::Pod(i) => {
                cluster_selects(cluster, options, namespace_selector, Some(pod_selector), &cluster.pods[*i])
            }
            Addr::External(_) => false,
        },
        // Pods by their IPs whatever `IpBlockPodMatching` says: networks name addresses.
        ClusterPeer::Networks(blocks) => addresses.iter().any(|ip| blocks.iter().any(|b| b.contains(ip))),
        ClusterPeer::Nodes(selector) => cluster
            .nodes
            .iter()
            .filter(|node| selector.matches(&node.labels))
            .any(|node| node.addresses.iter().any(|a| addresses.contains(a))),
        ClusterPeer::DomainNames(_) => false,
    }
}

/// Whether a cluster rule's port entry matches `protocol`/`port` towards `dst`.
pub fn cluster_port_matches(cluster: &Cluster, entry: &ClusterPort, dst: &Addr, protocol: Protocol, port: u16) -> bool {
    match entry {
        ClusterPort::Number { protocol: p, port: n } => *p == protocol && *n == port,
        ClusterPort::Range { protocol: p, start, end } => *p == protocol && *start <= port && port <= *end,
        // The name carries no protocol: any container port of that name, protocol and number.
        ClusterPort::Named(name) => match dst {
            Addr::Pod(i) => cluster.pods[*i]
                .ports
                .iter()
                .any(|c| c.name.as_deref() == Some(name.as_str()) && c.protocol == protocol && c.port == port),
            Addr::External(_) => false,
        },
    }
}

/// The policies (indices into `Cluster::policies`) that isolate pod `pod` in `direction`: same
/// namespace, selecting it, affecting that direction.
pub fn isolating_policies(cluster: &Cluster, options: &EngineOptions, pod: usize, direction: Direction) -> Vec<usize> {
    let pod = &cluster.pods[pod];
    if !selectable(options, pod) {
        return Vec::new();
    }
    cluster
        .policies
        .iter()
        .enumerate()
        .filter(|(_, p)| p.namespace == pod.namespace && p.affects(direction) && p.pod_selector.matches(&pod.labels))
        .map(|(i, _)| i)
        .collect()
}

/// Whether selectors can select this pod at all.
pub fn selectable(options: &EngineOptions, pod: &Pod) -> bool {
    !pod.host_network || options.host_network == HostNetworkSelection::LikePods
}

#[allow(clippy::too_many_arguments)]
fn rule_matches(
    cluster: &Cluster,
    options: &EngineOptions,
    policy: &NetworkPolicy,
    rule: &Rule,
    peer: &Addr,
    dst: &Addr,
    protocol: Protocol,
    port: u16,
) -> bool {
    let peer_ok = rule.peers.is_empty() || rule.peers.iter().any(|p| peer_matches(cluster, options, policy, p, peer));
    let port_ok = rule.ports.is_empty() || rule.ports.iter().any(|e| port_matches(cluster, e, dst, protocol, port));
    peer_ok && port_ok
}

/// Whether a rule's peer entry matches the address on the other side of the connection.
pub fn peer_matches(
    cluster: &Cluster,
    options: &EngineOptions,
    policy: &NetworkPolicy,
    peer: &Peer,
    addr: &Addr,
) -> bool {
    match (peer, addr) {
        (Peer::Pods { pod_selector, namespace_selector }, Addr::Pod(i)) => {
            let pod = &cluster.pods[*i];
            if !selectable(options, pod) {
                return false;
            }
            let namespace_ok = match namespace_selector {
                None => pod.namespace == policy.namespace,
                Some(selector) => namespace_matches(cluster, selector, &pod.namespace),
            };
            let pod_ok = match pod_selector {
                None => true,
                Some(selector) => selector.matches(&pod.labels),
            };
            namespace_ok && pod_ok
        }
        (Peer::Pods { .. }, Addr::External(_)) => false,
        (Peer::IpBlock(block), Addr::External(ip)) => block.contains(ip),
        (Peer::IpBlock(block), Addr::Pod(i)) => {
            options.ip_block_pods == IpBlockPodMatching::Match
                && cluster.pods[*i].ips.iter().any(|ip| block.contains(ip))
        }
    }
}

/// Whether a port entry matches `protocol`/`port` towards `dst`.
pub fn port_matches(cluster: &Cluster, entry: &PortEntry, dst: &Addr, protocol: Protocol, port: u16) -> bool {
    if entry.protocol != protocol {
        return false;
    }
    match &entry.port {
        None => true,
        Some(PortSpec::Number(first)) => {
            let last = entry.end_port.unwrap_or(*first);
            *first <= port && port <= last
        }
        Some(PortSpec::Name(name)) => match dst {
            Addr::Pod(i) => cluster.pods[*i].resolve_named_port(name, protocol).any(|p| p == port),
            Addr::External(_) => false,
        },
    }
}

/// Whether a namespace selector matches [`namespace_labels`] of namespace `name` (without
/// copying the labels when the definition already carries the name label).
pub fn namespace_matches(cluster: &Cluster, selector: &LabelSelector, name: &str) -> bool {
    match cluster.namespaces.iter().find(|ns| ns.name == name) {
        Some(ns) if ns.labels.contains_key(NAMESPACE_NAME_LABEL) => selector.matches(&ns.labels),
        _ => selector.matches(&namespace_labels(cluster, name)),
    }
}

/// A namespace's labels: those of its definition (the first one, if repeated) or none if it is
/// only referenced, plus `kubernetes.io/metadata.name` when missing.
pub fn namespace_labels(cluster: &Cluster, name: &str) -> Labels {
    let mut labels =
        cluster.namespaces.iter().find(|ns| ns.name == name).map(|ns| ns.labels.clone()).unwrap_or_default();
    labels.entry(NAMESPACE_NAME_LABEL.to_string()).or_insert_with(|| name.to_string());
    labels
}

#[cfg(test)]
mod tests {
    use super::*;
    use netreach_model::{ContainerPort, IpBlock, LabelSelector, Namespace, Requirement};

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn pod(ns: &str, name: &str, l: &[(&str, &str)], ip: &str) -> Pod {
        let mut p = Pod::new(ns, name, labels(l));
        p.ips = vec![ip.parse().unwrap()];
        p
    }

    fn policy(ns: &str, name: &str, selector: LabelSelector) -> NetworkPolicy {
        NetworkPolicy {
            namespace: ns.into(),
            name: name.into(),
            pod_selector: selector,
            policy_types: None,
            ingress: Vec::new(),
            egress: Vec::new(),
        }
    }

    fn pods_peer(pod: Option<LabelSelector>, ns: Option<LabelSelector>) -> Peer {
        Peer::Pods { pod_selector: pod, namespace_selector: ns }
    }

    fn tcp(port: u16) -> PortEntry {
        PortEntry { protocol: Protocol::Tcp, port: Some(PortSpec::Number(port)), end_port: None }
    }

    fn cluster(pods: Vec<Pod>, policies: Vec<NetworkPolicy>) -> Cluster {
        Cluster {
            namespaces: vec![Namespace::new("a", labels(&[("team", "x")])), Namespace::new("b", Labels::new())],
            pods,
            policies,
            ..Default::default()
        }
    }

    const O: EngineOptions = EngineOptions {
        host_network: HostNetworkSelection::NodeIdentity,
        ip_block_pods: IpBlockPodMatching::Match,
        cni: CniProfile::Auto,
        cilium_allow_localhost: netreach_model::AllowLocalhost::Auto,
    };

    fn ok(c: &Cluster, src: Addr, dst: Addr, protocol: Protocol, port: u16) -> bool {
        allowed(c, &O, &src, &dst, protocol, port)
    }

    fn ip(s: &str) -> Addr {
        Addr::External(s.parse().unwrap())
    }

    #[test]
    fn no_policy_allows_everything() {
        let c = cluster(vec![pod("a", "x", &[], "10.0.0.1"), pod("b", "y", &[], "10.0.0.2")], vec![]);
        for proto in Protocol::ALL {
            assert!(ok(&c, Addr::Pod(0), Addr::Pod(1), proto, 1));
            assert!(ok(&c, Addr::Pod(1), Addr::Pod(0), proto, 65535));
            assert!(ok(&c, Addr::Pod(0), ip("8.8.8.8"), proto, 53));
            assert!(ok(&c, ip("8.8.8.8"), Addr::Pod(0), proto, 53));
        }
    }

    #[test]
    fn default_deny_ingress_isolates_only_selected_pods_in_its_namespace() {
        let deny = policy("a", "deny", LabelSelector::everything());
        let c = cluster(
            vec![pod("a", "x", &[], "10.0.0.1"), pod("a", "y", &[], "10.0.0.2"), pod("b", "z", &[], "10.0.0.3")],
            vec![deny],
        );
        assert!(!ok(&c, Addr::Pod(1), Addr::Pod(0), Protocol::Tcp, 80), "same namespace denied");
        assert!(!ok(&c, Addr::Pod(2), Addr::Pod(0), Protocol::Udp, 53));
        assert!(!ok(&c, ip("8.8.8.8"), Addr::Pod(0), Protocol::Tcp, 80));
        // Egress is untouched (no policyTypes, no egress rules), and b is not selected.
        assert!(ok(&c, Addr::Pod(0), Addr::Pod(2), Protocol::Tcp, 80));
        assert!(ok(&c, Addr::Pod(0), ip("8.8.8.8"), Protocol::Tcp, 80));
        assert!(!ok(&c, Addr::Pod(0), Addr::Pod(1), Protocol::Tcp, 80), "y is isolated too");
    }

    #[test]
    fn default_deny_egress_with_explicit_policy_types() {
        let mut deny = policy("a", "deny", LabelSelector::from_labels([("app", "web")]));
        deny.policy_types = Some(vec![Direction::Egress]);
        let c = cluster(
            vec![pod("a", "web", &[("app", "web")], "10.0.0.1"), pod("a", "db", &[("app", "db")], "10.0.0.2")],
            vec![deny],
        );
        assert!(!ok(&c, Addr::Pod(0), Addr::Pod(1), Protocol::Tcp, 5432));
        assert!(!ok(&c, Addr::Pod(0), ip("1.1.1.1"), Protocol::Udp, 53));
        assert!(ok(&c, Addr::Pod(1), Addr::Pod(0), Protocol::Tcp, 80), "ingress not isolated");
        assert!(ok(&c, ip("1.1.1.1"), Addr::Pod(0), Protocol::Tcp, 80));
    }

    #[test]
    fn policy_types_default_egress_section_makes_egress_isolated() {
        // No policyTypes, one egress rule to app=db on TCP 5432: Ingress AND Egress isolated.
        let mut p = policy("a", "web", LabelSelector::from_labels([("app", "web")]));
        p.egress = vec![Rule {
            peers: vec![pods_peer(Some(LabelSelector::from_labels([("app", "db")])), None)],
            ports: vec![tcp(5432)],
        }];
        let c = cluster(
            vec![
                pod("a", "web", &[("app", "web")], "10.0.0.1"),
                pod("a", "db", &[("app", "db")], "10.0.0.2"),
                pod("a", "cache", &[("app", "cache")], "10.0.0.3"),
            ],
            vec![p.clone()],
        );
        assert!(p.affects(Direction::Egress) && p.affects(Direction::Ingress));
        assert!(ok(&c, Addr::Pod(0), Addr::Pod(1), Protocol::Tcp, 5432));
        assert!(!ok(&c, Addr::Pod(0), Addr::Pod(1), Protocol::Tcp, 5433));
        assert!(!ok(&c, Addr::Pod(0), Addr::Pod(1), Protocol::Udp, 5432));
        assert!(!ok(&c, Addr::Pod(0), Addr::Pod(2), Protocol::Tcp, 5432));
        assert!(!ok(&c, Addr::Pod(0), ip("8.8.8.8"), Protocol::Tcp, 5432));
        assert!(!ok(&c, Addr::Pod(1), Addr::Pod(0), Protocol::Tcp, 80), "ingress isolated, no ingress rules");

        // The same policy without the egress section does not touch egress at all.
        let mut q = p.clone();
        q.egress.clear();
        let c2 = cluster(c.pods.clone(), vec![q]);
        assert!(ok(&c2, Addr::Pod(0), Addr::Pod(2), Protocol::Tcp, 1));
        assert!(ok(&c2, Addr::Pod(0), ip("8.8.8.8"), Protocol::Tcp, 1));

        // An empty policyTypes list is defaulted like a missing one.
        let mut e = p.clone();
        e.policy_types = Some(vec![]);
        let c4 = cluster(c.pods.clone(), vec![e]);
        assert!(!ok(&c4, Addr::Pod(0), Addr::Pod(2), Protocol::Tcp, 5432));
        assert!(ok(&c4, Addr::Pod(0), Addr::Pod(1), Protocol::Tcp, 5432));
        assert!(!ok(&c4, Addr::Pod(1), Addr::Pod(0), Protocol::Tcp, 80));

        // policyTypes [Ingress] with an egress section: the section is ignored.
        let mut r = p.clone();
        r.policy_types = Some(vec![Direction::Ingress]);
        let c3 = cluster(c.pods.clone(), vec![r]);
        assert!(ok(&c3, Addr::Pod(0), Addr::Pod(2), Protocol::Tcp, 1));
        assert!(!ok(&c3, Addr::Pod(2), Addr::Pod(0), Protocol::Tcp, 1));
    }

    #[test]
    fn allow_rule_unions_across_policies_and_needs_both_directions() {
        let mut deny_egress = policy("a", "deny-egress", LabelSelector::everything());
        deny_egress.policy_types = Some(vec![Direction::Egress]);
        let mut allow_to_b = policy("a", "allow", LabelSelector::from_labels([("app", "web")]));
        allow_to_b.policy_types = Some(vec![Direction::Egress]);
        allow_to_b.egress = vec![Rule {
            peers: vec![pods_peer(None, Some(LabelSelector::from_labels([(NAMESPACE_NAME_LABEL, "b")])))],
            ports: vec![],
        }];
        let mut deny_b = policy("b", "deny", LabelSelector::everything());
        deny_b.ingress = vec![Rule { peers: vec![], ports: vec![tcp(80)] }];
        let c = cluster(
            vec![
                pod("a", "web", &[("app", "web")], "10.0.0.1"),
                pod("b", "y", &[], "10.0.0.2"),
                pod("a", "z", &[], "10.0.0.3"),
            ],
            vec![deny_egress, allow_to_b, deny_b],
        );
        assert!(ok(&c, Addr::Pod(0), Addr::Pod(1), Protocol::Tcp, 80));
        assert!(!ok(&c, Addr::Pod(0), Addr::Pod(1), Protocol::Tcp, 81), "b's ingress only allows 80");
        assert!(!ok(&c, Addr::Pod(2), Addr::Pod(1), Protocol::Tcp, 80), "z's egress is denied");
        assert!(ok(&c, ip("9.9.9.9"), Addr::Pod(1), Protocol::Tcp, 80), "an empty from matches externals");
    }

    #[test]
    fn named_ports_resolve_on_the_destination_in_egress_and_ingress() {
        let mut web = pod("a", "web", &[("app", "web")], "10.0.0.1");
        web.ports = vec![ContainerPort { name: Some("http".into()), port: 8080, protocol: Protocol::Tcp }];
        let mut api = pod("a", "api", &[("app", "api")], "10.0.0.2");
        api.ports = vec![
            ContainerPort { name: Some("http".into()), port: 9000, protocol: Protocol::Tcp },
            ContainerPort { name: Some("http".into()), port: 9001, protocol: Protocol::Udp },
        ];
        let named = PortEntry { protocol: Protocol::Tcp, port: Some(PortSpec::Name("http".into())), end_port: None };
        let mut p = policy("a", "egress", LabelSelector::from_labels([("app", "web")]));
        p.policy_types = Some(vec![Direction::Egress]);
        p.egress = vec![Rule { peers: vec![], ports: vec![named.clone()] }];
        let c = cluster(vec![web.clone(), api.clone()], vec![p]);
        // web -> api: "http" is api's 9000/TCP, not web's own 8080.
        assert!(ok(&c, Addr::Pod(0), Addr::Pod(1), Protocol::Tcp, 9000));
        assert!(!ok(&c, Addr::Pod(0), Addr::Pod(1), Protocol::Tcp, 8080));
        assert!(!ok(&c, Addr::Pod(0), Addr::Pod(1), Protocol::Udp, 9001), "the entry's protocol is TCP");
        assert!(!ok(&c, Addr::Pod(0), ip("8.8.8.8"), Protocol::Tcp, 8080), "externals declare no names");
        assert!(!ok(&c, Addr::Pod(0), ip("8.8.8.8"), Protocol::Tcp, 9000));

        // Ingress on api: "http" is api's own port.
        let mut q = policy("a", "ingress", LabelSelector::from_labels([("app", "api")]));
        q.ingress = vec![Rule { peers: vec![], ports: vec![named] }];
        let c2 = cluster(vec![web, api], vec![q]);
        assert!(ok(&c2, Addr::Pod(0), Addr::Pod(1), Protocol::Tcp, 9000));
        assert!(!ok(&c2, Addr::Pod(0), Addr::Pod(1), Protocol::Tcp, 8080));
        assert!(ok(&c2, ip("1.2.3.4"), Addr::Pod(1), Protocol::Tcp, 9000));
    }

    #[test]
    fn port_ranges_and_protocol_only_entries() {
        let mut p = policy("a", "p", LabelSelector::everything());
        p.ingress = vec![Rule {
            peers: vec![],
            ports: vec![
                PortEntry { protocol: Protocol::Tcp, port: Some(PortSpec::Number(8000)), end_port: Some(8010) },
                PortEntry { protocol: Protocol::Sctp, port: None, end_port: None },
            ],
        }];
        let c = cluster(vec![pod("a", "x", &[], "10.0.0.1"), pod("a", "y", &[], "10.0.0.2")], vec![p]);
        assert!(!ok(&c, Addr::Pod(1), Addr::Pod(0), Protocol::Tcp, 7999));
        assert!(ok(&c, Addr::Pod(1), Addr::Pod(0), Protocol::Tcp, 8000));
        assert!(ok(&c, Addr::Pod(1), Addr::Pod(0), Protocol::Tcp, 8010));
        assert!(!ok(&c, Addr::Pod(1), Addr::Pod(0), Protocol::Tcp, 8011));
        assert!(!ok(&c, Addr::Pod(1), Addr::Pod(0), Protocol::Udp, 8005));
        assert!(ok(&c, Addr::Pod(1), Addr::Pod(0), Protocol::Sctp, 1));
        assert!(ok(&c, Addr::Pod(1), Addr::Pod(0), Protocol::Sctp, 65535));
    }

    #[test]
    fn ip_block_except_and_pod_ips() {
        let block = IpBlock::parse("10.0.0.0/16", &["10.0.1.0/24".to_string()]).unwrap();
        let mut p = policy("a", "p", LabelSelector::from_labels([("app", "db")]));
        p.ingress = vec![Rule { peers: vec![Peer::IpBlock(block)], ports: vec![] }];
        let c = cluster(
            vec![
                pod("a", "db", &[("app", "db")], "10.0.9.9"),
                pod("b", "in", &[], "10.0.0.7"),
                pod("b", "excepted", &[], "10.0.1.7"),
                pod("b", "outside", &[], "10.1.0.7"),
            ],
            vec![p],
        );
        assert!(ok(&c, ip("10.0.0.0"), Addr::Pod(0), Protocol::Tcp, 80));
        assert!(ok(&c, ip("10.0.255.255"), Addr::Pod(0), Protocol::Tcp, 80));
        assert!(ok(&c, ip("10.0.2.0"), Addr::Pod(0), Protocol::Tcp, 80));
        assert!(!ok(&c, ip("10.0.1.0"), Addr::Pod(0), Protocol::Tcp, 80));
        assert!(!ok(&c, ip("10.0.1.255"), Addr::Pod(0), Protocol::Tcp, 80));
        assert!(!ok(&c, ip("10.1.0.0"), Addr::Pod(0), Protocol::Tcp, 80));
        assert!(!ok(&c, ip("9.255.255.255"), Addr::Pod(0), Protocol::Tcp, 80));
        assert!(!ok(&c, ip("::1"), Addr::Pod(0), Protocol::Tcp, 80), "other family never matches");
        assert!(ok(&c, Addr::Pod(1), Addr::Pod(0), Protocol::Tcp, 80), "pod IPs are matched");
        assert!(!ok(&c, Addr::Pod(2), Addr::Pod(0), Protocol::Tcp, 80));
        assert!(!ok(&c, Addr::Pod(3), Addr::Pod(0), Protocol::Tcp, 80));
        let ignore = EngineOptions { ip_block_pods: IpBlockPodMatching::Ignore, ..O };
        assert!(!allowed(&c, &ignore, &Addr::Pod(1), &Addr::Pod(0), Protocol::Tcp, 80));
        assert!(allowed(&c, &ignore, &ip("10.0.0.7"), &Addr::Pod(0), Protocol::Tcp, 80));
    }

    #[test]
    fn pod_peers_never_match_externals_and_namespace_defaults_to_own() {
        let mut p = policy("a", "p", LabelSelector::everything());
        p.ingress = vec![Rule { peers: vec![pods_peer(Some(LabelSelector::everything()), None)], ports: vec![] }];
        let c = cluster(
            vec![pod("a", "x", &[], "10.0.0.1"), pod("a", "y", &[], "10.0.0.2"), pod("b", "z", &[], "10.0.0.3")],
            vec![p],
        );
        assert!(ok(&c, Addr::Pod(1), Addr::Pod(0), Protocol::Tcp, 80));
        assert!(!ok(&c, Addr::Pod(2), Addr::Pod(0), Protocol::Tcp, 80), "other namespace");
        assert!(!ok(&c, ip("10.0.0.3"), Addr::Pod(0), Protocol::Tcp, 80), "pod selectors see no externals");
    }

    #[test]
    fn namespace_labels_of_defined_referenced_and_unlabelled_namespaces() {
        let mut c = cluster(vec![], vec![]);
        c.namespaces.push(Namespace { name: "raw".into(), labels: labels(&[("env", "prod")]) });
        assert_eq!(namespace_labels(&c, "a"), labels(&[("team", "x"), (NAMESPACE_NAME_LABEL, "a")]));
        assert_eq!(namespace_labels(&c, "ghost"), labels(&[(NAMESPACE_NAME_LABEL, "ghost")]));
        assert_eq!(namespace_labels(&c, "raw"), labels(&[("env", "prod"), (NAMESPACE_NAME_LABEL, "raw")]));

        // A namespace selector on a referenced-but-undefined namespace sees only its name label.
        let mut p = policy("a", "p", LabelSelector::everything());
        let not_x = LabelSelector {
            match_labels: Labels::new(),
            match_expressions: vec![Requirement::new("team", "NotIn", vec!["x".into()]).unwrap()],
        };
        p.ingress = vec![Rule { peers: vec![pods_peer(None, Some(not_x))], ports: vec![] }];
        let c = cluster(
            vec![pod("a", "x", &[], "10.0.0.1"), pod("ghost", "g", &[], "10.0.0.2"), pod("a", "y", &[], "10.0.0.3")],
            vec![p],
        );
        assert!(ok(&c, Addr::Pod(1), Addr::Pod(0), Protocol::Tcp, 80));
        assert!(!ok(&c, Addr::Pod(2), Addr::Pod(0), Protocol::Tcp, 80));
    }

    #[test]
    fn host_network_pods_are_not_selected_but_ip_blocks_see_their_node_ip() {
        let mut host = pod("a", "host", &[("app", "web")], "172.16.0.1");
        host.host_network = true;
        let mut deny_all = policy("a", "deny", LabelSelector::everything());
        deny_all.policy_types = Some(vec![Direction::Ingress, Direction::Egress]);
        let mut allow_web = policy("a", "allow-web", LabelSelector::from_labels([("app", "db")]));
        allow_web.ingress = vec![Rule {
            peers: vec![pods_peer(Some(LabelSelector::from_labels([("app", "web")])), None)],
            ports: vec![],
        }];
        let mut allow_nodes = policy("a", "allow-nodes", LabelSelector::from_labels([("app", "metrics")]));
        allow_nodes.ingress =
            vec![Rule { peers: vec![Peer::IpBlock(IpBlock::parse("172.16.0.0/12", &[]).unwrap())], ports: vec![] }];
        let c = cluster(
            vec![
                host,
                pod("a", "db", &[("app", "db")], "10.0.0.2"),
                pod("a", "metrics", &[("app", "metrics")], "10.0.0.3"),
            ],
            vec![deny_all, allow_web, allow_nodes],
        );
        // Not a subject: the host pod is not isolated by deny-all in either direction.
        assert!(ok(&c, ip("8.8.8.8"), Addr::Pod(0), Protocol::Tcp, 22));
        assert!(isolating_policies(&c, &O, 0, Direction::Egress).is_empty());
        // Not a peer: allow-web's podSelector does not see it (and db's egress is denied anyway
        // for the reverse direction).
        assert!(!ok(&c, Addr::Pod(0), Addr::Pod(1), Protocol::Tcp, 80));
        // But its node IP is matched by the ipBlock.
        assert!(ok(&c, Addr::Pod(0), Addr::Pod(2), Protocol::Tcp, 80));

        let like = EngineOptions { host_network: HostNetworkSelection::LikePods, ..O };
        assert!(!allowed(&c, &like, &ip("8.8.8.8"), &Addr::Pod(0), Protocol::Tcp, 22), "now isolated");
        assert!(!allowed(&c, &like, &Addr::Pod(0), &Addr::Pod(1), Protocol::Tcp, 80), "its egress is now denied");
        assert!(peer_matches(&c, &like, &c.policies[1], &c.policies[1].ingress[0].peers[0], &Addr::Pod(0)));
        assert!(!peer_matches(&c, &O, &c.policies[1], &c.policies[1].ingress[0].peers[0], &Addr::Pod(0)));
    }
}
