//! Istio ambient waypoints: which waypoint, if any, carries the traffic to a Service or a pod.
//! Pure functions over labels; the analyzer resolves the names against the input's Gateways.
//!
//! Sources (istio.io): "Configure waypoint proxies" (docs/ambient/usage/waypoint) — the
//! `istio.io/use-waypoint` label on a namespace, Service or pod, the `istio.io/waypoint-for`
//! traffic types, and "the original addressing of the traffic is used to determine if a service
//! or workload waypoint should be used"; istiod's resolution (pilot ambient `waypoints.go`,
//! `fetchWaypointForTarget`): the object's own label first (`none` opts out), then its
//! namespace's, with `istio.io/use-waypoint-namespace` naming the waypoint's namespace.

use crate::labels::Labels;

/// Namespace, Service or pod label: the name of the waypoint its traffic goes through, or
/// `none` to opt out of its namespace's waypoint.
pub const USE_WAYPOINT: &str = "istio.io/use-waypoint";
/// Label beside [`USE_WAYPOINT`]: the namespace of the waypoint (default: the object's own).
pub const USE_WAYPOINT_NAMESPACE: &str = "istio.io/use-waypoint-namespace";
/// Gateway (else GatewayClass) label: which traffic the waypoint handles (`service`,
/// `workload`, `all`, `none`).
pub const WAYPOINT_FOR: &str = "istio.io/waypoint-for";
/// Service (else namespace) label: `true` makes ingress gateways send the Service's traffic
/// through its waypoint; without it they send it to the pods directly.
pub const INGRESS_USE_WAYPOINT: &str = "istio.io/ingress-use-waypoint";
/// The GatewayClass of Istio's waypoints.
pub const WAYPOINT_CLASS: &str = "istio-waypoint";

/// How a client addressed a connection: "Traffic type concerns the original addressing.
/// To-service traffic does not become to-workload once the service is resolved to a pod"
/// (waypoint page, "Waypoint traffic types").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Addressing {
    /// To a Service (its name or cluster IP).
    Service,
    /// To the pod's own IP.
    Workload,
}

/// The `istio.io/waypoint-for` value of a waypoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TrafficType {
    /// "Kubernetes services" (the default).
    Service,
    /// "Pod IPs or VM IPs".
    Workload,
    /// "Both service and workload traffic".
    All,
    /// "No traffic (useful for testing)".
    None,
}

impl TrafficType {
    /// The label's value; no label: `service`, "which is the default". An unknown value is an
    /// error naming it.
    pub fn parse(label: Option<&str>) -> Result<TrafficType, String> {
        Ok(match label {
            None | Some("service") => TrafficType::Service,
            Some("workload") => TrafficType::Workload,
            Some("all") => TrafficType::All,
            Some("none") => TrafficType::None,
            Some(other) => {
                return Err(format!("unknown {WAYPOINT_FOR} value {other:?} (expected service, workload, all or none)"))
            }
        })
    }

    /// Whether the waypoint takes traffic addressed this way (istiod's
    /// `fetchWaypointForService`/`fetchWaypointForWorkload`).
    pub fn carries(self, addressing: Addressing) -> bool {
        matches!(
            (self, addressing),
            (TrafficType::All, _)
                | (TrafficType::Service, Addressing::Service)
                | (TrafficType::Workload, Addressing::Workload)
        )
    }

    /// The value as Istio spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            TrafficType::Service => "service",
            TrafficType::Workload => "workload",
            TrafficType::All => "all",
            TrafficType::None => "none",
        }
    }
}

/// What an object's (or its namespace's) labels say about waypoints.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum UseWaypoint {
    /// No `istio.io/use-waypoint` label on the object nor on its namespace.
    Unset,
    /// `istio.io/use-waypoint: none` ("Istio reserves the word none"): no waypoint.
    OptedOut,
    /// A waypoint by name.
    Named {
        /// The waypoint's namespace.
        namespace: String,
        /// The waypoint's (Gateway's) name.
        name: String,
        /// Whether the label was read on the namespace rather than the object.
        from_namespace: bool,
    },
}

/// The `istio.io/waypoint-for` value that decides a waypoint's traffic type: the Gateway's
/// label, else its GatewayClass's (istiod, ambient `waypoints.go`: "default traffic type if
/// neither GatewayClass nor Gateway specify a type" is `service`; the class's label is read
/// first and the Gateway's overrides it).
pub fn waypoint_for<'a>(gateway: Option<&'a str>, class: Option<&'a str>) -> Option<&'a str> {
    gateway.or(class)
}

/// Whether ingress gateways send traffic addressed to a Service through the Service's
/// waypoint: the Service's `istio.io/ingress-use-waypoint` label when it has one, else its
/// namespace's, compared to `true` case-insensitively (istiod: `strings.EqualFold(val,
/// "true")`; ingress "must explicitly opt in", `findServiceWaypoint` in pilot's EDS builder).
pub fn ingress_uses_waypoint(service: &Labels, namespace: &Labels) -> bool {
    service
        .get(INGRESS_USE_WAYPOINT)
        .or_else(|| namespace.get(INGRESS_USE_WAYPOINT))
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

/// The label of one object: `Some(None)` for `none`, `Some(Some((ns, name)))` for a name.
fn label(labels: &Labels, own_namespace: &str) -> Option<Option<(String, String)>> {
    let value = labels.get(USE_WAYPOINT)?;
    if value == "none" {
        return Some(None);
    }
    let namespace = labels.get(USE_WAYPOINT_NAMESPACE).map_or(own_namespace, String::as_str);
    Some(Some((namespace.to_string(), value.clone())))
}

/// The waypoint an object (a Service, or a pod) of `namespace` names: its own label, else its
/// namespace's ("If the `istio.io/use-waypoint` label exists on both a namespace and a service,
/// the service waypoint takes precedence ... Similarly, a label on a pod will take precedence
/// over a namespace label"); the object's `none` opts out of the namespace's waypoint.
pub fn use_waypoint(object: &Labels, namespace: &str, namespace_labels: &Labels) -> UseWaypoint {
    let named =
        |(namespace, name): (String, String), from_namespace| UseWaypoint::Named { namespace, name, from_namespace };
    match label(object, namespace) {
        Some(Some(target)) => named(target, false),
        Some(None) => UseWaypoint::OptedOut,
        None => match label(namespace_labels, namespace) {
            Some(Some(target)) => named(target, true),
            Some(None) => UseWaypoint::OptedOut,
            None => UseWaypoint::Unset,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mesh::tests::labels;

    #[test]
    fn object_label_wins_and_none_opts_out() {
        // "a label on a pod will take precedence over a namespace label"; `none` on the object
        // stops there (istiod returns no waypoint without reading the namespace).
        let ns = labels(&[(USE_WAYPOINT, "waypoint")]);
        let named =
            |n: &str, from_namespace| UseWaypoint::Named { namespace: "a".into(), name: n.into(), from_namespace };
        assert_eq!(use_waypoint(&Labels::new(), "a", &ns), named("waypoint", true));
        assert_eq!(use_waypoint(&labels(&[(USE_WAYPOINT, "mine")]), "a", &ns), named("mine", false));
        assert_eq!(use_waypoint(&labels(&[(USE_WAYPOINT, "none")]), "a", &ns), UseWaypoint::OptedOut);
        assert_eq!(use_waypoint(&Labels::new(), "a", &Labels::new()), UseWaypoint::Unset);
    }

    #[test]
    fn waypoint_namespace_label_names_a_waypoint_elsewhere() {
        let ns = labels(&[(USE_WAYPOINT, "shared"), (USE_WAYPOINT_NAMESPACE, "infra")]);
        assert_eq!(
            use_waypoint(&Labels::new(), "a", &ns),
            UseWaypoint::Named { namespace: "infra".into(), name: "shared".into(), from_namespace: true }
        );
    }

    #[test]
    fn gateway_label_overrides_its_class() {
        assert_eq!(waypoint_for(Some("workload"), Some("all")), Some("workload"));
        assert_eq!(waypoint_for(None, Some("all")), Some("all"));
        assert_eq!(waypoint_for(None, None), None);
    }

    #[test]
    fn ingress_opts_in_by_service_else_namespace() {
        let yes = labels(&[(INGRESS_USE_WAYPOINT, "True")]);
        let no = labels(&[(INGRESS_USE_WAYPOINT, "false")]);
        assert!(ingress_uses_waypoint(&yes, &Labels::new()));
        assert!(ingress_uses_waypoint(&Labels::new(), &yes));
        // The Service's own label wins over its namespace's, either way.
        assert!(!ingress_uses_waypoint(&no, &yes));
        assert!(ingress_uses_waypoint(&yes, &no));
        assert!(!ingress_uses_waypoint(&Labels::new(), &Labels::new()));
    }

    #[test]
    fn traffic_types() {
        // "By default, a waypoint will only handle traffic destined for services".
        let service = TrafficType::parse(None).unwrap();
        assert!(service.carries(Addressing::Service) && !service.carries(Addressing::Workload));
        let workload = TrafficType::parse(Some("workload")).unwrap();
        assert!(!workload.carries(Addressing::Service) && workload.carries(Addressing::Workload));
        let all = TrafficType::parse(Some("all")).unwrap();
        assert!(all.carries(Addressing::Service) && all.carries(Addressing::Workload));
        let none = TrafficType::parse(Some("none")).unwrap();
        assert!(!none.carries(Addressing::Service) && !none.carries(Addressing::Workload));
        assert!(TrafficType::parse(Some("pods")).is_err());
    }
}
