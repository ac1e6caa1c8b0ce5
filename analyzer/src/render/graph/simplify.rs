//! Fewer lines, same meaning: [`ReachGraph::simplify`] collapses namespaces where everything
//! reaches everything, bundles edges shared by every node of a namespace into one edge at its
//! box, and merges opposite edges into one line with two arrowheads.

use super::{EdgeStyle, End, GraphEdge, ReachGraph};
use crate::aggregate::Level;
use netreach_model::PortSet;
use std::collections::{BTreeMap, HashMap, HashSet};

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

    fn cluster_members(&self) -> BTreeMap<String, Vec<usize>> {
        let mut members: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for i in 0..self.nodes.len() {
            if let Some(ns) = self.cluster_of(&End::Node(i)) {
                members.entry(ns.to_string()).or_default().push(i);
            }
        }
        members
    }

    /// Removes the edges whose index `drop` picks (indices before any removal).
    fn drop_edges(&mut self, drop: impl Fn(usize) -> bool) {
        let mut index = 0;
        self.edges.retain(|_| {
            index += 1;
            !drop(index - 1)
        });
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
                inside.iter().all(|&i| {
                    let e = &self.edges[i];
                    e.ports == f.ports && e.style == f.style && e.label.is_none()
                })
            });
            if inside.len() == n * (n - 1) && uniform {
                let (ports, style) = (first.unwrap().ports.clone(), first.unwrap().style);
                let mut note = format!("every {} reaches every other: {ports}", self.member_word());
                if matches!(style, EdgeStyle::Mesh(_) | EdgeStyle::Diff(_)) {
                    // What the edges' colour said, in words.
                    note.push_str(&format!(" ({})", style.meaning()));
                }
                self.namespace_notes.insert(ns.clone(), note);
                let drop: HashSet<usize> = inside.into_iter().collect();
                self.drop_edges(|i| drop.contains(&i));
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
            if self.cluster_of(far) == Some(ns) || e.back.is_some() || e.label.is_some() {
                continue;
            }
            groups.entry((ns.to_string(), far.clone(), e.ports.clone(), e.style)).or_default().push(i);
        }
        let what = self.member_word();
        let mut drop = HashSet::new();
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
            added.push(GraphEdge { src, dst, ports, back: None, style, tooltip: Some(tooltip), label: None });
        }
        self.drop_edges(|i| drop.contains(&i));
        self.edges.extend(added);
    }

    fn merge_opposites(&mut self) {
        let index: HashMap<(End, End), usize> =
            self.edges.iter().enumerate().map(|(i, e)| ((e.src.clone(), e.dst.clone()), i)).collect();
        let mut drop = vec![false; self.edges.len()];
        for i in 0..self.edges.len() {
            let e = &self.edges[i];
            if drop[i] || e.src == e.dst || e.back.is_some() || e.label.is_some() {
                continue;
            }
            let Some(&j) = index.get(&(e.dst.clone(), e.src.clone())) else { continue };
            if j <= i
                || drop[j]
                || self.edges[j].style != e.style
                || self.edges[j].back.is_some()
                || self.edges[j].label.is_some()
            {
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
        self.drop_edges(|i| drop[i]);
    }
}
