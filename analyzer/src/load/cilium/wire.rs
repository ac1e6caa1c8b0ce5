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
    #[serde(default, deserialize_with = "section_rules::<_, IngressWire>")]
    pub ingress: Option<Vec<SectionRuleWire>>,
    #[serde(rename = "ingressDeny", default, deserialize_with = "section_rules::<_, IngressWire>")]
    pub ingress_deny: Option<Vec<SectionRuleWire>>,
    #[serde(default, deserialize_with = "section_rules::<_, EgressWire>")]
    pub egress: Option<Vec<SectionRuleWire>>,
    #[serde(rename = "egressDeny", default, deserialize_with = "section_rules::<_, EgressWire>")]
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

/// One section rule as written, with the field names of its direction (`from*` or `to*`): the
/// macro declares the strict wire struct and its reading into [`SectionRuleWire`] once for both.
macro_rules! direction_wire {
    ($name:ident { $($field:ident: $ty:ty = $wire:literal),* $(,)? }) => {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct $name {
            $(#[serde(rename = $wire)] $field: Option<$ty>,)*
            #[serde(rename = "toPorts")]
            to_ports: Option<Vec<PortRuleWire>>,
            icmps: Option<Vec<Value>>,
            authentication: Option<Value>,
        }

        // Egress names every field, ingress not all: the update is needed for one expansion only.
        #[allow(clippy::needless_update)]
        impl From<$name> for SectionRuleWire {
            fn from(r: $name) -> SectionRuleWire {
                SectionRuleWire {
                    $($field: r.$field,)*
                    to_ports: r.to_ports,
                    icmps: r.icmps,
                    authentication: r.authentication,
                    ..SectionRuleWire::default()
                }
            }
        }
    };
}

direction_wire!(IngressWire {
    endpoints: Vec<SelectorWire> = "fromEndpoints",
    requires: Vec<SelectorWire> = "fromRequires",
    cidr: Vec<String> = "fromCIDR",
    cidr_set: Vec<CidrRuleWire> = "fromCIDRSet",
    entities: Vec<String> = "fromEntities",
    nodes: Vec<SelectorWire> = "fromNodes",
    groups: Vec<Value> = "fromGroups",
});

direction_wire!(EgressWire {
    endpoints: Vec<SelectorWire> = "toEndpoints",
    requires: Vec<SelectorWire> = "toRequires",
    cidr: Vec<String> = "toCIDR",
    cidr_set: Vec<CidrRuleWire> = "toCIDRSet",
    entities: Vec<String> = "toEntities",
    nodes: Vec<SelectorWire> = "toNodes",
    groups: Vec<Value> = "toGroups",
    services: Vec<Value> = "toServices",
    fqdns: Vec<Value> = "toFQDNs",
});

/// One rule of any section, its `from*`/`to*` fields read into one shape.
#[derive(Default)]
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

/// A section's rule list, read with the direction's wire shape `W`.
fn section_rules<'de, D, W>(d: D) -> Result<Option<Vec<SectionRuleWire>>, D::Error>
where
    D: serde::Deserializer<'de>,
    W: Deserialize<'de> + Into<SectionRuleWire>,
{
    Ok(Option::<Vec<W>>::deserialize(d)?.map(|list| list.into_iter().map(Into::into).collect()))
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
