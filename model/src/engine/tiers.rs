//! The cluster-scoped tiers around NetworkPolicy. Per direction, for a subject class x (the
//! source for egress, the destination for ingress), a peer class y and a port class a:
//!
//!   allowed = adminAllow ∪ (¬adminDecided ∧ (isolated by NetworkPolicy ? npAllow : ¬baselineDeny))
//!
//! where admin and baseline rules are matched in order, first match wins, and Pass leaves the
//! connection undecided for the next tier. Rows are computed on bitsets over peer classes.

use super::classes::Classes;
use super::grants::{GrantTable, PortClasses};
use super::selection::Selections;
use crate::admin::{Action, ClusterPort, Tier};
use crate::cluster::{Cluster, Direction};
use crate::ports::{PortSet, Protocol};
use fixedbitset::FixedBitSet;

/// One rule of a cluster policy, at class level, in evaluation order.
pub struct TierRule {
    /// Index into `Cluster::cluster_policies`.
    pub policy: u32,
    /// Index of the rule within its policy and direction.
    pub rule: u32,
    /// What the rule does when it matches.
    pub action: Action,
    /// The classes the policy applies to.
    pub subject: FixedBitSet,
    /// Per peer: the classes it matches.
    pub peers: Vec<FixedBitSet>,
    /// Port entries: the ports (index into the grant table's port sets) and, for named ports,
    /// the destination classes that resolve the name to them.
    pub entries: Vec<(u32, Option<FixedBitSet>)>,
}

/// The decision a tier rule made, for explanations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TierMatch {
    /// The tier of the deciding policy.
    pub tier: Tier,
    /// Index into `Cluster::cluster_policies`.
    pub policy: u32,
    /// Index of the rule within its policy and direction.
    pub rule: u32,
    /// What the rule did.
    pub action: Action,
}

/// Ordered rules per tier and direction ([ingress, egress]).
pub struct Tiers {
    /// Admin tier rules, [ingress, egress], in precedence order.
    pub admin: [Vec<TierRule>; 2],
    /// Baseline tier rules, [ingress, egress], in precedence order.
    pub baseline: [Vec<TierRule>; 2],
    /// Classes that some tier rule applies to, per direction.
    pub subjects: [FixedBitSet; 2],
    /// Under the Calico profile: Calico's tiers, holding the admin and baseline rules too.
    pub calico: Option<crate::calico::tiers::CalicoTiers>,
}

fn dir_index(d: Direction) -> usize {
    if d == Direction::Ingress {
        0
    } else {
        1
    }
}

/// The peer classes one rule matches for subject class `x`, per port class (`None` where the
/// rule does not cover the port class).
fn rule_matches(
    rule: &TierRule,
    direction: Direction,
    x: usize,
    port_classes: &PortClasses,
    class_count: usize,
) -> Vec<Option<FixedBitSet>> {
    let mut peers = FixedBitSet::with_capacity(class_count);
    for p in &rule.peers {
        peers.union_with(p);
    }
    matches_by_port_class(&peers, &rule.entries, direction, x, port_classes, class_count)
}

/// The classes of `peers` that port entries admit for subject class `x`, per port class
/// (`None` where no entry covers the port class). Shared by every ordered-tier dialect.
pub(crate) fn matches_by_port_class(
    peers: &FixedBitSet,
    entries: &[(u32, Option<FixedBitSet>)],
    direction: Direction,
    x: usize,
    port_classes: &PortClasses,
    class_count: usize,
) -> Vec<Option<FixedBitSet>> {
    let mut matched: Vec<Option<FixedBitSet>> = vec![None; port_classes.sets.len()];
    for (ports, restriction) in entries {
        let mut eff = peers.clone();
        match (restriction, direction) {
            // A named port resolves on the destination: the peer for egress, the subject for ingress.
            (Some(r), Direction::Egress) => eff.intersect_with(r),
            (Some(r), Direction::Ingress) if !r.contains(x) => continue,
            _ => {}
        }
        for &a in &port_classes.covering[*ports as usize] {
            matched[a as usize].get_or_insert_with(|| FixedBitSet::with_capacity(class_count)).union_with(&eff);
        }
    }
    matched
}

fn everything(a_count: usize, class_count: usize) -> Vec<FixedBitSet> {
    (0..a_count)
        .map(|_| {
            let mut b = FixedBitSet::with_capacity(class_count);
            b.insert_range(..);
            b
        })
        .collect()
}

impl Tiers {
    /// Whether no tier rule applies to anything (no cluster policies, or none selecting).
    pub fn is_empty(&self) -> bool {
        self.subjects.iter().all(|s| s.is_clear())
    }

    /// Builds the ordered rules; interns their port sets into `table` (before port classes are
    /// built, so that port classes refine them too).
    pub fn build(cluster: &Cluster, sel: &Selections, classes: &Classes, table: &mut GrantTable) -> Tiers {
        let n = classes.len();
        let class_set = |id: u32| classes.class_set(&sel.table.sets[id as usize]);
        let mut order: Vec<usize> = (0..cluster.cluster_policies.len()).collect();
        // Priority first; equal priorities are undefined upstream: name order keeps it stable.
        order.sort_by_key(|&i| {
            let p = &cluster.cluster_policies[i];
            (p.tier, p.priority, p.kind.as_str(), p.name.clone())
        });
        let mut tiers = Tiers {
            admin: [Vec::new(), Vec::new()],
            baseline: [Vec::new(), Vec::new()],
            subjects: [FixedBitSet::with_capacity(n), FixedBitSet::with_capacity(n)],
            calico: None,
        };
        for i in order {
            let policy = &cluster.cluster_policies[i];
            let subject = class_set(sel.cluster_subjects[i]);
            for direction in [Direction::Ingress, Direction::Egress] {
                let d = dir_index(direction);
                for (r, rule) in policy.rules(direction).iter().enumerate() {
                    let peers = sel.cluster_peers[i][d][r].iter().map(|&id| class_set(id)).collect();
                    let mut entries = Vec::new();
                    match &rule.ports {
                        None => entries.push((table.intern_ports(PortSet::all()), None)),
                        Some(ports) => {
                            for port in ports {
                                match port {
                                    ClusterPort::Number { protocol, port } => {
                                        entries.push((table.intern_ports(PortSet::single(*protocol, *port)), None))
                                    }
                                    ClusterPort::Range { protocol, start, end } => entries
                                        .push((table.intern_ports(PortSet::range(*protocol, *start, *end)), None)),
                                    ClusterPort::Named(name) => {
                                        for protocol in Protocol::ALL {
                                            for (&port, &set) in
                                                sel.named_ports.get(&(name.clone(), protocol)).into_iter().flatten()
                                            {
                                                entries.push((
                                                    table.intern_ports(PortSet::single(protocol, port)),
                                                    Some(class_set(set)),
                                                ));
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    tiers.subjects[d].union_with(&subject);
                    let rule = TierRule {
                        policy: i as u32,
                        rule: r as u32,
                        action: rule.action,
                        subject: subject.clone(),
                        peers,
                        entries,
                    };
                    match policy.tier {
                        Tier::Admin => tiers.admin[d].push(rule),
                        Tier::Baseline => tiers.baseline[d].push(rule),
                    }
                }
            }
        }
        tiers
    }

    /// First-match evaluation of one tier for subject class `x`: (allowed, denied) peer classes
    /// per port class. Passed and unmatched traffic is in neither.
    fn evaluate(
        rules: &[TierRule],
        direction: Direction,
        x: usize,
        port_classes: &PortClasses,
        class_count: usize,
    ) -> (Vec<FixedBitSet>, Vec<FixedBitSet>) {
        let a_count = port_classes.sets.len();
        let mut undecided = everything(a_count, class_count);
        let mut allow = vec![FixedBitSet::with_capacity(class_count); a_count];
        let mut deny = vec![FixedBitSet::with_capacity(class_count); a_count];
        for rule in rules.iter().filter(|r| r.subject.contains(x)) {
            let matched = rule_matches(rule, direction, x, port_classes, class_count);
            for (a, m) in matched.into_iter().enumerate() {
                let Some(mut m) = m else { continue };
                m.intersect_with(&undecided[a]);
                undecided[a].difference_with(&m);
                match rule.action {
                    Action::Allow => allow[a].union_with(&m),
                    Action::Deny => deny[a].union_with(&m),
                    Action::Pass => {}
                }
            }
        }
        (allow, deny)
    }

    /// Applies the tiers to one subject's NetworkPolicy row (`np`, per port class, over peer
    /// classes; it already says "everything" when NetworkPolicy does not isolate the subject).
    pub fn apply(
        &self,
        direction: Direction,
        x: usize,
        np_isolated: bool,
        np: &mut [Option<FixedBitSet>],
        port_classes: &PortClasses,
        class_count: usize,
    ) {
        let d = dir_index(direction);
        if !self.subjects[d].contains(x) {
            return;
        }
        if let Some(calico) = &self.calico {
            return calico.apply(self, direction, x, np_isolated, np, port_classes, class_count);
        }
        let (admin_allow, admin_deny) = Tiers::evaluate(&self.admin[d], direction, x, port_classes, class_count);
        let (_, baseline_deny) = Tiers::evaluate(&self.baseline[d], direction, x, port_classes, class_count);
        for a in 0..port_classes.sets.len() {
            let mut below = if np_isolated {
                np[a].take().unwrap_or_else(|| FixedBitSet::with_capacity(class_count))
            } else {
                let mut all = FixedBitSet::with_capacity(class_count);
                all.insert_range(..);
                all.difference_with(&baseline_deny[a]);
                all
            };
            below.difference_with(&admin_allow[a]);
            below.difference_with(&admin_deny[a]);
            below.union_with(&admin_allow[a]);
            np[a] = if below.is_clear() { None } else { Some(below) };
        }
    }

    /// Rule `k` of a tier and direction, in precedence order.
    pub fn rule(&self, tier: Tier, direction: Direction, k: u32) -> &TierRule {
        let d = dir_index(direction);
        match tier {
            Tier::Admin => &self.admin[d][k as usize],
            Tier::Baseline => &self.baseline[d][k as usize],
        }
    }

    /// The first tier rule matching one connection in one direction, per tier.
    pub fn first_match(
        &self,
        tier: Tier,
        direction: Direction,
        subject: usize,
        peer: usize,
        (protocol, port): (Protocol, u16),
        table: &GrantTable,
    ) -> Option<TierMatch> {
        let d = dir_index(direction);
        let rules = match tier {
            Tier::Admin => &self.admin[d],
            Tier::Baseline => &self.baseline[d],
        };
        let destination = if direction == Direction::Egress { peer } else { subject };
        rules
            .iter()
            .find(|r| {
                r.subject.contains(subject)
                    && r.peers.iter().any(|p| p.contains(peer))
                    && r.entries.iter().any(|(ports, restriction)| {
                        table.port_sets[*ports as usize].contains(protocol, port)
                            && restriction.as_ref().is_none_or(|set| set.contains(destination))
                    })
            })
            .map(|r| TierMatch { tier, policy: r.policy, rule: r.rule, action: r.action })
    }
}

/// Rule-level problems in the cluster-scoped tiers, for audits.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TierFindings {
    /// (policy, direction, rule): rules that never decide anything because rules of higher
    /// precedence in the same tier always match first.
    pub shadowed: Vec<(u32, Direction, u32)>,
    /// (policy, policy, direction): same tier and priority, overlapping subjects, peers and
    /// ports, different actions — which one applies is undefined upstream.
    pub same_priority_conflicts: Vec<(u32, u32, Direction)>,
}

impl Tiers {
    /// Rules that never decide and same-priority conflicts, for the audit.
    pub fn findings(
        &self,
        cluster: &Cluster,
        table: &GrantTable,
        port_classes: &PortClasses,
        class_count: usize,
    ) -> TierFindings {
        let mut out = TierFindings::default();
        for direction in [Direction::Ingress, Direction::Egress] {
            let d = dir_index(direction);
            for rules in [&self.admin[d], &self.baseline[d]] {
                // A rule is live if, for some subject class, it matches traffic still undecided.
                let mut live = vec![false; rules.len()];
                for x in self.subjects[d].ones() {
                    let mut undecided = everything(port_classes.sets.len(), class_count);
                    for (i, rule) in rules.iter().enumerate().filter(|(_, r)| r.subject.contains(x)) {
                        for (a, m) in
                            rule_matches(rule, direction, x, port_classes, class_count).into_iter().enumerate()
                        {
                            let Some(mut m) = m else { continue };
                            m.intersect_with(&undecided[a]);
                            if !m.is_clear() {
                                live[i] = true;
                                undecided[a].difference_with(&m);
                            }
                        }
                    }
                }
                for (i, rule) in rules.iter().enumerate() {
                    if !live[i] && !rule.subject.is_clear() {
                        out.shadowed.push((rule.policy, direction, rule.rule));
                    }
                }
                // Conflicts between rules of different policies sharing a priority.
                for (i, a) in rules.iter().enumerate() {
                    for b in &rules[i + 1..] {
                        let (pa, pb) = (
                            &cluster.cluster_policies[a.policy as usize],
                            &cluster.cluster_policies[b.policy as usize],
                        );
                        if a.policy == b.policy
                            || pa.priority != pb.priority
                            || a.action == b.action
                            || a.subject.is_disjoint(&b.subject)
                        {
                            continue;
                        }
                        let peers_overlap = a.peers.iter().any(|p| b.peers.iter().any(|q| !p.is_disjoint(q)));
                        let ports_overlap = a.entries.iter().any(|(x, _)| {
                            b.entries.iter().any(|(y, _)| {
                                !table.port_sets[*x as usize].intersection(&table.port_sets[*y as usize]).is_empty()
                            })
                        });
                        let pair = (a.policy.min(b.policy), a.policy.max(b.policy), direction);
                        if peers_overlap && ports_overlap && !out.same_priority_conflicts.contains(&pair) {
                            out.same_priority_conflicts.push(pair);
                        }
                    }
                }
            }
        }
        out
    }
}
