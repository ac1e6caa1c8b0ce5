//! Lateral movement queries: the paths from a compromised set to the targets (`netreach paths`)
//! and the blast radius of each source, the one count behind both `paths` and the `maxReach`
//! invariant. `render::paths` words the answer.

use crate::analysis::Analysis;
use netreach_model::{parallel, HopKind, LateralReach, PortSet};
use std::collections::HashMap;

/// One hop of a path, with what it may use: what policy allows between the two ends, or every
/// port for a node-local hop.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hop {
    pub src: usize,
    pub dst: usize,
    pub kind: HopKind,
    pub ports: PortSet,
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
/// holding that source alone reaches within 1..=`hops` hops. Sources of one class (and, for
/// hostNetwork pods, one node) reach the same number of pods: one search per group, spread over
/// threads.
pub fn blast_radius(analysis: &Analysis, sources: &[usize], hops: u32, node_hops: bool) -> Vec<BlastRadius> {
    let reach = &analysis.reach;
    let mut group_of: HashMap<(usize, Option<&str>), usize> = HashMap::new();
    let mut representatives: Vec<usize> = Vec::new();
    let groups: Vec<usize> = sources
        .iter()
        .map(|&s| {
            let node = analysis.pod(s).filter(|p| p.host_network).and_then(|p| p.node.as_deref());
            *group_of.entry((reach.class_of(reach.endpoint(s)), node)).or_insert_with(|| {
                representatives.push(s);
                representatives.len() - 1
            })
        })
        .collect();
    let is_pod = |e: usize| e < reach.pod_count();
    let reached_of = parallel::map(&representatives, |&s| {
        reach.lateral(&analysis.cluster, &[s], hops, node_hops).radius(hops, is_pod)
    });
    sources.iter().zip(groups).map(|(&source, g)| BlastRadius { source, reached: reached_of[g].clone() }).collect()
}

/// The hops from a source of `lateral` to `target`, in order; empty for sources and endpoints
/// not reached.
pub fn path(analysis: &Analysis, lateral: &LateralReach, target: usize) -> Vec<Hop> {
    let reach = &analysis.reach;
    lateral
        .path(target)
        .into_iter()
        .map(|(src, dst, kind)| Hop {
            src,
            dst,
            kind,
            ports: match kind {
                HopKind::Policy => reach.allowed(reach.endpoint(src), reach.endpoint(dst)),
                HopKind::NodeLocal => PortSet::all(),
            },
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
    /// One per source, in the order of `sources`.
    pub blast_radius: Vec<BlastRadius>,
}

impl PathsAnswer {
    /// The targets that are not themselves sources.
    pub fn target_count(&self) -> usize {
        self.targets.iter().filter(|&&t| self.lateral.distance[t] != 0).count()
    }

    /// The hops from the nearest source to a target.
    pub fn path(&self, analysis: &Analysis, target: usize) -> Vec<Hop> {
        path(analysis, &self.lateral, target)
    }
}

/// Lateral movement from `sources` to `targets` (endpoint indices) within `max_hops` hops,
/// node-local hops included with `node_hops`.
pub fn paths(analysis: &Analysis, sources: &[usize], targets: &[usize], max_hops: u32, node_hops: bool) -> PathsAnswer {
    let lateral = analysis.reach.lateral(&analysis.cluster, sources, max_hops, node_hops);
    let reached =
        targets.iter().copied().filter(|&t| lateral.distance[t] >= 1 && lateral.distance[t] != u32::MAX).collect();
    PathsAnswer {
        sources: sources.to_vec(),
        targets: targets.to_vec(),
        max_hops,
        node_hops,
        reached,
        blast_radius: blast_radius(analysis, sources, max_hops, node_hops),
        lateral,
    }
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
