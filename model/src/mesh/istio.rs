//! Istio's mTLS settings: PeerAuthentication policies, which of them decides a workload's mode
//! (workload, namespace, mesh-wide; oldest wins), and the [`MeshConfig`] loaders fill.
//!
//! PeerAuthentication: istio.io, "Security" concepts › "Policy storage", "Selector field", "Peer
//! authentication" (docs/concepts/security), and the PeerAuthentication reference
//! (docs/reference/config/security/peer_authentication).

use crate::labels::Labels;
use std::cmp::Ordering;
use std::collections::BTreeMap;

/// Istio's root namespace unless the installation says otherwise (`meshConfig.rootNamespace`).
pub const ISTIO_ROOT_NAMESPACE: &str = "istio-system";

/// `PeerAuthentication.MutualTLS.Mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MtlsMode {
    /// Inherit from the parent scope; PERMISSIVE when there is none.
    Unset,
    /// `DISABLE`: plaintext only.
    Disable,
    /// `PERMISSIVE`: mutual TLS and plaintext both accepted.
    Permissive,
    /// `STRICT`: mutual TLS only.
    Strict,
}

impl MtlsMode {
    /// The mode as written in `spec.mtls.mode` (upper case), if it is one.
    pub fn parse(s: &str) -> Option<MtlsMode> {
        match s {
            "UNSET" => Some(MtlsMode::Unset),
            "DISABLE" => Some(MtlsMode::Disable),
            "PERMISSIVE" => Some(MtlsMode::Permissive),
            "STRICT" => Some(MtlsMode::Strict),
            _ => None,
        }
    }

    /// The mode as Istio spells it.
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
    /// `metadata.namespace`.
    pub namespace: String,
    /// `metadata.name`.
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
    /// `namespace/name`.
    pub fn id(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    /// Whether the policy selects workloads (else it is namespace- or mesh-wide).
    pub fn has_selector(&self) -> bool {
        !self.selector.is_empty()
    }

    /// Whether the selector matches these pod labels.
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
    /// Istio AuthorizationPolicies, sorted by namespace and name.
    pub authorization_policies: Vec<super::authz::AuthorizationPolicy>,
    /// `metadata.annotations` of the namespaces that have any (Linkerd reads its settings
    /// there), by namespace name.
    pub namespace_annotations: BTreeMap<String, Labels>,
    /// The waypoint labels (`istio.io/use-waypoint`, `istio.io/use-waypoint-namespace`,
    /// `istio.io/ingress-use-waypoint`) of the Services that have any, by (namespace, name).
    pub service_waypoint_labels: BTreeMap<(String, String), Labels>,
    /// The `istio.io/waypoint-for` label of the Gateways that have it, by (namespace, name).
    pub gateway_waypoint_for: BTreeMap<(String, String), String>,
    /// The `istio.io/waypoint-for` label of the GatewayClasses that have it, by name.
    pub gateway_class_waypoint_for: BTreeMap<String, String>,
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
    /// The namespace-wide policy that decides, if any.
    pub namespace_wide: Option<usize>,
    /// The workload-specific policy that decides, if any.
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mesh::tests::labels;

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
}
