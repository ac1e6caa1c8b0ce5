//! Calico findings. NR201-NR203 are read from the policies and tiers as written: a rule that
//! can never decide because an earlier catch-all rule of its policy or tier decides first, a
//! Pass that can only land in the profile's allow, and policies that only log. Exact by
//! construction: each claim holds for every pod, so nothing there evaluates a selector.
//! NR204 (a tier whose end-of-tier drop isolates pods nobody meant to isolate) is the engine's
//! tier walk per class ([`netreach_model::Reachability::calico_end_of_tier_drops`]), grouped
//! per tier, direction and namespace; not where only log-only policies make the tier apply,
//! which NR203 reports.
//! Tier semantics: https://docs.tigera.io/calico/latest/reference/resources/tier.

use super::checks::{CALICO_END_OF_TIER_DROP, CALICO_LOG_ONLY_POLICY, CALICO_PASS_TO_PROFILE, CALICO_SHADOWED_RULE};
use super::Context;
use crate::findings::{Finding, ObjectRef};
use netreach_model::calico::{
    ordered_tiers, CalicoAction, CalicoKind, CalicoPolicy, CalicoRule, EntityRule, ADMIN_TIER, BASELINE_TIER,
    DEFAULT_TIER,
};
use netreach_model::{Cluster, Direction, Protocol, Tier};
use std::collections::{BTreeMap, BTreeSet};

const DIRECTIONS: [(Direction, usize, &str); 2] =
    [(Direction::Ingress, 0, "ingress"), (Direction::Egress, 1, "egress")];

fn object(policy: &CalicoPolicy, field: Option<String>) -> ObjectRef {
    ObjectRef {
        kind: policy.kind.as_str().into(),
        namespace: policy.namespace.clone(),
        name: policy.name.clone(),
        field,
    }
}

/// A rule that matches every modelled connection and decides it (Allow, Deny or Pass).
fn decides_everything(rule: &CalicoRule) -> bool {
    rule.action != CalicoAction::Log
        && rule.source == EntityRule::default()
        && rule.destination == EntityRule::default()
        && Protocol::ALL.iter().all(|p| rule.protocols.contains(p))
}

/// Whether `earlier` selects every endpoint `later` can select: a global policy on `all()`
/// without namespace or ServiceAccount selectors, or a policy on `all()` of `later`'s namespace.
fn covers(earlier: &CalicoPolicy, later: &CalicoPolicy) -> bool {
    let whole_scope = earlier.selector.is_all() && earlier.service_account_selector.is_none();
    whole_scope
        && match earlier.kind {
            CalicoKind::GlobalNetworkPolicy => earlier.namespace_selector.is_none(),
            CalicoKind::NetworkPolicy => earlier.namespace.is_some() && earlier.namespace == later.namespace,
        }
}

/// The engine's order of policies within a tier: `order` (none last), then name/namespace.
fn tier_key(policy: &CalicoPolicy) -> (netreach_model::calico::Order, String) {
    (policy.order, format!("{}/{}", policy.name, policy.namespace.clone().unwrap_or_default()))
}

/// NR201-NR203.
pub(super) fn calico_findings(cluster: &Cluster, out: &mut Vec<Finding>) {
    let policies = &cluster.calico.policies;
    let tiers = ordered_tiers(cluster);
    for policy in policies {
        log_only(&tiers, policy, out);
        for (direction, d, section) in DIRECTIONS {
            if !policy.applies[d] {
                continue;
            }
            let rules = policy.rules(direction);
            for (r, rule) in rules.iter().enumerate() {
                if let Some(first) = rules[..r].iter().position(decides_everything) {
                    out.push(shadowed(policy, section, r, format!("its own {section}[{first}]")));
                    continue;
                }
                let earlier = policies.iter().find(|e| {
                    e.tier == policy.tier
                        && e.applies[d]
                        && tier_key(e) < tier_key(policy)
                        && covers(e, policy)
                        && e.rules(direction).iter().any(decides_everything)
                });
                if let Some(e) = earlier {
                    let at = e.rules(direction).iter().position(decides_everything).unwrap_or_default();
                    out.push(shadowed(
                        policy,
                        section,
                        r,
                        format!("{} {section}[{at}], earlier in tier {}", e.id(), e.tier),
                    ));
                    continue;
                }
                if rule.action == CalicoAction::Pass && !later_tier_applies(cluster, &tiers, &policy.tier, direction) {
                    out.push(Finding::new(
                        CALICO_PASS_TO_PROFILE,
                        policy.namespace.as_deref(),
                        vec![object(policy, Some(format!("spec.{section}[{r}]")))],
                        format!(
                            "{} {section}[{r}] passes, but no tier after {} has a policy for {section}: passed traffic lands in the profile, which allows it",
                            policy.id(),
                            policy.tier
                        ),
                        "use Allow if allowing is meant; to have it judged, add a policy in a later tier (or a Kubernetes NetworkPolicy for the default tier)".into(),
                    ));
                }
            }
        }
    }
}

fn shadowed(policy: &CalicoPolicy, section: &str, r: usize, by: String) -> Finding {
    Finding::new(
        CALICO_SHADOWED_RULE,
        policy.namespace.as_deref(),
        vec![object(policy, Some(format!("spec.{section}[{r}]")))],
        format!("{} {section}[{r}] never decides: {by} matches every connection first", policy.id()),
        "remove the rule, or narrow the catch-all rule before it (protocol, ports, selector or nets)".into(),
    )
}

/// Whether some tier after `tier` holds a policy for `direction`: a Calico policy, a Kubernetes
/// NetworkPolicy (default tier) or an admin policy (kube-admin, kube-baseline).
fn later_tier_applies(
    cluster: &Cluster,
    tiers: &[(String, netreach_model::calico::Order, bool)],
    tier: &str,
    direction: Direction,
) -> bool {
    let d = if direction == Direction::Ingress { 0 } else { 1 };
    let position = tiers.iter().position(|t| t.0 == tier).unwrap_or(tiers.len());
    tiers.iter().skip(position + 1).any(|(name, _, _)| {
        let calico = cluster.calico.policies.iter().any(|p| p.tier == *name && p.applies[d]);
        let kubernetes = name == DEFAULT_TIER && !cluster.policies.is_empty();
        let admin_tier = match name.as_str() {
            n if n == ADMIN_TIER.0 => Some(Tier::Admin),
            n if n == BASELINE_TIER.0 => Some(Tier::Baseline),
            _ => None,
        };
        let admin = admin_tier
            .is_some_and(|t| cluster.cluster_policies.iter().any(|p| p.tier == t && !p.rules(direction).is_empty()));
        calico || kubernetes || admin
    })
}

/// Whether every rule of the policy only logs (and it has some): NR203.
fn is_log_only(policy: &CalicoPolicy) -> bool {
    let mut rules = policy.ingress.iter().chain(&policy.egress).peekable();
    rules.peek().is_some() && rules.all(|r| r.action == CalicoAction::Log)
}

fn log_only(tiers: &[(String, netreach_model::calico::Order, bool)], policy: &CalicoPolicy, out: &mut Vec<Finding>) {
    if !is_log_only(policy) {
        return;
    }
    let default_pass = tiers.iter().find(|t| t.0 == policy.tier).is_some_and(|t| t.2);
    let after = if default_pass {
        "its default action Pass hands it to the next tier".to_string()
    } else {
        format!("the end-of-tier drop denies it, unless another policy of tier {} decides first", policy.tier)
    };
    out.push(Finding::new(
        CALICO_LOG_ONLY_POLICY,
        policy.namespace.as_deref(),
        vec![object(policy, None)],
        format!(
            "{} only logs: it decides nothing, yet it makes tier {} apply to the pods it selects, and for their traffic {after}",
            policy.id(),
            policy.tier
        ),
        "add the Allow, Deny or Pass rule the logging is meant to precede (a final `action: Pass` keeps the tier from dropping it)".into(),
    ));
}

/// The pods of one (tier, direction, namespace) whose traffic a tier's end-of-tier drop decides.
#[derive(Default)]
struct DroppedGroup {
    pods: Vec<usize>,
    calico: BTreeSet<u32>,
    admin: BTreeSet<u32>,
    /// Whether a tier after it applies to some of them (else only the profile would decide).
    later_tiers: bool,
}

impl Context<'_> {
    /// NR204: per tier, direction and namespace, the pods for which the tier lets none of the
    /// traffic reaching it through, no rule denies all of it and no policy of the tier is a
    /// rule-less default deny, so its implicit end-of-tier drop denies what the tiers after it
    /// (or Calico's profile) would allow. "If the Tier applies to the endpoint, but takes no
    /// action on the packet the packet is dropped"; `defaultAction: Pass` changes that
    /// (https://docs.tigera.io/calico/latest/reference/resources/tier#how-policy-is-evaluated).
    pub(super) fn calico_end_of_tier(&self, out: &mut Vec<Finding>) {
        let (cluster, reach) = (&self.a.cluster, &self.a.reach);
        let tiers = reach.calico_tier_names();
        for (direction, _, section) in DIRECTIONS {
            let mut groups: BTreeMap<(u32, u32), DroppedGroup> = BTreeMap::new();
            for (class, drop) in reach.calico_end_of_tier_drops(cluster, direction) {
                let pods =
                    self.classes.members(class).iter().map(|&e| e as usize).take_while(|&e| e < reach.pod_count());
                for pod in pods {
                    let group = groups.entry((drop.tier, self.pod_ns[pod])).or_default();
                    group.pods.push(pod);
                    group.calico.extend(&drop.policies.calico);
                    group.admin.extend(&drop.policies.admin);
                    group.later_tiers |= drop.later_tiers > 0;
                }
            }
            for ((tier, ns), group) in groups {
                let (tier, namespace) = (tiers[tier as usize], self.namespaces[ns as usize].as_str());
                let calico: Vec<&CalicoPolicy> =
                    group.calico.iter().map(|&p| &cluster.calico.policies[p as usize]).collect();
                // Only log-only policies make the tier apply: NR203 already names each of them
                // and says the drop meets their traffic.
                if group.admin.is_empty() && calico.iter().all(|p| is_log_only(p)) {
                    continue;
                }
                let admin = group.admin.iter().map(|&p| &cluster.cluster_policies[p as usize]);
                let mut names: Vec<String> = calico.iter().map(|p| p.id()).collect();
                names.extend(admin.clone().map(|p| p.id()));
                let mut objects: Vec<ObjectRef> = calico.iter().map(|p| object(p, None)).collect();
                objects.extend(admin.map(|p| ObjectRef {
                    kind: p.kind.as_str().into(),
                    namespace: None,
                    name: p.name.clone(),
                    field: None,
                }));
                objects.extend(self.workloads(group.pods.iter().copied()));
                let later =
                    if group.later_tiers { "the tiers after it (or Calico's profile)" } else { "Calico's profile" };
                out.push(Finding::new(
                    CALICO_END_OF_TIER_DROP,
                    Some(namespace),
                    objects,
                    format!(
                        "the end-of-tier drop of tier {tier} decides the {section} traffic of {} pod(s) in namespace {namespace}: the tier's policies selecting them ({}) allow and pass none of what reaches the tier and no rule denies all of it, so the drop denies what {later} would allow",
                        group.pods.len(),
                        names.join(", ")
                    ),
                    format!(
                        "if tier {tier} is meant to judge only some traffic, end its last policy with `- action: Pass` (nothing to match), or set `defaultAction: Pass` on Tier {tier} where your Calico's Tier has the field; if isolating these pods is meant, say so with a final `- action: Deny`"
                    ),
                ));
            }
        }
    }
}
