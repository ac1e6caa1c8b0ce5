//! `netreach audit`: segmentation findings and per-namespace segmentation scores.
//!
//! Every finding has a stable id (see [`CHECKS`]), a fixed severity, the objects involved and a
//! one-line fix. Findings about what is *allowed* (internet exposure, reaching kube-system) are
//! read from the engine's class-level answers ([`Reachability::allowed`] on one representative
//! per equivalence class), findings about selection from the engine's selections
//! ([`Reachability::selected_by`], [`Reachability::peer_members`]); nothing here evaluates a
//! selector to decide a verdict, and nothing iterates over pod pairs.
//!
//! One file per kind of input a check reads: `checks` is the registry, `coverage` (NR001-NR006)
//! reads pod selection and hostNetwork, `entry_points` (NR007, NR021, NR022) what outside reaches
//! through real entry points ([`crate::exposure`]), `exposure` (NR008-NR010) what is allowed, `dead_rules`
//! (NR011-NR014) what a rule matches, `tiers` the cluster-scoped tiers (NR015, NR016 and the
//! default deny NR001-NR004 account for), `infrastructure` what reaches the infrastructure
//! destinations (NR017-NR020), `calico` Calico's policies and tiers (NR201-NR204), `cilium`
//! Cilium's rules (NR221-NR224), `attack` the attack paths through identity and nodes
//! (NR301-NR305, with RBAC objects only). The mesh checks (NR101-NR109) are [`crate::mesh`]'s;
//! [`audit`] adds them and sorts everything into the one findings order.
//!
//! [`Reachability::allowed`]: netreach_model::Reachability::allowed
//! [`Reachability::selected_by`]: netreach_model::Reachability::selected_by
//! [`Reachability::peer_members`]: netreach_model::Reachability::peer_members

mod attack;
mod calico;
mod checks;
mod cilium;
mod classes;
mod coverage;
mod dead_rules;
mod entry_points;
mod exposure;
mod infrastructure;
mod operators;
mod render;
mod tiers;

pub use checks::*;
pub use render::{write_audit, write_audit_sarif, AuditFormat};
// Findings are values of their own module; these paths stay for the audit's callers.
pub use crate::findings::{Check, Finding, ObjectRef, Severity};

use crate::analysis::Analysis;
use crate::load::SkippedObject;
use classes::ClassView;
use dead_rules::PeerKey;
use netreach_model::{Direction, HostNetworkSelection, NetworkPolicy, Pod, Protocol};
use operators::Operators;
use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use tiers::{TierCover, TierView};

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
    /// Findings accepted by a `netreach.io/ignore` annotation or a baseline ([`AuditReport::suppress`]):
    /// listed, never counted for `--fail-on`.
    pub suppressed: Vec<crate::findings::suppress::Suppressed>,
}

impl AuditReport {
    /// Whether a finding at or above `threshold` exists (`--fail-on`).
    pub fn fails(&self, threshold: Severity) -> bool {
        self.findings.iter().any(|f| f.severity >= threshold)
    }

    pub fn count(&self, severity: Severity) -> usize {
        crate::findings::count(&self.findings, severity)
    }

    /// Sets aside the findings that `annotations` (`netreach.io/ignore`) or `baseline` accept.
    pub fn suppress(
        &mut self,
        annotations: &dyn crate::findings::suppress::Annotations,
        baseline: Option<&crate::findings::suppress::Baseline>,
    ) {
        let findings = std::mem::take(&mut self.findings);
        let (kept, suppressed) = crate::findings::suppress::suppress(findings, annotations, baseline);
        self.findings = kept;
        self.suppressed.extend(suppressed);
    }

    /// Keeps the findings that concern `namespaces` ([`Finding::concerns`]) and their scores
    /// (`-n/--namespace`); nothing changes when it is empty. The checks saw the whole cluster.
    pub fn retain_namespaces(&mut self, namespaces: &[String]) {
        if namespaces.is_empty() {
            return;
        }
        self.findings.retain(|f| f.concerns(namespaces));
        self.suppressed.retain(|s| s.finding.concerns(namespaces));
        self.segmentation.retain(|s| namespaces.contains(&s.namespace));
    }
}

/// A report is its findings, for comparing two of them ([`crate::findings::FindingChanges`]).
impl AsRef<[Finding]> for AuditReport {
    fn as_ref(&self) -> &[Finding] {
        &self.findings
    }
}

/// The namespace whose pods count as "kube-system" for NR010.
pub const KUBE_SYSTEM: &str = "kube-system";

/// Runs every check, with the engine and mesh options `analysis` was computed with.
pub fn audit(analysis: &Analysis) -> AuditReport {
    audit_with(analysis, &[])
}

/// [`audit`], knowing the objects the loader skipped (`LoadReport::skipped_objects`): operator
/// custom resources among them explain policies that select no pod yet (NR011, NR012).
pub fn audit_with(analysis: &Analysis, skipped: &[SkippedObject]) -> AuditReport {
    let ctx = Context::new(analysis, skipped);
    let mut findings = Vec::new();
    ctx.default_deny(&mut findings);
    ctx.unsegmented_pods(&mut findings);
    ctx.host_network(&mut findings);
    ctx.internet_exposure(&mut findings);
    ctx.broad_rules(&mut findings);
    ctx.kube_system_beyond_dns(&mut findings);
    ctx.dead_policies_and_peers(&mut findings);
    ctx.unresolved_named_ports(&mut findings);
    ctx.misplaced_excepts(&mut findings);
    ctx.tier_rules(&mut findings);
    calico::calico_findings(&analysis.cluster, &mut findings);
    ctx.calico_end_of_tier(&mut findings);
    ctx.infrastructure(&mut findings);
    ctx.cilium(&mut findings);
    ctx.attack_paths(&mut findings);
    findings.extend(crate::mesh::audit_findings(analysis));
    caveat_unevaluated(&mut findings, &analysis.cluster.unevaluated_policies);
    crate::findings::sort(&mut findings);
    AuditReport {
        findings,
        segmentation: ctx.segmentation(),
        unevaluated_policies: analysis.cluster.unevaluated_policies.clone(),
        incomplete: analysis.cluster.skipped_invalid.clone(),
        suppressed: Vec::new(),
    }
}

/// Findings that say traffic is open can be falsified by a policy netreach does not evaluate
/// (a CiliumNetworkPolicy may deny what NetworkPolicy leaves open): their message says so when
/// such a policy is in their namespace or cluster-wide.
fn caveat_unevaluated(findings: &mut [Finding], unevaluated: &[netreach_model::UnevaluatedPolicy]) {
    const OPEN_TRAFFIC: [Check; 13] = [
        NO_DEFAULT_DENY_INGRESS,
        NO_DEFAULT_DENY_EGRESS,
        PODS_WITHOUT_INGRESS_POLICY,
        PODS_WITHOUT_EGRESS_POLICY,
        REACHABLE_FROM_INTERNET,
        ADMITTED_BUT_NOT_EXPOSED,
        EGRESS_TO_INTERNET_ALL_PORTS,
        CROSS_NAMESPACE_ALLOW_ALL,
        KUBE_SYSTEM_BEYOND_DNS,
        REACHES_CLOUD_METADATA,
        APISERVER_WITHOUT_TOKEN,
        REACHES_KUBELET,
        REACHES_ETCD,
    ];
    if unevaluated.is_empty() {
        return;
    }
    for finding in findings.iter_mut().filter(|f| OPEN_TRAFFIC.iter().any(|c| c.id == f.id)) {
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
    classes: ClassView<'a>,
    /// Per distinct peer: whether it matches nothing.
    peer_empty: RefCell<HashMap<PeerKey<'a>, bool>>,
    /// Per distinct peer and named port: whether a pod it matches declares the name.
    peer_resolves: RefCell<HashMap<(PeerKey<'a>, &'a str, Protocol), bool>>,
    /// What the cluster-scoped tiers decide where NetworkPolicy does not (NR001-NR004).
    tiers: TierView<'a>,
    /// Operator custom resources that will create pods (NR011, NR012).
    operators: Operators<'a>,
    /// The entry paths from outside, computed on first use (NR007, NR021, NR022, NR301-NR303).
    exposure: std::cell::OnceCell<crate::exposure::ExposureReport>,
}

impl<'a> Context<'a> {
    fn new(a: &'a Analysis, skipped: &'a [SkippedObject]) -> Context<'a> {
        let cluster = &a.cluster;
        let likes_pods = a.engine_options.host_network == HostNetworkSelection::LikePods;
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
            exposure: std::cell::OnceCell::new(),
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
