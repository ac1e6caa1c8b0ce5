//! Where to look: the ports and external addresses at which an engine and the reference can
//! disagree. Both are derived from the cluster alone: every boundary a policy or pod mentions.

use netreach_model::{Cluster, IpBlock, IpFamily, Peer, PortSpec};
use std::collections::BTreeSet;
use std::net::IpAddr;

/// Every port bound the cluster mentions (p-1, p, p+1, end, end+1), every container port, and 1
/// and 65535; sorted, within 1..=65535.
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
    for pod in &cluster.pods {
        for port in &pod.ports {
            around(port.port as u32);
        }
    }
    out.into_iter().filter(|&p| (1..=65535).contains(&p)).map(|p| p as u16).collect()
}

/// Every ipBlock of every rule.
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

/// The address families the engine must cover with external ranges: those of pod addresses and
/// ipBlocks, or IPv4 alone when nothing names an address.
pub fn families(cluster: &Cluster) -> BTreeSet<IpFamily> {
    let mut families: BTreeSet<IpFamily> = cluster.pods.iter().flat_map(|p| &p.ips).map(IpFamily::of).collect();
    families.extend(ip_blocks(cluster).iter().map(|b| IpFamily::of(&b.cidr.addr())));
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

/// Sample external addresses: the edges of every ipBlock cidr and except (first, last, just
/// outside, one inside), a few fixed ones, minus every address a pod owns (pod and node IPs).
pub fn external_ips(cluster: &Cluster) -> Vec<IpAddr> {
    let mut out: BTreeSet<IpAddr> = BTreeSet::new();
    for block in ip_blocks(cluster) {
        edges(&block.cidr, &mut out);
        for e in &block.except {
            edges(e, &mut out);
        }
    }
    for fixed in ["8.8.8.8", "1.1.1.1", "0.0.0.0", "255.255.255.255", "2001:db8::1", "::", "ffff::1"] {
        out.insert(fixed.parse().expect("valid address"));
    }
    let owned: BTreeSet<IpAddr> = cluster.pods.iter().flat_map(|p| p.ips.iter().copied()).collect();
    out.into_iter().filter(|ip| !owned.contains(ip)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use netreach_model::{NetworkPolicy, PortEntry, Protocol, Rule};

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
                ports: vec![PortEntry { protocol: Protocol::Tcp, port: Some(PortSpec::Number(80)), end_port: Some(65535) }],
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
