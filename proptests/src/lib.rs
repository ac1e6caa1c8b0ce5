//! Property tests for the netreach engine: random clusters ([`generate`]), the places where an
//! engine can go wrong ([`probes`]), and a plain reading of the NetworkPolicy spec to compare
//! against ([`reference`]).

pub mod authz;
pub mod calico;
pub mod cilium;
pub mod generate;
pub mod probes;
pub mod reference;
pub mod show;

use netreach_model::{AllowLocalhost, CniProfile, EngineOptions, HostNetworkSelection, IpBlockPodMatching};

/// Every combination of the engine's options (and each allow-localhost mode in two of them): a
/// property holds under each of them.
pub const ALL_OPTIONS: [EngineOptions; 4] = [
    EngineOptions {
        host_network: HostNetworkSelection::NodeIdentity,
        ip_block_pods: IpBlockPodMatching::Match,
        cni: CniProfile::Auto,
        cilium_allow_localhost: AllowLocalhost::Auto,
    },
    EngineOptions {
        host_network: HostNetworkSelection::NodeIdentity,
        ip_block_pods: IpBlockPodMatching::Ignore,
        cni: CniProfile::Auto,
        cilium_allow_localhost: AllowLocalhost::Policy,
    },
    EngineOptions {
        host_network: HostNetworkSelection::LikePods,
        ip_block_pods: IpBlockPodMatching::Match,
        cni: CniProfile::Auto,
        cilium_allow_localhost: AllowLocalhost::Always,
    },
    EngineOptions {
        host_network: HostNetworkSelection::LikePods,
        ip_block_pods: IpBlockPodMatching::Ignore,
        cni: CniProfile::Auto,
        cilium_allow_localhost: AllowLocalhost::Policy,
    },
];
