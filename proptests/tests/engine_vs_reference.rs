//! The engine against the reference reading of the spec, on random clusters, under every
//! combination of `EngineOptions`: every ordered pod pair, every protocol, every interesting
//! port; pods against sample external addresses; and `explain` against `allowed`.

use netreach_model::{
    Cluster, Direction, Endpoint, EngineOptions, HostNetworkSelection, IpBlockPodMatching, IpFamily, Protocol,
    Reachability,
};
use netreach_proptests::reference::{self, Addr};
use netreach_proptests::{generate, probes, show};
use proptest::prelude::*;
use std::collections::BTreeSet;

const ALL_OPTIONS: [EngineOptions; 4] = [
    EngineOptions { host_network: HostNetworkSelection::NodeIdentity, ip_block_pods: IpBlockPodMatching::Match },
    EngineOptions { host_network: HostNetworkSelection::NodeIdentity, ip_block_pods: IpBlockPodMatching::Ignore },
    EngineOptions { host_network: HostNetworkSelection::LikePods, ip_block_pods: IpBlockPodMatching::Match },
    EngineOptions { host_network: HostNetworkSelection::LikePods, ip_block_pods: IpBlockPodMatching::Ignore },
];

/// `explain` is checked on one probe in this many (it walks every grant).
const EXPLAIN_EVERY: usize = 7;

struct Checker<'a> {
    cluster: &'a Cluster,
    options: EngineOptions,
    reach: Reachability,
    ports: Vec<u16>,
    probes: usize,
}

impl Checker<'_> {
    /// Compares one (src, dst) at every protocol and interesting port.
    fn pair(&mut self, src: (Endpoint, Addr), dst: (Endpoint, Addr)) -> Result<(), String> {
        let engine = self.reach.allowed(src.0, dst.0);
        for protocol in Protocol::ALL {
            for &port in &self.ports {
                let expected = reference::allowed(self.cluster, &self.options, &src.1, &dst.1, protocol, port);
                let got = engine.contains(protocol, port);
                if got != expected {
                    return Err(format!(
                        "{:?}: {:?} -> {:?} {protocol} {port}: engine {got}, reference {expected} (engine allows {engine})",
                        self.options, src.1, dst.1
                    ));
                }
                self.probes += 1;
                if self.probes % EXPLAIN_EVERY == 0 {
                    self.explain(src, dst, protocol, port, got)?;
                }
            }
        }
        Ok(())
    }

    /// `explain` must agree with `allowed`, each direction with the reference, and its
    /// `isolated_by` with the reference's isolating policies.
    fn explain(&self, src: (Endpoint, Addr), dst: (Endpoint, Addr), protocol: Protocol, port: u16, allowed: bool) -> Result<(), String> {
        let explanation = self.reach.explain(src.0, dst.0, protocol, port);
        let context = || format!("{:?}: explain({:?} -> {:?} {protocol} {port})", self.options, src.1, dst.1);
        if explanation.allowed() != allowed {
            return Err(format!("{}: allowed() {} but allowed says {allowed}\n{explanation:?}", context(), explanation.allowed()));
        }
        for (direction, verdict, subject) in
            [(Direction::Egress, &explanation.egress, &src.1), (Direction::Ingress, &explanation.ingress, &dst.1)]
        {
            let expected =
                reference::direction_allows(self.cluster, &self.options, direction, &src.1, &dst.1, protocol, port);
            if verdict.allows() != expected {
                return Err(format!("{}: {direction:?} allows {} but reference {expected}\n{explanation:?}", context(), verdict.allows()));
            }
            let isolating: Vec<u32> = match subject {
                Addr::Pod(i) => reference::isolating_policies(self.cluster, &self.options, *i, direction)
                    .into_iter()
                    .map(|p| p as u32)
                    .collect(),
                Addr::External(_) => Vec::new(),
            };
            if verdict.isolated_by != isolating {
                return Err(format!(
                    "{}: {direction:?} isolated_by {:?} but reference {isolating:?}",
                    context(),
                    verdict.isolated_by
                ));
            }
        }
        Ok(())
    }
}

/// The external ranges must partition each address family the cluster uses, and only those.
fn check_externals_partition(cluster: &Cluster, reach: &Reachability) -> Result<(), String> {
    let families = probes::families(cluster);
    let ids: BTreeSet<&str> = reach.externals().iter().map(|e| e.id.as_str()).collect();
    if ids.len() != reach.externals().len() {
        return Err(format!("duplicate external ids: {:?}", reach.externals().iter().map(|e| &e.id).collect::<Vec<_>>()));
    }
    for family in [IpFamily::V4, IpFamily::V6] {
        let mut intervals: Vec<(u128, u128)> = reach
            .externals()
            .iter()
            .filter(|e| e.ranges.family == family)
            .flat_map(|e| e.ranges.intervals().iter().copied())
            .collect();
        intervals.sort_unstable();
        if !families.contains(&family) {
            if !intervals.is_empty() {
                return Err(format!("external ranges for unused family {family:?}"));
            }
            continue;
        }
        let top = if family == IpFamily::V4 { u32::MAX as u128 } else { u128::MAX };
        let mut next: Option<u128> = Some(0);
        for &(lo, hi) in &intervals {
            if Some(lo) != next || hi < lo {
                return Err(format!("{family:?} external ranges do not tile the space at {lo:#x}: {intervals:x?}"));
            }
            next = hi.checked_add(1);
        }
        if intervals.last().map(|i| i.1) != Some(top) {
            return Err(format!("{family:?} external ranges stop short: {intervals:x?}"));
        }
    }
    Ok(())
}

/// `for_each_connection` must list exactly the non-empty `allowed` answers between distinct
/// endpoints, external-to-external excluded, in (source, destination) order.
fn check_for_each_connection(reach: &Reachability) -> Result<(), String> {
    let mut listed = Vec::new();
    reach
        .for_each_connection::<std::convert::Infallible>(|s, d, ports| {
            listed.push((s, d, ports.clone()));
            Ok(())
        })
        .unwrap();
    let mut expected = Vec::new();
    for s in 0..reach.endpoint_count() {
        for d in 0..reach.endpoint_count() {
            if s == d || (s >= reach.pod_count() && d >= reach.pod_count()) {
                continue;
            }
            let ports = reach.allowed(reach.endpoint(s), reach.endpoint(d));
            if !ports.is_empty() {
                expected.push((s, d, ports));
            }
        }
    }
    if listed != expected {
        return Err(format!("for_each_connection lists {listed:?}\nbut allowed() gives {expected:?}"));
    }
    Ok(())
}

fn check_cluster(cluster: &Cluster) -> Result<usize, String> {
    let ports = probes::ports(cluster);
    let families = probes::families(cluster);
    let external_ips = probes::external_ips(cluster);
    let mut probes = 0;
    for options in ALL_OPTIONS {
        let reach = Reachability::compute(cluster, &options);
        if reach.pod_count() != cluster.pods.len() {
            return Err(format!("pod_count {} != {}", reach.pod_count(), cluster.pods.len()));
        }
        check_externals_partition(cluster, &reach)?;
        let mut checker = Checker { cluster, options, reach, ports: ports.clone(), probes: 0 };
        let n = cluster.pods.len();
        // Self pairs too: `allowed` documents that it gives the policy answer for them as well.
        for s in 0..n {
            for d in 0..n {
                checker.pair((Endpoint::Pod(s as u32), Addr::Pod(s)), (Endpoint::Pod(d as u32), Addr::Pod(d)))?;
            }
        }
        check_for_each_connection(&checker.reach)?;
        for ip in &external_ips {
            let owners: Vec<usize> = checker
                .reach
                .externals()
                .iter()
                .enumerate()
                .filter(|(_, e)| e.ranges.contains(ip))
                .map(|(j, _)| j)
                .collect();
            let expected_owners = usize::from(families.contains(&IpFamily::of(ip)));
            if owners.len() != expected_owners {
                return Err(format!("{ip} is in {} external ranges (expected {expected_owners}): {owners:?}", owners.len()));
            }
            let Some(&j) = owners.first() else { continue };
            let ext = (Endpoint::External(j as u32), Addr::External(*ip));
            for p in 0..n {
                let pod = (Endpoint::Pod(p as u32), Addr::Pod(p));
                checker.pair(pod, ext)?;
                checker.pair(ext, pod)?;
            }
        }
        probes += checker.probes;
    }
    Ok(probes)
}

/// 2000 cases, or `NETREACH_PROPTEST_CASES` for longer hunts.
fn cases(default: u32) -> u32 {
    std::env::var("NETREACH_PROPTEST_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(default)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(2000),
        failure_persistence: Some(Box::new(proptest::test_runner::FileFailurePersistence::WithSource("proptest-regressions"))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn engine_agrees_with_reference(cluster in generate::cluster()) {
        check_cluster(&cluster).map_err(|e| TestCaseError::fail(format!("{e}\n{}", show::describe(&cluster))))?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(2000) / 20,
        failure_persistence: Some(Box::new(proptest::test_runner::FileFailurePersistence::WithSource("proptest-regressions"))),
        ..ProptestConfig::default()
    })]

    /// Fewer, larger clusters: more pods per equivalence class and more classes per policy.
    #[test]
    fn engine_agrees_with_reference_on_larger_clusters(cluster in generate::cluster_sized(24, 10)) {
        check_cluster(&cluster).map_err(|e| TestCaseError::fail(format!("{e}\n{}", show::describe(&cluster))))?;
    }
}

/// Not a property: how much the main property looks at, to keep the generators honest
/// (run with `--nocapture` to see the figures).
#[test]
fn generators_reach_the_interesting_cases() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = generate::cluster();
    let (mut probes, mut isolated, mut allowed_some, mut denied_some, mut named, mut v6, mut host) = (0, 0, 0, 0, 0, 0, 0);
    let cases = 300;
    for _ in 0..cases {
        let cluster = strategy.new_tree(&mut runner).unwrap().current();
        probes += check_cluster(&cluster).expect("agreement");
        let options = EngineOptions::default();
        let n = cluster.pods.len();
        let isolated_pods =
            (0..n).filter(|&i| !reference::isolating_policies(&cluster, &options, i, Direction::Ingress).is_empty()).count();
        isolated += usize::from(isolated_pods > 0);
        let reach = Reachability::compute(&cluster, &options);
        let pairs: Vec<_> = (0..n).flat_map(|s| (0..n).map(move |d| (s, d))).filter(|(s, d)| s != d).collect();
        allowed_some += usize::from(pairs.iter().any(|&(s, d)| {
            let p = reach.allowed(Endpoint::Pod(s as u32), Endpoint::Pod(d as u32));
            !p.is_empty() && !p.is_all()
        }));
        denied_some += usize::from(
            pairs.iter().any(|&(s, d)| reach.allowed(Endpoint::Pod(s as u32), Endpoint::Pod(d as u32)).is_empty()),
        );
        named += usize::from(format!("{:?}", cluster.policies).contains("Name("));
        v6 += usize::from(cluster.pods.iter().flat_map(|p| &p.ips).any(|ip| ip.is_ipv6()));
        host += usize::from(cluster.pods.iter().any(|p| p.host_network));
    }
    println!(
        "{cases} clusters: {probes} probes; with an isolated pod {isolated}, with a partially allowed pair {allowed_some}, \
         with a fully denied pair {denied_some}, with named ports {named}, with IPv6 pods {v6}, with hostNetwork pods {host}"
    );
    assert!(isolated > cases / 3 && allowed_some > cases / 10 && denied_some > cases / 10);
    assert!(named > cases / 4 && v6 > cases / 5 && host > cases / 5);
}
