//! Why a connection is allowed or denied, as a reviewer would reconstruct it by hand: per
//! direction, the isolating policies, the rules that allowed it, or the closest misses.

use crate::analysis::Analysis;
use netreach_model::{Direction, Endpoint, GrantOrigin, PortSet, Protocol, RuleEvaluation};

/// One rule (peer, port entry) that admits the connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleMatch {
    /// `namespace/name` of the policy.
    pub policy: String,
    pub rule: u32,
    pub peer: Option<u32>,
    pub port: Option<u32>,
    /// The ports this rule admits between the two endpoints.
    pub ports: PortSet,
    /// `shop/allow-web ingress[0]: from[1] podSelector app=web; ports[0] TCP 8080`
    pub text: String,
}

/// One direction of the verdict: the source's egress or the destination's ingress.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SideVerdict {
    pub direction: Direction,
    /// Policies (`namespace/name`) that isolate the endpoint in this direction; empty when it
    /// is not isolated (everything is allowed in this direction).
    pub isolated_by: Vec<String>,
    pub allowed_by: Vec<RuleMatch>,
    /// When nothing allowed it: the rules that came closest, most promising first.
    pub closest_misses: Vec<String>,
    /// Cluster-scoped tier rules that matched (asked about one port only), e.g.
    /// `Admin tier: AdminNetworkPolicy/protect-sensitive ingress[0] "deny-all": Deny (decides)`.
    pub tiers: Vec<String>,
    /// The verdict of this direction, all tiers included.
    pub allows: bool,
}

impl SideVerdict {
    pub fn allows(&self) -> bool {
        self.allows
    }
}

fn tier_text(analysis: &Analysis, m: &netreach_model::TierMatch, direction: Direction, decides: bool) -> String {
    let policy = &analysis.cluster.cluster_policies[m.policy as usize];
    let rule = &policy.rules(direction)[m.rule as usize];
    let dir = if direction == Direction::Ingress { "ingress" } else { "egress" };
    let name = rule.name.as_deref().map(|n| format!(" {n:?}")).unwrap_or_default();
    let effect = match (m.action, decides) {
        (netreach_model::Action::Pass, _) => "Pass (the next tier decides)",
        (netreach_model::Action::Allow, true) => "Allow (decides)",
        (netreach_model::Action::Deny, true) => "Deny (decides)",
        (_, false) => "applies only to pods no NetworkPolicy isolates",
    };
    format!("{:?} tier: {} {dir}[{}]{name}: {effect}", m.tier, policy.id(), m.rule)
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
    /// Special cases said plainly: self-traffic, hostNetwork endpoints, unresolved named ports.
    pub notes: Vec<String>,
}

fn rule_text(
    analysis: &Analysis,
    policy: u32,
    direction: Direction,
    rule: u32,
    peer: Option<u32>,
    port: Option<u32>,
) -> String {
    let p = &analysis.cluster.policies[policy as usize];
    let r = &p.rules(direction)[rule as usize];
    let (dir, peers) = match direction {
        Direction::Ingress => ("ingress", "from"),
        Direction::Egress => ("egress", "to"),
    };
    let peer_text = match peer {
        Some(i) => format!("{peers}[{i}] {}", r.peers[i as usize]),
        None => format!("any peer (no {peers})"),
    };
    let port_text = match port {
        Some(i) => format!("ports[{i}] {}", r.ports[i as usize]),
        None => "any port (no ports)".to_string(),
    };
    format!("{} {dir}[{rule}]: {peer_text}; {port_text}", p.id())
}

fn miss_text(
    analysis: &Analysis,
    eval: &RuleEvaluation,
    query: Option<(Protocol, u16)>,
    other: &str,
    dst: Endpoint,
) -> String {
    let policy = &analysis.cluster.policies[eval.policy as usize];
    let rule = &policy.rules(eval.direction)[eval.rule as usize];
    let dir = if eval.direction == Direction::Ingress { "ingress" } else { "egress" };
    let head = format!("{} {dir}[{}]", policy.id(), eval.rule);
    let ports: Vec<String> = rule.ports.iter().map(|p| p.to_string()).collect();
    let peers: Vec<String> = rule.peers.iter().map(|p| p.to_string()).collect();
    let mut text = match (query, eval.peer_matches(), eval.port_matches()) {
        // Without a port only the peers can miss (or named ports that resolve to nothing).
        (None, true, _) => {
            format!("{head}: the peer matches {other}, but its ports [{}] admit nothing there", ports.join(", "))
        }
        (None, false, _) => format!("{head}: no peer matches {other} ([{}])", peers.join("; ")),
        (Some((proto, port)), true, false) => {
            format!("{head}: the peer matches {other}, but {proto}/{port} is not in [{}]", ports.join(", "))
        }
        (Some((proto, port)), false, true) => {
            format!("{head}: the ports admit {proto}/{port}, but no peer matches {other} ([{}])", peers.join("; "))
        }
        _ => format!("{head}: neither a peer ([{}]) nor a port ([{}]) matches", peers.join("; "), ports.join(", ")),
    };
    // A named port that the destination does not declare can never match: say so.
    if let Endpoint::Pod(d) = dst {
        let pod = &analysis.cluster.pods[d as usize];
        for entry in &rule.ports {
            if let Some(netreach_model::PortSpec::Name(name)) = &entry.port {
                if pod.resolve_named_port(name, entry.protocol).next().is_none() {
                    text.push_str(&format!(
                        " (the named port {name}/{} does not resolve on {}: no container port of that name)",
                        entry.protocol,
                        pod.id()
                    ));
                }
            }
        }
    }
    text
}

/// Explains the verdict between two endpoints, for one port or for every port.
pub fn explain_pair(analysis: &Analysis, src: usize, dst: usize, query: Option<(Protocol, u16)>) -> PairVerdict {
    let reach = &analysis.reach;
    let (s, d) = (reach.endpoint(src), reach.endpoint(dst));
    let self_traffic = src == dst && matches!(s, Endpoint::Pod(_));
    // A pod's traffic to itself is allowed on every port, whatever the policies say.
    let allowed_ports = if self_traffic { PortSet::all() } else { reach.allowed(s, d) };
    let mut notes = Vec::new();
    for (e, who) in [(src, "source"), (dst, "destination")] {
        if let Some(pod) = analysis.pod(e).filter(|p| p.host_network) {
            let ips: Vec<String> = pod.ips.iter().map(|ip| ip.to_string()).collect();
            notes.push(format!(
                "the {who} {} is a hostNetwork pod: no pod or namespace selector selects it, so no policy isolates it; \
                 its traffic carries its node's address ({}), which ipBlocks can match",
                pod.id(),
                if ips.is_empty() { "unknown".to_string() } else { ips.join(", ") }
            ));
        }
    }
    if self_traffic {
        notes.push("a pod can always reach itself: NetworkPolicy never blocks a pod's traffic to itself".to_string());
    }
    let evaluations = query.map(|(proto, port)| reach.evaluate_rules(&analysis.cluster, s, d, proto, port));
    let side = |direction: Direction| {
        let (subject, other) = if direction == Direction::Egress { (s, dst) } else { (d, src) };
        let isolated_by: Vec<String> = reach
            .isolating_policies(subject, direction)
            .iter()
            .map(|&p| analysis.cluster.policies[p as usize].id())
            .collect();
        let mut allowed_by = Vec::new();
        for (origin, ports) in reach.grants_between(s, d, direction) {
            let GrantOrigin::Rule(r) = origin else { continue };
            if query.is_some_and(|(proto, port)| !ports.contains(proto, port)) {
                continue;
            }
            allowed_by.push(RuleMatch {
                policy: analysis.cluster.policies[r.policy as usize].id(),
                rule: r.rule,
                peer: r.peer,
                port: r.port,
                ports: ports.clone(),
                text: rule_text(analysis, r.policy, direction, r.rule, r.peer, r.port),
            });
        }
        let mut closest_misses = Vec::new();
        if !isolated_by.is_empty() && allowed_by.is_empty() {
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
            let other_id = analysis.id(other);
            closest_misses = mine.iter().take(5).map(|e| miss_text(analysis, e, query, &other_id, d)).collect();
            for p in reach.isolating_policies(subject, direction) {
                let policy = &analysis.cluster.policies[p as usize];
                if policy.rules(direction).is_empty() {
                    closest_misses.push(format!(
                        "{} has no {} rules: it allows nothing in that direction",
                        policy.id(),
                        direction.as_str().to_lowercase()
                    ));
                }
            }
        }
        let mut tiers = Vec::new();
        let mut allows = isolated_by.is_empty() || !allowed_by.is_empty();
        if let Some((proto, port)) = query {
            let verdict = reach.explain(s, d, proto, port);
            let v = if direction == Direction::Egress { &verdict.egress } else { &verdict.ingress };
            if let Some(m) = &v.admin {
                tiers.push(tier_text(analysis, m, direction, true));
            }
            if let Some(m) = &v.baseline {
                tiers.push(tier_text(analysis, m, direction, v.deciding_tier() == "Baseline"));
            }
            allows = v.allows();
        }
        SideVerdict { direction, isolated_by, allowed_by, closest_misses, tiers, allows }
    };
    let (egress, ingress) = (side(Direction::Egress), side(Direction::Ingress));
    let allowed = self_traffic
        || match query {
            Some((proto, port)) => allowed_ports.contains(proto, port),
            None => !allowed_ports.is_empty(),
        };
    if query.is_none() && !analysis.cluster.cluster_policies.is_empty() {
        notes.push(
            "cluster-scoped policies (admin/baseline tiers) exist: ask with --port to see which tier decides"
                .to_string(),
        );
    }
    if query.is_none()
        && !allowed
        && egress.allows()
        && ingress.allows()
        && analysis.cluster.cluster_policies.is_empty()
    {
        notes.push("egress and ingress each allow some ports, but none in common".to_string());
    }
    PairVerdict { src, dst, query, allowed_ports, allowed, egress, ingress, notes }
}
