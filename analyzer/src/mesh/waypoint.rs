//! Istio ambient waypoints over the input: which Gateways are waypoints, which waypoint carries
//! the traffic addressed to each Service and to each pod, and the AuthorizationPolicies attached
//! to them. The label rules live in [`netreach_model::mesh::waypoint`]; this module resolves the
//! names they give against the input and says what it cannot resolve.
//!
//! istio.io, "Configure waypoint proxies" (docs/ambient/usage/waypoint): a waypoint is a Gateway
//! of class `istio-waypoint`; its `istio.io/waypoint-for` label says which traffic it takes;
//! istiod deploys its pods (labelled `gateway.networking.k8s.io/gateway-name`) under a
//! ServiceAccount named after the Gateway (the getting-started page allows
//! `cluster.local/ns/default/sa/waypoint` for the Gateway `waypoint`). A waypoint in another
//! namespace is used only when its HBONE listener's `allowedRoutes` admit the object's
//! namespace (istiod, `AllowsAttachmentFromNamespace`; no HBONE listener: `Same`).

use netreach_model::entrypoints::{AllowedNamespaces, Gateway};
use netreach_model::mesh::authz::{AuthorizationPolicy, Binding};
use netreach_model::mesh::waypoint::{self as rules, Addressing, TrafficType, UseWaypoint, WAYPOINT_CLASS};
use netreach_model::{Cluster, Labels};
use std::collections::{BTreeSet, HashMap};

/// The label Istio puts on the pods of the proxy it deploys for a Gateway (gateway API).
pub(super) const GATEWAY_NAME_LABEL: &str = "gateway.networking.k8s.io/gateway-name";
pub(super) const GATEWAY_API_GROUP: &str = "gateway.networking.k8s.io";
/// The listener istiod reads a waypoint's `allowedRoutes` from: HBONE on 15008.
const HBONE_PORT: u16 = 15008;

/// A waypoint of the input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Waypoint {
    pub namespace: String,
    pub name: String,
    pub traffic: TrafficType,
    /// The ServiceAccount its proxies run as: its pods', else the Gateway's name.
    pub service_account: String,
    /// Its pods in the input (indices into `cluster.pods`).
    pub pods: Vec<usize>,
}

impl Waypoint {
    /// `namespace/name`.
    pub fn id(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
}

/// The waypoints of an input and the traffic they carry.
pub struct Waypoints {
    pub list: Vec<Waypoint>,
    /// Per Service (`cluster.services` order): the waypoint of traffic addressed to it.
    pub of_service: Vec<Option<u32>>,
    /// Per pod: the waypoint of traffic addressed to the pod's own IP.
    pub of_pod: Vec<Option<u32>>,
    /// Per Service: whether ingress gateways send its traffic through its waypoint
    /// (`istio.io/ingress-use-waypoint`); they reach the pods directly otherwise.
    pub ingress_of_service: Vec<bool>,
    /// Per waypoint: the policies attached to all its traffic (a `Gateway` target naming it, a
    /// `GatewayClass istio-waypoint` target in the root namespace), in policy order.
    pub gateway_policies: Vec<Vec<u32>>,
    /// Per Service: the policies whose `Service` target names it, in policy order.
    pub service_policies: Vec<Vec<u32>>,
    /// What could not be resolved, and what the answer misses for it.
    pub notes: Vec<String>,
}

fn is_waypoint_pod(pod: &netreach_model::Pod, gateway: &Gateway) -> bool {
    pod.namespace == gateway.namespace && pod.labels.get(GATEWAY_NAME_LABEL) == Some(&gateway.name)
}

/// Whether a listener set lets objects of `namespace` (with `labels`) use the waypoint.
fn admits(gateway: &Gateway, namespace: &str, labels: &Labels) -> bool {
    if gateway.namespace == namespace {
        return true;
    }
    let hbone = gateway.listeners.iter().find(|l| l.protocol == "HBONE" && l.port == HBONE_PORT);
    match hbone.map(|l| &l.allowed_namespaces) {
        Some(AllowedNamespaces::All) => true,
        Some(AllowedNamespaces::Selector(selector)) => selector.matches(labels),
        Some(AllowedNamespaces::Same) | None => false,
    }
}

/// Whether a policy's targetRefs name `(group, kind, name)`.
fn targets(policy: &AuthorizationPolicy, group: &str, kind: &str, name: &str) -> bool {
    let Binding::Targets(refs) = &policy.binding else { return false };
    refs.iter().any(|r| r.group == group && r.kind == kind && r.name == name)
}

impl Waypoints {
    pub fn new(cluster: &Cluster, root: &str) -> Waypoints {
        let empty = Labels::new();
        let ns_labels: HashMap<&str, &Labels> =
            cluster.namespaces.iter().map(|n| (n.name.as_str(), &n.labels)).collect();
        let labels_of = |ns: &str| ns_labels.get(ns).copied().unwrap_or(&empty);
        let gateways: HashMap<(&str, &str), &Gateway> =
            cluster.entry_points.gateways.iter().map(|g| ((g.namespace.as_str(), g.name.as_str()), g)).collect();
        let mut notes = BTreeSet::new();
        let mut list: Vec<Waypoint> = Vec::new();
        let mut ids: HashMap<(String, String), u32> = HashMap::new();
        for g in cluster.entry_points.gateways.iter().filter(|g| g.class == WAYPOINT_CLASS) {
            let own = cluster.mesh.gateway_waypoint_for.get(&(g.namespace.clone(), g.name.clone()));
            let of_class = cluster.mesh.gateway_class_waypoint_for.get(&g.class);
            let label = rules::waypoint_for(own.map(String::as_str), of_class.map(String::as_str));
            let traffic = TrafficType::parse(label).unwrap_or_else(|e| {
                notes.insert(format!("waypoint {}/{}: {e}; Istio sends it no traffic", g.namespace, g.name));
                TrafficType::None
            });
            let pods: Vec<usize> = (0..cluster.pods.len()).filter(|&p| is_waypoint_pod(&cluster.pods[p], g)).collect();
            let accounts: BTreeSet<&str> = pods.iter().map(|&p| cluster.pods[p].service_account.as_str()).collect();
            let service_account = match accounts.first() {
                Some(sa) => sa.to_string(),
                None => g.name.clone(),
            };
            if accounts.len() > 1 {
                notes.insert(format!("waypoint {}/{}: its pods run as several ServiceAccounts ({}); destinations are taken to see {service_account}", g.namespace, g.name, accounts.iter().copied().collect::<Vec<_>>().join(", ")));
            }
            ids.insert((g.namespace.clone(), g.name.clone()), list.len() as u32);
            list.push(Waypoint {
                namespace: g.namespace.clone(),
                name: g.name.clone(),
                traffic,
                service_account,
                pods,
            });
        }
        // The waypoint an object's labels name for traffic addressed this way, or why none.
        let mut resolve = |object: &Labels, namespace: &str, addressing: Addressing, what: &str| -> Option<u32> {
            let UseWaypoint::Named { namespace: wns, name, from_namespace } =
                rules::use_waypoint(object, namespace, labels_of(namespace))
            else {
                return None;
            };
            let origin = if from_namespace { format!("namespace {namespace}") } else { what.to_string() };
            let named = format!("{origin} names waypoint {wns}/{name} (istio.io/use-waypoint)");
            let Some(gateway) = gateways.get(&(wns.as_str(), name.as_str())) else {
                notes.insert(format!("{named}, but the input has no Gateway {wns}/{name}: that traffic is evaluated as not going through a waypoint, and no policy attached to the waypoint is applied to it"));
                return None;
            };
            let Some(&id) = ids.get(&(wns.clone(), name.clone())) else {
                notes.insert(format!("{named}, but Gateway {wns}/{name} has gatewayClassName {}, not {WAYPOINT_CLASS}: netreach models {WAYPOINT_CLASS} waypoints only, so that traffic is evaluated as not going through it", gateway.class));
                return None;
            };
            let waypoint = &list[id as usize];
            if !waypoint.traffic.carries(addressing) {
                let kind = if addressing == Addressing::Service { "service" } else { "workload" };
                notes.insert(format!("{named}, whose istio.io/waypoint-for is {}: Istio sends it no {kind} traffic, so traffic addressed to {} goes to the pods directly", waypoint.traffic.as_str(), if addressing == Addressing::Service { "those Services" } else { "those pods" }));
                return None;
            }
            if !admits(gateway, namespace, labels_of(namespace)) {
                notes.insert(format!("{named}, whose HBONE listener's allowedRoutes do not admit namespace {namespace}: Istio does not attach it, so that traffic goes to the pods directly"));
                return None;
            }
            Some(id)
        };
        let waypoint_pod = |p: &netreach_model::Pod| {
            p.labels.get(GATEWAY_NAME_LABEL).is_some_and(|n| ids.contains_key(&(p.namespace.clone(), n.clone())))
        };
        let of_service: Vec<Option<u32>> = cluster
            .services
            .iter()
            .map(|s| {
                let object = cluster.mesh.service_waypoint_labels.get(&(s.namespace.clone(), s.name.clone()));
                let what = format!("Service {}/{}", s.namespace, s.name);
                resolve(object.unwrap_or(&empty), &s.namespace, Addressing::Service, &what)
            })
            .collect();
        let ingress_of_service: Vec<bool> = cluster
            .services
            .iter()
            .map(|s| {
                let object = cluster.mesh.service_waypoint_labels.get(&(s.namespace.clone(), s.name.clone()));
                rules::ingress_uses_waypoint(object.unwrap_or(&empty), labels_of(&s.namespace))
            })
            .collect();
        let of_pod: Vec<Option<u32>> = cluster
            .pods
            .iter()
            .map(|p| {
                // "This is a waypoint, so it cannot have a waypoint" (istiod).
                if waypoint_pod(p) {
                    return None;
                }
                let what = format!("pods of namespace {}", p.namespace);
                resolve(&p.labels, &p.namespace, Addressing::Workload, &what)
            })
            .collect();
        for w in list.iter().filter(|w| w.pods.is_empty()) {
            notes.insert(format!("waypoint {}: no pod of it in the input (istiod deploys them, label {GATEWAY_NAME_LABEL}={}): destinations behind it are taken to see ServiceAccount {}/{}, the one istiod creates for it, and its addresses are unknown (outside every ipBlock)", w.id(), w.name, w.namespace, w.service_account));
        }
        let policies = &cluster.mesh.authorization_policies;
        let gateway_policies = list
            .iter()
            .map(|w| {
                (0..policies.len() as u32)
                    .filter(|&i| {
                        let p = &policies[i as usize];
                        (p.namespace == w.namespace && targets(p, GATEWAY_API_GROUP, "Gateway", &w.name))
                            || (p.namespace == root && targets(p, GATEWAY_API_GROUP, "GatewayClass", WAYPOINT_CLASS))
                    })
                    .collect()
            })
            .collect();
        let service_policies: Vec<Vec<u32>> = cluster
            .services
            .iter()
            .map(|s| {
                (0..policies.len() as u32)
                    .filter(|&i| {
                        let p = &policies[i as usize];
                        p.namespace == s.namespace && targets(p, "", "Service", &s.name)
                    })
                    .collect()
            })
            .collect();
        for (i, p) in policies.iter().enumerate() {
            let Binding::Targets(refs) = &p.binding else { continue };
            for r in refs.iter().filter(|r| r.group.is_empty() && r.kind == "Service") {
                let service = cluster.services.iter().position(|s| s.namespace == p.namespace && s.name == r.name);
                let why = match service {
                    None => format!("the input has no Service {}/{}", p.namespace, r.name),
                    Some(s) if of_service[s].is_none() => format!("Service {}/{} uses no waypoint (istio.io/use-waypoint), and only waypoints enforce Service targets", p.namespace, r.name),
                    Some(s) => {
                        debug_assert!(service_policies[s].contains(&(i as u32)));
                        continue;
                    }
                };
                notes.insert(format!(
                    "AuthorizationPolicy {} targetRefs Service {}: {why}; the reference binds nothing",
                    p.id(),
                    r.name
                ));
            }
            for r in refs.iter().filter(|r| r.group == GATEWAY_API_GROUP && r.kind == "GatewayClass") {
                if p.namespace != root {
                    notes.insert(format!("AuthorizationPolicy {} targetRefs GatewayClass {}: GatewayClass targets apply from the root namespace {root} only; the reference binds nothing", p.id(), r.name));
                }
            }
        }
        Waypoints {
            list,
            of_service,
            of_pod,
            ingress_of_service,
            gateway_policies,
            service_policies,
            notes: notes.into_iter().collect(),
        }
    }

    /// Whether any object uses a waypoint.
    pub fn any_used(&self) -> bool {
        self.of_service.iter().chain(&self.of_pod).any(Option::is_some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netreach_model::entrypoints::Listener;
    use netreach_model::mesh::waypoint::USE_WAYPOINT;
    use netreach_model::{Namespace, Pod};

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn gateway(ns: &str, name: &str, class: &str) -> Gateway {
        Gateway {
            namespace: ns.into(),
            name: name.into(),
            class: class.into(),
            listeners: vec![Listener {
                name: "mesh".into(),
                port: HBONE_PORT,
                protocol: "HBONE".into(),
                allowed_namespaces: AllowedNamespaces::Same,
                allowed_kinds: Vec::new(),
            }],
        }
    }

    #[test]
    fn pods_resolve_their_waypoint_or_say_why_not() {
        let mut cluster = Cluster {
            namespaces: vec![
                Namespace::new("a", labels(&[(USE_WAYPOINT, "wp")])),
                Namespace::new("b", labels(&[(USE_WAYPOINT, "wp"), ("istio.io/use-waypoint-namespace", "a")])),
            ],
            pods: vec![
                Pod::new("a", "x", Labels::new()),
                Pod::new("a", "y", labels(&[(USE_WAYPOINT, "none")])),
                Pod::new("a", "wp-1", labels(&[(GATEWAY_NAME_LABEL, "wp")])),
                Pod::new("b", "z", Labels::new()),
            ],
            ..Default::default()
        };
        cluster.entry_points.gateways.push(gateway("a", "wp", WAYPOINT_CLASS));
        cluster.mesh.gateway_waypoint_for.insert(("a".into(), "wp".into()), "workload".into());
        let w = Waypoints::new(&cluster, "istio-system");
        assert_eq!(w.list.len(), 1);
        assert_eq!(w.list[0].pods, vec![2]);
        // x uses it; y opted out; the waypoint's own pod has none; b's listener does not admit it.
        assert_eq!(w.of_pod, vec![Some(0), None, None, None]);
        assert!(w.notes.iter().any(|n| n.contains("do not admit namespace b")), "{:?}", w.notes);
        // Without its own label the Gateway takes its class's: `service` here, so the pods'
        // (workload) traffic no longer goes through it.
        cluster.mesh.gateway_waypoint_for.clear();
        cluster.mesh.gateway_class_waypoint_for.insert(WAYPOINT_CLASS.into(), "service".into());
        let w = Waypoints::new(&cluster, "istio-system");
        assert_eq!(w.list[0].traffic, TrafficType::Service);
        assert_eq!(w.of_pod, vec![None; 4]);
        cluster.mesh.gateway_class_waypoint_for.insert(WAYPOINT_CLASS.into(), "all".into());
        assert_eq!(Waypoints::new(&cluster, "istio-system").of_pod, vec![Some(0), None, None, None]);
        // A workload waypoint takes no Service traffic; a missing Gateway is a note.
        cluster.namespaces[1].labels = labels(&[(USE_WAYPOINT, "gone")]);
        let w = Waypoints::new(&cluster, "istio-system");
        assert!(w.notes.iter().any(|n| n.contains("no Gateway b/gone")), "{:?}", w.notes);
    }
}
