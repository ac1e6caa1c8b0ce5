//! Shortest attack paths: a breadth-first search over the attack graph, level by level, where
//! among paths of the same length the one with the fewest non-network steps wins. Network
//! steps go once per class (the engine's rows), as `Reachability::lateral` does; identity
//! steps expand a namespace's or a node's pods once per search.

use super::graph::{AttackGraph, Vertex};
use netreach_model::identity::rbac::Power;
use netreach_model::Endpoint;

/// The kind of a step, as outputs name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StepKind {
    /// Allowed by the network policies.
    Network,
    /// Node to pod (from the node itself or a hostNetwork pod on it).
    NodeLocal,
    /// Container to its node.
    Escape,
    /// Pod or node to a ServiceAccount, through its token.
    Token,
    /// A ServiceAccount's grants.
    Rbac,
}

impl StepKind {
    pub fn as_str(self) -> &'static str {
        match self {
            StepKind::Network => "network",
            StepKind::NodeLocal => "node-local",
            StepKind::Escape => "escape",
            StepKind::Token => "token",
            StepKind::Rbac => "rbac",
        }
    }
}

/// Why a step is possible, kept small; [`AttackGraph::reason`] words it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Why {
    /// The policies allow it.
    Allowed,
    /// A hostNetwork pod reaches the pods on its node.
    HostNetwork,
    /// The pod escapes (its own escape rule).
    Escape,
    /// Root on a node reaches its pods.
    OnNode,
    /// The pod's token is mounted and it reaches the API server.
    TokenMounted,
    /// Root on the node reads the token of this pod (endpoint index).
    TokenStolen(usize),
    /// Grant `k` of the ServiceAccount.
    Grant(usize),
    /// A pod created in a namespace without Pod Security enforced: grant `k`.
    PrivilegedPod(usize),
    /// cluster-admin can do anything.
    Admin,
    /// From outside through an entry point (the graph's entry hop to the reached pod).
    Entry,
}

/// Where a vertex was reached from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Parent {
    pub from: usize,
    pub kind: StepKind,
    pub why: Why,
}

/// The result of a search: per vertex its distance, non-network steps and parent.
#[derive(Clone, Debug)]
pub struct AttackReach {
    /// Steps from the nearest source; `u32::MAX` when not reached.
    pub distance: Vec<u32>,
    /// Non-network steps on the chosen path.
    pub non_network: Vec<u32>,
    pub parent: Vec<Option<Parent>>,
}

impl AttackReach {
    /// The steps from a source to `target`: (from, to, parent).
    pub fn path(&self, target: usize) -> Vec<(usize, usize, Parent)> {
        let mut steps = Vec::new();
        let mut at = target;
        while let Some(p) = self.parent[at] {
            steps.push((p.from, at, p));
            at = p.from;
            if steps.len() > self.parent.len() {
                break; // a source re-reached (blast-radius searches) ends the walk
            }
        }
        steps.reverse();
        steps
    }

    pub fn reached(&self, v: usize) -> bool {
        self.distance[v] != u32::MAX && self.distance[v] >= 1
    }
}

/// The state of one search.
struct Search<'g, 'a> {
    g: &'g AttackGraph<'a>,
    distance: Vec<u32>,
    non_network: Vec<u32>,
    parent: Vec<Option<Parent>>,
    /// Per class: members not reached yet, and whether it stepped.
    remaining: Vec<u32>,
    stepped: Vec<bool>,
    /// Groups expanded once: pods of a node, pods of a namespace, every pod.
    node_done: Vec<bool>,
    ns_done: Vec<bool>,
    all_done: bool,
    next: Vec<usize>,
    level: u32,
    /// Whether a hostNetwork pod reaches its node's pods (`--no-node-hops` turns it off).
    node_hops: bool,
    /// Searching from outside through the entry points: external ranges take no network step.
    entered: bool,
}

impl Search<'_, '_> {
    fn reach(&mut self, v: usize, from: usize, kind: StepKind, why: Why, non_network: u32) {
        if self.distance[v] != u32::MAX {
            return;
        }
        self.distance[v] = self.level;
        self.non_network[v] = non_network;
        self.parent[v] = Some(Parent { from, kind, why });
        if v < self.g.analysis.reach.endpoint_count() {
            let c = self.g.analysis.reach.class_of(self.g.analysis.reach.endpoint(v));
            self.remaining[c] -= 1;
        }
        self.next.push(v);
    }

    /// Network steps from endpoint `e` (one per class and search).
    fn network(&mut self, e: usize) {
        let reach = &self.g.analysis.reach;
        let pods = reach.pod_count();
        if e >= pods && (self.level > 1 || self.entered) {
            return; // reached external ranges are not stepping stones; entry hops replace theirs
        }
        let c = reach.class_of(reach.endpoint(e));
        if self.stepped[c] {
            return;
        }
        let from_external = e >= pods;
        self.stepped[c] = !from_external;
        let nn = self.non_network[e];
        for (d, ports) in reach.class_row(c) {
            if self.remaining[d] == 0 || ports.is_empty() {
                continue;
            }
            for &m in reach.class_members(d) {
                let m = m as usize;
                if !(from_external && m >= pods) {
                    self.reach(m, e, StepKind::Network, Why::Allowed, nn);
                }
            }
        }
    }

    fn pods_of_node(&mut self, node: usize, from: usize, kind: StepKind, why: Why, nn: u32) {
        if std::mem::replace(&mut self.node_done[node], true) {
            return;
        }
        for i in 0..self.g.pods_on_node[node].len() {
            self.reach(self.g.pods_on_node[node][i], from, kind, why, nn);
        }
    }

    fn every_pod(&mut self, from: usize, kind: StepKind, why: Why, nn: u32) {
        if std::mem::replace(&mut self.all_done, true) {
            return;
        }
        for p in 0..self.g.analysis.reach.pod_count() {
            self.reach(self.g.analysis.reach.index_of(Endpoint::Pod(p as u32)), from, kind, why, nn);
        }
    }

    fn pods_of_ns(&mut self, ns: usize, from: usize, why: Why, nn: u32) {
        if std::mem::replace(&mut self.ns_done[ns], true) {
            return;
        }
        for i in 0..self.g.pods_in_ns[ns].len() {
            self.reach(self.g.pods_in_ns[ns][i], from, StepKind::Rbac, why, nn);
        }
    }

    /// Non-network steps from `v`, each ending with `nn` non-network steps.
    fn identity_steps(&mut self, v: usize, nn: u32) {
        let g = self.g;
        g.identity_steps(v, self.node_hops, &mut |target, kind, why| match target {
            Target::Vertex(to) => self.reach(to, v, kind, why, nn),
            Target::NodePods(node) => self.pods_of_node(node, v, kind, why, nn),
            Target::NamespacePods(ns) => self.pods_of_ns(ns, v, why, nn),
            Target::EveryPod => self.every_pod(v, kind, why, nn),
        });
    }
}

/// Where an identity step leads: one vertex, or a group of pods expanded once per search.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) enum Target {
    Vertex(usize),
    /// The pods of a node.
    NodePods(usize),
    /// The pods of a namespace.
    NamespacePods(usize),
    EveryPod,
}

impl AttackGraph<'_> {
    /// The non-network steps from vertex `v`, in the order a search takes them (the first to
    /// reach a vertex is its parent): the one rule set both the path search and the blast
    /// radius follow.
    pub(super) fn identity_steps(&self, v: usize, node_hops: bool, step: &mut impl FnMut(Target, StepKind, Why)) {
        let g = self;
        match g.vertex(v) {
            Vertex::Endpoint(e) => {
                let Endpoint::Pod(p) = g.analysis.reach.endpoint(e) else { return };
                let p = p as usize;
                let pod = &g.analysis.cluster.pods[p];
                if pod.host_network && node_hops {
                    if g.on_every_node[p] {
                        step(Target::EveryPod, StepKind::NodeLocal, Why::HostNetwork);
                    } else if let Some(node) = g.node_of_pod[p] {
                        step(Target::NodePods(node), StepKind::NodeLocal, Why::HostNetwork);
                    }
                }
                if let (Some(_), Some(node)) = (&g.escapes[p], g.node_of_pod[p]) {
                    step(Target::Vertex(g.index(Vertex::Node(node))), StepKind::Escape, Why::Escape);
                }
                if g.token_usable(p) {
                    step(
                        Target::Vertex(g.index(Vertex::Account(g.account_of_pod[p]))),
                        StepKind::Token,
                        Why::TokenMounted,
                    );
                }
            }
            Vertex::Node(n) => {
                step(Target::NodePods(n), StepKind::NodeLocal, Why::OnNode);
                for &e in &g.pods_on_node[n] {
                    let Endpoint::Pod(p) = g.analysis.reach.endpoint(e) else { continue };
                    if g.analysis.cluster.pods[p as usize].mounts_token() {
                        let a = g.index(Vertex::Account(g.account_of_pod[p as usize]));
                        step(Target::Vertex(a), StepKind::Token, Why::TokenStolen(e));
                    }
                }
            }
            Vertex::Account(a) => {
                for (k, grant) in g.grants[a].iter().enumerate() {
                    let why = Why::Grant(k);
                    let mut rbac = |v: Vertex, why: Why| step(Target::Vertex(g.index(v)), StepKind::Rbac, why);
                    match &grant.power {
                        Power::ReadSecrets { scope, names } if names.is_empty() => {
                            for ns in g.scope_namespaces(scope) {
                                g.secrets_of_ns(ns, why, step);
                            }
                        }
                        Power::ReadSecrets { scope, names } => {
                            let in_scope = g.scope_namespaces(scope);
                            for (s, (ns, name)) in g.secrets.iter().enumerate() {
                                if in_scope.contains(ns) && names.contains(name) {
                                    rbac(Vertex::Secret(s), why);
                                }
                            }
                        }
                        Power::ExecPods { scope } => {
                            for ns in g.scope_namespaces(scope) {
                                step(Target::NamespacePods(ns), StepKind::Rbac, why);
                            }
                        }
                        Power::CreatePods { scope } => {
                            for ns in g.scope_namespaces(scope) {
                                // A created pod copies any pod's labels and ServiceAccount, mounts any Secret.
                                step(Target::NamespacePods(ns), StepKind::Rbac, why);
                                g.secrets_of_ns(ns, why, step);
                                for &other in &g.accounts_in_ns[ns] {
                                    step(Target::Vertex(g.index(Vertex::Account(other))), StepKind::Rbac, why);
                                }
                                if !g.enforced[ns] {
                                    for n in g.schedulable_nodes() {
                                        let to = g.index(Vertex::Node(n));
                                        step(Target::Vertex(to), StepKind::Rbac, Why::PrivilegedPod(k));
                                    }
                                }
                            }
                        }
                        Power::AccountTokens { scope, names } => {
                            for ns in g.scope_namespaces(scope) {
                                for &other in &g.accounts_in_ns[ns] {
                                    if names.is_empty() || names.contains(&g.accounts[other].1) {
                                        rbac(Vertex::Account(other), why);
                                    }
                                }
                            }
                        }
                        Power::ClusterAdmin => rbac(Vertex::ClusterAdmin, why),
                    }
                }
            }
            Vertex::ClusterAdmin => {
                for ns in 0..g.namespaces.len() {
                    g.secrets_of_ns(ns, Why::Admin, step);
                }
                for n in g.schedulable_nodes() {
                    step(Target::Vertex(g.index(Vertex::Node(n))), StepKind::Rbac, Why::Admin);
                }
                for a in 0..g.accounts.len() {
                    step(Target::Vertex(g.index(Vertex::Account(a))), StepKind::Rbac, Why::Admin);
                }
                step(Target::EveryPod, StepKind::Rbac, Why::Admin);
            }
            Vertex::Secrets(_) | Vertex::Secret(_) => {}
        }
    }

    /// `secrets/NS` and every Secret of NS known by name.
    fn secrets_of_ns(&self, ns: usize, why: Why, step: &mut impl FnMut(Target, StepKind, Why)) {
        step(Target::Vertex(self.index(Vertex::Secrets(ns))), StepKind::Rbac, why);
        for &s in &self.secrets_in_ns[ns] {
            step(Target::Vertex(self.index(Vertex::Secret(s))), StepKind::Rbac, why);
        }
    }
}

impl AttackGraph<'_> {
    /// Shortest paths from `sources` (vertex indices) up to `max_hops` steps. With
    /// `sources_reached` false the sources start unreached (a blast-radius search counts a
    /// source it comes back to, and the caller subtracts it).
    pub fn search(&self, sources: &[usize], max_hops: u32, sources_reached: bool, node_hops: bool) -> AttackReach {
        self.search_seeded(sources, None, max_hops, sources_reached, node_hops)
    }

    /// A search from outside (`sources`, external ranges) whose first hops are the graph's entry
    /// hops ([`AttackGraph::entered`]); like [`AttackGraph::search`] without them.
    pub fn search_entered(&self, sources: &[usize], max_hops: u32, node_hops: bool) -> AttackReach {
        let seeds = self.entries.as_ref().map(|e| e.seeds());
        self.search_seeded(sources, seeds.as_deref(), max_hops, true, node_hops)
    }

    fn search_seeded(
        &self,
        sources: &[usize],
        seeds: Option<&[netreach_model::EntrySeed]>,
        max_hops: u32,
        sources_reached: bool,
        node_hops: bool,
    ) -> AttackReach {
        let n = self.len();
        let reach = &self.analysis.reach;
        let mut s = Search {
            g: self,
            distance: vec![u32::MAX; n],
            non_network: vec![0; n],
            parent: vec![None; n],
            remaining: (0..reach.class_count()).map(|c| reach.class_members(c).len() as u32).collect(),
            stepped: vec![false; reach.class_count()],
            node_done: vec![false; self.nodes.len()],
            ns_done: vec![false; self.namespaces.len()],
            all_done: false,
            next: Vec::new(),
            level: 0,
            node_hops,
            entered: seeds.is_some(),
        };
        let last_entry = seeds.map_or(0, |seeds| seeds.iter().map(|s| s.level).max().unwrap_or(0));
        let mut frontier: Vec<usize> = Vec::new();
        for &v in sources {
            if sources_reached {
                s.reach(v, v, StepKind::Network, Why::Allowed, 0);
                s.parent[v] = None;
            }
            if !frontier.contains(&v) {
                frontier.push(v);
            }
        }
        s.next.clear();
        for level in 1..=max_hops.min(netreach_model::MAX_HOPS) {
            if frontier.is_empty() && level > last_entry {
                break;
            }
            s.level = level;
            // Entry hops first: no step of the level beats the entry point that delivers.
            for seed in seeds.unwrap_or_default().iter().filter(|seed| seed.level == level) {
                s.reach(seed.endpoint, seed.from, StepKind::Network, Why::Entry, 0);
            }
            // Steps ending with fewer non-network steps first: the first to reach a vertex wins.
            let costs: std::collections::BTreeSet<u32> =
                frontier.iter().flat_map(|&v| [s.non_network[v], s.non_network[v] + 1]).collect();
            for cost in costs {
                for &v in &frontier {
                    if s.non_network[v] == cost && v < reach.endpoint_count() {
                        s.network(v);
                    }
                }
                for &v in &frontier {
                    if s.non_network[v] + 1 == cost {
                        s.identity_steps(v, cost);
                    }
                }
            }
            frontier = std::mem::take(&mut s.next);
        }
        AttackReach { distance: s.distance, non_network: s.non_network, parent: s.parent }
    }
}
