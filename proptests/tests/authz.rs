//! Istio AuthorizationPolicy in the mesh view against a pair-by-pair reading, on random meshed
//! clusters with random policies: authorization only narrows what NetworkPolicy allows (it never
//! adds a port, never changes an mTLS status), its decisions partition the allowed ports, and
//! the verdict the view computes per group of sources and destinations is the one the rules give
//! for each pod pair and port — through ambient waypoints too (policies at the waypoint on the
//! client, then the destination's on the waypoint's identity).

use netreach::mesh::MeshView;
use netreach::Analysis;
use netreach_model::mesh::authz::{self as rules, AuthzDecision, AuthzPeer, AuthzTarget, Enforcement, Layer};
use netreach_model::mesh::{MeshKind, MeshOptions, MtlsStatus};
use netreach_model::{Cluster, EngineOptions, PortSet, Protocol};
use netreach_proptests::authz::{self, ROOT};
use proptest::prelude::*;

/// TCP ports probed: the rules' ports, their neighbours and the ends.
const PROBES: [u16; 9] = [1, 79, 80, 81, 443, 8080, 8081, 9999, 65535];

/// Where a decision was taken, with the waypoint's name instead of the view's route index.
type Place = (&'static str, Option<String>);

/// The decision the rules give for one pod pair, port and mTLS status, and where: directly at
/// the destination; or, for an ambient client whose traffic to the pod goes through a waypoint,
/// at the waypoint (on the client) and then at the destination (on the waypoint's identity).
fn reference(cluster: &Cluster, s: usize, d: usize, status: MtlsStatus, port: u16) -> (AuthzDecision, Place) {
    let policies = &cluster.mesh.authorization_policies;
    let direct = ("destination", None);
    if policies.is_empty() {
        return (AuthzDecision::NO_POLICY, direct);
    }
    let (src, dst) = (&cluster.pods[s], &cluster.pods[d]);
    let mesh = authz::mesh_of(cluster, dst);
    let identity = matches!(status, MtlsStatus::Mtls | MtlsStatus::Permissive)
        .then_some((src.namespace.as_str(), src.service_account.as_str()));
    let source_in = |c: &ipnet::IpNet| src.ips.iter().any(|ip| c.contains(ip));
    let destination_in = |c: &ipnet::IpNet| dst.ips.iter().any(|ip| c.contains(ip));
    let target = AuthzTarget { port, destination_in: &destination_in };
    let at_destination = |peer: &AuthzPeer| {
        if !mesh.is_istio() {
            return AuthzDecision::NOT_ENFORCED;
        }
        // Generated clusters have no Services: a sidecar's ports are left to protocol sniffing.
        let layer = if mesh == MeshKind::IstioSidecar { Layer::Http } else { Layer::Tcp };
        rules::decide(policies, &authz::enforced_on(cluster, dst), rules::DEFAULT_TRUST_DOMAIN, peer, &target, layer)
    };
    let client = AuthzPeer { identity, source_in: &source_in };
    let waypoint =
        authz::workload_waypoint(cluster, dst).filter(|_| authz::mesh_of(cluster, src) == MeshKind::IstioAmbient);
    let Some(gateway) = waypoint else {
        return (at_destination(&client), direct);
    };
    // The waypoint is an Envoy reading HTTP (no Service declares the port TCP); behind it the
    // destination sees the waypoint's ServiceAccount (its name: it has no pods here).
    let at_waypoint = rules::decide(
        policies,
        &authz::enforced_at_waypoint(cluster, gateway),
        rules::DEFAULT_TRUST_DOMAIN,
        &client,
        &target,
        Layer::Http,
    );
    let nowhere = |_: &ipnet::IpNet| false;
    let behind =
        at_destination(&AuthzPeer { identity: Some((&gateway.namespace, &gateway.name)), source_in: &nowhere });
    let decision = rules::through_waypoint(
        at_waypoint.taken_at(Enforcement::Waypoint(0)),
        behind.taken_at(Enforcement::BehindWaypoint(0)),
    );
    let place = if matches!(decision.at, Enforcement::Waypoint(_)) { "waypoint" } else { "behind" };
    (decision.taken_at(Enforcement::Destination), (place, Some(format!("{}/{}", gateway.namespace, gateway.name))))
}

/// A view's decision with its place spelled as [`reference`] spells it.
fn placed(view: &MeshView, d: AuthzDecision) -> (AuthzDecision, Place) {
    let place = match d.at {
        Enforcement::Destination => ("destination", None),
        Enforcement::Waypoint(r) => ("waypoint", Some(view.authz.waypoint_of_route(r))),
        Enforcement::BehindWaypoint(r) => ("behind", Some(view.authz.waypoint_of_route(r))),
    };
    (d.taken_at(Enforcement::Destination), place)
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
                        prop_assert_eq!(placed(&view, *decision), expected, "{} -> {} TCP {} ({})", s, d, port, status);
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
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn authorization_only_narrows_and_agrees_with_the_rules(cluster in authz::mesh_cluster(4)) {
        check(cluster)?;
    }
}
