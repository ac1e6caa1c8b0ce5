//! Endpoint selectors as users type them on the command line and in invariant files:
//! `ns/pod`, `ns/Kind/name`, `ns/workload`, `ns:NAME`, `app=db,tier!=web`, `internet`, `any`,
//! an IP address or a CIDR.

use crate::analysis::Analysis;
use ipnet::IpNet;
use netreach_model::{Endpoint, LabelSelector, Requirement};
use std::net::IpAddr;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EndpointSelector {
    Any,
    /// Every external range.
    Internet,
    Namespace(String),
    /// `ns/name`: a pod, or else a workload of that name in `ns`.
    PodOrWorkload {
        namespace: String,
        name: String,
    },
    Workload {
        namespace: String,
        kind: String,
        name: String,
    },
    Labels(LabelSelector),
    /// A pod with this address, or else the external range holding it.
    Address(IpAddr),
    /// Pods with an address in the CIDR and external ranges overlapping it.
    Cidr(IpNet),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid selector {input:?}: {reason}")]
pub struct SelectorParseError {
    pub input: String,
    pub reason: String,
}

/// Why a selector selects nothing it names: a typo is likelier than an intentionally empty set.
/// `suggestion` is the closest existing name, when one is close.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    #[error("no namespace {name:?}{}", did_you_mean(suggestion))]
    NoNamespace { name: String, suggestion: Option<String> },
    /// `ns/name` with no pod of that name, and no workload either.
    #[error("no pod or workload {name}{}", did_you_mean(suggestion))]
    NoPodOrWorkload { name: String, suggestion: Option<String> },
    /// `ns/Kind/name` naming no workload.
    #[error("no workload {name}{}", did_you_mean(suggestion))]
    NoWorkload { name: String, suggestion: Option<String> },
    /// `ns/name` naming workloads of several kinds: `candidates` are their `ns/Kind/name`.
    #[error("{name} names several workloads: use one of {}", candidates.join(", "))]
    SeveralWorkloads { name: String, candidates: Vec<String> },
}

impl EndpointSelector {
    pub fn parse(input: &str) -> Result<EndpointSelector, SelectorParseError> {
        let s = input.trim();
        let fail = |reason: &str| SelectorParseError { input: input.to_string(), reason: reason.to_string() };
        if s.is_empty() {
            return Err(fail("empty"));
        }
        match s {
            "any" | "*" => return Ok(EndpointSelector::Any),
            "internet" | "external" => return Ok(EndpointSelector::Internet),
            _ => {}
        }
        if let Ok(ip) = s.parse::<IpAddr>() {
            return Ok(EndpointSelector::Address(ip));
        }
        if let Ok(net) = s.parse::<IpNet>() {
            return Ok(EndpointSelector::Cidr(net.trunc()));
        }
        if let Some(ns) = s.strip_prefix("ns:") {
            return if ns.is_empty() {
                Err(fail("namespace name missing after ns:"))
            } else {
                Ok(EndpointSelector::Namespace(ns.to_string()))
            };
        }
        if s.contains(['=', '!', '(']) || !s.contains('/') {
            return parse_label_selector(s).map(EndpointSelector::Labels).map_err(|r| fail(&r));
        }
        let parts: Vec<&str> = s.split('/').collect();
        match parts.as_slice() {
            [ns, name] if !ns.is_empty() && !name.is_empty() => {
                Ok(EndpointSelector::PodOrWorkload { namespace: ns.to_string(), name: name.to_string() })
            }
            [ns, kind, name] if !ns.is_empty() && !kind.is_empty() && !name.is_empty() => {
                Ok(EndpointSelector::Workload {
                    namespace: ns.to_string(),
                    kind: kind.to_string(),
                    name: name.to_string(),
                })
            }
            _ => Err(fail("expected ns/pod, ns/Kind/name, ns:NAME, a label selector, an IP, a CIDR, internet or any")),
        }
    }

    /// The endpoints selected, ascending; an error when nothing matches a name (a typo is
    /// likelier than an intentionally empty set), an empty set for selectors that may be empty.
    pub fn resolve(&self, analysis: &Analysis) -> Result<Vec<usize>, ResolveError> {
        let reach = &analysis.reach;
        let pods = || {
            (0..reach.pod_count()).map(move |i| (reach.index_of(Endpoint::Pod(i as u32)), &analysis.cluster.pods[i]))
        };
        let externals = || {
            (0..reach.externals().len())
                .map(move |i| (reach.index_of(Endpoint::External(i as u32)), &reach.externals()[i]))
        };
        let out: Vec<usize> = match self {
            EndpointSelector::Any => (0..reach.endpoint_count()).collect(),
            EndpointSelector::Internet => externals().map(|(e, _)| e).collect(),
            EndpointSelector::Namespace(ns) => {
                let v: Vec<usize> = pods().filter(|(_, p)| &p.namespace == ns).map(|(e, _)| e).collect();
                if v.is_empty() && !analysis.cluster.namespaces.iter().any(|n| &n.name == ns) {
                    let names = analysis.cluster.namespaces.iter().map(|n| n.name.clone());
                    return Err(ResolveError::NoNamespace { name: ns.clone(), suggestion: closest(ns, names) });
                }
                v
            }
            EndpointSelector::PodOrWorkload { namespace, name } => {
                let pod: Vec<usize> =
                    pods().filter(|(_, p)| &p.namespace == namespace && &p.name == name).map(|(e, _)| e).collect();
                if !pod.is_empty() {
                    pod
                } else {
                    let w: Vec<usize> = pods()
                        .filter(|(_, p)| {
                            &p.namespace == namespace && p.workload.as_ref().is_some_and(|w| &w.name == name)
                        })
                        .map(|(e, _)| e)
                        .collect();
                    let kinds: std::collections::BTreeSet<&str> = w
                        .iter()
                        .filter_map(|&e| analysis.pod(e).and_then(|p| p.workload.as_ref()).map(|w| w.kind.as_str()))
                        .collect();
                    if kinds.len() > 1 {
                        let candidates = kinds.iter().map(|k| format!("{namespace}/{k}/{name}")).collect();
                        return Err(ResolveError::SeveralWorkloads { name: format!("{namespace}/{name}"), candidates });
                    }
                    if w.is_empty() {
                        let wanted = format!("{namespace}/{name}");
                        let names = analysis.cluster.pods.iter().flat_map(|p| {
                            std::iter::once(p.id())
                                .chain(p.workload.as_ref().map(|w| format!("{}/{}", p.namespace, w.name)))
                        });
                        let suggestion = closest(&wanted, names);
                        return Err(ResolveError::NoPodOrWorkload { name: wanted, suggestion });
                    }
                    w
                }
            }
            EndpointSelector::Workload { namespace, kind, name } => {
                let w: Vec<usize> = pods()
                    .filter(|(_, p)| {
                        &p.namespace == namespace
                            && p.workload.as_ref().is_some_and(|w| &w.kind == kind && &w.name == name)
                    })
                    .map(|(e, _)| e)
                    .collect();
                if w.is_empty() {
                    let wanted = format!("{namespace}/{kind}/{name}");
                    let names =
                        analysis.cluster.pods.iter().filter_map(|p| {
                            p.workload.as_ref().map(|w| format!("{}/{}/{}", p.namespace, w.kind, w.name))
                        });
                    let suggestion = closest(&wanted, names);
                    return Err(ResolveError::NoWorkload { name: wanted, suggestion });
                }
                w
            }
            EndpointSelector::Labels(sel) => pods().filter(|(_, p)| sel.matches(&p.labels)).map(|(e, _)| e).collect(),
            EndpointSelector::Address(ip) => {
                let owners: Vec<usize> = pods().filter(|(_, p)| p.ips.contains(ip)).map(|(e, _)| e).collect();
                if !owners.is_empty() {
                    owners
                } else {
                    externals().filter(|(_, x)| x.ranges.contains(ip)).map(|(e, _)| e).collect()
                }
            }
            EndpointSelector::Cidr(net) => {
                let mut v: Vec<usize> =
                    pods().filter(|(_, p)| p.ips.iter().any(|ip| net.contains(ip))).map(|(e, _)| e).collect();
                let block = netreach_model::IpRanges::from_net(net);
                v.extend(
                    externals()
                        .filter(|(_, x)| x.ranges.family == block.family && x.ranges.difference(&block) != x.ranges)
                        .map(|(e, _)| e),
                );
                v
            }
        };
        Ok(out)
    }
}

/// kubectl's label selector syntax: `k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`,
/// `k`, `!k`, joined by commas.
pub fn parse_label_selector(s: &str) -> Result<LabelSelector, String> {
    let mut sel = LabelSelector::everything();
    for term in split_terms(s) {
        let term = term.trim();
        let req = |key: &str, op: &str, values: Vec<String>| {
            Requirement::new(key.trim(), op, values).map_err(|e| e.to_string())
        };
        if let Some(key) = term.strip_prefix('!') {
            sel.match_expressions.push(req(key, "DoesNotExist", vec![])?);
        } else if let Some((key, rest)) = split_word(term, " notin ") {
            sel.match_expressions.push(req(key, "NotIn", set_values(rest)?)?);
        } else if let Some((key, rest)) = split_word(term, " in ") {
            sel.match_expressions.push(req(key, "In", set_values(rest)?)?);
        } else if let Some((key, value)) = term.split_once("!=") {
            sel.match_expressions.push(req(key, "NotIn", vec![value.trim().to_string()])?);
        } else if let Some((key, value)) = term.split_once("==").or_else(|| term.split_once('=')) {
            if key.trim().is_empty() {
                return Err(format!("missing key in {term:?}"));
            }
            sel.match_labels.insert(key.trim().to_string(), value.trim().to_string());
        } else if !term.is_empty() && !term.contains(char::is_whitespace) {
            sel.match_expressions.push(req(term, "Exists", vec![])?);
        } else {
            return Err(format!("cannot read {term:?} as a label requirement"));
        }
    }
    Ok(sel)
}

fn split_terms(s: &str) -> Vec<&str> {
    let (mut depth, mut start, mut out) = (0, 0, Vec::new());
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

fn split_word<'a>(term: &'a str, word: &str) -> Option<(&'a str, &'a str)> {
    term.find(word).map(|i| (&term[..i], &term[i + word.len()..]))
}

fn set_values(rest: &str) -> Result<Vec<String>, String> {
    let inner = rest
        .trim()
        .strip_prefix('(')
        .and_then(|r| r.strip_suffix(')'))
        .ok_or_else(|| format!("expected (a,b) after the operator, got {rest:?}"))?;
    Ok(inner.split(',').map(|v| v.trim().to_string()).filter(|v| !v.is_empty()).collect())
}

/// ` (did you mean "shop/cart"?)` when one of `names` is close to `wanted` (a typo), else nothing.
/// The existing name most like `wanted`, when one is close enough to be a typo of it.
fn closest(wanted: &str, names: impl Iterator<Item = String>) -> Option<String> {
    let best = names
        .map(|n| (strsim::jaro_winkler(wanted, &n), n))
        .filter(|(score, n)| *score >= 0.85 && n != wanted)
        .max_by(|a, b| a.0.total_cmp(&b.0).then_with(|| b.1.cmp(&a.1)));
    best.map(|(_, n)| n)
}

/// ` (did you mean "shop"?)`, or nothing.
fn did_you_mean(suggestion: &Option<String>) -> String {
    suggestion.as_ref().map(|n| format!(" (did you mean {n:?}?)")).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_selector_form_parses_and_malformed_ones_are_rejected() {
        assert_eq!(EndpointSelector::parse("any").unwrap(), EndpointSelector::Any);
        assert_eq!(EndpointSelector::parse("internet").unwrap(), EndpointSelector::Internet);
        assert_eq!(EndpointSelector::parse("ns:prod").unwrap(), EndpointSelector::Namespace("prod".into()));
        assert_eq!(
            EndpointSelector::parse("shop/cart").unwrap(),
            EndpointSelector::PodOrWorkload { namespace: "shop".into(), name: "cart".into() }
        );
        assert_eq!(
            EndpointSelector::parse("shop/Deployment/cart").unwrap(),
            EndpointSelector::Workload { namespace: "shop".into(), kind: "Deployment".into(), name: "cart".into() }
        );
        assert_eq!(
            EndpointSelector::parse("10.0.0.1").unwrap(),
            EndpointSelector::Address("10.0.0.1".parse().unwrap())
        );
        assert_eq!(
            EndpointSelector::parse("10.0.0.1/8").unwrap(),
            EndpointSelector::Cidr("10.0.0.0/8".parse().unwrap())
        );
        let EndpointSelector::Labels(sel) =
            EndpointSelector::parse("app=db,tier!=web,env in (prod, staging),!legacy,team").unwrap()
        else {
            panic!()
        };
        assert_eq!(sel.to_string(), "app=db,tier notin (web),env in (prod,staging),!legacy,team");
        assert!(EndpointSelector::parse("a/b/c/d").is_err());
        assert!(EndpointSelector::parse("ns:").is_err());
        assert!(EndpointSelector::parse("env in prod").is_err());
    }
}
