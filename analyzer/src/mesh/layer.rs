//! The mesh layer of `netreach can`: for the pairs NetworkPolicy allows, the mTLS status and
//! the Istio authorization decision of each port asked, with the deciding policy and rule, or
//! the ALLOW policies none of whose rules matched.
//!
//! Pairs are grouped by what the layer reads (the `can` verdict group, the source side and the
//! destination profile), so the cost follows those groups, not the pairs.

use super::MeshView;
use crate::explain::CanAnswer;
use netreach_model::mesh::authz::{AuthzBasis, AuthzDecision, AuthzVerdict};
use netreach_model::mesh::MtlsStatus;
use netreach_model::PortSet;
use std::collections::BTreeMap;

/// The mesh's view of one group of pairs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MeshPairs {
    /// The first pair of the group (endpoint indices).
    pub src: usize,
    pub dst: usize,
    /// How many pairs the group holds.
    pub pairs: usize,
    /// Per status and decision, the ports asked that NetworkPolicy allows.
    pub entries: Vec<(MtlsStatus, AuthzDecision, PortSet)>,
    /// The destination key of `dst` (for the ALLOW policies of "none matched").
    pub target: Option<u32>,
}

impl MeshPairs {
    /// Whether some port stays open through mTLS and authorization.
    pub fn open(&self) -> bool {
        self.entries.iter().any(|(s, d, _)| *s != MtlsStatus::Rejected && d.verdict == AuthzVerdict::Allow)
    }
}

/// The mesh layer of one `can` answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MeshLayer {
    pub groups: Vec<MeshPairs>,
}

impl MeshLayer {
    /// The layer over the pairs of `answer` that NetworkPolicy allows.
    pub fn new(view: &MeshView, answer: &CanAnswer) -> MeshLayer {
        let asked = answer.query.map(|(p, n)| PortSet::range(p, n, n));
        let mut groups = Vec::new();
        for (g, group) in answer.groups.iter().enumerate() {
            let v = &group.verdict;
            let ports = match &asked {
                Some(q) => v.allowed_ports.intersection(q),
                None => v.allowed_ports.clone(),
            };
            if ports.is_empty() {
                continue;
            }
            let mut by_key: BTreeMap<(usize, u32, u32), (usize, usize, usize)> = BTreeMap::new();
            for &(s, d) in &group.pairs {
                by_key.entry((g, view.side(s), view.profile(d))).or_insert((s, d, 0)).2 += 1;
            }
            for ((_, side, profile), (src, dst, pairs)) in by_key {
                let mut entries = Vec::new();
                for (status, status_ports) in view.statuses(src, dst, &ports).iter() {
                    for (decision, part) in view.authz_of(side, profile, *status, status_ports).iter() {
                        entries.push((*status, *decision, part.clone()));
                    }
                }
                groups.push(MeshPairs { src, dst, pairs, entries, target: view.authz.target_of(dst) });
            }
        }
        MeshLayer { groups }
    }

    /// Whether NetworkPolicy allows something asked but the mesh leaves none of it open.
    pub fn closes_everything(&self) -> bool {
        !self.groups.is_empty() && !self.groups.iter().any(MeshPairs::open)
    }
}

/// One decision in words: `allow by ALLOW ns/name rules[0]`, or why none decided, and where
/// when a waypoint is on the path.
fn decision_text(view: &MeshView, group: &MeshPairs, d: &AuthzDecision) -> String {
    let text = decision_words(view, group, d);
    match super::waypoint_words(view, d) {
        Some(place) => format!("{text} ({place})"),
        None => text,
    }
}

fn decision_words(view: &MeshView, group: &MeshPairs, d: &AuthzDecision) -> String {
    let policy = |p: u32| &view.authz.policies[p as usize];
    match (d.policy, d.rule, d.basis) {
        (Some(p), Some(r), AuthzBasis::AllowedForSomeRequests) => {
            format!("allow, for the requests the HTTP fields of ALLOW {} rules[{r}] admit", policy(p).id())
        }
        (Some(p), Some(r), AuthzBasis::CustomRule) => {
            let provider = match &policy(p).action {
                netreach_model::mesh::authz::AuthzAction::Custom(name) => name.as_str(),
                _ => "?",
            };
            format!("custom: decided by external provider {provider} (CUSTOM {} rules[{r}])", policy(p).id())
        }
        (Some(p), Some(r), _) => {
            format!("{} by {} {} rules[{r}]", d.verdict.as_str(), policy(p).action.as_str(), policy(p).id())
        }
        (_, _, AuthzBasis::NoAllowMatched) => {
            let allow = group.target.map(|t| view.authz.allow_policies(t, d.at)).unwrap_or_default();
            let names: Vec<String> = allow.iter().map(|&p| policy(p).id()).collect();
            format!("deny: no rule of ALLOW {} matched", names.join(", "))
        }
        (_, _, AuthzBasis::NotEnforced) => "allow: no Istio proxy enforces policy on these ports".into(),
        (_, _, AuthzBasis::NoPolicy) => "allow: no AuthorizationPolicy applies to the destination".into(),
        (_, _, AuthzBasis::NoRuleMatched) => {
            "allow: no DENY or CUSTOM rule matched, and no ALLOW policy applies".into()
        }
        _ => d.verdict.as_str().to_string(),
    }
}

/// The layer as JSON (the `mesh` field of `can -o json`).
pub fn layer_json(view: &MeshView, layer: &MeshLayer) -> serde_json::Value {
    let a = view.analysis;
    serde_json::json!({
        "allowed": !layer.closes_everything(),
        "groups": layer.groups.iter().map(|g| serde_json::json!({
            "src": a.id(g.src),
            "dst": a.id(g.dst),
            "pairs": g.pairs,
            "open": g.open(),
            "ports": g.entries.iter().flat_map(|(status, d, ports)| {
                crate::render::allowed_json(ports).into_iter().map(move |allowed| (status, d, allowed))
            }).map(|(status, d, allowed)| {
                let policy = d.policy.map(|p| &view.authz.policies[p as usize]);
                serde_json::json!({
                    "allowed": allowed,
                    "status": status.as_str(),
                    "verdict": d.verdict.as_str(),
                    "basis": d.basis.as_str(),
                    "policy": policy.map(|p| p.id()),
                    "action": policy.map(|p| p.action.as_str()),
                    "rule": d.rule,
                    "waypoint": d.at.route().map(|r| view.authz.waypoint_of_route(r)),
                    "enforcedBy": d.at.as_str(),
                    "text": decision_text(view, g, d),
                })
            }).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}

/// The layer as text lines, indented by `item`.
pub fn layer_text(view: &MeshView, layer: &MeshLayer, item: &str, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    let a = view.analysis;
    writeln!(out)?;
    let verdict = if layer.closes_everything() { "closed" } else { "open" };
    writeln!(out, "mesh layer (Istio mTLS and AuthorizationPolicy): {verdict}")?;
    if layer.groups.is_empty() {
        return writeln!(out, "{item}nothing asked is allowed by NetworkPolicy");
    }
    for g in &layer.groups {
        let more = if g.pairs > 1 { format!(" (and {} more pair(s))", g.pairs - 1) } else { String::new() };
        writeln!(out, "{item}{} → {}{more}:", a.display_name(g.src), a.display_name(g.dst))?;
        for (status, d, ports) in &g.entries {
            writeln!(out, "{item}  {ports}: {status}; {}", decision_text(view, g, d))?;
        }
    }
    Ok(())
}
