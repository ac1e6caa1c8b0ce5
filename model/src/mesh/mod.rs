//! Service-mesh settings (Istio, Linkerd) and the rules by which the meshes apply them: which
//! pods are in which mesh (`injection.rs`), which mTLS mode a destination port enforces
//! (`istio.rs`, `linkerd.rs`, `ports.rs`), and what that means for one connection ([`status`]).
//! Pure functions over the model; loaders fill [`MeshConfig`].
//!
//! This module owns the shared vocabulary (mesh kinds, port modes, statuses, the keys the meshes
//! read) and [`status`]. Every precedence rule cites the documentation it follows, in the file
//! that implements it, and has a unit test beside it that cites it again:
//! - Istio sidecar injection: istio.io, "Installing the Sidecar" › "Controlling the injection
//!   policy" (docs/setup/additional-setup/sidecar-injection) — `injection.rs`.
//! - Istio ambient: istio.io, "Add workloads to the mesh" › "Pod selection logic for ambient and
//!   sidecar modes" (docs/ambient/usage/add-workloads) — `injection.rs`, and [`status`].
//! - PeerAuthentication: istio.io, "Security" concepts › "Policy storage", "Selector field",
//!   "Peer authentication" (docs/concepts/security), and the PeerAuthentication reference
//!   (docs/reference/config/security/peer_authentication) — `istio.rs`, and [`status`].
//! - Istio AuthorizationPolicy: the reference (docs/reference/config/security/authorization-policy),
//!   concepts/security › "Authorization", the TCP task, ISTIO-SECURITY-2021-004 — `authz.rs`.
//! - Istio ambient waypoints: "Configure waypoint proxies" (docs/ambient/usage/waypoint) —
//!   `waypoint.rs`.
//! - Linkerd: linkerd.io, "Automatic Proxy Injection" (features/proxy-injection) — `injection.rs`;
//!   "Authorization Policy" › "Default policies" (reference/authorization-policy) — `linkerd.rs`,
//!   and [`status`].

pub mod authz;
mod injection;
mod istio;
mod linkerd;
mod ports;
pub mod waypoint;

pub use injection::{
    is_created, istio_ambient, istio_injects, linkerd_injects, membership, namespace_mesh, Membership, OutsideReason,
};
pub use istio::{oldest_first, IstioPolicy, MeshConfig, MtlsMode, PeerAuthentication, ISTIO_ROOT_NAMESPACE};
pub use linkerd::{linkerd_policy, LinkerdPolicy, UnknownLinkerdPolicy};
pub use ports::{parse_port_list, DestinationModes, PortListError};

/// Labels, annotations and container names the meshes read.
pub mod keys {
    /// Namespace label: `enabled` | `disabled`.
    pub const ISTIO_INJECTION: &str = "istio-injection";
    /// Namespace or pod label naming a control-plane revision: injection with that revision.
    pub const ISTIO_REV: &str = "istio.io/rev";
    /// Pod label (and, deprecated, annotation): `"true"` | `"false"`.
    pub const SIDECAR_INJECT: &str = "sidecar.istio.io/inject";
    /// Annotation the injector writes on the pods it injected.
    pub const SIDECAR_STATUS: &str = "sidecar.istio.io/status";
    /// Namespace or pod label: `ambient` | `none`.
    pub const DATAPLANE_MODE: &str = "istio.io/dataplane-mode";
    /// Pod annotation: inbound ports that bypass the sidecar (`"8080,9090"`, `"*"`).
    pub const ISTIO_EXCLUDE_INBOUND_PORTS: &str = "traffic.sidecar.istio.io/excludeInboundPorts";
    /// The name of Istio's sidecar container.
    pub const ISTIO_PROXY_CONTAINER: &str = "istio-proxy";
    /// Namespace or pod annotation: `enabled` | `ingress` | `disabled`.
    pub const LINKERD_INJECT: &str = "linkerd.io/inject";
    /// The name of Linkerd's proxy container.
    pub const LINKERD_PROXY_CONTAINER: &str = "linkerd-proxy";
    /// Namespace or pod annotation overriding the cluster's default inbound policy.
    pub const LINKERD_DEFAULT_INBOUND_POLICY: &str = "config.linkerd.io/default-inbound-policy";
    /// Namespace or pod annotation: inbound ports that bypass the proxy (`"3306,5000-5010"`).
    pub const LINKERD_SKIP_INBOUND_PORTS: &str = "config.linkerd.io/skip-inbound-ports";
}

/// Which data plane carries a pod's traffic.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MeshKind {
    /// No mesh: the pod's traffic is plain.
    None,
    /// Istio with a sidecar proxy in the pod.
    IstioSidecar,
    /// Istio's ambient mode (the node's ztunnel).
    IstioAmbient,
    /// Linkerd's proxy in the pod.
    Linkerd,
}

impl MeshKind {
    /// Every kind, in output order.
    pub const ALL: [MeshKind; 4] = [MeshKind::None, MeshKind::IstioSidecar, MeshKind::IstioAmbient, MeshKind::Linkerd];

    /// `none`, `istio-sidecar`, `istio-ambient`, `linkerd`: the spelling of every output.
    pub fn as_str(self) -> &'static str {
        match self {
            MeshKind::None => "none",
            MeshKind::IstioSidecar => "istio-sidecar",
            MeshKind::IstioAmbient => "istio-ambient",
            MeshKind::Linkerd => "linkerd",
        }
    }

    /// Whether a mesh carries the pod's traffic.
    pub fn in_mesh(self) -> bool {
        self != MeshKind::None
    }

    /// Speaks Istio mTLS (a sidecar, or ztunnel's HBONE).
    pub fn is_istio(self) -> bool {
        matches!(self, MeshKind::IstioSidecar | MeshKind::IstioAmbient)
    }
}

impl std::fmt::Display for MeshKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Installation-wide settings that manifests do not carry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MeshOptions {
    /// Where mesh-wide PeerAuthentications live (`istio-system` by default).
    pub istio_root_namespace: String,
    /// Linkerd's `proxy.defaultInboundPolicy` (`all-unauthenticated` by default).
    pub linkerd_default_policy: LinkerdPolicy,
    /// Istio's trust domain (`meshConfig.trustDomain`), the first part of every principal.
    pub istio_trust_domain: String,
}

impl Default for MeshOptions {
    fn default() -> MeshOptions {
        MeshOptions {
            istio_root_namespace: ISTIO_ROOT_NAMESPACE.to_string(),
            linkerd_default_policy: LinkerdPolicy::AllUnauthenticated,
            istio_trust_domain: authz::DEFAULT_TRUST_DOMAIN.to_string(),
        }
    }
}

/// The mTLS status of an allowed connection on one port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MtlsStatus {
    /// Both ends in the mesh and the destination requires mTLS on the port.
    Mtls,
    /// Both ends in the mesh, the traffic is mTLS, but the destination also accepts plaintext.
    Permissive,
    /// Plaintext, and the destination accepts it: an end outside the mesh, mTLS disabled on the
    /// port, the port bypassing the proxy, or a protocol the meshes do not carry (UDP, SCTP).
    Plaintext,
    /// The network allows it, but the destination requires mTLS and the source cannot speak it.
    Rejected,
    /// An end is an external address range.
    NotApplicable,
}

impl MtlsStatus {
    /// Every status, in the order reports list them.
    pub const ALL: [MtlsStatus; 5] = [
        MtlsStatus::Mtls,
        MtlsStatus::Permissive,
        MtlsStatus::Plaintext,
        MtlsStatus::Rejected,
        MtlsStatus::NotApplicable,
    ];

    /// The status as JSON and tables spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            MtlsStatus::Mtls => "mtls",
            MtlsStatus::Permissive => "permissive",
            MtlsStatus::Plaintext => "plaintext",
            MtlsStatus::Rejected => "rejected",
            MtlsStatus::NotApplicable => "not-applicable",
        }
    }

    /// Traffic that flows without enforced mTLS: what a coverage report lists.
    pub fn is_gap(self) -> bool {
        matches!(self, MtlsStatus::Plaintext | MtlsStatus::Permissive)
    }
}

impl std::fmt::Display for MtlsStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a destination does with inbound TCP connections on one port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PortMode {
    /// No proxy on the path: the pod is outside the mesh, or the port bypasses the proxy.
    Plain,
    /// An Istio sidecar enforcing this (resolved, never `Unset`) mode.
    IstioSidecar(MtlsMode),
    /// Istio ambient (ztunnel) enforcing this (resolved) mode.
    IstioAmbient(MtlsMode),
    /// A Linkerd proxy with this default inbound policy.
    Linkerd(LinkerdPolicy),
}

/// The status of a TCP connection from a pod of mesh `source` to a destination port in `mode`.
///
/// - Istio: "for peer authentication, Istio automatically upgrades all traffic between two PEPs
///   to mutual TLS. If authentication policies disable mutual TLS mode, Istio continues to use
///   plain text between PEPs"; STRICT: "workloads only accept mutual TLS traffic"; PERMISSIVE:
///   "workloads accept both mutual TLS and plain text traffic" (concepts/security).
/// - Ambient: "setting a PeerAuthentication policy with mTLS mode set to STRICT, in the ambient
///   namespace will cause traffic from outside the mesh to be denied", and STRICT "will allow
///   traffic from a pod with an Istio sidecar proxy" (ambient/usage/add-workloads); "in ambient
///   mode ... DISABLE mode is not supported" (PeerAuthentication reference): ztunnel still
///   tunnels, so DISABLE behaves like PERMISSIVE.
/// - Linkerd: meshed pods talk mTLS to each other; the `*-authenticated` policies "allow
///   traffic from meshed clients", the `*-unauthenticated` ones from "both meshed and non-meshed
///   clients" (reference/authorization-policy). Istio and Linkerd proxies do not speak each
///   other's mTLS.
pub fn status(source: MeshKind, mode: PortMode) -> MtlsStatus {
    match mode {
        PortMode::Plain => MtlsStatus::Plaintext,
        PortMode::IstioSidecar(MtlsMode::Disable) => MtlsStatus::Plaintext,
        PortMode::IstioSidecar(MtlsMode::Strict) | PortMode::IstioAmbient(MtlsMode::Strict) => {
            if source.is_istio() {
                MtlsStatus::Mtls
            } else {
                MtlsStatus::Rejected
            }
        }
        PortMode::IstioSidecar(_) | PortMode::IstioAmbient(_) => {
            if source.is_istio() {
                MtlsStatus::Permissive
            } else {
                MtlsStatus::Plaintext
            }
        }
        PortMode::Linkerd(policy) => match (source == MeshKind::Linkerd, policy.requires_authentication()) {
            (true, true) => MtlsStatus::Mtls,
            (true, false) => MtlsStatus::Permissive,
            (false, true) => MtlsStatus::Rejected,
            (false, false) => MtlsStatus::Plaintext,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{cluster::Pod, labels::Labels};

    /// Labels (or annotations) from pairs.
    pub(super) fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    /// A pod `ns/p` not created yet, with these labels and annotations.
    pub(super) fn pod(pod_labels: &[(&str, &str)], annotations: &[(&str, &str)]) -> Pod {
        let mut p = Pod::new("ns", "p", labels(pod_labels));
        p.annotations = labels(annotations);
        p
    }

    // --- Statuses ------------------------------------------------------------------------------

    #[test]
    fn statuses_for_istio_sidecar_destinations() {
        // STRICT: "Workloads only accept mutual TLS traffic"; PERMISSIVE: "accept both mutual TLS
        // and plain text traffic"; DISABLE: "Istio continues to use plain text between PEPs".
        use MeshKind::*;
        let s = |src, m| status(src, PortMode::IstioSidecar(m));
        assert_eq!(s(IstioSidecar, MtlsMode::Strict), MtlsStatus::Mtls);
        assert_eq!(s(IstioAmbient, MtlsMode::Strict), MtlsStatus::Mtls);
        assert_eq!(s(None, MtlsMode::Strict), MtlsStatus::Rejected);
        assert_eq!(s(Linkerd, MtlsMode::Strict), MtlsStatus::Rejected);
        assert_eq!(s(IstioSidecar, MtlsMode::Permissive), MtlsStatus::Permissive);
        assert_eq!(s(None, MtlsMode::Permissive), MtlsStatus::Plaintext);
        assert_eq!(s(IstioSidecar, MtlsMode::Disable), MtlsStatus::Plaintext);
        assert_eq!(status(IstioSidecar, PortMode::Plain), MtlsStatus::Plaintext);
    }

    #[test]
    fn statuses_for_ambient_destinations() {
        // "STRICT in the ambient namespace will cause traffic from outside the mesh to be
        // denied"; "STRICT will allow traffic from a pod with an Istio sidecar proxy"; DISABLE
        // "is not supported" in ambient: ztunnel still tunnels and accepts plaintext.
        use MeshKind::*;
        let s = |src, m| status(src, PortMode::IstioAmbient(m));
        assert_eq!(s(IstioSidecar, MtlsMode::Strict), MtlsStatus::Mtls);
        assert_eq!(s(None, MtlsMode::Strict), MtlsStatus::Rejected);
        assert_eq!(s(IstioAmbient, MtlsMode::Disable), MtlsStatus::Permissive);
        assert_eq!(s(None, MtlsMode::Disable), MtlsStatus::Plaintext);
    }

    #[test]
    fn statuses_for_linkerd_destinations() {
        // all-authenticated: "allow traffic from meshed clients"; all-unauthenticated: "allow
        // all traffic"; cluster-unauthenticated: "from both meshed and non-meshed clients".
        use MeshKind::*;
        let s = |src, p| status(src, PortMode::Linkerd(p));
        assert_eq!(s(Linkerd, LinkerdPolicy::AllAuthenticated), MtlsStatus::Mtls);
        assert_eq!(s(None, LinkerdPolicy::AllAuthenticated), MtlsStatus::Rejected);
        assert_eq!(s(IstioSidecar, LinkerdPolicy::ClusterAuthenticated), MtlsStatus::Rejected);
        assert_eq!(s(Linkerd, LinkerdPolicy::AllUnauthenticated), MtlsStatus::Permissive);
        assert_eq!(s(None, LinkerdPolicy::ClusterUnauthenticated), MtlsStatus::Plaintext);
        assert_eq!(s(None, LinkerdPolicy::Deny), MtlsStatus::Rejected);
    }
}
