//! `-o dot` and `-o svg`: the reachability graph as a picture people can read.
//!
//! Endpoints are grouped at a [`Level`] (workloads by default) with the shared
//! [`aggregate`](crate::aggregate) module, connections between groups are merged (ports joined
//! with [`PortSet`]'s `TCP 80,443; UDP 53` / `all`), and the result is laid out as a Graphviz
//! DOT graph built with `graphviz-rust`: namespaces are clusters, external address ranges are
//! hexagons outside them, hostNetwork pods are yellow with a double border, and each edge is
//! coloured by an [`EdgeStyle`] that a legend explains. SVG is drawn by Graphviz's `dot` from
//! `PATH`.
//!
//! The picture is a [`ReachGraph`] first and DOT second, so other views (a diff, a mesh view)
//! can build a `ReachGraph` with their own edge styles and reuse [`to_dot`] and [`dot_to_svg`].
//!
//! Graphs past [`MAX_NODES`] nodes or [`MAX_EDGES`] edges are refused with
//! [`GraphError::TooBig`] (unless forced): a hairball answers nothing.

use super::OutputFormat;
use crate::aggregate::{aggregate_where, GroupKind, Grouping, Level};
use crate::analysis::Analysis;
use crate::filter::ConnectionFilter;
use graphviz_rust::cmd::{CommandArg, Format};
use graphviz_rust::dot_structures::{
    Attribute, Edge, EdgeTy, Graph, GraphAttributes, Id, Node, NodeId, Stmt, Subgraph, Vertex,
};
use graphviz_rust::printer::{DotPrinter, PrinterContext};
use netreach_model::PortSet;
use std::collections::BTreeMap;
use std::fmt;
use std::io::{self, Write};

/// Above this many nodes a laid-out graph stops being readable at real size.
pub const MAX_NODES: usize = 150;
/// Above this many edges the picture is a hairball whatever the node count. Measured on
/// generated clusters at namespace level: 19 nodes and 116 edges still read when zoomed in;
/// 32 nodes and 300 edges do not, though dot keeps the labels apart.
pub const MAX_EDGES: usize = 200;

/// How a graph is drawn.
#[derive(Clone, Debug)]
pub struct GraphOptions {
    pub level: Level,
    /// Draw it even past the limits.
    pub force: bool,
    pub max_nodes: usize,
    pub max_edges: usize,
    /// Shown at the top of the picture (e.g. the inputs and the filter).
    pub title: Option<String>,
}

impl Default for GraphOptions {
    fn default() -> GraphOptions {
        GraphOptions { level: Level::Workload, force: false, max_nodes: MAX_NODES, max_edges: MAX_EDGES, title: None }
    }
}

/// The colour and line of an edge. Connectivity graphs use the first three; the others are for
/// views that mark traffic in a mesh or changes between two clusters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EdgeStyle {
    /// Both ends in one namespace.
    WithinNamespace,
    /// Ends in different namespaces.
    AcrossNamespaces,
    /// One end is an external address range.
    Internet,
    /// Allowed traffic that a service mesh would carry in plaintext (mesh view).
    PlaintextInMesh,
    /// Allowed only in the new cluster (diff view).
    Added,
    /// Allowed only in the old cluster (diff view).
    Removed,
}

impl EdgeStyle {
    pub const ALL: [EdgeStyle; 6] = [
        EdgeStyle::WithinNamespace,
        EdgeStyle::AcrossNamespaces,
        EdgeStyle::Internet,
        EdgeStyle::PlaintextInMesh,
        EdgeStyle::Added,
        EdgeStyle::Removed,
    ];

    pub fn colour(self) -> &'static str {
        match self {
            EdgeStyle::WithinNamespace => "#2b6cb0",
            EdgeStyle::AcrossNamespaces => "#c05621",
            EdgeStyle::Internet => "#c53030",
            EdgeStyle::PlaintextInMesh => "#6b46c1",
            EdgeStyle::Added => "#2f855a",
            EdgeStyle::Removed => "#718096",
        }
    }

    /// Graphviz `style` of the line.
    pub fn line(self) -> &'static str {
        match self {
            EdgeStyle::PlaintextInMesh | EdgeStyle::Removed => "dashed",
            EdgeStyle::Added => "bold",
            _ => "solid",
        }
    }

    /// The legend's words.
    pub fn meaning(self) -> &'static str {
        match self {
            EdgeStyle::WithinNamespace => "within a namespace",
            EdgeStyle::AcrossNamespaces => "across namespaces",
            EdgeStyle::Internet => "to or from outside the cluster",
            EdgeStyle::PlaintextInMesh => "plaintext inside the mesh",
            EdgeStyle::Added => "added",
            EdgeStyle::Removed => "removed",
        }
    }
}

/// One box (or hexagon) of the picture.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GraphNode {
    /// The DOT node id: the group id (`ns/Kind/name`, `ns/pod`, `ns`, `external:…`).
    pub id: String,
    pub kind: GroupKind,
    /// The cluster it is drawn in (pod and workload nodes).
    pub namespace: Option<String>,
    /// First line of the label, in bold.
    pub name: String,
    /// Further, smaller label lines.
    pub details: Vec<String>,
    pub host_network: bool,
    /// Shown on hover in SVG viewers (e.g. the pods of a workload).
    pub tooltip: Option<String>,
}

/// One end of an edge.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum End {
    /// An index into [`ReachGraph::nodes`].
    Node(usize),
    /// Every node drawn in this namespace's cluster (the edge starts or ends at its box).
    Namespace(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GraphEdge {
    pub src: End,
    pub dst: End,
    pub ports: PortSet,
    /// Also allowed from `dst` to `src`, on these ports: drawn as one line with two arrowheads.
    pub back: Option<PortSet>,
    pub style: EdgeStyle,
    pub tooltip: Option<String>,
}

impl GraphEdge {
    pub fn new(src: usize, dst: usize, ports: PortSet, style: EdgeStyle) -> GraphEdge {
        GraphEdge { src: End::Node(src), dst: End::Node(dst), ports, back: None, style, tooltip: None }
    }
}

/// What is drawn, before it is DOT.
#[derive(Clone, Debug)]
pub struct ReachGraph {
    pub title: Option<String>,
    pub level: Level,
    pub nodes: Vec<GraphNode>,
    pub edges: Vec<GraphEdge>,
    /// A line under a namespace cluster's name, e.g. when every node in it reaches every other.
    pub namespace_notes: BTreeMap<String, String>,
    /// Namespaces of which a filter hides some nodes: their edges are never merged into
    /// "every node of the namespace" edges.
    pub partial_namespaces: std::collections::BTreeSet<String>,
}

#[derive(Debug)]
pub enum GraphError {
    /// Past the limits; `alternatives` are smaller views worth suggesting, with their sizes.
    TooBig {
        nodes: usize,
        edges: usize,
        level: Level,
        max_nodes: usize,
        max_edges: usize,
        namespace_level: Option<(usize, usize)>,
        busiest: Vec<String>,
    },
    /// Graphviz's `dot` is not on `PATH`.
    DotMissing,
    /// `dot` ran and failed.
    Dot(String),
    Io(io::Error),
}

impl fmt::Display for GraphError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GraphError::TooBig { nodes, edges, level, max_nodes, max_edges, namespace_level, busiest } => {
                write!(
                    f,
                    "the graph has {nodes} nodes and {edges} edges at {} level, too many to read (limits: {max_nodes} nodes, {max_edges} edges). ",
                    Level::name(*level)
                )?;
                let mut ways = Vec::new();
                if let Some((n, e)) = namespace_level {
                    ways.push(format!("--level namespace ({n} nodes, {e} edges)"));
                }
                if !busiest.is_empty() {
                    ways.push(format!("--namespace NS (largest: {})", busiest.join(", ")));
                } else {
                    ways.push("--namespace NS".to_string());
                }
                ways.push("--from SEL / --to SEL".to_string());
                write!(f, "Narrow it with {}; or pass --force to draw it anyway", ways.join(", or "))
            }
            GraphError::DotMissing => f.write_str(DOT_MISSING),
            GraphError::Dot(message) => write!(f, "Graphviz's dot failed: {}", message.trim()),
            GraphError::Io(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for GraphError {}

impl From<io::Error> for GraphError {
    fn from(e: io::Error) -> GraphError {
        GraphError::Io(e)
    }
}

/// What to tell a user without Graphviz.
pub const DOT_MISSING: &str =
    "Graphviz's `dot` is not on PATH, so no SVG can be drawn; it comes with the Debian/Ubuntu package graphviz (apt-get install graphviz)";

/// The connectivity graph at `options.level`, with the filter applied: nodes are the groups
/// that appear in a shown connection or that the filter selects (every group when unfiltered).
pub fn connectivity_graph(
    analysis: &Analysis,
    filter: &ConnectionFilter,
    options: &GraphOptions,
) -> Result<ReachGraph, GraphError> {
    let graph = build(analysis, filter, options.level, options.title.clone());
    let (nodes, edges) = (graph.nodes.len(), graph.edges.len());
    if !options.force && (nodes > options.max_nodes || edges > options.max_edges) {
        let namespace_level = (options.level != Level::Namespace).then(|| {
            let g = build(analysis, filter, Level::Namespace, None);
            (g.nodes.len(), g.edges.len())
        });
        // The namespaces worth narrowing to: most nodes, or at namespace level most edges.
        let mut per_namespace: BTreeMap<&str, usize> = BTreeMap::new();
        if options.level == Level::Namespace {
            for e in &graph.edges {
                for end in if e.src == e.dst { vec![&e.src] } else { vec![&e.src, &e.dst] } {
                    if let End::Node(i) = end {
                        if let Some(ns) = &graph.nodes[*i].namespace {
                            *per_namespace.entry(ns).or_default() += 1;
                        }
                    }
                }
            }
        } else {
            for n in &graph.nodes {
                if let Some(ns) = &n.namespace {
                    *per_namespace.entry(ns).or_default() += 1;
                }
            }
        }
        let mut ranked: Vec<(&str, usize)> = per_namespace.into_iter().collect();
        ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        let unit = if options.level == Level::Namespace { "edges" } else { "nodes" };
        let busiest = ranked.iter().take(3).map(|(ns, n)| format!("{ns}: {n} {unit}")).collect();
        return Err(GraphError::TooBig {
            nodes,
            edges,
            level: options.level,
            max_nodes: options.max_nodes,
            max_edges: options.max_edges,
            namespace_level,
            busiest,
        });
    }
    Ok(graph)
}

const TOOLTIP_MEMBERS: usize = 20;

fn build(analysis: &Analysis, filter: &ConnectionFilter, level: Level, title: Option<String>) -> ReachGraph {
    let grouping = Grouping::new(analysis, level);
    let connections = aggregate_where(analysis, &grouping, |s, d| filter.keeps(s, d));
    let mut shown: Vec<bool> = grouping.groups.iter().map(|g| g.members.iter().any(|&e| filter.selects(e))).collect();
    for c in &connections {
        shown[c.src] = true;
        shown[c.dst] = true;
    }
    let mut node_of = vec![usize::MAX; grouping.groups.len()];
    let mut nodes = Vec::new();
    for (g, group) in grouping.groups.iter().enumerate().filter(|(g, _)| shown[*g]) {
        node_of[g] = nodes.len();
        nodes.push(group_node(analysis, group));
    }
    let edges: Vec<GraphEdge> = connections
        .into_iter()
        .map(|c| {
            let (s, d) = (&grouping.groups[c.src], &grouping.groups[c.dst]);
            let style = if s.kind == GroupKind::External || d.kind == GroupKind::External {
                EdgeStyle::Internet
            } else if s.namespace == d.namespace {
                EdgeStyle::WithinNamespace
            } else {
                EdgeStyle::AcrossNamespaces
            };
            let mut tooltip = format!("{} → {}: {}", s.id, d.id, c.ports);
            if c.connected_pairs < c.possible_pairs {
                tooltip.push_str(&format!(" ({} of {} endpoint pairs)", c.connected_pairs, c.possible_pairs));
            } else if c.possible_pairs > 1 {
                tooltip.push_str(&format!(" (all {} endpoint pairs)", c.possible_pairs));
            }
            GraphEdge { tooltip: Some(tooltip), ..GraphEdge::new(node_of[c.src], node_of[c.dst], c.ports, style) }
        })
        .collect();
    let partial_namespaces = grouping
        .groups
        .iter()
        .enumerate()
        .filter(|(g, _)| !shown[*g])
        .filter_map(|(_, group)| group.namespace.clone())
        .collect();
    let mut graph = ReachGraph { title, level, nodes, edges, namespace_notes: BTreeMap::new(), partial_namespaces };
    graph.simplify();
    graph
}

impl ReachGraph {
    fn clustered(&self) -> bool {
        self.level != Level::Namespace
    }

    /// The namespace cluster an end is drawn in.
    fn cluster_of<'a>(&'a self, end: &'a End) -> Option<&'a str> {
        match end {
            End::Node(i) => self.nodes[*i].namespace.as_deref().filter(|_| self.clustered()),
            End::Namespace(ns) => Some(ns),
        }
    }

    fn end_name(&self, end: &End) -> String {
        match end {
            End::Node(i) => self.nodes[*i].name.clone(),
            End::Namespace(ns) => ns.clone(),
        }
    }

    fn cluster_members(&self) -> BTreeMap<String, Vec<usize>> {
        let mut members: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for i in 0..self.nodes.len() {
            if let Some(ns) = self.cluster_of(&End::Node(i)) {
                members.entry(ns.to_string()).or_default().push(i);
            }
        }
        members
    }

    /// Fewer lines, same meaning (the legend says how to read them):
    /// 1. a namespace of 3 or more nodes where every node reaches every other on the same ports
    ///    gets a note on its box instead of n·(n-1) edges;
    /// 2. when every node of a namespace has the same edge to one end, one edge leaves the
    ///    namespace's box (DNS to kube-dns from everything is the usual case); likewise edges
    ///    arriving at every node of a namespace;
    /// 3. opposite edges with the same style become one line with two arrowheads.
    pub fn simplify(&mut self) {
        if self.clustered() {
            self.collapse_complete_namespaces();
            self.bundle(true);
            self.bundle(false);
        }
        self.merge_opposites();
        self.edges.sort_by(|a, b| (&a.src, &a.dst).cmp(&(&b.src, &b.dst)));
    }

    fn collapse_complete_namespaces(&mut self) {
        let what = if self.level == Level::Pod { "pod" } else { "workload" };
        for (ns, members) in self.cluster_members() {
            let n = members.len();
            if n < 3 || self.partial_namespaces.contains(&ns) {
                continue;
            }
            let inside: Vec<usize> = (0..self.edges.len())
                .filter(|&i| {
                    let e = &self.edges[i];
                    e.src != e.dst
                        && self.cluster_of(&e.src) == Some(&ns)
                        && self.cluster_of(&e.dst) == Some(&ns)
                        && matches!((&e.src, &e.dst), (End::Node(_), End::Node(_)))
                })
                .collect();
            let first = inside.first().map(|&i| &self.edges[i]);
            let uniform = first.is_some_and(|f| {
                inside.iter().all(|&i| self.edges[i].ports == f.ports && self.edges[i].style == f.style)
            });
            if inside.len() == n * (n - 1) && uniform {
                let ports = first.unwrap().ports.clone();
                self.namespace_notes.insert(ns.clone(), format!("every {what} reaches every other: {ports}"));
                let drop: std::collections::HashSet<usize> = inside.into_iter().collect();
                let mut i = 0;
                self.edges.retain(|_| {
                    i += 1;
                    !drop.contains(&(i - 1))
                });
            }
        }
    }

    /// Replaces the edges from (`outgoing`) or to every node of a namespace by one edge at its box.
    fn bundle(&mut self, outgoing: bool) {
        let members = self.cluster_members();
        let mut groups: BTreeMap<(String, End, PortSet, EdgeStyle), Vec<usize>> = BTreeMap::new();
        for (i, e) in self.edges.iter().enumerate() {
            let (near, far) = if outgoing { (&e.src, &e.dst) } else { (&e.dst, &e.src) };
            let (End::Node(_), Some(ns)) = (near, self.cluster_of(near)) else { continue };
            if self.cluster_of(far) == Some(ns) || e.back.is_some() {
                continue;
            }
            groups.entry((ns.to_string(), far.clone(), e.ports.clone(), e.style)).or_default().push(i);
        }
        let what = if self.level == Level::Pod { "pod" } else { "workload" };
        let mut drop = std::collections::HashSet::new();
        let mut added = Vec::new();
        for ((ns, far, ports, style), edges) in groups {
            if edges.len() < 2 || edges.len() != members[&ns].len() || self.partial_namespaces.contains(&ns) {
                continue;
            }
            let far_name = match &far {
                End::Node(i) => self.nodes[*i].id.clone(),
                End::Namespace(n) => format!("every {what} in {n}"),
            };
            let (src, dst, tooltip) = if outgoing {
                (End::Namespace(ns.clone()), far, format!("every {what} in {ns} → {far_name}: {ports}"))
            } else {
                (far, End::Namespace(ns.clone()), format!("{far_name} → every {what} in {ns}: {ports}"))
            };
            drop.extend(edges);
            added.push(GraphEdge { src, dst, ports, back: None, style, tooltip: Some(tooltip) });
        }
        let mut i = 0;
        self.edges.retain(|_| {
            i += 1;
            !drop.contains(&(i - 1))
        });
        self.edges.extend(added);
    }

    fn merge_opposites(&mut self) {
        let index: std::collections::HashMap<(End, End), usize> =
            self.edges.iter().enumerate().map(|(i, e)| ((e.src.clone(), e.dst.clone()), i)).collect();
        let mut drop = vec![false; self.edges.len()];
        for i in 0..self.edges.len() {
            let e = &self.edges[i];
            if drop[i] || e.src == e.dst || e.back.is_some() {
                continue;
            }
            let Some(&j) = index.get(&(e.dst.clone(), e.src.clone())) else { continue };
            if j <= i || drop[j] || self.edges[j].style != e.style || self.edges[j].back.is_some() {
                continue;
            }
            let other = self.edges[j].clone();
            let e = &mut self.edges[i];
            e.back = Some(other.ports);
            e.tooltip = match (e.tooltip.take(), other.tooltip) {
                (Some(a), Some(b)) => Some(format!("{a}\n{b}")),
                (a, b) => a.or(b),
            };
            drop[j] = true;
        }
        let mut i = 0;
        self.edges.retain(|_| {
            i += 1;
            !drop[i - 1]
        });
    }
}

fn group_node(analysis: &Analysis, group: &crate::aggregate::Group) -> GraphNode {
    let pods = group.members.len();
    let mut details = Vec::new();
    let name = match group.kind {
        GroupKind::Workload => {
            // `ns/Kind/name`
            let mut parts = group.id.splitn(3, '/').skip(1);
            let (kind, name) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
            details.push(if pods > 1 { format!("{kind} · {pods} pods") } else { kind.to_string() });
            name.to_string()
        }
        GroupKind::Pod => {
            let pod = analysis.pod(group.members[0]);
            if let Some(w) = pod.and_then(|p| p.workload.as_ref()) {
                details.push(format!("{}/{}", w.kind, w.name));
            }
            pod.map_or_else(|| group.id.clone(), |p| p.name.clone())
        }
        GroupKind::Namespace => {
            // A namespace is not drawn as hostNetwork; its label counts such pods.
            let host = group.members.iter().filter(|&&e| analysis.pod(e).is_some_and(|p| p.host_network)).count();
            let mut line = format!("{pods} pod{}", if pods == 1 { "" } else { "s" });
            if host > 0 {
                line.push_str(&format!(", {host} hostNetwork"));
            }
            details.push(line);
            return GraphNode {
                id: group.id.clone(),
                kind: group.kind,
                namespace: group.namespace.clone(),
                name: group.id.clone(),
                details,
                host_network: false,
                tooltip: None,
            };
        }
        GroupKind::External => {
            let ext = match analysis.reach.endpoint(group.members[0]) {
                netreach_model::Endpoint::External(x) => &analysis.reach.externals()[x as usize],
                netreach_model::Endpoint::Pod(_) => unreachable!("external groups hold external ranges"),
            };
            let cidrs: Vec<String> = ext.cidrs.iter().map(|c| c.to_string()).collect();
            let except: Vec<String> = ext.except.iter().map(|c| c.to_string()).collect();
            let mut lines = wrap_list(&cidrs, 34);
            let first = lines.remove(0);
            details.extend(lines);
            if !except.is_empty() {
                let mut wrapped = wrap_list(&except, 34);
                wrapped[0] = format!("except {}", wrapped[0]);
                details.extend(wrapped);
            }
            if details.len() > 6 {
                let more = details.len() - 5;
                details.truncate(5);
                details.push(format!("… {more} more line(s), see the tooltip"));
            }
            return GraphNode {
                id: group.id.clone(),
                kind: group.kind,
                namespace: None,
                name: first,
                details,
                host_network: false,
                tooltip: Some(analysis.display_name(group.members[0])),
            };
        }
    };
    if group.host_network {
        details.push("hostNetwork".to_string());
    }
    let tooltip = (pods > 1).then(|| {
        let mut names: Vec<String> = group.members.iter().take(TOOLTIP_MEMBERS).map(|&e| analysis.id(e)).collect();
        if pods > TOOLTIP_MEMBERS {
            names.push(format!("… and {} more", pods - TOOLTIP_MEMBERS));
        }
        names.join("\n")
    });
    GraphNode {
        id: group.id.clone(),
        kind: group.kind,
        namespace: group.namespace.clone(),
        name,
        details,
        host_network: group.host_network,
        tooltip,
    }
}

/// Joins items with `, `, breaking lines past `width` characters.
fn wrap_list(items: &[String], width: usize) -> Vec<String> {
    let mut lines = vec![String::new()];
    for item in items {
        let line = lines.last_mut().unwrap();
        if !line.is_empty() && line.len() + item.len() + 1 > width {
            line.push(',');
            lines.push(item.clone());
        } else {
            if !line.is_empty() {
                line.push_str(", ");
            }
            line.push_str(item);
        }
    }
    lines
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

// ---- DOT ----------------------------------------------------------------------------------

const FONT: &str = "Helvetica";

fn quoted(s: &str) -> Id {
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
    Id::Escaped(out)
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn attr(key: &str, value: Id) -> Attribute {
    Attribute(Id::Plain(key.to_string()), value)
}

fn plain(value: &str) -> Id {
    Id::Plain(value.to_string())
}

fn node_id(id: &str) -> NodeId {
    NodeId(quoted(id), None)
}

/// The node standing for every node of a namespace (`ns/*`: no pod or workload is named `*`).
fn every_node_id(namespace: &str) -> String {
    format!("{namespace}/*")
}

fn cluster_id(namespace: &str) -> String {
    format!("cluster_ns_{namespace}")
}

fn node_stmt(node: &GraphNode) -> Stmt {
    let mut label = format!("<<b>{}</b>", html_escape(&node.name));
    for line in &node.details {
        label.push_str(&format!("<br/><font point-size=\"9\">{}</font>", html_escape(line)));
    }
    label.push('>');
    let mut attributes = vec![attr("label", Id::Html(label))];
    match node.kind {
        GroupKind::External => {
            attributes.push(attr("shape", plain("hexagon")));
            attributes.push(attr("fillcolor", quoted("#fff5f5")));
            attributes.push(attr("color", quoted(EdgeStyle::Internet.colour())));
        }
        GroupKind::Namespace => attributes.push(attr("shape", plain("tab"))),
        GroupKind::Pod | GroupKind::Workload => {}
    }
    if node.host_network {
        attributes.push(attr("fillcolor", quoted("#fefcbf")));
        attributes.push(attr("peripheries", plain("2")));
    }
    if let Some(t) = &node.tooltip {
        attributes.push(attr("tooltip", quoted(t)));
    }
    Stmt::Node(Node::new(node_id(&node.id), attributes))
}

fn legend(graph: &ReachGraph) -> Stmt {
    let mut styles: Vec<EdgeStyle> = graph.edges.iter().map(|e| e.style).collect();
    styles.sort();
    styles.dedup();
    let mut rows = String::from("<tr><td colspan=\"2\" align=\"left\"><b>legend</b></td></tr>");
    for s in styles {
        let line = if s.line() == "dashed" { "- - -&gt;" } else { "——&gt;" };
        rows.push_str(&format!(
            "<tr><td><font color=\"{}\"><b>{line}</b></font></td><td align=\"left\">{}</td></tr>",
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
    rows.push_str("<tr><td colspan=\"2\" align=\"left\"><font point-size=\"9\">edge labels: allowed protocols and ports</font></td></tr>");
    let label = format!(
        "<<table border=\"1\" cellborder=\"0\" cellspacing=\"1\" cellpadding=\"2\" color=\"#a0aec0\">{rows}</table>>"
    );
    Stmt::Node(Node::new(
        node_id("legend"),
        vec![attr("shape", plain("plaintext")), attr("style", quoted("")), attr("label", Id::Html(label))],
    ))
}

/// The graph as a `graphviz-rust` structure (what [`to_dot`] prints).
pub fn to_graphviz(graph: &ReachGraph) -> Graph {
    let mut stmts = Vec::new();
    let mut graph_attrs = vec![
        attr("rankdir", plain("LR")),
        attr("fontname", quoted(FONT)),
        attr("fontsize", plain("14")),
        attr("nodesep", plain("0.3")),
        attr("ranksep", plain("0.9")),
        attr("pad", plain("0.3")),
        attr("labelloc", plain("t")),
        attr("labeljust", plain("l")),
    ];
    if let Some(title) = &graph.title {
        graph_attrs.push(attr("label", quoted(title)));
    }
    stmts.push(Stmt::GAttribute(GraphAttributes::Graph(graph_attrs)));
    stmts.push(Stmt::GAttribute(GraphAttributes::Node(vec![
        attr("shape", plain("box")),
        attr("style", quoted("rounded,filled")),
        attr("fillcolor", quoted("#ffffff")),
        attr("color", quoted("#4a5568")),
        attr("fontname", quoted(FONT)),
        attr("fontsize", plain("11")),
    ])));
    stmts.push(Stmt::GAttribute(GraphAttributes::Edge(vec![
        attr("fontname", quoted(FONT)),
        attr("fontsize", plain("9")),
        attr("arrowsize", plain("0.7")),
    ])));
    stmts.push(legend(graph));

    // Namespaces as clusters, in order; nodes without a namespace (external ranges, and every
    // node at namespace level) outside them.
    let mut clusters: BTreeMap<&str, Vec<Stmt>> = BTreeMap::new();
    for node in &graph.nodes {
        match (&node.namespace, graph.level) {
            (Some(ns), Level::Pod | Level::Workload) => clusters.entry(ns).or_default().push(node_stmt(node)),
            _ => stmts.push(node_stmt(node)),
        }
    }
    // Namespaces that edges start or end at as a whole get a node standing for every node.
    let mut whole: std::collections::BTreeSet<&str> = std::collections::BTreeSet::new();
    for e in &graph.edges {
        for end in [&e.src, &e.dst] {
            if let End::Namespace(ns) = end {
                whole.insert(ns);
                clusters.entry(ns).or_default();
            }
        }
    }
    let what = if graph.level == Level::Pod { "pod" } else { "workload" };
    for (ns, nodes) in &mut clusters {
        if whole.contains(ns) {
            nodes.insert(
                0,
                Stmt::Node(Node::new(
                    node_id(&every_node_id(ns)),
                    vec![
                        attr("label", quoted(&format!("every {what}"))),
                        attr("style", quoted("rounded,dashed")),
                        attr("fontsize", plain("9")),
                        attr("tooltip", quoted(&format!("stands for each {what} in namespace {ns}"))),
                    ],
                )),
            );
        }
    }
    for (ns, nodes) in clusters {
        let label = match graph.namespace_notes.get(ns) {
            Some(note) => Id::Html(format!(
                "<{}<br/><font face=\"{FONT}\" point-size=\"10\">{}</font>>",
                html_escape(ns),
                html_escape(note)
            )),
            None => quoted(ns),
        };
        let mut sub = vec![Stmt::GAttribute(GraphAttributes::Graph(vec![
            attr("label", label),
            attr("style", quoted("rounded,filled")),
            attr("fillcolor", quoted("#f7fafc")),
            attr("color", quoted("#a0aec0")),
            attr("fontname", quoted("Helvetica-Bold")),
            attr("fontsize", plain("13")),
            attr("labeljust", plain("l")),
            attr("margin", plain("12")),
        ]))];
        sub.extend(nodes);
        stmts.push(Stmt::Subgraph(Subgraph { id: quoted(&cluster_id(ns)), stmts: sub }));
    }
    for edge in &graph.edges {
        let end = |end: &End| match end {
            End::Node(i) => node_id(&graph.nodes[*i].id),
            End::Namespace(ns) => node_id(&every_node_id(ns)),
        };
        let (tail, head) = (end(&edge.src), end(&edge.dst));
        let label = match &edge.back {
            Some(back) if *back != edge.ports => {
                let one_way = |to: &End, ports: &PortSet| format!("→ {}: {ports}", graph.end_name(to));
                format!("{}\n{}", one_way(&edge.dst, &edge.ports), one_way(&edge.src, back))
            }
            _ => port_label(&edge.ports),
        };
        let mut attributes = Vec::new();
        let colour = edge.style.colour();
        attributes.extend([
            attr("label", quoted(&label)),
            attr("color", quoted(colour)),
            attr("fontcolor", quoted(colour)),
        ]);
        if edge.back.is_some() {
            attributes.push(attr("dir", plain("both")));
        }
        if edge.style.line() != "solid" {
            attributes.push(attr("style", plain(edge.style.line())));
        }
        if let Some(t) = &edge.tooltip {
            attributes.push(attr("tooltip", quoted(t)));
        }
        stmts.push(Stmt::Edge(Edge { ty: EdgeTy::Pair(Vertex::N(tail), Vertex::N(head)), attributes }));
    }
    Graph::DiGraph { id: plain("netreach"), strict: false, stmts }
}

/// DOT source, deterministic for the same input.
pub fn to_dot(graph: &ReachGraph) -> String {
    let mut dot = to_graphviz(graph).print(&mut PrinterContext::default());
    dot.push('\n');
    dot
}

/// Lays the DOT out with Graphviz's `dot -Tsvg` (through graphviz-rust).
pub fn dot_to_svg(dot: &str) -> Result<Vec<u8>, GraphError> {
    graphviz_rust::exec_dot(dot.to_string(), vec![CommandArg::Format(Format::Svg)]).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => GraphError::DotMissing,
        _ => GraphError::Dot(e.to_string()),
    })
}

/// Writes the connectivity graph as DOT or SVG; other formats are not graphs.
pub fn write_graph(
    analysis: &Analysis,
    format: OutputFormat,
    filter: &ConnectionFilter,
    options: &GraphOptions,
    out: &mut dyn Write,
) -> Result<(), GraphError> {
    let dot = to_dot(&connectivity_graph(analysis, filter, options)?);
    match format {
        OutputFormat::Svg => out.write_all(&dot_to_svg(&dot)?)?,
        _ => out.write_all(dot.as_bytes())?,
    }
    Ok(())
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
    fn complete_namespaces_get_a_note_and_shared_edges_start_at_the_namespace() {
        use netreach_model::{Cluster, EngineOptions, Labels, Pod};
        let pods = ["a", "b", "c"].map(|n| Pod::new("open", n, Labels::new())).to_vec();
        let analysis = Analysis::new(Cluster { pods, ..Default::default() }, &EngineOptions::default());
        let g = connectivity_graph(&analysis, &ConnectionFilter::none(), &GraphOptions::default()).unwrap();
        assert_eq!(g.namespace_notes["open"], "every workload reaches every other: all");
        let ext = g.nodes.iter().position(|n| n.kind == GroupKind::External).unwrap();
        assert_eq!(g.edges.len(), 1, "{:?}", g.edges);
        let e = &g.edges[0];
        assert_eq!(
            (&e.src, &e.dst, e.back.as_ref()),
            (&End::Namespace("open".into()), &End::Node(ext), Some(&PortSet::all()))
        );
        let dot = to_dot(&g);
        assert!(dot.contains("\"open/*\" -> \"external:0.0.0.0/0\" [label=\"all\""), "{dot}");
        assert!(dot.contains("every workload reaches every other: all"));

        // With a filter hiding part of the namespace, nothing speaks for every node of it.
        let filter =
            ConnectionFilter::new(&analysis, &[], &["open/a".into(), "open/b".into()], &["internet".into()]).unwrap();
        let g = connectivity_graph(&analysis, &filter, &GraphOptions::default()).unwrap();
        assert!(g.partial_namespaces.contains("open"));
        assert_eq!(g.edges.len(), 2);
        assert!(g.edges.iter().all(|e| matches!(e.src, End::Node(_))));
    }

    #[test]
    fn too_big_names_the_sizes_and_the_ways_out() {
        use netreach_model::{Cluster, EngineOptions, Labels, Pod};
        let pods =
            (0..6).map(|i| Pod::new(if i < 4 { "big" } else { "small" }, &format!("p{i}"), Labels::new())).collect();
        let analysis = Analysis::new(Cluster { pods, ..Default::default() }, &EngineOptions::default());
        let options = GraphOptions { max_nodes: 5, ..Default::default() };
        let err = connectivity_graph(&analysis, &ConnectionFilter::none(), &options).unwrap_err().to_string();
        assert!(err.starts_with("the graph has 7 nodes and "), "{err}");
        assert!(
            err.contains("--level namespace (3 nodes, ")
                && err.contains("--namespace NS (largest: big: 4 nodes, small: 2 nodes)"),
            "{err}"
        );
        assert!(
            connectivity_graph(&analysis, &ConnectionFilter::none(), &GraphOptions { force: true, ..options }).is_ok()
        );
    }

    #[test]
    fn ids_are_quoted_and_escaped() {
        assert_eq!(quoted("a\"b\\c"), Id::Escaped("\"a\\\"b\\\\c\"".into()));
        assert_eq!(html_escape("<a&b>"), "&lt;a&amp;b&gt;");
        assert_eq!(
            wrap_list(&["10.0.0.0/8".into(), "172.16.0.0/12".into(), "192.168.0.0/16".into()], 30),
            ["10.0.0.0/8, 172.16.0.0/12,", "192.168.0.0/16"]
        );
    }
}
