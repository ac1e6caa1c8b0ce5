//! `netreach mesh` on fixtures whose statuses are worked out by hand from the manifests and the
//! mesh rules (the doc-cited unit tests of each rule are in `model/src/mesh.rs`).
//!
//! fixtures/mesh/istio-bookinfo-like (one pod per workload; no pod IPs):
//!   namespace   mesh enabled by            pods (mesh)
//!   bookinfo    istio-injection=enabled    productpage, details, reviews (sidecar);
//!                                          debug (bare Pod, sidecar.istio.io/inject=false: none);
//!                                          node-agent (hostNetwork DaemonSet: none, never isolated)
//!   ratings     dataplane-mode=ambient     ratings (ambient)
//!   frontend    istio.io/rev=stable        web, auth (sidecar)
//!   legacy, monitoring: no mesh            batch, prometheus (none)
//! PeerAuthentications: istio-system/default STRICT (mesh-wide); frontend/default PERMISSIVE
//! (2024-03-01) and frontend/strict-attempt STRICT (2024-06-15, newer: ignored);
//! bookinfo/reviews-metrics app=reviews, mode UNSET, portLevelMtls 9091 DISABLE.
//! So: bookinfo and ratings STRICT, frontend PERMISSIVE, reviews:9091 DISABLE.
//! NetworkPolicy: ingress default-deny in bookinfo, legacy, monitoring; ratings, web, auth,
//! productpage, details, reviews admit only what is listed below; egress is open everywhere.
//!
//! fixtures/mesh/linkerd: namespace `vote` annotated linkerd.io/inject=enabled and
//! default-inbound-policy all-authenticated; web overrides it with all-unauthenticated; voting
//! skips the proxy on 9990; vote-bot opts out; legacy-worker is a running pod without the proxy
//! (created before injection was enabled); ingress is a running pod with linkerd-proxy.
//! `tools` (no mesh) holds prometheus.

use crate::support::{assert_run_snapshot, fixtures, netreach};
use netreach::aggregate::Level;
use netreach::load::{load, load_str, Input};
use netreach::mesh::{mesh_findings, MeshView, NamespaceCoverage};
use netreach::model::mesh::{MeshKind, MeshOptions, MtlsStatus};
use netreach::model::{EngineOptions, PortSet, Protocol};
use netreach::Analysis;
use std::collections::BTreeSet;

fn analysis(folder: &str) -> Analysis {
    let loaded = load(&[Input::Path(fixtures().join(folder))]).unwrap_or_else(|e| panic!("{folder}: {e}"));
    Analysis::new(loaded.cluster, &EngineOptions::default())
}

const ISTIO: &str = "mesh/istio-bookinfo-like";
const LINKERD: &str = "mesh/linkerd";

/// (src, dst, status, ports) of every allowed connection, ports as displayed.
fn all_statuses(view: &MeshView) -> BTreeSet<(String, String, MtlsStatus, String)> {
    let a = view.analysis;
    let mut out = BTreeSet::new();
    view.for_each_connection::<()>(|s, d, split| {
        for (status, ports) in split {
            out.insert((a.id(s), a.id(d), *status, ports.to_string()));
        }
        Ok(())
    })
    .unwrap();
    out
}

fn expect(list: &[(&str, &str, MtlsStatus, &str)]) -> BTreeSet<(String, String, MtlsStatus, String)> {
    list.iter().map(|(s, d, st, p)| (s.to_string(), d.to_string(), *st, p.to_string())).collect()
}

fn coverage<'a>(cov: &'a [NamespaceCoverage], ns: &str) -> &'a NamespaceCoverage {
    cov.iter().find(|c| c.namespace == ns).unwrap_or_else(|| panic!("no namespace {ns}"))
}

/// (pods, in mesh, pairs, mtls, permissive, plaintext, rejected, not applicable)
fn counts(c: &NamespaceCoverage) -> [u64; 8] {
    [c.pods, c.pods_in_mesh(), c.pairs, c.mtls, c.permissive, c.plaintext, c.rejected, c.not_applicable]
}

// ---- Istio ---------------------------------------------------------------------------------

#[test]
fn istio_memberships() {
    let a = analysis(ISTIO);
    let view = MeshView::new(&a, MeshOptions::default());
    let kind = |id: &str| view.mesh_of(a.find(id).unwrap()).unwrap();
    for id in ["bookinfo/productpage", "bookinfo/details", "bookinfo/reviews", "frontend/web", "frontend/auth"] {
        assert_eq!(
            kind(id),
            MeshKind::IstioSidecar,
            "{id}: its namespace enables injection (istio-injection or istio.io/rev)"
        );
    }
    assert_eq!(kind("ratings/ratings"), MeshKind::IstioAmbient, "ambient namespace");
    for id in ["bookinfo/debug", "bookinfo/node-agent", "legacy/batch", "monitoring/prometheus"] {
        assert_eq!(kind(id), MeshKind::None, "{id}");
    }
    assert!(view.notes.is_empty(), "{:?}", view.notes);
}

#[test]
fn istio_every_connection_hand_worked() {
    use MtlsStatus::*;
    let a = analysis(ISTIO);
    let view = MeshView::new(&a, MeshOptions::default());
    let all = all_statuses(&view);
    let pods: BTreeSet<(String, String, MtlsStatus, String)> =
        all.iter().filter(|c| !c.1.starts_with("external:") && !c.0.starts_with("external:")).cloned().collect();
    let mut expected = expect(&[
        // sidecar -> sidecar under the mesh-wide STRICT
        ("frontend/web", "bookinfo/productpage", Mtls, "TCP 9080"),
        ("bookinfo/productpage", "bookinfo/details", Mtls, "TCP 9080"),
        ("bookinfo/productpage", "bookinfo/reviews", Mtls, "TCP 9080"),
        // sidecar -> ambient, STRICT: HBONE mTLS
        ("bookinfo/reviews", "ratings/ratings", Mtls, "TCP 9080"),
        // the opted-out debug pod and the unmeshed batch job cannot speak mTLS to STRICT
        ("bookinfo/debug", "bookinfo/productpage", Rejected, "TCP 9080"),
        ("legacy/batch", "ratings/ratings", Rejected, "TCP 9080"),
        // frontend is PERMISSIVE (the newer STRICT namespace-wide policy is ignored)
        ("frontend/web", "frontend/auth", Permissive, "TCP 8443"),
        ("legacy/batch", "frontend/web", Plaintext, "TCP 8080"),
        // reviews' metrics port has mTLS disabled: plaintext from Prometheus (outside the mesh)
        ("monitoring/prometheus", "bookinfo/reviews", Plaintext, "TCP 9091"),
    ]);
    // The hostNetwork agent is never isolated: every other pod reaches it on every port, in
    // plaintext (it has no proxy).
    for src in [
        "bookinfo/productpage",
        "bookinfo/details",
        "bookinfo/reviews",
        "bookinfo/debug",
        "ratings/ratings",
        "frontend/web",
        "frontend/auth",
        "legacy/batch",
        "monitoring/prometheus",
    ] {
        expected.insert((src.into(), "bookinfo/node-agent".into(), Plaintext, "all".into()));
    }
    assert_eq!(pods, expected);
    // External ranges: every pod reaches the internet (egress is open), the internet reaches
    // web on 8080 (ipBlock 0.0.0.0/0) and the agent on every port: all not applicable.
    let externals: Vec<_> = all.difference(&pods).collect();
    assert_eq!(externals.len(), 12, "{externals:#?}");
    assert!(externals.iter().all(|c| c.2 == NotApplicable));
    assert!(all.contains(&("external:0.0.0.0/0".into(), "frontend/web".into(), NotApplicable, "TCP 8080".into())));
}

#[test]
fn istio_coverage_per_namespace() {
    let a = analysis(ISTIO);
    let view = MeshView::new(&a, MeshOptions::default());
    let cov = view.coverage();
    let names: Vec<&str> = cov.iter().map(|c| c.namespace.as_str()).collect();
    assert_eq!(names, ["bookinfo", "frontend", "legacy", "monitoring", "ratings"], "namespaces with pods");
    // bookinfo: into it web->productpage, productpage->details, productpage->reviews (mtls),
    // debug->productpage (rejected), prometheus->reviews:9091 and 9 pods->node-agent
    // (plaintext); with externals: its 5 pods -> internet, internet -> node-agent.
    assert_eq!(counts(coverage(&cov, "bookinfo")), [5, 3, 14, 3, 0, 10, 1, 6]);
    assert_eq!(coverage(&cov, "bookinfo").mesh, Some(MeshKind::IstioSidecar));
    // frontend: web->auth permissive, batch->web plaintext; web, auth -> internet, internet -> web.
    assert_eq!(counts(coverage(&cov, "frontend")), [2, 2, 2, 0, 1, 1, 0, 3]);
    // ratings: reviews->ratings mtls, batch->ratings rejected; ratings -> internet.
    assert_eq!(counts(coverage(&cov, "ratings")), [1, 1, 2, 1, 0, 0, 1, 1]);
    assert_eq!(coverage(&cov, "ratings").mesh, Some(MeshKind::IstioAmbient));
    assert_eq!(counts(coverage(&cov, "legacy")), [1, 0, 0, 0, 0, 0, 0, 1]);
    let total = MeshView::total(&cov);
    assert_eq!(counts(&total), [10, 6, 18, 4, 1, 11, 2, 12]);
    assert_eq!(coverage(&cov, "ratings").connection_coverage(), Some(0.5));
}

#[test]
fn istio_outside_the_mesh_and_findings() {
    let a = analysis(ISTIO);
    let view = MeshView::new(&a, MeshOptions::default());
    let outside: Vec<(String, String)> =
        view.outside().iter().map(|o| (a.cluster.pods[o.pod].id(), o.reason.to_string())).collect();
    assert_eq!(
        outside,
        [
            ("bookinfo/debug".to_string(), "opted out (sidecar.istio.io/inject=false)".to_string()),
            ("bookinfo/node-agent".to_string(), "hostNetwork (never injected)".to_string()),
        ]
    );
    let findings: Vec<(&str, String)> = mesh_findings(&view)
        .iter()
        .map(|f| (f.id, f.objects.iter().map(|o| o.to_string()).collect::<Vec<_>>().join(" + ")))
        .collect();
    let expected: Vec<(&str, String)> = [
        ("NR101", "DaemonSet bookinfo/node-agent"),
        ("NR101", "Pod bookinfo/debug"),
        // web takes plaintext from legacy/batch on 8080 (PERMISSIVE)
        ("NR102", "Deployment frontend/web"),
        ("NR103", "Deployment bookinfo/reviews + PeerAuthentication bookinfo/reviews-metrics spec.portLevelMtls.9091"),
        // auth is PERMISSIVE but only web (meshed) reaches it
        ("NR104", "Deployment frontend/auth"),
        ("NR105", "Deployment bookinfo/productpage"),
        ("NR105", "Deployment ratings/ratings"),
        ("NR106", "PeerAuthentication frontend/strict-attempt"),
    ]
    .iter()
    .map(|(id, o)| (*id, o.to_string()))
    .collect();
    assert_eq!(findings, expected);
}

#[test]
fn istio_root_namespace_is_configurable() {
    // With another root namespace, istio-system/default is an ordinary namespace-wide policy
    // of a namespace without pods: every workload falls back to PERMISSIVE (frontend's own
    // policy was PERMISSIVE already), and reviews:9091 stays DISABLE.
    use MtlsStatus::*;
    let a = analysis(ISTIO);
    let view = MeshView::new(&a, MeshOptions { istio_root_namespace: "mesh-root".into(), ..Default::default() });
    let status = |src: &str, dst: &str| -> Vec<(MtlsStatus, String)> {
        view.between(a.find(src).unwrap(), a.find(dst).unwrap()).iter().map(|(s, p)| (*s, p.to_string())).collect()
    };
    assert_eq!(status("frontend/web", "bookinfo/productpage"), [(Permissive, "TCP 9080".to_string())]);
    assert_eq!(status("bookinfo/debug", "bookinfo/productpage"), [(Plaintext, "TCP 9080".to_string())]);
    assert_eq!(status("legacy/batch", "ratings/ratings"), [(Plaintext, "TCP 9080".to_string())]);
    assert_eq!(status("bookinfo/reviews", "ratings/ratings"), [(Permissive, "TCP 9080".to_string())]);
    assert_eq!(status("monitoring/prometheus", "bookinfo/reviews"), [(Plaintext, "TCP 9091".to_string())]);
}

#[test]
fn workload_level_merges_and_namespace_level_counts() {
    let a = analysis(ISTIO);
    let view = MeshView::new(&a, MeshOptions::default());
    let grouping = view.grouping(Level::Namespace);
    let entries = view.group_statuses(&grouping);
    let find = |src: &str, dst: &str, status: MtlsStatus| {
        entries
            .iter()
            .find(|e| grouping.groups[e.src].id == src && grouping.groups[e.dst].id == dst && e.status == status)
            .map(|e| (e.ports.to_string(), e.pairs))
    };
    // Within bookinfo: productpage -> details and -> reviews (mTLS on 9080), debug ->
    // productpage (rejected), productpage, details, reviews and debug -> the agent (plaintext,
    // every port). From monitoring: Prometheus -> reviews:9091 and -> the agent, merged.
    assert_eq!(find("bookinfo", "bookinfo", MtlsStatus::Mtls), Some(("TCP 9080".into(), 2)));
    assert_eq!(find("bookinfo", "bookinfo", MtlsStatus::Rejected), Some(("TCP 9080".into(), 1)));
    assert_eq!(find("bookinfo", "bookinfo", MtlsStatus::Plaintext), Some(("all".into(), 4)));
    assert_eq!(find("monitoring", "bookinfo", MtlsStatus::Plaintext), Some(("all".into(), 2)));
    assert_eq!(find("frontend", "bookinfo", MtlsStatus::Mtls), Some(("TCP 9080".into(), 1)));
    assert_eq!(find("frontend", "bookinfo", MtlsStatus::Plaintext), Some(("all".into(), 2)));
    assert_eq!(find("legacy", "ratings", MtlsStatus::Rejected), Some(("TCP 9080".into(), 1)));
    // Group statuses agree with the pod-level expansion, pair for pair.
    let pod_level = view.group_statuses(&view.grouping(Level::Pod));
    let mut n = 0;
    view.for_each_connection::<()>(|_, _, split| {
        n += split.len();
        Ok(())
    })
    .unwrap();
    assert_eq!(pod_level.len(), n);
    assert!(pod_level.iter().all(|e| e.pairs == 1));
}

// ---- Linkerd -------------------------------------------------------------------------------

#[test]
fn linkerd_every_connection_hand_worked() {
    use MtlsStatus::*;
    let a = analysis(LINKERD);
    let view = MeshView::new(&a, MeshOptions::default());
    let kind = |id: &str| view.mesh_of(a.find(id).unwrap()).unwrap();
    for id in ["vote/web", "vote/emoji", "vote/voting", "vote/ingress"] {
        assert_eq!(kind(id), MeshKind::Linkerd, "{id}");
    }
    for id in ["vote/vote-bot", "vote/legacy-worker", "tools/prometheus"] {
        assert_eq!(kind(id), MeshKind::None, "{id}");
    }
    let all = all_statuses(&view);
    let pods: BTreeSet<_> = all.iter().filter(|c| !c.1.starts_with("external:")).cloned().collect();
    assert_eq!(
        pods,
        expect(&[
            // namespace policy all-authenticated, both meshed
            ("vote/web", "vote/emoji", Mtls, "TCP 8080"),
            ("vote/web", "vote/voting", Mtls, "TCP 8080"),
            // web's own annotation: all-unauthenticated
            ("vote/ingress", "vote/web", Permissive, "TCP 8080"),
            ("vote/vote-bot", "vote/web", Plaintext, "TCP 8080"),
            // not restarted since injection was enabled: no proxy, refused by all-authenticated
            ("vote/legacy-worker", "vote/emoji", Rejected, "TCP 8080"),
            // skip-inbound-ports 9990: the proxy is bypassed
            ("tools/prometheus", "vote/voting", Plaintext, "TCP 9990"),
        ])
    );
    assert_eq!(all.len() - pods.len(), 7, "7 pods -> internet, not applicable");
    let cov = view.coverage();
    assert_eq!(counts(coverage(&cov, "vote")), [6, 4, 6, 2, 1, 2, 1, 6]);
    assert_eq!(counts(coverage(&cov, "tools")), [1, 0, 0, 0, 0, 0, 0, 1]);
}

#[test]
fn linkerd_outside_and_findings() {
    let a = analysis(LINKERD);
    let view = MeshView::new(&a, MeshOptions::default());
    let outside: Vec<(String, String)> =
        view.outside().iter().map(|o| (a.cluster.pods[o.pod].id(), o.reason.to_string())).collect();
    assert_eq!(
        outside,
        [
            ("vote/legacy-worker".to_string(), "created before injection was enabled (restart it)".to_string()),
            ("vote/vote-bot".to_string(), "opted out (linkerd.io/inject=disabled)".to_string()),
        ]
    );
    let ids: Vec<(&str, String)> = mesh_findings(&view).iter().map(|f| (f.id, f.objects[0].to_string())).collect();
    assert_eq!(
        ids,
        [
            ("NR101", "Deployment vote/vote-bot".to_string()),
            ("NR101", "Pod vote/legacy-worker".to_string()),
            ("NR102", "Deployment vote/web".to_string()),
            (
                "NR103",
                "Deployment vote/voting spec.template.metadata.annotations[config.linkerd.io/skip-inbound-ports]"
                    .to_string()
            ),
            ("NR105", "Deployment vote/emoji".to_string()),
        ]
    );
}

#[test]
fn linkerd_cluster_default_policy_applies_without_annotations() {
    // A meshed namespace without a policy annotation takes the cluster default.
    let text = "apiVersion: v1\nkind: Namespace\nmetadata: {name: a, annotations: {linkerd.io/inject: enabled}}\n---\n\
        apiVersion: v1\nkind: Pod\nmetadata: {name: server, namespace: a}\nspec: {containers: [{name: c, image: i}]}\n---\n\
        apiVersion: v1\nkind: Pod\nmetadata: {name: client, namespace: a, annotations: {linkerd.io/inject: disabled}}\nspec: {containers: [{name: c, image: i}]}\n";
    let loaded = load_str("linkerd.yaml", text).unwrap();
    let a = Analysis::new(loaded.cluster, &EngineOptions::default());
    let (server, client) = (a.find("a/server").unwrap(), a.find("a/client").unwrap());
    let tcp =
        |view: &MeshView| view.between(client, server).iter().find(|(_, p)| p.contains(Protocol::Tcp, 80)).unwrap().0;
    assert_eq!(tcp(&MeshView::new(&a, MeshOptions::default())), MtlsStatus::Plaintext);
    let strict = MeshOptions {
        linkerd_default_policy: netreach::model::mesh::LinkerdPolicy::ClusterAuthenticated,
        ..Default::default()
    };
    assert_eq!(tcp(&MeshView::new(&a, strict)), MtlsStatus::Rejected);
}

// ---- loading PeerAuthentications ------------------------------------------------------------

fn pa(api_version: &str, spec: &str) -> String {
    format!(
        "apiVersion: {api_version}\nkind: PeerAuthentication\nmetadata: {{name: p, namespace: ns1}}\nspec: {spec}\n"
    )
}

#[test]
fn peer_authentications_load_in_both_versions() {
    for v in ["security.istio.io/v1", "security.istio.io/v1beta1"] {
        let loaded = load_str("pa.yaml", &pa(v, "{selector: {matchLabels: {app: x}}, mtls: {mode: STRICT}, portLevelMtls: {8080: {mode: DISABLE}, \"9090\": {}}}")).unwrap();
        let p = &loaded.cluster.mesh.peer_authentications[0];
        assert_eq!(p.mode, netreach::model::MtlsMode::Strict);
        assert_eq!(p.port_modes.len(), 2);
        assert_eq!(p.port_modes[&9090], netreach::model::MtlsMode::Unset);
        assert!(loaded.report.skipped.is_empty());
    }
    // An empty spec is a namespace-wide UNSET policy.
    let loaded = load_str("pa.yaml", &pa("security.istio.io/v1", "{}")).unwrap();
    assert_eq!(loaded.cluster.mesh.peer_authentications[0].mode, netreach::model::MtlsMode::Unset);
}

#[test]
fn invalid_peer_authentications_name_the_field() {
    let err = |spec: &str| load_str("pa.yaml", &pa("security.istio.io/v1", spec)).err().expect("an error").to_string();
    assert_eq!(
        err("{mtls: {mode: strict}}"),
        "pa.yaml: document 1: PeerAuthentication ns1/p: field spec.mtls.mode: unknown mode \"strict\" (expected UNSET, DISABLE, PERMISSIVE or STRICT)"
    );
    assert_eq!(
        err("{selector: {matchLabels: {app: x}}, portLevelMtls: {0: {mode: DISABLE}}}"),
        "pa.yaml: document 1: PeerAuthentication ns1/p: field spec.portLevelMtls.0: invalid port \"0\" (expected 1-65535)"
    );
    assert!(err("{mtls: {mode: STRICT, extra: 1}}").contains("field spec.mtls"), "unknown fields are errors");
    // YAML 1.1 reads `n` as false: a namespace that is not a string is an error, not `default`.
    let bad_ns =
        "apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: p, namespace: n}\nspec: {}\n";
    let e = load_str("pa.yaml", bad_ns).err().expect("an error").to_string();
    assert!(e.contains("field metadata.namespace: is the boolean false"), "{e}");
    // The same object in both versions is one object defined twice: the later one is used.
    let twice = format!("{}---\n{}", pa("security.istio.io/v1", "{}"), pa("security.istio.io/v1beta1", "{}"));
    let loaded = load_str("pa.yaml", &twice).unwrap();
    assert_eq!(loaded.cluster.mesh.peer_authentications.len(), 1);
    assert!(loaded.report.warnings[0].contains("defined twice"), "{:?}", loaded.report.warnings);
}

#[test]
fn port_level_mtls_without_selector_is_dropped_with_a_warning() {
    let loaded = load_str(
        "pa.yaml",
        &pa("security.istio.io/v1", "{mtls: {mode: STRICT}, portLevelMtls: {8080: {mode: DISABLE}}}"),
    )
    .unwrap();
    assert!(loaded.cluster.mesh.peer_authentications[0].port_modes.is_empty());
    assert_eq!(loaded.report.warnings.len(), 1);
    assert!(loaded.report.warnings[0]
        .contains("field spec.portLevelMtls: port-level mTLS only applies with a workload selector"));
}

// ---- through the binary ---------------------------------------------------------------------

fn json(args: &[&str]) -> serde_json::Value {
    let out = netreach(args);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn pod_level_json_contract_and_agreement_with_connectivity() {
    let doc = json(&["mesh", ISTIO, "--level", "pod", "-o", "json", "-q"]);
    assert_eq!(doc["schemaVersion"], 1);
    assert_eq!(doc["level"], "pod");
    let conns = doc["connections"].as_array().unwrap();
    let entry = serde_json::json!({"src": "frontend/web", "dst": "bookinfo/productpage", "allowed": [{"protocol": "TCP", "ports": [[9080, 9080]]}], "status": "mtls", "authz": {"verdict": "allow", "basis": "no-policy", "policy": null, "action": null, "rule": null, "waypoint": null, "enforcedBy": "destination"}, "effective": "allow"});
    assert!(conns.contains(&entry), "{conns:#?}");
    assert!(conns.contains(&serde_json::json!({"src": "bookinfo/reviews", "dst": "ratings/ratings", "allowed": [{"protocol": "TCP", "ports": [[9080, 9080]]}], "status": "mtls", "authz": {"verdict": "allow", "basis": "no-policy", "policy": null, "action": null, "rule": null, "waypoint": null, "enforcedBy": "destination"}, "effective": "allow"})));
    // One entry per pair, status and decision, the protocols in `allowed`: the agent's
    // all-ports plaintext is one entry with three protocols.
    let agent: Vec<_> =
        conns.iter().filter(|c| c["src"] == "legacy/batch" && c["dst"] == "bookinfo/node-agent").collect();
    assert_eq!(agent.len(), 1);
    assert_eq!(agent[0]["status"], "plaintext");
    let all = serde_json::json!([[1, 65535]]);
    let protocols: Vec<_> = agent[0]["allowed"].as_array().unwrap().iter().map(|a| a["protocol"].clone()).collect();
    assert_eq!(protocols, ["TCP", "UDP", "SCTP"]);
    assert!(agent[0]["allowed"].as_array().unwrap().iter().all(|a| a["ports"] == all));
    let pods = doc["pods"].as_array().unwrap();
    assert!(pods.contains(&serde_json::json!({"id": "ratings/ratings", "mesh": "istio-ambient"})));
    assert!(pods.contains(&serde_json::json!({"id": "bookinfo/debug", "mesh": "none"})));
    assert_eq!(pods.len(), 10);
    assert_eq!(doc["summary"]["pairs"], 18);
    assert_eq!(doc["outsideMesh"].as_array().unwrap().len(), 2);
    assert_eq!(doc["findings"].as_array().unwrap().len(), 8);

    // Per (src, dst, protocol), the union of the ports over statuses is what connectivity allows.
    let connectivity = json(&["connectivity", ISTIO, "-o", "json", "-q"]);
    let mut from_connectivity = BTreeSet::new();
    for c in connectivity["connections"].as_array().unwrap() {
        for a in c["allowed"].as_array().unwrap() {
            from_connectivity.insert((
                c["src"].to_string(),
                c["dst"].to_string(),
                a["protocol"].to_string(),
                a["ports"].to_string(),
            ));
        }
    }
    let mut merged: std::collections::BTreeMap<(String, String, String), PortSet> = Default::default();
    for c in conns {
        for a in c["allowed"].as_array().unwrap() {
            let protocol = Protocol::parse(a["protocol"].as_str().unwrap()).unwrap();
            let set = a["ports"].as_array().unwrap().iter().fold(PortSet::empty(), |acc, r| {
                acc.union(&PortSet::range(protocol, r[0].as_u64().unwrap() as u16, r[1].as_u64().unwrap() as u16))
            });
            merged
                .entry((c["src"].to_string(), c["dst"].to_string(), a["protocol"].to_string()))
                .or_insert_with(PortSet::empty)
                .union_with(&set);
        }
    }
    let from_mesh: BTreeSet<_> = merged
        .into_iter()
        .map(|((s, d, p), set)| {
            let protocol = Protocol::parse(p.trim_matches('"')).unwrap();
            let ranges: Vec<[u16; 2]> = set.ranges(protocol).iter().map(|&(lo, hi)| [lo, hi]).collect();
            (s, d, p, serde_json::to_value(ranges).unwrap().to_string())
        })
        .collect();
    assert_eq!(from_mesh, from_connectivity);
}

#[test]
fn workload_level_json_has_pair_counts() {
    let doc = json(&["mesh", LINKERD, "-o", "json", "-q"]);
    assert_eq!(doc["level"], "workload");
    let conns = doc["connections"].as_array().unwrap();
    assert!(conns.contains(&serde_json::json!({"src": "vote/Deployment/vote-bot", "dst": "vote/Deployment/web", "allowed": [{"protocol": "TCP", "ports": [[8080, 8080]]}], "status": "plaintext", "authz": {"verdict": "allow", "basis": "no-policy", "policy": null, "action": null, "rule": null, "waypoint": null, "enforcedBy": "destination"}, "effective": "allow", "pairs": 1})));
    assert!(conns.contains(&serde_json::json!({"src": "vote/legacy-worker", "dst": "vote/Deployment/emoji", "allowed": [{"protocol": "TCP", "ports": [[8080, 8080]]}], "status": "rejected", "authz": {"verdict": "allow", "basis": "no-policy", "policy": null, "action": null, "rule": null, "waypoint": null, "enforcedBy": "destination"}, "effective": "deny", "pairs": 1})));
}

#[test]
fn root_namespace_flag_and_bad_policy_flag() {
    let doc = json(&["mesh", ISTIO, "--istio-root-namespace", "mesh-root", "-o", "json", "-q"]);
    assert_eq!(doc["istioRootNamespace"], "mesh-root");
    assert_eq!(doc["summary"]["mtls"], 0, "nothing is STRICT without the mesh-wide policy");
    let out = netreach(&["mesh", ISTIO, "--linkerd-default-inbound-policy", "open"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
}

#[test]
fn markdown_snapshot() {
    let out = netreach(&["mesh", ISTIO, "-q", "-o", "md"]);
    assert_eq!(out.status.code(), Some(0));
    assert_run_snapshot!(out);
}

#[test]
fn text_snapshot_linkerd_pod_level() {
    let out = netreach(&["mesh", LINKERD, "-q", "--level", "pod"]);
    assert_eq!(out.status.code(), Some(0));
    assert_run_snapshot!(out);
}

#[test]
fn json_snapshot_shop() {
    assert_run_snapshot!(netreach(&["mesh", "shop", "-o", "json"]));
}

#[test]
fn json_snapshot_istio() {
    assert_run_snapshot!(netreach(&["mesh", ISTIO, "-o", "json"]));
}
