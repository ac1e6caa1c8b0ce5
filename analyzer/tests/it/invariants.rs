//! `netreach check --invariants` and the `netreach::testing` API.
//!
//! fixtures/invariants/shop.yaml holds on fixtures/shop; fixtures/invariants/shop-broken is the
//! shop after three policy mistakes (its README lists them), which break exactly three of
//! those invariants. Class-level counts are held to a brute-force pair-by-pair count.

use crate::support::{assert_run_snapshot, netreach_command, repo, stderr, stdout};
use netreach::invariants::{self, Assertion, Checker, Invariant, Status, Violation};
use netreach::load::{load, load_str, Input};
use netreach::model::{EngineOptions, PortSet};
use netreach::testing::{Failure, Isolation, Segmentation};
use netreach::Analysis;
use std::process::Output;

/// Runs the binary from the workspace root, so file names in the output are relative.
fn netreach(args: &[&str]) -> Output {
    netreach_command().current_dir(repo()).args(args).output().unwrap()
}

const SHOP: &str = "fixtures/invariants/shop.yaml";
const BROKEN: &str = "fixtures/invariants/shop-broken";

/// Writes an invariants file in a temporary folder; returns (folder guard, path).
fn invariants_file(text: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("invariants.yaml");
    std::fs::write(&path, text).unwrap();
    let path = path.display().to_string();
    (dir, path)
}

fn analysis(folder: &str) -> Analysis {
    let loaded = load(&[Input::Path(repo().join(folder))]).unwrap_or_else(|e| panic!("{folder}: {e}"));
    Analysis::new(loaded.cluster, &EngineOptions::default())
}

fn shop_invariants() -> Vec<Invariant> {
    invariants::parse_file(&repo().join(SHOP)).unwrap()
}

// ---- the fixture: passes on shop, three failures on shop-broken -------------------------------

#[test]
fn shop_invariants_pass() {
    let out = netreach(&["check", "--invariants", SHOP, "fixtures/shop"]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    let text = stdout(&out);
    assert_eq!(text.lines().filter(|l| l.starts_with("PASS  ")).count(), 10, "{text}");
    assert!(!text.contains("FAIL") && !text.contains("SKIP"), "{text}");
    assert!(text.ends_with("\n10 invariant(s): 10 passed, 0 failed\n"), "{text}");
    assert_eq!(stderr(&out), "");
}

#[test]
fn broken_shop_fails_exactly_three() {
    let out = netreach(&["check", "--invariants", SHOP, BROKEN]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    let failed: Vec<&str> = text.lines().filter_map(|l| l.strip_prefix("FAIL  ")).collect();
    assert_eq!(
        failed,
        [
            "only catalog and the nightly report talk to postgres",
            "checkout reaches the payment gateway on https",
            "application namespaces default-deny both ways",
        ]
    );
    assert!(text.ends_with("\n10 invariant(s): 7 passed, 3 failed\n"), "{text}");
}

#[test]
fn broken_shop_violations_name_pairs_and_rules() {
    let a = analysis(BROKEN);
    let report = invariants::check(&a, SHOP, &shop_invariants(), 10).unwrap();
    let failed: Vec<_> = report.evaluations.iter().filter(|e| e.failed()).collect();
    assert_eq!(failed.len(), 3);

    // Mistake 1: the ledger reaches postgres; both rules that allow it are named.
    let postgres = failed[0];
    // Both ledger replicas; checked: the 23 other pods and the 2 external ranges into postgres-0.
    assert_eq!((postgres.kind, postgres.count, postgres.checked), ("allowOnly", 2, 25));
    let Violation::Allowed { src, dst, ports, rules } = &postgres.violations[0] else {
        panic!("{:?}", postgres.violations)
    };
    assert_eq!(
        (src.as_str(), dst.as_str(), ports.to_string().as_str()),
        ("payments/ledger-1", "data/postgres-0", "TCP 5432")
    );
    assert_eq!(
        rules,
        &[
            "egress: payments/ledger egress[0]: to[0] namespaceSelector kubernetes.io/metadata.name=data and podSelector app=postgres; ports[0] TCP port named postgres",
            "ingress: data/postgres-ingress ingress[1]: from[0] namespaceSelector kubernetes.io/metadata.name=payments and podSelector app=ledger; ports[0] TCP port named postgres",
        ]
    );

    // Mistake 3: checkout no longer reaches the gateway; the ingress side says why.
    let gateway = failed[1];
    assert_eq!((gateway.kind, gateway.count), ("allow", 4)); // 2 checkout × 2 gateway replicas
    let Violation::Missing { src, dst, missing, allowed, reasons } = &gateway.violations[0] else { panic!() };
    assert_eq!((src.as_str(), dst.as_str()), ("shop/checkout-1", "payments/payment-gateway-1"));
    assert_eq!(missing.as_ref().map(|m| m.to_string()), Some("TCP 8443".into()));
    assert!(allowed.is_empty());
    assert!(reasons.iter().any(|r| r == "ingress: the rules of payments/default-deny-all, payments/payment-gateway admit only TCP 9443 for this pair"), "{reasons:?}");

    // Mistake 2: kafka's egress is selected by no policy.
    let isolated = failed[2];
    // checked: the pods of shop (11), payments (6) and data (3).
    assert_eq!((isolated.kind, isolated.count, isolated.checked), ("isolated", 1, 20));
    assert_eq!(
        isolated.violations,
        [Violation::NotIsolated {
            pod: "data/kafka".into(),
            directions: vec![netreach::model::Direction::Egress],
            reason: "no NetworkPolicy of namespace data selects it for Egress".into()
        }]
    );
}

// ---- exit code 2: the file (or its names) is wrong --------------------------------------------

#[test]
fn bad_files_exit_2_naming_invariant_and_field() {
    let cases: &[(&str, &str)] = &[
        (
            "invariants:\n  - name: a\n    deny: {from: \"ns:shop\", to: \"ns:data\"}\n  - name: b\n    isolated: {namespaces: \"*\"}\n  - name: only the API talks to the database\n    allowOnly: {to: \"app=db\", from: \"app=api\", ports: [\"5432/TCPX\"]}\n",
            r#": invariant 3 "only the API talks to the database": field allowOnly.ports[0]: "5432/TCPX" is not PORT/PROTO"#,
        ),
        ("invariants:\n  - name: x\n    deny: {from: \"ns:shop\", to: \"ns:data\", port: [80]}\n", r#": invariant 1 "x": field deny.port: unknown field `port`"#),
        ("invariants:\n  - name: x\n    denny: {from: \"ns:shop\", to: \"ns:data\"}\n", r#": invariant 1 "x": field denny: unknown field `denny`"#),
        ("invariants:\n  - name: x\n    isolated: {namespaces: \"*\", direction: sideways}\n", r#": invariant 1 "x": field isolated.direction: unknown variant `sideways`"#),
        ("invariants:\n  - name: x\n    maxReach: {from: \"app=frontend\", hops: 0, atMost: 3}\n", r#": invariant 1 "x": field maxReach.hops: must be between 1 and 1000"#),
        ("invariants:\n  - name: x\n    maxReach: {from: \"app=frontend\", hops: 2}\n", r#": invariant 1 "x": field maxReach: missing field `atMost`"#),
        ("invariants:\n  - name: x\n", r#": invariant 1 "x": no check: give one of deny, allowOnly, allow, isolated, maxReach, mtls"#),
        ("invariants:\n  - name: \"\"\n    deny: {from: any, to: any}\n", r#": invariant 1 "": field name: is empty"#),
        ("invariants:\n  - name: x\n    deny: {from: \"shop//x\", to: any}\n", r#": invariant 1 "x": field deny.from: invalid selector "shop//x""#),
        ("invariants:\n  - name: x\n    allowOnly: {to: \"ns:data\"}\n", r#": invariant 1 "x": field allowOnly: give `from`, `ports` or both"#),
        ("invariants:\n  - name: x\n    mtls: {to: \"ns:paymnts\"}\n", r#": invariant 1 "x": field mtls.to: no namespace "paymnts""#),
        // Names that match nothing in the cluster are typos: an error, like `--from` elsewhere.
        ("invariants:\n  - name: dev\n    deny: {from: \"ns:dev\", to: \"ns:shop\"}\n", r#": invariant 1 "dev": field deny.from: no namespace "dev""#),
        (
            "invariants:\n  - name: x\n    deny: {from: [\"ns:shop\", \"shop/nope\"], to: any}\n",
            r#": invariant 1 "x": field deny.from[1]: no pod or workload shop/nope"#,
        ),
        ("invariants:\n  - name: x\n    isolated: {namespaces: [shop, dta]}\n", r#": invariant 1 "x": field isolated.namespaces[1]: no namespace "dta""#),
        ("invariants: [\n", ": invalid YAML"),
        ("", ": empty file"),
    ];
    for (text, expected) in cases {
        let (_dir, path) = invariants_file(text);
        let out = netreach(&["check", "--invariants", &path, "fixtures/shop"]);
        assert_eq!(out.status.code(), Some(2), "{text}: {}", stderr(&out));
        assert_eq!(stdout(&out), "", "{text}");
        let err = stderr(&out);
        let want = format!("error: {path}{expected}");
        assert!(err.starts_with(&want), "{text}\n got: {err}\nwant: {want}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
}

#[test]
fn missing_file_and_bad_cluster_exit_2() {
    let out = netreach(&["check", "--invariants", "fixtures/invariants/nope.yaml", "fixtures/shop"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).starts_with("error: fixtures/invariants/nope.yaml: cannot read: "), "{}", stderr(&out));
    let out = netreach(&["check", "--invariants", SHOP, "fixtures/nope"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stdout(&out), "");
}

// ---- mtls: evaluated with the mesh analysis --------------------------------------------------

#[test]
fn mtls_fails_where_traffic_runs_without_enforced_mtls() {
    // fixtures/shop has no service mesh: every allowed connection into payments is plaintext.
    // By hand from its policies: checkout -> payment-gateway (8443), payment-gateway ->
    // fraud-check (50051), payment-gateway -> ledger (8080), nightly-report -> ledger (8080);
    // checkout, payment-gateway, fraud-check and ledger run 2 replicas: 4 + 4 + 4 + 2 pairs.
    let (_dir, path) = invariants_file(
        "invariants:\n  - name: data never calls shop\n    deny: {from: \"ns:data\", to: \"ns:shop\"}\n  - name: payments traffic is mTLS\n    mtls: {to: \"ns:payments\"}\n",
    );
    let out = netreach(&["check", "--invariants", &path, "fixtures/shop"]);
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value =
        serde_json::from_slice(&netreach(&["check", "--invariants", &path, "fixtures/shop", "-o", "json"]).stdout)
            .unwrap();
    let mtls = &json["invariants"][1];
    assert_eq!(mtls["status"].as_str(), Some("fail"), "{mtls}");
    assert_eq!(mtls["violations"]["count"].as_u64(), Some(14), "{mtls}");
    assert_eq!(json["summary"], serde_json::json!({"invariants": 2, "passed": 1, "failed": 1}));
    let text = stdout(&out);
    assert!(text.contains("plaintext on TCP 8443"), "{text}");

    // In the Rust API too.
    let cluster = Segmentation::load(repo().join("fixtures/shop")).unwrap();
    let failure = cluster.check_yaml("mtls: {to: \"ns:payments\"}").unwrap_err();
    assert!(failure.to_string().contains("plaintext"), "{failure}");
    let failure = cluster.mtls("shop/checkout", "payments/payment-gateway").unwrap_err();
    assert!(failure.to_string().contains("shop/checkout-1 -> payments/payment-gateway-1: TCP 8443"), "{failure}");
}

// ---- formats ---------------------------------------------------------------------------------

/// Every testcase, with its failure/skipped child, as the XML parser reads it back.
fn junit_cases(xml: &str) -> Vec<(String, String, Option<String>, Option<String>)> {
    let doc = roxmltree::Document::parse(xml).unwrap_or_else(|e| panic!("invalid XML: {e}\n{xml}"));
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    let suites: Vec<_> = root.children().filter(|n| n.is_element()).collect();
    assert_eq!(suites.len(), 1);
    assert_eq!(suites[0].tag_name().name(), "testsuite");
    let cases: Vec<_> = suites[0].children().filter(|n| n.is_element()).collect();
    for attr in ["tests", "failures", "skipped", "errors"] {
        assert_eq!(root.attribute(attr), suites[0].attribute(attr), "{attr}");
    }
    assert_eq!(suites[0].attribute("tests"), Some(cases.len().to_string().as_str()));
    cases
        .iter()
        .map(|c| {
            assert_eq!(c.tag_name().name(), "testcase");
            let failure = c.children().find(|n| n.has_tag_name("failure"));
            (
                c.attribute("name").unwrap().to_string(),
                c.attribute("classname").unwrap().to_string(),
                failure.and_then(|f| f.attribute("message")).map(str::to_string),
                failure.and_then(|f| f.text()).map(str::to_string),
            )
        })
        .collect()
}

#[test]
fn junit_is_valid_xml_with_one_testcase_per_invariant() {
    let out = netreach(&["check", "--invariants", SHOP, BROKEN, "-o", "junit"]);
    assert_eq!(out.status.code(), Some(1));
    let xml = stdout(&out);
    let cases = junit_cases(&xml);
    assert_eq!(cases.len(), 10);
    let names: Vec<&str> = cases.iter().map(|c| c.0.as_str()).collect();
    let expected: Vec<String> = shop_invariants().into_iter().map(|i| i.name).collect();
    assert_eq!(names, expected);
    let failed: Vec<&(String, String, Option<String>, Option<String>)> =
        cases.iter().filter(|c| c.2.is_some()).collect();
    assert_eq!(failed.len(), 3);
    assert_eq!(failed[0].1, "netreach.allowOnly");
    assert_eq!(failed[0].2.as_deref(), Some(r#"2 of 25 pair(s) into "app=postgres" break it"#));
    assert!(failed[0]
        .3
        .as_deref()
        .unwrap()
        .contains("payments/ledger-1 -> data/postgres-0: TCP 5432\n  egress: payments/ledger egress[0]"));
    let doc = roxmltree::Document::parse(&xml).unwrap();
    assert_eq!(doc.root_element().attribute("failures"), Some("3"));
    assert_eq!(doc.root_element().attribute("skipped"), None, "no invariant is ever skipped");
}

#[test]
fn junit_escapes_names_and_messages() {
    let name = r#"a <tricky> & "quoted" 'name'"#;
    let (_dir, path) = invariants_file(&format!(
        "invariants:\n  - name: '{}'\n    description: \"line one\\nline <two> & \\u0001\"\n    deny: {{from: \"app in (frontend,checkout)\", to: \"ns:shop\"}}\n",
        name.replace('\'', "''")
    ));
    let junit_path = std::env::temp_dir().join(format!("netreach-junit-{}.xml", std::process::id()));
    let out = netreach(&["check", "--invariants", &path, "fixtures/shop", "--junit", junit_path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stdout(&out).starts_with(&format!("FAIL  {name}\n")), "text still goes to stdout with --junit");
    let xml = std::fs::read_to_string(&junit_path).unwrap();
    std::fs::remove_file(&junit_path).unwrap();
    let cases = junit_cases(&xml);
    assert_eq!(cases[0].0, name);
    let body = cases[0].3.as_deref().unwrap();
    assert!(body.contains("(line one\nline <two> & \u{FFFD})"), "{body}");
    assert!(body.contains("shop/frontend-1 -> shop/cart-1: TCP 7070"), "{body}");
}

#[test]
fn json_counts_every_status_and_shows_violations_up_to_the_limit() {
    let out = netreach(&["check", "--invariants", SHOP, BROKEN, "-o", "json", "--limit", "1"]);
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["schemaVersion"], 1);
    assert_eq!(json["file"], SHOP);
    assert_eq!(json["summary"], serde_json::json!({"invariants": 10, "passed": 7, "failed": 3}));
    let inv = json["invariants"].as_array().unwrap();
    assert_eq!(inv.len(), 10);
    let postgres = &inv[3];
    assert_eq!(postgres["kind"], "allowOnly");
    assert_eq!(postgres["status"], "fail");
    assert_eq!(postgres["violations"]["count"], 2);
    assert_eq!(postgres["violations"]["shown"][0]["src"], "payments/ledger-1");
    assert_eq!(
        postgres["violations"]["shown"][0]["allowed"],
        serde_json::json!([{"protocol": "TCP", "ports": [[5432, 5432]]}])
    );
    assert_eq!(inv[0]["status"], "pass");
    assert_eq!(inv[0]["violations"], serde_json::json!({"count": 0, "shown": []}));
    assert_eq!(inv[0]["checked"], 33); // data (3 pods) × shop (11 pods)
}

#[test]
fn limit_caps_the_list_not_the_count() {
    let (_dir, path) =
        invariants_file("invariants:\n  - name: shop is silent\n    deny: {from: \"ns:shop\", to: any}\n");
    let out = netreach(&["check", "--invariants", &path, "fixtures/shop", "--limit", "2", "-o", "json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let v = &json["invariants"][0]["violations"];
    assert_eq!(v["shown"].as_array().unwrap().len(), 2);
    // Connections out of shop pods, by hand: each frontend (3) reaches cart, catalog, checkout
    // (2 each), recommendations and coredns (2): 27; each cart (2) redis and coredns: 6; each
    // catalog (2) postgres-0 and coredns: 6; each checkout (2) cart, catalog, payment-gateway and
    // coredns (2 each): 16; recommendations catalog and coredns: 4; nightly-report postgres-0,
    // ledger (2) and coredns: 5. 64 in all.
    assert_eq!(v["count"], 64);
    let text = stdout(&netreach(&["check", "--invariants", &path, "fixtures/shop", "--limit", "2"]));
    assert!(text.contains("      … and 62 more\n"), "{text}");
}

#[test]
fn text_snapshot_broken_shop() {
    let out = netreach(&["check", "--invariants", SHOP, BROKEN]);
    assert_run_snapshot!(out);
}

#[test]
fn junit_snapshot_broken_shop() {
    let out = netreach(&["check", "--invariants", SHOP, BROKEN, "-o", "junit"]);
    assert_run_snapshot!(out);
}

// ---- semantics on the shop, through the Rust API ----------------------------------------------

#[test]
fn api_on_the_shop() {
    let shop = Segmentation::load(repo().join("fixtures/shop")).unwrap();
    shop.check_file(repo().join(SHOP)).unwrap();
    shop.denies("ns:data", "ns:shop").unwrap();
    shop.denies_on("payments/payment-gateway", "internet", &["80/TCP"]).unwrap();
    shop.allows("shop/frontend", "app in (cart,catalog,checkout,recommendations)").unwrap();
    shop.allows_only_on("app in (catalog,nightly-report)", "app=postgres", &["5432/TCP"]).unwrap();
    shop.isolated(&["shop", "payments", "data"], Isolation::Both).unwrap();
    shop.isolated(&["kube-system"], Isolation::Ingress).unwrap_err();
    // One hop: cart, catalog, checkout (2 replicas each), recommendations, coredns (2).
    shop.max_reach("app=frontend", 1, 9).unwrap();
    shop.check_yaml(
        "deny: {from: internet, to: [\"ns:shop\", \"ns:payments\", \"ns:data\"], except: {to: shop/frontend}}",
    )
    .unwrap();

    // Failures read like assert_eq!: the invariant, the count, the pairs, the rules.
    let failure = shop.max_reach("app=frontend", 1, 8).unwrap_err();
    let text = failure.to_string();
    assert!(
        text.starts_with("invariant failed:\n  each endpoint of \"app=frontend\" reaches at most 8 pod(s) within 1 hop(s): 3 of 3 source(s) reach more than 8 pod(s) within 1 hop(s) (most: 9)\n"),
        "{text}"
    );
    assert!(text.contains("shop/frontend-1 reaches 9 pod(s) within 1 hop(s), e.g.:\n    shop/frontend-1 -[TCP 53; UDP 53]-> kube-system/coredns-1"), "{text}");
    assert_eq!(format!("{failure:?}"), text, "Debug is the readable message (unwrap shows it)");

    let failure = shop.allows_on("shop/frontend", "shop/cart", &["8080/TCP"]).unwrap_err();
    assert!(
        failure.to_string().contains("shop/frontend-1 -> shop/cart-1: TCP 8080 not allowed (allowed: TCP 7070)"),
        "{failure}"
    );

    let invalid = shop.denies("ns:nope", "any").unwrap_err();
    assert!(matches!(invalid, Failure::Invalid(_)));
    assert_eq!(
        invalid.to_string(),
        r#"invalid invariant: "deny from \"ns:nope\" to \"any\"": field deny.from: no namespace "nope""#
    );
    assert!(shop
        .allows_on("any", "any", &["5432/TCPX"])
        .unwrap_err()
        .to_string()
        .contains(r#""5432/TCPX" is not PORT/PROTO"#));

    // Without `_on` a pair assertion is about any port; with it, an empty list is a mistake.
    shop.allows_only("app in (catalog,nightly-report,postgres)", "app=postgres").unwrap();
    shop.allows_only("app=catalog", "app=postgres").unwrap_err();
    for (function, failure) in [
        ("denies", shop.denies_on("ns:data", "ns:shop", &[])),
        ("allows", shop.allows_on("shop/frontend", "shop/cart", &[])),
        ("allows_only", shop.allows_only_on("any", "app=postgres", &[])),
    ] {
        let failure = failure.unwrap_err();
        assert!(failure.evaluations().is_empty());
        assert_eq!(
            failure.to_string(),
            format!(
                "invalid invariant: {function}_on needs at least one port ({function} is the assertion without ports)"
            )
        );
    }

    let broken = Segmentation::load(repo().join(BROKEN)).unwrap();
    let failure = broken.check_file(repo().join(SHOP)).unwrap_err();
    assert_eq!(failure.evaluations().len(), 3);
    assert!(failure.to_string().contains("payments/ledger-1 -> data/postgres-0: TCP 5432"));
}

#[test]
fn deny_except_and_ports() {
    let shop = Segmentation::load(repo().join("fixtures/shop")).unwrap();
    // The internet enters the frontend (LoadBalancer) and the hostNetwork node-log-agent (on
    // every port: it listens on its node's addresses); metrics-server admits outside ranges
    // too, but nothing publishes it.
    let failure = shop.check_yaml("deny: {from: internet, to: any, except: {to: shop/frontend}}").unwrap_err();
    let e = &failure.evaluations()[0];
    assert_eq!(e.count, 1);
    let Violation::Allowed { src, dst, rules, .. } = &e.violations[0] else { panic!("{:?}", e.violations) };
    assert_eq!((src.as_str(), dst.as_str()), ("internet", "kube-system/node-log-agent"));
    // Its declared port (2020) and every port it admits outside on: one line per entry point.
    assert_eq!(rules, &["entry: via HostNetwork kube-system/node-log-agent on all: sees the client's address"]);
    assert!(e.detail.ends_with("(internet through its entry points)"), "{}", e.detail);
    // Policy alone (--internet policy-only): every external range is a source, published or not.
    let analysis = analysis("fixtures/shop");
    let checker =
        Checker::new(&analysis).judging_internet(netreach::exposure::InternetStart::PolicyOnly, Default::default());
    let invariant = Invariant::from_yaml("deny: {from: internet, to: any, except: {to: shop/frontend}}").unwrap();
    let e = checker.evaluate(&invariant).unwrap();
    assert_eq!(e.count, 4); // 2 external ranges x (metrics-server, node-log-agent)
    let dsts: Vec<String> = e
        .violations
        .iter()
        .map(|v| match v {
            Violation::Allowed { dst, .. } => dst.clone(),
            _ => panic!(),
        })
        .collect();
    assert_eq!(
        dsts,
        [
            "kube-system/metrics-server",
            "kube-system/node-log-agent",
            "kube-system/metrics-server",
            "kube-system/node-log-agent"
        ]
    );
    // except with both sides exempts only pairs matching both.
    let failure = shop
        .check_yaml("deny: {from: [\"shop/frontend\", \"shop/checkout\"], to: \"ns:shop\", except: {from: shop/frontend, to: shop/cart}}")
        .unwrap_err();
    let e = &failure.evaluations()[0];
    // each frontend (3) -> catalog (2), checkout (2), recommendations; each checkout (2) ->
    // cart (2), catalog (2); replicas of one workload do not reach each other.
    assert_eq!(e.count, 3 * 5 + 2 * 4);
    // Ports narrow what counts.
    shop.check_yaml("deny: {from: shop/frontend, to: shop/cart, ports: [\"8080/TCP\", \"53/UDP\"]}").unwrap();
    let failure =
        shop.check_yaml("deny: {from: shop/frontend, to: shop/cart, ports: [\"7000-7100/TCP\"]}").unwrap_err();
    let e = &failure.evaluations()[0];
    let Violation::Allowed { ports, .. } = &e.violations[0] else { panic!() };
    assert_eq!(ports.to_string(), "TCP 7070");
}

// ---- from internet: through the entry points, as `paths --from internet` --------------------

/// Evaluates one invariant on a fixture folder with how `internet` is judged and the entry choices.
fn evaluate_internet(
    folder: &str,
    yaml: &str,
    start: netreach::exposure::InternetStart,
    entry: netreach::exposure::ExposureOptions,
) -> invariants::Evaluation {
    let analysis = analysis(folder);
    let checker = Checker::new(&analysis).judging_internet(start, entry);
    checker.evaluate(&Invariant::from_yaml(yaml).unwrap()).unwrap()
}

fn entered(folder: &str, yaml: &str) -> invariants::Evaluation {
    evaluate_internet(folder, yaml, netreach::exposure::InternetStart::EntryPoints, Default::default())
}

fn policy_only(folder: &str, yaml: &str) -> invariants::Evaluation {
    evaluate_internet(folder, yaml, netreach::exposure::InternetStart::PolicyOnly, Default::default())
}

/// Each listed violation as `src -> dst: ports` and its rule lines.
fn allowed_lines(e: &invariants::Evaluation) -> Vec<(String, Vec<String>)> {
    e.violations
        .iter()
        .map(|v| match v {
            Violation::Allowed { src, dst, ports, rules } => (format!("{src} -> {dst}: {ports}"), rules.clone()),
            other => panic!("{other:?}"),
        })
        .collect()
}

#[test]
fn deny_from_internet_follows_the_entry_paths_and_names_them() {
    // fixtures/exposure: web-0's policy admits outside only from 198.51.100.0/24, so policy alone
    // says the partner range is all; but the Ingress and the Gateway deliver every client to it
    // through their controller pods. Its LoadBalancer lets in only 198.51.100.0/24: exempt.
    let yaml = r#"deny: {from: internet, to: shop/web-0, ports: ["8080/TCP"], except: {from: "198.51.100.0/24"}}"#;
    assert_eq!(policy_only("fixtures/exposure", yaml).status, Status::Pass);
    let e = entered("fixtures/exposure", yaml);
    assert_eq!((e.status.clone(), e.count, e.checked), (Status::Fail, 1, 1));
    assert_eq!(
        allowed_lines(&e),
        [(
            "internet -> shop/web-0: TCP 8080".to_string(),
            vec![
                "entry: via Ingress shop/shop through ingress-nginx/controller-0 on TCP 8080: sees the controller pod's address".to_string(),
                "entry: via Gateway edge/gw through edge/gw-istio-0 on TCP 8080: sees the controller pod's address".to_string(),
            ]
        )]
    );
    // db-0 is published (LoadBalancer db, Ingress) but admits neither hop: no entry path reaches it.
    assert_eq!(entered("fixtures/exposure", "deny: {from: internet, to: shop/db-0}").count, 0);
    // billing-0 admits everyone yet nothing publishes it directly: it is entered behind the gateway.
    let e = entered("fixtures/exposure", r#"deny: {from: internet, to: "ns:payments"}"#);
    let lines = allowed_lines(&e);
    assert_eq!(lines[0].0, "internet -> payments/billing-0: TCP 8080");
    assert_eq!(
        lines[0].1,
        ["entry: via Gateway edge/gw through edge/gw-istio-0 on TCP 8080: sees the controller pod's address"]
    );
    assert_eq!(lines[1].0, "internet -> payments/pay-0: TCP 8443");
    assert_eq!(lines[1].1.len(), 2, "LoadBalancer payments/legacy and ExternalIP payments/pay: {:?}", lines[1].1);
    // Policy alone counts every external range to every payments pod on every port.
    assert_eq!(policy_only("fixtures/exposure", r#"deny: {from: internet, to: "ns:payments"}"#).count, 6);
}

#[test]
fn except_from_exempts_an_entry_path_whose_every_client_it_covers() {
    // fixtures/exposure-source-ranges (hand-worked in its expectations): reachable are co-nodes
    // and lo-nodes, lo-clients (any client), cr-nodes and lr-clients (clients in
    // 198.51.100.0/24 only: exempt).
    let yaml = r#"deny: {from: internet, to: "ns:lb", except: {from: "198.51.100.0/24"}}"#;
    let e = entered("fixtures/exposure-source-ranges", yaml);
    let dsts: Vec<String> = allowed_lines(&e).into_iter().map(|(line, _)| line).collect();
    assert_eq!(
        dsts,
        [
            "internet -> lb/co-nodes: TCP 8080",
            "internet -> lb/lo-clients: TCP 8080",
            "internet -> lb/lo-nodes: TCP 8080"
        ]
    );
    assert_eq!((e.count, e.checked), (3, 8));
    // Policy alone: 10.0.0.0/24 (the node range, not exempt) into the four pods admitting it.
    assert_eq!(policy_only("fixtures/exposure-source-ranges", yaml).count, 4);
    // A dataplane keeping the client under Cluster: co-clients is entered too.
    let client = netreach::exposure::ExposureOptions {
        cluster_source: netreach::exposure::ClusterSource::Client,
        ..Default::default()
    };
    let e = evaluate_internet(
        "fixtures/exposure-source-ranges",
        yaml,
        netreach::exposure::InternetStart::EntryPoints,
        client,
    );
    assert_eq!(e.count, 4);
    assert!(allowed_lines(&e).iter().any(|(line, _)| line == "internet -> lb/co-clients: TCP 8080"));
}

#[test]
fn allow_from_internet_says_which_hop_refuses() {
    let e = entered("fixtures/exposure", r#"allow: {from: internet, to: "app=db"}"#);
    assert_eq!((e.count, e.checked), (1, 1));
    let Violation::Missing { src, dst, missing, allowed, reasons } = &e.violations[0] else { panic!() };
    assert_eq!((src.as_str(), dst.as_str(), missing, allowed.is_empty()), ("internet", "shop/db-0", &None, true));
    assert_eq!(
        reasons,
        &[
            "entry: via LoadBalancer shop/db to 5432/TCP: hop 1 denied by policy (sees a node address (externalTrafficPolicy: Cluster masquerades the client))",
            "entry: via Ingress shop/shop to 5432/TCP: hop 2 denied by policy (sees the controller pod's address)",
        ]
    );
    // The frontend of the source-ranges fixture is entered on 8080 through its LoadBalancer.
    entered_passes(
        "fixtures/exposure-source-ranges",
        r#"allow: {from: internet, to: lb/lr-clients, ports: ["8080/TCP"]}"#,
    );
    let e = entered("fixtures/exposure-source-ranges", r#"allow: {from: internet, to: lb/lr-nodes}"#);
    let Violation::Missing { reasons, .. } = &e.violations[0] else { panic!() };
    assert!(reasons[0].starts_with("entry: via LoadBalancer lb/local-ranged to 8080/TCP: hop 1 denied by policy (sees the client's address within loadBalancerSourceRanges"), "{reasons:?}");
}

fn entered_passes(folder: &str, yaml: &str) {
    let e = entered(folder, yaml);
    assert_eq!(e.status, Status::Pass, "{e:#?}");
}

#[test]
fn max_reach_from_internet_counts_what_the_entry_points_reach() {
    // As `paths --from internet` counts it on fixtures/exposure: 7 pods at the first hop
    // (web, api, pay, agent, node-exporter, the controller and gateway pods), 9 within two.
    let e = entered("fixtures/exposure", "maxReach: {from: internet, hops: 2, atMost: 8}");
    assert_eq!((e.count, e.checked), (1, 1));
    let Violation::Reach { src, reached, paths, .. } = &e.violations[0] else { panic!() };
    assert_eq!((src.as_str(), *reached), ("internet (through the entry points)", 9));
    assert!(
        paths.iter().any(|p| p.contains(
            "-[TCP 80 via Gateway edge/gw]-> edge/gw-istio-0 -[TCP 8080 via Gateway edge/gw]-> payments/billing-0"
        )),
        "{paths:?}"
    );
    entered_passes("fixtures/exposure", "maxReach: {from: internet, hops: 1, atMost: 7}");
    // Policy alone: one source per external range.
    let old = policy_only("fixtures/exposure", "maxReach: {from: internet, hops: 2, atMost: 8}");
    assert_eq!(old.checked, 3);
    // With identity hops, the attack search enters the same way.
    let e = entered("fixtures/exposure", "maxReach: {from: internet, hops: 1, atMost: 6, identityHops: true}");
    let Violation::Reach { src, reached, .. } = &e.violations[0] else { panic!("{e:#?}") };
    assert_eq!((src.as_str(), *reached), ("internet (through the entry points)", 7));
}

#[test]
fn deny_from_internet_to_an_attack_target_enters_through_the_published_service() {
    // fixtures/attack/privileged: LoadBalancer shop/web publishes the privileged web pod.
    let e = entered("fixtures/attack/privileged", "deny: {from: internet, to: nodes}");
    assert_eq!(e.status, Status::Fail);
    let Violation::AttackPath { steps, .. } = &e.violations[0] else { panic!() };
    assert!(steps[0].contains("-[network]-> shop/web: enters through LoadBalancer shop/web"), "{steps:?}");
}

#[test]
fn check_takes_the_internet_and_entry_flags() {
    let (_dir, file) = invariants_file(
        "invariants:\n  - name: partners only\n    deny: {from: internet, to: \"ns:lb\", except: {from: \"198.51.100.0/24\"}}\n",
    );
    let count = |extra: &[&str]| {
        let mut args = vec!["check", "--invariants", &file, "fixtures/exposure-source-ranges", "-o", "json"];
        args.extend(extra);
        let out = netreach(&args);
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
        doc["invariants"][0]["violations"]["count"].as_u64().unwrap()
    };
    assert_eq!(count(&[]), 3);
    assert_eq!(count(&["--internet", "policy-only"]), 4);
    assert_eq!(count(&["--cluster-source", "client"]), 4);
    let out = netreach(&[
        "check",
        "--invariants",
        &file,
        "fixtures/exposure-source-ranges",
        "--ingress-controller",
        "app=nothing-here",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--ingress-controller"), "{}", stderr(&out));
}

// ---- class-level counts equal brute force --------------------------------------------------------

fn generated(pods: usize, policies: usize, namespaces: usize, seed: u64) -> Analysis {
    let mut json = Vec::new();
    netreach::generate::write_cluster(
        &netreach::generate::GenerateParams { pods, policies, namespaces, seed, ..Default::default() },
        &mut json,
    )
    .unwrap();
    let loaded = load_str("generated.json", std::str::from_utf8(&json).unwrap()).unwrap();
    Analysis::new(loaded.cluster, &EngineOptions::default())
}

/// Pair-by-pair: (count, first pairs) of `offending(src, dst, allowed)`.
fn brute(
    a: &Analysis,
    from: &[usize],
    to: &[usize],
    offending: impl Fn(usize, usize, &PortSet) -> bool,
) -> (u64, Vec<(String, String)>) {
    let r = &a.reach;
    let (mut count, mut first) = (0u64, Vec::new());
    for &s in from {
        for &d in to {
            if s == d || (s >= r.pod_count() && d >= r.pod_count()) {
                continue;
            }
            if offending(s, d, &r.allowed(r.endpoint(s), r.endpoint(d))) {
                count += 1;
                if first.len() < 10 {
                    first.push((a.id(s), a.id(d)));
                }
            }
        }
    }
    (count, first)
}

fn pairs_of(e: &invariants::Evaluation) -> Vec<(String, String)> {
    e.violations
        .iter()
        .map(|v| match v {
            Violation::Allowed { src, dst, .. } | Violation::Missing { src, dst, .. } => (src.clone(), dst.clone()),
            other => panic!("{other:?}"),
        })
        .collect()
}

fn select(a: &Analysis, sel: &str) -> Vec<usize> {
    netreach::select::EndpointSelector::parse(sel).unwrap().resolve(a).unwrap()
}

#[test]
fn class_level_counts_equal_brute_force() {
    let clusters = [analysis("fixtures/shop"), analysis(BROKEN), generated(300, 40, 6, 7), generated(200, 30, 4, 11)];
    for a in &clusters {
        let checker = Checker::new(a);
        let all: Vec<usize> = (0..a.reach.endpoint_count()).collect();
        let eval = |yaml: &str| {
            let e = checker.evaluate(&Invariant::from_yaml(yaml).unwrap()).unwrap();
            assert!(matches!(e.status, Status::Pass | Status::Fail));
            e
        };
        // deny any -> any counts exactly the connections `connectivity` lists.
        let e = eval("deny: {from: any, to: any}");
        assert_eq!(e.count, a.reach.count_connections().pairs);
        assert_eq!(pairs_of(&e), brute(a, &all, &all, |_, _, p| !p.is_empty()).1);
        let n = a.reach.endpoint_count() as u64;
        let externals = a.reach.externals().len() as u64;
        assert_eq!(e.checked, n * (n - 1) - externals * (externals - 1));

        // deny with except on both sides and ports.
        let any = select(a, "any");
        let (ex_from, ex_to) = (select(a, "internet"), select(a, "k8s-app=kube-dns"));
        let e = eval("deny: {from: any, to: any, except: {from: internet, to: \"k8s-app=kube-dns\"}, ports: [\"53/UDP\", \"1-1000/TCP\"]}");
        let ports = PortSet::range(netreach::model::Protocol::Udp, 53, 53).union(&PortSet::range(
            netreach::model::Protocol::Tcp,
            1,
            1000,
        ));
        let expected = brute(a, &any, &any, |s, d, p| {
            let excepted = ex_from.contains(&s) && ex_to.contains(&d);
            !excepted && !p.intersection(&ports).is_empty()
        });
        assert_eq!((e.count, pairs_of(&e)), expected);

        // allowOnly into kube-dns from kube-system only, on 53/UDP.
        let (to, from) = (select(a, "k8s-app=kube-dns"), select(a, "ns:kube-system"));
        let e = eval("allowOnly: {to: \"k8s-app=kube-dns\", from: \"ns:kube-system\", ports: [\"53/UDP\"]}");
        let udp53 = PortSet::single(netreach::model::Protocol::Udp, 53);
        let expected =
            brute(
                a,
                &all,
                &to,
                |s, _, p| if from.contains(&s) { !p.difference(&udp53).is_empty() } else { !p.is_empty() },
            );
        assert_eq!((e.count, pairs_of(&e)), expected);

        // allow: everything reaches DNS on 53/UDP and 53/TCP.
        let e = eval("allow: {from: any, to: \"k8s-app=kube-dns\", ports: [\"53/UDP\", \"53/TCP\"]}");
        let dns = udp53.union(&PortSet::single(netreach::model::Protocol::Tcp, 53));
        assert_eq!((e.count, pairs_of(&e)), brute(a, &all, &to, |_, _, p| !dns.is_subset(p)));
        let e = eval("allow: {from: any, to: any}");
        assert_eq!((e.count, pairs_of(&e)), brute(a, &all, &all, |_, _, p| p.is_empty()));
    }
}

#[test]
fn isolated_and_max_reach_agree_with_the_engine() {
    let a = generated(300, 40, 6, 7);
    let r = &a.reach;
    let checker = Checker::new(&a).with_limit(1000);
    let e =
        checker.evaluate(&Invariant::from_yaml("isolated: {namespaces: \"*\", direction: egress}").unwrap()).unwrap();
    let open: Vec<String> = (0..r.pod_count())
        .filter(|&p| r.isolating_policies(r.endpoint(p), netreach::model::Direction::Egress).is_empty())
        .map(|p| a.id(p))
        .collect();
    let listed: Vec<String> = e
        .violations
        .iter()
        .map(|v| match v {
            Violation::NotIsolated { pod, .. } => pod.clone(),
            _ => panic!(),
        })
        .collect();
    assert_eq!(listed, open);
    assert_eq!(e.count, open.len() as u64);

    // maxReach: the same radius as one lateral search per source.
    let sources = select(&a, "tier=web");
    let most = sources
        .iter()
        .map(|&s| *r.lateral(&a.cluster, &[s], 2, true).radius(2, |e| e < r.pod_count()).last().unwrap())
        .max()
        .unwrap();
    let holds = Assertion::MaxReach {
        from: invariants::Selection::parse("tier=web").unwrap(),
        hops: 2,
        at_most: most,
        node_hops: true,
        identity_hops: false,
    };
    assert!(checker.evaluate(&Invariant { name: "x".into(), description: None, assertion: holds }).unwrap().passed());
    let fails = Assertion::MaxReach {
        from: invariants::Selection::parse("tier=web").unwrap(),
        hops: 2,
        at_most: most - 1,
        node_hops: true,
        identity_hops: false,
    };
    let e = checker.evaluate(&Invariant { name: "x".into(), description: None, assertion: fails }).unwrap();
    assert!(e.failed() && e.count >= 1);
}

#[test]
fn json_snapshot_shop() {
    assert_run_snapshot!(netreach(&["check", "--invariants", SHOP, "fixtures/shop", "-o", "json"]));
}

// ---- attack paths: deny to cluster-admin/nodes/Secrets, maxReach with identity hops ----------

fn evaluate_on(folder: &str, text: &str) -> Vec<invariants::Evaluation> {
    let analysis = analysis(folder);
    let checker = Checker::new(&analysis);
    invariants::parse("attack.yaml", text).unwrap().iter().map(|i| checker.evaluate(i).unwrap()).collect()
}

#[test]
fn deny_to_an_attack_target_follows_tokens_and_rbac() {
    let text = r#"
invariants:
  - name: web never reads the shop's Secrets
    deny: {from: shop/web, to: secrets/shop}
  - name: web never takes a node
    deny: {from: shop/web, to: nodes}
"#;
    // fixtures/attack/privileged: web mounts reader's token (it reaches the API server) and is privileged.
    let privileged = evaluate_on("fixtures/attack/privileged", text);
    assert_eq!(privileged[0].status, Status::Fail);
    assert_eq!(privileged[0].kind, "deny");
    assert_eq!(
        privileged[0].violations,
        [Violation::AttackPath {
            src: "shop/web".into(),
            target: "secrets/shop".into(),
            steps: vec![
                "shop/web -[token]-> sa/shop/reader: uses its mounted ServiceAccount token: the policies let it reach the kube-apiserver".into(),
                "sa/shop/reader -[rbac]-> secrets/shop: read secrets (Role shop/secret-reader via RoleBinding shop/reader)".into(),
            ],
        }]
    );
    assert_eq!((privileged[1].count, privileged[1].checked), (1, 1), "node-1 by escape");
    // fixtures/attack/egress-denied: the same RBAC, but web reaches no API server and is not privileged.
    let denied = evaluate_on("fixtures/attack/egress-denied", text);
    assert!(denied.iter().all(|e| e.status == Status::Pass), "{denied:#?}");
    assert_eq!(denied[0].detail, "0 of 1 target(s) reached from 1 source(s)");
}

#[test]
fn deny_to_cluster_admin_counts_every_climb_and_rejects_ports() {
    let text = "invariants:\n  - name: no admin\n    deny: {from: ops/limited-tool, to: cluster-admin}\n";
    // Three steps either way: over the network to ops/tool and its token (fewer non-network
    // steps, so shown), or through limited's RoleBinding to `*` in ops, which takes admin's token.
    let e = &evaluate_on("fixtures/attack/wildcard", text)[0];
    assert_eq!(e.status, Status::Fail);
    let Violation::AttackPath { steps, .. } = &e.violations[0] else { panic!("{e:?}") };
    assert_eq!(steps.len(), 3, "{steps:#?}");
    assert!(steps[2].starts_with("sa/ops/admin -[rbac]-> cluster-admin"), "{steps:#?}");
    let bad = "invariants:\n  - name: x\n    deny: {from: ops/tool, to: cluster-admin, ports: [443]}\n";
    let error = invariants::parse("bad.yaml", bad).unwrap_err().to_string();
    assert!(error.contains("`except` and `ports` do not apply to an attack target (cluster-admin)"), "{error}");
}

#[test]
fn max_reach_with_identity_hops_counts_pods_reached_through_rbac() {
    // fixtures/attack/create-pods: runner reaches dev/app over the network; prod denies ingress,
    // but runner's ServiceAccount may create pods in prod (a pod with prod/app's labels).
    let text = r#"
invariants:
  - name: network only
    maxReach: {from: ci/runner, hops: 2, atMost: 1}
  - name: with identity hops
    maxReach: {from: ci/runner, hops: 2, atMost: 1, identityHops: true}
"#;
    let evaluations = evaluate_on("fixtures/attack/create-pods", text);
    assert_eq!(evaluations[0].status, Status::Pass, "{:#?}", evaluations[0]);
    assert_eq!(evaluations[1].status, Status::Fail);
    let Violation::Reach { reached, paths, .. } = &evaluations[1].violations[0] else { panic!() };
    assert_eq!(*reached, 2);
    assert!(paths.contains(&"ci/runner -[token]-> sa/ci/deployer -[rbac]-> prod/app".to_string()), "{paths:#?}");
    assert!(evaluations[1].statement.ends_with("(counting escapes, tokens and RBAC)"), "{}", evaluations[1].statement);
}
