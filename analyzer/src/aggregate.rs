//! Grouping endpoints by pod, workload or namespace, and merging connections between groups:
//! what `--level` means for every output that aggregates (diff, graphs, tables).

use crate::analysis::Analysis;
use netreach_model::{Endpoint, PortSet};
use std::collections::HashMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum Level {
    /// Every pod on its own.
    Pod,
    /// Pods grouped by their top-most controller (`ns/Kind/name`); pods without one stay alone.
    Workload,
    /// Pods grouped by namespace.
    Namespace,
}

impl Level {
    /// The level as `--level` spells it.
    pub fn name(self) -> &'static str {
        match self {
            Level::Pod => "pod",
            Level::Workload => "workload",
            Level::Namespace => "namespace",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GroupKind {
    Pod,
    Workload,
    Namespace,
    External,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    /// `ns/name` (pod), `ns/Kind/name` (workload), `ns` (namespace), or the external id.
    pub id: String,
    pub kind: GroupKind,
    /// The namespace of pod, workload and namespace groups.
    pub namespace: Option<String>,
    /// Endpoint indices, ascending.
    pub members: Vec<usize>,
    pub host_network: bool,
}

/// A partition of the endpoints into groups at one level, sorted by id with externals last.
pub struct Grouping {
    pub level: Level,
    pub groups: Vec<Group>,
    group_of: Vec<u32>,
}

impl Grouping {
    pub fn new(analysis: &Analysis, level: Level) -> Grouping {
        let reach = &analysis.reach;
        let mut index: HashMap<(GroupKind, String), usize> = HashMap::new();
        let mut groups: Vec<Group> = Vec::new();
        let mut group_of = vec![0u32; reach.endpoint_count()];
        for (e, slot) in group_of.iter_mut().enumerate() {
            let (kind, id, namespace, host_network) = match reach.endpoint(e) {
                Endpoint::Pod(p) => {
                    let pod = &analysis.cluster.pods[p as usize];
                    let ns = Some(pod.namespace.clone());
                    match (level, &pod.workload) {
                        (Level::Namespace, _) => (GroupKind::Namespace, pod.namespace.clone(), ns, pod.host_network),
                        (Level::Workload, Some(w)) => (
                            GroupKind::Workload,
                            format!("{}/{}/{}", pod.namespace, w.kind, w.name),
                            ns,
                            pod.host_network,
                        ),
                        _ => (GroupKind::Pod, pod.id(), ns, pod.host_network),
                    }
                }
                Endpoint::External(x) => (GroupKind::External, reach.externals()[x as usize].id.clone(), None, false),
            };
            let g = *index.entry((kind, id.clone())).or_insert_with(|| {
                groups.push(Group { id, kind, namespace, members: Vec::new(), host_network: false });
                groups.len() - 1
            });
            groups[g].members.push(e);
            groups[g].host_network |= host_network;
            *slot = g as u32;
        }
        // Sort by (externals last, id) and renumber.
        let mut order: Vec<usize> = (0..groups.len()).collect();
        order.sort_by(|&a, &b| {
            let key = |g: &Group| (g.kind == GroupKind::External, g.id.clone());
            key(&groups[a]).cmp(&key(&groups[b]))
        });
        let mut renumber = vec![0u32; groups.len()];
        for (new, &old) in order.iter().enumerate() {
            renumber[old] = new as u32;
        }
        let mut slots: Vec<Option<Group>> = groups.into_iter().map(Some).collect();
        let groups = order.iter().map(|&old| slots[old].take().unwrap()).collect();
        for g in &mut group_of {
            *g = renumber[*g as usize];
        }
        Grouping { level, groups, group_of }
    }

    pub fn group_of(&self, endpoint: usize) -> usize {
        self.group_of[endpoint] as usize
    }
}

/// Connections between two groups, merged over their member pairs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupConnection {
    pub src: usize,
    pub dst: usize,
    /// Union of what is allowed over the member pairs.
    pub ports: PortSet,
    /// Member pairs with anything allowed, and member pairs in all (distinct endpoints, not
    /// both external): equal when every member reaches every member.
    pub connected_pairs: u64,
    pub possible_pairs: u64,
}

/// Every group pair with anything allowed, sorted by (src, dst). A group's connections to
/// itself (replica to replica, pods within a namespace) are included, with `src == dst`.
pub fn aggregate(analysis: &Analysis, grouping: &Grouping) -> Vec<GroupConnection> {
    aggregate_where(analysis, grouping, |_, _| true)
}

/// [`aggregate`] over the endpoint connections that `keep(src, dst)` accepts (filters such as
/// `--namespace`, `--from`, `--to`); `possible_pairs` still counts every member pair.
pub fn aggregate_where(
    analysis: &Analysis,
    grouping: &Grouping,
    keep: impl Fn(usize, usize) -> bool,
) -> Vec<GroupConnection> {
    let mut merged: HashMap<(u32, u32), (PortSet, u64)> = HashMap::new();
    let _ = analysis.reach.for_each_connection::<std::convert::Infallible>(|s, d, ports| {
        if !keep(s, d) {
            return Ok(());
        }
        let key = (grouping.group_of[s], grouping.group_of[d]);
        let entry = merged.entry(key).or_insert_with(|| (ports.clone(), 0));
        if entry.0 != *ports {
            entry.0.union_with(ports);
        }
        entry.1 += 1;
        Ok(())
    });
    let pod_count = analysis.reach.pod_count();
    let mut out: Vec<GroupConnection> = merged
        .into_iter()
        .map(|((s, d), (ports, connected))| {
            let (gs, gd) = (&grouping.groups[s as usize], &grouping.groups[d as usize]);
            let count =
                |g: &Group| (g.members.len() as u64, g.members.iter().filter(|&&e| e >= pod_count).count() as u64);
            let ((ns, es), (nd, ed)) = (count(gs), count(gd));
            let possible = netreach_model::ordered_pairs((ns, es), (nd, ed), s == d);
            GroupConnection {
                src: s as usize,
                dst: d as usize,
                ports,
                connected_pairs: connected,
                possible_pairs: possible,
            }
        })
        .collect();
    out.sort_by_key(|c| (c.src, c.dst));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use netreach_model::{Cluster, EngineOptions, Labels, Pod, WorkloadRef};

    fn replica(ns: &str, name: &str, workload: &str) -> Pod {
        let mut p = Pod::new(ns, name, Labels::new());
        p.workload = Some(WorkloadRef { kind: "Deployment".into(), name: workload.into() });
        p
    }

    #[test]
    fn workload_level_merges_replicas_and_counts_pairs() {
        let cluster = Cluster {
            pods: vec![
                replica("a", "api-1", "api"),
                replica("a", "api-2", "api"),
                replica("b", "db-1", "db"),
                Pod::new("b", "lone", Labels::new()),
            ],
            ..Default::default()
        };
        let analysis = Analysis::new(cluster, &EngineOptions::default());
        let grouping = Grouping::new(&analysis, Level::Workload);
        let ids: Vec<&str> = grouping.groups.iter().map(|g| g.id.as_str()).collect();
        assert_eq!(ids, ["a/Deployment/api", "b/Deployment/db", "b/lone", "external:0.0.0.0/0"]);
        let conns = aggregate(&analysis, &grouping);
        let api_api = conns.iter().find(|c| c.src == 0 && c.dst == 0).unwrap();
        assert_eq!((api_api.connected_pairs, api_api.possible_pairs), (2, 2));
        let api_db = conns.iter().find(|c| c.src == 0 && c.dst == 1).unwrap();
        assert_eq!((api_db.connected_pairs, api_db.possible_pairs), (2, 2));
        assert!(api_db.ports.is_all());
        assert!(!conns.iter().any(|c| c.src == 3 && c.dst == 3), "no external-to-external");
        let ns = Grouping::new(&analysis, Level::Namespace);
        let ids: Vec<&str> = ns.groups.iter().map(|g| g.id.as_str()).collect();
        assert_eq!(ids, ["a", "b", "external:0.0.0.0/0"]);
    }
}
