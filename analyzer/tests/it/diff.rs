//! `netreach diff`: hand-worked diffs on `fixtures/diff` (see fixtures/diff/README.md for the
//! cluster and the reasoning behind every expected entry), what-if apply/delete, exit codes,
//! and the Markdown output as a snapshot.

use crate::support::{assert_run_snapshot, fixtures, netreach, netreach_stdin, stderr, stdout};
use netreach::aggregate::Level;
use netreach::diff::{ChangeKind, Diff};
use netreach::load::{self, Input};
use netreach::Analysis;
use netreach_model::EngineOptions;
use serde_json::{json, Value};
use std::path::PathBuf;

const BEFORE: &str = "diff/before";

fn change(name: &str) -> String {
    format!("diff/changes/{name}.yaml")
}

/// `netreach diff diff/before ARGS… -o json`, parsed; asserts exit code 0.
fn diff_json(args: &[&str]) -> Value {
    let mut all = vec!["diff", BEFORE];
    all.extend_from_slice(args);
    all.extend_from_slice(&["-o", "json"]);
    let out = netreach(&all);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    serde_json::from_str(&stdout(&out)).unwrap()
}

/// (src, dst) of every entry of a kind.
fn pairs(doc: &Value, kind: &str) -> Vec<(String, String)> {
    doc[kind]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["src"].as_str().unwrap().to_string(), e["dst"].as_str().unwrap().to_string()))
        .collect()
}

fn tcp(ports: &[u16]) -> Value {
    json!([{"protocol": "TCP", "ports": ports.iter().map(|&p| [p, p]).collect::<Vec<_>>()}])
}

const FRONTEND: [&str; 2] = ["web/frontend-6b7f-aaaaa", "web/frontend-6b7f-bbbbb"];
const API: [&str; 3] = ["web/api-5c9d-ccccc", "web/api-5c9d-ddddd", "web/api-5c9d-eeeee"];
const POSTGRES: [&str; 2] = ["data/postgres-0", "data/postgres-1"];
const PROMETHEUS: &str = "ops/prometheus-0";

fn cross(src: &[&str], dst: &[&str]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = src
        .iter()
        .flat_map(|s| dst.iter().filter(move |d| *d != s).map(move |d| (s.to_string(), d.to_string())))
        .collect();
    v.sort();
    v
}

#[test]
fn tightened_rule_shows_the_ports_lost() {
    let pod = diff_json(&["--apply", &change("tightened-api"), "--level", "pod"]);
    assert_eq!(pod["schemaVersion"], 1);
    assert_eq!(pod["level"], "pod");
    assert!(pod["added"].as_array().unwrap().is_empty() && pod["removed"].as_array().unwrap().is_empty());
    assert_eq!(pairs(&pod, "changed"), cross(&FRONTEND, &API));
    for e in pod["changed"].as_array().unwrap() {
        assert_eq!(e["before"], tcp(&[8080, 9090]));
        assert_eq!(e["after"], tcp(&[8080]));
        assert_eq!(e["lost"], tcp(&[9090]));
        assert_eq!(e["gained"], json!([]));
        assert!(e.get("pairs").is_none(), "pod-level entries are single pairs");
    }
    assert_eq!(pod["summary"]["pairs"], json!({"added": 0, "removed": 0, "changed": 6}));
    assert_eq!(pod["applied"], json!({"created": [], "replaced": ["NetworkPolicy web/api"], "deleted": []}));

    let workload = diff_json(&["--apply", &change("tightened-api")]);
    assert_eq!(workload["level"], "workload");
    assert_eq!(
        pairs(&workload, "changed"),
        [("web/Deployment/frontend".to_string(), "web/Deployment/api".to_string())]
    );
    assert_eq!(workload["changed"][0]["lost"], tcp(&[9090]));
    assert_eq!(workload["changed"][0]["pairs"], json!({"added": 0, "removed": 0, "changed": 6, "of": 6}));
}

#[test]
fn new_default_deny_loses_many_edges_summarised_per_workload() {
    let doc = diff_json(&["--apply", &change("default-deny-web")]);
    assert_eq!(doc["summary"]["pairs"], json!({"added": 0, "removed": 30, "changed": 0}));
    assert_eq!(doc["summary"]["entries"], json!({"added": 0, "removed": 8, "changed": 0}));
    let removed: Vec<(String, String, Value, Value)> = doc["removed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["src"].as_str().unwrap().into(),
                e["dst"].as_str().unwrap().into(),
                e["allowed"].clone(),
                e["pairs"]["removed"].clone(),
            )
        })
        .collect();
    let all = json!([{"protocol": "TCP", "ports": [[1, 65535]]}, {"protocol": "UDP", "ports": [[1, 65535]]}, {"protocol": "SCTP", "ports": [[1, 65535]]}]);
    let expected = [
        ("web/Deployment/api", "data/StatefulSet/postgres", tcp(&[5432]), 6),
        ("web/Deployment/api", "ops/StatefulSet/prometheus", all.clone(), 3),
        ("web/Deployment/api", "web/Deployment/frontend", tcp(&[8080]), 6),
        ("web/Deployment/api", "external:0.0.0.0/0", all.clone(), 3),
        ("web/Deployment/frontend", "ops/StatefulSet/prometheus", all.clone(), 2),
        ("web/Deployment/frontend", "web/Deployment/api", tcp(&[8080, 9090]), 6),
        ("web/Deployment/frontend", "web/Deployment/frontend", tcp(&[8080]), 2),
        ("web/Deployment/frontend", "external:0.0.0.0/0", all, 2),
    ];
    let expected: Vec<(String, String, Value, Value)> =
        expected.into_iter().map(|(s, d, a, n)| (s.to_string(), d.to_string(), a, json!(n))).collect();
    assert_eq!(removed, expected);
    // Per namespace: four entries; web -> web merges 14 of the 20 pod pairs inside web.
    let ns = diff_json(&["--apply", &change("default-deny-web"), "--level", "namespace"]);
    assert_eq!(pairs(&ns, "removed").len(), 4);
    assert_eq!(ns["removed"][2]["src"], "web");
    assert_eq!(ns["removed"][2]["dst"], "web");
    assert_eq!(ns["removed"][2]["pairs"], json!({"added": 0, "removed": 14, "changed": 0, "of": 20}));
    // Per pod: every pair listed.
    let pod = diff_json(&["--apply", &change("default-deny-web"), "--level", "pod"]);
    assert_eq!(pod["removed"].as_array().unwrap().len(), 30);
}

#[test]
fn new_allow_rule_adds_edges_only_where_the_named_port_resolves() {
    let doc = diff_json(&["--apply", &change("allow-scrape"), "--level", "pod"]);
    assert_eq!(pairs(&doc, "added"), cross(&[PROMETHEUS], &API));
    for e in doc["added"].as_array().unwrap() {
        assert_eq!(e["allowed"], tcp(&[9090]));
    }
    assert!(doc["removed"].as_array().unwrap().is_empty() && doc["changed"].as_array().unwrap().is_empty());
    assert_eq!(doc["applied"]["created"], json!(["NetworkPolicy web/allow-scrape"]));
}

#[test]
fn renamed_policy_with_identical_rules_is_no_difference() {
    let args = ["diff", BEFORE, "--apply", &change("api-renamed"), "--delete", &change("api-old-name"), "--exit-code"];
    let out = netreach(&args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("What-if: created NetworkPolicy web/api-ingress; deleted NetworkPolicy web/api."), "{text}");
    assert!(text.contains("No difference in reachability"), "{text}");
    let doc = diff_json(&["--apply", &change("api-renamed"), "--delete", &change("api-old-name"), "--level", "pod"]);
    for kind in ["added", "removed", "changed"] {
        assert_eq!(doc[kind], json!([]), "{kind}");
    }
    assert_eq!(doc["summary"]["pairs"], json!({"added": 0, "removed": 0, "changed": 0}));
}

#[test]
fn namespace_label_change_silently_opens_a_namespace_selector() {
    let doc = diff_json(&["--apply", &change("web-team-platform"), "--level", "pod"]);
    // api could already reach postgres; the frontend now can too.
    assert_eq!(pairs(&doc, "added"), cross(&FRONTEND, &POSTGRES));
    for e in doc["added"].as_array().unwrap() {
        assert_eq!(e["allowed"], tcp(&[5432]));
    }
    assert!(doc["removed"].as_array().unwrap().is_empty() && doc["changed"].as_array().unwrap().is_empty());
    assert_eq!(doc["applied"]["replaced"], json!(["Namespace web"]));
}

#[test]
fn delete_removes_a_policy_and_reports_added_and_changed() {
    let doc = diff_json(&["--delete", &change("frontend-ingress")]);
    assert_eq!(
        doc["applied"],
        json!({"created": [], "replaced": [], "deleted": ["NetworkPolicy web/frontend-ingress"]})
    );
    // postgres may send 443 to any address: it now reaches the unisolated frontend.
    assert_eq!(
        pairs(&doc, "added"),
        [("data/StatefulSet/postgres".to_string(), "web/Deployment/frontend".to_string())]
    );
    assert_eq!(doc["added"][0]["allowed"], tcp(&[443]));
    assert_eq!(doc["added"][0]["pairs"]["of"], 4);
    let changed: Vec<(String, String)> = pairs(&doc, "changed");
    let expected = [
        ("ops/StatefulSet/prometheus", "web/Deployment/frontend"),
        ("web/Deployment/api", "web/Deployment/frontend"),
        ("web/Deployment/frontend", "web/Deployment/frontend"),
        ("external:0.0.0.0/0", "web/Deployment/frontend"),
    ];
    assert_eq!(changed, expected.map(|(s, d)| (s.to_string(), d.to_string())));
    for e in doc["changed"].as_array().unwrap() {
        assert_eq!(e["before"], tcp(&[8080]));
        assert_eq!(e["lost"], json!([]));
    }
    assert_eq!(doc["summary"]["pairs"], json!({"added": 4, "removed": 0, "changed": 12}));
}

#[test]
fn external_ranges_are_compared_on_their_common_parts() {
    // 443 to 0.0.0.0/0 becomes 443 to 0.0.0.0/0 except 10.0.0.0/8: removed for 10/8 only
    // (and for prometheus, whose pod IP is in 10/8).
    let doc = diff_json(&["--apply", &change("postgres-except"), "--level", "pod"]);
    let mut expected = cross(&POSTGRES, &[PROMETHEUS, "external:10.0.0.0/8"]);
    expected.sort_by_key(|(s, d)| (s.clone(), d.starts_with("external:"), d.clone()));
    assert_eq!(pairs(&doc, "removed"), expected);
    assert!(doc["added"].as_array().unwrap().is_empty() && doc["changed"].as_array().unwrap().is_empty());
    assert_eq!(doc["summary"]["before"]["externals"], 1);
    assert_eq!(doc["summary"]["after"]["externals"], 2);
}

/// (id, namespace) of the audit findings of one kind ("appeared", "resolved"; for "changed",
/// of the `after` finding).
fn findings(doc: &Value, kind: &str) -> Vec<(String, String)> {
    doc["findings"][kind]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| if kind == "changed" { &f["after"] } else { f })
        .map(|f| (f["id"].as_str().unwrap().to_string(), f["namespace"].as_str().unwrap_or("").to_string()))
        .collect()
}

fn strings(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
}

#[test]
fn audit_findings_that_appear_disappear_or_change_are_reported() {
    // A default-deny in web resolves web's default-deny and egress-policy findings, and its pods
    // no longer reach cloud-metadata (NR017, high, sorted first).
    let doc = diff_json(&["--apply", &change("default-deny-web")]);
    assert_eq!(
        findings(&doc, "resolved"),
        strings(&[("NR017", "web"), ("NR001", "web"), ("NR002", "web"), ("NR004", "web")])
    );
    assert!(findings(&doc, "appeared").is_empty() && findings(&doc, "changed").is_empty());
    // Deleting the frontend's only ingress policy: its pods are unselected, and the finding
    // that web admits the internet (NR021: nothing publishes the frontend) changes from TCP
    // 8080 to every port.
    let doc = diff_json(&["--delete", &change("frontend-ingress")]);
    assert_eq!(findings(&doc, "appeared"), strings(&[("NR003", "web")]));
    assert_eq!(findings(&doc, "changed"), strings(&[("NR021", "web")]));
    let changed = &doc["findings"]["changed"][0];
    assert!(changed["before"]["message"].as_str().unwrap().contains("on TCP 8080"), "{changed}");
    assert!(changed["after"]["message"].as_str().unwrap().contains("on every port"), "{changed}");
    // Same findings, same reachability: a renamed policy changes nothing; findings never
    // change the exit code (reachability and pods do).
    let doc = diff_json(&["--apply", &change("api-renamed"), "--delete", &change("api-old-name")]);
    assert_eq!(doc["findings"], json!({"appeared": [], "resolved": [], "changed": []}));
    let text = stdout(&netreach(&["diff", BEFORE, "--apply", &change("default-deny-web")]));
    assert!(text.contains("Audit findings: 0 appeared, 4 resolved, 0 changed."), "{text}");
    assert!(text.contains("AUDIT FINDINGS RESOLVED (4):\n  HIGH   NR017 pod-reaches-cloud-metadata [web]: "), "{text}");
}

#[test]
fn cluster_scoped_objects_are_applied_without_a_namespace() {
    let doc = diff_json(&["--apply", &change("admin-protect-data"), "--level", "pod"]);
    assert_eq!(doc["applied"]["created"], json!(["AdminNetworkPolicy protect-data"]));
    assert_eq!(pairs(&doc, "removed"), cross(&[PROMETHEUS], &POSTGRES));
    assert!(doc["added"].as_array().unwrap().is_empty() && doc["changed"].as_array().unwrap().is_empty());
}

#[test]
fn pods_on_one_side_are_listed_not_diffed() {
    let out = netreach(&["diff", BEFORE, "--delete", &change("frontend-pod"), "-o", "json", "--exit-code"]);
    assert_eq!(out.status.code(), Some(1), "a pod less is a difference: {}", stderr(&out));
    let doc: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(doc["onlyBefore"], json!({"pods": ["web/frontend-6b7f-aaaaa"], "externals": []}));
    assert_eq!(doc["onlyAfter"], json!({"pods": [], "externals": []}));
    assert_eq!(doc["summary"]["commonPods"], 7);
    for kind in ["added", "removed", "changed"] {
        assert_eq!(doc[kind], json!([]), "{kind}: the remaining pods reach exactly as before");
    }
    let text = stdout(&netreach(&["diff", BEFORE, "--delete", &change("frontend-pod")]));
    assert!(text.contains("Pods only before (1): web/frontend-6b7f-aaaaa."), "{text}");
}

#[test]
fn before_and_after_folders_give_the_same_diff_as_the_what_if() {
    let dir = tempfile::tempdir().unwrap();
    let after = dir.path().join("after");
    std::fs::create_dir_all(after.join("policies")).unwrap();
    let before = fixtures().join(BEFORE);
    for f in ["namespaces.yaml", "workloads.yaml", "policies/web.yaml", "policies/data.yaml"] {
        std::fs::copy(before.join(f), after.join(f)).unwrap();
    }
    std::fs::copy(fixtures().join(change("tightened-api")), after.join("policies/api.yaml")).unwrap();
    let after = after.to_str().unwrap();
    for level in ["pod", "workload", "namespace"] {
        let mut what_if = diff_json(&["--apply", &change("tightened-api"), "--level", level]);
        let two_paths = diff_json(&[after, "--level", level]);
        what_if.as_object_mut().unwrap().remove("applied");
        assert_eq!(two_paths, what_if, "{level}");
    }
    // BEFORE from stdin.
    let mut all = String::new();
    for f in ["namespaces.yaml", "workloads.yaml", "policies/api.yaml", "policies/web.yaml", "policies/data.yaml"] {
        all.push_str(&std::fs::read_to_string(before.join(f)).unwrap());
        all.push_str("\n---\n");
    }
    let out = netreach_stdin(&["diff", "-", after, "-o", "json", "--exit-code"], &all);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let doc: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(doc["summary"]["pairs"], json!({"added": 0, "removed": 0, "changed": 6}));
}

#[test]
fn namespace_narrows_the_entries_and_findings_to_those_with_an_end_there() {
    let all = diff_json(&["--apply", &change("default-deny-web")]);
    let data = diff_json(&["--apply", &change("default-deny-web"), "-n", "data"]);
    assert_eq!(pairs(&data, "removed"), [("web/Deployment/api".to_string(), "data/StatefulSet/postgres".to_string())]);
    assert_eq!(data["summary"]["entries"], json!({"added": 0, "removed": 1, "changed": 0}));
    assert_eq!(pairs(&all, "removed").len(), 8);
    // Two namespaces: every entry with an end in either.
    let web_ops = diff_json(&["--apply", &change("default-deny-web"), "-n", "ops", "-n", "data"]);
    assert_eq!(pairs(&web_ops, "removed").len(), 3);
    // Nothing changes in ops's own policies: --exit-code still sees the pairs into ops.
    let ops = netreach(&["diff", BEFORE, "--apply", &change("default-deny-web"), "-n", "ops", "--exit-code"]);
    assert_eq!(ops.status.code(), Some(1), "{}", stderr(&ops));
    let unrelated = netreach(&["diff", BEFORE, "--apply", &change("tightened-api"), "-n", "ops", "--exit-code"]);
    assert_eq!(unrelated.status.code(), Some(0), "{}", stdout(&unrelated));
}

#[test]
fn exit_code_is_1_on_a_difference_with_the_flag_and_2_on_bad_input() {
    let same = netreach(&["diff", BEFORE, BEFORE, "--exit-code"]);
    assert_eq!(same.status.code(), Some(0), "{}", stderr(&same));
    let differs = netreach(&["diff", BEFORE, "--apply", &change("tightened-api"), "--exit-code"]);
    assert_eq!(differs.status.code(), Some(1));
    let without_flag = netreach(&["diff", BEFORE, "--apply", &change("tightened-api")]);
    assert_eq!(without_flag.status.code(), Some(0), "a difference is not an error without --exit-code");
    let errors: [(&[&str], &str); 5] = [
        (&["diff", BEFORE, "small/bad/bad-cidr.yaml", "--exit-code"], "10.0.0.0/33"),
        (&["diff", BEFORE, "--apply", "small/bad/bad-yaml.yaml", "--exit-code"], "invalid YAML"),
        (
            &["diff", BEFORE, "--delete", "small/default-deny/cluster.yaml"],
            "is not in the cluster, so it cannot be deleted",
        ),
        (&["diff", "-", "-"], "stdin (-) can be read only once"),
        (&["diff", BEFORE, BEFORE, "--apply", "x.yaml"], "cannot be used with"),
    ];
    for (args, message) in errors {
        let out = netreach(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(out.stdout.is_empty(), "{args:?}: nothing on stdout on error");
        assert!(stderr(&out).contains(message), "{args:?}: {}", stderr(&out));
    }
    let apply_twice = netreach(&["diff", BEFORE, "--apply", &change("tightened-api"), &change("tightened-api")]);
    assert_eq!(apply_twice.status.code(), Some(2));
    assert!(stderr(&apply_twice).contains("NetworkPolicy web/api is defined twice"), "{}", stderr(&apply_twice));
}

#[test]
fn markdown_snapshot_default_deny() {
    let out = netreach(&["diff", BEFORE, "--apply", &change("default-deny-web"), "-o", "md"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_run_snapshot!(out);
}

#[test]
fn markdown_snapshot_delete_and_external_atoms() {
    let out = netreach(&[
        "diff",
        BEFORE,
        "--delete",
        &change("frontend-ingress"),
        &change("frontend-pod"),
        "--apply",
        &change("postgres-except"),
        "-o",
        "md",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_run_snapshot!(out);
}

#[test]
fn text_snapshot_pod_level() {
    let out = netreach(&[
        "diff",
        BEFORE,
        "--apply",
        &change("tightened-api"),
        &change("web-team-platform"),
        "--level",
        "pod",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_run_snapshot!(out);
}

/// The library: diff(A, B) is diff(B, A) with added and removed swapped, on every scenario.
#[test]
fn swapping_the_sides_swaps_added_and_removed() {
    let load = |paths: &[PathBuf]| {
        let inputs: Vec<Input> = paths.iter().map(|p| Input::Path(p.clone())).collect();
        Analysis::new(load::load(&inputs).unwrap().cluster, &EngineOptions::default())
    };
    let before_inputs = vec![fixtures().join(BEFORE)];
    for name in ["tightened-api", "default-deny-web", "allow-scrape", "web-team-platform", "postgres-except"] {
        let base = load::load_what_if(
            &[Input::Path(fixtures().join(BEFORE))],
            &[Input::Path(fixtures().join(change(name)))],
            &[],
        )
        .unwrap();
        let (a, b) = (load(&before_inputs), Analysis::new(base.after.cluster, &EngineOptions::default()));
        let collect = |d: &Diff, kind: ChangeKind| {
            let mut v = Vec::new();
            d.view(Level::Pod)
                .for_each_change::<()>(kind, |c| {
                    v.push((c.src.id.clone(), c.dst.id.clone(), c.delta.before.clone(), c.delta.after.clone()));
                    Ok(())
                })
                .unwrap();
            v
        };
        let (ab, ba) = (Diff::new(&a, &b), Diff::new(&b, &a));
        let swap = |v: Vec<(String, String, netreach_model::PortSet, netreach_model::PortSet)>| {
            v.into_iter().map(|(s, d, x, y)| (s, d, y, x)).collect::<Vec<_>>()
        };
        assert_eq!(collect(&ab, ChangeKind::Added), swap(collect(&ba, ChangeKind::Removed)), "{name}");
        assert_eq!(collect(&ab, ChangeKind::Removed), swap(collect(&ba, ChangeKind::Added)), "{name}");
        assert_eq!(collect(&ab, ChangeKind::Changed), swap(collect(&ba, ChangeKind::Changed)), "{name}");
        assert!(!ab.is_empty(), "{name}");
        assert!(Diff::new(&a, &a).is_empty());
    }
}

/// The shop against the shop after three policy mistakes (fixtures/invariants/shop-broken).
#[test]
fn json_snapshot_shop_broken() {
    assert_run_snapshot!(netreach(&["diff", "shop", "invariants/shop-broken", "-o", "json"]));
}
