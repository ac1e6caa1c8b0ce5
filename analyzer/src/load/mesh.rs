//! Istio PeerAuthentication (security.istio.io/v1 and v1beta1, the same schema) → model
//! [`PeerAuthentication`], and the namespace annotations Linkerd reads. No crate ships the
//! Istio types, so the wire shapes are declared here with exactly the fields the API defines.

use super::convert::{typed, At};
use super::documents::Body;
use super::LoadError;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use netreach_model::{MeshConfig, MtlsMode, PeerAuthentication};
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct WorkloadSelector {
    #[serde(rename = "matchLabels", default)]
    match_labels: BTreeMap<String, String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct MutualTls {
    mode: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct SpecWire {
    selector: Option<WorkloadSelector>,
    mtls: Option<MutualTls>,
    /// Keys are container port numbers (JSON object keys are strings).
    #[serde(rename = "portLevelMtls")]
    port_level_mtls: Option<BTreeMap<String, MutualTls>>,
}

/// The metadata read here; `name` and `namespace` are typed so that a non-string (YAML 1.1 reads
/// `n` as a boolean) is an error, as it is for the kinds typed with k8s-openapi.
#[derive(Deserialize, Default)]
#[allow(dead_code)]
struct MetaWire {
    name: Option<String>,
    namespace: Option<String>,
    #[serde(rename = "creationTimestamp")]
    creation_timestamp: Option<String>,
}

#[derive(Deserialize)]
struct ObjectWire {
    #[serde(default)]
    metadata: MetaWire,
    #[serde(default)]
    spec: SpecWire,
}

fn mode(m: Option<&MutualTls>, at: &At, field: &str) -> Result<MtlsMode, LoadError> {
    match m.and_then(|m| m.mode.as_deref()) {
        None => Ok(MtlsMode::Unset),
        Some(s) => MtlsMode::parse(s).ok_or_else(|| {
            at.err(field, format!("unknown mode {s:?} (expected UNSET, DISABLE, PERMISSIVE or STRICT)"))
        }),
    }
}

/// A PeerAuthentication, validated as istiod validates it: known modes, port keys 1-65535.
/// `portLevelMtls` on a policy without a selector (mesh- or namespace-wide) is rejected by
/// istiod and never applied: it is dropped with a warning.
pub(super) fn convert_peer_authentication(
    namespace: &str,
    name: &str,
    body: Body,
    at: &At,
    warnings: &mut Vec<String>,
) -> Result<PeerAuthentication, LoadError> {
    let wire: ObjectWire = typed(body, at)?;
    let spec = wire.spec;
    let selector = spec.selector.map(|s| s.match_labels).unwrap_or_default();
    let mode = mode(spec.mtls.as_ref(), at, "spec.mtls.mode")?;
    let mut port_modes = BTreeMap::new();
    for (key, m) in spec.port_level_mtls.iter().flatten() {
        let field = format!("spec.portLevelMtls.{key}");
        let port = key
            .parse::<u16>()
            .ok()
            .filter(|&p| p > 0)
            .ok_or_else(|| at.err(&field, format!("invalid port {key:?} (expected 1-65535)")))?;
        port_modes.insert(port, self::mode(Some(m), at, &format!("{field}.mode"))?);
    }
    if selector.is_empty() && !port_modes.is_empty() {
        warnings.push(format!(
            "{}: {}: field spec.portLevelMtls: port-level mTLS only applies with a workload selector (istiod rejects it here); ignored",
            at.origin, at.object
        ));
        port_modes.clear();
    }
    Ok(PeerAuthentication {
        namespace: namespace.to_string(),
        name: name.to_string(),
        selector,
        mode,
        port_modes,
        created: wire.metadata.creation_timestamp,
    })
}

/// Keeps a namespace's annotations (Linkerd's settings live there).
pub(super) fn keep_namespace_annotations(mesh: &mut MeshConfig, name: &str, meta: &ObjectMeta) {
    if let Some(annotations) = meta.annotations.as_ref().filter(|a| !a.is_empty()) {
        mesh.namespace_annotations.insert(name.to_string(), annotations.clone());
    }
}

/// Keeps a Service's waypoint labels (`istio.io/use-waypoint`, `-namespace`,
/// `istio.io/ingress-use-waypoint`), if any.
pub(super) fn keep_service_waypoint_labels(mesh: &mut MeshConfig, namespace: &str, name: &str, meta: &ObjectMeta) {
    use netreach_model::mesh::waypoint::{INGRESS_USE_WAYPOINT, USE_WAYPOINT, USE_WAYPOINT_NAMESPACE};
    let Some(labels) = meta.labels.as_ref() else { return };
    let kept: netreach_model::Labels = [USE_WAYPOINT, USE_WAYPOINT_NAMESPACE, INGRESS_USE_WAYPOINT]
        .into_iter()
        .filter_map(|k| labels.get(k).map(|v| (k.to_string(), v.clone())))
        .collect();
    if !kept.is_empty() {
        mesh.service_waypoint_labels.insert((namespace.to_string(), name.to_string()), kept);
    }
}

/// Keeps a Gateway's `istio.io/waypoint-for` label, when it is a string.
pub(super) fn keep_gateway_waypoint_for(
    mesh: &mut MeshConfig,
    namespace: &str,
    name: &str,
    gateway: &serde_json::Value,
) {
    use netreach_model::mesh::waypoint::WAYPOINT_FOR;
    let label = super::convert::at_path(gateway, &["metadata", "labels", WAYPOINT_FOR]).and_then(|v| v.as_str());
    if let Some(value) = label {
        mesh.gateway_waypoint_for.insert((namespace.to_string(), name.to_string()), value.to_string());
    }
}

/// Keeps a GatewayClass's `istio.io/waypoint-for` label, when it is a string: the traffic type
/// of its waypoints that do not set their own.
pub(super) fn keep_gateway_class_waypoint_for(mesh: &mut MeshConfig, name: &str, class: &serde_json::Value) {
    use netreach_model::mesh::waypoint::WAYPOINT_FOR;
    let label = super::convert::at_path(class, &["metadata", "labels", WAYPOINT_FOR]).and_then(|v| v.as_str());
    if let Some(value) = label {
        mesh.gateway_class_waypoint_for.insert(name.to_string(), value.to_string());
    }
}
