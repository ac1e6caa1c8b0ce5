//! `netreach exposure`: every (pod, port, protocol) that traffic from outside the cluster can
//! enter through, with the path: a Service published as LoadBalancer, NodePort or on external
//! IPs, an Ingress or a Gateway (outside → controller or gateway pods → backend pods), a
//! container hostPort, or a hostNetwork pod. Each hop names the source address its receivers
//! see and the sources their policies admit, read from the engine's class rows (cost follows
//! classes: verdicts are memoized per destination class, port and source set).
//!
//! What the backend sees (<https://kubernetes.io/docs/reference/networking/virtual-ips/#external-traffic-policy>):
//! `externalTrafficPolicy: Cluster` masquerades the client to the forwarding node's address, so
//! policy must admit node addresses; `Local` keeps the client's address, narrowed by
//! `loadBalancerSourceRanges` for a LoadBalancer. Whether NetworkPolicy sees addresses before or
//! after such rewriting is implementation-defined
//! (<https://kubernetes.io/docs/concepts/services-networking/network-policies/#networkpolicy-resource>:
//! "it is not defined whether this happens before or after NetworkPolicy processing"); this is
//! the kube-proxy behaviour the Service page describes.

pub mod entry;
pub mod render;

pub use entry::{entry_routes, EntryHop, EntryHops, EntryRoute};
pub use render::write_exposure;

use crate::analysis::Analysis;
use netreach_model::entrypoints::{
    AllowedNamespaces, Gateway, Listener, Route, ServiceRef, ServiceType, TrafficPolicy,
};
use netreach_model::{Cluster, Endpoint, Labels, Namespace, Pod, PortSpec, Protocol, Service, ServicePort};
use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;

/// The abstract ingress controller's pod name, as netpol-analyzer names it: used when the input
/// holds no controller or gateway pod for an Ingress or a Gateway.
pub const ABSTRACT_CONTROLLER: &str = "{ingress-controller}";
/// Where the abstract controller lives: ingress-nginx's namespace, labelled as netpol-analyzer
/// assumes an ingress controller's namespace is (`tier: ingress`,
/// `app.kubernetes.io/part-of: ingress-nginx`), so policies that admit "the ingress
/// controller's namespace" admit it.
pub const ABSTRACT_CONTROLLER_NAMESPACE: &str = "ingress-nginx";

/// The label Gateway API implementations put on the pods they run for a Gateway
/// (<https://gateway-api.sigs.k8s.io/geps/gep-1762/>).
pub const GATEWAY_NAME_LABEL: &str = "gateway.networking.k8s.io/gateway-name";

/// An ingress controller's IngressClass `controller`, usual class name and pod labels.
type KnownController = (&'static str, &'static str, &'static [(&'static str, &'static str)]);

/// Well-known ingress controllers: the IngressClass `spec.controller`, the class name their
/// installs use, and the labels of their controller pods (their Helm charts' defaults).
const KNOWN_CONTROLLERS: &[KnownController] = &[
    (
        "k8s.io/ingress-nginx",
        "nginx",
        &[("app.kubernetes.io/name", "ingress-nginx"), ("app.kubernetes.io/component", "controller")],
    ),
    ("nginx.org/ingress-controller", "nginx", &[("app.kubernetes.io/name", "nginx-ingress")]),
    ("traefik.io/ingress-controller", "traefik", &[("app.kubernetes.io/name", "traefik")]),
    ("haproxy.org/ingress-controller", "haproxy", &[("app.kubernetes.io/name", "kubernetes-ingress")]),
    ("projectcontour.io/contour", "contour", &[("app.kubernetes.io/name", "contour")]),
];

/// How an exposure enters the cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ViaKind {
    LoadBalancer,
    NodePort,
    ExternalIp,
    Ingress,
    Gateway,
    HostPort,
    HostNetwork,
}

impl ViaKind {
    pub const ALL: [ViaKind; 7] = [
        ViaKind::LoadBalancer,
        ViaKind::NodePort,
        ViaKind::ExternalIp,
        ViaKind::Ingress,
        ViaKind::Gateway,
        ViaKind::HostPort,
        ViaKind::HostNetwork,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ViaKind::LoadBalancer => "LoadBalancer",
            ViaKind::NodePort => "NodePort",
            ViaKind::ExternalIp => "ExternalIP",
            ViaKind::Ingress => "Ingress",
            ViaKind::Gateway => "Gateway",
            ViaKind::HostPort => "HostPort",
            ViaKind::HostNetwork => "HostNetwork",
        }
    }
}

/// The object an exposure enters through: `ns/name` of the Service, Ingress or Gateway, or the
/// pod's id for HostPort and HostNetwork.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Via {
    pub kind: ViaKind,
    pub name: String,
}

/// One hop of an entry path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hop {
    /// The receivers (endpoint indices of pods).
    pub to: Vec<usize>,
    /// The ports they receive on.
    pub ports: Vec<(Protocol, u16)>,
    /// The source address the receivers see, for people.
    pub source: String,
    /// The sources (external ranges or pods) that the receivers' policies admit on those ports.
    pub admitted_from: Vec<usize>,
    /// The receivers that admit at least one of those sources.
    pub reached: Vec<usize>,
    /// Who outside can send along the path (the client set), which is not always the source
    /// the receivers see: `None` for any address outside; the external ranges within
    /// `loadBalancerSourceRanges` for a LoadBalancer that sets them, under either traffic
    /// policy. A controller → backend hop carries its first hop's clients.
    pub clients: Option<Vec<usize>>,
}

impl Hop {
    /// Some receiver admits the traffic, and some client outside can send it.
    pub fn admitted(&self) -> bool {
        !self.reached.is_empty() && self.clients.as_ref().is_none_or(|c| !c.is_empty())
    }
}

/// One (pod, port, protocol) that an entry point delivers to, and the path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exposure {
    /// The endpoint index of the pod.
    pub pod: usize,
    /// The pod's port (a Service's targetPort, resolved for this pod).
    pub port: u16,
    pub protocol: Protocol,
    /// The port clients outside connect to (node port, Service port, listener port, host
    /// port); `None` when the manifest leaves it to the API server (an unset nodePort).
    pub entry_port: Option<u16>,
    pub via: Via,
    /// Empty for an Ingress or Gateway whose controller pods the analysis does not hold (the
    /// audit's, which adds no abstract controller): the path exists and is not judged.
    pub hops: Vec<Hop>,
}

impl Exposure {
    /// Every hop admits traffic: the pod is reachable from outside along this path.
    pub fn reachable(&self) -> bool {
        self.hops.iter().all(Hop::admitted)
    }
}

/// The answer of `netreach exposure`.
#[derive(Clone, Debug, Default)]
pub struct ExposureReport {
    /// Sorted by pod, port, protocol, then entry point.
    pub exposures: Vec<Exposure>,
    /// What could not be followed (unknown Services, unattached routes, refused references) and
    /// what was assumed (no controller pod in the input, no Node addresses).
    pub notes: Vec<String>,
    /// The endpoint index of the abstract `{ingress-controller}`, when the analysis holds it.
    pub abstract_controller: Option<usize>,
}

/// The source address a backend sees for traffic from outside under `externalTrafficPolicy:
/// Cluster`: implementation-defined (kube-proxy masquerades; some eBPF dataplanes, e.g. Cilium
/// with DSR, keep the client's address).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum ClusterSource {
    /// The forwarding node's address (kube-proxy's masquerading; the default).
    #[default]
    Node,
    /// The client's address (a dataplane that preserves it).
    Client,
}

/// Where searches and invariants from `internet` start.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum InternetStart {
    /// The entry points' first hops.
    #[default]
    EntryPoints,
    /// Every pod whose policy admits an outside range.
    PolicyOnly,
}

/// Choices the user makes.
#[derive(Clone, Debug, Default)]
pub struct ExposureOptions {
    /// What backends of `externalTrafficPolicy: Cluster` Services see.
    pub cluster_source: ClusterSource,
    /// `--ingress-controller SEL`: the pods (endpoint indices) that run every Ingress and every
    /// Gateway without pods of its own.
    pub ingress_controller: Option<Vec<usize>>,
}

/// Adds the abstract `{ingress-controller}` pod (and its namespace, when absent) to a cluster
/// that has an Ingress or a Gateway, before the engine runs, so that backends' policies are
/// evaluated against it like against any pod. Only `exposure` calls this.
pub fn add_abstract_controller(cluster: &mut Cluster) {
    if !cluster.entry_points.has_controllers_to_find() {
        return;
    }
    let ns = ABSTRACT_CONTROLLER_NAMESPACE;
    if let Err(at) = cluster.namespaces.binary_search_by(|n| n.name.as_str().cmp(ns)) {
        let labels: Labels = [
            ("app.kubernetes.io/name", "ingress-nginx"),
            ("app.kubernetes.io/part-of", "ingress-nginx"),
            ("tier", "ingress"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        cluster.namespaces.insert(at, Namespace::new(ns, labels));
    }
    let labels: Labels = KNOWN_CONTROLLERS[0].2.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let mut pod = Pod::new(ns, ABSTRACT_CONTROLLER, labels);
    pod.synthesized = true;
    let key = (ns, ABSTRACT_CONTROLLER);
    if let Err(at) = cluster.pods.binary_search_by(|p| (p.namespace.as_str(), p.name.as_str()).cmp(&key)) {
        cluster.pods.insert(at, pod);
    }
}

/// Every entry path into the cluster.
pub fn exposure(analysis: &Analysis, options: &ExposureOptions) -> ExposureReport {
    let mut resolver = Resolver::new(analysis, options);
    let cluster = &analysis.cluster;
    for service in &cluster.services {
        resolver.service(service);
    }
    for (i, pod) in cluster.pods.iter().enumerate() {
        resolver.host(i, pod);
    }
    for ingress in &cluster.entry_points.ingresses {
        resolver.ingress(ingress);
    }
    for route in &cluster.entry_points.routes {
        resolver.route(route);
    }
    let mut report = resolver.report;
    report.exposures.sort_by(|a, b| {
        (a.pod, a.port, a.protocol, &a.via, a.entry_port).cmp(&(b.pod, b.port, b.protocol, &b.via, b.entry_port))
    });
    report.exposures.dedup();
    let mut seen = BTreeSet::new();
    report.notes.retain(|n| seen.insert(n.clone()));
    report
}

/// Resolves entry points to pods and memoizes the engine's verdicts.
struct Resolver<'a> {
    analysis: &'a Analysis,
    options: &'a ExposureOptions,
    report: ExposureReport,
    /// Every external range: a client outside the cluster.
    outside: Vec<usize>,
    /// The external ranges holding node addresses; `None` when the input has no Node address.
    nodes: Option<Vec<usize>>,
    /// Verdicts: (destination class, protocol, port, source class) → admitted.
    verdicts: HashMap<(usize, Protocol, u16, usize), bool>,
    /// Controller pods per Ingress class (`None`: no class).
    controllers: HashMap<Option<String>, (Vec<usize>, Hop)>,
}

impl<'a> Resolver<'a> {
    fn new(analysis: &'a Analysis, options: &'a ExposureOptions) -> Resolver<'a> {
        let cluster = &analysis.cluster;
        let reach = &analysis.reach;
        let outside = (0..reach.externals().len()).map(|e| reach.index_of(Endpoint::External(e as u32))).collect();
        let node_ips: BTreeSet<IpAddr> = cluster.nodes.iter().flat_map(|n| n.addresses.iter().copied()).collect();
        let nodes = (!node_ips.is_empty()).then(|| {
            let set: BTreeSet<usize> = node_ips.iter().filter_map(|ip| analysis.external_containing(*ip)).collect();
            set.into_iter().collect()
        });
        let abstract_controller = analysis.find(&format!("{ABSTRACT_CONTROLLER_NAMESPACE}/{ABSTRACT_CONTROLLER}"));
        Resolver {
            analysis,
            options,
            report: ExposureReport { abstract_controller, ..Default::default() },
            outside,
            nodes,
            verdicts: HashMap::new(),
            controllers: HashMap::new(),
        }
    }

    fn endpoint(&self, pod: usize) -> usize {
        self.analysis.reach.index_of(Endpoint::Pod(pod as u32))
    }

    /// Whether policy admits `src` to `dst` (endpoint indices) on this port: one row lookup
    /// per distinct (destination class, port, source class).
    fn admits(&mut self, src: usize, dst: usize, protocol: Protocol, port: u16) -> bool {
        let reach = &self.analysis.reach;
        let (src_class, dst_class) = (reach.class_of(reach.endpoint(src)), reach.class_of(reach.endpoint(dst)));
        *self
            .verdicts
            .entry((dst_class, protocol, port, src_class))
            .or_insert_with(|| reach.class_allowed(src_class, dst_class).is_some_and(|p| p.contains(protocol, port)))
    }

    /// The hop from `sources` (sent by `clients` outside) to `receivers` on `ports`.
    fn hop(
        &mut self,
        (sources, clients): (&[usize], Option<Vec<usize>>),
        receivers: Vec<usize>,
        ports: Vec<(Protocol, u16)>,
        source: String,
    ) -> Hop {
        let (mut admitted_from, mut reached) = (BTreeSet::new(), Vec::new());
        for &to in &receivers {
            let mut any = false;
            for &from in sources {
                if from != to && ports.iter().any(|&(protocol, port)| self.admits(from, to, protocol, port)) {
                    admitted_from.insert(from);
                    any = true;
                }
            }
            if any {
                reached.push(to);
            }
        }
        Hop { to: receivers, ports, source, admitted_from: admitted_from.into_iter().collect(), reached, clients }
    }

    /// The external ranges a client outside may come from, with `ranges` (loadBalancerSourceRanges) narrowing them.
    fn clients(&self, ranges: &[ipnet::IpNet]) -> Vec<usize> {
        if ranges.is_empty() {
            return self.outside.clone();
        }
        let allowed: Vec<netreach_model::IpRanges> = ranges.iter().map(netreach_model::IpRanges::from_net).collect();
        self.outside
            .iter()
            .copied()
            .filter(|&e| {
                let Endpoint::External(x) = self.analysis.reach.endpoint(e) else { return false };
                let own = &self.analysis.reach.externals()[x as usize].ranges;
                allowed.iter().any(|a| a.family == own.family && own.difference(a) != *own)
            })
            .collect()
    }

    /// Pods of a Service port with the port each receives on (targetPort resolved per pod),
    /// without the abstract controller.
    fn backends(&mut self, service: &Service, port: &ServicePort) -> Vec<(usize, u16)> {
        let cluster = &self.analysis.cluster;
        let mut found = crate::services::backends(cluster, service, port, &mut self.report.notes);
        found.retain(|&(i, _)| {
            let pod = &cluster.pods[i];
            !(pod.name == ABSTRACT_CONTROLLER && pod.namespace == ABSTRACT_CONTROLLER_NAMESPACE)
        });
        found
    }

    /// A Service's own publishing: LoadBalancer, NodePort, externalIPs.
    fn service(&mut self, service: &'a Service) {
        let publishing = &service.publishing;
        let id = format!("{}/{}", service.namespace, service.name);
        let mut vias: Vec<ViaKind> = Vec::new();
        match publishing.service_type {
            ServiceType::LoadBalancer => vias.push(ViaKind::LoadBalancer),
            ServiceType::NodePort => vias.push(ViaKind::NodePort),
            ServiceType::ClusterIp | ServiceType::ExternalName => {}
        }
        if !publishing.external_ips.is_empty() {
            vias.push(ViaKind::ExternalIp);
        }
        if vias.is_empty() {
            return;
        }
        for port in &service.ports {
            let backends = self.backends(service, port);
            if backends.is_empty() {
                if service.selector.as_ref().is_some_and(|s| !s.is_empty()) {
                    self.report.notes.push(format!(
                        "Service {id} ({}) selects no pod of the input for port {}: nothing listed behind it",
                        vias.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", "),
                        port.port
                    ));
                }
                continue;
            }
            for &kind in &vias {
                let (sources, source, clients) = self.service_sources(service, kind);
                let entry_port = if kind == ViaKind::NodePort { port.node_port } else { Some(port.port) };
                for &(pod, target) in &backends {
                    let endpoint = self.endpoint(pod);
                    let hop = self.hop(
                        (&sources, clients.clone()),
                        vec![endpoint],
                        vec![(port.protocol, target)],
                        source.clone(),
                    );
                    self.report.exposures.push(Exposure {
                        pod: endpoint,
                        port: target,
                        protocol: port.protocol,
                        entry_port,
                        via: Via { kind, name: id.clone() },
                        hops: vec![hop],
                    });
                }
            }
        }
    }

    /// The sources a Service's backends see for traffic entering through `kind`, their
    /// description, and who outside can enter (`None`: anyone).
    fn service_sources(&mut self, service: &Service, kind: ViaKind) -> (Vec<usize>, String, Option<Vec<usize>>) {
        let publishing = &service.publishing;
        // The load balancer admits only clients within loadBalancerSourceRanges, before
        // kube-proxy forwards (and under Cluster masquerades) them: the ranges narrow who enters
        // whatever the traffic policy, on the load balancer's address only (not on node ports
        // or externalIPs): <https://kubernetes.io/docs/tasks/access-application-cluster/configure-cloud-provider-firewall/>.
        let ranges: &[ipnet::IpNet] =
            if kind == ViaKind::LoadBalancer { &publishing.load_balancer_source_ranges } else { &[] };
        let clients = (!ranges.is_empty()).then(|| self.clients(ranges));
        let within = if ranges.is_empty() {
            String::new()
        } else {
            let list: Vec<String> = ranges.iter().map(|r| r.to_string()).collect();
            format!("within loadBalancerSourceRanges {}", list.join(","))
        };
        let keeps_client = publishing.external_traffic_policy == TrafficPolicy::Local
            || self.options.cluster_source == ClusterSource::Client;
        if keeps_client {
            let policy = match publishing.external_traffic_policy {
                TrafficPolicy::Local => "externalTrafficPolicy: Local",
                TrafficPolicy::Cluster => {
                    "externalTrafficPolicy: Cluster, kept by the dataplane (--cluster-source client)"
                }
            };
            let words = if within.is_empty() {
                format!("the client's address ({policy})")
            } else {
                format!("the client's address {within} ({policy})")
            };
            let sources = clients.clone().unwrap_or_else(|| self.outside.clone());
            return (sources, words, clients);
        }
        // Under Cluster the ranges say who enters, not what the backend sees.
        let entering = if within.is_empty() { String::new() } else { format!("; only clients {within} enter") };
        match &self.nodes {
            Some(nodes) => (
                nodes.clone(),
                format!("a node address (externalTrafficPolicy: Cluster masquerades the client{entering})"),
                clients,
            ),
            None => {
                self.report.notes.push("no Node addresses in the input: externalTrafficPolicy Cluster paths assume the masquerading node may have any address outside the pods".into());
                (
                    self.outside.clone(),
                    format!(
                        "a node address, unknown: any address outside the pods (externalTrafficPolicy: Cluster{entering})"
                    ),
                    clients,
                )
            }
        }
    }

    /// hostPort and hostNetwork: the pod receives on the node's address, from the client.
    fn host(&mut self, i: usize, pod: &Pod) {
        if pod.name == ABSTRACT_CONTROLLER && pod.namespace == ABSTRACT_CONTROLLER_NAMESPACE {
            return;
        }
        let endpoint = self.endpoint(i);
        let outside = self.outside.clone();
        let add = |resolver: &mut Self, kind: ViaKind, port: u16, entry: u16, protocol: Protocol| {
            let hop =
                resolver.hop((&outside, None), vec![endpoint], vec![(protocol, port)], "the client's address".into());
            resolver.report.exposures.push(Exposure {
                pod: endpoint,
                port,
                protocol,
                entry_port: Some(entry),
                via: Via { kind, name: pod.id() },
                hops: vec![hop],
            });
        };
        if pod.host_network {
            for p in &pod.ports {
                add(self, ViaKind::HostNetwork, p.port, p.port, p.protocol);
            }
            if pod.ports.is_empty() {
                self.report.notes.push(format!(
                    "hostNetwork pod {} declares no container port: it may listen on the node's addresses on ports not listed",
                    pod.id()
                ));
            }
        } else {
            for h in &pod.host_ports {
                add(self, ViaKind::HostPort, h.container_port, h.host_port, h.protocol);
            }
        }
    }

    /// The Service and port a backend reference names, or a note saying why not.
    fn service_port(
        &mut self,
        reference: &ServiceRef,
        by: &str,
        protocol: Protocol,
    ) -> Option<(&'a Service, &'a ServicePort)> {
        let analysis: &'a Analysis = self.analysis;
        let cluster = &analysis.cluster;
        let Some(service) = crate::services::find(cluster, &reference.namespace, &reference.name) else {
            self.report.notes.push(format!(
                "{by}: {}: Service {}/{} is not in the input: what it serves is not listed",
                reference.field, reference.namespace, reference.name
            ));
            return None;
        };
        let port = service.ports.iter().find(|p| {
            p.protocol == protocol
                && match &reference.port {
                    Some(PortSpec::Number(n)) => p.port == *n,
                    Some(PortSpec::Name(name)) => p.name.as_deref() == Some(name.as_str()),
                    None => service.ports.len() == 1,
                }
        });
        match port {
            Some(port) => Some((service, port)),
            None => {
                let ports: Vec<String> =
                    service.ports.iter().map(|p| format!("{}/{}", p.port, p.protocol.as_str())).collect();
                let wanted = match &reference.port {
                    Some(PortSpec::Number(n)) => n.to_string(),
                    Some(PortSpec::Name(n)) => format!("{n:?}"),
                    None => "(none given)".into(),
                };
                self.report.notes.push(format!(
                    "{by}: {}: Service {}/{} has no {} port {wanted} (it has {}): not followed",
                    reference.field,
                    reference.namespace,
                    reference.name,
                    protocol.as_str(),
                    if ports.is_empty() { "none".into() } else { ports.join(", ") }
                ));
                None
            }
        }
    }

    /// The controller pods (endpoint indices) of an Ingress class, and who they are, in words.
    fn ingress_controllers(&mut self, class: Option<&str>) -> Vec<usize> {
        if let Some(chosen) = &self.options.ingress_controller {
            return chosen.clone();
        }
        let analysis: &'a Analysis = self.analysis;
        let entry = &analysis.cluster.entry_points;
        let class_object = match class {
            Some(name) => entry.ingress_classes.iter().find(|c| c.name == name),
            None => entry.ingress_classes.iter().find(|c| c.default),
        };
        let controller = class_object.map(|c| c.controller.as_str());
        let known: Vec<&[(&str, &str)]> = KNOWN_CONTROLLERS
            .iter()
            .filter(|(c, name, _)| match controller {
                Some(controller) => *c == controller,
                None => class.is_none_or(|class| class == *name),
            })
            .map(|(_, _, labels)| *labels)
            .collect();
        let candidates = if known.is_empty() { KNOWN_CONTROLLERS.iter().map(|k| k.2).collect() } else { known };
        let found: Vec<usize> = self
            .analysis
            .cluster
            .pods
            .iter()
            .enumerate()
            .filter(|(_, p)| p.name != ABSTRACT_CONTROLLER)
            .filter(|(_, p)| {
                candidates
                    .iter()
                    .any(|labels| labels.iter().all(|(k, v)| p.labels.get(*k).map(String::as_str) == Some(*v)))
            })
            .map(|(i, _)| self.endpoint(i))
            .collect();
        if !found.is_empty() {
            return found;
        }
        self.abstract_controller(&format!("Ingress class {}", class.unwrap_or("(default)")))
    }

    /// The abstract controller, with a note; nothing when the analysis lacks it.
    fn abstract_controller(&mut self, of: &str) -> Vec<usize> {
        self.report.notes.push(format!(
            "{of}: no controller pod in the input (give one with --ingress-controller SEL): the abstract {ABSTRACT_CONTROLLER} in namespace {ABSTRACT_CONTROLLER_NAMESPACE} stands for it"
        ));
        self.report.abstract_controller.into_iter().collect()
    }

    /// The first hop: outside → controller pods on their HTTP and HTTPS ports.
    fn controller_hop(&mut self, controllers: &[usize], ports: Vec<(Protocol, u16)>) -> Hop {
        let outside = self.outside.clone();
        self.hop(
            (&outside, None),
            controllers.to_vec(),
            ports,
            "the client's address (or the address of the load balancer in front)".into(),
        )
    }

    /// The second hop: the controller pods that outside reaches → a backend pod.
    fn backend_hop(&mut self, first: &Hop, backend: usize, protocol: Protocol, port: u16) -> Hop {
        let sources = if first.reached.is_empty() { first.to.clone() } else { first.reached.clone() };
        let clients = first.clients.clone();
        self.hop((&sources, clients), vec![backend], vec![(protocol, port)], "the controller pod's address".into())
    }

    /// The two hops of an Ingress or Gateway path; none when the analysis holds no controller
    /// pod for it (a caller that did not [`add_abstract_controller`]): the path exists, unjudged.
    fn controller_path(&mut self, first: Option<&Hop>, backend: usize, protocol: Protocol, port: u16) -> Vec<Hop> {
        match first {
            Some(first) => {
                let second = self.backend_hop(first, backend, protocol, port);
                vec![first.clone(), second]
            }
            None => Vec::new(),
        }
    }

    fn ingress(&mut self, ingress: &'a netreach_model::entrypoints::Ingress) {
        let class = ingress.class.clone();
        let (controllers, first) = match self.controllers.get(&class) {
            Some(known) => known.clone(),
            None => {
                let controllers = self.ingress_controllers(class.as_deref());
                let ports = self.http_ports(&controllers);
                let hop = self.controller_hop(&controllers, ports);
                self.controllers.insert(class.clone(), (controllers.clone(), hop.clone()));
                (controllers, hop)
            }
        };
        let first = (!controllers.is_empty()).then_some(first);
        let by = format!("Ingress {}/{}", ingress.namespace, ingress.name);
        for reference in &ingress.backends {
            let Some((service, port)) = self.service_port(reference, &by, Protocol::Tcp) else { continue };
            for (pod, target) in self.backends(service, port) {
                let endpoint = self.endpoint(pod);
                let hops = self.controller_path(first.as_ref(), endpoint, Protocol::Tcp, target);
                self.report.exposures.push(Exposure {
                    pod: endpoint,
                    port: target,
                    protocol: Protocol::Tcp,
                    entry_port: None,
                    via: Via { kind: ViaKind::Ingress, name: format!("{}/{}", ingress.namespace, ingress.name) },
                    hops,
                });
            }
        }
    }

    /// An ingress controller's HTTP(S) ports: its container ports 80 and 443 or named http and
    /// https, else TCP 80 and 443.
    fn http_ports(&self, controllers: &[usize]) -> Vec<(Protocol, u16)> {
        let mut ports = BTreeSet::new();
        for &c in controllers {
            for p in self.analysis.pod(c).map(|p| p.ports.as_slice()).unwrap_or_default() {
                if p.protocol == Protocol::Tcp
                    && (matches!(p.port, 80 | 443) || matches!(p.name.as_deref(), Some("http" | "https")))
                {
                    ports.insert((p.protocol, p.port));
                }
            }
        }
        if ports.is_empty() {
            ports.extend([(Protocol::Tcp, 80), (Protocol::Tcp, 443)]);
        }
        ports.into_iter().collect()
    }

    fn route(&mut self, route: &'a Route) {
        let by = format!("{} {}/{}", route.kind, route.namespace, route.name);
        let analysis: &'a Analysis = self.analysis;
        let cluster = &analysis.cluster;
        for parent in &route.parents {
            let key = (parent.namespace.as_str(), parent.name.as_str());
            let Some(gateway) =
                cluster.entry_points.gateways.iter().find(|g| (g.namespace.as_str(), g.name.as_str()) == key)
            else {
                self.report.notes.push(format!(
                    "{by}: parent Gateway {}/{} is not in the input: not followed",
                    parent.namespace, parent.name
                ));
                continue;
            };
            let listeners: Vec<&Listener> = gateway
                .listeners
                .iter()
                .filter(|l| parent.section_name.as_ref().is_none_or(|s| *s == l.name))
                .filter(|l| parent.port.is_none_or(|p| p == l.port))
                .filter(|l| kind_fits(l, &route.kind))
                .filter(|l| self.namespace_allowed(gateway, l, &route.namespace))
                .collect();
            if listeners.is_empty() {
                self.report.notes.push(format!(
                    "{by}: attaches to no listener of Gateway {}/{} (sectionName, port, route kind or allowedRoutes refuse it)",
                    gateway.namespace, gateway.name
                ));
                continue;
            }
            let pods = self.gateway_pods(gateway);
            for listener in listeners {
                let first =
                    (!pods.is_empty()).then(|| self.controller_hop(&pods, vec![(route.protocol(), listener.port)]));
                for reference in &route.backends {
                    if reference.namespace != route.namespace && !self.granted(route, reference) {
                        self.report.notes.push(format!(
                            "{by}: {}: Service {}/{} is in another namespace and no ReferenceGrant there allows it: refused, as the Gateway API requires",
                            reference.field, reference.namespace, reference.name
                        ));
                        continue;
                    }
                    let Some((service, port)) = self.service_port(reference, &by, route.protocol()) else { continue };
                    for (pod, target) in self.backends(service, port) {
                        let endpoint = self.endpoint(pod);
                        let hops = self.controller_path(first.as_ref(), endpoint, route.protocol(), target);
                        self.report.exposures.push(Exposure {
                            pod: endpoint,
                            port: target,
                            protocol: route.protocol(),
                            entry_port: Some(listener.port),
                            via: Via {
                                kind: ViaKind::Gateway,
                                name: format!("{}/{}", gateway.namespace, gateway.name),
                            },
                            hops,
                        });
                    }
                }
            }
        }
    }

    /// Whether a ReferenceGrant in the backend's namespace lets the route refer to it.
    fn granted(&self, route: &Route, reference: &ServiceRef) -> bool {
        self.analysis.cluster.entry_points.reference_grants.iter().any(|g| {
            g.namespace == reference.namespace
                && g.allows_route_to_service(&route.kind, &route.namespace, &reference.name)
        })
    }

    fn namespace_allowed(&self, gateway: &Gateway, listener: &Listener, namespace: &str) -> bool {
        match &listener.allowed_namespaces {
            AllowedNamespaces::Same => gateway.namespace == namespace,
            AllowedNamespaces::All => true,
            AllowedNamespaces::Selector(selector) => {
                self.analysis.cluster.namespaces.iter().any(|n| n.name == namespace && selector.matches(&n.labels))
            }
        }
    }

    /// The pods running a Gateway: labelled with its name, in its namespace first; else
    /// `--ingress-controller`; else the abstract controller.
    fn gateway_pods(&mut self, gateway: &Gateway) -> Vec<usize> {
        let labelled = |same_namespace: bool| -> Vec<usize> {
            self.analysis
                .cluster
                .pods
                .iter()
                .enumerate()
                .filter(|(_, p)| !same_namespace || p.namespace == gateway.namespace)
                .filter(|(_, p)| p.labels.get(GATEWAY_NAME_LABEL) == Some(&gateway.name))
                .map(|(i, _)| self.endpoint(i))
                .collect()
        };
        let mut pods = labelled(true);
        if pods.is_empty() {
            pods = labelled(false);
        }
        if !pods.is_empty() {
            return pods;
        }
        if let Some(chosen) = &self.options.ingress_controller {
            return chosen.clone();
        }
        self.abstract_controller(&format!("Gateway {}/{}", gateway.namespace, gateway.name))
    }
}

/// Whether a listener takes routes of this kind: its `allowedRoutes.kinds`, else the kinds its
/// protocol takes (<https://gateway-api.sigs.k8s.io/reference/spec/#listener>).
fn kind_fits(listener: &Listener, kind: &str) -> bool {
    if !listener.allowed_kinds.is_empty() {
        return listener.allowed_kinds.iter().any(|k| k == kind);
    }
    match listener.protocol.as_str() {
        "HTTP" | "HTTPS" => matches!(kind, "HTTPRoute" | "GRPCRoute"),
        "TLS" => matches!(kind, "TLSRoute" | "TCPRoute"),
        "TCP" => kind == "TCPRoute",
        "UDP" => kind == "UDPRoute",
        // An implementation's own protocol: it decides; assumed to take the route.
        _ => true,
    }
}
