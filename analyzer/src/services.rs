//! The pods behind a Service: its selector's pods in its namespace (or, without a selector, the
//! pods its EndpointSlices and Endpoints list), and the port each receives a Service port on
//! (`targetPort`, a number or a container port name resolved per pod). Shared by selectors
//! (`ns/Service/name`), `can` and `exposure`.

use netreach_model::{Cluster, PortSpec, Service, ServicePort};

/// The pods (indices into `cluster.pods`) of a namespace: pods are sorted by namespace.
fn namespace_pods(cluster: &Cluster, namespace: &str) -> std::ops::Range<usize> {
    let start = cluster.pods.partition_point(|p| p.namespace.as_str() < namespace);
    let end = cluster.pods.partition_point(|p| p.namespace.as_str() <= namespace);
    start..end
}

/// The Service `namespace/name`.
pub fn find<'c>(cluster: &'c Cluster, namespace: &str, name: &str) -> Option<&'c Service> {
    let key = (namespace, name);
    let i = cluster.services.binary_search_by(|s| (s.namespace.as_str(), s.name.as_str()).cmp(&key)).ok()?;
    Some(&cluster.services[i])
}

/// The pods a Service's selector selects (none for a Service without one).
pub fn selected_pods(cluster: &Cluster, service: &Service) -> Vec<usize> {
    let Some(selector) = service.selector.as_ref().filter(|s| !s.is_empty()) else { return Vec::new() };
    namespace_pods(cluster, &service.namespace)
        .filter(|&i| selector.iter().all(|(k, v)| cluster.pods[i].labels.get(k) == Some(v)))
        .collect()
}

/// The pods behind one Service port with the port each receives it on, ascending; `notes`
/// gets what was left out and why.
pub fn backends(
    cluster: &Cluster,
    service: &Service,
    port: &ServicePort,
    notes: &mut Vec<String>,
) -> Vec<(usize, u16)> {
    let id = format!("{}/{}", service.namespace, service.name);
    let mut out = Vec::new();
    if service.selector.as_ref().is_some_and(|s| !s.is_empty()) {
        for i in selected_pods(cluster, service) {
            let pod = &cluster.pods[i];
            match &port.target_port {
                PortSpec::Number(n) => out.push((i, *n)),
                PortSpec::Name(name) => match pod.resolve_named_port(name, port.protocol).next() {
                    Some(n) => out.push((i, n)),
                    None => notes.push(format!(
                        "Service {id} port {}: pod {} has no {} container port named {name:?}: not a backend of this port (Kubernetes leaves it out of the endpoints)",
                        port.port,
                        pod.id(),
                        port.protocol.as_str()
                    )),
                },
            }
        }
    } else {
        // No selector: the EndpointSlices (or Endpoints) say who backs it; their ports carry the
        // Service port's name (<https://kubernetes.io/docs/concepts/services-networking/service/#services-without-selectors>).
        let listed = cluster
            .entry_points
            .service_endpoints
            .iter()
            .filter(|e| e.namespace == service.namespace && e.service == service.name);
        for endpoints in listed {
            let Some(&(_, target, _)) =
                endpoints.ports.iter().find(|(name, _, protocol)| *name == port.name && *protocol == port.protocol)
            else {
                continue;
            };
            for (ip, pod_name) in &endpoints.addresses {
                let pods = namespace_pods(cluster, &service.namespace);
                let by_name = pod_name.as_ref().and_then(|n| pods.clone().find(|&i| &cluster.pods[i].name == n));
                let by_ip = || {
                    (0..cluster.pods.len()).find(|&i| !cluster.pods[i].host_network && cluster.pods[i].ips.contains(ip))
                };
                match by_name.or_else(by_ip) {
                    Some(i) => out.push((i, target)),
                    None => notes.push(format!(
                        "Service {id} (no selector): endpoint {ip} is not a pod of the input: not listed"
                    )),
                }
            }
        }
        if out.is_empty() {
            notes.push(format!(
                "Service {id} has no selector and the input has no EndpointSlice or Endpoints backing port {}: nothing listed behind it",
                port.port
            ));
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// Every pod behind a Service, on any of its ports, ascending.
pub fn backing_pods(cluster: &Cluster, service: &Service) -> Vec<usize> {
    if service.selector.as_ref().is_some_and(|s| !s.is_empty()) {
        return selected_pods(cluster, service);
    }
    let mut pods: Vec<usize> =
        service.ports.iter().flat_map(|p| backends(cluster, service, p, &mut Vec::new())).map(|(i, _)| i).collect();
    pods.sort_unstable();
    pods.dedup();
    pods
}
