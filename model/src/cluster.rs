//! The cluster as the engine sees it: namespaces, pods, nodes, services and every policy layer,
//! already validated. What all dialects select from lives here; each dialect's own types live in
//! its module ([`crate::networkpolicy`], [`crate::admin`]).
//! Built by a loader (manifests, live API) or directly by tests; never parsed here.

use crate::labels::Labels;
use crate::networkpolicy::{NetworkPolicy, PortSpec};
use crate::ports::Protocol;
use std::net::IpAddr;

/// The label the API server puts on every Namespace.
pub const NAMESPACE_NAME_LABEL: &str = "kubernetes.io/metadata.name";

/// Everything the engine reads: namespaces, pods, policies and what names them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cluster {
    /// Every namespace, in load order.
    pub namespaces: Vec<Namespace>,
    /// Every pod, in load order: endpoints are numbered in this order.
    pub pods: Vec<Pod>,
    /// Every NetworkPolicy, in load order.
    pub policies: Vec<NetworkPolicy>,
    /// Nodes and their addresses: hostNetwork pods speak with these.
    pub nodes: Vec<Node>,
    /// Services, kept for naming and later queries; NetworkPolicy does not look at them.
    pub services: Vec<Service>,
    /// AdminNetworkPolicy, BaselineAdminNetworkPolicy and ClusterNetworkPolicy objects.
    pub cluster_policies: Vec<crate::admin::ClusterPolicy>,
    /// CiliumNetworkPolicy and CiliumClusterwideNetworkPolicy rules, one per `spec`/`specs[i]`.
    pub cilium_policies: Vec<crate::cilium::CiliumPolicy>,
    /// Calico NetworkPolicies, GlobalNetworkPolicies, Tiers and ServiceAccount labels.
    pub calico: crate::calico::CalicoConfig,
    /// Service-mesh settings: Istio PeerAuthentications, namespace annotations.
    pub mesh: crate::mesh::MeshConfig,
    /// Policy objects of kinds the engine does not evaluate (Cilium, Calico, Antrea, Istio
    /// authorization, …): every answer is computed without them, and says so.
    pub unevaluated_policies: Vec<UnevaluatedPolicy>,
    /// Invalid documents a loader left out on request (`--skip-invalid`), each with its error:
    /// every answer is computed without them, and says so.
    pub skipped_invalid: Vec<String>,
    /// Infrastructure destinations (cloud metadata, API server, kubelets, nodes, etcd) as the
    /// loader resolved them from the input and flags; absent ones are unknown.
    pub infrastructure: Vec<crate::infrastructure::InfraDestination>,
    /// Ingresses, Gateways, routes and Service endpoints: how traffic enters from outside.
    pub entry_points: crate::entrypoints::EntryPoints,
    /// ServiceAccounts, Roles, ClusterRoles and their bindings (attack paths read them).
    pub identity: crate::identity::Identity,
}

/// A policy object the engine does not evaluate, named as it was read.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct UnevaluatedPolicy {
    /// `kind`.
    pub kind: String,
    /// `apiVersion`.
    pub api_version: String,
    /// `None` for cluster-scoped kinds.
    pub namespace: Option<String>,
    /// `metadata.name`.
    pub name: String,
    /// What leaving it out does to the answers, in a few words.
    pub effect: &'static str,
}

/// A node: hostNetwork pods speak with its addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    /// `metadata.name`.
    pub name: String,
    /// `metadata.labels`.
    pub labels: Labels,
    /// `status.addresses` of type InternalIP and ExternalIP.
    pub addresses: Vec<IpAddr>,
}

/// A Service (NetworkPolicy does not look at Services).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Service {
    /// `metadata.namespace`.
    pub namespace: String,
    /// `metadata.name`.
    pub name: String,
    /// `spec.selector`; `None` for services without a selector (manual endpoints).
    pub selector: Option<Labels>,
    /// `spec.ports`.
    pub ports: Vec<ServicePort>,
    /// `spec.clusterIPs` (or `spec.clusterIP`).
    pub cluster_ips: Vec<IpAddr>,
    /// `spec.type`, `externalIPs`, `externalTrafficPolicy`, `loadBalancerSourceRanges`.
    pub publishing: crate::entrypoints::Publishing,
}

/// One entry of a Service's `spec.ports`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServicePort {
    /// `name`, if given.
    pub name: Option<String>,
    /// The Service's port.
    pub port: u16,
    /// `targetPort`: a number or a container port name.
    pub target_port: PortSpec,
    /// `protocol` (TCP when omitted).
    pub protocol: Protocol,
    /// `nodePort`, when given (NodePort and LoadBalancer Services).
    pub node_port: Option<u16>,
    /// `appProtocol`, when given: the application protocol (a mesh reads it before the name).
    pub app_protocol: Option<String>,
}

/// A namespace and its labels.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Namespace {
    /// `metadata.name`.
    pub name: String,
    /// Includes `kubernetes.io/metadata.name` (loaders add it when a manifest omits it).
    pub labels: Labels,
}

impl Namespace {
    /// A namespace with the labels given plus the name label the API server adds.
    pub fn new(name: &str, labels: Labels) -> Namespace {
        let mut labels = labels;
        labels.insert(NAMESPACE_NAME_LABEL.to_string(), name.to_string());
        Namespace { name: name.to_string(), labels }
    }
}

/// The controller a pod belongs to, e.g. `Deployment/cart`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WorkloadRef {
    /// The controller's kind, e.g. `Deployment`.
    pub kind: String,
    /// The controller's name.
    pub name: String,
}

impl std::fmt::Display for WorkloadRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.kind, self.name)
    }
}

/// One container port of a pod.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContainerPort {
    /// `name`, if given (named NetworkPolicy ports resolve through it).
    pub name: Option<String>,
    /// `containerPort`.
    pub port: u16,
    /// `protocol` (TCP when omitted).
    pub protocol: Protocol,
}

/// A pod: an endpoint of the reachability graph.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pod {
    /// `metadata.namespace`.
    pub namespace: String,
    /// `metadata.name`.
    pub name: String,
    /// `metadata.labels`.
    pub labels: Labels,
    /// `status.podIPs`; for a hostNetwork pod these are its node's addresses. Empty when unknown
    /// (pending pods, pods synthesized from templates): no ipBlock can match such a pod.
    pub ips: Vec<IpAddr>,
    /// `spec.hostNetwork`.
    pub host_network: bool,
    /// `spec.nodeName`, if scheduled.
    pub node: Option<String>,
    /// Ports of all containers (and restartable init containers); named ones resolve named
    /// NetworkPolicy ports.
    pub ports: Vec<ContainerPort>,
    /// The controller the pod belongs to, if known.
    pub workload: Option<WorkloadRef>,
    /// True when the pod stands in for a controller whose pods were not in the input.
    pub synthesized: bool,
    /// Some container runs with `securityContext.privileged: true`.
    pub privileged: bool,
    /// `metadata.annotations` (service-mesh settings live here).
    pub annotations: Labels,
    /// Names of the containers, then of the init containers (an injected `istio-proxy` or
    /// `linkerd-proxy` shows up here).
    pub containers: Vec<String>,
    /// `spec.serviceAccountName` (`default` when unset).
    pub service_account: String,
    /// `automountServiceAccountToken` of the pod, else of its ServiceAccount; `None` when
    /// neither says (the token is mounted).
    pub automount_token: Option<bool>,
    /// Container ports published on the node's addresses (`hostPort`).
    pub host_ports: Vec<crate::entrypoints::HostPort>,
    /// Host namespaces, capabilities, hostPath mounts and Secret names: what attack paths read.
    pub posture: crate::identity::Posture,
}

impl Pod {
    /// A plain running pod; tests and loaders fill in the rest.
    pub fn new(namespace: &str, name: &str, labels: Labels) -> Pod {
        Pod {
            namespace: namespace.to_string(),
            name: name.to_string(),
            labels,
            ips: Vec::new(),
            host_network: false,
            node: None,
            ports: Vec::new(),
            workload: None,
            synthesized: false,
            privileged: false,
            annotations: Labels::new(),
            containers: Vec::new(),
            service_account: "default".to_string(),
            automount_token: None,
            host_ports: Vec::new(),
            posture: Default::default(),
        }
    }

    /// `namespace/name`, the id used in every output.
    pub fn id(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    /// Whether the pod gets a ServiceAccount token (what it needs to call the API server):
    /// the pod's `automountServiceAccountToken` wins over its ServiceAccount's
    /// (<https://kubernetes.io/docs/tasks/configure-pod-container/configure-service-account/#opt-out-of-api-credential-automounting>).
    pub fn mounts_token(&self) -> bool {
        self.automount_token != Some(false)
    }

    /// Ports of this pod a named NetworkPolicy port resolves to: same name and protocol.
    pub fn resolve_named_port(&self, name: &str, protocol: Protocol) -> impl Iterator<Item = u16> + '_ {
        let name = name.to_string();
        self.ports
            .iter()
            .filter(move |p| p.protocol == protocol && p.name.as_deref() == Some(name.as_str()))
            .map(|p| p.port)
    }
}

/// The direction of traffic a policy or rule governs, from the selected pod's side.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Direction {
    /// Traffic into the pod.
    Ingress,
    /// Traffic out of the pod.
    Egress,
}

impl Direction {
    /// `Ingress` or `Egress`, as `policyTypes` spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Ingress => "Ingress",
            Direction::Egress => "Egress",
        }
    }

    /// The field of a NetworkPolicy spec holding this direction's rules: `ingress`, `egress`.
    pub fn field(self) -> &'static str {
        match self {
            Direction::Ingress => "ingress",
            Direction::Egress => "egress",
        }
    }

    /// The field of a rule listing its peers: `from` (ingress), `to` (egress).
    pub fn peers_field(self) -> &'static str {
        match self {
            Direction::Ingress => "from",
            Direction::Egress => "to",
        }
    }
}
