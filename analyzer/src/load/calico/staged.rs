//! Staged policies as what-if changes: what Calico enforces when a StagedNetworkPolicy,
//! StagedGlobalNetworkPolicy or StagedKubernetesNetworkPolicy is committed. `stagedAction: Set`
//! (the default) creates or replaces the policy of the same name and namespace (the staged spec
//! without `stagedAction`); `Delete` removes it, and Calico rejects a Delete whose spec holds
//! anything but `tier`. The enforced kind is NetworkPolicy, GlobalNetworkPolicy, or for the
//! Kubernetes one a `networking.k8s.io/v1` NetworkPolicy (libcalico-go's
//! `ConvertStagedPolicyToEnforced` / `ConvertStagedKubernetesPolicyToK8SEnforced` copy metadata and spec).
//! References: https://docs.tigera.io/calico/latest/reference/resources/stagednetworkpolicy,
//! …/stagedglobalnetworkpolicy, …/stagedkubernetesnetworkpolicy.
//! `diff --apply` reads them this way; every other load only notes them (not enforced).

use super::super::documents::RawObject;
use super::super::LoadError;
use serde_json::Value;

/// What committing a staged policy does.
pub(in crate::load) enum StagedChange {
    /// Create or replace the enforced policy (the object, as if written so).
    Set(RawObject),
    /// Remove the enforced policy of this identity (the object names it; its spec is empty).
    Delete(RawObject),
}

/// The enforced (apiVersion, kind) of a staged kind; `None` for any other object.
fn enforced_kind(api_version: &str, kind: &str) -> Option<(String, &'static str)> {
    if !super::is_calico_group(api_version) {
        return None;
    }
    match kind {
        "StagedNetworkPolicy" => Some((api_version.to_string(), "NetworkPolicy")),
        "StagedGlobalNetworkPolicy" => Some((api_version.to_string(), "GlobalNetworkPolicy")),
        "StagedKubernetesNetworkPolicy" => Some(("networking.k8s.io/v1".to_string(), "NetworkPolicy")),
        _ => None,
    }
}

/// Whether a spec value is its field's zero value (what a Delete may hold).
fn is_zero(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.values().all(is_zero),
    }
}

/// The change a staged policy stands for; `None` when `raw` is not a staged policy.
pub(in crate::load) fn staged_change(raw: &RawObject) -> Option<Result<StagedChange, LoadError>> {
    let (api_version, kind) = enforced_kind(&raw.head.api_version, &raw.head.kind)?;
    Some(convert(raw, api_version, kind))
}

fn convert(raw: &RawObject, api_version: String, kind: &str) -> Result<StagedChange, LoadError> {
    let (staged_kind, name) = (&raw.head.kind, raw.head.name.as_str().unwrap_or(""));
    let object = if super::is_cluster_scoped(staged_kind) {
        format!("{staged_kind} {name}")
    } else {
        let namespace = raw.head.namespace.as_str().filter(|ns| !ns.is_empty()).unwrap_or("default");
        format!("{staged_kind} {namespace}/{name}")
    };
    let err = |field: &str, message: String| LoadError::Invalid {
        origin: raw.origin.clone(),
        object: object.clone(),
        field: field.to_string(),
        message,
    };
    let mut value = raw.body.clone().into_value();
    let Some(map) = value.as_object_mut() else { return Err(err("", "not an object".into())) };
    let delete = match map.get_mut("spec") {
        None | Some(Value::Null) => false,
        Some(Value::Object(spec)) => match spec.remove("stagedAction") {
            None | Some(Value::Null) => false,
            Some(Value::String(action)) if action == "Set" => false,
            Some(Value::String(action)) if action == "Delete" => {
                // "Spec fields, except Tier, should all be zero-value if stagedAction is Delete".
                let has_tier = kind != "NetworkPolicy" || api_version != "networking.k8s.io/v1";
                if let Some((field, _)) = spec.iter().find(|(k, v)| !(is_zero(v) || (has_tier && *k == "tier"))) {
                    return Err(err(
                        &format!("spec.{field}"),
                        "a staged Delete holds no spec but stagedAction and tier (Calico rejects it)".into(),
                    ));
                }
                true
            }
            Some(other) => return Err(err("spec.stagedAction", format!("{other}: expected Set or Delete"))),
        },
        Some(_) => return Err(err("spec", "expected an object".into())),
    };
    map.insert("apiVersion".into(), Value::String(api_version));
    map.insert("kind".into(), Value::String(kind.into()));
    let enforced = RawObject::of_value(raw.origin.clone(), value);
    Ok(if delete { StagedChange::Delete(enforced) } else { StagedChange::Set(enforced) })
}
