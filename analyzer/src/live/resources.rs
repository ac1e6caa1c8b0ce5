//! What netreach reads from a cluster: exactly these resources, with get/list only (never
//! Secrets, never a write). `deploy/rbac.yaml` grants exactly this list; a test keeps them in
//! step.

/// One resource type that is listed.
#[derive(Clone, Copy, Debug)]
pub struct Resource {
    /// API group, empty for the core group.
    pub group: &'static str,
    /// The versions to use, most preferred first; the first one the cluster serves is read.
    /// Core and built-in groups have one.
    pub versions: &'static [&'static str],
    pub plural: &'static str,
    pub kind: &'static str,
    pub namespaced: bool,
    /// Listed only when discovery (`/apis`) shows the group: CRDs and alpha APIs.
    pub optional: bool,
    /// Not listed when discovery shows this group version: the same objects are served there
    /// (Calico's `projectcalico.org/v3` API over its `crd.projectcalico.org/v1` storage).
    pub superseded_by: Option<&'static str>,
    /// Which answers are incomplete when the credentials may not list it (403).
    pub impact: &'static str,
}

impl Resource {
    /// The path segments `api, v1` or `apis, GROUP, VERSION`.
    pub fn base<'a>(&'a self, version: &'a str) -> Vec<&'a str> {
        if self.group.is_empty() {
            vec!["api", version]
        } else {
            vec!["apis", self.group, version]
        }
    }

    pub fn api_version(&self, version: &str) -> String {
        if self.group.is_empty() {
            version.to_string()
        } else {
            format!("{}/{version}", self.group)
        }
    }

    /// `pods`, `deployments.apps`: the name kubectl and RBAC use.
    pub fn display(&self) -> String {
        if self.group.is_empty() {
            self.plural.to_string()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }
}

const fn core(plural: &'static str, kind: &'static str, namespaced: bool, impact: &'static str) -> Resource {
    Resource { group: "", versions: &["v1"], plural, kind, namespaced, optional: false, superseded_by: None, impact }
}

const fn builtin(
    group: &'static str,
    version: &'static [&'static str],
    plural: &'static str,
    kind: &'static str,
    impact: &'static str,
) -> Resource {
    Resource { group, versions: version, plural, kind, namespaced: true, optional: false, superseded_by: None, impact }
}

const CONTROLLER_IMPACT: &str =
    "their pods are not grouped into workloads, and those without running pods are not analyzed (no template stands in for them)";

/// Everything netreach reads, in the order it is listed and written to snapshots.
pub const RESOURCES: &[Resource] = &[
    core(
        "namespaces",
        "Namespace",
        false,
        "namespace labels are unknown: namespaceSelectors see only the kubernetes.io/metadata.name label",
    ),
    core(
        "nodes",
        "Node",
        false,
        "node addresses are unknown: hostNetwork DaemonSets without running pods get no address, so ipBlocks match none of them",
    ),
    core(
        "pods",
        "Pod",
        true,
        "pods are unknown: only controllers' templates stand in for them (without IPs, so ipBlocks match none) and bare pods are missing",
    ),
    core(
        "services",
        "Service",
        true,
        "Services are unknown: `can` to a Service, exposure through LoadBalancer/NodePort/externalIPs and the entry paths of audit and report are missing",
    ),
    core(
        "serviceaccounts",
        "ServiceAccount",
        true,
        "ServiceAccounts are unknown: their automountServiceAccountToken is taken as true, so attack paths may count tokens that are not mounted",
    ),
    builtin(
        "discovery.k8s.io",
        &["v1"],
        "endpointslices",
        "EndpointSlice",
        "the kube-apiserver's addresses come from the control-plane Nodes (InternalIP, port 6443) instead of Service default/kubernetes",
    ),
    builtin(
        "networking.k8s.io",
        &["v1"],
        "networkpolicies",
        "NetworkPolicy",
        "NetworkPolicies are unknown: every pod looks unisolated, so every connection looks allowed",
    ),
    builtin(
        "networking.k8s.io",
        &["v1"],
        "ingresses",
        "Ingress",
        "Ingresses are unknown: exposure and the audit miss entry paths through ingress controllers",
    ),
    Resource {
        group: "networking.k8s.io",
        versions: &["v1"],
        plural: "ingressclasses",
        kind: "IngressClass",
        namespaced: false,
        optional: false,
        superseded_by: None,
        impact: "IngressClasses are unknown: Ingresses are tied to controller pods by their labels only",
    },
    builtin("apps", &["v1"], "deployments", "Deployment", CONTROLLER_IMPACT),
    builtin("apps", &["v1"], "replicasets", "ReplicaSet", CONTROLLER_IMPACT),
    builtin("apps", &["v1"], "statefulsets", "StatefulSet", CONTROLLER_IMPACT),
    builtin("apps", &["v1"], "daemonsets", "DaemonSet", CONTROLLER_IMPACT),
    builtin("batch", &["v1"], "jobs", "Job", CONTROLLER_IMPACT),
    builtin("batch", &["v1"], "cronjobs", "CronJob", CONTROLLER_IMPACT),
    core("replicationcontrollers", "ReplicationController", true, CONTROLLER_IMPACT),
    Resource {
        group: "policy.networking.k8s.io",
        versions: &["v1alpha1"],
        plural: "adminnetworkpolicies",
        kind: "AdminNetworkPolicy",
        namespaced: false,
        optional: true,
        superseded_by: None,
        impact: "the AdminNetworkPolicy tier is unknown",
    },
    Resource {
        group: "policy.networking.k8s.io",
        versions: &["v1alpha1"],
        plural: "baselineadminnetworkpolicies",
        kind: "BaselineAdminNetworkPolicy",
        namespaced: false,
        optional: true,
        superseded_by: None,
        impact: "the BaselineAdminNetworkPolicy tier is unknown",
    },
    Resource {
        group: "policy.networking.k8s.io",
        versions: &["v1alpha2"],
        plural: "clusternetworkpolicies",
        kind: "ClusterNetworkPolicy",
        namespaced: false,
        optional: true,
        superseded_by: None,
        impact: "the ClusterNetworkPolicy tiers are unknown",
    },
    Resource {
        group: "security.istio.io",
        versions: &["v1", "v1beta1"],
        plural: "peerauthentications",
        kind: "PeerAuthentication",
        namespaced: true,
        optional: true,
        superseded_by: None,
        impact: "Istio PeerAuthentication (mTLS modes) is unknown",
    },
    Resource {
        group: "security.istio.io",
        versions: &["v1", "v1beta1"],
        plural: "authorizationpolicies",
        kind: "AuthorizationPolicy",
        namespaced: true,
        optional: true,
        superseded_by: None,
        impact: "Istio AuthorizationPolicies are unknown: the mesh layer (mesh, can, connectivity --mesh) reports what they deny as allowed",
    },
    Resource {
        group: "cilium.io",
        versions: &["v2"],
        plural: "ciliumnetworkpolicies",
        kind: "CiliumNetworkPolicy",
        namespaced: true,
        optional: true,
        superseded_by: None,
        impact: "CiliumNetworkPolicies are unknown: traffic they deny is reported as allowed",
    },
    Resource {
        group: "cilium.io",
        versions: &["v2"],
        plural: "ciliumclusterwidenetworkpolicies",
        kind: "CiliumClusterwideNetworkPolicy",
        namespaced: false,
        optional: true,
        superseded_by: None,
        impact: "CiliumClusterwideNetworkPolicies are unknown: traffic they deny is reported as allowed",
    },
    gateway("gateways", "Gateway", &["v1", "v1beta1"]),
    gateway("httproutes", "HTTPRoute", &["v1", "v1beta1"]),
    gateway("grpcroutes", "GRPCRoute", &["v1", "v1alpha2"]),
    gateway("tcproutes", "TCPRoute", &["v1alpha2"]),
    gateway("tlsroutes", "TLSRoute", &["v1", "v1alpha3", "v1alpha2"]),
    gateway("udproutes", "UDPRoute", &["v1alpha2"]),
    gateway("referencegrants", "ReferenceGrant", &["v1", "v1beta1", "v1alpha2"]),
    // Cluster-scoped; read for its `istio.io/waypoint-for` label (the traffic type of its waypoints).
    Resource {
        group: "gateway.networking.k8s.io",
        versions: &["v1", "v1beta1"],
        plural: "gatewayclasses",
        kind: "GatewayClass",
        namespaced: false,
        optional: true,
        superseded_by: None,
        impact: "GatewayClasses are unknown: an Istio waypoint without its own istio.io/waypoint-for label is taken to carry Service traffic only",
    },
    calico("networkpolicies", "NetworkPolicy", true),
    calico("globalnetworkpolicies", "GlobalNetworkPolicy", false),
    calico("tiers", "Tier", false),
    calico("networksets", "NetworkSet", true),
    calico("globalnetworksets", "GlobalNetworkSet", false),
    calico("stagednetworkpolicies", "StagedNetworkPolicy", true),
    calico("stagedglobalnetworkpolicies", "StagedGlobalNetworkPolicy", false),
    calico("stagedkubernetesnetworkpolicies", "StagedKubernetesNetworkPolicy", true),
    calico_storage("networkpolicies", "NetworkPolicy", true),
    calico_storage("globalnetworkpolicies", "GlobalNetworkPolicy", false),
    calico_storage("tiers", "Tier", false),
    calico_storage("networksets", "NetworkSet", true),
    calico_storage("globalnetworksets", "GlobalNetworkSet", false),
    calico_storage("stagednetworkpolicies", "StagedNetworkPolicy", true),
    calico_storage("stagedglobalnetworkpolicies", "StagedGlobalNetworkPolicy", false),
    calico_storage("stagedkubernetesnetworkpolicies", "StagedKubernetesNetworkPolicy", true),
    rbac("roles", "Role", true),
    rbac("clusterroles", "ClusterRole", false),
    rbac("rolebindings", "RoleBinding", true),
    rbac("clusterrolebindings", "ClusterRoleBinding", false),
];

/// An RBAC kind, read for attack paths (listed when discovery shows the group, as every API
/// server does; a 403 leaves attack paths without those grants).
const fn rbac(plural: &'static str, kind: &'static str, namespaced: bool) -> Resource {
    Resource {
        group: "rbac.authorization.k8s.io",
        versions: &["v1"],
        plural,
        kind,
        namespaced,
        optional: true,
        superseded_by: None,
        impact: "RBAC grants are unknown: attack paths (paths) miss what ServiceAccount tokens allow",
    }
}

/// A Gateway API kind (an entry point for `exposure`), listed when discovery shows the group.
const fn gateway(plural: &'static str, kind: &'static str, versions: &'static [&'static str]) -> Resource {
    Resource {
        group: "gateway.networking.k8s.io",
        versions,
        plural,
        kind,
        namespaced: true,
        optional: true,
        superseded_by: None,
        impact: "Gateway API objects are unknown: exposure and the audit miss entry paths through Gateways",
    }
}

const CALICO_IMPACT: &str = "Calico policies are unknown: traffic they deny is reported as allowed";

/// A Calico kind from the Calico API server (`projectcalico.org/v3`), which serves the
/// defaulted, validated view of what Calico enforces.
/// <https://docs.tigera.io/calico/latest/operations/install-apiserver>
const fn calico(plural: &'static str, kind: &'static str, namespaced: bool) -> Resource {
    Resource {
        group: "projectcalico.org",
        versions: &["v3"],
        plural,
        kind,
        namespaced,
        optional: true,
        superseded_by: None,
        impact: CALICO_IMPACT,
    }
}

/// The same Calico kind in its CRD storage (`crd.projectcalico.org/v1`), read only on clusters
/// without the Calico API server: where both are served they hold the same objects.
const fn calico_storage(plural: &'static str, kind: &'static str, namespaced: bool) -> Resource {
    Resource {
        group: "crd.projectcalico.org",
        versions: &["v1"],
        plural,
        kind,
        namespaced,
        optional: true,
        superseded_by: Some("projectcalico.org/v3"),
        impact: CALICO_IMPACT,
    }
}

#[cfg(test)]
mod tests {
    use super::RESOURCES;
    use serde::Deserialize;
    use std::collections::BTreeSet;

    #[derive(Deserialize)]
    struct ClusterRole {
        rules: Vec<Rule>,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Rule {
        api_groups: Vec<String>,
        resources: Vec<String>,
        verbs: Vec<String>,
    }

    /// `deploy/rbac.yaml` grants get and list on exactly what is read: nothing more (least
    /// privilege), nothing less (a 403 would leave answers incomplete).
    #[test]
    fn the_shipped_cluster_role_grants_exactly_what_is_read() {
        let text = include_str!("../../../deploy/rbac.yaml");
        let role: ClusterRole = serde_saphyr::from_str(text).expect("deploy/rbac.yaml is a ClusterRole");
        let mut granted = BTreeSet::new();
        for rule in &role.rules {
            assert_eq!(rule.verbs, ["get", "list"], "only get and list, in {:?}", rule.api_groups);
            for group in &rule.api_groups {
                granted.extend(rule.resources.iter().map(|r| (group.clone(), r.clone())));
            }
        }
        let read: BTreeSet<(String, String)> =
            RESOURCES.iter().map(|r| (r.group.to_string(), r.plural.to_string())).collect();
        assert_eq!(granted, read);
    }

    /// A resource superseded by another group version names one that is also read.
    #[test]
    fn a_superseded_resource_has_its_successor_in_the_list() {
        for r in RESOURCES.iter().filter(|r| r.superseded_by.is_some()) {
            let by = r.superseded_by.unwrap();
            assert!(
                RESOURCES.iter().any(|o| o.kind == r.kind && o.versions.iter().any(|v| o.api_version(v) == by)),
                "{} is superseded by {by}, which is not read",
                r.display()
            );
        }
    }
}
