//! Why a connection is allowed or denied, as a reviewer would reconstruct it by hand: per
//! direction, the isolating policies, the rules that allowed it, or the closest misses; and the
//! `can` query, which asks that of every pair between two endpoint sets, once per pair of
//! equivalence classes. Answers are values: `render::can` words them.

use crate::analysis::Analysis;
use netreach_model::{
    CiliumRuleRef, Decider, Direction, Endpoint, GrantOrigin, PortSet, Protocol, RuleEvaluation, RuleRef, TierMatch,
};
use std::collections::BTreeMap;

/// One rule (peer, port entry) that admits the connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleMatch {
    pub rule: RuleRef,
    /// The ports this rule admits between the two endpoints.
    pub ports: PortSet,
}

/// A Cilium rule that covers the connection: an allow, or (in a deny section) a deny that beats
/// every allow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CiliumMatch {
    pub rule: CiliumRuleRef,
    /// The ports this rule allows (or denies) between the two endpoints.
    pub ports: PortSet,
}

/// A rule of an isolating policy that does not admit the connection, or a policy with no rule
/// at all in that direction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Miss {
    Rule {
        /// Index into `Cluster::policies`.
        policy: u32,
        rule: u32,
        /// Whether some peer of the rule matches the other end (any port when asked for none).
        peer_matches: bool,
        /// Whether some port entry admits the port asked about.
        port_matches: bool,
        /// Named ports of the rule that the destination pod does not declare: they never match.
        unresolved_ports: Vec<(String, Protocol)>,
    },
    /// An isolating policy without rules in this direction: it allows nothing.
    NoRules { policy: u32 },
}

/// A cluster-scoped tier rule that matched, and whether it decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TierDecision {
    pub matched: TierMatch,
    /// False for a Baseline rule on an endpoint that a NetworkPolicy isolates.
    pub decides: bool,
}

/// One direction of the verdict: the source's egress or the destination's ingress.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SideVerdict {
    pub direction: Direction,
    /// Policies (`namespace/name`) that isolate the endpoint in this direction; empty when it
    /// is not isolated (everything is allowed in this direction).
    pub isolated_by: Vec<String>,
    pub allowed_by: Vec<RuleMatch>,
    /// Cilium rules that allow (allow sections) or deny (deny sections) the connection.
    pub cilium: Vec<CiliumMatch>,
    /// When nothing allowed it: the rules that came closest, most promising first.
    pub closest_misses: Vec<Miss>,
    /// Cluster-scoped tier rules that matched (asked about one port only): Admin, then Baseline.
    pub tiers: Vec<TierDecision>,
    /// Under the Calico profile (asked about one port only): the walk through Calico's tiers,
    /// which decides this direction.
    pub calico: Option<netreach_model::calico::tiers::CalicoTrace>,
    /// The verdict of this direction, all tiers included.
    pub allows: bool,
}

impl SideVerdict {
    pub fn allows(&self) -> bool {
        self.allows
    }
}

/// A special case of a pair, said plainly in the answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Note {
    /// The source (or destination) is a hostNetwork pod: no selector selects it.
    HostNetwork { endpoint: usize, is_source: bool },
    /// A pod's traffic to itself, always allowed.
    SelfTraffic,
    /// Cluster-scoped policies exist, but only a query on one port shows which tier decides.
    TiersNeedAPort,
    /// Both directions allow some ports, none in common.
    NoCommonPort,
    /// An end of the pair holds an infrastructure destination's addresses (`kubelet`, …).
    Infrastructure(netreach_model::Destination),
    /// Cilium's allow-localhost lets the source, the destination's local host, in.
    CiliumLocalhost,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PairVerdict {
    pub src: usize,
    pub dst: usize,
    /// The (protocol, port) asked about; `None` asks for every port.
    pub query: Option<(Protocol, u16)>,
    /// Everything policy allows between the two, whatever the query.
    pub allowed_ports: PortSet,
    pub allowed: bool,
    pub egress: SideVerdict,
    pub ingress: SideVerdict,
    /// Special cases: self-traffic, hostNetwork endpoints, tiers that need a port.
    pub notes: Vec<Note>,
}

impl PairVerdict {
    /// The endpoint at the far end of a side: the destination of the egress side, the source
    /// of the ingress side.
    pub fn other_end(&self, side: &SideVerdict) -> usize {
        match side.direction {
            Direction::Egress => self.dst,
            Direction::Ingress => self.src,
        }
    }
}

fn miss(analysis: &Analysis, eval: &RuleEvaluation, dst: Endpoint) -> Miss {
    let rule = &analysis.cluster.policies[eval.policy as usize].rules(eval.direction)[eval.rule as usize];
    let mut unresolved_ports = Vec::new();
    if let Endpoint::Pod(d) = dst {
        let pod = &analysis.cluster.pods[d as usize];
        for entry in &rule.ports {
            if let Some(netreach_model::PortSpec::Name(name)) = &entry.port {
                if pod.resolve_named_port(name, entry.protocol).next().is_none() {
                    unresolved_ports.push((name.clone(), entry.protocol));
                }
            }
        }
    }
    Miss::Rule {
        policy: eval.policy,
        rule: eval.rule,
        peer_matches: eval.peer_matches(),
        port_matches: eval.port_matches(),
        unresolved_ports,
    }
}

/// The infrastructure destinations with an address in an external range (none for a pod).
pub fn infrastructure_in(
    analysis: &Analysis,
    endpoint: usize,
) -> impl Iterator<Item = netreach_model::Destination> + '_ {
    let range = match analysis.reach.endpoint(endpoint) {
        Endpoint::External(i) => Some(&analysis.reach.externals()[i as usize].ranges),
        Endpoint::Pod(_) => None,
    };
    analysis
        .cluster
        .infrastructure
        .iter()
        .filter(move |d| {
            range.is_some_and(|r| {
                d.addresses
                    .iter()
                    .map(netreach_model::IpRanges::from_net)
                    .any(|b| r.family == b.family && r.difference(&b) != *r)
            })
        })
        .map(|d| d.destination)
}

/// Explains the verdict between two endpoints, for one port or for every port.
pub fn explain_pair(analysis: &Analysis, src: usize, dst: usize, query: Option<(Protocol, u16)>) -> PairVerdict {
    let reach = &analysis.reach;
    let (s, d) = (reach.endpoint(src), reach.endpoint(dst));
    let self_traffic = src == dst && matches!(s, Endpoint::Pod(_));
    // A pod's traffic to itself is allowed on every port, whatever the policies say.
    let allowed_ports = if self_traffic { PortSet::all() } else { reach.allowed(s, d) };
    let mut notes = Vec::new();
    for (endpoint, is_source) in [(src, true), (dst, false)] {
        notes.extend(infrastructure_in(analysis, endpoint).map(Note::Infrastructure));
        if analysis.pod(endpoint).is_some_and(|p| p.host_network) {
            notes.push(Note::HostNetwork { endpoint, is_source });
        }
    }
    if self_traffic {
        notes.push(Note::SelfTraffic);
    }
    let notes_of_sides = std::cell::RefCell::new(Vec::new());
    let evaluations = query.map(|(proto, port)| reach.evaluate_rules(&analysis.cluster, s, d, proto, port));
    let side = |direction: Direction| {
        let subject = if direction == Direction::Egress { s } else { d };
        let isolating = reach.isolating_policies(subject, direction);
        let mut isolated_by: Vec<String> =
            isolating.iter().map(|&p| analysis.cluster.policies[p as usize].id()).collect();
        isolated_by.extend(
            reach
                .cilium_isolating(subject, direction)
                .iter()
                .map(|&p| analysis.cluster.cilium_policies[p as usize].id()),
        );
        let mut allowed_by = Vec::new();
        let mut cilium = Vec::new();
        let mut localhost = false;
        let covering = reach.grants_between(s, d, direction).into_iter().chain(reach.denies_between(s, d, direction));
        for (origin, ports) in covering {
            if query.is_some_and(|(proto, port)| !ports.contains(proto, port)) {
                continue;
            }
            match origin {
                GrantOrigin::Rule(rule) => allowed_by.push(RuleMatch { rule, ports: ports.clone() }),
                GrantOrigin::Cilium(rule) => cilium.push(CiliumMatch { rule, ports: ports.clone() }),
                GrantOrigin::CiliumLocalhost => localhost = true,
                GrantOrigin::NotIsolated => {}
            }
        }
        if localhost && !isolated_by.is_empty() {
            notes_of_sides.borrow_mut().push(Note::CiliumLocalhost);
        }
        let cilium_allows = cilium.iter().any(|m| !m.rule.section.is_deny());
        let cilium_denies = cilium.iter().any(|m| m.rule.section.is_deny());
        let mut closest_misses = Vec::new();
        if !isolating.is_empty() && allowed_by.is_empty() && !cilium_allows && !localhost {
            let evals: Vec<RuleEvaluation> = match &evaluations {
                Some(e) => e.clone(),
                // Without a port, peers decide; use any port to learn which peers match.
                None => reach.evaluate_rules(&analysis.cluster, s, d, Protocol::Tcp, 1),
            };
            let mut mine: Vec<&RuleEvaluation> = evals.iter().filter(|e| e.direction == direction).collect();
            // Rules where one of peer/port matched are the closest; then the rest.
            mine.sort_by_key(
                |e| if query.is_some() { !(e.peer_matches() ^ e.port_matches()) } else { !e.peer_matches() },
            );
            closest_misses = mine.iter().take(5).map(|e| miss(analysis, e, d)).collect();
            for &policy in &isolating {
                if analysis.cluster.policies[policy as usize].rules(direction).is_empty() {
                    closest_misses.push(Miss::NoRules { policy });
                }
            }
        }
        let mut tiers = Vec::new();
        let mut calico = None;
        let mut allows =
            !cilium_denies && (isolated_by.is_empty() || !allowed_by.is_empty() || cilium_allows || localhost);
        if let Some((proto, port)) = query {
            let verdict = reach.explain(s, d, proto, port);
            let v = if direction == Direction::Egress { &verdict.egress } else { &verdict.ingress };
            calico.clone_from(&v.calico);
            if let Some(matched) = v.admin.filter(|_| calico.is_none()) {
                tiers.push(TierDecision { matched, decides: true });
            }
            if let Some(matched) = v.baseline.filter(|_| calico.is_none()) {
                tiers.push(TierDecision { matched, decides: v.decider() == Decider::Baseline });
            }
            allows = v.allows();
        }
        SideVerdict { direction, isolated_by, allowed_by, cilium, closest_misses, tiers, calico, allows }
    };
    let (egress, ingress) = (side(Direction::Egress), side(Direction::Ingress));
    notes.extend(notes_of_sides.into_inner());
    let allowed = self_traffic
        || match query {
            Some((proto, port)) => allowed_ports.contains(proto, port),
            None => !allowed_ports.is_empty(),
        };
    let no_tiers =
        analysis.cluster.cluster_policies.is_empty() && reach.profile() != netreach_model::CniProfile::Calico;
    if query.is_none() && !no_tiers {
        notes.push(Note::TiersNeedAPort);
    }
    if query.is_none() && !allowed && egress.allows() && ingress.allows() && no_tiers {
        notes.push(Note::NoCommonPort);
    }
    PairVerdict { src, dst, query, allowed_ports, allowed, egress, ingress, notes }
}

/// The pairs one explanation answers for: pairs of two equivalence classes, or a pod's traffic
/// to itself (its own case, whatever its class). The order is the order of the answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum PairGroup {
    Classes(usize, usize),
    SelfTraffic(usize),
}

/// One explanation and every (source, destination) pair it answers for; the verdict is
/// computed on the first pair.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerdictGroup {
    pub verdict: PairVerdict,
    pub pairs: Vec<(usize, usize)>,
}

/// The answer of `can FROM TO`: one verdict per group of pairs treated alike.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CanAnswer {
    /// The (protocol, port) asked about; `None` asks for every port.
    pub query: Option<(Protocol, u16)>,
    pub groups: Vec<VerdictGroup>,
}

impl CanAnswer {
    /// How many pairs are allowed.
    pub fn allowed_pairs(&self) -> usize {
        self.groups.iter().filter(|g| g.verdict.allowed).map(|g| g.pairs.len()).sum()
    }

    /// How many pairs were asked about.
    pub fn pair_count(&self) -> usize {
        self.groups.iter().map(|g| g.pairs.len()).sum()
    }

    /// Whether some pair is allowed.
    pub fn allowed(&self) -> bool {
        self.allowed_pairs() > 0
    }
}

/// Whether each source of `from` reaches each destination of `to` (endpoint indices), on one
/// port or on any. One explanation per pair of equivalence classes: their members are treated
/// alike. A pod's traffic to itself is always allowed and left out, unless it is all that is
/// asked (`can ns/pod ns/pod`): `can ns/Deployment/x ns/Deployment/x` asks about two different
/// replicas.
pub fn can(analysis: &Analysis, from: &[usize], to: &[usize], query: Option<(Protocol, u16)>) -> CanAnswer {
    let reach = &analysis.reach;
    let only_self = from.iter().all(|s| to.iter().all(|d| s == d));
    let mut groups: BTreeMap<PairGroup, Vec<(usize, usize)>> = BTreeMap::new();
    for &s in from {
        for &d in to {
            if s == d && !only_self {
                continue;
            }
            let group = if s == d {
                PairGroup::SelfTraffic(s)
            } else {
                PairGroup::Classes(reach.class_of(reach.endpoint(s)), reach.class_of(reach.endpoint(d)))
            };
            groups.entry(group).or_default().push((s, d));
        }
    }
    let groups = groups
        .into_values()
        .map(|pairs| VerdictGroup { verdict: explain_pair(analysis, pairs[0].0, pairs[0].1, query), pairs })
        .collect();
    CanAnswer { query, groups }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shop() -> Analysis {
        crate::lateral::tests::fixture("shop")
    }

    #[test]
    fn can_groups_pairs_by_class_and_leaves_self_traffic_out_unless_asked_alone() {
        let analysis = shop();
        let reach = &analysis.reach;
        let pods: Vec<usize> = (0..reach.pod_count()).collect();
        let answer = can(&analysis, &pods, &pods, None);
        assert_eq!(answer.pair_count(), pods.len() * (pods.len() - 1));
        for group in &answer.groups {
            let class = |e: usize| reach.class_of(reach.endpoint(e));
            let (s, d) = group.pairs[0];
            assert!(group.pairs.iter().all(|&(a, b)| a != b && class(a) == class(s) && class(b) == class(d)));
            assert_eq!(group.verdict.allowed, !reach.allowed(reach.endpoint(s), reach.endpoint(d)).is_empty());
        }
        let alone = can(&analysis, &[0], &[0], None);
        assert_eq!(alone.groups.len(), 1);
        assert!(alone.allowed() && alone.groups[0].verdict.notes.contains(&Note::SelfTraffic));
    }
}
