//! Cluster-scoped policy tiers of policy.networking.k8s.io: AdminNetworkPolicy and
//! BaselineAdminNetworkPolicy (v1alpha1), ClusterNetworkPolicy (v1alpha2, tiers Admin and
//! Baseline). Evaluated around NetworkPolicy: Admin tier first (ascending priority, rule order,
//! first match decides or passes), then NetworkPolicy for the pods it isolates, then Baseline,
//! then default allow.

use crate::addresses::IpBlock;
use crate::labels::LabelSelector;
use crate::ports::Protocol;

/// Where a cluster policy is evaluated: before NetworkPolicy or after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Tier {
    /// Before NetworkPolicy: its decisions override it.
    Admin,
    /// After NetworkPolicy: decides only for pods no NetworkPolicy isolates.
    Baseline,
}

/// The kind of object a cluster policy was read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ClusterPolicyKind {
    /// `AdminNetworkPolicy` (v1alpha1): the Admin tier.
    AdminNetworkPolicy,
    /// `BaselineAdminNetworkPolicy` (v1alpha1): the Baseline tier.
    BaselineAdminNetworkPolicy,
    /// `ClusterNetworkPolicy` (v1alpha2): either tier.
    ClusterNetworkPolicy,
}

impl ClusterPolicyKind {
    /// The kind as Kubernetes spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            ClusterPolicyKind::AdminNetworkPolicy => "AdminNetworkPolicy",
            ClusterPolicyKind::BaselineAdminNetworkPolicy => "BaselineAdminNetworkPolicy",
            ClusterPolicyKind::ClusterNetworkPolicy => "ClusterNetworkPolicy",
        }
    }
}

/// `Allow` (v1alpha1) and `Accept` (v1alpha2) are the same action.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// Allow the connection; lower tiers are not consulted.
    Allow,
    /// Deny the connection; lower tiers are not consulted.
    Deny,
    /// Skip the rest of the tier: the next tier decides.
    Pass,
}

/// The pods a cluster policy applies to (never hostNetwork pods).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClusterSubject {
    /// Every pod of the selected namespaces.
    Namespaces(LabelSelector),
    /// The selected pods of the selected namespaces.
    Pods {
        /// Which namespaces.
        namespace_selector: LabelSelector,
        /// Which pods in them.
        pod_selector: LabelSelector,
    },
}

/// The other end a cluster policy rule matches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClusterPeer {
    /// Every pod of the selected namespaces.
    Namespaces(LabelSelector),
    /// The selected pods of the selected namespaces.
    Pods {
        /// Which namespaces.
        namespace_selector: LabelSelector,
        /// Which pods in them.
        pod_selector: LabelSelector,
    },
    /// Egress: the addresses of the selected nodes (hostNetwork pods speak with them).
    Nodes(LabelSelector),
    /// Egress: CIDRs, matching pod addresses as well as external ones.
    Networks(Vec<IpBlock>),
    /// Egress, v1alpha2: domain names cannot be evaluated offline; such a peer matches nothing.
    DomainNames(Vec<String>),
}

/// A port entry of a cluster policy rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClusterPort {
    /// One port.
    Number {
        /// The port's protocol.
        protocol: Protocol,
        /// The port number.
        port: u16,
    },
    /// An inclusive range of ports.
    Range {
        /// The ports' protocol.
        protocol: Protocol,
        /// The first port.
        start: u16,
        /// The last port.
        end: u16,
    },
    /// A container port name on the destination pod, whatever its protocol.
    Named(String),
}

/// One ingress or egress rule of a cluster policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterRule {
    /// The rule's `name`, if given.
    pub name: Option<String>,
    /// What the rule does when it matches.
    pub action: Action,
    /// The other ends it matches (any of them).
    pub peers: Vec<ClusterPeer>,
    /// `None`: every port of every protocol.
    pub ports: Option<Vec<ClusterPort>>,
}

/// An AdminNetworkPolicy, BaselineAdminNetworkPolicy or ClusterNetworkPolicy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterPolicy {
    /// The kind it was read from.
    pub kind: ClusterPolicyKind,
    /// `metadata.name` (cluster-scoped: no namespace).
    pub name: String,
    /// The tier it is evaluated in.
    pub tier: Tier,
    /// 0..=1000, lower first; a BaselineAdminNetworkPolicy (a singleton) has 0.
    pub priority: u32,
    /// The pods it applies to.
    pub subject: ClusterSubject,
    /// Ingress rules, in evaluation order.
    pub ingress: Vec<ClusterRule>,
    /// Egress rules, in evaluation order.
    pub egress: Vec<ClusterRule>,
}

impl ClusterPolicy {
    /// `Kind/name`, e.g. `AdminNetworkPolicy/cluster-guardrails`.
    pub fn id(&self) -> String {
        format!("{}/{}", self.kind.as_str(), self.name)
    }

    /// The rules of one direction, in evaluation order.
    pub fn rules(&self, direction: crate::cluster::Direction) -> &[ClusterRule] {
        match direction {
            crate::cluster::Direction::Ingress => &self.ingress,
            crate::cluster::Direction::Egress => &self.egress,
        }
    }
}
