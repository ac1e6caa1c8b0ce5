//! Cilium rules at class level: allow sections become grants (they isolate, per direction,
//! the endpoints of policies in default deny, and union with NetworkPolicy grants); deny
//! sections become deny rectangles that the engine subtracts from every row, so a deny beats
//! every allow of every layer.
//! Reference: https://docs.cilium.io/en/stable/security/policy/language/#deny-policies

use super::select::CiliumSelections;
use super::{CiliumPeer, CiliumRuleRef, Entity, Section};
use crate::cluster::{Cluster, Direction};
use crate::engine::grants::{Grant, GrantOrigin, Interner};
use crate::engine::selection::NamedPortKey;
use crate::engine::HashMap;
use crate::networkpolicy::PortSpec;
use crate::ports::PortSet;
use fixedbitset::FixedBitSet;
use std::collections::BTreeMap;

/// A peer's classes for one part of the subject (`None`: all of it), as (subject part, peer classes).
type PeerPart = (Option<FixedBitSet>, FixedBitSet);

/// Where the Cilium rectangles go, and the sets they intern.
pub(crate) struct Sink<'a> {
    pub class_sets: &'a mut Interner<FixedBitSet>,
    pub port_sets: &'a mut Interner<PortSet>,
    pub grants: &'a mut Vec<Grant>,
    pub denies: &'a mut Vec<Grant>,
    pub isolated: &'a mut [FixedBitSet; 2],
}

/// Per Cilium policy: the classes it selects.
pub(crate) fn subjects(cilium: &CiliumSelections, endpoint_classes: &[FixedBitSet]) -> Vec<FixedBitSet> {
    cilium.subjects.iter().map(|&s| endpoint_classes[s as usize].clone()).collect()
}

/// Port entries of a rule: (ports, destinations a named port restricts them to).
fn port_entries<'c>(
    rule: &super::CiliumRule,
    named_ports: &HashMap<NamedPortKey, BTreeMap<u16, u32>>,
    endpoint_classes: &'c [FixedBitSet],
) -> Vec<(PortSet, Option<&'c FixedBitSet>)> {
    let Some(ports) = &rule.ports else { return vec![(PortSet::all(), None)] };
    let mut out = Vec::new();
    for entry in ports {
        for protocol in entry.protocols() {
            match &entry.port {
                None => out.push((PortSet::all_of(protocol), None)),
                Some(PortSpec::Number(port)) => {
                    out.push((PortSet::range(protocol, *port, entry.end_port.unwrap_or(*port)), None))
                }
                // A named port resolves on the destination: the port it declares under that name.
                Some(PortSpec::Name(name)) => {
                    for (&port, &set) in named_ports.get(&(name.clone(), protocol)).into_iter().flatten() {
                        out.push((PortSet::single(protocol, port), Some(&endpoint_classes[set as usize])));
                    }
                }
            }
        }
    }
    out
}

/// The classes of `subject` grouped by the requirements that apply to them in `section`: per
/// group, the classes every requirement of every policy selecting them matches (`None`: no
/// requirement). Cilium ANDs the `fromRequires` of every rule selecting an endpoint into each
/// of that endpoint's fromEndpoints selectors.
fn requirement_groups(
    subject: &FixedBitSet,
    section: Section,
    requirements: &[(FixedBitSet, FixedBitSet, Section)],
) -> Vec<(FixedBitSet, Option<FixedBitSet>)> {
    let mut groups: HashMap<Vec<usize>, FixedBitSet> = HashMap::default();
    for class in subject.ones() {
        let key: Vec<usize> = requirements
            .iter()
            .enumerate()
            .filter(|(_, (s, _, sec))| *sec == section && s.contains(class))
            .map(|(i, _)| i)
            .collect();
        groups.entry(key).or_insert_with(|| FixedBitSet::with_capacity(subject.len())).insert(class);
    }
    let mut out: Vec<(Vec<usize>, FixedBitSet)> = groups.into_iter().collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out.into_iter()
        .map(|(key, classes)| {
            let required = key.iter().map(|&i| &requirements[i].1).fold(None, |acc: Option<FixedBitSet>, r| {
                Some(match acc {
                    None => r.clone(),
                    Some(mut a) => {
                        a.intersect_with(r);
                        a
                    }
                })
            });
            (classes, required)
        })
        .collect()
}

/// Adds every Cilium rule's rectangles to `sink`.
pub(crate) fn build(
    cluster: &Cluster,
    cilium: &CiliumSelections,
    named_ports: &HashMap<NamedPortKey, BTreeMap<u16, u32>>,
    endpoint_classes: &[FixedBitSet],
    subjects: &[FixedBitSet],
    all: &FixedBitSet,
    sink: Sink,
) {
    let requirements: Vec<(FixedBitSet, FixedBitSet, Section)> = cilium
        .requires
        .iter()
        .enumerate()
        .flat_map(|(p, per_section)| {
            Section::ALL
                .into_iter()
                .filter_map(move |section| per_section[section as usize].map(|set| (p, set, section)))
        })
        .map(|(p, set, section)| (subjects[p].clone(), endpoint_classes[set as usize].clone(), section))
        .collect();
    for (p, policy) in cluster.cilium_policies.iter().enumerate() {
        let subject = &subjects[p];
        if subject.is_clear() {
            continue;
        }
        for (d, direction) in [Direction::Ingress, Direction::Egress].into_iter().enumerate() {
            if policy.isolates(direction) {
                sink.isolated[d].union_with(subject);
            }
        }
        for section in Section::ALL {
            let groups = requirement_groups(subject, section, &requirements);
            for (r, rule) in policy.rules(section).iter().enumerate() {
                // Per peer: the sets it matches, each for the part of the subject it applies to
                // (`None`: all of it); `host` and `remote-node` differ per node of the subject.
                let peers: Vec<(Option<u32>, Vec<PeerPart>, bool)> = match &rule.peers {
                    None => vec![(None, vec![(None, all.clone())], false)],
                    Some(list) => list
                        .iter()
                        .enumerate()
                        .map(|(i, peer)| {
                            let classes = |set: u32| endpoint_classes[set as usize].clone();
                            let parts = match peer {
                                CiliumPeer::Entity(entity @ (Entity::Host | Entity::RemoteNode)) => cilium.node_parts
                                    [p]
                                    .iter()
                                    .map(|part| {
                                        let other = if *entity == Entity::Host { part.host } else { part.remote_node };
                                        (Some(classes(part.subject)), classes(other))
                                    })
                                    .collect(),
                                _ => vec![(None, classes(cilium.peers[p][section as usize][r][i]))],
                            };
                            (Some(i as u32), parts, matches!(peer, CiliumPeer::Endpoints(_)))
                        })
                        .collect(),
                };
                let entries = port_entries(rule, named_ports, endpoint_classes);
                for (peer, parts, is_endpoints) in &peers {
                    for ((group, required), (restriction, peer_set)) in
                        groups.iter().flat_map(|g| parts.iter().map(move |part| (g, part)))
                    {
                        let mut group = group.clone();
                        if let Some(restriction) = restriction {
                            group.intersect_with(restriction);
                        }
                        let mut other = peer_set.clone();
                        if let (true, Some(required)) = (is_endpoints, required) {
                            other.intersect_with(required);
                        }
                        for (ports, dst_restriction) in &entries {
                            let direction = section.direction();
                            let (src, mut dst) = match direction {
                                Direction::Ingress => (other.clone(), group.clone()),
                                Direction::Egress => (group.clone(), other.clone()),
                            };
                            if let Some(restriction) = dst_restriction {
                                dst.intersect_with(restriction);
                            }
                            if src.is_clear() || dst.is_clear() || ports.is_empty() {
                                continue;
                            }
                            let grant = Grant {
                                direction,
                                sources: sink.class_sets.intern(src),
                                destinations: sink.class_sets.intern(dst),
                                ports: sink.port_sets.intern(ports.clone()),
                                origin: GrantOrigin::Cilium(CiliumRuleRef {
                                    policy: p as u32,
                                    section,
                                    rule: r as u32,
                                    peer: *peer,
                                }),
                            };
                            if section.is_deny() {
                                sink.denies.push(grant);
                            } else {
                                sink.grants.push(grant);
                            }
                        }
                    }
                }
            }
        }
    }
    // allow-localhost: an allow like any other, so deny rules still beat it.
    for &(hosts, endpoints) in &cilium.localhost {
        sink.grants.push(Grant {
            direction: Direction::Ingress,
            sources: sink.class_sets.intern(endpoint_classes[hosts as usize].clone()),
            destinations: sink.class_sets.intern(endpoint_classes[endpoints as usize].clone()),
            ports: sink.port_sets.intern(PortSet::all()),
            origin: GrantOrigin::CiliumLocalhost,
        });
    }
}
