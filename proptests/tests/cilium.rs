//! The engine against the reference reading of Cilium policies (proptests/src/cilium.rs) on
//! random CiliumNetworkPolicy/CiliumClusterwideNetworkPolicy mixes over random clusters (with
//! NetworkPolicies and an admin tier policy now and then): every pod pair, and pods against
//! sample external addresses, at every protocol and interesting port, under every option set
//! (the Cilium profile overrides two of them).

use netreach_model::{Cluster, Endpoint, IpFamily, Protocol, Reachability};
use netreach_proptests::reference::{self, Addr};
use netreach_proptests::{generate, probes, show, ALL_OPTIONS};
use proptest::prelude::*;

fn check(cluster: &Cluster) -> Result<(), String> {
    let ports = probes::ports(cluster);
    let external_ips = probes::external_ips(cluster);
    let families = probes::families(cluster);
    for options in ALL_OPTIONS {
        let reach = Reachability::compute(cluster, &options);
        let mut pairs: Vec<((Endpoint, Addr), (Endpoint, Addr))> = Vec::new();
        let n = cluster.pods.len();
        let pod = |i: usize| (Endpoint::Pod(i as u32), Addr::Pod(i));
        for s in 0..n {
            for d in 0..n {
                pairs.push((pod(s), pod(d)));
            }
        }
        for ip in external_ips.iter().filter(|ip| families.contains(&IpFamily::of(ip))) {
            let Some(j) = reach.externals().iter().position(|e| e.ranges.contains(ip)) else {
                return Err(format!("{ip} is in no external range"));
            };
            let ext = (Endpoint::External(j as u32), Addr::External(*ip));
            for p in 0..n {
                pairs.push((pod(p), ext));
                pairs.push((ext, pod(p)));
            }
        }
        for (src, dst) in pairs {
            let engine = reach.allowed(src.0, dst.0);
            for protocol in Protocol::ALL {
                for &port in &ports {
                    let expected = reference::allowed(cluster, &options, &src.1, &dst.1, protocol, port);
                    if engine.contains(protocol, port) != expected {
                        return Err(format!(
                            "{options:?}: {:?} -> {:?} {protocol} {port}: engine {}, reference {expected} (engine allows {engine})",
                            src.1,
                            dst.1,
                            !expected
                        ));
                    }
                    // The explanation agrees with the verdict (denies and Cilium isolation included).
                    if port == ports[ports.len() / 2] {
                        let explanation = reach.explain(src.0, dst.0, protocol, port);
                        if explanation.allowed() != expected {
                            return Err(format!(
                                "{options:?}: explain {:?} -> {:?} {protocol} {port}: {explanation:?}",
                                src.1, dst.1
                            ));
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
        cases: std::env::var("NETREACH_PROPTEST_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(300),
        failure_persistence: Some(Box::new(proptest::test_runner::FileFailurePersistence::WithSource("proptest-regressions"))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn engine_agrees_with_reference_on_cilium_policies(cluster in generate::cilium_cluster()) {
        check(&cluster).map_err(|e| TestCaseError::fail(format!("{e}\n{}\n{:#?}", show::describe(&cluster), cluster.cilium_policies)))?;
    }
}
