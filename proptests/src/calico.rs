//! The reference reading of Calico policies, one connection at a time, written again from
//! Calico's reference pages (networkpolicy, globalnetworkpolicy, tier) without the engine:
//! - Tiers by order (none last), then name; Calico's own: kube-admin 1000 (Pass), default
//!   1,000,000 (Deny), kube-baseline 10,000,000 (Pass); a Tier object overrides.
//! - In a tier, the policies selecting the subject in that direction, by order (none last) then
//!   name; Kubernetes NetworkPolicies isolating it sit in the default tier at order 1000 as
//!   Allow rules; admin policies in kube-admin / kube-baseline by priority.
//! - A tier with nothing selecting the subject is skipped; Allow/Deny decide; Pass goes to the
//!   next tier; Log goes on; nothing matched: the tier's default action. After the tiers: allow.
//! - A pod's labels: its own, `projectcalico.org/namespace|orchestrator|serviceaccount`, its
//!   namespace's under `pcns.` and its ServiceAccount's under `pcsa.` (both with
//!   `projectcalico.org/name`); hostNetwork pods have none (never selected).
//! - Rule entities: a namespaced policy's selector/serviceAccounts/notSelector stay in its
//!   namespace unless namespaceSelector; nets by address (pods too); notSelector excludes pods.
//! - Network sets: a selector also matches an address in the nets of a network set it matches
//!   (a NetworkSet only from its namespace's policies or a namespaceSelector; a GlobalNetworkSet
//!   from global policies or a namespaceSelector true under `global()`); notSelector excludes them.

use crate::reference::{self, namespace_labels, Addr};
use netreach_model::calico::{
    CalicoAction, CalicoKind, CalicoPolicy, CalicoPort, CalicoRule, EntityRule, NetworkSet, Order, ServiceAccountMatch,
    ADMIN_TIER, BASELINE_TIER, DEFAULT_TIER, DEFAULT_TIER_ORDER, NETWORK_POLICY_ORDER,
};
use netreach_model::{Action, Cluster, CniProfile, Direction, EngineOptions, Labels, Protocol, Tier};
use std::net::IpAddr;

/// Whether Calico's tiers decide: the Calico profile, or any Calico policy.
pub fn active(cluster: &Cluster, options: &EngineOptions) -> bool {
    let profile = match options.cni {
        CniProfile::Auto if !cluster.cilium_policies.is_empty() => CniProfile::Cilium,
        CniProfile::Auto if cluster.calico.is_present() => CniProfile::Calico,
        other => other,
    };
    profile == CniProfile::Calico || !cluster.calico.policies.is_empty()
}

fn namespace_view(cluster: &Cluster, ns: &str) -> Labels {
    let mut l = namespace_labels(cluster, ns);
    l.insert("projectcalico.org/name".into(), ns.into());
    l
}

fn account_view(cluster: &Cluster, ns: &str, name: &str) -> Labels {
    let mut l = cluster
        .calico
        .service_accounts
        .iter()
        .find(|sa| sa.namespace == ns && sa.name == name)
        .map(|sa| sa.labels.clone())
        .unwrap_or_default();
    l.insert("projectcalico.org/name".into(), name.into());
    l
}

/// The labels Calico gives a pod's workload endpoint; `None` for a hostNetwork pod.
fn endpoint_view(cluster: &Cluster, pod: usize) -> Option<Labels> {
    let pod = &cluster.pods[pod];
    if pod.host_network {
        return None;
    }
    let mut l = Labels::new();
    for (k, v) in namespace_view(cluster, &pod.namespace) {
        l.insert(format!("pcns.{k}"), v);
    }
    for (k, v) in account_view(cluster, &pod.namespace, &pod.service_account) {
        l.insert(format!("pcsa.{k}"), v);
    }
    l.insert("projectcalico.org/namespace".into(), pod.namespace.clone());
    l.insert("projectcalico.org/orchestrator".into(), "k8s".into());
    l.insert("projectcalico.org/serviceaccount".into(), pod.service_account.clone());
    for (k, v) in &pod.labels {
        l.insert(k.clone(), v.clone());
    }
    Some(l)
}

fn account_matches(cluster: &Cluster, m: &ServiceAccountMatch, pod: usize) -> bool {
    let pod = &cluster.pods[pod];
    (m.names.is_empty() || m.names.contains(&pod.service_account))
        && m.selector.as_ref().is_none_or(|s| s.matches(&account_view(cluster, &pod.namespace, &pod.service_account)))
}

fn addresses(cluster: &Cluster, addr: &Addr) -> Vec<IpAddr> {
    match addr {
        Addr::Pod(i) => cluster.pods[*i].ips.clone(),
        Addr::External(ip) => vec![*ip],
    }
}

fn entity_matches(cluster: &Cluster, policy: &CalicoPolicy, e: &EntityRule, addr: &Addr) -> bool {
    let namespaced = policy.kind == CalicoKind::NetworkPolicy;
    let names_pods = e.selector.is_some()
        || e.namespace_selector.is_some()
        || e.service_accounts.is_some()
        || (namespaced && e.not_selector.is_some());
    let ips = addresses(cluster, addr);
    if names_pods && !(pod_matches(cluster, policy, e, addr) || in_network_set(cluster, policy, e, &ips)) {
        return false;
    }
    if !e.nets.is_empty() && !ips.iter().any(|ip| e.nets.iter().any(|n| n.contains(ip))) {
        return false;
    }
    if ips.iter().any(|ip| e.not_nets.iter().any(|n| n.contains(ip))) {
        return false;
    }
    if let Some(s) = &e.not_selector {
        let pod_excluded = matches!(addr, Addr::Pod(i) if endpoint_view(cluster, *i).is_some_and(|v| s.matches(&v)));
        let set_excluded = cluster.calico.network_sets.iter().any(|set| {
            s.matches_endpoint(&set_view(cluster, set), set.namespace.is_none()) && contains_any(&set.nets, &ips)
        });
        if pod_excluded || set_excluded {
            return false;
        }
    }
    true
}

fn pod_matches(cluster: &Cluster, policy: &CalicoPolicy, e: &EntityRule, addr: &Addr) -> bool {
    let Addr::Pod(i) = addr else { return false };
    let Some(view) = endpoint_view(cluster, *i) else { return false };
    let pod = &cluster.pods[*i];
    let namespace_ok = match &e.namespace_selector {
        Some(s) => s.matches(&namespace_view(cluster, &pod.namespace)),
        None => policy.kind != CalicoKind::NetworkPolicy || policy.namespace.as_deref() == Some(pod.namespace.as_str()),
    };
    let selector_ok = e.selector.as_ref().is_none_or(|s| s.matches(&view));
    let accounts_ok = e.service_accounts.as_ref().is_none_or(|m| account_matches(cluster, m, *i));
    namespace_ok && selector_ok && accounts_ok
}

/// A network set's labels: its own, and for a NetworkSet its namespace's as a pod has them.
fn set_view(cluster: &Cluster, set: &NetworkSet) -> Labels {
    let mut l = Labels::new();
    if let Some(ns) = &set.namespace {
        for (k, v) in namespace_view(cluster, ns) {
            l.insert(format!("pcns.{k}"), v);
        }
        l.insert("projectcalico.org/namespace".into(), ns.clone());
    }
    l.extend(set.labels.clone());
    l
}

fn contains_any(nets: &[netreach_model::IpBlock], ips: &[IpAddr]) -> bool {
    ips.iter().any(|ip| nets.iter().any(|n| n.contains(ip)))
}

/// Whether an address is in a network set the entity's selector and namespaceSelector match
/// (never with serviceAccounts: those name pods).
fn in_network_set(cluster: &Cluster, policy: &CalicoPolicy, e: &EntityRule, ips: &[IpAddr]) -> bool {
    e.service_accounts.is_none()
        && cluster.calico.network_sets.iter().any(|set| {
            let global = set.namespace.is_none();
            let namespace_ok = match (&e.namespace_selector, &set.namespace) {
                (Some(s), Some(ns)) => s.matches(&namespace_view(cluster, ns)),
                (Some(s), None) => s.matches_endpoint(&Labels::new(), true),
                (None, ns) => policy.kind != CalicoKind::NetworkPolicy || *ns == policy.namespace,
            };
            namespace_ok
                && e.selector.as_ref().is_none_or(|s| s.matches_endpoint(&set_view(cluster, set), global))
                && contains_any(&set.nets, ips)
        })
}

fn port_matches(cluster: &Cluster, rule: &CalicoRule, dst: &Addr, protocol: Protocol, port: u16) -> bool {
    let d = &rule.destination;
    let listed = d.ports.is_empty()
        || d.ports.iter().any(|p| match p {
            CalicoPort::Range(lo, hi) => *lo <= port && port <= *hi,
            CalicoPort::Named(name) => match dst {
                Addr::Pod(i) => cluster.pods[*i].resolve_named_port(name, protocol).any(|n| n == port),
                Addr::External(_) => false,
            },
        });
    let excluded = d.not_ports.iter().any(|p| matches!(p, CalicoPort::Range(lo, hi) if *lo <= port && port <= *hi));
    rule.protocols.contains(&protocol) && listed && !excluded
}

#[allow(clippy::too_many_arguments)]
fn rule_matches(
    cluster: &Cluster,
    policy: &CalicoPolicy,
    rule: &CalicoRule,
    direction: Direction,
    subject: usize,
    peer: &Addr,
    dst: &Addr,
    protocol: Protocol,
    port: u16,
) -> bool {
    let (local, remote) = match direction {
        Direction::Ingress => (&rule.destination, &rule.source),
        Direction::Egress => (&rule.source, &rule.destination),
    };
    port_matches(cluster, rule, dst, protocol, port)
        && entity_matches(cluster, policy, local, &Addr::Pod(subject))
        && entity_matches(cluster, policy, remote, peer)
}

fn selects(cluster: &Cluster, policy: &CalicoPolicy, direction: Direction, pod: usize) -> bool {
    let d = if direction == Direction::Ingress { 0 } else { 1 };
    let Some(view) = endpoint_view(cluster, pod) else { return false };
    let p = &cluster.pods[pod];
    let namespace_ok = match (&policy.namespace, &policy.namespace_selector) {
        (Some(ns), _) => *ns == p.namespace,
        (None, Some(s)) => s.matches(&namespace_view(cluster, &p.namespace)),
        (None, None) => true,
    };
    policy.applies[d]
        && namespace_ok
        && policy.selector.matches(&view)
        && policy
            .service_account_selector
            .as_ref()
            .is_none_or(|s| s.matches(&account_view(cluster, &p.namespace, &p.service_account)))
}

/// The tiers in evaluation order: (name, default action Pass).
fn tiers(cluster: &Cluster) -> Vec<(String, bool)> {
    let mut defined: Vec<(Order, String, bool)> = vec![
        (Order(Some(DEFAULT_TIER_ORDER)), DEFAULT_TIER.into(), false),
        (Order(Some(ADMIN_TIER.1)), ADMIN_TIER.0.into(), true),
        (Order(Some(BASELINE_TIER.1)), BASELINE_TIER.0.into(), true),
    ];
    for t in &cluster.calico.tiers {
        defined.retain(|d| d.1 != t.name);
        defined.push((t.order, t.name.clone(), t.default_pass));
    }
    for p in &cluster.calico.policies {
        if !defined.iter().any(|d| d.1 == p.tier) {
            defined.push((Order(None), p.tier.clone(), false));
        }
    }
    defined.sort();
    defined.into_iter().map(|(_, name, pass)| (name, pass)).collect()
}

enum Item<'c> {
    Calico(&'c CalicoPolicy),
    NetworkPolicies,
    Cluster(usize),
}

/// What one policy-like item of a tier does to the connection: `Some(action)` when a rule matched.
#[allow(clippy::too_many_arguments)]
fn item_decision(
    cluster: &Cluster,
    options: &EngineOptions,
    item: &Item,
    direction: Direction,
    subject: usize,
    peer: &Addr,
    dst: &Addr,
    protocol: Protocol,
    port: u16,
) -> Vec<CalicoAction> {
    match item {
        Item::Calico(p) => p
            .rules(direction)
            .iter()
            .filter(|r| rule_matches(cluster, p, r, direction, subject, peer, dst, protocol, port))
            .map(|r| r.action)
            .collect(),
        Item::NetworkPolicies => {
            // The isolating NetworkPolicies' rules, read by the generic reference.
            let mut probe = cluster.clone();
            probe.calico = Default::default();
            probe.cluster_policies.clear();
            let allows = reference::direction_allows(
                &probe,
                options,
                direction,
                &dir_src(direction, subject, peer),
                &dir_dst(direction, subject, peer),
                protocol,
                port,
            );
            if allows {
                vec![CalicoAction::Allow]
            } else {
                Vec::new()
            }
        }
        Item::Cluster(p) => {
            let policy = &cluster.cluster_policies[*p];
            policy
                .rules(direction)
                .iter()
                .filter(|rule| reference::cluster_rule_matches(cluster, options, rule, peer, dst, protocol, port))
                .map(|rule| match rule.action {
                    Action::Allow => CalicoAction::Allow,
                    Action::Deny => CalicoAction::Deny,
                    Action::Pass => CalicoAction::Pass,
                })
                .collect()
        }
    }
}

fn dir_src(direction: Direction, subject: usize, peer: &Addr) -> Addr {
    if direction == Direction::Egress {
        Addr::Pod(subject)
    } else {
        *peer
    }
}

fn dir_dst(direction: Direction, subject: usize, peer: &Addr) -> Addr {
    if direction == Direction::Egress {
        *peer
    } else {
        Addr::Pod(subject)
    }
}

/// Whether Calico's tiers let the subject's side of the connection through.
#[allow(clippy::too_many_arguments)]
pub fn direction_allows(
    cluster: &Cluster,
    options: &EngineOptions,
    direction: Direction,
    subject: usize,
    peer: &Addr,
    dst: &Addr,
    protocol: Protocol,
    port: u16,
) -> bool {
    let isolated = !reference::isolating_policies(cluster, options, subject, direction).is_empty();
    'tiers: for (name, default_pass) in tiers(cluster) {
        let mut items: Vec<((Order, String, u8), Item)> = cluster
            .calico
            .policies
            .iter()
            .filter(|p| p.tier == name && selects(cluster, p, direction, subject))
            .map(|p| ((p.order, format!("{}/{}", p.name, p.namespace.clone().unwrap_or_default()), 0), Item::Calico(p)))
            .collect();
        if name == DEFAULT_TIER && isolated {
            items.push(((Order(Some(NETWORK_POLICY_ORDER)), "knp.default.".into(), 1), Item::NetworkPolicies));
        }
        let admin = match name.as_str() {
            n if n == ADMIN_TIER.0 => Some(Tier::Admin),
            n if n == BASELINE_TIER.0 => Some(Tier::Baseline),
            _ => None,
        };
        if let Some(tier) = admin {
            for p in reference::tier_order(cluster, tier) {
                let policy = &cluster.cluster_policies[p];
                // Calico gives the converted policy the types its rules have: an admin policy
                // without rules in this direction does not make its tier apply (nor drop at its end).
                if !policy.rules(direction).is_empty()
                    && reference::cluster_subject_matches(cluster, options, &policy.subject, subject)
                {
                    items.push(((Order(Some(policy.priority as f64)), policy.name.clone(), 2), Item::Cluster(p)));
                }
            }
        }
        if items.is_empty() {
            continue;
        }
        items.sort_by(|a, b| a.0.cmp(&b.0));
        for (_, item) in &items {
            for action in item_decision(cluster, options, item, direction, subject, peer, dst, protocol, port) {
                match action {
                    CalicoAction::Allow => return true,
                    CalicoAction::Deny => return false,
                    CalicoAction::Pass => continue 'tiers,
                    CalicoAction::Log => {}
                }
            }
        }
        if !default_pass {
            return false;
        }
    }
    true
}

/// Random tiered Calico + Kubernetes mixes: the generic random cluster (NetworkPolicies, now
/// and then an admin policy), pods under two service accounts (one labelled), Tier objects with
/// orders around Calico's own tiers, and Calico policies over every selector operator, action,
/// entity field and port form.
pub mod strategies {
    use super::*;
    use crate::generate::{cluster_with, ip_block, NAMESPACES};
    use netreach_model::calico::{CalicoTier, Selector, ServiceAccountLabels};
    use netreach_model::IpBlock;
    use proptest::collection::vec;
    use proptest::prelude::*;
    use proptest::sample::select;

    const ATOMS: [&str; 16] = [
        "all()",
        "global()",
        "app == 'x'",
        "app != 'y'",
        "has(tier)",
        "!has(env)",
        "tier in {'x', 'y'}",
        "env not in {'x'}",
        "app contains 'x'",
        "tier starts with 'y'",
        "env ends with 'z'",
        "projectcalico.org/namespace == 'alpha'",
        "pcns.env == 'x'",
        "projectcalico.org/serviceaccount == 'sa1'",
        "pcsa.role == 'db'",
        "zzz == 'w'",
    ];
    const NAMESPACE_ATOMS: [&str; 6] =
        ["all()", "global()", "env == 'x'", "projectcalico.org/name == 'beta'", "!has(tier)", "tier in {'y'}"];

    fn selector_from(atoms: &'static [&'static str]) -> impl Strategy<Value = Selector> {
        (select(atoms), select(atoms), 0..5usize).prop_map(|(a, b, shape)| {
            let text = match shape {
                0 | 1 => a.to_string(),
                2 => format!("{a} && {b}"),
                3 => format!("{a} || {b}"),
                _ => format!("!({a})"),
            };
            Selector::parse(&text).expect("generated selectors parse")
        })
    }

    fn net() -> impl Strategy<Value = IpBlock> {
        ip_block().prop_map(|b| IpBlock { cidr: b.cidr, except: Vec::new() })
    }

    fn port() -> impl Strategy<Value = CalicoPort> {
        prop_oneof![
            (select(&[53u16, 80, 443, 8080, 9090][..]), select(&[0u16, 1, 100, 10000][..]))
                .prop_map(|(lo, d)| CalicoPort::Range(lo, lo.saturating_add(d))),
            select(&["http", "dns", "nope"][..]).prop_map(|n| CalicoPort::Named(n.into())),
        ]
    }

    fn entity(destination: bool) -> impl Strategy<Value = EntityRule> {
        (
            proptest::option::weighted(0.5, selector_from(&ATOMS)),
            proptest::option::weighted(0.2, selector_from(&NAMESPACE_ATOMS)),
            proptest::option::weighted(0.15, selector_from(&ATOMS)),
            proptest::option::weighted(0.2, vec(net(), 1..=2)),
            proptest::option::weighted(0.1, vec(net(), 1..=2)),
            proptest::option::weighted(0.1, prop::bool::ANY),
            proptest::option::weighted(0.3, vec(port(), 1..=2)),
            proptest::option::weighted(0.15, vec(port(), 1..=2)),
        )
            .prop_map(
                move |(selector, namespace_selector, not_selector, nets, not_nets, accounts, ports, not_ports)| {
                    EntityRule {
                        nets: nets.unwrap_or_default(),
                        not_nets: not_nets.unwrap_or_default(),
                        selector,
                        not_selector,
                        namespace_selector,
                        service_accounts: accounts.map(|by_name| ServiceAccountMatch {
                            names: if by_name { vec!["sa1".into()] } else { Vec::new() },
                            selector: (!by_name).then(|| Selector::parse("role == 'db'").unwrap()),
                        }),
                        // Source ports are not modelled (the loader warns): only destinations carry ports.
                        ports: ports.filter(|_| destination).unwrap_or_default(),
                        not_ports: not_ports.filter(|_| destination).unwrap_or_default(),
                    }
                },
            )
    }

    fn rule() -> impl Strategy<Value = CalicoRule> {
        (
            select(&[CalicoAction::Allow, CalicoAction::Deny, CalicoAction::Pass, CalicoAction::Log][..]),
            select(&[0usize, 1, 2, 3, 4][..]),
            entity(false),
            entity(true),
        )
            .prop_map(|(action, protocols, source, destination)| CalicoRule {
                action,
                protocols: match protocols {
                    0 | 1 => Protocol::ALL.to_vec(),
                    2 => vec![Protocol::Tcp],
                    3 => vec![Protocol::Udp, Protocol::Sctp],
                    _ => Vec::new(),
                },
                source,
                destination,
            })
    }

    fn policy() -> impl Strategy<Value = CalicoPolicy> {
        (
            proptest::option::weighted(0.6, 0..NAMESPACES.len()),
            select(&["default", "security", "platform", "kube-admin"][..]),
            select(&[None, Some(-5.0), Some(10.0), Some(1000.0), Some(2000.0)][..]),
            selector_from(&ATOMS),
            proptest::option::weighted(0.2, selector_from(&NAMESPACE_ATOMS)),
            proptest::option::weighted(0.1, Just(())),
            select(&[[true, false], [false, true], [true, true]][..]),
            vec(rule(), 0..=3),
            vec(rule(), 0..=3),
        )
            .prop_map(|(ns, tier, order, selector, namespace_selector, sa, applies, ingress, egress)| {
                CalicoPolicy {
                    kind: if ns.is_some() { CalicoKind::NetworkPolicy } else { CalicoKind::GlobalNetworkPolicy },
                    namespace: ns.map(|n| NAMESPACES[n].to_string()),
                    name: String::new(),
                    tier: tier.into(),
                    order: Order(order),
                    selector,
                    namespace_selector: namespace_selector.filter(|_| ns.is_none()),
                    service_account_selector: sa.map(|_| Selector::parse("role == 'db'").unwrap()),
                    applies,
                    ingress,
                    egress,
                }
            })
    }

    fn tier() -> impl Strategy<Value = CalicoTier> {
        (
            select(&["security", "platform", "default", "kube-admin"][..]),
            select(&[None, Some(50.0), Some(1000.0), Some(5000.0), Some(2_000_000.0)][..]),
            prop::bool::ANY,
        )
            .prop_map(|(name, order, default_pass)| CalicoTier {
                name: name.into(),
                order: Order(order),
                default_pass,
            })
    }

    /// A NetworkSet in one of the namespaces, or a GlobalNetworkSet, labelled like pods are.
    fn network_set() -> impl Strategy<Value = NetworkSet> {
        (
            proptest::option::weighted(0.5, 0..NAMESPACES.len()),
            select(&[("app", "x"), ("tier", "y"), ("env", "z"), ("role", "db")][..]),
            vec(net(), 1..=2),
        )
            .prop_map(|(ns, (k, v), nets)| NetworkSet {
                namespace: ns.map(|n| NAMESPACES[n].to_string()),
                name: String::new(),
                labels: [(k.to_string(), v.to_string())].into(),
                nets,
            })
    }

    /// A random cluster with Calico tiers, policies and network sets.
    pub fn calico_cluster() -> impl Strategy<Value = Cluster> {
        (
            cluster_with(6, 2, 0..=1),
            vec(tier(), 0..=3),
            vec(policy(), 1..=4),
            vec(prop::bool::ANY, 6),
            vec(network_set(), 0..=2),
        )
            .prop_map(|(mut cluster, mut tiers, mut policies, accounts, mut sets)| {
                for (i, set) in sets.iter_mut().enumerate() {
                    set.name = format!("set{i}");
                }
                cluster.calico.network_sets = sets;
                let mut seen = std::collections::BTreeSet::new();
                tiers.retain(|t| seen.insert(t.name.clone()));
                let n = policies.len();
                for (i, p) in policies.iter_mut().enumerate() {
                    // Names against index order, so that ties by name are not ties by position.
                    p.name = format!("cal{}", n - 1 - i);
                }
                for (pod, sa1) in cluster.pods.iter_mut().zip(accounts) {
                    if sa1 {
                        pod.service_account = "sa1".into();
                    }
                }
                cluster.calico.service_accounts = NAMESPACES
                    .iter()
                    .map(|ns| ServiceAccountLabels {
                        namespace: ns.to_string(),
                        name: "sa1".into(),
                        labels: [("role".to_string(), "db".to_string())].into(),
                    })
                    .collect();
                cluster.calico.tiers = tiers;
                cluster.calico.policies = policies;
                cluster
            })
    }
}
