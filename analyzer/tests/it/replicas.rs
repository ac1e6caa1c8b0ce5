//! Controllers without live pods stand for `spec.replicas` pods (README "Inputs"): counts,
//! names, limits, and that replicas cost the engine no classes.

use netreach::load::load_str;
use netreach::model::EngineOptions;
use netreach::Analysis;

fn deployment(name: &str, replicas: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {name}, namespace: ns}}\nspec:\n{replicas}  selector: {{matchLabels: {{app: {name}}}}}\n  template:\n    metadata: {{labels: {{app: {name}}}}}\n    spec:\n      containers: [{{name: c, image: i, ports: [{{containerPort: 80}}]}}]\n"
    )
}

const POLICIES: &str = "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny, namespace: ns}\nspec: {podSelector: {}, policyTypes: [Ingress]}\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: web-from-client, namespace: ns}\nspec:\n  podSelector: {matchLabels: {app: web}}\n  ingress: [{from: [{podSelector: {matchLabels: {app: client}}}], ports: [{port: 80}]}]\n";

fn classes(replicas: u32) -> (usize, usize) {
    let text = deployment("web", &format!("  replicas: {replicas}\n"))
        + "---\n"
        + &deployment("client", &format!("  replicas: {replicas}\n"))
        + POLICIES;
    let loaded = load_str("t.yaml", &text).unwrap();
    let pods = loaded.cluster.pods.len();
    (pods, Analysis::new(loaded.cluster, &EngineOptions::default()).reach.class_count())
}

#[test]
fn replicas_share_one_class() {
    // web, client, and the internet: 3 classes whether each workload runs 1 pod or 50.
    assert_eq!(classes(1), (2, 3));
    assert_eq!(classes(50), (100, 3));
}

#[test]
fn unset_replicas_default_to_one_and_zero_gives_a_note() {
    let loaded = load_str("t.yaml", &(deployment("a", "") + "---\n" + &deployment("b", "  replicas: 0\n"))).unwrap();
    let ids: Vec<String> = loaded.cluster.pods.iter().map(|p| p.id()).collect();
    assert_eq!(ids, ["ns/a"]);
    assert_eq!(loaded.report.notes()[0], "Deployment ns/b scaled to 0 (spec.replicas is 0): no pod");
}

#[test]
fn replicas_are_capped_with_a_warning() {
    let loaded = load_str("t.yaml", &deployment("big", "  replicas: 2000000000\n")).unwrap();
    assert_eq!(loaded.cluster.pods.len(), 1000);
    assert_eq!(loaded.cluster.pods.last().unwrap().name, "big-999");
    assert_eq!(loaded.report.warnings.len(), 1);
    assert!(
        loaded.report.warnings[0].contains("Deployment ns/big: spec.replicas is 2000000000: only 1000 pods"),
        "{:?}",
        loaded.report.warnings
    );
}

#[test]
fn negative_replicas_are_an_error() {
    let Err(err) = load_str("t.yaml", &deployment("bad", "  replicas: -1\n")) else { panic!("loaded") };
    let err = err.to_string();
    assert!(
        err.contains("Deployment ns/bad")
            && err.contains("spec.replicas")
            && err.contains("greater than or equal to 0"),
        "{err}"
    );
}

#[test]
fn names_taken_by_live_pods_move_aside() {
    let live = "---\napiVersion: v1\nkind: Pod\nmetadata: {name: web-2, namespace: ns}\nspec: {containers: [{name: c, image: i}]}\n";
    let loaded = load_str("t.yaml", &(deployment("web", "  replicas: 2\n") + live)).unwrap();
    let ids: Vec<String> = loaded.cluster.pods.iter().map(|p| p.id()).collect();
    assert_eq!(ids, ["ns/web-2", "ns/web-deployment-1", "ns/web-deployment-2"]);
}

#[test]
fn statefulset_and_job_counts() {
    let sts = "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: db, namespace: ns}\nspec:\n  serviceName: db\n  selector: {matchLabels: {app: db}}\n  template:\n    metadata: {labels: {app: db}}\n    spec: {containers: [{name: c, image: i}]}\n";
    let job = "---\napiVersion: batch/v1\nkind: Job\nmetadata: {name: j, namespace: ns}\nspec:\n  parallelism: 3\n  template:\n    spec: {restartPolicy: Never, containers: [{name: c, image: i}]}\n";
    let loaded = load_str("t.yaml", &(sts.to_string() + job)).unwrap();
    let ids: Vec<String> = loaded.cluster.pods.iter().map(|p| p.id()).collect();
    // replicas unset: one StatefulSet pod, ordinal 0; parallelism 3 without completions: 3 pods.
    assert_eq!(ids, ["ns/db-0", "ns/j-1", "ns/j-2", "ns/j-3"]);
}

#[test]
fn daemonset_without_nodes_is_one_pod_with_every_node_address_when_host_network() {
    let ds = "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: agent, namespace: ns}\nspec:\n  selector: {matchLabels: {app: agent}}\n  template:\n    metadata: {labels: {app: agent}}\n    spec: {hostNetwork: true, containers: [{name: c, image: i}]}\n";
    let loaded = load_str("t.yaml", ds).unwrap();
    assert_eq!(loaded.cluster.pods.len(), 1);
    assert_eq!((loaded.cluster.pods[0].name.as_str(), loaded.cluster.pods[0].node.as_deref()), ("agent", None));
}
