//! `netreach audit` on fixtures whose findings are worked out by hand (fixtures/weak/README.md
//! lists the planted weaknesses), plus exit codes and formats through the binary.
//!
//! The weak cluster has one (synthesized) pod per workload, none with an IP, and no Node:
//!   kube-system/coredns                       Deployment  isolated I+E (default-deny-all)
//!   web/frontend, web/api                     Deployment  isolated I+E (default-deny-all)
//!   billing/invoice-api                       Deployment  isolated I only (policy invoice-api)
//!   billing/invoice-worker                    Deployment  not isolated
//!   analytics/dashboard                       Deployment  isolated I only (default-deny-ingress)
//!   analytics/etl                             CronJob     isolated I+E (default-deny-ingress, etl-egress)
//!   monitoring/node-agent (privileged)        DaemonSet   hostNetwork: never selected, never isolated
//!   monitoring/node-exporter                  DaemonSet   hostNetwork: never selected, never isolated

use crate::support::{assert_run_snapshot, fixtures, netreach};
use netreach::audit::{audit, audit_with, AuditReport, Finding, Severity};
use netreach::load::{load, Input};
use netreach::model::EngineOptions;
use netreach::Analysis;

fn report(folder: &str) -> AuditReport {
    let loaded = load(&[Input::Path(fixtures().join(folder))]).unwrap_or_else(|e| panic!("{folder}: {e}"));
    let analysis = Analysis::new(loaded.cluster, &EngineOptions::default());
    audit(&analysis)
}

fn of<'a>(report: &'a AuditReport, id: &str) -> Vec<&'a Finding> {
    report.findings.iter().filter(|f| f.id == id).collect()
}

/// (namespace, objects as displayed) of every finding with this id, in report order.
fn found(report: &AuditReport, id: &str) -> Vec<(String, Vec<String>)> {
    of(report, id)
        .into_iter()
        .map(|f| (f.namespace.clone().unwrap_or_default(), f.objects.iter().map(|o| o.to_string()).collect()))
        .collect()
}

fn expect(list: &[(&str, &[&str])]) -> Vec<(String, Vec<String>)> {
    list.iter().map(|(ns, objects)| (ns.to_string(), objects.iter().map(|o| o.to_string()).collect())).collect()
}

fn weak() -> AuditReport {
    report("weak")
}

#[test]
fn nr001_billing_forgot_its_ingress_default_deny() {
    // kube-system, web: default-deny-all; analytics: default-deny-ingress; billing: only a policy
    // for app=invoice-api. monitoring has only hostNetwork pods, which a default-deny cannot
    // select, so it is not reported.
    let r = weak();
    assert_eq!(found(&r, "NR001"), expect(&[("billing", &["Namespace billing"])]));
    assert!(of(&r, "NR001")
        .iter()
        .all(|f| f.severity == Severity::Medium && f.name == "namespace-without-default-deny-ingress"));
}

#[test]
fn nr002_analytics_and_billing_have_no_egress_default_deny() {
    // analytics' default-deny is Ingress only; etl-egress selects app=etl, not every pod.
    let r = weak();
    assert_eq!(
        found(&r, "NR002"),
        expect(&[("analytics", &["Namespace analytics"]), ("billing", &["Namespace billing"])])
    );
}

#[test]
fn nr003_the_invoice_worker_is_selected_by_no_ingress_policy() {
    // invoice-api (2 replicas) is selected by policy invoice-api; invoice-worker (1) by nothing.
    let r = weak();
    assert_eq!(found(&r, "NR003"), expect(&[("billing", &["Deployment billing/invoice-worker"])]));
    assert!(of(&r, "NR003")[0].message.contains("1 of 3 pod(s)"), "{}", of(&r, "NR003")[0].message);
}

#[test]
fn nr004_pods_without_egress_policy_are_counted_per_namespace() {
    // analytics: etl is selected by etl-egress, dashboard by nothing for Egress.
    // billing: invoice-api's policy is Ingress only; nothing selects any of the 3 pods
    // (invoice-api's 2 replicas, invoice-worker) for Egress.
    let r = weak();
    assert_eq!(
        found(&r, "NR004"),
        expect(&[
            ("analytics", &["Deployment analytics/dashboard"]),
            ("billing", &["Deployment billing/invoice-api", "Deployment billing/invoice-worker"]),
        ])
    );
    let billing = of(&r, "NR004").into_iter().find(|f| f.namespace.as_deref() == Some("billing")).unwrap();
    assert!(billing.message.contains("3 of 3 pod(s)"), "{}", billing.message);
}

#[test]
fn nr005_host_network_agent_without_privileges() {
    let r = weak();
    assert_eq!(found(&r, "NR005"), expect(&[("monitoring", &["DaemonSet monitoring/node-exporter"])]));
}

#[test]
fn nr006_privileged_host_network_agent() {
    // node-agent: hostNetwork and securityContext.privileged; reported once, as NR006 only.
    let r = weak();
    assert_eq!(found(&r, "NR006"), expect(&[("monitoring", &["DaemonSet monitoring/node-agent"])]));
    assert_eq!(of(&r, "NR006")[0].severity, Severity::High);
}

#[test]
fn nr007_pods_an_entry_point_delivers_to_and_policy_admits() {
    // web/frontend: LoadBalancer web/frontend (externalTrafficPolicy Local, so the backends see
    // the client) to named port https = 8443, which its ipBlock 0.0.0.0/0 rule admits. The two
    // hostNetwork agents are on the node's addresses, where policy does not reach (every port).
    // invoice-worker admits everything but nothing publishes it: NR021, not NR007.
    let r = weak();
    assert_eq!(
        found(&r, "NR007"),
        expect(&[
            ("monitoring", &["DaemonSet monitoring/node-agent", "DaemonSet monitoring/node-exporter"]),
            ("web", &["Deployment web/frontend", "Service web/frontend"]),
        ])
    );
    let web = of(&r, "NR007").into_iter().find(|f| f.namespace.as_deref() == Some("web")).unwrap();
    assert!(web.message.contains("on TCP 8443 through LoadBalancer web/frontend"), "{}", web.message);
    let monitoring = of(&r, "NR007").into_iter().find(|f| f.namespace.as_deref() == Some("monitoring")).unwrap();
    assert!(monitoring.message.contains("on every port through hostNetwork"), "{}", monitoring.message);
}

#[test]
fn nr021_policy_admits_the_internet_but_nothing_publishes_the_pod() {
    // invoice-worker is not isolated (every port admitted from every range) and no Service,
    // Ingress, Gateway or host port delivers to it.
    let r = weak();
    assert_eq!(found(&r, "NR021"), expect(&[("billing", &["Deployment billing/invoice-worker"])]));
    let finding = of(&r, "NR021")[0];
    assert_eq!(finding.severity, Severity::Low);
    assert!(finding.message.contains("on every port"), "{}", finding.message);
}

#[test]
fn nr022_node_port_whose_backends_admit_no_node_address() {
    // NodePort billing/invoice-api, externalTrafficPolicy Cluster: the backends see a node
    // address (no Node in the input: any address outside the pods), and invoice-api's only
    // rule admits web/api pods.
    let r = weak();
    assert_eq!(
        found(&r, "NR022"),
        expect(&[("billing", &["Service billing/invoice-api", "Deployment billing/invoice-api"])])
    );
    let finding = of(&r, "NR022")[0];
    assert!(
        finding.message.starts_with("NodePort Service billing/invoice-api delivers to 2 pod(s) on 8443/TCP"),
        "{}",
        finding.message
    );
    assert!(finding.fix.contains("externalTrafficPolicy: Local"), "{}", finding.fix);
}

#[test]
fn nr008_frontend_egress_to_the_whole_internet_on_every_port() {
    // web/frontend egress rule 1: to ipBlock 0.0.0.0/0, no ports. coredns' 0.0.0.0/0 rule is
    // limited to port 53, etl's ipBlock is 10.20.0.0/16.
    let r = weak();
    assert_eq!(found(&r, "NR008"), expect(&[("web", &["NetworkPolicy web/frontend spec.egress[1].to[0]"])]));
}

#[test]
fn nr009_dashboard_open_to_every_namespace_on_every_port() {
    // allow-from-all-namespaces: from namespaceSelector {} without podSelector and without ports.
    // coredns' namespaceSelector {} rules name ports, so they are not allow-all.
    let r = weak();
    assert_eq!(
        found(&r, "NR009"),
        expect(&[("analytics", &["NetworkPolicy analytics/allow-from-all-namespaces spec.ingress[0].from[0]"])])
    );
}

#[test]
fn nr010_pods_reaching_kube_system_beyond_dns() {
    // coredns admits every selectable pod on 53/UDP, 53/TCP and (the mistake) 9153/TCP.
    // Egress: web pods and etl only reach coredns on 53; invoice-api, invoice-worker and
    // dashboard have open egress, so they reach 9153. The hostNetwork agents have open egress
    // but namespaceSelector {} never matches hostNetwork pods.
    let r = weak();
    assert_eq!(
        found(&r, "NR010"),
        expect(&[
            ("analytics", &["Deployment analytics/dashboard", "Deployment kube-system/coredns"]),
            (
                "billing",
                &[
                    "Deployment billing/invoice-api",
                    "Deployment billing/invoice-worker",
                    "Deployment kube-system/coredns"
                ],
            ),
        ])
    );
    for f in of(&r, "NR010") {
        assert!(f.message.contains("Deployment kube-system/coredns on TCP 9153"), "{}", f.message);
    }
}

#[test]
fn nr011_policy_left_behind_for_a_removed_workload() {
    let r = weak();
    assert_eq!(
        found(&r, "NR011"),
        expect(&[("analytics", &["NetworkPolicy analytics/spark-history spec.podSelector"])])
    );
}

#[test]
fn nr012_peer_for_a_namespace_that_does_not_exist() {
    // No namespace carries team=reporting. Every other peer matches something (spark-history's
    // peer app=dashboard matches the dashboard even though the policy selects nothing).
    let r = weak();
    assert_eq!(
        found(&r, "NR012"),
        expect(&[("analytics", &["NetworkPolicy analytics/dashboard-ingress spec.ingress[0].from[0]"])])
    );
}

#[test]
fn nr013_named_port_the_destination_does_not_declare() {
    // etl-egress rule 1 goes to app=dashboard on port "api"; the dashboard declares only "http".
    // The frontend's "https" resolves on the frontend itself.
    let r = weak();
    assert_eq!(
        found(&r, "NR013"),
        expect(&[("analytics", &["NetworkPolicy analytics/etl-egress spec.egress[1].ports[0]"])])
    );
    assert!(of(&r, "NR013")[0].message.contains("\"api\""));
}

#[test]
fn nr014_except_outside_its_cidr() {
    let r = weak();
    assert_eq!(
        found(&r, "NR014"),
        expect(&[("analytics", &["NetworkPolicy analytics/etl-egress spec.egress[0].to[0].ipBlock.except[0]"])])
    );
    assert!(of(&r, "NR014")[0].message.contains("10.30.0.0/24"));
}

#[test]
fn weak_has_no_other_findings_and_sorts_by_severity() {
    // 1+2+1+2+1+1+2+1+1+2+1+1+1+1 (NR001-NR014) + 1+1 (NR021, NR022) from the tests above.
    // NR017-NR020 (infrastructure destinations) are held by tests/it/infrastructure.rs.
    let r = weak();
    let segmentation: Vec<&Finding> = r.findings.iter().filter(|f| f.destination.is_none()).collect();
    assert_eq!(segmentation.len(), 20);
    let count = |s: Severity| segmentation.iter().filter(|f| f.severity == s).count();
    assert_eq!((count(Severity::High), count(Severity::Medium), count(Severity::Low)), (5, 6, 9));
    assert!(r.findings.windows(2).all(|w| w[0].severity >= w[1].severity));
}

#[test]
fn weak_segmentation_scores_by_hand() {
    // 14 pods, the controllers' replicas: web frontend ×3, api ×2; billing invoice-api ×2,
    // invoice-worker; analytics dashboard, etl; kube-system coredns ×2; monitoring one pod per
    // DaemonSet (no Nodes). Each namespace's possible pairs are its pods times the 13 others.
    // Allowed pod pairs into each namespace (source ≠ destination, any port):
    //   analytics: dashboard <- invoice-api ×2, invoice-worker (open egress; admitted by the
    //              namespaceSelector {} rule; etl's egress to it names an unresolved port) = 3
    //   billing:   invoice-api ×2 <- web/api ×2 (8443) = 4 (the replicas admit only web/api,
    //              not each other); invoice-worker (open ingress) <- invoice-api ×2,
    //              dashboard, node-agent, node-exporter (the egress-open ones) = 5         -> 9
    //   kube-system: coredns ×2 <- frontend ×3, api ×2, etl (DNS), invoice-api ×2,
    //              invoice-worker, dashboard (open egress) = 10 sources; not the hostNetwork
    //              agents, and not each other (coredns' egress is an ipBlock, which pods
    //              without IPs are not in)                                                 -> 20
    //   monitoring: each agent <- invoice-api ×2, invoice-worker, dashboard, the other agent -> 10
    //   web:       api ×2 <- frontend ×3 (8080); frontend admits ipBlocks only, pods have no
    //              IP; api admits frontend only, not its own replicas                      -> 6
    let r = weak();
    let got: Vec<(&str, u64, u64, u64)> =
        r.segmentation.iter().map(|s| (s.namespace.as_str(), s.pods, s.allowed_pairs, s.possible_pairs)).collect();
    assert_eq!(
        got,
        [
            ("analytics", 2, 3, 26),
            ("billing", 3, 9, 39),
            ("kube-system", 2, 20, 26),
            ("monitoring", 2, 10, 26),
            ("web", 5, 6, 65)
        ]
    );
    let web = r.segmentation.iter().find(|s| s.namespace == "web").unwrap();
    assert_eq!(web.score(), Some(59.0 / 65.0));
}

#[test]
fn shop_findings_by_hand() {
    // shop, payments, data: default-deny for both directions. kube-system: coredns-allow-dns
    // (Ingress, k8s-app=kube-dns) and node-agents-egress (tier=node: only the hostNetwork agent).
    let r = report("shop");
    assert_eq!(found(&r, "NR001"), expect(&[("kube-system", &["Namespace kube-system"])]));
    assert_eq!(found(&r, "NR002"), expect(&[("kube-system", &["Namespace kube-system"])]));
    // metrics-server: no ingress policy; coredns and metrics-server: no egress policy.
    assert_eq!(found(&r, "NR003"), expect(&[("kube-system", &["Deployment kube-system/metrics-server"])]));
    assert_eq!(
        found(&r, "NR004"),
        expect(&[("kube-system", &["Deployment kube-system/coredns", "Deployment kube-system/metrics-server"])])
    );
    assert_eq!(found(&r, "NR005"), expect(&[("kube-system", &["DaemonSet kube-system/node-log-agent"])]));
    assert!(found(&r, "NR006").is_empty());
    // LoadBalancer shop/frontend delivers to http = 8080, which the frontend admits from
    // 0.0.0.0/0; the hostNetwork agent is on the node's addresses. metrics-server is not
    // isolated but nothing publishes it: NR021.
    assert_eq!(
        found(&r, "NR007"),
        expect(&[
            ("kube-system", &["DaemonSet kube-system/node-log-agent"]),
            ("shop", &["Deployment shop/frontend", "Service shop/frontend"]),
        ])
    );
    let shop = of(&r, "NR007").into_iter().find(|f| f.namespace.as_deref() == Some("shop")).unwrap();
    assert!(shop.message.contains("on TCP 8080 through LoadBalancer shop/frontend"), "{}", shop.message);
    assert_eq!(found(&r, "NR021"), expect(&[("kube-system", &["Deployment kube-system/metrics-server"])]));
    assert!(found(&r, "NR022").is_empty());
    // payment-gateway's internet egress is 443 only; coredns' namespaceSelector {} names ports;
    // every namespace but kube-system only reaches kube-system on DNS.
    for id in ["NR008", "NR009", "NR010", "NR013", "NR014"] {
        assert!(found(&r, id).is_empty(), "{id}: {:?}", found(&r, id));
    }
    assert_eq!(
        found(&r, "NR011"),
        expect(&[("kube-system", &["NetworkPolicy kube-system/node-agents-egress spec.podSelector"])])
    );
    assert!(of(&r, "NR011")[0].message.contains("hostNetwork"));
    // The two deliberate mistakes of EXPECTED.md: a bare podSelector for the ledger (namespace
    // data has no ledger) and a peer naming the hostNetwork log agent.
    assert_eq!(
        found(&r, "NR012"),
        expect(&[
            ("data", &["NetworkPolicy data/kafka-ingress spec.ingress[1].from[0]"]),
            ("data", &["NetworkPolicy data/postgres-ingress spec.ingress[1].from[0]"]),
        ])
    );
    // NR007 kube-system is the log agent alone; metrics-server moved to NR021 (one more finding).
    assert_eq!(r.findings.iter().filter(|f| f.destination.is_none()).count(), 11, "besides NR017-NR020");
}

// ---- fixtures/audit-real: findings worked out by hand in each fixture's header ----

/// (id, severity, namespace, objects as displayed) of every finding, in report order.
fn all(report: &AuditReport) -> Vec<(String, Severity, String, Vec<String>)> {
    report
        .findings
        .iter()
        .map(|f| {
            (
                f.id.to_string(),
                f.severity,
                f.namespace.clone().unwrap_or_default(),
                f.objects.iter().map(|o| o.to_string()).collect(),
            )
        })
        .collect()
}

fn row(id: &str, severity: Severity, ns: &str, objects: &[&str]) -> (String, Severity, String, Vec<String>) {
    (id.to_string(), severity, ns.to_string(), objects.iter().map(|o| o.to_string()).collect())
}

/// Every finding of these ids, sorted by (id, namespace, objects) for comparison.
fn only(report: &AuditReport, ids: &[&str]) -> Vec<(String, Severity, String, Vec<String>)> {
    let mut v: Vec<_> = all(report).into_iter().filter(|f| ids.contains(&f.0.as_str())).collect();
    v.sort_by(|a, b| (&a.0, &a.2, &a.3).cmp(&(&b.0, &b.2, &b.3)));
    v
}

/// The audit as `netreach audit` runs it: with the loader's skipped objects.
fn report_with_skipped(folder: &str) -> AuditReport {
    let loaded = load(&[Input::Path(fixtures().join(folder))]).unwrap_or_else(|e| panic!("{folder}: {e}"));
    let skipped = loaded.report.skipped_objects.clone();
    let analysis = Analysis::new(loaded.cluster, &EngineOptions::default());
    audit_with(&analysis, &skipped)
}

#[test]
fn broad_rules_give_one_finding_per_rule_or_peer() {
    use Severity::High;
    let r = report("audit-real/broad");
    assert_eq!(
        only(&r, &["NR008", "NR009"]),
        vec![
            row("NR008", High, "app", &["NetworkPolicy app/allow-all-egress spec.egress[0]"]),
            row("NR008", High, "app", &["NetworkPolicy app/peers spec.egress[0].to[0]"]),
            row("NR009", High, "app", &["NetworkPolicy app/allow-all-ingress spec.ingress[0]"]),
            row("NR009", High, "app", &["NetworkPolicy app/allow-all-ingress spec.ingress[1]"]),
            row("NR009", High, "app", &["NetworkPolicy app/peers spec.egress[0].to[1]"]),
        ]
    );
    let egress_all = of(&r, "NR008").into_iter().find(|f| f.objects[0].name == "allow-all-egress").unwrap();
    assert!(
        egress_all.message.contains("the whole internet included, and to every pod of every namespace"),
        "{}",
        egress_all.message
    );
    // No object (policy field) is the subject of two findings (see fields_named).
    let (fields, n) = fields_named(&r);
    assert_eq!(fields.len(), n, "a field reported twice: {fields:?}");
}

/// The policy fields that findings name, each once, and how many times they are named in all;
/// NR017-NR020 are left out: they cite the rule that lets a pod reach a destination as evidence.
fn fields_named(r: &AuditReport) -> (Vec<String>, usize) {
    let mut fields: Vec<String> = r
        .findings
        .iter()
        .filter(|f| f.destination.is_none())
        .flat_map(|f| f.objects.iter())
        .filter(|o| o.field.is_some())
        .map(|o| o.to_string())
        .collect();
    let n = fields.len();
    fields.sort();
    fields.dedup();
    (fields, n)
}

#[test]
fn weak_and_shop_report_no_field_twice() {
    for folder in ["weak", "shop", "tiers", "audit-real/broad", "audit-real/operators", "audit-real/tiers"] {
        let r = report_with_skipped(folder);
        let (fields, n) = fields_named(&r);
        assert_eq!(fields.len(), n, "{folder}: a field reported twice");
    }
}

#[test]
fn tiers_default_deny_decides_nr001_to_nr004() {
    use Severity::{Low, Medium};
    let r = report("audit-real/tiers");
    assert_eq!(
        only(&r, &["NR001", "NR002", "NR003", "NR004"]),
        vec![
            row("NR001", Low, "guarded", &["Namespace guarded"]),
            row("NR001", Low, "locked", &["Namespace locked"]),
            row("NR001", Medium, "partial", &["Namespace partial"]),
            row("NR001", Medium, "plain", &["Namespace plain"]),
            // guarded: none, the BANP decides all egress (every namespace and 0.0.0.0/0).
            row("NR002", Low, "locked", &["Namespace locked"]),
            row("NR002", Low, "partial", &["Namespace partial"]),
            row("NR002", Low, "plain", &["Namespace plain"]),
            row("NR003", Low, "guarded", &["Pod guarded/api"]),
            row("NR003", Low, "locked", &["Pod locked/vault"]),
            row("NR003", Low, "partial", &["Pod partial/db"]),
            row("NR003", Medium, "partial", &["Pod partial/web"]),
            row("NR003", Medium, "plain", &["Pod plain/web"]),
            row("NR004", Low, "locked", &["Pod locked/vault"]),
            row("NR004", Low, "partial", &["Pod partial/db", "Pod partial/web"]),
            row("NR004", Low, "plain", &["Pod plain/web"]),
        ]
    );
    let message = |id: &str, ns: &str, severity: Severity| {
        of(&r, id)
            .into_iter()
            .find(|f| f.namespace.as_deref() == Some(ns) && f.severity == severity)
            .unwrap()
            .message
            .clone()
    };
    let guarded = message("NR001", "guarded", Low);
    assert!(guarded.contains("but BaselineAdminNetworkPolicy default (Baseline tier) denies by default"), "{guarded}");
    assert!(guarded.contains("ingress from outside the cluster"), "{guarded}");
    assert!(message("NR001", "locked", Low).contains("AdminNetworkPolicy lock (Admin tier)"));
    assert!(
        message("NR003", "partial", Low).contains("1 of 2 pod(s) in namespace partial")
            && message("NR003", "partial", Low).contains("ClusterNetworkPolicy db-baseline (Baseline tier)")
    );
    assert!(message("NR003", "partial", Medium)
        .starts_with("1 of 2 pod(s) in namespace partial are selected by no NetworkPolicy for Ingress: they accept"));
}

#[test]
fn tiers_walkthrough_fixture_is_default_denied_by_the_baseline() {
    // fixtures/tiers: the BANP denies ingress from every namespace to every namespace.
    let r = report("tiers");
    for f in of(&r, "NR001").into_iter().chain(of(&r, "NR003")) {
        if f.severity == Severity::Low {
            assert!(f.message.contains("Baseline tier"), "{}", f.message);
        }
    }
}

#[test]
fn operators_lower_and_name_the_custom_resource() {
    use Severity::{Info, Low};
    let r = report_with_skipped("audit-real/operators");
    assert_eq!(
        only(&r, &["NR011", "NR012"]),
        vec![
            row("NR011", Low, "default", &["NetworkPolicy default/orphan spec.podSelector"]),
            row("NR011", Info, "kafka", &["NetworkPolicy kafka/events-kafka spec.podSelector"]),
            row("NR011", Info, "monitoring", &["NetworkPolicy monitoring/prometheus-k8s spec.podSelector"]),
            row("NR011", Low, "monitoring", &["NetworkPolicy monitoring/wrong-instance spec.podSelector"]),
            row("NR012", Info, "kafka", &["NetworkPolicy kafka/events-kafka spec.ingress[0].from[0]"]),
            row("NR012", Info, "monitoring", &["NetworkPolicy monitoring/grafana spec.ingress[0].from[0]"]),
            row("NR012", Low, "monitoring", &["NetworkPolicy monitoring/grafana spec.ingress[0].from[1]"]),
        ]
    );
    let msg =
        |name: &str, id: &str| of(&r, id).into_iter().find(|f| f.objects[0].name == name).unwrap().message.clone();
    assert!(msg("prometheus-k8s", "NR011").ends_with(
        "yet: the pods may be created later by an operator from Prometheus monitoring/k8s (prometheus-operator)"
    ));
    assert!(msg("events-kafka", "NR011").contains("from Kafka kafka/events (Strimzi)"));
    assert!(msg("events-kafka", "NR012").contains("from Alertmanager monitoring/main (prometheus-operator)"));
    // Without the skipped objects (audit()), nothing is lowered.
    let plain = report("audit-real/operators");
    assert!(of(&plain, "NR011").iter().chain(of(&plain, "NR012").iter()).all(|f| f.severity == Low));
}

#[test]
fn info_findings_are_counted_and_fail_only_at_info() {
    let out = netreach(&["audit", "--fail-on", "low", fixtures().join("audit-real/operators").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1)); // Low findings remain
    let text = String::from_utf8(out.stdout).unwrap();
    // The high one is NR017: grafana has no egress policy, so it reaches cloud-metadata.
    assert!(text.contains("11 finding(s): 1 high, 1 medium, 5 low, 4 info"), "{text}");
    assert!(text.contains("HIGH   NR017 pod-reaches-cloud-metadata  [monitoring]"), "{text}");
    assert!(text.contains("INFO   NR011"), "{text}");
}

// ---- through the binary ----

fn clean_cluster() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("clean.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: app, labels: {app: web}}\n\
         spec: {containers: [{name: web, image: nginx}]}\n---\n\
         apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: default-deny, namespace: app}\n\
         spec: {podSelector: {}, policyTypes: [Ingress, Egress]}\n",
    )
    .unwrap();
    dir
}

#[test]
fn fail_on_sets_the_exit_code() {
    // weak: highest severity high; shop: high only for NR017 (its pods without egress policy reach
    // cloud-metadata), else medium (see above); clean: no finding.
    let code = |args: &[&str]| netreach(args).status.code();
    assert_eq!(code(&["audit", "weak", "-q"]), Some(0), "without --fail-on always 0");
    assert_eq!(code(&["audit", "weak", "-q", "--fail-on", "high"]), Some(1));
    assert_eq!(code(&["audit", "shop", "--fail-on", "high"]), Some(1));
    assert_eq!(code(&["audit", "shop", "--fail-on", "medium"]), Some(1));
    assert_eq!(code(&["audit", "shop", "--fail-on", "low"]), Some(1));
    let clean = clean_cluster();
    let path = clean.path().to_str().unwrap();
    let out = netreach(&["audit", path, "--fail-on", "low"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("no findings"));
}

#[test]
fn bad_input_exits_2_with_nothing_on_stdout() {
    let out = netreach(&["audit", "small/bad/bad-cidr.yaml", "--fail-on", "low"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("error: "));
    assert_eq!(netreach(&["audit", "weak", "--fail-on", "critical"]).status.code(), Some(2));
}

#[test]
fn json_is_the_documented_contract() {
    let out = netreach(&["audit", "weak", "-q", "-o", "json"]);
    assert_eq!(out.status.code(), Some(0));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["schemaVersion"], 1);
    let findings = doc["findings"].as_array().unwrap();
    assert_eq!(findings.iter().filter(|f| f.get("destination").is_none()).count(), 20, "besides NR017-NR020");
    for f in findings {
        for key in ["id", "name", "severity", "namespace", "objects", "message", "fix"] {
            assert!(f.get(key).is_some(), "finding lacks {key}: {f}");
        }
        for o in f["objects"].as_array().unwrap() {
            for key in ["kind", "namespace", "name", "field"] {
                assert!(o.get(key).is_some(), "object lacks {key}: {o}");
            }
        }
    }
    let nr008 = findings.iter().find(|f| f["id"] == "NR008").unwrap();
    assert_eq!(nr008["severity"], "high");
    assert_eq!(nr008["name"], "egress-to-internet-all-ports");
    assert_eq!(
        nr008["objects"][0],
        serde_json::json!({"kind": "NetworkPolicy", "namespace": "web", "name": "frontend", "field": "spec.egress[1].to[0]"})
    );
    let ns = findings.iter().find(|f| f["id"] == "NR001").unwrap();
    assert_eq!(
        ns["objects"][0],
        serde_json::json!({"kind": "Namespace", "namespace": null, "name": "billing", "field": null})
    );
    let web = doc["segmentation"].as_array().unwrap().iter().find(|s| s["namespace"] == "web").unwrap();
    assert_eq!(
        *web,
        serde_json::json!({"namespace": "web", "pods": 5, "possiblePairs": 65, "allowedPairs": 6, "deniedPairs": 59, "score": 0.9076923076923076})
    );
}

#[test]
fn markdown_snapshot() {
    let out = netreach(&["audit", "weak", "-q", "-o", "md"]);
    assert_eq!(out.status.code(), Some(0));
    assert_run_snapshot!(out);
}

#[test]
fn mesh_findings_are_part_of_the_audit() {
    // The Istio fixture has a pod opted out of injection in a meshed namespace and a port with
    // mTLS disabled: the mesh checks (NR101+) report them inside `netreach audit` too.
    let report = report("mesh/istio-bookinfo-like");
    let mesh: Vec<&str> =
        report.findings.iter().map(|f| f.id).filter(|id| id.starts_with("NR1") && id.len() == 5).collect();
    assert!(!mesh.is_empty(), "{:?}", report.findings.iter().map(|f| f.id).collect::<Vec<_>>());
    assert!(of(&report, "NR101").iter().chain(of(&report, "NR103").iter()).count() > 0);
}

#[test]
fn json_snapshot_shop() {
    assert_run_snapshot!(netreach(&["audit", "shop", "-o", "json"]));
}
