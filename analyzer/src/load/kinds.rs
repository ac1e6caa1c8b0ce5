//! Kinds netreach reads no answer from: counted, and — when they are policies that decide
//! traffic — never silent. A policy that is not evaluated makes answers wrong in one
//! direction (what it denies is reported as allowed), so each one becomes a warning that `-q`
//! does not hide, and every JSON output lists them (`unevaluatedPolicies`).

use super::documents::RawObject;
use super::{LoadError, LoadReport};
use netreach_model::{Cluster, UnevaluatedPolicy};
use std::collections::BTreeMap;

const DENIES: &str = "traffic they deny is reported as allowed";
const MESH: &str = "requests the mesh denies are reported as allowed";

/// Network-policy-like kinds, by API group and kind, with what leaving them out means.
/// (Group only: every version of these groups holds the same kinds.) Cluster-scoped kinds are
/// those whose name says Global, Cluster or Clusterwide.
const POLICY_KINDS: &[(&str, &str, &str)] = &[
    // cilium.io/v2 CiliumNetworkPolicy and CiliumClusterwideNetworkPolicy are evaluated
    // (load/cilium); other versions are not.
    ("cilium.io", "CiliumNetworkPolicy", DENIES),
    ("cilium.io", "CiliumClusterwideNetworkPolicy", DENIES),
    ("cilium.io", "CiliumCIDRGroup", "the CIDR groups Cilium policies name are unknown"),
    // projectcalico.org/v3 and crd.projectcalico.org/v1 NetworkPolicy, GlobalNetworkPolicy,
    // Tier, NetworkSet, GlobalNetworkSet and the staged kinds are read (load/calico); host
    // endpoints are not: Calico policies selecting host interfaces, and what they do to traffic
    // to or from the node, are not in the answers.
    ("projectcalico.org", "HostEndpoint", "policies on host interfaces (traffic to and from nodes) are not evaluated"),
    (
        "crd.projectcalico.org",
        "HostEndpoint",
        "policies on host interfaces (traffic to and from nodes) are not evaluated",
    ),
    ("crd.antrea.io", "NetworkPolicy", DENIES),
    ("crd.antrea.io", "ClusterNetworkPolicy", DENIES),
    ("security.antrea.tanzu.vmware.com", "NetworkPolicy", DENIES),
    ("security.antrea.tanzu.vmware.com", "ClusterNetworkPolicy", DENIES),
    ("k8s.cni.cncf.io", "MultiNetworkPolicy", "traffic on secondary (Multus) networks is not analyzed"),
    ("security.istio.io", "AuthorizationPolicy", MESH),
    ("policy.linkerd.io", "Server", MESH),
    ("policy.linkerd.io", "ServerAuthorization", MESH),
    ("policy.linkerd.io", "AuthorizationPolicy", MESH),
    ("consul.hashicorp.com", "ServiceIntentions", MESH),
    ("k8s.ovn.org", "EgressFirewall", DENIES),
    ("network.openshift.io", "EgressNetworkPolicy", DENIES),
    ("networking.gke.io", "FQDNNetworkPolicy", DENIES),
];

/// Objects that are not cluster state but tell what the input is: a hint says what to do.
const BUILD_FILES: &[(&str, &str, &str)] = &[
    ("kustomize.config.k8s.io", "Kustomization", "a kustomize file, not an object: render the folder with `kubectl kustomize DIR | netreach connectivity -`"),
    ("kustomize.config.k8s.io", "Component", "a kustomize component, not an object: render the kustomization that uses it with `kubectl kustomize DIR | netreach connectivity -`"),
];

/// A kind that is not read: counted in the report; a policy kind is recorded in the cluster;
/// a build file gets a hint. The pre-1.3 alpha policy format is an error, never skipped.
pub(super) fn note_unread(
    api_version: &str,
    kind: &str,
    raw: &RawObject,
    report: &mut LoadReport,
    cluster: &mut Cluster,
) -> Result<(), LoadError> {
    let group = api_version.rsplit_once('/').map_or("", |(g, _)| g);
    if group == "net.alpha.kubernetes.io" {
        return Err(LoadError::Invalid {
            origin: raw.origin.clone(),
            object: format!("{kind} {}", raw.head.name.as_str().unwrap_or("")),
            field: "apiVersion".into(),
            message: format!(
                "{api_version} is the alpha network policy format of Kubernetes 1.2 (allowIncoming, toPorts), which no API server serves: rewrite it as a networking.k8s.io/v1 NetworkPolicy"
            ),
        });
    }
    *report.skipped.entry(format!("{kind} ({api_version})")).or_default() += 1;
    let (_, namespace, name) = super::convert::identity(&raw.head);
    if (group, kind) == ("networking.istio.io", "ServiceEntry") {
        egress_waypoint(raw, &namespace, &name, report);
    }
    if let Some((_, _, hint)) = BUILD_FILES.iter().find(|(g, k, _)| *g == group && *k == kind) {
        report.warnings.push(format!("{}: {kind} is {hint}", raw.origin));
    }
    if let Some((_, _, effect)) = POLICY_KINDS.iter().find(|(g, k, _)| *g == group && *k == kind) {
        let cluster_scoped = kind.starts_with("Global")
            || kind.contains("Cluster")
            || matches!(kind, "Tier" | "CiliumCIDRGroup" | "HostEndpoint");
        cluster.unevaluated_policies.push(UnevaluatedPolicy {
            kind: kind.to_string(),
            api_version: api_version.to_string(),
            namespace: (!cluster_scoped).then(|| namespace.clone()),
            name: name.clone(),
            effect,
        });
    }
    report.skipped_objects.push(super::SkippedObject {
        api_version: api_version.into(),
        kind: kind.into(),
        namespace,
        name,
    });
    Ok(())
}

/// One warning per unevaluated kind: how many, and what the answers miss.
pub(super) fn warn_unevaluated(cluster: &Cluster, report: &mut LoadReport) {
    let mut by_kind: BTreeMap<(&str, &str, &str), usize> = BTreeMap::new();
    for p in &cluster.unevaluated_policies {
        *by_kind.entry((p.kind.as_str(), p.api_version.as_str(), p.effect)).or_default() += 1;
    }
    for ((kind, api_version, effect), count) in by_kind {
        // Istio AuthorizationPolicies are evaluated by `mesh`: the effect says where.
        let why = if effect == super::authz::MESH_ONLY { "" } else { "netreach does not evaluate this kind yet, so " };
        report.unevaluated.push(format!("the answers ignore {count} {kind} object(s) ({api_version}): {why}{effect}"));
    }
}

/// A ServiceEntry labelled `istio.io/use-waypoint` sends the traffic to its hosts through an
/// egress waypoint (istio.io, ambient "Egress gateways" task); netreach reads no ServiceEntry,
/// so it says what the answers miss.
fn egress_waypoint(raw: &RawObject, namespace: &str, name: &str, report: &mut LoadReport) {
    use netreach_model::mesh::waypoint::USE_WAYPOINT;
    let body = raw.body.clone().into_value();
    let Some(waypoint) = super::convert::at_path(&body, &["metadata", "labels", USE_WAYPOINT]).and_then(|v| v.as_str())
    else {
        return;
    };
    if waypoint != "none" {
        report.warnings.push(format!("{}: ServiceEntry {namespace}/{name} names waypoint {waypoint} ({USE_WAYPOINT}): egress waypoints are not modelled (netreach reads no ServiceEntry), so the AuthorizationPolicies of that waypoint are not applied to traffic leaving for the entry's hosts", raw.origin));
    }
}
