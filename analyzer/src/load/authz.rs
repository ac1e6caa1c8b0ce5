//! Istio AuthorizationPolicy (security.istio.io/v1 and v1beta1, the same schema) → model
//! [`AuthorizationPolicy`]. No crate ships the Istio types: the wire shapes are declared here
//! with exactly the fields the API defines, and validated as istiod's validation webhook does
//! (one of selector or targetRefs, provider only with CUSTOM, non-empty sources and operations,
//! known `when` keys, addresses and ports that parse).

use super::convert::{typed, At};
use super::documents::Body;
use super::LoadError;
use ipnet::IpNet;
use netreach_model::mesh::authz::{
    AuthorizationPolicy, AuthzAction, AuthzCondition, AuthzOperation, AuthzRule, AuthzSource, Binding, ConditionKey,
    ConditionValues, TargetRef,
};
use netreach_model::UnevaluatedPolicy;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::IpAddr;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct WorkloadSelector {
    #[serde(rename = "matchLabels", default)]
    match_labels: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TargetRefWire {
    #[serde(default)]
    group: String,
    kind: String,
    name: String,
    namespace: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ProviderWire {
    name: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct SourceWire {
    #[serde(default)]
    principals: Vec<String>,
    #[serde(rename = "notPrincipals", default)]
    not_principals: Vec<String>,
    #[serde(rename = "requestPrincipals", default)]
    request_principals: Vec<String>,
    #[serde(rename = "notRequestPrincipals", default)]
    not_request_principals: Vec<String>,
    #[serde(default)]
    namespaces: Vec<String>,
    #[serde(rename = "notNamespaces", default)]
    not_namespaces: Vec<String>,
    #[serde(rename = "ipBlocks", default)]
    ip_blocks: Vec<String>,
    #[serde(rename = "notIpBlocks", default)]
    not_ip_blocks: Vec<String>,
    #[serde(rename = "remoteIpBlocks", default)]
    remote_ip_blocks: Vec<String>,
    #[serde(rename = "notRemoteIpBlocks", default)]
    not_remote_ip_blocks: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FromWire {
    source: Option<SourceWire>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct OperationWire {
    #[serde(default)]
    hosts: Vec<String>,
    #[serde(rename = "notHosts", default)]
    not_hosts: Vec<String>,
    #[serde(default)]
    ports: Vec<String>,
    #[serde(rename = "notPorts", default)]
    not_ports: Vec<String>,
    #[serde(default)]
    methods: Vec<String>,
    #[serde(rename = "notMethods", default)]
    not_methods: Vec<String>,
    #[serde(default)]
    paths: Vec<String>,
    #[serde(rename = "notPaths", default)]
    not_paths: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ToWire {
    operation: Option<OperationWire>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConditionWire {
    key: String,
    #[serde(default)]
    values: Vec<String>,
    #[serde(rename = "notValues", default)]
    not_values: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RuleWire {
    #[serde(default)]
    from: Vec<FromWire>,
    #[serde(default)]
    to: Vec<ToWire>,
    #[serde(default)]
    when: Vec<ConditionWire>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct SpecWire {
    selector: Option<WorkloadSelector>,
    #[serde(rename = "targetRef")]
    target_ref: Option<TargetRefWire>,
    #[serde(rename = "targetRefs")]
    target_refs: Option<Vec<TargetRefWire>>,
    action: Option<String>,
    provider: Option<ProviderWire>,
    rules: Option<Vec<RuleWire>>,
}

#[derive(Deserialize)]
struct ObjectWire {
    #[serde(default)]
    spec: SpecWire,
}

/// `1.2.3.4`, `1.2.3.0/24`, IPv6 alike; host bits are cleared as Envoy's CIDR match ignores them.
fn cidr(text: &str, at: &At, field: &str) -> Result<IpNet, LoadError> {
    text.parse::<IpNet>()
        .map(|n| n.trunc())
        .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| at.err(field, format!("invalid IP address or CIDR {text:?}")))
}

fn cidrs(list: &[String], at: &At, field: &str) -> Result<Vec<IpNet>, LoadError> {
    list.iter().enumerate().map(|(i, t)| cidr(t, at, &format!("{field}[{i}]"))).collect()
}

fn ports(list: &[String], at: &At, field: &str) -> Result<Vec<u16>, LoadError> {
    list.iter()
        .enumerate()
        .map(|(i, t)| {
            t.parse::<u16>()
                .ok()
                .filter(|&p| p > 0)
                .ok_or_else(|| at.err(format!("{field}[{i}]"), format!("invalid port {t:?} (expected 1-65535)")))
        })
        .collect()
}

fn source(s: SourceWire, at: &At, field: &str) -> Result<AuthzSource, LoadError> {
    let source = AuthzSource {
        ip_blocks: cidrs(&s.ip_blocks, at, &format!("{field}.ipBlocks"))?,
        not_ip_blocks: cidrs(&s.not_ip_blocks, at, &format!("{field}.notIpBlocks"))?,
        remote_ip_blocks: cidrs(&s.remote_ip_blocks, at, &format!("{field}.remoteIpBlocks"))?,
        not_remote_ip_blocks: cidrs(&s.not_remote_ip_blocks, at, &format!("{field}.notRemoteIpBlocks"))?,
        principals: s.principals,
        not_principals: s.not_principals,
        request_principals: s.request_principals,
        not_request_principals: s.not_request_principals,
        namespaces: s.namespaces,
        not_namespaces: s.not_namespaces,
    };
    if source == AuthzSource::default() {
        return Err(at.err(field, "must not be empty (istiod rejects a source without fields)"));
    }
    Ok(source)
}

fn operation(o: OperationWire, at: &At, field: &str) -> Result<AuthzOperation, LoadError> {
    let http_fields: Vec<String> = [
        ("hosts", &o.hosts),
        ("notHosts", &o.not_hosts),
        ("methods", &o.methods),
        ("notMethods", &o.not_methods),
        ("paths", &o.paths),
        ("notPaths", &o.not_paths),
    ]
    .into_iter()
    .filter(|(_, v)| !v.is_empty())
    .map(|(name, _)| name.to_string())
    .collect();
    let op = AuthzOperation {
        ports: ports(&o.ports, at, &format!("{field}.ports"))?,
        not_ports: ports(&o.not_ports, at, &format!("{field}.notPorts"))?,
        http_fields,
    };
    if op == AuthzOperation::default() {
        return Err(at.err(field, "must not be empty (istiod rejects an operation without fields)"));
    }
    Ok(op)
}

/// The key of a `when` condition, as the reference lists them ("Authorization Policy
/// Conditions", docs/reference/config/security/conditions).
fn condition_key(key: &str) -> Option<ConditionKey> {
    Some(match key {
        "source.ip" => ConditionKey::SourceIp,
        "remote.ip" => ConditionKey::RemoteIp,
        "source.namespace" => ConditionKey::SourceNamespace,
        "source.principal" => ConditionKey::SourcePrincipal,
        "destination.ip" => ConditionKey::DestinationIp,
        "destination.port" => ConditionKey::DestinationPort,
        "connection.sni" => ConditionKey::ConnectionSni,
        "request.auth.principal" | "request.auth.audiences" | "request.auth.presenter" => {
            ConditionKey::Http(key.to_string())
        }
        k if (k.starts_with("request.headers[") || k.starts_with("request.auth.claims[")) && k.ends_with(']') => {
            ConditionKey::Http(key.to_string())
        }
        k if k.starts_with("experimental.envoy.filters.") => ConditionKey::Http(key.to_string()),
        _ => return None,
    })
}

fn condition(c: ConditionWire, at: &At, field: &str) -> Result<AuthzCondition, LoadError> {
    let key = condition_key(&c.key).ok_or_else(|| {
        at.err(
            format!("{field}.key"),
            format!("unknown key {:?} (expected source.ip, remote.ip, source.namespace, source.principal, destination.ip, destination.port, connection.sni, request.headers[NAME], request.auth.*)", c.key),
        )
    })?;
    if c.values.is_empty() && c.not_values.is_empty() {
        return Err(at.err(field, "needs values or notValues"));
    }
    let typed_values = |list: &[String], name: &str| -> Result<ConditionValues, LoadError> {
        let field = format!("{field}.{name}");
        Ok(match key {
            ConditionKey::SourceIp | ConditionKey::RemoteIp | ConditionKey::DestinationIp => {
                ConditionValues::Ips(cidrs(list, at, &field)?)
            }
            ConditionKey::DestinationPort => ConditionValues::Ports(ports(list, at, &field)?),
            _ => ConditionValues::Strings(list.to_vec()),
        })
    };
    Ok(AuthzCondition {
        values: typed_values(&c.values, "values")?,
        not_values: typed_values(&c.not_values, "notValues")?,
        key,
    })
}

fn rule(r: RuleWire, at: &At, field: &str) -> Result<AuthzRule, LoadError> {
    let mut out = AuthzRule::default();
    for (i, f) in r.from.into_iter().enumerate() {
        let field = format!("{field}.from[{i}].source");
        let s = f.source.ok_or_else(|| at.err(&field, "missing (istiod requires a source in every from entry)"))?;
        out.from.push(source(s, at, &field)?);
    }
    for (i, t) in r.to.into_iter().enumerate() {
        let field = format!("{field}.to[{i}].operation");
        let o =
            t.operation.ok_or_else(|| at.err(&field, "missing (istiod requires an operation in every to entry)"))?;
        out.to.push(operation(o, at, &field)?);
    }
    for (i, c) in r.when.into_iter().enumerate() {
        out.when.push(condition(c, at, &format!("{field}.when[{i}]"))?);
    }
    Ok(out)
}

/// An AuthorizationPolicy, validated as istiod validates it.
pub(super) fn convert_authorization_policy(
    namespace: &str,
    name: &str,
    body: Body,
    at: &At,
) -> Result<AuthorizationPolicy, LoadError> {
    let spec = typed::<ObjectWire>(body, at)?.spec;
    let action = match spec.action.as_deref().unwrap_or("ALLOW") {
        "ALLOW" => AuthzAction::Allow,
        "DENY" => AuthzAction::Deny,
        "AUDIT" => AuthzAction::Audit,
        "CUSTOM" => {
            let provider = spec.provider.as_ref().and_then(|p| p.name.clone()).filter(|n| !n.is_empty());
            AuthzAction::Custom(
                provider
                    .ok_or_else(|| at.err("spec.provider.name", "CUSTOM needs a provider name (istiod rejects it)"))?,
            )
        }
        other => {
            return Err(
                at.err("spec.action", format!("unknown action {other:?} (expected ALLOW, DENY, AUDIT or CUSTOM)"))
            )
        }
    };
    if spec.provider.is_some() && !matches!(action, AuthzAction::Custom(_)) {
        return Err(at.err("spec.provider", "only a CUSTOM action takes a provider (istiod rejects it)"));
    }
    if spec.target_ref.is_some() && spec.target_refs.is_some() {
        return Err(at.err("spec.targetRef", "set targetRefs or targetRef, not both (istiod rejects it)"));
    }
    let targets: Option<Vec<TargetRefWire>> = spec.target_refs.or(spec.target_ref.map(|t| vec![t]));
    let binding = match (spec.selector, targets) {
        (Some(_), Some(_)) => {
            return Err(at.err("spec.selector", "set selector or targetRefs, not both (istiod rejects it)"));
        }
        (_, Some(refs)) => {
            let mut out = Vec::new();
            for (i, r) in refs.into_iter().enumerate() {
                if r.namespace.as_deref().is_some_and(|ns| ns != namespace) {
                    return Err(at.err(
                        format!("spec.targetRefs[{i}].namespace"),
                        "a targetRef must name an object of the policy's own namespace (istiod rejects it)",
                    ));
                }
                let group = if r.group == "core" { String::new() } else { r.group };
                out.push(TargetRef { group, kind: r.kind, name: r.name });
            }
            Binding::Targets(out)
        }
        (selector, None) => Binding::Selector(selector.map(|s| s.match_labels).unwrap_or_default()),
    };
    let mut rules = Vec::new();
    for (i, r) in spec.rules.into_iter().flatten().enumerate() {
        rules.push(rule(r, at, &format!("spec.rules[{i}]"))?);
    }
    Ok(AuthorizationPolicy { namespace: namespace.to_string(), name: name.to_string(), binding, action, rules })
}

/// What every AuthorizationPolicy is to the commands that read NetworkPolicy reachability only.
pub const MESH_ONLY: &str =
    "only `netreach mesh`, `netreach can` and `netreach connectivity --mesh` apply them (the mesh layer); other commands report what they deny as allowed";
/// A policy attached by a ServiceEntry target: to the waypoint of traffic leaving for an entry
/// outside the cluster, which netreach does not model (no egress model).
const THROUGH_SERVICE_ENTRY: &str = "their ServiceEntry targets attach them to the waypoints of traffic to those entries, which netreach does not model (no egress model), so requests they deny there are reported as allowed";

/// The policy as an unevaluated policy: every command but `mesh`, `can` and `connectivity
/// --mesh` leaves it out, and they leave out what it says about ServiceEntry targets (Gateway,
/// GatewayClass and Service targets are evaluated, on gateways and waypoints).
pub(super) fn unevaluated(policy: &AuthorizationPolicy, api_version: &str) -> UnevaluatedPolicy {
    let service_entry = match &policy.binding {
        Binding::Targets(refs) => {
            refs.iter().any(|r| (r.group.as_str(), r.kind.as_str()) == ("networking.istio.io", "ServiceEntry"))
        }
        Binding::Selector(_) => false,
    };
    UnevaluatedPolicy {
        kind: "AuthorizationPolicy".into(),
        api_version: api_version.into(),
        namespace: Some(policy.namespace.clone()),
        name: policy.name.clone(),
        effect: if service_entry { THROUGH_SERVICE_ENTRY } else { MESH_ONLY },
    }
}
