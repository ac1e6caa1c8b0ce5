//! The blast radius of attack-path sources, searched on classes rather than pods: network
//! steps follow the engine's class rows (once per distinct row), identity steps go once per
//! distinct target (ServiceAccount, node, a node's or a namespace's pods), and pods are counted
//! per class unless an identity step reaches only some of a class's pods. Sources with the same
//! out-steps (row, usable token's ServiceAccount, escape node, hostNetwork node) share one search.

use super::graph::{AttackGraph, Vertex};
use super::search::Target;
use super::AttackRadius;
use crate::lateral::ClassGraph;
use netreach_model::{parallel, MAX_HOPS};
use std::collections::HashMap;

/// The blast radius of each source (endpoint indices), in the order given: what an attacker
/// holding that source alone reaches within 1..=`max_hops` steps. Equal to a vertex-level
/// [`AttackGraph::search`] from the source (the tests compare both on generated clusters).
pub fn blast_radius(graph: &AttackGraph, sources: &[usize], max_hops: u32, node_hops: bool) -> Vec<AttackRadius> {
    let reach = &graph.analysis.reach;
    let hops = max_hops.min(MAX_HOPS);
    let radius = RadiusGraph::new(graph, node_hops);
    let mut group_of: HashMap<(usize, Vec<Target>), usize> = HashMap::new();
    let mut groups: Vec<(usize, Vec<Target>)> = Vec::new();
    let mut members: Vec<Vec<usize>> = Vec::new();
    for (i, &s) in sources.iter().enumerate() {
        let shape = radius.classes.shape_of(reach.class_of(reach.endpoint(s)));
        let key = (shape, radius.own_steps(s));
        let g = *group_of.entry(key.clone()).or_insert_with(|| {
            groups.push(key);
            members.push(Vec::new());
            groups.len() - 1
        });
        members[g].push(i);
    }
    let parts = parallel::map_ranges(groups.len(), |range| {
        let mut state = State::new(&radius);
        range
            .flat_map(|g| {
                let (shape, steps) = &groups[g];
                state.run(*shape, steps, hops);
                let out: Vec<(usize, AttackRadius)> = members[g]
                    .iter()
                    .map(|&i| (i, state.counts.radius_of(sources[i], state.reached_at(sources[i]), hops)))
                    .collect();
                state.reset();
                out
            })
            .collect::<Vec<_>>()
    });
    let mut out: Vec<Option<AttackRadius>> = vec![None; sources.len()];
    for (i, r) in parts.into_iter().flatten() {
        out[i] = Some(r);
    }
    out.into_iter().map(|r| r.expect("every source is in a group")).collect()
}

/// A group of pods (a node's, a namespace's) split by class: classes it holds whole, and the
/// pods of the classes it holds in part.
#[derive(Default)]
struct PodGroup {
    whole: Vec<usize>,
    partial: Vec<(usize, Vec<u32>)>,
}

/// What the class-level search reads, built once per query.
struct RadiusGraph<'g, 'a> {
    g: &'g AttackGraph<'a>,
    classes: ClassGraph<'a>,
    node_hops: bool,
    /// Per class: the identity steps of its pods, deduplicated.
    class_steps: Vec<Vec<Target>>,
    /// Per vertex past the endpoints (nodes, accounts, Secrets, cluster-admin): its steps.
    vertex_steps: Vec<Vec<Target>>,
    node_pods: Vec<PodGroup>,
    namespace_pods: Vec<PodGroup>,
}

impl<'g, 'a> RadiusGraph<'g, 'a> {
    fn new(g: &'g AttackGraph<'a>, node_hops: bool) -> RadiusGraph<'g, 'a> {
        let reach = &g.analysis.reach;
        let classes = ClassGraph::new(g.analysis, false);
        let mut radius = RadiusGraph {
            g,
            classes,
            node_hops,
            class_steps: vec![Vec::new(); reach.class_count()],
            vertex_steps: Vec::new(),
            node_pods: Vec::new(),
            namespace_pods: Vec::new(),
        };
        for e in 0..reach.pod_count() {
            let steps = radius.own_steps(e);
            radius.class_steps[reach.class_of(reach.endpoint(e))].extend(steps);
        }
        for steps in &mut radius.class_steps {
            steps.sort_unstable();
            steps.dedup();
        }
        radius.vertex_steps = (reach.endpoint_count()..g.len()).map(|v| radius.steps_of(v)).collect();
        radius.node_pods = g.pods_on_node.iter().map(|pods| radius.split(pods)).collect();
        radius.namespace_pods = g.pods_in_ns.iter().map(|pods| radius.split(pods)).collect();
        radius
    }

    /// The identity steps of vertex `v`, deduplicated.
    fn steps_of(&self, v: usize) -> Vec<Target> {
        let mut steps = Vec::new();
        self.g.identity_steps(v, self.node_hops, &mut |t, _, _| steps.push(t));
        steps.sort_unstable();
        steps.dedup();
        steps
    }

    /// A source's own identity steps: none for an external range.
    fn own_steps(&self, e: usize) -> Vec<Target> {
        if e < self.g.analysis.reach.pod_count() {
            self.steps_of(e)
        } else {
            Vec::new()
        }
    }

    fn split(&self, pods: &[usize]) -> PodGroup {
        let reach = &self.g.analysis.reach;
        let mut by_class: HashMap<usize, Vec<u32>> = HashMap::new();
        for &e in pods {
            by_class.entry(reach.class_of(reach.endpoint(e))).or_default().push(e as u32);
        }
        let mut group = PodGroup::default();
        for (c, list) in by_class {
            if list.len() as u64 == self.classes.pods_in[c] {
                group.whole.push(c);
            } else {
                group.partial.push((c, list));
            }
        }
        group
    }
}

/// Per hop (summed into cumulative counts afterwards): pods, nodes, Secrets and ServiceAccounts reached; and the
/// hop cluster-admin is reached at.
struct Counts {
    per_kind: [Vec<u64>; 4],
    cluster_admin: Option<u32>,
}

impl Counts {
    /// A member's radius: the counts, cumulative, less the source itself from the hop it is
    /// reached again (`back`).
    fn radius_of(&self, source: usize, back: Option<u32>, hops: u32) -> AttackRadius {
        let [mut pods, mut nodes, mut secrets, mut identities] = self.per_kind.clone();
        for counts in [&mut pods, &mut nodes, &mut secrets, &mut identities] {
            for k in 1..counts.len() {
                counts[k] += counts[k - 1];
            }
        }
        if let Some(back) = back.filter(|&b| b >= 1 && b <= hops) {
            for n in pods.iter_mut().skip(back as usize - 1) {
                *n -= 1;
            }
        }
        AttackRadius { source, pods, nodes, secrets, identities, cluster_admin: self.cluster_admin }
    }
}

/// What was reached at the last hop: classes whole, pods alone, other vertices.
#[derive(Default)]
struct Frontier {
    classes: Vec<usize>,
    pods: Vec<u32>,
    vertices: Vec<usize>,
}

impl Frontier {
    fn is_empty(&self) -> bool {
        self.classes.is_empty() && self.pods.is_empty() && self.vertices.is_empty()
    }
}

/// One thread's scratch for class-level searches, reset between searches.
struct State<'r, 'g, 'a> {
    r: &'r RadiusGraph<'g, 'a>,
    /// Per class: the hop all its pods were reached at (`u32::MAX`: not reached whole).
    class_level: Vec<u32>,
    /// Pods reached by an identity step before their class: the hop, and how many per class.
    alone: HashMap<u32, u32>,
    alone_in: HashMap<usize, u64>,
    /// Per vertex past the endpoints: the hop it was reached at.
    vertex_level: Vec<u32>,
    shape_stepped: Vec<bool>,
    node_done: Vec<bool>,
    namespace_done: Vec<bool>,
    all_done: bool,
    touched_classes: Vec<usize>,
    touched_vertices: Vec<usize>,
    touched_shapes: Vec<usize>,
    counts: Counts,
    level: u32,
    next: Frontier,
}

impl<'r, 'g, 'a> State<'r, 'g, 'a> {
    fn new(r: &'r RadiusGraph<'g, 'a>) -> State<'r, 'g, 'a> {
        State {
            r,
            class_level: vec![u32::MAX; r.class_steps.len()],
            alone: HashMap::new(),
            alone_in: HashMap::new(),
            vertex_level: vec![u32::MAX; r.vertex_steps.len()],
            shape_stepped: vec![false; r.classes.shapes.len()],
            node_done: vec![false; r.node_pods.len()],
            namespace_done: vec![false; r.namespace_pods.len()],
            all_done: false,
            touched_classes: Vec::new(),
            touched_vertices: Vec::new(),
            touched_shapes: Vec::new(),
            counts: Counts { per_kind: Default::default(), cluster_admin: None },
            level: 0,
            next: Frontier::default(),
        }
    }

    /// Searches from a source whose row has shape `first_shape` and whose own steps are
    /// `first_steps`; the source itself starts unreached.
    fn run(&mut self, first_shape: usize, first_steps: &[Target], hops: u32) {
        let r = self.r;
        let reach = &r.g.analysis.reach;
        self.counts = Counts { per_kind: std::array::from_fn(|_| vec![0; hops as usize]), cluster_admin: None };
        let mut frontier = Frontier::default();
        for level in 1..=hops {
            self.level = level;
            let class_of_pod = |p: &u32| reach.class_of(reach.endpoint(*p as usize));
            let stepping: Vec<usize> = if level == 1 {
                vec![first_shape]
            } else {
                let classes = frontier.classes.iter().copied().filter(|&c| r.classes.pods_in[c] > 0);
                classes.chain(frontier.pods.iter().map(class_of_pod)).map(|c| r.classes.shape_of(c)).collect()
            };
            for k in stepping {
                if std::mem::replace(&mut self.shape_stepped[k], true) {
                    continue;
                }
                self.touched_shapes.push(k);
                for (w, &bits) in r.classes.shapes[k].iter().enumerate() {
                    let mut bits = bits;
                    while bits != 0 {
                        self.reach_class(w * 64 + bits.trailing_zeros() as usize);
                        bits &= bits - 1;
                    }
                }
            }
            if level == 1 {
                first_steps.iter().for_each(|&t| self.take(t));
            } else {
                for &c in &frontier.classes {
                    r.class_steps[c].iter().for_each(|&t| self.take(t));
                }
                for &p in &frontier.pods {
                    r.steps_of(p as usize).into_iter().for_each(|t| self.take(t));
                }
                for &v in &frontier.vertices {
                    r.vertex_steps[v].iter().for_each(|&t| self.take(t));
                }
            }
            frontier = std::mem::take(&mut self.next);
            if frontier.is_empty() {
                break;
            }
        }
    }

    /// The hop a source is reached again at, if it is.
    fn reached_at(&self, source: usize) -> Option<u32> {
        let reach = &self.r.g.analysis.reach;
        if source >= reach.pod_count() {
            return None;
        }
        let by_class = self.class_level[reach.class_of(reach.endpoint(source))];
        let alone = self.alone.get(&(source as u32)).copied().unwrap_or(u32::MAX);
        Some(by_class.min(alone)).filter(|&l| l != u32::MAX)
    }

    fn reach_class(&mut self, c: usize) {
        if self.class_level[c] != u32::MAX {
            return;
        }
        self.class_level[c] = self.level;
        self.touched_classes.push(c);
        let already = self.alone_in.get(&c).copied().unwrap_or(0);
        self.counts.per_kind[0][self.level as usize - 1] += self.r.classes.pods_in[c] - already;
        self.next.classes.push(c);
    }

    fn reach_pod(&mut self, e: u32) {
        let reach = &self.r.g.analysis.reach;
        let c = reach.class_of(reach.endpoint(e as usize));
        if self.class_level[c] != u32::MAX || self.alone.contains_key(&e) {
            return;
        }
        self.alone.insert(e, self.level);
        *self.alone_in.entry(c).or_default() += 1;
        self.counts.per_kind[0][self.level as usize - 1] += 1;
        self.next.pods.push(e);
    }

    fn reach_group(&mut self, group: &PodGroup) {
        group.whole.iter().for_each(|&c| self.reach_class(c));
        for (c, pods) in &group.partial {
            if self.class_level[*c] == u32::MAX {
                pods.iter().for_each(|&e| self.reach_pod(e));
            }
        }
    }

    /// Takes one identity step.
    fn take(&mut self, target: Target) {
        let r = self.r;
        match target {
            Target::Vertex(v) => {
                let i = v - r.g.analysis.reach.endpoint_count();
                if self.vertex_level[i] != u32::MAX {
                    return;
                }
                self.vertex_level[i] = self.level;
                self.touched_vertices.push(i);
                let at = self.level as usize - 1;
                match r.g.vertex(v) {
                    Vertex::Node(_) => self.counts.per_kind[1][at] += 1,
                    Vertex::Secrets(_) | Vertex::Secret(_) => self.counts.per_kind[2][at] += 1,
                    Vertex::Account(_) => self.counts.per_kind[3][at] += 1,
                    Vertex::ClusterAdmin => self.counts.cluster_admin = Some(self.level),
                    Vertex::Endpoint(_) => unreachable!("identity steps lead to endpoints through pod groups"),
                }
                self.next.vertices.push(i);
            }
            Target::NodePods(n) => {
                if !std::mem::replace(&mut self.node_done[n], true) {
                    self.reach_group(&r.node_pods[n]);
                }
            }
            Target::NamespacePods(ns) => {
                if !std::mem::replace(&mut self.namespace_done[ns], true) {
                    self.reach_group(&r.namespace_pods[ns]);
                }
            }
            Target::EveryPod => {
                if !std::mem::replace(&mut self.all_done, true) {
                    (0..r.class_steps.len()).filter(|&c| r.classes.pods_in[c] > 0).for_each(|c| self.reach_class(c));
                }
            }
        }
    }

    fn reset(&mut self) {
        for c in self.touched_classes.drain(..) {
            self.class_level[c] = u32::MAX;
        }
        for v in self.touched_vertices.drain(..) {
            self.vertex_level[v] = u32::MAX;
        }
        for k in self.touched_shapes.drain(..) {
            self.shape_stepped[k] = false;
        }
        self.alone.clear();
        self.alone_in.clear();
        self.node_done.fill(false);
        self.namespace_done.fill(false);
        self.all_done = false;
    }
}

/// The blast radius read from one vertex-level search (the internet's through its entry
/// points, searched once for all its ranges): reached vertices counted by kind and hop.
pub fn of_search(graph: &AttackGraph, search: &super::AttackReach, source: usize, max_hops: u32) -> AttackRadius {
    let hops = max_hops.min(MAX_HOPS) as usize;
    let pods = graph.analysis.reach.pod_count();
    let mut per_kind: [Vec<u64>; 4] = std::array::from_fn(|_| vec![0; hops]);
    let mut cluster_admin = None;
    for v in (0..graph.len()).filter(|&v| search.reached(v) && search.distance[v] as usize <= hops) {
        let at = search.distance[v] as usize - 1;
        let kind = match graph.vertex(v) {
            Vertex::Endpoint(e) if e < pods => 0,
            Vertex::Endpoint(_) => continue,
            Vertex::Node(_) => 1,
            Vertex::Secrets(_) | Vertex::Secret(_) => 2,
            Vertex::Account(_) => 3,
            Vertex::ClusterAdmin => {
                cluster_admin = Some(search.distance[v]);
                continue;
            }
        };
        per_kind[kind][at] += 1;
    }
    Counts { per_kind, cluster_admin }.radius_of(source, None, max_hops.min(MAX_HOPS))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::Analysis;
    use crate::lateral::tests::{fixture, test_clusters};
    use netreach_model::identity::{Binding, HostPathMount, PolicyRule, Role, Subject, POD_SECURITY_ENFORCE_LABEL};
    use netreach_model::{Cluster, EngineOptions, Labels};

    /// The plain answer: one vertex-level search from the source alone, counted by kind.
    fn plain(graph: &AttackGraph, source: usize, hops: u32, node_hops: bool) -> AttackRadius {
        let found = graph.search(&[source], hops, false, node_hops);
        let mut counts = Counts { per_kind: std::array::from_fn(|_| vec![0; hops as usize]), cluster_admin: None };
        for (v, &d) in found.distance.iter().enumerate() {
            if d == 0 || d > hops {
                continue;
            }
            let kind = match graph.vertex(v) {
                Vertex::Endpoint(e) if e < graph.analysis.reach.pod_count() => 0,
                Vertex::Node(_) => 1,
                Vertex::Secrets(_) | Vertex::Secret(_) => 2,
                Vertex::Account(_) => 3,
                Vertex::ClusterAdmin => {
                    counts.cluster_admin = Some(d);
                    continue;
                }
                Vertex::Endpoint(_) => continue,
            };
            counts.per_kind[kind][d as usize - 1] += 1;
        }
        let back = found.distance[source];
        counts.radius_of(source, (source < graph.analysis.reach.pod_count() && back != u32::MAX).then_some(back), hops)
    }

    fn rule(resources: &[&str], verbs: &[&str], names: &[&str]) -> PolicyRule {
        let strings = |list: &[&str]| list.iter().map(|s| s.to_string()).collect();
        PolicyRule {
            api_groups: vec![String::new()],
            resources: strings(resources),
            verbs: strings(verbs),
            resource_names: strings(names),
        }
    }

    fn bind(namespace: Option<&str>, role: &str, cluster_role: bool, subject: (&str, &str)) -> Binding {
        Binding {
            namespace: namespace.map(str::to_string),
            name: format!("{role}-{}-{}", subject.0, subject.1),
            cluster_role,
            role_name: role.to_string(),
            subjects: vec![Subject::ServiceAccount { namespace: subject.0.to_string(), name: subject.1.to_string() }],
        }
    }

    /// A cluster with escapes, ServiceAccounts, unmounted tokens, named Secrets, Pod Security
    /// in some namespaces and every kind of RBAC power, spread by position.
    fn with_identity(mut cluster: Cluster) -> Cluster {
        let namespaces: Vec<String> = cluster.namespaces.iter().map(|n| n.name.clone()).collect();
        for (i, pod) in cluster.pods.iter_mut().enumerate() {
            match i % 11 {
                0 => pod.privileged = true,
                3 => pod.automount_token = Some(false),
                5 | 6 => pod.service_account = "app".to_string(),
                7 => pod.posture.host_paths.push(HostPathMount { path: "/".to_string(), read_only: true }),
                _ => {}
            }
            if i % 13 == 0 {
                pod.posture.secret_names.push(format!("s{}", i % 3));
            }
        }
        let role = |namespace: Option<&str>, name: &str, rules: Vec<PolicyRule>| Role {
            namespace: namespace.map(str::to_string),
            name: name.to_string(),
            labels: Labels::new(),
            rules,
            aggregation: Vec::new(),
        };
        let identity = &mut cluster.identity;
        identity.roles.push(role(None, "exec", vec![rule(&["pods/exec"], &["create"], &[])]));
        identity.roles.push(role(None, "tokens", vec![rule(&["serviceaccounts/token"], &["create"], &[])]));
        identity.roles.push(role(None, "everything", vec![rule(&["*"], &["*"], &[])]));
        for (k, ns) in namespaces.iter().enumerate() {
            let ns = ns.as_str();
            let names: &[&str] = if k % 2 == 0 { &[] } else { &["s1"] };
            identity.roles.push(role(Some(ns), "reader", vec![rule(&["secrets"], &["get"], names)]));
            identity.bindings.push(bind(Some(ns), "reader", false, (ns, "default")));
            let (power, subject) = match k % 4 {
                0 => ("edit", "app"),
                1 => ("exec", "app"),
                2 => ("tokens", "default"),
                _ => continue,
            };
            identity.bindings.push(bind(Some(ns), power, true, (ns, subject)));
        }
        if let Some(ns) = namespaces.get(1).map(String::as_str) {
            identity.bindings.push(bind(None, "everything", true, (ns, "app")));
        }
        for (k, ns) in cluster.namespaces.iter_mut().enumerate() {
            if k % 3 == 1 {
                ns.labels.insert(POD_SECURITY_ENFORCE_LABEL.to_string(), "baseline".to_string());
            }
        }
        cluster
    }

    #[test]
    fn class_level_blast_radius_agrees_with_the_plain_search_of_each_source() {
        let mut analyses: Vec<(String, Analysis)> = test_clusters()
            .into_iter()
            .map(|(name, cluster)| (name, Analysis::new(with_identity(cluster), &EngineOptions::default())))
            .collect();
        for folder in [
            "attack/privileged",
            "attack/egress-denied",
            "attack/no-automount",
            "attack/create-pods",
            "attack/wildcard",
        ] {
            analyses.push((folder.to_string(), fixture(folder)));
        }
        let mut climbed = 0;
        for (name, analysis) in &analyses {
            let graph = AttackGraph::new(analysis, &[]);
            let sources: Vec<usize> = (0..analysis.reach.endpoint_count()).collect();
            for (hops, node_hops) in [(1, true), (2, false), (3, true), (5, true)] {
                for r in blast_radius(&graph, &sources, hops, node_hops) {
                    assert_eq!(
                        r,
                        plain(&graph, r.source, hops, node_hops),
                        "{name}: {} within {hops}",
                        analysis.id(r.source)
                    );
                    climbed += usize::from(r.cluster_admin.is_some() && r.nodes.last() > Some(&0));
                }
            }
        }
        assert!(climbed > 100, "the clusters exercise identity hops: {climbed} sources reach cluster-admin");
    }
}
