//! The engine against the reference reading of Calico policies (proptests/src/calico.rs) on
//! random tiered Calico + Kubernetes mixes: every pod pair, and pods against sample external
//! addresses, at every protocol and interesting port, under every option set (the Calico
//! profile overrides two of them); `explain` agrees with every verdict it is asked about.

use netreach_model::Cluster;
use netreach_proptests::calico::strategies::calico_cluster;
use netreach_proptests::{probes, show};
use proptest::prelude::*;

fn check(cluster: &Cluster) -> Result<(), String> {
    // The generic probes, plus the edges of every Calico port range, network and network set.
    let mut ports = probes::ports(cluster);
    let rules = cluster.calico.policies.iter().flat_map(|p| p.ingress.iter().chain(&p.egress));
    let entities: Vec<_> = rules.flat_map(|r| [&r.source, &r.destination]).collect();
    for port in entities.iter().flat_map(|e| e.ports.iter().chain(&e.not_ports)) {
        if let netreach_model::calico::CalicoPort::Range(lo, hi) = port {
            ports.extend([lo.saturating_sub(1).max(1), *lo, *hi, hi.saturating_add(1)]);
        }
    }
    ports.sort_unstable();
    ports.dedup();
    let mut externals = probes::external_ips(cluster);
    let set_nets = cluster.calico.network_sets.iter().flat_map(|set| &set.nets);
    for net in entities.iter().flat_map(|e| e.nets.iter().chain(&e.not_nets)).chain(set_nets) {
        externals.extend([net.cidr.network(), net.cidr.broadcast()]);
    }
    externals.sort_unstable();
    externals.dedup();
    probes::engine_agrees_with_reference(cluster, &ports, &externals)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("NETREACH_PROPTEST_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(200),
        failure_persistence: Some(Box::new(proptest::test_runner::FileFailurePersistence::WithSource("proptest-regressions"))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn engine_agrees_with_reference_on_tiered_calico_policies(cluster in calico_cluster()) {
        check(&cluster).map_err(|e| TestCaseError::fail(format!("{e}\n{}\n{:#?}\n{:#?}\n{:#?}", show::describe(&cluster), cluster.calico.tiers, cluster.calico.policies, cluster.calico.network_sets)))?;
    }
}
