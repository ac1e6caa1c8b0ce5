//! Lateral movement queries: the paths from a compromised set to the targets (`netreach paths`)
//! and the blast radius of each source, the one count behind both `paths` and the `maxReach`
//! invariant. `render::paths` words the answer.

use crate::analysis::Analysis;
use crate::exposure::{EntryHop, EntryHops, ExposureOptions};
use netreach_model::{parallel, Endpoint, HopKind, LateralReach, PortSet, MAX_HOPS};
use std::collections::HashMap;

/// One hop of a path, with what it may use: what policy allows between the two ends, or every
/// port for a node-local hop.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hop {
    pub src: usize,
    pub dst: usize,
    pub kind: HopKind,
    pub ports: PortSet,
    /// For an entry hop: the entry point and the source the receiver sees.
    pub entry: Option<EntryHop>,
}

impl Hop {
    /// The port a hop is shown with: the lowest allowed one of the first protocol.
    pub fn port(&self) -> Option<(&'static str, u16)> {
        self.ports.iter().next().map(|(p, ranges)| (p.as_str(), ranges[0].0))
    }
}

/// How many pods one source reaches within 1, 2, … hops, cumulative.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlastRadius {
    pub source: usize,
    pub reached: Vec<u64>,
}

impl BlastRadius {
    /// Pods reached within the most hops asked.
    pub fn total(&self) -> u64 {
        self.reached.last().copied().unwrap_or(0)
    }
}

/// The blast radius of each source (endpoint indices), in the order given: the pods an attacker
/// holding that source alone reaches within 1..=`hops` hops. A search depends on
/// its source only through the destination classes of its row, so there is one class-level
/// search per distinct set of them, shared by every source whose row has it and spread over
/// threads; a source's count is that search's, less the source itself from the hop it is
/// reached. With node-local hops a hostNetwork source also reaches its node's pods at the first
/// hop: those get the engine's own search, one per (class, node), whose count holds for every
/// source of the group (each reaches the others and not itself).
pub fn blast_radius(analysis: &Analysis, sources: &[usize], hops: u32, node_hops: bool) -> Vec<BlastRadius> {
    let reach = &analysis.reach;
    let graph = ClassGraph::new(analysis, node_hops);
    let hops = hops.min(MAX_HOPS);
    let mut first_of: HashMap<(usize, Option<&str>), usize> = HashMap::new();
    let mut group_of: HashMap<usize, usize> = HashMap::new();
    let mut representatives: Vec<usize> = Vec::new();
    let mut by_shape: Vec<Vec<(usize, usize)>> = vec![Vec::new(); graph.shapes.len()];
    // Per source: `Ok(())` when a class-level search answers, or `Err(engine search)`.
    let plan: Vec<Result<(), usize>> = sources
        .iter()
        .enumerate()
        .map(|(i, &s)| {
            let host = analysis.pod(s).filter(|p| p.host_network);
            let class = reach.class_of(reach.endpoint(s));
            let first = *first_of.entry((class, host.and_then(|p| p.node.as_deref()))).or_insert(s);
            if node_hops && host.is_some() {
                return Err(*group_of.entry(first).or_insert_with(|| {
                    representatives.push(first);
                    representatives.len() - 1
                }));
            }
            by_shape[graph.shape_of(class)].push((i, s));
            Ok(())
        })
        .collect();
    let is_pod = |e: usize| e < reach.pod_count();
    let searched = parallel::map(&representatives, |&s| {
        reach.lateral(&analysis.cluster, &[s], hops, node_hops).radius(hops, is_pod)
    });
    let shapes: Vec<usize> = (0..by_shape.len()).filter(|&k| !by_shape[k].is_empty()).collect();
    let parts = parallel::map_ranges(shapes.len(), |range| {
        let mut search = Search::new(&graph);
        shapes[range]
            .iter()
            .flat_map(|&k| search.run(k, hops, by_shape[k].iter().copied()))
            .collect::<Vec<(usize, Vec<u64>)>>()
    });
    let mut reached: Vec<Vec<u64>> = vec![Vec::new(); sources.len()];
    for (i, r) in parts.into_iter().flatten() {
        reached[i] = r;
    }
    sources
        .iter()
        .zip(plan)
        .zip(reached)
        .map(|((&source, plan), own)| BlastRadius {
            source,
            reached: match plan {
                Ok(()) => own,
                Err(g) => searched[g].clone(),
            },
        })
        .collect()
}

/// The class-level graph the blast radius searches: per distinct row, the set of destination
/// classes with pods it reaches (its *shape*, a bitset), and what node-local hops need.
pub(crate) struct ClassGraph<'a> {
    analysis: &'a Analysis,
    /// Words per class bitset.
    pub(crate) words: usize,
    /// Per row id: its shape (`u32::MAX` for a row no class reads).
    shape_of_row: Vec<u32>,
    /// Shapes, `words` words each.
    pub(crate) shapes: Vec<Vec<u64>>,
    /// Pods per class.
    pub(crate) pods_in: Vec<u64>,
    /// With node-local hops: per class its hostNetwork pods, and per hostNetwork pod the index of
    /// the pods it reaches in `neighbours`.
    host_pods: Vec<Vec<u32>>,
    hop_list: HashMap<u32, usize>,
    neighbours: Vec<Vec<u32>>,
}

impl<'a> ClassGraph<'a> {
    pub(crate) fn new(analysis: &'a Analysis, node_hops: bool) -> ClassGraph<'a> {
        let reach = &analysis.reach;
        let (classes, pods) = (reach.class_count(), reach.pod_count());
        let words = classes.div_ceil(64);
        let pods_in: Vec<u64> = (0..classes)
            .map(|c| reach.class_members(c).iter().take_while(|&&e| (e as usize) < pods).count() as u64)
            .collect();
        let mut interned: HashMap<Vec<u64>, u32> = HashMap::new();
        let shape_of_row: Vec<u32> = crate::rows::representatives(reach)
            .into_iter()
            .map(|c| {
                if c == usize::MAX {
                    return u32::MAX;
                }
                let mut bits = vec![0u64; words];
                for (d, ports) in reach.class_row(c) {
                    if pods_in[d] > 0 && !ports.is_empty() {
                        bits[d / 64] |= 1 << (d % 64);
                    }
                }
                let next = interned.len() as u32;
                *interned.entry(bits).or_insert(next)
            })
            .collect();
        let mut shapes = vec![Vec::new(); interned.len()];
        for (bits, k) in interned {
            shapes[k as usize] = bits;
        }
        let mut graph = ClassGraph {
            analysis,
            words,
            shape_of_row,
            shapes,
            pods_in,
            host_pods: vec![Vec::new(); classes],
            hop_list: HashMap::new(),
            neighbours: Vec::new(),
        };
        if node_hops {
            graph.node_hops();
        }
        graph
    }

    /// Who each hostNetwork pod reaches by a node-local hop, as `Reachability::lateral` has it:
    /// the pods on its node, or every pod for a DaemonSet's pod placed on no node.
    fn node_hops(&mut self) {
        let (cluster, reach) = (&self.analysis.cluster, &self.analysis.reach);
        let mut list_of_node: HashMap<&str, usize> = HashMap::new();
        for (i, pod) in cluster.pods.iter().enumerate() {
            if let Some(node) = &pod.node {
                let list = *list_of_node.entry(node.as_str()).or_insert_with(|| {
                    self.neighbours.push(Vec::new());
                    self.neighbours.len() - 1
                });
                self.neighbours[list].push(reach.index_of(Endpoint::Pod(i as u32)) as u32);
            }
        }
        let mut every: Option<usize> = None;
        for (i, pod) in cluster.pods.iter().enumerate() {
            if !pod.host_network {
                continue;
            }
            let e = reach.index_of(Endpoint::Pod(i as u32));
            let on_every_node =
                pod.synthesized && pod.node.is_none() && pod.workload.as_ref().is_some_and(|w| w.kind == "DaemonSet");
            let list = if on_every_node {
                *every.get_or_insert_with(|| {
                    self.neighbours.push((0..reach.pod_count() as u32).collect());
                    self.neighbours.len() - 1
                })
            } else {
                match pod.node.as_deref().and_then(|n| list_of_node.get(n)) {
                    Some(&list) => list,
                    None => continue,
                }
            };
            self.host_pods[reach.class_of(reach.endpoint(e))].push(e as u32);
            self.hop_list.insert(e as u32, list);
        }
    }

    pub(crate) fn shape_of(&self, class: usize) -> usize {
        self.shape_of_row[self.analysis.reach.row_of(class)] as usize
    }
}

/// One thread's scratch for class-level searches.
struct Search<'g> {
    graph: &'g ClassGraph<'g>,
    /// Classes whose pods are all reached, and the hop that reached them.
    reached: Vec<u64>,
    level: Vec<u32>,
    next: Vec<u64>,
    stepped: Vec<bool>,
    touched: Vec<usize>,
    /// Pods reached one by one (node-local hops) before their class: hop, and count per class.
    alone: HashMap<u32, u32>,
    alone_in: HashMap<usize, u64>,
    lists_done: Vec<bool>,
}

impl<'g> Search<'g> {
    fn new(graph: &'g ClassGraph<'g>) -> Search<'g> {
        let classes = graph.pods_in.len();
        Search {
            graph,
            reached: vec![0; graph.words],
            level: vec![0; classes],
            next: vec![0; graph.words],
            stepped: vec![false; graph.shapes.len()],
            touched: Vec::new(),
            alone: HashMap::new(),
            alone_in: HashMap::new(),
            lists_done: vec![false; graph.neighbours.len()],
        }
    }

    fn is_reached(&self, class: usize) -> bool {
        self.reached[class / 64] & (1 << (class % 64)) != 0
    }

    /// Searches from a row of shape `first` (as `Reachability::lateral` from one source whose
    /// class reads it, that source aside), then gives each of `sources` (position, endpoint) its
    /// blast radius: the search's counts, less the source itself from the hop it is reached.
    fn run(
        &mut self,
        first: usize,
        hops: u32,
        sources: impl Iterator<Item = (usize, usize)>,
    ) -> Vec<(usize, Vec<u64>)> {
        let graph = self.graph;
        let reach = &graph.analysis.reach;
        let mut per_hop = vec![0u64; hops as usize];
        let (mut frontier, mut alone_frontier): (Vec<usize>, Vec<u32>) = (Vec::new(), Vec::new());
        for level in 1..=hops {
            // Every class with a pod reached at the previous hop steps along its row, once per shape.
            self.next.fill(0);
            let stepping = frontier
                .iter()
                .copied()
                .chain(alone_frontier.iter().map(|&e| reach.class_of(reach.endpoint(e as usize))));
            let shapes: Vec<usize> =
                if level == 1 { vec![first] } else { stepping.map(|c| graph.shape_of(c)).collect() };
            for k in shapes {
                if std::mem::replace(&mut self.stepped[k], true) {
                    continue;
                }
                self.touched.push(k);
                for (n, s) in self.next.iter_mut().zip(&graph.shapes[k]) {
                    *n |= s;
                }
            }
            let mut new_classes = Vec::new();
            for w in 0..graph.words {
                let mut new = self.next[w] & !self.reached[w];
                self.reached[w] |= new;
                while new != 0 {
                    let d = w * 64 + new.trailing_zeros() as usize;
                    new &= new - 1;
                    self.level[d] = level;
                    per_hop[level as usize - 1] += graph.pods_in[d] - self.alone_in.get(&d).copied().unwrap_or(0);
                    new_classes.push(d);
                }
            }
            // Node-local hops from the hostNetwork pods reached at the previous hop.
            let mut new_alone = Vec::new();
            if !graph.hop_list.is_empty() {
                let hopping: Vec<u32> = frontier
                    .iter()
                    .flat_map(|&c| graph.host_pods[c].iter().copied())
                    .filter(|p| !self.alone.contains_key(p))
                    .chain(alone_frontier.iter().copied().filter(|p| graph.hop_list.contains_key(p)))
                    .collect();
                for p in hopping {
                    let list = graph.hop_list[&p];
                    if std::mem::replace(&mut self.lists_done[list], true) {
                        continue;
                    }
                    for &m in &graph.neighbours[list] {
                        let c = reach.class_of(reach.endpoint(m as usize));
                        if self.is_reached(c) || self.alone.contains_key(&m) {
                            continue;
                        }
                        self.alone.insert(m, level);
                        *self.alone_in.entry(c).or_default() += 1;
                        per_hop[level as usize - 1] += 1;
                        new_alone.push(m);
                    }
                }
            }
            frontier = new_classes;
            alone_frontier = new_alone;
            if frontier.is_empty() && alone_frontier.is_empty() {
                break;
            }
        }
        for k in 1..per_hop.len() {
            per_hop[k] += per_hop[k - 1];
        }
        let out = sources
            .map(|(i, s)| {
                let mut own = per_hop.clone();
                if s < reach.pod_count() {
                    let c = reach.class_of(reach.endpoint(s));
                    let by_class = if self.is_reached(c) { self.level[c] } else { u32::MAX };
                    let at = self.alone.get(&(s as u32)).copied().unwrap_or(u32::MAX).min(by_class);
                    for n in own.iter_mut().skip(at.saturating_sub(1) as usize) {
                        *n -= 1;
                    }
                }
                (i, own)
            })
            .collect();
        self.reached.fill(0);
        for k in self.touched.drain(..) {
            self.stepped[k] = false;
        }
        self.alone.clear();
        self.alone_in.clear();
        self.lists_done.fill(false);
        out
    }
}

/// The hops from a source of `lateral` to `target`, in order; empty for sources and endpoints
/// not reached.
pub fn path(analysis: &Analysis, lateral: &LateralReach, target: usize) -> Vec<Hop> {
    path_entered(analysis, lateral, None, target)
}

/// [`path`] of a search that started at `entries`, whose entry hops name their entry point.
pub fn path_entered(
    analysis: &Analysis,
    lateral: &LateralReach,
    entries: Option<&EntryHops>,
    target: usize,
) -> Vec<Hop> {
    let reach = &analysis.reach;
    lateral
        .path(target)
        .into_iter()
        .map(|(src, dst, kind)| {
            let entry = (kind == HopKind::Entry).then(|| entries.and_then(|e| e.hop_to(dst)).cloned()).flatten();
            let ports = match (kind, &entry) {
                (HopKind::Policy, _) => reach.allowed(reach.endpoint(src), reach.endpoint(dst)),
                (HopKind::Entry, Some(hop)) => PortSet::single(hop.protocol, hop.port),
                (HopKind::NodeLocal | HopKind::Entry, _) => PortSet::all(),
            };
            Hop { src, dst, kind, ports, entry }
        })
        .collect()
}

/// The answer of `paths`: who the compromised set reaches among the targets, how, and the blast
/// radius of each source.
#[derive(Clone, Debug)]
pub struct PathsAnswer {
    pub sources: Vec<usize>,
    pub targets: Vec<usize>,
    pub max_hops: u32,
    pub node_hops: bool,
    /// The search from all the sources at once.
    pub lateral: LateralReach,
    /// The targets reached within 1..=`max_hops` hops, in the order of `targets`.
    pub reached: Vec<usize>,
    /// One per source, in the order of `sources`; with `entries`, one for them all.
    pub blast_radius: Vec<BlastRadius>,
    /// `--from internet`: the entry hops the search started from.
    pub entries: Option<EntryHops>,
}

impl PathsAnswer {
    /// The targets that are not themselves sources.
    pub fn target_count(&self) -> usize {
        self.targets.iter().filter(|&&t| self.lateral.distance[t] != 0).count()
    }

    /// The hops from the nearest source to a target.
    pub fn path(&self, analysis: &Analysis, target: usize) -> Vec<Hop> {
        path_entered(analysis, &self.lateral, self.entries.as_ref(), target)
    }

    /// How a blast-radius row's source is named: the internet as a whole when the search
    /// started at the entry points.
    pub fn source_name(&self, analysis: &Analysis, source: usize) -> String {
        match self.entries {
            Some(_) => INTERNET_THROUGH_ENTRY_POINTS.to_string(),
            None => analysis.id(source),
        }
    }
}

/// The blast-radius source of `paths --from internet`.
pub const INTERNET_THROUGH_ENTRY_POINTS: &str = "internet (through the entry points)";

/// Lateral movement from `sources` to `targets` (endpoint indices) within `max_hops` hops,
/// node-local hops included with `node_hops`.
pub fn paths(analysis: &Analysis, sources: &[usize], targets: &[usize], max_hops: u32, node_hops: bool) -> PathsAnswer {
    let lateral = analysis.reach.lateral(&analysis.cluster, sources, max_hops, node_hops);
    let radius = blast_radius(analysis, sources, max_hops, node_hops);
    PathsAnswer::new((sources, targets), (max_hops, node_hops), lateral, radius, None)
}

impl PathsAnswer {
    /// The answer of a search, with the targets it reached within its hops, in the order given.
    fn new(
        (sources, targets): (&[usize], &[usize]),
        (max_hops, node_hops): (u32, bool),
        lateral: LateralReach,
        blast_radius: Vec<BlastRadius>,
        entries: Option<EntryHops>,
    ) -> PathsAnswer {
        let reached =
            targets.iter().copied().filter(|&t| lateral.distance[t] >= 1 && lateral.distance[t] != u32::MAX).collect();
        PathsAnswer {
            sources: sources.to_vec(),
            targets: targets.to_vec(),
            max_hops,
            node_hops,
            reached,
            blast_radius,
            lateral,
            entries,
        }
    }
}

/// `paths --from internet`: lateral movement from outside (`sources`, the external ranges)
/// whose first hops are the entry points' ([`EntryHops`]), not every pod whose policy admits an
/// outside range. The blast radius is one row, the internet's, read from the same search.
/// `entry` holds the choices `exposure` takes (`--cluster-source`, `--ingress-controller`).
pub fn paths_from_internet(
    analysis: &Analysis,
    (sources, targets): (&[usize], &[usize]),
    max_hops: u32,
    node_hops: bool,
    entry: &ExposureOptions,
) -> PathsAnswer {
    paths_entered(analysis, (sources, targets), max_hops, node_hops, EntryHops::of(analysis, entry))
}

/// [`paths_from_internet`] from entry hops already found.
pub fn paths_entered(
    analysis: &Analysis,
    (sources, targets): (&[usize], &[usize]),
    max_hops: u32,
    node_hops: bool,
    entries: EntryHops,
) -> PathsAnswer {
    let seeds = entries.seeds();
    let lateral = analysis.reach.lateral_entered(&analysis.cluster, sources, Some(&seeds), max_hops, node_hops);
    let is_pod = |e: usize| e < analysis.reach.pod_count();
    let radius: Vec<BlastRadius> = sources
        .first()
        .map(|&source| BlastRadius { source, reached: lateral.radius(max_hops, is_pod) })
        .into_iter()
        .collect();
    PathsAnswer::new((sources, targets), (max_hops, node_hops), lateral, radius, Some(entries))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::load::{load, Input};
    use netreach_model::EngineOptions;
    use std::path::Path;

    /// The analysis of a folder of the repository's `fixtures/`, with the default options.
    pub(crate) fn fixture(folder: &str) -> Analysis {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let loaded = load(&[Input::Path(root.join("fixtures").join(folder))]).unwrap();
        Analysis::new(loaded.cluster, &EngineOptions::default())
    }

    /// fixtures/small/lateral: a → b → c → d over a default deny, and a hostNetwork agent on
    /// node-3 next to e (see tests/paths.rs for the hand-worked story).
    fn lateral_fixture() -> Analysis {
        fixture("small/lateral")
    }

    #[test]
    fn the_blast_radius_of_each_source_is_its_own_search() {
        let analysis = lateral_fixture();
        let reach = &analysis.reach;
        let sources: Vec<usize> = (0..reach.endpoint_count()).collect();
        for hops in [1, 3] {
            for r in blast_radius(&analysis, &sources, hops, true) {
                let alone = reach.lateral(&analysis.cluster, &[r.source], hops, true);
                assert_eq!(r.reached, alone.radius(hops, |e| e < reach.pod_count()), "{}", analysis.id(r.source));
            }
        }
        let a = analysis.find("lat/a").unwrap();
        assert_eq!(blast_radius(&analysis, &[a], 2, true)[0].reached, [2, 4]);
    }

    /// Generated clusters (dense, sparse, with controllers; hostNetwork pods on nodes) and
    /// fixtures: what the fast searches are compared with the plain ones on.
    pub(crate) fn test_clusters() -> Vec<(String, netreach_model::Cluster)> {
        let dir = tempfile::tempdir().unwrap();
        let mut clusters = Vec::new();
        for (seed, unisolated, ingress_only) in [(1, 600, 300), (2, 0, 0), (3, 300, 500)] {
            let params = crate::generate::GenerateParams {
                pods: 240,
                policies: 30,
                namespaces: 8,
                seed,
                unisolated_per_mille: unisolated,
                ingress_only_per_mille: ingress_only,
                controllers: seed == 2,
            };
            let path = dir.path().join(format!("{seed}.json"));
            crate::generate::write_cluster(&params, &mut std::fs::File::create(&path).unwrap()).unwrap();
            clusters.push((format!("generated {seed}"), load(&[Input::Path(path)]).unwrap().cluster));
        }
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        for folder in ["small/lateral", "small/host-network", "small/workloads", "shop", "weak", "audit-real/broad"] {
            let loaded = load(&[Input::Path(root.join("fixtures").join(folder))]).unwrap();
            clusters.push((folder.to_string(), loaded.cluster));
        }
        clusters
    }

    #[test]
    fn class_level_blast_radius_agrees_with_the_engine_search_of_each_source() {
        let analyses: Vec<(String, Analysis)> = test_clusters()
            .into_iter()
            .map(|(name, cluster)| (name, Analysis::new(cluster, &EngineOptions::default())))
            .collect();
        for (name, analysis) in &analyses {
            let reach = &analysis.reach;
            let sources: Vec<usize> = (0..reach.endpoint_count()).collect();
            for (hops, node_hops) in [(1, true), (2, false), (3, true), (4, false)] {
                for r in blast_radius(analysis, &sources, hops, node_hops) {
                    let alone = reach.lateral(&analysis.cluster, &[r.source], hops, node_hops);
                    let expected = alone.radius(hops, |e| e < reach.pod_count());
                    assert_eq!(r.reached, expected, "{name}: {} within {hops}", analysis.id(r.source));
                }
            }
        }
    }

    #[test]
    fn paths_lists_reached_targets_with_their_hops() {
        let analysis = lateral_fixture();
        let (a, d) = (analysis.find("lat/a").unwrap(), analysis.find("lat/d").unwrap());
        let answer = paths(&analysis, &[a], &[a, d], 3, true);
        assert_eq!((answer.reached.clone(), answer.target_count()), (vec![d], 1));
        let hops: Vec<String> = answer.path(&analysis, d).iter().map(|h| analysis.id(h.dst)).collect();
        assert_eq!(hops, ["lat/b", "lat/c", "lat/d"]);
        assert!(paths(&analysis, &[a], &[d], 2, true).reached.is_empty(), "d is 3 hops away");
    }
}
