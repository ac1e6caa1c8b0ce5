//! NR301-NR305: attack paths that climb from the network into identity and the nodes. One
//! attack-path search from outside, entering through the entry points as `paths --from
//! internet` does ([`EntryHops`]), gives the shortest internet →
//! cluster-admin, → node and → `secrets/NS` paths (NR301-NR303); the ServiceAccounts with
//! cluster-admin power that pods mount (NR304) and the escape-capable pods other namespaces
//! reach (NR305) read the graph and the engine's class rows. Like `paths`, these run only when
//! the input holds RBAC objects: without them every token would look powerless.

use super::checks::*;
use super::Context;
use crate::attack::{AttackGraph, Step, StepKind, Vertex};
use crate::exposure::EntryHops;
use crate::findings::{Check, Finding, ObjectRef};
use netreach_model::identity::rbac::Power;
use netreach_model::{Endpoint, MAX_HOPS};
use std::collections::{BTreeMap, BTreeSet};

impl Context<'_> {
    /// NR301-NR305.
    pub(super) fn attack_paths(&self, out: &mut Vec<Finding>) {
        if !self.a.cluster.identity.has_rbac() {
            return;
        }
        let mut graph = AttackGraph::new(self.a, &[]);
        // The internet starts where `paths --from internet` does: at the entry points.
        graph.entries = Some(EntryHops::from_exposures(self.a, &self.exposure_report().exposures));
        self.internet_paths(&graph, out);
        self.mounted_cluster_admin(&graph, out);
        self.escapes_reached_across_namespaces(&graph, out);
    }

    /// NR301 (cluster-admin), NR302 (the nearest node, with how many are reached) and NR303
    /// (one per namespace whose Secrets are reached): the shortest path from any external range.
    fn internet_paths(&self, graph: &AttackGraph, out: &mut Vec<Finding>) {
        let reach = &self.a.reach;
        let externals: Vec<usize> = (reach.pod_count()..reach.endpoint_count()).collect();
        if externals.is_empty() {
            return;
        }
        let search = graph.search_entered(&externals, MAX_HOPS, true);
        let path_finding = |check: Check, target: usize, namespace: Option<&str>, what: String| {
            let steps = graph.steps(&search, target);
            let entry = search.path(target).first().map(|&(_, to, _)| to).filter(|&e| e < reach.pod_count());
            let objects: Vec<ObjectRef> = entry.map(|e| self.workloads(std::iter::once(e))).unwrap_or_default();
            let (first, last) = (&steps[0], &steps[steps.len() - 1]);
            Finding::new(
                check,
                namespace,
                objects,
                format!(
                    "{what} from outside the cluster in {} step(s): first {}, last {}",
                    steps.len(),
                    describe(first),
                    describe(last)
                ),
                format!("cut the path at either end: {}; or {}", fix_first(first), fix_last(last)),
            )
        };
        let admin = graph.index(Vertex::ClusterAdmin);
        if search.reached(admin) {
            out.push(path_finding(INTERNET_TO_CLUSTER_ADMIN, admin, None, "cluster-admin is reachable".to_string()));
        }
        let nodes: Vec<usize> =
            (0..graph.nodes.len()).map(|n| graph.index(Vertex::Node(n))).filter(|&v| search.reached(v)).collect();
        if let Some(&nearest) = nodes.iter().min_by_key(|&&v| (search.distance[v], search.non_network[v], v)) {
            let what = format!("{} node(s) are reachable, {} nearest,", nodes.len(), graph.name(graph.vertex(nearest)));
            out.push(path_finding(INTERNET_TO_NODES, nearest, None, what));
        }
        for (ns, name) in graph.namespaces.iter().enumerate() {
            let secrets = graph.index(Vertex::Secrets(ns));
            if search.reached(secrets) {
                let what = format!("every Secret of namespace {name} (secrets/{name}) is readable");
                out.push(path_finding(INTERNET_TO_SECRETS, secrets, Some(name), what));
            }
        }
    }

    /// NR304: one finding per ServiceAccount with a cluster-admin-equivalent grant that some pod
    /// mounts, whether or not the pod reaches the API server today.
    fn mounted_cluster_admin(&self, graph: &AttackGraph, out: &mut Vec<Finding>) {
        let mut mounted: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for (p, pod) in self.pods().iter().enumerate() {
            let a = graph.account_of(p);
            if pod.mounts_token() && graph.grants_of(a).iter().any(|g| g.power == Power::ClusterAdmin) {
                mounted.entry(a).or_default().push(p);
            }
        }
        for (a, pods) in mounted {
            let (ns, name) = &graph.accounts[a];
            let grant = graph.grants_of(a).iter().find(|g| g.power == Power::ClusterAdmin).expect("kept above");
            let first = self.a.id(self.a.reach.index_of(Endpoint::Pod(pods[0] as u32)));
            out.push(Finding::new(
                MOUNTED_CLUSTER_ADMIN,
                Some(ns),
                self.workloads(pods.iter().copied()),
                format!(
                    "{} pod(s) mount the token of ServiceAccount {ns}/{name}, which is cluster-admin: first {first} -[token]-> sa/{ns}/{name}, last sa/{ns}/{name} -[rbac]-> cluster-admin ({})",
                    pods.len(),
                    grant.reason
                ),
                format!(
                    "set automountServiceAccountToken: false on these pods (or on ServiceAccount {ns}/{name}) unless they call the API server, and bind {ns}/{name} a role with only what it needs instead"
                ),
            ));
        }
    }

    /// NR305: per escaping workload, the pods of other namespaces that reach it over the network
    /// (read from the class rows: each source class once).
    fn escapes_reached_across_namespaces(&self, graph: &AttackGraph, out: &mut Vec<Finding>) {
        let reach = &self.a.reach;
        let escaping: Vec<usize> = (0..self.pods().len()).filter(|&p| graph.escape_of(p).is_some()).collect();
        if escaping.is_empty() {
            return;
        }
        let class_of_pod = |p: usize| self.classes.class_of(reach.index_of(Endpoint::Pod(p as u32)));
        let targets: BTreeSet<usize> = escaping.iter().map(|&p| class_of_pod(p)).collect();
        // Per escaping class: the namespaces of the pods reaching it, and one such pod per namespace.
        let mut reached_from: BTreeMap<usize, BTreeMap<u32, usize>> = BTreeMap::new();
        for src in self.classes.pod_classes() {
            let sources: BTreeMap<u32, usize> = self
                .classes
                .members(src)
                .iter()
                .map(|&e| e as usize)
                .filter(|&e| e < reach.pod_count())
                .map(|e| (self.pod_ns[e], e))
                .collect();
            for (dst, ports) in reach.class_row(src) {
                if !ports.is_empty() && targets.contains(&dst) {
                    let entry = reached_from.entry(dst).or_default();
                    for (&ns, &e) in &sources {
                        entry.entry(ns).or_insert(e);
                    }
                }
            }
        }
        let mut per_workload: BTreeMap<ObjectRef, Vec<usize>> = BTreeMap::new();
        for &p in &escaping {
            per_workload.entry(ObjectRef::workload_of(&self.pods()[p])).or_default().push(p);
        }
        for (workload, pods) in per_workload {
            let p = pods[0];
            let ns = self.pod_ns[p];
            let Some(from) = reached_from.get(&class_of_pod(p)) else { continue };
            let others: Vec<(u32, usize)> = from.iter().map(|(&n, &e)| (n, e)).filter(|&(n, _)| n != ns).collect();
            let Some(&(_, example)) = others.first() else { continue };
            let escape = graph.escape_of(p).expect("escaping pods only");
            let target = self.a.reach.index_of(Endpoint::Pod(p as u32));
            let node = graph.node_name_of(p);
            let namespace = &self.namespaces[ns as usize];
            let names: Vec<&str> = others.iter().take(3).map(|&(n, _)| self.namespaces[n as usize].as_str()).collect();
            out.push(Finding::new(
                ESCAPE_REACHED_ACROSS_NAMESPACES,
                Some(namespace),
                vec![workload],
                format!(
                    "{} can take its node ({}) and pods of {} other namespace(s) ({}{}) reach it: first {} -[network]-> {}, last {} -[escape]-> {node}",
                    self.a.id(target),
                    escape.reason(),
                    others.len(),
                    names.join(", "),
                    if others.len() > names.len() { ", …" } else { "" },
                    self.a.id(example),
                    self.a.id(target),
                    self.a.id(target),
                ),
                format!(
                    "drop what lets it escape ({}; Pod Security baseline forbids it), or let only namespace {namespace} reach it with an ingress policy",
                    escape.what
                ),
            ));
        }
    }
}

/// `FROM -[kind]-> TO (reason)`.
fn describe(step: &Step) -> String {
    format!("{} -[{}]-> {} ({})", step.from, step.kind.as_str(), step.to, step.reason)
}

/// How to close the internet end of a path.
fn fix_first(step: &Step) -> String {
    match step.kind {
        StepKind::Network => match &step.via {
            Some(via) => format!(
                "stop publishing {} through {} {}, or let its ingress policy admit none of the sources that entry point delivers",
                step.to,
                via.kind.as_str(),
                via.name
            ),
            None => {
                format!("let no external range reach {} (an ingress policy with pod or namespace peers only)", step.to)
            }
        },
        _ => format!("remove the step {} -> {}", step.from, step.to),
    }
}

/// How to close the far end of a path, by the kind of its last step.
fn fix_last(step: &Step) -> String {
    match step.kind {
        StepKind::Rbac => format!("take the grant from {}: {}", step.from, step.reason),
        StepKind::Token => {
            format!("set automountServiceAccountToken: false on {} or deny its egress to the kube-apiserver", step.from)
        }
        StepKind::Escape => format!("drop what lets {} take its node ({})", step.from, step.reason),
        StepKind::NodeLocal => format!("move {} off the node {} holds", step.to, step.from),
        StepKind::Network => format!("deny {} -> {} with an ingress policy", step.from, step.to),
    }
}
