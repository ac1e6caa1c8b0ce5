//! The attack graph: endpoints (pods, external ranges), nodes, ServiceAccounts, Secrets (per
//! namespace and by name) and cluster-admin, numbered in that order, with what each vertex
//! steps to. Network steps are the engine's class rows; identity steps are per pod,
//! ServiceAccount, namespace or node, never per pod pair.

use crate::analysis::Analysis;
use crate::select::EndpointSelector;
use netreach_model::identity::escape::{escape, Escape};
use netreach_model::identity::rbac::{grants, Grant};
use netreach_model::identity::POD_SECURITY_ENFORCE_LABEL;
use netreach_model::{Destination, Endpoint, IpRanges, PortSet, Protocol};
use std::collections::{BTreeSet, HashMap};

/// One vertex of the attack graph.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Vertex {
    /// A pod or an external range (endpoint index).
    Endpoint(usize),
    /// A node (index into [`AttackGraph::nodes`]).
    Node(usize),
    /// A ServiceAccount (index into [`AttackGraph::accounts`]).
    Account(usize),
    /// Every Secret of a namespace (index into [`AttackGraph::namespaces`]).
    Secrets(usize),
    /// One Secret (index into [`AttackGraph::secrets`]).
    Secret(usize),
    /// Everything.
    ClusterAdmin,
}

/// Whether the kube-apiserver is known and how pods reach it.
enum Apiserver {
    /// Known addresses: the external classes holding them, and the ports it listens on.
    Known { classes: BTreeSet<usize>, ports: Option<PortSet> },
    /// Unknown: assumed outside the pods, on TCP 443 or 6443 of any external address.
    Assumed,
}

/// The graph one `paths` query searches.
pub struct AttackGraph<'a> {
    pub analysis: &'a Analysis,
    /// Node names: the input's Nodes, then `node of NS/POD` for each escaping pod on no
    /// known node, then `any node` when the input has no Node (a created pod may land anywhere).
    pub nodes: Vec<String>,
    /// (namespace, name) of every ServiceAccount: defined, used by a pod or bound.
    pub accounts: Vec<(String, String)>,
    /// Every namespace (for `secrets/NS`).
    pub namespaces: Vec<String>,
    /// (namespace index, name) of every Secret known by name (pods, resourceNames, the query).
    pub secrets: Vec<(usize, String)>,
    /// Per pod: the node it is on, if known (or its own `node of` vertex when it escapes).
    pub(super) node_of_pod: Vec<Option<usize>>,
    /// Per pod: how it escapes to its node.
    pub(super) escapes: Vec<Option<Escape>>,
    /// Per pod: its ServiceAccount.
    pub(super) account_of_pod: Vec<usize>,
    /// Per node: its pods (endpoint indices).
    pub(super) pods_on_node: Vec<Vec<usize>>,
    /// Pods of hostNetwork DaemonSets placed on no node: they share a node with every pod.
    pub(super) on_every_node: Vec<bool>,
    /// Per namespace: its pods, ServiceAccounts and named Secrets; and whether Pod Security
    /// enforces baseline or restricted there.
    pub(super) pods_in_ns: Vec<Vec<usize>>,
    pub(super) accounts_in_ns: Vec<Vec<usize>>,
    pub(super) secrets_in_ns: Vec<Vec<usize>>,
    pub(super) enforced: Vec<bool>,
    /// Per ServiceAccount: its RBAC grants.
    pub(super) grants: Vec<Vec<Grant>>,
    /// Per class row: whether it reaches the kube-apiserver.
    apiserver_by_row: Vec<bool>,
    /// What was assumed or left out, for people.
    pub notes: Vec<String>,
    /// `--from internet`: the entry hops searches from outside start with ([`AttackGraph::entered`]).
    pub entries: Option<crate::exposure::EntryHops>,
}

impl<'a> AttackGraph<'a> {
    /// Builds the graph; `extra_secrets` are `secret/NS/NAME` the query names.
    pub fn new(analysis: &'a Analysis, extra_secrets: &[(String, String)]) -> AttackGraph<'a> {
        let cluster = &analysis.cluster;
        let reach = &analysis.reach;
        let pods = &cluster.pods;
        let mut notes = Vec::new();

        let namespaces: Vec<String> = cluster.namespaces.iter().map(|n| n.name.clone()).collect();
        let ns_index: HashMap<&str, usize> = namespaces.iter().enumerate().map(|(i, n)| (n.as_str(), i)).collect();

        let mut account_set: BTreeSet<(String, String)> = cluster.identity.service_accounts.iter().cloned().collect();
        account_set.extend(pods.iter().map(|p| (p.namespace.clone(), p.service_account.clone())));
        for b in &cluster.identity.bindings {
            for s in &b.subjects {
                if let netreach_model::identity::Subject::ServiceAccount { namespace, name } = s {
                    account_set.insert((namespace.clone(), name.clone()));
                }
            }
        }
        // ServiceAccounts of namespaces the input does not define are kept, but own no Secrets vertex.
        let accounts: Vec<(String, String)> = account_set.into_iter().collect();
        let account_index: HashMap<&(String, String), usize> =
            accounts.iter().enumerate().map(|(i, a)| (a, i)).collect();
        let resolved = grants(&cluster.identity, &accounts);
        for u in &resolved.unresolved {
            notes.push(u.clone());
        }
        let grants_of: Vec<Vec<Grant>> =
            accounts.iter().map(|a| resolved.per_account.get(a).cloned().unwrap_or_default()).collect();

        let mut secret_set: BTreeSet<(usize, String)> = BTreeSet::new();
        for p in pods {
            if let Some(&ns) = ns_index.get(p.namespace.as_str()) {
                secret_set.extend(p.posture.secret_names.iter().map(|s| (ns, s.clone())));
            }
        }
        for list in &grants_of {
            for g in list {
                if let netreach_model::identity::rbac::Power::ReadSecrets { scope, names } = &g.power {
                    let in_scope: Vec<usize> = match scope {
                        Some(ns) => ns_index.get(ns.as_str()).copied().into_iter().collect(),
                        None => (0..namespaces.len()).collect(),
                    };
                    for ns in in_scope {
                        secret_set.extend(names.iter().map(|n| (ns, n.clone())));
                    }
                }
            }
        }
        for (ns, name) in extra_secrets {
            if let Some(&i) = ns_index.get(ns.as_str()) {
                secret_set.insert((i, name.clone()));
            }
        }
        let secrets: Vec<(usize, String)> = secret_set.into_iter().collect();

        let mut nodes: Vec<String> = cluster.nodes.iter().map(|n| n.name.clone()).collect();
        let mut node_index: HashMap<String, usize> = nodes.iter().enumerate().map(|(i, n)| (n.clone(), i)).collect();
        let escapes: Vec<Option<Escape>> = pods.iter().map(escape).collect();
        let mut node_of_pod: Vec<Option<usize>> = Vec::with_capacity(pods.len());
        for (p, pod) in pods.iter().enumerate() {
            let node = match &pod.node {
                // A pod on a node the input does not list still shares it with its neighbours.
                Some(n) => Some(*node_index.entry(n.clone()).or_insert_with(|| {
                    nodes.push(n.clone());
                    nodes.len() - 1
                })),
                None if escapes[p].is_some() => {
                    nodes.push(format!("node of {}", pod.id()));
                    Some(nodes.len() - 1)
                }
                None => None,
            };
            node_of_pod.push(node);
        }
        if cluster.nodes.is_empty() {
            nodes.push("any node".to_string());
        }
        let mut pods_on_node: Vec<Vec<usize>> = vec![Vec::new(); nodes.len()];
        for (p, node) in node_of_pod.iter().enumerate() {
            if let Some(n) = node {
                pods_on_node[*n].push(reach.index_of(Endpoint::Pod(p as u32)));
            }
        }
        let on_every_node: Vec<bool> = pods
            .iter()
            .map(|pod| {
                pod.host_network
                    && pod.synthesized
                    && pod.node.is_none()
                    && pod.workload.as_ref().is_some_and(|w| w.kind == "DaemonSet")
            })
            .collect();

        let mut pods_in_ns = vec![Vec::new(); namespaces.len()];
        for (p, pod) in pods.iter().enumerate() {
            if let Some(&ns) = ns_index.get(pod.namespace.as_str()) {
                pods_in_ns[ns].push(reach.index_of(Endpoint::Pod(p as u32)));
            }
        }
        let mut accounts_in_ns = vec![Vec::new(); namespaces.len()];
        for (a, (ns, _)) in accounts.iter().enumerate() {
            if let Some(&i) = ns_index.get(ns.as_str()) {
                accounts_in_ns[i].push(a);
            }
        }
        let mut secrets_in_ns = vec![Vec::new(); namespaces.len()];
        for (s, (ns, _)) in secrets.iter().enumerate() {
            secrets_in_ns[*ns].push(s);
        }
        // Pod Security admission: baseline and restricted both forbid privileged pods, host
        // namespaces, hostPath volumes and added capabilities beyond a fixed list.
        let enforced: Vec<bool> = cluster
            .namespaces
            .iter()
            .map(|n| {
                matches!(n.labels.get(POD_SECURITY_ENFORCE_LABEL).map(String::as_str), Some("baseline" | "restricted"))
            })
            .collect();
        let account_of_pod: Vec<usize> =
            pods.iter().map(|p| account_index[&(p.namespace.clone(), p.service_account.clone())]).collect();

        let apiserver = apiserver(analysis, &mut notes);
        let apiserver_by_row = crate::rows::representatives(reach)
            .into_iter()
            .map(|c| c != usize::MAX && class_reaches_apiserver(analysis, &apiserver, c))
            .collect();

        AttackGraph {
            analysis,
            nodes,
            accounts,
            namespaces,
            secrets,
            node_of_pod,
            escapes,
            account_of_pod,
            pods_on_node,
            on_every_node,
            pods_in_ns,
            accounts_in_ns,
            secrets_in_ns,
            enforced,
            grants: grants_of,
            apiserver_by_row,
            notes,
            entries: None,
        }
    }

    /// The graph for searches from outside: they start at the entry points' first hops, found
    /// with `options` (`exposure`'s choices).
    pub fn entered(mut self, options: &crate::exposure::ExposureOptions) -> Self {
        self.entries = Some(crate::exposure::EntryHops::of(self.analysis, options));
        self
    }

    /// Vertices in all: endpoints, nodes, accounts, namespaces' Secrets, Secrets, cluster-admin.
    pub fn len(&self) -> usize {
        self.analysis.reach.endpoint_count()
            + self.nodes.len()
            + self.accounts.len()
            + self.namespaces.len()
            + self.secrets.len()
            + 1
    }

    /// Never empty: cluster-admin is always a vertex.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The flat index of a vertex.
    pub fn index(&self, v: Vertex) -> usize {
        let e = self.analysis.reach.endpoint_count();
        let (n, a, ns) = (self.nodes.len(), self.accounts.len(), self.namespaces.len());
        match v {
            Vertex::Endpoint(i) => i,
            Vertex::Node(i) => e + i,
            Vertex::Account(i) => e + n + i,
            Vertex::Secrets(i) => e + n + a + i,
            Vertex::Secret(i) => e + n + a + ns + i,
            Vertex::ClusterAdmin => e + n + a + ns + self.secrets.len(),
        }
    }

    /// The vertex of a flat index.
    pub fn vertex(&self, mut i: usize) -> Vertex {
        let sizes = [
            self.analysis.reach.endpoint_count(),
            self.nodes.len(),
            self.accounts.len(),
            self.namespaces.len(),
            self.secrets.len(),
        ];
        for (k, size) in sizes.into_iter().enumerate() {
            if i < size {
                return match k {
                    0 => Vertex::Endpoint(i),
                    1 => Vertex::Node(i),
                    2 => Vertex::Account(i),
                    3 => Vertex::Secrets(i),
                    _ => Vertex::Secret(i),
                };
            }
            i -= size;
        }
        Vertex::ClusterAdmin
    }

    /// How outputs name a vertex: `ns/pod`, `node/NAME`, `sa/NS/NAME`, `secrets/NS`,
    /// `secret/NS/NAME`, `cluster-admin`.
    pub fn name(&self, v: Vertex) -> String {
        match v {
            Vertex::Endpoint(e) => self.analysis.id(e),
            Vertex::Node(n) => format!("node/{}", self.nodes[n]),
            Vertex::Account(a) => format!("sa/{}/{}", self.accounts[a].0, self.accounts[a].1),
            Vertex::Secrets(ns) => format!("secrets/{}", self.namespaces[ns]),
            Vertex::Secret(s) => format!("secret/{}/{}", self.namespaces[self.secrets[s].0], self.secrets[s].1),
            Vertex::ClusterAdmin => "cluster-admin".to_string(),
        }
    }

    /// A pod's ServiceAccount (index into `accounts`).
    pub fn account_of(&self, pod: usize) -> usize {
        self.account_of_pod[pod]
    }

    /// A ServiceAccount's RBAC grants.
    pub fn grants_of(&self, account: usize) -> &[Grant] {
        &self.grants[account]
    }

    /// How a pod escapes to its node, if it does.
    pub fn escape_of(&self, pod: usize) -> Option<&Escape> {
        self.escapes[pod].as_ref()
    }

    /// `node/NAME` of the node a pod is on (or would take), as outputs name it.
    pub fn node_name_of(&self, pod: usize) -> String {
        self.node_of_pod[pod].map_or_else(|| "its node".to_string(), |n| self.name(Vertex::Node(n)))
    }

    /// Whether a pod's token reaches the API server: mounted, and its class row reaches it.
    pub(super) fn token_usable(&self, pod: usize) -> bool {
        let reach = &self.analysis.reach;
        self.analysis.cluster.pods[pod].mounts_token()
            && self.apiserver_by_row[reach.row_of(reach.class_of(Endpoint::Pod(pod as u32)))]
    }

    /// The namespaces a grant's scope covers.
    pub(super) fn scope_namespaces(&self, scope: &Option<String>) -> Vec<usize> {
        match scope {
            Some(ns) => self.namespaces.iter().position(|n| n == ns).into_iter().collect(),
            None => (0..self.namespaces.len()).collect(),
        }
    }

    /// Real nodes a created pod may be scheduled on (`any node` without Nodes in the input).
    pub(super) fn schedulable_nodes(&self) -> std::ops::Range<usize> {
        if self.analysis.cluster.nodes.is_empty() {
            self.nodes.len() - 1..self.nodes.len()
        } else {
            0..self.analysis.cluster.nodes.len()
        }
    }
}

/// The kube-apiserver as the input and flags give it (issue 19's destination), or assumed.
fn apiserver(analysis: &Analysis, notes: &mut Vec<String>) -> Apiserver {
    let reach = &analysis.reach;
    let Some(known) = analysis.cluster.infrastructure.iter().find(|d| d.destination == Destination::KubeApiserver)
    else {
        notes.push("the kube-apiserver's address is unknown (no EndpointSlice default/kubernetes, no --apiserver): a token is taken as usable from pods that reach any address outside the pods on TCP 443 or 6443".to_string());
        return Apiserver::Assumed;
    };
    let blocks: Vec<IpRanges> = known.addresses.iter().map(IpRanges::from_net).collect();
    let mut classes = BTreeSet::new();
    for (i, range) in reach.externals().iter().enumerate() {
        if blocks.iter().any(|b| range.ranges.family == b.family && range.ranges.difference(b) != range.ranges) {
            classes.insert(reach.class_of(Endpoint::External(i as u32)));
        }
    }
    Apiserver::Known { classes, ports: known.ports.clone() }
}

fn class_reaches_apiserver(analysis: &Analysis, apiserver: &Apiserver, class: usize) -> bool {
    let reach = &analysis.reach;
    let pods = reach.pod_count();
    // Members are in endpoint order, externals after pods: the last one tells.
    let is_external = |d: usize| reach.class_members(d).last().is_some_and(|&m| m as usize >= pods);
    reach.class_row(class).any(|(d, ports)| match apiserver {
        Apiserver::Known { classes, ports: listening } => {
            classes.contains(&d) && listening.as_ref().is_none_or(|l| !ports.intersection(l).is_empty())
        }
        Apiserver::Assumed => {
            is_external(d) && (ports.contains(Protocol::Tcp, 443) || ports.contains(Protocol::Tcp, 6443))
        }
    })
}

/// Parses an attack target: `cluster-admin`, `nodes`, `node/NAME`, `secrets/NS`,
/// `secret/NS/NAME`; `None` for an endpoint selector.
pub fn parse_target(text: &str) -> Option<AttackTarget> {
    let t = text.trim();
    if t == "cluster-admin" {
        return Some(AttackTarget::ClusterAdmin);
    }
    if t == "nodes" {
        return Some(AttackTarget::Nodes);
    }
    if let Some(n) = t.strip_prefix("node/") {
        return Some(AttackTarget::Node(n.to_string()));
    }
    if let Some(ns) = t.strip_prefix("secrets/") {
        return Some(AttackTarget::Secrets(ns.to_string()));
    }
    if let Some((ns, name)) = t.strip_prefix("secret/").and_then(|r| r.split_once('/')) {
        return Some(AttackTarget::Secret(ns.to_string(), name.to_string()));
    }
    None
}

/// A target that is not an endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AttackTarget {
    ClusterAdmin,
    Nodes,
    Node(String),
    Secrets(String),
    Secret(String, String),
}

impl AttackGraph<'_> {
    /// The vertices a target names, or why it names none.
    pub fn resolve(&self, target: &AttackTarget) -> Result<Vec<usize>, String> {
        let ns = |name: &str| {
            self.namespaces
                .iter()
                .position(|n| n == name)
                .ok_or_else(|| format!("namespace {name:?} is not in the input"))
        };
        Ok(match target {
            AttackTarget::ClusterAdmin => vec![self.index(Vertex::ClusterAdmin)],
            AttackTarget::Nodes => (0..self.nodes.len()).map(|n| self.index(Vertex::Node(n))).collect(),
            AttackTarget::Node(name) => {
                let n = self.nodes.iter().position(|n| n == name).ok_or_else(|| {
                    let known: Vec<&str> = self.nodes.iter().map(String::as_str).take(5).collect();
                    format!(
                        "node {name:?} is not in the input (nodes: {})",
                        if known.is_empty() { "none".into() } else { known.join(", ") }
                    )
                })?;
                vec![self.index(Vertex::Node(n))]
            }
            AttackTarget::Secrets(name) => vec![self.index(Vertex::Secrets(ns(name)?))],
            AttackTarget::Secret(namespace, name) => {
                let i = ns(namespace)?;
                let s =
                    self.secrets.iter().position(|(n, s)| *n == i && s == name).expect("named secrets are vertices");
                vec![self.index(Vertex::Secret(s))]
            }
        })
    }
}

/// Endpoints a selector names: for `--from`, and for `--to` that is not an attack target.
pub fn resolve_endpoints(analysis: &Analysis, text: &str) -> Result<Vec<usize>, String> {
    let selector = EndpointSelector::parse(text).map_err(|e| e.to_string())?;
    selector.resolve(analysis).map_err(|e| e.to_string())
}
