//! Every class of bad input gives an error that names the file, document, object and field.
//! Each case's run is also frozen whole (exit code, stdout, stderr) in `snapshots/`, with the
//! input as the snapshot's description; the substring checks say what the message must mean.

use crate::support::{assert_run_snapshot, netreach_stdin, run_report};
use netreach::load::load_str;
use std::process::Output;

/// Loads `yaml` and returns the error message, failing the test if it loaded, and snapshots the
/// binary's run on it. The binary must exit 2 with the same message and print nothing on stdout.
/// A macro so that insta names the snapshots after the calling test.
macro_rules! error_of {
    ($yaml:expr) => {{
        let yaml: &str = $yaml;
        let (message, run) = checked_error(yaml);
        insta::with_settings!({ description => yaml }, { assert_run_snapshot!(run) });
        message
    }};
}

fn checked_error(yaml: &str) -> (String, Output) {
    let message = match load_str("input.yaml", yaml) {
        Ok(_) => panic!("expected an error for:\n{yaml}"),
        Err(e) => e.to_string(),
    };
    let out = netreach_stdin(&["connectivity", "-", "-o", "json"], yaml);
    assert_eq!(out.status.code(), Some(2), "exit code for:\n{yaml}\n{}", run_report(&out));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8(out.stderr.clone()).unwrap();
    assert_eq!(stderr.trim_end(), format!("error: {}", message.replace("input.yaml", "<stdin>")));
    (message, out)
}

fn policy(spec: &str) -> String {
    format!(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: p\n  namespace: ns\nspec:\n{spec}"
    )
}

#[track_caller]
fn assert_names(message: &str, parts: &[&str]) {
    for part in parts {
        assert!(message.contains(part), "{message:?} does not mention {part:?}");
    }
}

#[test]
fn invalid_cidr_names_the_field() {
    let msg = error_of!(&policy("  podSelector: {}\n  egress:\n  - to:\n    - ipBlock:\n        cidr: 10.0.0.0/33\n"));
    assert_names(
        &msg,
        &["input.yaml: document 1", "NetworkPolicy ns/p", "spec.egress[0].to[0].ipBlock.cidr", "10.0.0.0/33"],
    );
    let msg = error_of!(&policy("  podSelector: {}\n  ingress:\n  - from:\n    - ipBlock:\n        cidr: 10.0.0.0/8\n        except: [10.1.0.0/16, nonsense]\n"));
    assert_names(&msg, &["spec.ingress[0].from[0].ipBlock.except[1]", "nonsense"]);
}

#[test]
fn unknown_selector_operator() {
    let msg =
        error_of!(&policy("  podSelector:\n    matchExpressions:\n    - {key: app, operator: Maybe, values: [x]}\n"));
    assert_names(&msg, &["spec.podSelector.matchExpressions[0]", "unknown operator \"Maybe\""]);
    let msg = error_of!(&policy("  podSelector:\n    matchExpressions:\n    - {key: app, operator: In}\n"));
    assert_names(&msg, &["spec.podSelector.matchExpressions[0]", "needs at least one value"]);
}

#[test]
fn wrong_types_name_the_path() {
    let msg = error_of!(&policy("  podSelector: \"app=web\"\n"));
    assert_names(&msg, &["NetworkPolicy ns/p", "spec.podSelector", "invalid type"]);
    let msg = error_of!(&policy("  podSelector: {}\n  ingress:\n  - ports:\n    - port: [80]\n"));
    assert_names(&msg, &["spec.ingress[0].ports[0].port"]);
}

#[test]
fn invalid_ports() {
    let msg = error_of!(&policy("  podSelector: {}\n  ingress:\n  - ports:\n    - port: 0\n"));
    assert_names(&msg, &["spec.ingress[0].ports[0].port", "0 is not a valid port"]);
    let msg = error_of!(&policy("  podSelector: {}\n  ingress:\n  - ports:\n    - {port: 90, endPort: 80}\n"));
    assert_names(&msg, &["spec.ingress[0].ports[0].endPort", "below port 90"]);
    let msg = error_of!(&policy("  podSelector: {}\n  ingress:\n  - ports:\n    - {port: http, endPort: 80}\n"));
    assert_names(&msg, &["endPort needs a numeric port"]);
    let msg = error_of!(&policy("  podSelector: {}\n  egress:\n  - ports:\n    - {port: 53, protocol: ICMP}\n"));
    assert_names(&msg, &["spec.egress[0].ports[0].protocol", "ICMP"]);
}

#[test]
fn invalid_peers_and_policy_types() {
    let msg = error_of!(&policy(
        "  podSelector: {}\n  ingress:\n  - from:\n    - ipBlock: {cidr: 10.0.0.0/8}\n      podSelector: {}\n",
    ));
    assert_names(&msg, &["spec.ingress[0].from[0]", "cannot be combined"]);
    let msg = error_of!(&policy("  podSelector: {}\n  ingress:\n  - from:\n    - {}\n"));
    assert_names(&msg, &["spec.ingress[0].from[0]", "needs podSelector, namespaceSelector or ipBlock"]);
    let msg = error_of!(&policy("  podSelector: {}\n  policyTypes: [Ingress, Sideways]\n"));
    assert_names(&msg, &["spec.policyTypes[1]", "Sideways"]);
}

#[test]
fn missing_required_fields_are_named() {
    let msg = error_of!("apiVersion: v1\nkind: Pod\nmetadata:\n  namespace: ns\nspec:\n  containers: []\n");
    assert_names(&msg, &["document 1", "Pod ns/", "metadata.name", "missing"]);
    let msg = error_of!("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: p\n");
    assert_names(&msg, &["NetworkPolicy default/p", "field spec", "missing"]);
    let msg = error_of!(&policy("  podSelector: {}\n  egress:\n  - to:\n    - ipBlock: {except: [10.0.0.0/24]}\n"));
    assert_names(&msg, &["spec.egress[0].to[0].ipBlock.cidr", "invalid CIDR"]);
}

#[test]
fn bad_addresses_in_pods() {
    let msg = error_of!("apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: ns}\nspec:\n  containers: [{name: c}]\nstatus:\n  podIP: 10.0.0.300\n");
    assert_names(&msg, &["Pod ns/a", "status.podIP", "not an IP address"]);
}

/// Like `kubectl apply`, the later definition wins, with a warning naming both places;
/// `--strict` (for CI) makes it an error.
#[test]
fn duplicates_name_both_places() {
    let two = format!("{}---\n{}", policy("  podSelector: {}\n"), policy("  podSelector: {matchLabels: {app: web}}\n"));
    let loaded = load_str("input.yaml", &two).unwrap();
    assert_eq!(loaded.cluster.policies.len(), 1);
    assert!(!loaded.cluster.policies[0].pod_selector.is_everything(), "the later definition is the one used");
    assert_eq!(loaded.report.warnings.len(), 1);
    assert_names(
        &loaded.report.warnings[0],
        &[
            "NetworkPolicy ns/p is defined twice, at input.yaml: document 1 and at input.yaml: document 2",
            "the later one is used",
            "--strict",
        ],
    );

    let out = netreach_stdin(&["connectivity", "-", "--strict"], &two);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8(out.stderr.clone()).unwrap();
    assert_names(
        &stderr,
        &["error: <stdin>: document 2: NetworkPolicy ns/p is defined twice (first at <stdin>: document 1)"],
    );
    insta::with_settings!({ description => two.as_str() }, { assert_run_snapshot!(out) });
}

#[test]
fn syntax_errors_give_the_line() {
    let msg = error_of!("apiVersion: v1\nkind: Pod\nmetadata: {name: a\n");
    assert_names(&msg, &["input.yaml", "invalid YAML", "line"]);
    let msg = error_of!("{\"apiVersion\": \"v1\", \"kind\": \"Pod\",}");
    assert_names(&msg, &["input.yaml", "invalid JSON", "line 1"]);
}

#[test]
fn lists_nest_and_typed_list_items_inherit_their_kind() {
    let json = r#"{"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "v1", "kind": "PodList", "items": [
            {"metadata": {"name": "a", "namespace": "ns"}, "spec": {"containers": [{"name": "c"}]}}
        ]},
        {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    ]}"#;
    let loaded = load_str("list.json", json).unwrap();
    assert_eq!(loaded.cluster.pods.len(), 1);
    assert_eq!(loaded.report.skipped.get("Widget (example.com/v1)"), Some(&1));
    assert_eq!(loaded.report.undefined_namespaces, vec!["ns".to_string()]);
    let ns = &loaded.cluster.namespaces[0];
    assert_eq!(ns.labels.get("kubernetes.io/metadata.name").map(String::as_str), Some("ns"));
}

#[test]
fn misplaced_except_is_a_warning_not_an_error() {
    let yaml =
        policy("  podSelector: {}\n  egress:\n  - to:\n    - ipBlock: {cidr: 10.2.0.0/16, except: [10.0.0.0/24]}\n");
    let loaded = load_str("p.yaml", &yaml).unwrap();
    assert_eq!(loaded.report.warnings.len(), 1);
    assert_names(
        &loaded.report.warnings[0],
        &["p.yaml: document 1", "NetworkPolicy ns/p", "spec.egress[0].to[0].ipBlock.except", "10.0.0.0/24"],
    );
    let out = netreach_stdin(&["connectivity", "-"], &yaml);
    assert_eq!(out.status.code(), Some(0), "{}", run_report(&out));
    insta::with_settings!({ description => yaml.as_str() }, { assert_run_snapshot!(out) });
}
