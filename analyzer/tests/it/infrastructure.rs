//! Infrastructure destinations (`cloud-metadata`, `kube-apiserver`, `kubelet`, `nodes`, `etcd`):
//! what each resolves to per input, the hand-worked probes and findings of fixtures/infra, and
//! the flags and outputs that name them.

use crate::support::{fixtures, netreach, netreach_stdin, stderr, stdout};
use netreach::audit::audit;
use netreach::load::infrastructure::{Cloud, InfraOptions};
use netreach::load::{load, load_str, Input};
use netreach::model::{Destination, Endpoint, EngineOptions, PortSet};
use netreach::select::EndpointSelector;
use netreach::Analysis;
use serde::Deserialize;

fn analyze(cluster: netreach::model::Cluster) -> Analysis {
    Analysis::new(cluster, &EngineOptions::default())
}

fn infra_fixture() -> netreach::model::Cluster {
    let loaded = load(&[Input::Path(fixtures().join("infra"))]).unwrap();
    assert!(loaded.report.warnings.is_empty(), "{:?}", loaded.report.warnings);
    loaded.cluster
}

/// The ports `from` reaches the destination `keyword` on: over every range holding it, the
/// allowed ports restricted to the destination's own.
fn reached(analysis: &Analysis, from: &str, keyword: &str) -> PortSet {
    let src = analysis.find(from).unwrap_or_else(|| panic!("no pod {from}"));
    let destination = Destination::parse(keyword).unwrap();
    let found = analysis.cluster.infrastructure.iter().find(|d| d.destination == destination).unwrap();
    let targets = EndpointSelector::parse(keyword).unwrap().resolve(analysis).unwrap();
    assert!(!targets.is_empty(), "{keyword} resolves to no range");
    let mut ports = PortSet::empty();
    for t in targets {
        let allowed = analysis.reach.allowed(analysis.reach.endpoint(src), analysis.reach.endpoint(t));
        ports.union_with(&found.reached_on(&allowed));
    }
    ports
}

#[derive(Deserialize)]
struct Probe {
    from: String,
    to: String,
    ports: String,
    why: String,
}

#[test]
fn hand_worked_probes_hold_with_and_without_ranges_of_their_own() {
    let text = std::fs::read_to_string(fixtures().join("expectations/infra/expected.json")).unwrap();
    let probes: Vec<Probe> = serde_json::from_str(&text).unwrap();
    assert!(probes.len() >= 20);
    // Cutting the ranges at the destinations only renames them: every answer stays.
    let mut own = infra_fixture();
    for d in &mut own.infrastructure {
        d.own_ranges = true;
    }
    for analysis in [analyze(infra_fixture()), analyze(own)] {
        let mut wrong = Vec::new();
        for p in &probes {
            let got = reached(&analysis, &p.from, &p.to).to_string();
            if got != p.ports {
                wrong.push(format!("{} -> {}: expected {}, got {got} ({})", p.from, p.to, p.ports, p.why));
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }
}

#[test]
fn a_destination_named_by_a_query_gets_a_range_of_its_own() {
    let mut cluster = infra_fixture();
    // Namespace guarded's ipBlock except already cuts 169.254.169.254/32; naming cloud-metadata
    // must keep that range and resolve to it alone.
    netreach::load::infrastructure::name_ranges(&mut cluster, ["cloud-metadata"]);
    let named = analyze(cluster);
    let ids: Vec<&str> = named.reach.externals().iter().map(|e| e.id.as_str()).collect();
    assert!(ids.contains(&"external:169.254.169.254/32"), "{ids:?}");
    let targets = EndpointSelector::parse("cloud-metadata").unwrap().resolve(&named).unwrap();
    let names: Vec<String> = targets.iter().map(|&t| named.id(t)).collect();
    assert_eq!(names, ["external:169.254.169.254/32"], "the fixture's pods are IPv4 only");
}

#[derive(Deserialize)]
struct ExpectedFinding {
    id: String,
    namespace: String,
    destination: String,
    objects: Vec<String>,
}

#[test]
fn audit_flags_each_destination_per_namespace_and_not_the_excepted_one() {
    let text = std::fs::read_to_string(fixtures().join("expectations/infra/expected-findings.json")).unwrap();
    let expected: Vec<ExpectedFinding> = serde_json::from_str(&text).unwrap();
    let report = audit(&analyze(infra_fixture()));
    let mut got: Vec<(String, String, String, Vec<String>)> = report
        .findings
        .iter()
        .filter(|f| ["NR017", "NR018", "NR019", "NR020"].contains(&f.id))
        .map(|f| {
            (
                f.id.to_string(),
                f.namespace.clone().unwrap(),
                f.destination.unwrap().to_string(),
                f.objects.iter().map(|o| o.to_string()).collect(),
            )
        })
        .collect();
    got.sort();
    let want: Vec<(String, String, String, Vec<String>)> =
        expected.into_iter().map(|e| (e.id, e.namespace, e.destination, e.objects)).collect();
    assert_eq!(got, want);
    let guarded: Vec<&str> =
        report.findings.iter().filter(|f| f.namespace.as_deref() == Some("guarded")).map(|f| f.id).collect();
    assert!(!guarded.iter().any(|id| ["NR017", "NR018", "NR019", "NR020"].contains(id)), "{guarded:?}");
}

const NODES: &str = r#"
apiVersion: v1
kind: Node
metadata: {name: cp, labels: {node-role.kubernetes.io/control-plane: ""}}
status: {addresses: [{type: InternalIP, address: 10.0.0.1}, {type: ExternalIP, address: 198.51.100.1}]}
---
apiVersion: v1
kind: Node
metadata: {name: w}
status: {addresses: [{type: InternalIP, address: 10.0.0.2}, {type: Hostname, address: w}]}
---
apiVersion: v1
kind: Pod
metadata: {name: p, namespace: a}
spec: {containers: [{name: c, image: i}]}
"#;

const ENDPOINTS: &str = r#"
---
apiVersion: v1
kind: Endpoints
metadata: {name: kubernetes, namespace: default}
subsets: [{addresses: [{ip: 10.0.0.1}], ports: [{name: https, port: 443, protocol: TCP}]}]
"#;

const SLICE: &str = r#"
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: kubernetes, namespace: default, labels: {kubernetes.io/service-name: kubernetes}}
addressType: IPv4
endpoints: [{addresses: [10.0.0.9]}]
ports: [{name: https, port: 6443, protocol: TCP}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: other-abcde, namespace: default, labels: {kubernetes.io/service-name: other}}
addressType: IPv4
endpoints: [{addresses: [10.9.9.9]}]
ports: [{port: 80}]
"#;

/// `keyword → addresses on ports (source)`, per destination the input resolves.
fn resolved(text: &str) -> Vec<String> {
    let cluster = load_str("test.yaml", text).unwrap().cluster;
    cluster
        .infrastructure
        .iter()
        .map(|d| {
            let addresses: Vec<String> = d.addresses.iter().map(|a| a.to_string()).collect();
            let ports = d.ports.as_ref().map_or("all".to_string(), |p| p.to_string());
            format!("{} → {} on {ports}", d.destination, addresses.join(","))
        })
        .collect()
}

#[test]
fn each_keyword_resolves_from_the_input_the_slices_first() {
    assert_eq!(
        resolved(NODES),
        [
            "cloud-metadata → 169.254.169.254/32,fd00:ec2::254/128 on all",
            "kube-apiserver → 10.0.0.1/32 on TCP 6443",
            "kubelet → 10.0.0.1/32,10.0.0.2/32 on TCP 10250",
            "nodes → 10.0.0.1/32,10.0.0.2/32,198.51.100.1/32 on all",
            "etcd → 10.0.0.1/32 on TCP 2379-2380",
        ],
        "without endpoints the API server is assumed on the control plane, kubeadm's port"
    );
    let with_endpoints = resolved(&format!("{NODES}{ENDPOINTS}"));
    assert_eq!(with_endpoints[1], "kube-apiserver → 10.0.0.1/32 on TCP 443");
    let with_both = resolved(&format!("{NODES}{ENDPOINTS}{SLICE}"));
    assert_eq!(
        with_both[1], "kube-apiserver → 10.0.0.9/32 on TCP 6443",
        "slices win; other services' slices are not read"
    );
    let bare = resolved(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: a}\nspec: {containers: [{name: c, image: i}]}\n",
    );
    assert_eq!(bare, ["cloud-metadata → 169.254.169.254/32,fd00:ec2::254/128 on all"]);
}

#[test]
fn flags_replace_the_input_and_unknown_destinations_say_how_to_locate_them() {
    let mut cluster = load_str("test.yaml", NODES).unwrap().cluster;
    let options = InfraOptions {
        apiserver: vec![("10.0.0.5".parse().unwrap(), Some(8443))],
        etcd: vec!["10.0.1.0/24".parse().unwrap()],
        cloud: Cloud::Azure,
    };
    options.apply(&mut cluster.infrastructure);
    let find = |d: Destination| cluster.infrastructure.iter().find(|o| o.destination == d).unwrap();
    assert_eq!(find(Destination::KubeApiserver).source, "--apiserver");
    assert_eq!(find(Destination::KubeApiserver).ports.as_ref().unwrap().to_string(), "TCP 8443");
    assert_eq!(find(Destination::Etcd).addresses, vec!["10.0.1.0/24".parse::<ipnet::IpNet>().unwrap()]);
    let metadata: Vec<String> = find(Destination::CloudMetadata).addresses.iter().map(|a| a.to_string()).collect();
    assert_eq!(metadata, ["168.63.129.16/32", "169.254.169.254/32"]);

    let bare = load_str(
        "t.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: a}\nspec: {containers: [{name: c, image: i}]}\n",
    )
    .unwrap()
    .cluster;
    let error = EndpointSelector::parse("kube-apiserver").unwrap().resolve(&analyze(bare)).unwrap_err().to_string();
    assert!(error.contains("--apiserver"), "{error}");
}

#[test]
fn a_pods_automount_setting_wins_over_its_service_accounts() {
    let text = r#"
apiVersion: v1
kind: ServiceAccount
metadata: {name: quiet, namespace: a}
automountServiceAccountToken: false
---
apiVersion: v1
kind: Pod
metadata: {name: inherits, namespace: a}
spec: {serviceAccountName: quiet, containers: [{name: c, image: i}]}
---
apiVersion: v1
kind: Pod
metadata: {name: overrides, namespace: a}
spec: {serviceAccountName: quiet, automountServiceAccountToken: true, containers: [{name: c, image: i}]}
---
apiVersion: v1
kind: Pod
metadata: {name: default-sa, namespace: a}
spec: {containers: [{name: c, image: i}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: tokenless, namespace: a}
spec:
  selector: {matchLabels: {app: t}}
  template:
    metadata: {labels: {app: t}}
    spec: {automountServiceAccountToken: false, containers: [{name: c, image: i}]}
"#;
    let cluster = load_str("sa.yaml", text).unwrap().cluster;
    let mounts: Vec<(&str, bool)> = cluster.pods.iter().map(|p| (p.name.as_str(), p.mounts_token())).collect();
    assert_eq!(mounts, [("default-sa", true), ("inherits", false), ("overrides", true), ("tokenless", false)]);
}

#[test]
fn the_command_line_names_the_destination_and_asks_about_its_ports() {
    let dir = fixtures().join("infra");
    let out = netreach(&["can", "api-only/operator", "kubelet", dir.to_str().unwrap(), "-o", "json", "-q"]);
    assert_eq!(out.status.code(), Some(1), "denied");
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json["to"], "kubelet", "{json}");
    let text = stdout(&netreach(&["can", "open/web", "cloud-metadata", dir.to_str().unwrap(), "-q"]));
    assert!(text.contains("IMDSv2"), "the metadata mitigations are explained: {text}");
    assert!(text.contains("ALLOWED"), "{text}");
    let audit = stdout(&netreach(&["audit", dir.to_str().unwrap(), "-o", "json", "-q"]));
    let json: serde_json::Value = serde_json::from_str(&audit).unwrap();
    let destinations: Vec<&str> =
        json["findings"].as_array().unwrap().iter().filter_map(|f| f["destination"].as_str()).collect();
    assert!(destinations.contains(&"cloud-metadata") && destinations.contains(&"etcd"), "{destinations:?}");
    let invariants = dir.join("invariants.yaml");
    let out = netreach(&["check", "--invariants", invariants.to_str().unwrap(), dir.to_str().unwrap(), "-q"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(stdout(&out).contains("PASS  the operator reaches the API server"), "{}", stdout(&out));
    // --cloud moves cloud-metadata: nothing in the fixture excepts Alibaba's address.
    let out = netreach(&["can", "guarded/app", "cloud-metadata", "--cloud", "alibaba", dir.to_str().unwrap(), "-q"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
}

#[test]
fn connectivity_to_a_destination_lists_its_own_range() {
    // No policy cuts the address space: without naming, the API server would hide in 0.0.0.0/0.
    let text = "apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: shop}\nspec: {containers: [{name: c, image: i}]}\nstatus: {podIP: 10.1.0.1}\n---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: kubernetes, namespace: default, labels: {kubernetes.io/service-name: kubernetes}}\naddressType: IPv4\nendpoints: [{addresses: [10.0.0.10]}]\nports: [{name: https, port: 6443, protocol: TCP}]\n";
    let out = netreach_stdin(&["connectivity", "--to", "kube-apiserver", "-", "-q"], text);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let listed = stdout(&out);
    assert!(listed.contains("shop/web") && listed.contains("external 10.0.0.10/32"), "{listed}");
    assert!(!listed.contains("0.0.0.0/0"), "{listed}");
}

#[test]
fn reaching_the_range_is_reaching_the_destination() {
    // The destination's ranges are the externals holding its addresses, pods never.
    let analysis = analyze(infra_fixture());
    for keyword in ["cloud-metadata", "kube-apiserver", "kubelet", "nodes", "etcd"] {
        let targets = EndpointSelector::parse(keyword).unwrap().resolve(&analysis).unwrap();
        assert!(targets.iter().all(|&t| matches!(analysis.reach.endpoint(t), Endpoint::External(_))), "{keyword}");
    }
}
