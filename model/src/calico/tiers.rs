//! Calico's ordered tiers on class bitsets. Per direction and subject class x
//! (https://docs.tigera.io/calico/latest/reference/resources/tier#how-policy-is-evaluated):
//! tiers by `order` (none last, then name); a tier with no policy selecting x in that direction
//! is skipped; in a tier, policies by `order` (none last) then name, rules in order: Allow and
//! Deny decide, Pass goes to the next tier, Log continues; traffic no rule decided meets the
//! tier's default action (Deny: end-of-tier drop; Pass). Traffic every tier passed, or that no
//! tier applied to, reaches the profile, which allows it (Calico's Kubernetes profiles allow all).
//! Kubernetes NetworkPolicies sit in the default tier at order 1000; AdminNetworkPolicy and
//! BaselineAdminNetworkPolicy in the kube-admin and kube-baseline tiers (default action Pass).

use super::{CalicoAction, CalicoPort, Order};
use super::{ADMIN_TIER, BASELINE_TIER, DEFAULT_TIER, NETWORK_POLICY_ORDER};
use crate::admin::{Action, Tier};
use crate::cluster::{Cluster, Direction};
use crate::engine::classes::Classes;
use crate::engine::grants::{GrantTable, PortClasses};
use crate::engine::selection::Selections;
use crate::engine::tiers::{matches_by_port_class, Tiers};
use crate::ports::{PortSet, Protocol};
use fixedbitset::FixedBitSet;

/// One Calico rule at class level.
pub struct ClassRule {
    /// Index into `Cluster::calico.policies`.
    pub policy: u32,
    /// Index of the rule within its policy and direction.
    pub rule: u32,
    /// What it does when it matches.
    pub action: CalicoAction,
    /// Classes the policy selects that the rule's local side (destination for ingress, source
    /// for egress) also matches.
    pub subject: FixedBitSet,
    /// Classes the rule's peer side matches.
    pub peers: FixedBitSet,
    /// Port entries: ports (into the grant table) and, for named ports, the destination classes
    /// that resolve the name to them.
    pub entries: Vec<(u32, Option<FixedBitSet>)>,
}

/// One step of a tier, in evaluation order.
pub enum Step {
    /// A Calico rule.
    Rule(ClassRule),
    /// Every Kubernetes NetworkPolicy isolating the subject: Allow rules, unordered among themselves.
    NetworkPolicies,
    /// A rule of an AdminNetworkPolicy / BaselineAdminNetworkPolicy (index into that tier's rules
    /// of `Tiers::admin` / `Tiers::baseline` for the direction).
    Cluster(Tier, u32),
}

/// One tier, ready to evaluate.
pub struct OrderedTier {
    /// The tier's name.
    pub name: String,
    /// `defaultAction: Pass`.
    pub default_pass: bool,
    /// Per direction: classes some policy of the tier selects (the tier applies to them).
    pub applies: [FixedBitSet; 2],
    /// Per direction: the steps.
    pub steps: [Vec<Step>; 2],
}

/// Every tier, in evaluation order.
pub struct CalicoTiers {
    /// The tiers, in order.
    pub tiers: Vec<OrderedTier>,
    /// Per direction: classes some Calico policy or cluster policy applies to (their rows are
    /// computed by the tiers; others read plain NetworkPolicy rows).
    pub subjects: [FixedBitSet; 2],
}

/// What decided one connection in one tier, for explanations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TraceOutcome {
    /// A Calico rule matched (`Log` rules are listed and evaluation went on).
    Rule {
        /// Index into `Cluster::calico.policies`.
        policy: u32,
        /// Rule index within the policy and direction.
        rule: u32,
        /// Its action.
        action: CalicoAction,
    },
    /// A Kubernetes NetworkPolicy rule allowed it.
    NetworkPolicy,
    /// An AdminNetworkPolicy / BaselineAdminNetworkPolicy rule matched.
    Cluster(crate::engine::tiers::TierMatch),
    /// No rule decided: the tier's default action (end-of-tier deny, or Pass).
    EndOfTier {
        /// Whether the default action is Pass.
        pass: bool,
    },
}

/// One tier's part in a verdict.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceStep {
    /// The tier's name.
    pub tier: String,
    /// What happened there.
    pub outcome: TraceOutcome,
}

/// The walk through the tiers for one connection and direction.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CalicoTrace {
    /// Tiers that applied, in order, with what they did (Log matches included).
    pub steps: Vec<TraceStep>,
    /// Whether the direction allows the connection (the profile allows what every tier passed).
    pub allowed: bool,
}

fn dir_index(d: Direction) -> usize {
    if d == Direction::Ingress {
        0
    } else {
        1
    }
}

/// Where an item sits in its tier: (order, name), then its kind for stable ties.
type SortKey = (Order, String, u8, u32);

impl CalicoTiers {
    /// Builds the tiers; interns their port sets into `table` (before port classes are built).
    pub fn build(
        cluster: &Cluster,
        sel: &Selections,
        classes: &Classes,
        table: &mut GrantTable,
        cluster_tiers: &Tiers,
    ) -> CalicoTiers {
        let n = classes.len();
        let class_set = |id: u32| classes.class_set(&sel.table.sets[id as usize]);
        let defined = super::ordered_tiers(cluster);
        let subjects: Vec<FixedBitSet> = sel.calico.subjects.iter().map(|&id| class_set(id)).collect();
        let mut out =
            CalicoTiers { tiers: Vec::new(), subjects: [FixedBitSet::with_capacity(n), FixedBitSet::with_capacity(n)] };
        for (name, _, default_pass) in defined {
            let mut tier = OrderedTier {
                name: name.clone(),
                default_pass,
                applies: [FixedBitSet::with_capacity(n), FixedBitSet::with_capacity(n)],
                steps: [Vec::new(), Vec::new()],
            };
            for direction in [Direction::Ingress, Direction::Egress] {
                let d = dir_index(direction);
                let mut items: Vec<(SortKey, Step)> = Vec::new();
                for (i, policy) in cluster.calico.policies.iter().enumerate() {
                    if policy.tier != name || !policy.applies[d] {
                        continue;
                    }
                    tier.applies[d].union_with(&subjects[i]);
                    out.subjects[d].union_with(&subjects[i]);
                    let ns = policy.namespace.clone().unwrap_or_default();
                    for (r, rule) in policy.rules(direction).iter().enumerate() {
                        let sets = sel.calico.rules[i][d][r];
                        let mut subject = subjects[i].clone();
                        subject.intersect_with(&class_set(sets.local));
                        let entries = port_entries(rule, sel, &class_set, table);
                        let key = (policy.order, format!("{}/{ns}", policy.name), 0, r as u32);
                        let step = ClassRule {
                            policy: i as u32,
                            rule: r as u32,
                            action: rule.action,
                            subject,
                            peers: class_set(sets.peer),
                            entries,
                        };
                        items.push((key, Step::Rule(step)));
                    }
                }
                if name == DEFAULT_TIER {
                    // `knp.default.*` names: no other policy name falls among them, so one step
                    // at their shared place is exact.
                    tier.applies[d].union_with(&table.isolated[d]);
                    if tier.default_pass {
                        // A default tier that passes what no rule decided lets through what
                        // plain NetworkPolicy would drop: those subjects need the walk too.
                        out.subjects[d].union_with(&table.isolated[d]);
                    }
                    items.push((
                        (Order(Some(NETWORK_POLICY_ORDER)), "knp.default.".into(), 1, 0),
                        Step::NetworkPolicies,
                    ));
                }
                let cluster_tier = match name.as_str() {
                    n if n == ADMIN_TIER.0 => Some((Tier::Admin, &cluster_tiers.admin[d])),
                    n if n == BASELINE_TIER.0 => Some((Tier::Baseline, &cluster_tiers.baseline[d])),
                    _ => None,
                };
                if let Some((which, rules)) = cluster_tier {
                    for (k, rule) in rules.iter().enumerate() {
                        let policy = &cluster.cluster_policies[rule.policy as usize];
                        tier.applies[d].union_with(&rule.subject);
                        out.subjects[d].union_with(&rule.subject);
                        // The policy's priority is its order in the tier (the tiered-policy page).
                        let key = (Order(Some(policy.priority as f64)), policy.name.clone(), 2, k as u32);
                        items.push((key, Step::Cluster(which, k as u32)));
                    }
                }
                items.sort_by(|a, b| a.0.cmp(&b.0));
                tier.steps[d] = items.into_iter().map(|(_, step)| step).collect();
            }
            out.tiers.push(tier);
        }
        out
    }

    /// The final allowed peers per port class for subject `x`, given its NetworkPolicy row
    /// (`np`, meaningful when `np_isolated`); written back into `np`.
    #[allow(clippy::too_many_arguments)]
    pub fn apply(
        &self,
        cluster_tiers: &Tiers,
        direction: Direction,
        x: usize,
        np_isolated: bool,
        np: &mut [Option<FixedBitSet>],
        port_classes: &PortClasses,
        class_count: usize,
    ) {
        let d = dir_index(direction);
        let a_count = port_classes.sets.len();
        let full = || {
            let mut b = FixedBitSet::with_capacity(class_count);
            b.insert_range(..);
            b
        };
        let mut undecided: Vec<FixedBitSet> = (0..a_count).map(|_| full()).collect();
        let mut allow = vec![FixedBitSet::with_capacity(class_count); a_count];
        for tier in self.tiers.iter().filter(|t| t.applies[d].contains(x)) {
            let mut passed = vec![FixedBitSet::with_capacity(class_count); a_count];
            for step in &tier.steps[d] {
                let (action, matched) = match step {
                    Step::Rule(r) if r.subject.contains(x) => {
                        (r.action, matches_by_port_class(&r.peers, &r.entries, direction, x, port_classes, class_count))
                    }
                    Step::NetworkPolicies if np_isolated => (
                        CalicoAction::Allow,
                        np.iter()
                            .map(|row| row.clone().or_else(|| Some(FixedBitSet::with_capacity(class_count))))
                            .collect(),
                    ),
                    Step::Cluster(which, k) => {
                        let rule = cluster_tiers.rule(*which, direction, *k);
                        if !rule.subject.contains(x) {
                            continue;
                        }
                        let mut peers = FixedBitSet::with_capacity(class_count);
                        rule.peers.iter().for_each(|p| peers.union_with(p));
                        let action = match rule.action {
                            Action::Allow => CalicoAction::Allow,
                            Action::Deny => CalicoAction::Deny,
                            Action::Pass => CalicoAction::Pass,
                        };
                        (action, matches_by_port_class(&peers, &rule.entries, direction, x, port_classes, class_count))
                    }
                    _ => continue,
                };
                if action == CalicoAction::Log {
                    continue;
                }
                for (a, m) in matched.into_iter().enumerate() {
                    let Some(mut m) = m else { continue };
                    m.intersect_with(&undecided[a]);
                    undecided[a].difference_with(&m);
                    match action {
                        CalicoAction::Allow => allow[a].union_with(&m),
                        CalicoAction::Pass => passed[a].union_with(&m),
                        CalicoAction::Deny | CalicoAction::Log => {}
                    }
                }
            }
            for (a, p) in passed.into_iter().enumerate() {
                if !tier.default_pass {
                    // End-of-tier deny: what no rule decided is dropped.
                    undecided[a].clear();
                }
                undecided[a].union_with(&p);
            }
        }
        // The profile allows what every applying tier passed.
        for (a, row) in np.iter_mut().enumerate() {
            allow[a].union_with(&undecided[a]);
            *row = if allow[a].is_clear() { None } else { Some(std::mem::take(&mut allow[a])) };
        }
    }

    /// The walk through the tiers for one connection: `np_allows` says whether a NetworkPolicy
    /// grant covers it (meaningful when `np_isolated`).
    #[allow(clippy::too_many_arguments)]
    pub fn trace(
        &self,
        cluster_tiers: &Tiers,
        direction: Direction,
        subject: usize,
        peer: usize,
        (protocol, port): (Protocol, u16),
        np_isolated: bool,
        np_allows: bool,
        table: &GrantTable,
    ) -> CalicoTrace {
        let d = dir_index(direction);
        let destination = if direction == Direction::Egress { peer } else { subject };
        let covers = |peers: &[&FixedBitSet], entries: &[(u32, Option<FixedBitSet>)]| {
            peers.iter().any(|p| p.contains(peer))
                && entries.iter().any(|(ports, restriction)| {
                    table.port_sets[*ports as usize].contains(protocol, port)
                        && restriction.as_ref().is_none_or(|set| set.contains(destination))
                })
        };
        let mut trace = CalicoTrace::default();
        for tier in self.tiers.iter().filter(|t| t.applies[d].contains(subject)) {
            let mut passed = false;
            for step in &tier.steps[d] {
                let (outcome, action) = match step {
                    Step::Rule(r) if r.subject.contains(subject) && covers(&[&r.peers], &r.entries) => {
                        (TraceOutcome::Rule { policy: r.policy, rule: r.rule, action: r.action }, r.action)
                    }
                    Step::NetworkPolicies if np_isolated && np_allows => {
                        (TraceOutcome::NetworkPolicy, CalicoAction::Allow)
                    }
                    Step::Cluster(which, k) => {
                        let rule = cluster_tiers.rule(*which, direction, *k);
                        if !rule.subject.contains(subject)
                            || !covers(&rule.peers.iter().collect::<Vec<_>>(), &rule.entries)
                        {
                            continue;
                        }
                        let action = match rule.action {
                            Action::Allow => CalicoAction::Allow,
                            Action::Deny => CalicoAction::Deny,
                            Action::Pass => CalicoAction::Pass,
                        };
                        let m = crate::engine::tiers::TierMatch {
                            tier: *which,
                            policy: rule.policy,
                            rule: rule.rule,
                            action: rule.action,
                        };
                        (TraceOutcome::Cluster(m), action)
                    }
                    _ => continue,
                };
                trace.steps.push(TraceStep { tier: tier.name.clone(), outcome });
                match action {
                    CalicoAction::Log => continue,
                    CalicoAction::Allow | CalicoAction::Deny => {
                        trace.allowed = action == CalicoAction::Allow;
                        return trace;
                    }
                    CalicoAction::Pass => {
                        passed = true;
                        break;
                    }
                }
            }
            if !passed {
                trace.steps.push(TraceStep {
                    tier: tier.name.clone(),
                    outcome: TraceOutcome::EndOfTier { pass: tier.default_pass },
                });
                if !tier.default_pass {
                    return trace;
                }
            }
        }
        trace.allowed = true;
        trace
    }
}

/// The ports a rule matches: its protocols × (`ports` or every port) minus `notPorts`; named
/// ports resolve on the destination per protocol.
fn port_entries(
    rule: &super::CalicoRule,
    sel: &Selections,
    class_set: &dyn Fn(u32) -> FixedBitSet,
    table: &mut GrantTable,
) -> Vec<(u32, Option<FixedBitSet>)> {
    let dst = &rule.destination;
    let mut excluded = PortSet::empty();
    for p in &dst.not_ports {
        if let CalicoPort::Range(lo, hi) = p {
            for &proto in &rule.protocols {
                excluded.union_with(&PortSet::range(proto, *lo, *hi));
            }
        }
    }
    let mut numeric = PortSet::empty();
    let mut entries = Vec::new();
    for &proto in &rule.protocols {
        if dst.ports.is_empty() {
            numeric.union_with(&PortSet::all_of(proto));
        }
        for p in &dst.ports {
            match p {
                CalicoPort::Range(lo, hi) => numeric.union_with(&PortSet::range(proto, *lo, *hi)),
                CalicoPort::Named(name) => {
                    for (&port, &set) in sel.named_ports.get(&(name.clone(), proto)).into_iter().flatten() {
                        let ports = PortSet::single(proto, port).difference(&excluded);
                        if !ports.is_empty() {
                            entries.push((table.intern_ports(ports), Some(class_set(set))));
                        }
                    }
                }
            }
        }
    }
    let numeric = numeric.difference(&excluded);
    if !numeric.is_empty() {
        entries.push((table.intern_ports(numeric), None));
    }
    entries
}
