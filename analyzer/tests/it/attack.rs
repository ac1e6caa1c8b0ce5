//! Attack paths (`netreach paths` following posture, tokens and RBAC) on fixtures/attack, each
//! folder worked out by hand in its README.md.

use crate::support::{netreach, stderr, stdout};
use serde_json::Value;

/// `paths ARGS -o json -q` on fixture inputs, parsed; exit 0 asserted.
fn paths(args: &[&str]) -> Value {
    let out = netreach(&[&["paths"], args, &["-o", "json", "-q"]].concat());
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    serde_json::from_str(&stdout(&out)).unwrap()
}

/// The hops to `target` as (kind, from, to), or `None` when it is not reached.
fn hops(doc: &Value, target: &str) -> Option<Vec<(String, String, String)>> {
    let path = doc["paths"].as_array().unwrap().iter().find(|p| p["target"] == target)?;
    Some(
        path["hops"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| {
                (
                    h["kind"].as_str().unwrap().into(),
                    h["from"].as_str().unwrap().into(),
                    h["to"].as_str().unwrap().into(),
                )
            })
            .collect(),
    )
}

fn hop(kind: &str, from: &str, to: &str) -> (String, String, String) {
    (kind.into(), from.into(), to.into())
}

fn reason(doc: &Value, target: &str, step: usize) -> String {
    let path = doc["paths"].as_array().unwrap().iter().find(|p| p["target"] == target).unwrap();
    path["hops"][step]["reason"].as_str().unwrap().to_string()
}

#[test]
fn privileged_pod_with_a_secret_reading_service_account() {
    let f = "attack/privileged";
    let doc = paths(&["--from", "shop/web", "--to", "nodes", f]);
    assert_eq!(hops(&doc, "node/node-1").unwrap(), [hop("escape", "shop/web", "node/node-1")]);
    assert!(reason(&doc, "node/node-1", 0).contains("privileged container"), "{doc}");
    assert!(reason(&doc, "node/node-1", 0).contains("KubeHound CE_PRIV_MOUNT"));
    let doc = paths(&["--from", "shop/web", "--to", "secrets/shop", f]);
    assert_eq!(
        hops(&doc, "secrets/shop").unwrap(),
        [hop("token", "shop/web", "sa/shop/reader"), hop("rbac", "sa/shop/reader", "secrets/shop")]
    );
    assert!(reason(&doc, "secrets/shop", 1).contains("Role shop/secret-reader via RoleBinding shop/reader"));
    let doc = paths(&["--from", "shop/web", "--to", "secret/shop/db-password", f]);
    assert_eq!(hops(&doc, "secret/shop/db-password").unwrap().len(), 2);
    let doc = paths(&["--from", "shop/web", "--to", "shop/db", f]);
    let network = &doc["paths"][0]["hops"][0];
    assert_eq!(
        (network["kind"].as_str(), network["protocol"].as_str(), network["port"].as_u64()),
        (Some("network"), Some("TCP"), Some(5432))
    );
    assert!(hops(&paths(&["--from", "shop/web", "--to", "cluster-admin", f]), "cluster-admin").is_none());
}

#[test]
fn api_server_denied_by_egress_policy_means_no_token_hop() {
    let f = "attack/egress-denied";
    for target in ["secrets/shop", "secret/shop/db-password", "nodes", "cluster-admin"] {
        let doc = paths(&["--from", "shop/web", "--to", target, "--max-hops", "10", f]);
        assert!(doc["paths"].as_array().unwrap().is_empty(), "{target}: {doc}");
    }
    // The same pod reaches the secrets once the policy is gone (the privileged fixture, 2 hops).
    let open = paths(&["--from", "shop/web", "--to", "secrets/shop", "attack/privileged"]);
    assert_eq!(hops(&open, "secrets/shop").unwrap()[0].0, "token");
}

#[test]
fn automount_false_on_the_pod_means_no_token_hop() {
    let f = "attack/no-automount";
    let doc = paths(&["--from", "shop/web", "--to", "secrets/shop", "--max-hops", "10", f]);
    assert!(doc["paths"].as_array().unwrap().is_empty(), "{doc}");
    // Still privileged: the node in one hop, but its own token is not on the node to steal.
    let doc = paths(&["--from", "shop/web", "--to", "nodes", f]);
    assert_eq!(hops(&doc, "node/node-1").unwrap(), [hop("escape", "shop/web", "node/node-1")]);
    let radius = &doc["blastRadius"][0];
    assert_eq!(radius["secrets"].as_array().unwrap().last().unwrap(), 0, "{radius}");
}

#[test]
fn create_pods_with_and_without_enforced_pod_security() {
    let whole = "attack/create-pods";
    let doc = paths(&["--from", "ci/runner", "--to", "nodes", whole]);
    assert_eq!(
        hops(&doc, "node/node-1").unwrap(),
        [hop("token", "ci/runner", "sa/ci/deployer"), hop("rbac", "sa/ci/deployer", "node/node-1")]
    );
    let why = reason(&doc, "node/node-1", 1);
    assert!(why.contains("privileged pod") && why.contains("RoleBinding dev/deployer"), "{why}");
    let doc = paths(&["--from", "ci/runner", "--to", "prod/app", whole]);
    assert_eq!(
        hops(&doc, "prod/app").unwrap(),
        [hop("token", "ci/runner", "sa/ci/deployer"), hop("rbac", "sa/ci/deployer", "prod/app")]
    );
    let doc = paths(&["--from", "ci/runner", "--to", "secrets/prod", whole]);
    assert_eq!(hops(&doc, "secrets/prod").unwrap().len(), 2);

    let prod_only = [
        "attack/create-pods/apiserver.yaml",
        "attack/create-pods/cluster.yaml",
        "attack/create-pods/prod-binding.yaml",
    ];
    let doc = paths(&[&["--from", "ci/runner", "--to", "nodes", "--max-hops", "10"], &prod_only[..]].concat());
    assert!(doc["paths"].as_array().unwrap().is_empty(), "restricted forbids the privileged pod: {doc}");
    let doc = paths(&[&["--from", "ci/runner", "--to", "secret/prod/prod-db"], &prod_only[..]].concat());
    assert_eq!(hops(&doc, "secret/prod/prod-db").unwrap().len(), 2);
}

#[test]
fn wildcard_cluster_role_cluster_wide_and_in_one_namespace() {
    let f = "attack/wildcard";
    let doc = paths(&["--from", "ops/tool", "--to", "cluster-admin", f]);
    assert_eq!(
        hops(&doc, "cluster-admin").unwrap(),
        [hop("token", "ops/tool", "sa/ops/admin"), hop("rbac", "sa/ops/admin", "cluster-admin")]
    );
    assert!(reason(&doc, "cluster-admin", 1).contains("* on *"));
    for target in ["secrets/other", "nodes"] {
        let doc = paths(&["--from", "ops/tool", "--to", target, f]);
        assert_eq!(doc["paths"][0]["hops"].as_array().unwrap().len(), 2, "{target}: {doc}");
    }
    // Bound in ops only: the namespace, then the network to a pod holding more (ties: fewest
    // non-network hops, so the network hop to ops/tool beats impersonating ops/admin).
    let doc = paths(&["--from", "ops/limited-tool", "--to", "cluster-admin", f]);
    assert_eq!(
        hops(&doc, "cluster-admin").unwrap(),
        [
            hop("network", "ops/limited-tool", "ops/tool"),
            hop("token", "ops/tool", "sa/ops/admin"),
            hop("rbac", "sa/ops/admin", "cluster-admin")
        ]
    );
    let doc = paths(&["--from", "ops/limited-tool", "--to", "secrets/ops", f]);
    assert_eq!(
        hops(&doc, "secrets/ops").unwrap(),
        [hop("token", "ops/limited-tool", "sa/ops/limited"), hop("rbac", "sa/ops/limited", "secrets/ops")]
    );
    let doc = paths(&["--from", "ops/tool", "--to", "cluster-admin", "--max-hops", "1", f]);
    assert!(doc["paths"].as_array().unwrap().is_empty(), "two hops are needed");
}

#[test]
fn blast_radius_counts_pods_nodes_secrets_and_identities() {
    let doc = paths(&["--from", "ops/tool", "--max-hops", "2", "attack/wildcard"]);
    let r = &doc["blastRadius"][0];
    // Hop 1: limited-tool (network) and sa/ops/admin (token). Hop 2: cluster-admin and through
    // it every node, namespace's Secrets and ServiceAccount (default, ops, other namespaces).
    assert_eq!(r["pods"], serde_json::json!([1, 1]), "{r}");
    assert_eq!(r["identities"][0], 1);
    assert_eq!(r["nodes"], serde_json::json!([0, 1]));
    assert_eq!(r["secrets"], serde_json::json!([0, 3]), "secrets/default, secrets/ops, secrets/other");
    assert_eq!(r["clusterAdmin"], 2);
}

#[test]
fn text_reads_like_a_story_and_network_only_keeps_the_old_answer() {
    let out = netreach(&["paths", "--from", "ops/tool", "--to", "cluster-admin", "attack/wildcard", "-q"]);
    let text = stdout(&out);
    assert!(text.contains("cluster-admin  2 hop(s):"), "{text}");
    assert!(text.contains("  1. ops/tool -[token]-> sa/ops/admin: uses its mounted ServiceAccount token"), "{text}");
    assert!(text.contains("  2. sa/ops/admin -[rbac]-> cluster-admin: * on * (ClusterRole everything via ClusterRoleBinding ops-admin)"), "{text}");
    // --network-only: today's answer, byte for byte, on a fixture without RBAC and with one.
    for (fixture, from) in [("small/lateral", "lat/a"), ("attack/wildcard", "ops/tool")] {
        for format in ["text", "json", "md"] {
            let old = netreach(&["paths", "--from", from, fixture, "--network-only", "-o", format]);
            let mut args = vec!["paths", "--from", from, fixture, "-o", format];
            if fixture == "small/lateral" {
                // Without RBAC objects the default is the network-only answer.
                let default = netreach(&args);
                assert_eq!(stdout(&default), stdout(&old), "{fixture} {format}");
            }
            args.push("--network-only");
            assert_eq!(stdout(&netreach(&args)), stdout(&old));
        }
    }
    let old = stdout(&netreach(&["paths", "--from", "ops/tool", "attack/wildcard", "--network-only", "-o", "json"]));
    assert!(!old.contains("\"mode\""), "{old}");
}

#[test]
fn attack_targets_that_name_nothing_are_errors() {
    let out = netreach(&["paths", "--from", "ops/tool", "--to", "node/nope", "attack/wildcard"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("node \"nope\" is not in the input"), "{}", stderr(&out));
    assert!(stdout(&out).is_empty());
    let out = netreach(&["paths", "--from", "ops/tool", "--to", "secrets/nowhere", "attack/wildcard"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("namespace \"nowhere\" is not in the input"));
}

/// The attack findings (NR3xx) of `audit FIXTURE -o json`, exit 0 asserted.
fn attack_findings(fixture: &str) -> Vec<Value> {
    let out = netreach(&["audit", fixture, "-o", "json", "-q"]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    let doc: Value = serde_json::from_str(&stdout(&out)).unwrap();
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["id"].as_str().unwrap().starts_with("NR3"))
        .cloned()
        .collect()
}

fn finding<'f>(findings: &'f [Value], id: &str) -> &'f Value {
    findings.iter().find(|f| f["id"] == id).unwrap_or_else(|| panic!("no {id} in {findings:#?}"))
}

fn ids(findings: &[Value]) -> Vec<&str> {
    findings.iter().map(|f| f["id"].as_str().unwrap()).collect()
}

#[test]
fn audit_names_the_internet_paths_to_a_node_and_to_secrets() {
    // fixtures/attack/privileged: the internet reaches shop/web (no ingress policy), which is
    // privileged (node-1 in 2 steps) and mounts ServiceAccount reader's token, which reads the
    // Secrets of shop (3 steps). No cluster-admin grant, no other namespace with pods.
    let findings = attack_findings("attack/privileged");
    assert_eq!(ids(&findings), ["NR302", "NR303"], "{findings:#?}");
    let node = finding(&findings, "NR302")["message"].as_str().unwrap().to_string();
    assert!(
        node.contains("1 node(s) are reachable, node/node-1 nearest, from outside the cluster in 2 step(s)"),
        "{node}"
    );
    assert!(node.contains("-[network]-> shop/web"), "{node}");
    assert!(
        node.contains("last shop/web -[escape]-> node/node-1 (escapes to its node: privileged container"),
        "{node}"
    );
    let secrets = finding(&findings, "NR303");
    assert_eq!(secrets["namespace"], "shop");
    let message = secrets["message"].as_str().unwrap();
    assert!(message.contains("in 3 step(s)"), "{message}");
    assert!(message.contains("last sa/shop/reader -[rbac]-> secrets/shop"), "{message}");
    let fix = secrets["fix"].as_str().unwrap();
    // The first step enters through LoadBalancer shop/web (service.yaml): the fix names it.
    assert!(fix.contains("stop publishing shop/web through LoadBalancer shop/web"), "{fix}");
    assert!(fix.contains("take the grant from sa/shop/reader"), "{fix}");
}

#[test]
fn audit_finds_no_attack_path_where_the_token_cannot_reach_the_api_server() {
    // fixtures/attack/egress-denied: web is not privileged and its egress is DNS only.
    assert_eq!(ids(&attack_findings("attack/egress-denied")), Vec::<&str>::new());
    // Without RBAC objects the attack checks do not run, as `paths` stays network-only.
    assert_eq!(ids(&attack_findings("small/lateral")), Vec::<&str>::new());
}

#[test]
fn audit_names_the_internet_path_to_cluster_admin_and_the_mounted_admin_token() {
    // fixtures/attack/wildcard: ops/tool mounts sa/ops/admin's token, bound to `*` on `*`
    // by a ClusterRoleBinding: internet -> ops/tool -> sa/ops/admin -> cluster-admin.
    let findings = attack_findings("attack/wildcard");
    let admin = finding(&findings, "NR301")["message"].as_str().unwrap().to_string();
    assert!(admin.contains("cluster-admin is reachable from outside the cluster in 3 step(s)"), "{admin}");
    assert!(admin.contains("-[network]-> ops/tool"), "{admin}");
    assert!(admin.contains("last sa/ops/admin -[rbac]-> cluster-admin"), "{admin}");
    let mounted: Vec<&Value> = findings.iter().filter(|f| f["id"] == "NR304").collect();
    assert_eq!(mounted.len(), 1, "sa/ops/limited is bound by a RoleBinding: not cluster-admin");
    let message = mounted[0]["message"].as_str().unwrap();
    assert!(
        message.starts_with("1 pod(s) mount the token of ServiceAccount ops/admin, which is cluster-admin"),
        "{message}"
    );
    assert_eq!(mounted[0]["objects"][0]["name"], "tool");
}

#[test]
fn audit_flags_an_escaping_pod_other_namespaces_reach() {
    let findings = attack_findings("attack/cross-namespace");
    let escapes: Vec<&Value> = findings.iter().filter(|f| f["id"] == "NR305").collect();
    assert_eq!(escapes.len(), 1, "b/guarded takes ingress from b only: {findings:#?}");
    let message = escapes[0]["message"].as_str().unwrap();
    assert!(message.starts_with("b/agent can take its node (privileged container"), "{message}");
    assert!(message.contains("pods of 1 other namespace(s) (a) reach it"), "{message}");
    assert!(message.contains("first a/client -[network]-> b/agent, last b/agent -[escape]-> node/node-1"), "{message}");
    assert!(ids(&findings).contains(&"NR302") && !ids(&findings).contains(&"NR301"), "{findings:#?}");
}
