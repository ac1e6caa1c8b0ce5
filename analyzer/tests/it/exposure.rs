//! `netreach exposure`: the hand-worked entry paths of fixtures/exposure (every via kind, both
//! externalTrafficPolicy values, named targetPorts, cross-namespace backendRefs with and without
//! a ReferenceGrant), the abstract {ingress-controller}, `--ingress-controller`, the JSON schema,
//! and the Ingress set of ../shared/realworld.

use crate::support::{fixtures, netreach, stdout};
use netreach::exposure::{add_abstract_controller, exposure, ExposureOptions, ExposureReport};
use netreach::load::{load, load_str, Input};
use netreach::model::EngineOptions;
use netreach::schema::{schema, validate, SchemaCommand};
use netreach::Analysis;
use serde::Deserialize;
use std::collections::BTreeSet;
use std::path::Path;

fn analyze(mut cluster: netreach::model::Cluster) -> Analysis {
    add_abstract_controller(&mut cluster);
    Analysis::new(cluster, &EngineOptions::default())
}

fn report_of(text: &str) -> (Analysis, ExposureReport) {
    let loaded = load_str("test.yaml", text).unwrap();
    let analysis = analyze(loaded.cluster);
    let report = exposure(&analysis, &ExposureOptions::default());
    (analysis, report)
}

/// Each exposure as `pod port/PROTO via KIND ns/name reachable|denied`, sorted.
fn lines(analysis: &Analysis, report: &ExposureReport) -> BTreeSet<String> {
    report
        .exposures
        .iter()
        .map(|e| {
            let pod = if report.abstract_controller == Some(e.pod) { "?".to_string() } else { analysis.id(e.pod) };
            format!(
                "{pod} {}/{} via {} {} {}",
                e.port,
                e.protocol.as_str(),
                e.via.kind.as_str(),
                e.via.name,
                if e.reachable() { "reachable" } else { "denied" }
            )
        })
        .collect()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Expected {
    pod: String,
    port: String,
    via: String,
    entry_port: Option<u16>,
    reachable: bool,
    admitted_from: Vec<String>,
    /// Who outside can enter (the last hop's client set): null for anyone.
    clients: Option<Vec<String>>,
    why: String,
}

/// The exposures of a fixture folder with `options` are exactly the hand-worked ones of
/// `fixtures/expectations/<expectations>`: the report, for more checks.
fn assert_hand_worked(folder: &str, expectations: &str, options: &ExposureOptions) -> (Analysis, ExposureReport) {
    let loaded = load(&[Input::Path(fixtures().join(folder))]).unwrap();
    assert!(loaded.report.warnings.is_empty(), "{:?}", loaded.report.warnings);
    let analysis = analyze(loaded.cluster);
    let report = exposure(&analysis, options);
    let text = std::fs::read_to_string(fixtures().join("expectations").join(expectations)).unwrap();
    let expected: Vec<Expected> = serde_json::from_str(&text).unwrap();
    assert_eq!(report.exposures.len(), expected.len(), "{:#?}", lines(&analysis, &report));
    let ids = |v: &[usize]| v.iter().map(|&s| analysis.id(s)).collect::<Vec<String>>();
    for want in &expected {
        let found = report
            .exposures
            .iter()
            .find(|e| {
                analysis.id(e.pod) == want.pod
                    && format!("{}/{}", e.port, e.protocol.as_str()) == want.port
                    && format!("{} {}", e.via.kind.as_str(), e.via.name) == want.via
            })
            .unwrap_or_else(|| panic!("missing {} {} via {} ({})", want.pod, want.port, want.via, want.why));
        assert_eq!(found.entry_port, want.entry_port, "{}: {}", want.pod, want.why);
        assert_eq!(found.reachable(), want.reachable, "{} via {}: {}", want.pod, want.via, want.why);
        let last = found.hops.last().unwrap();
        assert_eq!(ids(&last.admitted_from), want.admitted_from, "{} via {}: {}", want.pod, want.via, want.why);
        assert_eq!(last.clients.as_deref().map(ids), want.clients, "{} via {}: {}", want.pod, want.via, want.why);
    }
    (analysis, report)
}

#[test]
fn fixture_exposures_are_the_hand_worked_ones_and_no_others() {
    let (_, report) = assert_hand_worked("exposure", "exposure/expected.json", &ExposureOptions::default());
    // What could not be followed is said, not dropped.
    let notes = report.notes.join("\n");
    assert!(notes.contains("Service payments/pay is in another namespace and no ReferenceGrant"), "{notes}");
    assert!(notes.contains("TCPRoute edge/db") && notes.contains("Service shop/db is in another namespace"), "{notes}");
    assert!(notes.contains("endpoint 10.9.9.9 is not a pod"), "{notes}");
}

#[test]
fn load_balancer_source_ranges_narrow_who_enters_under_both_traffic_policies() {
    // Hand-worked: Cluster and Local, each with and without loadBalancerSourceRanges, each with a
    // backend admitting the node (10.0.0.0/24) and one admitting the allowed clients.
    let (analysis, report) = assert_hand_worked(
        "exposure-source-ranges",
        "exposure-source-ranges/expected.json",
        &ExposureOptions::default(),
    );
    // Under Cluster the hop says both: the node address the pod sees, and who may enter.
    let ranged = report.exposures.iter().find(|e| analysis.id(e.pod) == "lb/cr-nodes").unwrap();
    let source = &ranged.hops[0].source;
    assert!(
        source.starts_with("a node address")
            && source.contains("only clients within loadBalancerSourceRanges 198.51.100.0/24 enter"),
        "{source}"
    );
    let mut text = Vec::new();
    netreach::exposure::write_exposure(&analysis, &report, netreach::render::Format::Text, &mut text).unwrap();
    let text = String::from_utf8(text).unwrap();
    assert!(
        text.contains("enter), entered by clients in external:198.51.100.0/24: admitted from external:10.0.0.0/24"),
        "{text}"
    );
    // A dataplane that keeps the client under Cluster: the ranges then narrow what the pod sees too.
    let client = ExposureOptions { cluster_source: netreach::exposure::ClusterSource::Client, ..Default::default() };
    assert_hand_worked("exposure-source-ranges", "exposure-source-ranges/expected-cluster-source-client.json", &client);
}

#[test]
fn ingress_and_gateway_hops_name_the_controller_and_what_it_sees() {
    let loaded = load(&[Input::Path(fixtures().join("exposure"))]).unwrap();
    let analysis = analyze(loaded.cluster);
    let report = exposure(&analysis, &ExposureOptions::default());
    let ingress = report.exposures.iter().find(|e| e.via.name == "shop/shop").unwrap();
    assert_eq!(ingress.hops.len(), 2);
    let ids = |v: &[usize]| v.iter().map(|&e| analysis.id(e)).collect::<Vec<_>>();
    assert_eq!(ids(&ingress.hops[0].to), ["ingress-nginx/controller-0"]);
    assert!(ingress.hops[1].source.contains("controller"), "{}", ingress.hops[1].source);
    let lb = report.exposures.iter().find(|e| e.via.name == "shop/web").unwrap();
    assert!(lb.hops[0].source.contains("loadBalancerSourceRanges 198.51.100.0/24"), "{}", lb.hops[0].source);
    let nodeport = report.exposures.iter().find(|e| e.via.name == "shop/api").unwrap();
    assert!(nodeport.hops[0].source.contains("node address"), "{}", nodeport.hops[0].source);
}

const NAMED_PORTS: &str = r#"
apiVersion: v1
kind: Pod
metadata: {name: a, namespace: app, labels: {app: multi}}
spec: {containers: [{name: c, image: i, ports: [{name: http, containerPort: 8080}]}]}
---
apiVersion: v1
kind: Pod
metadata: {name: b, namespace: app, labels: {app: multi}}
spec: {containers: [{name: c, image: i, ports: [{name: http, containerPort: 9090}]}]}
---
apiVersion: v1
kind: Pod
metadata: {name: c, namespace: app, labels: {app: multi}}
spec: {containers: [{name: c, image: i, ports: [{name: metrics, containerPort: 7070}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: multi, namespace: app}
spec:
  type: NodePort
  selector: {app: multi}
  ports: [{port: 80, targetPort: http}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: only-9090, namespace: app}
spec:
  podSelector: {}
  ingress: [{ports: [{port: 9090}]}]
"#;

#[test]
fn a_named_target_port_resolves_per_pod_and_pods_without_it_are_no_backend() {
    let (analysis, report) = report_of(NAMED_PORTS);
    let got = lines(&analysis, &report);
    let want: BTreeSet<String> = [
        // a's http is 8080, which only-9090 does not admit; b's http is 9090.
        "app/a 8080/TCP via NodePort app/multi denied",
        "app/b 9090/TCP via NodePort app/multi reachable",
    ]
    .map(String::from)
    .into();
    assert_eq!(got, want);
    assert!(
        report.notes.iter().any(|n| n.contains("pod app/c has no TCP container port named \"http\"")),
        "{:?}",
        report.notes
    );
    assert_eq!(report.exposures[0].entry_port, None, "no nodePort in the manifest: the API server allocates it");
}

const ABSTRACT: &str = r#"
apiVersion: v1
kind: Pod
metadata: {name: open-0, namespace: web, labels: {app: open}}
spec: {containers: [{name: c, image: i, ports: [{containerPort: 8080}]}]}
---
apiVersion: v1
kind: Pod
metadata: {name: closed-0, namespace: web, labels: {app: closed}}
spec: {containers: [{name: c, image: i, ports: [{containerPort: 8080}]}]}
---
apiVersion: v1
kind: Pod
metadata: {name: router-0, namespace: routers, labels: {app: router}}
spec: {containers: [{name: c, image: i, ports: [{containerPort: 80}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: open, namespace: web}
spec: {selector: {app: open}, ports: [{port: 80, targetPort: 8080}]}
---
apiVersion: v1
kind: Service
metadata: {name: closed, namespace: web}
spec: {selector: {app: closed}, ports: [{port: 80, targetPort: 8080}]}
---
# open admits the ingress controller's namespace, closed only namespace routers.
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: open, namespace: web}
spec:
  podSelector: {matchLabels: {app: open}}
  ingress: [{from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: ingress-nginx}}}]}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: closed, namespace: web}
spec:
  podSelector: {matchLabels: {app: closed}}
  ingress: [{from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: routers}}}]}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: site, namespace: web}
spec:
  rules:
  - http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: open, port: {number: 80}}}}
      - {path: /admin, pathType: Prefix, backend: {service: {name: closed, port: {number: 80}}}}
"#;

#[test]
fn without_a_controller_pod_the_abstract_ingress_controller_stands_for_it() {
    let (analysis, report) = report_of(ABSTRACT);
    let got = lines(&analysis, &report);
    let want: BTreeSet<String> =
        ["web/closed-0 8080/TCP via Ingress web/site denied", "web/open-0 8080/TCP via Ingress web/site reachable"]
            .map(String::from)
            .into();
    assert_eq!(got, want);
    let first = &report.exposures[0].hops[0];
    assert_eq!(first.to, report.abstract_controller.into_iter().collect::<Vec<_>>());
    assert!(report.notes.iter().any(|n| n.contains("{ingress-controller}")), "{:?}", report.notes);
}

#[test]
fn ingress_controller_flag_names_the_controller_pods() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("abstract.yaml");
    std::fs::write(&file, ABSTRACT).unwrap();
    let file = file.to_str().unwrap();
    let out = netreach(&["exposure", file, "--ingress-controller", "ns:routers", "-o", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let reachable: Vec<(&str, bool)> = json["exposures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["pod"].as_str().unwrap(), e["reachable"].as_bool().unwrap()))
        .collect();
    // routers-0 is the controller now: closed admits namespace routers, open does not.
    assert_eq!(reachable, [("web/closed-0", true), ("web/open-0", false)]);
    assert_eq!(json["exposures"][0]["hops"][0]["to"][0], "routers/router-0");
    let out = netreach(&["exposure", file, "--ingress-controller", "ns:nowhere"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
}

#[test]
fn exposure_json_follows_its_schema_in_every_format_run() {
    let path = fixtures().join("exposure");
    let path = path.to_str().unwrap();
    let out = netreach(&["exposure", path, "-o", "json"]);
    assert_eq!(out.status.code(), Some(0));
    let value: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    validate(&schema(SchemaCommand::Exposure), &value).unwrap();
    assert_eq!(value["schemaVersion"], 1);
    assert_eq!(value["exposures"].as_array().unwrap().len(), 11);
    let kinds: BTreeSet<&str> =
        value["exposures"].as_array().unwrap().iter().map(|e| e["via"]["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        ["ExternalIP", "Gateway", "HostNetwork", "HostPort", "Ingress", "LoadBalancer", "NodePort"].into()
    );
    for format in ["text", "md"] {
        let out = netreach(&["exposure", path, "-o", format]);
        assert_eq!(out.status.code(), Some(0));
        assert!(stdout(&out).contains("shop/web-0"), "{format}");
    }
    let reachable = netreach(&["exposure", path, "--reachable-only", "-o", "json"]);
    let value: serde_json::Value = serde_json::from_str(&stdout(&reachable)).unwrap();
    assert_eq!(value["exposures"].as_array().unwrap().len(), 9);
}

#[test]
fn realworld_ingress_set_reaches_details_through_the_abstract_controller() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/realworld/npa-k8s-ingress-test");
    if !dir.is_dir() {
        eprintln!("exposure: SKIPPED: {} not found", dir.display());
        return;
    }
    let loaded = load(&[Input::Path(dir)]).unwrap();
    let (analysis, report) = {
        let analysis = analyze(loaded.cluster);
        let report = exposure(&analysis, &ExposureOptions::default());
        (analysis, report)
    };
    // k8s_ingress_policies.yaml: Ingress testcase26-ingress-policy (class nginx) routes /details to
    // Service details port 9080; no NetworkPolicy in the set, no controller pod in pods.yaml.
    let got = lines(&analysis, &report);
    let want: BTreeSet<String> =
        ["default/details-v1-79f774bdb9-tw7sj 9080/TCP via Ingress default/testcase26-ingress-policy reachable"]
            .map(String::from)
            .into();
    assert_eq!(got, want);
    // The NodePort Service ingress-nginx/ingress-nginx-controller selects no pod of the set: said.
    assert!(report.notes.iter().any(|n| n.contains("ingress-nginx/ingress-nginx-controller")), "{:?}", report.notes);
}

fn write_temp(text: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cluster.yaml");
    std::fs::write(&file, text).unwrap();
    let file = file.to_str().unwrap().to_string();
    (dir, file)
}

const CLIENT: &str = r#"
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: app, labels: {role: client}}
spec: {containers: [{name: c, image: i}]}
"#;

#[test]
fn can_to_a_service_maps_its_port_to_each_backing_pods_target_port() {
    let (_dir, file) = write_temp(&format!("{NAMED_PORTS}{CLIENT}"));
    // Port 80 is http: 8080 on a (only-9090 denies it), 9090 on b (admitted): one pod reached, exit 0.
    let out = netreach(&["can", "app/client", "app/Service/multi", "--port", "80", &file]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let text = stdout(&out);
    assert!(text.contains("targetPort 8080") && text.contains("targetPort 9090"), "{text}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("pod app/c has no TCP container port named"));
    // A port the Service does not expose is an error naming the ones it does.
    let out = netreach(&["can", "app/client", "app/svc/multi", "--port", "8080", &file]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Service app/multi has no port 8080/TCP: it has ports 80/TCP"), "{err}");
    assert!(out.stdout.is_empty());
    // Several target ports are one JSON answer: the Service port, every target port's verdicts,
    // and which pods receive it on which port.
    let out = netreach(&["can", "app/client", "app/Service/multi", "--port", "80", "-o", "json", &file]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!((doc["port"].as_u64(), doc["allowed"].as_bool()), (Some(80), Some(true)), "{doc}");
    let targets: Vec<(u64, bool)> = doc["targetPorts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["targetPort"].as_u64().unwrap(), t["allowed"].as_bool().unwrap()))
        .collect();
    assert_eq!(targets, [(8080, false), (9090, true)], "{doc}");
    assert_eq!(doc["verdicts"].as_array().unwrap().len(), 2, "{doc}");
    validate(&schema(SchemaCommand::Can), &doc).unwrap_or_else(|e| panic!("can -o json breaks its schema:\n{e}"));
}

#[test]
fn can_to_a_service_whose_backends_all_deny_exits_1() {
    let denied = NAMED_PORTS.replace("ports: [{port: 9090}]", "ports: [{port: 1}]");
    let (_dir, file) = write_temp(&format!("{denied}{CLIENT}"));
    let out = netreach(&["can", "app/client", "app/Service/multi", "--port", "80/TCP", &file]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
}

#[test]
fn a_service_selects_its_backing_pods_wherever_a_selector_is_taken() {
    let loaded = load(&[Input::Path(fixtures().join("exposure"))]).unwrap();
    let analysis = analyze(loaded.cluster);
    let ids = |text: &str| -> Vec<String> {
        netreach::select::EndpointSelector::parse(text)
            .unwrap()
            .resolve(&analysis)
            .unwrap()
            .into_iter()
            .map(|e| analysis.id(e))
            .collect()
    };
    assert_eq!(ids("shop/Service/web"), ["shop/web-0"]);
    // No selector: the EndpointSlice's targetRef.
    assert_eq!(ids("payments/svc/legacy"), ["payments/pay-0"]);
    let missing =
        netreach::select::EndpointSelector::parse("shop/Service/wbe").unwrap().resolve(&analysis).unwrap_err();
    assert!(missing.to_string().contains("shop/Service/web"), "{missing}");
}

#[test]
fn cluster_source_client_says_the_dataplane_keeps_the_client() {
    let loaded = load(&[Input::Path(fixtures().join("exposure"))]).unwrap();
    let analysis = analyze(loaded.cluster);
    let options = ExposureOptions { cluster_source: netreach::exposure::ClusterSource::Client, ..Default::default() };
    let report = exposure(&analysis, &options);
    let api = report.exposures.iter().find(|e| e.via.name == "shop/api").unwrap();
    assert!(api.hops[0].source.contains("--cluster-source client"), "{}", api.hops[0].source);
    // The client may be anywhere outside: api-ingress still admits only 10.0.0.0/24 of it.
    assert_eq!(api.hops[0].admitted_from.iter().map(|&e| analysis.id(e)).collect::<Vec<_>>(), ["external:10.0.0.0/24"]);
}
