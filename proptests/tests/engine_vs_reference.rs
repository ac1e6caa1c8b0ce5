//! The engine against the reference reading of the spec, on random clusters (NetworkPolicies and
//! cluster-scoped Admin/Baseline tiers), under every combination of `EngineOptions`: every
//! ordered pod pair, every protocol, every interesting port; pods against sample external
//! addresses (node addresses and `networks` edges included); and `explain` against `allowed`
//! and the reference (each direction's verdict, isolating policies, deciding tier rules).

use netreach_model::{Cluster, Direction, Endpoint, EngineOptions, IpFamily, Protocol, Reachability, Tier};
use netreach_proptests::reference::{self, Addr};
use netreach_proptests::ALL_OPTIONS;
use netreach_proptests::{generate, probes, show};
use proptest::prelude::*;
use std::collections::BTreeSet;

/// `explain` is checked on one probe in this many (it walks every grant).
const EXPLAIN_EVERY: usize = 13;

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
                if self.probes.is_multiple_of(EXPLAIN_EVERY) {
                    self.explain(src, dst, protocol, port, got)?;
                }
            }
        }
        Ok(())
    }

    /// `explain` must agree with `allowed`, each direction with the reference, and its
    /// `isolated_by` with the reference's isolating policies.
    fn explain(
        &self,
        src: (Endpoint, Addr),
        dst: (Endpoint, Addr),
        protocol: Protocol,
        port: u16,
        allowed: bool,
    ) -> Result<(), String> {
        let explanation = self.reach.explain(src.0, dst.0, protocol, port);
        let context = || format!("{:?}: explain({:?} -> {:?} {protocol} {port})", self.options, src.1, dst.1);
        if explanation.allowed() != allowed {
            return Err(format!(
                "{}: allowed() {} but allowed says {allowed}\n{explanation:?}",
                context(),
                explanation.allowed()
            ));
        }
        for (direction, verdict, subject) in
            [(Direction::Egress, &explanation.egress, &src.1), (Direction::Ingress, &explanation.ingress, &dst.1)]
        {
            let expected =
                reference::direction_allows(self.cluster, &self.options, direction, &src.1, &dst.1, protocol, port);
            if verdict.allows() != expected {
                return Err(format!(
                    "{}: {direction:?} allows {} but reference {expected}\n{explanation:?}",
                    context(),
                    verdict.allows()
                ));
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
            // The first matching rule of each tier: same policy, rule and action.
            let (subject, peer) = match direction {
                Direction::Egress => (&src.1, &dst.1),
                Direction::Ingress => (&dst.1, &src.1),
            };
            for (tier, got) in [(Tier::Admin, verdict.admin), (Tier::Baseline, verdict.baseline)] {
                let expected = match subject {
                    Addr::Pod(i) => reference::tier_decision(
                        self.cluster,
                        &self.options,
                        tier,
                        direction,
                        *i,
                        peer,
                        &dst.1,
                        protocol,
                        port,
                    ),
                    Addr::External(_) => None,
                };
                let got = got.map(|m| (m.tier, m.policy as usize, m.rule as usize, m.action));
                let expected = expected.map(|d| (tier, d.policy, d.rule, d.action));
                if got != expected {
                    return Err(format!(
                        "{}: {direction:?} {tier:?} match {got:?} but reference {expected:?}",
                        context()
                    ));
                }
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
        return Err(format!(
            "duplicate external ids: {:?}",
            reach.externals().iter().map(|e| &e.id).collect::<Vec<_>>()
        ));
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
                return Err(format!(
                    "{ip} is in {} external ranges (expected {expected_owners}): {owners:?}",
                    owners.len()
                ));
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

/// 1000 cases, or `NETREACH_PROPTEST_CASES` for longer hunts (cluster policies made each case
/// about 2.5 times dearer: 2000 cases no longer fit the suite's minute).
fn cases(default: u32) -> u32 {
    std::env::var("NETREACH_PROPTEST_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(default)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(1000),
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
        cases: cases(1000) / 20,
        failure_persistence: Some(Box::new(proptest::test_runner::FileFailurePersistence::WithSource("proptest-regressions"))),
        ..ProptestConfig::default()
    })]

    /// Fewer, larger clusters: more pods per equivalence class and more classes per policy.
    #[test]
    fn engine_agrees_with_reference_on_larger_clusters(cluster in generate::cluster_sized(24, 10)) {
        check_cluster(&cluster).map_err(|e| TestCaseError::fail(format!("{e}\n{}", show::describe(&cluster))))?;
    }
}

/// What the reference decided for one cluster, under the default options: per probe (pod pairs
/// and pods against sample externals, every protocol and interesting port) and direction.
#[derive(Default)]
struct TierCoverage {
    admin_allow: bool,
    admin_deny: bool,
    admin_pass: bool,
    baseline_deny: bool,
    baseline_allow_or_pass: bool,
    /// A networks peer matched a pod, a nodes peer matched a pod or a node address.
    networks_pod: bool,
    nodes: bool,
    /// Two policies of one tier with the same priority.
    tie: bool,
}

fn tier_coverage(cluster: &Cluster) -> TierCoverage {
    use netreach_model::{Action, ClusterPeer};
    let options = EngineOptions::default();
    let mut c = TierCoverage::default();
    let ps = &cluster.cluster_policies;
    c.tie =
        ps.iter().enumerate().any(|(i, a)| ps[i + 1..].iter().any(|b| a.tier == b.tier && a.priority == b.priority));
    let n = cluster.pods.len();
    let mut ends: Vec<Addr> = (0..n).map(Addr::Pod).collect();
    ends.extend(probes::external_ips(cluster).into_iter().map(Addr::External));
    let ports = probes::ports(cluster);
    for s in 0..n {
        for d in &ends {
            for peer in ps.iter().flat_map(|p| &p.egress).flat_map(|r| &r.peers) {
                if reference::cluster_peer_matches(cluster, &options, peer, d) {
                    c.networks_pod |= matches!((peer, d), (ClusterPeer::Networks(_), Addr::Pod(_)));
                    c.nodes |= matches!(peer, ClusterPeer::Nodes(_));
                }
            }
            for protocol in Protocol::ALL {
                for &port in &ports {
                    // The pod `s` as the subject: the source for egress, the destination for ingress.
                    for direction in [Direction::Egress, Direction::Ingress] {
                        let (subject, peer) = (s, d);
                        let dst = if direction == Direction::Egress { *d } else { Addr::Pod(s) };
                        let decide = |tier| {
                            reference::tier_decision(
                                cluster, &options, tier, direction, subject, peer, &dst, protocol, port,
                            )
                            .map(|t| t.action)
                        };
                        let admin = decide(Tier::Admin);
                        match admin {
                            Some(Action::Allow) => c.admin_allow = true,
                            Some(Action::Deny) => c.admin_deny = true,
                            Some(Action::Pass) => c.admin_pass = true,
                            None => {}
                        }
                        if matches!(admin, Some(Action::Allow | Action::Deny))
                            || !reference::isolating_policies(cluster, &options, subject, direction).is_empty()
                        {
                            continue;
                        }
                        match decide(Tier::Baseline) {
                            Some(Action::Deny) => c.baseline_deny = true,
                            Some(Action::Allow | Action::Pass) => c.baseline_allow_or_pass = true,
                            None => {}
                        }
                    }
                }
            }
        }
    }
    c
}

/// Not a property: how much the main property looks at, to keep the generators honest
/// (run with `--nocapture` to see the figures).
#[test]
fn generators_reach_the_interesting_cases() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = generate::cluster();
    let (mut probes, mut isolated, mut allowed_some, mut denied_some, mut named, mut v6, mut host) =
        (0, 0, 0, 0, 0, 0, 0);
    let (mut tiered, mut node_externals, mut network_edges) = (0, 0, 0);
    let mut tiers = [0usize; 8];
    let cases = 120;
    for _ in 0..cases {
        let cluster = strategy.new_tree(&mut runner).unwrap().current();
        probes += check_cluster(&cluster).expect("agreement");
        let options = EngineOptions::default();
        let n = cluster.pods.len();
        let isolated_pods = (0..n)
            .filter(|&i| !reference::isolating_policies(&cluster, &options, i, Direction::Ingress).is_empty())
            .count();
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
        tiered += usize::from(!cluster.cluster_policies.is_empty());
        let externals = probes::external_ips(&cluster);
        node_externals += usize::from(
            probes::names_nodes(&cluster) && probes::node_addresses(&cluster).iter().any(|a| externals.contains(a)),
        );
        network_edges += usize::from(
            probes::networks(&cluster)
                .iter()
                .any(|b| externals.contains(&b.cidr.network()) && externals.contains(&b.cidr.broadcast())),
        );
        let t = tier_coverage(&cluster);
        for (count, hit) in tiers.iter_mut().zip([
            t.admin_allow,
            t.admin_deny,
            t.admin_pass,
            t.baseline_deny,
            t.baseline_allow_or_pass,
            t.networks_pod,
            t.nodes,
            t.tie,
        ]) {
            *count += usize::from(hit);
        }
    }
    println!(
        "{cases} clusters: {probes} probes; with an isolated pod {isolated}, with a partially allowed pair {allowed_some}, \
         with a fully denied pair {denied_some}, with named ports {named}, with IPv6 pods {v6}, with hostNetwork pods {host}"
    );
    println!(
        "with cluster policies {tiered}; deciding: admin Allow {}, admin Deny {}, admin Pass {}, baseline Deny {}, \
         baseline Allow/Pass {}; networks matching a pod {}, nodes matching {}, same-priority ties {}; \
         node addresses among sample externals {node_externals}, networks edges among them {network_edges}",
        tiers[0], tiers[1], tiers[2], tiers[3], tiers[4], tiers[5], tiers[6], tiers[7]
    );
    assert!(isolated > cases / 3 && allowed_some > cases / 10 && denied_some > cases / 10);
    assert!(named > cases / 4 && v6 > cases / 5 && host > cases / 5);
    assert!(tiered > cases / 2 && tiers.iter().all(|&t| t > cases / 20), "{tiers:?}");
    assert!(node_externals > cases / 10 && network_edges > cases / 10);
}
