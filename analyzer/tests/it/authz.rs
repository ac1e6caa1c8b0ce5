//! Istio AuthorizationPolicy in `netreach mesh`, on fixtures whose verdicts are worked out by
//! hand from the manifests and the rules of `model/src/mesh/authz.rs` (each cites istio.io).
//!
//! fixtures/mesh-authz/tcp-task: Istio's "TCP Traffic" task, one file per stage (see
//! workloads.yaml); curl → tcp-echo, both with sidecars, namespace foo PERMISSIVE, so the
//! connection is mTLS with curl's identity.
//!
//! fixtures/mesh-authz/identity: shop (sidecars, PERMISSIVE) holds api, web, db, vault and
//! nomesh (opted out); legacy/batch is outside the mesh. No NetworkPolicy. Hand-worked TCP
//! verdicts (meshed sources carry an identity; batch and nomesh talk plaintext and carry none):
//!   → api     8080: allow rule 0 (namespaces [shop]) for meshed shop pods; plaintext: deny
//!             9090: allow rule 1 (notNamespaces [legacy]) for everyone, plaintext included
//!                   (no identity → no namespace → the negative list matches)
//!             8081: allow rule 2, for some requests (methods on a port where HTTP may flow)
//!             any other TCP port: deny (no ALLOW rule matched)
//!   → db      allow (rule 0, principal api) from api only; everyone else deny
//!   → vault   deny (DENY notPrincipals ["*"]) from plaintext sources; meshed ones allowed
//!   → web     TCP 80: custom (CUSTOM provider opa); other ports: allowed (no rule matched)
//!   → nomesh  no proxy: not enforced (its ALLOW-nothing policy has no effect: a note)
//!   → batch   no proxy: not enforced
//! shop/api-waypoint targets a ServiceEntry (egress): unevaluated, listed; istio-system/audit-all
//! is AUDIT: decides nothing.

use crate::support::{fixtures, netreach, stderr};
use netreach::load::{load, load_str, Input};
use netreach::mesh::{mesh_findings, MeshView};
use netreach::model::mesh::authz::{AuthzBasis, AuthzDecision, AuthzVerdict};
use netreach::model::mesh::{MeshOptions, MtlsStatus};
use netreach::model::{EngineOptions, PortSet, Protocol};
use netreach::Analysis;
use std::collections::BTreeSet;

fn analysis(paths: &[&str]) -> Analysis {
    let inputs: Vec<Input> = paths.iter().map(|p| Input::Path(fixtures().join(p))).collect();
    let loaded = load(&inputs).unwrap_or_else(|e| panic!("{paths:?}: {e}"));
    Analysis::new(loaded.cluster, &EngineOptions::default())
}

/// The analysis of one inline manifest.
fn analysis_of(name: &str, yaml: &str) -> Analysis {
    let loaded = load_str(name, yaml).unwrap_or_else(|e| panic!("{name}: {e}"));
    Analysis::new(loaded.cluster, &EngineOptions::default())
}

/// (status, ports, verdict, basis, policy, rule) of the TCP traffic from `src` to `dst`.
type Row = (MtlsStatus, String, AuthzVerdict, AuthzBasis, Option<String>, Option<u32>);

/// Every (status, TCP ports, decision, deciding policy's id) of the traffic from `src` to `dst`.
pub(crate) fn tcp_decisions(
    view: &MeshView,
    src: &str,
    dst: &str,
) -> Vec<(MtlsStatus, PortSet, AuthzDecision, Option<String>)> {
    let a = view.analysis;
    let (s, d) = (a.find(src).unwrap(), a.find(dst).unwrap());
    let tcp = PortSet::all_of(Protocol::Tcp);
    let mut out = Vec::new();
    for (status, ports) in view.between(s, d).iter() {
        let ports = ports.intersection(&tcp);
        if ports.is_empty() {
            continue;
        }
        for (decision, part) in view.authz_between(s, d, *status, &ports).iter() {
            let policy = decision.policy.map(|p| view.authz.policies[p as usize].id());
            out.push((*status, part.clone(), *decision, policy));
        }
    }
    out
}

fn tcp_verdicts(view: &MeshView, src: &str, dst: &str) -> BTreeSet<Row> {
    let decisions = tcp_decisions(view, src, dst).into_iter();
    decisions.map(|(status, part, d, policy)| (status, part.to_string(), d.verdict, d.basis, policy, d.rule)).collect()
}

/// A [`Row`] as written in the tables below.
type Expected<'a> = (MtlsStatus, &'a str, AuthzVerdict, AuthzBasis, Option<&'a str>, Option<u32>);

fn rows(list: &[Expected]) -> BTreeSet<Row> {
    list.iter().map(|&(st, p, v, b, pol, r)| (st, p.to_string(), v, b, pol.map(str::to_string), r)).collect()
}

const TCP_TASK: &str = "mesh-authz/tcp-task/workloads.yaml";

#[test]
fn tcp_task_stage_1_allows_the_listed_ports_only() {
    use AuthzBasis::*;
    use AuthzVerdict::*;
    let a = analysis(&[TCP_TASK, "mesh-authz/tcp-task/stage-1-allow-ports.yaml"]);
    let view = MeshView::new(&a, MeshOptions::default());
    // Task: "requests to port 9000 and 9001 are allowed", "requests to port 9002 are denied"
    // (the pass-through chain is enforced too).
    let p = MtlsStatus::Permissive;
    assert_eq!(
        tcp_verdicts(&view, "foo/curl", "foo/tcp-echo"),
        rows(&[
            (p, "TCP 9000-9001", Allow, AllowedByRule, Some("foo/tcp-policy"), Some(0)),
            (p, "TCP 1-8999,9002-65535", Deny, NoAllowMatched, None, None),
        ])
    );
    // No policy selects curl.
    assert_eq!(tcp_verdicts(&view, "foo/tcp-echo", "foo/curl"), rows(&[(p, "TCP all", Allow, NoPolicy, None, None)]));
}

#[test]
fn tcp_task_stage_2_allow_rule_with_methods_never_matches_tcp() {
    use AuthzVerdict::*;
    let a = analysis(&[TCP_TASK, "mesh-authz/tcp-task/stage-2-allow-methods.yaml"]);
    let view = MeshView::new(&a, MeshOptions::default());
    // Task: with `methods: ["GET"]` on 9000 "requests to port 9000 are denied" — 9000 is
    // declared TCP (Service port `tcp`), so the HTTP-only field makes the rule never match.
    assert_eq!(
        tcp_verdicts(&view, "foo/curl", "foo/tcp-echo"),
        rows(&[(MtlsStatus::Permissive, "TCP all", Deny, AuthzBasis::NoAllowMatched, None, None)])
    );
}

#[test]
fn tcp_task_stage_3_deny_rule_ignores_methods_on_tcp() {
    use AuthzBasis::*;
    use AuthzVerdict::*;
    let a = analysis(&[TCP_TASK, "mesh-authz/tcp-task/stage-3-deny-methods.yaml"]);
    let view = MeshView::new(&a, MeshOptions::default());
    // Task: the DENY policy with methods "denies all requests to port 9000", 9001 is allowed.
    let p = MtlsStatus::Permissive;
    assert_eq!(
        tcp_verdicts(&view, "foo/curl", "foo/tcp-echo"),
        rows(&[
            (p, "TCP 9000", Deny, DeniedByRule, Some("foo/tcp-policy"), Some(0)),
            (p, "TCP 1-8999,9001-65535", Allow, NoRuleMatched, None, None),
        ])
    );
}

#[test]
fn identity_plaintext_and_actions_hand_worked() {
    use AuthzBasis::*;
    use AuthzVerdict::*;
    use MtlsStatus::{Permissive as P, Plaintext as T};
    let a = analysis(&["mesh-authz/identity"]);
    let view = MeshView::new(&a, MeshOptions::default());
    let api_other = "TCP 1-8079,8082-9089,9091-65535";
    for meshed in ["shop/web", "shop/db", "shop/vault"] {
        assert_eq!(
            tcp_verdicts(&view, meshed, "shop/api"),
            rows(&[
                (P, "TCP 8080", Allow, AllowedByRule, Some("shop/api-allow"), Some(0)),
                (P, "TCP 8081", Allow, AllowedForSomeRequests, Some("shop/api-allow"), Some(2)),
                (P, "TCP 9090", Allow, AllowedByRule, Some("shop/api-allow"), Some(1)),
                (P, api_other, Deny, NoAllowMatched, None, None),
            ]),
            "{meshed}"
        );
    }
    for plain in ["legacy/batch", "shop/nomesh"] {
        // Plaintext has no namespace: rule 0 (namespaces) fails, rule 1 (notNamespaces) passes.
        assert_eq!(
            tcp_verdicts(&view, plain, "shop/api"),
            rows(&[
                (T, "TCP 9090", Allow, AllowedByRule, Some("shop/api-allow"), Some(1)),
                (T, "TCP 1-9089,9091-65535", Deny, NoAllowMatched, None, None),
            ]),
            "{plain}"
        );
        assert_eq!(
            tcp_verdicts(&view, plain, "shop/vault"),
            rows(&[(T, "TCP all", Deny, DeniedByRule, Some("shop/vault-deny-plaintext"), Some(0))]),
            "{plain}"
        );
        assert_eq!(
            tcp_verdicts(&view, plain, "shop/db"),
            rows(&[(T, "TCP all", Deny, NoAllowMatched, None, None)]),
            "{plain}"
        );
    }
    assert_eq!(
        tcp_verdicts(&view, "shop/api", "shop/db"),
        rows(&[(P, "TCP all", Allow, AllowedByRule, Some("shop/db-allow"), Some(0))])
    );
    assert_eq!(tcp_verdicts(&view, "shop/web", "shop/db"), rows(&[(P, "TCP all", Deny, NoAllowMatched, None, None)]));
    assert_eq!(
        tcp_verdicts(&view, "shop/web", "shop/vault"),
        rows(&[(P, "TCP all", Allow, NoRuleMatched, None, None)])
    );
    assert_eq!(
        tcp_verdicts(&view, "shop/api", "shop/web"),
        rows(&[
            (P, "TCP 80", Custom, CustomRule, Some("shop/web-ext-authz"), Some(0)),
            (P, "TCP 1-79,81-65535", Allow, NoRuleMatched, None, None),
        ])
    );
    for dst in ["shop/nomesh", "legacy/batch"] {
        assert_eq!(tcp_verdicts(&view, "shop/api", dst), rows(&[(T, "TCP all", Allow, NotEnforced, None, None)]));
    }
    // Coverage: of the 30 pod pairs, those into api, db, vault and web (5 sources each) meet a
    // policy; nomesh and batch have no proxy.
    let total = MeshView::total(&view.coverage());
    assert_eq!((total.pairs, total.authz_protected), (30, 20));
    // The ServiceEntry-targeted policy is listed as unevaluated.
    let unevaluated: Vec<String> = view.unevaluated_policies().iter().map(|p| p.name.clone()).collect();
    assert_eq!(unevaluated, ["api-waypoint"]);
}

#[test]
fn mesh_json_carries_authz_and_effective() {
    let dir = fixtures().join("mesh-authz/identity");
    let out = netreach(&["mesh", dir.to_str().unwrap(), "--level", "pod", "-o", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["istioTrustDomain"], "cluster.local");
    let vault = json["connections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| {
            c["src"] == "legacy/batch"
                && c["dst"] == "shop/vault"
                && c["allowed"].as_array().unwrap().iter().any(|a| a["protocol"] == "TCP")
        })
        .expect("batch → vault on TCP");
    assert_eq!(vault["status"], "plaintext");
    assert_eq!(
        vault["authz"],
        serde_json::json!({"verdict": "deny", "basis": "deny-rule", "policy": "shop/vault-deny-plaintext", "action": "DENY", "rule": 0, "waypoint": null, "enforcedBy": "destination"})
    );
    assert_eq!(vault["effective"], "deny");
    let listed: Vec<&str> =
        json["unevaluatedPolicies"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(listed, ["api-waypoint"], "mesh evaluates the others");
    // Other commands do not apply AuthorizationPolicies, and say so.
    let out = netreach(&["connectivity", dir.to_str().unwrap(), "-o", "json", "-q"]);
    let err = stderr(&out);
    assert!(err.contains("the answers ignore 6 AuthorizationPolicy object(s) (security.istio.io/v1): only `netreach mesh`, `netreach can` and `netreach connectivity --mesh` apply them"), "{err}");
    assert!(err.contains("the answers ignore 1 AuthorizationPolicy object(s) (security.istio.io/v1): netreach does not evaluate this kind yet, so their ServiceEntry targets attach them"), "{err}");
}

#[test]
fn trust_domain_flag_changes_principals() {
    // db-allow names cluster.local/ns/shop/sa/api: under another trust domain api's principal
    // is example.org/ns/shop/sa/api, and the rule no longer matches.
    let a = analysis(&["mesh-authz/identity"]);
    let options = MeshOptions { istio_trust_domain: "example.org".into(), ..Default::default() };
    let view = MeshView::new(&a, options);
    assert_eq!(
        tcp_verdicts(&view, "shop/api", "shop/db"),
        rows(&[(MtlsStatus::Permissive, "TCP all", AuthzVerdict::Deny, AuthzBasis::NoAllowMatched, None, None)])
    );
}

const AMBIENT: &str = r#"
apiVersion: v1
kind: Namespace
metadata: {name: amb, labels: {istio.io/dataplane-mode: ambient}}
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: amb, labels: {app: client}}
spec: {containers: [{name: c, image: x}]}
---
apiVersion: v1
kind: Pod
metadata: {name: server, namespace: amb, labels: {app: server}}
spec: {containers: [{name: s, image: x, ports: [{containerPort: 8080}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: server, namespace: amb}
spec: {selector: {app: server}, ports: [{name: http, port: 8080}]}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: get-only, namespace: amb}
spec:
  selector: {matchLabels: {app: server}}
  rules:
  - to: [{operation: {methods: [GET], ports: ["8080"]}}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: server-8080, namespace: amb}
spec:
  podSelector: {matchLabels: {app: server}}
  ingress: [{ports: [{port: 8080}]}]
"#;

#[test]
fn ztunnel_reads_tcp_and_authz_only_narrows_networkpolicy() {
    // A selector policy on an ambient pod is enforced by ztunnel, which reads layer 4 only: the
    // ALLOW rule with methods never matches, even on a port the Service declares HTTP (istio.io,
    // ambient "Use Layer 7 features": L7 rules need a waypoint). NetworkPolicy admits 8080 only,
    // so there is no verdict on any other port: authorization never adds a connection.
    let a = analysis_of("ambient.yaml", AMBIENT);
    let view = MeshView::new(&a, MeshOptions::default());
    assert_eq!(
        tcp_verdicts(&view, "amb/client", "amb/server"),
        rows(&[(MtlsStatus::Permissive, "TCP 8080", AuthzVerdict::Deny, AuthzBasis::NoAllowMatched, None, None)])
    );
}

#[test]
fn invalid_policies_are_errors_naming_the_field() {
    let head =
        "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: p, namespace: ns}\nspec:\n";
    for (spec, field, message) in [
        ("  selector: {matchLabels: {a: b}}\n  targetRefs: [{kind: Gateway, group: gateway.networking.k8s.io, name: g}]\n", "spec.selector", "not both"),
        ("  action: MAYBE\n", "spec.action", "unknown action"),
        ("  action: CUSTOM\n", "spec.provider.name", "CUSTOM needs a provider"),
        ("  action: DENY\n  provider: {name: x}\n", "spec.provider", "only a CUSTOM action"),
        ("  rules: [{to: [{operation: {ports: [\"http\"]}}]}]\n", "spec.rules[0].to[0].operation.ports[0]", "invalid port"),
        ("  rules: [{from: [{source: {ipBlocks: [\"10.0.0.300\"]}}]}]\n", "spec.rules[0].from[0].source.ipBlocks[0]", "invalid IP"),
        ("  rules: [{when: [{key: source.nope, values: [x]}]}]\n", "spec.rules[0].when[0].key", "unknown key"),
        ("  rules: [{when: [{key: source.ip}]}]\n", "spec.rules[0].when[0]", "needs values or notValues"),
        ("  rules: [{from: [{source: {}}]}]\n", "spec.rules[0].from[0].source", "must not be empty"),
        ("  rules: [{to: [{}]}]\n", "spec.rules[0].to[0].operation", "missing"),
    ] {
        let err = load_str("p.yaml", &format!("{head}{spec}")).err().unwrap_or_else(|| panic!("{spec} loads")).to_string();
        assert!(err.contains(&format!("field {field}")) && err.contains(message), "{spec}: {err}");
    }
    // A valid v1beta1 policy with every source field and a when on each typed key loads.
    let ok = "  action: DENY\n  rules:\n  - from: [{source: {principals: [a], notPrincipals: [b], requestPrincipals: [c], namespaces: [d], notNamespaces: [e], ipBlocks: [10.0.0.0/8], notIpBlocks: [10.1.0.1], remoteIpBlocks: [\"::1\"], notRemoteIpBlocks: [fd00::/8]}}]\n    to: [{operation: {hosts: [h], ports: [\"80\"], notPorts: [\"81\"], methods: [GET], paths: [/x]}}]\n    when: [{key: destination.port, values: [\"80\"]}, {key: destination.ip, notValues: [10.0.0.1]}, {key: \"request.headers[x-a]\", values: [b]}]\n";
    let text = format!("{head}{ok}").replace("security.istio.io/v1\n", "security.istio.io/v1beta1\n");
    let loaded = load_str("p.yaml", &text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(loaded.cluster.mesh.authorization_policies.len(), 1);
}

#[test]
fn authz_findings_hand_worked() {
    let a = analysis(&["mesh-authz/identity"]);
    let view = MeshView::new(&a, MeshOptions::default());
    let found: Vec<(String, String)> = mesh_findings(&view)
        .into_iter()
        .filter(|f| ["NR107", "NR108", "NR109"].contains(&f.id))
        .map(|f| (f.id.to_string(), f.message))
        .collect();
    // NR107: api-allow rules[1] (notNamespaces [legacy]) admits plaintext on 9090 from batch and
    // nomesh (2 pairs). NR108: nomesh-allow-nothing selects nomesh only, which has no proxy.
    assert_eq!(
        found,
        [
            (
                "NR107".to_string(),
                "ALLOW shop/api-allow rules[1] admits plaintext on TCP 9090 in 2 pod pair(s) NetworkPolicy allows: without mTLS there is no principal or namespace, so notPrincipals/notNamespaces match".to_string()
            ),
            (
                "NR108".to_string(),
                "ALLOW shop/nomesh-allow-nothing selects 1 pod(s), none with an Istio proxy (sidecar or ambient): nothing enforces it".to_string()
            ),
        ]
    );
    // NR109 on ambient: get-only's rule uses methods and ztunnel enforces it.
    let a = analysis_of("ambient.yaml", AMBIENT);
    let view = MeshView::new(&a, MeshOptions::default());
    let nr109: Vec<String> = mesh_findings(&view).into_iter().filter(|f| f.id == "NR109").map(|f| f.message).collect();
    assert_eq!(nr109, ["ALLOW amb/get-only rules[0] uses HTTP-only fields but ztunnel (ambient) reads TCP only: the rule never matches"]);
}

#[test]
fn can_shows_the_mesh_layer_and_exits_1_when_it_closes_every_port() {
    let dir = fixtures().join("mesh-authz/tcp-task");
    let (workloads, stage) = (dir.join("workloads.yaml"), dir.join("stage-1-allow-ports.yaml"));
    let can = |port: &str| {
        netreach(&[
            "can",
            "foo/curl",
            "foo/tcp-echo",
            workloads.to_str().unwrap(),
            stage.to_str().unwrap(),
            "--port",
            port,
            "-q",
        ])
    };
    // NetworkPolicy allows 9002, but no rule of the ALLOW policy matches it.
    let out = can("9002");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("mesh layer (Istio mTLS and AuthorizationPolicy): closed"), "{text}");
    assert!(text.contains("TCP 9002: permissive; deny: no rule of ALLOW foo/tcp-policy matched"), "{text}");
    let out = can("9000");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("TCP 9000: permissive; allow by ALLOW foo/tcp-policy rules[0]")
    );
}

/// `netreach connectivity ARGS… --mesh -q` on fixtures/mesh-authz: (exit code, stdout).
fn connectivity_mesh(args: &[&str]) -> (Option<i32>, String) {
    let mut all = vec!["connectivity"];
    all.extend(args);
    all.extend(["--mesh", "-q"]);
    let out = netreach(&all);
    (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn connectivity_mesh_lists_only_what_both_layers_leave_open() {
    let dir = fixtures().join("mesh-authz/tcp-task");
    let (workloads, stage) = (dir.join("workloads.yaml"), dir.join("stage-1-allow-ports.yaml"));
    let (code, text) = connectivity_mesh(&[workloads.to_str().unwrap(), stage.to_str().unwrap()]);
    assert_eq!(code, Some(0));
    // Stage 1 allows TCP 9000 and 9001 into tcp-echo; UDP and SCTP are never enforced; curl has
    // no policy. Without --mesh, curl → tcp-echo is `all`.
    let rows: Vec<&str> = text.lines().filter(|l| l.starts_with("foo/curl") || l.starts_with("external")).collect();
    assert_eq!(
        rows,
        [
            "foo/curl [Deployment]      foo/tcp-echo [Deployment]  TCP 9000-9001; UDP all; SCTP all",
            "foo/curl [Deployment]      external 0.0.0.0/0         all",
            "external 0.0.0.0/0         foo/curl [Deployment]      all",
            "external 0.0.0.0/0         foo/tcp-echo [Deployment]  TCP 9000-9001; UDP all; SCTP all",
        ]
    );
    assert!(text.contains("Mesh layer applied"), "{text}");
    // Every AuthorizationPolicy here is applied: nothing is reported as left out.
    assert!(!text.contains("Incomplete"), "{text}");
    let plain = netreach(&["connectivity", workloads.to_str().unwrap(), stage.to_str().unwrap(), "-q"]);
    assert!(String::from_utf8_lossy(&plain.stdout).contains("foo/tcp-echo [Deployment]  all"));
}

#[test]
fn connectivity_mesh_shows_custom_apart_in_every_format() {
    let identity = fixtures().join("mesh-authz/identity");
    let identity = identity.to_str().unwrap();
    // Hand-worked (module comment): batch is plaintext, so into api only 9090's notNamespaces
    // rule matches; db admits api's principal only; web's TCP 80 goes to provider opa.
    let (_, text) = connectivity_mesh(&[identity]);
    for row in [
        "legacy/batch        shop/api            TCP 9090; UDP all; SCTP all",
        "legacy/batch        shop/db             UDP all; SCTP all",
        "shop/api            shop/db             all",
        "shop/web            shop/api            TCP 8080-8081,9090; UDP all; SCTP all",
        "shop/api            shop/web            TCP 1-79,81-65535; UDP all; SCTP all | custom by provider opa (CUSTOM shop/web-ext-authz): TCP 80",
    ] {
        assert!(text.lines().any(|l| l == row), "{row}\n{text}");
    }
    // shop/api-waypoint (a ServiceEntry target) is not applied: the one policy left out.
    assert!(text.contains("leaves out 1 policy object(s)"), "{text}");
    let (_, csv) = connectivity_mesh(&[identity, "-o", "csv"]);
    assert!(csv.starts_with("src,dst,protocol,ports,authz\n"), "{csv}");
    assert!(csv.lines().any(|l| l == "shop/api,shop/web,TCP,80,custom:opa:shop/web-ext-authz"), "{csv}");
    assert!(csv.lines().any(|l| l == "legacy/batch,shop/api,TCP,9090,allow"), "{csv}");
    let (_, md) = connectivity_mesh(&[identity, "-o", "md"]);
    assert!(
        md.contains("| `shop/api` | `shop/web` | TCP 1-79,81-65535; UDP all; SCTP all \\| custom by provider opa"),
        "{md}"
    );
    let (_, json) = connectivity_mesh(&[identity, "-o", "json"]);
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    let connections = json["connections"].as_array().unwrap();
    let into_web: Vec<&serde_json::Value> = connections.iter().filter(|c| c["dst"] == "shop/web").collect();
    assert_eq!(into_web.len(), 6);
    for c in into_web {
        assert_eq!(c["custom"][0]["provider"], "opa");
        assert_eq!(c["custom"][0]["allowed"], serde_json::json!([{"protocol": "TCP", "ports": [[80, 80]]}]));
    }
    // The summary counts per class bucket what the listing shows pair by pair.
    let (_, summary) = connectivity_mesh(&[identity, "-o", "summary"]);
    let value = |key: &str| -> u64 {
        let line = summary.lines().find(|l| l.starts_with(key)).unwrap_or_else(|| panic!("{key}\n{summary}"));
        line[key.len()..].trim().parse().unwrap()
    };
    let with_tcp =
        connections.iter().filter(|c| c["allowed"].as_array().unwrap().iter().any(|a| a["protocol"] == "TCP")).count();
    assert_eq!(value("mesh-open pairs:"), connections.len() as u64);
    assert_eq!(value("mesh-open pairs TCP:"), with_tcp as u64);
    assert_eq!((value("mesh-open pairs:"), value("mesh-open pairs TCP:"), value("custom pairs:")), (42, 34, 6));
    assert!(summary.contains("leaves out 1 policy object(s)"), "{summary}");
    // Filtered, pair by pair: the 6 sources into shop/web.
    let (_, filtered) = connectivity_mesh(&[identity, "-o", "summary", "--to", "shop/web"]);
    assert!(
        filtered.lines().any(|l| l.split_whitespace().collect::<Vec<_>>() == ["shown", "custom", "pairs:", "6"]),
        "{filtered}"
    );
}

#[test]
fn connectivity_mesh_refuses_graphs() {
    let identity = fixtures().join("mesh-authz/identity");
    let out = netreach(&["connectivity", identity.to_str().unwrap(), "--mesh", "-o", "dot"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(out.stdout, b"");
    assert!(stderr(&out).contains("--mesh applies to the listings"), "{}", stderr(&out));
}

/// A sidecar pod whose Service declares three ports by appProtocol and name, with an ALLOW rule
/// using `methods` on each.
const APP_PROTOCOL: &str = r#"
apiVersion: v1
kind: Namespace
metadata: {name: side, labels: {istio-injection: enabled}}
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: side, labels: {app: client}}
spec: {containers: [{name: c, image: x}]}
---
apiVersion: v1
kind: Pod
metadata: {name: server, namespace: side, labels: {app: server}}
spec: {containers: [{name: s, image: x}]}
---
apiVersion: v1
kind: Service
metadata: {name: server, namespace: side}
spec:
  selector: {app: server}
  ports:
  - {name: http-a, port: 9000, appProtocol: tcp}
  - {name: tcp-b, port: 9001, appProtocol: HTTP}
  - {name: tcp-c, port: 9002, appProtocol: example.com/custom}
  - {name: tcp-d, port: 9003}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: get-only, namespace: side}
spec:
  selector: {matchLabels: {app: server}}
  rules:
  - to: [{operation: {methods: [GET], ports: ["9000", "9001", "9002", "9003"]}}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: server-ports, namespace: side}
spec:
  podSelector: {matchLabels: {app: server}}
  ingress: [{ports: [{port: 9000, endPort: 9003}]}]
"#;

#[test]
fn app_protocol_decides_before_the_port_name() {
    // istio.io "Protocol Selection": "If both are defined, appProtocol takes precedence over the
    // port name". 9000 (appProtocol tcp, name http-a) and 9003 (name tcp-d) are TCP: the ALLOW
    // rule with methods never matches. 9001 (appProtocol HTTP, name tcp-b) is HTTP and 9002 (an
    // appProtocol Istio does not list) is sniffed: the rule admits some requests.
    use AuthzBasis::*;
    use AuthzVerdict::*;
    let a = analysis_of("app-protocol.yaml", APP_PROTOCOL);
    let view = MeshView::new(&a, MeshOptions::default());
    let p = MtlsStatus::Permissive;
    assert_eq!(
        tcp_verdicts(&view, "side/client", "side/server"),
        rows(&[
            (p, "TCP 9000,9003", Deny, NoAllowMatched, None, None),
            (p, "TCP 9001-9002", Allow, AllowedForSomeRequests, Some("side/get-only"), Some(0)),
        ])
    );
}

#[test]
fn diff_reports_authorization_changes_where_reachability_is_unchanged() {
    // Applying the TCP task's stage 1 changes no NetworkPolicy: reachability is the same, but
    // into tcp-echo the mesh now leaves TCP 9000-9001 open only (from curl and from outside).
    let dir = fixtures().join("mesh-authz/tcp-task");
    let (workloads, stage) = (dir.join("workloads.yaml"), dir.join("stage-1-allow-ports.yaml"));
    let (workloads, stage) = (workloads.to_str().unwrap(), stage.to_str().unwrap());
    let run = |format: &str| netreach(&["diff", workloads, "--apply", stage, "-o", format, "--exit-code", "-q"]);
    let out = run("json");
    assert_eq!(out.status.code(), Some(1), "an authorization change is a difference: {}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["summary"]["pairs"], serde_json::json!({"added": 0, "removed": 0, "changed": 0}));
    let pairs: Vec<(String, String)> = json["authz"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["src"].as_str().unwrap().to_string(), c["dst"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(
        pairs,
        [
            ("external:0.0.0.0/0".to_string(), "foo/tcp-echo".to_string()),
            ("foo/curl".to_string(), "foo/tcp-echo".to_string())
        ]
    );
    let entry = &json["authz"][1];
    assert_eq!(entry["after"]["allowed"][0], serde_json::json!({"protocol": "TCP", "ports": [[9000, 9001]]}));
    assert_eq!(entry["before"]["allowed"][0], serde_json::json!({"protocol": "TCP", "ports": [[1, 65535]]}));
    let text = String::from_utf8_lossy(&run("text").stdout).into_owned();
    assert!(
        text.lines().any(|l| l.split_whitespace().collect::<Vec<_>>().join(" ")
            == "foo/curl foo/tcp-echo all -> TCP 9000-9001; UDP all; SCTP all"),
        "{text}"
    );
    let md = String::from_utf8_lossy(&run("md").stdout).into_owned();
    assert!(md.contains("| `foo/curl` | `foo/tcp-echo` | all | TCP 9000-9001; UDP all; SCTP all |"), "{md}");
    // Without AuthorizationPolicy on either side there is no section.
    let same = netreach(&["diff", workloads, workloads, "-o", "json", "-q"]);
    assert!(serde_json::from_slice::<serde_json::Value>(&same.stdout).unwrap()["authz"].as_array().unwrap().is_empty());
}
