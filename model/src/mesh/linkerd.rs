//! Linkerd's default inbound policy: the cluster-wide setting and the pod and namespace
//! annotations that override it.
//!
//! Linkerd: linkerd.io, "Authorization Policy" › "Default policies" (reference/authorization-policy).

use super::keys;
use crate::cluster::Pod;
use crate::labels::Labels;

/// Linkerd's default inbound policy (`proxy.defaultInboundPolicy`, or the
/// `config.linkerd.io/default-inbound-policy` annotation).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LinkerdPolicy {
    /// `all-unauthenticated`: every client may connect.
    AllUnauthenticated,
    /// `all-authenticated`: clients with a mesh identity may connect.
    AllAuthenticated,
    /// `cluster-unauthenticated`: clients from the cluster's networks may connect.
    ClusterUnauthenticated,
    /// `cluster-authenticated`: meshed clients from the cluster's networks may connect.
    ClusterAuthenticated,
    /// `deny`: nobody may connect without an explicit authorization.
    Deny,
    /// `audit`: every client may connect; denials are only logged.
    Audit,
}

impl LinkerdPolicy {
    /// Every policy, in the order Linkerd documents them.
    pub const ALL: [LinkerdPolicy; 6] = [
        LinkerdPolicy::AllUnauthenticated,
        LinkerdPolicy::AllAuthenticated,
        LinkerdPolicy::ClusterUnauthenticated,
        LinkerdPolicy::ClusterAuthenticated,
        LinkerdPolicy::Deny,
        LinkerdPolicy::Audit,
    ];

    /// The policy an annotation value names, if any.
    pub fn parse(s: &str) -> Option<LinkerdPolicy> {
        LinkerdPolicy::ALL.into_iter().find(|p| p.as_str() == s)
    }

    /// The policy as Linkerd spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            LinkerdPolicy::AllUnauthenticated => "all-unauthenticated",
            LinkerdPolicy::AllAuthenticated => "all-authenticated",
            LinkerdPolicy::ClusterUnauthenticated => "cluster-unauthenticated",
            LinkerdPolicy::ClusterAuthenticated => "cluster-authenticated",
            LinkerdPolicy::Deny => "deny",
            LinkerdPolicy::Audit => "audit",
        }
    }

    /// Whether only meshed (mTLS-authenticated) clients get in. `deny` admits nobody until
    /// Server/AuthorizationPolicy resources open it (netreach does not read them), so it counts
    /// as authenticated: an unmeshed client is turned away either way.
    pub fn requires_authentication(self) -> bool {
        matches!(self, LinkerdPolicy::AllAuthenticated | LinkerdPolicy::ClusterAuthenticated | LinkerdPolicy::Deny)
    }
}

impl std::fmt::Display for LinkerdPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A `config.linkerd.io/default-inbound-policy` value that names no policy: the value as written.
/// `Debug` prints it as a string literal (`"open"`), as callers quote it in their notes.
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct UnknownLinkerdPolicy(pub String);

impl std::fmt::Debug for UnknownLinkerdPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&self.0, f)
    }
}

/// Linkerd's default inbound policy for a pod: "this cluster-wide default can be overridden for
/// specific resources by setting the annotation `config.linkerd.io/default-inbound-policy` on
/// either a pod spec or its namespace" (the pod's annotation wins, being the more specific).
/// An unknown value is returned as [`UnknownLinkerdPolicy`], and the caller falls back.
pub fn linkerd_policy(
    ns_annotations: &Labels,
    pod: &Pod,
    cluster_default: LinkerdPolicy,
) -> Result<LinkerdPolicy, UnknownLinkerdPolicy> {
    let value = pod
        .annotations
        .get(keys::LINKERD_DEFAULT_INBOUND_POLICY)
        .or_else(|| ns_annotations.get(keys::LINKERD_DEFAULT_INBOUND_POLICY));
    match value {
        None => Ok(cluster_default),
        Some(v) => LinkerdPolicy::parse(v).ok_or_else(|| UnknownLinkerdPolicy(v.clone())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mesh::tests::{labels, pod};

    #[test]
    fn linkerd_policy_pod_then_namespace_then_cluster() {
        // "This cluster-wide default can be overridden for specific resources by setting the
        // annotation config.linkerd.io/default-inbound-policy on either a pod spec or its
        // namespace."
        let ns = labels(&[("config.linkerd.io/default-inbound-policy", "all-authenticated")]);
        let d = LinkerdPolicy::AllUnauthenticated;
        assert_eq!(linkerd_policy(&Labels::new(), &pod(&[], &[]), d), Ok(d));
        assert_eq!(linkerd_policy(&ns, &pod(&[], &[]), d), Ok(LinkerdPolicy::AllAuthenticated));
        let p = pod(&[], &[("config.linkerd.io/default-inbound-policy", "cluster-unauthenticated")]);
        assert_eq!(linkerd_policy(&ns, &p, d), Ok(LinkerdPolicy::ClusterUnauthenticated));
        let bad = pod(&[], &[("config.linkerd.io/default-inbound-policy", "open")]);
        assert_eq!(linkerd_policy(&ns, &bad, d), Err(UnknownLinkerdPolicy("open".into())));
        assert_eq!(format!("{:?}", UnknownLinkerdPolicy("open".into())), "\"open\"");
    }
}
