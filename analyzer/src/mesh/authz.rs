//! Istio AuthorizationPolicy over the mesh view: which policies each destination's proxy
//! enforces, and the verdict on each allowed connection and port.
//!
//! Sources are grouped by what a policy can tell apart (namespace and service account, the
//! policies' source CIDRs their addresses fall in) and destinations by the policies bound to
//! them, their enforcing proxy, the ports their Services declare TCP and the destination CIDRs
//! they fall in; verdicts are computed once per (source key, destination profile, mTLS status,
//! port set) and reused, never per pod pair. The rules themselves live in
//! [`netreach_model::mesh::authz`].

use ipnet::IpNet;
use netreach_model::mesh::authz::{
    self as rules, AuthorizationPolicy, AuthzDecision, AuthzPeer, AuthzTarget, Binding, Layer,
};
use netreach_model::mesh::{Membership, MeshKind, MeshOptions, MtlsStatus, PortMode};
use netreach_model::{Cluster, PortSet, PortSpec, Protocol};
use std::collections::HashMap;

/// The label Istio puts on the pods of the proxy it deploys for a Gateway (gateway API).
const GATEWAY_NAME_LABEL: &str = "gateway.networking.k8s.io/gateway-name";
const GATEWAY_API_GROUP: &str = "gateway.networking.k8s.io";

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
}

/// What a source's authorization depends on.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct SourceKey {
    namespace: String,
    service_account: String,
    /// Per source CIDR of the policies: whether an address of the pod falls in it.
    hits: Vec<bool>,
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
    /// Per policy: the pods whose proxy enforces it.
    pub bound: Vec<u64>,
    /// References netreach cannot resolve, and addresses it does not know.
    pub notes: Vec<String>,
}

fn hits(cidrs: &[IpNet], pod: &netreach_model::Pod) -> Vec<bool> {
    cidrs.iter().map(|c| pod.ips.iter().any(|ip| c.contains(ip))).collect()
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

/// The pod's TCP ports that every Service selecting it declares TCP or TLS (appProtocol, else
/// port name).
fn tcp_ports(cluster: &Cluster, pod: &netreach_model::Pod) -> Vec<u16> {
    let (mut tcp, mut http) = (Vec::new(), Vec::new());
    for svc in cluster.services.iter().filter(|s| s.namespace == pod.namespace) {
        let Some(selector) = &svc.selector else { continue };
        if selector.is_empty() || !selector.iter().all(|(k, v)| pod.labels.get(k) == Some(v)) {
            continue;
        }
        for port in svc.ports.iter().filter(|p| p.protocol == Protocol::Tcp) {
            let number = match &port.target_port {
                PortSpec::Number(n) => Some(*n),
                PortSpec::Name(name) => pod.ports.iter().find(|c| c.name.as_deref() == Some(name)).map(|c| c.port),
            };
            let Some(number) = number else { continue };
            match declared_protocol(port) {
                PortProtocol::Tcp => tcp.push(number),
                PortProtocol::Http => http.push(number),
                PortProtocol::Sniffed => {}
            }
        }
    }
    tcp.retain(|p| !http.contains(p));
    tcp.sort_unstable();
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
        let gateway_bound = gateway_bindings(cluster, policies, &mut notes);
        let mut bound = vec![0u64; policies.len()];
        let (mut sources, mut source_ids) = (Vec::new(), HashMap::new());
        let (mut targets, mut target_ids) = (Vec::new(), HashMap::new());
        let mut source_of = Vec::with_capacity(cluster.pods.len());
        let mut target_of = Vec::with_capacity(cluster.pods.len());
        // Sources differ by identity only where a rule reads it: without, they share keys.
        let identity_matters = policies.iter().flat_map(|p| &p.rules).any(reads_identity);
        for (p, pod) in cluster.pods.iter().enumerate() {
            let (namespace, service_account) = if identity_matters {
                (pod.namespace.clone(), pod.service_account.clone())
            } else {
                (String::new(), String::new())
            };
            let source = SourceKey { namespace, service_account, hits: hits(&source_cidrs, pod) };
            source_of.push(intern(source, &mut sources, &mut source_ids));
            let gateway: Vec<u32> =
                (0..policies.len() as u32).filter(|&i| gateway_bound[i as usize].contains(&p)).collect();
            let enforcer = match membership[p].kind {
                _ if !gateway.is_empty() => Enforcer::Envoy,
                MeshKind::IstioSidecar => Enforcer::Envoy,
                MeshKind::IstioAmbient => Enforcer::Ztunnel,
                MeshKind::None | MeshKind::Linkerd => Enforcer::None,
            };
            let mut applying = Vec::new();
            if enforcer != Enforcer::None {
                applying = (0..policies.len() as u32)
                    .filter(|&i| {
                        gateway.contains(&i) || policies[i as usize].selects(root, &pod.namespace, &pod.labels)
                    })
                    .collect();
            }
            for &i in &applying {
                bound[i as usize] += 1;
            }
            let target = TargetKey {
                enforcer,
                tcp_ports: if enforcer == Enforcer::Envoy { tcp_ports(cluster, pod) } else { Vec::new() },
                hits: if applying.is_empty() { Vec::new() } else { hits(&destination_cidrs, pod) },
                applying,
            };
            target_of.push(intern(target, &mut targets, &mut target_ids));
        }
        // Policies bound to no proxy are finding NR108 (authz_findings.rs).
        let any_ip = !source_cidrs.is_empty() || !destination_cidrs.is_empty();
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

    /// Where policy `i` is read as TCP: whether a ztunnel enforces it, and the ports the
    /// Services of the sidecars enforcing it declare TCP.
    pub fn tcp_readers(&self, i: u32) -> (bool, Vec<u16>) {
        let (mut ztunnel, mut ports) = (false, Vec::new());
        for t in self.targets.iter().filter(|t| t.applying.contains(&i)) {
            ztunnel |= t.enforcer == Enforcer::Ztunnel;
            ports.extend(&t.tcp_ports);
        }
        ports.sort_unstable();
        ports.dedup();
        (ztunnel, ports)
    }

    /// The ALLOW policies a destination key's proxy enforces.
    pub fn allow_policies(&self, target: u32) -> Vec<u32> {
        let allow = |&&i: &&u32| self.policies[i as usize].action == netreach_model::mesh::authz::AuthzAction::Allow;
        self.targets[target as usize].applying.iter().filter(allow).copied().collect()
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
        let source_in = |c: &IpNet| {
            source.is_some_and(|s| self.source_cidrs.iter().position(|x| x == c).is_some_and(|i| s.hits[i]))
        };
        let destination_in =
            |c: &IpNet| self.destination_cidrs.iter().position(|x| x == c).is_some_and(|i| key.hits[i]);
        let peer = AuthzPeer { identity, source_in: &source_in };
        let mut cuts = rules::port_cuts(self.policies, &key.applying);
        cuts.extend(key.tcp_ports.iter().flat_map(|&p| [Some(p), p.checked_add(1)]).flatten());
        cuts.sort_unstable();
        cuts.dedup();
        for &(lo, hi, mode) in pieces {
            let proxied = matches!(mode, PortMode::IstioSidecar(_) | PortMode::IstioAmbient(_));
            let wanted = ports.intersection(&PortSet::range(Protocol::Tcp, lo, hi));
            if wanted.is_empty() {
                continue;
            }
            if !proxied || key.enforcer == Enforcer::None {
                add(AuthzDecision::NOT_ENFORCED, wanted);
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
                let layer = match key.enforcer {
                    Enforcer::Envoy if !key.tcp_ports.contains(&start) => Layer::Http,
                    _ => Layer::Tcp,
                };
                let target = AuthzTarget { port: start, destination_in: &destination_in };
                add(rules::decide(self.policies, &key.applying, &self.trust_domain, &peer, &target, layer), part);
            }
        }
        out.sort_by_key(|(d, _)| *d);
        out
    }
}

/// Per policy, the pods its `targetRefs` bind; every reference netreach does not evaluate, or
/// that binds nothing, is a note.
///
/// Reference, `targetRefs`: "kind: Gateway with group: gateway.networking.k8s.io in the same
/// namespace"; "kind: GatewayClass ... in the root namespace"; "kind: Service with group: "" or
/// group: "core" in the same namespace. This type is only supported for waypoints"; "kind:
/// ServiceEntry with group: networking.istio.io in the same namespace". Istio deploys a
/// Gateway's proxy as pods labelled `gateway.networking.k8s.io/gateway-name`.
fn gateway_bindings(cluster: &Cluster, policies: &[AuthorizationPolicy], notes: &mut Vec<String>) -> Vec<Vec<usize>> {
    let mut out = vec![Vec::new(); policies.len()];
    for (i, p) in policies.iter().enumerate() {
        let Binding::Targets(refs) = &p.binding else { continue };
        for (k, r) in refs.iter().enumerate() {
            let what = format!("AuthorizationPolicy {} targetRefs[{k}] ({} {})", p.id(), r.kind, r.name);
            match (r.group.as_str(), r.kind.as_str()) {
                (GATEWAY_API_GROUP, "Gateway") => {
                    let pods: Vec<usize> = (0..cluster.pods.len())
                        .filter(|&q| {
                            let pod = &cluster.pods[q];
                            pod.namespace == p.namespace && pod.labels.get(GATEWAY_NAME_LABEL) == Some(&r.name)
                        })
                        .collect();
                    if pods.is_empty() {
                        notes.push(format!("{what}: no pod of that Gateway in the input (label {GATEWAY_NAME_LABEL}={}); the policy is not evaluated", r.name));
                    }
                    out[i].extend(pods);
                }
                // Listed as unevaluated by the loader (a warning in every command).
                ("", "Service") | (GATEWAY_API_GROUP, "GatewayClass") | ("networking.istio.io", "ServiceEntry") => {}
                _ => notes.push(format!("{what}: Istio supports Gateway, GatewayClass, Service and ServiceEntry targets only; this reference binds nothing and has no effect")),
            }
        }
    }
    out
}
