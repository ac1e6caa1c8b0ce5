//! `netreach can`: verdicts and reasons on the shop fixture, worked out by hand from
//! fixtures/shop/policies (not copied from the program's output).

use crate::support::{assert_run_snapshot, netreach, stderr, stdout};
use serde_json::Value;

/// Runs `netreach can FROM TO [args] shop -o json`; returns (exit code, JSON).
fn can(from: &str, to: &str, extra: &[&str]) -> (i32, Value) {
    let out = netreach(&[&["can", from, to, "shop", "-o", "json", "-q"], extra].concat());
    let code = out.status.code().unwrap();
    assert!(code != 2, "{}", stderr(&out));
    (code, serde_json::from_slice(&out.stdout).unwrap())
}

/// Runs `netreach can FROM TO [args] shop`; returns (exit code, stdout then stderr).
fn text(from: &str, to: &str, extra: &[&str]) -> (i32, String) {
    let out = netreach(&[&["can", from, to, "shop", "-q"], extra].concat());
    (out.status.code().unwrap(), stdout(&out) + &stderr(&out))
}

#[test]
fn allowed_names_the_exact_rule_on_both_sides() {
    // shop/frontend egress[0]: to tier=backend on the named port grpc (cart declares grpc = 7070);
    // shop/cart ingress[0]: from app in (frontend, checkout) on TCP 7070.
    let (code, v) = can("shop/frontend", "shop/cart", &["--port", "7070"]);
    assert_eq!(code, 0);
    assert_eq!(v["allowed"], true);
    let verdict = &v["verdicts"][0];
    let egress = &verdict["egress"]["allowedBy"][0];
    assert_eq!(
        (egress["policy"].as_str(), egress["rule"].as_u64(), egress["peer"].as_u64(), egress["port"].as_u64()),
        (Some("shop/frontend"), Some(0), Some(0), Some(0))
    );
    let ingress = &verdict["ingress"]["allowedBy"][0];
    assert_eq!(
        (ingress["policy"].as_str(), ingress["rule"].as_u64(), ingress["peer"].as_u64(), ingress["port"].as_u64()),
        (Some("shop/cart"), Some(0), Some(0), Some(0))
    );
    let isolated: Vec<&str> =
        verdict["ingress"]["isolatedBy"].as_array().unwrap().iter().map(|p| p.as_str().unwrap()).collect();
    assert_eq!(isolated, ["shop/cart", "shop/default-deny-all"]);
}

#[test]
fn denied_with_the_closest_miss() {
    // cart's ingress rule matches the peer (app=frontend) but only lists TCP 7070. The workloads
    // run 3 and 2 replicas: one explanation stands for the 6 alike pairs, named by the first.
    let (code, out) = text("shop/frontend", "shop/cart", &["--port", "9999"]);
    assert!(out.contains("shop/frontend-1 [Deployment] → shop/cart-1 [Deployment]: denied\n  (and 5 more pair(s) treated identically)"), "{out}");
    assert_eq!(code, 1);
    assert!(out.contains("DENIED"), "{out}");
    assert!(
        out.contains("shop/cart ingress[0]: the peer matches shop/frontend-1, but TCP/9999 is not in [TCP 7070]"),
        "{out}"
    );
    // frontend's egress rule matches cart (tier=backend) but its named port grpc resolves to 7070.
    assert!(
        out.contains(
            "shop/frontend egress[0]: the peer matches shop/cart-1, but TCP/9999 is not in [TCP port named grpc]"
        ),
        "{out}"
    );
}

#[test]
fn named_port_that_does_not_resolve_is_said_plainly() {
    // frontend's egress allows the named port grpc; postgres declares no port named grpc.
    let (code, out) = text("shop/frontend", "data/postgres", &["--port", "5432"]);
    assert_eq!(code, 1);
    assert!(out.contains("the named port grpc/TCP does not resolve on data/postgres"), "{out}");
}

#[test]
fn without_a_port_every_allowed_port_is_reported() {
    // checkout -> cart: checkout's egress allows cart on 7070; cart's ingress admits checkout on 7070.
    let (code, v) = can("shop/checkout", "shop/cart", &[]);
    assert_eq!(code, 0);
    assert_eq!(v["verdicts"][0]["allowedPorts"], serde_json::json!([{"protocol": "TCP", "ports": [[7070, 7070]]}]));
    // payments/ledger -> data/postgres: the postgres rule meant for ledger has no namespaceSelector,
    // so it looks for app=ledger in namespace data: denied on every port.
    let (code, v) = can("payments/ledger", "data/postgres", &[]);
    assert_eq!(code, 1);
    let misses = v["verdicts"][0]["ingress"]["closestMisses"].as_array().unwrap();
    assert!(
        misses.iter().any(|m| m
            .as_str()
            .unwrap()
            .contains("no peer matches payments/ledger-1 ([podSelector app=ledger (policy's namespace)])")),
        "{misses:?}"
    );
}

#[test]
fn external_addresses_and_host_network() {
    // frontend ingress[0] admits ipBlock 0.0.0.0/0 on the named port http (8080).
    let (code, _) = can("203.0.113.10", "shop/frontend", &["--port", "8080/tcp"]);
    assert_eq!(code, 0);
    let (code, _) = can("203.0.113.10", "shop/checkout", &["--port", "5050"]);
    assert_eq!(code, 1);
    let (_, out) = text("kube-system/node-log-agent", "shop/frontend", &[]);
    assert!(out.contains("is a hostNetwork pod: no pod or namespace selector selects it"), "{out}");
}

#[test]
fn self_traffic_is_always_allowed() {
    let (code, out) = text("shop/cart-1", "shop/cart-1", &["--port", "1234"]);
    assert_eq!(code, 0);
    assert!(out.contains("a pod can always reach itself"), "{out}");
    assert!(out.contains("allowed ports: all"), "{out}");
}

#[test]
fn a_workload_to_itself_asks_about_two_different_replicas() {
    // shop/cart runs 2 replicas; cart's ingress admits only frontend and checkout, so one
    // replica may not reach the other. Each replica's traffic to itself is left out.
    let (code, v) = can("shop/Deployment/cart", "shop/Deployment/cart", &["--port", "7070"]);
    assert_eq!(code, 1);
    assert_eq!(v["allowed"], false);
    let pairs: Vec<&serde_json::Value> =
        v["verdicts"].as_array().unwrap().iter().flat_map(|x| x["pairs"].as_array().unwrap()).collect();
    assert_eq!(
        pairs,
        [&serde_json::json!(["shop/cart-1", "shop/cart-2"]), &serde_json::json!(["shop/cart-2", "shop/cart-1"])]
    );
    let (_, out) = text("shop/cart", "shop/cart", &[]);
    assert!(!out.contains("can always reach itself"), "{out}");
    // kube-system/coredns (2 replicas) admits every namespace's pods on 53/UDP, its own too.
    let (code, out) = text("kube-system/coredns", "kube-system/coredns", &["--port", "53/udp"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("ALLOWED"), "{out}");
}

#[test]
fn bad_names_exit_2() {
    let (code, out) = text("shop/nope", "shop/cart", &[]);
    assert_eq!(code, 2);
    assert!(out.contains("no pod or workload shop/nope"), "{out}");
    let (code, out) = text("shop/cart", "shop/frontend", &["--port", "70000"]);
    assert_eq!(code, 2);
    assert!(out.contains("not a port"), "{out}");
}

#[test]
fn markdown_snapshot() {
    assert_run_snapshot!(netreach(&[
        "can",
        "shop/frontend",
        "data/postgres",
        "shop",
        "-q",
        "--port",
        "5432",
        "-o",
        "md"
    ]));
}

#[test]
fn replicas_fixture_between_two_replicas() {
    let run = |from: &str, to: &str| {
        let out = netreach(&["can", from, to, "small/replicas", "-q", "-o", "json"]);
        (out.status.code().unwrap(), serde_json::from_slice::<Value>(&out.stdout).unwrap())
    };
    // api's ingress admits only app=client: its 3 replicas may not reach each other (6 pairs).
    let (code, v) = run("web/Deployment/api", "web/Deployment/api");
    assert_eq!(code, 1);
    let pairs: usize = v["verdicts"].as_array().unwrap().iter().map(|x| x["pairs"].as_array().unwrap().len()).sum();
    assert_eq!(pairs, 6);
    // cache-peers admits app=cache on 6379: allowed between cache-1 and cache-2.
    let (code, v) = run("web/cache", "web/cache");
    assert_eq!(code, 0);
    assert_eq!(v["verdicts"][0]["allowedPorts"], serde_json::json!([{"protocol": "TCP", "ports": [[6379, 6379]]}]));
    // A pod to itself: always allowed.
    let (code, _) = run("web/api-1", "web/api-1");
    assert_eq!(code, 0);
}

/// The text and JSON of the Markdown snapshot's question, each run frozen whole.
#[test]
fn text_and_json_snapshots() {
    for format in ["text", "json"] {
        let out = netreach(&["can", "shop/frontend", "data/postgres", "shop", "--port", "5432", "-o", format]);
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        assert_run_snapshot!(format!("frontend_to_postgres_{format}"), out);
    }
}
