//! The first hops from the internet, read from `exposure`'s entry paths: what `paths --from
//! internet`, its blast radius and the audit's internet attack paths (NR301-NR303) start from.
//! A published Service, hostPort or hostNetwork pod is reached in one hop; an Ingress or
//! Gateway's controller pods in one and its backends in two (controller → backend), each hop
//! only where policy admits the source it sees. A pod whose policy admits outside ranges but
//! that nothing publishes is no first hop. [`entry_routes`] gives every such hop with all the
//! ports it admits (what invariants from `internet` read); [`EntryHops`] keeps the first per
//! receiver. Cost: one `exposure` run, then one lookup per (hop receiver, sender).

use super::{exposure, Exposure, ExposureOptions, Hop, Via, ViaKind};
use crate::analysis::Analysis;
use netreach_model::{EntrySeed, PortSet, Protocol};
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

/// One way in to one receiver: a hop of an entry path, with every port policy admits on it.
/// What invariants from `internet` read; [`EntryHops`] keeps one per receiver.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntryRoute {
    /// The first hop's fields: `protocol`/`port` the first port `from` is admitted on.
    pub hop: EntryHop,
    /// Every port of the hop that policy admits from one of its senders.
    pub ports: PortSet,
    /// Who outside can send along it (`None`: any address outside), as [`Hop::clients`].
    pub clients: Option<Vec<usize>>,
}

/// The endpoints traffic from outside reaches through entry points, each by its first hop
/// (the lowest level, then the first entry path in `exposure`'s order).
#[derive(Clone, Debug, Default)]
pub struct EntryHops {
    by_receiver: BTreeMap<usize, EntryHop>,
}

impl EntryHops {
    /// The entry hops of the analysis, with `options` (`exposure`'s defaults: externalTrafficPolicy
    /// Cluster seen as the node's address; controllers found by their labels).
    pub fn of(analysis: &Analysis, options: &ExposureOptions) -> EntryHops {
        EntryHops::from_exposures(analysis, &exposure(analysis, options).exposures)
    }

    /// The hops of the entry paths whose hops policy admits, up to the first that it does not.
    pub fn from_exposures(analysis: &Analysis, exposures: &[Exposure]) -> EntryHops {
        EntryHops::from_routes(&entry_routes(analysis, exposures))
    }

    /// The first hop per receiver of [`entry_routes`] (in their order).
    pub fn from_routes<'r>(routes: impl IntoIterator<Item = &'r EntryRoute>) -> EntryHops {
        let mut hops = EntryHops::default();
        for route in routes {
            hops.add(route.hop.clone());
        }
        hops
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

/// Every hop of the entry paths that policy admits (up to the first it does not), one route per
/// (path hop, receiver), in `exposure`'s order; then each hostNetwork pod on every port its
/// policy admits an outside range on (it listens on the node's addresses on whatever ports it
/// opens, declared or not, as audit NR007 counts it). Cost: one row lookup per (receiver,
/// sender) of each hop, and per (external class, hostNetwork pod class).
pub fn entry_routes(analysis: &Analysis, exposures: &[Exposure]) -> Vec<EntryRoute> {
    let reach = &analysis.reach;
    let mut routes = Vec::new();
    for e in exposures {
        match e.hops.as_slice() {
            // An Ingress or Gateway without controller pods in the analysis: assumed to pass.
            [] => {
                let Some(outside) = (reach.pod_count() < reach.endpoint_count()).then_some(reach.pod_count()) else {
                    continue;
                };
                let hop = EntryHop {
                    from: outside,
                    to: e.pod,
                    level: 1,
                    via: e.via.clone(),
                    protocol: e.protocol,
                    port: e.port,
                    source: "the controller's address (no controller pod in the input: assumed to pass the traffic)"
                        .into(),
                };
                routes.push(EntryRoute { hop, ports: PortSet::single(e.protocol, e.port), clients: None });
            }
            [only] => routes.extend(admitted(analysis, e, only, 1)),
            [controller, backend, ..] => {
                routes.extend(admitted(analysis, e, controller, 1));
                if controller.admitted() {
                    routes.extend(admitted(analysis, e, backend, 2));
                }
            }
        }
    }
    host_network_routes(analysis, &mut routes);
    routes
}

/// Per receiver of a hop: the hop's ports policy admits from its senders, the first sender
/// admitted and its first port; nothing when no client outside can send along it.
fn admitted(analysis: &Analysis, e: &Exposure, hop: &Hop, level: u32) -> Vec<EntryRoute> {
    if hop.clients.as_ref().is_some_and(Vec::is_empty) {
        return Vec::new();
    }
    let reach = &analysis.reach;
    let class = |x: usize| reach.class_of(reach.endpoint(x));
    let mut routes = Vec::new();
    for &to in &hop.reached {
        let (mut ports, mut first) = (PortSet::empty(), None);
        for &from in hop.admitted_from.iter().filter(|&&from| from != to) {
            let Some(allowed) = reach.class_allowed(class(from), class(to)) else { continue };
            for &(protocol, port) in hop.ports.iter().filter(|&&(protocol, port)| allowed.contains(protocol, port)) {
                ports.union_with(&PortSet::single(protocol, port));
                first.get_or_insert((from, protocol, port));
            }
        }
        let Some((from, protocol, port)) = first else { continue };
        let hop_of = EntryHop { from, to, level, via: e.via.clone(), protocol, port, source: hop.source.clone() };
        routes.push(EntryRoute { hop: hop_of, ports, clients: hop.clients.clone() });
    }
    routes
}

/// hostNetwork pods, each entered from outside on every port its policy admits an outside
/// range on, through the first range that admits anything (one lookup per external class and
/// hostNetwork pod class).
fn host_network_routes(analysis: &Analysis, routes: &mut Vec<EntryRoute>) {
    let reach = &analysis.reach;
    let externals: BTreeMap<usize, usize> =
        (reach.pod_count()..reach.endpoint_count()).rev().map(|e| (reach.class_of(reach.endpoint(e)), e)).collect();
    // Per destination class: the first outside range it admits with its first port, and every port admitted.
    type Admitted = Option<(usize, Protocol, u16, PortSet)>;
    let mut per_class: BTreeMap<usize, Admitted> = BTreeMap::new();
    for (i, pod) in analysis.cluster.pods.iter().enumerate().filter(|(_, p)| p.host_network) {
        let to = reach.index_of(netreach_model::Endpoint::Pod(i as u32));
        let dst = reach.class_of(reach.endpoint(to));
        let admitted = per_class.entry(dst).or_insert_with(|| {
            let mut found: Admitted = None;
            for (&src, &from) in &externals {
                let Some(ports) = reach.class_allowed(src, dst).filter(|p| !p.is_empty()) else { continue };
                match &mut found {
                    Some((.., all)) => all.union_with(ports),
                    None => {
                        let (protocol, ranges) = ports.iter().next().expect("not empty");
                        found = Some((from, protocol, ranges[0].0, ports.clone()));
                    }
                }
            }
            found
        });
        if let Some((from, protocol, port, ports)) = admitted.clone() {
            let hop = EntryHop {
                from,
                to,
                level: 1,
                via: Via { kind: ViaKind::HostNetwork, name: pod.id() },
                protocol,
                port,
                source: "the client's address (the pod listens on the node's addresses)".into(),
            };
            routes.push(EntryRoute { hop, ports, clients: None });
        }
    }
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
