//! Identity inputs: Roles, ClusterRoles (with aggregationRule), RoleBindings and
//! ClusterRoleBindings (rbac.authorization.k8s.io/v1), and each pod's posture (host
//! namespaces, added capabilities, hostPath mounts, the Secrets it names). Secrets themselves
//! are never read: their names come from pods and from RBAC `resourceNames`.

use super::convert::{convert_selector, typed, At};
use super::documents::Body;
use super::LoadError;
use k8s_openapi::api::core::v1 as core;
use k8s_openapi::api::rbac::v1 as rbac;
use netreach_model::identity::{Binding, HostPathMount, PolicyRule, Posture, Role, Subject};
use std::collections::BTreeSet;

fn rules_of(rules: Option<Vec<rbac::PolicyRule>>) -> Vec<PolicyRule> {
    rules
        .unwrap_or_default()
        .into_iter()
        .map(|r| PolicyRule {
            api_groups: r.api_groups.unwrap_or_default(),
            resources: r.resources.unwrap_or_default(),
            verbs: r.verbs,
            resource_names: r.resource_names.unwrap_or_default(),
        })
        .collect()
}

/// A Role or ClusterRole.
pub(super) fn convert_role(kind: &str, namespace: &str, name: &str, body: Body, at: &At) -> Result<Role, LoadError> {
    let labels =
        |meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta| meta.labels.clone().unwrap_or_default();
    if kind == "Role" {
        let role: rbac::Role = typed(body, at)?;
        return Ok(Role {
            namespace: Some(namespace.to_string()),
            name: name.to_string(),
            labels: labels(&role.metadata),
            rules: rules_of(role.rules),
            aggregation: Vec::new(),
        });
    }
    let role: rbac::ClusterRole = typed(body, at)?;
    let mut aggregation = Vec::new();
    let selectors = role.aggregation_rule.and_then(|a| a.cluster_role_selectors).unwrap_or_default();
    for (i, s) in selectors.iter().enumerate() {
        aggregation.push(convert_selector(s, at, &format!("aggregationRule.clusterRoleSelectors[{i}]"))?);
    }
    Ok(Role {
        namespace: None,
        name: name.to_string(),
        labels: labels(&role.metadata),
        rules: rules_of(role.rules),
        aggregation,
    })
}

/// A RoleBinding or ClusterRoleBinding; a ServiceAccount subject without a namespace takes
/// the RoleBinding's, as the API server defaults it, and is an error in a ClusterRoleBinding.
pub(super) fn convert_binding(
    kind: &str,
    namespace: &str,
    name: &str,
    body: Body,
    at: &At,
) -> Result<Binding, LoadError> {
    let (role_ref, subjects, scope) = if kind == "RoleBinding" {
        let b: rbac::RoleBinding = typed(body, at)?;
        (b.role_ref, b.subjects, Some(namespace.to_string()))
    } else {
        let b: rbac::ClusterRoleBinding = typed(body, at)?;
        (b.role_ref, b.subjects, None)
    };
    let cluster_role = match role_ref.kind.as_str() {
        "ClusterRole" => true,
        "Role" if scope.is_some() => false,
        other => {
            return Err(at.err(
                "roleRef.kind",
                format!("{other:?}: a {kind} binds a ClusterRole{}", if scope.is_some() { " or a Role" } else { "" }),
            ))
        }
    };
    let mut out = Vec::new();
    for (i, s) in subjects.unwrap_or_default().into_iter().enumerate() {
        out.push(match s.kind.as_str() {
            "ServiceAccount" => {
                let namespace = s.namespace.filter(|n| !n.is_empty()).or_else(|| scope.clone()).ok_or_else(|| {
                    at.err(
                        format!("subjects[{i}].namespace"),
                        "missing: a ServiceAccount subject of a ClusterRoleBinding names its namespace",
                    )
                })?;
                Subject::ServiceAccount { namespace, name: s.name }
            }
            "User" => Subject::User(s.name),
            "Group" => Subject::Group(s.name),
            other => {
                return Err(
                    at.err(format!("subjects[{i}].kind"), format!("{other:?}: expected ServiceAccount, User or Group"))
                )
            }
        });
    }
    Ok(Binding { namespace: scope, name: name.to_string(), cluster_role, role_name: role_ref.name, subjects: out })
}

/// A capability as the model spells it: upper case, without `CAP_`.
fn capability(name: &str) -> String {
    let upper = name.to_ascii_uppercase();
    upper.strip_prefix("CAP_").map_or(upper.clone(), str::to_string)
}

/// What of a pod spec attack paths read: host namespaces, capabilities added by any container
/// (init containers too: they run on the node as well), the hostPath volumes mounted and how,
/// and the Secrets named by volumes, projected sources, env, envFrom and imagePullSecrets.
pub(super) fn posture(spec: &core::PodSpec) -> Posture {
    let containers: Vec<&core::Container> =
        spec.containers.iter().chain(spec.init_containers.iter().flatten()).collect();
    let mut capabilities = BTreeSet::new();
    let mut secrets = BTreeSet::new();
    for c in &containers {
        let added = c.security_context.as_ref().and_then(|s| s.capabilities.as_ref()).and_then(|c| c.add.as_ref());
        capabilities.extend(added.into_iter().flatten().map(|a| capability(a)));
        for env in c.env.iter().flatten() {
            if let Some(r) = env.value_from.as_ref().and_then(|v| v.secret_key_ref.as_ref()) {
                secrets.insert(r.name.clone());
            }
        }
        for from in c.env_from.iter().flatten() {
            if let Some(r) = &from.secret_ref {
                secrets.insert(r.name.clone());
            }
        }
    }
    let mut host_paths = Vec::new();
    for v in spec.volumes.iter().flatten() {
        if let Some(s) = v.secret.as_ref().and_then(|s| s.secret_name.clone()) {
            secrets.insert(s);
        }
        for source in v.projected.iter().flat_map(|p| p.sources.iter().flatten()) {
            if let Some(s) = &source.secret {
                secrets.insert(s.name.clone());
            }
        }
        let Some(host) = &v.host_path else { continue };
        let mounts: Vec<&core::VolumeMount> =
            containers.iter().flat_map(|c| c.volume_mounts.iter().flatten()).filter(|m| m.name == v.name).collect();
        if mounts.is_empty() {
            continue; // a volume no container mounts gives nothing
        }
        let read_only = mounts.iter().all(|m| m.read_only == Some(true));
        host_paths.push(HostPathMount { path: host.path.clone(), read_only });
    }
    secrets.extend(spec.image_pull_secrets.iter().flatten().map(|r| r.name.clone()));
    secrets.remove("");
    Posture {
        host_pid: spec.host_pid == Some(true),
        host_ipc: spec.host_ipc == Some(true),
        added_capabilities: capabilities.into_iter().collect(),
        host_paths,
        secret_names: secrets.into_iter().collect(),
    }
}
