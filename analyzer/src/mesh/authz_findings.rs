//! Findings about Istio AuthorizationPolicies (NR107-NR109): ALLOW rules that plaintext passes
//! through negative identity fields, policies without effect, and rules whose HTTP-only fields
//! a TCP-reading proxy drops.

use super::{MeshView, EXTERNAL_PROFILE};
use crate::findings::{Check, Finding, ObjectRef, Severity};
use netreach_model::mesh::authz::{AuthorizationPolicy, AuthzAction, AuthzBasis, AuthzRule, Binding};
use netreach_model::mesh::MtlsStatus;
use netreach_model::PortSet;
use std::collections::{BTreeMap, HashMap};

pub(super) const ALLOW_ADMITS_PLAINTEXT: Check = Check {
    id: "NR107",
    name: "authz-allow-admits-plaintext",
    severity: Severity::Medium,
    summary: "an AuthorizationPolicy ALLOW rule that plaintext connections (no peer identity) pass because it only excludes identities (notPrincipals, notNamespaces): ISTIO-SECURITY-2021-004",
};
pub(super) const POLICY_WITHOUT_EFFECT: Check = Check {
    id: "NR108",
    name: "authz-policy-without-effect",
    severity: Severity::Low,
    summary: "an AuthorizationPolicy that applies to no pod with an Istio proxy (it selects none, only pods outside the mesh, or sits in a namespace without pods rather than the root namespace)",
};
pub(super) const HTTP_RULE_ON_TCP: Check = Check {
    id: "NR109",
    name: "authz-http-rule-on-tcp",
    severity: Severity::Low,
    summary: "an AuthorizationPolicy rule with HTTP-only fields enforced where the proxy reads TCP (ztunnel, ports declared TCP): an ALLOW rule never matches, a DENY rule denies whole connections",
};

fn policy_ref(p: &AuthorizationPolicy, field: Option<String>) -> ObjectRef {
    ObjectRef { kind: "AuthorizationPolicy".into(), namespace: Some(p.namespace.clone()), name: p.name.clone(), field }
}

/// Whether a rule reads the peer identity only to exclude it: plaintext passes it.
fn excludes_identity_only(rule: &AuthzRule) -> bool {
    rule.from.iter().any(|s| {
        (!s.not_principals.is_empty() || !s.not_namespaces.is_empty())
            && s.principals.is_empty()
            && s.namespaces.is_empty()
    })
}

/// NR107-NR109, appended to `out`.
pub(super) fn authz_findings(view: &MeshView, out: &mut Vec<Finding>) {
    if view.authz.is_empty() {
        return;
    }
    plaintext_through_allow(view, out);
    without_effect(view, out);
    http_on_tcp(view, out);
}

/// NR107: per (policy, rule), the plaintext pairs and ports it admits.
fn plaintext_through_allow(view: &MeshView, out: &mut Vec<Finding>) {
    let policies = view.authz.policies;
    let mut admitted: BTreeMap<(u32, u32), (PortSet, u64)> = BTreeMap::new();
    view.class_pass(
        |_| 0,
        |_| 0,
        |_, side, _, profile, pairs, port_id| {
            if profile == EXTERNAL_PROFILE {
                return;
            }
            for (status, ports) in
                view.split_of(side, profile, port_id).iter().filter(|(s, _)| *s == MtlsStatus::Plaintext)
            {
                for (d, part) in view.authz_of(side, profile, *status, ports).iter() {
                    let (Some(p), Some(r)) = (d.policy, d.rule) else { continue };
                    let allowed = matches!(d.basis, AuthzBasis::AllowedByRule | AuthzBasis::AllowedForSomeRequests);
                    if allowed && excludes_identity_only(&policies[p as usize].rules[r as usize]) {
                        let e = admitted.entry((p, r)).or_insert((PortSet::empty(), 0));
                        e.0.union_with(part);
                        e.1 += pairs;
                    }
                }
            }
        },
    );
    for ((p, r), (ports, pairs)) in admitted {
        let policy = &policies[p as usize];
        out.push(Finding::new(
            ALLOW_ADMITS_PLAINTEXT,
            Some(&policy.namespace),
            vec![policy_ref(policy, Some(format!("spec.rules[{r}]")))],
            format!(
                "ALLOW {} rules[{r}] admits plaintext on {ports} in {pairs} pod pair(s) NetworkPolicy allows: without mTLS there is no principal or namespace, so notPrincipals/notNamespaces match",
                policy.id()
            ),
            "require mTLS (PeerAuthentication STRICT) on the workload, or name the allowed identities with principals/namespaces instead of excluding others".into(),
        ));
    }
}

/// NR108: policies bound to no pod with a proxy.
fn without_effect(view: &MeshView, out: &mut Vec<Finding>) {
    let cluster = &view.analysis.cluster;
    let root = view.options.istio_root_namespace.as_str();
    // Pods by namespace: a policy outside the root namespace selects only its own namespace's.
    let mut by_namespace: HashMap<&str, Vec<&netreach_model::Pod>> = HashMap::new();
    for pod in &cluster.pods {
        by_namespace.entry(pod.namespace.as_str()).or_default().push(pod);
    }
    for (i, policy) in view.authz.policies.iter().enumerate() {
        if view.authz.bound[i] > 0 || policy.action == AuthzAction::Audit {
            continue;
        }
        let Binding::Selector(selector) = &policy.binding else { continue };
        let own = by_namespace.get(policy.namespace.as_str()).map_or(&[][..], Vec::as_slice);
        let selected = if policy.namespace == root {
            cluster.pods.iter().filter(|pod| policy.selects(root, &pod.namespace, &pod.labels)).count()
        } else {
            own.iter().filter(|pod| policy.selects(root, &pod.namespace, &pod.labels)).count()
        };
        let namespace_has_pods = !own.is_empty();
        let why = if selected > 0 {
            format!("selects {selected} pod(s), none with an Istio proxy (sidecar or ambient): nothing enforces it")
        } else if selector.is_empty() && !namespace_has_pods && policy.namespace != root {
            format!(
                "applies to namespace {} only, which has no pod; mesh-wide policies belong in the root namespace {root}",
                policy.namespace
            )
        } else {
            "selects no pod".into()
        };
        out.push(Finding::new(
            POLICY_WITHOUT_EFFECT,
            Some(&policy.namespace),
            vec![policy_ref(policy, None)],
            format!("{} {} {why}", policy.action.as_str(), policy.id()),
            "bring the workloads into the mesh, fix the selector or namespace, or delete the policy".into(),
        ));
    }
}

/// NR109: rules with HTTP-only fields on policies some TCP-reading proxy enforces.
fn http_on_tcp(view: &MeshView, out: &mut Vec<Finding>) {
    for (i, policy) in view.authz.policies.iter().enumerate() {
        if matches!(policy.action, AuthzAction::Audit) {
            continue;
        }
        let (ztunnel, tcp_ports) = view.authz.tcp_readers(i as u32);
        for (r, rule) in policy.rules.iter().enumerate().filter(|(_, r)| r.uses_http()) {
            // The ports the rule names that some enforcing sidecar reads as TCP.
            let named: Vec<u16> = rule.to.iter().flat_map(|o| o.ports.iter().copied()).collect();
            let tcp: Vec<u16> = named.iter().copied().filter(|p| tcp_ports.contains(p)).collect();
            let place = if ztunnel {
                "ztunnel (ambient) reads TCP only".to_string()
            } else if !tcp.is_empty() {
                let ports: Vec<String> = tcp.iter().map(u16::to_string).collect();
                format!("its Services declare TCP {} as TCP", ports.join(","))
            } else {
                continue;
            };
            let effect = match policy.action {
                AuthzAction::Allow => "never matches",
                _ => "applies to whole connections with its HTTP fields ignored",
            };
            out.push(Finding::new(
                HTTP_RULE_ON_TCP,
                Some(&policy.namespace),
                vec![policy_ref(policy, Some(format!("spec.rules[{r}]")))],
                format!("{} {} rules[{r}] uses HTTP-only fields but {place}: the rule {effect}", policy.action.as_str(), policy.id()),
                "attach L7 rules to a waypoint (targetRefs) in ambient, declare the port's protocol, or drop the HTTP-only fields".into(),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netreach_model::mesh::authz::AuthzSource;

    #[test]
    fn only_negative_identity_lets_plaintext_through() {
        let not_ns = AuthzSource { not_namespaces: vec!["x".into()], ..Default::default() };
        let both = AuthzSource { namespaces: vec!["a".into()], not_namespaces: vec!["x".into()], ..Default::default() };
        assert!(excludes_identity_only(&AuthzRule { from: vec![not_ns], ..Default::default() }));
        assert!(!excludes_identity_only(&AuthzRule { from: vec![both], ..Default::default() }));
        assert!(!excludes_identity_only(&AuthzRule::default()));
    }
}
