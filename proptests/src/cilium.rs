//! The reference reading of Cilium policies, one connection at a time, written again from the
//! docs (https://docs.cilium.io/en/stable/security/policy/language/) without the engine:
//! - A pod's Cilium labels are its labels plus its namespace, service account (`default` when
//!   unset), cluster (`default`) and its namespace's labels under `io.cilium.k8s.namespace.labels.`.
//!   hostNetwork pods have none: no endpoint selector selects them (subject or peer).
//! - A pod is in default deny in a direction iff a Cilium policy selecting it says so
//!   (`default_deny`, which the loader derives from enableDefaultDeny and the sections).
//! - An allow rule of a selecting policy matches when a peer matches (no peer list: every peer;
//!   an empty one: none) and a port entry matches (no list: every port). Endpoint peers must
//!   also match every requirement of that section of every policy selecting the pod.
//! - A deny rule that matches denies, whatever allows it.
//! - allow-localhost (unless `policy`): a hostNetwork pod reaches the pods on its own node.
//! - Peers: endpoints (a non-hostNetwork pod whose labels match), CIDR (an external address it
//!   contains; never a pod), entities (all: anything; world: any external, of the family for
//!   world-ipv4/-ipv6; cluster: any pod; host: hostNetwork pods on the selected pod's node, none
//!   when it has no node; remote-node: every other hostNetwork pod; the rest: nothing).
//! - Ports: protocol `None` is any of TCP, UDP, SCTP; no port = every port; number..=end;
//!   a name = a port the destination pod declares under that name and protocol.

use crate::reference::{namespace_labels, Addr};
use netreach_model::cilium::labels::endpoint_labels;
use netreach_model::{
    CiliumPeer, CiliumPolicy, CiliumPort, CiliumRule, CiliumSubject, Cluster, Direction, EngineOptions, Entity,
    IpFamily, Labels, PortSpec, Protocol, Section,
};

fn labels_of(cluster: &Cluster, pod: usize) -> Option<Labels> {
    let pod = &cluster.pods[pod];
    (!pod.host_network).then(|| endpoint_labels(pod, &namespace_labels(cluster, &pod.namespace)))
}

fn selects(cluster: &Cluster, policy: &CiliumPolicy, pod: usize) -> bool {
    match (&policy.subject, labels_of(cluster, pod)) {
        (CiliumSubject::Endpoints(selector), Some(labels)) => selector.matches(&labels),
        _ => false,
    }
}

/// Indices of the Cilium policies that select `pod`.
pub fn selecting(cluster: &Cluster, pod: usize) -> Vec<usize> {
    (0..cluster.cilium_policies.len()).filter(|&p| selects(cluster, &cluster.cilium_policies[p], pod)).collect()
}

/// Whether a Cilium policy puts `pod` in default deny in `direction`.
pub fn isolated(cluster: &Cluster, pod: usize, direction: Direction) -> bool {
    selecting(cluster, pod).into_iter().any(|p| cluster.cilium_policies[p].isolates(direction))
}

/// Whether `peer` is a host endpoint of `subject`'s own node.
fn on_local_host(cluster: &Cluster, subject: usize, peer: usize) -> bool {
    let (subject, peer) = (&cluster.pods[subject], &cluster.pods[peer]);
    peer.host_network && subject.node.is_some() && peer.node == subject.node
}

fn peer_matches(cluster: &Cluster, peer: &CiliumPeer, addr: &Addr, subject: usize, requirements_ok: bool) -> bool {
    match (peer, addr) {
        (CiliumPeer::Endpoints(selector), Addr::Pod(i)) => {
            requirements_ok && labels_of(cluster, *i).is_some_and(|l| selector.matches(&l))
        }
        (CiliumPeer::Endpoints(_), Addr::External(_)) => false,
        (CiliumPeer::Cidr(block), Addr::External(ip)) => block.contains(ip),
        (CiliumPeer::Cidr(_), Addr::Pod(_)) => false,
        (CiliumPeer::Entity(entity), addr) => match (entity, addr) {
            (Entity::All, _) => true,
            (Entity::World, Addr::External(_)) => true,
            (Entity::WorldIpv4, Addr::External(ip)) => IpFamily::of(ip) == IpFamily::V4,
            (Entity::WorldIpv6, Addr::External(ip)) => IpFamily::of(ip) == IpFamily::V6,
            (Entity::Cluster, Addr::Pod(_)) => true,
            (Entity::Host, Addr::Pod(i)) => on_local_host(cluster, subject, *i),
            (Entity::RemoteNode, Addr::Pod(i)) => cluster.pods[*i].host_network && !on_local_host(cluster, subject, *i),
            (Entity::KubeApiserver, addr) => {
                let ips: &[std::net::IpAddr] = match addr {
                    Addr::Pod(i) => &cluster.pods[*i].ips,
                    Addr::External(ip) => std::slice::from_ref(ip),
                };
                cluster
                    .infrastructure
                    .iter()
                    .filter(|d| d.destination == netreach_model::Destination::KubeApiserver)
                    .flat_map(|d| &d.addresses)
                    .any(|net| ips.iter().any(|ip| net.contains(ip)))
            }
            _ => false,
        },
    }
}

/// Cilium's allow-localhost (`auto` is `always` under Kubernetes): a hostNetwork pod reaches the
/// pods on its own node whatever the allow rules say.
pub fn localhost_allows(cluster: &Cluster, options: &EngineOptions, subject: usize, peer: &Addr) -> bool {
    crate::reference::cilium_applies(cluster, options)
        && options.cilium_allow_localhost.allows()
        && matches!(peer, Addr::Pod(i) if on_local_host(cluster, subject, *i))
}

fn port_matches(cluster: &Cluster, entry: &CiliumPort, dst: &Addr, protocol: Protocol, port: u16) -> bool {
    if entry.protocol.is_some_and(|p| p != protocol) {
        return false;
    }
    match &entry.port {
        None => true,
        Some(PortSpec::Number(first)) => *first <= port && port <= entry.end_port.unwrap_or(*first),
        Some(PortSpec::Name(name)) => match dst {
            Addr::Pod(i) => cluster.pods[*i].resolve_named_port(name, protocol).any(|p| p == port),
            Addr::External(_) => false,
        },
    }
}

#[allow(clippy::too_many_arguments)]
fn rule_matches(
    cluster: &Cluster,
    rule: &CiliumRule,
    peer: &Addr,
    dst: &Addr,
    protocol: Protocol,
    port: u16,
    subject: usize,
    requirements_ok: bool,
) -> bool {
    let peer_ok = match &rule.peers {
        None => true,
        Some(peers) => peers.iter().any(|p| peer_matches(cluster, p, peer, subject, requirements_ok)),
    };
    let port_ok = match &rule.ports {
        None => true,
        Some(entries) => entries.iter().any(|e| port_matches(cluster, e, dst, protocol, port)),
    };
    peer_ok && port_ok
}

/// Whether some rule of `section` of a policy selecting `pod` matches the connection.
pub fn section_matches(
    cluster: &Cluster,
    section: Section,
    pod: usize,
    peer: &Addr,
    dst: &Addr,
    protocol: Protocol,
    port: u16,
) -> bool {
    let policies = selecting(cluster, pod);
    // Every requirement of this section of every selecting policy, on the peer's labels.
    let requirements_ok = match peer {
        Addr::Pod(i) => {
            let labels = labels_of(cluster, *i);
            policies
                .iter()
                .flat_map(|&p| cluster.cilium_policies[p].rules(section))
                .flat_map(|r| &r.requires)
                .all(|selector| labels.as_ref().is_some_and(|l| selector.matches(l)))
        }
        Addr::External(_) => true,
    };
    policies.iter().any(|&p| {
        cluster.cilium_policies[p]
            .rules(section)
            .iter()
            .any(|rule| rule_matches(cluster, rule, peer, dst, protocol, port, pod, requirements_ok))
    })
}
