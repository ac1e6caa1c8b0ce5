//! Which pods are in which mesh: Istio sidecar injection, Istio ambient capture and Linkerd proxy
//! injection, from namespace and pod labels and annotations and the evidence of a running pod.
//!
//! - Istio sidecar injection: istio.io, "Installing the Sidecar" › "Controlling the injection
//!   policy" (docs/setup/additional-setup/sidecar-injection).
//! - Istio ambient: istio.io, "Add workloads to the mesh" › "Pod selection logic for ambient and
//!   sidecar modes" (docs/ambient/usage/add-workloads).
//! - Linkerd: linkerd.io, "Automatic Proxy Injection" (features/proxy-injection).

use super::{keys, MeshKind};
use crate::cluster::Pod;
use crate::labels::Labels;

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
    /// The mesh the pod is in, if any, and how.
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mesh::tests::{labels, pod};

    fn created(mut p: Pod) -> Pod {
        p.ips = vec!["10.0.0.1".parse().unwrap()];
        p
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
}
