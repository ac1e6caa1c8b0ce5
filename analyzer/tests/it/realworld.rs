//! Acceptance test on real manifest sets nobody on the project wrote (`shared/realworld/`: Helm-rendered
//! bitnami charts, kustomize output, install.yaml files, the network-policy-recipes, Cilium/Calico
//! tutorials, cluster exports; its README.md says where each set comes from).
//!
//! 1. every set loads: `connectivity -o summary` and `audit -o json` exit 0 with pods;
//! 2. every set has a few verdicts worked out by hand from the manifests (NetworkPolicy rules, pod
//!    labels, namespaces), never copied from netreach's output; the comment above each names the
//!    policy and rule that decide it;
//! 3. policies netreach does not evaluate (Cilium, Istio; Calico would be the same) are warned about
//!    with the right count and listed in `unevaluatedPolicies`.
//!
//! In CI the folder is `../shared/realworld` next to the repository; when it is absent (a developer's
//! checkout) every test prints a skip message and passes.
//!
//! Workloads are named `ns/Kind/name` rather than by the name of their synthesized pod, which is about
//! to change (replicas `name-0`, …); `can` answers "allowed" when at least one pod pair is allowed.
//! A few sets need a pod that the manifests imply but do not contain (a client without the label a
//! chart's policy asks for; the Prometheus pod prometheus-operator creates from its custom resource):
//! those are written to a temporary file, labelled exactly as the manifests say, and passed as an
//! extra PATH.

use crate::support::netreach;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Once;

/// Every set of the folder, each with its verdict test below (a new set without verdicts fails
/// `every_set_has_hand_checked_verdicts`).
const SETS: &[&str] = &[
    "argocd-ha-install",
    "argocd-install",
    "bitnami-argo-cd",
    "bitnami-jupyterhub",
    "bitnami-kafka",
    "bitnami-postgresql",
    "bitnami-redis",
    "bitnami-wordpress",
    "cilium-namespaces",
    "cilium-starwars",
    "kube-prometheus",
    "msdemo-helm-netpol",
    "msdemo-kustomize-netpol",
    "msdemo-kustomize-rendered",
    "msdemo-manifests",
    "npa-acs-security-demos",
    "npa-k8s-ingress-test",
    "npa-minikube-resources",
    "npapi-walkthrough",
    "recipes-01",
    "recipes-02",
    "recipes-02a",
    "recipes-03",
    "recipes-04",
    "recipes-05",
    "recipes-06",
    "recipes-07",
    "recipes-08",
    "recipes-09",
    "recipes-10",
    "recipes-11",
    "recipes-12",
    "recipes-14",
    "tigera-stars-yaobank",
];

fn root() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/realworld");
    if dir.is_dir() {
        return Some(dir);
    }
    static SKIP: Once = Once::new();
    SKIP.call_once(|| {
        // Written to the real stderr, not the captured one, so that `cargo test` shows it.
        let _ = writeln!(
            std::io::stderr(),
            "realworld: SKIPPED: {} not found (CI has it next to the repository; clone the shared folder there to run these tests)",
            dir.display()
        );
    });
    None
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A set, plus the extra manifests (probe pods) of its test.
struct Set {
    name: &'static str,
    paths: Vec<String>,
    _probes: Option<tempfile::TempDir>,
}

/// A kustomization (msdemo-kustomize-netpol, msdemo-manifests) is rendered with `kubectl
/// kustomize` or `kustomize build`; without either on PATH netreach exits 2 with the command to
/// run (asserted in `every_set_loads_and_audits`), and its verdicts are skipped.
fn unrenderable(dir: &Path) -> bool {
    let on_path = |program: &str| {
        std::env::var_os("PATH").is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(program).is_file()))
    };
    dir.join("kustomization.yaml").is_file() && !on_path("kubectl") && !on_path("kustomize")
}

fn set(name: &'static str) -> Option<Set> {
    let dir = root()?.join(name);
    assert!(dir.is_dir(), "{name} is missing from the realworld folder");
    if unrenderable(&dir) {
        let _ = writeln!(
            std::io::stderr(),
            "realworld: {name} SKIPPED: a kustomization, and neither kubectl nor kustomize is on PATH"
        );
        return None;
    }
    Some(Set { name, paths: vec![dir.to_str().unwrap().to_owned()], _probes: None })
}

/// The set with `probes` (YAML) added as one more input file.
fn set_with(name: &'static str, probes: &str) -> Option<Set> {
    let mut s = set(name)?;
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("probes.yaml");
    std::fs::write(&file, probes).unwrap();
    s.paths.push(file.to_str().unwrap().to_owned());
    s._probes = Some(tmp);
    Some(s)
}

fn can(s: &Set, from: &str, to: &str, port: &str) -> (bool, String) {
    let mut args = vec!["can", from, to, "--port", port];
    args.extend(s.paths.iter().map(String::as_str));
    let out = netreach(&args);
    let shown = format!("{}: can {from} {to} --port {port}:\n{}{}", s.name, text(&out.stdout), text(&out.stderr));
    match out.status.code() {
        Some(0) => (true, shown),
        Some(1) => (false, shown),
        _ => panic!("exit {:?}: {shown}", out.status.code()),
    }
}

#[track_caller]
fn allowed(s: &Set, from: &str, to: &str, port: &str) {
    let (yes, shown) = can(s, from, to, port);
    assert!(yes, "expected ALLOWED by hand reading, netreach says denied: {shown}");
}

#[track_caller]
fn denied(s: &Set, from: &str, to: &str, port: &str) {
    let (yes, shown) = can(s, from, to, port);
    assert!(!yes, "expected DENIED by hand reading, netreach says allowed: {shown}");
}

/// The `pods:` count of `connectivity -o summary`.
fn pods(summary: &str) -> usize {
    let line = summary.lines().find(|l| l.starts_with("pods:")).unwrap_or_else(|| panic!("no pods line: {summary}"));
    line["pods:".len()..].split_whitespace().next().unwrap().parse().unwrap()
}

// ---------------------------------------------------------------------------------------------
// 1. Every set loads.

#[test]
fn every_set_loads_and_audits() {
    let Some(root) = root() else { return };
    let found: Vec<String> = {
        let mut v: Vec<String> = std::fs::read_dir(&root)
            .unwrap()
            .map(|e| e.unwrap())
            .filter(|e| e.file_type().unwrap().is_dir())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    assert!(!found.is_empty());
    // The sets run in parallel: the large ones (argocd, kube-prometheus with its CRDs) take ~1 s in debug.
    let failures: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = found
            .iter()
            .map(|name| {
                let dir = root.join(name);
                scope.spawn(move || -> Result<(), String> {
                    if unrenderable(&dir) {
                        let out = netreach(&["connectivity", dir.to_str().unwrap()]);
                        let err = text(&out.stderr);
                        if out.status.code() != Some(2) || !err.contains("kubectl kustomize") {
                            return Err(format!("{name}: no renderer, yet exit {:?}: {err}", out.status.code()));
                        }
                        return Ok(());
                    }
                    let dir = dir.to_str().unwrap();
                    let out = netreach(&["connectivity", dir, "-o", "summary"]);
                    if out.status.code() != Some(0) {
                        return Err(format!(
                            "{name}: connectivity exit {:?}: {}",
                            out.status.code(),
                            text(&out.stderr)
                        ));
                    }
                    let n = pods(&text(&out.stdout));
                    if n == 0 {
                        return Err(format!("{name}: connectivity found no pod"));
                    }
                    let out = netreach(&["audit", dir, "-o", "json"]);
                    if out.status.code() != Some(0) {
                        return Err(format!("{name}: audit exit {:?}: {}", out.status.code(), text(&out.stderr)));
                    }
                    let json: serde_json::Value =
                        serde_json::from_slice(&out.stdout).map_err(|e| format!("{name}: audit JSON: {e}"))?;
                    let segmented: u64 = json["segmentation"]
                        .as_array()
                        .ok_or(format!("{name}: no segmentation"))?
                        .iter()
                        .map(|s| s["pods"].as_u64().unwrap())
                        .sum();
                    if segmented == 0 {
                        return Err(format!("{name}: audit counts no pod"));
                    }
                    Ok(())
                })
            })
            .collect();
        handles.into_iter().filter_map(|h| h.join().unwrap().err()).collect()
    });
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_set_has_hand_checked_verdicts() {
    let Some(root) = root() else { return };
    let mut found: Vec<String> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    found.sort();
    assert_eq!(found, SETS, "a set was added or removed: give it hand-checked verdicts below and list it in SETS");
}

#[test]
fn pod_counts_worked_out_by_hand() {
    let Some(root) = root() else { return };
    // npa-minikube-resources/pods.yaml: 12 pods, of which ingress-nginx-admission-create-hp47w and
    // ingress-nginx-admission-patch-bbhhb are `phase: Succeeded` (completed Jobs) and do not count.
    // recipes-01/pods.yaml: web and test-1. npapi-walkthrough: Deployment a (no pod: one stands in),
    // Pod b, Pod demo2/nginx.
    for (name, expected) in [("npa-minikube-resources", 10), ("recipes-01", 2), ("npapi-walkthrough", 3)] {
        let out = netreach(&["connectivity", root.join(name).to_str().unwrap(), "-o", "summary", "-q"]);
        assert_eq!(pods(&text(&out.stdout)), expected, "{name}");
    }
}

// ---------------------------------------------------------------------------------------------
// 2. Verdicts by hand, per set.

#[test]
fn recipes_01_deny_all_traffic_to_an_application() {
    let Some(s) = set("recipes-01") else { return };
    // web-deny-all: podSelector app=web, `ingress: []` → web isolated for ingress, no rule allows anything.
    denied(&s, "default/test-1", "default/web", "80/TCP");
    // No policy selects test-1 (run=test-1) and none selects web for Egress: web's egress is open.
    allowed(&s, "default/web", "default/test-1", "80/TCP");
}

#[test]
fn recipes_02_limit_traffic_to_an_application() {
    let Some(s) = set("recipes-02") else { return };
    // api-allow: podSelector app=bookstore,role=api (apiserver); ingress[0].from[0] podSelector app=bookstore:
    // test-2 has app=bookstore (role=frontend) → allowed on every port.
    allowed(&s, "default/test-2", "default/apiserver", "80/TCP");
    // test-1 has only run=test-1: no peer matches.
    denied(&s, "default/test-1", "default/apiserver", "80/TCP");
    // api-allow does not select test-2 (role=frontend, not api): its ingress is open.
    allowed(&s, "default/test-1", "default/test-2", "80/TCP");
}

#[test]
fn recipes_02a_allow_all_traffic_to_an_application() {
    let Some(s) = set("recipes-02a") else { return };
    // web-deny-all (ingress: []) and web-allow-all (ingress: [{}]) both select app=web; policies are
    // additive, so web-allow-all's empty rule (every source, every port) wins.
    allowed(&s, "default/test-1", "default/web", "80/TCP");
    // ... on every port and protocol: the rule has no `ports`.
    allowed(&s, "default/test-1", "default/web", "5353/UDP");
    // ... and from outside the cluster: the rule has no `from`.
    allowed(&s, "198.51.100.7", "default/web", "80/TCP");
}

#[test]
fn recipes_03_deny_all_non_whitelisted_traffic_in_the_namespace() {
    let Some(s) = set("recipes-03") else { return };
    // default-deny-all: podSelector {} in default, ingress: [] → every pod of default is isolated for ingress.
    denied(&s, "default/test-1", "default/web", "80/TCP");
    denied(&s, "default/web", "default/test-1", "80/TCP");
    // Only Ingress is isolated (policyTypes defaults to [Ingress]): egress to outside is open.
    allowed(&s, "default/web", "203.0.113.1", "443/TCP");
}

#[test]
fn recipes_04_deny_traffic_from_other_namespaces() {
    let Some(s) = set("recipes-04") else { return };
    // deny-from-other-namespaces: podSelector `matchLabels:` (null: every pod of default); ingress[0].from[0]
    // podSelector {} without namespaceSelector = every pod of the policy's own namespace (default).
    allowed(&s, "default/test-2", "default/web", "80/TCP");
    denied(&s, "foo/test-1", "default/web", "80/TCP");
    // Nothing selects pods in foo.
    allowed(&s, "default/web", "foo/test-1", "80/TCP");
}

#[test]
fn recipes_05_allow_traffic_from_all_namespaces() {
    let Some(s) = set("recipes-05") else { return };
    // web-allow-all-namespaces: podSelector app=web; ingress[0].from[0] namespaceSelector {} = every pod of
    // every namespace.
    allowed(&s, "secondary/test-1", "default/web", "80/TCP");
    // ... but not addresses outside the cluster: namespaceSelector selects pods only.
    denied(&s, "203.0.113.9", "default/web", "80/TCP");
}

#[test]
fn recipes_06_allow_traffic_from_a_namespace() {
    let Some(s) = set("recipes-06") else { return };
    // web-allow-prod: podSelector app=web; ingress[0].from[0] namespaceSelector purpose=production:
    // namespace prod has purpose=production, dev has purpose=testing.
    allowed(&s, "prod/test-2", "default/web", "80/TCP");
    denied(&s, "dev/test-1", "default/web", "80/TCP");
}

#[test]
fn recipes_07_allow_traffic_from_some_pods_in_another_namespace() {
    let Some(s) = set("recipes-07") else { return };
    // web-allow-all-ns-monitoring: ingress[0].from[0] is ONE peer with namespaceSelector team=operations AND
    // podSelector type=monitoring (both must match).
    // test-4: namespace other (team=operations), type=monitoring → both match.
    allowed(&s, "other/test-4", "default/web", "80/TCP");
    // test-3: right namespace, no type=monitoring.
    denied(&s, "other/test-3", "default/web", "80/TCP");
    // test-2: type=monitoring but namespace default has no team=operations label.
    denied(&s, "default/test-2", "default/web", "80/TCP");
}

#[test]
fn recipes_08_allow_external_traffic() {
    let Some(s) = set("recipes-08") else { return };
    // web-allow-external: podSelector app=web; `ingress: [{}]` → every source, including outside addresses,
    // every port.
    allowed(&s, "203.0.113.50", "default/web", "80/TCP");
    allowed(&s, "203.0.113.50", "default/web", "8443/TCP");
}

#[test]
fn recipes_09_allow_traffic_only_to_a_port() {
    let Some(s) = set("recipes-09") else { return };
    // api-allow-5000: podSelector app=apiserver; ingress[0] ports [{port: 5000}] (protocol defaults to TCP)
    // from podSelector role=monitoring (test-2).
    allowed(&s, "default/test-2", "default/apiserver", "5000/TCP");
    // Port not listed.
    denied(&s, "default/test-2", "default/apiserver", "80/TCP");
    // Protocol defaults to TCP: UDP 5000 is not listed.
    denied(&s, "default/test-2", "default/apiserver", "5000/UDP");
    // test-1 (run=test-1) is not role=monitoring.
    denied(&s, "default/test-1", "default/apiserver", "5000/TCP");
}

#[test]
fn recipes_10_allow_traffic_with_multiple_selectors() {
    let Some(s) = set("recipes-10") else { return };
    // redis-allow-services: podSelector app=bookstore,role=db (db); ingress[0].from: three podSelectors ORed,
    // from[2] = app=inventory,role=web (test-1).
    allowed(&s, "default/test-1", "default/db", "6379/TCP");
    // test-2 (app=other) matches none of the three.
    denied(&s, "default/test-2", "default/db", "6379/TCP");
}

#[test]
fn recipes_11_deny_egress_traffic_from_an_application() {
    let Some(s) = set("recipes-11") else { return };
    // foo-deny-egress: podSelector app=foo (test), policyTypes [Egress]; egress[0] to namespaceSelector
    // kubernetes.io/metadata.name=kube-system AND podSelector k8s-app=kube-dns, ports 53/UDP, 53/TCP.
    allowed(&s, "default/test", "kube-system/coredns", "53/UDP");
    // Port not in egress[0].
    denied(&s, "default/test", "kube-system/coredns", "80/TCP");
    // web is not kube-dns in kube-system.
    denied(&s, "default/test", "default/web", "80/TCP");
    // Only test is isolated (for egress only): web → test is open.
    allowed(&s, "default/web", "default/test", "80/TCP");
}

#[test]
fn recipes_12_deny_all_egress_traffic_from_a_namespace() {
    let Some(s) = set("recipes-12") else { return };
    // default-deny-all-egress: podSelector {} in default, policyTypes [Egress], egress: [] → no pod of default
    // can send anything.
    denied(&s, "default/test-1", "default/web", "80/TCP");
    denied(&s, "default/web", "203.0.113.1", "443/TCP");
    // Ingress is not isolated: from outside to web is open.
    allowed(&s, "203.0.113.1", "default/web", "80/TCP");
}

#[test]
fn recipes_14_deny_external_egress_traffic() {
    let Some(s) = set("recipes-14") else { return };
    // foo-deny-external-egress: podSelector app=foo (test), policyTypes [Egress]; egress[0] only to
    // kube-system/k8s-app=kube-dns on 53/UDP and 53/TCP.
    allowed(&s, "default/test", "kube-system/coredns", "53/TCP");
    denied(&s, "default/test", "8.8.8.8", "443/TCP");
    // web is not selected: its egress to outside is open.
    allowed(&s, "default/web", "8.8.8.8", "443/TCP");
}

#[test]
fn msdemo_manifests_without_policies_allow_everything() {
    let Some(s) = set("msdemo-manifests") else { return };
    // No NetworkPolicy in kubernetes-manifests/: no pod is isolated. The folder is a
    // kustomization, rendered: its resources list every file but loadgenerator.yaml, so there is
    // no loadgenerator (reading the raw folder would have one).
    allowed(&s, "default/Deployment/frontend", "default/Deployment/redis-cart", "6379/TCP");
    allowed(&s, "default/Deployment/checkoutservice", "default/Deployment/paymentservice", "50051/TCP");
    let mut args = vec!["connectivity", "-o", "json", "-q"];
    args.extend(s.paths.iter().map(String::as_str));
    let out = String::from_utf8(netreach(&args).stdout).unwrap();
    assert!(!out.contains("loadgenerator") && out.contains("checkoutservice"), "{out}");
}

/// The Online Boutique network-policies component, as kustomize files, rendered, or from the Helm chart.
fn msdemo_network_policies(s: &Set, ns: &str) {
    let w = |name: &str| format!("{ns}/Deployment/{name}");
    // cartservice: ingress[0] from podSelector app=frontend (from[0]) or app=checkoutservice, ports 7070/TCP;
    // frontend's own policy has egress [{}].
    allowed(s, &w("frontend"), &w("cartservice"), "7070/TCP");
    // redis-cart: ingress[0] from podSelector app=cartservice only, 6379/TCP.
    denied(s, &w("frontend"), &w("redis-cart"), "6379/TCP");
    allowed(s, &w("cartservice"), &w("redis-cart"), "6379/TCP");
    // loadgenerator's policy is Egress-only; deny-all (podSelector {}, policyTypes [Ingress, Egress], no
    // rules) isolates its ingress.
    denied(s, &w("frontend"), &w("loadgenerator"), "8080/TCP");
}

#[test]
fn msdemo_kustomize_netpol() {
    let Some(s) = set("msdemo-kustomize-netpol") else { return };
    msdemo_network_policies(&s, "default");
}

#[test]
fn msdemo_kustomize_rendered() {
    let Some(s) = set("msdemo-kustomize-rendered") else { return };
    msdemo_network_policies(&s, "default");
}

#[test]
fn msdemo_helm_netpol() {
    let Some(s) = set("msdemo-helm-netpol") else { return };
    msdemo_network_policies(&s, "onlineboutique");
}

#[test]
fn argocd_install() {
    let Some(s) = set("argocd-install") else { return };
    // argocd-repo-server-network-policy: ingress[0] from podSelector app.kubernetes.io/name=argocd-server
    // (from[0]), …-application-controller, …-notifications-controller, …-applicationset-controller on 8081/TCP.
    allowed(&s, "default/Deployment/argocd-server", "default/Deployment/argocd-repo-server", "8081/TCP");
    // argocd-dex-server is not among those peers.
    denied(&s, "default/Deployment/argocd-dex-server", "default/Deployment/argocd-repo-server", "8081/TCP");
    // ingress[1]: from namespaceSelector {} (every pod of every namespace) on 8084 (metrics).
    allowed(&s, "default/Deployment/argocd-dex-server", "default/Deployment/argocd-repo-server", "8084/TCP");
    // ... which is no external address.
    denied(&s, "203.0.113.7", "default/Deployment/argocd-repo-server", "8084/TCP");
}

#[test]
fn argocd_ha_install() {
    let Some(s) = set("argocd-ha-install") else { return };
    // argocd-redis-ha-server-network-policy (podSelector app.kubernetes.io/name=argocd-redis-ha):
    // ingress[0] from podSelector argocd-redis-ha-haproxy on 6379/TCP, 26379/TCP.
    allowed(&s, "default/Deployment/argocd-redis-ha-haproxy", "default/StatefulSet/argocd-redis-ha-server", "6379/TCP");
    // egress[0] only to podSelector argocd-redis-ha on 6379/26379, egress[1] only 53/UDP+TCP: argocd-server's
    // open ingress (argocd-server-network-policy ingress [{}]) does not help.
    denied(&s, "default/StatefulSet/argocd-redis-ha-server", "default/Deployment/argocd-server", "8080/TCP");
    // egress[1] has no `to`: DNS anywhere.
    allowed(&s, "default/StatefulSet/argocd-redis-ha-server", "8.8.8.8", "53/UDP");
    // argocd-redis-ha-proxy-network-policy: 6379 only from argocd-server, -repo-server, -application-controller.
    denied(&s, "default/Deployment/argocd-dex-server", "default/Deployment/argocd-redis-ha-haproxy", "6379/TCP");
}

#[test]
fn kube_prometheus() {
    // prometheus-operator creates the Prometheus pods from `Prometheus monitoring/k8s`
    // (manifests/prometheus-prometheus.yaml): spec.podMetadata.labels, verbatim.
    let probes = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: prometheus-k8s-0\n  namespace: monitoring\n  labels:\n    app.kubernetes.io/component: prometheus\n    app.kubernetes.io/instance: k8s\n    app.kubernetes.io/name: prometheus\n    app.kubernetes.io/part-of: kube-prometheus\n    app.kubernetes.io/version: 3.13.2\nspec:\n  containers:\n  - name: prometheus\n    image: prometheus\n    ports: [{name: web, containerPort: 9090}]\n";
    let Some(s) = set_with("kube-prometheus", probes) else { return };
    // prometheus-networkPolicy.yaml, prometheus-k8s: ingress[2] from podSelector app.kubernetes.io/name=grafana
    // on 9090/TCP; grafana-networkPolicy.yaml: egress [{}].
    allowed(&s, "monitoring/Deployment/grafana", "monitoring/prometheus-k8s-0", "9090/TCP");
    // 8080 is only in ingress[0] (from app.kubernetes.io/name=prometheus).
    denied(&s, "monitoring/Deployment/grafana", "monitoring/prometheus-k8s-0", "8080/TCP");
    // kube-state-metrics: ingress[0] from app.kubernetes.io/name=prometheus on 8443/TCP, 9443/TCP.
    allowed(&s, "monitoring/prometheus-k8s-0", "monitoring/Deployment/kube-state-metrics", "8443/TCP");
    denied(&s, "monitoring/Deployment/grafana", "monitoring/Deployment/kube-state-metrics", "8443/TCP");
}

#[test]
fn bitnami_postgresql() {
    // Two clients the chart's policies speak of: one without any label, one with the
    // `pg-postgresql-primary-client: "true"` label that allowExternal=false asks for.
    let probes = "apiVersion: v1\nkind: Pod\nmetadata: {name: app-without-label, namespace: db, labels: {app: myapp}}\nspec: {containers: [{name: c, image: app}]}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: app-primary-client, namespace: db, labels: {app: myapp, pg-postgresql-primary-client: \"true\"}}\nspec: {containers: [{name: c, image: app}]}\n";
    let Some(s) = set_with("bitnami-postgresql", probes) else { return };
    // NetworkPolicy db/pg-postgresql-primary: ingress[0] ports 5432, 9187 from podSelector
    // app.kubernetes.io/instance=pg,name=postgresql (from[0]) or pg-postgresql-primary-client=true (from[1]).
    denied(&s, "db/app-without-label", "db/StatefulSet/pg-postgresql-primary", "5432/TCP");
    allowed(&s, "db/app-primary-client", "db/StatefulSet/pg-postgresql-primary", "5432/TCP");
    // db/pg-postgresql-read asks for pg-postgresql-read-client=true instead.
    denied(&s, "db/app-primary-client", "db/StatefulSet/pg-postgresql-read", "5432/TCP");
    // The chart's own pods: from[0]; the read replicas' egress is [{}].
    allowed(&s, "db/StatefulSet/pg-postgresql-read", "db/StatefulSet/pg-postgresql-primary", "5432/TCP");
    // db/pg-postgresql-primary-pgdumpall (Egress only): egress[0] ports 5432/TCP, 53/TCP, 53/UDP, no `to`:
    // 9187 is open on the primary's side (ingress[0]) but not on the backup job's.
    denied(&s, "db/CronJob/pg-postgresql-primary-pgdumpall", "db/StatefulSet/pg-postgresql-primary", "9187/TCP");
}

#[test]
fn bitnami_redis() {
    let probes = "apiVersion: v1\nkind: Pod\nmetadata: {name: app-without-label, namespace: cache, labels: {app: myapp}}\nspec: {containers: [{name: c, image: app}]}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: app-client, namespace: cache, labels: {app: myapp, cache-redis-client: \"true\"}}\nspec: {containers: [{name: c, image: app}]}\n";
    let Some(s) = set_with("bitnami-redis", probes) else { return };
    // NetworkPolicy cache/cache-redis: ingress[0] 6379 from podSelector cache-redis-client=true or
    // app.kubernetes.io/instance=cache,name=redis; ingress[1] 9121 (metrics) from anywhere.
    denied(&s, "cache/app-without-label", "cache/StatefulSet/cache-redis-master", "6379/TCP");
    allowed(&s, "cache/app-client", "cache/StatefulSet/cache-redis-master", "6379/TCP");
    allowed(&s, "cache/app-without-label", "cache/StatefulSet/cache-redis-master", "9121/TCP");
    allowed(&s, "cache/StatefulSet/cache-redis-replicas", "cache/StatefulSet/cache-redis-master", "6379/TCP");
}

#[test]
fn bitnami_kafka() {
    let Some(s) = set("bitnami-kafka") else { return };
    // NetworkPolicy kafka/events-kafka-controller (default values: allowExternal true): ingress[0] ports
    // 9093, 9092, 9094 without `from` → from anywhere, outside addresses included.
    allowed(&s, "203.0.113.20", "kafka/StatefulSet/events-kafka-controller", "9092/TCP");
    denied(&s, "203.0.113.20", "kafka/StatefulSet/events-kafka-controller", "22/TCP");
    // egress [{}].
    allowed(&s, "kafka/StatefulSet/events-kafka-controller", "203.0.113.20", "443/TCP");
}

#[test]
fn bitnami_wordpress() {
    let Some(s) = set("bitnami-wordpress") else { return };
    // NetworkPolicy blog/blog-mariadb: podSelector includes version 12.0.2 and chart mariadb-23.0.1, which the
    // StatefulSet's template carries; ingress[0] ports 3306 (twice) without `from`.
    allowed(&s, "blog/Deployment/blog-wordpress", "blog/StatefulSet/blog-mariadb", "3306/TCP");
    allowed(&s, "203.0.113.10", "blog/StatefulSet/blog-mariadb", "3306/TCP");
    // blog/blog-memcached: ingress[0] ports 11211 only.
    denied(&s, "blog/Deployment/blog-wordpress", "blog/Deployment/blog-memcached", "3306/TCP");
    allowed(&s, "blog/Deployment/blog-wordpress", "blog/Deployment/blog-memcached", "11211/TCP");
}

#[test]
fn bitnami_jupyterhub() {
    let Some(s) = set("bitnami-jupyterhub") else { return };
    let w = |kind_name: &str| format!("jupyterhub/{kind_name}");
    // jhub-jupyterhub-proxy egress[0]: to podSelector component=hub on 8081; jhub-jupyterhub-hub
    // ingress[0].from[0]: podSelector hub.jupyter.org/network-access-hub=true AND namespaceSelector {} — the
    // proxy pod carries that label.
    allowed(&s, &w("Deployment/jhub-jupyterhub-proxy"), &w("Deployment/jhub-jupyterhub-hub"), "8081/TCP");
    // The postgresql pod has no network-access-hub label and namespace jupyterhub none either (from[1]).
    denied(&s, &w("StatefulSet/jhub-postgresql"), &w("Deployment/jhub-jupyterhub-hub"), "8081/TCP");
    // hub egress: [0] proxy 8001, [1] singleuser 8888, [2] 53, [3] 5432 — nothing to proxy 8000, although
    // jhub-jupyterhub-proxy ingress[0] opens 8000 to everyone.
    denied(&s, &w("Deployment/jhub-jupyterhub-hub"), &w("Deployment/jhub-jupyterhub-proxy"), "8000/TCP");
    // jhub-jupyterhub-image-puller: policyTypes [Ingress, Egress], `ingress: null` → isolated, nothing allowed in.
    denied(&s, "203.0.113.30", &w("DaemonSet/jhub-jupyterhub-image-puller"), "80/TCP");
    // hub egress[3] 5432 anywhere; jhub-postgresql ingress[0] ports 5432 without `from`.
    allowed(&s, &w("Deployment/jhub-jupyterhub-hub"), &w("StatefulSet/jhub-postgresql"), "5432/TCP");
}

#[test]
fn bitnami_argo_cd() {
    let Some(s) = set("bitnami-argo-cd") else { return };
    // argocd/argocd-argo-cd-repo-server: ingress[0] ports 8081 only, no `from`.
    allowed(&s, "argocd/Deployment/argocd-argo-cd-server", "argocd/Deployment/argocd-argo-cd-repo-server", "8081/TCP");
    // 8084 (metrics) is declared by the container but not listed.
    denied(&s, "argocd/Deployment/argocd-argo-cd-server", "argocd/Deployment/argocd-argo-cd-repo-server", "8084/TCP");
    // argocd/argocd-redis: ingress[0] ports 6379, no `from`.
    allowed(&s, "203.0.113.40", "argocd/StatefulSet/argocd-redis-master", "6379/TCP");
    // argocd/argocd-argo-cd-server: ingress[0] ports 8080 only.
    denied(&s, "argocd/Deployment/argocd-argo-cd-repo-server", "argocd/Deployment/argocd-argo-cd-server", "8083/TCP");
}

#[test]
fn cilium_starwars() {
    let Some(s) = set("cilium-starwars") else { return };
    // The getting-started guide (docs.cilium.io gettingstarted/demo, "Apply an L3/L4 Policy"): after
    // sw_l3_l4_policy.yaml (rule1: endpointSelector org=empire,class=deathstar; ingress fromEndpoints
    // org=empire on 80/TCP) "tiefighter ... Ship landed" while xwing's request hangs.
    allowed(&s, "default/tiefighter", "default/Deployment/deathstar", "80/TCP");
    denied(&s, "default/xwing", "default/Deployment/deathstar", "80/TCP");
    // rule1 names port 80 only: the deathstar is in default deny at ingress on every other port.
    denied(&s, "default/tiefighter", "default/Deployment/deathstar", "8080/TCP");
    // rule1 has no egress section: the deathstar's egress and the ships' ingress are unrestricted.
    allowed(&s, "default/Deployment/deathstar", "default/xwing", "80/TCP");
    allowed(&s, "default/xwing", "default/tiefighter", "443/TCP");
    // The outside world is not org=empire.
    denied(&s, "203.0.113.7", "default/Deployment/deathstar", "80/TCP");
}

#[test]
fn cilium_namespaces() {
    let Some(s) = set("cilium-namespaces") else { return };
    // The two CiliumNetworkPolicies "isolate-ns1" (in ns1 and ns2) select every endpoint of their
    // namespace and allow ingress fromEndpoints `{}`, which a CiliumNetworkPolicy scopes to its own
    // namespace (docs.cilium.io policy/kubernetes "Namespaces"): cross-namespace traffic is dropped,
    // traffic within a namespace is allowed.
    denied(&s, "ns2/luke-pod", "ns1/Deployment/leia-deployment", "80/TCP");
    denied(&s, "ns1/Deployment/leia-deployment", "ns2/vader-pod", "80/TCP");
    allowed(&s, "ns2/luke-pod", "ns2/vader-pod", "80/TCP");
    allowed(&s, "ns2/vader-pod", "ns2/luke-pod", "8080/TCP");
    // No egress section: pods reach the outside world; the world is no endpoint of ns1.
    allowed(&s, "ns1/Deployment/leia-deployment", "203.0.113.7", "443/TCP");
    denied(&s, "203.0.113.7", "ns1/Deployment/leia-deployment", "80/TCP");
}

#[test]
fn tigera_stars_yaobank() {
    let Some(s) = set("tigera-stars-yaobank") else { return };
    // The two heredocs are the applications only (Namespaces, Services, ServiceAccounts, Deployments): no
    // NetworkPolicy and no Calico policy, so everything is allowed, across namespaces too.
    allowed(&s, "client/Deployment/client", "stars/Deployment/backend", "6379/TCP");
    allowed(&s, "management-ui/Deployment/management-ui", "stars/Deployment/frontend", "80/TCP");
    allowed(&s, "yaobank/Deployment/customer", "yaobank/Deployment/database", "2379/TCP");
}

#[test]
fn npa_acs_security_demos() {
    let Some(s) = set("npa-acs-security-demos") else { return };
    // frontend/webapp-netpol egress[0]: to namespaceSelector kubernetes.io/metadata.name=backend AND podSelector
    // app=checkout on 8080/TCP; backend/checkout-netpol ingress[0]: from namespace frontend AND app=webapp, 8080.
    allowed(&s, "frontend/Deployment/webapp", "backend/Deployment/checkout", "8080/TCP");
    // checkout-netpol egress[2]: to namespace payments AND app=gateway on 8080; payments/gateway-netpol
    // ingress[0] from namespace backend AND app=checkout.
    allowed(&s, "backend/Deployment/checkout", "payments/Deployment/gateway", "8080/TCP");
    // webapp's egress names no gateway; default-deny-in-namespace-* isolate everything else.
    denied(&s, "frontend/Deployment/webapp", "payments/Deployment/gateway", "8080/TCP");
    // payments/visa-processor-netpol: ingress[0] from app=gateway on 8080 only (the container also declares 22).
    denied(&s, "payments/Deployment/gateway", "payments/Deployment/visa-processor", "22/TCP");
}

#[test]
fn npa_k8s_ingress_test() {
    let Some(s) = set("npa-k8s-ingress-test") else { return };
    // Live bookinfo pods, no NetworkPolicy (the Ingress object does not restrict pod traffic).
    allowed(&s, "default/productpage-v1-6b746f74dc-kkzzk", "default/details-v1-79f774bdb9-tw7sj", "9080/TCP");
    allowed(&s, "default/ratings-v1-b6994bb9-gl27w", "default/reviews-v3-84779c7bbc-lfjvk", "9080/TCP");
}

#[test]
fn npa_minikube_resources() {
    let Some(s) = set("npa-minikube-resources") else { return };
    // A minikube export without any NetworkPolicy: everything is allowed.
    allowed(
        &s,
        "ingress-nginx/ingress-nginx-controller-6d5f55986b-nqq7m",
        "kube-system/coredns-64897985d-vgg4l",
        "53/UDP",
    );
    allowed(
        &s,
        "kube-system/coredns-64897985d-vgg4l",
        "ingress-nginx/ingress-nginx-controller-6d5f55986b-nqq7m",
        "443/TCP",
    );
}

#[test]
fn npapi_walkthrough() {
    let Some(s) = set("npapi-walkthrough") else { return };
    // anp1 (priority 1, subject every namespace): ingress rule allow-80 Allow from every namespace on TCP 80.
    // The Admin tier decides before NetworkPolicy demo/deny-anything-to-pod-a (podSelector pod=a, ingress: []).
    allowed(&s, "demo/b", "demo/Deployment/a", "80/TCP");
    // Port 81: anp1 does not match; anp2's Pass is only from namespaces development=true (demo has no such
    // label); so NetworkPolicy deny-anything-to-pod-a decides: denied.
    denied(&s, "demo/b", "demo/Deployment/a", "81/TCP");
    // Port 81 to b: no ANP rule matches, no NetworkPolicy selects b, so the BaselineAdminNetworkPolicy
    // `default` rule baseline-deny (Deny from every namespace) decides.
    denied(&s, "demo/Deployment/a", "demo/b", "81/TCP");
    // demo2 (development=true): anp2 passes 81 to the NetworkPolicy tier (none selects b), then the BANP
    // denies; 80 is allowed by anp1 first.
    denied(&s, "demo2/nginx", "demo/b", "81/TCP");
    allowed(&s, "demo2/nginx", "demo/b", "80/TCP");
}

/// The walkthrough's anp2 is written in the AdminNetworkPolicy peer shape of network-policy-api before
/// v0.1.5 (kubernetes-sigs/network-policy-api#196, 2024): `from: [{namespaces: {namespaceSelector:
/// {matchLabels: {development: "true"}}}}]`, i.e. "namespaces labelled development=true". netreach
/// reads it as written, with a warning (it once dropped the unknown field and read "every namespace"):
/// `can demo/b demo/Deployment/a --port 81/TCP` must not name anp2, since demo has no development label.
#[test]
fn npapi_walkthrough_anp2_peer_is_not_every_namespace() {
    let Some(s) = set("npapi-walkthrough") else { return };
    let mut args = vec!["can", "demo/b", "demo/Deployment/a", "--port", "81/TCP"];
    args.extend(s.paths.iter().map(String::as_str));
    let out = netreach(&args);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(!stdout.contains("anp2"), "anp2 matched namespace demo (no development=true label):\n{stdout}{stderr}");
    assert!(stderr.contains("is the peer shape before network-policy-api #196"), "{stderr}");
}

// ---------------------------------------------------------------------------------------------
// 3. Policies netreach does not evaluate are never silent.

/// (set, kind, [(namespace, name)]) counted by hand in the manifests.
type Unevaluated = (&'static str, &'static str, Vec<(&'static str, &'static str)>);

fn unevaluated_by_hand() -> Vec<Unevaluated> {
    vec![
        // rendered.yaml (authorizationPolicies.create): 12 istio AuthorizationPolicies, `deny-all` and one per
        // service that receives traffic (none for loadgenerator), at lines 133 … 1876.
        (
            "msdemo-helm-netpol",
            "AuthorizationPolicy",
            vec![
                ("onlineboutique", "adservice"),
                ("onlineboutique", "cartservice"),
                ("onlineboutique", "checkoutservice"),
                ("onlineboutique", "currencyservice"),
                ("onlineboutique", "deny-all"),
                ("onlineboutique", "emailservice"),
                ("onlineboutique", "frontend"),
                ("onlineboutique", "paymentservice"),
                ("onlineboutique", "productcatalogservice"),
                ("onlineboutique", "recommendationservice"),
                ("onlineboutique", "redis-cart"),
                ("onlineboutique", "shippingservice"),
            ],
        ),
    ]
}

#[test]
fn unevaluated_policies_are_warned_about_and_listed() {
    let Some(root) = root() else { return };
    for (name, kind, objects) in unevaluated_by_hand() {
        let dir = root.join(name);
        let dir = dir.to_str().unwrap();
        for command in ["connectivity", "audit"] {
            // -q silences notes, never these warnings.
            let out = netreach(&[command, dir, "-o", "json", "-q"]);
            assert_eq!(out.status.code(), Some(0), "{name} {command}: {}", text(&out.stderr));
            let err = text(&out.stderr);
            let warning = format!("the answers ignore {} {kind} object(s)", objects.len());
            assert!(err.contains(&warning), "{name} {command}: expected `{warning}` on stderr:\n{err}");
            assert_eq!(err.matches("the answers ignore").count(), 1, "{name} {command}: one kind only:\n{err}");
            let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            let mut listed: Vec<(String, String)> = json["unevaluatedPolicies"]
                .as_array()
                .unwrap_or_else(|| panic!("{name} {command}: no unevaluatedPolicies"))
                .iter()
                .map(|p| {
                    assert_eq!(p["kind"], kind, "{name} {command}: {p}");
                    (p["namespace"].as_str().unwrap().to_owned(), p["name"].as_str().unwrap().to_owned())
                })
                .collect();
            listed.sort();
            let mut expected: Vec<(String, String)> =
                objects.iter().map(|(n, m)| (n.to_string(), m.to_string())).collect();
            expected.sort();
            assert_eq!(listed, expected, "{name} {command}");
        }
    }
}

#[test]
fn tigera_stars_yaobank_has_no_calico_policy_to_ignore() {
    let Some(root) = root() else { return };
    // stars.yaml and yaobank.yaml (the tutorial's two application heredocs) hold no Calico
    // NetworkPolicy/GlobalNetworkPolicy: nothing is ignored, and nothing must claim otherwise.
    let dir = root.join("tigera-stars-yaobank");
    for command in ["connectivity", "audit"] {
        let out = netreach(&[command, dir.to_str().unwrap(), "-o", "json"]);
        assert_eq!(out.status.code(), Some(0));
        assert!(!text(&out.stderr).contains("the answers ignore"), "{}", text(&out.stderr));
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(json["unevaluatedPolicies"].as_array().map(Vec::len), Some(0), "{command}");
    }
}
