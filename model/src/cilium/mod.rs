//! Dialect: Cilium's CiliumNetworkPolicy (namespaced) and CiliumClusterwideNetworkPolicy
//! (cluster-scoped), `cilium.io/v2`, as the engine reads them. The loader is
//! `analyzer/src/load/cilium/`; the engine turns allow sections into grants and deny sections
//! into deny rectangles (`cilium/grants.rs`), over endpoint sets from `cilium/select.rs`.
//! Reference: https://docs.cilium.io/en/stable/security/policy/language/

pub mod grants;
pub mod labels;
pub mod select;

use crate::addresses::IpBlock;
use crate::cluster::Direction;
use crate::labels::LabelSelector;
use crate::networkpolicy::PortSpec;
use crate::ports::Protocol;

/// The kind a Cilium policy was read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CiliumPolicyKind {
    /// `CiliumNetworkPolicy`: its endpoint selectors are scoped to its namespace.
    Namespaced,
    /// `CiliumClusterwideNetworkPolicy`: its selectors span every namespace.
    Clusterwide,
}

impl CiliumPolicyKind {
    /// The kind as Cilium spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            CiliumPolicyKind::Namespaced => "CiliumNetworkPolicy",
            CiliumPolicyKind::Clusterwide => "CiliumClusterwideNetworkPolicy",
        }
    }
}

/// The four rule sections of a Cilium rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Section {
    /// `ingress`: allows.
    Ingress,
    /// `egress`: allows.
    Egress,
    /// `ingressDeny`: denies, beating every allow.
    IngressDeny,
    /// `egressDeny`: denies, beating every allow.
    EgressDeny,
}

impl Section {
    /// Every section, in the order the engine walks them.
    pub const ALL: [Section; 4] = [Section::Ingress, Section::Egress, Section::IngressDeny, Section::EgressDeny];

    /// The field name: `ingress`, `egressDeny`, …
    pub fn field(self) -> &'static str {
        match self {
            Section::Ingress => "ingress",
            Section::Egress => "egress",
            Section::IngressDeny => "ingressDeny",
            Section::EgressDeny => "egressDeny",
        }
    }

    /// The direction of traffic the section governs, from the selected endpoint's side.
    pub fn direction(self) -> Direction {
        match self {
            Section::Ingress | Section::IngressDeny => Direction::Ingress,
            Section::Egress | Section::EgressDeny => Direction::Egress,
        }
    }

    /// Whether the section denies (rather than allows).
    pub fn is_deny(self) -> bool {
        matches!(self, Section::IngressDeny | Section::EgressDeny)
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// The endpoints a Cilium rule applies to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CiliumSubject {
    /// `endpointSelector`, over the Cilium label view ([`labels`]); for a
    /// CiliumNetworkPolicy the loader has already added the policy's namespace, as Cilium does
    /// (an endpointSelector always applies in the policy's namespace).
    Endpoints(LabelSelector),
    /// `nodeSelector` (clusterwide only): a host policy. Hosts are not endpoints of the model,
    /// so such a rule selects nothing and the loader warns.
    Nodes(LabelSelector),
}

/// A Cilium entity: a reserved identity.
/// Reference: https://docs.cilium.io/en/stable/security/policy/language/#entities-based
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Entity {
    /// `all`: every known endpoint and the world.
    All,
    /// `world`: everything outside the cluster (0.0.0.0/0 and ::/0).
    World,
    /// `world-ipv4`.
    WorldIpv4,
    /// `world-ipv6`.
    WorldIpv6,
    /// `cluster`: every endpoint of the local cluster, hosts and remote nodes included.
    Cluster,
    /// `host`: the local host and its hostNetwork pods.
    Host,
    /// `remote-node`: the other nodes and their hostNetwork pods.
    RemoteNode,
    /// `kube-apiserver`: the API server (not an endpoint of the model).
    KubeApiserver,
    /// `ingress`: Cilium's Envoy ingress (not an endpoint of the model).
    Ingress,
    /// `health`: Cilium's health endpoints (not in manifests).
    Health,
    /// `init`: endpoints whose identity is not resolved yet (transient).
    Init,
    /// `unmanaged`: endpoints Cilium does not manage (not in manifests).
    Unmanaged,
}

impl Entity {
    /// Every entity, as spelled in policies.
    pub const ALL: [(&'static str, Entity); 12] = [
        ("all", Entity::All),
        ("world", Entity::World),
        ("world-ipv4", Entity::WorldIpv4),
        ("world-ipv6", Entity::WorldIpv6),
        ("cluster", Entity::Cluster),
        ("host", Entity::Host),
        ("remote-node", Entity::RemoteNode),
        ("kube-apiserver", Entity::KubeApiserver),
        ("ingress", Entity::Ingress),
        ("health", Entity::Health),
        ("init", Entity::Init),
        ("unmanaged", Entity::Unmanaged),
    ];

    /// The entity of a spelling, if it is one.
    pub fn parse(s: &str) -> Option<Entity> {
        Entity::ALL.iter().find(|(name, _)| *name == s).map(|(_, e)| *e)
    }

    /// The spelling in policies.
    pub fn as_str(self) -> &'static str {
        Entity::ALL.iter().find(|(_, e)| *e == self).map_or("", |(name, _)| name)
    }
}

/// One peer of a Cilium rule (an entry of fromEndpoints, fromCIDR, fromCIDRSet, fromEntities or
/// their `to` twins).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CiliumPeer {
    /// An endpoint selector over the Cilium label view; the loader has already scoped a
    /// CiliumNetworkPolicy's selector to its namespace when it names none.
    Endpoints(LabelSelector),
    /// A CIDR (with `except` for fromCIDRSet): never matches in-cluster endpoints.
    Cidr(IpBlock),
    /// An entity.
    Entity(Entity),
}

impl std::fmt::Display for CiliumPeer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CiliumPeer::Endpoints(s) => write!(f, "endpoints {s}"),
            CiliumPeer::Cidr(b) => write!(f, "CIDR {b}"),
            CiliumPeer::Entity(e) => write!(f, "entity {}", e.as_str()),
        }
    }
}

/// One `toPorts[].ports[]` entry.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CiliumPort {
    /// `None`: `ANY` (TCP, UDP and SCTP), the default.
    pub protocol: Option<Protocol>,
    /// `None` (or port 0): every port.
    pub port: Option<PortSpec>,
    /// With a numeric `port`: the last port of the range.
    pub end_port: Option<u16>,
}

impl CiliumPort {
    /// The protocols the entry covers.
    pub fn protocols(&self) -> Vec<Protocol> {
        match self.protocol {
            Some(p) => vec![p],
            None => Protocol::ALL.to_vec(),
        }
    }
}

impl std::fmt::Display for CiliumPort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let proto = self.protocol.map_or("ANY", |p| p.as_str());
        match (&self.port, self.end_port) {
            (None, _) => write!(f, "all {proto} ports"),
            (Some(PortSpec::Number(p)), Some(end)) if end != *p => write!(f, "{proto} {p}-{end}"),
            (Some(PortSpec::Number(p)), _) => write!(f, "{proto} {p}"),
            (Some(PortSpec::Name(n)), _) => write!(f, "{proto} port named {n}"),
        }
    }
}

/// One rule of a section.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CiliumRule {
    /// The L3 peers; `None` is the L3 wildcard (a rule with ports but no L3 field matches every
    /// peer). An empty list matches nothing (`{}` alone, or icmps only).
    pub peers: Option<Vec<CiliumPeer>>,
    /// The ports; `None`: every port of every protocol.
    pub ports: Option<Vec<CiliumPort>>,
    /// `fromRequires`/`toRequires`: selectors every endpoint peer of every rule of this
    /// direction, for the endpoints this policy selects, must also match.
    pub requires: Vec<LabelSelector>,
    /// What the engine does not decide (L7 rules, toFQDNs, toServices, toGroups, icmps,
    /// the kube-apiserver entity): notes for the rule, shown with verdicts that use it.
    pub notes: Vec<String>,
}

/// A CiliumNetworkPolicy or CiliumClusterwideNetworkPolicy spec: one per entry of `specs`
/// (and one for `spec`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CiliumPolicy {
    /// The kind it was read from.
    pub kind: CiliumPolicyKind,
    /// `metadata.namespace` of a CiliumNetworkPolicy; `None` for a clusterwide one.
    pub namespace: Option<String>,
    /// `metadata.name`.
    pub name: String,
    /// `None` for `spec`; the index for an entry of `specs`.
    pub spec_index: Option<u32>,
    /// The endpoints it applies to.
    pub subject: CiliumSubject,
    /// Whether it puts its endpoints in default deny for [ingress, egress]:
    /// `enableDefaultDeny`, else whether the direction has rules (allow or deny).
    pub default_deny: [bool; 2],
    /// The rules per [`Section`]: ingress, egress, ingressDeny, egressDeny.
    pub sections: [Vec<CiliumRule>; 4],
}

impl CiliumPolicy {
    /// `CiliumNetworkPolicy ns/name` (with `specs[i]` when from a list).
    pub fn id(&self) -> String {
        let name = match &self.namespace {
            Some(ns) => format!("{ns}/{}", self.name),
            None => self.name.clone(),
        };
        match self.spec_index {
            Some(i) => format!("{} {name} specs[{i}]", self.kind.as_str()),
            None => format!("{} {name}", self.kind.as_str()),
        }
    }

    /// The rules of one section.
    pub fn rules(&self, section: Section) -> &[CiliumRule] {
        &self.sections[section.index()]
    }

    /// Whether it puts its endpoints in default deny in a direction.
    pub fn isolates(&self, direction: Direction) -> bool {
        self.default_deny[if direction == Direction::Ingress { 0 } else { 1 }]
    }
}

/// A rule position in a Cilium policy, for provenance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CiliumRuleRef {
    /// Index into `Cluster::cilium_policies`.
    pub policy: u32,
    /// The section of the rule.
    pub section: Section,
    /// Index of the rule within its section.
    pub rule: u32,
    /// Index of the matching peer; `None` for the L3 wildcard.
    pub peer: Option<u32>,
}

/// How the cluster's CNI enforces policy where the Kubernetes API leaves it open.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum CniProfile {
    /// Cilium when the input holds a Cilium policy, else generic.
    #[default]
    Auto,
    /// The engine options as given.
    Generic,
    /// Cilium: ipBlocks and CIDR rules never match in-cluster endpoints, and hostNetwork pods are
    /// the host / remote-node entities, never selected by selectors.
    Cilium,
    /// Calico: ordered tiers (Calico policies, Kubernetes NetworkPolicy in the default tier,
    /// admin tiers); hostNetwork pods are never selected; nets and ipBlocks match pod addresses.
    Calico,
}

impl CniProfile {
    /// `generic` or `cilium` (after resolving `Auto`).
    pub fn as_str(self) -> &'static str {
        match self {
            CniProfile::Cilium => "cilium",
            CniProfile::Calico => "calico",
            _ => "generic",
        }
    }
}

/// Cilium's `--allow-localhost`: whether the local host (the node, and its hostNetwork pods)
/// reaches the endpoints on its node whatever the allow rules say. `auto`, the default, is
/// `always` when Cilium runs with Kubernetes (kubelet probes come from the host); only a deny
/// rule beats it (the agent inserts it like an allow).
/// https://docs.cilium.io/en/stable/cmdref/cilium-agent/ (`--allow-localhost`),
/// https://github.com/cilium/cilium/pull/754
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum AllowLocalhost {
    /// Cilium's default: `always` under Kubernetes.
    #[default]
    Auto,
    /// The local host always reaches its endpoints.
    Always,
    /// The local host needs an allow rule (`fromEntities: [host]`) like any other peer.
    Policy,
}

impl AllowLocalhost {
    /// Whether the local host reaches its endpoints without an allow rule.
    pub fn allows(self) -> bool {
        matches!(self, AllowLocalhost::Auto | AllowLocalhost::Always)
    }
}

/// Whether some Cilium rule names `entity` as a peer.
pub fn uses_entity(cluster: &crate::cluster::Cluster, entity: Entity) -> bool {
    cluster
        .cilium_policies
        .iter()
        .flat_map(|p| p.sections.iter().flatten())
        .flat_map(|r| r.peers.iter().flatten())
        .any(|peer| *peer == CiliumPeer::Entity(entity))
}

/// Every CIDR a Cilium rule names: they cut the external address space like ipBlocks do.
pub fn cidrs(cluster: &crate::cluster::Cluster) -> impl Iterator<Item = &IpBlock> {
    cluster
        .cilium_policies
        .iter()
        .flat_map(|p| p.sections.iter().flatten())
        .flat_map(|r| r.peers.iter().flatten())
        .filter_map(|peer| match peer {
            CiliumPeer::Cidr(block) => Some(block),
            _ => None,
        })
}
