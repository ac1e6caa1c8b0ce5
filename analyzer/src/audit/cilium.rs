//! Cilium's own findings (NR221-NR224), read from CiliumNetworkPolicy and
//! CiliumClusterwideNetworkPolicy rules and from the engine's selections and rectangles; no pod
//! pair is visited.
//!
//! Rules netreach cannot evaluate (L7, toFQDNs, toServices, toGroups) are warnings and notes of
//! the loader, not findings: a finding says something about the cluster, and those say what
//! netreach does not know.
//! Reference: https://docs.cilium.io/en/stable/security/policy/language/

use super::checks::{
    CILIUM_DEFAULT_DENY_DISABLED, CILIUM_DENY_OVERLAPS_NO_ALLOW, CILIUM_EGRESS_TO_WORLD_ALL_PORTS,
    CILIUM_INGRESS_FROM_WORLD,
};
use super::Context;
use crate::findings::{Finding, ObjectRef};
use netreach_model::{CiliumPeer, CiliumPolicy, Direction, Endpoint, Entity, Section};

/// The entities that include addresses outside the cluster.
fn world_entity(peer: &CiliumPeer) -> Option<Entity> {
    match peer {
        CiliumPeer::Entity(e @ (Entity::World | Entity::WorldIpv4 | Entity::WorldIpv6 | Entity::All)) => Some(*e),
        _ => None,
    }
}

/// The policy as a finding object, with the field of one rule.
fn object(policy: &CiliumPolicy, field: String) -> ObjectRef {
    ObjectRef {
        kind: policy.kind.as_str().into(),
        namespace: policy.namespace.clone(),
        name: policy.name.clone(),
        field: Some(field),
    }
}

/// `spec` or `specs[i]`: where the rule's spec is.
fn spec_field(policy: &CiliumPolicy) -> String {
    match policy.spec_index {
        Some(i) => format!("specs[{i}]"),
        None => "spec".into(),
    }
}

impl Context<'_> {
    pub(super) fn cilium(&self, findings: &mut Vec<Finding>) {
        let cluster = &self.a.cluster;
        let live_denies = self.a.reach.cilium_denies_overlapping_allows();
        for (p, policy) in cluster.cilium_policies.iter().enumerate() {
            let selected = self.a.reach.cilium_selected_by(p);
            if selected.is_empty() {
                continue;
            }
            let namespace = policy.namespace.as_deref();
            let spec = spec_field(policy);
            for section in Section::ALL {
                for (r, rule) in policy.rules(section).iter().enumerate() {
                    let at = format!("{spec}.{}[{r}]", section.field());
                    let world = rule.peers.iter().flatten().find_map(world_entity);
                    match (section, world) {
                        (Section::Ingress, Some(entity)) => {
                            let ports = rule.ports.as_ref().map_or("every port".to_string(), |list| {
                                list.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
                            });
                            findings.push(Finding::new(
                                CILIUM_INGRESS_FROM_WORLD,
                                namespace,
                                vec![object(policy, format!("{at}.fromEntities"))],
                                format!(
                                    "{} lets any address outside the cluster (fromEntities: {}) reach {} selected pod(s) on {ports}",
                                    policy.id(),
                                    entity.as_str(),
                                    selected.len()
                                ),
                                "replace the entity by fromCIDRSet with the client ranges that need access, or front the pods with a load balancer that filters".into(),
                            ));
                        }
                        (Section::Egress, Some(entity)) if rule.ports.is_none() => findings.push(Finding::new(
                            CILIUM_EGRESS_TO_WORLD_ALL_PORTS,
                            namespace,
                            vec![object(policy, format!("{at}.toEntities"))],
                            format!(
                                "{} lets {} selected pod(s) reach any address outside the cluster (toEntities: {}) on every port",
                                policy.id(),
                                selected.len(),
                                entity.as_str()
                            ),
                            "name the destinations (toCIDRSet or toFQDNs) and the ports (toPorts) the pods need".into(),
                        )),
                        _ => {}
                    }
                    if section.is_deny() && !live_denies.get(&(p as u32, section, r as u32)).copied().unwrap_or(false) {
                        findings.push(Finding::new(
                            CILIUM_DENY_OVERLAPS_NO_ALLOW,
                            namespace,
                            vec![object(policy, at)],
                            format!(
                                "{} {}[{r}] denies nothing that any policy allows: no allow of any layer overlaps it",
                                policy.id(),
                                section.field()
                            ),
                            "remove the rule, or fix its peers and ports if it was meant to block traffic that is allowed"
                                .into(),
                        ));
                    }
                }
            }
            self.default_deny_disabled(policy, &selected, findings);
        }
    }

    /// NR224: `enableDefaultDeny: false` on a direction with allow rules, while some pod the
    /// policy selects is isolated by nothing else: the allow rules change nothing for it.
    fn default_deny_disabled(&self, policy: &CiliumPolicy, selected: &[usize], findings: &mut Vec<Finding>) {
        let reach = &self.a.reach;
        for (direction, section) in [(Direction::Ingress, Section::Ingress), (Direction::Egress, Section::Egress)] {
            if policy.isolates(direction) || policy.rules(section).is_empty() {
                continue;
            }
            let open = selected
                .iter()
                .filter(|&&e| {
                    let endpoint = Endpoint::Pod(e as u32);
                    reach.cilium_isolating(endpoint, direction).is_empty()
                        && reach.isolating_policies(endpoint, direction).is_empty()
                })
                .count();
            if open == 0 {
                continue;
            }
            let field = section.field();
            findings.push(Finding::new(
                CILIUM_DEFAULT_DENY_DISABLED,
                policy.namespace.as_deref(),
                vec![object(policy, format!("{}.enableDefaultDeny.{field}", spec_field(policy)))],
                format!(
                    "{} has {field} rules but enableDefaultDeny.{field}: false, and no other policy isolates {open} of its {} selected pod(s): \
                     their {field} stays open to everything, so the rules restrict nothing",
                    policy.id(),
                    selected.len()
                ),
                format!("drop enableDefaultDeny.{field}: false if the rules are meant to be the only allowed {field}, or add a default-deny policy for these pods"),
            ));
        }
    }
}
