//! Istio AuthorizationPolicy over the mesh view: which policies each destination's proxy
//! enforces, and the verdict on each allowed connection and port.
//!
//! Sources are grouped by what a policy can tell apart (namespace and service account, the
//! policies' source CIDRs their addresses fall in) and destinations by the policies bound to
//! them, their enforcing proxy, the ports their Services declare TCP and the destination CIDRs
//! they fall in, and the waypoint routes of their ports (`waypoint.rs`); verdicts are computed
//! once per (source key, destination profile, mTLS status, port set) and reused, never per pod
//! pair. The rules themselves live in [`netreach_model::mesh::authz`].
//!
//! Ambient waypoints: a connection is *Service-addressed* when some Service of the destination's
//! namespace selects the pod and has a port whose targetPort (a number, or a name resolved on
//! the pod) is the connection's port — clients call Services — and *workload-addressed*
//! otherwise. Only ambient clients' ztunnels send traffic to waypoints (sidecars and clients
//! outside the mesh reach the destination directly), and ingress gateways for the Services that
//! opt in with `istio.io/ingress-use-waypoint`. Through a waypoint, the policies attached to it
//! decide on the client, then the destination's own policies decide on the waypoint. At the
//! waypoint `destination.ip` is the address the client called: the Service's cluster IP for
//! Service-addressed traffic (istio/istio#46982: the waypoint's RBAC sees `localAddress` the
//! VIP), the pod's IP for workload-addressed traffic.

use super::waypoint::{Waypoints, GATEWAY_API_GROUP, GATEWAY_NAME_LABEL};
use ipnet::IpNet;
use netreach_model::mesh::authz::{
    self as rules, AuthorizationPolicy, AuthzDecision, AuthzPeer, AuthzTarget, Binding, Enforcement, Layer,
};
use netreach_model::mesh::waypoint::WAYPOINT_CLASS;
use netreach_model::mesh::{Membership, MeshKind, MeshOptions, MtlsStatus, PortMode};
use netreach_model::{Cluster, PortSet, Protocol};
use std::collections::HashMap;

/// Protocols that make a sidecar read a Service port as plain TCP or TLS (istio.io, "Protocol
/// Selection" › "Explicit protocol selection"). `https` and `tls` are TLS the proxy passes
/// through; the others are TCP protocols.
const TCP_PROTOCOLS: &[&str] = &["tcp", "tls", "https", "mongo", "mysql", "redis"];
/// Prefixes that declare HTTP; a port named neither way is left to protocol sniffing, which
/// reads HTTP when HTTP flows.
const HTTP_PROTOCOLS: &[&str] = &["http", "http2", "grpc", "grpc-web", "h2c"];

/// Which proxy enforces the policies of a destination.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Enforcer {
    /// No Istio proxy: nothing is enforced.
    None,
    /// An Envoy: a sidecar, or a gateway's own proxy.
    Envoy,
    /// Ambient: the node's ztunnel, which reads TCP only.
    Ztunnel,
}

/// What a destination's authorization depends on.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct TargetKey {
    enforcer: Enforcer,
    /// Indices into the policy list, in its order.
    applying: Vec<u32>,
    /// TCP ports its Services declare TCP or TLS (and none declares HTTP).
    tcp_ports: Vec<u16>,
    /// Per destination CIDR of the policies: whether an address of the pod falls in it.
    hits: Vec<bool>,
    /// Service-addressed ports with the routes of the Services that target them (`None`: a
    /// Service without waypoint), kept when a waypoint is on some route of the pod.
    service_routes: Vec<(u16, Vec<Option<u32>>)>,
    /// The route of workload-addressed traffic (other ports), if through a waypoint.
    workload_route: Option<u32>,
    /// `service_routes` as ingress gateways take them: through the waypoint only for Services
    /// with `istio.io/ingress-use-waypoint`.
    ingress_routes: Vec<(u16, Vec<Option<u32>>)>,
}

impl TargetKey {
    /// The routes an ambient client's traffic to `port` may take; empty: directly.
    fn routes(&self, port: u16) -> Vec<Option<u32>> {
        match self.service_routes.binary_search_by_key(&port, |(p, _)| *p) {
            Ok(i) => self.service_routes[i].1.clone(),
            Err(_) => self.workload_route.map(|r| vec![Some(r)]).unwrap_or_default(),
        }
    }

    /// The routes an ingress gateway's traffic to `port` may take; empty: directly (an ingress
    /// gateway calls Services, never pods by their IP).
    fn ingress_routes(&self, port: u16) -> Vec<Option<u32>> {
        match self.ingress_routes.binary_search_by_key(&port, |(p, _)| *p) {
            Ok(i) => self.ingress_routes[i].1.clone(),
            Err(_) => Vec::new(),
        }
    }

    fn route_ids(&self) -> impl Iterator<Item = u32> + '_ {
        self.service_routes.iter().flat_map(|(_, r)| r.iter().flatten().copied()).chain(self.workload_route)
    }
}

/// A path through a waypoint: the waypoint and the policies it enforces on that traffic.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct RouteKey {
    /// Index into the waypoint list.
    waypoint: u32,
    /// The policies attached to the waypoint, and to the Service addressed, in policy order.
    applying: Vec<u32>,
    /// Service-addressed: per destination CIDR of the policies, whether a cluster IP of the
    /// Service falls in it (what the waypoint reads as `destination.ip`); `None`:
    /// workload-addressed, the pod's own addresses.
    called: Option<Vec<bool>>,
}

/// What a source's authorization depends on.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct SourceKey {
    namespace: String,
    service_account: String,
    /// Per source CIDR of the policies: whether an address of the pod falls in it.
    hits: Vec<bool>,
    /// Whether its ztunnel sends traffic to waypoints (an ambient pod, when any waypoint is used).
    ambient: bool,
    /// Whether it is an Istio ingress gateway, which sends traffic to the waypoints of the
    /// Services that opt in (when any waypoint is used).
    ingress: bool,
}

/// The policies of one analysis, with sources and destinations keyed by what they tell apart.
pub struct AuthzIndex<'a> {
    pub policies: &'a [AuthorizationPolicy],
    trust_domain: String,
    source_cidrs: Vec<IpNet>,
    destination_cidrs: Vec<IpNet>,
    sources: Vec<SourceKey>,
    /// Per pod: index into `sources`.
    source_of: Vec<u32>,
    targets: Vec<TargetKey>,
    /// Per pod: index into `targets`.
    target_of: Vec<u32>,
    /// Distinct paths through waypoints.
    routes: Vec<RouteKey>,
    /// The waypoints, and per waypoint the source key destinations see behind it.
    pub waypoints: Waypoints,
    waypoint_sources: Vec<SourceKey>,
    /// Per policy: the pods whose proxy, or whose waypoint, enforces it.
    pub bound: Vec<u64>,
    /// References netreach cannot resolve, and addresses it does not know.
    pub notes: Vec<String>,
}

fn hits(cidrs: &[IpNet], pod: &netreach_model::Pod) -> Vec<bool> {
    cidrs.iter().map(|c| pod.ips.iter().any(|ip| c.contains(ip))).collect()
}

/// The GatewayClass of Istio's own (non-waypoint) gateways.
const ISTIO_GATEWAY_CLASS: &str = "istio";
/// The label of the classic `istio-ingressgateway` Deployment's pods (istio.io, "Ingress
/// Gateways": `selector: istio: ingressgateway # use Istio default gateway implementation`).
const CLASSIC_INGRESS_LABEL: (&str, &str) = ("istio", "ingressgateway");

/// Whether a pod is an Istio ingress gateway (a proxy of the router type): a pod of a Gateway of
/// class `istio` in its namespace, or of the classic ingress gateway Deployment.
fn is_ingress_gateway(cluster: &Cluster, pod: &netreach_model::Pod) -> bool {
    let (key, value) = CLASSIC_INGRESS_LABEL;
    pod.labels.get(key).is_some_and(|v| v == value)
        || pod.labels.get(GATEWAY_NAME_LABEL).is_some_and(|name| {
            cluster
                .entry_points
                .gateways
                .iter()
                .any(|g| g.namespace == pod.namespace && &g.name == name && g.class == ISTIO_GATEWAY_CLASS)
        })
}

fn declares(name: &str, protocols: &[&str]) -> bool {
    let name = name.to_ascii_lowercase();
    protocols.iter().any(|p| name == *p || name.strip_prefix(p).is_some_and(|rest| rest.starts_with('-')))
}

/// How a sidecar reads a Service port.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PortProtocol {
    /// Plain TCP or TLS passed through.
    Tcp,
    /// HTTP, HTTP/2 or gRPC.
    Http,
    /// Not declared: protocol sniffing, which reads HTTP when HTTP flows.
    Sniffed,
}

/// The protocol a Service port declares (istio.io, "Protocol Selection" › "Explicit protocol
/// selection", docs/ops/configuration/traffic-management/protocol-selection): "by the name of the
/// port: `name: <protocol>[-<suffix>]`" or "by the appProtocol field: `appProtocol: <protocol>`";
/// "If both are defined, appProtocol takes precedence over the port name". An appProtocol Istio
/// does not list declares nothing (sniffing); Kubernetes' standard `kubernetes.io/h2c` and
/// `kubernetes.io/ws` are HTTP, `kubernetes.io/wss` is TLS.
fn declared_protocol(port: &netreach_model::ServicePort) -> PortProtocol {
    let of = |known: &[&str], name: &str, exact: bool| {
        let name = name.to_ascii_lowercase();
        if exact {
            known.contains(&name.as_str())
        } else {
            declares(&name, known)
        }
    };
    if let Some(app) = port.app_protocol.as_deref() {
        return match app {
            "kubernetes.io/h2c" | "kubernetes.io/ws" => PortProtocol::Http,
            "kubernetes.io/wss" => PortProtocol::Tcp,
            _ if of(TCP_PROTOCOLS, app, true) => PortProtocol::Tcp,
            _ if of(HTTP_PROTOCOLS, app, true) => PortProtocol::Http,
            _ => PortProtocol::Sniffed,
        };
    }
    match port.name.as_deref() {
        Some(name) if of(TCP_PROTOCOLS, name, false) => PortProtocol::Tcp,
        Some(name) if of(HTTP_PROTOCOLS, name, false) => PortProtocol::Http,
        _ => PortProtocol::Sniffed,
    }
}

/// The Service ports that reach each pod: per pod, (target port, Service index, protocol the
/// Service port declares), for the TCP ports of Services with a selector.
fn service_ports(cluster: &Cluster) -> Vec<Vec<(u16, u32, PortProtocol)>> {
    let mut out = vec![Vec::new(); cluster.pods.len()];
    for (s, svc) in cluster.services.iter().enumerate() {
        if svc.selector.as_ref().is_none_or(|sel| sel.is_empty()) {
            continue;
        }
        for port in svc.ports.iter().filter(|p| p.protocol == Protocol::Tcp) {
            // A named targetPort the pod lacks is no backend (the notes belong to other queries).
            for (pod, number) in crate::services::backends(cluster, svc, port, &mut Vec::new()) {
                out[pod].push((number, s as u32, declared_protocol(port)));
            }
        }
    }
    for ports in &mut out {
        ports.sort_unstable_by_key(|&(n, s, _)| (n, s));
    }
    out
}

/// The pod's TCP ports that every Service selecting it declares TCP or TLS (appProtocol, else
/// port name), from its [`service_ports`].
fn tcp_ports(ports: &[(u16, u32, PortProtocol)]) -> Vec<u16> {
    let http: Vec<u16> = ports.iter().filter(|p| p.2 == PortProtocol::Http).map(|p| p.0).collect();
    let mut tcp: Vec<u16> =
        ports.iter().filter(|p| p.2 == PortProtocol::Tcp && !http.contains(&p.0)).map(|p| p.0).collect();
    tcp.dedup();
    tcp
}

/// Whether a rule compares the peer's principal or namespace.
fn reads_identity(rule: &netreach_model::mesh::authz::AuthzRule) -> bool {
    use netreach_model::mesh::authz::ConditionKey;
    rule.from.iter().any(|s| {
        !(s.principals.is_empty()
            && s.not_principals.is_empty()
            && s.namespaces.is_empty()
            && s.not_namespaces.is_empty())
    }) || rule.when.iter().any(|w| matches!(w.key, ConditionKey::SourceNamespace | ConditionKey::SourcePrincipal))
}

fn intern<K: Clone + Eq + std::hash::Hash>(key: K, list: &mut Vec<K>, ids: &mut HashMap<K, u32>) -> u32 {
    *ids.entry(key.clone()).or_insert_with(|| {
        list.push(key);
        (list.len() - 1) as u32
    })
}

impl<'a> AuthzIndex<'a> {
    pub fn new(cluster: &'a Cluster, membership: &[Membership], options: &MeshOptions) -> AuthzIndex<'a> {
        let policies = cluster.mesh.authorization_policies.as_slice();
        let root = options.istio_root_namespace.as_str();
        let (source_cidrs, destination_cidrs) = rules::cidrs(policies);
        let mut notes = Vec::new();
        let gateway_bound = gateway_bindings(cluster, policies, root, &mut notes);
        let waypoints = Waypoints::new(cluster, root);
        // Without any policy a waypoint changes no answer: nothing to say about it.
        if !policies.is_empty() {
            notes.extend(waypoints.notes.iter().cloned());
        }
        let any_waypoint = waypoints.any_used();
        let service_ports = service_ports(cluster);
        let mut bound = vec![0u64; policies.len()];
        let (mut sources, mut source_ids) = (Vec::new(), HashMap::new());
        let (mut targets, mut target_ids) = (Vec::new(), HashMap::new());
        let (mut routes, mut route_ids) = (Vec::new(), HashMap::new());
        let mut source_of = Vec::with_capacity(cluster.pods.len());
        // A Service behind a waypoint without a cluster IP in the input (a manifest): at the
        // waypoint its `destination.ip` is unknown.
        let mut unknown_called = false;
        // A selector binds pods of the policy's namespace, or of every namespace from the root:
        // candidates per pod come from these lists, not from every policy.
        let mut by_namespace: HashMap<&str, Vec<u32>> = HashMap::new();
        for (i, policy) in policies.iter().enumerate() {
            by_namespace.entry(policy.namespace.as_str()).or_default().push(i as u32);
        }
        let mut gateway_of: Vec<Vec<u32>> = vec![Vec::new(); cluster.pods.len()];
        for (i, pods) in gateway_bound.iter().enumerate() {
            for &q in pods {
                gateway_of[q].push(i as u32);
            }
        }
        let mut target_of = Vec::with_capacity(cluster.pods.len());
        // Sources differ by identity only where a rule reads it: without, they share keys.
        let identity_matters = policies.iter().flat_map(|p| &p.rules).any(reads_identity);
        let source_key = |namespace: &str, service_account: &str, hits: Vec<bool>, ambient: bool, ingress: bool| {
            let (namespace, service_account) = if identity_matters {
                (namespace.to_string(), service_account.to_string())
            } else {
                (String::new(), String::new())
            };
            SourceKey { namespace, service_account, hits, ambient, ingress }
        };
        for (p, pod) in cluster.pods.iter().enumerate() {
            let ingress = any_waypoint && is_ingress_gateway(cluster, pod);
            let ambient = any_waypoint && !ingress && membership[p].kind == MeshKind::IstioAmbient;
            let source = source_key(&pod.namespace, &pod.service_account, hits(&source_cidrs, pod), ambient, ingress);
            source_of.push(intern(source, &mut sources, &mut source_ids));
            let gateway = &gateway_of[p];
            let enforcer = match membership[p].kind {
                _ if !gateway.is_empty() => Enforcer::Envoy,
                MeshKind::IstioSidecar => Enforcer::Envoy,
                MeshKind::IstioAmbient => Enforcer::Ztunnel,
                MeshKind::None | MeshKind::Linkerd => Enforcer::None,
            };
            let mut applying = Vec::new();
            if enforcer != Enforcer::None {
                let listed = |ns: &str| by_namespace.get(ns).map_or(&[][..], Vec::as_slice);
                let mut candidates: Vec<u32> =
                    gateway.iter().chain(listed(root)).chain(listed(&pod.namespace)).copied().collect();
                candidates.sort_unstable();
                candidates.dedup();
                applying = candidates
                    .into_iter()
                    .filter(|&i| {
                        gateway.contains(&i) || policies[i as usize].selects(root, &pod.namespace, &pod.labels)
                    })
                    .collect();
            }
            // The waypoint routes of its ports: through the waypoint, the waypoint's policies and
            // those of the Service addressed.
            let mut route = |waypoint: u32, service: Option<u32>| {
                let mut applying = waypoints.gateway_policies[waypoint as usize].clone();
                let mut called = None;
                if let Some(s) = service {
                    applying.extend(&waypoints.service_policies[s as usize]);
                    applying.sort_unstable();
                    applying.dedup();
                    let ips = &cluster.services[s as usize].cluster_ips;
                    unknown_called |= ips.is_empty();
                    called = Some(destination_cidrs.iter().map(|c| ips.iter().any(|ip| c.contains(ip))).collect());
                }
                intern(RouteKey { waypoint, applying, called }, &mut routes, &mut route_ids)
            };
            let workload_route = waypoints.of_pod[p].map(|w| route(w, None));
            let mut service_routes: Vec<(u16, Vec<Option<u32>>)> = Vec::new();
            let mut ingress_routes: Vec<(u16, Vec<Option<u32>>)> = Vec::new();
            for &(port, s, _) in &service_ports[p] {
                let r = waypoints.of_service[s as usize].map(|w| route(w, Some(s)));
                let ingress = r.filter(|_| waypoints.ingress_of_service[s as usize]);
                for (list, r) in [(&mut service_routes, r), (&mut ingress_routes, ingress)] {
                    match list.last_mut() {
                        Some((last, routes)) if *last == port => routes.push(r),
                        _ => list.push((port, vec![r])),
                    }
                }
            }
            for (_, list) in service_routes.iter_mut().chain(&mut ingress_routes) {
                list.sort_unstable();
                list.dedup();
            }
            // Without a waypoint on any of its routes, the pod's traffic is all direct.
            let through_any =
                workload_route.is_some() || service_routes.iter().any(|(_, l)| l.iter().any(Option::is_some));
            if !through_any {
                service_routes.clear();
            }
            if !ingress_routes.iter().any(|(_, l)| l.iter().any(Option::is_some)) {
                ingress_routes.clear();
            }
            let mut counted: Vec<u32> = applying.clone();
            counted.extend(
                service_routes
                    .iter()
                    .flat_map(|(_, l)| l.iter().flatten())
                    .chain(&workload_route)
                    .flat_map(|&r| routes[r as usize].applying.iter().copied()),
            );
            counted.sort_unstable();
            counted.dedup();
            for &i in &counted {
                bound[i as usize] += 1;
            }
            let reads_protocols = enforcer == Enforcer::Envoy || through_any;
            let target = TargetKey {
                enforcer,
                tcp_ports: if reads_protocols { tcp_ports(&service_ports[p]) } else { Vec::new() },
                hits: if counted.is_empty() { Vec::new() } else { hits(&destination_cidrs, pod) },
                applying,
                service_routes,
                workload_route,
                ingress_routes,
            };
            target_of.push(intern(target, &mut targets, &mut target_ids));
        }
        // Behind a waypoint the destination sees the waypoint: its identity and addresses.
        let waypoint_sources = waypoints
            .list
            .iter()
            .map(|w| {
                let hits = (0..source_cidrs.len())
                    .map(|c| w.pods.iter().any(|&q| cluster.pods[q].ips.iter().any(|ip| source_cidrs[c].contains(ip))))
                    .collect();
                source_key(&w.namespace, &w.service_account, hits, false, false)
            })
            .collect();
        // Policies bound to no proxy are finding NR108 (authz_findings.rs).
        let any_ip = !source_cidrs.is_empty() || !destination_cidrs.is_empty();
        if !destination_cidrs.is_empty() && unknown_called {
            notes.push("at a waypoint, destination.ip is the cluster IP of the Service called; Services without spec.clusterIP in the input are outside every block there".into());
        }
        if any_ip && cluster.pods.iter().any(|p| p.ips.is_empty()) {
            notes.push("AuthorizationPolicy ipBlocks and ip conditions compare pod addresses; pods without a status.podIP (manifests) are outside every block".into());
        }
        AuthzIndex {
            policies,
            trust_domain: options.istio_trust_domain.clone(),
            source_cidrs,
            destination_cidrs,
            sources,
            source_of,
            targets,
            target_of,
            routes,
            waypoints,
            waypoint_sources,
            bound,
            notes,
        }
    }

    /// Whether any policy exists.
    pub fn is_empty(&self) -> bool {
        self.policies.is_empty()
    }

    /// The source key of a pod; `None` for an external range.
    pub fn source_of(&self, endpoint: usize) -> Option<u32> {
        self.source_of.get(endpoint).copied()
    }

    /// The destination key of a pod; `None` for an external range.
    pub fn target_of(&self, endpoint: usize) -> Option<u32> {
        self.target_of.get(endpoint).copied()
    }

    /// The waypoint (`namespace/name`) of a route.
    pub fn waypoint_of_route(&self, route: u32) -> String {
        self.waypoints.list[self.routes[route as usize].waypoint as usize].id()
    }

    /// Where policy `i` is read as TCP: whether a ztunnel enforces it, and the ports the
    /// Services of the sidecars (or of the destinations behind the waypoints) enforcing it
    /// declare TCP.
    pub fn tcp_readers(&self, i: u32) -> (bool, Vec<u16>) {
        let (mut ztunnel, mut ports) = (false, Vec::new());
        for t in &self.targets {
            if t.applying.contains(&i) {
                ztunnel |= t.enforcer == Enforcer::Ztunnel;
                if t.enforcer == Enforcer::Envoy {
                    ports.extend(&t.tcp_ports);
                }
            }
            if t.route_ids().any(|r| self.routes[r as usize].applying.contains(&i)) {
                ports.extend(&t.tcp_ports);
            }
        }
        ports.sort_unstable();
        ports.dedup();
        (ztunnel, ports)
    }

    /// The ALLOW policies enforced where a decision was taken: at a waypoint, the route's;
    /// elsewhere, the destination key's.
    pub fn allow_policies(&self, target: u32, at: Enforcement) -> Vec<u32> {
        let allow = |&&i: &&u32| self.policies[i as usize].action == netreach_model::mesh::authz::AuthzAction::Allow;
        let applying = match at {
            Enforcement::Waypoint(r) => &self.routes[r as usize].applying,
            _ => &self.targets[target as usize].applying,
        };
        applying.iter().filter(allow).copied().collect()
    }

    /// The decisions on `ports` (TCP only; other protocols are never enforced) for a source key
    /// (`None`: an external range) reaching destination key `target` with these port modes
    /// (`pieces` of its `DestinationModes`) and this mTLS status, in port order, merged per
    /// decision.
    pub fn decide(
        &self,
        source: Option<u32>,
        target: Option<u32>,
        pieces: &[(u16, u16, PortMode)],
        status: MtlsStatus,
        ports: &PortSet,
    ) -> Vec<(AuthzDecision, PortSet)> {
        // Without any policy every connection reads the same: no policy applies.
        if self.policies.is_empty() {
            return vec![(AuthzDecision::NO_POLICY, ports.clone())];
        }
        let mut out: Vec<(AuthzDecision, PortSet)> = Vec::new();
        let mut add = |d: AuthzDecision, set: PortSet| super::merge_ports(&mut out, d, set);
        add(AuthzDecision::NOT_ENFORCED, ports.difference(&PortSet::all_of(Protocol::Tcp)));
        let Some(key) = target.map(|t| &self.targets[t as usize]) else {
            add(AuthzDecision::NOT_ENFORCED, ports.clone());
            return out;
        };
        let source = source.map(|s| &self.sources[s as usize]);
        // Identity travels with mTLS only (ISTIO-SECURITY-2021-004).
        let identity = match (status, source) {
            (MtlsStatus::Mtls | MtlsStatus::Permissive, Some(s)) => {
                Some((s.namespace.as_str(), s.service_account.as_str()))
            }
            _ => None,
        };
        let (ambient, ingress) = source.map_or((false, false), |s| (s.ambient, s.ingress));
        let source_in = |c: &IpNet| {
            source.is_some_and(|s| self.source_cidrs.iter().position(|x| x == c).is_some_and(|i| s.hits[i]))
        };
        let destination_in =
            |c: &IpNet| self.destination_cidrs.iter().position(|x| x == c).is_some_and(|i| key.hits[i]);
        let peer = AuthzPeer { identity, source_in: &source_in };
        let mut cuts = rules::port_cuts(self.policies, &key.applying);
        for r in key.route_ids() {
            cuts.extend(rules::port_cuts(self.policies, &self.routes[r as usize].applying));
        }
        let route_ports = key.service_routes.iter().map(|(p, _)| *p);
        cuts.extend(
            key.tcp_ports.iter().copied().chain(route_ports).flat_map(|p| [Some(p), p.checked_add(1)]).flatten(),
        );
        cuts.sort_unstable();
        cuts.dedup();
        for &(lo, hi, mode) in pieces {
            let proxied = matches!(mode, PortMode::IstioSidecar(_) | PortMode::IstioAmbient(_));
            let wanted = ports.intersection(&PortSet::range(Protocol::Tcp, lo, hi));
            if wanted.is_empty() {
                continue;
            }
            // Pieces of [lo, hi] on which the verdict cannot change.
            let mut starts: Vec<u16> = vec![lo];
            starts.extend(cuts.iter().copied().filter(|&c| c > lo && c <= hi));
            for (k, &start) in starts.iter().enumerate() {
                let end = starts.get(k + 1).map_or(hi, |&next| next - 1);
                let part = wanted.intersection(&PortSet::range(Protocol::Tcp, start, end));
                if part.is_empty() {
                    continue;
                }
                let target = AuthzTarget { port: start, destination_in: &destination_in };
                // The destination's own proxy, on a connection from `peer`.
                let at_destination = |peer: &AuthzPeer| {
                    if !proxied || key.enforcer == Enforcer::None {
                        return AuthzDecision::NOT_ENFORCED;
                    }
                    let layer = match key.enforcer {
                        Enforcer::Envoy if !key.tcp_ports.contains(&start) => Layer::Http,
                        _ => Layer::Tcp,
                    };
                    rules::decide(self.policies, &key.applying, &self.trust_domain, peer, &target, layer)
                };
                let routes = match (ambient, ingress) {
                    (true, _) => key.routes(start),
                    (_, true) => key.ingress_routes(start),
                    _ => Vec::new(),
                };
                let decision = if routes.is_empty() {
                    at_destination(&peer)
                } else {
                    let through = |r: Option<u32>| match r {
                        None => at_destination(&peer),
                        Some(r) => self.through_waypoint(r, key, &peer, &target, &at_destination),
                    };
                    rules::most_open(routes.into_iter().map(through)).unwrap_or(AuthzDecision::NOT_ENFORCED)
                };
                add(decision, part);
            }
        }
        out.sort_by_key(|(d, _)| *d);
        out
    }

    /// The decision on a connection through the waypoint of `route`: the waypoint's policies on
    /// the client (an Envoy: HTTP fields apply where HTTP may flow, as for sidecars), then the
    /// destination's on the waypoint.
    fn through_waypoint(
        &self,
        route: u32,
        key: &TargetKey,
        client: &AuthzPeer,
        target: &AuthzTarget,
        at_destination: &dyn Fn(&AuthzPeer) -> AuthzDecision,
    ) -> AuthzDecision {
        let r = &self.routes[route as usize];
        let layer = if key.tcp_ports.contains(&target.port) { Layer::Tcp } else { Layer::Http };
        // The waypoint reads `destination.ip` as the address called: a Service's cluster IP.
        let called_in = |c: &IpNet| match &r.called {
            Some(hits) => self.destination_cidrs.iter().position(|x| x == c).is_some_and(|i| hits[i]),
            None => (target.destination_in)(c),
        };
        let called = AuthzTarget { port: target.port, destination_in: &called_in };
        let at_waypoint = rules::decide(self.policies, &r.applying, &self.trust_domain, client, &called, layer);
        let waypoint = &self.waypoint_sources[r.waypoint as usize];
        let waypoint_in = |c: &IpNet| self.source_cidrs.iter().position(|x| x == c).is_some_and(|i| waypoint.hits[i]);
        // The waypoint speaks HBONE (mTLS) to the destination with its own identity.
        let peer = AuthzPeer {
            identity: Some((waypoint.namespace.as_str(), waypoint.service_account.as_str())),
            source_in: &waypoint_in,
        };
        let behind = at_destination(&peer);
        rules::through_waypoint(
            at_waypoint.taken_at(Enforcement::Waypoint(route)),
            behind.taken_at(Enforcement::BehindWaypoint(route)),
        )
    }
}

/// Per policy, the pods of the (non-waypoint) gateways its `targetRefs` bind; every reference
/// netreach does not evaluate, or that binds nothing, is a note. Waypoints enforce their
/// policies on the traffic they carry, not on their own pods (`waypoint.rs`).
///
/// Reference, `targetRefs`: "kind: Gateway with group: gateway.networking.k8s.io in the same
/// namespace"; "kind: GatewayClass ... in the root namespace"; "kind: Service with group: "" or
/// group: "core" in the same namespace. This type is only supported for waypoints"; "kind:
/// ServiceEntry with group: networking.istio.io in the same namespace". Istio deploys a
/// Gateway's proxy as pods labelled `gateway.networking.k8s.io/gateway-name`.
fn gateway_bindings(
    cluster: &Cluster,
    policies: &[AuthorizationPolicy],
    root: &str,
    notes: &mut Vec<String>,
) -> Vec<Vec<usize>> {
    let gateway_pods = |namespace: Option<&str>, name: &str| -> Vec<usize> {
        (0..cluster.pods.len())
            .filter(|&q| {
                let pod = &cluster.pods[q];
                namespace.is_none_or(|ns| pod.namespace == ns)
                    && pod.labels.get(GATEWAY_NAME_LABEL).is_some_and(|n| n == name)
            })
            .collect()
    };
    let gateways = &cluster.entry_points.gateways;
    let is_waypoint = |ns: &str, name: &str| {
        gateways.iter().any(|g| g.namespace == ns && g.name == name && g.class == WAYPOINT_CLASS)
    };
    let mut out = vec![Vec::new(); policies.len()];
    for (i, p) in policies.iter().enumerate() {
        let Binding::Targets(refs) = &p.binding else { continue };
        for (k, r) in refs.iter().enumerate() {
            let what = format!("AuthorizationPolicy {} targetRefs[{k}] ({} {})", p.id(), r.kind, r.name);
            match (r.group.as_str(), r.kind.as_str()) {
                (GATEWAY_API_GROUP, "Gateway") if is_waypoint(&p.namespace, &r.name) => {}
                (GATEWAY_API_GROUP, "Gateway") => {
                    let pods = gateway_pods(Some(&p.namespace), &r.name);
                    if pods.is_empty() {
                        notes.push(format!("{what}: no pod of that Gateway in the input (label {GATEWAY_NAME_LABEL}={}); the policy is not evaluated", r.name));
                    }
                    out[i].extend(pods);
                }
                // Every gateway of the class, from the root namespace; waypoints in `waypoint.rs`.
                (GATEWAY_API_GROUP, "GatewayClass") if p.namespace == root && r.name != WAYPOINT_CLASS => {
                    for g in gateways.iter().filter(|g| g.class == r.name) {
                        out[i].extend(gateway_pods(Some(&g.namespace), &g.name));
                    }
                    if out[i].is_empty() {
                        notes.push(format!("{what}: no pod of a Gateway of that class in the input; the policy is not evaluated"));
                    }
                }
                // Bound in `waypoint.rs` (or listed as unevaluated by the loader: ServiceEntry).
                ("", "Service") | (GATEWAY_API_GROUP, "GatewayClass") | ("networking.istio.io", "ServiceEntry") => {}
                _ => notes.push(format!("{what}: Istio supports Gateway, GatewayClass, Service and ServiceEntry targets only; this reference binds nothing and has no effect")),
            }
        }
        out[i].sort_unstable();
        out[i].dedup();
    }
    out
}
