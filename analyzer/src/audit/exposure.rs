//! NR008-NR010: what is open (NR007 is `entry_points`'). Reads the engine's class rows and the rules' peers and ports, never pod pairs.

use super::checks::*;
use super::{field_names, Context, KUBE_SYSTEM};
use crate::findings::{Finding, ObjectRef};
use netreach_model::{Direction, Peer, PortEntry, PortSet, Protocol, Rule};
use std::collections::{BTreeMap, BTreeSet};

impl Context<'_> {
    /// NR008, NR009: rules that allow everything towards the internet or every namespace; each
    /// rule or peer gives at most one finding.
    pub(super) fn broad_rules(&self, out: &mut Vec<Finding>) {
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

    /// NR010: per source class, the kube-system classes of its row; non-DNS ports remain.
    pub(super) fn kube_system_beyond_dns(&self, out: &mut Vec<Finding>) {
        let reach = &self.a.reach;
        let Some(kube) = self.namespaces.iter().position(|n| n == KUBE_SYSTEM).map(|i| i as u32) else {
            return;
        };
        let dns = PortSet::single(Protocol::Udp, 53).union(&PortSet::single(Protocol::Tcp, 53));
        let pod_count = reach.pod_count();
        let in_kube = |e: u32| (e as usize) < pod_count && self.pod_ns[e as usize] == kube;
        let mut is_kube_class = vec![false; self.classes.class_count()];
        for c in self.classes.pod_classes().filter(|&c| self.classes.members(c).iter().any(|&e| in_kube(e))) {
            is_kube_class[c] = true;
        }
        // Per source namespace: source pods, and per kube-system pod the ports beyond DNS.
        let mut per_ns: BTreeMap<u32, (BTreeSet<usize>, BTreeMap<usize, PortSet>)> = BTreeMap::new();
        for src in self.classes.pod_classes() {
            if !self.classes.members(src).iter().any(|&e| (e as usize) < pod_count && !in_kube(e)) {
                continue;
            }
            for (dst, ports) in reach.class_row(src) {
                if !is_kube_class[dst] {
                    continue;
                }
                let beyond = ports.difference(&dns);
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
}

/// Whether a rule's ports admit every TCP port (no ports, or an entry without a port number).
fn all_ports(rule: &Rule) -> bool {
    rule.ports.is_empty() || rule.ports.iter().any(|e: &PortEntry| e.port.is_none() && e.protocol == Protocol::Tcp)
}

/// `TCP 8443`, `every port`.
pub(super) fn describe_ports(ports: &PortSet) -> String {
    if ports.is_all() {
        "every port".to_string()
    } else {
        ports.to_string()
    }
}
