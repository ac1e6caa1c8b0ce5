//! A compact, manifest-like rendering of a cluster, for failure messages and bug reports.

use netreach_model::{
    Cluster, ClusterPeer, ClusterPort, ClusterRule, ClusterSubject, LabelSelector, Labels, Peer, PortEntry, PortSpec,
    Rule,
};
use std::fmt::Write;

fn labels(l: &Labels) -> String {
    let parts: Vec<String> = l.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{{{}}}", parts.join(","))
}

fn selector(s: &LabelSelector) -> String {
    format!("[{s}]")
}

fn peer(p: &Peer) -> String {
    match p {
        Peer::Pods { pod_selector, namespace_selector } => {
            let mut parts = Vec::new();
            if let Some(ns) = namespace_selector {
                parts.push(format!("namespaceSelector {}", selector(ns)));
            }
            if let Some(pod) = pod_selector {
                parts.push(format!("podSelector {}", selector(pod)));
            }
            parts.join(" ")
        }
        Peer::IpBlock(b) => format!("ipBlock {b}"),
    }
}

fn port(e: &PortEntry) -> String {
    match (&e.port, e.end_port) {
        (None, _) => format!("{}", e.protocol),
        (Some(PortSpec::Number(p)), Some(end)) => format!("{} {p}-{end}", e.protocol),
        (Some(PortSpec::Number(p)), None) => format!("{} {p}", e.protocol),
        (Some(PortSpec::Name(n)), _) => format!("{} {n:?}", e.protocol),
    }
}

fn rule(r: &Rule) -> String {
    let peers =
        if r.peers.is_empty() { "any".to_string() } else { r.peers.iter().map(peer).collect::<Vec<_>>().join(" | ") };
    let ports =
        if r.ports.is_empty() { "any".to_string() } else { r.ports.iter().map(port).collect::<Vec<_>>().join(", ") };
    format!("peers: {peers}; ports: {ports}")
}

fn cluster_peer(p: &ClusterPeer) -> String {
    match p {
        ClusterPeer::Namespaces(ns) => format!("namespaces {}", selector(ns)),
        ClusterPeer::Pods { namespace_selector, pod_selector } => {
            format!("pods namespaceSelector {} podSelector {}", selector(namespace_selector), selector(pod_selector))
        }
        ClusterPeer::Nodes(n) => format!("nodes {}", selector(n)),
        ClusterPeer::Networks(blocks) => {
            format!("networks {}", blocks.iter().map(|b| b.to_string()).collect::<Vec<_>>().join(" "))
        }
        ClusterPeer::DomainNames(names) => format!("domainNames {}", names.join(" ")),
    }
}

fn cluster_port(p: &ClusterPort) -> String {
    match p {
        ClusterPort::Number { protocol, port } => format!("{protocol} {port}"),
        ClusterPort::Range { protocol, start, end } => format!("{protocol} {start}-{end}"),
        ClusterPort::Named(n) => format!("named {n:?}"),
    }
}

fn cluster_rule(r: &ClusterRule) -> String {
    let peers = match r.peers.is_empty() {
        true => "none".to_string(),
        false => r.peers.iter().map(cluster_peer).collect::<Vec<_>>().join(" | "),
    };
    let ports = match &r.ports {
        None => "any".to_string(),
        Some(ports) => format!("[{}]", ports.iter().map(cluster_port).collect::<Vec<_>>().join(", ")),
    };
    format!("{:?} peers: {peers}; ports: {ports}", r.action)
}

/// One line per namespace, pod, node, policy rule and cluster policy rule.
pub fn describe(cluster: &Cluster) -> String {
    let mut out = String::new();
    for ns in &cluster.namespaces {
        let _ = writeln!(out, "namespace {} {}", ns.name, labels(&ns.labels));
    }
    for (i, pod) in cluster.pods.iter().enumerate() {
        let ips: Vec<String> = pod.ips.iter().map(|ip| ip.to_string()).collect();
        let ports: Vec<String> = pod
            .ports
            .iter()
            .map(|p| match &p.name {
                Some(n) => format!("{n}:{}/{}", p.port, p.protocol),
                None => format!("{}/{}", p.port, p.protocol),
            })
            .collect();
        let _ = writeln!(
            out,
            "pod[{i}] {} {} ips [{}]{} ports [{}]",
            pod.id(),
            labels(&pod.labels),
            ips.join(","),
            if pod.host_network { " hostNetwork" } else { "" },
            ports.join(",")
        );
    }
    for (i, p) in cluster.policies.iter().enumerate() {
        let types = match &p.policy_types {
            None => "(default)".to_string(),
            Some(t) => format!("{:?}", t.iter().map(|d| d.as_str()).collect::<Vec<_>>()),
        };
        let _ = writeln!(out, "policy[{i}] {} podSelector {} policyTypes {types}", p.id(), selector(&p.pod_selector));
        for r in &p.ingress {
            let _ = writeln!(out, "  ingress {}", rule(r));
        }
        for r in &p.egress {
            let _ = writeln!(out, "  egress  {}", rule(r));
        }
    }
    for node in &cluster.nodes {
        let ips: Vec<String> = node.addresses.iter().map(|ip| ip.to_string()).collect();
        let _ = writeln!(out, "node {} {} addresses [{}]", node.name, labels(&node.labels), ips.join(","));
    }
    for (i, p) in cluster.cluster_policies.iter().enumerate() {
        let subject = match &p.subject {
            ClusterSubject::Namespaces(ns) => format!("namespaces {}", selector(ns)),
            ClusterSubject::Pods { namespace_selector, pod_selector } => {
                format!(
                    "pods namespaceSelector {} podSelector {}",
                    selector(namespace_selector),
                    selector(pod_selector)
                )
            }
        };
        let _ =
            writeln!(out, "cluster_policy[{i}] {} tier {:?} priority {} subject {subject}", p.id(), p.tier, p.priority);
        for r in &p.ingress {
            let _ = writeln!(out, "  ingress {}", cluster_rule(r));
        }
        for r in &p.egress {
            let _ = writeln!(out, "  egress  {}", cluster_rule(r));
        }
    }
    out
}
