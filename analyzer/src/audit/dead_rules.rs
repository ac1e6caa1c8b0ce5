//! NR011-NR014: what a policy says that allows nothing: selectors that select no pod, peers that
//! match nothing, named ports no destination declares, ipBlock excepts outside their cidr. Reads
//! the engine's selections (remembered per distinct peer) and the operator custom resources that
//! may create the missing pods (see [`super::operators`]).

use super::checks::*;
use super::{field_names, operators, Context};
use crate::findings::{Finding, ObjectRef};
use netreach_model::{Direction, IpBlock, LabelSelector, NetworkPolicy, Peer, PortSpec, Protocol};
use std::collections::{BTreeSet, HashMap};

/// Peers that are written the same (in the same namespace, for selectors scoped to it) match
/// the same endpoints: the engine's answer for one holds for all.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum PeerKey<'a> {
    Pods { pods: Option<&'a LabelSelector>, namespaces: Option<&'a LabelSelector>, own_namespace: Option<&'a str> },
    Block(&'a IpBlock),
}

impl<'a> PeerKey<'a> {
    fn of(policy: &'a NetworkPolicy, peer: &'a Peer) -> PeerKey<'a> {
        match peer {
            Peer::Pods { pod_selector, namespace_selector } => PeerKey::Pods {
                pods: pod_selector.as_ref(),
                namespaces: namespace_selector.as_ref(),
                own_namespace: namespace_selector.is_none().then_some(policy.namespace.as_str()),
            },
            Peer::IpBlock(block) => PeerKey::Block(block),
        }
    }
}

impl<'a> Context<'a> {
    /// Whether peer `k` of rule `r` of policy `p` matches no endpoint (the engine's answer,
    /// remembered per distinct peer).
    fn peer_is_empty(
        &self,
        p: usize,
        policy: &'a NetworkPolicy,
        direction: Direction,
        r: usize,
        k: usize,
        peer: &'a Peer,
    ) -> bool {
        let key = PeerKey::of(policy, peer);
        if let Some(&known) = self.peer_empty.borrow().get(&key) {
            return known;
        }
        let empty = self.a.reach.peer_members(p, direction, r, k).is_empty();
        self.peer_empty.borrow_mut().insert(key, empty);
        empty
    }

    /// Operator custom resources whose pods a pod peer may match once they exist: in the
    /// policy's namespace (no namespaceSelector) or in the namespaces its namespaceSelector
    /// matches. Explanatory only, like the hostNetwork note of NR011.
    fn peer_creators(&self, policy: &NetworkPolicy, peer: &Peer) -> Vec<operators::Creator<'a>> {
        let Peer::Pods { pod_selector, namespace_selector } = peer else { return Vec::new() };
        let everything = LabelSelector::everything();
        let pods = pod_selector.as_ref().unwrap_or(&everything);
        let namespaces: BTreeSet<&str> = match namespace_selector {
            None => BTreeSet::from([policy.namespace.as_str()]),
            Some(sel) => self
                .operators
                .namespaces()
                .filter(|ns| match self.a.cluster.namespaces.iter().find(|n| n.name == *ns) {
                    Some(n) => sel.matches(&n.labels),
                    None => sel.matches(&[(netreach_model::NAMESPACE_NAME_LABEL.to_string(), ns.to_string())].into()),
                })
                .collect(),
        };
        namespaces.into_iter().flat_map(|ns| self.operators.creators(ns, pods)).collect()
    }

    /// NR011, NR012; lowered one level, naming the custom resource, when an operator custom
    /// resource in the input may create the pods (see [`super::operators`]).
    pub(super) fn dead_policies_and_peers(&self, out: &mut Vec<Finding>) {
        for (p, policy) in self.policies().iter().enumerate() {
            if self.selected[p].is_empty() {
                // Explanatory only: does the selector fit pods that selectors never select?
                let host_matches = self
                    .namespaces
                    .binary_search(&policy.namespace)
                    .map_or(&[][..], |ns| self.ns_pods[ns].as_slice())
                    .iter()
                    .filter(|&&i| !self.selectable[i] && policy.pod_selector.matches(&self.pods()[i].labels))
                    .count();
                let creators = if host_matches > 0 {
                    Vec::new()
                } else {
                    self.operators.creators(&policy.namespace, &policy.pod_selector)
                };
                let why = if host_matches > 0 {
                    format!(
                        ": it fits {host_matches} hostNetwork pod(s), which NetworkPolicy never selects, so it restricts nothing"
                    )
                } else if !creators.is_empty() {
                    format!(
                        " yet: the pods may be created later by an operator from {}",
                        operators::describe(&creators)
                    )
                } else {
                    String::new()
                };
                let finding = Finding::new(
                    POLICY_SELECTS_NO_POD,
                    Some(&policy.namespace),
                    vec![ObjectRef::policy(policy, Some("spec.podSelector".into()))],
                    format!(
                        "podSelector {} selects no pod in namespace {}{why}",
                        policy.pod_selector, policy.namespace
                    ),
                    if creators.is_empty() {
                        "fix the podSelector to match the intended pods' labels, or delete the policy".to_string()
                    } else {
                        format!(
                            "check that the operator's pods carry these labels (kubectl get pods -n {} -l '{}' once they run); otherwise fix the podSelector",
                            policy.namespace, policy.pod_selector
                        )
                    },
                );
                out.push(if creators.is_empty() { finding } else { finding.lowered() });
            }
            for direction in [Direction::Ingress, Direction::Egress] {
                let (section, peers_key) = field_names(direction);
                for (r, rule) in policy.rules(direction).iter().enumerate() {
                    for (k, peer) in rule.peers.iter().enumerate() {
                        if !self.peer_is_empty(p, policy, direction, r, k, peer) {
                            continue;
                        }
                        let creators = self.peer_creators(policy, peer);
                        let finding = Finding::new(
                            PEER_MATCHES_NOTHING,
                            Some(&policy.namespace),
                            vec![ObjectRef::policy(policy, Some(format!("spec.{section}[{r}].{peers_key}[{k}]")))],
                            if creators.is_empty() {
                                format!("{section} rule {r}, peer {k} ({peer}) matches no pod and no address: it allows nothing")
                            } else {
                                format!(
                                    "{section} rule {r}, peer {k} ({peer}) matches no pod yet: the pods may be created later by an \
                                     operator from {}",
                                    operators::describe(&creators)
                                )
                            },
                            if creators.is_empty() {
                                "fix the selectors to the labels the intended namespaces and pods carry (hostNetwork pods are never matched), or remove the peer".to_string()
                            } else {
                                "check that the operator's pods carry these labels once they run; otherwise fix the selectors".to_string()
                            },
                        );
                        out.push(if creators.is_empty() { finding } else { finding.lowered() });
                    }
                }
            }
        }
    }

    /// NR013: a named port entry that no destination of the rule resolves. Destinations are the
    /// selected pods for ingress rules and the peers' pods for egress rules.
    pub(super) fn unresolved_named_ports(&self, out: &mut Vec<Finding>) {
        let pod_count = self.a.reach.pod_count();
        let mut declared_anywhere: HashMap<(&str, Protocol), bool> = HashMap::new();
        for (p, policy) in self.policies().iter().enumerate() {
            for direction in [Direction::Ingress, Direction::Egress] {
                let (section, _) = field_names(direction);
                for (r, rule) in policy.rules(direction).iter().enumerate() {
                    let named: Vec<(usize, &str, Protocol)> = rule
                        .ports
                        .iter()
                        .enumerate()
                        .filter_map(|(k, e)| match &e.port {
                            Some(PortSpec::Name(n)) => Some((k, n.as_str(), e.protocol)),
                            _ => None,
                        })
                        .collect();
                    if named.is_empty() {
                        continue;
                    }
                    let reaches_nothing = match direction {
                        Direction::Ingress => self.selected[p].is_empty(),
                        Direction::Egress => {
                            !rule.peers.is_empty()
                                && rule
                                    .peers
                                    .iter()
                                    .enumerate()
                                    .all(|(k, peer)| self.peer_is_empty(p, policy, direction, r, k, peer))
                        }
                    };
                    if reaches_nothing {
                        continue; // NR011 or NR012 already says the rule reaches nothing
                    }
                    for (k, name, protocol) in named {
                        let declares = |i: &usize| self.pods()[*i].resolve_named_port(name, protocol).next().is_some();
                        let resolves = match direction {
                            Direction::Ingress => self.selected[p].iter().any(declares),
                            Direction::Egress if rule.peers.is_empty() => *declared_anywhere
                                .entry((name, protocol))
                                .or_insert_with(|| (0..self.pods().len()).any(|i| declares(&i))),
                            Direction::Egress => rule.peers.iter().enumerate().any(|(j, peer)| {
                                let key = (PeerKey::of(policy, peer), name, protocol);
                                if let Some(&known) = self.peer_resolves.borrow().get(&key) {
                                    return known;
                                }
                                let members = self.a.reach.peer_members(p, direction, r, j);
                                let found = members.iter().filter(|&&e| e < pod_count).any(declares);
                                self.peer_resolves.borrow_mut().insert(key, found);
                                found
                            }),
                        };
                        if resolves {
                            continue;
                        }
                        let whose = match direction {
                            Direction::Ingress => "the pods the policy selects",
                            Direction::Egress => "the pods the rule's peers match",
                        };
                        out.push(Finding::new(
                            NAMED_PORT_UNRESOLVED,
                            Some(&policy.namespace),
                            vec![ObjectRef::policy(policy, Some(format!("spec.{section}[{r}].ports[{k}]")))],
                            format!(
                                "{} rule {r} names port {name:?} ({protocol}), which none of {whose} declares: the entry allows nothing",
                                section
                            ),
                            "use the containerPort name the destination pods declare, or the port number".to_string(),
                        ));
                    }
                }
            }
        }
    }

    /// NR014.
    pub(super) fn misplaced_excepts(&self, out: &mut Vec<Finding>) {
        for policy in self.policies() {
            for direction in [Direction::Ingress, Direction::Egress] {
                let (section, peers_key) = field_names(direction);
                for (r, rule) in policy.rules(direction).iter().enumerate() {
                    for (k, peer) in rule.peers.iter().enumerate() {
                        let Peer::IpBlock(block) = peer else { continue };
                        for ex in block.misplaced_excepts() {
                            let i = block.except.iter().position(|e| *e == ex).unwrap_or(0);
                            out.push(Finding::new(
                                EXCEPT_OUTSIDE_CIDR,
                                Some(&policy.namespace),
                                vec![ObjectRef::policy(
                                    policy,
                                    Some(format!("spec.{section}[{r}].{peers_key}[{k}].ipBlock.except[{i}]")),
                                )],
                                format!(
                                    "ipBlock except {ex} is not a strict subset of cidr {}: the API server rejects the policy, and as \
                                     written the except excludes nothing the cidr allows",
                                    block.cidr
                                ),
                                format!("write an except range inside {} (or remove it)", block.cidr),
                            ));
                        }
                    }
                }
            }
        }
    }
}
