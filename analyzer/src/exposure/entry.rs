//! The first hops from the internet, read from `exposure`'s entry paths: what `paths --from
//! internet`, its blast radius and the audit's internet attack paths (NR301-NR303) start from.
//! A published Service, hostPort or hostNetwork pod is reached in one hop; an Ingress or
//! Gateway's controller pods in one and its backends in two (controller → backend), each hop
//! only where policy admits the source it sees. A pod whose policy admits outside ranges but
//! that nothing publishes is no first hop. Cost: one `exposure` run, then one lookup per hop.

use super::{exposure, Exposure, ExposureOptions, Hop, Via, ViaKind};
use crate::analysis::Analysis;
use netreach_model::{EntrySeed, Protocol};
use std::collections::BTreeMap;

/// One hop from outside (or from a controller pod) through an entry point.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntryHop {
    /// The sender: an external range the receiver admits, or a controller pod.
    pub from: usize,
    /// The receiver (endpoint index).
    pub to: usize,
    /// 1 from outside, 2 for an Ingress or Gateway backend behind its controller.
    pub level: u32,
    pub via: Via,
    /// The receiver's port.
    pub protocol: Protocol,
    pub port: u16,
    /// The source address the receiver sees, in words.
    pub source: String,
}

/// The endpoints traffic from outside reaches through entry points, each by its first hop
/// (the lowest level, then the first entry path in `exposure`'s order).
#[derive(Clone, Debug, Default)]
pub struct EntryHops {
    by_receiver: BTreeMap<usize, EntryHop>,
}

impl EntryHops {
    /// The entry hops of the analysis, with `exposure`'s default choices (externalTrafficPolicy
    /// Cluster seen as the node's address; controllers found by their labels).
    pub fn of(analysis: &Analysis) -> EntryHops {
        EntryHops::from_exposures(analysis, &exposure(analysis, &ExposureOptions::default()).exposures)
    }

    /// The hops of the entry paths whose hops policy admits, up to the first that it does not.
    pub fn from_exposures(analysis: &Analysis, exposures: &[Exposure]) -> EntryHops {
        let mut hops = EntryHops::default();
        let reach = &analysis.reach;
        for e in exposures {
            match e.hops.as_slice() {
                // An Ingress or Gateway without controller pods in the analysis: assumed to pass.
                [] => {
                    let Some(outside) = (reach.pod_count() < reach.endpoint_count()).then_some(reach.pod_count())
                    else {
                        continue;
                    };
                    hops.add(EntryHop {
                        from: outside,
                        to: e.pod,
                        level: 1,
                        via: e.via.clone(),
                        protocol: e.protocol,
                        port: e.port,
                        source:
                            "the controller's address (no controller pod in the input: assumed to pass the traffic)"
                                .into(),
                    });
                }
                [only] => {
                    for (from, to) in senders(analysis, only) {
                        hops.add(entry_hop(from, to, 1, e, only));
                    }
                }
                [controller, backend, ..] => {
                    for (from, to) in senders(analysis, controller) {
                        let &(protocol, port) = controller.ports.first().expect("a hop has ports");
                        hops.add(EntryHop { protocol, port, ..entry_hop(from, to, 1, e, controller) });
                    }
                    if controller.admitted() {
                        for (from, to) in senders(analysis, backend) {
                            hops.add(entry_hop(from, to, 2, e, backend));
                        }
                    }
                }
            }
        }
        hops.host_network_pods(analysis);
        hops
    }

    /// hostNetwork pods listen on the node's addresses on whatever ports they open, declared or
    /// not: one is entered from outside on the first port its policy admits an outside range
    /// on, as audit NR007 counts it. One row lookup per (external class, hostNetwork pod class).
    fn host_network_pods(&mut self, analysis: &Analysis) {
        let reach = &analysis.reach;
        let externals: BTreeMap<usize, usize> =
            (reach.pod_count()..reach.endpoint_count()).rev().map(|e| (reach.class_of(reach.endpoint(e)), e)).collect();
        // Per destination class: the first outside range it admits, and on which port.
        let mut per_class: BTreeMap<usize, Option<(usize, Protocol, u16)>> = BTreeMap::new();
        for (i, pod) in analysis.cluster.pods.iter().enumerate().filter(|(_, p)| p.host_network) {
            let to = reach.index_of(netreach_model::Endpoint::Pod(i as u32));
            if self.by_receiver.contains_key(&to) {
                continue;
            }
            let dst = reach.class_of(reach.endpoint(to));
            let admitted = *per_class.entry(dst).or_insert_with(|| {
                externals.iter().find_map(|(&src, &from)| {
                    let ports = reach.class_allowed(src, dst)?;
                    let (protocol, ranges) = ports.iter().next()?;
                    Some((from, protocol, ranges[0].0))
                })
            });
            if let Some((from, protocol, port)) = admitted {
                self.add(EntryHop {
                    from,
                    to,
                    level: 1,
                    via: Via { kind: ViaKind::HostNetwork, name: pod.id() },
                    protocol,
                    port,
                    source: "the client's address (the pod listens on the node's addresses)".into(),
                });
            }
        }
    }

    fn add(&mut self, hop: EntryHop) {
        let kept = self.by_receiver.entry(hop.to).or_insert_with(|| hop.clone());
        if hop.level < kept.level {
            *kept = hop;
        }
    }

    /// The hop that reaches `to`, if any.
    pub fn hop_to(&self, to: usize) -> Option<&EntryHop> {
        self.by_receiver.get(&to)
    }

    /// Every hop, by receiver.
    pub fn hops(&self) -> impl Iterator<Item = &EntryHop> {
        self.by_receiver.values()
    }

    pub fn is_empty(&self) -> bool {
        self.by_receiver.is_empty()
    }

    /// What the searches start from.
    pub fn seeds(&self) -> Vec<EntrySeed> {
        self.hops().map(|h| EntrySeed { endpoint: h.to, from: h.from, level: h.level }).collect()
    }
}

fn entry_hop(from: usize, to: usize, level: u32, e: &Exposure, hop: &Hop) -> EntryHop {
    EntryHop { from, to, level, via: e.via.clone(), protocol: e.protocol, port: e.port, source: hop.source.clone() }
}

/// Per receiver of a hop that policy admits: one sender it admits (its first), as (from, to).
/// One row lookup per (receiver, sender) until one admits; a hop has one receiver except a
/// controller hop, whose receivers are the controller pods.
fn senders(analysis: &Analysis, hop: &Hop) -> Vec<(usize, usize)> {
    let reach = &analysis.reach;
    let admits = |from: usize, to: usize| {
        let (src, dst) = (reach.class_of(reach.endpoint(from)), reach.class_of(reach.endpoint(to)));
        reach
            .class_allowed(src, dst)
            .is_some_and(|p| hop.ports.iter().any(|&(protocol, port)| p.contains(protocol, port)))
    };
    hop.reached
        .iter()
        .filter_map(|&to| {
            hop.admitted_from.iter().copied().find(|&from| from != to && admits(from, to)).map(|from| (from, to))
        })
        .collect()
}

/// The entry paths to any of `pods` (endpoint indices) on `port` (every port when `None`), in
/// `exposure`'s order: what `can internet X` lists beside the policy verdict.
pub fn entry_paths_to(exposures: &[Exposure], pods: &[usize], port: Option<(Protocol, u16)>) -> Vec<Exposure> {
    let pods: std::collections::BTreeSet<usize> = pods.iter().copied().collect();
    exposures
        .iter()
        .filter(|e| pods.contains(&e.pod) && port.is_none_or(|(protocol, n)| e.protocol == protocol && e.port == n))
        .cloned()
        .collect()
}
