//! Attack paths that follow network, posture and identity together (`netreach paths` without
//! `--network-only`): from a compromised set to pods, nodes, Secrets or cluster-admin, by
//! network steps (the policies), escapes (a container taking its node), node-local steps,
//! tokens (a mounted ServiceAccount token used against a reachable API server, or read from a
//! node) and RBAC grants. `graph` builds the vertices and steps, `search` finds shortest paths,
//! `radius` counts each source's blast radius on classes, `render` words them.

pub mod graph;
pub mod radius;
pub mod render;
pub mod search;

pub use graph::{parse_target, AttackGraph, AttackTarget, Vertex};
use netreach_model::Endpoint;
pub use radius::blast_radius;
pub use search::{AttackReach, Parent, StepKind, Why};

/// One step of a path, worded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    pub from: String,
    pub to: String,
    pub kind: StepKind,
    /// For network steps: the lowest allowed port of the first protocol.
    pub port: Option<(&'static str, u16)>,
    pub reason: String,
    /// An entry hop's entry point.
    pub via: Option<crate::exposure::Via>,
}

/// What one source reaches within 1, 2, … hops (cumulative), by kind of vertex.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttackRadius {
    pub source: usize,
    pub pods: Vec<u64>,
    pub nodes: Vec<u64>,
    /// `secrets/NS` and `secret/NS/NAME` vertices.
    pub secrets: Vec<u64>,
    /// ServiceAccounts.
    pub identities: Vec<u64>,
    /// The hop cluster-admin is reached at, if it is.
    pub cluster_admin: Option<u32>,
}

/// The answer of `paths` in attack mode.
pub struct AttackAnswer<'a> {
    pub graph: AttackGraph<'a>,
    pub sources: Vec<usize>,
    pub targets: Vec<usize>,
    pub max_hops: u32,
    pub node_hops: bool,
    pub search: AttackReach,
    /// Targets reached, nearest first (fewest non-network steps on ties).
    pub reached: Vec<usize>,
    pub blast_radius: Vec<AttackRadius>,
}

impl AttackAnswer<'_> {
    /// How a blast-radius row's source is named: the internet as a whole when the search
    /// started at the entry points.
    pub fn source_name(&self, source: usize) -> String {
        match self.graph.entries {
            Some(_) => crate::lateral::INTERNET_THROUGH_ENTRY_POINTS.to_string(),
            None => self.graph.analysis.id(source),
        }
    }

    /// Targets that are not themselves sources.
    pub fn target_count(&self) -> usize {
        self.targets.iter().filter(|&&t| self.search.distance[t] != 0).count()
    }

    /// The steps from the nearest source to `target`.
    pub fn steps(&self, target: usize) -> Vec<Step> {
        self.graph.steps(&self.search, target)
    }
}

impl AttackGraph<'_> {
    /// The steps a search found from its nearest source to `target`, worded.
    pub fn steps(&self, search: &AttackReach, target: usize) -> Vec<Step> {
        let reach = &self.analysis.reach;
        search
            .path(target)
            .into_iter()
            .map(|(from, to, parent)| {
                let entry = self.entry_hop(&parent, to);
                let port = match entry {
                    Some(hop) => Some((hop.protocol.as_str(), hop.port)),
                    None => (parent.kind == StepKind::Network)
                        .then(|| {
                            let ports = reach.allowed(reach.endpoint(from), reach.endpoint(to));
                            let first = ports.iter().next().map(|(p, r)| (p.as_str(), r[0].0));
                            first
                        })
                        .flatten(),
                };
                Step {
                    from: self.name(self.vertex(from)),
                    to: self.name(self.vertex(to)),
                    kind: parent.kind,
                    port,
                    reason: self.reason(&parent, to),
                    via: entry.map(|hop| hop.via.clone()),
                }
            })
            .collect()
    }

    /// The entry hop behind an entry step.
    fn entry_hop(&self, parent: &Parent, to: usize) -> Option<&crate::exposure::EntryHop> {
        (parent.why == Why::Entry).then(|| self.entries.as_ref().and_then(|e| e.hop_to(to))).flatten()
    }

    /// Why a step is possible, in words, with the rule's source where one applies.
    pub fn reason(&self, parent: &Parent, to: usize) -> String {
        let reach = &self.analysis.reach;
        let account_grant = |k: usize| match self.vertex(parent.from) {
            Vertex::Account(a) => self.grants[a][k].reason.clone(),
            _ => String::new(),
        };
        let pod_of = |v: usize| match self.vertex(v) {
            Vertex::Endpoint(e) => match reach.endpoint(e) {
                Endpoint::Pod(p) => Some(p as usize),
                Endpoint::External(_) => None,
            },
            _ => None,
        };
        match parent.why {
            Why::Allowed => {
                let ports = reach.allowed(reach.endpoint(parent.from), reach.endpoint(to));
                format!("the network policies allow {ports}")
            }
            Why::HostNetwork => "a hostNetwork pod reaches the pods on its node".to_string(),
            Why::Escape => pod_of(parent.from)
                .and_then(|p| self.escapes[p].as_ref())
                .map_or_else(String::new, |e| format!("escapes to its node: {}", e.reason())),
            Why::OnNode => "root on the node controls its pods (KubeHound CONTAINER_ATTACH)".to_string(),
            Why::TokenMounted => "uses its mounted ServiceAccount token: the policies let it reach the kube-apiserver".to_string(),
            Why::TokenStolen(e) => format!(
                "reads the ServiceAccount token of {} from the node's pod volumes (KubeHound VOLUME_ACCESS, TOKEN_STEAL)",
                self.analysis.id(e)
            ),
            Why::Grant(k) => account_grant(k),
            Why::PrivilegedPod(k) => format!(
                "creates a privileged pod on the node, since Pod Security enforces neither baseline nor restricted there: {}",
                account_grant(k)
            ),
            Why::Admin => "cluster-admin can do anything".to_string(),
            Why::Entry => match self.entry_hop(parent, to) {
                Some(hop) => format!(
                    "enters through {} {} on {} {}; the pod sees {}",
                    hop.via.kind.as_str(),
                    hop.via.name,
                    hop.protocol.as_str(),
                    hop.port,
                    hop.source
                ),
                None => "enters through an entry point".to_string(),
            },
        }
    }
}

/// The targets of `to`: an attack target, or endpoints as `paths --to` always took.
pub fn resolve_targets(graph: &AttackGraph, to: &str) -> Result<Vec<usize>, String> {
    match parse_target(to) {
        Some(target) => graph.resolve(&target),
        None => graph::resolve_endpoints(graph.analysis, to),
    }
}

/// `secret/NS/NAME` targets become vertices even when nothing in the input names the Secret.
pub fn named_secret(to: &str) -> Vec<(String, String)> {
    match parse_target(to) {
        Some(AttackTarget::Secret(ns, name)) => vec![(ns, name)],
        _ => Vec::new(),
    }
}

/// Attack paths from `sources` (endpoint indices) to `targets` (vertex indices).
pub fn attack_paths<'a>(
    graph: AttackGraph<'a>,
    sources: &[usize],
    targets: &[usize],
    max_hops: u32,
    node_hops: bool,
) -> AttackAnswer<'a> {
    let (search, blast_radius) = match graph.entries {
        Some(_) => {
            let search = graph.search_entered(sources, max_hops, node_hops);
            let radius = sources.first().map(|&source| radius::of_search(&graph, &search, source, max_hops));
            (search, radius.into_iter().collect())
        }
        None => (graph.search(sources, max_hops, true, node_hops), blast_radius(&graph, sources, max_hops, node_hops)),
    };
    let mut reached: Vec<usize> = targets.iter().copied().filter(|&t| search.reached(t)).collect();
    reached.sort_by_key(|&t| (search.distance[t], search.non_network[t], t));
    AttackAnswer {
        sources: sources.to_vec(),
        targets: targets.to_vec(),
        max_hops,
        node_hops,
        search,
        reached,
        blast_radius,
        graph,
    }
}
