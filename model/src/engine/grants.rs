//! Grants: what each policy rule (or the absence of isolation) allows, as class-level
//! rectangles `sources × destinations × ports`, each carrying the rule it came from.

use super::classes::Classes;
use super::selection::Selections;
use crate::cluster::{Cluster, Direction};
use crate::engine::HashMap;
use crate::networkpolicy::PortSpec;
use crate::ports::{PortSet, Protocol, MAX_PORT, MIN_PORT};
use fixedbitset::FixedBitSet;

/// Where a grant comes from: a rule, or a pod that no policy isolates in that direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum GrantOrigin {
    /// The destination (ingress) or source (egress) is not isolated: everything is allowed.
    NotIsolated,
    /// A policy rule allows it.
    Rule(RuleRef),
    /// A Cilium rule allows it (or, in [`GrantTable::denies`], denies it).
    Cilium(crate::cilium::CiliumRuleRef),
    /// Cilium's allow-localhost: the local host reaches the endpoints on its node.
    CiliumLocalhost,
}

/// A rule position: `policy` indexes `Cluster::policies`; `peer`/`port` are `None` when the
/// rule's `from`/`to` or `ports` list is empty (matching everything).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RuleRef {
    /// Index into `Cluster::policies`.
    pub policy: u32,
    /// The direction of the rule.
    pub direction: Direction,
    /// Index of the rule within its direction.
    pub rule: u32,
    /// Index of the matching peer, `None` when the rule has no peers.
    pub peer: Option<u32>,
    /// Index of the port entry, `None` when the rule has no ports.
    pub port: Option<u32>,
}

/// One rectangle of allowed traffic, at class level.
#[derive(Clone, Debug)]
pub struct Grant {
    /// The direction of the rule it comes from.
    pub direction: Direction,
    /// Index into [`GrantTable::class_sets`]: the source classes.
    pub sources: u32,
    /// Index into [`GrantTable::class_sets`]: the destination classes.
    pub destinations: u32,
    /// Index into [`GrantTable::port_sets`]: the ports.
    pub ports: u32,
    /// The rule (or the absence of isolation) it comes from.
    pub origin: GrantOrigin,
}

/// Every grant of the cluster, with the class and port sets they refer to.
pub struct GrantTable {
    /// Interned class bitsets that grants refer to.
    pub class_sets: Vec<FixedBitSet>,
    /// Interned port sets that grants refer to.
    pub port_sets: Vec<PortSet>,
    /// The grants, in policy order.
    pub grants: Vec<Grant>,
    /// Per policy: the classes it selects.
    pub subjects: Vec<FixedBitSet>,
    /// Per policy, direction (0 ingress, 1 egress), rule, peer: the class set (into
    /// `class_sets`) the peer matches.
    pub peers: Vec<[Vec<Vec<u32>>; 2]>,
    /// Classes isolated for [ingress, egress].
    pub isolated: [FixedBitSet; 2],
    /// Per policy: whether it affects [ingress, egress] (policyTypes after defaulting).
    pub affects: Vec<[bool; 2]>,
    /// Cilium deny rectangles: traffic they cover is denied whatever allows it.
    pub denies: Vec<Grant>,
    /// Per Cilium policy: the classes it selects.
    pub cilium_subjects: Vec<FixedBitSet>,
    /// Per Cilium policy: whether it puts its endpoints in default deny for [ingress, egress].
    pub cilium_isolates: Vec<[bool; 2]>,
    port_index: HashMap<PortSet, u32>,
}

impl GrantTable {
    /// The index of a port set in `port_sets`, adding it when new.
    pub fn intern_ports(&mut self, ports: PortSet) -> u32 {
        if let Some(&i) = self.port_index.get(&ports) {
            return i;
        }
        self.port_sets.push(ports.clone());
        self.port_index.insert(ports, self.port_sets.len() as u32 - 1);
        self.port_sets.len() as u32 - 1
    }
}

fn dir_index(d: Direction) -> usize {
    match d {
        Direction::Ingress => 0,
        Direction::Egress => 1,
    }
}

/// Equal values share one index.
pub(crate) struct Interner<T: std::hash::Hash + Eq + Clone> {
    items: Vec<T>,
    index: HashMap<T, u32>,
}

impl<T: std::hash::Hash + Eq + Clone> Interner<T> {
    fn new() -> Self {
        Interner { items: Vec::new(), index: HashMap::default() }
    }
    pub(crate) fn intern(&mut self, item: T) -> u32 {
        if let Some(&i) = self.index.get(&item) {
            return i;
        }
        let i = self.items.len() as u32;
        self.items.push(item.clone());
        self.index.insert(item, i);
        i
    }
}

/// The grants of every policy rule and of every pod no policy isolates, at class level.
pub fn build(cluster: &Cluster, sel: &Selections, classes: &Classes) -> GrantTable {
    let n = classes.len();
    let mut class_sets: Interner<FixedBitSet> = Interner::new();
    let mut port_sets: Interner<PortSet> = Interner::new();
    let mut grants = Vec::new();
    let endpoint_classes: Vec<FixedBitSet> = sel.table.sets.iter().map(|s| classes.class_set(s)).collect();
    let all = endpoint_classes[sel.all as usize].clone();
    let subjects: Vec<FixedBitSet> = sel.subjects.iter().map(|&s| endpoint_classes[s as usize].clone()).collect();
    let mut isolated = [FixedBitSet::with_capacity(n), FixedBitSet::with_capacity(n)];
    let all_ports = port_sets.intern(PortSet::all());

    for (p, policy) in cluster.policies.iter().enumerate() {
        let subject = &subjects[p];
        if subject.is_clear() {
            continue;
        }
        for direction in [Direction::Ingress, Direction::Egress] {
            if !policy.affects(direction) {
                continue;
            }
            let d = dir_index(direction);
            isolated[d].union_with(subject);
            for (r, rule) in policy.rules(direction).iter().enumerate() {
                let peer_sets: Vec<(Option<u32>, &FixedBitSet)> = if rule.peers.is_empty() {
                    vec![(None, &all)]
                } else {
                    sel.peers[p][d][r]
                        .iter()
                        .enumerate()
                        .map(|(i, &s)| (Some(i as u32), &endpoint_classes[s as usize]))
                        .collect()
                };
                // Port entries as (entry index, port set, restriction of the destination).
                let mut entries: Vec<(Option<u32>, PortSet, Option<&FixedBitSet>)> = Vec::new();
                if rule.ports.is_empty() {
                    entries.push((None, PortSet::all(), None));
                }
                for (k, entry) in rule.ports.iter().enumerate() {
                    match &entry.port {
                        None => entries.push((Some(k as u32), PortSet::all_of(entry.protocol), None)),
                        Some(PortSpec::Number(port)) => {
                            let end = entry.end_port.unwrap_or(*port);
                            entries.push((Some(k as u32), PortSet::range(entry.protocol, *port, end), None));
                        }
                        Some(PortSpec::Name(name)) => {
                            // A named port means, per destination, the port that destination
                            // declares under that name and protocol.
                            if let Some(by_port) = sel.named_ports.get(&(name.clone(), entry.protocol)) {
                                for (&port, &set) in by_port {
                                    entries.push((
                                        Some(k as u32),
                                        PortSet::single(entry.protocol, port),
                                        Some(&endpoint_classes[set as usize]),
                                    ));
                                }
                            }
                        }
                    }
                }
                for (peer, peer_set) in &peer_sets {
                    for (port, ports, dst_restriction) in &entries {
                        let (src, mut dst) = match direction {
                            Direction::Ingress => ((*peer_set).clone(), subject.clone()),
                            Direction::Egress => (subject.clone(), (*peer_set).clone()),
                        };
                        if let Some(restriction) = dst_restriction {
                            dst.intersect_with(restriction);
                        }
                        if src.is_clear() || dst.is_clear() || ports.is_empty() {
                            continue;
                        }
                        grants.push(Grant {
                            direction,
                            sources: class_sets.intern(src),
                            destinations: class_sets.intern(dst),
                            ports: port_sets.intern(ports.clone()),
                            origin: GrantOrigin::Rule(RuleRef {
                                policy: p as u32,
                                direction,
                                rule: r as u32,
                                peer: *peer,
                                port: *port,
                            }),
                        });
                    }
                }
            }
        }
    }
    let cilium_subjects = crate::cilium::grants::subjects(&sel.cilium, &endpoint_classes);
    let mut denies = Vec::new();
    crate::cilium::grants::build(
        cluster,
        &sel.cilium,
        &sel.named_ports,
        &endpoint_classes,
        &cilium_subjects,
        &all,
        crate::cilium::grants::Sink {
            class_sets: &mut class_sets,
            port_sets: &mut port_sets,
            grants: &mut grants,
            denies: &mut denies,
            isolated: &mut isolated,
        },
    );
    // Endpoints no policy isolates are open in that direction.
    let all_id = class_sets.intern(all.clone());
    for direction in [Direction::Ingress, Direction::Egress] {
        let mut open = all.clone();
        open.difference_with(&isolated[dir_index(direction)]);
        if open.is_clear() {
            continue;
        }
        let open_id = class_sets.intern(open);
        let (sources, destinations) = match direction {
            Direction::Ingress => (all_id, open_id),
            Direction::Egress => (open_id, all_id),
        };
        grants.push(Grant { direction, sources, destinations, ports: all_ports, origin: GrantOrigin::NotIsolated });
    }
    let peers = sel
        .peers
        .iter()
        .map(|dirs| {
            dirs.clone().map(|rules| {
                rules
                    .into_iter()
                    .map(|ids| {
                        ids.into_iter().map(|id| class_sets.intern(endpoint_classes[id as usize].clone())).collect()
                    })
                    .collect()
            })
        })
        .collect();
    let affects =
        cluster.policies.iter().map(|p| [p.affects(Direction::Ingress), p.affects(Direction::Egress)]).collect();
    GrantTable {
        class_sets: class_sets.items,
        port_sets: port_sets.items,
        grants,
        subjects,
        peers,
        isolated,
        affects,
        denies,
        cilium_subjects,
        cilium_isolates: cluster.cilium_policies.iter().map(|p| p.default_deny).collect(),
        port_index: port_sets.index,
    }
}

/// Port classes: maximal sets of (protocol, port) that every grant either fully contains or
/// misses, so the engine runs once per port class instead of once per port.
pub struct PortClasses {
    /// The port classes.
    pub sets: Vec<PortSet>,
    /// Per grant port set: the port classes it is made of.
    pub covering: Vec<Vec<u32>>,
}

impl PortClasses {
    /// The port classes of these port sets.
    pub fn build(port_sets: &[PortSet]) -> PortClasses {
        let mut signature_class: HashMap<Vec<u32>, u32> = HashMap::default();
        let mut sets: Vec<PortSet> = Vec::new();
        let mut covering: Vec<Vec<u32>> = vec![Vec::new(); port_sets.len()];
        for protocol in Protocol::ALL {
            let mut cuts: Vec<u32> = vec![MIN_PORT as u32];
            for set in port_sets {
                for &(lo, hi) in set.ranges(protocol) {
                    cuts.push(lo as u32);
                    cuts.push(hi as u32 + 1);
                }
            }
            cuts.sort_unstable();
            cuts.dedup();
            for (i, &lo) in cuts.iter().enumerate() {
                if lo > MAX_PORT as u32 {
                    break;
                }
                let hi = cuts.get(i + 1).map_or(MAX_PORT as u32, |next| next - 1).min(MAX_PORT as u32);
                let lo = lo as u16;
                let signature: Vec<u32> = port_sets
                    .iter()
                    .enumerate()
                    .filter(|(_, s)| s.contains(protocol, lo))
                    .map(|(i, _)| i as u32)
                    .collect();
                if signature.is_empty() {
                    continue; // no grant mentions these ports: nothing is allowed on them
                }
                let atom = PortSet::range(protocol, lo, hi as u16);
                let class = *signature_class.entry(signature.clone()).or_insert_with(|| {
                    sets.push(PortSet::empty());
                    for &s in &signature {
                        covering[s as usize].push(sets.len() as u32 - 1);
                    }
                    sets.len() as u32 - 1
                });
                sets[class as usize].union_with(&atom);
            }
        }
        PortClasses { sets, covering }
    }
}
