//! The wire shapes of Calico's policy kinds (`projectcalico.org/v3`; `crd.projectcalico.org/v1`
//! stores the same spec): exactly the fields of libcalico-go's `api/pkg/apis/projectcalico/v3`
//! types, unknown ones refused. ICMP, HTTP and rule metadata are kept as values: reported, not
//! evaluated.

use serde::Deserialize;
use serde_json::Value;

/// The object: only `spec` is read here (the envelope's other fields are the loader's).
#[derive(Deserialize)]
pub(super) struct ObjectWire<T> {
    pub spec: Option<T>,
}

/// `NetworkPolicySpec` / `GlobalNetworkPolicySpec` (the global one adds namespaceSelector,
/// doNotTrack, preDNAT, applyOnForward).
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct PolicySpecWire {
    pub tier: Option<String>,
    pub order: Option<f64>,
    pub selector: Option<String>,
    pub namespace_selector: Option<String>,
    pub service_account_selector: Option<String>,
    pub types: Option<Vec<String>>,
    pub ingress: Option<Vec<RuleWire>>,
    pub egress: Option<Vec<RuleWire>>,
    pub do_not_track: Option<bool>,
    #[serde(rename = "preDNAT")]
    pub pre_dnat: Option<bool>,
    pub apply_on_forward: Option<bool>,
    #[allow(dead_code)]
    pub performance_hints: Option<Vec<String>>,
    /// Staged kinds only: `Set` (the default) or `Delete`.
    pub staged_action: Option<String>,
}

/// A number or a string, as `numorstring` accepts (protocols, ports).
#[derive(Deserialize, Clone, Debug)]
#[serde(untagged)]
pub(super) enum NumOrString {
    Num(i64),
    Str(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct RuleWire {
    pub action: String,
    pub ip_version: Option<i64>,
    pub protocol: Option<NumOrString>,
    pub not_protocol: Option<NumOrString>,
    pub icmp: Option<Value>,
    #[serde(rename = "notICMP")]
    pub not_icmp: Option<Value>,
    pub source: Option<EntityWire>,
    pub destination: Option<EntityWire>,
    pub http: Option<Value>,
    #[allow(dead_code)]
    pub metadata: Option<Value>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct EntityWire {
    pub nets: Option<Vec<String>>,
    pub not_nets: Option<Vec<String>>,
    pub selector: Option<String>,
    pub not_selector: Option<String>,
    pub namespace_selector: Option<String>,
    pub ports: Option<Vec<NumOrString>>,
    pub not_ports: Option<Vec<NumOrString>>,
    pub service_accounts: Option<ServiceAccountsWire>,
    pub services: Option<Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ServiceAccountsWire {
    pub names: Option<Vec<String>>,
    pub selector: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct TierSpecWire {
    pub order: Option<f64>,
    pub default_action: Option<String>,
}

/// A NetworkSet or GlobalNetworkSet: its labels are what rule selectors match.
#[derive(Deserialize)]
pub(super) struct NetworkSetWire {
    pub metadata: Option<k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta>,
    pub spec: Option<NetworkSetSpecWire>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct NetworkSetSpecWire {
    pub nets: Option<Vec<String>>,
}
