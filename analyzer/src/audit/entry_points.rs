//! NR007, NR021, NR022: what outside the cluster reaches through real entry points. A pod is
//! reachable from the internet only when something delivers traffic to it (a LoadBalancer,
//! NodePort or externalIP Service, an Ingress, a Gateway, a hostPort, hostNetwork) and policy
//! admits the source each hop sees ([`crate::exposure`]); policy that admits outside ranges on
//! ports nothing delivers to is a lower finding, and a published Service whose backends admit
//! none of what it delivers is one too. Reads the engine's class rows, never pod pairs.

use super::checks::*;
use super::exposure::describe_ports;
use super::Context;
use crate::exposure::{exposure, Exposure, ExposureOptions, ExposureReport, ViaKind};
use crate::findings::{Finding, ObjectRef};
use netreach_model::{Endpoint, PortSet};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Per pod (index): the ports outside ranges are admitted on, and those ranges (endpoints).
type AdmittedFromOutside = HashMap<usize, (PortSet, BTreeSet<usize>)>;

/// The reachable entry paths of a pod, or of the pods of one NR007 finding.
#[derive(Default)]
struct EntryPaths {
    ports: PortSet,
    /// `LoadBalancer web/frontend`, for the message.
    vias: BTreeSet<String>,
    /// The Services, Ingresses and Gateways, for the finding's objects.
    objects: BTreeSet<ObjectRef>,
    /// The sources the first hop admits (external ranges).
    sources: BTreeSet<usize>,
    /// A path through an Ingress or Gateway whose controller is not in the input.
    unjudged: bool,
}

impl EntryPaths {
    fn merge(&mut self, other: EntryPaths) {
        self.ports.union_with(&other.ports);
        self.vias.extend(other.vias);
        self.objects.extend(other.objects);
        self.sources.extend(other.sources);
        self.unjudged |= other.unjudged;
    }
}

impl Context<'_> {
    /// NR007, NR021, NR022, from one `exposure` run with the default choices (externalTrafficPolicy
    /// Cluster seen as the node's address).
    pub(super) fn internet_exposure(&self, out: &mut Vec<Finding>) {
        let report = self.exposure_report();
        let admitted = self.admitted_from_outside();
        self.reachable_from_internet(report, &admitted, out);
        self.admitted_but_not_exposed(report, &admitted, out);
        self.published_services_policy_closes(report, out);
    }

    /// `exposure` with the default choices, run once for NR007, NR021, NR022 and NR301-NR303.
    pub(super) fn exposure_report(&self) -> &ExposureReport {
        self.exposure.get_or_init(|| exposure(self.a, &ExposureOptions::default()))
    }

    /// From each external class's row, the pod classes and ports it reaches, per pod.
    fn admitted_from_outside(&self) -> AdmittedFromOutside {
        let reach = &self.a.reach;
        let ext_classes: BTreeSet<usize> =
            (reach.pod_count()..reach.endpoint_count()).map(|e| self.classes.class_of(e)).collect();
        let mut per_class: HashMap<usize, (PortSet, BTreeSet<usize>)> = HashMap::new();
        for &src in &ext_classes {
            for (dst, ports) in reach.class_row(src) {
                if ports.is_empty() || !self.classes.is_pod_class(dst) {
                    continue;
                }
                let entry = per_class.entry(dst).or_insert_with(|| (PortSet::empty(), BTreeSet::new()));
                entry.0.union_with(ports);
                entry
                    .1
                    .extend(self.classes.members(src).iter().map(|&e| e as usize).filter(|&e| e >= reach.pod_count()));
            }
        }
        let mut per_pod = HashMap::new();
        for (class, admitted) in per_class {
            for &e in self.classes.members(class).iter().filter(|&&e| (e as usize) < reach.pod_count()) {
                per_pod.insert(e as usize, admitted.clone());
            }
        }
        per_pod
    }

    /// The pod index of an exposure's endpoint.
    fn exposed_pod(&self, e: &Exposure) -> Option<usize> {
        match self.a.reach.endpoint(e.pod) {
            Endpoint::Pod(p) => Some(p as usize),
            _ => None,
        }
    }

    /// NR007: pods that an entry path delivers to and whose every hop policy admits; hostNetwork
    /// pods are their own entry path (the node's addresses) on every port outside is admitted on.
    fn reachable_from_internet(&self, report: &ExposureReport, admitted: &AdmittedFromOutside, out: &mut Vec<Finding>) {
        let mut per_pod: BTreeMap<usize, EntryPaths> = BTreeMap::new();
        for e in report.exposures.iter().filter(|e| e.reachable() && e.via.kind != ViaKind::HostNetwork) {
            let Some(pod) = self.exposed_pod(e) else { continue };
            let paths = per_pod.entry(pod).or_default();
            paths.ports.union_with(&PortSet::single(e.protocol, e.port));
            paths.vias.insert(format!("{} {}", e.via.kind.as_str(), e.via.name));
            paths.objects.extend(entry_object(e));
            match e.hops.first() {
                Some(first) => paths.sources.extend(first.admitted_from.iter().copied()),
                None => paths.unjudged = true,
            }
        }
        for (&pod, (ports, sources)) in admitted.iter().filter(|(&p, _)| self.pods()[p].host_network) {
            let paths = per_pod.entry(pod).or_default();
            paths.ports.union_with(ports);
            paths.vias.insert("hostNetwork (the node's addresses)".into());
            paths.sources.extend(sources.iter().copied());
        }
        let mut groups: BTreeMap<(u32, PortSet), (Vec<usize>, EntryPaths)> = BTreeMap::new();
        for (pod, paths) in per_pod {
            let group = groups.entry((self.pod_ns[pod], paths.ports.clone())).or_default();
            group.0.push(pod);
            group.1.merge(paths);
        }
        for ((ns, ports), (pods, paths)) in groups {
            let name = &self.namespaces[ns as usize];
            let mut message = format!(
                "{} pod(s) in namespace {name} can be reached from outside the cluster on {} through {}",
                pods.len(),
                describe_ports(&ports),
                paths.vias.iter().map(String::as_str).collect::<Vec<_>>().join(", ")
            );
            if !paths.sources.is_empty() {
                let from: Vec<String> = paths.sources.iter().map(|&e| self.a.display_name(e)).collect();
                message.push_str(&format!(": from {}", from.join("; ")));
            }
            if paths.unjudged {
                message.push_str(
                    " (an Ingress or Gateway controller is not in the input: its hops are assumed to admit the traffic)",
                );
            }
            let mut objects = self.workloads(pods.iter().copied());
            objects.extend(paths.objects);
            out.push(Finding::new(
                REACHABLE_FROM_INTERNET,
                Some(name),
                objects,
                message,
                "restrict the ingress peers to the load balancer, node or controller addresses the entry point delivers from, and the ports to the served ones"
                    .to_string(),
            ));
        }
    }

    /// NR021: ports whose policy admits outside ranges but that no entry path delivers to.
    fn admitted_but_not_exposed(
        &self,
        report: &ExposureReport,
        admitted: &AdmittedFromOutside,
        out: &mut Vec<Finding>,
    ) {
        let mut delivered: HashMap<usize, PortSet> = HashMap::new();
        for e in &report.exposures {
            if let Some(pod) = self.exposed_pod(e) {
                delivered.entry(pod).or_insert_with(PortSet::empty).union_with(&PortSet::single(e.protocol, e.port));
            }
        }
        let mut groups: BTreeMap<(u32, PortSet), (Vec<usize>, BTreeSet<usize>)> = BTreeMap::new();
        for (&pod, (ports, sources)) in admitted.iter().filter(|(&p, _)| !self.pods()[p].host_network) {
            let open = match delivered.get(&pod) {
                Some(exposed) => ports.difference(exposed),
                None => ports.clone(),
            };
            if open.is_empty() {
                continue;
            }
            let group = groups.entry((self.pod_ns[pod], open)).or_default();
            group.0.push(pod);
            group.1.extend(sources.iter().copied());
        }
        for ((ns, ports), (mut pods, sources)) in groups {
            pods.sort_unstable();
            let name = &self.namespaces[ns as usize];
            let from: Vec<String> = sources.iter().map(|&e| self.a.display_name(e)).collect();
            out.push(Finding::new(
                ADMITTED_BUT_NOT_EXPOSED,
                Some(name),
                self.workloads(pods.iter().copied()),
                format!(
                    "{} pod(s) in namespace {name} admit traffic from outside the cluster on {} (from {}), but no LoadBalancer, NodePort or externalIP Service, Ingress, Gateway, hostPort or hostNetwork delivers there",
                    pods.len(),
                    describe_ports(&ports),
                    from.join("; ")
                ),
                "narrow the ingress ipBlock peers and ports to what an entry point delivers, so that publishing the pods later does not open them wider"
                    .to_string(),
            ));
        }
    }

    /// NR022: a LoadBalancer, NodePort or externalIP Service with backends, none of which admits
    /// a source it delivers (e.g. externalTrafficPolicy Cluster's node address, which an ipBlock
    /// for the clients does not cover).
    fn published_services_policy_closes(&self, report: &ExposureReport, out: &mut Vec<Finding>) {
        let published = [ViaKind::LoadBalancer, ViaKind::NodePort, ViaKind::ExternalIp];
        let mut per_entry: BTreeMap<(&str, ViaKind), Vec<&Exposure>> = BTreeMap::new();
        for e in report.exposures.iter().filter(|e| published.contains(&e.via.kind)) {
            per_entry.entry((e.via.name.as_str(), e.via.kind)).or_default().push(e);
        }
        for ((service, kind), exposures) in per_entry {
            if exposures.iter().any(|e| e.reachable()) {
                continue;
            }
            let pods: BTreeSet<usize> = exposures.iter().filter_map(|e| self.exposed_pod(e)).collect();
            let ports: BTreeSet<String> =
                exposures.iter().map(|e| format!("{}/{}", e.port, e.protocol.as_str())).collect();
            let seen: BTreeSet<&str> =
                exposures.iter().filter_map(|e| e.hops.first()).map(|h| h.source.as_str()).collect();
            let node_source = seen.iter().any(|s| s.starts_with("a node address"));
            let namespace = service.split_once('/').map(|(ns, _)| ns);
            let mut objects = vec![service_object(service)];
            objects.extend(self.workloads(pods.iter().copied()));
            out.push(Finding::new(
                PUBLISHED_SERVICE_POLICY_CLOSES,
                namespace,
                objects,
                format!(
                    "{} Service {service} delivers to {} pod(s) on {}, but their ingress policies admit none of the sources they see ({}): traffic entering through it is dropped",
                    kind.as_str(),
                    pods.len(),
                    ports.into_iter().collect::<Vec<_>>().join(", "),
                    seen.into_iter().collect::<Vec<_>>().join("; ")
                ),
                if node_source {
                    "admit the node addresses in the backends' ingress rules (externalTrafficPolicy: Cluster masquerades clients to them), or set externalTrafficPolicy: Local and admit the clients' ranges".to_string()
                } else {
                    "admit the clients' ranges on the target ports in the backends' ingress rules, or stop publishing the Service".to_string()
                },
            ));
        }
    }
}

/// The Service, Ingress or Gateway an exposure enters through; `None` for hostPort and
/// hostNetwork (the pod is its own entry, named by its workload).
fn entry_object(e: &Exposure) -> Option<ObjectRef> {
    let kind = match e.via.kind {
        ViaKind::LoadBalancer | ViaKind::NodePort | ViaKind::ExternalIp => "Service",
        ViaKind::Ingress => "Ingress",
        ViaKind::Gateway => "Gateway",
        ViaKind::HostPort | ViaKind::HostNetwork => return None,
    };
    let (namespace, name) = e.via.name.split_once('/')?;
    Some(ObjectRef { kind: kind.into(), namespace: Some(namespace.into()), name: name.into(), field: None })
}

fn service_object(id: &str) -> ObjectRef {
    let (namespace, name) = id.split_once('/').unwrap_or(("", id));
    ObjectRef { kind: "Service".into(), namespace: Some(namespace.into()), name: name.into(), field: None }
}
