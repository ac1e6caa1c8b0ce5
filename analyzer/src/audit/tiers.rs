//! The cluster-scoped tiers: the default deny they provide, for NR001-NR004, and their rules
//! that never decide or conflict (NR015, NR016).
//!
//! NetworkPolicy is not the only way a pod gets a default deny. A BaselineAdminNetworkPolicy
//! (policy.networking.k8s.io/v1alpha1) or a ClusterNetworkPolicy in the Baseline tier
//! (v1alpha2) with a Deny rule from every namespace denies by default what no NetworkPolicy
//! allows: "BANP ... allows cluster administrators to set a default security posture ... which
//! namespace owners can override with NetworkPolicy"
//! (<https://network-policy-api.sigs.k8s.io/api-overview/#the-baselineadminnetworkpolicy-resource>).
//! An AdminNetworkPolicy (or Admin-tier ClusterNetworkPolicy) Deny covers what it denies, and
//! nothing below it can allow it again
//! (<https://network-policy-api.sigs.k8s.io/api-overview/#the-adminnetworkpolicy-resource>).
//!
//! The answer comes from the engine, not from reading rules here: for one representative per
//! peer class and per port interval, [`Reachability::explain`] gives the first matching Admin
//! and Baseline rule. A subject is *default-denied by the tiers* when every connection with a
//! pod that selectors can select is decided by a tier rule (Allow or Deny: nothing falls through
//! to the default allow) and some of it by a Deny. Ingress from outside the cluster and from
//! hostNetwork pods (the node's address) can never be decided by an ingress tier rule (ingress
//! peers are namespaces and pods only), so for ingress the tiers never cover *everything*.
//!
//! Whether the subject is isolated by a NetworkPolicy is deliberately ignored: the question is
//! "what happens to this pod's traffic where no NetworkPolicy speaks", which is what NR001-NR004
//! are about.
//!
//! [`Reachability::explain`]: netreach_model::Reachability::explain

use super::checks::{SAME_PRIORITY_CONFLICT, SHADOWED_TIER_RULE};
use super::classes::ClassView;
use super::Context;
use crate::findings::{Finding, ObjectRef};
use netreach_model::{Action, Cluster, ClusterPort, ClusterSubject, Direction, Protocol, Reachability, TierMatch};
use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};

/// What the tiers decide for one subject class in one direction.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct TierCover {
    /// Cluster policies (indices into `Cluster::cluster_policies`) whose Deny rules decide some
    /// of the subject's traffic with pods.
    pub deny_policies: BTreeSet<u32>,
    /// Every connection with a selectable pod, on every port, is decided by a tier rule, and
    /// some by a Deny: a default deny for in-cluster traffic.
    pub pods: bool,
    /// And every connection with the other endpoints (external ranges, hostNetwork pods) too.
    pub everything: bool,
}

pub(super) struct TierView<'a> {
    cluster: &'a Cluster,
    reach: &'a Reachability,
    /// Per protocol, the first port of every interval on which all tier rules agree.
    probes: Vec<(Protocol, u16)>,
    /// Per endpoint: whether it is a pod selectors can select.
    selectable: Vec<bool>,
    memo: RefCell<HashMap<(usize, bool), TierCover>>,
}

impl<'a> TierView<'a> {
    pub(super) fn new(cluster: &'a Cluster, reach: &'a Reachability, selectable_pods: &[bool]) -> TierView<'a> {
        let mut probes = Vec::new();
        if !cluster.cluster_policies.is_empty() {
            for protocol in Protocol::ALL {
                let mut starts: BTreeSet<u32> = BTreeSet::from([1]);
                let mut cut = |start: u16, end: u16| {
                    starts.insert(start as u32);
                    starts.insert(end as u32 + 1);
                };
                for policy in &cluster.cluster_policies {
                    for rule in policy.ingress.iter().chain(&policy.egress) {
                        for port in rule.ports.iter().flatten() {
                            match port {
                                ClusterPort::Number { protocol: p, port } if *p == protocol => cut(*port, *port),
                                ClusterPort::Range { protocol: p, start, end } if *p == protocol => cut(*start, *end),
                                ClusterPort::Named(name) => {
                                    for pod in &cluster.pods {
                                        for port in pod.resolve_named_port(name, protocol) {
                                            cut(port, port);
                                        }
                                    }
                                }
                                _ => {}
                            }
                        }
                    }
                }
                probes.extend(starts.into_iter().filter(|&p| (1..=65535).contains(&p)).map(|p| (protocol, p as u16)));
            }
        }
        let mut selectable = selectable_pods.to_vec();
        selectable.resize(reach.endpoint_count(), false);
        TierView { cluster, reach, probes, selectable, memo: RefCell::default() }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.cluster.cluster_policies.is_empty()
    }

    /// What the tiers decide for the pods of class `x` (subject) in `direction`.
    pub(super) fn cover(&self, classes: &ClassView, x: usize, direction: Direction) -> TierCover {
        let key = (x, direction == Direction::Ingress);
        if let Some(known) = self.memo.borrow().get(&key) {
            return known.clone();
        }
        let cover = self.compute(classes, x, direction);
        self.memo.borrow_mut().insert(key, cover.clone());
        cover
    }

    fn compute(&self, classes: &ClassView, x: usize, direction: Direction) -> TierCover {
        if self.is_empty() {
            return TierCover::default();
        }
        let reach = self.reach;
        let subject = reach.endpoint(classes.members(x)[0] as usize);
        let (mut pods, mut everything, mut denies) = (true, true, false);
        let mut deny_policies = BTreeSet::new();
        for y in 0..classes.class_count() {
            let members = classes.members(y);
            let Some(&first) = members.first() else { continue };
            let pod_peer = members.iter().any(|&e| self.selectable[e as usize]);
            let peer = reach.endpoint(first as usize);
            for &(protocol, port) in &self.probes {
                let (src, dst) = if direction == Direction::Ingress { (peer, subject) } else { (subject, peer) };
                let explanation = reach.explain(src, dst, protocol, port);
                let verdict = if direction == Direction::Ingress { &explanation.ingress } else { &explanation.egress };
                let decides = |m: &Option<TierMatch>| m.filter(|m| matches!(m.action, Action::Allow | Action::Deny));
                match decides(&verdict.admin).or(decides(&verdict.baseline)) {
                    Some(m) => {
                        if m.action == Action::Deny && pod_peer {
                            denies = true;
                            deny_policies.insert(m.policy);
                        }
                    }
                    None => {
                        pods &= !pod_peer;
                        everything = false;
                    }
                }
            }
            if !pods && !everything {
                break;
            }
        }
        let pods = pods && denies;
        TierCover { deny_policies, pods, everything: pods && everything }
    }

    /// `BaselineAdminNetworkPolicy default (Baseline tier)`, joined with "and".
    pub(super) fn names(&self, policies: &BTreeSet<u32>) -> String {
        let names: Vec<String> = policies
            .iter()
            .map(|&p| {
                let policy = &self.cluster.cluster_policies[p as usize];
                format!("{} {} ({:?} tier)", policy.kind.as_str(), policy.name, policy.tier)
            })
            .collect();
        names.join(" and ")
    }

    /// Whether every one of these policies applies to whole namespaces (its subject has no
    /// pod-level selector), so that pods created later in a namespace it covers are subjects too.
    pub(super) fn namespace_wide(&self, policies: &BTreeSet<u32>) -> bool {
        policies.iter().all(|&p| match &self.cluster.cluster_policies[p as usize].subject {
            ClusterSubject::Namespaces(_) => true,
            ClusterSubject::Pods { pod_selector, .. } => pod_selector.is_everything(),
        })
    }
}

impl Context<'_> {
    /// NR015, NR016: from the engine's first-match analysis of the tiers.
    pub(super) fn tier_rules(&self, out: &mut Vec<Finding>) {
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
}
