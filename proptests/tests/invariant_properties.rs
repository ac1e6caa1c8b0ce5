//! Properties that pin the semantics beyond engine-vs-reference equality, on random clusters
//! (`netreach_proptests::generate`), under every combination of engine options:
//!
//! - adding a rule to a policy whose explicit policyTypes already include that direction never
//!   removes a connection;
//! - adding the first egress rule to a policy without policyTypes isolates its pods for egress
//!   (so it may remove connections: excluded above, with its own property and an example);
//! - a policy that selects a pod and allows nothing denies all its ingress except from itself;
//! - invariants that hold keep holding after adding policies (allowing nothing) that only select
//!   pods whose traffic in that direction is already denied;
//! - loading the same cluster from multi-document YAML, a `List` in JSON and a folder of files
//!   gives equal models.

use netreach::explain::explain_pair;
use netreach::invariants::{Checker, Invariant, Status};
use netreach::Analysis;
use netreach_model::{
    Cluster, Direction, Endpoint, GrantOrigin, HostNetworkSelection, IpFamily, LabelSelector, NetworkPolicy, Peer,
    PortSet, PortSpec, Reachability, Rule,
};
use netreach_proptests::ALL_OPTIONS;
use netreach_proptests::{generate, reference};
use proptest::prelude::*;
use proptest::sample::{select, Index};
use std::net::IpAddr;

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
}

fn rules_mut(policy: &mut NetworkPolicy, direction: Direction) -> &mut Vec<Rule> {
    match direction {
        Direction::Ingress => &mut policy.ingress,
        Direction::Egress => &mut policy.egress,
    }
}

/// Clusters without cluster-scoped policies, for properties about NetworkPolicy alone (an admin
/// Allow decides before NetworkPolicy does).
fn cluster_without_tiers() -> impl Strategy<Value = Cluster> {
    generate::cluster().prop_map(|mut c| {
        c.cluster_policies.clear();
        c
    })
}

/// Points a policy at a pod: its namespace, and a podSelector of exactly the pod's labels (which
/// may select more pods). Without it, most generated policies select nothing in their namespace.
fn aim(policy: &mut NetworkPolicy, cluster: &Cluster, pod: Index) {
    let pod = &cluster.pods[pod.index(cluster.pods.len())];
    policy.namespace = pod.namespace.clone();
    policy.pod_selector = LabelSelector { match_labels: pod.labels.clone(), match_expressions: vec![] };
}

/// One address of an external range (its first).
fn first_address(range: &netreach_model::ExternalRange) -> IpAddr {
    let (lo, _) = range.ranges.intervals()[0];
    match range.ranges.family {
        IpFamily::V4 => IpAddr::V4((lo as u32).into()),
        IpFamily::V6 => IpAddr::V6(lo.into()),
    }
}

/// Every connection `before` allows, `after` allows too (pods keep their indices; each external
/// range of `after` lies inside one range of `before` or in a family `before` had no range of).
fn no_connection_removed(cluster: &Cluster, before: &Reachability, after: &Reachability) -> Result<(), TestCaseError> {
    let pods = before.pod_count();
    let fmt = |e: Endpoint| match e {
        Endpoint::Pod(i) => cluster.pods[i as usize].id(),
        Endpoint::External(i) => after.externals()[i as usize].id.clone(),
    };
    let mut pairs: Vec<(Endpoint, Endpoint, Endpoint, Endpoint)> = Vec::new();
    for s in 0..pods as u32 {
        for d in 0..pods as u32 {
            if s != d {
                pairs.push((Endpoint::Pod(s), Endpoint::Pod(d), Endpoint::Pod(s), Endpoint::Pod(d)));
            }
        }
        for (x, range) in after.externals().iter().enumerate() {
            let address = first_address(range);
            let Some(y) = before.externals().iter().position(|b| b.ranges.contains(&address)) else { continue };
            let (xb, xa) = (Endpoint::External(y as u32), Endpoint::External(x as u32));
            pairs.push((Endpoint::Pod(s), xb, Endpoint::Pod(s), xa));
            pairs.push((xb, Endpoint::Pod(s), xa, Endpoint::Pod(s)));
        }
    }
    for (sb, db, sa, da) in pairs {
        let (b, a) = (before.allowed(sb, db), after.allowed(sa, da));
        prop_assert!(b.is_subset(&a), "{} -> {}: {b} before, only {a} after", fmt(sa), fmt(da));
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(512))]

    /// Monotonicity where it holds: the policy already isolates its pods in that direction, so
    /// another rule can only add grants. Cluster-scoped tiers included: admin rules decide
    /// before NetworkPolicy and baseline rules only for pods no NetworkPolicy isolates, and
    /// neither changes.
    #[test]
    fn adding_a_rule_under_explicit_policy_types_never_removes_a_connection(
        cluster in generate::cluster(),
        extra in generate::policy(),
        which in any::<Index>(),
        target in prop::option::weighted(0.75, any::<Index>()),
        ingress in any::<bool>(),
        rule in generate::rule(),
        options in select(&ALL_OPTIONS[..]),
    ) {
        let mut before = cluster;
        if before.policies.is_empty() {
            before.policies.push(NetworkPolicy { name: "extra".into(), ..extra });
        }
        let i = which.index(before.policies.len());
        if let Some(pod) = target {
            let mut policy = before.policies[i].clone();
            aim(&mut policy, &before, pod);
            before.policies[i] = policy;
        }
        let direction = if ingress { Direction::Ingress } else { Direction::Egress };
        let policy = &mut before.policies[i];
        match &mut policy.policy_types {
            Some(types) if types.contains(&direction) => {}
            Some(types) if !types.is_empty() => types.push(direction),
            // Missing or empty: defaulted, not explicit. Make it explicit.
            _ => policy.policy_types = Some(vec![direction]),
        }
        let mut after = before.clone();
        rules_mut(&mut after.policies[i], direction).push(rule);
        let (b, a) = (Reachability::compute(&before, &options), Reachability::compute(&after, &options));
        no_connection_removed(&before, &b, &a)?;
    }

    /// A policy without policyTypes covers Egress only once it has an egress rule: the first
    /// one isolates the pods it selects, whose egress is then whatever egress rules allow.
    /// Without cluster-scoped tiers, whose admin Allow would allow regardless.
    #[test]
    fn the_first_egress_rule_of_a_policy_without_policy_types_isolates(
        cluster in cluster_without_tiers(),
        extra in generate::policy(),
        which in any::<Index>(),
        target in any::<Index>(),
        empty_list in any::<bool>(),
        rule in generate::rule(),
        options in select(&ALL_OPTIONS[..]),
    ) {
        let mut before = cluster;
        before.policies.push(NetworkPolicy { name: "extra".into(), ..extra });
        let i = which.index(before.policies.len());
        let mut policy = before.policies[i].clone();
        aim(&mut policy, &before, target);
        before.policies[i] = policy;
        before.policies[i].policy_types = if empty_list { Some(vec![]) } else { None };
        before.policies[i].egress.clear();
        let mut after = before.clone();
        after.policies[i].egress.push(rule);
        let (b, a) = (Reachability::compute(&before, &options), Reachability::compute(&after, &options));
        let selected = a.selected_by(i);
        prop_assert_eq!(&selected, &b.selected_by(i));
        for &s in &selected {
            let s = a.endpoint(s);
            prop_assert!(!b.isolating_policies(s, Direction::Egress).contains(&(i as u32)));
            prop_assert!(a.isolating_policies(s, Direction::Egress).contains(&(i as u32)));
            for d in 0..a.endpoint_count() {
                let d = a.endpoint(d);
                if d == s {
                    continue;
                }
                // Every allowed port is granted by an egress rule, none by "not isolated".
                let grants = a.grants_between(s, d, Direction::Egress);
                prop_assert!(grants.iter().all(|(origin, _)| matches!(origin, GrantOrigin::Rule(_))));
                let mut ruled = PortSet::empty();
                for (_, ports) in &grants {
                    ruled.union_with(ports);
                }
                prop_assert!(a.allowed(s, d).is_subset(&ruled));
            }
        }
    }

    /// policyTypes [Ingress] and no rules, selecting a pod by its labels. NetworkPolicies add
    /// up, so the pods it selects keep exactly the ingress other policies already allowed them
    /// if those isolated them, and lose all of it otherwise: a pod that only this policy
    /// isolates is reached by nothing, except by itself (not a policy verdict: always allowed).
    /// Checked on the engine against the reference's isolation, and through the invariant
    /// checker. Without cluster-scoped tiers (an admin Allow decides before NetworkPolicy).
    #[test]
    fn a_policy_that_allows_nothing_denies_all_ingress_except_from_itself(
        cluster in cluster_without_tiers(),
        which in any::<Index>(),
        options in select(&ALL_OPTIONS[..]),
    ) {
        let before = cluster;
        let x = which.index(before.pods.len());
        let pod = before.pods[x].clone();
        prop_assume!(!pod.host_network || options.host_network == HostNetworkSelection::LikePods);
        let mut after = before.clone();
        after.policies.push(NetworkPolicy {
            namespace: pod.namespace.clone(),
            name: "deny-all".into(),
            pod_selector: LabelSelector { match_labels: pod.labels.clone(), match_expressions: vec![] },
            policy_types: Some(vec![Direction::Ingress]),
            ingress: vec![],
            egress: vec![],
        });
        let p = after.policies.len() - 1;
        let b = Reachability::compute(&before, &options);
        let analysis = Analysis::new(after, &options);
        let reach = &analysis.reach;
        let selected = reach.selected_by(p);
        prop_assert!(selected.contains(&reach.index_of(Endpoint::Pod(x as u32))), "the policy selects the pod it was written for");
        prop_assert_eq!(b.externals(), reach.externals());
        let checker = Checker::new(&analysis);
        for &y in &selected {
            let target = reach.endpoint(y);
            let isolated_before = !reference::isolating_policies(&before, &options, y, Direction::Ingress).is_empty();
            for src in 0..reach.endpoint_count() {
                if src == y {
                    continue;
                }
                let now = reach.allowed(reach.endpoint(src), target);
                let then = b.allowed(b.endpoint(src), b.endpoint(y));
                let expected = if isolated_before { then } else { PortSet::empty() };
                prop_assert_eq!(&now, &expected, "{} -> {}", analysis.id(src), analysis.id(y));
            }
            prop_assert!(explain_pair(&analysis, y, y, None).allowed, "a pod always reaches itself");
            if !isolated_before {
                let deny = Invariant::from_yaml(&format!("deny: {{from: any, to: \"{}\"}}", analysis.id(y))).unwrap();
                let eval = checker.evaluate(&deny).unwrap();
                prop_assert_eq!(eval.status, Status::Pass, "{:?}", eval.violations);
            }
        }
    }

    /// Adding policies that allow nothing and select only pods whose traffic in that direction is
    /// already all denied changes no connection; so every invariant that held still holds (and
    /// pair invariants keep their exact counts). Cluster-scoped tiers included.
    #[test]
    fn invariants_that_hold_keep_holding_after_denying_the_denied(
        cluster in generate::cluster(),
        base_deny in prop::option::weighted(0.8, (0..generate::NAMESPACES.len(), any::<bool>())),
        egress in any::<bool>(),
        invariants in prop::collection::vec(invariant_text(), 1..=6),
        options in select(&ALL_OPTIONS[..]),
    ) {
        let mut before = cluster;
        // Often start from a namespace with a default-deny, so that denied pods exist.
        if let Some((ns, both)) = base_deny {
            before.policies.push(NetworkPolicy {
                namespace: generate::NAMESPACES[ns].into(),
                name: "base-deny".into(),
                pod_selector: LabelSelector::everything(),
                policy_types: Some(if both { vec![Direction::Ingress, Direction::Egress] } else if egress { vec![Direction::Egress] } else { vec![Direction::Ingress] }),
                ingress: vec![],
                egress: vec![],
            });
        }
        let direction = if egress { Direction::Egress } else { Direction::Ingress };
        let b = Analysis::new(before.clone(), &options);
        let reach = &b.reach;
        let denied = |p: usize| {
            let e = reach.endpoint(p);
            (0..reach.endpoint_count()).filter(|&o| o != p).all(|o| {
                let o = reach.endpoint(o);
                match direction {
                    Direction::Ingress => reach.allowed(o, e).is_empty(),
                    Direction::Egress => reach.allowed(e, o).is_empty(),
                }
            })
        };
        let denied: Vec<bool> = (0..reach.pod_count()).map(denied).collect();
        // One deny-all policy per denied pod, by its labels; kept when it selects only denied pods.
        let mut after = before.clone();
        for x in (0..denied.len()).filter(|&x| denied[x]) {
            let pod = &before.pods[x];
            let mut trial = after.clone();
            trial.policies.push(NetworkPolicy {
                namespace: pod.namespace.clone(),
                name: format!("deny-denied-{x}"),
                pod_selector: LabelSelector { match_labels: pod.labels.clone(), match_expressions: vec![] },
                policy_types: Some(vec![direction]),
                ingress: vec![],
                egress: vec![],
            });
            let selects = Reachability::compute(&trial, &options).selected_by(trial.policies.len() - 1);
            if selects.iter().all(|&e| e < denied.len() && denied[e]) {
                after = trial;
            }
        }
        let a = Analysis::new(after, &options);
        // No connection changed at all.
        let (mut cb, mut ca) = (Vec::new(), Vec::new());
        b.reach.for_each_connection::<()>(|s, d, p| { cb.push((s, d, p.clone())); Ok(()) }).unwrap();
        a.reach.for_each_connection::<()>(|s, d, p| { ca.push((s, d, p.clone())); Ok(()) }).unwrap();
        prop_assert_eq!(&cb, &ca);
        let (checker_b, checker_a) = (Checker::new(&b), Checker::new(&a));
        for text in &invariants {
            let invariant = Invariant::from_yaml(text).unwrap();
            let (eb, ea) = match (checker_b.evaluate(&invariant), checker_a.evaluate(&invariant)) {
                (Ok(eb), Ok(ea)) => (eb, ea),
                // A name this cluster lacks (ns:delta): the same error on both sides.
                (Err(x), Err(y)) => { prop_assert_eq!(x, y); continue; }
                (x, y) => return Err(TestCaseError::fail(format!("{text}: {x:?} / {y:?}"))),
            };
            if eb.passed() {
                prop_assert!(ea.passed(), "{text}: held before, not after: {:?}", ea.violations);
            }
            if eb.kind != "isolated" {
                // Isolation may only improve; everything else is about connections.
                prop_assert_eq!(eb.count, ea.count, "{}", text);
            }
        }
    }

    /// The same cluster as one multi-document YAML stream (block style, objects in reverse
    /// order), as one `List` in JSON, and as a folder of files of mixed formats (typed lists,
    /// back-to-back JSON objects, one YAML file per policy) loads to the same model. Namespaces,
    /// Nodes, Pods and NetworkPolicies (cluster-scoped policies are not written out).
    #[test]
    fn yaml_list_json_and_folder_load_equal_models(cluster in cluster_without_tiers()) {
        let objects = manifests(&cluster);
        let dir = TempDir::new();

        let mut yaml = String::new();
        for object in objects.iter().rev() {
            yaml.push_str("---\n");
            yaml.push_str(&object.to_yaml());
        }
        let from_yaml = netreach::load::load_str("cluster.yaml", &yaml).map_err(|e| TestCaseError::fail(format!("{e}\n{yaml}")))?;

        let list = obj(vec![("apiVersion", s("v1")), ("kind", s("List")), ("items", J::Arr(objects.clone()))]);
        let list_path = dir.0.join("cluster.json");
        std::fs::write(&list_path, list.json()).unwrap();
        let from_list = netreach::load::load(&[netreach::load::Input::Path(list_path)]).map_err(|e| TestCaseError::fail(e.to_string()))?;

        let folder = dir.0.join("folder");
        write_folder(&folder, &objects);
        let from_folder = netreach::load::load(&[netreach::load::Input::Path(folder)]).map_err(|e| TestCaseError::fail(e.to_string()))?;

        prop_assert_eq!(&from_yaml.cluster, &from_list.cluster);
        prop_assert_eq!(&from_yaml.cluster, &from_folder.cluster);
        prop_assert_eq!(from_yaml.cluster.pods.len(), cluster.pods.len());
        prop_assert_eq!(from_yaml.cluster.policies.len(), cluster.policies.len());
    }
}

/// Invariants over the generator's vocabulary (namespaces, label values, pod names p0..p3).
fn invariant_text() -> impl Strategy<Value = String> {
    let sel = || {
        select(
            &[
                "any",
                "internet",
                "app=x",
                "app=y",
                "tier=z",
                "env!=x",
                "app",
                "!tier",
                "ns:alpha",
                "ns:beta",
                "0.0.0.0/0",
                "10.0.0.0/8",
                "fd00::/16",
                "10.0.0.1",
            ][..],
        )
    };
    let ports =
        select(&["[\"53/UDP\"]", "[\"80/TCP\", \"443/TCP\"]", "[\"1-1000/TCP\", \"53/UDP\"]", "[\"8080/TCP\"]"][..]);
    prop_oneof![
        (sel(), sel()).prop_map(|(f, t)| format!("deny: {{from: \"{f}\", to: \"{t}\"}}")),
        (sel(), sel(), sel(), ports.clone()).prop_map(|(f, t, e, p)| format!(
            "deny: {{from: \"{f}\", to: \"{t}\", except: {{to: \"{e}\"}}, ports: {p}}}"
        )),
        (sel(), sel(), ports.clone())
            .prop_map(|(t, f, p)| format!("allowOnly: {{to: \"{t}\", from: \"{f}\", ports: {p}}}")),
        (sel(), sel()).prop_map(|(f, t)| format!("allow: {{from: \"{f}\", to: \"{t}\"}}")),
        (sel(), sel(), ports).prop_map(|(f, t, p)| format!("allow: {{from: \"{f}\", to: \"{t}\", ports: {p}}}")),
        (select(&["\"*\"", "[alpha]", "[alpha, beta]"][..]), select(&["ingress", "egress", "both"][..]))
            .prop_map(|(n, d)| format!("isolated: {{namespaces: {n}, direction: {d}}}")),
        (sel(), 1..=3u32, 0..=8u64)
            .prop_map(|(f, h, m)| format!("maxReach: {{from: \"{f}\", hops: {h}, atMost: {m}}}")),
    ]
}

/// A JSON value, built by hand: this crate has no JSON library, and the point is to write the
/// manifests ourselves anyway.
#[derive(Clone, Debug)]
enum J {
    Str(String),
    Num(u64),
    Bool(bool),
    Arr(Vec<J>),
    Obj(Vec<(String, J)>),
}

fn s(text: impl ToString) -> J {
    J::Str(text.to_string())
}

fn obj(pairs: Vec<(&str, J)>) -> J {
    J::Obj(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}

fn labels(l: &netreach_model::Labels) -> J {
    J::Obj(l.iter().map(|(k, v)| (k.clone(), s(v))).collect())
}

impl J {
    fn get(&self, key: &str) -> Option<&J> {
        match self {
            J::Obj(m) => m.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    fn text(&self) -> &str {
        match self {
            J::Str(t) => t,
            _ => panic!("not a string"),
        }
    }

    fn without(&self, keys: &[&str]) -> J {
        match self {
            J::Obj(m) => J::Obj(m.iter().filter(|(k, _)| !keys.contains(&k.as_str())).cloned().collect()),
            other => other.clone(),
        }
    }

    fn nested(&self) -> bool {
        matches!(self, J::Obj(m) if !m.is_empty()) || matches!(self, J::Arr(a) if !a.is_empty())
    }

    fn json(&self) -> String {
        match self {
            J::Str(t) => quote(t),
            J::Num(n) => n.to_string(),
            J::Bool(b) => b.to_string(),
            J::Arr(a) => format!("[{}]", a.iter().map(J::json).collect::<Vec<_>>().join(",")),
            J::Obj(m) => format!(
                "{{{}}}",
                m.iter().map(|(k, v)| format!("{}:{}", quote(k), v.json())).collect::<Vec<_>>().join(",")
            ),
        }
    }

    /// Block-style YAML; scalars and empty collections in flow style (JSON is valid YAML).
    fn yaml(&self, indent: usize, out: &mut String) {
        let pad = " ".repeat(indent);
        let item = |prefix: String, v: &J, out: &mut String| {
            out.push_str(&prefix);
            if v.nested() {
                out.push('\n');
                v.yaml(indent + 2, out);
            } else {
                out.push(' ');
                out.push_str(&v.json());
                out.push('\n');
            }
        };
        match self {
            J::Obj(m) if !m.is_empty() => m.iter().for_each(|(k, v)| item(format!("{pad}{}:", quote(k)), v, out)),
            J::Arr(a) if !a.is_empty() => a.iter().for_each(|v| item(format!("{pad}-"), v, out)),
            other => out.push_str(&format!("{pad}{}\n", other.json())),
        }
    }

    fn to_yaml(&self) -> String {
        let mut out = String::new();
        self.yaml(0, &mut out);
        out
    }
}

/// A JSON string literal (also a YAML double-quoted scalar).
fn quote(t: &str) -> String {
    let mut out = String::from("\"");
    for c in t.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn selector_json(sel: &LabelSelector) -> J {
    let mut m = Vec::new();
    if !sel.match_labels.is_empty() {
        m.push(("matchLabels", labels(&sel.match_labels)));
    }
    if !sel.match_expressions.is_empty() {
        let exprs = sel
            .match_expressions
            .iter()
            .map(|r| {
                let mut e = vec![("key", s(&r.key)), ("operator", s(format!("{:?}", r.operator)))];
                if !r.values.is_empty() {
                    e.push(("values", J::Arr(r.values.iter().map(s).collect())));
                }
                obj(e)
            })
            .collect();
        m.push(("matchExpressions", J::Arr(exprs)));
    }
    obj(m)
}

fn rule_json(rule: &Rule, peers_key: &str) -> J {
    let mut m = Vec::new();
    if !rule.peers.is_empty() {
        let peers = rule
            .peers
            .iter()
            .map(|p| match p {
                Peer::Pods { pod_selector, namespace_selector } => {
                    let mut m = Vec::new();
                    if let Some(sel) = pod_selector {
                        m.push(("podSelector", selector_json(sel)));
                    }
                    if let Some(sel) = namespace_selector {
                        m.push(("namespaceSelector", selector_json(sel)));
                    }
                    obj(m)
                }
                Peer::IpBlock(b) => {
                    let mut block = vec![("cidr", s(b.cidr))];
                    if !b.except.is_empty() {
                        block.push(("except", J::Arr(b.except.iter().map(s).collect())));
                    }
                    obj(vec![("ipBlock", obj(block))])
                }
            })
            .collect();
        m.push((peers_key, J::Arr(peers)));
    }
    if !rule.ports.is_empty() {
        let ports = rule
            .ports
            .iter()
            .map(|p| {
                let mut e = vec![("protocol", s(p.protocol.as_str()))];
                match &p.port {
                    Some(PortSpec::Number(n)) => e.push(("port", J::Num(*n as u64))),
                    Some(PortSpec::Name(n)) => e.push(("port", s(n))),
                    None => {}
                }
                if let Some(end) = p.end_port {
                    e.push(("endPort", J::Num(end as u64)));
                }
                obj(e)
            })
            .collect();
        m.push(("ports", J::Arr(ports)));
    }
    obj(m)
}

/// The cluster as Kubernetes objects: Namespaces, Nodes, Pods, NetworkPolicies.
fn manifests(cluster: &Cluster) -> Vec<J> {
    let mut out = Vec::new();
    for ns in &cluster.namespaces {
        out.push(obj(vec![
            ("apiVersion", s("v1")),
            ("kind", s("Namespace")),
            ("metadata", obj(vec![("name", s(&ns.name)), ("labels", labels(&ns.labels))])),
        ]));
    }
    for node in &cluster.nodes {
        let addresses =
            node.addresses.iter().map(|a| obj(vec![("type", s("InternalIP")), ("address", s(a))])).collect();
        out.push(obj(vec![
            ("apiVersion", s("v1")),
            ("kind", s("Node")),
            ("metadata", obj(vec![("name", s(&node.name)), ("labels", labels(&node.labels))])),
            ("status", obj(vec![("addresses", J::Arr(addresses))])),
        ]));
    }
    for pod in &cluster.pods {
        // One container per port: port names need only be unique within a container.
        let mut containers: Vec<J> = pod
            .ports
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let mut e = vec![("containerPort", J::Num(p.port as u64)), ("protocol", s(p.protocol.as_str()))];
                if let Some(name) = &p.name {
                    e.push(("name", s(name)));
                }
                obj(vec![("name", s(format!("c{i}"))), ("image", s("example")), ("ports", J::Arr(vec![obj(e)]))])
            })
            .collect();
        if containers.is_empty() {
            containers.push(obj(vec![("name", s("main")), ("image", s("example"))]));
        }
        let mut spec = vec![("containers", J::Arr(containers))];
        if pod.host_network {
            spec.push(("hostNetwork", J::Bool(true)));
        }
        if let Some(node) = &pod.node {
            spec.push(("nodeName", s(node)));
        }
        let mut status = vec![("phase", s("Running"))];
        if let Some(first) = pod.ips.first() {
            status.push(("podIP", s(first)));
            status.push(("podIPs", J::Arr(pod.ips.iter().map(|ip| obj(vec![("ip", s(ip))])).collect())));
        }
        out.push(obj(vec![
            ("apiVersion", s("v1")),
            ("kind", s("Pod")),
            (
                "metadata",
                obj(vec![("name", s(&pod.name)), ("namespace", s(&pod.namespace)), ("labels", labels(&pod.labels))]),
            ),
            ("spec", obj(spec)),
            ("status", obj(status)),
        ]));
    }
    for p in &cluster.policies {
        let mut spec = vec![("podSelector", selector_json(&p.pod_selector))];
        if let Some(types) = &p.policy_types {
            spec.push(("policyTypes", J::Arr(types.iter().map(|d| s(d.as_str())).collect())));
        }
        if !p.ingress.is_empty() {
            spec.push(("ingress", J::Arr(p.ingress.iter().map(|r| rule_json(r, "from")).collect())));
        }
        if !p.egress.is_empty() {
            spec.push(("egress", J::Arr(p.egress.iter().map(|r| rule_json(r, "to")).collect())));
        }
        out.push(obj(vec![
            ("apiVersion", s("networking.k8s.io/v1")),
            ("kind", s("NetworkPolicy")),
            ("metadata", obj(vec![("name", s(&p.name)), ("namespace", s(&p.namespace))])),
            ("spec", obj(spec)),
        ]));
    }
    out
}

/// A fresh folder under the system temp dir, removed on drop.
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new() -> TempDir {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("netreach-invariant-properties-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Namespaces in one multi-document YAML file, Nodes as back-to-back JSON objects, Pods as a
/// typed `PodList` per namespace (items without kind), one `.yml` file per policy.
fn write_folder(folder: &std::path::Path, objects: &[J]) {
    let kind = |o: &J| o.get("kind").unwrap().text().to_string();
    std::fs::create_dir_all(folder.join("policies")).unwrap();
    let namespaces: Vec<String> =
        objects.iter().filter(|o| kind(o) == "Namespace").map(|o| format!("---\n{}", o.to_yaml())).collect();
    std::fs::write(folder.join("namespaces.yaml"), namespaces.concat()).unwrap();
    let nodes: Vec<String> = objects.iter().filter(|o| kind(o) == "Node").map(J::json).collect();
    std::fs::write(folder.join("nodes.json"), nodes.join("\n")).unwrap();
    let mut by_namespace: std::collections::BTreeMap<String, Vec<J>> = Default::default();
    for pod in objects.iter().filter(|o| kind(o) == "Pod") {
        let ns = pod.get("metadata").and_then(|m| m.get("namespace")).unwrap().text().to_string();
        by_namespace.entry(ns).or_default().push(pod.without(&["kind", "apiVersion"]));
    }
    for (ns, items) in by_namespace {
        std::fs::create_dir_all(folder.join(&ns)).unwrap();
        let list = obj(vec![("apiVersion", s("v1")), ("kind", s("PodList")), ("items", J::Arr(items))]);
        std::fs::write(folder.join(&ns).join("pods.json"), list.json()).unwrap();
    }
    for (i, policy) in objects.iter().filter(|o| kind(o) == "NetworkPolicy").enumerate() {
        std::fs::write(folder.join("policies").join(format!("np-{i}.yml")), policy.to_yaml()).unwrap();
    }
}

/// Why the first egress rule is excluded from monotonicity: a policy that covered Ingress only
/// starts covering Egress, and its pod loses every connection the new rule does not allow.
#[test]
fn the_first_egress_rule_can_remove_connections() {
    let text = r#"
apiVersion: v1
kind: Pod
metadata: {name: a, namespace: alpha, labels: {app: a}}
spec: {containers: [{name: c, image: x}]}
---
apiVersion: v1
kind: Pod
metadata: {name: b, namespace: alpha, labels: {app: b}}
spec: {containers: [{name: c, image: x}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: a, namespace: alpha}
spec:
  podSelector: {matchLabels: {app: a}}
  ingress: [{from: [{podSelector: {}}]}]
"#;
    let with_egress =
        format!("{text}  egress: [{{to: [{{podSelector: {{matchLabels: {{app: b}}}}}}], ports: [{{port: 80}}]}}]\n");
    let before = netreach::testing::Segmentation::from_manifests(text).unwrap();
    let after = netreach::testing::Segmentation::from_manifests(&with_egress).unwrap();
    before.allows_on("alpha/a", "alpha/b", &["53/UDP", "80/TCP"]).unwrap();
    after.allows_on("alpha/a", "alpha/b", &["80/TCP"]).unwrap();
    let failure = after.allows_on("alpha/a", "alpha/b", &["53/UDP"]).unwrap_err();
    assert!(failure.to_string().contains("alpha/a -> alpha/b: UDP 53 not allowed (allowed: TCP 80)"), "{failure}");
}
