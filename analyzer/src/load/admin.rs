//! AdminNetworkPolicy / BaselineAdminNetworkPolicy (policy.networking.k8s.io/v1alpha1) and
//! ClusterNetworkPolicy (v1alpha2) → model [`ClusterPolicy`]. No crate ships these CRD types,
//! so the wire shapes are declared here, with exactly the fields the upstream API defines.

use super::convert::{convert_selector, protocol, typed, valid_port, At};
use super::documents::Body;
use super::LoadError;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector as K8sSelector;
use netreach_model::{
    Action, ClusterPeer, ClusterPolicy, ClusterPolicyKind, ClusterPort, ClusterRule, ClusterSubject, IpBlock, Tier,
};
use serde::Deserialize;

/// A label selector that refuses unknown fields, unlike k8s-openapi's: `namespaces:
/// {namespaceSelector: …}` — the peer shape before network-policy-api #196 — must be an error,
/// not silently `namespaces: {}` (every namespace).
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct SelectorWire {
    #[serde(rename = "matchLabels")]
    match_labels: Option<std::collections::BTreeMap<String, String>>,
    #[serde(rename = "matchExpressions")]
    match_expressions: Option<Vec<RequirementWire>>,
    /// The `namespaces` peer before network-policy-api #196 (v1alpha1 of 2023) was
    /// `{namespaceSelector, sameLabels, notSameLabels}`; manifests of that time still exist.
    #[serde(rename = "namespaceSelector")]
    legacy_namespace_selector: Option<Box<SelectorWire>>,
    #[serde(rename = "sameLabels")]
    legacy_same_labels: Option<Vec<String>>,
    #[serde(rename = "notSameLabels")]
    legacy_not_same_labels: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RequirementWire {
    key: String,
    operator: String,
    values: Option<Vec<String>>,
}

impl SelectorWire {
    /// The selector of a `namespaces` peer: the current shape, or the pre-#196 one
    /// (`namespaceSelector`), read the same with a warning.
    fn namespaces_peer(&self, at: &At, field: &str, warnings: &mut Vec<String>) -> Result<K8sSelector, LoadError> {
        if self.legacy_same_labels.is_some() || self.legacy_not_same_labels.is_some() {
            return Err(at.err(
                field,
                "sameLabels/notSameLabels were removed from the API (network-policy-api #196) and cannot be evaluated",
            ));
        }
        match &self.legacy_namespace_selector {
            None => Ok(self.k8s()),
            Some(_) if self.match_labels.is_some() || self.match_expressions.is_some() => {
                Err(at.err(format!("{field}.namespaceSelector"), "unknown field next to matchLabels/matchExpressions"))
            }
            Some(legacy) => {
                warnings.push(format!(
                    "{}: {}: field {field}: `namespaces: {{namespaceSelector: …}}` is the peer shape before network-policy-api #196; read as `namespaces: …` (the same namespaces): update the manifest",
                    at.origin, at.object
                ));
                legacy.strict(at, &format!("{field}.namespaceSelector"))
            }
        }
    }

    /// The selector where only `matchLabels`/`matchExpressions` may be written.
    fn strict(&self, at: &At, field: &str) -> Result<K8sSelector, LoadError> {
        let legacy = [
            ("namespaceSelector", self.legacy_namespace_selector.is_some()),
            ("sameLabels", self.legacy_same_labels.is_some()),
            ("notSameLabels", self.legacy_not_same_labels.is_some()),
        ];
        match legacy.iter().find(|(_, set)| *set) {
            Some((name, _)) => Err(at.err(
                format!("{field}.{name}"),
                format!("unknown field `{name}`, expected `matchLabels` or `matchExpressions`"),
            )),
            None => Ok(self.k8s()),
        }
    }

    fn k8s(&self) -> K8sSelector {
        use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelectorRequirement;
        K8sSelector {
            match_labels: self.match_labels.clone(),
            match_expressions: self.match_expressions.as_ref().map(|list| {
                list.iter()
                    .map(|r| LabelSelectorRequirement {
                        key: r.key.clone(),
                        operator: r.operator.clone(),
                        values: r.values.clone(),
                    })
                    .collect()
            }),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NamespacedPod {
    #[serde(rename = "namespaceSelector", default)]
    namespace_selector: SelectorWire,
    #[serde(rename = "podSelector", default)]
    pod_selector: SelectorWire,
}

/// Subject and every kind of peer share one shape; which fields are allowed depends on where.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Selection {
    namespaces: Option<SelectorWire>,
    pods: Option<NamespacedPod>,
    nodes: Option<SelectorWire>,
    networks: Option<Vec<String>>,
    #[serde(rename = "domainNames")]
    domain_names: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PortNumber {
    protocol: Option<String>,
    port: i32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PortRangeV1 {
    protocol: Option<String>,
    start: i32,
    end: i32,
}

/// v1alpha1 `ports[]`: exactly one field.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PortV1 {
    #[serde(rename = "portNumber")]
    port_number: Option<PortNumber>,
    #[serde(rename = "namedPort")]
    named_port: Option<String>,
    #[serde(rename = "portRange")]
    port_range: Option<PortRangeV1>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RangeV2 {
    start: i32,
    end: i32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DestinationPort {
    number: Option<i32>,
    range: Option<RangeV2>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProtocolMatch {
    #[serde(rename = "destinationPort")]
    destination_port: Option<DestinationPort>,
}

/// v1alpha2 `protocols[]`: exactly one field.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProtocolV2 {
    tcp: Option<ProtocolMatch>,
    udp: Option<ProtocolMatch>,
    sctp: Option<ProtocolMatch>,
    #[serde(rename = "destinationNamedPort")]
    destination_named_port: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleWire {
    name: Option<String>,
    action: String,
    from: Option<Vec<Selection>>,
    to: Option<Vec<Selection>>,
    ports: Option<Vec<PortV1>>,
    protocols: Option<Vec<ProtocolV2>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SpecWire {
    tier: Option<String>,
    priority: Option<i64>,
    subject: Selection,
    #[serde(default)]
    ingress: Vec<RuleWire>,
    #[serde(default)]
    egress: Vec<RuleWire>,
}

#[derive(Deserialize)]
struct ObjectWire {
    spec: SpecWire,
}

fn one_of(at: &At, field: &str, set: usize) -> Result<(), LoadError> {
    match set {
        1 => Ok(()),
        0 => Err(at.err(field, "exactly one field must be set, found none")),
        _ => Err(at.err(field, "exactly one field must be set, found several")),
    }
}

fn subject(s: &Selection, at: &At) -> Result<ClusterSubject, LoadError> {
    let set =
        [s.namespaces.is_some(), s.pods.is_some(), s.nodes.is_some(), s.networks.is_some(), s.domain_names.is_some()];
    one_of(at, "spec.subject", set.iter().filter(|b| **b).count())?;
    if let Some(ns) = &s.namespaces {
        return Ok(ClusterSubject::Namespaces(convert_selector(
            &ns.strict(at, "spec.subject.namespaces")?,
            at,
            "spec.subject.namespaces",
        )?));
    }
    match &s.pods {
        Some(p) => Ok(ClusterSubject::Pods {
            namespace_selector: convert_selector(
                &p.namespace_selector.strict(at, "spec.subject.pods.namespaceSelector")?,
                at,
                "spec.subject.pods.namespaceSelector",
            )?,
            pod_selector: convert_selector(
                &p.pod_selector.strict(at, "spec.subject.pods.podSelector")?,
                at,
                "spec.subject.pods.podSelector",
            )?,
        }),
        None => Err(at.err("spec.subject", "only namespaces or pods can select a subject")),
    }
}

fn peer(
    s: &Selection,
    at: &At,
    field: &str,
    egress: bool,
    warnings: &mut Vec<String>,
) -> Result<ClusterPeer, LoadError> {
    let set =
        [s.namespaces.is_some(), s.pods.is_some(), s.nodes.is_some(), s.networks.is_some(), s.domain_names.is_some()];
    one_of(at, field, set.iter().filter(|b| **b).count())?;
    if !egress && (s.nodes.is_some() || s.networks.is_some() || s.domain_names.is_some()) {
        return Err(at.err(field, "ingress peers are namespaces or pods only"));
    }
    if let Some(ns) = &s.namespaces {
        let f = format!("{field}.namespaces");
        return Ok(ClusterPeer::Namespaces(convert_selector(&ns.namespaces_peer(at, &f, warnings)?, at, &f)?));
    }
    if let Some(p) = &s.pods {
        return Ok(ClusterPeer::Pods {
            namespace_selector: {
                let f = format!("{field}.pods.namespaceSelector");
                convert_selector(&p.namespace_selector.strict(at, &f)?, at, &f)?
            },
            pod_selector: {
                let f = format!("{field}.pods.podSelector");
                convert_selector(&p.pod_selector.strict(at, &f)?, at, &f)?
            },
        });
    }
    if let Some(nodes) = &s.nodes {
        let f = format!("{field}.nodes");
        return Ok(ClusterPeer::Nodes(convert_selector(&nodes.strict(at, &f)?, at, &f)?));
    }
    if let Some(networks) = &s.networks {
        let blocks = networks
            .iter()
            .enumerate()
            .map(|(i, cidr)| {
                IpBlock::parse(cidr, &[]).map_err(|e| at.err(format!("{field}.networks[{i}]"), e.to_string()))
            })
            .collect::<Result<_, _>>()?;
        return Ok(ClusterPeer::Networks(blocks));
    }
    let names = s.domain_names.clone().unwrap_or_default();
    warnings.push(format!(
        "{}: {}: field {field}.domainNames: domain names ({}) cannot be evaluated offline; the peer is treated as matching nothing",
        at.origin,
        at.object,
        names.join(", ")
    ));
    Ok(ClusterPeer::DomainNames(names))
}

fn ports_v1(ports: &[PortV1], at: &At, field: &str) -> Result<Vec<ClusterPort>, LoadError> {
    let mut out = Vec::new();
    for (i, p) in ports.iter().enumerate() {
        let f = format!("{field}.ports[{i}]");
        one_of(
            at,
            &f,
            [p.port_number.is_some(), p.named_port.is_some(), p.port_range.is_some()].iter().filter(|b| **b).count(),
        )?;
        if let Some(n) = &p.port_number {
            let protocol = protocol(n.protocol.as_deref(), at, &format!("{f}.portNumber.protocol"))?;
            out.push(ClusterPort::Number { protocol, port: valid_port(n.port, at, &format!("{f}.portNumber.port"))? });
        } else if let Some(r) = &p.port_range {
            let protocol = protocol(r.protocol.as_deref(), at, &format!("{f}.portRange.protocol"))?;
            let start = valid_port(r.start, at, &format!("{f}.portRange.start"))?;
            let end = valid_port(r.end, at, &format!("{f}.portRange.end"))?;
            if start >= end {
                return Err(at.err(format!("{f}.portRange"), format!("start {start} must be less than end {end}")));
            }
            out.push(ClusterPort::Range { protocol, start, end });
        } else if let Some(name) = &p.named_port {
            out.push(ClusterPort::Named(name.clone()));
        }
    }
    Ok(out)
}

fn protocols_v2(protocols: &[ProtocolV2], at: &At, field: &str) -> Result<Vec<ClusterPort>, LoadError> {
    let mut out = Vec::new();
    for (i, p) in protocols.iter().enumerate() {
        let f = format!("{field}.protocols[{i}]");
        let set = [p.tcp.is_some(), p.udp.is_some(), p.sctp.is_some(), p.destination_named_port.is_some()];
        one_of(at, &f, set.iter().filter(|b| **b).count())?;
        if let Some(name) = &p.destination_named_port {
            out.push(ClusterPort::Named(name.clone()));
            continue;
        }
        let (proto, m, key) = match (&p.tcp, &p.udp, &p.sctp) {
            (Some(m), _, _) => (netreach_model::Protocol::Tcp, m, "tcp"),
            (_, Some(m), _) => (netreach_model::Protocol::Udp, m, "udp"),
            (_, _, Some(m)) => (netreach_model::Protocol::Sctp, m, "sctp"),
            _ => unreachable!("one_of checked"),
        };
        let Some(dp) = &m.destination_port else {
            return Err(at.err(format!("{f}.{key}"), "destinationPort is required"));
        };
        let pf = format!("{f}.{key}.destinationPort");
        match (dp.number, &dp.range) {
            (Some(n), None) => {
                out.push(ClusterPort::Number { protocol: proto, port: valid_port(n, at, &format!("{pf}.number"))? })
            }
            (None, Some(r)) => {
                let start = valid_port(r.start, at, &format!("{pf}.range.start"))?;
                let end = valid_port(r.end, at, &format!("{pf}.range.end"))?;
                if start >= end {
                    return Err(at.err(format!("{pf}.range"), format!("start {start} must be less than end {end}")));
                }
                out.push(ClusterPort::Range { protocol: proto, start, end });
            }
            _ => return Err(at.err(pf, "exactly one of number or range must be set")),
        }
    }
    Ok(out)
}

pub(super) fn convert(
    kind: &str,
    name: &str,
    body: Body,
    at: &At,
    warnings: &mut Vec<String>,
) -> Result<ClusterPolicy, LoadError> {
    let wire: ObjectWire = typed(body, at)?;
    let spec = wire.spec;
    let (kind, v2) = match kind {
        "AdminNetworkPolicy" => (ClusterPolicyKind::AdminNetworkPolicy, false),
        "BaselineAdminNetworkPolicy" => (ClusterPolicyKind::BaselineAdminNetworkPolicy, false),
        _ => (ClusterPolicyKind::ClusterNetworkPolicy, true),
    };
    let tier = match (kind, spec.tier.as_deref()) {
        (ClusterPolicyKind::AdminNetworkPolicy, _) => Tier::Admin,
        (ClusterPolicyKind::BaselineAdminNetworkPolicy, _) => Tier::Baseline,
        (_, Some("Admin")) => Tier::Admin,
        (_, Some("Baseline")) => Tier::Baseline,
        (_, other) => return Err(at.err("spec.tier", format!("{other:?}: expected Admin or Baseline"))),
    };
    let priority = match (kind, spec.priority) {
        (ClusterPolicyKind::BaselineAdminNetworkPolicy, _) => 0,
        (_, Some(p)) if (0..=1000).contains(&p) => p as u32,
        (_, Some(p)) => return Err(at.err("spec.priority", format!("{p} is outside 0..1000"))),
        (_, None) => return Err(at.err("spec.priority", "missing")),
    };
    if kind == ClusterPolicyKind::BaselineAdminNetworkPolicy && name != "default" {
        return Err(at.err("metadata.name", "a BaselineAdminNetworkPolicy is a singleton named \"default\""));
    }
    let subject = subject(&spec.subject, at)?;
    let mut rules = [Vec::new(), Vec::new()];
    for (d, (list, dir, peers_key)) in
        [(&spec.ingress, "ingress", "from"), (&spec.egress, "egress", "to")].into_iter().enumerate()
    {
        for (i, r) in list.iter().enumerate() {
            let field = format!("spec.{dir}[{i}]");
            let action = match (r.action.as_str(), v2, kind) {
                ("Allow", false, _) | ("Accept", true, _) => Action::Allow,
                ("Deny", _, _) => Action::Deny,
                ("Pass", _, k) if k != ClusterPolicyKind::BaselineAdminNetworkPolicy => Action::Pass,
                (other, _, _) => {
                    let allowed = match (v2, kind) {
                        (true, _) => "Accept, Deny or Pass",
                        (false, ClusterPolicyKind::BaselineAdminNetworkPolicy) => "Allow or Deny",
                        _ => "Allow, Deny or Pass",
                    };
                    return Err(at.err(format!("{field}.action"), format!("{other:?}: expected {allowed}")));
                }
            };
            let wire_peers = if d == 0 { &r.from } else { &r.to };
            let wire_peers = wire_peers.as_deref().unwrap_or(&[]);
            if wire_peers.is_empty() {
                return Err(at.err(format!("{field}.{peers_key}"), "must list at least one peer"));
            }
            let peers = wire_peers
                .iter()
                .enumerate()
                .map(|(j, p)| peer(p, at, &format!("{field}.{peers_key}[{j}]"), d == 1, warnings))
                .collect::<Result<_, _>>()?;
            let ports = match (v2, &r.ports, &r.protocols) {
                (false, Some(p), None) => Some(ports_v1(p, at, &field)?),
                (true, None, Some(p)) => Some(protocols_v2(p, at, &field)?),
                (_, None, None) => None,
                (false, _, Some(_)) => return Err(at.err(format!("{field}.protocols"), "v1alpha1 rules use ports")),
                (true, Some(_), _) => return Err(at.err(format!("{field}.ports"), "v1alpha2 rules use protocols")),
            };
            rules[d].push(ClusterRule { name: r.name.clone(), action, peers, ports });
        }
    }
    let [ingress, egress] = rules;
    Ok(ClusterPolicy { kind, name: name.to_string(), tier, priority, subject, ingress, egress })
}
