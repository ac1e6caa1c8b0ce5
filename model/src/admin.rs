//! Cluster-scoped policy tiers of policy.networking.k8s.io: AdminNetworkPolicy and
//! BaselineAdminNetworkPolicy (v1alpha1), ClusterNetworkPolicy (v1alpha2, tiers Admin and
//! Baseline). Evaluated around NetworkPolicy: Admin tier first (ascending priority, rule order,
//! first match decides or passes), then NetworkPolicy for the pods it isolates, then Baseline,
//! then default allow.

use crate::addresses::IpBlock;
use crate::labels::LabelSelector;
use crate::ports::Protocol;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Tier {
    Admin,
    Baseline,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ClusterPolicyKind {
    AdminNetworkPolicy,
    BaselineAdminNetworkPolicy,
    ClusterNetworkPolicy,
}

impl ClusterPolicyKind {
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
    Allow,
    Deny,
    /// Skip the rest of the tier: the next tier decides.
    Pass,
}

/// The pods a cluster policy applies to (never hostNetwork pods).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClusterSubject {
    Namespaces(LabelSelector),
    Pods { namespace_selector: LabelSelector, pod_selector: LabelSelector },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClusterPeer {
    /// Every pod of the selected namespaces.
    Namespaces(LabelSelector),
    Pods {
        namespace_selector: LabelSelector,
        pod_selector: LabelSelector,
    },
    /// Egress: the addresses of the selected nodes (hostNetwork pods speak with them).
    Nodes(LabelSelector),
    /// Egress: CIDRs, matching pod addresses as well as external ones.
    Networks(Vec<IpBlock>),
    /// Egress, v1alpha2: domain names cannot be evaluated offline; such a peer matches nothing.
    DomainNames(Vec<String>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClusterPort {
    Number {
        protocol: Protocol,
        port: u16,
    },
    Range {
        protocol: Protocol,
        start: u16,
        end: u16,
    },
    /// A container port name on the destination pod, whatever its protocol.
    Named(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterRule {
    pub name: Option<String>,
    pub action: Action,
    pub peers: Vec<ClusterPeer>,
    /// `None`: every port of every protocol.
    pub ports: Option<Vec<ClusterPort>>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterPolicy {
    pub kind: ClusterPolicyKind,
    pub name: String,
    pub tier: Tier,
    /// 0..=1000, lower first; a BaselineAdminNetworkPolicy (a singleton) has 0.
    pub priority: u32,
    pub subject: ClusterSubject,
    pub ingress: Vec<ClusterRule>,
    pub egress: Vec<ClusterRule>,
}

impl ClusterPolicy {
    /// `Kind/name`, e.g. `AdminNetworkPolicy/cluster-guardrails`.
    pub fn id(&self) -> String {
        format!("{}/{}", self.kind.as_str(), self.name)
    }

    pub fn rules(&self, direction: crate::cluster::Direction) -> &[ClusterRule] {
        match direction {
            crate::cluster::Direction::Ingress => &self.ingress,
            crate::cluster::Direction::Egress => &self.egress,
        }
    }
}
