//! `-o dot` and `-o svg`: the reachability graph as a picture people can read.
//!
//! Endpoints are grouped at a [`Level`] (workloads by default) with the shared
//! [`aggregate`](crate::aggregate) module, connections between groups are merged (ports joined
//! with [`PortSet`]'s `TCP 80,443; UDP 53` / `all`), and the result is drawn as Graphviz DOT
//! (`dot.rs`): namespaces are clusters, external address ranges are hexagons outside them,
//! hostNetwork pods are yellow with a double border, and each edge is coloured by an
//! [`EdgeStyle`] that a legend explains. SVG is drawn by Graphviz's `dot` from `PATH`.
//!
//! This module owns the drawing model ([`ReachGraph`]), building it from an analysis, and the
//! size limits; `simplify.rs` makes it readable, `dot.rs` prints it. The picture is a
//! `ReachGraph` first and DOT second, so other views (a diff, a mesh view) can build a
//! `ReachGraph` and reuse [`to_dot`] and [`dot_to_svg`].
//!
//! Graphs past [`MAX_NODES`] nodes or [`MAX_EDGES`] edges are refused with
//! [`GraphError::TooBig`] (unless forced): a hairball answers nothing.

mod dot;
mod simplify;

pub use dot::{dot_to_svg, port_label, to_dot};

use super::text::capped;
use super::OutputFormat;
use crate::aggregate::{aggregate_where, GroupKind, Grouping, Level};
use crate::analysis::Analysis;
use crate::diff::ChangeKind;
use crate::filter::ConnectionFilter;
use netreach_model::mesh::MtlsStatus;
use netreach_model::PortSet;
use std::collections::{BTreeMap, BTreeSet, HashMap};
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

/// The colour of an edge, explained by the legend.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EdgeStyle {
    /// Both ends in one namespace.
    WithinNamespace,
    /// Ends in different namespaces.
    AcrossNamespaces,
    /// One end is an external address range.
    Internet,
    /// `mesh`: the connection's mTLS status.
    Mesh(MtlsStatus),
    /// `diff`: how the connection changed.
    Diff(ChangeKind),
    /// `paths`: a hostNetwork pod reaching the pods on its node, whatever the policies say.
    NodeLocal,
    /// Attack paths: a container taking its node.
    Escape,
    /// Attack paths: a ServiceAccount token used.
    Token,
    /// Attack paths: an RBAC grant used.
    Rbac,
    /// `exposure`: a hop of an entry path that the receiver's policy does not admit.
    NotAdmitted,
}

impl EdgeStyle {
    pub fn colour(self) -> &'static str {
        match self {
            EdgeStyle::WithinNamespace => "#2b6cb0",
            EdgeStyle::AcrossNamespaces => "#c05621",
            EdgeStyle::Internet => "#c53030",
            EdgeStyle::Mesh(MtlsStatus::Mtls) | EdgeStyle::Diff(ChangeKind::Added) => "#2f855a",
            EdgeStyle::Mesh(MtlsStatus::Permissive) | EdgeStyle::Diff(ChangeKind::Changed) => "#b7791f",
            EdgeStyle::Mesh(MtlsStatus::Plaintext) | EdgeStyle::Diff(ChangeKind::Removed) => "#c53030",
            EdgeStyle::Mesh(MtlsStatus::Rejected) => "#6b46c1",
            EdgeStyle::Mesh(MtlsStatus::NotApplicable) | EdgeStyle::NodeLocal => "#718096",
            EdgeStyle::Escape => "#9b2c2c",
            EdgeStyle::Token => "#6b46c1",
            EdgeStyle::Rbac => "#b83280",
            EdgeStyle::NotAdmitted => "#a0aec0",
        }
    }

    /// Drawn dashed: traffic that no longer flows, or flows beside the policies.
    pub fn dashed(self) -> bool {
        matches!(self, EdgeStyle::Diff(ChangeKind::Removed) | EdgeStyle::NodeLocal | EdgeStyle::NotAdmitted)
    }

    /// The legend's words.
    pub fn meaning(self) -> &'static str {
        match self {
            EdgeStyle::WithinNamespace => "within a namespace",
            EdgeStyle::AcrossNamespaces => "across namespaces",
            EdgeStyle::Internet => "to or from outside the cluster",
            EdgeStyle::Mesh(MtlsStatus::Mtls) => "mutual TLS",
            EdgeStyle::Mesh(MtlsStatus::Permissive) => "permissive: mTLS, but plaintext is accepted too",
            EdgeStyle::Mesh(MtlsStatus::Plaintext) => "plaintext",
            EdgeStyle::Mesh(MtlsStatus::Rejected) => "rejected: the destination requires mTLS the source cannot speak",
            EdgeStyle::Mesh(MtlsStatus::NotApplicable) => "mTLS not applicable (an external range)",
            EdgeStyle::Diff(ChangeKind::Added) => "added: allowed after, not before",
            EdgeStyle::Diff(ChangeKind::Removed) => "removed: allowed before, not after",
            EdgeStyle::Diff(ChangeKind::Changed) => "changed ports (+ gained, − lost)",
            EdgeStyle::NodeLocal => "node-local hop: a hostNetwork pod to the pods on its node",
            EdgeStyle::Escape => "escape: a container takes its node",
            EdgeStyle::Token => "token: a ServiceAccount token used",
            EdgeStyle::Rbac => "rbac: what a ServiceAccount's grants allow",
            EdgeStyle::NotAdmitted => "not admitted: the receiver's policy drops the source this hop delivers",
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
    /// A DOT shape other than the kind's, and what it means in the legend (`exposure`'s entry points).
    pub shape: Option<(&'static str, &'static str)>,
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
    /// Written instead of the ports (a diff's `+ gained − lost`); such an edge is never merged.
    pub label: Option<String>,
}

impl GraphEdge {
    pub fn new(src: usize, dst: usize, ports: PortSet, style: EdgeStyle) -> GraphEdge {
        GraphEdge { src: End::Node(src), dst: End::Node(dst), ports, back: None, style, tooltip: None, label: None }
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
    pub partial_namespaces: BTreeSet<String>,
}

impl ReachGraph {
    /// What a node inside a namespace cluster is, in labels and notes.
    fn member_word(&self) -> &'static str {
        if self.level == Level::Pod {
            "pod"
        } else {
            "workload"
        }
    }
}

#[derive(Debug)]
pub enum GraphError {
    /// Past the limits. The smaller views worth suggesting: the namespace level's (nodes, edges)
    /// when it fits, and the busiest namespaces with their sizes.
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
            // The ways out (`namespace_level`, `busiest`) are the caller's to word: the CLI names its options.
            GraphError::TooBig { nodes, edges, level, max_nodes, max_edges, .. } => {
                write!(
                    f,
                    "the graph has {nodes} nodes and {edges} edges at {} level, too many to read (limits: {max_nodes} nodes, {max_edges} edges).",
                    Level::name(*level)
                )
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
    let namespace_level = || {
        let g = build(analysis, filter, Level::Namespace, None);
        (g.nodes.len(), g.edges.len())
    };
    refuse_too_big(graph, options, namespace_level)
}

/// `graph`, unless it is past `options`' limits (and not forced): then [`GraphError::TooBig`]
/// with the ways out, `namespace_level` giving the size of the same view per namespace.
fn refuse_too_big(
    graph: ReachGraph,
    options: &GraphOptions,
    namespace_level: impl FnOnce() -> (usize, usize),
) -> Result<ReachGraph, GraphError> {
    let (nodes, edges) = (graph.nodes.len(), graph.edges.len());
    if !options.force && (nodes > options.max_nodes || edges > options.max_edges) {
        let namespace_level = (options.level != Level::Namespace).then(namespace_level);
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
                shape: None,
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
                shape: None,
                tooltip: Some(analysis.display_name(group.members[0])),
            };
        }
    };
    if group.host_network {
        details.push("hostNetwork".to_string());
    }
    let tooltip = (pods > 1).then(|| capped(&group.members, TOOLTIP_MEMBERS, |&e| analysis.id(e), "… ").join("\n"));
    GraphNode {
        id: group.id.clone(),
        kind: group.kind,
        namespace: group.namespace.clone(),
        name,
        details,
        host_network: group.host_network,
        shape: None,
        tooltip,
    }
}

/// The picture of a view that names its ends by id (`mesh`, `diff`, `paths`): each node is
/// made from its id (`ns`, `ns/pod`, `ns/Kind/name`, `external:…`) the first time an edge names it.
pub struct IdGraph {
    graph: ReachGraph,
    index: HashMap<String, usize>,
}

impl IdGraph {
    pub fn new(level: Level) -> IdGraph {
        let graph = ReachGraph {
            title: None,
            level,
            nodes: Vec::new(),
            edges: Vec::new(),
            namespace_notes: BTreeMap::new(),
            partial_namespaces: BTreeSet::new(),
        };
        IdGraph { graph, index: HashMap::new() }
    }

    /// The node of `id`, added when new.
    pub fn node(&mut self, id: &str) -> usize {
        if let Some(&i) = self.index.get(id) {
            return i;
        }
        self.graph.nodes.push(node_from_id(id));
        self.index.insert(id.to_string(), self.graph.nodes.len() - 1);
        self.graph.nodes.len() - 1
    }

    /// Within a namespace, across namespaces, or to or from outside: how [`connectivity_graph`]
    /// colours a connection.
    pub fn reach_style(&self, src: usize, dst: usize) -> EdgeStyle {
        let (s, d) = (&self.graph.nodes[src], &self.graph.nodes[dst]);
        if s.kind == GroupKind::External || d.kind == GroupKind::External {
            EdgeStyle::Internet
        } else if s.namespace == d.namespace {
            EdgeStyle::WithinNamespace
        } else {
            EdgeStyle::AcrossNamespaces
        }
    }

    pub fn edge(&mut self, edge: GraphEdge) {
        self.graph.edges.push(edge);
    }

    /// The node of `id`, added as `node` when new: for nodes whose id alone does not say
    /// what they are (`exposure`'s entry points).
    pub fn node_as(&mut self, node: GraphNode) -> usize {
        if let Some(&i) = self.index.get(&node.id) {
            return i;
        }
        self.index.insert(node.id.clone(), self.graph.nodes.len());
        self.graph.nodes.push(node);
        self.graph.nodes.len() - 1
    }

    /// Adds a smaller label line to node `i` (e.g. `compromised`).
    pub fn mark(&mut self, i: usize, detail: &str) {
        self.graph.nodes[i].details.push(detail.to_string());
    }

    /// The graph, simplified as the connectivity graph is, unless past `options`' limits.
    pub fn finish(mut self, options: &GraphOptions) -> Result<ReachGraph, GraphError> {
        self.graph.title = options.title.clone();
        self.graph.simplify();
        refuse_too_big(self.graph, options, || (0, 0)).map_err(|e| match e {
            // The size per namespace is not known here; the caller names its own ways out.
            GraphError::TooBig { nodes, edges, level, max_nodes, max_edges, busiest, .. } => {
                GraphError::TooBig { nodes, edges, level, max_nodes, max_edges, namespace_level: None, busiest }
            }
            e => e,
        })
    }
}

/// A node drawn from its id alone: `ns` (a namespace), `ns/pod`, `ns/Kind/name` (a workload)
/// or `external:CIDR,…`.
fn node_from_id(id: &str) -> GraphNode {
    let node = |kind, namespace: Option<&str>, name: &str, details: Vec<String>| GraphNode {
        id: id.to_string(),
        kind,
        namespace: namespace.map(str::to_string),
        name: name.to_string(),
        details,
        host_network: false,
        shape: None,
        tooltip: None,
    };
    if let Some(ranges) = id.strip_prefix("external:") {
        let cidrs: Vec<String> = ranges.split(',').map(str::to_string).collect();
        let mut lines = wrap_list(&cidrs, 34);
        let first = lines.remove(0);
        return node(GroupKind::External, None, &first, lines);
    }
    let parts: Vec<&str> = id.splitn(3, '/').collect();
    match parts[..] {
        [ns, kind, name] => node(GroupKind::Workload, Some(ns), name, vec![kind.to_string()]),
        [ns, pod] => node(GroupKind::Pod, Some(ns), pod, Vec::new()),
        _ => node(GroupKind::Namespace, Some(id), id, Vec::new()),
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
        let err = connectivity_graph(&analysis, &ConnectionFilter::none(), &options).unwrap_err();
        assert!(err.to_string().starts_with("the graph has 7 nodes and "), "{err}");
        let GraphError::TooBig { namespace_level, busiest, .. } = err else { panic!("{err}") };
        assert_eq!(namespace_level.map(|(nodes, _)| nodes), Some(3));
        assert_eq!(busiest, ["big: 4 nodes", "small: 2 nodes"]);
        assert!(
            connectivity_graph(&analysis, &ConnectionFilter::none(), &GraphOptions { force: true, ..options }).is_ok()
        );
    }

    #[test]
    fn id_graphs_make_nodes_from_ids_and_colour_by_namespace() {
        let mut g = IdGraph::new(Level::Workload);
        let (a, b, c) = (g.node("shop/Deployment/web"), g.node("shop/job-1"), g.node("data"));
        let x = g.node("external:0.0.0.0/0");
        assert_eq!(g.node("shop/job-1"), b, "a node is added once");
        assert_eq!(g.reach_style(a, b), EdgeStyle::WithinNamespace);
        assert_eq!(g.reach_style(a, c), EdgeStyle::AcrossNamespaces);
        assert_eq!(g.reach_style(x, a), EdgeStyle::Internet);
        g.edge(GraphEdge::new(a, c, PortSet::all(), EdgeStyle::Diff(ChangeKind::Removed)));
        let graph = g.finish(&GraphOptions::default()).unwrap();
        let kinds: Vec<GroupKind> = graph.nodes.iter().map(|n| n.kind).collect();
        assert_eq!(kinds, [GroupKind::Workload, GroupKind::Pod, GroupKind::Namespace, GroupKind::External]);
        assert_eq!((graph.nodes[0].name.as_str(), graph.nodes[0].details[0].as_str()), ("web", "Deployment"));
        let dot = to_dot(&graph);
        assert!(dot.contains("style=dashed"), "{dot}");
        assert!(dot.contains("removed: allowed before, not after"), "{dot}");
        let too_small = GraphOptions { max_edges: 0, ..Default::default() };
        let mut g = IdGraph::new(Level::Pod);
        let (s, d) = (g.node("a/p"), g.node("a/q"));
        g.edge(GraphEdge::new(s, d, PortSet::all(), EdgeStyle::NodeLocal));
        assert!(matches!(g.finish(&too_small), Err(GraphError::TooBig { edges: 1, .. })));
    }

    #[test]
    fn long_lists_wrap_after_a_comma() {
        assert_eq!(
            wrap_list(&["10.0.0.0/8".into(), "172.16.0.0/12".into(), "192.168.0.0/16".into()], 30),
            ["10.0.0.0/8, 172.16.0.0/12,", "192.168.0.0/16"]
        );
    }
}
