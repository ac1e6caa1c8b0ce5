//! The bundled fixtures against their hand-worked expectations (fixtures/expectations/).

use netreach::load::{load, Input};
use netreach::model::{EngineOptions, Protocol};
use netreach::Analysis;
use serde::Deserialize;
use std::path::{Path, PathBuf};

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

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().join("fixtures")
}

fn analyze(folder: &str) -> Analysis {
    let loaded = load(&[Input::Path(root().join(folder))]).unwrap_or_else(|e| panic!("{folder}: {e}"));
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
        let path = root().join("expectations").join(expectations).join(file);
        let Ok(text) = std::fs::read_to_string(&path) else { continue };
        let probes: Vec<Probe> = serde_json::from_str(&text).unwrap();
        for p in probes {
            let protocol = Protocol::parse(&p.protocol).unwrap();
            let (s, d) = (endpoint(&analysis, &p.from), endpoint(&analysis, &p.to));
            let got = analysis.reach.allowed(analysis.reach.endpoint(s), analysis.reach.endpoint(d)).contains(protocol, p.port);
            checked += 1;
            if got != p.allowed {
                wrong.push(format!("{} -> {} {}/{}: expected {}, got {} ({})", p.from, p.to, p.protocol, p.port, p.allowed, got, p.why));
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
    let text = std::fs::read_to_string(root().join("expectations/workloads/expected-pods.json")).unwrap();
    let expected: Vec<String> = serde_json::from_str(&text).unwrap();
    assert_eq!(ids, expected);
    let worker = analysis.cluster.pods.iter().find(|p| p.name == "worker").unwrap();
    assert!(worker.synthesized);
    assert_eq!(worker.workload.as_ref().unwrap().to_string(), "Deployment/worker");
    let api: Vec<_> = analysis.cluster.pods.iter().filter(|p| p.name.starts_with("api-")).collect();
    assert!(api.iter().all(|p| !p.synthesized && p.workload.as_ref().unwrap().to_string() == "Deployment/api"));
}
