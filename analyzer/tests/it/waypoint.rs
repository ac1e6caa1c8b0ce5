//! Istio ambient waypoints in the mesh layer, on fixtures/mesh-authz/waypoint: every verdict of
//! its README.md (worked out by hand from the manifests and istio.io's waypoint pages), through
//! the mesh view, `netreach mesh -o json` and `netreach can`; and the warnings for waypoints the
//! input does not hold.

use crate::support::{fixtures, netreach, stderr};
use netreach::load::{load, load_str, Input};
use netreach::mesh::MeshView;
use netreach::model::mesh::authz::{AuthzBasis, AuthzVerdict, Enforcement};
use netreach::model::mesh::{MeshOptions, MtlsStatus};
use netreach::model::EngineOptions;
use netreach::Analysis;
use std::collections::BTreeSet;

const FIXTURE: &str = "mesh-authz/waypoint";

fn analysis() -> Analysis {
    analysis_of(FIXTURE)
}

fn analysis_of(fixture: &str) -> Analysis {
    let loaded = load(&[Input::Path(fixtures().join(fixture))]).unwrap_or_else(|e| panic!("{fixture}: {e}"));
    Analysis::new(loaded.cluster, &EngineOptions::default())
}

/// (ports, verdict, basis, deciding policy, where: `destination`, `waypoint NS/NAME` or
/// `behind NS/NAME`) of the TCP traffic from `src` to `dst`, every port `permissive`.
type Row = (String, AuthzVerdict, AuthzBasis, Option<String>, String);

fn tcp_verdicts(view: &MeshView, src: &str, dst: &str) -> BTreeSet<Row> {
    let place = |at: Enforcement| match at {
        Enforcement::Destination => "destination".to_string(),
        Enforcement::Waypoint(r) => format!("waypoint {}", view.authz.waypoint_of_route(r)),
        Enforcement::BehindWaypoint(r) => format!("behind {}", view.authz.waypoint_of_route(r)),
    };
    let mut out = BTreeSet::new();
    for (status, part, d, policy) in crate::authz::tcp_decisions(view, src, dst) {
        assert_eq!(status, MtlsStatus::Permissive, "{src} → {dst}: {part}");
        out.insert((part.to_string(), d.verdict, d.basis, policy, place(d.at)));
    }
    out
}

fn rows(list: &[Expected]) -> BTreeSet<Row> {
    list.iter().map(|&(p, v, b, pol, at)| (p.to_string(), v, b, pol.map(str::to_string), at.to_string())).collect()
}

/// One expected decision: (ports, verdict, basis, deciding policy, where).
type Expected = (&'static str, AuthzVerdict, AuthzBasis, Option<&'static str>, &'static str);

#[test]
fn waypoint_verdicts_hand_worked() {
    use AuthzBasis::*;
    use AuthzVerdict::*;
    let a = analysis();
    let view = MeshView::new(&a, MeshOptions::default());
    let direct: &[Expected] = &[("TCP all", Allow, NoPolicy, None, "destination")];
    let (viewer, deny_blocked) = (Some("shop/reviews-viewer"), Some("istio-system/waypoints-deny-blocked"));
    let (ztunnel, scrape) = (Some("shop/productpage-ztunnel"), Some("pods/scrape-only"));
    let (shop_wp, pods_wp, behind) = ("waypoint shop/waypoint", "waypoint pods/pod-waypoint", "behind shop/waypoint");
    let not_9080 = "TCP 1-9079,9081-65535";
    let table: &[(&str, &str, &[Expected])] = &[
        // reviews: the Service port goes through shop/waypoint; the other ports are addressed
        // to the pod, which a service waypoint does not take.
        (
            "clients/curl",
            "shop/reviews",
            &[
                ("TCP 9080", Allow, AllowedForSomeRequests, viewer, shop_wp),
                (not_9080, Allow, NoPolicy, None, "destination"),
            ],
        ),
        (
            "clients/other",
            "shop/reviews",
            &[("TCP 9080", Deny, NoAllowMatched, None, shop_wp), (not_9080, Allow, NoPolicy, None, "destination")],
        ),
        (
            "blocked/bot",
            "shop/reviews",
            &[
                ("TCP 9080", Deny, DeniedByRule, deny_blocked, shop_wp),
                (not_9080, Allow, NoPolicy, None, "destination"),
            ],
        ),
        // A sidecar client reaches reviews directly: the waypoint's policies never see it.
        ("mixed/curl", "shop/reviews", direct),
        // productpage's ztunnel sees the waypoint's identity on Service port 80 → 9080, curl's
        // elsewhere; a sidecar client is seen as itself.
        (
            "clients/curl",
            "shop/productpage",
            &[
                ("TCP 9080", Deny, NoAllowMatched, None, behind),
                (not_9080, Allow, AllowedByRule, ztunnel, "destination"),
            ],
        ),
        ("mixed/curl", "shop/productpage", &[("TCP all", Allow, AllowedByRule, ztunnel, "destination")]),
        // ratings' Service opts out: direct, and the GatewayClass policy is not on the path.
        ("clients/curl", "shop/ratings", direct),
        ("blocked/bot", "shop/ratings", direct),
        // metrics is addressed by pod IP, and pods' waypoint takes workload traffic.
        (
            "clients/curl",
            "pods/metrics",
            &[
                ("TCP 9090", Allow, AllowedByRule, scrape, pods_wp),
                ("TCP 1-9089,9091-65535", Deny, NoAllowMatched, None, pods_wp),
            ],
        ),
        ("blocked/bot", "pods/metrics", &[("TCP all", Deny, DeniedByRule, deny_blocked, pods_wp)]),
        ("mixed/curl", "pods/metrics", direct),
        // quiet opts out of its namespace's waypoint.
        ("clients/curl", "pods/quiet", direct),
    ];
    for &(src, dst, expected) in table {
        assert_eq!(tcp_verdicts(&view, src, dst), rows(expected), "{src} → {dst}");
    }
    // Every targetRef is evaluated; the waypoint without pods is a note naming its identity.
    assert!(view.unevaluated_policies().is_empty());
    assert!(
        view.notes.iter().any(|n| n.contains("waypoint shop/waypoint: no pod of it in the input")
            && n.contains("ServiceAccount shop/waypoint")),
        "{:?}",
        view.notes
    );
    assert!(!view.notes.iter().any(|n| n.contains("pod-waypoint") && n.contains("no Gateway")), "{:?}", view.notes);
}

#[test]
fn class_traffic_type_ingress_opt_in_and_destination_ip_at_the_waypoint() {
    use AuthzBasis::*;
    use AuthzVerdict::*;
    // fixtures/mesh-authz/waypoint-ingress/README.md, row by row.
    let a = analysis_of("mesh-authz/waypoint-ingress");
    let view = MeshView::new(&a, MeshOptions::default());
    let (vip_only, deny_ingress, wp) = (Some("app/vip-only"), Some("app/deny-ingress"), "waypoint app/wp");
    let not_8080 = "TCP 1-8079,8081-65535";
    let through: &[Expected] =
        &[("TCP 8080", Allow, AllowedByRule, vip_only, wp), (not_8080, Deny, NoAllowMatched, None, wp)];
    let table: &[(&str, &str, &[Expected])] = &[
        ("clients/curl", "app/api", through),
        ("clients/curl", "app/web", through),
        (
            "ingress/public-istio",
            "app/api",
            &[("TCP 8080", Deny, DeniedByRule, deny_ingress, wp), (not_8080, Allow, NoPolicy, None, "destination")],
        ),
        ("ingress/public-istio", "app/web", &[("TCP all", Allow, NoPolicy, None, "destination")]),
    ];
    for &(src, dst, expected) in table {
        assert_eq!(tcp_verdicts(&view, src, dst), rows(expected), "{src} → {dst}");
    }
    assert_eq!(view.authz.waypoints.list[0].traffic.as_str(), "all", "from the GatewayClass label");
}

/// The TCP ports of a `mesh -o json` connection, if it has any.
fn tcp_ports(connection: &serde_json::Value) -> Option<serde_json::Value> {
    let allowed = connection["allowed"].as_array()?;
    allowed.iter().find(|a| a["protocol"] == "TCP").map(|a| a["ports"].clone())
}

#[test]
fn mesh_json_names_the_waypoint_and_the_deciding_proxy() {
    let dir = fixtures().join(FIXTURE);
    let out = netreach(&["mesh", dir.to_str().unwrap(), "--level", "pod", "-o", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let find = |src: &str, dst: &str, verdict: &str| {
        json["connections"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["src"] == src && c["dst"] == dst && tcp_ports(c).is_some() && c["authz"]["verdict"] == verdict)
            .unwrap_or_else(|| panic!("{src} → {dst} {verdict}"))
            .clone()
    };
    let productpage = find("clients/curl", "shop/productpage", "deny");
    assert_eq!(tcp_ports(&productpage), Some(serde_json::json!([[9080, 9080]])));
    assert_eq!(
        productpage["authz"],
        serde_json::json!({"verdict": "deny", "basis": "no-allow-rule-matched", "policy": null, "action": null,
            "rule": null, "waypoint": "shop/waypoint", "enforcedBy": "destination"})
    );
    assert_eq!(productpage["effective"], "deny");
    let reviews = find("clients/curl", "shop/reviews", "allow");
    let reviews_9080 = json["connections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["src"] == "clients/curl" && c["dst"] == "shop/reviews" && c["authz"]["waypoint"] == "shop/waypoint")
        .expect("curl → reviews through the waypoint");
    assert_eq!(
        reviews_9080["authz"],
        serde_json::json!({"verdict": "allow", "basis": "allow-rule-http", "policy": "shop/reviews-viewer",
            "action": "ALLOW", "rule": 0, "waypoint": "shop/waypoint", "enforcedBy": "waypoint"})
    );
    assert_eq!(reviews["authz"]["enforcedBy"], "destination");
    // The waypoint without pods is said on stderr.
    assert!(stderr(&out).contains("waypoint shop/waypoint: no pod of it in the input"), "{}", stderr(&out));
    // Text names the waypoint too.
    let out = netreach(&["mesh", dir.to_str().unwrap(), "--level", "pod"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("at the destination, behind waypoint shop/waypoint"), "{text}");
}

#[test]
fn can_explains_the_waypoint_and_exits_1_when_it_closes_every_port() {
    let dir = fixtures().join(FIXTURE);
    let can = |src: &str, dst: &str, port: &str, format: &str| {
        netreach(&["can", src, dst, dir.to_str().unwrap(), "--port", port, "-o", format, "-q"])
    };
    let out = can("clients/curl", "shop/productpage", "9080", "text");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("TCP 9080: permissive; deny: no rule of ALLOW shop/productpage-ztunnel matched (at the destination, behind waypoint shop/waypoint (whose identity it sees))"),
        "{text}"
    );
    // The same port from a sidecar client: direct, allowed by the selector policy.
    let out = can("mixed/curl", "shop/productpage", "9080", "text");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("allow by ALLOW shop/productpage-ztunnel rules[0]"));
    // At the waypoint, "none matched" names the waypoint's ALLOW policies.
    let out = can("clients/other", "shop/reviews", "9080", "json");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let port = &json["mesh"]["groups"][0]["ports"][0];
    assert_eq!(port["waypoint"], "shop/waypoint");
    assert_eq!(port["enforcedBy"], "waypoint");
    assert_eq!(port["text"], "deny: no rule of ALLOW shop/reviews-viewer matched (at waypoint shop/waypoint)");
}

#[test]
fn connectivity_mesh_and_diff_follow_the_waypoint() {
    let dir = fixtures().join(FIXTURE);
    let dir = dir.to_str().unwrap();
    // clients/curl → productpage: every TCP port but 9080 (closed behind the waypoint).
    let out = netreach(&[
        "connectivity",
        dir,
        "--mesh",
        "-o",
        "json",
        "-q",
        "--from",
        "clients/curl",
        "--to",
        "shop/productpage",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let tcp = json["connections"][0]["allowed"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["protocol"] == "TCP")
        .cloned()
        .expect("TCP open");
    assert_eq!(tcp["ports"], serde_json::json!([[1, 9079], [9081, 65535]]));
    // Deleting the Service-targeted policy opens reviews' Service port to clients/other.
    let policies = fixtures().join(FIXTURE).join("policies.yaml");
    let dir_only = tempfile::tempdir().unwrap();
    std::fs::copy(fixtures().join(FIXTURE).join("workloads.yaml"), dir_only.path().join("workloads.yaml")).unwrap();
    let kept: String = std::fs::read_to_string(&policies)
        .unwrap()
        .split("\n---\n")
        .filter(|doc| !doc.contains("name: reviews-viewer"))
        .collect::<Vec<_>>()
        .join("\n---\n");
    std::fs::write(dir_only.path().join("policies.yaml"), kept).unwrap();
    let out = netreach(&["diff", dir, dir_only.path().to_str().unwrap(), "-o", "json", "-q"]);
    let json: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stderr(&out)));
    let changed: Vec<(String, String)> = json["authz"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["src"].as_str().unwrap().to_string(), c["dst"].as_str().unwrap().to_string()))
        .collect();
    assert!(changed.contains(&("clients/other".to_string(), "shop/reviews".to_string())), "{changed:?}");
    // curl was allowed by the policy (for GET) and stays allowed; bot stays denied by the DENY.
    assert!(!changed.contains(&("clients/curl".to_string(), "shop/reviews".to_string())), "{changed:?}");
    assert!(!changed.contains(&("blocked/bot".to_string(), "shop/reviews".to_string())), "{changed:?}");
}

#[test]
fn waypoints_the_input_lacks_are_warnings() {
    // A namespace naming a waypoint with no Gateway, a Service naming a Gateway of another
    // class, and a pod naming a service-only waypoint: each a note, and traffic goes direct.
    let yaml = r#"
apiVersion: v1
kind: Namespace
metadata: {name: a, labels: {istio.io/dataplane-mode: ambient, istio.io/use-waypoint: ghost}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: ingress, namespace: a}
spec: {gatewayClassName: istio, listeners: [{name: http, port: 80, protocol: HTTP}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: svc-only, namespace: a}
spec: {gatewayClassName: istio-waypoint, listeners: [{name: mesh, port: 15008, protocol: HBONE}]}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: a, labels: {istio.io/use-waypoint: ingress}}
spec: {selector: {app: web}, ports: [{port: 80}]}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: a, labels: {app: web, istio.io/use-waypoint: svc-only}}
spec: {containers: [{name: c, image: x, ports: [{containerPort: 80}]}]}
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: a}
spec: {containers: [{name: c, image: x}]}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-all-at-waypoint, namespace: a}
spec:
  targetRefs: [{kind: Gateway, group: gateway.networking.k8s.io, name: svc-only}]
  action: DENY
  rules: [{}]
"#;
    let loaded = load_str("waypoints.yaml", yaml).unwrap();
    let a = Analysis::new(loaded.cluster, &EngineOptions::default());
    let view = MeshView::new(&a, MeshOptions::default());
    let notes = view.notes.join("\n");
    assert!(notes.contains("pods of namespace a names waypoint a/svc-only (istio.io/use-waypoint), whose istio.io/waypoint-for is service: Istio sends it no workload traffic"), "{notes}");
    assert!(notes.contains("Service a/web names waypoint a/ingress (istio.io/use-waypoint), but Gateway a/ingress has gatewayClassName istio, not istio-waypoint"), "{notes}");
    // The client pod falls back to its namespace's label, which names no Gateway.
    assert!(
        notes.contains(
            "namespace a names waypoint a/ghost (istio.io/use-waypoint), but the input has no Gateway a/ghost"
        ),
        "{notes}"
    );
    // Nothing routes through svc-only: its DENY-all decides nothing.
    let direct = [("TCP all", AuthzVerdict::Allow, AuthzBasis::NoPolicy, None, "destination")];
    assert_eq!(tcp_verdicts(&view, "a/client", "a/web"), rows(&direct));
}

#[test]
fn an_egress_waypoint_is_a_warning_naming_what_is_not_modelled() {
    let entry = |labels: &str| {
        format!("apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata:\n  name: httpbin\n  namespace: egress\n  labels: {labels}\nspec:\n  hosts: [httpbin.org]\n  ports: [{{number: 80, name: http, protocol: HTTP}}]\n  resolution: DNS\n")
    };
    let loaded = load_str("egress.yaml", &entry("{istio.io/use-waypoint: egress-gateway}")).unwrap();
    let warnings = loaded.report.warnings.join("\n");
    assert!(
        warnings.contains("ServiceEntry egress/httpbin names waypoint egress-gateway (istio.io/use-waypoint): egress waypoints are not modelled"),
        "{warnings}"
    );
    // `none` opts out, and an entry without the label uses no waypoint: nothing to say.
    for labels in ["{istio.io/use-waypoint: none}", "{app: httpbin}"] {
        let loaded = load_str("egress.yaml", &entry(labels)).unwrap();
        assert!(!loaded.report.warnings.iter().any(|w| w.contains("egress waypoints")), "{labels}");
    }
}
