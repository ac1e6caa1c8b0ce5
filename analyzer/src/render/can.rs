//! The words of an explanation ([`crate::explain`]): rules, closest misses, tier decisions and
//! notes, and the `can` answer in text, Markdown and JSON (schemaVersion 1; its strings are the
//! contract). `invariants` borrows the same words for its violations.

use crate::analysis::Analysis;
use crate::explain::{CanAnswer, CiliumMatch, Miss, Note, PairVerdict, RuleMatch, SideVerdict, TierDecision};
use crate::render::allowed_json;
use crate::render::terminal::{self, styles};
use netreach_model::calico::tiers::{CalicoTrace, TraceOutcome, TraceStep};
use netreach_model::calico::CalicoAction;
use netreach_model::{Action, CiliumRuleRef, Direction, RuleRef};
use serde_json::json;
use std::io::{self, Write};

/// `shop/allow-web ingress[0]: from[1] podSelector app=web; ports[0] TCP 8080`
pub fn rule_text(analysis: &Analysis, rule: &RuleRef) -> String {
    let policy = &analysis.cluster.policies[rule.policy as usize];
    let r = &policy.rules(rule.direction)[rule.rule as usize];
    let peers = rule.direction.peers_field();
    let peer_text = match rule.peer {
        Some(i) => format!("{peers}[{i}] {}", r.peers[i as usize]),
        None => format!("any peer (no {peers})"),
    };
    let port_text = match rule.port {
        Some(i) => format!("ports[{i}] {}", r.ports[i as usize]),
        None => "any port (no ports)".to_string(),
    };
    format!("{} {}[{}]: {peer_text}; {port_text}", policy.id(), rule.direction.field(), rule.rule)
}

/// `CiliumNetworkPolicy shop/api-in ingressDeny[0]: peer[1] endpoints app=web; TCP 80` and the
/// rule's notes (what it leaves undecided, e.g. L7 rules).
pub fn cilium_rule_text(analysis: &Analysis, rule: &CiliumRuleRef) -> String {
    let policy = &analysis.cluster.cilium_policies[rule.policy as usize];
    let r = &policy.rules(rule.section)[rule.rule as usize];
    let peer_text = match (rule.peer, &r.peers) {
        (Some(i), Some(peers)) => format!("peer[{i}] {}", peers[i as usize]),
        _ => "any peer (no L3 selector)".to_string(),
    };
    let ports = match &r.ports {
        None => "any port".to_string(),
        Some(list) => list.iter().map(|p| p.to_string()).collect::<Vec<_>>().join(", "),
    };
    let mut text = format!("{} {}[{}]: {peer_text}; {ports}", policy.id(), rule.section.field(), rule.rule);
    for note in &r.notes {
        text.push_str(&format!(" ({note})"));
    }
    text
}

fn cilium_match_json(analysis: &Analysis, m: &CiliumMatch) -> serde_json::Value {
    json!({
        "policy": analysis.cluster.cilium_policies[m.rule.policy as usize].id(),
        "section": m.rule.section.field(), "rule": m.rule.rule, "peer": m.rule.peer,
        "effect": if m.rule.section.is_deny() { "deny" } else { "allow" },
        "ports": allowed_json(&m.ports), "text": cilium_rule_text(analysis, &m.rule),
    })
}

/// Why a rule (or a policy) of one side did not admit the pair of `verdict`.
pub fn miss_text(analysis: &Analysis, verdict: &PairVerdict, side: &SideVerdict, miss: &Miss) -> String {
    let direction = side.direction;
    let (policy, rule, peer_matches, port_matches, unresolved_ports) = match miss {
        Miss::NoRules { policy } => {
            return format!(
                "{} has no {} rules: it allows nothing in that direction",
                analysis.cluster.policies[*policy as usize].id(),
                direction.field()
            )
        }
        Miss::Rule { policy, rule, peer_matches, port_matches, unresolved_ports } => {
            (*policy, *rule, *peer_matches, *port_matches, unresolved_ports)
        }
    };
    let p = &analysis.cluster.policies[policy as usize];
    let r = &p.rules(direction)[rule as usize];
    let head = format!("{} {}[{rule}]", p.id(), direction.field());
    let ports: Vec<String> = r.ports.iter().map(|p| p.to_string()).collect();
    let peers: Vec<String> = r.peers.iter().map(|p| p.to_string()).collect();
    let other = analysis.id(verdict.other_end(side));
    let mut text = match (verdict.query, peer_matches, port_matches) {
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
    for (name, protocol) in unresolved_ports {
        text.push_str(&format!(
            " (the named port {name}/{protocol} does not resolve on {}: no container port of that name)",
            analysis.id(verdict.dst)
        ));
    }
    text
}

/// `Admin tier: AdminNetworkPolicy/protect-sensitive ingress[0] "deny-all": Deny (decides)`
pub fn tier_text(analysis: &Analysis, direction: Direction, tier: &TierDecision) -> String {
    let m = &tier.matched;
    let policy = &analysis.cluster.cluster_policies[m.policy as usize];
    let rule = &policy.rules(direction)[m.rule as usize];
    let name = rule.name.as_deref().map(|n| format!(" {n:?}")).unwrap_or_default();
    let effect = match (m.action, tier.decides) {
        (Action::Pass, _) => "Pass (the next tier decides)",
        (Action::Allow, true) => "Allow (decides)",
        (Action::Deny, true) => "Deny (decides)",
        (_, false) => "applies only to pods no NetworkPolicy isolates",
    };
    format!("{:?} tier: {} {}[{}]{name}: {effect}", m.tier, policy.id(), direction.field(), m.rule)
}

/// One Calico tier's part in a verdict: `tier security: GlobalNetworkPolicy/security.db
/// ingress[1]: Pass (passed to the next tier)`, `tier default: no rule matched: end-of-tier deny`.
pub fn calico_step_text(analysis: &Analysis, direction: Direction, step: &TraceStep) -> String {
    let what = match &step.outcome {
        TraceOutcome::Rule { policy, rule, action } => {
            let policy = &analysis.cluster.calico.policies[*policy as usize];
            let effect = match action {
                CalicoAction::Allow => "Allow (decides)",
                CalicoAction::Deny => "Deny (decides)",
                CalicoAction::Pass => "Pass (passed to the next tier)",
                CalicoAction::Log => "Log (evaluation goes on)",
            };
            format!("{} {}[{rule}]: {effect}", policy.id(), direction.field())
        }
        TraceOutcome::NetworkPolicy => {
            "a Kubernetes NetworkPolicy rule allows it (order 1000 in the default tier): Allow (decides)".to_string()
        }
        TraceOutcome::Cluster(m) => {
            tier_text(analysis, direction, &TierDecision { matched: *m, decides: m.action != Action::Pass })
        }
        TraceOutcome::EndOfTier { pass: false } => "no rule decided: end-of-tier deny".to_string(),
        TraceOutcome::EndOfTier { pass: true } => "no rule decided: default action Pass (next tier)".to_string(),
    };
    format!("tier {}: {what}", step.tier)
}

/// Every step of a Calico walk, then what the profile did when every tier passed.
fn calico_texts(analysis: &Analysis, direction: Direction, trace: &CalicoTrace) -> Vec<String> {
    let mut out: Vec<String> = trace.steps.iter().map(|s| calico_step_text(analysis, direction, s)).collect();
    let decided = trace.steps.last().is_some_and(|s| match s.outcome {
        TraceOutcome::Rule { action, .. } => matches!(action, CalicoAction::Allow | CalicoAction::Deny),
        TraceOutcome::NetworkPolicy => true,
        TraceOutcome::Cluster(m) => m.action != Action::Pass,
        TraceOutcome::EndOfTier { pass } => !pass,
    });
    if !decided {
        out.push(if trace.steps.is_empty() {
            "no Calico tier applies: the profile allows".to_string()
        } else {
            "every tier that applies passed: the profile allows".to_string()
        });
    }
    out
}

pub fn note_text(analysis: &Analysis, note: &Note) -> String {
    match note {
        Note::HostNetwork { endpoint, is_source } => {
            let pod = analysis.pod(*endpoint).expect("a hostNetwork note names a pod");
            let ips: Vec<String> = pod.ips.iter().map(|ip| ip.to_string()).collect();
            format!(
                "the {} {} is a hostNetwork pod: no pod or namespace selector selects it, so no policy isolates it; \
                 its traffic carries its node's address ({}), which ipBlocks can match",
                if *is_source { "source" } else { "destination" },
                pod.id(),
                if ips.is_empty() { "unknown".to_string() } else { ips.join(", ") }
            )
        }
        Note::SelfTraffic => {
            "a pod can always reach itself: NetworkPolicy never blocks a pod's traffic to itself".to_string()
        }
        Note::TiersNeedAPort => {
            "cluster-scoped policies (admin/baseline tiers) exist: ask with --port to see which tier decides"
                .to_string()
        }
        Note::NoCommonPort => "egress and ingress each allow some ports, but none in common".to_string(),
        Note::CiliumLocalhost => {
            "the source is the destination's local host: Cilium lets it in whatever the allow rules say \
             (--cilium-allow-localhost, Cilium's --allow-localhost, default auto = always under Kubernetes)"
                .to_string()
        }
        Note::Infrastructure(destination) => {
            let found = analysis.cluster.infrastructure.iter().find(|d| d.destination == *destination);
            let (addresses, ports, source) = found.map_or((String::new(), String::new(), String::new()), |d| {
                let addresses: Vec<String> = d.addresses.iter().map(|a| a.to_string()).collect();
                let ports = d.ports.as_ref().map_or("every port".to_string(), |p| p.to_string());
                (addresses.join(", "), ports, d.source.clone())
            });
            let mut text = format!("{destination} is {addresses} on {ports} ({source})");
            if *destination == netreach_model::Destination::CloudMetadata {
                text.push_str(
                    "; NetworkPolicy decides only whether packets get there: IMDSv2 with a response hop limit of 1 (AWS), \
                     the GKE metadata server (Workload Identity) or Azure's IMDS proxy may still keep credentials from pods, \
                     and netreach cannot see them",
                );
            }
            text
        }
    }
}

/// `ALLOWED`, `DENIED` or `ALLOWED for 2 of 3 pod pairs`.
fn answer_word(answer: &CanAnswer) -> String {
    match (answer.allowed_pairs(), answer.pair_count()) {
        (0, _) => "DENIED".to_string(),
        (a, t) if a == t => "ALLOWED".to_string(),
        (a, t) => format!("ALLOWED for {a} of {t} pod pairs"),
    }
}

/// How text and Markdown lay out the same lines.
struct Layout {
    heading: &'static str,
    pair_heading: &'static str,
    /// Before "(and N more pair(s) …)".
    more: &'static str,
    item: &'static str,
    sub_item: &'static str,
    /// Verdicts in colour (when the terminal takes it): text only, never Markdown.
    colour: bool,
}

impl Layout {
    /// `word` green when allowed, red when denied, if this layout colours.
    fn verdict(&self, word: &str, allowed: bool) -> String {
        let style = if allowed { styles::GOOD } else { styles::BAD };
        if self.colour {
            terminal::paint(word, style)
        } else {
            word.to_string()
        }
    }
}

const TEXT: Layout = Layout { heading: "", pair_heading: "", more: "  ", item: "  ", sub_item: "    ", colour: true };
const MARKDOWN: Layout =
    Layout { heading: "## ", pair_heading: "### ", more: "", item: "- ", sub_item: "  - ", colour: false };

/// The answer as readable text.
pub fn text(analysis: &Analysis, from: &str, to: &str, answer: &CanAnswer, out: &mut dyn Write) -> io::Result<()> {
    readable(analysis, from, to, answer, &TEXT, out)
}

/// The answer as Markdown.
pub fn markdown(analysis: &Analysis, from: &str, to: &str, answer: &CanAnswer, out: &mut dyn Write) -> io::Result<()> {
    readable(analysis, from, to, answer, &MARKDOWN, out)
}

fn readable(
    analysis: &Analysis,
    from: &str,
    to: &str,
    answer: &CanAnswer,
    layout: &Layout,
    out: &mut dyn Write,
) -> io::Result<()> {
    let query = answer.query.map_or("any port".to_string(), |(p, n)| format!("{p}/{n}"));
    let word = layout.verdict(&answer_word(answer), answer.allowed_pairs() > 0);
    writeln!(out, "{}{from} → {to} on {query}: {word}", layout.heading)?;
    for group in &answer.groups {
        let v = &group.verdict;
        writeln!(out)?;
        let verdict = layout.verdict(if v.allowed { "allowed" } else { "denied" }, v.allowed);
        writeln!(
            out,
            "{}{} → {}: {verdict}",
            layout.pair_heading,
            analysis.display_name(v.src),
            analysis.display_name(v.dst)
        )?;
        if group.pairs.len() > 1 {
            writeln!(out, "{}(and {} more pair(s) treated identically)", layout.more, group.pairs.len() - 1)?;
        }
        if answer.query.is_none() || !v.allowed_ports.is_empty() {
            writeln!(out, "{}allowed ports: {}", layout.item, v.allowed_ports)?;
        }
        for note in &v.notes {
            writeln!(out, "{}note: {}", layout.item, note_text(analysis, note))?;
        }
        if v.src != v.dst {
            write_side(analysis, v, &v.egress, v.src, layout, out)?;
            write_side(analysis, v, &v.ingress, v.dst, layout, out)?;
        }
    }
    Ok(())
}

fn write_side(
    analysis: &Analysis,
    verdict: &PairVerdict,
    side: &SideVerdict,
    endpoint: usize,
    layout: &Layout,
    out: &mut dyn Write,
) -> io::Result<()> {
    // Every line of a side is an item, tier lines included.
    let (item, sub_item) = (layout.item, layout.sub_item);
    let dir = side.direction.field();
    let name = analysis.display_name(endpoint);
    for t in &side.tiers {
        writeln!(out, "{item}{dir} of {name}: {}", tier_text(analysis, side.direction, t))?;
    }
    if let Some(trace) = &side.calico {
        for line in calico_texts(analysis, side.direction, trace) {
            writeln!(out, "{item}{dir} of {name}: {line}")?;
        }
        return Ok(());
    }
    if side.isolated_by.is_empty() && side.cilium.is_empty() {
        return writeln!(out, "{item}{dir} of {name}: not isolated (no policy selects it for {dir}): allowed");
    }
    if side.isolated_by.is_empty() {
        writeln!(out, "{item}{dir} of {name}: not isolated (no policy selects it for {dir})")?;
    } else {
        writeln!(out, "{item}{dir} of {name}: isolated by {}", side.isolated_by.join(", "))?;
    }
    for m in &side.allowed_by {
        writeln!(out, "{sub_item}allowed by {} → {}", rule_text(analysis, &m.rule), m.ports)?;
    }
    for m in &side.cilium {
        let word = if m.rule.section.is_deny() { "denied by" } else { "allowed by" };
        writeln!(out, "{sub_item}{word} {} → {}", cilium_rule_text(analysis, &m.rule), m.ports)?;
    }
    if side.allowed_by.is_empty() && side.cilium.is_empty() {
        writeln!(out, "{sub_item}no rule matched")?;
        for miss in &side.closest_misses {
            writeln!(out, "{sub_item}closest: {}", miss_text(analysis, verdict, side, miss))?;
        }
    }
    Ok(())
}

fn rule_match_json(analysis: &Analysis, m: &RuleMatch) -> serde_json::Value {
    json!({
        "policy": analysis.cluster.policies[m.rule.policy as usize].id(), "rule": m.rule.rule,
        "peer": m.rule.peer, "port": m.rule.port,
        "allowed": allowed_json(&m.ports), "text": rule_text(analysis, &m.rule),
    })
}

fn side_json(analysis: &Analysis, verdict: &PairVerdict, side: &SideVerdict) -> serde_json::Value {
    json!({
        "isolated": !side.isolated_by.is_empty(),
        "isolatedBy": side.isolated_by,
        "allows": side.allows(),
        "allowedBy": side.allowed_by.iter().map(|m| rule_match_json(analysis, m)).collect::<Vec<_>>(),
        "cilium": side.cilium.iter().map(|m| cilium_match_json(analysis, m)).collect::<Vec<_>>(),
        "closestMisses":
            side.closest_misses.iter().map(|m| miss_text(analysis, verdict, side, m)).collect::<Vec<_>>(),
        "tiers": side
            .tiers
            .iter()
            .map(|t| tier_text(analysis, side.direction, t))
            .chain(side.calico.iter().flat_map(|trace| calico_texts(analysis, side.direction, trace)))
            .collect::<Vec<_>>(),
    })
}

/// The answer as JSON (schemaVersion 1).
pub fn json(analysis: &Analysis, from: &str, to: &str, answer: &CanAnswer, out: &mut dyn Write) -> io::Result<()> {
    write_json_value(&json_value(analysis, from, to, answer), out)
}

/// Pretty JSON and a newline.
pub fn write_json_value(doc: &serde_json::Value, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, doc)?;
    writeln!(out)
}

/// The answer as a JSON value, for callers that add layers to it.
pub fn json_value(analysis: &Analysis, from: &str, to: &str, answer: &CanAnswer) -> serde_json::Value {
    json!({
        "schemaVersion": 1,
        "unevaluatedPolicies": crate::render::unevaluated_policies_json(&analysis.cluster.unevaluated_policies),
        "incomplete": crate::render::incomplete_json(&analysis.cluster.skipped_invalid),
        "from": from,
        "to": to,
        "protocol": answer.query.map(|(p, _)| p.as_str()),
        "port": answer.query.map(|(_, n)| n),
        "allowed": answer.allowed(),
        "verdicts": answer.groups.iter().map(|g| {
            let v = &g.verdict;
            json!({
                "src": analysis.id(v.src),
                "dst": analysis.id(v.dst),
                "pairs": g.pairs.iter().map(|&(s, d)| [analysis.id(s), analysis.id(d)]).collect::<Vec<_>>(),
                "allowed": v.allowed,
                "allowedPorts": allowed_json(&v.allowed_ports),
                "egress": side_json(analysis, v, &v.egress),
                "ingress": side_json(analysis, v, &v.ingress),
                "notes": v.notes.iter().map(|n| note_text(analysis, n)).collect::<Vec<_>>(),
            })
        }).collect::<Vec<_>>(),
    })
}
