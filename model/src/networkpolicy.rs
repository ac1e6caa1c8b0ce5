//! Dialect: Kubernetes NetworkPolicy (networking.k8s.io/v1), as the engine reads it. The loader
//! is `analyzer/src/load/networkpolicy.rs`; the engine turns these rules into grants
//! (`engine/grants.rs`). Reference: https://kubernetes.io/docs/reference/kubernetes-api/policy-resources/network-policy-v1/

use crate::addresses::IpBlock;
use crate::cluster::{Direction, Pod};
use crate::labels::LabelSelector;
use crate::ports::Protocol;

/// A networking.k8s.io/v1 NetworkPolicy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetworkPolicy {
    /// `metadata.namespace`.
    pub namespace: String,
    /// `metadata.name`.
    pub name: String,
    /// `spec.podSelector`: the pods it applies to, in its namespace.
    pub pod_selector: LabelSelector,
    /// `spec.policyTypes` as written; `None` when omitted (see [`NetworkPolicy::affects`]).
    pub policy_types: Option<Vec<Direction>>,
    /// `spec.ingress`.
    pub ingress: Vec<Rule>,
    /// `spec.egress`.
    pub egress: Vec<Rule>,
}

impl NetworkPolicy {
    /// Whether the policy isolates its pods in `direction`. Without `policyTypes` (or with an
    /// empty list), Ingress always applies and Egress applies when there is an egress rule.
    pub fn affects(&self, direction: Direction) -> bool {
        match &self.policy_types {
            // The API server defaults an empty list exactly like a missing one.
            Some(types) if !types.is_empty() => types.contains(&direction),
            _ => match direction {
                Direction::Ingress => true,
                Direction::Egress => !self.egress.is_empty(),
            },
        }
    }

    /// The rules of one direction.
    pub fn rules(&self, direction: Direction) -> &[Rule] {
        match direction {
            Direction::Ingress => &self.ingress,
            Direction::Egress => &self.egress,
        }
    }

    /// `namespace/name`.
    pub fn id(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
}

/// One ingress or egress rule. An empty `peers` list matches every peer and an empty `ports`
/// list matches every port, exactly as a missing or empty `from`/`to`/`ports` in the API.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Rule {
    /// `from` (ingress) or `to` (egress).
    pub peers: Vec<Peer>,
    /// `ports`.
    pub ports: Vec<PortEntry>,
}

/// One entry of a rule's `from` or `to`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Peer {
    /// `podSelector` and/or `namespaceSelector`. A missing namespace selector means the
    /// policy's own namespace; a missing pod selector means every pod.
    Pods {
        /// `podSelector`, if given.
        pod_selector: Option<LabelSelector>,
        /// `namespaceSelector`, if given.
        namespace_selector: Option<LabelSelector>,
    },
    /// `ipBlock`.
    IpBlock(IpBlock),
}

/// A port as a rule or a Service names it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PortSpec {
    /// A port number.
    Number(u16),
    /// A container port name.
    Name(String),
}

impl std::fmt::Display for Peer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Peer::Pods { pod_selector: Some(p), namespace_selector: None } => {
                write!(f, "podSelector {p} (policy's namespace)")
            }
            Peer::Pods { pod_selector: None, namespace_selector: Some(n) } => write!(f, "namespaceSelector {n}"),
            Peer::Pods { pod_selector: Some(p), namespace_selector: Some(n) } => {
                write!(f, "namespaceSelector {n} and podSelector {p}")
            }
            Peer::Pods { pod_selector: None, namespace_selector: None } => {
                f.write_str("every pod of the policy's namespace")
            }
            Peer::IpBlock(b) => write!(f, "ipBlock {b}"),
        }
    }
}

impl std::fmt::Display for PortEntry {
    /// `TCP 5432`, `TCP 8000-8100`, `TCP port named http`, `all TCP ports`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.port, self.end_port) {
            (None, _) => write!(f, "all {} ports", self.protocol),
            (Some(PortSpec::Number(p)), Some(end)) if end != *p => write!(f, "{} {p}-{end}", self.protocol),
            (Some(PortSpec::Number(p)), _) => write!(f, "{} {p}", self.protocol),
            (Some(PortSpec::Name(n)), _) => write!(f, "{} port named {n}", self.protocol),
        }
    }
}

impl PortEntry {
    /// Whether this entry admits `protocol`/`port` towards `destination` (the pod the traffic
    /// goes to; `None` for an external address, on which a named port never resolves).
    pub fn matches(&self, protocol: Protocol, port: u16, destination: Option<&Pod>) -> bool {
        if protocol != self.protocol {
            return false;
        }
        match &self.port {
            None => true,
            Some(PortSpec::Number(start)) => (*start..=self.end_port.unwrap_or(*start)).contains(&port),
            Some(PortSpec::Name(name)) => {
                destination.is_some_and(|pod| pod.resolve_named_port(name, protocol).any(|p| p == port))
            }
        }
    }
}

/// One entry of a rule's `ports`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PortEntry {
    /// `protocol` (TCP when omitted).
    pub protocol: Protocol,
    /// `None`: every port of `protocol`.
    pub port: Option<PortSpec>,
    /// Only with a numeric `port`; validated to be at least `port`.
    pub end_port: Option<u16>,
}
