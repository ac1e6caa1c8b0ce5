//! Calico findings (NR201-NR203), read from the policies and tiers as written: a rule that can
//! never decide because an earlier catch-all rule of its policy or tier decides first, a Pass
//! that can only land in the profile's allow, and policies that only log. Exact by construction:
//! each claim holds for every pod, so nothing here evaluates a selector.
//! Tier semantics: https://docs.tigera.io/calico/latest/reference/resources/tier.

use super::checks::{CALICO_LOG_ONLY_POLICY, CALICO_PASS_TO_PROFILE, CALICO_SHADOWED_RULE};
use crate::findings::{Finding, ObjectRef};
use netreach_model::calico::{
    ordered_tiers, CalicoAction, CalicoKind, CalicoPolicy, CalicoRule, EntityRule, ADMIN_TIER, BASELINE_TIER,
    DEFAULT_TIER,
};
use netreach_model::{Cluster, Direction, Protocol, Tier};

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

fn log_only(tiers: &[(String, netreach_model::calico::Order, bool)], policy: &CalicoPolicy, out: &mut Vec<Finding>) {
    let rules: Vec<&CalicoRule> = policy.ingress.iter().chain(&policy.egress).collect();
    if rules.is_empty() || rules.iter().any(|r| r.action != CalicoAction::Log) {
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
