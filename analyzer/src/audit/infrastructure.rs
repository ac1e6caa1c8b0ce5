//! NR017-NR020: pods that reach infrastructure destinations (the cloud metadata service, the
//! API server without a token to call it with, the kubelets, etcd). Reads the engine's class
//! rows towards the external ranges holding each destination's addresses (every address of a
//! range is treated alike, so reaching the range is reaching them), one row per pod class; the
//! allowing rule comes from one `explain` per class, never per pod pair.

use super::checks::*;
use super::Context;
use crate::findings::{Finding, ObjectRef};
use netreach_model::{Destination, Endpoint, InfraDestination, IpRanges, PortSet, Protocol};
use std::collections::{BTreeMap, BTreeSet};

impl Context<'_> {
    /// NR017-NR020, one finding per destination and namespace.
    pub(super) fn infrastructure(&self, out: &mut Vec<Finding>) {
        for destination in &self.a.cluster.infrastructure {
            let Some(check) = check_of(destination.destination) else { continue };
            self.reaching(destination, check, out);
        }
    }

    fn reaching(&self, destination: &InfraDestination, check: crate::findings::Check, out: &mut Vec<Finding>) {
        let reach = &self.a.reach;
        let blocks: Vec<IpRanges> = destination.addresses.iter().map(IpRanges::from_net).collect();
        let mut target_classes: BTreeMap<usize, usize> = BTreeMap::new(); // class → an external in it
        for (i, range) in reach.externals().iter().enumerate() {
            let overlaps =
                blocks.iter().any(|b| range.ranges.family == b.family && range.ranges.difference(b) != range.ranges);
            if overlaps {
                let e = reach.index_of(Endpoint::External(i as u32));
                target_classes.entry(self.classes.class_of(e)).or_insert(e);
            }
        }
        if target_classes.is_empty() {
            return;
        }
        let wanted = |pod: usize| {
            self.selectable[pod] && (check.id != APISERVER_WITHOUT_TOKEN.id || !self.pods()[pod].mounts_token())
        };
        // Per namespace: the pods, the ports reached, and what allows it.
        let mut per_ns: BTreeMap<u32, (Vec<usize>, PortSet, BTreeSet<Allowing>)> = BTreeMap::new();
        // Per class reaching the destination: its wanted pods, the ports, the target class and port asked.
        let mut pending: Vec<Reaching> = Vec::new();
        for src in self.classes.pod_classes() {
            let pods: Vec<usize> = self
                .classes
                .members(src)
                .iter()
                .map(|&e| e as usize)
                .filter(|&e| e < reach.pod_count() && wanted(e))
                .collect();
            if pods.is_empty() {
                continue;
            }
            let mut reached = PortSet::empty();
            let mut sample: Option<(usize, PortSet)> = None;
            // A lookup per target class, not a scan of the (possibly dense) row.
            for (&dst, &external) in &target_classes {
                let Some(ports) = reach.class_allowed(src, dst) else { continue };
                let on = destination.reached_on(ports);
                if !on.is_empty() {
                    reached.union_with(&on);
                    sample.get_or_insert((external, on));
                }
            }
            let Some((external, on)) = sample else { continue };
            let Some((protocol, ranges)) = on.iter().find(|(_, r)| !r.is_empty()) else { continue };
            pending.push((pods, reached, reach.class_of(reach.endpoint(external)), (protocol, ranges[0].0)));
        }
        // What allows each class, asked in batches per (destination class, port): the engine filters
        // the grants towards the destination once per batch instead of once per class.
        let mut batches: BTreeMap<(usize, (Protocol, u16)), Vec<usize>> = BTreeMap::new();
        for (i, (_, _, dst_class, port)) in pending.iter().enumerate() {
            batches.entry((*dst_class, *port)).or_default().push(i);
        }
        let mut allowing: Vec<Allowing> = vec![Allowing::NoEgressPolicy; pending.len()];
        for ((dst_class, port), members) in batches {
            let classes: Vec<usize> =
                members.iter().map(|&i| reach.class_of(reach.endpoint(pending[i].0[0]))).collect();
            for (&i, deciders) in members.iter().zip(reach.egress_deciders(&classes, dst_class, port)) {
                allowing[i] = self.allowing(&deciders);
            }
        }
        for ((pods, reached, _, _), allowing) in pending.into_iter().zip(allowing) {
            for pod in pods {
                let entry =
                    per_ns.entry(self.pod_ns[pod]).or_insert_with(|| (Vec::new(), PortSet::empty(), BTreeSet::new()));
                entry.0.push(pod);
                entry.1.union_with(&reached);
                entry.2.insert(allowing.clone());
            }
        }
        let addresses: Vec<String> = destination.addresses.iter().map(|a| a.to_string()).collect();
        for (ns, (pods, ports, allowing)) in per_ns {
            let name = &self.namespaces[ns as usize];
            let mut objects = self.workloads(pods.iter().copied());
            let mut because = Vec::new();
            for a in &allowing {
                match a {
                    Allowing::NoEgressPolicy => because.push("no NetworkPolicy selects them for egress".to_string()),
                    Allowing::Rule(object) => {
                        because.push(format!("{object} allows it"));
                        objects.push(object.clone());
                    }
                }
            }
            objects.sort();
            objects.dedup();
            let ports = if ports.is_all() { "every port".to_string() } else { ports.to_string() };
            let tokenless = if check.id == APISERVER_WITHOUT_TOKEN.id {
                " although they mount no ServiceAccount token (automountServiceAccountToken: false)"
            } else {
                ""
            };
            out.push(
                Finding::new(
                    check,
                    Some(name),
                    objects,
                    format!(
                        "{} pod(s) in namespace {name} can reach {} ({} on {ports}){tokenless}: {}",
                        pods.len(),
                        destination.destination,
                        addresses.join(", "),
                        because.join("; ")
                    ),
                    fix(destination, name, &addresses, allowing.iter().any(|a| matches!(a, Allowing::Rule(_)))),
                )
                .about(destination.destination),
            );
        }
    }

    /// What allows a class's egress, from the engine's egress deciders: the first admin Allow
    /// rule, else the first NetworkPolicy rule, else a baseline Allow for a class no
    /// NetworkPolicy isolates, else the absence of an egress policy.
    fn allowing(&self, deciders: &netreach_model::EgressDeciders) -> Allowing {
        if let Some(m) = deciders.admin.filter(|m| m.action == netreach_model::Action::Allow) {
            let policy = &self.a.cluster.cluster_policies[m.policy as usize];
            return Allowing::Rule(ObjectRef::cluster_policy(policy, Some(format!("spec.egress[{}]", m.rule))));
        }
        match (deciders.first_rule, deciders.baseline) {
            (Some(r), _) => {
                let policy = &self.policies()[r.policy as usize];
                let field = match r.peer {
                    Some(k) => format!("spec.egress[{}].to[{k}]", r.rule),
                    None => format!("spec.egress[{}]", r.rule),
                };
                Allowing::Rule(ObjectRef::policy(policy, Some(field)))
            }
            (None, Some(m)) if !deciders.isolated && m.action == netreach_model::Action::Allow => {
                let policy = &self.a.cluster.cluster_policies[m.policy as usize];
                Allowing::Rule(ObjectRef::cluster_policy(policy, Some(format!("spec.egress[{}]", m.rule))))
            }
            _ => Allowing::NoEgressPolicy,
        }
    }
}

/// One class reaching a destination: its wanted pods, the ports reached, the target class and
/// the (protocol, port) its allowing rule is asked for.
type Reaching = (Vec<usize>, PortSet, usize, (Protocol, u16));

/// What lets a class's traffic through.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Allowing {
    /// No policy isolates the pods for egress (and no tier denies).
    NoEgressPolicy,
    /// The first rule that allows it.
    Rule(ObjectRef),
}

/// The check reporting pods that reach a destination; `nodes` has none (the node addresses
/// are reached for many legitimate reasons; `kubelet` and `etcd` are its dangerous ports).
fn check_of(destination: Destination) -> Option<crate::findings::Check> {
    match destination {
        Destination::CloudMetadata => Some(REACHES_CLOUD_METADATA),
        Destination::KubeApiserver => Some(APISERVER_WITHOUT_TOKEN),
        Destination::Kubelet => Some(REACHES_KUBELET),
        Destination::Etcd => Some(REACHES_ETCD),
        Destination::Nodes => None,
    }
}

/// How to close it: narrow the allowing rules' ipBlocks, or (no egress policy) add one.
fn fix(destination: &InfraDestination, namespace: &str, addresses: &[String], by_rule: bool) -> String {
    let except = addresses.join(", ");
    let ports = destination.ports.as_ref().map_or(String::new(), |p| format!(" on {p}"));
    let how = if by_rule {
        format!("narrow the allowing rules: their ipBlocks must except {except} (or leave out the ports)")
    } else {
        format!(
            "give namespace {namespace} a default-deny egress policy and allow egress with ipBlock peers that except {except}"
        )
    };
    match destination.destination {
        Destination::CloudMetadata => format!(
            "{how} (e.g. cidr: 0.0.0.0/0, except: [169.254.169.254/32]), or deny it cluster-wide with an AdminNetworkPolicy; \
             blocking it in the cloud too (IMDSv2 with hop limit 1, the GKE metadata server) is defence in depth, not a substitute"
        ),
        Destination::KubeApiserver => format!(
            "these pods mount no token, so they have no reason to call the API server: {how}{ports}"
        ),
        Destination::Kubelet => format!("only node agents and monitoring need the kubelet API: {how}{ports}"),
        Destination::Etcd => format!("only the API server talks to etcd: {how}{ports}"),
        Destination::Nodes => how,
    }
}
