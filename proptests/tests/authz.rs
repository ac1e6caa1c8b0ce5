//! Istio AuthorizationPolicy in the mesh view against a pair-by-pair reading, on random meshed
//! clusters with random policies: authorization only narrows what NetworkPolicy allows (it never
//! adds a port, never changes an mTLS status), its decisions partition the allowed ports, and
//! the verdict the view computes per group of sources and destinations is the one the rules give
//! for each pod pair and port.

use netreach::mesh::MeshView;
use netreach::Analysis;
use netreach_model::mesh::authz::{self as rules, AuthzDecision, AuthzPeer, AuthzTarget, Layer};
use netreach_model::mesh::{MeshKind, MeshOptions, MtlsStatus};
use netreach_model::{Cluster, EngineOptions, PortSet, Protocol};
use netreach_proptests::authz::{self, ROOT};
use proptest::prelude::*;

/// TCP ports probed: the rules' ports, their neighbours and the ends.
const PROBES: [u16; 9] = [1, 79, 80, 81, 443, 8080, 8081, 9999, 65535];

/// The decision the rules give for one pod pair, port and mTLS status.
fn reference(cluster: &Cluster, s: usize, d: usize, status: MtlsStatus, port: u16) -> AuthzDecision {
    let policies = &cluster.mesh.authorization_policies;
    if policies.is_empty() {
        return AuthzDecision::NO_POLICY;
    }
    let (src, dst) = (&cluster.pods[s], &cluster.pods[d]);
    let mesh = authz::mesh_of(cluster, dst);
    if !mesh.is_istio() {
        return AuthzDecision::NOT_ENFORCED;
    }
    let identity = matches!(status, MtlsStatus::Mtls | MtlsStatus::Permissive)
        .then_some((src.namespace.as_str(), src.service_account.as_str()));
    let source_in = |c: &ipnet::IpNet| src.ips.iter().any(|ip| c.contains(ip));
    let destination_in = |c: &ipnet::IpNet| dst.ips.iter().any(|ip| c.contains(ip));
    let peer = AuthzPeer { identity, source_in: &source_in };
    let target = AuthzTarget { port, destination_in: &destination_in };
    // Generated clusters have no Services: a sidecar's ports are left to protocol sniffing.
    let layer = if mesh == MeshKind::IstioSidecar { Layer::Http } else { Layer::Tcp };
    rules::decide(policies, &authz::enforced_on(cluster, dst), rules::DEFAULT_TRUST_DOMAIN, &peer, &target, layer)
}

fn check(cluster: Cluster) -> Result<(), TestCaseError> {
    let options = MeshOptions { istio_root_namespace: ROOT.into(), ..Default::default() };
    let analysis = Analysis::new(cluster.clone(), &EngineOptions::default());
    let view = MeshView::new(&analysis, options.clone());
    let mut bare = cluster.clone();
    bare.mesh.authorization_policies.clear();
    let bare_analysis = Analysis::new(bare, &EngineOptions::default());
    let bare_view = MeshView::new(&bare_analysis, options);
    let reach = &analysis.reach;
    let tcp = PortSet::all_of(Protocol::Tcp);
    for s in 0..cluster.pods.len() {
        for d in 0..cluster.pods.len() {
            let allowed = reach.allowed(reach.endpoint(s), reach.endpoint(d));
            let split = view.between(s, d);
            prop_assert_eq!(&*split, &*bare_view.between(s, d), "{} -> {}: statuses", s, d);
            let mut covered = PortSet::empty();
            for (status, ports) in split.iter() {
                let decisions = view.authz_between(s, d, *status, ports);
                let mut union = PortSet::empty();
                for (decision, part) in decisions.iter() {
                    prop_assert!(union.intersection(part).is_empty(), "{} -> {}: decisions overlap", s, d);
                    union.union_with(part);
                    for &port in PROBES.iter().filter(|&&p| part.contains(Protocol::Tcp, p)) {
                        let expected = reference(&cluster, s, d, *status, port);
                        prop_assert_eq!(*decision, expected, "{} -> {} TCP {} ({})", s, d, port, status);
                    }
                    // UDP and SCTP are never intercepted.
                    if !part.difference(&tcp).is_empty() && !cluster.mesh.authorization_policies.is_empty() {
                        prop_assert_eq!(*decision, AuthzDecision::NOT_ENFORCED, "{} -> {}: non-TCP ports", s, d);
                    }
                }
                prop_assert_eq!(&union, ports, "{} -> {}: decisions cover the status's ports", s, d);
                covered.union_with(&union);
            }
            // Authorization never adds a port to what NetworkPolicy allows.
            prop_assert_eq!(&covered, &allowed, "{} -> {}", s, d);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 192, ..ProptestConfig::default() })]

    #[test]
    fn authorization_only_narrows_and_agrees_with_the_rules(cluster in authz::mesh_cluster(4)) {
        check(cluster)?;
    }
}
