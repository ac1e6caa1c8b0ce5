//! `-o dot|svg` of `mesh`, `diff` and `paths`: the DOT is parsed back (graphviz-rust) and what
//! it draws is checked against the JSON answer of the same run: every entry an edge, coloured
//! by its mTLS status or its kind of change.

use crate::support::{netreach, require_program, stderr, stdout};
use graphviz_rust::dot_structures::{Attribute, EdgeTy, Graph, Id, Stmt, Vertex};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

fn text(id: &Id) -> String {
    match id {
        Id::Escaped(s) => s.trim_matches('"').replace("\\\"", "\"").replace("\\n", "\n").replace("\\\\", "\\"),
        Id::Html(s) | Id::Plain(s) | Id::Anonymous(s) => s.clone(),
    }
}

/// An edge as drawn: tail, head and attributes.
type Edge = (String, String, BTreeMap<String, String>);

/// What a DOT file draws: edges, the node ids of each namespace cluster, each node's label.
type Drawn = (Vec<Edge>, BTreeMap<String, BTreeSet<String>>, BTreeMap<String, String>);

fn parse(dot: &str) -> Drawn {
    fn walk(stmts: &[Stmt], cluster: Option<&str>, out: &mut Drawn) {
        for stmt in stmts {
            match stmt {
                Stmt::Node(n) => {
                    let id = text(&n.id.0);
                    if let Some(c) = cluster {
                        out.1.entry(c.to_string()).or_default().insert(id.clone());
                    }
                    let label = n.attributes.iter().find(|Attribute(k, _)| text(k) == "label");
                    out.2.insert(id, label.map(|Attribute(_, v)| text(v)).unwrap_or_default());
                }
                Stmt::Subgraph(s) => walk(&s.stmts, Some(&text(&s.id)), out),
                Stmt::Edge(e) => {
                    let EdgeTy::Pair(Vertex::N(a), Vertex::N(b)) = &e.ty else { panic!("plain edges: {e:?}") };
                    let attributes = e.attributes.iter().map(|Attribute(k, v)| (text(k), text(v))).collect();
                    out.0.push((text(&a.0), text(&b.0), attributes));
                }
                _ => {}
            }
        }
    }
    let graph = graphviz_rust::parse(dot).unwrap_or_else(|e| panic!("DOT that does not parse: {e}\n{dot}"));
    let Graph::DiGraph { stmts, .. } = graph else { panic!("a digraph") };
    let mut out = Default::default();
    walk(&stmts, None, &mut out);
    out
}

/// (src, dst, colour) for every pair an edge stands for: `ns/*` is each node of its cluster,
/// `dir=both` both ways.
fn drawn_pairs(dot: &str) -> BTreeSet<(String, String, String)> {
    let (edges, clusters, _) = parse(dot);
    let members = |id: &str| -> Vec<String> {
        match id.strip_suffix("/*") {
            Some(ns) => clusters[&format!("cluster_ns_{ns}")].iter().filter(|n| !n.ends_with("/*")).cloned().collect(),
            None => vec![id.to_string()],
        }
    };
    let mut pairs = BTreeSet::new();
    for (a, b, at) in &edges {
        for x in members(a) {
            for y in members(b) {
                pairs.insert((x.clone(), y.clone(), at["color"].clone()));
                if at.get("dir").map(String::as_str) == Some("both") {
                    pairs.insert((y.clone(), x.clone(), at["color"].clone()));
                }
            }
        }
    }
    pairs
}

fn run(args: &[&str]) -> String {
    let out = netreach(args);
    assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
    stdout(&out)
}

fn json(args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.extend(["-o", "json"]);
    serde_json::from_str(&run(&all)).unwrap()
}

fn dot(args: &[&str]) -> String {
    let mut all = args.to_vec();
    all.extend(["-o", "dot"]);
    run(&all)
}

fn mtls_colour(status: &str) -> &'static str {
    match status {
        "mtls" => "#2f855a",
        "permissive" => "#b7791f",
        "plaintext" => "#c53030",
        "rejected" => "#6b46c1",
        _ => "#718096",
    }
}

#[test]
fn mesh_pictures_colour_every_connection_by_its_mtls_status() {
    for fixture in ["mesh/istio-bookinfo-like", "mesh/linkerd"] {
        for level in ["namespace", "workload", "pod"] {
            let args = ["mesh", fixture, "--level", level];
            let expected: BTreeSet<(String, String, String)> = json(&args)["connections"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| {
                    let field = |k: &str| c[k].as_str().unwrap().to_string();
                    (field("src"), field("dst"), mtls_colour(c["status"].as_str().unwrap()).to_string())
                })
                .collect();
            let picture = dot(&args);
            let drawn = drawn_pairs(&picture);
            // A namespace whose every member reaches every other is a note on its box, not edges.
            let collapsed = picture.contains("reaches every other");
            if collapsed {
                assert!(drawn.is_subset(&expected), "{fixture} {level}: {:?}", drawn.difference(&expected));
            } else {
                assert_eq!(drawn, expected, "{fixture} at {level} level");
            }
            let statuses: BTreeSet<&str> = expected.iter().map(|(_, _, c)| c.as_str()).collect();
            assert!(statuses.len() > 1 || fixture.contains("linkerd"), "{fixture}: {statuses:?}");
        }
    }
    assert!(dot(&["mesh", "mesh/istio-bookinfo-like"]).contains("mutual TLS"), "the legend names the statuses");
}

#[test]
fn diff_pictures_draw_added_removed_and_changed_entries() {
    for change in ["default-deny-web", "tightened-api", "allow-scrape", "postgres-except", "admin-protect-data"] {
        let change = format!("diff/changes/{change}.yaml");
        let args = ["diff", "diff/before", "--apply", &change, "--level", "namespace"];
        let answer = json(&args);
        let mut expected = BTreeSet::new();
        for (kind, colour) in [("added", "#2f855a"), ("removed", "#c53030"), ("changed", "#b7791f")] {
            for e in answer[kind].as_array().unwrap() {
                let field = |k: &str| e[k].as_str().unwrap().to_string();
                expected.insert((field("src"), field("dst"), colour.to_string()));
            }
        }
        let picture = dot(&args);
        assert_eq!(drawn_pairs(&picture), expected, "{change}:\n{picture}");
        let (edges, _, _) = parse(&picture);
        for (_, _, at) in &edges {
            let removed = at["color"] == "#c53030";
            assert_eq!(at.get("style").map(String::as_str) == Some("dashed"), removed, "{at:?}");
            if at["color"] == "#b7791f" {
                assert!(at["label"].starts_with("+ ") || at["label"].starts_with("− "), "{at:?}");
            }
        }
    }
}

#[test]
fn paths_pictures_draw_every_hop_and_mark_the_sources() {
    for (fixture, from) in [("shop", "shop/frontend"), ("shop", "internet"), ("small/lateral", "lat/a")] {
        let args = ["paths", "--from", from, fixture];
        let answer = json(&args);
        let hops: BTreeSet<(String, String)> = answer["paths"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|p| p["hops"].as_array().unwrap())
            .map(|h| (h["src"].as_str().unwrap().to_string(), h["dst"].as_str().unwrap().to_string()))
            .collect();
        let picture = dot(&args);
        let drawn: BTreeSet<(String, String)> = drawn_pairs(&picture).into_iter().map(|(s, d, _)| (s, d)).collect();
        assert_eq!(drawn, hops, "{fixture} --from {from}");
        let (edges, _, labels) = parse(&picture);
        let node_local = edges.iter().filter(|(_, _, at)| at["color"] == "#718096");
        assert!(node_local.clone().all(|(_, _, at)| at.get("style").map(String::as_str) == Some("dashed")));
        for source in answer["blastRadius"].as_array().unwrap() {
            let id = source["source"].as_str().unwrap();
            if id == "internet (through the entry points)" {
                // One row for the whole outside: every external range drawn is a source.
                let outside: Vec<&String> = labels.keys().filter(|k| k.starts_with("external:")).collect();
                assert!(
                    !outside.is_empty() && outside.iter().all(|k| labels[*k].contains("compromised")),
                    "{labels:?}"
                );
                continue;
            }
            assert!(labels.get(id).is_some_and(|l| l.contains("compromised")), "{id} is marked: {labels:?}");
        }
    }
}

#[test]
fn pictures_are_svg_with_graphviz() {
    require_program("dot", "graphviz");
    for args in [
        &["mesh", "mesh/istio-bookinfo-like", "-o", "svg"][..],
        &["diff", "diff/before", "--apply", "diff/changes/tightened-api.yaml", "-o", "svg"],
        &["paths", "--from", "shop/frontend", "shop", "-o", "svg"],
    ] {
        let svg = run(args);
        assert!(svg.contains("<svg") && svg.trim_end().ends_with("</svg>"), "{args:?}");
        let options = roxmltree::ParsingOptions { allow_dtd: true, ..Default::default() };
        roxmltree::Document::parse_with_options(&svg, options).unwrap_or_else(|e| panic!("{args:?}: {e}"));
    }
}
