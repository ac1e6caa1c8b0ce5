//! Where to look: the ports and external addresses at which an engine and the reference can
//! disagree. Both are derived from the cluster alone: every boundary a policy or pod mentions.

use netreach_model::{Cluster, ClusterPeer, ClusterPort, IpBlock, IpFamily, Peer, PortSpec};
use std::collections::BTreeSet;
use std::net::IpAddr;

/// Every port bound the cluster mentions (p-1, p, p+1, end, end+1) in NetworkPolicies and
/// cluster policies, every container port, and 1 and 65535; sorted, within 1..=65535.
pub fn ports(cluster: &Cluster) -> Vec<u16> {
    let mut out: BTreeSet<u32> = BTreeSet::from([1, 65535]);
    let mut around = |p: u32| {
        out.extend([p.saturating_sub(1), p, p + 1]);
    };
    for policy in &cluster.policies {
        for rule in policy.ingress.iter().chain(&policy.egress) {
            for entry in &rule.ports {
                if let Some(PortSpec::Number(p)) = entry.port {
                    around(p as u32);
                    if let Some(end) = entry.end_port {
                        around(end as u32);
                    }
                }
            }
        }
    }
    for policy in &cluster.cluster_policies {
        for rule in policy.ingress.iter().chain(&policy.egress) {
            for entry in rule.ports.iter().flatten() {
                match *entry {
                    ClusterPort::Number { port, .. } => around(port as u32),
                    ClusterPort::Range { start, end, .. } => {
                        around(start as u32);
                        around(end as u32);
                    }
                    ClusterPort::Named(_) => {}
                }
            }
        }
    }
    for entry in
        cluster.cilium_policies.iter().flat_map(|p| p.sections.iter().flatten()).flat_map(|r| r.ports.iter().flatten())
    {
        if let Some(PortSpec::Number(p)) = entry.port {
            around(p as u32);
            around(entry.end_port.unwrap_or(p) as u32);
        }
    }
    for pod in &cluster.pods {
        for port in &pod.ports {
            around(port.port as u32);
        }
    }
    out.into_iter().filter(|&p| (1..=65535).contains(&p)).map(|p| p as u16).collect()
}

/// Every ipBlock of every NetworkPolicy rule.
pub fn ip_blocks(cluster: &Cluster) -> Vec<&IpBlock> {
    cluster
        .policies
        .iter()
        .flat_map(|p| p.ingress.iter().chain(&p.egress))
        .flat_map(|r| &r.peers)
        .filter_map(|peer| match peer {
            Peer::IpBlock(b) => Some(b),
            Peer::Pods { .. } => None,
        })
        .collect()
}

/// Every `networks` block of every cluster policy rule, every Cilium CIDR and every Calico net
/// (rules and network sets): the engine gives each of their families external ranges.
pub fn networks(cluster: &Cluster) -> Vec<&IpBlock> {
    netreach_model::cilium::cidrs(cluster)
        .chain(netreach_model::calico::cidrs(cluster))
        .chain(
            cluster
                .cluster_policies
                .iter()
                .flat_map(|p| p.ingress.iter().chain(&p.egress))
                .flat_map(|r| &r.peers)
                .filter_map(|peer| match peer {
                    ClusterPeer::Networks(blocks) => Some(blocks),
                    _ => None,
                })
                .flatten(),
        )
        .collect()
}

/// Whether some cluster policy rule has a `nodes` peer.
pub fn names_nodes(cluster: &Cluster) -> bool {
    cluster
        .cluster_policies
        .iter()
        .flat_map(|p| p.ingress.iter().chain(&p.egress))
        .flat_map(|r| &r.peers)
        .any(|peer| matches!(peer, ClusterPeer::Nodes(_)))
}

/// Every address of every node.
pub fn node_addresses(cluster: &Cluster) -> Vec<IpAddr> {
    cluster.nodes.iter().flat_map(|n| n.addresses.iter().copied()).collect()
}

/// The address families the engine must cover with external ranges: those of pod addresses,
/// ipBlocks, networks and (when some rule names nodes) node addresses, or IPv4 alone when
/// nothing names an address.
pub fn families(cluster: &Cluster) -> BTreeSet<IpFamily> {
    let mut families: BTreeSet<IpFamily> = cluster.pods.iter().flat_map(|p| &p.ips).map(IpFamily::of).collect();
    families.extend(ip_blocks(cluster).iter().chain(&networks(cluster)).map(|b| IpFamily::of(&b.cidr.addr())));
    if names_nodes(cluster) {
        families.extend(node_addresses(cluster).iter().map(IpFamily::of));
    }
    if families.is_empty() {
        families.insert(IpFamily::V4);
    }
    families
}

fn value(ip: &IpAddr) -> u128 {
    match ip {
        IpAddr::V4(a) => u32::from(*a) as u128,
        IpAddr::V6(a) => u128::from(*a),
    }
}

fn from_value(v4: bool, v: u128) -> IpAddr {
    if v4 {
        IpAddr::V4((v as u32).into())
    } else {
        IpAddr::V6(v.into())
    }
}

/// The first and last address of `net`, and the addresses just outside it (when they exist).
fn edges(net: &ipnet::IpNet, out: &mut BTreeSet<IpAddr>) {
    let v4 = net.addr().is_ipv4();
    let top: u128 = if v4 { u32::MAX as u128 } else { u128::MAX };
    let (lo, hi) = (value(&net.network()), value(&net.broadcast()));
    out.insert(from_value(v4, lo));
    out.insert(from_value(v4, hi));
    if lo > 0 {
        out.insert(from_value(v4, lo - 1));
    }
    if hi < top {
        out.insert(from_value(v4, hi + 1));
    }
    // One address strictly inside, when there is room.
    if hi - lo >= 2 {
        out.insert(from_value(v4, lo + 1));
    }
}

/// Sample external addresses: the edges of every ipBlock and `networks` cidr and except (first,
/// last, just outside, one inside), every node address and its neighbours when some rule names
/// nodes, a few fixed ones, minus every address a pod owns (pod IPs, and the node IPs of
/// hostNetwork pods).
pub fn external_ips(cluster: &Cluster) -> Vec<IpAddr> {
    let mut out: BTreeSet<IpAddr> = BTreeSet::new();
    if names_nodes(cluster) {
        for ip in node_addresses(cluster) {
            edges(&ipnet::IpNet::from(ip), &mut out);
        }
    }
    for block in ip_blocks(cluster).into_iter().chain(networks(cluster)) {
        edges(&block.cidr, &mut out);
        for e in &block.except {
            edges(e, &mut out);
        }
    }
    for net in cluster.infrastructure.iter().flat_map(|d| &d.addresses) {
        edges(net, &mut out);
    }
    for fixed in ["8.8.8.8", "1.1.1.1", "0.0.0.0", "255.255.255.255", "2001:db8::1", "::", "ffff::1"] {
        out.insert(fixed.parse().expect("valid address"));
    }
    let owned: BTreeSet<IpAddr> = cluster.pods.iter().flat_map(|p| p.ips.iter().copied()).collect();
    out.into_iter().filter(|ip| !owned.contains(ip)).collect()
}

/// The engine against the reference evaluator on `cluster` under every option set: every pod
/// pair, and every pod with every address of `externals` (of the cluster's families) both ways,
/// at every protocol and port of `ports`; `explain` agrees with the verdict at the middle port.
pub fn engine_agrees_with_reference(cluster: &Cluster, ports: &[u16], externals: &[IpAddr]) -> Result<(), String> {
    use crate::reference::{self, Addr};
    use netreach_model::{Endpoint, Protocol, Reachability};
    let families = families(cluster);
    for options in crate::ALL_OPTIONS {
        let reach = Reachability::compute(cluster, &options);
        let mut ends: Vec<(Endpoint, Addr)> =
            (0..cluster.pods.len()).map(|i| (Endpoint::Pod(i as u32), Addr::Pod(i))).collect();
        for ip in externals.iter().filter(|ip| families.contains(&IpFamily::of(ip))) {
            let j = reach
                .externals()
                .iter()
                .position(|e| e.ranges.contains(ip))
                .ok_or(format!("{ip} is in no external range"))?;
            ends.push((Endpoint::External(j as u32), Addr::External(*ip)));
        }
        for src in &ends {
            for dst in ends.iter().filter(|dst| matches!((src.1, dst.1), (Addr::Pod(_), _) | (_, Addr::Pod(_)))) {
                let engine = reach.allowed(src.0, dst.0);
                for protocol in Protocol::ALL {
                    for &port in ports {
                        let expected = reference::allowed(cluster, &options, &src.1, &dst.1, protocol, port);
                        if engine.contains(protocol, port) != expected {
                            return Err(format!(
                                "{options:?}: {:?} -> {:?} {protocol} {port}: engine {}, reference {expected} (engine allows {engine})",
                                src.1, dst.1, !expected
                            ));
                        }
                        if port == ports[ports.len() / 2] {
                            let explanation = reach.explain(src.0, dst.0, protocol, port);
                            if explanation.allowed() != expected {
                                return Err(format!(
                                    "{options:?}: explain {:?} -> {:?} {protocol} {port}: {explanation:?}",
                                    src.1, dst.1
                                ));
                            }
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use netreach_model::{
        Action, ClusterPolicy, ClusterPolicyKind, ClusterRule, ClusterSubject, LabelSelector, NetworkPolicy, Node, Pod,
        PortEntry, Protocol, Rule, Tier,
    };

    #[test]
    fn cluster_policies_add_networks_edges_node_addresses_and_port_bounds() {
        let rule = |peers, ports| ClusterRule { name: None, action: Action::Deny, peers, ports };
        let policy = ClusterPolicy {
            kind: ClusterPolicyKind::ClusterNetworkPolicy,
            name: "p".into(),
            tier: Tier::Admin,
            priority: 0,
            subject: ClusterSubject::Namespaces(LabelSelector::everything()),
            ingress: vec![],
            egress: vec![
                rule(
                    vec![ClusterPeer::Networks(vec![IpBlock::parse("10.9.0.0/24", &[]).unwrap()])],
                    Some(vec![
                        ClusterPort::Number { protocol: Protocol::Udp, port: 53 },
                        ClusterPort::Range { protocol: Protocol::Tcp, start: 8000, end: 8080 },
                        ClusterPort::Named("http".into()),
                    ]),
                ),
                rule(vec![ClusterPeer::Nodes(LabelSelector::everything())], None),
            ],
        };
        let mut host = Pod::new("a", "host", Default::default());
        host.host_network = true;
        host.ips = vec!["172.16.0.1".parse().unwrap()];
        let node = |name: &str, ips: &[&str]| Node {
            name: name.into(),
            labels: Default::default(),
            addresses: ips.iter().map(|ip| ip.parse().unwrap()).collect(),
        };
        let mut cluster = Cluster {
            pods: vec![host],
            nodes: vec![node("n1", &["172.16.0.1"]), node("n2", &["172.16.0.3", "fd00:ffff::3"])],
            cluster_policies: vec![policy],
            ..Default::default()
        };
        assert_eq!(ports(&cluster), vec![1, 52, 53, 54, 7999, 8000, 8001, 8079, 8080, 8081, 65535]);
        let ips: Vec<String> = external_ips(&cluster).iter().map(|i| i.to_string()).collect();
        let expected_ips = [
            "10.8.255.255",
            "10.9.0.0",
            "10.9.0.1",
            "10.9.0.255",
            "10.9.1.0",
            "172.16.0.3",
            "172.16.0.2",
            "172.16.0.4",
            "fd00:ffff::3",
        ];
        for expected in expected_ips {
            assert!(ips.contains(&expected.to_string()), "{expected} in {ips:?}");
        }
        assert!(!ips.contains(&"172.16.0.1".to_string()), "owned by the hostNetwork pod");
        assert_eq!(families(&cluster), BTreeSet::from([IpFamily::V4, IpFamily::V6]));
        // Without a nodes peer, node addresses are nothing special.
        cluster.cluster_policies[0].egress.pop();
        let ips = external_ips(&cluster);
        assert!(!ips.contains(&"172.16.0.3".parse().unwrap()));
        assert_eq!(families(&cluster), BTreeSet::from([IpFamily::V4]));
    }

    #[test]
    fn ports_and_addresses_cover_the_boundaries() {
        let block = IpBlock::parse("10.0.0.0/30", &["10.0.0.2/31".to_string()]).unwrap();
        let policy = NetworkPolicy {
            namespace: "a".into(),
            name: "p".into(),
            pod_selector: Default::default(),
            policy_types: None,
            ingress: vec![Rule {
                peers: vec![Peer::IpBlock(block)],
                ports: vec![PortEntry {
                    protocol: Protocol::Tcp,
                    port: Some(PortSpec::Number(80)),
                    end_port: Some(65535),
                }],
            }],
            egress: vec![],
        };
        let cluster = Cluster { policies: vec![policy], ..Default::default() };
        assert_eq!(ports(&cluster), vec![1, 79, 80, 81, 65534, 65535]);
        let ips: Vec<String> = external_ips(&cluster).iter().map(|i| i.to_string()).collect();
        for expected in ["9.255.255.255", "10.0.0.0", "10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "8.8.8.8", "::"] {
            assert!(ips.contains(&expected.to_string()), "{expected} in {ips:?}");
        }
        assert_eq!(families(&cluster), BTreeSet::from([IpFamily::V4]));
    }
}
