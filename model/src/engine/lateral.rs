//! Lateral movement: breadth-first search from a compromised set, over the class-level graph
//! (one step per class row, not per pod pair), plus node-local hops.

use super::{Endpoint, Reachability};
use crate::cluster::Cluster;
use crate::engine::HashMap;

/// How a hop was made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HopKind {
    /// Allowed by the policies.
    Policy,
    /// From a hostNetwork pod to a pod on its node: node-to-pod traffic, which most
    /// implementations allow whatever the policies say.
    NodeLocal,
    /// From outside the cluster through an entry point (a published Service, an Ingress or
    /// Gateway controller, a hostPort, a hostNetwork pod): the caller names it.
    Entry,
}

/// An endpoint that traffic from outside reaches through an entry point: `level` hops from the
/// sources, the last hop from `from` (an external range, or a controller pod reached before).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EntrySeed {
    /// The endpoint reached.
    pub endpoint: usize,
    /// The sender of the entry hop.
    pub from: usize,
    /// Hops from the sources: 1 from outside, 2 behind a controller.
    pub level: u32,
}

/// Where a reached endpoint was reached from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Parent {
    /// The endpoint the hop came from.
    pub endpoint: usize,
    /// How the hop was made.
    pub kind: HopKind,
}

/// The result of a lateral-movement search: distances and the path back to a source.
#[derive(Clone, Debug)]
pub struct LateralReach {
    /// Hops from the nearest source: 0 for sources, `u32::MAX` when not reached.
    pub distance: Vec<u32>,
    /// Per endpoint: the hop it was first reached by (`None` for sources and unreached endpoints).
    pub parent: Vec<Option<Parent>>,
}

impl LateralReach {
    /// The hops from a source to `target`, in order; empty for sources and unreached ones.
    pub fn path(&self, target: usize) -> Vec<(usize, usize, HopKind)> {
        let mut hops = Vec::new();
        let mut at = target;
        while let Some(p) = self.parent[at] {
            hops.push((p.endpoint, at, p.kind));
            at = p.endpoint;
        }
        hops.reverse();
        hops
    }

    /// How many endpoints (sources excluded) are within 1, 2, … `max_hops` hops, cumulative;
    /// `counted` says which endpoints count (e.g. pods only). At most [`MAX_HOPS`] entries:
    /// no path is longer than the endpoints it visits, and the length must not come from
    /// user input unchecked.
    pub fn radius(&self, max_hops: u32, counted: impl Fn(usize) -> bool) -> Vec<u64> {
        let max_hops = max_hops.min(MAX_HOPS);
        let mut per_hop = vec![0u64; max_hops as usize];
        for (e, &d) in self.distance.iter().enumerate() {
            if d >= 1 && d <= max_hops && counted(e) {
                per_hop[d as usize - 1] += 1;
            }
        }
        for k in 1..per_hop.len() {
            per_hop[k] += per_hop[k - 1];
        }
        per_hop
    }
}

/// The most hops a query may ask for (`paths --max-hops`, invariants' `maxReach.hops`).
pub const MAX_HOPS: u32 = 1000;

impl Reachability {
    /// Shortest hops from `sources` (endpoint indices) up to `max_hops`. External ranges can be
    /// sources and targets but never a stepping stone. With `node_hops`, a reached hostNetwork
    /// pod also reaches every pod on its node (a synthesized DaemonSet pod without a node: every pod).
    pub fn lateral(&self, cluster: &Cluster, sources: &[usize], max_hops: u32, node_hops: bool) -> LateralReach {
        self.lateral_entered(cluster, sources, None, max_hops, node_hops)
    }

    /// [`Reachability::lateral`] where, with `entries`, the sources (outside the cluster) take no
    /// policy step of their own: their first hops are the entries, each reached at its level by
    /// an [`HopKind::Entry`] hop before any other hop of that level, and the search goes on
    /// from them as usual.
    pub fn lateral_entered(
        &self,
        cluster: &Cluster,
        sources: &[usize],
        entries: Option<&[EntrySeed]>,
        max_hops: u32,
        node_hops: bool,
    ) -> LateralReach {
        let n = self.endpoint_count();
        let mut distance = vec![u32::MAX; n];
        let mut parent: Vec<Option<Parent>> = vec![None; n];
        let mut pods_on_node: HashMap<&str, Vec<usize>> = HashMap::default();
        let all_pods: Vec<usize> = if node_hops { (0..self.pod_count).collect() } else { Vec::new() };
        if node_hops {
            for (i, pod) in cluster.pods.iter().enumerate() {
                if let Some(node) = &pod.node {
                    pods_on_node.entry(node.as_str()).or_default().push(self.index_of(Endpoint::Pod(i as u32)));
                }
            }
        }
        // Unreached members per class: a fully reached class costs nothing to step into again.
        let mut remaining: Vec<u32> = self.classes.members.iter().map(|m| m.len() as u32).collect();
        let mut frontier: Vec<usize> = Vec::new();
        for &s in sources {
            if distance[s] != 0 {
                distance[s] = 0;
                remaining[self.classes.class_of[s] as usize] -= 1;
                frontier.push(s);
            }
        }
        // A class steps once per level, from any of its members reached at the previous level.
        let mut class_rep: Vec<u32> = vec![u32::MAX; self.classes.len()];
        // A class that stepped once has reached everything its row reaches.
        let mut stepped = vec![false; self.classes.len()];
        let last_entry = entries.map_or(0, |seeds| seeds.iter().map(|s| s.level).max().unwrap_or(0));
        for level in 1..=max_hops {
            if frontier.is_empty() && level > last_entry {
                break;
            }
            let mut next = Vec::new();
            for seed in entries.unwrap_or_default().iter().filter(|s| s.level == level) {
                let m = seed.endpoint;
                if distance[m] == u32::MAX {
                    distance[m] = level;
                    remaining[self.classes.class_of[m] as usize] -= 1;
                    parent[m] = Some(Parent { endpoint: seed.from, kind: HopKind::Entry });
                    next.push(m);
                }
            }
            let mut stepping: Vec<usize> = Vec::new();
            for &e in &frontier {
                if e >= self.pod_count && (level > 1 || entries.is_some()) {
                    continue; // reached external ranges are not stepping stones
                }
                let c = self.classes.class_of[e] as usize;
                if stepped[c] {
                    continue;
                }
                if class_rep[c] == u32::MAX {
                    class_rep[c] = e as u32;
                    stepping.push(c);
                } else if class_rep[c] as usize >= self.pod_count && e < self.pod_count {
                    class_rep[c] = e as u32; // prefer a pod: it steps for the whole class
                }
            }
            for &c in &stepping {
                let from = class_rep[c] as usize;
                // An external source steps to pods only.
                let from_external = from >= self.pod_count;
                for &(d, _) in self.rows[self.row_of(c)].iter() {
                    if remaining[d as usize] == 0 {
                        continue;
                    }
                    for &m in &self.classes.members[d as usize] {
                        let m = m as usize;
                        if distance[m] == u32::MAX && !(from_external && m >= self.pod_count) {
                            distance[m] = level;
                            remaining[d as usize] -= 1;
                            parent[m] = Some(Parent { endpoint: from, kind: HopKind::Policy });
                            next.push(m);
                        }
                    }
                }
                class_rep[c] = u32::MAX;
                stepped[c] = !from_external;
            }
            if node_hops {
                for &e in &frontier {
                    let Endpoint::Pod(p) = self.endpoint(e) else { continue };
                    let pod = &cluster.pods[p as usize];
                    if !pod.host_network {
                        continue;
                    }
                    // A DaemonSet's template not placed on a node (no Nodes in the input) stands
                    // for a pod on every node: it shares a node with every pod. Otherwise only
                    // the pods on its own (known) node.
                    let on_every_node = pod.synthesized
                        && pod.node.is_none()
                        && pod.workload.as_ref().is_some_and(|w| w.kind == "DaemonSet");
                    let neighbours: &[usize] = if on_every_node {
                        &all_pods
                    } else {
                        pod.node.as_deref().and_then(|n| pods_on_node.get(n)).map_or(&[], Vec::as_slice)
                    };
                    for &m in neighbours {
                        if distance[m] == u32::MAX {
                            distance[m] = level;
                            remaining[self.classes.class_of[m] as usize] -= 1;
                            parent[m] = Some(Parent { endpoint: e, kind: HopKind::NodeLocal });
                            next.push(m);
                        }
                    }
                }
            }
            frontier = next;
        }
        LateralReach { distance, parent }
    }
}
