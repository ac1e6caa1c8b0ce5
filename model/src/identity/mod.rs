//! Identity and posture: what a pod can do beyond the network. A pod's security context can
//! make it its node (`escape`), and its ServiceAccount's RBAC grants can make it reach Secrets,
//! other pods, other identities or cluster-admin (`rbac`). Loaders fill [`Identity`] and each
//! pod's [`Posture`]; the attack-path search (analyzer `attack`) reads what these modules derive.

pub mod escape;
pub mod rbac;

use crate::labels::{LabelSelector, Labels};

/// Pod Security admission: the label a namespace enforces a level with
/// (<https://kubernetes.io/docs/concepts/security/pod-security-admission/#pod-security-admission-labels-for-namespaces>).
pub const POD_SECURITY_ENFORCE_LABEL: &str = "pod-security.kubernetes.io/enforce";

/// What of a pod's spec decides whether it can take its node, and which Secrets it names.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Posture {
    /// `spec.hostPID`.
    pub host_pid: bool,
    /// `spec.hostIPC`.
    pub host_ipc: bool,
    /// Capabilities some container adds (`securityContext.capabilities.add`), upper case,
    /// without the `CAP_` prefix.
    pub added_capabilities: Vec<String>,
    /// `hostPath` volumes some container mounts.
    pub host_paths: Vec<HostPathMount>,
    /// Secrets the pod names (volumes, projected sources, env, envFrom, imagePullSecrets):
    /// how netreach knows Secret names without reading Secrets.
    pub secret_names: Vec<String>,
}

/// A `hostPath` volume as a container mounts it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostPathMount {
    /// `hostPath.path`.
    pub path: String,
    /// Every mount of it is `readOnly`.
    pub read_only: bool,
}

/// ServiceAccounts and RBAC objects as read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Identity {
    /// ServiceAccounts defined in the input: (namespace, name).
    pub service_accounts: Vec<(String, String)>,
    /// Roles and ClusterRoles.
    pub roles: Vec<Role>,
    /// RoleBindings and ClusterRoleBindings.
    pub bindings: Vec<Binding>,
}

impl Identity {
    /// Whether the input holds any RBAC object (what makes `paths` follow identity hops).
    pub fn has_rbac(&self) -> bool {
        !self.roles.is_empty() || !self.bindings.is_empty()
    }
}

/// A Role (namespaced) or ClusterRole.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Role {
    /// `None` for a ClusterRole.
    pub namespace: Option<String>,
    /// `metadata.name`.
    pub name: String,
    /// `metadata.labels` (aggregation selects by them).
    pub labels: Labels,
    /// `rules`.
    pub rules: Vec<PolicyRule>,
    /// ClusterRole `aggregationRule.clusterRoleSelectors`: the rules of every ClusterRole one of
    /// these selects are this role's too.
    pub aggregation: Vec<LabelSelector>,
}

impl Role {
    /// `Role ns/name` or `ClusterRole name`.
    pub fn label(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("Role {ns}/{}", self.name),
            None => format!("ClusterRole {}", self.name),
        }
    }
}

/// One entry of a role's `rules`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PolicyRule {
    /// `apiGroups` (`""` is the core group).
    pub api_groups: Vec<String>,
    /// `resources`, `resource/subresource` included.
    pub resources: Vec<String>,
    /// `verbs`.
    pub verbs: Vec<String>,
    /// Empty: every object.
    pub resource_names: Vec<String>,
}

/// A RoleBinding (namespaced) or ClusterRoleBinding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Binding {
    /// `None` for a ClusterRoleBinding: the grants hold in every namespace.
    pub namespace: Option<String>,
    /// `metadata.name`.
    pub name: String,
    /// `roleRef.kind` is ClusterRole.
    pub cluster_role: bool,
    /// `roleRef.name`.
    pub role_name: String,
    /// `subjects`.
    pub subjects: Vec<Subject>,
}

impl Binding {
    /// `RoleBinding ns/name` or `ClusterRoleBinding name`.
    pub fn label(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("RoleBinding {ns}/{}", self.name),
            None => format!("ClusterRoleBinding {}", self.name),
        }
    }
}

/// A binding's subject.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Subject {
    /// `kind: ServiceAccount` with its namespace and name.
    ServiceAccount {
        /// `namespace`.
        namespace: String,
        /// `name`.
        name: String,
    },
    /// `kind: User`.
    User(String),
    /// `kind: Group`.
    Group(String),
}
