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
    Resource { group: "", versions: &["v1"], plural, kind, namespaced, optional: false, impact }
}

const fn builtin(
    group: &'static str,
    version: &'static [&'static str],
    plural: &'static str,
    kind: &'static str,
    impact: &'static str,
) -> Resource {
    Resource { group, versions: version, plural, kind, namespaced: true, optional: false, impact }
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
    core("services", "Service", true, "services are unknown (no answer uses them yet)"),
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
        impact: "the AdminNetworkPolicy tier is unknown",
    },
    Resource {
        group: "policy.networking.k8s.io",
        versions: &["v1alpha1"],
        plural: "baselineadminnetworkpolicies",
        kind: "BaselineAdminNetworkPolicy",
        namespaced: false,
        optional: true,
        impact: "the BaselineAdminNetworkPolicy tier is unknown",
    },
    Resource {
        group: "policy.networking.k8s.io",
        versions: &["v1alpha2"],
        plural: "clusternetworkpolicies",
        kind: "ClusterNetworkPolicy",
        namespaced: false,
        optional: true,
        impact: "the ClusterNetworkPolicy tiers are unknown",
    },
    Resource {
        group: "security.istio.io",
        versions: &["v1", "v1beta1"],
        plural: "peerauthentications",
        kind: "PeerAuthentication",
        namespaced: true,
        optional: true,
        impact: "Istio PeerAuthentication (mTLS modes) is unknown",
    },
    Resource {
        group: "security.istio.io",
        versions: &["v1", "v1beta1"],
        plural: "authorizationpolicies",
        kind: "AuthorizationPolicy",
        namespaced: true,
        optional: true,
        impact: "Istio AuthorizationPolicies are unknown: the mesh layer (mesh, can, connectivity --mesh) reports what they deny as allowed",
    },
    Resource {
        group: "cilium.io",
        versions: &["v2"],
        plural: "ciliumnetworkpolicies",
        kind: "CiliumNetworkPolicy",
        namespaced: true,
        optional: true,
        impact: "CiliumNetworkPolicies are unknown: traffic they deny is reported as allowed",
    },
    Resource {
        group: "cilium.io",
        versions: &["v2"],
        plural: "ciliumclusterwidenetworkpolicies",
        kind: "CiliumClusterwideNetworkPolicy",
        namespaced: false,
        optional: true,
        impact: "CiliumClusterwideNetworkPolicies are unknown: traffic they deny is reported as allowed",
    },
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
        impact: "RBAC grants are unknown: attack paths (paths) miss what ServiceAccount tokens allow",
    }
}
