//! Dialect: Calico's NetworkPolicy (namespaced), GlobalNetworkPolicy and Tier
//! (`projectcalico.org/v3`, stored as `crd.projectcalico.org/v1`), as the engine reads them.
//! The loader is `analyzer/src/load/calico/`; `calico/select.rs` turns selectors into endpoint
//! sets and `calico/tiers.rs` evaluates the ordered tiers on class bitsets.
//! References: https://docs.tigera.io/calico/latest/reference/resources/networkpolicy,
//! https://docs.tigera.io/calico/latest/reference/resources/globalnetworkpolicy,
//! https://docs.tigera.io/calico/latest/reference/resources/tier.

pub mod select;
pub mod selector;
pub mod tiers;

use crate::addresses::IpBlock;
use crate::cluster::Direction;
use crate::labels::Labels;
use crate::ports::Protocol;
pub use selector::{Selector, SelectorSyntaxError};
use std::cmp::Ordering;

/// The tier every policy without `tier` lives in, with the Kubernetes NetworkPolicies.
pub const DEFAULT_TIER: &str = "default";
/// The default tier's order when no Tier object says otherwise (libcalico-go `DefaultTierOrder`;
/// the Tier reference calls it the last tier of the ones Calico creates).
pub const DEFAULT_TIER_ORDER: f64 = 1_000_000.0;
/// Tier of AdminNetworkPolicy / ClusterNetworkPolicy (Admin) and its order: "order of 1,000 and
/// a default action of Pass" (https://docs.tigera.io/calico/latest/network-policy/policy-tiers/tiered-policy).
pub const ADMIN_TIER: (&str, f64) = ("kube-admin", 1_000.0);
/// Tier of BaselineAdminNetworkPolicy / ClusterNetworkPolicy (Baseline): after the default tier,
/// default action Pass (same page).
pub const BASELINE_TIER: (&str, f64) = ("kube-baseline", 10_000_000.0);
/// Calico's order of Kubernetes NetworkPolicies within the default tier (the policy converter
/// gives every `knp.default.*` policy order 1000).
pub const NETWORK_POLICY_ORDER: f64 = 1_000.0;
/// Labels Calico derives on every workload endpoint.
pub const NAMESPACE_LABEL: &str = "projectcalico.org/namespace";
/// The endpoint's ServiceAccount name.
pub const SERVICE_ACCOUNT_LABEL: &str = "projectcalico.org/serviceaccount";
/// `k8s` on every pod.
pub const ORCHESTRATOR_LABEL: &str = "projectcalico.org/orchestrator";
/// On namespaces and ServiceAccounts: their own name.
pub const NAME_LABEL: &str = "projectcalico.org/name";

/// A policy's or tier's `order`: lower first; none is after every number.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Order(pub Option<f64>);

impl Eq for Order {}

impl PartialOrd for Order {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Order {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self.0, other.0) {
            (Some(a), Some(b)) => a.total_cmp(&b),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        }
    }
}

impl std::fmt::Display for Order {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(v) => write!(f, "{v}"),
            None => f.write_str("none"),
        }
    }
}

/// The kind a Calico policy was read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CalicoKind {
    /// `NetworkPolicy` (projectcalico.org): namespaced; rule selectors default to its namespace.
    NetworkPolicy,
    /// `GlobalNetworkPolicy`: cluster-wide.
    GlobalNetworkPolicy,
}

impl CalicoKind {
    /// The kind as Calico spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            CalicoKind::NetworkPolicy => "NetworkPolicy.projectcalico.org",
            CalicoKind::GlobalNetworkPolicy => "GlobalNetworkPolicy",
        }
    }
}

/// A rule's `action` (https://docs.tigera.io/calico/latest/reference/resources/networkpolicy#rule).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CalicoAction {
    /// Allow: decided, no later rule or tier is consulted.
    Allow,
    /// Deny: decided.
    Deny,
    /// Pass: skip the rest of the tier; the next tier that applies decides (the profile when none).
    Pass,
    /// Log: no verdict, evaluation continues with the next rule.
    Log,
}

impl CalicoAction {
    /// `Allow`, `Deny`, `Pass` or `Log`.
    pub fn as_str(self) -> &'static str {
        match self {
            CalicoAction::Allow => "Allow",
            CalicoAction::Deny => "Deny",
            CalicoAction::Pass => "Pass",
            CalicoAction::Log => "Log",
        }
    }
}

/// A destination port entry: a number or range (`"80:90"`), or a named port of the destination.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum CalicoPort {
    /// Inclusive range; a single port is `start == end`.
    Range(u16, u16),
    /// A container port name, resolved on the destination pod for the rule's protocol.
    Named(String),
}

/// `serviceAccounts` of an entity rule: names and a selector over ServiceAccount labels, ANDed.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ServiceAccountMatch {
    /// `names` (empty: any name).
    pub names: Vec<String>,
    /// `selector`.
    pub selector: Option<Selector>,
}

/// `source` or `destination` of a rule: every field given must match (AND).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct EntityRule {
    /// `nets`: the endpoint's address is in one of them.
    pub nets: Vec<IpBlock>,
    /// `notNets`: the address is in none of them.
    pub not_nets: Vec<IpBlock>,
    /// `selector`.
    pub selector: Option<Selector>,
    /// `notSelector`: the endpoint is not a pod it matches.
    pub not_selector: Option<Selector>,
    /// `namespaceSelector`, over namespace labels.
    pub namespace_selector: Option<Selector>,
    /// `serviceAccounts`.
    pub service_accounts: Option<ServiceAccountMatch>,
    /// `ports` (destination side only; source ports are not modelled, the loader warns).
    pub ports: Vec<CalicoPort>,
    /// `notPorts`.
    pub not_ports: Vec<CalicoPort>,
}

impl EntityRule {
    /// Whether the entity names pods (then only pods can match, never external addresses).
    pub fn names_pods(&self, namespaced: bool) -> bool {
        self.selector.is_some()
            || self.namespace_selector.is_some()
            || self.service_accounts.is_some()
            || (namespaced && self.not_selector.is_some())
    }
}

/// One ingress or egress rule.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CalicoRule {
    /// What happens when it matches.
    pub action: CalicoAction,
    /// The modelled protocols (TCP, UDP, SCTP) `protocol`/`notProtocol` let through; empty for
    /// a rule on ICMP or another protocol only (it matches no connection modelled here).
    pub protocols: Vec<Protocol>,
    /// `source`.
    pub source: EntityRule,
    /// `destination`.
    pub destination: EntityRule,
}

/// A NetworkPolicy or GlobalNetworkPolicy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CalicoPolicy {
    /// The kind it was read from.
    pub kind: CalicoKind,
    /// `metadata.namespace` (NetworkPolicy only).
    pub namespace: Option<String>,
    /// `metadata.name` as written (it may carry the `tier.` prefix).
    pub name: String,
    /// `spec.tier` (`default` when unset).
    pub tier: String,
    /// `spec.order`.
    pub order: Order,
    /// `spec.selector` (empty: `all()`).
    pub selector: Selector,
    /// `spec.namespaceSelector` (GlobalNetworkPolicy).
    pub namespace_selector: Option<Selector>,
    /// `spec.serviceAccountSelector`.
    pub service_account_selector: Option<Selector>,
    /// Whether the policy applies to [ingress, egress] (`spec.types`, defaulted).
    pub applies: [bool; 2],
    /// Ingress rules, in order.
    pub ingress: Vec<CalicoRule>,
    /// Egress rules, in order.
    pub egress: Vec<CalicoRule>,
}

impl CalicoPolicy {
    /// `GlobalNetworkPolicy/name` or `NetworkPolicy.projectcalico.org/ns/name`.
    pub fn id(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{}/{ns}/{}", self.kind.as_str(), self.name),
            None => format!("{}/{}", self.kind.as_str(), self.name),
        }
    }

    /// The rules of one direction, in order.
    pub fn rules(&self, direction: Direction) -> &[CalicoRule] {
        match direction {
            Direction::Ingress => &self.ingress,
            Direction::Egress => &self.egress,
        }
    }
}

/// A Tier object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CalicoTier {
    /// `metadata.name`.
    pub name: String,
    /// `spec.order`.
    pub order: Order,
    /// `spec.defaultAction: Pass`: traffic no rule decided goes on to the next tier instead of
    /// the end-of-tier deny.
    pub default_pass: bool,
}

/// A ServiceAccount's labels, for `serviceAccounts.selector` and `serviceAccountSelector`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceAccountLabels {
    /// `metadata.namespace`.
    pub namespace: String,
    /// `metadata.name`.
    pub name: String,
    /// `metadata.labels`.
    pub labels: Labels,
}

/// A NetworkSet (namespaced) or GlobalNetworkSet: addresses that rule selectors match by the
/// set's labels, as they match pods (https://docs.tigera.io/calico/latest/reference/resources/networkset,
/// https://docs.tigera.io/calico/latest/reference/resources/globalnetworkset).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct NetworkSet {
    /// `metadata.namespace`; `None` for a GlobalNetworkSet.
    pub namespace: Option<String>,
    /// `metadata.name`.
    pub name: String,
    /// `metadata.labels`.
    pub labels: Labels,
    /// `spec.nets`.
    pub nets: Vec<IpBlock>,
}

impl NetworkSet {
    /// `NetworkSet/ns/name` or `GlobalNetworkSet/name`.
    pub fn id(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("NetworkSet/{ns}/{}", self.name),
            None => format!("GlobalNetworkSet/{}", self.name),
        }
    }
}

/// Everything Calico adds to a cluster.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CalicoConfig {
    /// NetworkPolicies and GlobalNetworkPolicies, sorted by kind, namespace, name.
    pub policies: Vec<CalicoPolicy>,
    /// Tier objects as read (the default, kube-admin and kube-baseline tiers exist without them).
    pub tiers: Vec<CalicoTier>,
    /// ServiceAccounts with labels.
    pub service_accounts: Vec<ServiceAccountLabels>,
    /// NetworkSets and GlobalNetworkSets, sorted by namespace (global first), name.
    pub network_sets: Vec<NetworkSet>,
}

impl CalicoConfig {
    /// Whether the input holds any Calico policy or Tier (what selects the Calico profile).
    pub fn is_present(&self) -> bool {
        !self.policies.is_empty() || !self.tiers.is_empty()
    }
}

/// Every network a Calico rule names: they cut the external address space like ipBlocks do.
pub fn cidrs(cluster: &crate::cluster::Cluster) -> impl Iterator<Item = &IpBlock> {
    cluster
        .calico
        .policies
        .iter()
        .flat_map(|p| p.ingress.iter().chain(&p.egress))
        .flat_map(|r| [&r.source, &r.destination])
        .flat_map(|e| e.nets.iter().chain(&e.not_nets))
        .chain(cluster.calico.network_sets.iter().flat_map(|set| &set.nets))
}

/// The tiers in evaluation order as (name, order, default action Pass): Calico's own three, the
/// input's Tier objects (which may reorder them), and tiers named only by policies (last).
pub fn ordered_tiers(cluster: &crate::cluster::Cluster) -> Vec<(String, Order, bool)> {
    let mut defined: Vec<(String, Order, bool)> = vec![
        (DEFAULT_TIER.into(), Order(Some(DEFAULT_TIER_ORDER)), false),
        (ADMIN_TIER.0.into(), Order(Some(ADMIN_TIER.1)), true),
        (BASELINE_TIER.0.into(), Order(Some(BASELINE_TIER.1)), true),
    ];
    for t in &cluster.calico.tiers {
        match defined.iter_mut().find(|d| d.0 == t.name) {
            Some(d) => *d = (t.name.clone(), t.order, t.default_pass),
            None => defined.push((t.name.clone(), t.order, t.default_pass)),
        }
    }
    // A policy in a tier the input does not define: the loader warns; evaluated last.
    for p in &cluster.calico.policies {
        if !defined.iter().any(|d| d.0 == p.tier) {
            defined.push((p.tier.clone(), Order(None), false));
        }
    }
    defined.sort_by(|a, b| (a.1, &a.0).cmp(&(b.1, &b.0)));
    defined
}
