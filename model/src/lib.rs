//! netreach-model: the cluster model and the exact NetworkPolicy reachability engine.
//!
//! This crate performs no I/O and never sees YAML: loaders build a [`Cluster`], and
//! [`Reachability::compute`] answers who can reach whom, on which ports, and why.

pub mod addresses;
pub mod admin;
pub mod calico;
pub mod cilium;
pub mod cluster;
pub mod engine;
pub mod entrypoints;
pub mod identity;
pub mod infrastructure;
pub mod labels;
pub mod mesh;
pub mod networkpolicy;
pub mod parallel;
pub mod ports;
#[doc(hidden)]
pub mod rng;

pub use addresses::{IpBlock, IpBlockError, IpFamily, IpRanges};
pub use admin::{
    Action, ClusterPeer, ClusterPolicy, ClusterPolicyKind, ClusterPort, ClusterRule, ClusterSubject, Tier,
};
pub use cilium::{
    AllowLocalhost, CiliumPeer, CiliumPolicy, CiliumPolicyKind, CiliumPort, CiliumRule, CiliumRuleRef, CiliumSubject,
    CniProfile, Entity, Section,
};
pub use cluster::{
    Cluster, ContainerPort, Direction, Namespace, Node, Pod, Service, ServicePort, UnevaluatedPolicy, WorkloadRef,
    NAMESPACE_NAME_LABEL,
};
pub use engine::lateral::{EntrySeed, HopKind, LateralReach, Parent, MAX_HOPS};
pub use engine::{
    ordered_pairs, CommonRanges, ConnectionCounts, Decider, DirectionVerdict, EgressDeciders, Endpoint, EngineOptions,
    EngineStats, Explanation, ExternalRange, GrantOrigin, HostNetworkSelection, IpBlockPodMatching, Reachability,
    RuleEvaluation, RuleRef, TierFindings, TierMatch,
};
pub use infrastructure::{Destination, InfraDestination};
pub use labels::{LabelSelector, Labels, Operator, Requirement, SelectorError};
pub use mesh::{MeshConfig, MeshKind, MeshOptions, MtlsMode, PeerAuthentication};
pub use networkpolicy::{NetworkPolicy, Peer, PortEntry, PortSpec, Rule};
pub use ports::{PortParseError, PortRange, PortSet, Protocol};
