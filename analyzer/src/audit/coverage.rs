//! NR001-NR006: which pods a policy covers at all. Reads the policies' pod selection, the
//! tiers' default deny (see [`super::tiers`]) and the pods' hostNetwork flags.

use super::checks::*;
use super::tiers::TierCover;
use super::Context;
use crate::findings::{Finding, ObjectRef};
use netreach_model::Direction;
use std::collections::{BTreeMap, BTreeSet};

impl Context<'_> {
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
    /// policy (see [`super::tiers`]) has a default deny: not reported when the tiers decide all of its
    /// pods' traffic in that direction, reported one level lower (naming the tier policy) when
    /// they decide the traffic with pods only.
    pub(super) fn default_deny(&self, out: &mut Vec<Finding>) {
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
    /// default-denies (see [`super::tiers`]) are left out when the tiers decide all their traffic, and
    /// reported in a separate finding one level lower when they decide their traffic with pods.
    pub(super) fn unsegmented_pods(&self, out: &mut Vec<Finding>) {
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
    pub(super) fn host_network(&self, out: &mut Vec<Finding>) {
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
}
