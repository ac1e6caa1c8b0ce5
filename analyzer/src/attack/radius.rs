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

/// A vertex's identity steps: single targets, and runs of consecutive vertices (by id).
struct VertexSteps {
    single: Vec<Target>,
    runs: Vec<u32>,
}

/// Splits sorted steps into single targets and runs of at least 32 consecutive vertices.
fn split_runs(steps: Vec<Target>) -> (Vec<Target>, Vec<std::ops::Range<usize>>) {
    // Tests make runs of small clusters' nodes.
    const SHORTEST_RUN: usize = if cfg!(test) { 2 } else { 32 };
    let (mut single, mut runs) = (Vec::new(), Vec::new());
    let mut i = 0;
    while i < steps.len() {
        let mut j = i + 1;
        if let Target::Vertex(first) = steps[i] {
            while j < steps.len() && steps[j] == Target::Vertex(first + (j - i)) {
                j += 1;
            }
            if j - i >= SHORTEST_RUN {
                runs.push(first..first + (j - i));
                i = j;
                continue;
            }
        }
        single.extend_from_slice(&steps[i..j]);
        i = j;
    }
    (single, runs)
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
    /// Per class: the identity steps of its pods, deduplicated, as an index into `step_sets`
    /// (classes of a namespace mostly share one: its ServiceAccount), so that a search takes
    /// each distinct set once.
    class_step_set: Vec<u32>,
    step_sets: Vec<Vec<Target>>,
    /// Per class: the shapes that reach it (`shape_words` words each), to find a hop's new
    /// classes from the unreached side when that side is the smaller.
    shapes_into: Vec<u64>,
    shape_words: usize,
    /// The classes some shape reaches.
    reachable: Vec<u64>,
    /// Per vertex past the endpoints (nodes, accounts, Secrets, cluster-admin): its steps.
    vertex_steps: Vec<VertexSteps>,
    /// Runs of consecutive vertices some vertex steps to (every schedulable node, for an
    /// account that may create privileged pods), interned so a search takes each once.
    runs: Vec<std::ops::Range<usize>>,
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
            class_step_set: Vec::new(),
            step_sets: Vec::new(),
            shapes_into: Vec::new(),
            shape_words: 0,
            reachable: Vec::new(),
            vertex_steps: Vec::new(),
            runs: Vec::new(),
            node_pods: Vec::new(),
            namespace_pods: Vec::new(),
        };
        let mut class_steps: Vec<Vec<Target>> = vec![Vec::new(); reach.class_count()];
        for e in 0..reach.pod_count() {
            class_steps[reach.class_of(reach.endpoint(e))].extend(radius.own_steps(e));
        }
        let mut interned: HashMap<Vec<Target>, u32> = HashMap::new();
        radius.class_step_set = class_steps
            .into_iter()
            .map(|mut steps| {
                steps.sort_unstable();
                steps.dedup();
                let next = radius.step_sets.len() as u32;
                *interned.entry(steps).or_insert_with_key(|steps| {
                    radius.step_sets.push(steps.clone());
                    next
                })
            })
            .collect();
        let shapes = &radius.classes.shapes;
        radius.shape_words = shapes.len().div_ceil(64);
        radius.shapes_into = vec![0; reach.class_count() * radius.shape_words];
        radius.reachable = vec![0; radius.classes.words];
        for (k, shape) in shapes.iter().enumerate() {
            for (w, &bits) in shape.iter().enumerate() {
                radius.reachable[w] |= bits;
                let mut bits = bits;
                while bits != 0 {
                    let d = w * 64 + bits.trailing_zeros() as usize;
                    bits &= bits - 1;
                    radius.shapes_into[d * radius.shape_words + k / 64] |= 1 << (k % 64);
                }
            }
        }
        let mut run_ids: HashMap<std::ops::Range<usize>, u32> = HashMap::new();
        radius.vertex_steps = (reach.endpoint_count()..g.len())
            .map(|v| {
                let (single, runs) = split_runs(radius.steps_of(v));
                let runs = runs
                    .into_iter()
                    .map(|run| {
                        let next = radius.runs.len() as u32;
                        *run_ids.entry(run).or_insert_with_key(|run| {
                            radius.runs.push(run.clone());
                            next
                        })
                    })
                    .collect();
                VertexSteps { single, runs }
            })
            .collect();
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
    /// The classes of `class_level` reached, as bits; and the classes one hop's shapes reach.
    reached_words: Vec<u64>,
    next_words: Vec<u64>,
    /// The shapes one hop steps along for the first time, as bits.
    stepping_shapes: Vec<u64>,
    /// Per step set: whether this search took it.
    step_set_taken: Vec<bool>,
    touched_step_sets: Vec<usize>,
    /// Per run of vertices: whether this search took it.
    run_taken: Vec<bool>,
    touched_runs: Vec<usize>,
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
            class_level: vec![u32::MAX; r.class_step_set.len()],
            reached_words: vec![0; r.classes.words],
            next_words: vec![0; r.classes.words],
            stepping_shapes: vec![0; r.shape_words],
            step_set_taken: vec![false; r.step_sets.len()],
            touched_step_sets: Vec::new(),
            run_taken: vec![false; r.runs.len()],
            touched_runs: Vec::new(),
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
            self.step_shapes(stepping);
            if level == 1 {
                first_steps.iter().for_each(|&t| self.take(t));
            } else {
                for &c in &frontier.classes {
                    let set = r.class_step_set[c] as usize;
                    if !std::mem::replace(&mut self.step_set_taken[set], true) {
                        self.touched_step_sets.push(set);
                        r.step_sets[set].iter().for_each(|&t| self.take(t));
                    }
                }
                for &p in &frontier.pods {
                    r.steps_of(p as usize).into_iter().for_each(|t| self.take(t));
                }
                for &v in &frontier.vertices {
                    let steps = &r.vertex_steps[v];
                    steps.single.iter().for_each(|&t| self.take(t));
                    for &run in &steps.runs {
                        if !std::mem::replace(&mut self.run_taken[run as usize], true) {
                            self.touched_runs.push(run as usize);
                            r.runs[run as usize].clone().for_each(|v| self.take(Target::Vertex(v)));
                        }
                    }
                }
            }
            frontier = std::mem::take(&mut self.next);
            if frontier.is_empty() {
                break;
            }
        }
    }

    /// Reaches the classes the shapes not stepped along yet reach (shapes already stepped reached
    /// theirs at an earlier hop). Either the shapes are ORed word by word (push), or each
    /// unreached class asks whether one of them reaches it (pull), whichever reads fewer words:
    /// a hop from a large frontier mostly finds classes already reached. Both reach the same
    /// classes in the same order.
    fn step_shapes(&mut self, stepping: Vec<usize>) {
        let r = self.r;
        self.stepping_shapes.fill(0);
        let mut fresh = 0;
        for k in stepping {
            if std::mem::replace(&mut self.shape_stepped[k], true) {
                continue;
            }
            self.touched_shapes.push(k);
            self.stepping_shapes[k / 64] |= 1 << (k % 64);
            fresh += 1;
        }
        if fresh == 0 {
            return;
        }
        let unreached: usize =
            r.reachable.iter().zip(&self.reached_words).map(|(a, b)| (a & !b).count_ones() as usize).sum();
        let push = fresh * r.classes.words <= unreached * r.shape_words;
        // Tests take both ways and compare them.
        if push || cfg!(test) {
            self.next_words.fill(0);
            for &k in self.touched_shapes.iter().rev().take(fresh) {
                self.next_words.iter_mut().zip(&r.classes.shapes[k]).for_each(|(n, s)| *n |= s);
            }
        }
        let pushed: Vec<u64> = if cfg!(test) {
            self.next_words.iter().zip(&self.reached_words).map(|(n, r)| n & !r).collect()
        } else {
            Vec::new()
        };
        if !push || cfg!(test) {
            for w in 0..r.reachable.len() {
                let mut candidates = r.reachable[w] & !self.reached_words[w];
                let mut found = 0;
                while candidates != 0 {
                    let d = w * 64 + candidates.trailing_zeros() as usize;
                    candidates &= candidates - 1;
                    let into = &r.shapes_into[d * r.shape_words..(d + 1) * r.shape_words];
                    if into.iter().zip(&self.stepping_shapes).any(|(a, b)| a & b != 0) {
                        found |= 1 << (d % 64);
                    }
                }
                self.next_words[w] = found;
            }
            assert!(!cfg!(test) || pushed == self.next_words, "push and pull reach the same classes");
        }
        for w in 0..self.next_words.len() {
            let mut new = self.next_words[w] & !self.reached_words[w];
            while new != 0 {
                self.reach_class(w * 64 + new.trailing_zeros() as usize);
                new &= new - 1;
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
        self.reached_words[c / 64] |= 1 << (c % 64);
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
                    (0..r.class_step_set.len()).filter(|&c| r.classes.pods_in[c] > 0).for_each(|c| self.reach_class(c));
                }
            }
        }
    }

    fn reset(&mut self) {
        for c in self.touched_classes.drain(..) {
            self.class_level[c] = u32::MAX;
            self.reached_words[c / 64] = 0;
        }
        for v in self.touched_vertices.drain(..) {
            self.vertex_level[v] = u32::MAX;
        }
        for k in self.touched_shapes.drain(..) {
            self.shape_stepped[k] = false;
        }
        for set in self.touched_step_sets.drain(..) {
            self.step_set_taken[set] = false;
        }
        for run in self.touched_runs.drain(..) {
            self.run_taken[run] = false;
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
