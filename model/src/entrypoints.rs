//! Entry points into the cluster from outside, as loaders read them: how a Service is published
//! (type, node ports, external IPs, traffic policy, source ranges), the endpoints of Services
//! without a selector, Ingresses and IngressClasses, Gateway API Gateways, routes and
//! ReferenceGrants. NetworkPolicy does not look at them; `netreach exposure` resolves them to
//! pods and asks the engine whether each hop is admitted.

use crate::labels::LabelSelector;
use crate::networkpolicy::PortSpec;
use crate::ports::Protocol;
use ipnet::IpNet;
use std::net::IpAddr;

/// `spec.type` of a Service.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ServiceType {
    /// Reachable inside the cluster only.
    #[default]
    ClusterIp,
    /// Every node forwards `nodePort` to the Service.
    NodePort,
    /// A cloud load balancer forwards to the Service (through node ports, or to pods directly).
    LoadBalancer,
    /// A DNS alias: no backends.
    ExternalName,
}

impl ServiceType {
    /// As `spec.type` spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceType::ClusterIp => "ClusterIP",
            ServiceType::NodePort => "NodePort",
            ServiceType::LoadBalancer => "LoadBalancer",
            ServiceType::ExternalName => "ExternalName",
        }
    }
}

/// `spec.externalTrafficPolicy`: which source address the backend sees for traffic from
/// outside (<https://kubernetes.io/docs/reference/networking/virtual-ips/#external-traffic-policy>).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TrafficPolicy {
    /// Any node forwards to any backend, masquerading the client to the node's address.
    #[default]
    Cluster,
    /// Only nodes with a backend forward, to local backends only, and the client's address is kept.
    Local,
}

impl TrafficPolicy {
    /// As `spec.externalTrafficPolicy` spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            TrafficPolicy::Cluster => "Cluster",
            TrafficPolicy::Local => "Local",
        }
    }
}

/// How a Service is published outside the cluster.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Publishing {
    /// `spec.type`.
    pub service_type: ServiceType,
    /// `spec.externalIPs`: any node receiving traffic for these addresses forwards it.
    pub external_ips: Vec<IpAddr>,
    /// `spec.externalTrafficPolicy`.
    pub external_traffic_policy: TrafficPolicy,
    /// `spec.loadBalancerSourceRanges` (empty: every address).
    pub load_balancer_source_ranges: Vec<IpNet>,
}

/// A container port published on the node's address (`hostPort`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HostPort {
    /// `hostPort`.
    pub host_port: u16,
    /// `containerPort` it forwards to.
    pub container_port: u16,
    /// `protocol` (TCP when omitted).
    pub protocol: Protocol,
}

/// The endpoints of a Service as one EndpointSlice (or one subset of an Endpoints object) lists them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceEndpoints {
    /// `metadata.namespace`.
    pub namespace: String,
    /// The Service they belong to (`kubernetes.io/service-name`, or the Endpoints' name).
    pub service: String,
    /// Each address, with the pod its `targetRef` names (when it names one).
    pub addresses: Vec<(IpAddr, Option<String>)>,
    /// `ports`: name (the Service port's name), number, protocol.
    pub ports: Vec<(Option<String>, u16, Protocol)>,
}

/// A reference to a Service port, from an Ingress backend or a route's `backendRefs`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceRef {
    /// `metadata.namespace`.
    pub namespace: String,
    /// `metadata.name`.
    pub name: String,
    /// The Service port, by number or (Ingress only) by name; `None` when not given.
    pub port: Option<PortSpec>,
    /// Where it is written, for messages: `spec.rules[0].http.paths[1].backend`.
    pub field: String,
}

/// An IngressClass.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IngressClass {
    /// `metadata.name`.
    pub name: String,
    /// `spec.controller`, e.g. `k8s.io/ingress-nginx`.
    pub controller: String,
    /// Annotated `ingressclass.kubernetes.io/is-default-class: "true"`.
    pub default: bool,
}

/// An Ingress (networking.k8s.io/v1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ingress {
    /// `metadata.namespace`.
    pub namespace: String,
    /// `metadata.name`.
    pub name: String,
    /// `spec.ingressClassName`, else the `kubernetes.io/ingress.class` annotation.
    pub class: Option<String>,
    /// The default backend and every path's backend.
    pub backends: Vec<ServiceRef>,
}

/// Which namespaces may attach routes to a listener (`allowedRoutes.namespaces`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AllowedNamespaces {
    /// The Gateway's own namespace (the default).
    Same,
    /// Every namespace.
    All,
    /// Namespaces whose labels match.
    Selector(LabelSelector),
}

/// One listener of a Gateway.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listener {
    /// The listener's name.
    pub name: String,
    /// The port.
    pub port: u16,
    /// `protocol`: HTTP, HTTPS, TLS, TCP, UDP or an implementation's own.
    pub protocol: String,
    /// `allowedRoutes.namespaces`.
    pub allowed_namespaces: AllowedNamespaces,
    /// `allowedRoutes.kinds[].kind`; empty: the kinds the protocol takes.
    pub allowed_kinds: Vec<String>,
}

/// A Gateway (gateway.networking.k8s.io).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Gateway {
    /// `metadata.namespace`.
    pub namespace: String,
    /// `metadata.name`.
    pub name: String,
    /// `spec.gatewayClassName`.
    pub class: String,
    /// `spec.listeners`.
    pub listeners: Vec<Listener>,
}

/// A route's `parentRefs` entry naming a Gateway.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParentRef {
    /// `metadata.namespace`.
    pub namespace: String,
    /// `metadata.name`.
    pub name: String,
    /// `sectionName`: one listener, by name.
    pub section_name: Option<String>,
    /// `port`: one listener, by port.
    pub port: Option<u16>,
}

/// An HTTPRoute, GRPCRoute, TCPRoute, TLSRoute or UDPRoute.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    /// `HTTPRoute`, `GRPCRoute`, …
    pub kind: String,
    /// `metadata.namespace`.
    pub namespace: String,
    /// `metadata.name`.
    pub name: String,
    /// `parentRefs` naming a Gateway.
    pub parents: Vec<ParentRef>,
    /// Every rule's Service `backendRefs`.
    pub backends: Vec<ServiceRef>,
}

impl Route {
    /// The protocol its traffic uses: UDP for UDPRoute, TCP otherwise.
    pub fn protocol(&self) -> Protocol {
        if self.kind == "UDPRoute" {
            Protocol::Udp
        } else {
            Protocol::Tcp
        }
    }
}

/// A ReferenceGrant: which objects of other namespaces may refer to which of its own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReferenceGrant {
    /// `metadata.namespace`.
    pub namespace: String,
    /// `metadata.name`.
    pub name: String,
    /// `from`: (group, kind, namespace).
    pub from: Vec<(String, String, String)>,
    /// `to`: (group, kind, name; `None` for every name).
    pub to: Vec<(String, String, Option<String>)>,
}

impl ReferenceGrant {
    /// Whether it lets a `kind` route of `namespace` refer to Service `service` of its namespace.
    pub fn allows_route_to_service(&self, kind: &str, namespace: &str, service: &str) -> bool {
        self.from.iter().any(|(g, k, n)| g == GATEWAY_GROUP && k == kind && n == namespace)
            && self
                .to
                .iter()
                .any(|(g, k, n)| g.is_empty() && k == "Service" && n.as_deref().is_none_or(|n| n == service))
    }
}

/// The Gateway API's group.
pub const GATEWAY_GROUP: &str = "gateway.networking.k8s.io";

/// Everything that can bring traffic in from outside, besides a Service's own publishing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EntryPoints {
    /// IngressClasses, in load order.
    pub ingress_classes: Vec<IngressClass>,
    /// Ingresses, in load order.
    pub ingresses: Vec<Ingress>,
    /// Gateways, in load order.
    pub gateways: Vec<Gateway>,
    /// HTTPRoutes, GRPCRoutes, TCPRoutes, TLSRoutes and UDPRoutes, in load order.
    pub routes: Vec<Route>,
    /// ReferenceGrants, in load order.
    pub reference_grants: Vec<ReferenceGrant>,
    /// Endpoints of Services, from EndpointSlices and Endpoints (Services without a selector
    /// get their backends from here).
    pub service_endpoints: Vec<ServiceEndpoints>,
}

impl EntryPoints {
    /// Whether any Ingress or Gateway is in the input (they need a controller to enter through).
    pub fn has_controllers_to_find(&self) -> bool {
        !self.ingresses.is_empty() || !self.gateways.is_empty()
    }
}
