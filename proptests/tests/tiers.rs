//! The cluster-scoped tiers (policy.networking.k8s.io) around NetworkPolicy: hand-worked
//! scenarios, each answer checked against the reference *and* the engine (so a wrong reference
//! and a wrong engine both show), then a property on clusters where the tiers dominate.
//!
//! The scenarios, one rule of the reading each: admin Deny beats a NetworkPolicy allow; admin
//! Allow beats a NetworkPolicy deny; Pass falls to NetworkPolicy (then Baseline); baseline Deny
//! applies only to pods no NetworkPolicy isolates (per direction); baseline Pass means the
//! default allow; an egress Allow still needs the destination's ingress; the first match by
//! priority (ties: kind, then name) and rule order; networks match pod IPs whatever
//! `IpBlockPodMatching` says; nodes match hostNetwork pods and node addresses; named ports
//! resolve on the destination; domain names match nothing; hostNetwork pods are subjects only
//! under `LikePods`.

use netreach_model::{
    Action, Cluster, ClusterPeer, ClusterPolicy, ClusterPolicyKind, ClusterPort, ClusterRule, ClusterSubject,
    CniProfile, ContainerPort, Direction, Endpoint, EngineOptions, HostNetworkSelection, IpBlock, IpBlockPodMatching,
    LabelSelector, Labels, Namespace, NetworkPolicy, Node, Peer, Pod, Protocol, Reachability, Rule, Tier,
    NAMESPACE_NAME_LABEL,
};
use netreach_proptests::reference::{self, Addr};
use netreach_proptests::ALL_OPTIONS;
use netreach_proptests::{generate, probes, show};
use proptest::prelude::*;
use std::net::IpAddr;

const NODE_IDENTITY: EngineOptions = EngineOptions {
    host_network: HostNetworkSelection::NodeIdentity,
    ip_block_pods: IpBlockPodMatching::Match,
    cni: CniProfile::Auto,
    cilium_allow_localhost: netreach_model::cilium::AllowLocalhost::Auto,
};
const LIKE_PODS: EngineOptions = EngineOptions {
    host_network: HostNetworkSelection::LikePods,
    ip_block_pods: IpBlockPodMatching::Match,
    cni: CniProfile::Auto,
    cilium_allow_localhost: netreach_model::cilium::AllowLocalhost::Auto,
};

use Protocol::{Tcp, Udp};

// ---------------------------------------------------------------------------------------------
// Builders

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn pod(id: &str, l: &[(&str, &str)], ips: &[&str]) -> Pod {
    let (ns, name) = id.split_once('/').expect("ns/name");
    let mut p = Pod::new(ns, name, labels(l));
    p.ips = ips.iter().map(|ip| ip.parse().unwrap()).collect();
    p
}

fn host_pod(id: &str, ip: &str) -> Pod {
    let mut p = pod(id, &[("app", "agent")], &[ip]);
    p.host_network = true;
    p
}

fn with_ports(mut p: Pod, ports: &[(&str, u16, Protocol)]) -> Pod {
    p.ports = ports.iter().map(|&(n, port, protocol)| ContainerPort { name: Some(n.into()), port, protocol }).collect();
    p
}

/// Namespaces `a` (team=x) and `b` (team=y), `c` (no labels), plus the pods and policies given.
fn cluster(pods: Vec<Pod>, policies: Vec<NetworkPolicy>, cluster_policies: Vec<ClusterPolicy>) -> Cluster {
    Cluster {
        namespaces: vec![
            Namespace::new("a", labels(&[("team", "x")])),
            Namespace::new("b", labels(&[("team", "y")])),
            Namespace::new("c", Labels::new()),
        ],
        pods,
        policies,
        cluster_policies,
        ..Default::default()
    }
}

fn ns(name: &str) -> LabelSelector {
    LabelSelector::from_labels([(NAMESPACE_NAME_LABEL, name)])
}

fn all() -> LabelSelector {
    LabelSelector::everything()
}

fn in_ns(name: &str) -> ClusterSubject {
    ClusterSubject::Namespaces(ns(name))
}

fn everyone() -> ClusterSubject {
    ClusterSubject::Namespaces(all())
}

fn rule(action: Action, peers: Vec<ClusterPeer>, ports: Option<Vec<ClusterPort>>) -> ClusterRule {
    ClusterRule { name: None, action, peers, ports }
}

fn from_ns(name: &str) -> ClusterPeer {
    ClusterPeer::Namespaces(ns(name))
}

fn any_ns() -> ClusterPeer {
    ClusterPeer::Namespaces(all())
}

fn networks(cidrs: &[&str]) -> ClusterPeer {
    ClusterPeer::Networks(cidrs.iter().map(|c| IpBlock::parse(c, &[]).unwrap()).collect())
}

fn tcp(port: u16) -> Option<Vec<ClusterPort>> {
    Some(vec![ClusterPort::Number { protocol: Tcp, port }])
}

fn policy(
    kind: ClusterPolicyKind,
    tier: Tier,
    name: &str,
    priority: u32,
    subject: ClusterSubject,
    ingress: Rules,
    egress: Rules,
) -> ClusterPolicy {
    ClusterPolicy { kind, name: name.into(), tier, priority, subject, ingress, egress }
}

type Rules = Vec<ClusterRule>;

fn anp(name: &str, priority: u32, subject: ClusterSubject, ingress: Rules, egress: Rules) -> ClusterPolicy {
    policy(ClusterPolicyKind::AdminNetworkPolicy, Tier::Admin, name, priority, subject, ingress, egress)
}

fn banp(subject: ClusterSubject, ingress: Rules, egress: Rules) -> ClusterPolicy {
    policy(ClusterPolicyKind::BaselineAdminNetworkPolicy, Tier::Baseline, "default", 0, subject, ingress, egress)
}

fn cnp(tier: Tier, name: &str, priority: u32, subject: ClusterSubject, ingress: Rules, egress: Rules) -> ClusterPolicy {
    policy(ClusterPolicyKind::ClusterNetworkPolicy, tier, name, priority, subject, ingress, egress)
}

/// A NetworkPolicy in `namespace` selecting `selector`, with `policyTypes` given explicitly.
fn np(ns: &str, selector: LabelSelector, types: &[Direction], ingress: Vec<Rule>, egress: Vec<Rule>) -> NetworkPolicy {
    NetworkPolicy {
        namespace: ns.into(),
        name: format!("np-{}", types.len()),
        pod_selector: selector,
        policy_types: Some(types.to_vec()),
        ingress,
        egress,
    }
}

fn allow_all_rule() -> Rule {
    Rule { peers: vec![], ports: vec![] }
}

fn from_namespace_rule(name: &str) -> Rule {
    Rule { peers: vec![Peer::Pods { pod_selector: None, namespace_selector: Some(ns(name)) }], ports: vec![] }
}

// ---------------------------------------------------------------------------------------------
// Checking one probe against the reference and the engine

fn addr(c: &Cluster, s: &str) -> Addr {
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Addr::External(ip);
    }
    Addr::Pod(c.pods.iter().position(|p| p.id() == s).unwrap_or_else(|| panic!("no pod {s}")))
}

fn endpoint(reach: &Reachability, a: &Addr) -> Endpoint {
    match a {
        Addr::Pod(i) => Endpoint::Pod(*i as u32),
        Addr::External(ip) => {
            let j = reach.externals().iter().position(|e| e.ranges.contains(ip));
            Endpoint::External(j.unwrap_or_else(|| panic!("{ip} in no external range")) as u32)
        }
    }
}

/// `src -> dst` on `protocol`/`port` is `expected` under each of `options`, for the reference
/// and for the engine.
#[track_caller]
fn expect(c: &Cluster, options: &[EngineOptions], src: &str, dst: &str, protocol: Protocol, port: u16, expected: bool) {
    let (s, d) = (addr(c, src), addr(c, dst));
    for o in options {
        let r = reference::allowed(c, o, &s, &d, protocol, port);
        assert_eq!(r, expected, "reference, {o:?}: {src} -> {dst} {protocol} {port}\n{}", show::describe(c));
        let reach = Reachability::compute(c, o);
        let e = reach.allowed(endpoint(&reach, &s), endpoint(&reach, &d)).contains(protocol, port);
        assert_eq!(e, expected, "engine, {o:?}: {src} -> {dst} {protocol} {port}\n{}", show::describe(c));
    }
}

#[track_caller]
fn allowed(c: &Cluster, src: &str, dst: &str, protocol: Protocol, port: u16) {
    expect(c, &ALL_OPTIONS, src, dst, protocol, port, true);
}

#[track_caller]
fn denied(c: &Cluster, src: &str, dst: &str, protocol: Protocol, port: u16) {
    expect(c, &ALL_OPTIONS, src, dst, protocol, port, false);
}

/// The reference's deciding rule of `tier` for one direction (policy index, rule index, action).
fn decision(
    c: &Cluster,
    tier: Tier,
    direction: Direction,
    src: &str,
    dst: &str,
    protocol: Protocol,
    port: u16,
) -> Option<(usize, usize, Action)> {
    let (s, d) = (addr(c, src), addr(c, dst));
    let (subject, peer) = match direction {
        Direction::Egress => (&s, &d),
        Direction::Ingress => (&d, &s),
    };
    let Addr::Pod(i) = subject else { return None };
    reference::tier_decision(c, &NODE_IDENTITY, tier, direction, *i, peer, &d, protocol, port)
        .map(|t| (t.policy, t.rule, t.action))
}

fn three_pods() -> Vec<Pod> {
    vec![
        pod("a/x", &[("app", "web")], &["10.0.0.1"]),
        pod("a/y", &[("app", "db")], &["10.0.0.2"]),
        pod("b/z", &[("app", "web")], &["10.0.1.1"]),
    ]
}

// ---------------------------------------------------------------------------------------------
// Scenarios

#[test]
fn admin_deny_beats_a_network_policy_allow() {
    let allow_all = np("a", all(), &[Direction::Ingress], vec![allow_all_rule()], vec![]);
    let deny_b = anp("deny-b", 10, in_ns("a"), vec![rule(Action::Deny, vec![from_ns("b")], None)], vec![]);
    let c = cluster(three_pods(), vec![allow_all], vec![deny_b]);
    denied(&c, "b/z", "a/x", Tcp, 80);
    denied(&c, "b/z", "a/y", Udp, 53);
    allowed(&c, "a/y", "a/x", Tcp, 80);
    allowed(&c, "8.8.8.8", "a/x", Tcp, 80);
    // Not a subject: b/z's own ingress is untouched.
    allowed(&c, "a/x", "b/z", Tcp, 80);
    assert_eq!(decision(&c, Tier::Admin, Direction::Ingress, "b/z", "a/x", Tcp, 80), Some((0, 0, Action::Deny)));
    assert_eq!(decision(&c, Tier::Admin, Direction::Egress, "b/z", "a/x", Tcp, 80), None);
}

#[test]
fn admin_allow_beats_a_network_policy_deny() {
    let deny_all = np("a", all(), &[Direction::Ingress, Direction::Egress], vec![], vec![]);
    let allow_b = anp("allow-b", 10, in_ns("a"), vec![rule(Action::Allow, vec![from_ns("b")], tcp(80))], vec![]);
    let c = cluster(three_pods(), vec![deny_all], vec![allow_b]);
    allowed(&c, "b/z", "a/x", Tcp, 80);
    denied(&c, "b/z", "a/x", Tcp, 81);
    denied(&c, "b/z", "a/x", Udp, 80);
    // The admin allow is for ingress only: a's egress stays denied by the NetworkPolicy.
    denied(&c, "a/y", "a/x", Tcp, 80);
    denied(&c, "a/x", "b/z", Tcp, 80);
}

#[test]
fn pass_skips_the_rest_of_the_admin_tier_and_network_policy_decides() {
    let pass = anp("pass", 1, in_ns("a"), vec![rule(Action::Pass, vec![from_ns("b")], None)], vec![]);
    let deny = anp("deny", 2, in_ns("a"), vec![rule(Action::Deny, vec![any_ns()], None)], vec![]);
    let only_x = np("a", all(), &[Direction::Ingress], vec![Rule { peers: vec![], ports: vec![] }], vec![]);
    let mut only_x = only_x;
    only_x.pod_selector = LabelSelector::from_labels([("app", "web")]);
    let c = cluster(three_pods(), vec![only_x], vec![pass.clone(), deny.clone()]);
    allowed(&c, "b/z", "a/x", Tcp, 80); // passed, then the NetworkPolicy allows
    denied(&c, "a/y", "a/x", Tcp, 80); // no pass for a: the lower-priority deny decides
    assert_eq!(decision(&c, Tier::Admin, Direction::Ingress, "b/z", "a/x", Tcp, 80), Some((0, 0, Action::Pass)));

    // Passed and not isolated by NetworkPolicy (a/y): the Baseline tier decides, then the default.
    let base = banp(everyone(), vec![rule(Action::Deny, vec![from_ns("b")], tcp(5432))], vec![]);
    let c = cluster(three_pods(), vec![c.policies[0].clone()], vec![pass, deny, base]);
    denied(&c, "b/z", "a/y", Tcp, 5432);
    allowed(&c, "b/z", "a/y", Tcp, 5433);
    allowed(&c, "b/z", "a/x", Tcp, 5432); // a/x is isolated: NetworkPolicy decides
}

#[test]
fn baseline_deny_applies_only_to_pods_no_network_policy_isolates() {
    let base = banp(
        everyone(),
        vec![rule(Action::Deny, vec![any_ns()], None)],
        vec![rule(Action::Deny, vec![networks(&["0.0.0.0/0"])], None)],
    );
    let web = LabelSelector::from_labels([("app", "web")]);
    let mut x_ingress = np("a", web, &[Direction::Ingress], vec![from_namespace_rule("b")], vec![]);
    x_ingress.name = "x-ingress".into();
    let c = cluster(three_pods(), vec![x_ingress], vec![base]);
    allowed_one_way(&c);

    fn allowed_one_way(c: &Cluster) {
        // a/x is isolated for ingress: its NetworkPolicy allows b and nothing else.
        // But its egress is not isolated by NetworkPolicy: the baseline denies it.
        expect(c, &ALL_OPTIONS, "b/z", "a/x", Tcp, 80, false); // b/z's egress: baseline deny
        expect(c, &ALL_OPTIONS, "8.8.8.8", "a/x", Tcp, 80, false); // not from b
        expect(c, &ALL_OPTIONS, "a/x", "a/y", Tcp, 80, false); // a/y's ingress: baseline deny
        expect(c, &ALL_OPTIONS, "a/x", "8.8.8.8", Tcp, 80, false); // a/x's egress: baseline deny
    }

    // Exempt b/z's egress from the baseline with a NetworkPolicy that allows it all.
    let mut z_egress = np("b", all(), &[Direction::Egress], vec![], vec![allow_all_rule()]);
    z_egress.name = "z-egress".into();
    let mut c2 = c.clone();
    c2.policies.push(z_egress);
    allowed(&c2, "b/z", "a/x", Tcp, 80); // egress: NetworkPolicy allows; ingress: NetworkPolicy allows b
    denied(&c2, "b/z", "a/y", Tcp, 80); // a/y's ingress: baseline
    allowed(&c2, "b/z", "8.8.8.8", Udp, 53); // externals are never subjects
    allowed(&c2, "8.8.8.8", "b/z", Udp, 53); // the baseline's namespaces peer sees no externals
    denied(&c2, "b/z", "b/z", Udp, 53); // but b/z itself is a pod of a namespace
}

#[test]
fn baseline_pass_means_the_default_allow() {
    let pass = cnp(Tier::Baseline, "pass-b", 0, everyone(), vec![rule(Action::Pass, vec![from_ns("b")], None)], vec![]);
    let deny = cnp(Tier::Baseline, "deny-all", 1, everyone(), vec![rule(Action::Deny, vec![any_ns()], None)], vec![]);
    let c = cluster(three_pods(), vec![], vec![deny, pass]);
    allowed(&c, "b/z", "a/x", Tcp, 80);
    denied(&c, "a/y", "a/x", Tcp, 80);
    allowed(&c, "8.8.8.8", "a/x", Tcp, 80); // namespaces peers never match externals
    assert_eq!(decision(&c, Tier::Baseline, Direction::Ingress, "b/z", "a/x", Tcp, 80), Some((1, 0, Action::Pass)));
    // An admin Pass ends in the same default allow.
    let admin_pass =
        cnp(Tier::Admin, "admin-pass", 0, everyone(), vec![rule(Action::Pass, vec![any_ns()], None)], vec![]);
    let c = cluster(three_pods(), vec![], vec![admin_pass]);
    allowed(&c, "a/y", "a/x", Tcp, 80);
}

#[test]
fn egress_allow_still_needs_the_destination_ingress() {
    let allow_egress = anp("egress", 0, in_ns("a"), vec![], vec![rule(Action::Allow, vec![from_ns("b")], None)]);
    let deny_b_ingress = np("b", all(), &[Direction::Ingress], vec![], vec![]);
    let deny_a_egress = np("a", all(), &[Direction::Egress], vec![], vec![]);
    let c = cluster(three_pods(), vec![deny_b_ingress.clone(), deny_a_egress.clone()], vec![allow_egress.clone()]);
    denied(&c, "a/x", "b/z", Tcp, 80); // b/z's ingress is denied by its NetworkPolicy
                                       // Without b's ingress policy, the admin egress allow overrides a's egress deny.
    let c = cluster(three_pods(), vec![deny_a_egress], vec![allow_egress.clone()]);
    allowed(&c, "a/x", "b/z", Tcp, 80);
    denied(&c, "a/x", "a/y", Tcp, 80);
    // And a baseline ingress deny on b stops it too.
    let base = banp(in_ns("b"), vec![rule(Action::Deny, vec![any_ns()], None)], vec![]);
    let c = cluster(three_pods(), vec![], vec![allow_egress, base]);
    denied(&c, "a/x", "b/z", Tcp, 80);
}

#[test]
fn first_match_by_priority_then_kind_then_name_then_rule_order() {
    let deny = |name: &str, p| anp(name, p, in_ns("a"), vec![rule(Action::Deny, vec![from_ns("b")], None)], vec![]);
    let allow = |name: &str, p| anp(name, p, in_ns("a"), vec![rule(Action::Allow, vec![from_ns("b")], None)], vec![]);
    let deny_np = np("a", all(), &[Direction::Ingress], vec![], vec![]);
    // Lower priority number first, whatever the order in the cluster.
    let c = cluster(three_pods(), vec![deny_np.clone()], vec![allow("late", 5), deny("early", 1)]);
    denied(&c, "b/z", "a/x", Tcp, 80);
    let c = cluster(three_pods(), vec![deny_np.clone()], vec![deny("late", 5), allow("early", 1)]);
    allowed(&c, "b/z", "a/x", Tcp, 80);
    // Same priority: by kind name (AdminNetworkPolicy before ClusterNetworkPolicy) ...
    let cnp_deny = cnp(Tier::Admin, "aaa", 3, in_ns("a"), vec![rule(Action::Deny, vec![from_ns("b")], None)], vec![]);
    let c = cluster(three_pods(), vec![deny_np.clone()], vec![cnp_deny, allow("zzz", 3)]);
    allowed(&c, "b/z", "a/x", Tcp, 80);
    // ... then by name.
    let c = cluster(three_pods(), vec![deny_np.clone()], vec![deny("n2", 3), allow("n1", 3)]);
    allowed(&c, "b/z", "a/x", Tcp, 80);
    assert_eq!(decision(&c, Tier::Admin, Direction::Ingress, "b/z", "a/x", Tcp, 80), Some((1, 0, Action::Allow)));
    // Inside a policy, rule order: the first rule that matches peers AND ports decides.
    let ordered = anp(
        "ordered",
        0,
        in_ns("a"),
        vec![
            rule(Action::Allow, vec![from_ns("b")], tcp(443)),
            rule(Action::Deny, vec![from_ns("b")], None),
            rule(Action::Allow, vec![from_ns("b")], None),
        ],
        vec![],
    );
    let c = cluster(three_pods(), vec![], vec![ordered]);
    allowed(&c, "b/z", "a/x", Tcp, 443);
    denied(&c, "b/z", "a/x", Tcp, 80);
    assert_eq!(decision(&c, Tier::Admin, Direction::Ingress, "b/z", "a/x", Tcp, 80), Some((0, 1, Action::Deny)));
}

#[test]
fn networks_match_pod_ips_whatever_ip_block_pod_matching_says() {
    let deny_networks = rule(Action::Deny, vec![networks(&["10.0.1.0/24", "fd00:9::/64"])], None);
    let deny = anp("deny-net", 0, in_ns("a"), vec![], vec![deny_networks]);
    let mut pods = three_pods();
    pods.push(pod("c/dual", &[], &["192.168.0.1", "fd00:9::1"]));
    let c = cluster(pods, vec![], vec![deny]);
    denied(&c, "a/x", "b/z", Tcp, 80); // 10.0.1.1, under both IpBlockPodMatching options
    denied(&c, "a/x", "c/dual", Tcp, 80); // any of a pod's IPs
    denied(&c, "a/x", "10.0.1.0", Tcp, 80);
    denied(&c, "a/x", "10.0.1.255", Tcp, 80);
    allowed(&c, "a/x", "10.0.2.0", Tcp, 80);
    allowed(&c, "a/x", "10.0.0.255", Tcp, 80);
    allowed(&c, "a/x", "a/y", Tcp, 80);
    allowed(&c, "b/z", "10.0.1.7", Tcp, 80); // b/z is no subject
}

#[test]
fn nodes_match_host_network_pods_and_node_addresses() {
    let mut c = cluster(
        vec![pod("a/x", &[], &["10.0.0.1"]), host_pod("c/agent", "172.16.0.1"), host_pod("c/other", "172.16.0.2")],
        vec![],
        vec![anp(
            "no-workers",
            0,
            in_ns("a"),
            vec![],
            vec![rule(Action::Deny, vec![ClusterPeer::Nodes(LabelSelector::from_labels([("role", "worker")]))], None)],
        )],
    );
    let node = |name: &str, role: &str, ips: &[&str]| Node {
        name: name.into(),
        labels: labels(&[("role", role)]),
        addresses: ips.iter().map(|ip| ip.parse().unwrap()).collect(),
    };
    c.nodes = vec![node("w1", "worker", &["172.16.0.1", "172.16.0.9"]), node("cp", "control-plane", &["172.16.0.2"])];
    denied(&c, "a/x", "c/agent", Tcp, 10250); // a hostNetwork pod on a worker address
    denied(&c, "a/x", "172.16.0.9", Tcp, 10250); // a worker address no pod has
    allowed(&c, "a/x", "c/other", Tcp, 10250); // control-plane node
    allowed(&c, "a/x", "172.16.0.8", Tcp, 10250);
    // Nodes peers look at addresses only: a plain pod on a node address would match too, but
    // hostNetwork pods are subjects only under LikePods.
    let mut c2 = c.clone();
    c2.cluster_policies[0].subject = everyone();
    expect(&c2, &[NODE_IDENTITY], "c/other", "c/agent", Tcp, 22, true);
    expect(&c2, &[LIKE_PODS], "c/other", "c/agent", Tcp, 22, false);
}

#[test]
fn host_network_pods_are_subjects_and_namespace_peers_only_like_pods() {
    let deny = anp("deny-c", 0, everyone(), vec![rule(Action::Deny, vec![from_ns("c")], None)], vec![]);
    let c = cluster(vec![pod("a/x", &[], &["10.0.0.1"]), host_pod("c/agent", "172.16.0.1")], vec![], vec![deny]);
    expect(&c, &[NODE_IDENTITY], "c/agent", "a/x", Tcp, 80, true); // not a namespaces peer
    expect(&c, &[LIKE_PODS], "c/agent", "a/x", Tcp, 80, false);
    expect(&c, &[NODE_IDENTITY], "a/x", "c/agent", Tcp, 80, true);
}

#[test]
fn named_ports_resolve_on_the_destination_under_any_protocol() {
    let web = with_ports(pod("a/x", &[("app", "web")], &["10.0.0.1"]), &[("http", 8080, Tcp)]);
    let dns = with_ports(pod("a/y", &[("app", "db")], &["10.0.0.2"]), &[("http", 9000, Udp), ("dns", 53, Udp)]);
    let z = with_ports(pod("b/z", &[], &["10.0.1.1"]), &[("http", 7000, Tcp)]);
    let named = Some(vec![ClusterPort::Named("http".into())]);
    // Ingress: the subject's own ports.
    let deny_in = anp("deny-http", 0, in_ns("a"), vec![rule(Action::Deny, vec![any_ns()], named.clone())], vec![]);
    let c = cluster(vec![web.clone(), dns.clone(), z.clone()], vec![], vec![deny_in]);
    denied(&c, "b/z", "a/x", Tcp, 8080);
    allowed(&c, "b/z", "a/x", Udp, 8080);
    allowed(&c, "b/z", "a/x", Tcp, 7000); // b/z's own "http" is not a/x's
    denied(&c, "b/z", "a/y", Udp, 9000);
    allowed(&c, "b/z", "a/y", Tcp, 9000);
    // Egress: the peer's ports; an external destination has none.
    let deny_out = anp(
        "deny-http-out",
        0,
        in_ns("b"),
        vec![],
        vec![rule(Action::Deny, vec![any_ns(), networks(&["0.0.0.0/0"])], named)],
    );
    let c = cluster(vec![web, dns, z], vec![], vec![deny_out]);
    denied(&c, "b/z", "a/x", Tcp, 8080);
    allowed(&c, "b/z", "a/x", Tcp, 7000);
    allowed(&c, "b/z", "8.8.8.8", Tcp, 8080);
    allowed(&c, "b/z", "8.8.8.8", Tcp, 7000);
}

#[test]
fn port_numbers_ranges_and_protocols() {
    let deny = anp(
        "ports",
        0,
        in_ns("a"),
        vec![rule(
            Action::Deny,
            vec![any_ns()],
            Some(vec![
                ClusterPort::Number { protocol: Udp, port: 53 },
                ClusterPort::Range { protocol: Tcp, start: 8000, end: 8010 },
            ]),
        )],
        vec![],
    );
    let c = cluster(three_pods(), vec![], vec![deny]);
    denied(&c, "b/z", "a/x", Udp, 53);
    allowed(&c, "b/z", "a/x", Tcp, 53);
    allowed(&c, "b/z", "a/x", Tcp, 7999);
    denied(&c, "b/z", "a/x", Tcp, 8000);
    denied(&c, "b/z", "a/x", Tcp, 8010);
    allowed(&c, "b/z", "a/x", Tcp, 8011);
    allowed(&c, "b/z", "a/x", Protocol::Sctp, 8005);
}

#[test]
fn pods_subjects_and_peers_and_domain_names() {
    let web = LabelSelector::from_labels([("app", "web")]);
    let web_in_team_x = ClusterSubject::Pods {
        namespace_selector: LabelSelector::from_labels([("team", "x")]),
        pod_selector: web.clone(),
    };
    let deny = anp(
        "web",
        0,
        web_in_team_x,
        vec![rule(Action::Deny, vec![ClusterPeer::Pods { namespace_selector: all(), pod_selector: web }], None)],
        vec![rule(Action::Deny, vec![ClusterPeer::DomainNames(vec!["example.com".into()])], None)],
    );
    let c = cluster(three_pods(), vec![], vec![deny]);
    denied(&c, "b/z", "a/x", Tcp, 80); // web -> web in team x
    allowed(&c, "a/y", "a/x", Tcp, 80); // not web
    allowed(&c, "a/x", "b/z", Tcp, 80); // b/z is no subject; domain names match nothing
    allowed(&c, "a/x", "93.184.216.34", Tcp, 443);
}

/// Outside the loaders' contract (they reject `nodes` in ingress peers, as the API does), but
/// the model type allows it: the engine cuts node addresses into external atoms only when an
/// *egress* rule names nodes (`Reachability::compute`, `node_blocks`), so an ingress `nodes`
/// peer never matches an external node address. Networks in ingress rules are cut (both
/// directions are swept).
#[test]
fn ingress_nodes_peer_matches_an_external_node_address_in_the_reference_only() {
    let deny = anp("p", 0, everyone(), vec![rule(Action::Deny, vec![ClusterPeer::Nodes(all())], None)], vec![]);
    let mut c = cluster(vec![pod("a/x", &[], &["10.0.0.1"])], vec![], vec![deny]);
    c.nodes = vec![Node { name: "n".into(), labels: Labels::new(), addresses: vec!["172.16.0.1".parse().unwrap()] }];
    let (node, x) = (addr(&c, "172.16.0.1"), addr(&c, "a/x"));
    for options in &ALL_OPTIONS {
        assert!(!reference::allowed(&c, options, &node, &x, Tcp, 80), "reference, {options:?}");
        let reach = Reachability::compute(&c, options);
        let engine = reach.allowed(endpoint(&reach, &node), endpoint(&reach, &x)).contains(Tcp, 80);
        // FIXME: the engine should deny 172.16.0.1 -> a/x like the reference (cut node addresses
        // into external atoms for ingress `nodes` peers too); today it allows it.
        assert!(engine, "engine, {options:?}: the fixme above is fixed; assert `denied` instead");
    }
    allowed(&c, "172.16.0.2", "a/x", Tcp, 80);
}

// ---------------------------------------------------------------------------------------------
// A property on clusters where the tiers dominate: 1–4 cluster policies, few NetworkPolicies.

fn check_cluster(cluster: &Cluster) -> Result<(), String> {
    let ports = probes::ports(cluster);
    let externals = probes::external_ips(cluster);
    for options in ALL_OPTIONS {
        let reach = Reachability::compute(cluster, &options);
        let mut ends: Vec<(Endpoint, Addr)> =
            (0..cluster.pods.len()).map(|i| (Endpoint::Pod(i as u32), Addr::Pod(i))).collect();
        for ip in &externals {
            if let Some(j) = reach.externals().iter().position(|e| e.ranges.contains(ip)) {
                ends.push((Endpoint::External(j as u32), Addr::External(*ip)));
            }
        }
        for (i, s) in ends.iter().enumerate() {
            for d in &ends {
                if i >= cluster.pods.len() && matches!(d.1, Addr::External(_)) {
                    continue;
                }
                let got = reach.allowed(s.0, d.0);
                for protocol in Protocol::ALL {
                    for &port in &ports {
                        let expected = reference::allowed(cluster, &options, &s.1, &d.1, protocol, port);
                        if got.contains(protocol, port) != expected {
                            return Err(format!(
                                "{options:?}: {:?} -> {:?} {protocol} {port}: engine {}, reference {expected} (engine allows {got})",
                                s.1,
                                d.1,
                                !expected
                            ));
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

/// 400 cases, or 40% of `NETREACH_PROPTEST_CASES` (the main property's count) for longer hunts.
fn cases() -> u32 {
    std::env::var("NETREACH_PROPTEST_CASES").ok().and_then(|s| s.parse().ok()).map_or(400, |n: u32| n * 2 / 5)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(),
        failure_persistence: Some(Box::new(proptest::test_runner::FileFailurePersistence::WithSource("proptest-regressions"))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn engine_agrees_with_reference_when_tiers_dominate(cluster in generate::cluster_with(6, 2, 1..=4)) {
        check_cluster(&cluster).map_err(|e| TestCaseError::fail(format!("{e}\n{}", show::describe(&cluster))))?;
    }
}
