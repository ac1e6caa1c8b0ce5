//! Dialect loader: CiliumNetworkPolicy and CiliumClusterwideNetworkPolicy (`cilium.io/v2`) →
//! [`netreach_model::CiliumPolicy`], one per `spec` and per entry of `specs`. No crate ships
//! these CRD types: the wire shapes (`wire.rs`) hold exactly the fields of Cilium's `api.Rule`,
//! unknown ones are errors, and what Cilium's agent rejects (pkg/policy/api `Sanitize`) is too.
//! Reference: https://docs.cilium.io/en/stable/security/policy/language/

mod wire;

use super::convert::{typed, At};
use super::documents::Body;
use super::LoadError;
use netreach_model::cilium::labels::{scope_peer, scope_subject};
use netreach_model::{
    CiliumPeer, CiliumPolicy, CiliumPolicyKind, CiliumPort, CiliumRule, CiliumSubject, Entity, IpBlock, LabelSelector,
    PortSpec, Protocol, Requirement, Section,
};
use wire::{CidrRuleWire, ObjectWire, PortRuleWire, RuleWire, SectionRuleWire, SelectorWire};

/// Whether a kind is one this loader reads.
pub(super) fn is_cilium_kind(api_version: &str, kind: &str) -> bool {
    api_version == "cilium.io/v2" && matches!(kind, "CiliumNetworkPolicy" | "CiliumClusterwideNetworkPolicy")
}

/// Converts one object into its rules (one per `spec`/`specs[i]`).
pub(super) fn convert(
    kind: &str,
    namespace: &str,
    name: &str,
    body: Body,
    at: &At,
    warnings: &mut Vec<String>,
) -> Result<Vec<CiliumPolicy>, LoadError> {
    let wire: ObjectWire = typed(body, at)?;
    let (kind, namespace) = match kind {
        "CiliumNetworkPolicy" => (CiliumPolicyKind::Namespaced, Some(namespace)),
        _ => (CiliumPolicyKind::Clusterwide, None),
    };
    if wire.spec.is_none() && wire.specs.as_ref().is_none_or(|s| s.is_empty()) {
        return Err(at.err("spec", "missing: a Cilium policy needs spec or specs"));
    }
    let mut out = Vec::new();
    if let Some(spec) = &wire.spec {
        let mut ctx = Ctx { at, field: "spec".into(), namespace, warnings };
        out.push(convert_rule(spec, kind, name, None, &mut ctx)?);
    }
    for (i, spec) in wire.specs.iter().flatten().enumerate() {
        let mut ctx = Ctx { at, field: format!("specs[{i}]"), namespace, warnings };
        out.push(convert_rule(spec, kind, name, Some(i as u32), &mut ctx)?);
    }
    Ok(out)
}

struct Ctx<'a, 'w> {
    at: &'a At<'a>,
    /// `spec` or `specs[i]`.
    field: String,
    namespace: Option<&'a str>,
    warnings: &'w mut Vec<String>,
}

impl Ctx<'_, '_> {
    fn err(&self, field: &str, message: impl Into<String>) -> LoadError {
        self.at.err(format!("{}.{field}", self.field), message)
    }

    fn warn(&mut self, field: &str, message: &str) {
        self.warnings.push(format!("{}: {}: field {}.{field}: {message}", self.at.origin, self.at.object, self.field));
    }
}

fn convert_rule(
    spec: &RuleWire,
    kind: CiliumPolicyKind,
    name: &str,
    spec_index: Option<u32>,
    ctx: &mut Ctx,
) -> Result<CiliumPolicy, LoadError> {
    let subject = match (&spec.endpoint_selector, &spec.node_selector) {
        (Some(_), Some(_)) => return Err(ctx.err("nodeSelector", "endpointSelector and nodeSelector are exclusive")),
        (None, None) => {
            return Err(ctx.err("endpointSelector", "missing: a rule needs endpointSelector or nodeSelector"))
        }
        (Some(s), None) => {
            CiliumSubject::Endpoints(scope_subject(selector(s, ctx, "endpointSelector")?, ctx.namespace))
        }
        (None, Some(s)) => {
            if kind == CiliumPolicyKind::Namespaced {
                return Err(ctx.err("nodeSelector", "only a CiliumClusterwideNetworkPolicy may select nodes"));
            }
            ctx.warn(
                "nodeSelector",
                "host policies (nodeSelector) are not evaluated: hosts are not endpoints here, so traffic the host firewall denies is reported as allowed",
            );
            CiliumSubject::Nodes(selector(s, ctx, "nodeSelector")?)
        }
    };
    let mut sections: [Vec<CiliumRule>; 4] = Default::default();
    for section in Section::ALL {
        let list = match section {
            Section::Ingress => &spec.ingress,
            Section::Egress => &spec.egress,
            Section::IngressDeny => &spec.ingress_deny,
            Section::EgressDeny => &spec.egress_deny,
        };
        for (i, rule) in list.iter().flatten().enumerate() {
            let field = format!("{}[{i}]", section.field());
            sections[section as usize].push(convert_section_rule(rule, section, &field, ctx)?);
        }
    }
    // Default deny per direction: `enableDefaultDeny` where given, else whether the direction
    // has rules, allow or deny; an empty list is no rule (`ingress: []` does not isolate).
    // https://docs.cilium.io/en/stable/security/policy/language/#ingress-egress-default-deny
    let enable = spec.enable_default_deny.as_ref();
    let default_deny = [
        enable.and_then(|e| e.ingress).unwrap_or(!sections[0].is_empty() || !sections[2].is_empty()),
        enable.and_then(|e| e.egress).unwrap_or(!sections[1].is_empty() || !sections[3].is_empty()),
    ];
    Ok(CiliumPolicy {
        kind,
        namespace: ctx.namespace.map(str::to_string),
        name: name.to_string(),
        spec_index,
        subject,
        default_deny,
        sections,
    })
}

fn selector(s: &SelectorWire, ctx: &Ctx, field: &str) -> Result<LabelSelector, LoadError> {
    let mut out =
        LabelSelector { match_labels: s.match_labels.clone().unwrap_or_default(), match_expressions: Vec::new() };
    for (i, e) in s.match_expressions.iter().flatten().enumerate() {
        let req = Requirement::new(&e.key, &e.operator, e.values.clone().unwrap_or_default())
            .map_err(|err| ctx.err(&format!("{field}.matchExpressions[{i}]"), err.to_string()))?;
        out.match_expressions.push(req);
    }
    Ok(out)
}

/// An endpoint selector naming only a `reserved:` label is that entity (`reserved:host` is the
/// host entity).
fn reserved_entity(s: &LabelSelector) -> Option<Option<Entity>> {
    if s.match_labels.len() != 1 || !s.match_expressions.is_empty() {
        return None;
    }
    let key = s.match_labels.keys().next()?;
    let name = key.strip_prefix("reserved:")?;
    Some(Entity::parse(name))
}

/// Why an entity cannot be resolved from manifests, for the ones that cannot.
/// https://docs.cilium.io/en/stable/security/policy/language/#entities-based
fn undefinable_entity(entity: Entity) -> Option<&'static str> {
    match entity {
        Entity::Ingress => Some("Cilium's Envoy ingress proxy is not an object of the input"),
        Entity::Health => Some("Cilium's health endpoints are created by the agent, not by manifests"),
        Entity::Init => Some("endpoints whose identity is not resolved yet exist only while they start"),
        Entity::Unmanaged => Some("which pods Cilium does not manage is not in the manifests"),
        _ => None,
    }
}

fn cidr(text: &str, except: &[String], ctx: &Ctx, field: &str) -> Result<IpBlock, LoadError> {
    IpBlock::parse(text, except).map_err(|e| ctx.err(field, e.to_string()))
}

fn convert_section_rule(
    rule: &SectionRuleWire,
    section: Section,
    field: &str,
    ctx: &mut Ctx,
) -> Result<CiliumRule, LoadError> {
    let ingress = section.direction() == netreach_model::Direction::Ingress;
    let (from, to) = if ingress { ("from", "") } else { ("to", "") };
    let _ = to;
    let p = |name: &str| format!("{field}.{from}{name}");
    // Cilium's agent rejects a rule combining L3 kinds (IngressCommonRule.Validate).
    let l3 = [
        ("Endpoints", rule.endpoints.as_ref().is_some_and(|v| !v.is_empty())),
        ("CIDR", rule.cidr.as_ref().is_some_and(|v| !v.is_empty())),
        ("CIDRSet", rule.cidr_set.as_ref().is_some_and(|v| !v.is_empty())),
        ("Entities", rule.entities.as_ref().is_some_and(|v| !v.is_empty())),
        ("Nodes", rule.nodes.as_ref().is_some_and(|v| !v.is_empty())),
        ("Groups", rule.groups.as_ref().is_some_and(|v| !v.is_empty())),
    ];
    let present: Vec<&str> = l3.iter().filter(|(_, set)| *set).map(|(n, _)| *n).collect();
    if present.len() > 1 {
        return Err(ctx.err(
            field,
            format!(
                "combining {from}{} and {from}{} in one rule is not supported by Cilium, which rejects the policy: split it into two rules",
                present[0], present[1]
            ),
        ));
    }
    if rule.icmps.as_ref().is_some_and(|v| !v.is_empty()) && rule.to_ports.as_ref().is_some_and(|v| !v.is_empty()) {
        return Err(
            ctx.err(&format!("{field}.icmps"), "icmps may only be present without toPorts (Cilium rejects the policy)")
        );
    }
    let mut notes = Vec::new();
    let mut peers: Vec<CiliumPeer> = Vec::new();
    for (i, s) in rule.endpoints.iter().flatten().enumerate() {
        let sel = selector(s, ctx, &format!("{}[{i}]", p("Endpoints")))?;
        match reserved_entity(&sel) {
            Some(Some(entity)) => peers.push(CiliumPeer::Entity(entity)),
            Some(None) => return Err(ctx.err(&format!("{}[{i}]", p("Endpoints")), "unknown reserved label")),
            None => peers.push(CiliumPeer::Endpoints(scope_peer(sel, ctx.namespace))),
        }
    }
    for (i, text) in rule.cidr.iter().flatten().enumerate() {
        peers.push(CiliumPeer::Cidr(cidr(text, &[], ctx, &format!("{}[{i}]", p("CIDR")))?));
    }
    for (i, c) in rule.cidr_set.iter().flatten().enumerate() {
        peers.push(cidr_set(c, ctx, &format!("{}[{i}]", p("CIDRSet")))?);
    }
    for (i, e) in rule.entities.iter().flatten().enumerate() {
        let entity = Entity::parse(e).ok_or_else(|| {
            let names: Vec<&str> = Entity::ALL.iter().map(|(n, _)| *n).collect();
            ctx.err(
                &format!("{}[{i}]", p("Entities")),
                format!("unknown entity {e:?} (expected one of {})", names.join(", ")),
            )
        })?;
        if entity == Entity::KubeApiserver {
            notes.push(
                "the kube-apiserver entity is the API server's addresses as `kube-apiserver` resolves them (none when the input does not say where it is: pass --apiserver)"
                    .to_string(),
            );
        }
        if let Some(why) = undefinable_entity(entity) {
            let effect = if section.is_deny() {
                "what it denies is reported as allowed"
            } else {
                "what it allows is reported as denied"
            };
            ctx.warn(
                &format!("{}[{i}]", p("Entities")),
                &format!("the {e} entity matches nothing here ({why}), so {effect}"),
            );
            notes.push(format!("the {e} entity is not evaluated ({why})"));
        }
        peers.push(CiliumPeer::Entity(entity));
    }
    let unevaluated: [(&str, bool, &str); 4] = [
        (
            "Nodes",
            rule.nodes.as_ref().is_some_and(|v| !v.is_empty()),
            "node selectors are not evaluated (hosts are not endpoints here)",
        ),
        (
            "Groups",
            rule.groups.as_ref().is_some_and(|v| !v.is_empty()),
            "cloud-provider groups cannot be resolved from manifests",
        ),
        ("Services", rule.services.as_ref().is_some_and(|v| !v.is_empty()), "toServices is not evaluated"),
        ("FQDNs", rule.fqdns.as_ref().is_some_and(|v| !v.is_empty()), "DNS names cannot be resolved from manifests"),
    ];
    for (name, set, why) in unevaluated {
        if set {
            let effect = if section.is_deny() {
                "what it denies is reported as allowed"
            } else {
                "what it allows is reported as denied"
            };
            ctx.warn(
                &format!("{}.{from}{name}", &field),
                &format!("{why}; the peer matches nothing here, so {effect}"),
            );
            notes.push(format!("{from}{name} is not evaluated ({why})"));
        }
    }
    let has_l3 = !present.is_empty()
        || rule.services.as_ref().is_some_and(|v| !v.is_empty())
        || rule.fqdns.as_ref().is_some_and(|v| !v.is_empty());
    let mut ports: Option<Vec<CiliumPort>> = None;
    for (i, port_rule) in rule.to_ports.iter().flatten().enumerate() {
        let list = ports.get_or_insert_with(Vec::new);
        list.extend(port_rule_ports(port_rule, section, ctx, &format!("{field}.toPorts[{i}]"), &mut notes)?);
    }
    let icmps = rule.icmps.as_ref().is_some_and(|v| !v.is_empty());
    if icmps {
        ctx.warn(&format!("{field}.icmps"), "ICMP is not modelled: the rule's ICMP traffic is not in any answer");
        // ICMP only: no TCP, UDP or SCTP port.
        ports = Some(Vec::new());
    }
    // No L3 field: with ports (or ICMP) the rule matches every peer; with nothing at all
    // (`{}`) it matches nothing (docs: "Ingress/Egress Default Deny").
    let peers = match (has_l3, ports.is_some()) {
        (true, _) => Some(peers),
        (false, true) => None,
        (false, false) => Some(Vec::new()),
    };
    let mut requires = Vec::new();
    for (i, s) in rule.requires.iter().flatten().enumerate() {
        let f = format!("{field}.{from}Requires[{i}]");
        requires.push(scope_peer(selector(s, ctx, &f)?, ctx.namespace));
    }
    if let Some(auth) = &rule.authentication {
        let _ = auth;
        notes.push("mutual authentication is required: not modelled".into());
    }
    Ok(CiliumRule { peers, ports, requires, notes })
}

fn cidr_set(c: &CidrRuleWire, ctx: &mut Ctx, field: &str) -> Result<CiliumPeer, LoadError> {
    match (&c.cidr, &c.cidr_group_ref, &c.cidr_group_selector) {
        (Some(text), None, None) => Ok(CiliumPeer::Cidr(cidr(text, c.except.as_deref().unwrap_or(&[]), ctx, field)?)),
        (None, None, None) => Err(ctx.err(field, "one of cidr, cidrGroupRef or cidrGroupSelector is required")),
        (None, _, _) => {
            ctx.warn(field, "CiliumCIDRGroup references are not resolved; the peer matches nothing here");
            Ok(CiliumPeer::Cidr(IpBlock::parse("0.0.0.0/32", &["0.0.0.0/32".to_string()]).expect("valid")))
        }
        _ => Err(ctx.err(field, "cidr, cidrGroupRef and cidrGroupSelector are exclusive")),
    }
}

fn port_rule_ports(
    rule: &PortRuleWire,
    section: Section,
    ctx: &mut Ctx,
    field: &str,
    notes: &mut Vec<String>,
) -> Result<Vec<CiliumPort>, LoadError> {
    let l7 = rule.rules.is_some()
        || rule.listener.is_some()
        || rule.server_names.is_some()
        || rule.originating_tls.is_some()
        || rule.terminating_tls.is_some();
    if l7 {
        if section.is_deny() {
            return Err(ctx.err(&format!("{field}.rules"), "deny rules take ports only (no L7 rules)"));
        }
        ctx.warn(
            &format!("{field}.rules"),
            "L7 rules (HTTP, Kafka, DNS, TLS, listeners) are not evaluated: the L4 ports are reported as allowed, and the L7 rules further restrict them",
        );
        notes.push("L7 rules further restrict the allowed ports".into());
    }
    let mut out = Vec::new();
    for (i, p) in rule.ports.iter().flatten().enumerate() {
        let f = format!("{field}.ports[{i}]");
        let protocol = match p.protocol.as_deref() {
            None | Some("ANY") => None,
            Some(text) => Some(Protocol::parse(text).ok_or_else(|| {
                ctx.err(&format!("{f}.protocol"), format!("{text:?}: expected TCP, UDP, SCTP or ANY"))
            })?),
        };
        let port = match p.port.as_deref().map(str::trim) {
            None | Some("") | Some("0") => None,
            Some(text) => match text.parse::<u32>() {
                Ok(n) if (1..=65535).contains(&n) => Some(PortSpec::Number(n as u16)),
                Ok(n) => return Err(ctx.err(&format!("{f}.port"), format!("{n} is outside 0..65535"))),
                Err(_) if is_port_name(text) => Some(PortSpec::Name(text.to_string())),
                Err(_) => {
                    return Err(
                        ctx.err(&format!("{f}.port"), format!("{text:?} is neither a port number nor a port name"))
                    )
                }
            },
        };
        let end_port = match (p.end_port, &port) {
            (None, _) | (Some(0), _) => None,
            (Some(end), Some(PortSpec::Number(start))) => {
                if !(1..=65535).contains(&end) || end < i64::from(*start) {
                    return Err(ctx.err(&format!("{f}.endPort"), format!("{end} must be a port at least {start}")));
                }
                Some(end as u16)
            }
            (Some(_), _) => return Err(ctx.err(&format!("{f}.endPort"), "endPort needs a numeric port")),
        };
        out.push(CiliumPort { protocol, port, end_port });
    }
    // A toPorts entry without ports (only L7 rules) covers every port.
    if rule.ports.as_ref().is_none_or(|p| p.is_empty()) {
        out.push(CiliumPort { protocol: None, port: None, end_port: None });
    }
    Ok(out)
}

/// An IANA service name, as Kubernetes validates container port names.
fn is_port_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 15
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && s.bytes().any(|b| b.is_ascii_lowercase())
        && !s.starts_with('-')
        && !s.ends_with('-')
        && !s.contains("--")
}
