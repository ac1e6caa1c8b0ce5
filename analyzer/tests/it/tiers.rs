//! Cluster-scoped tiers on fixtures/tiers, worked out by hand. Both API generations must give
//! the same answers: v1alpha1 (AdminNetworkPolicy + BaselineAdminNetworkPolicy) and v1alpha2
//! (ClusterNetworkPolicy with tiers Admin and Baseline).

use crate::support::fixtures;
use netreach::load::{load, Input};
use netreach::model::{Action, EngineOptions, Protocol, Tier};
use netreach::Analysis;
use std::path::PathBuf;

fn tiers_folder() -> PathBuf {
    fixtures().join("tiers")
}

fn analyze(version: &str) -> Analysis {
    let loaded =
        load(&[Input::Path(tiers_folder().join("cluster.yaml")), Input::Path(tiers_folder().join(version))]).unwrap();
    assert_eq!(loaded.cluster.cluster_policies.len(), 5);
    Analysis::new(loaded.cluster, &EngineOptions::default())
}

fn endpoint(a: &Analysis, id: &str) -> usize {
    match id.parse() {
        Ok(ip) => a.external_containing(ip).unwrap(),
        Err(_) => a.find(id).unwrap(),
    }
}

fn allowed(a: &Analysis, from: &str, to: &str) -> bool {
    let (s, d) = (endpoint(a, from), endpoint(a, to));
    let ports = a.reach.allowed(a.reach.endpoint(s), a.reach.endpoint(d));
    let by_ports = ports.contains(Protocol::Tcp, 80);
    // The explanation must agree with the engine's rows.
    let why = a.reach.explain(a.reach.endpoint(s), a.reach.endpoint(d), Protocol::Tcp, 80);
    assert_eq!(why.allowed(), by_ports, "{from} -> {to}: explain {why:?}");
    by_ports
}

/// (from, to, allowed on TCP 80, why)
const PROBES: &[(&str, &str, bool, &str)] = &[
    ("monitoring/prometheus", "sensitive/db", true, "admin priority 5 allows monitoring before priority 10 denies"),
    ("apps/web", "sensitive/db", false, "admin Deny overrides the namespace's NetworkPolicy allowing apps"),
    ("tenant-a/a1", "apps/web", false, "admin Pass hands over to NetworkPolicy, which admits only apps"),
    ("apps/api", "apps/web", true, "no admin match; NetworkPolicy apps-internal allows same namespace"),
    ("tenant-b/b1", "tenant-a/a1", false, "no NetworkPolicy isolates a1: the baseline Deny decides"),
    ("monitoring/prometheus", "tenant-a/a1", true, "admin Allow overrides the baseline Deny"),
    ("tenant-a/a1", "8.8.8.8", false, "tenants' egress: 10/8 allowed, then 0/0 denied"),
    (
        "tenant-a/a1",
        "monitoring/prometheus",
        false,
        "egress allowed (10/8) but prometheus's ingress hits the baseline Deny",
    ),
    ("8.8.8.8", "apps/web", false, "NetworkPolicy apps-internal admits only apps pods"),
    ("monitoring/prometheus", "8.8.8.8", true, "no tier or NetworkPolicy restricts prometheus's egress"),
    (
        "8.8.8.8",
        "tenant-b/b1",
        true,
        "the baseline Deny's peer is namespaces {}: pods only, so an external source falls to default allow",
    ),
];

#[test]
fn v1alpha1_and_v1alpha2_give_the_hand_worked_answers() {
    for version in ["v1alpha1", "v1alpha2"] {
        let a = analyze(version);
        let wrong: Vec<String> = PROBES
            .iter()
            .filter(|(f, t, want, _)| allowed(&a, f, t) != *want)
            .map(|(f, t, want, why)| format!("{version}: {f} -> {t}: expected {want} ({why})"))
            .collect();
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }
}

#[test]
fn explain_names_the_deciding_tier_and_rule() {
    let a = analyze("v1alpha1");
    let (web, db) = (endpoint(&a, "apps/web"), endpoint(&a, "sensitive/db"));
    let why = a.reach.explain(a.reach.endpoint(web), a.reach.endpoint(db), Protocol::Tcp, 80);
    let admin = why.ingress.admin.expect("an admin rule decides");
    assert_eq!((admin.tier, admin.action, admin.rule), (Tier::Admin, Action::Deny, 0));
    assert_eq!(a.cluster.cluster_policies[admin.policy as usize].name, "protect-sensitive");
    assert_eq!(why.ingress.decider(), netreach::model::Decider::Admin);
    assert!(!why.ingress.allowed_by.is_empty(), "NetworkPolicy alone would have allowed it");
    let (b1, a1) = (endpoint(&a, "tenant-b/b1"), endpoint(&a, "tenant-a/a1"));
    let why = a.reach.explain(a.reach.endpoint(b1), a.reach.endpoint(a1), Protocol::Tcp, 80);
    assert_eq!(why.ingress.decider(), netreach::model::Decider::Baseline);
}

#[test]
fn shadowed_rules_and_same_priority_conflicts_are_found() {
    let text = std::fs::read_to_string(tiers_folder().join("cluster.yaml")).unwrap()
        + r#"
---
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata:
  name: broad
spec:
  priority: 7
  subject:
    namespaces: {}
  ingress:
    - name: deny-tenants
      action: Deny
      from:
        - namespaces:
            matchExpressions:
              - {key: tenant, operator: Exists}
    - name: never-decides
      action: Allow
      from:
        - namespaces:
            matchLabels:
              tenant: a
---
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata:
  name: same-priority
spec:
  priority: 7
  subject:
    namespaces:
      matchLabels:
        kubernetes.io/metadata.name: apps
  ingress:
    - name: allow-tenant-a
      action: Allow
      from:
        - namespaces:
            matchLabels:
              tenant: a
"#;
    let loaded = netreach::load::load_str("tiers.yaml", &text).unwrap();
    let a = Analysis::new(loaded.cluster, &EngineOptions::default());
    let findings = a.reach.tier_findings(&a.cluster);
    let name = |p: u32| a.cluster.cluster_policies[p as usize].name.clone();
    // broad ingress[1] (tenant a) is fully covered by broad ingress[0] (any tenant), which comes first.
    let shadowed: Vec<(String, u32)> = findings.shadowed.iter().map(|&(p, _, r)| (name(p), r)).collect();
    assert!(shadowed.contains(&("broad".into(), 1)), "{shadowed:?}");
    assert!(!shadowed.contains(&("broad".into(), 0)), "{shadowed:?}");
    // broad (Deny) and same-priority (Allow) share priority 7, both cover apps pods from tenant a.
    let conflicts: Vec<(String, String)> =
        findings.same_priority_conflicts.iter().map(|&(p, q, _)| (name(p), name(q))).collect();
    assert_eq!(conflicts, vec![("broad".to_string(), "same-priority".to_string())]);
    let report = netreach::audit::audit(&a);
    let nr015: Vec<&str> = report.findings.iter().filter(|f| f.id == "NR015").map(|f| f.message.as_str()).collect();
    assert!(nr015.iter().any(|m| m.starts_with("AdminNetworkPolicy/broad ingress[1] never decides")), "{nr015:?}");
    assert!(report.findings.iter().any(
        |f| f.id == "NR016" && f.message.contains("AdminNetworkPolicy/broad and AdminNetworkPolicy/same-priority")
    ));
}

#[test]
fn audit_reports_tier_findings() {
    // fixtures/tiers has no shadowed rule and distinct priorities: no NR015/NR016.
    let a = analyze("v1alpha1");
    let report = netreach::audit::audit(&a);
    assert!(!report.findings.iter().any(|f| f.id == "NR015" || f.id == "NR016"));
}
