//! The bundled fixtures against their hand-worked expectations (fixtures/expectations/).

use crate::support::fixtures;
use netreach::load::{load, Input};
use netreach::model::{EngineOptions, Protocol};
use netreach::Analysis;
use serde::Deserialize;

#[derive(Deserialize)]
struct Probe {
    from: String,
    to: String,
    port: u16,
    protocol: String,
    allowed: bool,
    #[serde(default)]
    why: String,
}

fn analyze(folder: &str) -> Analysis {
    let loaded = load(&[Input::Path(fixtures().join(folder))]).unwrap_or_else(|e| panic!("{folder}: {e}"));
    assert!(loaded.report.warnings.is_empty(), "{folder}: {:?}", loaded.report.warnings);
    Analysis::new(loaded.cluster, &EngineOptions::default())
}

fn endpoint(analysis: &Analysis, id: &str) -> usize {
    match id.parse() {
        Ok(ip) => analysis.external_containing(ip).unwrap_or_else(|| panic!("no external range holds {id}")),
        Err(_) => analysis.find(id).unwrap_or_else(|| panic!("no endpoint {id}")),
    }
}

/// Checks every probe file of a fixture; returns how many probes were checked.
fn check(folder: &str, expectations: &str) -> usize {
    let analysis = analyze(folder);
    let mut wrong = Vec::new();
    let mut checked = 0;
    for file in ["expected.json", "expected-external.json"] {
        let path = fixtures().join("expectations").join(expectations).join(file);
        let Ok(text) = std::fs::read_to_string(&path) else { continue };
        let probes: Vec<Probe> = serde_json::from_str(&text).unwrap();
        for p in probes {
            let protocol = Protocol::parse(&p.protocol).unwrap();
            let (s, d) = (endpoint(&analysis, &p.from), endpoint(&analysis, &p.to));
            let got = analysis
                .reach
                .allowed(analysis.reach.endpoint(s), analysis.reach.endpoint(d))
                .contains(protocol, p.port);
            checked += 1;
            if got != p.allowed {
                wrong.push(format!(
                    "{} -> {} {}/{}: expected {}, got {} ({})",
                    p.from, p.to, p.protocol, p.port, p.allowed, got, p.why
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{folder}:\n{}", wrong.join("\n"));
    assert!(checked > 0, "{folder}: no probes");
    checked
}

#[test]
fn shop_matches_hand_worked_probes() {
    assert!(check("shop", "shop") >= 30);
}

#[test]
fn calico_tiers_pass_and_end_of_tier_deny() {
    check("calico/bank", "calico-bank");
}

#[test]
fn default_deny() {
    check("small/default-deny", "default-deny");
}

#[test]
fn named_ports_resolve_on_the_destination() {
    check("small/named-ports", "named-ports");
}

#[test]
fn ipblock_except_dual_stack() {
    check("small/ipblock-except", "ipblock-except");
}

#[test]
fn host_network_pods_are_never_selected() {
    check("small/host-network", "host-network");
}

#[test]
fn workloads_synthesize_pods_only_without_live_ones() {
    check("small/workloads", "workloads");
    let analysis = analyze("small/workloads");
    let ids: Vec<String> = analysis.cluster.pods.iter().map(|p| p.id()).collect();
    let text = std::fs::read_to_string(fixtures().join("expectations/workloads/expected-pods.json")).unwrap();
    let expected: Vec<String> = serde_json::from_str(&text).unwrap();
    assert_eq!(ids, expected);
    let worker = analysis.cluster.pods.iter().find(|p| p.name == "worker").unwrap();
    assert!(worker.synthesized);
    assert_eq!(worker.workload.as_ref().unwrap().to_string(), "Deployment/worker");
    let api: Vec<_> = analysis.cluster.pods.iter().filter(|p| p.name.starts_with("api-")).collect();
    assert!(api.iter().all(|p| !p.synthesized && p.workload.as_ref().unwrap().to_string() == "Deployment/api"));
}

#[test]
fn replicas_are_the_pods_a_controller_runs() {
    check("small/replicas", "replicas");
    let loaded = load(&[Input::Path(fixtures().join("small/replicas"))]).unwrap();
    let notes = loaded.report.notes();
    assert!(notes.contains(&"Deployment web/idle scaled to 0 (spec.replicas is 0): no pod".to_string()), "{notes:?}");
    assert!(
        notes.contains(
            &"DaemonSet infra/tpu-exporter: its nodeSelector matches none of the 3 node(s): no pod".to_string()
        ),
        "{notes:?}"
    );
    assert_eq!(loaded.report.synthesized_pods, 17);
    let analysis = Analysis::new(loaded.cluster, &EngineOptions::default());
    let ids: Vec<String> = analysis.cluster.pods.iter().map(|p| p.id()).collect();
    let text = std::fs::read_to_string(fixtures().join("expectations/replicas/expected-pods.json")).unwrap();
    let expected: Vec<String> = serde_json::from_str(&text).unwrap();
    assert_eq!(ids, expected);
    let pod = |id: &str| &analysis.cluster.pods[analysis.cluster.pods.iter().position(|p| p.id() == id).unwrap()];
    let workload = |id: &str| pod(id).workload.as_ref().map(|w| w.to_string());
    for id in ["web/api-1", "web/api-2", "web/api-3"] {
        assert!(pod(id).synthesized);
        assert_eq!(workload(id).as_deref(), Some("Deployment/api"));
    }
    assert_eq!(workload("web/db-0").as_deref(), Some("StatefulSet/db"));
    assert_eq!(workload("web/report").as_deref(), Some("CronJob/report"));
    // DaemonSets: one pod per matching node, placed on it; hostNetwork ones speak with that
    // node's address only.
    assert_eq!(
        (pod("infra/agent-node-a").node.as_deref(), pod("infra/agent-node-b").node.as_deref()),
        (Some("node-a"), Some("node-b"))
    );
    assert!(pod("infra/agent-node-a").ips.is_empty());
    for (node, ip) in [("a", "10.0.0.1"), ("b", "10.0.0.2"), ("c", "10.0.0.3")] {
        let p = pod(&format!("infra/node-exporter-node-{node}"));
        assert_eq!((p.node.clone(), p.ips.clone()), (Some(format!("node-{node}")), vec![ip.parse().unwrap()]));
    }
    // Static pods and pods owned by unknown kinds are workloads of their own; an owner
    // reference without kind finds the one controller of that name.
    assert_eq!(workload("kube-system/kube-apiserver-node-a"), None);
    assert_eq!(workload("kube-system/etcd-node-a"), None);
    assert_eq!(workload("kube-system/operand-0"), None);
    assert_eq!(workload("kube-system/legacy-x2b9q").as_deref(), Some("ReplicaSet/legacy"));
    assert!(!pod("kube-system/legacy-x2b9q").synthesized);

    // Replicas are alike: the 21 pods (and the internet) fall in 6 classes.
    assert_eq!(analysis.reach.class_count(), 6);

    // At the workload level, cache (whose replicas reach each other) has a self-edge; api and db
    // (whose replicas may not) have none.
    use netreach::aggregate::{aggregate, Grouping, Level};
    let grouping = Grouping::new(&analysis, Level::Workload);
    let conns = aggregate(&analysis, &grouping);
    let self_edge = |id: &str| conns.iter().find(|c| c.src == c.dst && grouping.groups[c.src].id == id);
    let cache = self_edge("web/Deployment/cache").expect("cache replicas reach each other");
    assert_eq!((cache.connected_pairs, cache.possible_pairs, cache.ports.to_string()), (2, 2, "TCP 6379".to_string()));
    assert!(self_edge("web/Deployment/api").is_none());
    assert!(self_edge("web/StatefulSet/db").is_none());
    // agent's two pods are not isolated: they reach each other.
    assert!(self_edge("infra/DaemonSet/agent").is_some());
}
