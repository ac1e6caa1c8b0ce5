//! `connectivity -o dot|svg` and the `--namespace/--from/--to` filters, through the binary:
//! the DOT is parsed back (graphviz-rust's parser) and the SVG read as XML, and what they draw
//! is checked against the JSON connection list of the same cluster.

use crate::support::{assert_run_snapshot, fixtures, netreach_command, require_program};
use graphviz_rust::dot_structures::{Attribute, EdgeTy, Graph, Id, Stmt, Vertex};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::process::Output;

fn run_with(args: &[&str], path_env: Option<&str>) -> Output {
    let mut cmd = netreach_command();
    cmd.args(args).current_dir(fixtures());
    if let Some(p) = path_env {
        cmd.env("PATH", p);
    }
    cmd.output().unwrap()
}

fn netreach(args: &[&str]) -> Output {
    run_with(args, None)
}

fn ok(args: &[&str]) -> String {
    let out = netreach(args);
    assert_eq!(out.status.code(), Some(0), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn json(args: &[&str]) -> Value {
    serde_json::from_str(&ok(args)).unwrap()
}

/// Graphviz's `dot` draws SVG: a test that needs it fails without it (.ci/run installs it).
fn require_dot() {
    require_program("dot", "graphviz");
}

// ---- reading DOT back ----------------------------------------------------------------------

fn text(id: &Id) -> String {
    match id {
        Id::Escaped(s) => s.trim_matches('"').replace("\\\"", "\"").replace("\\n", "\n").replace("\\\\", "\\"),
        Id::Html(s) | Id::Plain(s) | Id::Anonymous(s) => s.clone(),
    }
}

fn attrs(list: &[Attribute]) -> BTreeMap<String, String> {
    list.iter().map(|Attribute(k, v)| (text(k), text(v))).collect()
}

#[derive(Default, Debug)]
struct Drawn {
    /// cluster id → node ids in it.
    clusters: BTreeMap<String, BTreeSet<String>>,
    cluster_labels: BTreeMap<String, String>,
    nodes: BTreeMap<String, BTreeMap<String, String>>,
    /// (tail, head) → attributes.
    edges: BTreeMap<(String, String), BTreeMap<String, String>>,
}

fn walk(stmts: &[Stmt], cluster: Option<&str>, drawn: &mut Drawn) {
    for stmt in stmts {
        match stmt {
            Stmt::Node(n) => {
                let id = text(&n.id.0);
                if let Some(c) = cluster {
                    drawn.clusters.get_mut(c).unwrap().insert(id.clone());
                }
                drawn.nodes.insert(id, attrs(&n.attributes));
            }
            Stmt::Subgraph(s) => {
                let id = text(&s.id);
                drawn.clusters.entry(id.clone()).or_default();
                for st in &s.stmts {
                    if let Stmt::GAttribute(graphviz_rust::dot_structures::GraphAttributes::Graph(a)) = st {
                        if let Some(label) = attrs(a).get("label") {
                            drawn.cluster_labels.insert(id.clone(), label.clone());
                        }
                    }
                }
                walk(&s.stmts, Some(&id), drawn);
            }
            Stmt::Edge(e) => {
                let EdgeTy::Pair(Vertex::N(a), Vertex::N(b)) = &e.ty else {
                    panic!("netreach writes plain edges: {e:?}")
                };
                let prev = drawn.edges.insert((text(&a.0), text(&b.0)), attrs(&e.attributes));
                assert!(prev.is_none(), "one edge per pair");
            }
            _ => {}
        }
    }
}

fn parse_dot(dot: &str) -> Drawn {
    let graph =
        graphviz_rust::parse(dot).unwrap_or_else(|e| panic!("netreach wrote DOT that does not parse: {e}\n{dot}"));
    let Graph::DiGraph { stmts, .. } = graph else { panic!("a digraph") };
    let mut drawn = Drawn::default();
    walk(&stmts, None, &mut drawn);
    drawn
}

/// The (src group, dst group) pairs an edge stands for: `ns/*` is every node of its cluster,
/// `dir=both` both ways.
fn expand(drawn: &Drawn) -> BTreeSet<(String, String)> {
    let members = |id: &str| -> Vec<String> {
        match id.strip_suffix("/*") {
            Some(ns) => {
                drawn.clusters[&format!("cluster_ns_{ns}")].iter().filter(|n| !n.ends_with("/*")).cloned().collect()
            }
            None => vec![id.to_string()],
        }
    };
    let mut pairs = BTreeSet::new();
    for ((a, b), at) in &drawn.edges {
        for x in members(a) {
            for y in members(b) {
                pairs.insert((x.clone(), y.clone()));
                if at.get("dir").map(String::as_str) == Some("both") {
                    pairs.insert((y.clone(), x.clone()));
                }
            }
        }
    }
    pairs
}

/// The JSON connections grouped as the workload-level graph groups them.
fn workload_pairs(doc: &Value) -> BTreeSet<(String, String)> {
    let group: BTreeMap<&str, String> = doc["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            let id = n["id"].as_str().unwrap();
            let g = match (n["kind"].as_str(), n["workload"].as_str()) {
                (Some("Pod"), Some(w)) => format!("{}/{w}", n["namespace"].as_str().unwrap()),
                _ => id.to_string(),
            };
            (id, g)
        })
        .collect();
    doc["connections"]
        .as_array()
        .unwrap()
        .iter()
        // A connection never joins a pod to itself, so a workload's pair with itself stands for
        // two of its replicas reaching each other: a self-edge, drawn.
        .map(|c| (group[c["src"].as_str().unwrap()].clone(), group[c["dst"].as_str().unwrap()].clone()))
        .collect()
}

const WITHIN: &str = "#2b6cb0";
const ACROSS: &str = "#c05621";
const OUTSIDE: &str = "#c53030";

#[test]
fn shop_dot_at_workload_level_draws_every_connection_in_namespace_clusters() {
    let dot = ok(&["connectivity", "shop", "-o", "dot"]);
    let drawn = parse_dot(&dot);

    let clusters: Vec<&str> = drawn.clusters.keys().map(String::as_str).collect();
    assert_eq!(clusters, ["cluster_ns_data", "cluster_ns_kube-system", "cluster_ns_payments", "cluster_ns_shop"]);
    assert_eq!(drawn.cluster_labels["cluster_ns_shop"], "shop");
    let shop: Vec<&str> = drawn.clusters["cluster_ns_shop"].iter().map(String::as_str).collect();
    assert_eq!(
        shop,
        [
            "shop/*",
            "shop/CronJob/nightly-report",
            "shop/Deployment/cart",
            "shop/Deployment/catalog",
            "shop/Deployment/checkout",
            "shop/Deployment/frontend",
            "shop/Deployment/recommendations"
        ]
    );
    assert!(drawn.clusters["cluster_ns_data"].contains("data/StatefulSet/postgres"));

    // Workloads: name in bold, kind below; hostNetwork marked; external ranges outside every cluster.
    let frontend = &drawn.nodes["shop/Deployment/frontend"];
    assert!(frontend["label"].contains("<b>frontend</b>") && frontend["label"].contains("Deployment"), "{frontend:?}");
    let agent = &drawn.nodes["kube-system/DaemonSet/node-log-agent"];
    assert!(agent["label"].contains("hostNetwork") && agent["peripheries"] == "2", "{agent:?}");
    for ext in ["external:0.0.0.0/0", "external:10.0.0.0/8,172.16.0.0/12,192.168.0.0/16"] {
        assert_eq!(drawn.nodes[ext]["shape"], "hexagon");
        assert!(drawn.clusters.values().all(|c| !c.contains(ext)), "{ext} drawn inside a namespace");
    }
    assert!(drawn.nodes["external:0.0.0.0/0"]["label"].contains("except 10.0.0.0/8"));
    assert!(drawn.nodes["legend"]["label"].contains("within a namespace"));

    // Edge labels are the merged ports, coloured by where the traffic goes.
    let edge = |a: &str, b: &str| {
        drawn.edges.get(&(a.to_string(), b.to_string())).unwrap_or_else(|| panic!("no edge {a} -> {b}"))
    };
    let e = edge("shop/Deployment/frontend", "shop/Deployment/cart");
    assert_eq!((e["label"].as_str(), e["color"].as_str()), ("TCP 7070", WITHIN));
    let e = edge("shop/Deployment/checkout", "payments/Deployment/payment-gateway");
    assert_eq!((e["label"].as_str(), e["color"].as_str()), ("TCP 8443", ACROSS));
    let e = edge("payments/Deployment/ledger", "data/Deployment/kafka");
    assert_eq!(e["label"], "TCP 9092-9094");
    let e = edge("payments/Deployment/payment-gateway", "external:0.0.0.0/0");
    assert_eq!((e["label"].as_str(), e["color"].as_str()), ("TCP 443", OUTSIDE));
    // Every workload of shop resolves DNS: one edge from the namespace, one protocol per line.
    let e = edge("shop/*", "kube-system/Deployment/coredns");
    assert_eq!(e["label"], "TCP 53\nUDP 53");
    // Both ways with different ports: one line, each direction named.
    let e = edge("kube-system/Deployment/coredns", "kube-system/Deployment/metrics-server");
    assert_eq!(e["dir"], "both");
    assert_eq!(e["label"], "→ metrics-server: all\n→ coredns: TCP 53; UDP 53");
    // coredns runs 2 replicas, and its ingress admits every pod on DNS: a self-edge.
    let e = edge("kube-system/Deployment/coredns", "kube-system/Deployment/coredns");
    assert_eq!(e["label"], "TCP 53\nUDP 53");

    // Nothing lost, nothing invented: the edges stand for exactly the JSON connections.
    let doc = json(&["connectivity", "shop", "-o", "json"]);
    assert_eq!(expand(&drawn), workload_pairs(&doc));
    assert!(dot.contains("(17 nodes, "), "the title counts what is drawn");
}

#[test]
fn namespace_and_pod_levels() {
    let drawn = parse_dot(&ok(&["connectivity", "shop", "-o", "dot", "--level", "namespace"]));
    assert!(drawn.clusters.is_empty(), "namespaces are nodes at this level, not clusters");
    let ids: Vec<&str> = drawn.nodes.keys().map(String::as_str).collect();
    assert_eq!(
        ids,
        [
            "data",
            "external:0.0.0.0/0",
            "external:10.0.0.0/8,172.16.0.0/12,192.168.0.0/16",
            "kube-system",
            "legend",
            "payments",
            "shop"
        ]
    );
    assert!(drawn.nodes["kube-system"]["label"].contains("4 pods, 1 hostNetwork"));
    let within = &drawn.edges[&("shop".to_string(), "shop".to_string())];
    assert_eq!((within["label"].as_str(), within["color"].as_str()), ("TCP 3550,5050,7070,8081", WITHIN));
    assert_eq!(drawn.edges[&("shop".to_string(), "data".to_string())]["label"], "TCP 5432,6379");

    let drawn = parse_dot(&ok(&["connectivity", "shop", "-o", "dot", "--level", "pod"]));
    assert!(drawn.nodes["shop/frontend-1"]["label"].contains("Deployment/frontend"));
    assert!(drawn.clusters["cluster_ns_shop"].contains("shop/frontend-3"));
}

#[test]
fn filtered_graphs_never_speak_for_hidden_nodes() {
    let drawn = parse_dot(&ok(&[
        "connectivity",
        "shop",
        "-o",
        "dot",
        "--from",
        "shop/frontend",
        "--from",
        "shop/cart",
        "--to",
        "kube-system/coredns",
    ]));
    let edges: Vec<(&str, &str)> = drawn.edges.keys().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    assert_eq!(
        edges,
        [
            ("shop/Deployment/cart", "kube-system/Deployment/coredns"),
            ("shop/Deployment/frontend", "kube-system/Deployment/coredns")
        ]
    );
    assert!(!drawn.nodes.contains_key("shop/*"), "two of six shop workloads are not every workload");
}

#[test]
fn dot_snapshots() {
    assert_run_snapshot!("shop_workloads_dot", netreach(&["connectivity", "shop", "-o", "dot"]));
    assert_run_snapshot!(
        "shop_namespaces_dot",
        netreach(&["connectivity", "shop", "-o", "dot", "--level", "namespace"])
    );
    assert_run_snapshot!(
        "shop_payments_pods_dot",
        netreach(&["connectivity", "shop", "-o", "dot", "--level", "pod", "--namespace", "payments"])
    );
}

// ---- SVG ----------------------------------------------------------------------------------

struct SvgText {
    group: String,
    x0: f64,
    y0: f64,
    x1: f64,
    y1: f64,
    text: String,
}

fn svg_groups(svg: &str) -> (BTreeMap<String, BTreeSet<String>>, Vec<SvgText>) {
    let options = roxmltree::ParsingOptions { allow_dtd: true, ..Default::default() };
    let doc = roxmltree::Document::parse_with_options(svg, options).unwrap_or_else(|e| panic!("SVG is not XML: {e}"));
    let mut titles: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut texts = Vec::new();
    for g in doc.descendants().filter(|n| n.has_tag_name("g")) {
        let Some(class) = g.attribute("class").filter(|c| ["cluster", "node", "edge"].contains(c)) else { continue };
        let title =
            g.children().find(|c| c.has_tag_name("title")).and_then(|t| t.text()).unwrap_or_default().to_string();
        titles.entry(class.to_string()).or_default().insert(title.clone());
        for t in g.descendants().filter(|n| n.has_tag_name("text")) {
            let num = |a: &str| t.attribute(a).unwrap().parse::<f64>().unwrap();
            let (x, y, size) = (num("x"), num("y"), num("font-size"));
            let s = t.text().unwrap_or_default().to_string();
            // Helvetica averages about half an em per character.
            let w = s.chars().count() as f64 * size * 0.5;
            let x0 = match t.attribute("text-anchor") {
                Some("middle") => x - w / 2.0,
                Some("end") => x - w,
                _ => x,
            };
            texts.push(SvgText {
                group: title.clone(),
                x0,
                y0: y - size * 0.8,
                x1: x0 + w,
                y1: y + size * 0.2,
                text: s,
            });
        }
    }
    (titles, texts)
}

#[test]
fn shop_svg_has_boxed_namespaces_labelled_edges_and_no_overlapping_labels() {
    require_dot();
    let svg = ok(&["connectivity", "shop", "-o", "svg"]);
    let (titles, texts) = svg_groups(&svg);
    let clusters: Vec<&str> = titles["cluster"].iter().map(String::as_str).collect();
    assert_eq!(clusters, ["cluster_ns_data", "cluster_ns_kube-system", "cluster_ns_payments", "cluster_ns_shop"]);
    for node in
        ["shop/Deployment/frontend", "kube-system/DaemonSet/node-log-agent", "external:0.0.0.0/0", "shop/*", "legend"]
    {
        assert!(titles["node"].contains(node), "no node {node}");
    }
    assert!(titles["edge"].contains("shop/Deployment/frontend->shop/Deployment/cart"));
    let label_of =
        |edge: &str| -> Vec<&str> { texts.iter().filter(|t| t.group == edge).map(|t| t.text.as_str()).collect() };
    assert_eq!(label_of("shop/Deployment/frontend->shop/Deployment/cart"), ["TCP 7070"]);
    assert_eq!(label_of("shop/*->kube-system/Deployment/coredns"), ["TCP 53", "UDP 53"]);
    assert_eq!(label_of("cluster_ns_shop"), ["shop"]);
    assert!(svg.contains("<g id=\"clust"), "namespaces are drawn as boxes");

    // Legible: no two labels of different elements overlap.
    for (i, a) in texts.iter().enumerate() {
        for b in &texts[i + 1..] {
            let overlap = a.group != b.group && a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1;
            assert!(!overlap, "label {:?} of {} overlaps {:?} of {}", a.text, a.group, b.text, b.group);
        }
    }
}

#[test]
fn out_writes_the_file_and_infers_the_format_from_its_extension() {
    let dir = tempfile::tempdir().unwrap();
    let dot = dir.path().join("shop.dot");
    assert_eq!(ok(&["connectivity", "shop", "--out", dot.to_str().unwrap()]), "", "nothing on stdout");
    assert!(std::fs::read_to_string(&dot).unwrap().starts_with("digraph netreach {"));
    let json_file = dir.path().join("shop.json");
    ok(&["connectivity", "shop", "--out", json_file.to_str().unwrap()]);
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&json_file).unwrap()).unwrap();
    assert_eq!(doc["schemaVersion"], 1);
    require_dot();
    let svg = dir.path().join("picture.svg");
    ok(&["connectivity", "shop", "--level", "namespace", "--out", svg.to_str().unwrap()]);
    let (titles, _) = svg_groups(&std::fs::read_to_string(&svg).unwrap());
    assert!(titles["node"].contains("payments"));
}

#[test]
fn without_graphviz_svg_is_an_error_that_names_the_package() {
    let dir = tempfile::tempdir().unwrap();
    let empty_path = dir.path().to_str().unwrap();
    let out = run_with(&["connectivity", "shop", "-o", "svg"], Some(empty_path));
    assert_run_snapshot!(out);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty(), "no DOT in place of the SVG");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with("error: ") && stderr.contains("apt-get install graphviz"), "{stderr}");

    let svg = dir.path().join("shop.svg");
    let out = run_with(&["connectivity", "shop", "--out", svg.to_str().unwrap()], Some(empty_path));
    assert_eq!(out.status.code(), Some(2));
    assert!(!svg.exists() && !dir.path().join("shop.dot").exists(), "nothing is written");
    // DOT needs no Graphviz.
    let out = run_with(&["connectivity", "shop", "-o", "dot"], Some(empty_path));
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn graphs_too_big_to_read_are_refused_with_smaller_views_suggested() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = dir.path().join("cluster.json");
    let generated = ok(&["generate", "--pods", "400", "--policies", "40", "--namespaces", "8", "--seed", "1"]);
    std::fs::write(&cluster, generated).unwrap();
    let file = dir.path().join("big.dot");
    let out =
        netreach(&["connectivity", cluster.to_str().unwrap(), "-q", "-o", "dot", "--out", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty() && !file.exists(), "nothing is written");
    let stderr = String::from_utf8_lossy(&out.stderr);
    for part in [
        "too many to read",
        "limits: 150 nodes, 200 edges",
        "--level namespace (",
        "--namespace NS (largest: ",
        "--force",
    ] {
        assert!(stderr.contains(part), "{stderr:?} lacks {part:?}");
    }
    // What it suggests works, and --force draws it anyway.
    let drawn = parse_dot(&ok(&["connectivity", cluster.to_str().unwrap(), "-q", "-o", "dot", "--level", "namespace"]));
    assert!(drawn.nodes.len() <= 151);
    let forced = parse_dot(&ok(&["connectivity", cluster.to_str().unwrap(), "-q", "-o", "dot", "--force"]));
    assert!(forced.nodes.len() > 150);
}

// ---- filters, in every format ---------------------------------------------------------------

fn connections(doc: &Value) -> Vec<(String, String, Value)> {
    doc["connections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["src"].as_str().unwrap().to_string(), c["dst"].as_str().unwrap().to_string(), c["allowed"].clone()))
        .collect()
}

fn node_ids(doc: &Value) -> BTreeSet<String> {
    doc["nodes"].as_array().unwrap().iter().map(|n| n["id"].as_str().unwrap().to_string()).collect()
}

#[test]
fn filters_keep_the_json_schema_and_select_the_right_connections() {
    let all = json(&["connectivity", "shop", "-o", "json"]);
    let all_conns = connections(&all);
    let all_nodes: BTreeMap<String, Value> =
        all["nodes"].as_array().unwrap().iter().map(|n| (n["id"].as_str().unwrap().to_string(), n.clone())).collect();
    let ns_of = |id: &str| id.split_once('/').map(|(ns, _)| ns.to_string()).filter(|_| !id.starts_with("external:"));

    let check = |args: &[&str], keep: &dyn Fn(&str, &str) -> bool, selected: &dyn Fn(&str) -> bool| {
        let mut full = vec!["connectivity", "shop", "-o", "json"];
        full.extend(args);
        let doc = json(&full);
        assert_eq!(doc["schemaVersion"], 1);
        let expected: Vec<_> = all_conns.iter().filter(|(s, d, _)| keep(s, d)).cloned().collect();
        assert!(!expected.is_empty(), "{args:?} keeps something");
        assert_eq!(connections(&doc), expected, "{args:?}");
        // Nodes: the ends of the kept connections and what the filter names, unchanged.
        let mut want: BTreeSet<String> = expected.iter().flat_map(|(s, d, _)| [s.clone(), d.clone()]).collect();
        want.extend(all_nodes.keys().filter(|id| selected(id)).cloned());
        assert_eq!(node_ids(&doc), want, "{args:?}");
        for n in doc["nodes"].as_array().unwrap() {
            assert_eq!(n, &all_nodes[n["id"].as_str().unwrap()]);
        }
    };
    // shop/frontend names the workload: its 3 replicas.
    let frontend = |id: &str| id.starts_with("shop/frontend-");
    check(&["--from", "shop/frontend"], &|s, _| frontend(s), &|id| frontend(id));
    check(
        &["--namespace", "payments"],
        &|s, d| ns_of(s).as_deref() == Some("payments") || ns_of(d).as_deref() == Some("payments"),
        &|id| ns_of(id).as_deref() == Some("payments"),
    );
    check(&["--to", "internet"], &|_, d| d.starts_with("external:"), &|id| id.starts_with("external:"));
    check(
        &["--from", "app=frontend", "--from", "shop/Deployment/checkout", "--to", "ns:payments"],
        &|s, d| (frontend(s) || s.starts_with("shop/checkout-")) && ns_of(d).as_deref() == Some("payments"),
        &|id| frontend(id) || id.starts_with("shop/checkout-") || ns_of(id).as_deref() == Some("payments"),
    );
}

#[test]
fn a_filter_that_leaves_nothing_keeps_the_selected_nodes() {
    let doc = json(&["connectivity", "shop", "-o", "json", "--from", "data/postgres", "--to", "shop/frontend"]);
    assert!(connections(&doc).is_empty());
    let ids = ["data/postgres-0", "shop/frontend-1", "shop/frontend-2", "shop/frontend-3"];
    assert_eq!(node_ids(&doc), ids.into_iter().map(String::from).collect::<BTreeSet<_>>());
}

#[test]
fn every_format_applies_the_same_filter() {
    let args = ["connectivity", "shop", "--namespace", "data"];
    let with = |format: &str| ok(&[&args[..], &["-o", format]].concat());
    let pairs: BTreeSet<(String, String)> =
        connections(&serde_json::from_str(&with("json")).unwrap()).into_iter().map(|(s, d, _)| (s, d)).collect();
    // Into data: cart ×2 -> redis, catalog ×2 and nightly-report -> postgres-0, ledger ×2 and
    // fraud-check ×2 -> kafka (9); out of data: kafka, postgres-0, redis -> coredns ×2 (6).
    assert_eq!(pairs.len(), 15);
    let csv: BTreeSet<(String, String)> = with("csv")
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect::<Vec<_>>())
        .map(|f| (f[0].to_string(), f[1].to_string()))
        .collect();
    assert_eq!(csv, pairs);
    let text = with("text");
    assert!(
        text.contains("\n15 connection(s) among 24 pod(s)") && text.contains("Filtered by --namespace data."),
        "{text}"
    );
    assert_eq!(with("md").lines().count(), 2 + 15);
    let summary = with("summary");
    assert!(summary.contains("filter:              --namespace data"), "{summary}");
    assert!(summary.contains("shown pairs:         15"), "{summary}");
    let drawn = parse_dot(&with("dot"));
    assert!(
        drawn.edges.keys().all(|(a, b)| a.starts_with("data/") || b.starts_with("data/")),
        "{:?}",
        drawn.edges.keys()
    );
    // Unfiltered outputs say nothing about filters.
    assert!(!ok(&["connectivity", "shop"]).contains("Filtered"));
    assert!(!ok(&["connectivity", "shop", "-o", "summary"]).contains("shown pairs"));
}

#[test]
fn filter_and_level_mistakes_are_usage_errors() {
    for (args, message) in [
        (vec!["--namespace", "nope"], "--namespace nope: no namespace \"nope\""),
        (vec!["--from", "shop/nope"], "--from shop/nope: no pod or workload shop/nope"),
        (vec!["--to", "a/b/c/d"], "--to: invalid selector"),
        (vec!["--level", "pod"], "--level and --force apply to graphs"),
    ] {
        let out = netreach(&[&["connectivity", "shop"][..], &args].concat());
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(message), "{args:?}: {err}");
    }
}
