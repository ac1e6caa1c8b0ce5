//! Dialect loader: Calico NetworkPolicy, GlobalNetworkPolicy, Tier, NetworkSet and GlobalNetworkSet (`projectcalico.org/v3`,
//! and `crd.projectcalico.org/v1` as the API server and operator store them) →
//! [`netreach_model::calico`]. Staged kinds are read and reported as not enforced; what Calico's
//! validation rejects (selectors, actions, protocols, ports) is an error naming the field.
//! References: https://docs.tigera.io/calico/latest/reference/resources/networkpolicy,
//! https://docs.tigera.io/calico/latest/reference/resources/globalnetworkpolicy,
//! https://docs.tigera.io/calico/latest/reference/resources/tier.

pub(super) mod staged;
mod wire;

use super::convert::{typed, At};
use super::documents::Body;
use super::{LoadError, LoadReport};
use netreach_model::calico::{
    CalicoAction, CalicoKind, CalicoPolicy, CalicoPort, CalicoRule, CalicoTier, EntityRule, NetworkSet, Order,
    Selector, ServiceAccountMatch, ADMIN_TIER, BASELINE_TIER, DEFAULT_TIER,
};
use netreach_model::{Cluster, IpBlock, Protocol};
use wire::{EntityWire, NetworkSetWire, NumOrString, ObjectWire, PolicySpecWire, RuleWire, TierSpecWire};

/// The API versions Calico policy kinds are read under.
fn is_calico_group(api_version: &str) -> bool {
    matches!(api_version, "projectcalico.org/v3" | "crd.projectcalico.org/v1")
}

/// The kind an object is known by: Calico's NetworkPolicy is told apart from Kubernetes' one
/// (same kind name, other API group), so the two never replace each other.
pub(super) fn identity_kind(api_version: &str, kind: &str) -> Option<&'static str> {
    (is_calico_group(api_version) && kind == "NetworkPolicy").then_some("NetworkPolicy.projectcalico.org")
}

/// Whether a kind is one this loader reads (`kind` as `identity_kind` spells it).
pub(super) fn is_calico_kind(api_version: &str, kind: &str) -> bool {
    is_calico_group(api_version)
        && matches!(
            kind,
            "NetworkPolicy.projectcalico.org"
                | "GlobalNetworkPolicy"
                | "Tier"
                | "NetworkSet"
                | "GlobalNetworkSet"
                | "StagedNetworkPolicy"
                | "StagedGlobalNetworkPolicy"
                | "StagedKubernetesNetworkPolicy"
        )
}

/// Calico's cluster-scoped kinds.
pub(super) fn is_cluster_scoped(kind: &str) -> bool {
    matches!(kind, "GlobalNetworkPolicy" | "Tier" | "StagedGlobalNetworkPolicy" | "GlobalNetworkSet" | "HostEndpoint")
}

/// Converts one object into the cluster.
pub(super) fn convert(
    kind: &str,
    namespace: &str,
    name: &str,
    body: Body,
    at: &At,
    report: &mut LoadReport,
    cluster: &mut Cluster,
) -> Result<(), LoadError> {
    match kind {
        "Tier" => {
            let wire: ObjectWire<TierSpecWire> = typed(body, at)?;
            let spec = wire.spec.unwrap_or_default();
            // https://docs.tigera.io/calico/latest/reference/resources/tier: defaultAction Deny (default) or Pass.
            let default_pass = match spec.default_action.as_deref() {
                None | Some("Deny") => false,
                Some("Pass") => true,
                Some(other) => return Err(at.err("spec.defaultAction", format!("{other:?}: expected Deny or Pass"))),
            };
            cluster.calico.tiers.push(CalicoTier { name: name.to_string(), order: Order(spec.order), default_pass });
        }
        "NetworkSet" | "GlobalNetworkSet" => {
            let wire: NetworkSetWire = typed(body, at)?;
            let nets = addresses(wire.spec.unwrap_or_default().nets, "spec.nets", at)?;
            cluster.calico.network_sets.push(NetworkSet {
                namespace: (kind == "NetworkSet").then(|| namespace.to_string()),
                name: name.to_string(),
                labels: wire.metadata.and_then(|m| m.labels).unwrap_or_default(),
                nets,
            });
        }
        "StagedNetworkPolicy" | "StagedGlobalNetworkPolicy" | "StagedKubernetesNetworkPolicy" => {
            report.warnings.push(format!(
                "{}: {}: staged policies are not enforced by Calico: not evaluated (to see what committing it would change: `netreach diff CLUSTER --apply STAGED_FILE`)",
                at.origin, at.object
            ));
        }
        _ => {
            let wire: ObjectWire<PolicySpecWire> = typed(body, at)?;
            let spec = wire.spec.unwrap_or_default();
            let (kind, namespace) = if kind == "GlobalNetworkPolicy" {
                (CalicoKind::GlobalNetworkPolicy, None)
            } else {
                (CalicoKind::NetworkPolicy, Some(namespace.to_string()))
            };
            let mut ctx = Ctx { at, warnings: &mut report.warnings };
            if let Some(policy) = convert_policy(spec, kind, namespace, name, &mut ctx)? {
                cluster.calico.policies.push(policy);
            }
        }
    }
    Ok(())
}

struct Ctx<'a, 'w> {
    at: &'a At<'a>,
    warnings: &'w mut Vec<String>,
}

impl Ctx<'_, '_> {
    fn warn(&mut self, field: &str, message: &str) {
        self.warnings.push(format!("{}: {}: field {field}: {message}", self.at.origin, self.at.object));
    }

    fn selector(&self, field: &str, text: Option<&String>) -> Result<Option<Selector>, LoadError> {
        text.map(|t| Selector::parse(t).map_err(|e| self.at.err(field, format!("{e} in {t:?}")))).transpose()
    }
}

fn convert_policy(
    spec: PolicySpecWire,
    kind: CalicoKind,
    namespace: Option<String>,
    name: &str,
    ctx: &mut Ctx,
) -> Result<Option<CalicoPolicy>, LoadError> {
    if spec.staged_action.is_some() {
        return Err(ctx.at.err("spec.stagedAction", "only staged kinds have stagedAction"));
    }
    if kind == CalicoKind::NetworkPolicy && spec.namespace_selector.is_some() {
        return Err(ctx.at.err("spec.namespaceSelector", "only a GlobalNetworkPolicy has namespaceSelector"));
    }
    let selector = ctx.selector("spec.selector", spec.selector.as_ref())?.unwrap_or_else(Selector::all);
    let namespace_selector = ctx.selector("spec.namespaceSelector", spec.namespace_selector.as_ref())?;
    let service_account_selector =
        ctx.selector("spec.serviceAccountSelector", spec.service_account_selector.as_ref())?;
    let ingress_wire = spec.ingress.unwrap_or_default();
    let egress_wire = spec.egress.unwrap_or_default();
    // types, when absent: Ingress, plus Egress when there are egress rules; Egress alone when
    // only egress rules (the NetworkPolicy reference's table for `types`).
    let applies = match &spec.types {
        None => {
            [ingress_wire.is_empty() == egress_wire.is_empty() || !ingress_wire.is_empty(), !egress_wire.is_empty()]
        }
        Some(types) => {
            let mut applies = [false, false];
            for (i, t) in types.iter().enumerate() {
                match t.as_str() {
                    "Ingress" => applies[0] = true,
                    "Egress" => applies[1] = true,
                    other => {
                        return Err(ctx
                            .at
                            .err(format!("spec.types[{i}]"), format!("{other:?}: expected Ingress or Egress")))
                    }
                }
            }
            applies
        }
    };
    // Host-endpoint features: such a policy never applies to a pod's workload endpoint.
    for (field, set, what) in [
        ("spec.doNotTrack", spec.do_not_track, "untracked policies apply to host endpoints only"),
        ("spec.preDNAT", spec.pre_dnat, "pre-DNAT policies apply to host endpoints only"),
    ] {
        if set == Some(true) {
            ctx.warn(field, &format!("{what}, which are not modelled: the policy is not evaluated (what it does to traffic through hosts is not in the answers)"));
            return Ok(None);
        }
    }
    if spec.apply_on_forward == Some(true) {
        ctx.warn(
            "spec.applyOnForward",
            "forwarded traffic through host endpoints is not modelled: the policy is evaluated for pods only",
        );
    }
    let namespaced = kind == CalicoKind::NetworkPolicy;
    let mut rules = [Vec::new(), Vec::new()];
    for (d, (section, list)) in [("ingress", ingress_wire), ("egress", egress_wire)].into_iter().enumerate() {
        for (i, rule) in list.into_iter().enumerate() {
            let field = format!("spec.{section}[{i}]");
            if let Some(rule) = convert_rule(rule, &field, namespaced, ctx)? {
                rules[d].push(rule);
            }
        }
    }
    let [ingress, egress] = rules;
    Ok(Some(CalicoPolicy {
        kind,
        namespace,
        name: name.to_string(),
        tier: spec.tier.filter(|t| !t.is_empty()).unwrap_or_else(|| DEFAULT_TIER.to_string()),
        order: Order(spec.order),
        selector,
        namespace_selector,
        service_account_selector,
        applies,
        ingress,
        egress,
    }))
}

/// Protocols by name or number (https://docs.tigera.io/calico/latest/reference/resources/networkpolicy#protocol):
/// `Some(p)` for a modelled one, `None` for ICMP, ICMPv6, UDPLite or another number.
fn protocol(p: &NumOrString, field: &str, ctx: &Ctx) -> Result<Option<Protocol>, LoadError> {
    match p {
        NumOrString::Num(6) => Ok(Some(Protocol::Tcp)),
        NumOrString::Num(17) => Ok(Some(Protocol::Udp)),
        NumOrString::Num(132) => Ok(Some(Protocol::Sctp)),
        NumOrString::Num(n) if (1..=255).contains(n) => Ok(None),
        NumOrString::Num(n) => Err(ctx.at.err(field, format!("{n}: a protocol number is 1 to 255"))),
        NumOrString::Str(s) => match s.to_ascii_uppercase().as_str() {
            "TCP" => Ok(Some(Protocol::Tcp)),
            "UDP" => Ok(Some(Protocol::Udp)),
            "SCTP" => Ok(Some(Protocol::Sctp)),
            "ICMP" | "ICMPV6" | "UDPLITE" => Ok(None),
            _ => match s.parse::<i64>() {
                Ok(n) => protocol(&NumOrString::Num(n), field, ctx),
                Err(_) => {
                    Err(ctx.at.err(field, format!("{s:?}: expected TCP, UDP, ICMP, ICMPv6, SCTP, UDPLite or 1-255")))
                }
            },
        },
    }
}

fn convert_rule(rule: RuleWire, field: &str, namespaced: bool, ctx: &mut Ctx) -> Result<Option<CalicoRule>, LoadError> {
    let action = match rule.action.as_str() {
        "Allow" => CalicoAction::Allow,
        "Deny" => CalicoAction::Deny,
        "Pass" => CalicoAction::Pass,
        "Log" => CalicoAction::Log,
        other => {
            return Err(ctx.at.err(format!("{field}.action"), format!("{other:?}: expected Allow, Deny, Pass or Log")))
        }
    };
    let named = rule.protocol.as_ref().map(|p| protocol(p, &format!("{field}.protocol"), ctx)).transpose()?;
    let not = rule.not_protocol.as_ref().map(|p| protocol(p, &format!("{field}.notProtocol"), ctx)).transpose()?;
    if matches!(named, Some(None)) {
        ctx.warn(
            &format!("{field}.protocol"),
            "only TCP, UDP and SCTP connections are modelled: what the rule does to this protocol is not in the answers",
        );
    }
    let mut protocols: Vec<Protocol> = match named {
        None => Protocol::ALL.to_vec(),
        Some(Some(p)) => vec![p],
        Some(None) => Vec::new(),
    };
    if let Some(Some(p)) = not {
        protocols.retain(|&q| q != p);
    }
    let source = rule.source.unwrap_or_default();
    let destination = rule.destination.unwrap_or_default();
    // Ports need a protocol with ports (Calico's validation: TCP, UDP, SCTP or UDPLite).
    let has_ports = |e: &EntityWire| e.ports.is_some() || e.not_ports.is_some();
    if (has_ports(&source) || has_ports(&destination)) && !matches!(named, Some(Some(_))) {
        let udplite = matches!(&rule.protocol, Some(NumOrString::Str(s)) if s.eq_ignore_ascii_case("udplite"))
            || matches!(&rule.protocol, Some(NumOrString::Num(136)));
        if !udplite {
            return Err(ctx.at.err(
                format!("{field}.protocol"),
                "ports need protocol TCP, UDP, SCTP or UDPLite (Calico rejects the rule otherwise)",
            ));
        }
    }
    if rule.icmp.is_some() || rule.not_icmp.is_some() {
        let which = if rule.icmp.is_some() { "icmp" } else { "notICMP" };
        ctx.warn(
            &format!("{field}.{which}"),
            "ICMP type and code matches are not modelled (only TCP, UDP and SCTP connections are)",
        );
    }
    if rule.http.is_some() {
        ctx.warn(
            &format!("{field}.http"),
            "HTTP matches are layer 7 (application layer policy): the rule is evaluated as if every request matched",
        );
    }
    if rule.ip_version.is_some() {
        ctx.warn(
            &format!("{field}.ipVersion"),
            "ipVersion is not modelled: the rule is evaluated for both address families",
        );
    }
    if source.ports.is_some() || source.not_ports.is_some() {
        ctx.warn(
            &format!("{field}.source.ports"),
            "source ports are not modelled (connections are keyed by destination port): the rule is evaluated as if they matched",
        );
    }
    let skip = source.services.is_some() || destination.services.is_some();
    if skip {
        let side = if source.services.is_some() { "source" } else { "destination" };
        ctx.warn(
            &format!("{field}.{side}.services"),
            "service matches are not modelled: the rule is left out (what it allows or denies is not in the answers)",
        );
    }
    let source = entity(source, &format!("{field}.source"), false, ctx)?;
    let destination = entity(destination, &format!("{field}.destination"), true, ctx)?;
    let _ = namespaced;
    Ok((!skip).then_some(CalicoRule { action, protocols, source, destination }))
}

fn entity(e: EntityWire, field: &str, destination: bool, ctx: &mut Ctx) -> Result<EntityRule, LoadError> {
    let nets_in = addresses(e.nets, &format!("{field}.nets"), ctx.at)?;
    let not_nets = addresses(e.not_nets, &format!("{field}.notNets"), ctx.at)?;
    let ports = |list: Option<Vec<NumOrString>>, sub: &str| -> Result<Vec<CalicoPort>, LoadError> {
        list.unwrap_or_default()
            .iter()
            .enumerate()
            .map(|(i, p)| port(p).map_err(|m| ctx.at.err(format!("{field}.{sub}[{i}]"), m)))
            .collect()
    };
    let (port_list, not_ports) = if destination {
        (ports(e.ports, "ports")?, ports(e.not_ports, "notPorts")?)
    } else {
        // Source ports are checked but not modelled (the caller warns).
        ports(e.ports, "ports")?;
        ports(e.not_ports, "notPorts")?;
        (Vec::new(), Vec::new())
    };
    if not_ports.iter().any(|p| matches!(p, CalicoPort::Named(_))) {
        ctx.warn(&format!("{field}.notPorts"), "named ports in notPorts are not modelled: they exclude nothing here");
    }
    let service_accounts = match e.service_accounts {
        None => None,
        Some(sa) => Some(ServiceAccountMatch {
            names: sa.names.unwrap_or_default(),
            selector: ctx.selector(&format!("{field}.serviceAccounts.selector"), sa.selector.as_ref())?,
        }),
    };
    Ok(EntityRule {
        nets: nets_in,
        not_nets,
        selector: ctx
            .selector(&format!("{field}.selector"), e.selector.as_ref())?
            .filter(|s| !s.text().trim().is_empty()),
        not_selector: ctx
            .selector(&format!("{field}.notSelector"), e.not_selector.as_ref())?
            .filter(|s| !s.text().trim().is_empty()),
        namespace_selector: ctx
            .selector(&format!("{field}.namespaceSelector"), e.namespace_selector.as_ref())?
            .filter(|s| !s.text().trim().is_empty()),
        service_accounts,
        ports: port_list,
        not_ports,
    })
}

/// `nets` of a rule or network set: CIDRs, a bare address being a /32 (/128) as libcalico-go's
/// ParseCIDROrIP reads it.
fn addresses(list: Option<Vec<String>>, field: &str, at: &At) -> Result<Vec<IpBlock>, LoadError> {
    list.unwrap_or_default()
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let text = if n.contains('/') {
                n.clone()
            } else if n.contains(':') {
                format!("{n}/128")
            } else {
                format!("{n}/32")
            };
            IpBlock::parse(&text, &[]).map_err(|err| at.err(format!("{field}[{i}]"), err.to_string()))
        })
        .collect()
}

/// A port: a number, `"lo:hi"`, or a name (https://docs.tigera.io/calico/latest/reference/resources/networkpolicy#ports).
fn port(p: &NumOrString) -> Result<CalicoPort, String> {
    let number = |n: i64| -> Result<u16, String> {
        u16::try_from(n).ok().filter(|&v| v > 0).ok_or_else(|| format!("{n}: a port is 1 to 65535"))
    };
    match p {
        NumOrString::Num(n) => number(*n).map(|v| CalicoPort::Range(v, v)),
        NumOrString::Str(s) => {
            if let Some((lo, hi)) = s.split_once(':') {
                let parse = |t: &str| t.trim().parse::<i64>().map_err(|_| format!("{s:?}: a range is \"first:last\""));
                let (lo, hi) = (number(parse(lo)?)?, number(parse(hi)?)?);
                if lo > hi {
                    return Err(format!("{s:?}: the first port is above the last"));
                }
                Ok(CalicoPort::Range(lo, hi))
            } else if let Ok(n) = s.parse::<i64>() {
                number(n).map(|v| CalicoPort::Range(v, v))
            } else if s.is_empty() || s.len() > 15 {
                Err(format!("{s:?}: a port name is 1 to 15 characters"))
            } else {
                Ok(CalicoPort::Named(s.clone()))
            }
        }
    }
}

/// After every object is read: sorted, and policies in tiers the input does not define named.
pub(super) fn finish(cluster: &mut Cluster, report: &mut LoadReport) {
    let calico = &mut cluster.calico;
    calico.policies.sort_by(|a, b| (a.kind, &a.namespace, &a.name).cmp(&(b.kind, &b.namespace, &b.name)));
    calico.tiers.sort_by(|a, b| a.name.cmp(&b.name));
    calico.service_accounts.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    calico.network_sets.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    let builtin = [DEFAULT_TIER, ADMIN_TIER.0, BASELINE_TIER.0];
    let mut missing: Vec<&str> = calico
        .policies
        .iter()
        .map(|p| p.tier.as_str())
        .filter(|t| !builtin.contains(t) && !calico.tiers.iter().any(|d| d.name == *t))
        .collect();
    missing.sort_unstable();
    missing.dedup();
    for tier in missing {
        report.warnings.push(format!(
            "Calico tier {tier:?} is named by policies but not in the input: evaluated after every tier with an order, ending in deny"
        ));
    }
}
