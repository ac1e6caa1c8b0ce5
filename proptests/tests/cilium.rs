//! The engine against the reference reading of Cilium policies (proptests/src/cilium.rs) on
//! random CiliumNetworkPolicy/CiliumClusterwideNetworkPolicy mixes over random clusters (with
//! NetworkPolicies and an admin tier policy now and then): every pod pair, and pods against
//! sample external addresses, at every protocol and interesting port, under every option set
//! (the Cilium profile overrides two of them).

use netreach_model::Cluster;
use netreach_proptests::{generate, probes, show};
use proptest::prelude::*;

fn check(cluster: &Cluster) -> Result<(), String> {
    probes::engine_agrees_with_reference(cluster, &probes::ports(cluster), &probes::external_ips(cluster))
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("NETREACH_PROPTEST_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(300),
        failure_persistence: Some(Box::new(proptest::test_runner::FileFailurePersistence::WithSource("proptest-regressions"))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn engine_agrees_with_reference_on_cilium_policies(cluster in generate::cilium_cluster()) {
        check(&cluster).map_err(|e| TestCaseError::fail(format!("{e}\n{}\n{:#?}", show::describe(&cluster), cluster.cilium_policies)))?;
    }
}
