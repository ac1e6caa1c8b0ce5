//! The consequences of entry points elsewhere, on fixtures/exposure (hand-worked in its
//! expectations) and fixtures/attack: `paths --from internet` starts at the entry points (and
//! `--internet policy-only` where policy alone said), `can internet X` names the entry paths,
//! `diff` reports exposure changes, `exposure -o dot|svg` draws them.

use crate::support::{fixtures, netreach, require_program, stderr, stdout};
use netreach::schema::{schema, validate, SchemaCommand};
use serde_json::Value;
use std::collections::BTreeMap;

fn json_of(args: &[&str]) -> Value {
    let out = netreach(args);
    assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
    serde_json::from_str(&stdout(&out)).unwrap_or_else(|e| panic!("{args:?}: {e}\n{}", stdout(&out)))
}

/// Per target pod (externals left out): its hops as `kind dst [via KIND ns/name]`.
fn hops_per_pod(doc: &Value) -> BTreeMap<String, Vec<String>> {
    doc["paths"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| !p["target"].as_str().unwrap().starts_with("external"))
        .map(|p| {
            let hops = p["hops"]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| {
                    let to = h.get("dst").or(h.get("to")).unwrap().as_str().unwrap();
                    let mut words = format!("{} {to}", h["kind"].as_str().unwrap());
                    if let Some(via) = h.get("via") {
                        words.push_str(&format!(
                            " via {} {}",
                            via["kind"].as_str().unwrap(),
                            via["name"].as_str().unwrap()
                        ));
                    }
                    words
                })
                .collect();
            (p["target"].as_str().unwrap().to_string(), hops)
        })
        .collect()
}

#[test]
fn paths_from_internet_start_at_the_entry_points_as_worked_by_hand() {
    // fixtures/exposure (see its expectations): published are web (LoadBalancer, Local, clients
    // in 198.51.100.0/24, admitted), api (NodePort, Cluster: node addresses, admitted), pay
    // (externalIPs and the selector-less LoadBalancer legacy), agent (hostPort), node-exporter
    // (hostNetwork), and the controller and gateway pods. billing is admitted from anywhere but
    // nothing publishes it: it is entered through the Gateway, behind gw-istio-0 (2 hops). db is
    // published (LoadBalancer db, Ingress) but admits only api: reached from api (2 hops).
    let doc = json_of(&["paths", "--from", "internet", "exposure", "--max-hops", "2", "-o", "json"]);
    validate(&schema(SchemaCommand::Paths), &doc).unwrap();
    let hops = hops_per_pod(&doc);
    let expected: BTreeMap<&str, Vec<&str>> = [
        ("shop/web-0", vec!["entry shop/web-0 via LoadBalancer shop/web"]),
        ("shop/api-0", vec!["entry shop/api-0 via NodePort shop/api"]),
        ("shop/db-0", vec!["entry shop/api-0 via NodePort shop/api", "policy shop/db-0"]),
        ("payments/pay-0", vec!["entry payments/pay-0 via LoadBalancer payments/legacy"]),
        (
            "payments/billing-0",
            vec!["entry edge/gw-istio-0 via Gateway edge/gw", "entry payments/billing-0 via Gateway edge/gw"],
        ),
        ("monitoring/agent-0", vec!["entry monitoring/agent-0 via HostPort monitoring/agent-0"]),
        (
            "monitoring/node-exporter-0",
            vec!["entry monitoring/node-exporter-0 via HostNetwork monitoring/node-exporter-0"],
        ),
        ("ingress-nginx/controller-0", vec!["entry ingress-nginx/controller-0 via Ingress shop/shop"]),
        ("edge/gw-istio-0", vec!["entry edge/gw-istio-0 via Gateway edge/gw"]),
    ]
    .into_iter()
    .collect();
    let found: BTreeMap<&str, Vec<&str>> =
        hops.iter().map(|(k, v)| (k.as_str(), v.iter().map(String::as_str).collect())).collect();
    assert_eq!(found, expected);
    // Each entry hop names the source its pod sees and the pod's port.
    let paths = doc["paths"].as_array().unwrap();
    let api = paths.iter().find(|p| p["target"] == "shop/api-0").unwrap();
    assert_eq!(api["hops"][0]["port"], 9090);
    assert!(api["hops"][0]["source"].as_str().unwrap().starts_with("a node address"), "{api}");
    let web = paths.iter().find(|p| p["target"] == "shop/web-0").unwrap();
    assert!(web["hops"][0]["source"].as_str().unwrap().contains("loadBalancerSourceRanges 198.51.100.0/24"), "{web}");
    // One blast-radius row, the internet's: 7 pods at the first hop, 9 within two.
    assert_eq!(doc["blastRadius"].as_array().unwrap().len(), 1);
    assert_eq!(doc["blastRadius"][0]["source"], "internet (through the entry points)");
    assert_eq!(doc["blastRadius"][0]["reached"], serde_json::json!([7, 9]));

    // Policy alone: billing is one hop away (it admits every source), and no hop names an entry point.
    let old = json_of(&[
        "paths",
        "--from",
        "internet",
        "exposure",
        "--max-hops",
        "2",
        "--internet",
        "policy-only",
        "-o",
        "json",
    ]);
    validate(&schema(SchemaCommand::Paths), &old).unwrap();
    let old_hops = hops_per_pod(&old);
    assert_eq!(old_hops["payments/billing-0"], ["policy payments/billing-0"]);
    assert!(old_hops.values().flatten().all(|h| !h.contains(" via ")), "{old_hops:?}");
    assert!(old["blastRadius"].as_array().unwrap().len() > 1, "one row per external range");
}

#[test]
fn paths_from_internet_honours_the_entry_flags_of_exposure() {
    // --cluster-source client: under Cluster the pods see the client, so those admitting the
    // allowed clients (198.51.100.0/24) are entered; by default (node addresses) they are not.
    let args = ["paths", "--from", "internet", "exposure-source-ranges", "--max-hops", "1", "-o", "json"];
    let by_default = hops_per_pod(&json_of(&args));
    let with_client = hops_per_pod(&json_of(&[&args[..], &["--cluster-source", "client"]].concat()));
    assert!(!by_default.contains_key("lb/cr-clients") && !by_default.contains_key("lb/co-clients"), "{by_default:?}");
    assert_eq!(with_client["lb/cr-clients"], ["entry lb/cr-clients via LoadBalancer lb/cluster-ranged"]);
    assert_eq!(with_client["lb/co-clients"], ["entry lb/co-clients via LoadBalancer lb/cluster-open"]);
    assert!(
        !with_client.contains_key("lb/cr-nodes"),
        "the client range, not the node, reaches cr-nodes: {with_client:?}"
    );
    // --ingress-controller: the Ingress runs on the gateway's pod; ingress-nginx's controller
    // is then no entry point (reached, if at all, by policy from an entered pod).
    let args = ["paths", "--from", "internet", "--to", "ns:ingress-nginx", "exposure", "--max-hops", "2", "-o", "json"];
    assert_eq!(
        hops_per_pod(&json_of(&args))["ingress-nginx/controller-0"],
        ["entry ingress-nginx/controller-0 via Ingress shop/shop"]
    );
    let chosen = hops_per_pod(&json_of(&[&args[..], &["--ingress-controller", "edge/gw-istio-0"]].concat()));
    assert!(
        chosen.get("ingress-nginx/controller-0").is_none_or(|hops| hops.iter().all(|h| !h.contains("via Ingress"))),
        "{chosen:?}"
    );
    let out = netreach(&["paths", "--from", "internet", "exposure", "--ingress-controller", "app=nothing-here"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--ingress-controller \"app=nothing-here\" selects no pod"), "{}", stderr(&out));
}

#[test]
fn paths_from_internet_text_names_each_entry_point() {
    let out = netreach(&["paths", "--from", "internet", "--to", "payments/billing-0", "exposure", "-q"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains(
            "-[TCP 80 via Gateway edge/gw]-> edge/gw-istio-0 -[TCP 8080 via Gateway edge/gw]-> payments/billing-0"
        ),
        "{text}"
    );
    assert!(text.contains("internet (through the entry points)"), "{text}");
}

#[test]
fn attack_paths_from_internet_enter_through_the_published_service() {
    // fixtures/attack/privileged: LoadBalancer shop/web (service.yaml) is web's entry point.
    let doc = json_of(&["paths", "--from", "internet", "--to", "nodes", "attack/privileged", "-o", "json"]);
    validate(&schema(SchemaCommand::Paths), &doc).unwrap();
    assert_eq!(doc["mode"], "attack");
    let hops = doc["paths"][0]["hops"].as_array().unwrap();
    assert_eq!(hops.len(), 2, "{hops:?}");
    assert_eq!(hops[0]["kind"], "network");
    assert_eq!(hops[0]["to"], "shop/web");
    assert_eq!(hops[0]["port"], 80);
    assert_eq!(hops[0]["via"], serde_json::json!({"kind": "LoadBalancer", "name": "shop/web"}));
    assert!(
        hops[0]["reason"].as_str().unwrap().starts_with("enters through LoadBalancer shop/web on TCP 80"),
        "{hops:?}"
    );
    assert_eq!(hops[1]["kind"], "escape");
    assert_eq!(doc["blastRadius"].as_array().unwrap().len(), 1);
    assert_eq!(doc["blastRadius"][0]["source"], "internet (through the entry points)");
    assert_eq!(doc["blastRadius"][0]["nodes"], serde_json::json!([0, 1, 1]));
}

#[test]
fn without_an_entry_point_the_audit_finds_no_internet_attack_path() {
    // fixtures/attack/privileged without service.yaml: no policy isolates web, but nothing
    // publishes it, so NR302 and NR303 (present with it) are gone; NR021 says policy admits it.
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(fixtures().join("attack/privileged/cluster.yaml"), dir.path().join("cluster.yaml")).unwrap();
    std::fs::copy(fixtures().join("attack/privileged/apiserver.yaml"), dir.path().join("apiserver.yaml")).unwrap();
    let ids = |path: &str| -> Vec<String> {
        let doc = json_of(&["audit", path, "-o", "json", "-q"]);
        doc["findings"].as_array().unwrap().iter().map(|f| f["id"].as_str().unwrap().to_string()).collect()
    };
    let with = ids("attack/privileged");
    assert!(with.contains(&"NR302".to_string()) && with.contains(&"NR303".to_string()), "{with:?}");
    let without = ids(dir.path().to_str().unwrap());
    assert!(!without.iter().any(|id| id.starts_with("NR30")), "{without:?}");
    assert!(without.contains(&"NR021".to_string()), "{without:?}");
}

#[test]
fn can_internet_names_the_entry_paths_beside_the_policy_verdict() {
    // db-0 on 5432: LoadBalancer shop/db and Ingress shop/shop deliver there, db admits neither
    // (only api): both named, not reachable; the policy verdict (no) keeps the exit code 1.
    let out = netreach(&["can", "internet", "shop/db-0", "--port", "5432", "exposure", "-o", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let doc: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let paths: Vec<(String, bool)> = doc["entryPaths"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                format!("{} {}", p["via"]["kind"].as_str().unwrap(), p["via"]["name"].as_str().unwrap()),
                p["reachable"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(paths, [("LoadBalancer shop/db".to_string(), false), ("Ingress shop/shop".to_string(), false)]);
    // billing-0 on 8080: policy admits every source (exit 0) and the Gateway delivers there.
    let out = netreach(&["can", "internet", "payments/billing-0", "--port", "8080", "exposure"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("Entry paths from outside: 1 (1 reachable"), "{text}");
    assert!(text.contains("Gateway edge/gw to payments/billing-0 8080/TCP (entry port 80): reachable"), "{text}");
    // On a port nothing delivers: allowed by policy, and no entry path.
    let out = netreach(&["can", "internet", "payments/billing-0", "--port", "9999", "exposure", "-o", "json"]);
    assert_eq!(out.status.code(), Some(0));
    let doc: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(doc["entryPaths"], serde_json::json!([]));
    // Another source: no entryPaths at all.
    let doc = json_of(&["can", "shop/api-0", "shop/db-0", "--port", "5432", "exposure", "-o", "json"]);
    assert!(doc.get("entryPaths").is_none(), "{doc}");
}

#[test]
fn diff_reports_a_service_turning_load_balancer_and_reachability_changes() {
    let dir = tempfile::tempdir().unwrap();
    let base = std::fs::read_to_string(fixtures().join("exposure/cluster.yaml")).unwrap();
    // billing becomes a LoadBalancer (Local): one added entry path, reachable (no policy);
    // api's node addresses are no longer admitted: its NodePort path turns unreachable.
    let after = base
        .replace(
            "metadata: {name: billing, namespace: payments}\nspec:\n  selector",
            "metadata: {name: billing, namespace: payments}\nspec:\n  type: LoadBalancer\n  externalTrafficPolicy: Local\n  selector",
        )
        .replace("  - from: [{ipBlock: {cidr: 10.0.0.0/24}}]\n    ports: [{port: 9090}]", "  - from: [{ipBlock: {cidr: 10.0.0.0/30}}]\n    ports: [{port: 9091}]");
    assert_ne!(after, base);
    std::fs::write(dir.path().join("before.yaml"), &base).unwrap();
    std::fs::write(dir.path().join("after.yaml"), &after).unwrap();
    let (b, a) = (dir.path().join("before.yaml"), dir.path().join("after.yaml"));
    let (b, a) = (b.to_str().unwrap(), a.to_str().unwrap());
    let doc = json_of(&["diff", b, a, "-o", "json", "-q"]);
    validate(&schema(SchemaCommand::Diff), &doc).unwrap();
    let changes: Vec<String> = doc["exposures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            format!(
                "{} {} {} via {} {}: {} -> {}",
                c["change"].as_str().unwrap(),
                c["pod"].as_str().unwrap(),
                c["port"],
                c["via"]["kind"].as_str().unwrap(),
                c["via"]["name"].as_str().unwrap(),
                c["before"]["reachable"],
                c["after"]["reachable"]
            )
        })
        .collect();
    assert_eq!(
        changes,
        [
            "added payments/billing-0 8080 via LoadBalancer payments/billing: null -> true",
            "changed shop/api-0 9090 via NodePort shop/api: true -> false",
        ]
    );
    // Counted by --exit-code; narrowed by -n like every entry.
    let out = netreach(&["diff", b, a, "--exit-code", "-q", "-n", "payments"]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(text.contains("ENTRY PATH CHANGES"), "{text}");
    assert!(text.contains("added    payments/billing-0 8080/TCP via LoadBalancer payments/billing"), "{text}");
    assert!(!text.contains("shop/api-0 9090/TCP via NodePort"), "-n payments leaves shop out: {text}");
    let md = stdout(&netreach(&["diff", b, a, "-o", "md", "-q"]));
    assert!(md.contains("#### Entry path changes"), "{md}");
    assert!(md.contains("| changed | `shop/api-0` | 9090/TCP | NodePort `shop/api` | reachable (entry port 30090) | not reachable (entry port 30090) |"), "{md}");
    // The same input on both sides: no exposure change, exit 0.
    let out = netreach(&["diff", b, b, "--exit-code", "-q", "-o", "json"]);
    assert_eq!(out.status.code(), Some(0));
    let doc: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(doc["exposures"], serde_json::json!([]));
}

#[test]
fn exposure_dot_draws_entry_points_shaped_by_kind_and_denied_hops_dashed() {
    let out = netreach(&["exposure", "exposure", "-o", "dot"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let dot = stdout(&out);
    graphviz_rust::parse(&dot).unwrap_or_else(|e| panic!("{e}\n{dot}"));
    for (entry, shape) in [
        ("entry:LoadBalancer:shop/web", "doubleoctagon"),
        ("entry:NodePort:shop/api", "octagon"),
        ("entry:ExternalIP:payments/pay", "diamond"),
        ("entry:Ingress:shop/shop", "house"),
        ("entry:Gateway:edge/gw", "invhouse"),
        ("entry:HostPort:monitoring/agent-0", "cds"),
        ("entry:HostNetwork:monitoring/node-exporter-0", "component"),
    ] {
        let line = dot
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("\"{entry}\"")))
            .unwrap_or_else(|| panic!("{entry}\n{dot}"));
        assert!(line.contains(&format!("shape={shape}")), "{line}");
    }
    // The internet node, and the entry point feeding its pods.
    assert!(dot.contains("\"external:outside the cluster\" -> \"entry:LoadBalancer:shop/web\""), "{dot}");
    // db admits neither its LoadBalancer's node addresses nor the controller: dashed grey.
    let denied = dot.lines().find(|l| l.contains("\"entry:LoadBalancer:shop/db\" -> \"shop/db-0\"")).expect("db's hop");
    assert!(denied.contains("dashed") && denied.contains("#a0aec0"), "{denied}");
    let admitted =
        dot.lines().find(|l| l.contains("\"entry:LoadBalancer:shop/web\" -> \"shop/web-0\"")).expect("web's hop");
    assert!(!admitted.contains("dashed"), "{admitted}");
    // Pods in their namespace's cluster.
    assert!(dot.contains("subgraph \"cluster_ns_shop\""), "{dot}");
}

#[test]
fn exposure_svg_needs_graphviz_and_says_how_to_install_it() {
    require_program("dot", "graphviz");
    let out = netreach(&["exposure", "exposure", "-o", "svg"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("<svg"));
    let dir = tempfile::tempdir().unwrap();
    let out = crate::support::netreach_command()
        .args(["exposure", "exposure", "-o", "svg"])
        .current_dir(fixtures())
        .env("PATH", dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert!(stderr(&out).contains("apt-get install graphviz"), "{}", stderr(&out));
}
