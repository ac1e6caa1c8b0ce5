//! proptest strategies for small random clusters that exercise every corner of NetworkPolicy:
//! label vocabularies small enough that selectors hit, all four selector operators, defined and
//! merely referenced namespaces, IPv4/IPv6/dual-stack/no-IP pods, hostNetwork pods on node
//! addresses, named container ports shared across pods with different numbers, every
//! policyTypes form, and peers and port entries of every kind; and cluster-scoped policies of
//! both tiers (every kind, subject, peer, port and action; priorities from a tiny set so that
//! ties happen) with nodes whose addresses are those of the hostNetwork pods, and one more.
//!
//! Strategies avoid `prop_flat_map` so that failures shrink well: every choice is an index into
//! a fixed vocabulary, and vectors shrink by dropping elements.

use ipnet::IpNet;
use netreach_model::cilium::labels::{scope_peer, scope_subject};
use netreach_model::{
    Action, CiliumPeer, CiliumPolicy, CiliumPolicyKind, CiliumPort, CiliumRule, CiliumSubject, Cluster, ClusterPeer,
    ClusterPolicy, ClusterPolicyKind, ClusterPort, ClusterRule, ClusterSubject, ContainerPort, Direction, Entity,
    IpBlock, LabelSelector, Labels, Namespace, NetworkPolicy, Node, Peer, Pod, PortEntry, PortSpec, Protocol,
    Requirement, Rule, Tier, NAMESPACE_NAME_LABEL,
};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;
use std::net::IpAddr;

pub const NAMESPACES: [&str; 4] = ["alpha", "beta", "gamma", "delta"];
/// Label keys on pods and namespaces; selectors also use `zzz`, which nothing carries.
pub const LABEL_KEYS: [&str; 3] = ["app", "tier", "env"];
pub const LABEL_VALUES: [&str; 3] = ["x", "y", "z"];
const SELECTOR_KEYS: [&str; 4] = ["app", "tier", "env", "zzz"];
/// `w` is a value nothing carries.
const SELECTOR_VALUES: [&str; 4] = ["x", "y", "z", "w"];
const NAMESPACE_SELECTOR_KEYS: [&str; 4] = ["env", "tier", NAMESPACE_NAME_LABEL, "zzz"];
const NAMESPACE_SELECTOR_VALUES: [&str; 7] = ["x", "y", "w", "alpha", "beta", "gamma", "delta"];

/// Pod addresses (non-hostNetwork).
pub const POD_V4: [&str; 7] = ["10.0.0.1", "10.0.0.2", "10.0.0.5", "10.0.0.130", "10.0.1.7", "10.1.0.1", "192.168.1.1"];
pub const POD_V6: [&str; 5] = ["fd00::1", "fd00::2", "fd00::1:5", "fd00:1::1", "2001:db8::ffff"];
/// Node addresses, the IPs of hostNetwork pods.
pub const NODE_V4: [&str; 2] = ["172.16.0.1", "172.16.0.2"];
pub const NODE_V6: [&str; 2] = ["fd00:ffff::1", "fd00:ffff::2"];
/// The addresses of a third node on which no pod runs.
pub const LONE_NODE_V4: &str = "172.16.0.3";
pub const LONE_NODE_V6: &str = "fd00:ffff::3";

/// Bases for ipBlock CIDRs and excepts: the pod and node addresses and a few outside ones.
const BLOCK_V4: [&str; 13] = [
    "10.0.0.1",
    "10.0.0.2",
    "10.0.0.5",
    "10.0.0.130",
    "10.0.1.7",
    "10.1.0.1",
    "192.168.1.1",
    "172.16.0.1",
    "172.16.0.2",
    "172.16.0.3",
    "8.8.8.8",
    "0.0.0.0",
    "255.255.255.255",
];
const PREFIX_V4: [u8; 11] = [0, 1, 8, 12, 16, 23, 24, 25, 30, 31, 32];
const BLOCK_V6: [&str; 10] = [
    "fd00::1",
    "fd00::2",
    "fd00::1:5",
    "fd00:1::1",
    "2001:db8::ffff",
    "fd00:ffff::1",
    "fd00:ffff::2",
    "fd00:ffff::3",
    "::",
    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
];
const PREFIX_V6: [u8; 10] = [0, 1, 8, 16, 32, 64, 112, 120, 127, 128];

pub const PORT_NAMES: [&str; 3] = ["http", "metrics", "dns"];
/// Named ports in policies; `nope` resolves nowhere.
const POLICY_PORT_NAMES: [&str; 4] = ["http", "metrics", "dns", "nope"];
pub const CONTAINER_PORTS: [u16; 7] = [53, 80, 443, 8080, 8443, 9090, 9100];
const POLICY_PORTS: [u16; 10] = [1, 53, 80, 443, 1000, 8080, 8443, 9090, 9100, 65535];
const END_DELTAS: [u16; 6] = [0, 1, 8, 100, 10000, 65535];

fn protocol() -> impl Strategy<Value = Protocol> {
    prop_oneof![3 => Just(Protocol::Tcp), 2 => Just(Protocol::Udp), 1 => Just(Protocol::Sctp)]
}

fn labels(keys: &'static [&'static str], values: &'static [&'static str]) -> impl Strategy<Value = Labels> {
    vec((select(keys), select(values)), 0..=3)
        .prop_map(|pairs| pairs.into_iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
}

fn requirement(keys: &'static [&'static str], values: &'static [&'static str]) -> impl Strategy<Value = Requirement> {
    (select(keys), 0..4usize, vec(select(values), 1..=2)).prop_map(|(key, op, values)| {
        let (op, values) = match op {
            0 => ("In", values),
            1 => ("NotIn", values),
            2 => ("Exists", Vec::new()),
            _ => ("DoesNotExist", Vec::new()),
        };
        Requirement::new(key, op, values.into_iter().map(String::from).collect()).expect("valid requirement")
    })
}

fn selector(keys: &'static [&'static str], values: &'static [&'static str]) -> impl Strategy<Value = LabelSelector> {
    prop_oneof![
        1 => Just(LabelSelector::everything()),
        3 => (vec((select(keys), select(values)), 0..=2), vec(requirement(keys, values), 0..=2)).prop_map(
            |(match_labels, match_expressions)| LabelSelector {
                match_labels: match_labels.into_iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
                match_expressions,
            }
        ),
    ]
}

pub fn pod_selector() -> impl Strategy<Value = LabelSelector> {
    selector(&SELECTOR_KEYS, &SELECTOR_VALUES)
}

/// A policy's own podSelector: more often all pods or one label, so that policies isolate.
fn subject_selector() -> impl Strategy<Value = LabelSelector> {
    prop_oneof![
        2 => Just(LabelSelector::everything()),
        2 => (select(&LABEL_KEYS[..]), select(&LABEL_VALUES[..])).prop_map(|(k, v)| LabelSelector::from_labels([(k, v)])),
        3 => pod_selector(),
    ]
}

pub fn namespace_selector() -> impl Strategy<Value = LabelSelector> {
    selector(&NAMESPACE_SELECTOR_KEYS, &NAMESPACE_SELECTOR_VALUES)
}

fn parse(s: &str) -> IpAddr {
    s.parse().expect("valid address")
}

fn net(addr: IpAddr, prefix: u8) -> IpNet {
    IpNet::new(addr, prefix).expect("valid prefix").trunc()
}

/// A block `base/prefix` with excepts built from `(base, extra prefix length)`: when the base
/// lies inside the cidr it is used as is, otherwise its host bits are spliced into the cidr, so
/// every except is a strict subset of the cidr (as the API requires).
fn block(base: IpAddr, prefix: u8, excepts: Vec<(IpAddr, u8)>) -> IpBlock {
    let cidr = net(base, prefix);
    let max = cidr.max_prefix_len();
    let mut except = Vec::new();
    for (e, extra) in excepts {
        let len = prefix.saturating_add(extra).min(max);
        if len <= prefix {
            continue;
        }
        let addr = if cidr.contains(&e) { e } else { splice(&cidr, e) };
        except.push(net(addr, len));
    }
    let except_strings: Vec<String> = except.iter().map(|e| e.to_string()).collect();
    IpBlock::parse(&cidr.to_string(), &except_strings).expect("generated ipBlock is valid")
}

fn splice(cidr: &IpNet, host: IpAddr) -> IpAddr {
    match (cidr, host) {
        (IpNet::V4(n), IpAddr::V4(h)) => {
            let mask = u32::from(n.netmask());
            IpAddr::V4((u32::from(n.network()) | (u32::from(h) & !mask)).into())
        }
        (IpNet::V6(n), IpAddr::V6(h)) => {
            let mask = u128::from(n.netmask());
            IpAddr::V6((u128::from(n.network()) | (u128::from(h) & !mask)).into())
        }
        _ => cidr.network(),
    }
}

/// A block as a loader builds it from a manifest the API server would reject: the README says
/// an `except` that is not a strict subset of `cidr` is evaluated as written (cidr minus except).
fn raw_block(base: IpAddr, prefix: u8, excepts: Vec<(IpAddr, u8)>) -> IpBlock {
    IpBlock { cidr: net(base, prefix), except: excepts.into_iter().map(|(e, p)| net(e, p)).collect() }
}

pub fn ip_block() -> impl Strategy<Value = IpBlock> {
    let v4 = (select(&BLOCK_V4[..]), select(&PREFIX_V4[..]), vec((select(&BLOCK_V4[..]), 1..=12u8), 0..=2))
        .prop_map(|(b, p, ex)| block(parse(b), p, ex.into_iter().map(|(e, x)| (parse(e), x)).collect()));
    let v6 = (select(&BLOCK_V6[..]), select(&PREFIX_V6[..]), vec((select(&BLOCK_V6[..]), 1..=40u8), 0..=2))
        .prop_map(|(b, p, ex)| block(parse(b), p, ex.into_iter().map(|(e, x)| (parse(e), x)).collect()));
    let raw_v4 =
        (select(&BLOCK_V4[..]), select(&PREFIX_V4[..]), vec((select(&BLOCK_V4[..]), select(&PREFIX_V4[..])), 1..=2))
            .prop_map(|(b, p, ex)| raw_block(parse(b), p, ex.into_iter().map(|(e, x)| (parse(e), x)).collect()));
    let raw_v6 =
        (select(&BLOCK_V6[..]), select(&PREFIX_V6[..]), vec((select(&BLOCK_V6[..]), select(&PREFIX_V6[..])), 1..=2))
            .prop_map(|(b, p, ex)| raw_block(parse(b), p, ex.into_iter().map(|(e, x)| (parse(e), x)).collect()));
    prop_oneof![6 => v4, 2 => v6, 1 => raw_v4, 1 => raw_v6]
}

pub fn peer() -> impl Strategy<Value = Peer> {
    prop_oneof![
        2 => pod_selector().prop_map(|s| Peer::Pods { pod_selector: Some(s), namespace_selector: None }),
        2 => namespace_selector().prop_map(|s| Peer::Pods { pod_selector: None, namespace_selector: Some(s) }),
        2 => (pod_selector(), namespace_selector())
            .prop_map(|(p, n)| Peer::Pods { pod_selector: Some(p), namespace_selector: Some(n) }),
        3 => ip_block().prop_map(Peer::IpBlock),
    ]
}

pub fn port_entry() -> impl Strategy<Value = PortEntry> {
    prop_oneof![
        1 => protocol().prop_map(|protocol| PortEntry { protocol, port: None, end_port: None }),
        3 => (protocol(), select(&POLICY_PORTS[..]))
            .prop_map(|(protocol, p)| PortEntry { protocol, port: Some(PortSpec::Number(p)), end_port: None }),
        2 => (protocol(), select(&POLICY_PORTS[..]), select(&END_DELTAS[..])).prop_map(|(protocol, p, d)| PortEntry {
            protocol,
            port: Some(PortSpec::Number(p)),
            end_port: Some(p.saturating_add(d)),
        }),
        3 => (protocol(), select(&POLICY_PORT_NAMES[..])).prop_map(|(protocol, n)| PortEntry {
            protocol,
            port: Some(PortSpec::Name(n.to_string())),
            end_port: None,
        }),
    ]
}

pub fn rule() -> impl Strategy<Value = Rule> {
    (vec(peer(), 0..=3), vec(port_entry(), 0..=3)).prop_map(|(peers, ports)| Rule { peers, ports })
}

/// Namespace indices, biased towards the first ones so pods and policies meet.
fn namespace_index() -> impl Strategy<Value = usize> {
    select(&[0usize, 0, 0, 1, 1, 2, 3][..])
}

fn policy_types() -> impl Strategy<Value = Option<Vec<Direction>>> {
    prop_oneof![
        3 => Just(None),
        1 => Just(Some(vec![Direction::Ingress])),
        1 => Just(Some(vec![Direction::Egress])),
        1 => Just(Some(vec![Direction::Ingress, Direction::Egress])),
        1 => Just(Some(vec![Direction::Egress, Direction::Ingress])),
        // The API server defaults an empty list like a missing one.
        1 => Just(Some(vec![])),
    ]
}

pub fn policy() -> impl Strategy<Value = NetworkPolicy> {
    (namespace_index(), subject_selector(), policy_types(), vec(rule(), 0..=3), vec(rule(), 0..=3)).prop_map(
        |(ns, pod_selector, policy_types, ingress, egress)| NetworkPolicy {
            namespace: NAMESPACES[ns].to_string(),
            name: String::new(),
            pod_selector,
            policy_types,
            ingress,
            egress,
        },
    )
}

fn container_port() -> impl Strategy<Value = ContainerPort> {
    (prop::option::weighted(0.7, select(&PORT_NAMES[..])), select(&CONTAINER_PORTS[..]), protocol())
        .prop_map(|(name, port, protocol)| ContainerPort { name: name.map(String::from), port, protocol })
}

#[derive(Clone, Copy, Debug)]
enum Addressing {
    None,
    V4,
    V6,
    Dual,
    /// Every node address (hostNetwork pods only; plain pods get a dual-stack address).
    AllNodes,
}

fn addressing() -> impl Strategy<Value = Addressing> {
    prop_oneof![
        1 => Just(Addressing::None),
        4 => Just(Addressing::V4),
        1 => Just(Addressing::V6),
        2 => Just(Addressing::Dual),
        1 => Just(Addressing::AllNodes),
    ]
}

pub fn pod() -> impl Strategy<Value = Pod> {
    (
        namespace_index(),
        labels(&LABEL_KEYS, &LABEL_VALUES),
        addressing(),
        0..POD_V4.len(),
        0..POD_V6.len(),
        prop::bool::weighted(0.15),
        0..NODE_V4.len(),
        vec(container_port(), 0..=3),
    )
        .prop_map(|(ns, labels, addressing, v4, v6, host_network, node, ports)| {
            let mut pod = Pod::new(NAMESPACES[ns], "", labels);
            let addressing = match addressing {
                Addressing::AllNodes if !host_network => Addressing::Dual,
                other => other,
            };
            let (v4, v6) = if host_network { (NODE_V4[node], NODE_V6[node]) } else { (POD_V4[v4], POD_V6[v6]) };
            pod.ips = match addressing {
                Addressing::None => vec![],
                Addressing::V4 => vec![parse(v4)],
                Addressing::V6 => vec![parse(v6)],
                Addressing::Dual => vec![parse(v4), parse(v6)],
                // A synthesized hostNetwork DaemonSet pod carries every node address.
                Addressing::AllNodes => NODE_V4.iter().chain(&NODE_V6).map(|a| parse(a)).collect(),
            };
            pod.host_network = host_network;
            // Pods with an address are scheduled (Cilium's host entity depends on the node).
            if host_network || !pod.ips.is_empty() {
                pod.node = Some(format!("node-{node}"));
            }
            pod.ports = ports;
            pod
        })
}

fn namespace() -> impl Strategy<Value = Namespace> {
    // Rarely, a namespace built without the name label (a loader bug the evaluators tolerate).
    (0..NAMESPACES.len(), labels(&LABEL_KEYS[1..], &LABEL_VALUES[..2]), prop::bool::weighted(0.1)).prop_map(
        |(i, labels, raw)| {
            if raw {
                Namespace { name: NAMESPACES[i].to_string(), labels }
            } else {
                Namespace::new(NAMESPACES[i], labels)
            }
        },
    )
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![2 => Just(Action::Allow), 2 => Just(Action::Deny), 1 => Just(Action::Pass)]
}

/// A cluster policy's subject: more often broad, so that the tiers apply.
fn cluster_subject() -> impl Strategy<Value = ClusterSubject> {
    prop_oneof![
        2 => Just(ClusterSubject::Namespaces(LabelSelector::everything())),
        2 => namespace_selector().prop_map(ClusterSubject::Namespaces),
        3 => (namespace_selector(), subject_selector())
            .prop_map(|(namespace_selector, pod_selector)| ClusterSubject::Pods { namespace_selector, pod_selector }),
    ]
}

/// A `networks` entry: mostly a plain CIDR over pod, node and outside addresses (the API takes
/// no excepts), sometimes any ipBlock the NetworkPolicy generator makes.
fn network() -> impl Strategy<Value = IpBlock> {
    let v4 = (select(&BLOCK_V4[..]), select(&PREFIX_V4[..])).prop_map(|(b, p)| block(parse(b), p, Vec::new()));
    let v6 = (select(&BLOCK_V6[..]), select(&PREFIX_V6[..])).prop_map(|(b, p)| block(parse(b), p, Vec::new()));
    prop_oneof![4 => v4, 2 => v6, 1 => ip_block()]
}

/// Peers of ingress rules: namespaces and pods (the API allows nothing else there).
fn cluster_ingress_peer() -> impl Strategy<Value = ClusterPeer> {
    prop_oneof![
        2 => namespace_selector().prop_map(ClusterPeer::Namespaces),
        3 => (namespace_selector(), pod_selector())
            .prop_map(|(namespace_selector, pod_selector)| ClusterPeer::Pods { namespace_selector, pod_selector }),
    ]
}

/// Peers of egress rules: namespaces, pods, networks, nodes and domain names.
fn cluster_egress_peer() -> impl Strategy<Value = ClusterPeer> {
    prop_oneof![
        2 => namespace_selector().prop_map(ClusterPeer::Namespaces),
        3 => (namespace_selector(), pod_selector())
            .prop_map(|(namespace_selector, pod_selector)| ClusterPeer::Pods { namespace_selector, pod_selector }),
        3 => vec(network(), 1..=2).prop_map(ClusterPeer::Networks),
        2 => pod_selector().prop_map(ClusterPeer::Nodes),
        1 => Just(ClusterPeer::DomainNames(vec!["example.com".to_string(), "*.example.org".to_string()])),
    ]
}

fn cluster_port() -> impl Strategy<Value = ClusterPort> {
    prop_oneof![
        3 => (protocol(), select(&POLICY_PORTS[..])).prop_map(|(protocol, port)| ClusterPort::Number { protocol, port }),
        2 => (protocol(), select(&POLICY_PORTS[..]), select(&END_DELTAS[..]))
            .prop_map(|(protocol, start, d)| ClusterPort::Range { protocol, start, end: start.saturating_add(d) }),
        3 => select(&POLICY_PORT_NAMES[..]).prop_map(|n| ClusterPort::Named(n.to_string())),
    ]
}

fn cluster_rule(peer: impl Strategy<Value = ClusterPeer>) -> impl Strategy<Value = ClusterRule> {
    (action(), vec(peer, 1..=3), prop::option::weighted(0.6, vec(cluster_port(), 1..=3)))
        .prop_map(|(action, peers, ports)| ClusterRule { name: None, action, peers, ports })
}

/// Priorities from a tiny set so that ties (undefined upstream, ordered by kind and name by
/// the engine) happen often.
const PRIORITIES: [u32; 3] = [0, 1, 7];

pub fn cluster_policy() -> impl Strategy<Value = ClusterPolicy> {
    (
        prop::bool::weighted(0.6),
        prop::bool::ANY,
        select(&PRIORITIES[..]),
        cluster_subject(),
        vec(cluster_rule(cluster_ingress_peer()), 0..=3),
        vec(cluster_rule(cluster_egress_peer()), 0..=3),
    )
        .prop_map(|(admin, v1alpha2, priority, subject, ingress, egress)| {
            let (tier, kind, priority) = match (admin, v1alpha2) {
                (true, false) => (Tier::Admin, ClusterPolicyKind::AdminNetworkPolicy, priority),
                (false, false) => (Tier::Baseline, ClusterPolicyKind::BaselineAdminNetworkPolicy, 0),
                (true, true) => (Tier::Admin, ClusterPolicyKind::ClusterNetworkPolicy, priority),
                (false, true) => (Tier::Baseline, ClusterPolicyKind::ClusterNetworkPolicy, priority),
            };
            ClusterPolicy { kind, name: String::new(), tier, priority, subject, ingress, egress }
        })
}

/// A node: `node-0` and `node-1` carry the addresses of the hostNetwork pods that name them,
/// `node-2` addresses no pod has. Some nodes list only one family.
fn node() -> impl Strategy<Value = Node> {
    (0..3usize, labels(&LABEL_KEYS, &LABEL_VALUES), 0..3usize).prop_map(|(i, labels, families)| {
        let (v4, v6) = if i < NODE_V4.len() { (NODE_V4[i], NODE_V6[i]) } else { (LONE_NODE_V4, LONE_NODE_V6) };
        let addresses = match families {
            0 => vec![parse(v4)],
            1 => vec![parse(v6)],
            _ => vec![parse(v4), parse(v6)],
        };
        Node { name: format!("node-{i}"), labels, addresses }
    })
}

/// Namespaces 1–4 (a namespace pods or policies name may stay undefined), pods 1–8, policies
/// 0–5, nodes 0–3, cluster policies 0–3.
pub fn cluster() -> impl Strategy<Value = Cluster> {
    cluster_sized(8, 5)
}

/// Like [`cluster`], with 1 to `max_pods` pods and up to `max_policies` policies.
pub fn cluster_sized(max_pods: usize, max_policies: usize) -> impl Strategy<Value = Cluster> {
    cluster_with(max_pods, max_policies, 0..=3)
}

/// Like [`cluster`], with 1 to `max_pods` pods, up to `max_policies` policies and a number of
/// cluster policies in `cluster_policies`.
pub fn cluster_with(
    max_pods: usize,
    max_policies: usize,
    cluster_policies: std::ops::RangeInclusive<usize>,
) -> impl Strategy<Value = Cluster> {
    (
        vec(namespace(), 1..=4),
        vec(pod(), 1..=max_pods),
        vec(policy(), 0..=max_policies),
        vec(node(), 0..=3),
        vec(cluster_policy(), cluster_policies),
    )
        .prop_map(|(mut namespaces, mut pods, mut policies, mut nodes, mut cluster_policies)| {
            let mut seen = std::collections::BTreeSet::new();
            namespaces.retain(|ns| seen.insert(ns.name.clone()));
            let mut seen = std::collections::BTreeSet::new();
            nodes.retain(|n| seen.insert(n.name.clone()));
            for (i, pod) in pods.iter_mut().enumerate() {
                pod.name = format!("p{i}");
            }
            for (i, policy) in policies.iter_mut().enumerate() {
                policy.name = format!("np{i}");
            }
            // Names against index order, so that ties by name are not ties by position.
            let n = cluster_policies.len();
            for (i, policy) in cluster_policies.iter_mut().enumerate() {
                policy.name = format!("cp{}", n - 1 - i);
            }
            Cluster { namespaces, pods, policies, nodes, cluster_policies, ..Default::default() }
        })
}

/// Keys Cilium selectors test: pod labels and the labels Cilium derives (namespace, namespace
/// labels, service account).
const CILIUM_KEYS: [&str; 5] =
    ["app", "tier", "io.kubernetes.pod.namespace", "io.cilium.k8s.namespace.labels.env", "zzz"];
const CILIUM_VALUES: [&str; 6] = ["x", "y", "w", "alpha", "beta", "gamma"];

fn cilium_selector() -> impl Strategy<Value = LabelSelector> {
    selector(&CILIUM_KEYS, &CILIUM_VALUES)
}

fn cilium_peer() -> impl Strategy<Value = CiliumPeer> {
    prop_oneof![
        4 => cilium_selector().prop_map(CiliumPeer::Endpoints),
        2 => ip_block().prop_map(CiliumPeer::Cidr),
        2 => select(&Entity::ALL[..]).prop_map(|(_, e)| CiliumPeer::Entity(e)),
    ]
}

fn cilium_port() -> impl Strategy<Value = CiliumPort> {
    // None is ANY.
    let any_or = || prop::option::weighted(0.6, protocol());
    prop_oneof![
        1 => any_or().prop_map(|protocol| CiliumPort { protocol, port: None, end_port: None }),
        3 => (any_or(), select(&POLICY_PORTS[..]), prop::option::weighted(0.3, select(&END_DELTAS[..])))
            .prop_map(|(protocol, p, d)| CiliumPort {
                protocol,
                port: Some(PortSpec::Number(p)),
                end_port: d.map(|d| p.saturating_add(d)),
            }),
        2 => (any_or(), select(&POLICY_PORT_NAMES[..])).prop_map(|(protocol, n)| CiliumPort {
            protocol,
            port: Some(PortSpec::Name(n.to_string())),
            end_port: None,
        }),
    ]
}

fn cilium_rule() -> impl Strategy<Value = CiliumRule> {
    (
        prop::option::weighted(0.8, vec(cilium_peer(), 0..=2)),
        prop::option::weighted(0.5, vec(cilium_port(), 0..=2)),
        prop::option::weighted(0.2, cilium_selector()).prop_map(|o| o.into_iter().collect::<Vec<_>>()),
    )
        .prop_map(|(peers, ports, requires)| CiliumRule { peers, ports, requires, notes: Vec::new() })
}

fn cilium_sections() -> impl Strategy<Value = [Vec<CiliumRule>; 4]> {
    (vec(cilium_rule(), 0..=2), vec(cilium_rule(), 0..=2), vec(cilium_rule(), 0..=1), vec(cilium_rule(), 0..=1))
        .prop_map(|(a, b, c, d)| [a, b, c, d])
}

/// A CiliumNetworkPolicy (namespace-scoped as the loader scopes it) or a clusterwide one, with
/// every kind of peer and port, requirements now and then, and `enableDefaultDeny` sometimes set.
pub fn cilium_policy() -> impl Strategy<Value = CiliumPolicy> {
    (
        prop::option::weighted(0.6, namespace_index()),
        cilium_selector(),
        cilium_sections(),
        [prop::option::weighted(0.2, any::<bool>()), prop::option::weighted(0.2, any::<bool>())],
    )
        .prop_map(|(ns, subject, sections, enable)| {
            let namespace = ns.map(|i| NAMESPACES[i]);
            let scope = |rule: CiliumRule| CiliumRule {
                peers: rule.peers.map(|peers| {
                    peers
                        .into_iter()
                        .map(|p| match p {
                            CiliumPeer::Endpoints(s) => CiliumPeer::Endpoints(scope_peer(s, namespace)),
                            other => other,
                        })
                        .collect()
                }),
                requires: rule.requires.into_iter().map(|s| scope_peer(s, namespace)).collect(),
                ..rule
            };
            let sections = sections.map(|rules| rules.into_iter().map(scope).collect::<Vec<_>>());
            let has = |a: usize, b: usize| !sections[a].is_empty() || !sections[b].is_empty();
            CiliumPolicy {
                kind: if namespace.is_some() { CiliumPolicyKind::Namespaced } else { CiliumPolicyKind::Clusterwide },
                namespace: namespace.map(String::from),
                name: String::new(),
                spec_index: None,
                subject: CiliumSubject::Endpoints(scope_subject(subject, namespace)),
                default_deny: [enable[0].unwrap_or(has(0, 2)), enable[1].unwrap_or(has(1, 3))],
                sections,
            }
        })
}

/// A cluster of [`cluster_sized`] with 1–3 Cilium policies, and now and then an API server
/// (for the kube-apiserver entity): on a node's address, or outside the cluster.
pub fn cilium_cluster() -> impl Strategy<Value = Cluster> {
    const APISERVERS: [&str; 4] = [NODE_V4[0], NODE_V6[1], "172.20.0.1", "8.8.8.8"];
    let apiserver = proptest::option::of(select(&APISERVERS[..]));
    (cluster_with(6, 2, 0..=1), vec(cilium_policy(), 1..=3), apiserver).prop_map(
        |(mut cluster, mut policies, apiserver)| {
            for (i, p) in policies.iter_mut().enumerate() {
                p.name = format!("cnp{i}");
            }
            cluster.cilium_policies = policies;
            if let Some(address) = apiserver {
                cluster.infrastructure.push(netreach_model::InfraDestination {
                    destination: netreach_model::Destination::KubeApiserver,
                    addresses: vec![IpNet::from(parse(address))],
                    ports: None,
                    source: "generated".into(),
                    own_ranges: false,
                });
            }
            cluster
        },
    )
}
