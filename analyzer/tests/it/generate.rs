//! The synthetic cluster generator: determinism, counts, validity, and that netreach loads it.

use netreach::generate::{node_count, write_cluster, GenerateParams, EXTRA_NAMESPACES, EXTRA_PODS, EXTRA_POLICIES};
use netreach::load::load_str;
use netreach::model::{EngineOptions, Protocol};
use netreach::Analysis;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, HashSet};

fn params(pods: usize, policies: usize, namespaces: usize, seed: u64) -> GenerateParams {
    GenerateParams { pods, policies, namespaces, seed, ..Default::default() }
}

fn generate(p: &GenerateParams) -> String {
    let mut out = Vec::new();
    write_cluster(p, &mut out).unwrap_or_else(|e| panic!("{p:?}: {e}"));
    String::from_utf8(out).expect("UTF-8")
}

fn items(text: &str) -> Vec<Value> {
    let doc: Value = serde_json::from_str(text).expect("one JSON document");
    assert_eq!(doc["apiVersion"], "v1");
    assert_eq!(doc["kind"], "List");
    doc["items"].as_array().expect("items").clone()
}

fn of_kind<'a>(items: &'a [Value], kind: &str) -> Vec<&'a Value> {
    items.iter().filter(|i| i["kind"] == kind).collect()
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}"))
}

#[test]
fn same_seed_gives_identical_bytes() {
    let p = params(400, 80, 9, 7);
    let a = generate(&p);
    let b = generate(&p);
    assert!(a == b, "two runs with the same parameters differ");
}

#[test]
fn different_seed_gives_different_output() {
    let a = generate(&params(400, 80, 9, 7));
    let b = generate(&params(400, 80, 9, 8));
    assert_ne!(a, b);
    // Same shape, different content.
    assert_eq!(of_kind(&items(&a), "Pod").len(), of_kind(&items(&b), "Pod").len());
}

#[test]
fn counts_match_the_parameters() {
    for p in [
        params(1000, 150, 12, 1),
        params(37, 5, 4, 2),  // fewer policies than 2 per namespace
        params(5, 9, 7, 3),   // fewer pods than namespaces
        params(0, 0, 0, 4),   // only kube-system and nodes
        params(100, 0, 3, 5), // no policies at all
        params(0, 20, 2, 6),  // policies without app pods
    ] {
        let text = generate(&p);
        let items = items(&text);
        assert_eq!(of_kind(&items, "Pod").len(), p.pods + EXTRA_PODS, "{p:?}");
        assert_eq!(EXTRA_PODS, 5);
        assert_eq!(of_kind(&items, "NetworkPolicy").len(), p.policies + EXTRA_POLICIES, "{p:?}");
        assert_eq!(EXTRA_POLICIES, 0);
        assert_eq!(of_kind(&items, "Namespace").len(), p.namespaces + EXTRA_NAMESPACES, "{p:?}");
        assert_eq!(of_kind(&items, "Node").len(), node_count(&p), "{p:?}");
        assert_eq!(node_count(&p), (p.pods.div_ceil(30)).max(3));
        assert_eq!(items.len(), p.pods + EXTRA_PODS + p.policies + p.namespaces + EXTRA_NAMESPACES + node_count(&p));

        let loaded = load_str("gen.json", &text).unwrap_or_else(|e| panic!("{p:?}: {e}"));
        let r = &loaded.report;
        assert!(r.warnings.is_empty(), "{p:?}: {:?}", r.warnings);
        assert!(r.skipped.is_empty() && r.not_objects == 0 && r.undefined_namespaces.is_empty(), "{p:?}: {r:?}");
        assert_eq!((r.synthesized_pods, r.finished_pods), (0, 0));
        assert_eq!(loaded.cluster.pods.len(), p.pods + EXTRA_PODS);
        assert_eq!(loaded.cluster.policies.len(), p.policies);
        assert_eq!(loaded.cluster.namespaces.len(), p.namespaces + 1);
        assert_eq!(loaded.cluster.nodes.len(), node_count(&p));
    }
}

#[test]
fn zero_namespaces_with_pods_is_an_error() {
    let err = write_cluster(&params(10, 0, 0, 1), &mut Vec::new()).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
}

/// DNS-1123 label: lowercase alphanumerics and '-', alphanumeric at both ends, at most 63.
fn dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// DNS-1123 subdomain: dot-separated labels, at most 253.
fn dns_subdomain(s: &str) -> bool {
    s.len() <= 253 && s.split('.').all(dns_label)
}

/// Label value: empty, or at most 63 of [A-Za-z0-9._-] with alphanumerics at both ends.
fn label_value(s: &str) -> bool {
    s.is_empty()
        || (s.len() <= 63
            && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
            && s.as_bytes()[0].is_ascii_alphanumeric()
            && s.as_bytes()[s.len() - 1].is_ascii_alphanumeric())
}

/// Label key: optional DNS-subdomain prefix and '/', then a name like a label value.
fn label_key(k: &str) -> bool {
    match k.split_once('/') {
        Some((prefix, name)) => dns_subdomain(prefix) && !name.is_empty() && label_value(name),
        None => !k.is_empty() && label_value(k),
    }
}

/// IANA_SVC_NAME: at most 15 of [a-z0-9-], at least one letter, no '--', no '-' at the ends.
fn port_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 15
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && s.bytes().any(|b| b.is_ascii_lowercase())
        && !s.contains("--")
        && !s.starts_with('-')
        && !s.ends_with('-')
}

fn check_labels(labels: &Value, what: &str) {
    if labels.is_null() {
        return;
    }
    for (k, v) in labels.as_object().unwrap() {
        assert!(label_key(k), "{what}: label key {k:?}");
        assert!(label_value(s(v)), "{what}: label {k}={v}");
    }
}

fn check_selector(sel: &Value, what: &str) {
    check_labels(&sel["matchLabels"], what);
    for e in sel["matchExpressions"].as_array().into_iter().flatten() {
        assert!(label_key(s(&e["key"])), "{what}: {e}");
        let values = e["values"].as_array().map(Vec::len).unwrap_or(0);
        match s(&e["operator"]) {
            "In" | "NotIn" => assert!(values > 0, "{what}: {e}"),
            "Exists" | "DoesNotExist" => assert_eq!(values, 0, "{what}: {e}"),
            other => panic!("{what}: operator {other}"),
        }
        for v in e["values"].as_array().into_iter().flatten() {
            assert!(label_value(s(v)), "{what}: {e}");
        }
    }
}

#[test]
fn objects_are_valid_and_realistic() {
    let p = params(3000, 400, 20, 99);
    let items = items(&generate(&p));

    // Namespaces: team/env labels and the name label.
    let mut namespaces = HashSet::new();
    for ns in of_kind(&items, "Namespace") {
        let name = s(&ns["metadata"]["name"]);
        assert!(dns_label(name) && namespaces.insert(name.to_string()), "{name}");
        let labels = &ns["metadata"]["labels"];
        check_labels(labels, name);
        assert_eq!(labels["kubernetes.io/metadata.name"], name);
        if name != "kube-system" {
            let (team, env) = (s(&labels["team"]), s(&labels["env"]));
            assert!(["prod", "staging", "dev"].contains(&env), "{name}");
            assert_eq!(name, format!("{team}-{env}"));
        }
    }
    assert!(namespaces.contains("kube-system") && namespaces.contains("team-01-prod"));

    // Nodes: InternalIP in 192.168.0.0/16, unique.
    let mut node_ips = HashMap::new();
    for node in of_kind(&items, "Node") {
        let name = s(&node["metadata"]["name"]);
        assert!(dns_subdomain(name));
        check_labels(&node["metadata"]["labels"], name);
        let internal: Vec<&str> = node["status"]["addresses"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["type"] == "InternalIP")
            .map(|a| s(&a["address"]))
            .collect();
        assert_eq!(internal.len(), 1, "{name}");
        assert!(internal[0].starts_with("192.168."), "{name}");
        assert!(node_ips.insert(name.to_string(), internal[0].to_string()).is_none());
    }
    assert_eq!(node_ips.values().collect::<HashSet<_>>().len(), node_ips.len(), "node IPs unique");

    // Pods.
    let mut pod_names = HashSet::new();
    let mut pod_ips = HashSet::new();
    let mut host_network = 0;
    let mut coredns = 0;
    let mut replicas: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut tiers = HashSet::new();
    let mut port_names = HashSet::new();
    for pod in of_kind(&items, "Pod") {
        let (meta, spec, status) = (&pod["metadata"], &pod["spec"], &pod["status"]);
        let ns = s(&meta["namespace"]);
        let name = s(&meta["name"]);
        let what = format!("{ns}/{name}");
        assert!(namespaces.contains(ns), "{what}");
        assert!(dns_subdomain(name) && pod_names.insert(what.clone()), "{what}");
        assert!(meta.get("ownerReferences").is_none(), "{what}");
        check_labels(&meta["labels"], &what);
        assert_eq!(status["phase"], "Running");
        let node = s(&spec["nodeName"]);
        assert_eq!(s(&status["hostIP"]), node_ips[node], "{what}");
        assert_eq!(status["hostIPs"][0]["ip"], status["hostIP"], "{what}");
        let ip = s(&status["podIP"]);
        assert_eq!(status["podIPs"].as_array().unwrap().len(), 1);
        assert_eq!(status["podIPs"][0]["ip"], ip, "{what}");
        for c in spec["containers"].as_array().unwrap() {
            for port in c["ports"].as_array().into_iter().flatten() {
                let pn = s(&port["name"]);
                assert!(port_name(pn), "{what}: {pn}");
                port_names.insert((
                    pn.to_string(),
                    port["containerPort"].as_u64().unwrap(),
                    s(&port["protocol"]).to_string(),
                ));
            }
        }
        if spec["hostNetwork"] == true {
            host_network += 1;
            assert_eq!(ip, s(&status["hostIP"]), "{what}: hostNetwork podIP is the node's");
            continue;
        }
        let addr: std::net::Ipv4Addr = ip.parse().unwrap();
        assert_eq!(addr.octets()[0], 10, "{what}: {ip}");
        assert!(pod_ips.insert(ip.to_string()), "{what}: duplicate IP {ip}");
        if meta["labels"]["k8s-app"] == "kube-dns" {
            coredns += 1;
            assert_eq!(ns, "kube-system");
            continue;
        }
        let labels = &meta["labels"];
        let (app, hash) = (s(&labels["app"]), s(&labels["pod-template-hash"]));
        for key in ["tier", "team", "version"] {
            assert!(labels.get(key).is_some(), "{what}: no {key}");
        }
        tiers.insert(s(&labels["tier"]).to_string());
        // `<app>-<hash>-<suffix>`
        assert!(name.starts_with(&format!("{app}-{hash}-")) && name.len() == app.len() + hash.len() + 7, "{what}");
        *replicas.entry((ns.to_string(), app.to_string())).or_default() += 1;
    }
    assert_eq!((host_network, coredns), (3, 2));
    assert_eq!(tiers.len(), 5, "{tiers:?}");
    assert!(replicas.values().all(|n| (2..=6).contains(n)), "{replicas:?}");
    for expected in [
        ("http", 8080, "TCP"),
        ("grpc", 9090, "TCP"),
        ("metrics", 9100, "TCP"),
        ("pg", 5432, "TCP"),
        ("redis", 6379, "TCP"),
    ] {
        assert!(port_names.contains(&(expected.0.to_string(), expected.1, expected.2.to_string())), "{expected:?}");
    }

    // Policies: unique names, valid selectors and ports, the promised variety.
    let mut policy_names = HashSet::new();
    let mut per_namespace: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut seen = HashSet::new();
    for np in of_kind(&items, "NetworkPolicy") {
        assert_eq!(np["apiVersion"], "networking.k8s.io/v1");
        let ns = s(&np["metadata"]["namespace"]);
        let name = s(&np["metadata"]["name"]);
        let what = format!("{ns}/{name}");
        assert!(namespaces.contains(ns) && ns != "kube-system", "{what}");
        assert!(dns_subdomain(name) && policy_names.insert(what.clone()), "{what}");
        per_namespace.entry(ns).or_default().push(name);
        let spec = &np["spec"];
        check_selector(&spec["podSelector"], &what);
        for t in spec["policyTypes"].as_array().into_iter().flatten() {
            assert!(t == "Ingress" || t == "Egress", "{what}");
        }
        for (dir, peers_key) in [("ingress", "from"), ("egress", "to")] {
            for rule in spec[dir].as_array().into_iter().flatten() {
                for peer in rule[peers_key].as_array().into_iter().flatten() {
                    if let Some(block) = peer.get("ipBlock") {
                        assert_eq!(peer.as_object().unwrap().len(), 1, "{what}: ipBlock alone");
                        let cidr = s(&block["cidr"]);
                        if cidr == "0.0.0.0/0" {
                            seen.insert("internet");
                        } else if cidr.ends_with("/24") {
                            seen.insert("office");
                        }
                        continue;
                    }
                    if let Some(sel) = peer.get("namespaceSelector") {
                        check_selector(sel, &what);
                        if sel["matchLabels"].get("team").is_some() {
                            seen.insert("team");
                        }
                        if sel["matchExpressions"].is_array() {
                            seen.insert("env-expression");
                        }
                    }
                    if let Some(sel) = peer.get("podSelector") {
                        check_selector(sel, &what);
                    }
                }
                for port in rule["ports"].as_array().into_iter().flatten() {
                    if port["protocol"] == "UDP" {
                        seen.insert("udp");
                    }
                    if port.get("endPort").is_some() {
                        assert!(port["port"].as_u64().unwrap() <= port["endPort"].as_u64().unwrap(), "{what}");
                        seen.insert("endPort");
                    }
                    match &port["port"] {
                        Value::String(n) => {
                            assert!(port_name(n), "{what}: {n}");
                            seen.insert("named");
                        }
                        Value::Number(_) => {
                            seen.insert("numeric");
                        }
                        other => panic!("{what}: port {other}"),
                    }
                }
            }
        }
    }
    for kind in ["internet", "office", "team", "env-expression", "udp", "endPort", "named", "numeric"] {
        assert!(seen.contains(kind), "no {kind} rule among {seen:?}");
    }
    assert_eq!(per_namespace.len(), 20);
    for (ns, names) in &per_namespace {
        assert_eq!(names.len(), 20, "{ns}");
        assert_eq!(&names[..2], ["default-deny-all", "allow-dns"], "{ns}");
    }
}

#[test]
fn generated_policies_take_effect() {
    let text = generate(&params(600, 120, 6, 5));
    let loaded = load_str("gen.json", &text).unwrap();
    let analysis = Analysis::new(loaded.cluster, &EngineOptions::default());
    let pods = &analysis.cluster.pods;
    let dns = pods.iter().find(|p| p.labels.get("k8s-app").map(String::as_str) == Some("kube-dns")).unwrap().id();
    let dns = analysis.reach.endpoint(analysis.find(&dns).unwrap());
    let team_pods: Vec<_> = pods.iter().filter(|p| p.namespace.starts_with("team-")).collect();
    let (a, b) = (team_pods[0].id(), team_pods[team_pods.len() - 1].id());
    let a = analysis.reach.endpoint(analysis.find(&a).unwrap());
    let b = analysis.reach.endpoint(analysis.find(&b).unwrap());
    // Every namespace has allow-dns.
    assert!(analysis.reach.allowed(a, dns).contains(Protocol::Udp, 53));
    assert!(analysis.reach.allowed(a, dns).contains(Protocol::Tcp, 53));
    // Default deny: no port nobody opens.
    assert!(!analysis.reach.allowed(a, b).contains(Protocol::Tcp, 31337));
}

#[test]
fn density_leaves_namespaces_unisolated_or_ingress_only_and_keeps_the_counts() {
    let p = GenerateParams { unisolated_per_mille: 500, ingress_only_per_mille: 300, ..params(3000, 300, 30, 5) };
    let text = generate(&p);
    let all = items(&text);
    let policies = of_kind(&all, "NetworkPolicy");
    assert_eq!(policies.len(), 300, "exactly the policies asked for");
    assert_eq!(of_kind(&all, "Pod").len(), 3000 + EXTRA_PODS);
    let mut by_ns: BTreeMap<&str, Vec<&Value>> = BTreeMap::new();
    for p in &policies {
        by_ns.entry(s(&p["metadata"]["namespace"])).or_default().push(p);
    }
    fn types(p: &Value) -> Option<Vec<&str>> {
        p["spec"]["policyTypes"].as_array().map(|t| t.iter().map(s).collect())
    }
    let ingress_only: Vec<&str> = by_ns
        .iter()
        .filter(|(_, ps)| ps.iter().all(|p| types(p) == Some(vec!["Ingress"])))
        .map(|(ns, _)| *ns)
        .collect();
    let unisolated = 30 - by_ns.len();
    // 30 draws at 50% and 30%: far from 0 and from all, whatever the seed's luck.
    assert!((5..=25).contains(&unisolated), "{unisolated} namespaces without policy");
    assert!(!ingress_only.is_empty() && ingress_only.len() < by_ns.len(), "{ingress_only:?}");
    for ns in &ingress_only {
        assert!(by_ns[ns].iter().any(|p| s(&p["metadata"]["name"]) == "default-deny-ingress"), "{ns}");
    }
    // Pods of unisolated namespaces reach, and are reached by, every other pod.
    let a = Analysis::new(load_str("dense", &text).unwrap().cluster, &EngineOptions::default());
    let open: Vec<usize> = (0..a.cluster.pods.len())
        .filter(|&i| {
            a.cluster.pods[i].namespace.starts_with("team-")
                && !by_ns.contains_key(a.cluster.pods[i].namespace.as_str())
        })
        .collect();
    // A pod whose egress is open: in an ingress-only namespace.
    let isolated = a.cluster.pods.iter().position(|pod| ingress_only.contains(&pod.namespace.as_str())).unwrap();
    let (o, p, i) = (a.reach.endpoint(open[0]), a.reach.endpoint(open[open.len() - 1]), a.reach.endpoint(isolated));
    assert!(
        a.reach.allowed(i, o).contains(Protocol::Tcp, 1),
        "from an ingress-only namespace into an open one, on any port"
    );
    assert!(a.reach.allowed(o, p).contains(Protocol::Udp, 65535), "between open namespaces on any port");
}

#[test]
fn density_fractions_above_one_are_refused() {
    let p = GenerateParams { unisolated_per_mille: 700, ingress_only_per_mille: 400, ..params(10, 2, 1, 0) };
    assert!(write_cluster(&p, &mut Vec::new()).is_err());
}

#[test]
fn controllers_give_every_app_pod_its_deployment_and_change_no_answer() {
    let plain = params(600, 120, 6, 3);
    let with = GenerateParams { controllers: true, ..plain.clone() };
    let (a, b) = (generate(&plain), generate(&with));
    let (plain_items, with_items) = (items(&a), items(&b));
    // The pods are the same but for their ownerReferences; the controllers come on top.
    let strip = |pod: &Value| {
        let mut pod = pod.clone();
        pod["metadata"].as_object_mut().unwrap().remove("ownerReferences");
        pod
    };
    let plain_pods: Vec<Value> = of_kind(&plain_items, "Pod").into_iter().cloned().collect();
    let with_pods: Vec<Value> = of_kind(&with_items, "Pod").into_iter().map(strip).collect();
    assert_eq!(plain_pods, with_pods);
    let deployments = of_kind(&with_items, "Deployment");
    assert_eq!(deployments.len(), of_kind(&with_items, "ReplicaSet").len());
    assert!(deployments.len() >= 600 / 6, "{} deployments", deployments.len());
    let analysis = |text: &str| Analysis::new(load_str("g", text).unwrap().cluster, &EngineOptions::default());
    let (x, y) = (analysis(&a), analysis(&b));
    assert_eq!(y.cluster.pods.len(), 600 + EXTRA_PODS, "live pods only: no template is synthesized");
    for pod in y.cluster.pods.iter().filter(|p| p.namespace.starts_with("team-")) {
        let workload = pod.workload.as_ref().unwrap_or_else(|| panic!("{} has no workload", pod.name));
        assert_eq!(workload.kind, "Deployment", "{}", pod.name);
        assert!(pod.name.starts_with(&format!("{}-", workload.name)), "{} of {}", pod.name, workload.name);
    }
    assert_eq!(x.reach.count_connections(), y.reach.count_connections());
}
