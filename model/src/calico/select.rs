//! Endpoint sets of Calico subjects and rule entities. Selectors are evaluated once per
//! distinct selector over groups of pods Calico cannot tell apart (namespace, service account,
//! labels), on the labels Calico gives a workload endpoint: its own, `projectcalico.org/namespace`,
//! `projectcalico.org/orchestrator`, `projectcalico.org/serviceaccount`, and its namespace's
//! and ServiceAccount's labels under `pcns.` and `pcsa.` (libcalico-go's profile labels).
//! Rule scoping follows libcalico-go's `RuleAPIV2ToBackend`: in a namespaced policy, a rule's
//! selector, service accounts or notSelector confine it to the policy's namespace unless it has
//! a namespaceSelector; `notSelector` itself is not confined.
//! Network sets: a rule selector matches them by their labels as it matches pods, and brings
//! their `nets` (pods in them too, by address). A NetworkSet is seen with its namespace's labels
//! like a pod; a GlobalNetworkSet only by a global policy's rule without namespaceSelector or a
//! rule whose namespaceSelector matches with `global()` true and no namespace labels
//! (https://docs.tigera.io/calico/latest/reference/resources/globalnetworkset). `serviceAccounts`
//! names pods only, so a rule with it matches no network set.

use super::{CalicoKind, CalicoPolicy, EntityRule, NetworkSet, Selector, ServiceAccountMatch};
use super::{NAMESPACE_LABEL, NAME_LABEL, ORCHESTRATOR_LABEL, SERVICE_ACCOUNT_LABEL};
use crate::addresses::{IpBlock, IpFamily};
use crate::cluster::{Cluster, Direction};
use crate::engine::externals::ExternalRange;
use crate::engine::selection::{ranges_contains, NamedPortKey, SetId, SetTable};
use crate::engine::HashMap;
use crate::labels::Labels;
use fixedbitset::FixedBitSet;
use std::net::IpAddr;

/// Per rule: the endpoints its local side may be (the policy's own endpoint) and the peers it matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RuleSets {
    /// Ingress: `destination`; egress: `source`.
    pub local: SetId,
    /// Ingress: `source`; egress: `destination`.
    pub peer: SetId,
}

/// The sets the Calico tiers are built from.
#[derive(Default)]
pub struct CalicoSelections {
    /// Per Calico policy: the pods it selects.
    pub subjects: Vec<SetId>,
    /// Per policy, direction (0 ingress, 1 egress), rule.
    pub rules: Vec<[Vec<RuleSets>; 2]>,
}

/// Pods Calico has workload endpoints for (hostNetwork pods have none), grouped.
struct Groups<'c> {
    /// Per group: its labels as Calico sees them, namespace index, service account index.
    views: Vec<Labels>,
    namespace: Vec<usize>,
    account: Vec<usize>,
    members: Vec<Vec<u32>>,
    /// Per namespace: its name and labels (with `projectcalico.org/name`).
    namespaces: Vec<(&'c str, Labels)>,
    /// Per (namespace, service account): its name and labels (with `projectcalico.org/name`).
    accounts: Vec<(&'c str, Labels)>,
    namespace_index: HashMap<&'c str, usize>,
    /// Per network set: its labels as Calico sees them and its namespace index (None: global).
    sets: Vec<(Labels, Option<usize>)>,
}

/// The index of namespace `name`, adding it (with its name labels) when new.
fn add_namespace<'c>(
    index: &mut HashMap<&'c str, usize>,
    list: &mut Vec<(&'c str, Labels)>,
    name: &'c str,
    labels: Option<&Labels>,
) -> usize {
    *index.entry(name).or_insert_with(|| {
        let mut l = labels.cloned().unwrap_or_default();
        l.entry(crate::cluster::NAMESPACE_NAME_LABEL.into()).or_insert_with(|| name.to_string());
        l.insert(NAME_LABEL.into(), name.to_string());
        list.push((name, l));
        list.len() - 1
    })
}

impl<'c> Groups<'c> {
    fn new(cluster: &'c Cluster) -> Groups<'c> {
        let mut namespace_index: HashMap<&str, usize> = HashMap::default();
        let mut namespaces: Vec<(&str, Labels)> = Vec::new();
        for ns in &cluster.namespaces {
            add_namespace(&mut namespace_index, &mut namespaces, &ns.name, Some(&ns.labels));
        }
        let sa_labels: HashMap<(&str, &str), &Labels> = cluster
            .calico
            .service_accounts
            .iter()
            .map(|sa| ((sa.namespace.as_str(), sa.name.as_str()), &sa.labels))
            .collect();
        let mut account_index: HashMap<(usize, &str), usize> = HashMap::default();
        let mut accounts: Vec<(&str, Labels)> = Vec::new();
        let mut index: HashMap<(usize, usize, &Labels), usize> = HashMap::default();
        let mut groups = Groups {
            views: Vec::new(),
            namespace: Vec::new(),
            account: Vec::new(),
            members: Vec::new(),
            namespaces: Vec::new(),
            accounts: Vec::new(),
            namespace_index: HashMap::default(),
            sets: Vec::new(),
        };
        for (i, pod) in cluster.pods.iter().enumerate().filter(|(_, p)| !p.host_network) {
            let ns = add_namespace(&mut namespace_index, &mut namespaces, &pod.namespace, None);
            let sa = *account_index.entry((ns, pod.service_account.as_str())).or_insert_with(|| {
                let key = (pod.namespace.as_str(), pod.service_account.as_str());
                let mut l = sa_labels.get(&key).map(|l| (*l).clone()).unwrap_or_default();
                l.insert(NAME_LABEL.into(), pod.service_account.clone());
                accounts.push((pod.service_account.as_str(), l));
                accounts.len() - 1
            });
            let g = *index.entry((ns, sa, &pod.labels)).or_insert_with(|| {
                let mut view = Labels::new();
                for (k, v) in &namespaces[ns].1 {
                    view.insert(format!("pcns.{k}"), v.clone());
                }
                for (k, v) in &accounts[sa].1 {
                    view.insert(format!("pcsa.{k}"), v.clone());
                }
                view.insert(NAMESPACE_LABEL.into(), pod.namespace.clone());
                view.insert(ORCHESTRATOR_LABEL.into(), "k8s".into());
                view.insert(SERVICE_ACCOUNT_LABEL.into(), pod.service_account.clone());
                // The pod's own labels win over derived ones of the same key.
                view.extend(pod.labels.iter().map(|(k, v)| (k.clone(), v.clone())));
                groups.views.push(view);
                groups.namespace.push(ns);
                groups.account.push(sa);
                groups.members.push(Vec::new());
                groups.views.len() - 1
            });
            groups.members[g].push(i as u32);
        }
        for set in &cluster.calico.network_sets {
            let ns = set.namespace.as_deref().map(|n| add_namespace(&mut namespace_index, &mut namespaces, n, None));
            groups.sets.push((network_set_view(set, ns.map(|i| &namespaces[i].1)), ns));
        }
        groups.namespaces = namespaces;
        groups.accounts = accounts;
        groups.namespace_index = namespace_index;
        groups
    }

    fn len(&self) -> usize {
        self.views.len()
    }

    fn namespace_of(&self, name: &str) -> Option<usize> {
        self.namespace_index.get(name).copied()
    }
}

/// A network set's labels as Calico sees them: a NetworkSet also carries its namespace (name and
/// labels under `pcns.`), as a pod does; a GlobalNetworkSet only its own.
fn network_set_view(set: &NetworkSet, namespace_labels: Option<&Labels>) -> Labels {
    let mut view = Labels::new();
    if let (Some(ns), Some(labels)) = (&set.namespace, namespace_labels) {
        for (k, v) in labels {
            view.insert(format!("pcns.{k}"), v.clone());
        }
        view.insert(NAMESPACE_LABEL.into(), ns.clone());
    }
    view.extend(set.labels.iter().map(|(k, v)| (k.clone(), v.clone())));
    view
}

/// Sorted pod addresses, to find the pods in a network without walking every pod.
struct Addresses(Vec<(IpFamily, u128, u32)>);

impl Addresses {
    fn new(cluster: &Cluster) -> Addresses {
        let mut out = Vec::new();
        for (i, pod) in cluster.pods.iter().enumerate() {
            for ip in &pod.ips {
                let v = match ip {
                    IpAddr::V4(a) => u32::from(*a) as u128,
                    IpAddr::V6(a) => u128::from(*a),
                };
                out.push((IpFamily::of(ip), v, i as u32));
            }
        }
        out.sort_unstable();
        Addresses(out)
    }

    /// Pods (by any address; hostNetwork pods by their node's) and external ranges in `block`.
    fn members(&self, block: &IpBlock, externals: &[ExternalRange], pod_count: usize) -> Vec<u32> {
        let ranges = block.to_ranges();
        let mut out = Vec::new();
        for &(lo, hi) in ranges.intervals() {
            let start = self.0.partition_point(|&(f, v, _)| (f, v) < (ranges.family, lo));
            for &(f, v, pod) in &self.0[start..] {
                if f != ranges.family || v > hi {
                    break;
                }
                out.push(pod);
            }
        }
        for (j, ext) in externals.iter().enumerate() {
            // Atoms are cut along every network's edges: one address decides for the whole atom.
            if ext.ranges.family == ranges.family && ranges_contains(&ranges, ext.ranges.intervals()[0].0) {
                out.push((pod_count + j) as u32);
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }
}

struct Selecting<'c> {
    groups: Groups<'c>,
    addresses: Addresses,
    /// Per distinct selector: the groups it matches (over endpoint views).
    endpoint_memo: HashMap<&'c Selector, FixedBitSet>,
    /// Per set of label keys some selector reads: the groups split by their values of those keys.
    projections: HashMap<Vec<&'c str>, Projection>,
    /// Per namespace: its groups.
    namespace_groups: Vec<Vec<usize>>,
    /// Per distinct selector: the namespaces it matches.
    namespace_memo: HashMap<&'c Selector, FixedBitSet>,
    /// Per distinct selector: the service accounts it matches.
    account_memo: HashMap<&'c Selector, FixedBitSet>,
    entity_memo: HashMap<(&'c EntityRule, Option<usize>), SetId>,
    /// Per network set: the pods and external atoms in its nets, sorted.
    set_members: Vec<Vec<u32>>,
    externals: &'c [ExternalRange],
    pod_count: usize,
}

/// Groups split by their values of some label keys, with each part's labels restricted to them:
/// a selector reading only those keys is evaluated once per part, not once per group.
struct Projection {
    views: Vec<Labels>,
    members: Vec<Vec<u32>>,
}

impl Projection {
    fn new(groups: &Groups, keys: &[&str]) -> Projection {
        let mut index: HashMap<Vec<Option<&str>>, usize> = HashMap::default();
        let mut out = Projection { views: Vec::new(), members: Vec::new() };
        for (g, view) in groups.views.iter().enumerate() {
            let values: Vec<Option<&str>> = keys.iter().map(|&k| view.get(k).map(String::as_str)).collect();
            let part = *index.entry(values).or_insert_with_key(|values| {
                let labels = keys.iter().zip(values).filter_map(|(k, v)| Some((k.to_string(), (*v)?.to_string())));
                out.views.push(labels.collect());
                out.members.push(Vec::new());
                out.views.len() - 1
            });
            out.members[part].push(g as u32);
        }
        out
    }
}

impl<'c> Selecting<'c> {
    fn endpoints(&mut self, s: &'c Selector) -> &FixedBitSet {
        let (g, projections) = (&self.groups, &mut self.projections);
        self.endpoint_memo.entry(s).or_insert_with(|| {
            let keys = s.keys();
            let fresh;
            let projection = match projections.get(&keys) {
                Some(p) => p,
                None => {
                    fresh = Projection::new(g, &keys);
                    // Kept for the next selector over the same keys only when it saves work, so
                    // that many distinct key sets cannot hold a copy of every group each.
                    if fresh.views.len() <= g.len() / 4 {
                        projections.entry(keys).or_insert(fresh)
                    } else {
                        &fresh
                    }
                }
            };
            let mut bits = FixedBitSet::with_capacity(g.len());
            for (view, members) in projection.views.iter().zip(&projection.members) {
                if s.matches(view) {
                    members.iter().for_each(|&m| bits.insert(m as usize));
                }
            }
            bits
        })
    }

    /// The namespaces the selector matches.
    fn namespaces(&mut self, s: &'c Selector) -> &FixedBitSet {
        let g = &self.groups;
        self.namespace_memo.entry(s).or_insert_with(|| {
            let mut bits = FixedBitSet::with_capacity(g.namespaces.len());
            (0..g.namespaces.len()).filter(|&i| s.matches(&g.namespaces[i].1)).for_each(|i| bits.insert(i));
            bits
        })
    }

    /// Groups whose namespace the selector matches.
    fn in_namespaces(&mut self, s: &'c Selector) -> FixedBitSet {
        let namespaces = self.namespaces(s).clone();
        let mut bits = FixedBitSet::with_capacity(self.groups.len());
        namespaces.ones().flat_map(|ns| &self.namespace_groups[ns]).for_each(|&i| bits.insert(i));
        bits
    }

    /// Groups whose ServiceAccount matches (`names` and `selector` ANDed).
    fn with_accounts(&mut self, m: &'c ServiceAccountMatch) -> FixedBitSet {
        let g = &self.groups;
        let by_selector = m.selector.as_ref().map(|s| {
            self.account_memo
                .entry(s)
                .or_insert_with(|| {
                    let mut bits = FixedBitSet::with_capacity(g.accounts.len());
                    (0..g.accounts.len()).filter(|&i| s.matches(&g.accounts[i].1)).for_each(|i| bits.insert(i));
                    bits
                })
                .clone()
        });
        let mut bits = FixedBitSet::with_capacity(g.len());
        for i in 0..g.len() {
            let sa = g.account[i];
            let named = m.names.is_empty() || m.names.iter().any(|n| n == g.accounts[sa].0);
            if named && by_selector.as_ref().is_none_or(|b| b.contains(sa)) {
                bits.insert(i);
            }
        }
        bits
    }

    fn in_namespace(&self, ns: usize) -> FixedBitSet {
        let mut bits = FixedBitSet::with_capacity(self.groups.len());
        self.namespace_groups.get(ns).into_iter().flatten().for_each(|&i| bits.insert(i));
        bits
    }

    fn pods_of(&self, groups: &FixedBitSet) -> Vec<u32> {
        let mut out: Vec<u32> = groups.ones().flat_map(|g| self.groups.members[g].iter().copied()).collect();
        out.sort_unstable();
        out
    }

    /// The endpoints an entity rule matches, for a policy of namespace `own` (None: global).
    fn entity(&mut self, table: &mut SetTable, e: &'c EntityRule, own: Option<usize>, namespaced: bool) -> SetId {
        // A namespaceSelector replaces the policy's namespace, so such entities are shared by
        // every namespaced policy that repeats them.
        let own = if e.namespace_selector.is_some() { None } else { own };
        if let Some(&id) = self.entity_memo.get(&(e, own)) {
            return id;
        }
        let everything = (self.pod_count + self.externals.len()) as u32;
        let mut members: Vec<u32> = if e.names_pods(namespaced) {
            let mut groups = FixedBitSet::with_capacity(self.groups.len());
            groups.insert_range(..);
            match (&e.namespace_selector, own) {
                (Some(s), _) => groups.intersect_with(&self.in_namespaces(s)),
                (None, Some(ns)) => groups.intersect_with(&self.in_namespace(ns)),
                (None, None) => {}
            }
            if let Some(s) = &e.selector {
                groups.intersect_with(self.endpoints(s));
            }
            if let Some(m) = &e.service_accounts {
                groups.intersect_with(&self.with_accounts(m));
            }
            let mut members = self.pods_of(&groups);
            if e.service_accounts.is_none() {
                for set in self.sets_matching(e.selector.as_ref(), e.namespace_selector.as_ref(), own) {
                    members.extend_from_slice(&self.set_members[set]);
                }
                members.sort_unstable();
                members.dedup();
            }
            members
        } else {
            (0..everything).collect()
        };
        let as_bits = |list: &mut dyn Iterator<Item = u32>| {
            let mut bits = FixedBitSet::with_capacity(everything as usize);
            list.for_each(|m| bits.insert(m as usize));
            bits
        };
        if !e.nets.is_empty() {
            let within =
                as_bits(&mut e.nets.iter().flat_map(|b| self.addresses.members(b, self.externals, self.pod_count)));
            members.retain(|&m| within.contains(m as usize));
        }
        if !e.not_nets.is_empty() {
            let outside =
                as_bits(&mut e.not_nets.iter().flat_map(|b| self.addresses.members(b, self.externals, self.pod_count)));
            members.retain(|&m| !outside.contains(m as usize));
        }
        if let Some(s) = &e.not_selector {
            let matched = self.endpoints(s).clone();
            let sets = self.sets_matching(Some(s), None, None);
            let pods = matched.ones().flat_map(|g| self.groups.members[g].iter().copied());
            let excluded = as_bits(&mut pods.chain(sets.iter().flat_map(|&set| self.set_members[set].iter().copied())));
            members.retain(|&m| !excluded.contains(m as usize));
        }
        let id = table.intern(members);
        self.entity_memo.insert((e, own), id);
        id
    }

    /// The network sets a rule's `selector` and `namespaceSelector` match, for a policy of
    /// namespace `own` (None: global): by the same scoping as pods.
    fn sets_matching(
        &mut self,
        selector: Option<&'c Selector>,
        namespaces: Option<&'c Selector>,
        own: Option<usize>,
    ) -> Vec<usize> {
        let selected_namespaces = namespaces.map(|s| self.namespaces(s).clone());
        let no_labels = Labels::new();
        (0..self.groups.sets.len())
            .filter(|&i| {
                let (view, ns) = &self.groups.sets[i];
                let in_scope = match (namespaces, own, ns) {
                    (Some(_), _, Some(ns)) => selected_namespaces.as_ref().is_some_and(|b| b.contains(*ns)),
                    (Some(s), _, None) => s.matches_endpoint(&no_labels, true),
                    (None, Some(own), ns) => *ns == Some(own),
                    (None, None, _) => true,
                };
                in_scope && selector.is_none_or(|s| s.matches_endpoint(view, ns.is_none()))
            })
            .collect()
    }

    fn subject(&mut self, table: &mut SetTable, p: &'c CalicoPolicy, own: Option<usize>) -> SetId {
        let mut groups = self.endpoints(&p.selector).clone();
        match (own, &p.namespace_selector) {
            (Some(ns), _) => groups.intersect_with(&self.in_namespace(ns)),
            (None, Some(s)) => groups.intersect_with(&self.in_namespaces(s)),
            (None, None) => {}
        }
        if let Some(s) = &p.service_account_selector {
            let m = self.account_memo.entry(s).or_insert_with(|| {
                let g = &self.groups;
                let mut bits = FixedBitSet::with_capacity(g.accounts.len());
                (0..g.accounts.len()).filter(|&i| s.matches(&g.accounts[i].1)).for_each(|i| bits.insert(i));
                bits
            });
            let m = m.clone();
            let keep: Vec<usize> = groups.ones().filter(|&g| !m.contains(self.groups.account[g])).collect();
            keep.into_iter().for_each(|g| groups.set(g, false));
        }
        let pods = self.pods_of(&groups);
        table.intern(pods)
    }
}

/// Resolves every Calico subject and rule entity into interned endpoint sets.
pub fn select(cluster: &Cluster, externals: &[ExternalRange], table: &mut SetTable) -> CalicoSelections {
    let mut out = CalicoSelections::default();
    if cluster.calico.policies.is_empty() {
        return out;
    }
    let groups = Groups::new(cluster);
    let addresses = Addresses::new(cluster);
    let set_members = cluster
        .calico
        .network_sets
        .iter()
        .map(|set| {
            let mut m: Vec<u32> =
                set.nets.iter().flat_map(|b| addresses.members(b, externals, cluster.pods.len())).collect();
            m.sort_unstable();
            m.dedup();
            m
        })
        .collect();
    let mut namespace_groups = vec![Vec::new(); groups.namespaces.len()];
    groups.namespace.iter().enumerate().for_each(|(g, &ns)| namespace_groups[ns].push(g));
    let mut s = Selecting {
        namespace_groups,
        projections: HashMap::default(),
        groups,
        addresses,
        set_members,
        endpoint_memo: HashMap::default(),
        namespace_memo: HashMap::default(),
        account_memo: HashMap::default(),
        entity_memo: HashMap::default(),
        externals,
        pod_count: cluster.pods.len(),
    };
    for policy in &cluster.calico.policies {
        let namespaced = policy.kind == CalicoKind::NetworkPolicy;
        let own = match &policy.namespace {
            Some(ns) => Some(s.groups.namespace_of(ns).unwrap_or(usize::MAX)),
            None => None,
        };
        out.subjects.push(s.subject(table, policy, own));
        let mut per_direction: [Vec<RuleSets>; 2] = [Vec::new(), Vec::new()];
        for (d, direction) in [Direction::Ingress, Direction::Egress].into_iter().enumerate() {
            for rule in policy.rules(direction) {
                let source = s.entity(table, &rule.source, own, namespaced);
                let destination = s.entity(table, &rule.destination, own, namespaced);
                per_direction[d].push(match direction {
                    Direction::Ingress => RuleSets { local: destination, peer: source },
                    Direction::Egress => RuleSets { local: source, peer: destination },
                });
            }
        }
        out.rules.push(per_direction);
    }
    out
}

/// The named-port keys Calico rules use: a name resolves under each protocol the rule matches.
pub fn named_port_keys(cluster: &Cluster) -> impl Iterator<Item = NamedPortKey> + '_ {
    cluster.calico.policies.iter().flat_map(|p| p.ingress.iter().chain(&p.egress)).flat_map(|r| {
        r.destination
            .ports
            .iter()
            .chain(&r.destination.not_ports)
            .filter_map(|port| match port {
                super::CalicoPort::Named(n) => Some(n),
                super::CalicoPort::Range(..) => None,
            })
            .flat_map(|n| r.protocols.iter().map(move |&p| (n.clone(), p)))
    })
}
