//! Endpoint selectors as users type them on the command line and in invariant files:
//! `ns/pod`, `ns/Kind/name`, `ns/workload`, `ns:NAME`, `app=db,tier!=web`, `internet`, `any`,
//! an IP address or a CIDR, and the infrastructure destinations `cloud-metadata`,
//! `kube-apiserver`, `kubelet`, `nodes`, `etcd`.

use crate::analysis::Analysis;
use crate::suggest::{closest, did_you_mean, merge};
use ipnet::IpNet;
use netreach_model::{Destination, Endpoint, LabelSelector, Operator, Requirement};
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
    /// The external ranges holding an infrastructure destination's addresses (every address
    /// of a range is treated alike by every policy, so reaching the range is reaching them).
    Infrastructure(Destination),
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
    #[error("no namespace {name:?}{}", did_you_mean(suggestions))]
    NoNamespace { name: String, suggestions: Vec<String> },
    /// `ns/name` with no pod of that name, and no workload either.
    #[error("no pod or workload {name}{}", did_you_mean(suggestions))]
    NoPodOrWorkload { name: String, suggestions: Vec<String> },
    /// `ns/Kind/name` naming no workload.
    #[error("no workload {name}{}", did_you_mean(suggestions))]
    NoWorkload { name: String, suggestions: Vec<String> },
    /// `ns/name` naming workloads of several kinds: `candidates` are their `ns/Kind/name`.
    #[error("{name} names several workloads: use one of {}", candidates.join(", "))]
    SeveralWorkloads { name: String, candidates: Vec<String> },
    /// An infrastructure destination the input does not locate.
    #[error("{} is unknown: {}", .0.keyword(), unknown_destination_hint(*.0))]
    UnknownDestination(Destination),
}

/// What locates a destination the input did not.
fn unknown_destination_hint(destination: Destination) -> &'static str {
    match destination {
        Destination::KubeApiserver => "the input has no EndpointSlice or Endpoints of Service default/kubernetes and no control-plane Node: add them, or pass --apiserver IP[:PORT]",
        Destination::Etcd => "the input has no control-plane Node (node-role.kubernetes.io/control-plane): add the Nodes, or pass --etcd CIDR",
        Destination::Kubelet | Destination::Nodes => "the input has no Node with addresses: add the Nodes (kubectl get nodes -o yaml)",
        Destination::CloudMetadata => "pass --cloud",
    }
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
        if let Some(destination) = Destination::parse(s) {
            return Ok(EndpointSelector::Infrastructure(destination));
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
            _ => Err(fail("expected ns/pod, ns/Kind/name, ns:NAME, a label selector, an IP, a CIDR, internet, any, or one of cloud-metadata, kube-apiserver, kubelet, nodes, etcd")),
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
                    return Err(ResolveError::NoNamespace { name: ns.clone(), suggestions: closest(ns, names) });
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
                        let suggestions = pod_or_workload_suggestions(analysis, &wanted, name);
                        return Err(ResolveError::NoPodOrWorkload { name: wanted, suggestions });
                    }
                    w
                }
            }
            EndpointSelector::Workload { namespace, kind, name } if is_service_kind(kind) => {
                let Some(service) = crate::services::find(&analysis.cluster, namespace, name) else {
                    let wanted = format!("{namespace}/Service/{name}");
                    let names = analysis.cluster.services.iter().map(|s| format!("{}/Service/{}", s.namespace, s.name));
                    let suggestions = closest(&wanted, names);
                    return Err(ResolveError::NoWorkload { name: wanted, suggestions });
                };
                crate::services::backing_pods(&analysis.cluster, service)
                    .into_iter()
                    .map(|i| reach.index_of(Endpoint::Pod(i as u32)))
                    .collect()
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
                    let suggestions = closest(&wanted, names);
                    return Err(ResolveError::NoWorkload { name: wanted, suggestions });
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
            EndpointSelector::Infrastructure(destination) => {
                let found = analysis.cluster.infrastructure.iter().find(|d| d.destination == *destination);
                let Some(found) = found else { return Err(ResolveError::UnknownDestination(*destination)) };
                let blocks: Vec<netreach_model::IpRanges> =
                    found.addresses.iter().map(netreach_model::IpRanges::from_net).collect();
                externals()
                    .filter(|(_, x)| {
                        blocks.iter().any(|b| x.ranges.family == b.family && x.ranges.difference(b) != x.ranges)
                    })
                    .map(|(e, _)| e)
                    .collect()
            }
        };
        Ok(out)
    }
}

/// Whether `ns/KIND/name` names a Service (`Service`, or kubectl's `service` and `svc`): its
/// backing pods.
pub fn is_service_kind(kind: &str) -> bool {
    matches!(kind, "Service" | "service" | "svc")
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

impl EndpointSelector {
    /// What a selector that selected nothing may have meant, as whole selectors to type instead
    /// of `input`. Label selectors only: the forms that name something fail in [`resolve`]
    /// (`Self::resolve`) with their own suggestions. A `key=value` no pod carries suggests the
    /// closest value of that key or the closest key with that value; a bare word that is no
    /// label key (`frontend`) suggests the pods and workloads of that name (`shop/frontend`).
    pub fn suggestions(&self, input: &str, analysis: &Analysis) -> Vec<String> {
        let EndpointSelector::Labels(selector) = self else { return Vec::new() };
        let pods = &analysis.cluster.pods;
        let replace = |typed: &str, fix: &str| {
            if input.contains(typed) {
                input.replacen(typed, fix, 1)
            } else {
                fix.to_string()
            }
        };
        let mut out = Vec::new();
        for (key, value) in &selector.match_labels {
            if pods.iter().any(|p| p.labels.get(key) == Some(value)) {
                continue;
            }
            let typed = format!("{key}={value}");
            let values = pods.iter().filter_map(|p| p.labels.get(key).map(|v| format!("{key}={v}")));
            let keys = pods.iter().flat_map(|p| {
                p.labels.iter().filter(|(_, v)| *v == value).map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>()
            });
            let fixes: std::collections::BTreeSet<String> = values.chain(keys).collect();
            out = merge(out, closest(&typed, fixes).iter().map(|fix| replace(&typed, fix)).collect());
        }
        for requirement in &selector.match_expressions {
            let key = requirement.key.as_str();
            if requirement.operator != Operator::Exists || pods.iter().any(|p| p.labels.contains_key(key)) {
                continue;
            }
            let mut named = Vec::new();
            for pod in pods {
                let short = pod.workload.as_ref().map_or(pod.name.as_str(), |w| w.name.as_str());
                let id = format!("{}/{short}", pod.namespace);
                if short == key && !named.contains(&id) {
                    named.push(id);
                }
            }
            let keys: std::collections::BTreeSet<String> = pods.iter().flat_map(|p| p.labels.keys().cloned()).collect();
            let fixes = merge(named, closest(key, keys));
            out = merge(out, fixes.iter().map(|fix| replace(key, fix)).collect());
        }
        out
    }
}

/// What `wanted` (`ns/name`) may have meant: the pod or workload `name` in other namespaces
/// (`data/postgres` for `shop/postgres`), else close names. A workload's pods are
/// suggested by the workload's name, not replica by replica.
fn pod_or_workload_suggestions(analysis: &Analysis, wanted: &str, name: &str) -> Vec<String> {
    let mut elsewhere = Vec::new();
    let mut names = Vec::new();
    for pod in &analysis.cluster.pods {
        let short = pod.workload.as_ref().map_or(pod.name.as_str(), |w| w.name.as_str());
        let id = format!("{}/{short}", pod.namespace);
        if short == name && !elsewhere.contains(&id) {
            elsewhere.push(id.clone());
        }
        names.push(id);
    }
    if elsewhere.is_empty() {
        closest(wanted, names)
    } else {
        elsewhere
    }
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
        assert_eq!(
            EndpointSelector::parse("cloud-metadata").unwrap(),
            EndpointSelector::Infrastructure(Destination::CloudMetadata)
        );
        assert_eq!(EndpointSelector::parse(" etcd ").unwrap(), EndpointSelector::Infrastructure(Destination::Etcd));
        assert!(EndpointSelector::parse("a/b/c/d").is_err());
        assert!(EndpointSelector::parse("ns:").is_err());
        assert!(EndpointSelector::parse("env in prod").is_err());
    }
}
