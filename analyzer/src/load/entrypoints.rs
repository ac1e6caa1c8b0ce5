//! Loader of the objects that bring traffic in from outside: Ingress and IngressClass
//! (networking.k8s.io/v1, typed by k8s-openapi), Gateway API Gateway, HTTPRoute, GRPCRoute,
//! TCPRoute, TLSRoute, UDPRoute and ReferenceGrant (wire types here: no crate ships them), and
//! the endpoints of Services (EndpointSlice, Endpoints). References that cannot be followed
//! (a backend that is not a Service, a parent that is not a Gateway) are warnings.

use super::convert::{convert_selector, parse_ip, protocol, valid_port, At};
use super::documents::Body;
use super::LoadError;
use k8s_openapi::api::core::v1 as core;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::networking::v1 as net;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector as K8sSelector;
use netreach_model::entrypoints::{
    AllowedNamespaces, EntryPoints, Gateway, Ingress, IngressClass, Listener, ParentRef, ReferenceGrant, Route,
    ServiceEndpoints, ServiceRef, GATEWAY_GROUP,
};
use netreach_model::PortSpec;
use serde::Deserialize;

/// The Gateway API versions read, and the kinds each serves. TLSRoute became v1 in Gateway API
/// v1.5, beside ReferenceGrant (<https://github.com/kubernetes-sigs/gateway-api/releases/tag/v1.5.0>);
/// v1alpha3 was its experimental version in v1.3 and v1.4.
const GATEWAY_KINDS: &[(&str, &[&str])] = &[
    ("gateway.networking.k8s.io/v1", &["Gateway", "HTTPRoute", "GRPCRoute", "ReferenceGrant", "TLSRoute"]),
    ("gateway.networking.k8s.io/v1beta1", &["Gateway", "HTTPRoute", "ReferenceGrant"]),
    ("gateway.networking.k8s.io/v1alpha3", &["TLSRoute"]),
    ("gateway.networking.k8s.io/v1alpha2", &["TCPRoute", "TLSRoute", "UDPRoute", "GRPCRoute", "ReferenceGrant"]),
];

/// Whether this loader reads the kind.
pub(super) fn is_entry_kind(api_version: &str, kind: &str) -> bool {
    matches!((api_version, kind), ("networking.k8s.io/v1", "Ingress" | "IngressClass"))
        || GATEWAY_KINDS.iter().any(|(v, kinds)| *v == api_version && kinds.contains(&kind))
}

/// The annotation that names an Ingress's class before `ingressClassName` existed; still read
/// by most controllers (<https://kubernetes.io/docs/concepts/services-networking/ingress/#deprecated-annotation>).
const INGRESS_CLASS_ANNOTATION: &str = "kubernetes.io/ingress.class";
/// The annotation that makes an IngressClass the default
/// (<https://kubernetes.io/docs/concepts/services-networking/ingress/#default-ingress-class>).
const DEFAULT_CLASS_ANNOTATION: &str = "ingressclass.kubernetes.io/is-default-class";

/// Converts one object of an entry kind into `entry`.
pub(super) fn read(
    kind: &str,
    namespace: &str,
    name: &str,
    body: Body,
    at: &At,
    entry: &mut EntryPoints,
    warnings: &mut Vec<String>,
) -> Result<(), LoadError> {
    match kind {
        "Ingress" => entry.ingresses.push(ingress(super::convert::typed(body, at)?, namespace, name, at, warnings)?),
        "IngressClass" => {
            let class: net::IngressClass = super::convert::typed(body, at)?;
            let annotations = class.metadata.annotations.unwrap_or_default();
            entry.ingress_classes.push(IngressClass {
                name: name.to_string(),
                controller: class.spec.and_then(|s| s.controller).unwrap_or_default(),
                default: annotations.get(DEFAULT_CLASS_ANNOTATION).is_some_and(|v| v == "true"),
            });
        }
        "Gateway" => entry.gateways.push(gateway(wire(body, at)?, namespace, name, at)?),
        "ReferenceGrant" => {
            let grant: GrantWire = wire(body, at)?;
            entry.reference_grants.push(ReferenceGrant {
                namespace: namespace.to_string(),
                name: name.to_string(),
                from: grant.spec.from.into_iter().map(|f| (f.group, f.kind, f.namespace)).collect(),
                to: grant.spec.to.into_iter().map(|t| (t.group, t.kind, t.name)).collect(),
            });
        }
        _ => entry.routes.push(route(kind, wire(body, at)?, namespace, name, at, warnings)?),
    }
    Ok(())
}

/// A CRD's wire type, read from the object's value: fields not declared are not read and not
/// reported (the Gateway API's many matching and filtering fields do not change who is reached).
fn wire<T: serde::de::DeserializeOwned>(body: Body, at: &At) -> Result<T, LoadError> {
    serde_path_to_error::deserialize(body.into_value()).map_err(|e| {
        let path = e.path().to_string();
        at.err(if path == "." { "(object)".to_string() } else { path }, e.into_inner().to_string())
    })
}

fn ingress(
    ing: net::Ingress,
    namespace: &str,
    name: &str,
    at: &At,
    warnings: &mut Vec<String>,
) -> Result<Ingress, LoadError> {
    let spec = ing.spec.unwrap_or_default();
    let class = spec
        .ingress_class_name
        .clone()
        .or_else(|| ing.metadata.annotations.as_ref().and_then(|a| a.get(INGRESS_CLASS_ANNOTATION)).cloned());
    let mut backends = Vec::new();
    let mut add = |backend: &net::IngressBackend, field: String| -> Result<(), LoadError> {
        match &backend.service {
            Some(service) => {
                let port = match &service.port {
                    Some(net::ServiceBackendPort { number: Some(n), .. }) => {
                        Some(PortSpec::Number(valid_port(*n, at, &format!("{field}.service.port.number"))?))
                    }
                    Some(net::ServiceBackendPort { name: Some(n), .. }) => Some(PortSpec::Name(n.clone())),
                    _ => None,
                };
                backends.push(ServiceRef { namespace: namespace.to_string(), name: service.name.clone(), port, field });
            }
            None => warnings.push(format!(
                "{}: {}: field {field}: a resource backend (not a Service) is not followed: exposure does not list what it serves",
                at.origin, at.object
            )),
        }
        Ok(())
    };
    if let Some(backend) = &spec.default_backend {
        add(backend, "spec.defaultBackend".into())?;
    }
    for (i, rule) in spec.rules.iter().flatten().enumerate() {
        for (j, path) in rule.http.iter().flat_map(|h| h.paths.iter()).enumerate() {
            add(&path.backend, format!("spec.rules[{i}].http.paths[{j}].backend"))?;
        }
    }
    Ok(Ingress { namespace: namespace.to_string(), name: name.to_string(), class, backends })
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct GatewayWire {
    #[serde(default)]
    spec: GatewaySpecWire,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct GatewaySpecWire {
    #[serde(default)]
    gateway_class_name: String,
    #[serde(default)]
    listeners: Vec<ListenerWire>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListenerWire {
    #[serde(default)]
    name: String,
    port: i32,
    #[serde(default)]
    protocol: String,
    allowed_routes: Option<AllowedRoutesWire>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AllowedRoutesWire {
    namespaces: Option<RouteNamespacesWire>,
    #[serde(default)]
    kinds: Vec<GroupKindWire>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RouteNamespacesWire {
    from: Option<String>,
    selector: Option<K8sSelector>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GroupKindWire {
    kind: String,
}

fn gateway(wire: GatewayWire, namespace: &str, name: &str, at: &At) -> Result<Gateway, LoadError> {
    let mut listeners = Vec::new();
    for (i, l) in wire.spec.listeners.into_iter().enumerate() {
        let field = format!("spec.listeners[{i}]");
        let allowed = l.allowed_routes.as_ref().and_then(|a| a.namespaces.as_ref());
        let allowed_namespaces = match allowed.and_then(|n| n.from.as_deref()) {
            None | Some("Same") => AllowedNamespaces::Same,
            Some("All") => AllowedNamespaces::All,
            Some("Selector") => {
                let selector = allowed.and_then(|n| n.selector.as_ref()).ok_or_else(|| {
                    at.err(format!("{field}.allowedRoutes.namespaces.selector"), "missing (from: Selector needs it)")
                })?;
                AllowedNamespaces::Selector(convert_selector(
                    selector,
                    at,
                    &format!("{field}.allowedRoutes.namespaces.selector"),
                )?)
            }
            Some(other) => {
                return Err(at.err(
                    format!("{field}.allowedRoutes.namespaces.from"),
                    format!("unsupported value {other:?} (expected All, Same or Selector)"),
                ))
            }
        };
        listeners.push(Listener {
            name: l.name,
            port: valid_port(l.port, at, &format!("{field}.port"))?,
            protocol: l.protocol,
            allowed_namespaces,
            allowed_kinds: l.allowed_routes.into_iter().flat_map(|a| a.kinds).map(|k| k.kind).collect(),
        });
    }
    Ok(Gateway {
        namespace: namespace.to_string(),
        name: name.to_string(),
        class: wire.spec.gateway_class_name,
        listeners,
    })
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RouteWire {
    #[serde(default)]
    spec: RouteSpecWire,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RouteSpecWire {
    #[serde(default)]
    parent_refs: Vec<ObjectRefWire>,
    #[serde(default)]
    rules: Vec<RuleWire>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RuleWire {
    #[serde(default)]
    backend_refs: Vec<ObjectRefWire>,
}

/// A `parentRefs` or `backendRefs` entry.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ObjectRefWire {
    group: Option<String>,
    kind: Option<String>,
    namespace: Option<String>,
    name: String,
    section_name: Option<String>,
    port: Option<i32>,
}

fn route(
    kind: &str,
    wire: RouteWire,
    namespace: &str,
    name: &str,
    at: &At,
    warnings: &mut Vec<String>,
) -> Result<Route, LoadError> {
    let mut parents = Vec::new();
    for (i, p) in wire.spec.parent_refs.into_iter().enumerate() {
        let field = format!("spec.parentRefs[{i}]");
        // Defaults: group gateway.networking.k8s.io, kind Gateway, the route's namespace.
        let group = p.group.as_deref().unwrap_or(GATEWAY_GROUP);
        let parent_kind = p.kind.as_deref().unwrap_or("Gateway");
        if group != GATEWAY_GROUP || parent_kind != "Gateway" {
            warnings.push(format!(
                "{}: {}: field {field}: parent {group}/{parent_kind} {} is not a Gateway: not followed (a mesh Service parent is east-west traffic)",
                at.origin, at.object, p.name
            ));
            continue;
        }
        let port = p.port.map(|n| valid_port(n, at, &format!("{field}.port"))).transpose()?;
        parents.push(ParentRef {
            namespace: p.namespace.unwrap_or_else(|| namespace.to_string()),
            name: p.name,
            section_name: p.section_name,
            port,
        });
    }
    let mut backends = Vec::new();
    for (i, rule) in wire.spec.rules.into_iter().enumerate() {
        for (j, b) in rule.backend_refs.into_iter().enumerate() {
            let field = format!("spec.rules[{i}].backendRefs[{j}]");
            // Defaults: core group, kind Service, the route's namespace.
            let group = b.group.as_deref().unwrap_or("");
            let backend_kind = b.kind.as_deref().unwrap_or("Service");
            if !group.is_empty() || backend_kind != "Service" {
                warnings.push(format!(
                    "{}: {}: field {field}: backend {group}/{backend_kind} {} is not a Service: not followed, exposure does not list what it serves",
                    at.origin, at.object, b.name
                ));
                continue;
            }
            let port = b.port.map(|n| valid_port(n, at, &format!("{field}.port"))).transpose()?.map(PortSpec::Number);
            backends.push(ServiceRef {
                namespace: b.namespace.unwrap_or_else(|| namespace.to_string()),
                name: b.name,
                port,
                field,
            });
        }
    }
    Ok(Route { kind: kind.to_string(), namespace: namespace.to_string(), name: name.to_string(), parents, backends })
}

#[derive(Deserialize)]
struct GrantWire {
    spec: GrantSpecWire,
}

#[derive(Deserialize)]
struct GrantSpecWire {
    #[serde(default)]
    from: Vec<GrantFromWire>,
    #[serde(default)]
    to: Vec<GrantToWire>,
}

#[derive(Deserialize)]
struct GrantFromWire {
    #[serde(default)]
    group: String,
    kind: String,
    namespace: String,
}

#[derive(Deserialize)]
struct GrantToWire {
    #[serde(default)]
    group: String,
    kind: String,
    name: Option<String>,
}

/// The endpoints an EndpointSlice lists, for the Service its `kubernetes.io/service-name`
/// label names (else the slice's own name).
pub(super) fn slice_endpoints(slice: &EndpointSlice, namespace: &str, at: &At) -> Result<ServiceEndpoints, LoadError> {
    let labels = slice.metadata.labels.as_ref();
    let service = labels
        .and_then(|l| l.get("kubernetes.io/service-name"))
        .or(slice.metadata.name.as_ref())
        .cloned()
        .unwrap_or_default();
    let mut ports = Vec::new();
    for (i, p) in slice.ports.iter().flatten().enumerate() {
        let proto = protocol(p.protocol.as_deref(), at, &format!("ports[{i}].protocol"))?;
        if let Some(port) = p.port {
            ports.push((
                p.name.clone().filter(|n| !n.is_empty()),
                valid_port(port, at, &format!("ports[{i}].port"))?,
                proto,
            ));
        }
    }
    let mut addresses = Vec::new();
    for (i, e) in slice.endpoints.iter().enumerate() {
        let pod = e.target_ref.as_ref().filter(|r| r.kind.as_deref() == Some("Pod")).and_then(|r| r.name.clone());
        for (j, a) in e.addresses.iter().enumerate() {
            addresses.push((parse_ip(a, at, &format!("endpoints[{i}].addresses[{j}]"))?, pod.clone()));
        }
    }
    Ok(ServiceEndpoints { namespace: namespace.to_string(), service, addresses, ports })
}

/// The endpoints of a legacy Endpoints object, one value per subset (ports are per subset).
pub(super) fn legacy_endpoints(
    endpoints: &core::Endpoints,
    namespace: &str,
    at: &At,
) -> Result<Vec<ServiceEndpoints>, LoadError> {
    let service = endpoints.metadata.name.clone().unwrap_or_default();
    let mut out = Vec::new();
    for (i, subset) in endpoints.subsets.iter().flatten().enumerate() {
        let mut ports = Vec::new();
        for (j, p) in subset.ports.iter().flatten().enumerate() {
            let proto = protocol(p.protocol.as_deref(), at, &format!("subsets[{i}].ports[{j}].protocol"))?;
            let port = valid_port(p.port, at, &format!("subsets[{i}].ports[{j}].port"))?;
            ports.push((p.name.clone().filter(|n| !n.is_empty()), port, proto));
        }
        let mut addresses = Vec::new();
        for (j, a) in subset.addresses.iter().flatten().chain(subset.not_ready_addresses.iter().flatten()).enumerate() {
            let ip = parse_ip(&a.ip, at, &format!("subsets[{i}].addresses[{j}].ip"))?;
            let pod = a.target_ref.as_ref().filter(|r| r.kind.as_deref() == Some("Pod")).and_then(|r| r.name.clone());
            addresses.push((ip, pod));
        }
        out.push(ServiceEndpoints { namespace: namespace.to_string(), service: service.clone(), addresses, ports });
    }
    Ok(out)
}
