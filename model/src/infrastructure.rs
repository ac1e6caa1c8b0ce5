//! Infrastructure destinations: addresses outside the pods that an attacker in a pod wants
//! next (the cloud metadata service, the API server, the kubelets, the nodes, etcd). Loaders
//! resolve them from the input (and flags); the engine only sees their addresses, as external
//! ranges (`Reachability::compute` cuts the ranges at them when `own_ranges` is set).

use crate::ports::PortSet;
use ipnet::IpNet;

/// A named infrastructure destination, as selectors spell it (`cloud-metadata`, …).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Destination {
    /// The cloud provider's instance metadata service (node credentials).
    CloudMetadata,
    /// The kube-apiserver, as pods reach it (the endpoints of Service `default/kubernetes`).
    KubeApiserver,
    /// The kubelet API of every node.
    Kubelet,
    /// Every node address, on every port.
    Nodes,
    /// etcd's client and peer ports.
    Etcd,
}

impl Destination {
    /// Every destination, in the order findings and listings use.
    pub const ALL: [Destination; 5] = [
        Destination::CloudMetadata,
        Destination::KubeApiserver,
        Destination::Kubelet,
        Destination::Nodes,
        Destination::Etcd,
    ];

    /// The selector keyword.
    pub fn keyword(self) -> &'static str {
        match self {
            Destination::CloudMetadata => "cloud-metadata",
            Destination::KubeApiserver => "kube-apiserver",
            Destination::Kubelet => "kubelet",
            Destination::Nodes => "nodes",
            Destination::Etcd => "etcd",
        }
    }

    /// The destination a keyword names.
    pub fn parse(keyword: &str) -> Option<Destination> {
        Destination::ALL.into_iter().find(|d| d.keyword() == keyword)
    }
}

impl std::fmt::Display for Destination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.keyword())
    }
}

/// A destination resolved to addresses and ports, and where they came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InfraDestination {
    /// Which destination.
    pub destination: Destination,
    /// The addresses, as CIDRs (mostly single hosts).
    pub addresses: Vec<IpNet>,
    /// The ports it listens on; every port when `None` (node addresses, the metadata service).
    pub ports: Option<PortSet>,
    /// Where the addresses come from, for people: `EndpointSlice default/kubernetes`,
    /// `--apiserver`, `Node InternalIPs`, `assumed: …`.
    pub source: String,
    /// Whether the engine cuts the external ranges at these addresses, so that answers name
    /// them as ranges of their own. Answers are the same either way (a range is a set of
    /// addresses every policy treats alike); set when a query names the destination.
    pub own_ranges: bool,
}

impl InfraDestination {
    /// Whether `ports` (allowed towards one of the addresses) reach the destination.
    pub fn reached_on(&self, ports: &PortSet) -> PortSet {
        match &self.ports {
            Some(own) => ports.intersection(own),
            None => ports.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::Protocol;

    #[test]
    fn keywords_round_trip_and_ports_restrict_what_is_reached() {
        for d in Destination::ALL {
            assert_eq!(Destination::parse(d.keyword()), Some(d));
        }
        assert_eq!(Destination::parse("kubelets"), None);
        let kubelet = InfraDestination {
            destination: Destination::Kubelet,
            addresses: vec!["10.0.0.1/32".parse().unwrap()],
            ports: Some(PortSet::single(Protocol::Tcp, 10250)),
            source: "test".into(),
            own_ranges: false,
        };
        assert!(kubelet.reached_on(&PortSet::single(Protocol::Tcp, 53)).is_empty());
        assert_eq!(kubelet.reached_on(&PortSet::all()), PortSet::single(Protocol::Tcp, 10250));
    }
}
