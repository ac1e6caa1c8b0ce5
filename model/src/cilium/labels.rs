//! The labels Cilium sees on an endpoint, and how selector keys name them.
//!
//! A pod's identity labels are its own labels plus labels Cilium derives from its namespace and
//! service account, all of source `k8s`. Selector keys may carry a source prefix (`k8s:`,
//! `any:`, `reserved:`…); a key without one means `any:`.
//! Reference: https://docs.cilium.io/en/stable/security/policy/kubernetes/#namespaces and
//! https://docs.cilium.io/en/stable/security/policy/language/#endpoints-based

use crate::cluster::Pod;
use crate::labels::{LabelSelector, Labels, Requirement};

/// The namespace of the pod.
pub const NAMESPACE_LABEL: &str = "io.kubernetes.pod.namespace";
/// The pod's `spec.serviceAccountName`.
pub const SERVICE_ACCOUNT_LABEL: &str = "io.cilium.k8s.policy.serviceaccount";
/// Prefix of the copies of the namespace's labels.
pub const NAMESPACE_LABELS_PREFIX: &str = "io.cilium.k8s.namespace.labels.";
/// The cluster name (Cilium's `cluster-name`, `default` unless configured).
pub const CLUSTER_LABEL: &str = "io.cilium.k8s.policy.cluster";
/// Cilium's default `cluster-name`.
pub const DEFAULT_CLUSTER_NAME: &str = "default";

/// The identity labels of a pod (hostNetwork pods have none: they are the host entity).
pub fn endpoint_labels(pod: &Pod, namespace_labels: &Labels) -> Labels {
    let mut labels = pod.labels.clone();
    labels.insert(NAMESPACE_LABEL.into(), pod.namespace.clone());
    labels.insert(SERVICE_ACCOUNT_LABEL.into(), pod.service_account.clone());
    labels.insert(CLUSTER_LABEL.into(), DEFAULT_CLUSTER_NAME.into());
    for (k, v) in namespace_labels {
        labels.insert(format!("{NAMESPACE_LABELS_PREFIX}{k}"), v.clone());
    }
    labels
}

/// A selector key as the label it names on a pod: `k8s:` and `any:` prefixes name the same
/// label; any other source (`reserved:`, `container:`, `cidr:`…) names no pod label, so the key
/// is kept with its prefix (Kubernetes label keys never contain `:`).
pub fn normalize_key(key: &str) -> &str {
    key.strip_prefix("k8s:").or_else(|| key.strip_prefix("any:")).unwrap_or(key)
}

/// A selector with normalized keys.
pub fn normalize_selector(selector: &LabelSelector) -> LabelSelector {
    LabelSelector {
        match_labels: selector.match_labels.iter().map(|(k, v)| (normalize_key(k).to_string(), v.clone())).collect(),
        match_expressions: selector
            .match_expressions
            .iter()
            .map(|r| Requirement { key: normalize_key(&r.key).to_string(), ..r.clone() })
            .collect(),
    }
}

/// Whether a (normalized) selector names the namespace label, in matchLabels or matchExpressions:
/// then a CiliumNetworkPolicy does not scope it to its own namespace.
pub fn names_namespace(selector: &LabelSelector) -> bool {
    selector.match_labels.contains_key(NAMESPACE_LABEL)
        || selector.match_expressions.iter().any(|r| r.key == NAMESPACE_LABEL)
}

/// A CiliumNetworkPolicy's peer selector: Cilium adds `io.kubernetes.pod.namespace=<policy's
/// namespace>` unless the selector names the namespace label itself (pkg/k8s/apis/cilium.io/utils,
/// `getEndpointSelector`). Clusterwide policies leave it cluster-wide.
pub fn scope_peer(selector: LabelSelector, namespace: Option<&str>) -> LabelSelector {
    let mut selector = normalize_selector(&selector);
    if let Some(ns) = namespace {
        if !names_namespace(&selector) {
            selector.match_labels.insert(NAMESPACE_LABEL.into(), ns.into());
        }
    }
    selector
}

/// A CiliumNetworkPolicy's endpointSelector: always in the policy's namespace, whatever
/// namespace the selector names (Cilium overrides it, `ParseToCiliumRule`).
pub fn scope_subject(selector: LabelSelector, namespace: Option<&str>) -> LabelSelector {
    let mut selector = normalize_selector(&selector);
    if let Some(ns) = namespace {
        selector.match_labels.insert(NAMESPACE_LABEL.into(), ns.into());
    }
    selector
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn the_view_adds_namespace_service_account_cluster_and_namespace_labels() {
        let mut pod = Pod::new("shop", "api", labels(&[("app", "api")]));
        pod.service_account = "api-sa".into();
        let view = endpoint_labels(&pod, &labels(&[("team", "a"), ("kubernetes.io/metadata.name", "shop")]));
        assert_eq!(view.get("app").map(String::as_str), Some("api"));
        assert_eq!(view.get(NAMESPACE_LABEL).map(String::as_str), Some("shop"));
        assert_eq!(view.get(SERVICE_ACCOUNT_LABEL).map(String::as_str), Some("api-sa"));
        assert_eq!(view.get(CLUSTER_LABEL).map(String::as_str), Some("default"));
        assert_eq!(view.get("io.cilium.k8s.namespace.labels.team").map(String::as_str), Some("a"));
        assert_eq!(
            view.get("io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name").map(String::as_str),
            Some("shop")
        );
        let bare = endpoint_labels(&Pod::new("shop", "x", Labels::new()), &Labels::new());
        assert_eq!(bare.get(SERVICE_ACCOUNT_LABEL).map(String::as_str), Some("default"));
    }

    #[test]
    fn prefixes_and_namespace_scoping() {
        assert_eq!(normalize_key("k8s:app"), "app");
        assert_eq!(normalize_key("any:app"), "app");
        assert_eq!(normalize_key("reserved:host"), "reserved:host");
        let own = scope_peer(LabelSelector::from_labels([("k8s:app", "web")]), Some("shop"));
        assert_eq!(own, LabelSelector::from_labels([("app", "web"), (NAMESPACE_LABEL, "shop")]));
        let named = scope_peer(LabelSelector::from_labels([("k8s:io.kubernetes.pod.namespace", "db")]), Some("shop"));
        assert_eq!(named, LabelSelector::from_labels([(NAMESPACE_LABEL, "db")]));
        let wide = scope_peer(LabelSelector::everything(), None);
        assert!(wide.is_everything());
        // The subject stays in the policy's namespace even when it names another.
        let subject = scope_subject(LabelSelector::from_labels([(NAMESPACE_LABEL, "db")]), Some("shop"));
        assert_eq!(subject, LabelSelector::from_labels([(NAMESPACE_LABEL, "shop")]));
    }
}
