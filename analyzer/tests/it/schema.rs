//! `netreach schema COMMAND` and every command's `-o json` on the fixtures, validated against
//! the schema that command prints: the schemas are held to the writers, field by field.

use crate::support::{netreach, stderr, stdout};
use netreach::schema::{validate, SchemaCommand};
use serde_json::Value;

/// The schema as `netreach schema COMMAND` prints it.
fn printed_schema(command: &str) -> Value {
    let out = netreach(&["schema", command]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    serde_json::from_str(&stdout(&out)).unwrap()
}

/// Runs `netreach ARGS… -o json` and validates stdout against the schema of ARGS[0].
fn assert_valid(args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.extend(["-o", "json"]);
    let out = netreach(&all);
    assert!(matches!(out.status.code(), Some(0 | 1)), "{all:?}: {}", stderr(&out));
    let output: Value = serde_json::from_str(&stdout(&out)).unwrap_or_else(|e| panic!("{all:?}: {e}"));
    if let Err(errors) = validate(&printed_schema(args[0]), &output) {
        panic!("netreach {} breaks its schema:\n{errors}", all.join(" "));
    }
    output
}

#[test]
fn schema_prints_one_schema_per_command() {
    for command in SchemaCommand::ALL {
        let schema = printed_schema(command.name());
        assert_eq!(schema["title"], format!("netreach {} -o json", command.name()));
        assert_eq!(schema["$schema"], "https://json-schema.org/draft/2020-12/schema");
    }
    let out = netreach(&["schema", "generate"]);
    assert_eq!(out.status.code(), Some(2), "a command without a schema is a usage error");
    assert_eq!(stdout(&out), "");
}

#[test]
fn connectivity_json_follows_its_schema() {
    for fixture in ["shop", "weak", "small/host-network", "small/ipblock-except", "small/named-ports", "tiers"] {
        assert_valid(&["connectivity", fixture]);
    }
    let filtered = assert_valid(&["connectivity", "shop", "--from", "ns:shop", "--to", "internet"]);
    assert!(filtered["nodes"].as_array().unwrap().iter().any(|n| n["kind"] == "External"), "{filtered}");
    // With the mesh layer: `meshLayer`, and `custom` on the connections into shop/web.
    let layered = assert_valid(&["connectivity", "mesh-authz/identity", "--mesh"]);
    assert_eq!(layered["meshLayer"], true);
    let custom = layered["connections"].as_array().unwrap().iter().filter(|c| c.get("custom").is_some()).count();
    assert_eq!(custom, 6, "{layered}");
}

#[test]
fn audit_json_follows_its_schema() {
    for fixture in ["weak", "shop", "audit-real/broad", "audit-real/operators", "mesh/istio-bookinfo-like"] {
        let output = assert_valid(&["audit", fixture]);
        assert!(!output["segmentation"].as_array().unwrap().is_empty(), "{fixture}");
    }
    assert!(!assert_valid(&["audit", "weak"])["findings"].as_array().unwrap().is_empty());
}

#[test]
fn mesh_json_follows_its_schema() {
    for fixture in ["mesh/istio-bookinfo-like", "mesh/linkerd", "shop", "mesh-authz/waypoint"] {
        for level in ["pod", "workload", "namespace"] {
            assert_valid(&["mesh", fixture, "--level", level]);
        }
    }
}

#[test]
fn diff_json_follows_its_schema() {
    let authz = assert_valid(&[
        "diff",
        "mesh-authz/tcp-task/workloads.yaml",
        "--apply",
        "mesh-authz/tcp-task/stage-1-allow-ports.yaml",
    ]);
    assert_eq!(authz["authz"].as_array().unwrap().len(), 2, "{authz}");
    let change = |name: &str| format!("diff/changes/{name}.yaml");
    for level in ["pod", "workload", "namespace"] {
        for name in ["default-deny-web", "tightened-api", "admin-protect-data"] {
            assert_valid(&["diff", "diff/before", "--apply", &change(name), "--level", level]);
        }
        assert_valid(&["diff", "diff/before", "--delete", &change("frontend-pod"), "--level", level]);
    }
    let renamed =
        assert_valid(&["diff", "diff/before", "--apply", &change("api-renamed"), "--delete", &change("api-old-name")]);
    assert!(renamed.get("applied").is_some(), "{renamed}");
    assert_valid(&["diff", "shop", "invariants/shop-broken"]);
}

#[test]
fn paths_json_follows_its_schema() {
    for from in ["shop/frontend", "internet", "app=postgres"] {
        assert_valid(&["paths", "--from", from, "shop"]);
    }
    let lateral = assert_valid(&["paths", "--from", "lat/a", "small/lateral", "--max-hops", "5"]);
    assert!(!lateral["paths"].as_array().unwrap().is_empty());
    // Attack paths: every hop kind but node-local here (escape, token, rbac, network).
    for (from, to, fixture) in [
        ("shop/web", "nodes", "attack/privileged"),
        ("shop/web", "any", "attack/privileged"),
        ("ops/limited-tool", "cluster-admin", "attack/wildcard"),
        ("any", "secrets/prod", "attack/create-pods"),
    ] {
        let doc = assert_valid(&["paths", "--from", from, "--to", to, fixture]);
        assert_eq!(doc["mode"], "attack");
        assert!(!doc["paths"].as_array().unwrap().is_empty(), "{from} → {to}");
    }
}

#[test]
fn check_json_follows_its_schema_for_every_kind_of_violation() {
    let dir = tempfile::tempdir().unwrap();
    let failing = dir.path().join("failing.yaml");
    std::fs::write(
        &failing,
        r#"invariants:
  - name: nothing reaches shop
    deny: {from: any, to: "ns:shop"}
  - name: only the frontend reaches cart
    allowOnly: {to: shop/cart, from: shop/frontend}
  - name: data reaches the internet
    allow: {from: "ns:data", to: internet, ports: ["443/TCP"]}
  - name: kube-system is isolated
    isolated: {namespaces: [kube-system], direction: both}
  - name: the frontend reaches little
    maxReach: {from: "app=frontend", hops: 2, atMost: 1}
  - name: shop speaks mtls
    mtls: {from: "ns:shop", to: "ns:shop"}
"#,
    )
    .unwrap();
    let output = assert_valid(&["check", "--invariants", failing.to_str().unwrap(), "shop"]);
    let shown: Vec<&Value> = output["invariants"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|i| i["violations"]["shown"].as_array().unwrap())
        .collect();
    for field in ["rules", "reasons", "directions", "paths"] {
        assert!(shown.iter().any(|v| v.get(field).is_some()), "a violation with {field}: {output:#}");
    }
    for broken in ["shop", "invariants/shop-broken"] {
        assert_valid(&["check", "--invariants", "invariants/shop.yaml", broken]);
    }
}

#[test]
fn can_json_follows_its_schema_in_every_dialect() {
    let cases: &[&[&str]] = &[
        &["can", "shop/frontend", "shop/cart", "shop"],
        &["can", "shop/frontend", "data/postgres", "shop", "--port", "5432"],
        &["can", "internet", "ns:shop", "shop", "--port", "443"],
        &["can", "bank/web", "bank/db", "calico/bank", "--port", "5432"],
        &["can", "demo/client", "demo/web", "small/real-inputs"],
        &[
            "can",
            "foo/curl",
            "foo/tcp-echo",
            "mesh-authz/tcp-task/workloads.yaml",
            "mesh-authz/tcp-task/stage-1-allow-ports.yaml",
            "--port",
            "9000",
        ],
    ];
    let mut seen = (false, false, false);
    for args in cases {
        let doc = assert_valid(args);
        let sides = doc["verdicts"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|v| [&v["egress"], &v["ingress"]])
            .cloned()
            .collect::<Vec<_>>();
        seen.0 |= sides.iter().any(|s| !s["tiers"].as_array().unwrap().is_empty());
        seen.1 |= sides.iter().any(|s| !s["cilium"].as_array().unwrap().is_empty());
        seen.2 |= doc.get("mesh").is_some();
    }
    assert_eq!(seen, (true, true, true), "the cases cover Calico tiers, Cilium rules and the mesh layer");
}
