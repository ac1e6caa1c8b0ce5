//! Service-mesh settings (Istio, Linkerd) and the rules by which the meshes apply them: which
//! pods are in which mesh, which mTLS mode a destination port enforces, and what that means for
//! one connection. Pure functions over the model; loaders fill [`MeshConfig`].
//!
//! Every precedence rule cites the documentation it follows, and has a unit test below that
//! cites it again:
//! - Istio sidecar injection: istio.io, "Installing the Sidecar" › "Controlling the injection
//!   policy" (docs/setup/additional-setup/sidecar-injection).
//! - Istio ambient: istio.io, "Add workloads to the mesh" › "Pod selection logic for ambient and
//!   sidecar modes" (docs/ambient/usage/add-workloads).
//! - PeerAuthentication: istio.io, "Security" concepts › "Policy storage", "Selector field",
//!   "Peer authentication" (docs/concepts/security), and the PeerAuthentication reference
//!   (docs/reference/config/security/peer_authentication).
//! - Linkerd: linkerd.io, "Automatic Proxy Injection" (features/proxy-injection) and
//!   "Authorization Policy" › "Default policies" (reference/authorization-policy).

use crate::cluster::Pod;
use crate::labels::Labels;
use std::cmp::Ordering;
use std::collections::BTreeMap;

/// Istio's root namespace unless the installation says otherwise (`meshConfig.rootNamespace`).
pub const ISTIO_ROOT_NAMESPACE: &str = "istio-system";

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
    pub const ISTIO_PROXY_CONTAINER: &str = "istio-proxy";
    /// Namespace or pod annotation: `enabled` | `ingress` | `disabled`.
    pub const LINKERD_INJECT: &str = "linkerd.io/inject";
    pub const LINKERD_PROXY_CONTAINER: &str = "linkerd-proxy";
    /// Namespace or pod annotation overriding the cluster's default inbound policy.
    pub const LINKERD_DEFAULT_INBOUND_POLICY: &str = "config.linkerd.io/default-inbound-policy";
    /// Namespace or pod annotation: inbound ports that bypass the proxy (`"3306,5000-5010"`).
    pub const LINKERD_SKIP_INBOUND_PORTS: &str = "config.linkerd.io/skip-inbound-ports";
}

/// Which data plane carries a pod's traffic.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MeshKind {
    None,
    IstioSidecar,
    IstioAmbient,
    Linkerd,
}

impl MeshKind {
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

/// `PeerAuthentication.MutualTLS.Mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MtlsMode {
    /// Inherit from the parent scope; PERMISSIVE when there is none.
    Unset,
    Disable,
    Permissive,
    Strict,
}

impl MtlsMode {
    pub fn parse(s: &str) -> Option<MtlsMode> {
        match s {
            "UNSET" => Some(MtlsMode::Unset),
            "DISABLE" => Some(MtlsMode::Disable),
            "PERMISSIVE" => Some(MtlsMode::Permissive),
            "STRICT" => Some(MtlsMode::Strict),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            MtlsMode::Unset => "UNSET",
            MtlsMode::Disable => "DISABLE",
            MtlsMode::Permissive => "PERMISSIVE",
            MtlsMode::Strict => "STRICT",
        }
    }
}

impl std::fmt::Display for MtlsMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An Istio `PeerAuthentication` (security.istio.io v1 or v1beta1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerAuthentication {
    pub namespace: String,
    pub name: String,
    /// `spec.selector.matchLabels`; empty when the selector is missing or empty.
    pub selector: Labels,
    /// `spec.mtls.mode`; `Unset` when missing.
    pub mode: MtlsMode,
    /// `spec.portLevelMtls`: container port → mode.
    pub port_modes: BTreeMap<u16, MtlsMode>,
    /// `metadata.creationTimestamp` as the API server writes it (RFC 3339, UTC, so that string
    /// order is time order); `None` for manifests not yet applied.
    pub created: Option<String>,
}

impl PeerAuthentication {
    pub fn id(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    pub fn has_selector(&self) -> bool {
        !self.selector.is_empty()
    }

    pub fn selects(&self, labels: &Labels) -> bool {
        self.selector.iter().all(|(k, v)| labels.get(k) == Some(v))
    }
}

/// "Oldest first": by creation time (objects not yet created are the newest), then by
/// namespace and name so that the answer never depends on input order.
pub fn oldest_first(a: &PeerAuthentication, b: &PeerAuthentication) -> Ordering {
    let created = match (&a.created, &b.created) {
        (Some(x), Some(y)) => x.cmp(y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    };
    created.then_with(|| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)))
}

/// Mesh settings read from the cluster besides pod labels and annotations.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MeshConfig {
    /// Sorted by namespace and name.
    pub peer_authentications: Vec<PeerAuthentication>,
    /// `metadata.annotations` of the namespaces that have any (Linkerd reads its settings
    /// there), by namespace name.
    pub namespace_annotations: BTreeMap<String, Labels>,
}

/// Linkerd's default inbound policy (`proxy.defaultInboundPolicy`, or the
/// `config.linkerd.io/default-inbound-policy` annotation).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LinkerdPolicy {
    AllUnauthenticated,
    AllAuthenticated,
    ClusterUnauthenticated,
    ClusterAuthenticated,
    Deny,
    Audit,
}

impl LinkerdPolicy {
    pub const ALL: [LinkerdPolicy; 6] = [
        LinkerdPolicy::AllUnauthenticated,
        LinkerdPolicy::AllAuthenticated,
        LinkerdPolicy::ClusterUnauthenticated,
        LinkerdPolicy::ClusterAuthenticated,
        LinkerdPolicy::Deny,
        LinkerdPolicy::Audit,
    ];

    pub fn parse(s: &str) -> Option<LinkerdPolicy> {
        LinkerdPolicy::ALL.into_iter().find(|p| p.as_str() == s)
    }

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

/// Installation-wide settings that manifests do not carry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MeshOptions {
    /// Where mesh-wide PeerAuthentications live (`istio-system` by default).
    pub istio_root_namespace: String,
    /// Linkerd's `proxy.defaultInboundPolicy` (`all-unauthenticated` by default).
    pub linkerd_default_policy: LinkerdPolicy,
}

impl Default for MeshOptions {
    fn default() -> MeshOptions {
        MeshOptions {
            istio_root_namespace: ISTIO_ROOT_NAMESPACE.to_string(),
            linkerd_default_policy: LinkerdPolicy::AllUnauthenticated,
        }
    }
}

/// The mTLS status of an allowed connection on one port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Status {
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

impl Status {
    pub const ALL: [Status; 5] =
        [Status::Mtls, Status::Permissive, Status::Plaintext, Status::Rejected, Status::NotApplicable];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Mtls => "mtls",
            Status::Permissive => "permissive",
            Status::Plaintext => "plaintext",
            Status::Rejected => "rejected",
            Status::NotApplicable => "not-applicable",
        }
    }

    /// Traffic that flows without enforced mTLS: what a coverage report lists.
    pub fn is_gap(self) -> bool {
        matches!(self, Status::Plaintext | Status::Permissive)
    }
}

impl std::fmt::Display for Status {
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
pub fn status(source: MeshKind, mode: PortMode) -> Status {
    match mode {
        PortMode::Plain => Status::Plaintext,
        PortMode::IstioSidecar(MtlsMode::Disable) => Status::Plaintext,
        PortMode::IstioSidecar(MtlsMode::Strict) | PortMode::IstioAmbient(MtlsMode::Strict) => {
            if source.is_istio() {
                Status::Mtls
            } else {
                Status::Rejected
            }
        }
        PortMode::IstioSidecar(_) | PortMode::IstioAmbient(_) => {
            if source.is_istio() {
                Status::Permissive
            } else {
                Status::Plaintext
            }
        }
        PortMode::Linkerd(policy) => match (source == MeshKind::Linkerd, policy.requires_authentication()) {
            (true, true) => Status::Mtls,
            (true, false) => Status::Permissive,
            (false, true) => Status::Rejected,
            (false, false) => Status::Plaintext,
        },
    }
}

/// Why a pod is outside the mesh its namespace enables.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OutsideReason {
    /// hostNetwork pods are never injected (and ztunnel cannot capture them).
    HostNetwork,
    /// The pod opts out: the label or annotation, as `key=value`.
    OptedOut(String),
    /// A running pod without the proxy although its namespace would inject it now: it was
    /// created before injection was enabled and has not been restarted since.
    NotRestarted,
}

impl std::fmt::Display for OutsideReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OutsideReason::HostNetwork => f.write_str("hostNetwork (never injected)"),
            OutsideReason::OptedOut(how) => write!(f, "opted out ({how})"),
            OutsideReason::NotRestarted => f.write_str("created before injection was enabled (restart it)"),
        }
    }
}

/// A pod's place in the meshes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Membership {
    pub kind: MeshKind,
    /// The mesh the pod's namespace enables for its pods, if any.
    pub namespace_mesh: Option<MeshKind>,
    /// Set when the pod is outside the mesh although its namespace enables one.
    pub outside: Option<OutsideReason>,
}

/// A namespace or pod injection setting: explicitly on, explicitly off, or not said.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Setting {
    On,
    /// Off, with the `key=value` that says so.
    Off(String),
    Unset,
}

/// Istio's namespace-level sidecar injection setting. "If the `istio-injection` label and the
/// `istio.io/rev` label are both present on the same namespace, the `istio-injection` label will
/// take precedence."
fn istio_namespace_injection(ns_labels: &Labels) -> Setting {
    match ns_labels.get(keys::ISTIO_INJECTION).map(String::as_str) {
        Some("enabled") => Setting::On,
        Some(v @ "disabled") => Setting::Off(format!("{}={v}", keys::ISTIO_INJECTION)),
        Some(_) => Setting::Unset,
        None if ns_labels.contains_key(keys::ISTIO_REV) => Setting::On,
        None => Setting::Unset,
    }
}

/// Istio's pod-level setting: the `sidecar.istio.io/inject` label, else an `istio.io/rev` label,
/// else the deprecated annotation. The webhook only selects pods by label, so the annotation can
/// turn injection off where the namespace turns it on, never on by itself.
fn istio_pod_injection(pod: &Pod) -> Setting {
    match pod.labels.get(keys::SIDECAR_INJECT).map(String::as_str) {
        Some("true") => return Setting::On,
        Some(v @ "false") => return Setting::Off(format!("{}={v}", keys::SIDECAR_INJECT)),
        _ => {}
    }
    if pod.labels.contains_key(keys::ISTIO_REV) {
        return Setting::On;
    }
    match pod.annotations.get(keys::SIDECAR_INJECT).map(String::as_str) {
        Some(v @ "false") => Setting::Off(format!("{}={v} (annotation)", keys::SIDECAR_INJECT)),
        _ => Setting::Unset,
    }
}

/// Whether Istio's injector injects a sidecar into `pod` when it is created ("Controlling the
/// injection policy"): "1. If either label is disabled, the pod is not injected; 2. If either
/// label is enabled, the pod is injected; 3. If neither label is set, the pod is injected if
/// `.values.sidecarInjectorWebhook.enableNamespacesByDefault` is enabled. This is not enabled by
/// default" (netreach assumes the default). hostNetwork pods are never injected.
pub fn istio_injects(ns_labels: &Labels, pod: &Pod) -> bool {
    if pod.host_network {
        return false;
    }
    match (istio_namespace_injection(ns_labels), istio_pod_injection(pod)) {
        (Setting::Off(_), _) | (_, Setting::Off(_)) => false,
        (Setting::On, _) | (_, Setting::On) => true,
        _ => false,
    }
}

/// Whether ambient mode captures `pod` ("Pod selection logic for ambient and sidecar modes"):
/// "the namespace or pod has the label `istio.io/dataplane-mode=ambient`; the pod does not have
/// the opt-out label `istio.io/dataplane-mode=none`; the annotation `sidecar.istio.io/status` is
/// not present on the pod", the pod label having precedence over the namespace's. Sidecar
/// injection takes precedence: callers check for a sidecar first.
pub fn istio_ambient(ns_labels: &Labels, pod: &Pod) -> bool {
    if pod.host_network || pod.annotations.contains_key(keys::SIDECAR_STATUS) {
        return false;
    }
    match pod.labels.get(keys::DATAPLANE_MODE).map(String::as_str) {
        Some("ambient") => true,
        Some("none") => false,
        _ => ns_labels.get(keys::DATAPLANE_MODE).map(String::as_str) == Some("ambient"),
    }
}

fn linkerd_setting(annotations: &Labels) -> Setting {
    match annotations.get(keys::LINKERD_INJECT).map(String::as_str) {
        Some("enabled" | "ingress") => Setting::On,
        Some(v @ "disabled") => Setting::Off(format!("{}={v}", keys::LINKERD_INJECT)),
        _ => Setting::Unset,
    }
}

/// Whether Linkerd's proxy injector injects `pod` ("Automatic Proxy Injection"): when "the
/// `linkerd.io/inject: enabled` annotation is present on a namespace or any workloads", and
/// "automatic injection can be disabled for a pod or deployment for which it would otherwise be
/// enabled, by adding the `linkerd.io/inject: disabled` annotation" (`ingress` injects in ingress
/// mode). The injector refuses hostNetwork pods.
pub fn linkerd_injects(ns_annotations: &Labels, pod: &Pod) -> bool {
    if pod.host_network {
        return false;
    }
    match linkerd_setting(&pod.annotations) {
        Setting::On => true,
        Setting::Off(_) => false,
        Setting::Unset => linkerd_setting(ns_annotations) == Setting::On,
    }
}

/// Linkerd's default inbound policy for a pod: "this cluster-wide default can be overridden for
/// specific resources by setting the annotation `config.linkerd.io/default-inbound-policy` on
/// either a pod spec or its namespace" (the pod's annotation wins, being the more specific).
/// An unknown value is returned as `Err` with the value, and the caller falls back.
pub fn linkerd_policy(
    ns_annotations: &Labels,
    pod: &Pod,
    cluster_default: LinkerdPolicy,
) -> Result<LinkerdPolicy, String> {
    let value = pod
        .annotations
        .get(keys::LINKERD_DEFAULT_INBOUND_POLICY)
        .or_else(|| ns_annotations.get(keys::LINKERD_DEFAULT_INBOUND_POLICY));
    match value {
        None => Ok(cluster_default),
        Some(v) => LinkerdPolicy::parse(v).ok_or_else(|| v.clone()),
    }
}

/// True for a pod that exists (was read from a running cluster) rather than one to be created
/// from a manifest or synthesized from a controller's template: injection only happens at
/// creation, so such a pod's containers are the truth.
pub fn is_created(pod: &Pod) -> bool {
    !pod.synthesized && (!pod.ips.is_empty() || pod.node.is_some())
}

fn has_container(pod: &Pod, name: &str) -> bool {
    pod.containers.iter().any(|c| c == name)
}

/// The mesh a namespace turns on for its pods, if any (a sidecar before ambient, as injection
/// takes precedence; Istio before Linkerd).
pub fn namespace_mesh(ns_labels: &Labels, ns_annotations: &Labels) -> Option<MeshKind> {
    if istio_namespace_injection(ns_labels) == Setting::On {
        Some(MeshKind::IstioSidecar)
    } else if ns_labels.get(keys::DATAPLANE_MODE).map(String::as_str) == Some("ambient") {
        Some(MeshKind::IstioAmbient)
    } else if linkerd_setting(ns_annotations) == Setting::On {
        Some(MeshKind::Linkerd)
    } else {
        None
    }
}

/// Which mesh carries `pod`'s traffic, and, for a pod outside the mesh of its namespace, why.
///
/// Evidence first: an `istio-proxy` container or a `sidecar.istio.io/status` annotation is an
/// Istio sidecar, a `linkerd-proxy` container is Linkerd. A pod not created yet (a manifest, a
/// controller's template) gets what the injectors would give it at creation; a created pod
/// without a proxy stays without one (injection only happens at creation), but ambient mode
/// captures pods at any time. hostNetwork pods are never in a mesh.
pub fn membership(ns_labels: &Labels, ns_annotations: &Labels, pod: &Pod) -> Membership {
    let namespace_mesh = namespace_mesh(ns_labels, ns_annotations);
    let kind = if pod.host_network {
        MeshKind::None
    } else if has_container(pod, keys::ISTIO_PROXY_CONTAINER) || pod.annotations.contains_key(keys::SIDECAR_STATUS) {
        MeshKind::IstioSidecar
    } else if has_container(pod, keys::LINKERD_PROXY_CONTAINER) {
        MeshKind::Linkerd
    } else if !is_created(pod) && istio_injects(ns_labels, pod) {
        MeshKind::IstioSidecar
    } else if !is_created(pod) && linkerd_injects(ns_annotations, pod) {
        MeshKind::Linkerd
    } else if istio_ambient(ns_labels, pod) {
        MeshKind::IstioAmbient
    } else {
        MeshKind::None
    };
    let outside = match (kind, namespace_mesh) {
        (MeshKind::None, Some(ns_kind)) => Some(if pod.host_network {
            OutsideReason::HostNetwork
        } else {
            match ns_kind {
                MeshKind::IstioSidecar => match istio_pod_injection(pod) {
                    Setting::Off(how) => OutsideReason::OptedOut(how),
                    _ => OutsideReason::NotRestarted,
                },
                MeshKind::Linkerd => match linkerd_setting(&pod.annotations) {
                    Setting::Off(how) => OutsideReason::OptedOut(how),
                    _ => OutsideReason::NotRestarted,
                },
                // Ambient needs no restart: only the opt-out label keeps a pod out.
                _ => OutsideReason::OptedOut(format!("{}=none", keys::DATAPLANE_MODE)),
            }
        }),
        _ => None,
    };
    Membership { kind, namespace_mesh, outside }
}

/// The PeerAuthentications that decide a workload's mTLS mode, and the result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IstioPolicy {
    /// The workload's mode (never `Unset`: PERMISSIVE when nothing sets it).
    pub mode: MtlsMode,
    /// Port-level modes of the workload-specific policy, resolved (never `Unset`).
    pub port_modes: BTreeMap<u16, MtlsMode>,
    /// Indices into [`MeshConfig::peer_authentications`] of the deciding policies.
    pub mesh_wide: Option<usize>,
    pub namespace_wide: Option<usize>,
    pub workload: Option<usize>,
    /// Workload-specific policies that also select the workload but are newer (ignored).
    pub shadowed: Vec<usize>,
}

impl MeshConfig {
    /// The oldest policy among `candidates` (indices), and the others.
    fn oldest(&self, mut candidates: Vec<usize>) -> (Option<usize>, Vec<usize>) {
        candidates.sort_by(|&a, &b| oldest_first(&self.peer_authentications[a], &self.peer_authentications[b]));
        let first = candidates.first().copied();
        (first, candidates.into_iter().skip(1).collect())
    }

    /// The mesh-wide policy: in the root namespace without a selector, the oldest if several.
    pub fn mesh_wide(&self, root: &str) -> (Option<usize>, Vec<usize>) {
        self.oldest(self.indices(|p| p.namespace == root && !p.has_selector()))
    }

    /// The namespace-wide policy of `namespace` (not the root): without a selector, the oldest.
    pub fn namespace_wide(&self, root: &str, namespace: &str) -> (Option<usize>, Vec<usize>) {
        if namespace == root {
            return (None, Vec::new());
        }
        self.oldest(self.indices(|p| p.namespace == namespace && !p.has_selector()))
    }

    fn indices(&self, keep: impl Fn(&PeerAuthentication) -> bool) -> Vec<usize> {
        (0..self.peer_authentications.len()).filter(|&i| keep(&self.peer_authentications[i])).collect()
    }

    /// The mTLS mode Istio applies to a workload of `namespace` with `labels`.
    ///
    /// "Istio applies the narrowest matching policy for each workload using the following order: 1.
    /// workload-specific 2. namespace-wide 3. mesh-wide"; "there can be only one mesh-wide
    /// peer authentication policy, and only one namespace-wide peer authentication policy per
    /// namespace. When you configure multiple ... Istio ignores the newer policies. When more
    /// than one workload-specific peer authentication policy matches, Istio picks the oldest
    /// one"; "when the mode is unset, the mode of the parent scope is inherited. Mesh-wide peer
    /// authentication policies with an unset mode use the PERMISSIVE mode by default" (concepts/
    /// security). "PeerAuthentication policies with workload selectors are ignored when deployed
    /// in the root namespace", and port-level settings "only apply when a workload selector is
    /// specified" (PeerAuthentication reference); a port-level UNSET inherits the workload's mode.
    pub fn istio_policy(&self, root: &str, namespace: &str, labels: &Labels) -> IstioPolicy {
        let (mesh_wide, _) = self.mesh_wide(root);
        let (namespace_wide, _) = self.namespace_wide(root, namespace);
        let (workload, shadowed) = if namespace == root {
            (None, Vec::new())
        } else {
            self.oldest(self.indices(|p| p.namespace == namespace && p.has_selector() && p.selects(labels)))
        };
        let pa = |i: Option<usize>| i.map(|i| &self.peer_authentications[i]);
        let mode = [pa(workload), pa(namespace_wide), pa(mesh_wide)]
            .into_iter()
            .flatten()
            .map(|p| p.mode)
            .find(|m| *m != MtlsMode::Unset)
            .unwrap_or(MtlsMode::Permissive);
        let port_modes = pa(workload)
            .map(|p| {
                p.port_modes.iter().map(|(&port, &m)| (port, if m == MtlsMode::Unset { mode } else { m })).collect()
            })
            .unwrap_or_default();
        IstioPolicy { mode, port_modes, mesh_wide, namespace_wide, workload, shadowed }
    }
}

/// Parses a port list annotation: `"80,8080-8090"` (and `"*"` for every port, returned as
/// 1-65535). Ranges are inclusive; spaces are allowed around entries.
pub fn parse_port_list(value: &str) -> Result<Vec<(u16, u16)>, String> {
    let mut out = Vec::new();
    for part in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        if part == "*" {
            out.push((1, 65535));
            continue;
        }
        let port = |s: &str| {
            s.trim().parse::<u16>().ok().filter(|&p| p > 0).ok_or_else(|| format!("invalid port {s:?} in {value:?}"))
        };
        match part.split_once('-') {
            Some((lo, hi)) => {
                let (lo, hi) = (port(lo)?, port(hi)?);
                if lo > hi {
                    return Err(format!("invalid port range {part:?} in {value:?}"));
                }
                out.push((lo, hi));
            }
            None => {
                let p = port(part)?;
                out.push((p, p));
            }
        }
    }
    Ok(out)
}

/// A destination pod's TCP ports: a default mode and exceptions, per port range.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DestinationModes {
    pub default: PortMode,
    /// Inclusive ranges, sorted and disjoint, whose mode differs from `default`.
    pub exceptions: Vec<(u16, u16, PortMode)>,
}

impl DestinationModes {
    pub fn uniform(mode: PortMode) -> DestinationModes {
        DestinationModes { default: mode, exceptions: Vec::new() }
    }

    /// `default`, then each `(lo, hi, mode)` laid over what came before (later wins).
    pub fn layered(default: PortMode, layers: impl IntoIterator<Item = (u16, u16, PortMode)>) -> DestinationModes {
        let mut out = DestinationModes::uniform(default);
        for (lo, hi, mode) in layers {
            let mut next: Vec<(u16, u16, PortMode)> = Vec::new();
            for &(a, b, m) in &out.exceptions {
                if b < lo || a > hi {
                    next.push((a, b, m));
                    continue;
                }
                if a < lo {
                    next.push((a, lo - 1, m));
                }
                if b > hi {
                    next.push((hi + 1, b, m));
                }
            }
            if mode != default {
                next.push((lo, hi, mode));
            }
            next.sort();
            out.exceptions = next;
        }
        out
    }

    pub fn mode_at(&self, port: u16) -> PortMode {
        self.exceptions.iter().find(|(lo, hi, _)| (*lo..=*hi).contains(&port)).map_or(self.default, |e| e.2)
    }

    /// Every TCP port, as consecutive `(lo, hi, mode)` pieces from 1 to 65535.
    pub fn pieces(&self) -> Vec<(u16, u16, PortMode)> {
        let mut out = Vec::new();
        let mut next: u32 = 1;
        for &(lo, hi, mode) in &self.exceptions {
            if (lo as u32) > next {
                out.push((next as u16, lo - 1, self.default));
            }
            out.push((lo, hi, mode));
            next = hi as u32 + 1;
        }
        if next <= 65535 {
            out.push((next as u16, 65535, self.default));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn pod(pod_labels: &[(&str, &str)], annotations: &[(&str, &str)]) -> Pod {
        let mut p = Pod::new("ns", "p", labels(pod_labels));
        p.annotations = labels(annotations);
        p
    }

    fn created(mut p: Pod) -> Pod {
        p.ips = vec!["10.0.0.1".parse().unwrap()];
        p
    }

    fn pa(
        ns: &str,
        name: &str,
        selector: &[(&str, &str)],
        mode: MtlsMode,
        ports: &[(u16, MtlsMode)],
        created: Option<&str>,
    ) -> PeerAuthentication {
        PeerAuthentication {
            namespace: ns.into(),
            name: name.into(),
            selector: labels(selector),
            mode,
            port_modes: ports.iter().copied().collect(),
            created: created.map(str::to_string),
        }
    }

    fn config(pas: Vec<PeerAuthentication>) -> MeshConfig {
        MeshConfig { peer_authentications: pas, ..Default::default() }
    }

    const ENABLED: &[(&str, &str)] = &[("istio-injection", "enabled")];
    const DISABLED: &[(&str, &str)] = &[("istio-injection", "disabled")];

    // --- Istio sidecar injection: "Controlling the injection policy" -------------------------

    #[test]
    fn injection_namespace_label_enables() {
        // "When you set the istio-injection=enabled label on a namespace ... any new pods that
        // are created will automatically have a sidecar added to them."
        assert!(istio_injects(&labels(ENABLED), &pod(&[], &[])));
        assert!(!istio_injects(&Labels::new(), &pod(&[], &[])));
    }

    #[test]
    fn injection_either_disabled_wins() {
        // "1. If either label is disabled, the pod is not injected" — also when the other is
        // enabled, in both directions.
        assert!(!istio_injects(&labels(ENABLED), &pod(&[("sidecar.istio.io/inject", "false")], &[])));
        assert!(!istio_injects(&labels(DISABLED), &pod(&[("sidecar.istio.io/inject", "true")], &[])));
        assert!(!istio_injects(&labels(DISABLED), &pod(&[("istio.io/rev", "canary")], &[])));
    }

    #[test]
    fn injection_either_enabled_injects() {
        // "2. If either label is enabled, the pod is injected": a pod label in an unlabelled
        // namespace, and a revision label on the namespace or the pod.
        assert!(istio_injects(&Labels::new(), &pod(&[("sidecar.istio.io/inject", "true")], &[])));
        assert!(istio_injects(&labels(&[("istio.io/rev", "canary")]), &pod(&[], &[])));
        assert!(istio_injects(&Labels::new(), &pod(&[("istio.io/rev", "canary")], &[])));
    }

    #[test]
    fn injection_neither_set_is_not_injected() {
        // "3. If neither label is set, the pod is injected if
        // .values.sidecarInjectorWebhook.enableNamespacesByDefault is enabled. This is not
        // enabled by default" — netreach assumes the default.
        assert!(!istio_injects(&labels(&[("team", "x")]), &pod(&[("app", "x")], &[])));
    }

    #[test]
    fn injection_label_beats_revision_on_namespace() {
        // "If the istio-injection label and the istio.io/rev label are both present on the same
        // namespace, the istio-injection label will take precedence."
        let ns = labels(&[("istio-injection", "disabled"), ("istio.io/rev", "canary")]);
        assert!(!istio_injects(&ns, &pod(&[], &[])));
    }

    #[test]
    fn injection_annotation_only_opts_out() {
        // The table lists the pod *label* `sidecar.istio.io/inject`; the older annotation is
        // still honoured by the injector once the webhook runs (namespace enabled), so it can
        // opt out there, but the webhook selects pods by label, so it cannot opt in alone.
        assert!(!istio_injects(&labels(ENABLED), &pod(&[], &[("sidecar.istio.io/inject", "false")])));
        assert!(!istio_injects(&Labels::new(), &pod(&[], &[("sidecar.istio.io/inject", "true")])));
        // The label wins over the annotation.
        assert!(istio_injects(
            &labels(ENABLED),
            &pod(&[("sidecar.istio.io/inject", "true")], &[("sidecar.istio.io/inject", "false")])
        ));
    }

    #[test]
    fn host_network_pods_are_never_injected() {
        let mut p = pod(&[("sidecar.istio.io/inject", "true")], &[("linkerd.io/inject", "enabled")]);
        p.host_network = true;
        assert!(!istio_injects(&labels(ENABLED), &p));
        assert!(!linkerd_injects(&labels(&[("linkerd.io/inject", "enabled")]), &p));
        assert!(!istio_ambient(&labels(&[("istio.io/dataplane-mode", "ambient")]), &p));
        let m = membership(&labels(ENABLED), &Labels::new(), &p);
        assert_eq!((m.kind, m.outside), (MeshKind::None, Some(OutsideReason::HostNetwork)));
    }

    // --- Ambient: "Pod selection logic for ambient and sidecar modes" -------------------------

    #[test]
    fn ambient_namespace_or_pod_label() {
        // "ambient mode is used for a pod if the namespace or pod has the label
        // istio.io/dataplane-mode=ambient".
        assert!(istio_ambient(&labels(&[("istio.io/dataplane-mode", "ambient")]), &pod(&[], &[])));
        assert!(istio_ambient(&Labels::new(), &pod(&[("istio.io/dataplane-mode", "ambient")], &[])));
        assert!(!istio_ambient(&Labels::new(), &pod(&[], &[])));
    }

    #[test]
    fn ambient_pod_opt_out_label() {
        // "The pod does not have the opt-out label istio.io/dataplane-mode=none"; the pod label
        // has precedence over the namespace's (label reference).
        let ns = labels(&[("istio.io/dataplane-mode", "ambient")]);
        let p = pod(&[("istio.io/dataplane-mode", "none")], &[]);
        assert!(!istio_ambient(&ns, &p));
        let m = membership(&ns, &Labels::new(), &p);
        assert_eq!(m.kind, MeshKind::None);
        assert_eq!(m.outside, Some(OutsideReason::OptedOut("istio.io/dataplane-mode=none".into())));
    }

    #[test]
    fn sidecar_takes_precedence_over_ambient() {
        // "The annotation sidecar.istio.io/status is not present on the pod", and "if this does
        // occur, currently sidecar injection takes precedence for such a pod or namespace".
        let ns = labels(&[("istio.io/dataplane-mode", "ambient"), ("istio-injection", "enabled")]);
        assert!(!istio_ambient(&ns, &pod(&[], &[("sidecar.istio.io/status", "{}")])));
        assert_eq!(membership(&ns, &Labels::new(), &pod(&[], &[])).kind, MeshKind::IstioSidecar);
    }

    #[test]
    fn ambient_captures_running_pods_without_restart() {
        // "Unlike when operating in sidecar mode, there is no need to restart applications to add
        // them to the mesh": a created pod in an ambient namespace is in; a created pod in a
        // sidecar namespace without the proxy is not (injection happens at pod creation).
        let p = created(pod(&[], &[]));
        assert_eq!(
            membership(&labels(&[("istio.io/dataplane-mode", "ambient")]), &Labels::new(), &p).kind,
            MeshKind::IstioAmbient
        );
        let m = membership(&labels(ENABLED), &Labels::new(), &p);
        assert_eq!((m.kind, m.outside), (MeshKind::None, Some(OutsideReason::NotRestarted)));
    }

    #[test]
    fn evidence_of_injection_counts_whatever_the_labels() {
        // An injected pod shows the `istio-proxy` container ("You should see the injected
        // istio-proxy container") and the injector's status annotation; Linkerd adds
        // `linkerd-proxy` ("For each pod, two containers are injected").
        let mut p = created(pod(&[], &[]));
        p.containers = vec!["app".into(), "istio-proxy".into()];
        assert_eq!(membership(&Labels::new(), &Labels::new(), &p).kind, MeshKind::IstioSidecar);
        p.containers = vec!["app".into(), "linkerd-proxy".into()];
        assert_eq!(membership(&Labels::new(), &Labels::new(), &p).kind, MeshKind::Linkerd);
        let p = created(pod(&[], &[("sidecar.istio.io/status", "{}")]));
        assert_eq!(membership(&Labels::new(), &Labels::new(), &p).kind, MeshKind::IstioSidecar);
    }

    // --- PeerAuthentication: concepts/security and the reference ------------------------------

    const ROOT: &str = "istio-system";

    #[test]
    fn no_peer_authentication_is_permissive() {
        // "Mesh-wide peer authentication policies with an unset mode use the PERMISSIVE mode by
        // default" — and without any policy Istio's default is PERMISSIVE.
        assert_eq!(MeshConfig::default().istio_policy(ROOT, "a", &Labels::new()).mode, MtlsMode::Permissive);
        let c = config(vec![pa(ROOT, "default", &[], MtlsMode::Unset, &[], None)]);
        assert_eq!(c.istio_policy(ROOT, "a", &Labels::new()).mode, MtlsMode::Permissive);
    }

    #[test]
    fn narrowest_policy_wins() {
        // "Istio applies the narrowest matching policy for each workload using the following
        // order: 1. workload-specific 2. namespace-wide 3. mesh-wide".
        let c = config(vec![
            pa(ROOT, "default", &[], MtlsMode::Strict, &[], None),
            pa("a", "default", &[], MtlsMode::Permissive, &[], None),
            pa("a", "finance", &[("app", "finance")], MtlsMode::Disable, &[], None),
        ]);
        assert_eq!(c.istio_policy(ROOT, "a", &labels(&[("app", "finance")])).mode, MtlsMode::Disable);
        assert_eq!(c.istio_policy(ROOT, "a", &labels(&[("app", "web")])).mode, MtlsMode::Permissive);
        assert_eq!(c.istio_policy(ROOT, "b", &labels(&[("app", "finance")])).mode, MtlsMode::Strict);
    }

    #[test]
    fn unset_inherits_from_parent_scope() {
        // "When the mode is unset, the mode of the parent scope is inherited."
        let c = config(vec![
            pa(ROOT, "default", &[], MtlsMode::Strict, &[], None),
            pa("a", "default", &[], MtlsMode::Unset, &[], None),
            pa("a", "w", &[("app", "w")], MtlsMode::Unset, &[], None),
        ]);
        assert_eq!(c.istio_policy(ROOT, "a", &labels(&[("app", "w")])).mode, MtlsMode::Strict);
    }

    #[test]
    fn port_level_overrides_and_unset_port_inherits() {
        // Reference: "Policy that enables strict mTLS for all finance workloads, but leaves the
        // port 8080 to plaintext" (portLevelMtls 8080: DISABLE), and "Policy that inherits mTLS
        // mode from namespace (or mesh) settings, and disables mTLS for workload port 8080"
        // (mtls.mode UNSET with a port-level DISABLE).
        let c = config(vec![
            pa(ROOT, "default", &[], MtlsMode::Strict, &[], None),
            pa(
                "foo",
                "finance",
                &[("app", "finance")],
                MtlsMode::Unset,
                &[(8080, MtlsMode::Disable), (9090, MtlsMode::Unset)],
                None,
            ),
        ]);
        let p = c.istio_policy(ROOT, "foo", &labels(&[("app", "finance")]));
        assert_eq!(p.mode, MtlsMode::Strict);
        assert_eq!(p.port_modes, [(8080, MtlsMode::Disable), (9090, MtlsMode::Strict)].into_iter().collect());
    }

    #[test]
    fn port_level_needs_a_selector() {
        // Reference: portLevelMtls "These only apply when a workload selector is specified"
        // (istiod's validation rejects them on mesh/namespace policies).
        let c = config(vec![pa("foo", "default", &[], MtlsMode::Strict, &[(8080, MtlsMode::Disable)], None)]);
        let p = c.istio_policy(ROOT, "foo", &Labels::new());
        assert_eq!((p.mode, p.port_modes.len()), (MtlsMode::Strict, 0));
    }

    #[test]
    fn oldest_namespace_or_mesh_wide_policy_wins() {
        // "When you configure multiple mesh- or namespace-wide peer authentication policies for
        // the same mesh or namespace, Istio ignores the newer policies."
        let c = config(vec![
            pa(ROOT, "a-new", &[], MtlsMode::Disable, &[], Some("2024-05-01T00:00:00Z")),
            pa(ROOT, "z-old", &[], MtlsMode::Strict, &[], Some("2023-01-01T00:00:00Z")),
            pa("n", "new", &[], MtlsMode::Disable, &[], Some("2024-05-01T00:00:00Z")),
            pa("n", "old", &[], MtlsMode::Permissive, &[], Some("2023-01-01T00:00:00Z")),
        ]);
        assert_eq!(c.istio_policy(ROOT, "m", &Labels::new()).mode, MtlsMode::Strict);
        assert_eq!(c.istio_policy(ROOT, "n", &Labels::new()).mode, MtlsMode::Permissive);
        // Not yet created (a manifest) is newer than anything that exists.
        let c = config(vec![
            pa("n", "a", &[], MtlsMode::Disable, &[], None),
            pa("n", "b", &[], MtlsMode::Strict, &[], Some("2023-01-01T00:00:00Z")),
        ]);
        assert_eq!(c.istio_policy(ROOT, "n", &Labels::new()).mode, MtlsMode::Strict);
    }

    #[test]
    fn oldest_workload_policy_wins() {
        // "When more than one workload-specific peer authentication policy matches, Istio picks
        // the oldest one."
        let c = config(vec![
            pa("n", "new", &[("app", "x")], MtlsMode::Disable, &[], Some("2024-05-01T00:00:00Z")),
            pa("n", "old", &[("tier", "db")], MtlsMode::Strict, &[], Some("2023-01-01T00:00:00Z")),
        ]);
        let p = c.istio_policy(ROOT, "n", &labels(&[("app", "x"), ("tier", "db")]));
        assert_eq!(p.mode, MtlsMode::Strict);
        assert_eq!((p.workload, p.shadowed.clone()), (Some(1), vec![0]));
    }

    #[test]
    fn selector_policies_in_root_namespace_are_ignored() {
        // Reference: "PeerAuthentication policies with workload selectors are ignored when
        // deployed in the root namespace"; a policy elsewhere applies to its namespace only
        // ("Policies that have a namespace scope ... only apply to workloads within their
        // namespace").
        let c = config(vec![
            pa(ROOT, "sel", &[("app", "x")], MtlsMode::Strict, &[], None),
            pa("other", "default", &[], MtlsMode::Strict, &[], None),
        ]);
        assert_eq!(c.istio_policy(ROOT, "n", &labels(&[("app", "x")])).mode, MtlsMode::Permissive);
        assert_eq!(c.istio_policy(ROOT, ROOT, &labels(&[("app", "x")])).mode, MtlsMode::Permissive);
        // The root namespace is configurable: the same policy is mesh-wide under another root.
        let c = config(vec![pa("mesh-root", "default", &[], MtlsMode::Strict, &[], None)]);
        assert_eq!(c.istio_policy("mesh-root", "n", &Labels::new()).mode, MtlsMode::Strict);
        assert_eq!(c.istio_policy(ROOT, "n", &Labels::new()).mode, MtlsMode::Permissive);
    }

    // --- Statuses ------------------------------------------------------------------------------

    #[test]
    fn statuses_for_istio_sidecar_destinations() {
        // STRICT: "Workloads only accept mutual TLS traffic"; PERMISSIVE: "accept both mutual TLS
        // and plain text traffic"; DISABLE: "Istio continues to use plain text between PEPs".
        use MeshKind::*;
        let s = |src, m| status(src, PortMode::IstioSidecar(m));
        assert_eq!(s(IstioSidecar, MtlsMode::Strict), Status::Mtls);
        assert_eq!(s(IstioAmbient, MtlsMode::Strict), Status::Mtls);
        assert_eq!(s(None, MtlsMode::Strict), Status::Rejected);
        assert_eq!(s(Linkerd, MtlsMode::Strict), Status::Rejected);
        assert_eq!(s(IstioSidecar, MtlsMode::Permissive), Status::Permissive);
        assert_eq!(s(None, MtlsMode::Permissive), Status::Plaintext);
        assert_eq!(s(IstioSidecar, MtlsMode::Disable), Status::Plaintext);
        assert_eq!(status(IstioSidecar, PortMode::Plain), Status::Plaintext);
    }

    #[test]
    fn statuses_for_ambient_destinations() {
        // "STRICT in the ambient namespace will cause traffic from outside the mesh to be
        // denied"; "STRICT will allow traffic from a pod with an Istio sidecar proxy"; DISABLE
        // "is not supported" in ambient: ztunnel still tunnels and accepts plaintext.
        use MeshKind::*;
        let s = |src, m| status(src, PortMode::IstioAmbient(m));
        assert_eq!(s(IstioSidecar, MtlsMode::Strict), Status::Mtls);
        assert_eq!(s(None, MtlsMode::Strict), Status::Rejected);
        assert_eq!(s(IstioAmbient, MtlsMode::Disable), Status::Permissive);
        assert_eq!(s(None, MtlsMode::Disable), Status::Plaintext);
    }

    #[test]
    fn statuses_for_linkerd_destinations() {
        // all-authenticated: "allow traffic from meshed clients"; all-unauthenticated: "allow
        // all traffic"; cluster-unauthenticated: "from both meshed and non-meshed clients".
        use MeshKind::*;
        let s = |src, p| status(src, PortMode::Linkerd(p));
        assert_eq!(s(Linkerd, LinkerdPolicy::AllAuthenticated), Status::Mtls);
        assert_eq!(s(None, LinkerdPolicy::AllAuthenticated), Status::Rejected);
        assert_eq!(s(IstioSidecar, LinkerdPolicy::ClusterAuthenticated), Status::Rejected);
        assert_eq!(s(Linkerd, LinkerdPolicy::AllUnauthenticated), Status::Permissive);
        assert_eq!(s(None, LinkerdPolicy::ClusterUnauthenticated), Status::Plaintext);
        assert_eq!(s(None, LinkerdPolicy::Deny), Status::Rejected);
    }

    // --- Linkerd ---------------------------------------------------------------------------

    #[test]
    fn linkerd_injection_namespace_or_workload_and_opt_out() {
        // "Linkerd automatically adds the data plane proxy to pods when the linkerd.io/inject:
        // enabled annotation is present on a namespace or any workloads"; "Automatic injection
        // can be disabled for a pod or deployment for which it would otherwise be enabled, by
        // adding the linkerd.io/inject: disabled annotation."
        let ns = labels(&[("linkerd.io/inject", "enabled")]);
        assert!(linkerd_injects(&ns, &pod(&[], &[])));
        assert!(linkerd_injects(&Labels::new(), &pod(&[], &[("linkerd.io/inject", "enabled")])));
        assert!(linkerd_injects(&Labels::new(), &pod(&[], &[("linkerd.io/inject", "ingress")])));
        let opted = pod(&[], &[("linkerd.io/inject", "disabled")]);
        assert!(!linkerd_injects(&ns, &opted));
        let m = membership(&Labels::new(), &ns, &opted);
        assert_eq!(m.outside, Some(OutsideReason::OptedOut("linkerd.io/inject=disabled".into())));
        // Only annotations count: a label does nothing.
        assert!(!linkerd_injects(&Labels::new(), &pod(&[("linkerd.io/inject", "enabled")], &[])));
    }

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
        assert_eq!(linkerd_policy(&ns, &bad, d), Err("open".into()));
    }

    // --- Helpers ---------------------------------------------------------------------------

    #[test]
    fn port_lists_and_layers() {
        assert_eq!(parse_port_list("80, 8000-8010,*"), Ok(vec![(80, 80), (8000, 8010), (1, 65535)]));
        assert!(parse_port_list("80-70").is_err());
        assert!(parse_port_list("0").is_err());
        let strict = PortMode::IstioSidecar(MtlsMode::Strict);
        let d = DestinationModes::layered(
            strict,
            [(9080, 9080, PortMode::IstioSidecar(MtlsMode::Disable)), (9000, 9100, PortMode::Plain)],
        );
        assert_eq!(d.exceptions, vec![(9000, 9100, PortMode::Plain)]);
        assert_eq!(d.mode_at(9080), PortMode::Plain);
        assert_eq!(d.mode_at(80), strict);
        let pieces = d.pieces();
        assert_eq!(pieces, vec![(1, 8999, strict), (9000, 9100, PortMode::Plain), (9101, 65535, strict)]);
        let d = DestinationModes::layered(strict, [(100, 200, PortMode::Plain), (150, 150, strict)]);
        assert_eq!(d.exceptions, vec![(100, 149, PortMode::Plain), (151, 200, PortMode::Plain)]);
    }
}
