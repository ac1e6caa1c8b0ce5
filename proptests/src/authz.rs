//! Random Istio AuthorizationPolicies and meshes over the generated clusters, and a plain,
//! pair-by-pair reading of which policies a destination's proxy enforces (the reference the
//! mesh view's grouped verdicts are compared with).

use crate::generate::{self, LABEL_KEYS, LABEL_VALUES, NAMESPACES, POD_V4};
use ipnet::IpNet;
use netreach_model::entrypoints::{AllowedNamespaces, Gateway, Listener};
use netreach_model::mesh::authz::{
    AuthorizationPolicy, AuthzAction, AuthzCondition, AuthzOperation, AuthzRule, AuthzSource, Binding, ConditionKey,
    ConditionValues, TargetRef,
};
use netreach_model::mesh::waypoint::{self, Addressing, TrafficType, UseWaypoint, USE_WAYPOINT, WAYPOINT_CLASS};
use netreach_model::mesh::{self, keys, MeshKind};
use netreach_model::{Cluster, Labels, Pod};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;

/// The root namespace the generated policies may live in (mesh-wide scope).
pub const ROOT: &str = "istio-system";
/// Service accounts pods run as.
pub const SERVICE_ACCOUNTS: [&str; 2] = ["default", "sa1"];
/// Ports rules name: some the containers listen on, some not.
const RULE_PORTS: [u16; 4] = [80, 443, 8080, 9999];

fn strings(pool: &'static [&'static str]) -> impl Strategy<Value = Vec<String>> {
    vec(select(pool).prop_map(str::to_string), 1..=2)
}

const PRINCIPALS: [&str; 6] = [
    "cluster.local/ns/alpha/sa/default",
    "cluster.local/ns/beta/sa/sa1",
    "*",
    "cluster.local/ns/gamma/*",
    "*/sa/sa1",
    // The generated waypoint's identity (its ServiceAccount is its name).
    "*/sa/wp",
];
const NAMESPACE_PATTERNS: [&str; 5] = ["alpha", "beta", "gamma", "*", "del*"];

fn cidrs() -> impl Strategy<Value = Vec<IpNet>> {
    vec(
        (select(&POD_V4[..]), select(&[32u8, 24, 16][..]))
            .prop_map(|(ip, len)| format!("{ip}/{len}").parse::<IpNet>().unwrap().trunc()),
        1..=2,
    )
}

fn source() -> impl Strategy<Value = AuthzSource> {
    prop_oneof![
        strings(&PRINCIPALS).prop_map(|v| AuthzSource { principals: v, ..Default::default() }),
        strings(&PRINCIPALS).prop_map(|v| AuthzSource { not_principals: v, ..Default::default() }),
        strings(&NAMESPACE_PATTERNS).prop_map(|v| AuthzSource { namespaces: v, ..Default::default() }),
        strings(&NAMESPACE_PATTERNS).prop_map(|v| AuthzSource { not_namespaces: v, ..Default::default() }),
        cidrs().prop_map(|v| AuthzSource { ip_blocks: v, ..Default::default() }),
        cidrs().prop_map(|v| AuthzSource { not_ip_blocks: v, ..Default::default() }),
        Just(AuthzSource { request_principals: vec!["*".into()], ..Default::default() }),
    ]
}

fn operation() -> impl Strategy<Value = AuthzOperation> {
    (vec(select(&RULE_PORTS[..]), 0..=2), vec(select(&RULE_PORTS[..]), 0..=1), prop::bool::weighted(0.3)).prop_map(
        |(ports, not_ports, http)| {
            let http_fields = if http || (ports.is_empty() && not_ports.is_empty()) {
                vec!["methods".to_string()]
            } else {
                Vec::new()
            };
            AuthzOperation { ports, not_ports, http_fields }
        },
    )
}

fn condition() -> impl Strategy<Value = AuthzCondition> {
    let none = || ConditionValues::Strings(Vec::new());
    prop_oneof![
        vec(select(&RULE_PORTS[..]), 1..=2).prop_map(|p| AuthzCondition {
            key: ConditionKey::DestinationPort,
            values: ConditionValues::Ports(Vec::new()),
            not_values: ConditionValues::Ports(p),
        }),
        strings(&NAMESPACE_PATTERNS).prop_map(move |v| AuthzCondition {
            key: ConditionKey::SourceNamespace,
            values: ConditionValues::Strings(v),
            not_values: none(),
        }),
        cidrs().prop_map(|v| AuthzCondition {
            key: ConditionKey::SourceIp,
            values: ConditionValues::Ips(v),
            not_values: ConditionValues::Ips(Vec::new()),
        }),
        cidrs().prop_map(|v| AuthzCondition {
            key: ConditionKey::DestinationIp,
            values: ConditionValues::Ips(Vec::new()),
            not_values: ConditionValues::Ips(v),
        }),
    ]
}

fn rule() -> impl Strategy<Value = AuthzRule> {
    (vec(source(), 0..=2), vec(operation(), 0..=1), vec(condition(), 0..=1)).prop_map(|(from, to, when)| AuthzRule {
        from,
        to,
        when,
    })
}

/// The name of the generated waypoint Gateway.
pub const WAYPOINT: &str = "wp";

const GATEWAY_GROUP: &str = "gateway.networking.k8s.io";

/// A selector of at most one label, or a target: the waypoint Gateway, or every waypoint.
fn binding() -> impl Strategy<Value = Binding> {
    let target = |kind: &str, name: &str| {
        Binding::Targets(vec![TargetRef { group: GATEWAY_GROUP.into(), kind: kind.into(), name: name.into() }])
    };
    prop_oneof![
        3 => prop::option::weighted(0.5, (select(&LABEL_KEYS[..]), select(&LABEL_VALUES[..])))
            .prop_map(|label| Binding::Selector(label.into_iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())),
        1 => Just(target("Gateway", WAYPOINT)),
        1 => Just(target("GatewayClass", WAYPOINT_CLASS)),
    ]
}

/// An AuthorizationPolicy in a generated namespace or the root, bound by a selector of at most
/// one label or to the waypoints, with any action and up to two rules.
pub fn authorization_policy() -> impl Strategy<Value = AuthorizationPolicy> {
    (
        select(&[NAMESPACES[0], NAMESPACES[1], NAMESPACES[2], ROOT][..]),
        binding(),
        select(&[0u8, 0, 1, 1, 2, 3][..]),
        vec(rule(), 0..=2),
    )
        .prop_map(|(namespace, binding, action, rules)| AuthorizationPolicy {
            namespace: namespace.to_string(),
            name: String::new(),
            binding,
            action: match action {
                0 => AuthzAction::Allow,
                1 => AuthzAction::Deny,
                2 => AuthzAction::Audit,
                _ => AuthzAction::Custom("ext".into()),
            },
            rules,
        })
}

/// `istio.io/use-waypoint` values namespaces and pods get: none, the waypoint (twice as
/// often), opt-out.
const USE_WAYPOINT_VALUES: [Option<&str>; 4] = [None, Some(WAYPOINT), Some(WAYPOINT), Some("none")];

/// A generated cluster whose namespaces enable Istio (sidecar or ambient) at random, whose pods
/// run as random service accounts, with up to `max_policies` AuthorizationPolicies, and maybe a
/// waypoint (no pods of its own, like manifests) that namespaces and pods use at random.
/// Generated clusters have no Services: traffic is addressed to pods.
pub fn mesh_cluster(max_policies: usize) -> impl Strategy<Value = Cluster> {
    (
        generate::cluster_sized(6, 3),
        vec(select(&[0u8, 1, 2, 2][..]), NAMESPACES.len()),
        vec(select(&SERVICE_ACCOUNTS[..]), 6),
        vec(authorization_policy(), 0..=max_policies),
        prop::option::weighted(0.7, (select(&NAMESPACES[..]), select(&["workload", "all", "all", "service"][..]))),
        (vec(select(&USE_WAYPOINT_VALUES[..]), NAMESPACES.len()), vec(select(&USE_WAYPOINT_VALUES[..]), 6)),
    )
        .prop_map(|(mut cluster, modes, accounts, mut policies, waypoint, (ns_use, pod_use))| {
            for ns in &mut cluster.namespaces {
                let i = NAMESPACES.iter().position(|n| *n == ns.name).unwrap_or(0);
                match modes[i] {
                    1 => ns.labels.insert(keys::ISTIO_INJECTION.into(), "enabled".into()),
                    2 => ns.labels.insert(keys::DATAPLANE_MODE.into(), "ambient".into()),
                    _ => None,
                };
                if let Some(value) = ns_use[i] {
                    ns.labels.insert(USE_WAYPOINT.into(), value.into());
                }
            }
            for (pod, sa) in cluster.pods.iter_mut().zip(accounts) {
                pod.service_account = sa.to_string();
            }
            for (pod, value) in cluster.pods.iter_mut().zip(pod_use) {
                if let Some(value) = value {
                    pod.labels.insert(USE_WAYPOINT.into(), value.into());
                }
            }
            if let Some((namespace, traffic)) = waypoint {
                cluster.entry_points.gateways.push(Gateway {
                    namespace: namespace.into(),
                    name: WAYPOINT.into(),
                    class: WAYPOINT_CLASS.into(),
                    listeners: vec![Listener {
                        name: "mesh".into(),
                        port: 15008,
                        protocol: "HBONE".into(),
                        allowed_namespaces: AllowedNamespaces::Same,
                        allowed_kinds: Vec::new(),
                    }],
                });
                cluster.mesh.gateway_waypoint_for.insert((namespace.into(), WAYPOINT.into()), traffic.into());
            }
            for (i, p) in policies.iter_mut().enumerate() {
                p.name = format!("ap{i}");
            }
            policies.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
            cluster.mesh.authorization_policies = policies;
            cluster
        })
}

/// The mesh a pod is in, read from its namespace's labels.
pub fn mesh_of(cluster: &Cluster, pod: &Pod) -> MeshKind {
    let empty = Labels::new();
    let labels = cluster.namespaces.iter().find(|n| n.name == pod.namespace).map_or(&empty, |n| &n.labels);
    mesh::membership(labels, &empty, pod).kind
}

/// The policies (indices) a destination pod's proxy enforces: those whose selector picks it,
/// when an Istio proxy runs for it.
pub fn enforced_on(cluster: &Cluster, pod: &Pod) -> Vec<u32> {
    if !mesh_of(cluster, pod).is_istio() {
        return Vec::new();
    }
    let policies = &cluster.mesh.authorization_policies;
    (0..policies.len() as u32).filter(|&i| policies[i as usize].selects(ROOT, &pod.namespace, &pod.labels)).collect()
}

/// The waypoint carrying traffic addressed to `pod` (generated clusters have no Services), as
/// the waypoint page reads: the pod's `istio.io/use-waypoint`, else its namespace's (`none`
/// opts out), naming a Gateway of class `istio-waypoint` of the pod's own namespace (its
/// listener admits no other) whose `istio.io/waypoint-for` takes workload traffic.
pub fn workload_waypoint<'c>(cluster: &'c Cluster, pod: &Pod) -> Option<&'c Gateway> {
    let empty = Labels::new();
    let ns_labels = cluster.namespaces.iter().find(|n| n.name == pod.namespace).map_or(&empty, |n| &n.labels);
    let UseWaypoint::Named { namespace, name, .. } = waypoint::use_waypoint(&pod.labels, &pod.namespace, ns_labels)
    else {
        return None;
    };
    let gateway = cluster.entry_points.gateways.iter().find(|g| g.namespace == namespace && g.name == name)?;
    let traffic = cluster.mesh.gateway_waypoint_for.get(&(namespace.clone(), name.clone()));
    let traffic = TrafficType::parse(traffic.map(String::as_str)).ok()?;
    (gateway.class == WAYPOINT_CLASS && namespace == pod.namespace && traffic.carries(Addressing::Workload))
        .then_some(gateway)
}

/// The policies (indices) a waypoint enforces: those targeting its Gateway from its namespace,
/// and those targeting GatewayClass `istio-waypoint` from the root namespace.
pub fn enforced_at_waypoint(cluster: &Cluster, gateway: &Gateway) -> Vec<u32> {
    let policies = &cluster.mesh.authorization_policies;
    let targets = |p: &AuthorizationPolicy, kind: &str, name: &str| match &p.binding {
        Binding::Targets(refs) => refs.iter().any(|r| r.group == GATEWAY_GROUP && r.kind == kind && r.name == name),
        Binding::Selector(_) => false,
    };
    (0..policies.len() as u32)
        .filter(|&i| {
            let p = &policies[i as usize];
            (p.namespace == gateway.namespace && targets(p, "Gateway", &gateway.name))
                || (p.namespace == ROOT && targets(p, "GatewayClass", WAYPOINT_CLASS))
        })
        .collect()
}
