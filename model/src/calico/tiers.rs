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
    /// Per Calico policy (index into `Cluster::calico.policies`): the classes it selects.
    pub policy_subjects: Vec<FixedBitSet>,
}

/// The policies of one tier that select a class in a direction.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TierPolicies {
    /// Indices into `Cluster::calico.policies`.
    pub calico: Vec<u32>,
    /// Indices into `Cluster::cluster_policies` (kube-admin, kube-baseline).
    pub admin: Vec<u32>,
}

/// A tier whose end-of-tier drop alone decides a class's traffic (see
/// [`CalicoTiers::end_of_tier_drop`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndOfTierDrop {
    /// Index into `CalicoTiers::tiers`.
    pub tier: u32,
    /// The tier's policies that select the class in that direction.
    pub policies: TierPolicies,
    /// How many tiers after it apply to the class (0: the profile would allow what it drops).
    pub later_tiers: u32,
}

/// What one tier did with the traffic still undecided when it started, per port class over
/// peer classes.
struct TierVerdict {
    allowed: Vec<FixedBitSet>,
    passed: Vec<FixedBitSet>,
    /// What no rule decided: the tier's default action meets it.
    unmatched: Vec<FixedBitSet>,
}

/// One subject class in one direction, walked through the tiers.
struct Walk<'a> {
    cluster_tiers: &'a Tiers,
    direction: Direction,
    x: usize,
    np_isolated: bool,
    /// The subject's NetworkPolicy row (meaningful when `np_isolated`).
    np: &'a [Option<FixedBitSet>],
    port_classes: &'a PortClasses,
    class_count: usize,
}

impl Walk<'_> {
    /// Every peer class on every port class.
    fn everything(&self) -> Vec<FixedBitSet> {
        (0..self.port_classes.sets.len())
            .map(|_| {
                let mut b = FixedBitSet::with_capacity(self.class_count);
                b.insert_range(..);
                b
            })
            .collect()
    }

    /// What the tiers from index `start` on allow of `undecided`: Allow rules, and at the end
    /// the profile, which allows what every applying tier passed.
    fn allowed_from(&self, tiers: &CalicoTiers, start: usize, mut undecided: Vec<FixedBitSet>) -> Vec<FixedBitSet> {
        let d = dir_index(self.direction);
        let mut allow = vec![FixedBitSet::with_capacity(self.class_count); undecided.len()];
        for tier in tiers.tiers[start..].iter().filter(|t| t.applies[d].contains(self.x)) {
            if undecided.iter().all(FixedBitSet::is_clear) {
                break;
            }
            let verdict = self.run_tier(tier, undecided);
            allow.iter_mut().zip(&verdict.allowed).for_each(|(a, m)| a.union_with(m));
            undecided = verdict.passed;
            if tier.default_pass {
                undecided.iter_mut().zip(&verdict.unmatched).for_each(|(u, m)| u.union_with(m));
            }
        }
        allow.iter_mut().zip(&undecided).for_each(|(a, u)| a.union_with(u));
        allow
    }

    /// One tier's steps in order on `undecided`: Allow and Deny decide, Pass hands to the next
    /// tier, Log goes on.
    fn run_tier(&self, tier: &OrderedTier, mut undecided: Vec<FixedBitSet>) -> TierVerdict {
        let (direction, x, class_count) = (self.direction, self.x, self.class_count);
        let a_count = undecided.len();
        let mut allowed = vec![FixedBitSet::with_capacity(class_count); a_count];
        let mut passed = vec![FixedBitSet::with_capacity(class_count); a_count];
        for step in &tier.steps[dir_index(direction)] {
            let (action, matched) = match step {
                Step::Rule(r) if r.subject.contains(x) => (
                    r.action,
                    matches_by_port_class(&r.peers, &r.entries, direction, x, self.port_classes, class_count),
                ),
                Step::NetworkPolicies if self.np_isolated => (
                    CalicoAction::Allow,
                    self.np
                        .iter()
                        .map(|row| row.clone().or_else(|| Some(FixedBitSet::with_capacity(class_count))))
                        .collect(),
                ),
                Step::Cluster(which, k) => {
                    let rule = self.cluster_tiers.rule(*which, direction, *k);
                    if !rule.subject.contains(x) {
                        continue;
                    }
                    let mut peers = FixedBitSet::with_capacity(class_count);
                    rule.peers.iter().for_each(|p| peers.union_with(p));
                    (
                        calico_action(rule.action),
                        matches_by_port_class(&peers, &rule.entries, direction, x, self.port_classes, class_count),
                    )
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
                    CalicoAction::Allow => allowed[a].union_with(&m),
                    CalicoAction::Pass => passed[a].union_with(&m),
                    CalicoAction::Deny | CalicoAction::Log => {}
                }
            }
        }
        TierVerdict { allowed, passed, unmatched: undecided }
    }
}

/// An admin tier action as the Calico tier walk reads it.
fn calico_action(action: Action) -> CalicoAction {
    match action {
        Action::Allow => CalicoAction::Allow,
        Action::Deny => CalicoAction::Deny,
        Action::Pass => CalicoAction::Pass,
    }
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
        // Rules repeat sets (every source, a namespace's pods): each is turned into classes once.
        let memo: std::cell::RefCell<crate::engine::HashMap<u32, FixedBitSet>> = Default::default();
        let class_set = |id: u32| {
            memo.borrow_mut().entry(id).or_insert_with(|| classes.class_set(&sel.table.sets[id as usize])).clone()
        };
        let defined = super::ordered_tiers(cluster);
        let subjects: Vec<FixedBitSet> = sel.calico.subjects.iter().map(|&id| class_set(id)).collect();
        let mut out = CalicoTiers {
            tiers: Vec::new(),
            subjects: [FixedBitSet::with_capacity(n), FixedBitSet::with_capacity(n)],
            policy_subjects: Vec::new(),
        };
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
        out.policy_subjects = subjects;
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
        let walk = Walk { cluster_tiers, direction, x, np_isolated, np, port_classes, class_count };
        let allow = walk.allowed_from(self, 0, walk.everything());
        for (row, allowed) in np.iter_mut().zip(allow) {
            *row = if allowed.is_clear() { None } else { Some(allowed) };
        }
    }

    /// The tier whose end-of-tier drop alone decides what reaches it of subject `x`'s traffic in
    /// `direction`, when nobody asked for that: the first tier (default action Deny) applying to
    /// `x` that allows and passes none of the traffic reaching it, where no policy selecting `x`
    /// has zero rules for the direction (Calico's default-deny idiom) and `x` is not isolated by
    /// a Kubernetes NetworkPolicy (in the default tier), and that drops at its end traffic the
    /// tiers after it, or the profile, would allow. "If the Tier applies to the endpoint, but
    /// takes no action on the packet the packet is dropped"
    /// (https://docs.tigera.io/calico/latest/reference/resources/tier#how-policy-is-evaluated).
    #[allow(clippy::too_many_arguments)]
    pub fn end_of_tier_drop(
        &self,
        cluster: &Cluster,
        cluster_tiers: &Tiers,
        direction: Direction,
        x: usize,
        np_isolated: bool,
        np: &[Option<FixedBitSet>],
        port_classes: &PortClasses,
        class_count: usize,
    ) -> Option<EndOfTierDrop> {
        let d = dir_index(direction);
        let walk = Walk { cluster_tiers, direction, x, np_isolated, np, port_classes, class_count };
        let mut undecided = walk.everything();
        for (i, tier) in self.tiers.iter().enumerate().filter(|(_, t)| t.applies[d].contains(x)) {
            let verdict = walk.run_tier(tier, undecided);
            let lets_through = verdict.allowed.iter().chain(&verdict.passed).any(|m| !m.is_clear());
            if !tier.default_pass && !lets_through {
                let policies = self.selecting(cluster, cluster_tiers, tier, direction, x);
                let meant = (tier.name == DEFAULT_TIER && np_isolated)
                    || policies.calico.iter().any(|&p| cluster.calico.policies[p as usize].rules(direction).is_empty());
                if meant || verdict.unmatched.iter().all(FixedBitSet::is_clear) {
                    return None;
                }
                let later = walk.allowed_from(self, i + 1, verdict.unmatched);
                if later.iter().all(FixedBitSet::is_clear) {
                    return None;
                }
                let later_tiers = self.tiers[i + 1..].iter().filter(|t| t.applies[d].contains(x)).count() as u32;
                return Some(EndOfTierDrop { tier: i as u32, policies, later_tiers });
            }
            undecided = verdict.passed;
            if tier.default_pass {
                undecided.iter_mut().zip(&verdict.unmatched).for_each(|(u, m)| u.union_with(m));
            }
            if undecided.iter().all(FixedBitSet::is_clear) {
                return None;
            }
        }
        None
    }

    /// The policies of `tier` that select class `x` for `direction`.
    fn selecting(
        &self,
        cluster: &Cluster,
        cluster_tiers: &Tiers,
        tier: &OrderedTier,
        direction: Direction,
        x: usize,
    ) -> TierPolicies {
        let d = dir_index(direction);
        let calico = (0..cluster.calico.policies.len())
            .filter(|&i| {
                let p = &cluster.calico.policies[i];
                p.tier == tier.name && p.applies[d] && self.policy_subjects[i].contains(x)
            })
            .map(|i| i as u32)
            .collect();
        let mut admin: Vec<u32> = tier.steps[d]
            .iter()
            .filter_map(|step| match step {
                Step::Cluster(which, k) => {
                    let rule = cluster_tiers.rule(*which, direction, *k);
                    rule.subject.contains(x).then_some(rule.policy)
                }
                _ => None,
            })
            .collect();
        admin.sort_unstable();
        admin.dedup();
        TierPolicies { calico, admin }
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
                        let action = calico_action(rule.action);
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
