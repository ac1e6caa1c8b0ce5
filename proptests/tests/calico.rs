//! The engine against the reference reading of Calico policies (proptests/src/calico.rs) on
//! random tiered Calico + Kubernetes mixes: every pod pair, and pods against sample external
//! addresses, at every protocol and interesting port, under every option set (the Calico
//! profile overrides two of them); `explain` agrees with every verdict it is asked about.

use netreach_model::{Cluster, Endpoint, IpFamily, Protocol, Reachability};
use netreach_proptests::calico::strategies::calico_cluster;
use netreach_proptests::reference::{self, Addr};
use netreach_proptests::{probes, show, ALL_OPTIONS};
use proptest::prelude::*;

fn check(cluster: &Cluster) -> Result<(), String> {
    // The generic probes, plus the edges of every Calico port range and network.
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
    let families = probes::families(cluster);
    let mut externals = probes::external_ips(cluster);
    for net in entities.iter().flat_map(|e| e.nets.iter().chain(&e.not_nets)) {
        externals.extend([net.cidr.network(), net.cidr.broadcast()]);
    }
    externals.sort_unstable();
    externals.dedup();
    externals.retain(|ip| families.contains(&IpFamily::of(ip)));
    for options in ALL_OPTIONS {
        let reach = Reachability::compute(cluster, &options);
        let n = cluster.pods.len();
        let pod = |i: usize| (Endpoint::Pod(i as u32), Addr::Pod(i));
        let mut ends: Vec<(Endpoint, Addr)> = (0..n).map(pod).collect();
        for ip in &externals {
            let j = reach.externals().iter().position(|e| e.ranges.contains(ip)).ok_or(format!("{ip}: no range"))?;
            ends.push((Endpoint::External(j as u32), Addr::External(*ip)));
        }
        for src in &ends {
            for dst in &ends {
                if matches!((src.1, dst.1), (Addr::External(_), Addr::External(_))) {
                    continue;
                }
                let engine = reach.allowed(src.0, dst.0);
                for protocol in Protocol::ALL {
                    for &port in &ports {
                        let expected = reference::allowed(cluster, &options, &src.1, &dst.1, protocol, port);
                        if engine.contains(protocol, port) != expected {
                            return Err(format!(
                                "{options:?}: {:?} -> {:?} {protocol} {port}: engine {}, reference {expected}",
                                src.1, dst.1, !expected
                            ));
                        }
                        if port == ports[ports.len() / 2]
                            && reach.explain(src.0, dst.0, protocol, port).allowed() != expected
                        {
                            return Err(format!("{options:?}: explain {:?} -> {:?} {protocol} {port}", src.1, dst.1));
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("NETREACH_PROPTEST_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(200),
        failure_persistence: Some(Box::new(proptest::test_runner::FileFailurePersistence::WithSource("proptest-regressions"))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn engine_agrees_with_reference_on_tiered_calico_policies(cluster in calico_cluster()) {
        check(&cluster).map_err(|e| TestCaseError::fail(format!("{e}\n{}\n{:#?}\n{:#?}", show::describe(&cluster), cluster.calico.tiers, cluster.calico.policies)))?;
    }
}
