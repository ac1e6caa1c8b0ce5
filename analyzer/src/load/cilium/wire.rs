//! The wire shapes of `cilium.io/v2` policies: exactly the fields of Cilium's `api.Rule`
//! (pkg/policy/api), unknown ones refused. L7 rules, ICMP fields and authentication are kept as
//! values: they are reported, not evaluated.

use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// The object: `spec` and/or `specs` (the envelope's other fields are the loader's).
#[derive(Deserialize)]
pub(super) struct ObjectWire {
    pub spec: Option<RuleWire>,
    pub specs: Option<Vec<RuleWire>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SelectorWire {
    #[serde(rename = "matchLabels")]
    pub match_labels: Option<BTreeMap<String, String>>,
    #[serde(rename = "matchExpressions")]
    pub match_expressions: Option<Vec<RequirementWire>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RequirementWire {
    pub key: String,
    pub operator: String,
    pub values: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DefaultDenyWire {
    pub ingress: Option<bool>,
    pub egress: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RuleWire {
    #[serde(rename = "endpointSelector")]
    pub endpoint_selector: Option<SelectorWire>,
    #[serde(rename = "nodeSelector")]
    pub node_selector: Option<SelectorWire>,
    #[serde(default, deserialize_with = "ingress_rules")]
    pub ingress: Option<Vec<SectionRuleWire>>,
    #[serde(rename = "ingressDeny", default, deserialize_with = "ingress_rules")]
    pub ingress_deny: Option<Vec<SectionRuleWire>>,
    #[serde(default, deserialize_with = "egress_rules")]
    pub egress: Option<Vec<SectionRuleWire>>,
    #[serde(rename = "egressDeny", default, deserialize_with = "egress_rules")]
    pub egress_deny: Option<Vec<SectionRuleWire>>,
    #[serde(rename = "enableDefaultDeny")]
    pub enable_default_deny: Option<DefaultDenyWire>,
    #[allow(dead_code)]
    pub labels: Option<Vec<Value>>,
    #[allow(dead_code)]
    pub description: Option<String>,
    #[allow(dead_code)]
    pub log: Option<Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CidrRuleWire {
    pub cidr: Option<String>,
    #[serde(rename = "cidrGroupRef")]
    pub cidr_group_ref: Option<String>,
    #[serde(rename = "cidrGroupSelector")]
    pub cidr_group_selector: Option<SelectorWire>,
    pub except: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PortProtocolWire {
    #[serde(default, deserialize_with = "string_or_number")]
    pub port: Option<String>,
    #[serde(rename = "endPort")]
    pub end_port: Option<i64>,
    pub protocol: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PortRuleWire {
    pub ports: Option<Vec<PortProtocolWire>>,
    pub rules: Option<Value>,
    #[serde(rename = "originatingTLS")]
    pub originating_tls: Option<Value>,
    #[serde(rename = "terminatingTLS")]
    pub terminating_tls: Option<Value>,
    pub listener: Option<Value>,
    #[serde(rename = "serverNames")]
    pub server_names: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IngressWire {
    #[serde(rename = "fromEndpoints")]
    endpoints: Option<Vec<SelectorWire>>,
    #[serde(rename = "fromRequires")]
    requires: Option<Vec<SelectorWire>>,
    #[serde(rename = "fromCIDR")]
    cidr: Option<Vec<String>>,
    #[serde(rename = "fromCIDRSet")]
    cidr_set: Option<Vec<CidrRuleWire>>,
    #[serde(rename = "fromEntities")]
    entities: Option<Vec<String>>,
    #[serde(rename = "fromNodes")]
    nodes: Option<Vec<SelectorWire>>,
    #[serde(rename = "fromGroups")]
    groups: Option<Vec<Value>>,
    #[serde(rename = "toPorts")]
    to_ports: Option<Vec<PortRuleWire>>,
    icmps: Option<Vec<Value>>,
    authentication: Option<Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EgressWire {
    #[serde(rename = "toEndpoints")]
    endpoints: Option<Vec<SelectorWire>>,
    #[serde(rename = "toRequires")]
    requires: Option<Vec<SelectorWire>>,
    #[serde(rename = "toCIDR")]
    cidr: Option<Vec<String>>,
    #[serde(rename = "toCIDRSet")]
    cidr_set: Option<Vec<CidrRuleWire>>,
    #[serde(rename = "toEntities")]
    entities: Option<Vec<String>>,
    #[serde(rename = "toNodes")]
    nodes: Option<Vec<SelectorWire>>,
    #[serde(rename = "toGroups")]
    groups: Option<Vec<Value>>,
    #[serde(rename = "toServices")]
    services: Option<Vec<Value>>,
    #[serde(rename = "toFQDNs")]
    fqdns: Option<Vec<Value>>,
    #[serde(rename = "toPorts")]
    to_ports: Option<Vec<PortRuleWire>>,
    icmps: Option<Vec<Value>>,
    authentication: Option<Value>,
}

/// One rule of any section, its `from*`/`to*` fields read into one shape.
pub(super) struct SectionRuleWire {
    pub endpoints: Option<Vec<SelectorWire>>,
    pub requires: Option<Vec<SelectorWire>>,
    pub cidr: Option<Vec<String>>,
    pub cidr_set: Option<Vec<CidrRuleWire>>,
    pub entities: Option<Vec<String>>,
    pub nodes: Option<Vec<SelectorWire>>,
    pub groups: Option<Vec<Value>>,
    pub services: Option<Vec<Value>>,
    pub fqdns: Option<Vec<Value>>,
    pub to_ports: Option<Vec<PortRuleWire>>,
    pub icmps: Option<Vec<Value>>,
    pub authentication: Option<Value>,
}

fn ingress_rules<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Vec<SectionRuleWire>>, D::Error> {
    let list: Option<Vec<IngressWire>> = Option::deserialize(d)?;
    Ok(list.map(|l| {
        l.into_iter()
            .map(|r| SectionRuleWire {
                endpoints: r.endpoints,
                requires: r.requires,
                cidr: r.cidr,
                cidr_set: r.cidr_set,
                entities: r.entities,
                nodes: r.nodes,
                groups: r.groups,
                services: None,
                fqdns: None,
                to_ports: r.to_ports,
                icmps: r.icmps,
                authentication: r.authentication,
            })
            .collect()
    }))
}

fn egress_rules<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Vec<SectionRuleWire>>, D::Error> {
    let list: Option<Vec<EgressWire>> = Option::deserialize(d)?;
    Ok(list.map(|l| {
        l.into_iter()
            .map(|r| SectionRuleWire {
                endpoints: r.endpoints,
                requires: r.requires,
                cidr: r.cidr,
                cidr_set: r.cidr_set,
                entities: r.entities,
                nodes: r.nodes,
                groups: r.groups,
                services: r.services,
                fqdns: r.fqdns,
                to_ports: r.to_ports,
                icmps: r.icmps,
                authentication: r.authentication,
            })
            .collect()
    }))
}

/// `port` is a string in the schema; an unquoted number in YAML is read the same.
fn string_or_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Port {
        Text(String),
        Number(i64),
    }
    Ok(Option::<Port>::deserialize(d)?.map(|p| match p {
        Port::Text(t) => t,
        Port::Number(n) => n.to_string(),
    }))
}
