//! `netreach audit`: segmentation findings and per-namespace segmentation scores.
//!
//! Every finding has a stable id (see [`CHECKS`]), a fixed severity, the objects involved and a
//! one-line fix. Findings about what is *allowed* (internet exposure, reaching kube-system) are
//! read from the engine's class-level answers ([`Reachability::allowed`] on one representative
//! per equivalence class), findings about selection from the engine's selections
//! ([`Reachability::selected_by`], [`Reachability::peer_members`]); nothing here evaluates a
//! selector to decide a verdict, and nothing iterates over pod pairs.
//!
//! [`Reachability::allowed`]: netreach_model::Reachability::allowed
//! [`Reachability::selected_by`]: netreach_model::Reachability::selected_by
//! [`Reachability::peer_members`]: netreach_model::Reachability::peer_members

mod classes;
mod operators;
pub(crate) mod render;
mod tiers;

pub use render::write_audit;

use crate::analysis::Analysis;
use crate::load::SkippedObject;
use classes::ClassView;
use netreach_model::{
    Direction, EngineOptions, HostNetworkSelection, IpBlock, LabelSelector, NetworkPolicy, Peer, Pod, PortEntry,
    PortSet, PortSpec, Protocol, Rule,
};
use operators::Operators;
use serde::Serialize;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use tiers::{TierCover, TierView};

/// How bad a finding is; `--fail-on` compares against it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Below every check's own severity: a finding lowered because it is probably intended
    /// (NR011/NR012 about pods an operator will create).
    Info,
    Low,
    Medium,
    High,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
        }
    }
}

impl Severity {
    /// One level lower; `Info` stays `Info`.
    pub fn lowered(self) -> Severity {
        match self {
            Severity::High => Severity::Medium,
            Severity::Medium => Severity::Low,
            Severity::Low | Severity::Info => Severity::Info,
        }
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One kind of finding: a stable id, a name and a fixed severity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Check {
    pub id: &'static str,
    pub name: &'static str,
    pub severity: Severity,
    /// What the check reports, for documentation.
    pub summary: &'static str,
}

pub const NO_DEFAULT_DENY_INGRESS: Check = Check {
    id: "NR001",
    name: "namespace-without-default-deny-ingress",
    severity: Severity::Medium,
    summary: "a namespace with pods where no policy selects every pod (podSelector: {}) for Ingress",
};
pub const NO_DEFAULT_DENY_EGRESS: Check = Check {
    id: "NR002",
    name: "namespace-without-default-deny-egress",
    severity: Severity::Low,
    summary: "a namespace with pods where no policy selects every pod (podSelector: {}) for Egress",
};
pub const PODS_WITHOUT_INGRESS_POLICY: Check = Check {
    id: "NR003",
    name: "pods-without-ingress-policy",
    severity: Severity::Medium,
    summary: "pods that no policy selects for Ingress, counted per namespace (hostNetwork pods are NR005/NR006)",
};
pub const PODS_WITHOUT_EGRESS_POLICY: Check = Check {
    id: "NR004",
    name: "pods-without-egress-policy",
    severity: Severity::Low,
    summary: "pods that no policy selects for Egress, counted per namespace (hostNetwork pods are NR005/NR006)",
};
pub const HOST_NETWORK_POD: Check = Check {
    id: "NR005",
    name: "host-network-pod",
    severity: Severity::Medium,
    summary: "a workload with hostNetwork pods: NetworkPolicy does not restrict them",
};
pub const PRIVILEGED_HOST_NETWORK_POD: Check = Check {
    id: "NR006",
    name: "privileged-host-network-pod",
    severity: Severity::High,
    summary: "a workload with privileged hostNetwork pods",
};
pub const REACHABLE_FROM_INTERNET: Check = Check {
    id: "NR007",
    name: "pod-reachable-from-internet",
    severity: Severity::Medium,
    summary: "pods that an external address range can reach, with the ports, per namespace",
};
pub const EGRESS_TO_INTERNET_ALL_PORTS: Check = Check {
    id: "NR008",
    name: "egress-to-internet-all-ports",
    severity: Severity::High,
    summary: "an egress rule to 0.0.0.0/0 or ::/0 on every port, or without peers (every destination: the internet and every namespace)",
};
pub const CROSS_NAMESPACE_ALLOW_ALL: Check = Check {
    id: "NR009",
    name: "cross-namespace-allow-all",
    severity: Severity::High,
    summary: "a rule allowing every pod of every namespace on every port (namespaceSelector: {} without a narrower podSelector, or an ingress rule without peers); egress rules without peers are NR008",
};
pub const KUBE_SYSTEM_BEYOND_DNS: Check = Check {
    id: "NR010",
    name: "kube-system-reachable-beyond-dns",
    severity: Severity::High,
    summary: "pods of another namespace that can reach kube-system pods on ports other than 53/UDP and 53/TCP",
};
pub const POLICY_SELECTS_NO_POD: Check = Check {
    id: "NR011",
    name: "policy-selects-no-pod",
    severity: Severity::Low,
    summary: "a policy whose podSelector selects no pod",
};
pub const PEER_MATCHES_NOTHING: Check = Check {
    id: "NR012",
    name: "rule-peer-matches-nothing",
    severity: Severity::Low,
    summary: "a rule peer that matches no pod and no address: it allows nothing",
};
pub const NAMED_PORT_UNRESOLVED: Check = Check {
    id: "NR013",
    name: "named-port-unresolved",
    severity: Severity::Low,
    summary: "a named port that no destination pod of the rule declares: it allows nothing",
};
pub const EXCEPT_OUTSIDE_CIDR: Check = Check {
    id: "NR014",
    name: "ipblock-except-outside-cidr",
    severity: Severity::Medium,
    summary: "an ipBlock except entry that is not a strict subset of its cidr (the API server rejects it; it excludes nothing)",
};

pub const SHADOWED_TIER_RULE: Check = Check {
    id: "NR015",
    name: "cluster-policy-rule-shadowed",
    severity: Severity::Low,
    summary:
        "a cluster-scoped policy rule that never decides: rules of higher precedence in its tier always match first",
};
pub const SAME_PRIORITY_CONFLICT: Check = Check {
    id: "NR016",
    name: "cluster-policy-same-priority-conflict",
    severity: Severity::High,
    summary: "two cluster-scoped policies of one tier share a priority and overlap with different actions: upstream leaves undefined which applies",
};

/// Every check, in id order.
pub const CHECKS: [Check; 16] = [
    NO_DEFAULT_DENY_INGRESS,
    NO_DEFAULT_DENY_EGRESS,
    PODS_WITHOUT_INGRESS_POLICY,
    PODS_WITHOUT_EGRESS_POLICY,
    HOST_NETWORK_POD,
    PRIVILEGED_HOST_NETWORK_POD,
    REACHABLE_FROM_INTERNET,
    EGRESS_TO_INTERNET_ALL_PORTS,
    CROSS_NAMESPACE_ALLOW_ALL,
    KUBE_SYSTEM_BEYOND_DNS,
    POLICY_SELECTS_NO_POD,
    PEER_MATCHES_NOTHING,
    NAMED_PORT_UNRESOLVED,
    EXCEPT_OUTSIDE_CIDR,
    SHADOWED_TIER_RULE,
    SAME_PRIORITY_CONFLICT,
];

/// A Kubernetes object a finding is about, optionally narrowed to a field
/// (`spec.ingress[1].from[0]`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ObjectRef {
    pub kind: String,
    /// `None` for cluster-scoped objects (Namespace).
    pub namespace: Option<String>,
    pub name: String,
    pub field: Option<String>,
}

impl ObjectRef {
    pub fn namespace(name: &str) -> ObjectRef {
        ObjectRef { kind: "Namespace".into(), namespace: None, name: name.into(), field: None }
    }

    pub fn cluster_policy(policy: &netreach_model::ClusterPolicy, field: Option<String>) -> ObjectRef {
        ObjectRef { kind: policy.kind.as_str().into(), namespace: None, name: policy.name.clone(), field }
    }

    pub fn policy(policy: &NetworkPolicy, field: Option<String>) -> ObjectRef {
        ObjectRef {
            kind: "NetworkPolicy".into(),
            namespace: Some(policy.namespace.clone()),
            name: policy.name.clone(),
            field,
        }
    }

    /// The pod's top-most workload (`Deployment web/frontend`), or the pod itself.
    pub fn workload_of(pod: &Pod) -> ObjectRef {
        match &pod.workload {
            Some(w) => ObjectRef {
                kind: w.kind.clone(),
                namespace: Some(pod.namespace.clone()),
                name: w.name.clone(),
                field: None,
            },
            None => ObjectRef {
                kind: "Pod".into(),
                namespace: Some(pod.namespace.clone()),
                name: pod.name.clone(),
                field: None,
            },
        }
    }
}

impl std::fmt::Display for ObjectRef {
    /// `NetworkPolicy web/frontend spec.egress[1].to[0]`, `Namespace billing`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{} {ns}/{}", self.kind, self.name)?,
            None => write!(f, "{} {}", self.kind, self.name)?,
        }
        if let Some(field) = &self.field {
            write!(f, " {field}")?;
        }
        Ok(())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub id: &'static str,
    pub name: &'static str,
    pub severity: Severity,
    /// The namespace the finding is about (for NR010: the namespace of the source pods).
    pub namespace: Option<String>,
    pub objects: Vec<ObjectRef>,
    pub message: String,
    pub fix: String,
}

impl Finding {
    pub(crate) fn new(
        check: Check,
        namespace: Option<&str>,
        objects: Vec<ObjectRef>,
        message: String,
        fix: String,
    ) -> Finding {
        Finding {
            id: check.id,
            name: check.name,
            severity: check.severity,
            namespace: namespace.map(str::to_string),
            objects,
            message,
            fix,
        }
    }

    /// The same finding one severity level lower (see [`Severity::lowered`]).
    fn lowered(mut self) -> Finding {
        self.severity = self.severity.lowered();
        self
    }
}

/// How segmented the traffic into one namespace is: of the ordered pairs (source pod, destination
/// pod in the namespace) of distinct pods, how many policy allows (on any port) and denies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamespaceScore {
    pub namespace: String,
    pub pods: u64,
    pub possible_pairs: u64,
    pub allowed_pairs: u64,
}

impl NamespaceScore {
    pub fn denied_pairs(&self) -> u64 {
        self.possible_pairs - self.allowed_pairs
    }

    /// The share of possible pairs that are denied, in [0, 1]; `None` without any possible pair.
    pub fn score(&self) -> Option<f64> {
        (self.possible_pairs > 0).then(|| self.denied_pairs() as f64 / self.possible_pairs as f64)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct AuditReport {
    /// Sorted: severity (high first), id, namespace, objects.
    pub findings: Vec<Finding>,
    /// Namespaces with at least one pod, by name.
    pub segmentation: Vec<NamespaceScore>,
    /// Policies the findings were computed without (kinds not evaluated yet).
    pub unevaluated_policies: Vec<netreach_model::UnevaluatedPolicy>,
    /// Invalid documents left out (`--skip-invalid`).
    pub incomplete: Vec<String>,
}

impl AuditReport {
    /// Whether a finding at or above `threshold` exists (`--fail-on`).
    pub fn fails(&self, threshold: Severity) -> bool {
        self.findings.iter().any(|f| f.severity >= threshold)
    }

    pub fn count(&self, severity: Severity) -> usize {
        self.findings.iter().filter(|f| f.severity == severity).count()
    }
}

/// The order every report lists findings in: most severe first, then by id, namespace, objects.
pub(crate) fn sort_findings(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.id.cmp(b.id))
            .then_with(|| a.namespace.cmp(&b.namespace))
            .then_with(|| a.objects.cmp(&b.objects))
            .then_with(|| a.message.cmp(&b.message))
    });
}

/// The namespace whose pods count as "kube-system" for NR010.
pub const KUBE_SYSTEM: &str = "kube-system";

/// Runs every check. `options` must be the options `analysis` was computed with.
pub fn audit(analysis: &Analysis, options: &EngineOptions) -> AuditReport {
    audit_with(analysis, options, &[])
}

/// [`audit`], knowing the objects the loader skipped (`LoadReport::skipped_objects`): operator
/// custom resources among them explain policies that select no pod yet (NR011, NR012).
pub fn audit_with(analysis: &Analysis, options: &EngineOptions, skipped: &[SkippedObject]) -> AuditReport {
    let ctx = Context::new(analysis, options, skipped);
    let mut findings = Vec::new();
    ctx.default_deny(&mut findings);
    ctx.unsegmented_pods(&mut findings);
    ctx.host_network(&mut findings);
    ctx.reachable_from_internet(&mut findings);
    ctx.broad_rules(&mut findings);
    ctx.kube_system_beyond_dns(&mut findings);
    ctx.dead_policies_and_peers(&mut findings);
    ctx.unresolved_named_ports(&mut findings);
    ctx.misplaced_excepts(&mut findings);
    ctx.tier_rules(&mut findings);
    findings.extend(crate::mesh::audit_findings(analysis));
    caveat_unevaluated(&mut findings, &analysis.cluster.unevaluated_policies);
    sort_findings(&mut findings);
    AuditReport {
        findings,
        segmentation: ctx.segmentation(),
        unevaluated_policies: analysis.cluster.unevaluated_policies.clone(),
        incomplete: analysis.cluster.skipped_invalid.clone(),
    }
}

/// Findings that say traffic is open can be falsified by a policy netreach does not evaluate
/// (a CiliumNetworkPolicy may deny what NetworkPolicy leaves open): their message says so when
/// such a policy is in their namespace or cluster-wide.
fn caveat_unevaluated(findings: &mut [Finding], unevaluated: &[netreach_model::UnevaluatedPolicy]) {
    const OPEN_TRAFFIC: &[&str] = &["NR001", "NR002", "NR003", "NR004", "NR007", "NR008", "NR009", "NR010"];
    if unevaluated.is_empty() {
        return;
    }
    for finding in findings.iter_mut().filter(|f| OPEN_TRAFFIC.contains(&f.id)) {
        let applying: std::collections::BTreeSet<&str> = unevaluated
            .iter()
            .filter(|p| {
                p.namespace.is_none()
                    || p.namespace.as_deref() == finding.namespace.as_deref()
                    || finding.namespace.is_none()
            })
            .map(|p| p.kind.as_str())
            .collect();
        if !applying.is_empty() {
            let kinds: Vec<&str> = applying.into_iter().collect();
            finding.message.push_str(&format!(
                " (unverified: {} object(s) netreach does not evaluate apply here and may deny this traffic)",
                kinds.join(", ")
            ));
        }
    }
}

/// Peers that are written the same (in the same namespace, for selectors scoped to it) match
/// the same endpoints: the engine's answer for one holds for all.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum PeerKey<'a> {
    Pods { pods: Option<&'a LabelSelector>, namespaces: Option<&'a LabelSelector>, own_namespace: Option<&'a str> },
    Block(&'a IpBlock),
}

impl<'a> PeerKey<'a> {
    fn of(policy: &'a NetworkPolicy, peer: &'a Peer) -> PeerKey<'a> {
        match peer {
            Peer::Pods { pod_selector, namespace_selector } => PeerKey::Pods {
                pods: pod_selector.as_ref(),
                namespaces: namespace_selector.as_ref(),
                own_namespace: namespace_selector.is_none().then_some(policy.namespace.as_str()),
            },
            Peer::IpBlock(block) => PeerKey::Block(block),
        }
    }
}

/// What every check shares: namespaces, pod selection per policy, the class view.
struct Context<'a> {
    a: &'a Analysis,
    /// Whether selectors can select each pod (hostNetwork pods cannot, by default).
    selectable: Vec<bool>,
    /// Namespace names in order; `pod_ns[i]` indexes it.
    namespaces: Vec<String>,
    pod_ns: Vec<u32>,
    /// Per policy: the pods it selects.
    selected: Vec<Vec<usize>>,
    /// Pods per namespace (index as in `namespaces`).
    ns_pods: Vec<Vec<usize>>,
    classes: ClassView,
    /// Per distinct peer: whether it matches nothing.
    peer_empty: RefCell<HashMap<PeerKey<'a>, bool>>,
    /// Per distinct peer and named port: whether a pod it matches declares the name.
    peer_resolves: RefCell<HashMap<(PeerKey<'a>, &'a str, Protocol), bool>>,
    /// What the cluster-scoped tiers decide where NetworkPolicy does not (NR001-NR004).
    tiers: TierView<'a>,
    /// Operator custom resources that will create pods (NR011, NR012).
    operators: Operators<'a>,
}

impl<'a> Context<'a> {
    fn new(a: &'a Analysis, options: &EngineOptions, skipped: &'a [SkippedObject]) -> Context<'a> {
        let cluster = &a.cluster;
        let likes_pods = options.host_network == HostNetworkSelection::LikePods;
        let selectable: Vec<bool> = cluster.pods.iter().map(|p| !p.host_network || likes_pods).collect();
        let names: BTreeSet<&str> = cluster
            .namespaces
            .iter()
            .map(|n| n.name.as_str())
            .chain(cluster.pods.iter().map(|p| p.namespace.as_str()))
            .chain(cluster.policies.iter().map(|p| p.namespace.as_str()))
            .collect();
        let namespaces: Vec<String> = names.into_iter().map(str::to_string).collect();
        let index: HashMap<&str, u32> = namespaces.iter().enumerate().map(|(i, n)| (n.as_str(), i as u32)).collect();
        let pod_ns: Vec<u32> = cluster.pods.iter().map(|p| index[p.namespace.as_str()]).collect();
        let mut ns_pods = vec![Vec::new(); namespaces.len()];
        for (i, &ns) in pod_ns.iter().enumerate() {
            ns_pods[ns as usize].push(i);
        }
        let pods = a.reach.pod_count();
        let selected = (0..cluster.policies.len())
            .map(|p| a.reach.selected_by(p).into_iter().filter(|&e| e < pods).collect())
            .collect();
        let tiers = TierView::new(cluster, &a.reach, &selectable);
        Context {
            a,
            tiers,
            operators: Operators::new(skipped),
            selectable,
            namespaces,
            pod_ns,
            selected,
            ns_pods,
            classes: ClassView::new(&a.reach),
            peer_empty: RefCell::default(),
            peer_resolves: RefCell::default(),
        }
    }

    fn pods(&self) -> &'a [Pod] {
        &self.a.cluster.pods
    }

    fn policies(&self) -> &'a [NetworkPolicy] {
        &self.a.cluster.policies
    }

    /// Namespaces (indices) that have at least one pod policies can select.
    fn namespaces_with_selectable_pods(&self) -> BTreeSet<u32> {
        (0..self.pods().len()).filter(|&i| self.selectable[i]).map(|i| self.pod_ns[i]).collect()
    }

    /// What the cluster-scoped tiers decide for this pod's traffic where no NetworkPolicy speaks.
    fn tier_cover(&self, pod: usize, direction: Direction) -> TierCover {
        if self.tiers.is_empty() {
            return TierCover::default();
        }
        self.tiers.cover(&self.classes, self.classes.class_of(pod), direction)
    }

    /// What a tier default deny leaves open, for messages.
    fn left_open(direction: Direction) -> &'static str {
        match direction {
            Direction::Ingress => {
                "ingress from outside the cluster and from hostNetwork pods (node addresses), which tier ingress rules cannot \
                 select, is still allowed"
            }
            Direction::Egress => "egress to addresses outside the cluster and to hostNetwork pods that no tier rule decides is still allowed",
        }
    }

    /// NR001, NR002. A namespace whose pods are all default-denied by a namespace-wide tier
    /// policy (see [`tiers`]) has a default deny: not reported when the tiers decide all of its
    /// pods' traffic in that direction, reported one level lower (naming the tier policy) when
    /// they decide the traffic with pods only.
    fn default_deny(&self, out: &mut Vec<Finding>) {
        for ns in self.namespaces_with_selectable_pods() {
            let name = &self.namespaces[ns as usize];
            for (check, direction) in
                [(NO_DEFAULT_DENY_INGRESS, Direction::Ingress), (NO_DEFAULT_DENY_EGRESS, Direction::Egress)]
            {
                let has_baseline = self
                    .policies()
                    .iter()
                    .any(|p| &p.namespace == name && p.pod_selector.is_everything() && p.affects(direction));
                if has_baseline {
                    continue;
                }
                let dir = direction.as_str();
                let types = format!("[{dir}]");
                let rules = dir.to_lowercase();
                let way = if direction == Direction::Ingress { "from" } else { "to" };
                if !self.tiers.is_empty() {
                    let covers: Vec<TierCover> = self.ns_pods[ns as usize]
                        .iter()
                        .filter(|&&i| self.selectable[i])
                        .map(|&i| self.tier_cover(i, direction))
                        .collect();
                    let deny: BTreeSet<u32> = covers.iter().flat_map(|c| c.deny_policies.iter().copied()).collect();
                    if covers.iter().all(|c| c.pods) && self.tiers.namespace_wide(&deny) {
                        if covers.iter().all(|c| c.everything) {
                            continue; // the tiers decide everything: a default deny
                        }
                        out.push(
                            Finding::new(
                                check,
                                Some(name),
                                vec![ObjectRef::namespace(name)],
                                format!(
                                    "no NetworkPolicy in namespace {name} selects every pod (podSelector: {{}}) for {dir}, but {} \
                                     denies by default (all that no tier rule allows) the {rules} of its pods {way} every pod; for any pod that no NetworkPolicy \
                                     selects, {}",
                                    self.tiers.names(&deny),
                                    Self::left_open(direction)
                                ),
                                format!(
                                    "to close the rest, add a default-deny NetworkPolicy in {name} (podSelector: {{}}, policyTypes: {types}, \
                                     no {rules} rules), then allow what is needed"
                                ),
                            )
                            .lowered(),
                        );
                        continue;
                    }
                }
                let consequence = match direction {
                    Direction::Ingress => "any pod that no other policy selects accepts connections from anywhere",
                    Direction::Egress => "any pod that no other policy selects may connect anywhere",
                };
                out.push(Finding::new(
                    check,
                    Some(name),
                    vec![ObjectRef::namespace(name)],
                    format!("no NetworkPolicy in namespace {name} selects every pod (podSelector: {{}}) for {dir}: {consequence}"),
                    format!(
                        "add a default-deny NetworkPolicy in {name} (podSelector: {{}}, policyTypes: {types}, no {rules} rules), then allow what is needed"
                    ),
                ));
            }
        }
    }

    /// NR003, NR004: pods selected by no policy of a direction, per namespace. Pods that a tier
    /// default-denies (see [`tiers`]) are left out when the tiers decide all their traffic, and
    /// reported in a separate finding one level lower when they decide their traffic with pods.
    fn unsegmented_pods(&self, out: &mut Vec<Finding>) {
        let n = self.pods().len();
        let mut isolated = [vec![false; n], vec![false; n]];
        for (p, policy) in self.policies().iter().enumerate() {
            for (d, direction) in [Direction::Ingress, Direction::Egress].into_iter().enumerate() {
                if policy.affects(direction) {
                    for &i in &self.selected[p] {
                        isolated[d][i] = true;
                    }
                }
            }
        }
        #[derive(Default)]
        struct Open {
            total: usize,
            /// Not default-denied by any tier.
            open: Vec<usize>,
            /// Default-denied by the tiers for traffic with pods only, and by which policies.
            pods_only: Vec<usize>,
            pods_only_by: BTreeSet<u32>,
            /// Default-denied by the tiers for all traffic, and by which policies.
            all: usize,
            all_by: BTreeSet<u32>,
        }
        for (d, (check, direction)) in
            [(PODS_WITHOUT_INGRESS_POLICY, Direction::Ingress), (PODS_WITHOUT_EGRESS_POLICY, Direction::Egress)]
                .into_iter()
                .enumerate()
        {
            let mut per_ns: BTreeMap<u32, Open> = BTreeMap::new();
            for i in (0..n).filter(|&i| self.selectable[i]) {
                let entry = per_ns.entry(self.pod_ns[i]).or_default();
                entry.total += 1;
                if isolated[d][i] {
                    continue;
                }
                let cover = self.tier_cover(i, direction);
                if cover.everything {
                    entry.all += 1;
                    entry.all_by.extend(cover.deny_policies);
                } else if cover.pods {
                    entry.pods_only.push(i);
                    entry.pods_only_by.extend(cover.deny_policies);
                } else {
                    entry.open.push(i);
                }
            }
            let dir = direction.as_str();
            let rules = dir.to_lowercase();
            let way = if direction == Direction::Ingress { "from" } else { "to" };
            for (ns, group) in per_ns {
                let name = &self.namespaces[ns as usize];
                let total = group.total;
                let fully = if group.all > 0 {
                    format!(
                        " ({} more are selected by no NetworkPolicy for {dir} but {} denies all their {rules} by default)",
                        group.all,
                        self.tiers.names(&group.all_by)
                    )
                } else {
                    String::new()
                };
                if !group.open.is_empty() {
                    let what = match direction {
                        Direction::Ingress => "they accept connections from every pod and address",
                        Direction::Egress => "they may connect to every pod and address",
                    };
                    out.push(Finding::new(
                        check,
                        Some(name),
                        self.workloads(group.open.iter().copied()),
                        format!(
                            "{} of {total} pod(s) in namespace {name} are selected by no NetworkPolicy for {dir}: {what}{}",
                            group.open.len(),
                            if group.pods_only.is_empty() { fully.clone() } else { String::new() }
                        ),
                        format!("add a default-deny {rules} policy in {name} (podSelector: {{}}) or a policy selecting these pods"),
                    ));
                }
                if !group.pods_only.is_empty() {
                    out.push(
                        Finding::new(
                            check,
                            Some(name),
                            self.workloads(group.pods_only.iter().copied()),
                            format!(
                                "{} of {total} pod(s) in namespace {name} are selected by no NetworkPolicy for {dir}, but {} denies by \
                                 default (all that no tier rule allows) their {rules} {way} every pod: {}{fully}",
                                group.pods_only.len(),
                                self.tiers.names(&group.pods_only_by),
                                Self::left_open(direction)
                            ),
                            format!(
                                "to close the rest, add a default-deny {rules} policy in {name} (podSelector: {{}}) or a policy selecting these pods"
                            ),
                        )
                        .lowered(),
                    );
                }
            }
        }
    }

    /// NR005, NR006: one finding per workload with hostNetwork pods.
    fn host_network(&self, out: &mut Vec<Finding>) {
        let mut groups: BTreeMap<(ObjectRef, bool), usize> = BTreeMap::new();
        for pod in self.pods().iter().filter(|p| p.host_network) {
            *groups.entry((ObjectRef::workload_of(pod), pod.privileged)).or_default() += 1;
        }
        for ((object, privileged), count) in groups {
            let ns = object.namespace.clone();
            let (check, message, fix) = if privileged {
                (
                    PRIVILEGED_HOST_NETWORK_POD,
                    format!(
                        "{object}: {count} pod(s) run privileged containers on the host network: NetworkPolicy does not restrict \
                         them, and a compromise of one is a compromise of its node"
                    ),
                    "drop privileged (grant only the capabilities needed) and hostNetwork where possible; restrict the agent with node firewall rules".to_string(),
                )
            } else {
                (
                    HOST_NETWORK_POD,
                    format!(
                        "{object}: {count} pod(s) on the host network: NetworkPolicy does not select hostNetwork pods, so no \
                         policy restricts their traffic and they share their node's network"
                    ),
                    "run without hostNetwork unless the node's network is needed; restrict these pods with node firewall rules".to_string(),
                )
            };
            out.push(Finding::new(check, ns.as_deref(), vec![object], message, fix));
        }
    }

    /// NR007: from each external class to each pod class, one `allowed` per class pair.
    fn reachable_from_internet(&self, out: &mut Vec<Finding>) {
        let reach = &self.a.reach;
        let ext_classes: BTreeSet<usize> =
            (reach.pod_count()..reach.endpoint_count()).map(|e| self.classes.class_of(e)).collect();
        // Per pod class: ports reachable from outside, and from which external ranges.
        let mut per_class: HashMap<usize, (PortSet, BTreeSet<usize>)> = HashMap::new();
        for &src in &ext_classes {
            for dst in self.classes.pod_classes() {
                let ports = self.classes.allowed(reach, src, dst);
                if ports.is_empty() {
                    continue;
                }
                let entry = per_class.entry(dst).or_insert_with(|| (PortSet::empty(), BTreeSet::new()));
                entry.0.union_with(&ports);
                entry
                    .1
                    .extend(self.classes.members(src).iter().map(|&e| e as usize).filter(|&e| e >= reach.pod_count()));
            }
        }
        // Group pods by (namespace, ports).
        let mut groups: BTreeMap<(u32, PortSet), (Vec<usize>, BTreeSet<usize>)> = BTreeMap::new();
        for (class, (ports, sources)) in per_class {
            for &e in self.classes.members(class) {
                let i = e as usize;
                if i < reach.pod_count() {
                    let g = groups.entry((self.pod_ns[i], ports.clone())).or_default();
                    g.0.push(i);
                    g.1.extend(sources.iter().copied());
                }
            }
        }
        for ((ns, ports), (pods, sources)) in groups {
            let name = &self.namespaces[ns as usize];
            let from: Vec<String> = sources.iter().map(|&e| self.a.display_name(e)).collect();
            out.push(Finding::new(
                REACHABLE_FROM_INTERNET,
                Some(name),
                self.workloads(pods.iter().copied()),
                format!(
                    "{} pod(s) in namespace {name} can be reached from outside the cluster on {}: from {}",
                    pods.len(),
                    describe_ports(&ports),
                    from.join("; ")
                ),
                "restrict ingress ipBlock peers to the load balancer or proxy ranges, and the ports to the served ones"
                    .to_string(),
            ));
        }
    }

    /// NR008, NR009: rules that allow everything towards the internet or every namespace; each
    /// rule or peer gives at most one finding.
    fn broad_rules(&self, out: &mut Vec<Finding>) {
        for (p, policy) in self.policies().iter().enumerate() {
            let pods = self.selected[p].len();
            if pods == 0 {
                continue; // NR011 reports it; it allows nothing today
            }
            for direction in [Direction::Ingress, Direction::Egress] {
                if !policy.affects(direction) {
                    continue;
                }
                let (section, peers_key) = field_names(direction);
                for (r, rule) in policy.rules(direction).iter().enumerate() {
                    if !all_ports(rule) {
                        continue;
                    }
                    let rule_field = format!("spec.{section}[{r}]");
                    if rule.peers.is_empty() {
                        // A rule without peers matches every source or destination: "If this
                        // field is empty or missing, this rule matches all sources/destinations"
                        // (https://kubernetes.io/docs/reference/kubernetes-api/policy-resources/network-policy-v1/).
                        // One weakness, one finding: for egress that is the whole internet *and*
                        // every namespace, and NR008 (the more severe exposure) owns it, saying
                        // both; NR009 reports only rules that open every namespace without the
                        // internet. Ingress rules have no NR008 counterpart: NR009 owns them (NR007
                        // reports the exposed pods, not the rule).
                        let (check, towards, fix) = match direction {
                            Direction::Ingress => (
                                CROSS_NAMESPACE_ALLOW_ALL,
                                "from every pod of every namespace and every address",
                                format!("add {peers_key} peers naming the namespaces and pods that need access, and the ports"),
                            ),
                            Direction::Egress => (
                                EGRESS_TO_INTERNET_ALL_PORTS,
                                "to every address, the whole internet included, and to every pod of every namespace",
                                "list the destinations (namespaces and pods, ipBlocks of the outside services used) and their ports".to_string(),
                            ),
                        };
                        out.push(Finding::new(
                            check,
                            Some(&policy.namespace),
                            vec![ObjectRef::policy(policy, Some(rule_field))],
                            format!(
                                "{section} rule {r} has no {peers_key} and no ports: it allows the {pods} pod(s) it selects all traffic {towards}"
                            ),
                            fix,
                        ));
                        continue;
                    }
                    for (k, peer) in rule.peers.iter().enumerate() {
                        let field = Some(format!("{rule_field}.{peers_key}[{k}]"));
                        match peer {
                            Peer::IpBlock(block) if direction == Direction::Egress && block.cidr.prefix_len() == 0 => {
                                out.push(Finding::new(
                                    EGRESS_TO_INTERNET_ALL_PORTS,
                                    Some(&policy.namespace),
                                    vec![ObjectRef::policy(policy, field)],
                                    format!(
                                        "egress rule {r} allows the {pods} pod(s) it selects to connect to ipBlock {block} on every port"
                                    ),
                                    "narrow the ipBlock to the addresses actually used and list their ports".to_string(),
                                ));
                            }
                            Peer::Pods { pod_selector, namespace_selector: Some(ns_sel) }
                                if ns_sel.is_everything()
                                    && pod_selector.as_ref().is_none_or(|s| s.is_everything()) =>
                            {
                                let way = match direction {
                                    Direction::Ingress => "from",
                                    Direction::Egress => "to",
                                };
                                out.push(Finding::new(
                                    CROSS_NAMESPACE_ALLOW_ALL,
                                    Some(&policy.namespace),
                                    vec![ObjectRef::policy(policy, field)],
                                    format!(
                                        "{} rule {r} allows the {pods} pod(s) it selects all traffic {way} every pod of every namespace \
                                         (namespaceSelector: {{}}) on every port",
                                        section
                                    ),
                                    "replace namespaceSelector: {} with the namespaces (and a podSelector for the pods) that need access, and list the ports".to_string(),
                                ));
                            }
                            _ => {}
                        }
                    }
                }
            }
        }
    }

    /// NR010: per source class and kube-system class, one `allowed`; non-DNS ports remain.
    fn kube_system_beyond_dns(&self, out: &mut Vec<Finding>) {
        let reach = &self.a.reach;
        let Some(kube) = self.namespaces.iter().position(|n| n == KUBE_SYSTEM).map(|i| i as u32) else {
            return;
        };
        let dns = PortSet::single(Protocol::Udp, 53).union(&PortSet::single(Protocol::Tcp, 53));
        let pod_count = reach.pod_count();
        let in_kube = |e: u32| (e as usize) < pod_count && self.pod_ns[e as usize] == kube;
        let kube_classes: Vec<usize> =
            self.classes.pod_classes().filter(|&c| self.classes.members(c).iter().any(|&e| in_kube(e))).collect();
        // Per source namespace: source pods, and per kube-system pod the ports beyond DNS.
        let mut per_ns: BTreeMap<u32, (BTreeSet<usize>, BTreeMap<usize, PortSet>)> = BTreeMap::new();
        for src in self.classes.pod_classes() {
            if !self.classes.members(src).iter().any(|&e| (e as usize) < pod_count && !in_kube(e)) {
                continue;
            }
            for &dst in &kube_classes {
                let beyond = self.classes.allowed(reach, src, dst).difference(&dns);
                if beyond.is_empty() {
                    continue;
                }
                for &s in self.classes.members(src) {
                    if (s as usize) >= pod_count || in_kube(s) {
                        continue;
                    }
                    let entry = per_ns.entry(self.pod_ns[s as usize]).or_default();
                    entry.0.insert(s as usize);
                    for &d in self.classes.members(dst).iter().filter(|&&d| in_kube(d)) {
                        entry.1.entry(d as usize).or_insert_with(PortSet::empty).union_with(&beyond);
                    }
                }
            }
        }
        for (ns, (sources, targets)) in per_ns {
            let name = &self.namespaces[ns as usize];
            // Targets grouped by workload with the union of their ports.
            let mut by_workload: BTreeMap<ObjectRef, PortSet> = BTreeMap::new();
            for (d, ports) in &targets {
                by_workload
                    .entry(ObjectRef::workload_of(&self.pods()[*d]))
                    .or_insert_with(PortSet::empty)
                    .union_with(ports);
            }
            let listed: Vec<String> =
                by_workload.iter().map(|(w, ports)| format!("{w} on {}", describe_ports(ports))).collect();
            let mut objects = self.workloads(sources.iter().copied());
            objects.extend(by_workload.into_keys());
            out.push(Finding::new(
                KUBE_SYSTEM_BEYOND_DNS,
                Some(name),
                objects,
                format!(
                    "{} pod(s) in namespace {name} can reach kube-system beyond DNS: {}",
                    sources.len(),
                    listed.join("; ")
                ),
                format!(
                    "limit egress from {name} to kube-system to 53/UDP and 53/TCP on kube-dns, and limit the kube-system policies' peers"
                ),
            ));
        }
    }

    /// Whether peer `k` of rule `r` of policy `p` matches no endpoint (the engine's answer,
    /// remembered per distinct peer).
    fn peer_is_empty(
        &self,
        p: usize,
        policy: &'a NetworkPolicy,
        direction: Direction,
        r: usize,
        k: usize,
        peer: &'a Peer,
    ) -> bool {
        let key = PeerKey::of(policy, peer);
        if let Some(&known) = self.peer_empty.borrow().get(&key) {
            return known;
        }
        let empty = self.a.reach.peer_members(p, direction, r, k).is_empty();
        self.peer_empty.borrow_mut().insert(key, empty);
        empty
    }

    /// Operator custom resources whose pods a pod peer may match once they exist: in the
    /// policy's namespace (no namespaceSelector) or in the namespaces its namespaceSelector
    /// matches. Explanatory only, like the hostNetwork note of NR011.
    fn peer_creators(&self, policy: &NetworkPolicy, peer: &Peer) -> Vec<operators::Creator<'a>> {
        let Peer::Pods { pod_selector, namespace_selector } = peer else { return Vec::new() };
        let everything = LabelSelector::everything();
        let pods = pod_selector.as_ref().unwrap_or(&everything);
        let namespaces: BTreeSet<&str> = match namespace_selector {
            None => BTreeSet::from([policy.namespace.as_str()]),
            Some(sel) => self
                .operators
                .namespaces()
                .filter(|ns| match self.a.cluster.namespaces.iter().find(|n| n.name == *ns) {
                    Some(n) => sel.matches(&n.labels),
                    None => sel.matches(&[(netreach_model::NAMESPACE_NAME_LABEL.to_string(), ns.to_string())].into()),
                })
                .collect(),
        };
        namespaces.into_iter().flat_map(|ns| self.operators.creators(ns, pods)).collect()
    }

    /// NR011, NR012; lowered one level, naming the custom resource, when an operator custom
    /// resource in the input may create the pods (see [`operators`]).
    fn dead_policies_and_peers(&self, out: &mut Vec<Finding>) {
        for (p, policy) in self.policies().iter().enumerate() {
            if self.selected[p].is_empty() {
                // Explanatory only: does the selector fit pods that selectors never select?
                let host_matches = self
                    .namespaces
                    .binary_search(&policy.namespace)
                    .map_or(&[][..], |ns| self.ns_pods[ns].as_slice())
                    .iter()
                    .filter(|&&i| !self.selectable[i] && policy.pod_selector.matches(&self.pods()[i].labels))
                    .count();
                let creators = if host_matches > 0 {
                    Vec::new()
                } else {
                    self.operators.creators(&policy.namespace, &policy.pod_selector)
                };
                let why = if host_matches > 0 {
                    format!(
                        ": it fits {host_matches} hostNetwork pod(s), which NetworkPolicy never selects, so it restricts nothing"
                    )
                } else if !creators.is_empty() {
                    format!(
                        " yet: the pods may be created later by an operator from {}",
                        operators::describe(&creators)
                    )
                } else {
                    String::new()
                };
                let finding = Finding::new(
                    POLICY_SELECTS_NO_POD,
                    Some(&policy.namespace),
                    vec![ObjectRef::policy(policy, Some("spec.podSelector".into()))],
                    format!(
                        "podSelector {} selects no pod in namespace {}{why}",
                        policy.pod_selector, policy.namespace
                    ),
                    if creators.is_empty() {
                        "fix the podSelector to match the intended pods' labels, or delete the policy".to_string()
                    } else {
                        format!(
                            "check that the operator's pods carry these labels (kubectl get pods -n {} -l '{}' once they run); otherwise fix the podSelector",
                            policy.namespace, policy.pod_selector
                        )
                    },
                );
                out.push(if creators.is_empty() { finding } else { finding.lowered() });
            }
            for direction in [Direction::Ingress, Direction::Egress] {
                let (section, peers_key) = field_names(direction);
                for (r, rule) in policy.rules(direction).iter().enumerate() {
                    for (k, peer) in rule.peers.iter().enumerate() {
                        if !self.peer_is_empty(p, policy, direction, r, k, peer) {
                            continue;
                        }
                        let creators = self.peer_creators(policy, peer);
                        let finding = Finding::new(
                            PEER_MATCHES_NOTHING,
                            Some(&policy.namespace),
                            vec![ObjectRef::policy(policy, Some(format!("spec.{section}[{r}].{peers_key}[{k}]")))],
                            if creators.is_empty() {
                                format!("{section} rule {r}, peer {k} ({peer}) matches no pod and no address: it allows nothing")
                            } else {
                                format!(
                                    "{section} rule {r}, peer {k} ({peer}) matches no pod yet: the pods may be created later by an \
                                     operator from {}",
                                    operators::describe(&creators)
                                )
                            },
                            if creators.is_empty() {
                                "fix the selectors to the labels the intended namespaces and pods carry (hostNetwork pods are never matched), or remove the peer".to_string()
                            } else {
                                "check that the operator's pods carry these labels once they run; otherwise fix the selectors".to_string()
                            },
                        );
                        out.push(if creators.is_empty() { finding } else { finding.lowered() });
                    }
                }
            }
        }
    }

    /// NR013: a named port entry that no destination of the rule resolves. Destinations are the
    /// selected pods for ingress rules and the peers' pods for egress rules.
    fn unresolved_named_ports(&self, out: &mut Vec<Finding>) {
        let pod_count = self.a.reach.pod_count();
        let mut declared_anywhere: HashMap<(&str, Protocol), bool> = HashMap::new();
        for (p, policy) in self.policies().iter().enumerate() {
            for direction in [Direction::Ingress, Direction::Egress] {
                let (section, _) = field_names(direction);
                for (r, rule) in policy.rules(direction).iter().enumerate() {
                    let named: Vec<(usize, &str, Protocol)> = rule
                        .ports
                        .iter()
                        .enumerate()
                        .filter_map(|(k, e)| match &e.port {
                            Some(PortSpec::Name(n)) => Some((k, n.as_str(), e.protocol)),
                            _ => None,
                        })
                        .collect();
                    if named.is_empty() {
                        continue;
                    }
                    let reaches_nothing = match direction {
                        Direction::Ingress => self.selected[p].is_empty(),
                        Direction::Egress => {
                            !rule.peers.is_empty()
                                && rule
                                    .peers
                                    .iter()
                                    .enumerate()
                                    .all(|(k, peer)| self.peer_is_empty(p, policy, direction, r, k, peer))
                        }
                    };
                    if reaches_nothing {
                        continue; // NR011 or NR012 already says the rule reaches nothing
                    }
                    for (k, name, protocol) in named {
                        let declares = |i: &usize| self.pods()[*i].resolve_named_port(name, protocol).next().is_some();
                        let resolves = match direction {
                            Direction::Ingress => self.selected[p].iter().any(declares),
                            Direction::Egress if rule.peers.is_empty() => *declared_anywhere
                                .entry((name, protocol))
                                .or_insert_with(|| (0..self.pods().len()).any(|i| declares(&i))),
                            Direction::Egress => rule.peers.iter().enumerate().any(|(j, peer)| {
                                let key = (PeerKey::of(policy, peer), name, protocol);
                                if let Some(&known) = self.peer_resolves.borrow().get(&key) {
                                    return known;
                                }
                                let members = self.a.reach.peer_members(p, direction, r, j);
                                let found = members.iter().filter(|&&e| e < pod_count).any(declares);
                                self.peer_resolves.borrow_mut().insert(key, found);
                                found
                            }),
                        };
                        if resolves {
                            continue;
                        }
                        let whose = match direction {
                            Direction::Ingress => "the pods the policy selects",
                            Direction::Egress => "the pods the rule's peers match",
                        };
                        out.push(Finding::new(
                            NAMED_PORT_UNRESOLVED,
                            Some(&policy.namespace),
                            vec![ObjectRef::policy(policy, Some(format!("spec.{section}[{r}].ports[{k}]")))],
                            format!(
                                "{} rule {r} names port {name:?} ({protocol}), which none of {whose} declares: the entry allows nothing",
                                section
                            ),
                            "use the containerPort name the destination pods declare, or the port number".to_string(),
                        ));
                    }
                }
            }
        }
    }

    /// NR015, NR016: from the engine's first-match analysis of the tiers.
    fn tier_rules(&self, out: &mut Vec<Finding>) {
        let cluster = &self.a.cluster;
        let findings = self.a.reach.tier_findings(cluster);
        let dir = |d: Direction| if d == Direction::Ingress { "ingress" } else { "egress" };
        for (p, direction, r) in findings.shadowed {
            let policy = &cluster.cluster_policies[p as usize];
            out.push(Finding::new(
                SHADOWED_TIER_RULE,
                None,
                vec![ObjectRef::cluster_policy(policy, Some(format!("spec.{}[{r}]", dir(direction))))],
                format!("{} {}[{r}] never decides: earlier rules of its tier (priority and rule order) match all its traffic first", policy.id(), dir(direction)),
                "remove the rule, or give it precedence (a lower priority value or an earlier position)".to_string(),
            ));
        }
        for (p, q, direction) in findings.same_priority_conflicts {
            let (a, b) = (&cluster.cluster_policies[p as usize], &cluster.cluster_policies[q as usize]);
            out.push(Finding::new(
                SAME_PRIORITY_CONFLICT,
                None,
                vec![ObjectRef::cluster_policy(a, None), ObjectRef::cluster_policy(b, None)],
                format!(
                    "{} and {} both have priority {} and overlapping {} rules with different actions: which one applies is undefined",
                    a.id(),
                    b.id(),
                    a.priority,
                    dir(direction)
                ),
                "give the two policies distinct priorities".to_string(),
            ));
        }
    }

    /// NR014.
    fn misplaced_excepts(&self, out: &mut Vec<Finding>) {
        for policy in self.policies() {
            for direction in [Direction::Ingress, Direction::Egress] {
                let (section, peers_key) = field_names(direction);
                for (r, rule) in policy.rules(direction).iter().enumerate() {
                    for (k, peer) in rule.peers.iter().enumerate() {
                        let Peer::IpBlock(block) = peer else { continue };
                        for ex in block.misplaced_excepts() {
                            let i = block.except.iter().position(|e| *e == ex).unwrap_or(0);
                            out.push(Finding::new(
                                EXCEPT_OUTSIDE_CIDR,
                                Some(&policy.namespace),
                                vec![ObjectRef::policy(
                                    policy,
                                    Some(format!("spec.{section}[{r}].{peers_key}[{k}].ipBlock.except[{i}]")),
                                )],
                                format!(
                                    "ipBlock except {ex} is not a strict subset of cidr {}: the API server rejects the policy, and as \
                                     written the except excludes nothing the cidr allows",
                                    block.cidr
                                ),
                                format!("write an except range inside {} (or remove it)", block.cidr),
                            ));
                        }
                    }
                }
            }
        }
    }

    /// Per namespace with pods: possible and allowed (source pod, destination pod) pairs, counted
    /// per class pair.
    fn segmentation(&self) -> Vec<NamespaceScore> {
        let pods = self.pods().len() as u64;
        let mut per_ns = vec![0u64; self.namespaces.len()];
        for &ns in &self.pod_ns {
            per_ns[ns as usize] += 1;
        }
        let allowed = self.classes.allowed_pairs_into(&self.a.reach, &self.pod_ns, self.namespaces.len());
        self.namespaces
            .iter()
            .enumerate()
            .filter(|(i, _)| per_ns[*i] > 0)
            .map(|(i, name)| NamespaceScore {
                namespace: name.clone(),
                pods: per_ns[i],
                possible_pairs: per_ns[i] * (pods - 1),
                allowed_pairs: allowed[i],
            })
            .collect()
    }

    /// Distinct workloads (or pods without one) of these pods, sorted.
    fn workloads(&self, pods: impl Iterator<Item = usize>) -> Vec<ObjectRef> {
        let set: BTreeSet<ObjectRef> = pods.map(|i| ObjectRef::workload_of(&self.pods()[i])).collect();
        set.into_iter().collect()
    }
}

/// `("ingress", "from")` or `("egress", "to")`: the manifest's field names.
fn field_names(direction: Direction) -> (&'static str, &'static str) {
    match direction {
        Direction::Ingress => ("ingress", "from"),
        Direction::Egress => ("egress", "to"),
    }
}

/// Whether a rule's ports admit every TCP port (no ports, or an entry without a port number).
fn all_ports(rule: &Rule) -> bool {
    rule.ports.is_empty() || rule.ports.iter().any(|e: &PortEntry| e.port.is_none() && e.protocol == Protocol::Tcp)
}

/// `TCP 8443`, `every port`.
fn describe_ports(ports: &PortSet) -> String {
    if ports.is_all() {
        "every port".to_string()
    } else {
        ports.to_string()
    }
}
