//! Infrastructure destinations resolved from the input and flags: `cloud-metadata`,
//! `kube-apiserver`, `kubelet`, `nodes`, `etcd` ([`Destination`]). What each resolves to:
//!
//! - `kube-apiserver`: the addresses and ports of the EndpointSlices of Service
//!   `default/kubernetes` (else its legacy Endpoints), else `--apiserver`, else (assumed) the
//!   control-plane nodes' InternalIPs on TCP 6443 (kubeadm's port). Policies see the endpoints,
//!   not the Service's ClusterIP: the common dataplanes evaluate NetworkPolicy after the
//!   Service's address is translated.
//! - `kubelet`: every Node's InternalIPs on TCP 10250
//!   (<https://kubernetes.io/docs/reference/networking/ports-and-protocols/>).
//! - `nodes`: every Node's InternalIPs and ExternalIPs, every port.
//! - `etcd`: `--etcd`, else the control-plane nodes' InternalIPs on TCP 2379-2380 (etcd stacked
//!   on the control plane, as kubeadm installs it).
//! - `cloud-metadata`: per `--cloud` ([`Cloud::addresses`]), every port.

use ipnet::IpNet;
use netreach_model::entrypoints::ServiceEndpoints;
use netreach_model::{Cluster, Destination, InfraDestination, PortSet, Protocol};
use std::collections::BTreeSet;
use std::net::IpAddr;

/// The label naming a control-plane node
/// (<https://kubernetes.io/docs/reference/labels-annotations-taints/#node-role-kubernetes-io-control-plane>),
/// and the one clusters installed before 1.24 carry.
pub const CONTROL_PLANE_LABELS: [&str; 2] = ["node-role.kubernetes.io/control-plane", "node-role.kubernetes.io/master"];

/// kubelet's API port; etcd's client and peer ports; the API server's port under kubeadm.
const KUBELET_PORT: u16 = 10250;
const ETCD_PORTS: (u16, u16) = (2379, 2380);
const KUBEADM_APISERVER_PORT: u16 = 6443;

/// What the loader keeps of the objects that name infrastructure while it reads them.
#[derive(Default)]
pub(super) struct InfraFacts {
    /// Addresses and ports of the EndpointSlices of Service `default/kubernetes`.
    slices: Vec<(IpAddr, PortSet)>,
    /// The same from its Endpoints object (used when no EndpointSlice is in the input).
    endpoints: Vec<(IpAddr, PortSet)>,
    /// Per node name: its InternalIPs.
    pub(super) internal_ips: Vec<(String, Vec<IpAddr>)>,
}

impl InfraFacts {
    /// Keeps the addresses of the endpoints of Service `default/kubernetes`, from an
    /// EndpointSlice, or (`legacy`) from its Endpoints object.
    pub(super) fn service_endpoints(&mut self, endpoints: &ServiceEndpoints, legacy: bool) {
        if endpoints.namespace != "default" || endpoints.service != "kubernetes" {
            return;
        }
        let mut ports = PortSet::empty();
        for &(_, port, protocol) in &endpoints.ports {
            ports.union_with(&PortSet::single(protocol, port));
        }
        let list = if legacy { &mut self.endpoints } else { &mut self.slices };
        list.extend(endpoints.addresses.iter().map(|(ip, _)| (*ip, ports.clone())));
    }

    /// Every destination the input names, and `cloud-metadata` for an unknown cloud.
    pub(super) fn resolve(&self, cluster: &Cluster) -> Vec<InfraDestination> {
        let control_plane: BTreeSet<&str> = cluster
            .nodes
            .iter()
            .filter(|n| CONTROL_PLANE_LABELS.iter().any(|l| n.labels.contains_key(*l)))
            .map(|n| n.name.as_str())
            .collect();
        let internal = |only_control_plane: bool| -> Vec<IpNet> {
            let set: BTreeSet<IpNet> = self
                .internal_ips
                .iter()
                .filter(|(name, _)| !only_control_plane || control_plane.contains(name.as_str()))
                .flat_map(|(_, ips)| ips.iter().map(|ip| IpNet::from(*ip)))
                .collect();
            set.into_iter().collect()
        };
        let mut out = vec![metadata(Cloud::Any)];
        let listed = if self.slices.is_empty() { &self.endpoints } else { &self.slices };
        if !listed.is_empty() {
            let source = if self.slices.is_empty() {
                "Endpoints default/kubernetes"
            } else {
                "EndpointSlice default/kubernetes"
            };
            out.push(apiserver(listed, source));
        } else if !control_plane.is_empty() && !internal(true).is_empty() {
            out.push(destination(
                Destination::KubeApiserver,
                internal(true),
                Some(PortSet::single(Protocol::Tcp, KUBEADM_APISERVER_PORT)),
                "assumed: the control-plane nodes' InternalIPs on kubeadm's port (the input has no endpoints of Service default/kubernetes)",
            ));
        }
        if !internal(false).is_empty() {
            out.push(destination(
                Destination::Kubelet,
                internal(false),
                Some(PortSet::single(Protocol::Tcp, KUBELET_PORT)),
                "the Nodes' InternalIPs",
            ));
        }
        let all: BTreeSet<IpNet> =
            cluster.nodes.iter().flat_map(|n| n.addresses.iter().map(|ip| IpNet::from(*ip))).collect();
        if !all.is_empty() {
            out.push(destination(
                Destination::Nodes,
                all.into_iter().collect(),
                None,
                "the Nodes' InternalIPs and ExternalIPs",
            ));
        }
        if !internal(true).is_empty() {
            out.push(destination(
                Destination::Etcd,
                internal(true),
                Some(PortSet::range(Protocol::Tcp, ETCD_PORTS.0, ETCD_PORTS.1)),
                "assumed: the control-plane nodes' InternalIPs (etcd stacked on the control plane, as kubeadm installs it)",
            ));
        }
        out
    }
}

fn destination(
    destination: Destination,
    addresses: Vec<IpNet>,
    ports: Option<PortSet>,
    source: &str,
) -> InfraDestination {
    InfraDestination { destination, addresses, ports, source: source.to_string(), own_ranges: false }
}

/// The API server at these addresses, on the union of their ports.
fn apiserver(listed: &[(IpAddr, PortSet)], source: &str) -> InfraDestination {
    let addresses: BTreeSet<IpNet> = listed.iter().map(|(ip, _)| IpNet::from(*ip)).collect();
    let mut ports = PortSet::empty();
    for (_, p) in listed {
        ports.union_with(p);
    }
    let ports = if ports.is_empty() { PortSet::single(Protocol::Tcp, 443) } else { ports };
    destination(Destination::KubeApiserver, addresses.into_iter().collect(), Some(ports), source)
}

/// The cloud the cluster runs in: where its instance metadata service listens.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum Cloud {
    /// Unknown: 169.254.169.254 and fd00:ec2::254.
    #[default]
    Any,
    /// AWS: IMDS at 169.254.169.254 and fd00:ec2::254, the EKS Pod Identity Agent at 169.254.170.23 and fd00:ec2::23.
    Aws,
    /// Google Cloud: the metadata server at 169.254.169.254.
    Gcp,
    /// Azure: IMDS at 169.254.169.254 and the WireServer at 168.63.129.16.
    Azure,
    /// Alibaba Cloud: the metadata service at 100.100.100.200.
    Alibaba,
}

impl Cloud {
    /// The metadata addresses, each as documented by the provider:
    /// - AWS IMDS: <https://docs.aws.amazon.com/whitepapers/latest/ipv6-on-aws/supporting-amazon-vpc-services.html>;
    ///   EKS Pod Identity Agent: <https://docs.aws.amazon.com/eks/latest/userguide/pod-id-agent-setup.html>
    /// - Google Cloud: <https://cloud.google.com/compute/docs/metadata/querying-metadata>
    /// - Azure IMDS: <https://learn.microsoft.com/azure/virtual-machines/instance-metadata-service>;
    ///   WireServer: <https://learn.microsoft.com/azure/virtual-network/what-is-ip-address-168-63-129-16>
    /// - Alibaba Cloud: <https://www.alibabacloud.com/help/en/ecs/user-guide/view-instance-metadata>
    pub fn addresses(self) -> &'static [&'static str] {
        match self {
            Cloud::Any => &["169.254.169.254/32", "fd00:ec2::254/128"],
            Cloud::Aws => &["169.254.169.254/32", "169.254.170.23/32", "fd00:ec2::23/128", "fd00:ec2::254/128"],
            Cloud::Gcp => &["169.254.169.254/32"],
            Cloud::Azure => &["168.63.129.16/32", "169.254.169.254/32"],
            Cloud::Alibaba => &["100.100.100.200/32"],
        }
    }

    fn flag(self) -> &'static str {
        match self {
            Cloud::Any => "any",
            Cloud::Aws => "aws",
            Cloud::Gcp => "gcp",
            Cloud::Azure => "azure",
            Cloud::Alibaba => "alibaba",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Cloud::Any => "an unnamed cloud",
            Cloud::Aws => "AWS",
            Cloud::Gcp => "Google Cloud",
            Cloud::Azure => "Azure",
            Cloud::Alibaba => "Alibaba Cloud",
        }
    }
}

fn metadata(cloud: Cloud) -> InfraDestination {
    let addresses = cloud.addresses().iter().map(|a| a.parse().expect("a valid CIDR")).collect();
    let source = format!("the instance metadata service of {} (--cloud {})", cloud.name(), cloud.flag());
    destination(Destination::CloudMetadata, addresses, None, &source)
}

/// Flags that say what the input cannot: where the API server and etcd listen, and the cloud.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InfraOptions {
    /// `--apiserver IP[:PORT]`: replaces what the input says; without a port, 443 and 6443.
    pub apiserver: Vec<(IpAddr, Option<u16>)>,
    /// `--etcd CIDR`: replaces the control-plane assumption; TCP 2379-2380.
    pub etcd: Vec<IpNet>,
    pub cloud: Cloud,
}

impl InfraOptions {
    /// The cluster's destinations with these flags applied.
    pub fn apply(&self, destinations: &mut Vec<InfraDestination>) {
        let mut set = |d: InfraDestination| {
            destinations.retain(|o| o.destination != d.destination);
            destinations.push(d);
        };
        set(metadata(self.cloud));
        if !self.apiserver.is_empty() {
            let listed: Vec<(IpAddr, PortSet)> = self
                .apiserver
                .iter()
                .map(|(ip, port)| {
                    let ports = match port {
                        Some(p) => PortSet::single(Protocol::Tcp, *p),
                        None => PortSet::single(Protocol::Tcp, 443)
                            .union(&PortSet::single(Protocol::Tcp, KUBEADM_APISERVER_PORT)),
                    };
                    (*ip, ports)
                })
                .collect();
            set(apiserver(&listed, "--apiserver"));
        }
        if !self.etcd.is_empty() {
            let ports = Some(PortSet::range(Protocol::Tcp, ETCD_PORTS.0, ETCD_PORTS.1));
            set(destination(Destination::Etcd, self.etcd.iter().map(|n| n.trunc()).collect(), ports, "--etcd"));
        }
        destinations.sort_by_key(|d| d.destination);
    }
}

/// Parses `--apiserver`: `10.0.0.1`, `10.0.0.1:6443`, `fd00::1`, `[fd00::1]:6443`.
pub fn parse_apiserver(s: &str) -> Result<(IpAddr, Option<u16>), String> {
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Ok((ip, None));
    }
    match s.parse::<std::net::SocketAddr>() {
        Ok(addr) if addr.port() > 0 => Ok((addr.ip(), Some(addr.port()))),
        _ => Err("expected IP or IP:PORT (IPv6 with a port as [ADDRESS]:PORT)".to_string()),
    }
}

/// Marks the destinations named by `keywords` so the engine gives them external ranges of their own.
pub fn name_ranges<'k>(cluster: &mut Cluster, keywords: impl IntoIterator<Item = &'k str>) {
    for keyword in keywords {
        if let Some(d) = Destination::parse(keyword.trim()) {
            for own in cluster.infrastructure.iter_mut().filter(|o| o.destination == d) {
                own.own_ranges = true;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apiserver_flags_parse_with_and_without_ports() {
        assert_eq!(parse_apiserver("10.0.0.1").unwrap(), ("10.0.0.1".parse().unwrap(), None));
        assert_eq!(parse_apiserver("10.0.0.1:6443").unwrap(), ("10.0.0.1".parse().unwrap(), Some(6443)));
        assert_eq!(parse_apiserver("[fd00::1]:443").unwrap(), ("fd00::1".parse().unwrap(), Some(443)));
        assert!(parse_apiserver("10.0.0.1:0").is_err());
        assert!(parse_apiserver("apiserver").is_err());
    }

    #[test]
    fn flags_replace_what_the_input_says() {
        let mut destinations = InfraFacts::default().resolve(&Cluster::default());
        assert_eq!(destinations.len(), 1, "without nodes or endpoints only cloud-metadata is known");
        let options = InfraOptions {
            apiserver: vec![("10.0.0.1".parse().unwrap(), None)],
            etcd: vec!["10.1.0.0/24".parse().unwrap()],
            cloud: Cloud::Alibaba,
        };
        options.apply(&mut destinations);
        let keywords: Vec<&str> = destinations.iter().map(|d| d.destination.keyword()).collect();
        assert_eq!(keywords, ["cloud-metadata", "kube-apiserver", "etcd"]);
        assert_eq!(destinations[0].addresses, vec!["100.100.100.200/32".parse::<IpNet>().unwrap()]);
        assert_eq!(destinations[1].ports.as_ref().unwrap().to_string(), "TCP 443,6443");
    }
}
