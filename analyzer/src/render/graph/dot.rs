//! DOT emission and SVG: a [`ReachGraph`] printed as Graphviz DOT source (namespaces as
//! clusters, a legend, coloured edges) and laid out as SVG by Graphviz's `dot` from `PATH`.
//!
//! The DOT is written by hand: netreach emits a fixed, small subset (a digraph of nodes,
//! clusters and edges with quoted or HTML attribute values) and escapes every id itself, so a
//! DOT library would only add its structures and a parser to the build.

use super::{EdgeStyle, End, GraphEdge, GraphError, GraphNode, ReachGraph};
use crate::aggregate::{GroupKind, Level};
use netreach_model::PortSet;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};
use std::process::{Command, Stdio};

const FONT: &str = "Helvetica";

/// A DOT attribute list, each value already printed (plain, [`quoted`] or [`html`]).
type Attributes = Vec<(&'static str, String)>;

/// A quoted DOT id: `"`, `\` and newlines escaped.
fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            _ => out.push(c),
        }
    }
    out.push('"');
    out
}

/// An HTML-like label, `markup` already escaped where it holds text.
fn html(markup: &str) -> String {
    format!("<{markup}>")
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// `[key=value key=value]`, or nothing when there are no attributes.
fn attribute_list(attributes: &[(&str, String)]) -> String {
    if attributes.is_empty() {
        return String::new();
    }
    let pairs: Vec<String> = attributes.iter().map(|(key, value)| format!("{key}={value}")).collect();
    format!("[{}]", pairs.join(" "))
}

/// A node statement: its quoted id and its attributes.
fn node_line(id: &str, attributes: &[(&str, String)]) -> String {
    format!("{}{}", quoted(id), attribute_list(attributes))
}

/// The node standing for every node of a namespace (`ns/*`: no pod or workload is named `*`).
fn every_node_id(namespace: &str) -> String {
    format!("{namespace}/*")
}

fn cluster_id(namespace: &str) -> String {
    format!("cluster_ns_{namespace}")
}

fn end_name(graph: &ReachGraph, end: &End) -> String {
    match end {
        End::Node(i) => graph.nodes[*i].name.clone(),
        End::Namespace(ns) => ns.clone(),
    }
}

fn group_node_line(node: &GraphNode) -> String {
    let mut label = format!("<b>{}</b>", html_escape(&node.name));
    for line in &node.details {
        label.push_str(&format!("<br/><font point-size=\"9\">{}</font>", html_escape(line)));
    }
    let mut attributes: Attributes = vec![("label", html(&label))];
    match node.kind {
        GroupKind::External => {
            attributes.push(("shape", "hexagon".into()));
            attributes.push(("fillcolor", quoted("#fff5f5")));
            attributes.push(("color", quoted(EdgeStyle::Internet.colour())));
        }
        GroupKind::Namespace => attributes.push(("shape", "tab".into())),
        GroupKind::Pod | GroupKind::Workload => {}
    }
    if let Some((shape, _)) = node.shape {
        attributes.push(("shape", shape.into()));
    }
    if node.host_network {
        attributes.push(("fillcolor", quoted("#fefcbf")));
        attributes.push(("peripheries", "2".into()));
    }
    if let Some(t) = &node.tooltip {
        attributes.push(("tooltip", quoted(t)));
    }
    node_line(&node.id, &attributes)
}

fn legend(graph: &ReachGraph) -> String {
    let mut styles: Vec<EdgeStyle> = graph.edges.iter().map(|e| e.style).collect();
    styles.sort();
    styles.dedup();
    let mut rows = String::from("<tr><td colspan=\"2\" align=\"left\"><b>legend</b></td></tr>");
    for s in styles {
        rows.push_str(&format!(
            "<tr><td><font color=\"{}\"><b>——&gt;</b></font></td><td align=\"left\">{}</td></tr>",
            s.colour(),
            s.meaning()
        ));
    }
    if graph.edges.iter().any(|e| e.back.is_some()) {
        rows.push_str("<tr><td>&lt;——&gt;</td><td align=\"left\">both ways (→ name: ports towards name)</td></tr>");
    }
    if graph.edges.iter().any(|e| matches!(e.src, End::Namespace(_)) || matches!(e.dst, End::Namespace(_))) {
        rows.push_str("<tr><td border=\"1\" style=\"dashed,rounded\"><font point-size=\"9\">every …</font></td><td align=\"left\">stands for each node in its namespace</td></tr>");
    }
    if graph.nodes.iter().any(|n| n.host_network) {
        rows.push_str("<tr><td bgcolor=\"#fefcbf\" border=\"1\">  </td><td align=\"left\">hostNetwork pod (speaks with its node's IP)</td></tr>");
    }
    if graph.nodes.iter().any(|n| n.kind == GroupKind::External) {
        rows.push_str(&format!(
            "<tr><td><font color=\"{}\">hexagon</font></td><td align=\"left\">external address range (from ipBlocks)</td></tr>",
            EdgeStyle::Internet.colour()
        ));
    }
    let shapes: BTreeSet<(&str, &str)> = graph.nodes.iter().filter_map(|n| n.shape).collect();
    for (shape, meaning) in shapes {
        rows.push_str(&format!("<tr><td>{shape}</td><td align=\"left\">{}</td></tr>", html_escape(meaning)));
    }
    rows.push_str("<tr><td colspan=\"2\" align=\"left\"><font point-size=\"9\">edge labels: allowed protocols and ports</font></td></tr>");
    let table = format!(
        "<table border=\"1\" cellborder=\"0\" cellspacing=\"1\" cellpadding=\"2\" color=\"#a0aec0\">{rows}</table>"
    );
    node_line("legend", &[("shape", "plaintext".into()), ("style", quoted("")), ("label", html(&table))])
}

/// An edge label: [`PortSet`]'s display, one protocol per line, long port lists wrapped.
pub fn port_label(ports: &PortSet) -> String {
    let text = ports.to_string();
    let mut lines = Vec::new();
    for part in text.split("; ") {
        let mut line = String::new();
        for (i, piece) in part.split(',').enumerate() {
            if i > 0 && line.len() + piece.len() + 1 > 24 {
                line.push(',');
                lines.push(std::mem::take(&mut line));
            } else if i > 0 {
                line.push(',');
            }
            line.push_str(piece);
        }
        lines.push(line);
    }
    lines.join("\n")
}

fn edge_line(graph: &ReachGraph, edge: &GraphEdge) -> String {
    let end = |end: &End| match end {
        End::Node(i) => quoted(&graph.nodes[*i].id),
        End::Namespace(ns) => quoted(&every_node_id(ns)),
    };
    let label = match &edge.back {
        _ if edge.label.is_some() => edge.label.clone().unwrap_or_default(),
        Some(back) if *back != edge.ports => {
            let one_way = |to: &End, ports: &PortSet| format!("→ {}: {ports}", end_name(graph, to));
            format!("{}\n{}", one_way(&edge.dst, &edge.ports), one_way(&edge.src, back))
        }
        _ => port_label(&edge.ports),
    };
    let colour = edge.style.colour();
    let mut attributes: Attributes =
        vec![("label", quoted(&label)), ("color", quoted(colour)), ("fontcolor", quoted(colour))];
    if edge.back.is_some() {
        attributes.push(("dir", "both".into()));
    }
    if edge.style.dashed() {
        attributes.push(("style", "dashed".into()));
    }
    if let Some(t) = &edge.tooltip {
        attributes.push(("tooltip", quoted(t)));
    }
    format!("{} -> {} {}", end(&edge.src), end(&edge.dst), attribute_list(&attributes))
}

/// DOT source, deterministic for the same input.
pub fn to_dot(graph: &ReachGraph) -> String {
    let mut dot = String::from("digraph netreach {\n");
    let mut line = |depth: usize, statement: &str| {
        dot.push_str(&"  ".repeat(depth));
        dot.push_str(statement);
        dot.push('\n');
    };
    let mut graph_attributes: Attributes = vec![
        ("rankdir", "LR".into()),
        ("fontname", quoted(FONT)),
        ("fontsize", "14".into()),
        ("nodesep", "0.3".into()),
        ("ranksep", "0.9".into()),
        ("pad", "0.3".into()),
        ("labelloc", "t".into()),
        ("labeljust", "l".into()),
    ];
    if let Some(title) = &graph.title {
        graph_attributes.push(("label", quoted(title)));
    }
    line(1, &format!("graph{}", attribute_list(&graph_attributes)));
    let node_defaults: Attributes = vec![
        ("shape", "box".into()),
        ("style", quoted("rounded,filled")),
        ("fillcolor", quoted("#ffffff")),
        ("color", quoted("#4a5568")),
        ("fontname", quoted(FONT)),
        ("fontsize", "11".into()),
    ];
    line(1, &format!("node{}", attribute_list(&node_defaults)));
    let edge_defaults: Attributes =
        vec![("fontname", quoted(FONT)), ("fontsize", "9".into()), ("arrowsize", "0.7".into())];
    line(1, &format!("edge{}", attribute_list(&edge_defaults)));
    line(1, &legend(graph));

    // Namespaces as clusters, in order; nodes without a namespace (external ranges, and every
    // node at namespace level) outside them.
    let mut clusters: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for node in &graph.nodes {
        match (&node.namespace, graph.level) {
            (Some(ns), Level::Pod | Level::Workload) => clusters.entry(ns).or_default().push(group_node_line(node)),
            _ => line(1, &group_node_line(node)),
        }
    }
    // Namespaces that edges start or end at as a whole get a node standing for every node.
    let mut whole: BTreeSet<&str> = BTreeSet::new();
    for e in &graph.edges {
        for end in [&e.src, &e.dst] {
            if let End::Namespace(ns) = end {
                whole.insert(ns);
                clusters.entry(ns).or_default();
            }
        }
    }
    let what = graph.member_word();
    for (ns, nodes) in clusters {
        let label = match graph.namespace_notes.get(ns) {
            Some(note) => html(&format!(
                "{}<br/><font face=\"{FONT}\" point-size=\"10\">{}</font>",
                html_escape(ns),
                html_escape(note)
            )),
            None => quoted(ns),
        };
        line(1, &format!("subgraph {} {{", quoted(&cluster_id(ns))));
        let cluster_attributes: Attributes = vec![
            ("label", label),
            ("style", quoted("rounded,filled")),
            ("fillcolor", quoted("#f7fafc")),
            ("color", quoted("#a0aec0")),
            ("fontname", quoted("Helvetica-Bold")),
            ("fontsize", "13".into()),
            ("labeljust", "l".into()),
            ("margin", "12".into()),
        ];
        line(2, &format!("graph{}", attribute_list(&cluster_attributes)));
        if whole.contains(ns) {
            let every = node_line(
                &every_node_id(ns),
                &[
                    ("label", quoted(&format!("every {what}"))),
                    ("style", quoted("rounded,dashed")),
                    ("fontsize", "9".into()),
                    ("tooltip", quoted(&format!("stands for each {what} in namespace {ns}"))),
                ],
            );
            line(2, &every);
        }
        for statement in nodes {
            line(2, &statement);
        }
        line(1, "}");
    }
    for edge in &graph.edges {
        line(1, &edge_line(graph, edge));
    }
    dot.push_str("}\n");
    dot
}

/// Lays the DOT out with Graphviz's `dot -Tsvg`, the source on its standard input.
pub fn dot_to_svg(dot: &str) -> Result<Vec<u8>, GraphError> {
    let mut child = Command::new("dot")
        .arg("-Tsvg")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => GraphError::DotMissing,
            _ => GraphError::Dot(e.to_string()),
        })?;
    let mut stdin = child.stdin.take().expect("dot's stdin is piped");
    // Written from a second thread: dot may fill its stdout or stderr pipe before reading all.
    let (written, output) = std::thread::scope(|scope| {
        let writer = scope.spawn(move || stdin.write_all(dot.as_bytes()));
        let output = child.wait_with_output();
        (writer.join().expect("writing to dot does not panic"), output)
    });
    let output = output.map_err(|e| GraphError::Dot(e.to_string()))?;
    if !output.status.success() {
        return Err(GraphError::Dot(String::from_utf8_lossy(&output.stderr).into_owned()));
    }
    written.map_err(|e| GraphError::Dot(e.to_string()))?;
    Ok(output.stdout)
}

#[cfg(test)]
mod tests {
    use super::*;
    use netreach_model::Protocol;

    #[test]
    fn port_labels_put_each_protocol_on_a_line_and_wrap_long_lists() {
        assert_eq!(port_label(&PortSet::all()), "all");
        let dns = PortSet::single(Protocol::Tcp, 53).union(&PortSet::single(Protocol::Udp, 53));
        assert_eq!(port_label(&dns), "TCP 53\nUDP 53");
        let mut many = PortSet::empty();
        for p in [80, 443, 3550, 5050, 7070, 8080, 8081, 9090, 9092] {
            many.union_with(&PortSet::single(Protocol::Tcp, p));
        }
        assert_eq!(port_label(&many), "TCP 80,443,3550,5050,\n7070,8080-8081,9090,9092");
    }

    #[test]
    fn ids_are_quoted_and_escaped() {
        assert_eq!(quoted("a\"b\\c"), "\"a\\\"b\\\\c\"");
        assert_eq!(html_escape("<a&b>"), "&lt;a&amp;b&gt;");
        assert_eq!(node_line("n", &[]), "\"n\"");
        assert_eq!(node_line("n", &[("a", "1".into()), ("b", quoted("x y"))]), "\"n\"[a=1 b=\"x y\"]");
    }
}
