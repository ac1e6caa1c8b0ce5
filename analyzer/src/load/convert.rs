//! Typing raw objects with k8s-openapi and turning them into the model, validating what the
//! API server would validate for the fields the engine reads.

use super::documents::{Body, Head, RawObject};
use super::networkpolicy;
use super::{LoadError, LoadReport, Origin};
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1 as core;
use k8s_openapi::api::networking::v1 as net;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector as K8sSelector, ObjectMeta, OwnerReference};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use netreach_model::calico::ServiceAccountLabels;
use netreach_model::entrypoints::{HostPort, Publishing, ServiceType, TrafficPolicy};
use netreach_model::{
    Cluster, ContainerPort, LabelSelector, Labels, Namespace, Node, Pod, PortSpec, Protocol, Requirement, Service,
    ServicePort, WorkloadRef,
};
use serde_json::Value;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::net::IpAddr;

pub(super) const DEFAULT_NAMESPACE: &str = "default";

/// Kinds without a namespace (their `metadata.namespace` is ignored); shared with the what-if
/// merge, which identifies objects by kind/namespace/name.
pub(super) fn is_cluster_scoped(kind: &str) -> bool {
    matches!(
        kind,
        "Namespace"
            | "Node"
            | "AdminNetworkPolicy"
            | "BaselineAdminNetworkPolicy"
            | "ClusterNetworkPolicy"
            | "CiliumClusterwideNetworkPolicy"
            | "IngressClass"
            | "GatewayClass"
            | "ClusterRole"
            | "ClusterRoleBinding"
    ) || super::calico::is_cluster_scoped(kind)
}

/// Context for errors about one object.
pub(super) struct At<'a> {
    pub(super) origin: &'a Origin,
    pub(super) object: String,
    /// Fields of the object that no typed field took, as written (`spec.containers[0].ports[0].containerport`).
    pub(super) unknown: std::cell::RefCell<Vec<String>>,
}

impl At<'_> {
    pub(super) fn err(&self, field: impl Into<String>, message: impl Into<String>) -> LoadError {
        LoadError::Invalid {
            origin: self.origin.clone(),
            object: self.object.clone(),
            field: field.into(),
            message: message.into(),
        }
    }
}

/// A controller and the pod template it would run.
struct Controller {
    kind: &'static str,
    namespace: String,
    name: String,
    owner: Option<(String, String)>,
    template: core::PodTemplateSpec,
    count: PodCount,
    origin: Origin,
    object: String,
}

/// How many pods a controller runs when they are not in the input.
#[derive(Clone, Debug, PartialEq, Eq)]
enum PodCount {
    /// `spec.replicas` (Deployment, ReplicaSet, StatefulSet, ReplicationController) or a Job's
    /// parallelism, with the field it was read from (for notes and warnings).
    Fixed { pods: u64, field: &'static str },
    /// A DaemonSet: one pod per node that its template's `nodeSelector` matches.
    PerNode { node_selector: std::collections::BTreeMap<String, String> },
}

/// The kinds whose pods netreach synthesizes and groups pods under (`ownerReferences`).
pub(super) fn is_controller_kind(kind: &str) -> bool {
    matches!(
        kind,
        "Deployment" | "ReplicaSet" | "StatefulSet" | "DaemonSet" | "Job" | "CronJob" | "ReplicationController"
    )
}

/// The most pods synthesized for one workload: input is untrusted, and `replicas: 1000000`
/// must not exhaust memory. Replicas are identical endpoints, so the answers for the first 1,000
/// hold for the rest.
pub(super) const MAX_REPLICAS_PER_WORKLOAD: u64 = 1000;

/// The most pods synthesized in all: past it, each further workload stands for one pod.
pub(super) const MAX_SYNTHESIZED_PODS: usize = 100_000;

struct LivePod {
    pod: Pod,
    owner: Option<(String, String)>,
}

/// An unknown field's path in our notation: `spec.containers[0].ports[0].containerport`.
pub(super) fn field_path(path: &serde_ignored::Path) -> String {
    use serde_ignored::Path;
    match path {
        Path::Root => String::new(),
        Path::Seq { parent, index } => format!("{}[{index}]", field_path(parent)),
        Path::Map { parent, key } => {
            let parent = field_path(parent);
            if parent.is_empty() {
                key.clone()
            } else {
                format!("{parent}.{key}")
            }
        }
        Path::Some { parent } | Path::NewtypeStruct { parent } | Path::NewtypeVariant { parent } => field_path(parent),
    }
}

/// Wire types of CRDs declare only what is read: the top-level envelope is known.
fn reported(field: &str) -> bool {
    !matches!(field, "apiVersion" | "kind" | "metadata" | "status")
}

/// The object typed: straight from its JSON text when that reads it exactly, else from its
/// `Value`, which words errors with the field's path and reports unknown fields.
pub(super) fn typed<T: serde::de::DeserializeOwned>(body: Body, at: &At) -> Result<T, LoadError> {
    let value = match body {
        Body::Json(json) => match json.typed(|field| reported(&field)) {
            Some(typed) => return Ok(typed),
            None => json.into_value(),
        },
        Body::Value(value) => value,
    };
    let mut unknown = Vec::new();
    let result =
        serde_path_to_error::deserialize(serde_ignored::Deserializer::new(value, &mut |path: serde_ignored::Path| {
            let field = field_path(&path);
            if reported(&field) {
                unknown.push(field);
            }
        }));
    at.unknown.borrow_mut().extend(unknown);
    result.map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." { "(object)".to_string() } else { path };
        let mut message = e.into_inner().to_string();
        // YAML 1.1 (what kubectl reads) makes unquoted y/no/on booleans and 0755 a number.
        if message.contains("expected a string") {
            if message.starts_with("invalid type: boolean") {
                message.push_str(" (YAML 1.1, which kubectl reads, takes unquoted y, n, yes, no, on, off, true and false as booleans: quote it)");
            } else if message.starts_with("invalid type: integer") || message.starts_with("invalid type: floating point") {
                message.push_str(" (an unquoted number: quote it)");
            }
        }
        at.err(field, message)
    })
}

/// The value at `path` (object keys). Not `Value::pointer`: it unescapes (and allocates for)
/// every token, and these lookups run several times per object of the largest inputs.
pub(super) fn at_path<'v>(value: &'v Value, path: &[&str]) -> Option<&'v Value> {
    path.iter().try_fold(value, |v, key| v.get(key))
}

/// Kinds netreach reads, by apiVersion. `extensions/v1beta1` NetworkPolicy was removed from
/// the API in 1.16 but its schema is v1's, and old repositories still hold it: it is evaluated,
/// with a warning.
fn is_read(api_version: &str, kind: &str) -> bool {
    matches!(
        (api_version, kind),
        ("v1", "Namespace" | "Pod" | "Node" | "Service" | "ReplicationController" | "Endpoints" | "ServiceAccount")
            | ("discovery.k8s.io/v1", "EndpointSlice")
            | ("apps/v1", "Deployment" | "ReplicaSet" | "StatefulSet" | "DaemonSet")
            | ("batch/v1", "Job" | "CronJob")
            | ("networking.k8s.io/v1" | "extensions/v1beta1", "NetworkPolicy")
            | ("policy.networking.k8s.io/v1alpha1", "AdminNetworkPolicy" | "BaselineAdminNetworkPolicy")
            | ("policy.networking.k8s.io/v1alpha2", "ClusterNetworkPolicy")
            | ("security.istio.io/v1" | "security.istio.io/v1beta1", "PeerAuthentication" | "AuthorizationPolicy")
            // Read for its `istio.io/waypoint-for` label only (waypoint traffic types).
            | ("gateway.networking.k8s.io/v1" | "gateway.networking.k8s.io/v1beta1", "GatewayClass")
            | ("rbac.authorization.k8s.io/v1", "Role" | "ClusterRole" | "RoleBinding" | "ClusterRoleBinding")
    ) || super::cilium::is_cilium_kind(api_version, kind)
        || super::entrypoints::is_entry_kind(api_version, kind)
        || super::calico::is_calico_kind(api_version, kind)
}

/// Why a scalar is not the string a name must be: YAML 1.1 (what kubectl reads) turns unquoted
/// `y`, `no`, `on`, `0755`, … into booleans and numbers.
pub(super) fn quote_hint(value: &Value) -> Option<String> {
    match value {
        Value::Bool(b) => Some(format!(
            "is the boolean {b}: YAML 1.1, which kubectl reads, takes unquoted y, n, yes, no, on, off, true and false as booleans; quote it"
        )),
        Value::Number(n) => Some(format!("is the number {n}: quote it to make it a string")),
        _ => None,
    }
}

/// Kind, namespace (`default` when unset, empty for cluster-scoped kinds) and name of an
/// object as read: the identity `kubectl apply` replaces by.
pub(super) fn identity(head: &Head) -> (String, String, String) {
    let namespace = if is_cluster_scoped(&head.kind) {
        String::new()
    } else {
        head.namespace.as_str().filter(|s| !s.is_empty()).unwrap_or(DEFAULT_NAMESPACE).to_string()
    };
    let kind =
        super::calico::identity_kind(&head.api_version, &head.kind).map_or_else(|| head.kind.clone(), String::from);
    (kind, namespace, head.name.as_str().unwrap_or("").to_string())
}

/// The same object given twice: `kubectl apply` applies both, so the later one (in load order:
/// arguments in order, files sorted within folders, documents in order) is the one in the
/// cluster. Each earlier one is dropped with a warning naming both places; with `strict` it is
/// an error instead.
fn drop_redefined(
    objects: Vec<RawObject>,
    report: &mut LoadReport,
    strict: bool,
    errors: &mut Vec<LoadError>,
) -> Vec<RawObject> {
    let key = |raw: &RawObject| {
        let (kind, namespace, name) = identity(&raw.head);
        (is_read(&raw.head.api_version, &kind) && !name.is_empty()).then_some((kind, namespace, name))
    };
    let keys: Vec<Option<(String, String, String)>> = objects.iter().map(key).collect();
    let mut last: HashMap<&(String, String, String), usize> = HashMap::new();
    for (i, k) in keys.iter().enumerate() {
        if let Some(k) = k {
            last.insert(k, i);
        }
    }
    if last.len() == keys.iter().flatten().count() {
        return objects; // nothing is defined twice
    }
    let origins: Vec<Origin> = objects.iter().map(|o| o.origin.clone()).collect();
    objects
        .into_iter()
        .zip(&keys)
        .enumerate()
        .filter_map(|(i, (raw, k))| {
            let Some(k) = k else { return Some(raw) };
            let later = last[k];
            if later == i {
                return Some(raw);
            }
            let object = super::key_label(k);
            if strict {
                errors.push(LoadError::Duplicate { origin: origins[later].clone(), object, first: raw.origin });
            } else {
                report.warnings.push(format!(
                    "{object} is defined twice, at {} and at {}: the later one is used, as kubectl apply would (--strict makes this an error)",
                    raw.origin, origins[later]
                ));
            }
            None
        })
        .collect()
}

/// An object whose conversion failed and that has unknown fields: when a field is missing
/// because its name was mistyped (`containerport` for `containerPort`, which then reads as 0),
/// the error names the field as the user wrote it, as kubectl's strict validation does.
fn blame_unknown_field(error: LoadError, unknown: &[String]) -> LoadError {
    let LoadError::Invalid { origin, object, field, message } = error else { return error };
    let (parent, name) = field.rsplit_once('.').unwrap_or(("", field.as_str()));
    let near = |candidate: &str| {
        let (p, n) = candidate.rsplit_once('.').unwrap_or(("", candidate));
        let normal = |s: &str| s.to_ascii_lowercase().replace(['-', '_'], "");
        p == parent && normal(n) == normal(name)
    };
    match unknown.iter().find(|u| near(u)) {
        Some(written) => {
            let written_name = written.rsplit_once('.').map_or(written.as_str(), |(_, n)| n);
            LoadError::Invalid {
                origin,
                object,
                field: written.clone(),
                message: format!("unknown field `{written_name}`: did you mean `{name}`? (kubectl's strict field validation rejects it; without it, {message})"),
            }
        }
        None if !unknown.is_empty() => LoadError::Invalid {
            origin,
            object,
            field,
            message: format!("{message} (the object also has unknown field(s), ignored: {})", unknown.join(", ")),
        },
        None => LoadError::Invalid { origin, object, field, message },
    }
}

/// The state of one conversion: what was built so far.
struct Build<'r> {
    cluster: Cluster,
    controllers: Vec<Controller>,
    live: Vec<LivePod>,
    report: &'r mut LoadReport,
    infra: super::infrastructure::InfraFacts,
    /// `automountServiceAccountToken` per ServiceAccount (namespace, name) that sets it.
    service_accounts: HashMap<(String, String), bool>,
}

impl Build<'_> {
    /// Converts one object into the cluster, or says what is wrong with it.
    fn read(&mut self, raw: RawObject) -> Result<(), LoadError> {
        let report = &mut *self.report;
        let cluster = &mut self.cluster;
        let (kind, namespace, name) = identity(&raw.head);
        let cluster_scoped = is_cluster_scoped(&kind);
        if !is_read(&raw.head.api_version, &kind) {
            return super::kinds::note_unread(&raw.head.api_version, &kind, &raw, report, cluster);
        }
        let RawObject { origin, head, body } = raw;
        let object = if cluster_scoped { format!("{kind} {name}") } else { format!("{kind} {namespace}/{name}") };
        let at = At { origin: &origin, object, unknown: Default::default() };
        if let Some(hint) = quote_hint(&head.name) {
            return Err(at.err("metadata.name", hint));
        }
        if let Some(hint) = quote_hint(&head.namespace) {
            return Err(at.err("metadata.namespace", hint));
        }
        if name.is_empty() {
            return Err(at.err("metadata.name", "missing or empty"));
        }
        // Helm hooks (tests, pre-install Jobs) run only around `helm install/upgrade/test`.
        if let Some(hook) = &head.helm_hook {
            if matches!(
                kind.as_str(),
                "Pod" | "Job" | "CronJob" | "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet"
            ) {
                self.report.helm_hooks.push(format!("{} (helm.sh/hook: {hook})", at.object));
            }
        }
        let converted = self.convert(body, &at, &head.api_version, &kind, namespace, name);
        let unknown = at.unknown.take();
        match converted {
            Ok(()) => {
                for field in unknown {
                    self.report.warnings.push(format!(
                        "{}: {}: field {field}: unknown field, ignored (kubectl's strict field validation rejects it: a typo, or a field newer than this netreach knows?)",
                        at.origin, at.object
                    ));
                }
                Ok(())
            }
            Err(e) => Err(blame_unknown_field(e, &unknown)),
        }
    }

    /// Types the object and adds it to the cluster.
    fn convert(
        &mut self,
        body: Body,
        at: &At,
        api_version: &str,
        kind: &str,
        namespace: String,
        name: String,
    ) -> Result<(), LoadError> {
        let (report, cluster) = (&mut *self.report, &mut self.cluster);
        if super::calico::is_calico_kind(api_version, kind) {
            return super::calico::convert(kind, &namespace, &name, body, at, report, cluster);
        }
        match kind {
            "Namespace" => {
                let ns: core::Namespace = typed(body, at)?;
                cluster.namespaces.push(Namespace::new(&name, labels_of(&ns.metadata)));
                super::mesh::keep_namespace_annotations(&mut cluster.mesh, &name, &ns.metadata);
            }
            "Node" => {
                let node: core::Node = typed(body, at)?;
                let node = convert_node(node, at)?;
                self.infra.internal_ips.push((node.0.name.clone(), node.1));
                cluster.nodes.push(node.0);
            }
            "Service" => {
                let svc: core::Service = typed(body, at)?;
                super::mesh::keep_service_waypoint_labels(&mut cluster.mesh, &namespace, &name, &svc.metadata);
                cluster.services.push(convert_service(svc, &namespace, at)?);
            }
            "EndpointSlice" => {
                let slice: k8s_openapi::api::discovery::v1::EndpointSlice = typed(body, at)?;
                let endpoints = super::entrypoints::slice_endpoints(&slice, &namespace, at)?;
                self.infra.service_endpoints(&endpoints, false);
                cluster.entry_points.service_endpoints.push(endpoints);
            }
            "Endpoints" => {
                let endpoints: core::Endpoints = typed(body, at)?;
                for subset in super::entrypoints::legacy_endpoints(&endpoints, &namespace, at)? {
                    self.infra.service_endpoints(&subset, true);
                    cluster.entry_points.service_endpoints.push(subset);
                }
            }
            "GatewayClass" => {
                super::mesh::keep_gateway_class_waypoint_for(&mut cluster.mesh, &name, &body.into_value());
            }
            "Ingress" | "IngressClass" | "Gateway" | "HTTPRoute" | "GRPCRoute" | "TCPRoute" | "TLSRoute"
            | "UDPRoute" | "ReferenceGrant" => {
                // A waypoint's traffic type is a Gateway label (the entry-point loader reads the spec).
                let body = if kind == "Gateway" {
                    let value = body.into_value();
                    super::mesh::keep_gateway_waypoint_for(&mut cluster.mesh, &namespace, &name, &value);
                    Body::Value(value)
                } else {
                    body
                };
                super::entrypoints::read(
                    kind,
                    &namespace,
                    &name,
                    body,
                    at,
                    &mut cluster.entry_points,
                    &mut report.warnings,
                )?;
            }
            "ServiceAccount" => {
                let sa: core::ServiceAccount = typed(body, at)?;
                cluster.identity.service_accounts.push((namespace.clone(), name.clone()));
                let labels = labels_of(&sa.metadata);
                if !labels.is_empty() {
                    let (namespace, name) = (namespace.clone(), name.clone());
                    cluster.calico.service_accounts.push(ServiceAccountLabels { namespace, name, labels });
                }
                if let Some(automount) = sa.automount_service_account_token {
                    self.service_accounts.insert((namespace, name), automount);
                }
            }
            "Role" | "ClusterRole" => {
                cluster.identity.roles.push(super::rbac::convert_role(kind, &namespace, &name, body, at)?);
            }
            "RoleBinding" | "ClusterRoleBinding" => {
                cluster.identity.bindings.push(super::rbac::convert_binding(kind, &namespace, &name, body, at)?);
            }
            "PeerAuthentication" => {
                let pa = super::mesh::convert_peer_authentication(&namespace, &name, body, at, &mut report.warnings)?;
                cluster.mesh.peer_authentications.push(pa);
            }
            "AuthorizationPolicy" => {
                let policy = super::authz::convert_authorization_policy(&namespace, &name, body, at)?;
                cluster.unevaluated_policies.push(super::authz::unevaluated(&policy, api_version));
                cluster.mesh.authorization_policies.push(policy);
            }
            "AdminNetworkPolicy" | "BaselineAdminNetworkPolicy" | "ClusterNetworkPolicy" => {
                cluster.cluster_policies.push(super::admin::convert(kind, &name, body, at, &mut report.warnings)?);
            }
            "CiliumNetworkPolicy" | "CiliumClusterwideNetworkPolicy" => {
                let rules = super::cilium::convert(kind, &namespace, &name, body, at, &mut report.warnings)?;
                cluster.cilium_policies.extend(rules);
            }
            "NetworkPolicy" => {
                let mut body = body;
                if api_version == "extensions/v1beta1" {
                    report.warnings.push(format!(
                        "{}: {}: extensions/v1beta1 NetworkPolicy was removed in Kubernetes 1.16; evaluated as networking.k8s.io/v1 (the same schema): change its apiVersion",
                        at.origin, at.object
                    ));
                    let mut value = body.into_value();
                    value["apiVersion"] = Value::from("networking.k8s.io/v1");
                    body = Body::Value(value);
                }
                let np: net::NetworkPolicy = typed(body, at)?;
                cluster.policies.push(networkpolicy::convert_policy(np, &namespace, at, &mut report.warnings)?);
            }
            "Pod" => {
                let pod: core::Pod = typed(body, at)?;
                let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
                if matches!(phase, Some("Succeeded" | "Failed")) {
                    report.finished_pods += 1;
                    return Ok(());
                }
                let owner = controller_of(&pod.metadata);
                let spec = pod.spec.as_ref().ok_or_else(|| at.err("spec", "missing"))?;
                let mut model = pod_from_spec(&namespace, &name, labels_of(&pod.metadata), spec, at, "spec")?;
                model.annotations = pod.metadata.annotations.clone().unwrap_or_default();
                model.node = spec.node_name.clone();
                model.ips = pod_ips(pod.status.as_ref(), model.host_network, at)?;
                self.live.push(LivePod { pod: model, owner });
            }
            _ => {
                let (kind, owner, template, count) = controller_template(kind, body, at)?;
                self.controllers.push(Controller {
                    kind,
                    namespace,
                    name,
                    owner,
                    template,
                    count,
                    origin: at.origin.clone(),
                    object: at.object.clone(),
                });
            }
        }
        Ok(())
    }
}

/// The cluster of every valid object, and the errors of the invalid ones.
pub(super) fn build_cluster(
    objects: Vec<RawObject>,
    report: &mut LoadReport,
    options: &super::LoadOptions,
) -> (Cluster, Vec<LoadError>) {
    let mut errors: Vec<LoadError> = Vec::new();
    let objects = drop_redefined(objects, report, options.strict, &mut errors);
    let mut build = Build {
        cluster: Cluster::default(),
        controllers: Vec::new(),
        live: Vec::new(),
        report,
        infra: Default::default(),
        service_accounts: HashMap::new(),
    };
    for raw in objects {
        if let Err(e) = build.read(raw) {
            errors.push(e);
        }
    }
    let Build { mut cluster, controllers, mut live, report, infra, service_accounts } = build;

    // Owner chains: which controllers have live pods, and each pod's top-most workload.
    let owner_of: HashMap<(&str, &str, &str), &(String, String)> = controllers
        .iter()
        .filter_map(|c| c.owner.as_ref().map(|o| ((c.namespace.as_str(), c.kind, c.name.as_str()), o)))
        .collect();
    let present: HashSet<(&str, &str, &str)> =
        controllers.iter().map(|c| (c.namespace.as_str(), c.kind, c.name.as_str())).collect();
    let mut with_pods: HashSet<(String, String, String)> = HashSet::new();
    for lp in &mut live {
        let ns = lp.pod.namespace.clone();
        let Some(mut current) = lp.owner.clone().and_then(|owner| workload_owner(owner, &ns, &controllers)) else {
            continue;
        };
        for _ in 0..8 {
            with_pods.insert((ns.clone(), current.0.clone(), current.1.clone()));
            match owner_of.get(&(ns.as_str(), current.0.as_str(), current.1.as_str())) {
                Some(next) => current = (*next).clone(),
                None => break,
            }
        }
        lp.pod.workload = Some(WorkloadRef { kind: current.0, name: current.1 });
    }
    // Pod names in use per namespace: synthesized names must not collide with them.
    let mut taken: HashSet<(String, String)> =
        live.iter().map(|lp| (lp.pod.namespace.clone(), lp.pod.name.clone())).collect();
    let node_ips: Vec<IpAddr> = cluster.nodes.iter().flat_map(|n| n.addresses.iter().copied()).collect();
    // In a fixed order, so that which workload keeps a contested name never depends on input order.
    let mut order: Vec<&Controller> = controllers.iter().collect();
    order.sort_by(|a, b| (&a.namespace, a.kind, &a.name).cmp(&(&b.namespace, b.kind, &b.name)));
    for c in order {
        let owned_by_present =
            c.owner.as_ref().is_some_and(|(k, n)| present.contains(&(c.namespace.as_str(), k.as_str(), n.as_str())));
        if owned_by_present || with_pods.contains(&(c.namespace.clone(), c.kind.to_string(), c.name.clone())) {
            continue;
        }
        let at = At { origin: &c.origin, object: c.object.clone(), unknown: Default::default() };
        let field = if c.kind == "CronJob" { "spec.jobTemplate.spec.template.spec" } else { "spec.template.spec" };
        let Some(spec) = c.template.spec.as_ref() else {
            errors.push(at.err(field, "missing pod template spec"));
            continue;
        };
        let labels = c.template.metadata.as_ref().map(labels_of).unwrap_or_default();
        let mut template = match pod_from_spec(&c.namespace, &c.name, labels, spec, &at, field) {
            Ok(pod) => pod,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        template.annotations = c.template.metadata.as_ref().and_then(|m| m.annotations.clone()).unwrap_or_default();
        template.workload = Some(WorkloadRef { kind: c.kind.to_string(), name: c.name.clone() });
        template.synthesized = true;
        let workload = format!("{} {}/{}", c.kind, c.namespace, c.name);
        let Some(placements) = placements(c, &cluster.nodes, &workload, report) else { continue };
        // Replicas are identical but for their names (and a DaemonSet pod's node): same labels,
        // same ports, so they land in one equivalence class and cost the engine nothing.
        let candidates = |base: &str| -> Vec<String> {
            placements
                .iter()
                .map(|p| p.suffix.as_ref().map_or_else(|| base.to_string(), |s| format!("{base}-{s}")))
                .collect()
        };
        let free = |names: &[String]| names.iter().all(|n| !taken.contains(&(c.namespace.clone(), n.clone())));
        let mut names = candidates(&c.name);
        let kind_base = format!("{}-{}", c.name, c.kind.to_lowercase());
        let mut k = 1;
        while !free(&names) {
            // A live pod (or another workload's replica) already has the name: NAME-kind, then
            // NAME-kind-2, … (bounded: each try is a new name and only finitely many are taken).
            names = candidates(&if k == 1 { kind_base.clone() } else { format!("{kind_base}-{k}") });
            k += 1;
        }
        for (placement, name) in placements.into_iter().zip(names) {
            let mut pod = template.clone();
            pod.name = name;
            if let Some(node) = placement.node {
                pod.node = Some(node.name.clone());
                if pod.host_network {
                    pod.ips = node.addresses.clone();
                }
            } else if pod.host_network && c.kind == "DaemonSet" {
                // Without nodes to place it on, a hostNetwork DaemonSet's one pod stands for all
                // of them: it speaks with every node address.
                pod.ips = node_ips.clone();
            }
            taken.insert((pod.namespace.clone(), pod.name.clone()));
            report.synthesized_pods += 1;
            live.push(LivePod { pod, owner: None });
        }
    }
    cluster.pods = live.into_iter().map(|lp| lp.pod).collect();
    // The pod's automountServiceAccountToken wins; else its ServiceAccount's.
    for pod in cluster.pods.iter_mut().filter(|p| p.automount_token.is_none()) {
        pod.automount_token = service_accounts.get(&(pod.namespace.clone(), pod.service_account.clone())).copied();
    }

    // Namespaces referenced but not defined get just the name label, and a note.
    let defined: BTreeSet<String> = cluster.namespaces.iter().map(|n| n.name.clone()).collect();
    let used: BTreeSet<String> = cluster
        .pods
        .iter()
        .map(|p| p.namespace.clone())
        .chain(cluster.policies.iter().map(|p| p.namespace.clone()))
        .chain(cluster.services.iter().map(|s| s.namespace.clone()))
        .collect();
    for ns in used.difference(&defined) {
        cluster.namespaces.push(Namespace::new(ns, Labels::new()));
        report.undefined_namespaces.push(ns.clone());
    }
    cluster.namespaces.sort_by(|a, b| a.name.cmp(&b.name));
    cluster.pods.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    cluster.policies.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    cluster.services.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    cluster.nodes.sort_by(|a, b| a.name.cmp(&b.name));
    cluster.cluster_policies.sort_by(|a, b| (a.kind.as_str(), &a.name).cmp(&(b.kind.as_str(), &b.name)));
    cluster.cilium_policies.sort_by(|a, b| {
        (a.kind, &a.namespace, &a.name, a.spec_index).cmp(&(b.kind, &b.namespace, &b.name, b.spec_index))
    });
    super::calico::finish(&mut cluster, report);
    cluster.mesh.peer_authentications.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    cluster.mesh.authorization_policies.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    cluster.unevaluated_policies.sort();
    cluster.identity.service_accounts.sort();
    cluster.identity.roles.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    cluster.identity.bindings.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    cluster.infrastructure = infra.resolve(&cluster);
    (cluster, errors)
}

/// One synthesized pod: its name suffix (none: the workload's own name) and, for a DaemonSet
/// pod, its node.
struct Placement<'n> {
    suffix: Option<String>,
    node: Option<&'n Node>,
}

/// The pods a controller without live pods stands for, and their names:
/// - StatefulSet: `NAME-0` … `NAME-(n-1)`, as the StatefulSet controller names them
///   (https://kubernetes.io/docs/concepts/workloads/controllers/statefulset/#ordinal-index);
/// - DaemonSet, with Nodes in the input: `NAME-<node>` on every node whose labels its template's
///   `nodeSelector` matches (https://kubernetes.io/docs/concepts/workloads/controllers/daemonset/#running-pods-on-select-nodes);
///   node affinity, taints and tolerations are not evaluated (a DaemonSet is placed on tainted
///   nodes too). Without Nodes: one pod `NAME`;
/// - every other kind: one pod is `NAME`; n > 1 pods are `NAME-1` … `NAME-n` (real pod names carry
///   random suffixes netreach cannot know).
///
/// `None` when the controller runs no pod (scaled to 0, or no node matches), with a note;
/// counts past [`MAX_REPLICAS_PER_WORKLOAD`] are cut, with a warning.
fn placements<'n>(
    c: &Controller,
    nodes: &'n [Node],
    workload: &str,
    report: &mut LoadReport,
) -> Option<Vec<Placement<'n>>> {
    let budget_left = MAX_SYNTHESIZED_PODS.saturating_sub(report.synthesized_pods) as u64;
    let mut cap = |wanted: u64, what: &str| -> u64 {
        let mut n = wanted;
        if n > MAX_REPLICAS_PER_WORKLOAD {
            report.warnings.push(format!(
                "{}: {workload}: {what} is {wanted}: only {MAX_REPLICAS_PER_WORKLOAD} pods are synthesized for it (replicas are alike, so answers hold for the rest)",
                c.origin
            ));
            n = MAX_REPLICAS_PER_WORKLOAD;
        }
        if n > 1 && n > budget_left {
            report.warnings.push(format!(
                "{}: {workload}: more than {MAX_SYNTHESIZED_PODS} pods synthesized in all: it stands for one pod instead of {n}",
                c.origin
            ));
            n = 1;
        }
        n
    };
    match &c.count {
        PodCount::Fixed { pods: 0, field } => {
            report.no_pods.push(format!("{workload} scaled to 0 ({field} is 0): no pod"));
            None
        }
        PodCount::Fixed { pods, field } => {
            let n = cap(*pods, field);
            Some(match (c.kind, n) {
                ("StatefulSet", _) => (0..n).map(|i| Placement { suffix: Some(i.to_string()), node: None }).collect(),
                (_, 1) => vec![Placement { suffix: None, node: None }],
                _ => (1..=n).map(|i| Placement { suffix: Some(i.to_string()), node: None }).collect(),
            })
        }
        PodCount::PerNode { .. } if nodes.is_empty() => Some(vec![Placement { suffix: None, node: None }]),
        PodCount::PerNode { node_selector } => {
            let mut matching: Vec<&Node> =
                nodes.iter().filter(|n| node_selector.iter().all(|(k, v)| n.labels.get(k) == Some(v))).collect();
            matching.sort_by(|a, b| a.name.cmp(&b.name));
            if matching.is_empty() {
                report
                    .no_pods
                    .push(format!("{workload}: its nodeSelector matches none of the {} node(s): no pod", nodes.len()));
                return None;
            }
            let n = cap(matching.len() as u64, "the number of matching nodes") as usize;
            Some(
                matching
                    .into_iter()
                    .take(n)
                    .map(|node| Placement { suffix: Some(node.name.clone()), node: Some(node) })
                    .collect(),
            )
        }
    }
}

/// The workload a pod's controlling owner makes it part of, if any. Only the controller kinds
/// netreach knows group pods: a static pod's mirror is owned by its `Node`
/// (https://kubernetes.io/docs/tasks/configure-pod-container/static-pod/) and is a pod of its
/// own, as is a pod owned by a kind netreach does not read (an operator's custom resource). An
/// owner reference without `kind` groups the pod only when exactly one controller of that name
/// is in its namespace.
fn workload_owner(
    (kind, name): (String, String),
    namespace: &str,
    controllers: &[Controller],
) -> Option<(String, String)> {
    if is_controller_kind(&kind) {
        return Some((kind, name));
    }
    if !kind.is_empty() {
        return None;
    }
    let mut named = controllers.iter().filter(|c| c.namespace == namespace && c.name == name);
    match (named.next(), named.next()) {
        (Some(c), None) => Some((c.kind.to_string(), name)),
        _ => None,
    }
}

fn labels_of(meta: &ObjectMeta) -> Labels {
    meta.labels.clone().unwrap_or_default()
}

/// The controlling owner (`controller: true`), else the first owner.
fn controller_of(meta: &ObjectMeta) -> Option<(String, String)> {
    let refs: &[OwnerReference] = meta.owner_references.as_deref().unwrap_or(&[]);
    refs.iter().find(|r| r.controller == Some(true)).or(refs.first()).map(|r| (r.kind.clone(), r.name.clone()))
}

/// A count field as the API server validates it: absent means the API default (1), negative
/// is rejected ("must be greater than or equal to 0").
fn count_field(value: Option<i32>, at: &At, field: &str) -> Result<u64, LoadError> {
    match value {
        None => Ok(1),
        Some(n) if n < 0 => Err(at.err(field, format!("must be greater than or equal to 0, got {n}"))),
        Some(n) => Ok(n as u64),
    }
}

/// The pods a Job runs at once: `parallelism` (default 1), but never more than `completions`
/// when that is set — "the actual number of pods running in parallel will not exceed the number
/// of remaining completions" (https://kubernetes.io/docs/concepts/workloads/controllers/job/#controlling-parallelism).
/// `parallelism: 0` is a paused Job: no pod.
fn job_pods(spec: &k8s_openapi::api::batch::v1::JobSpec, at: &At, prefix: &str) -> Result<u64, LoadError> {
    let parallelism = count_field(spec.parallelism, at, &format!("{prefix}parallelism"))?;
    Ok(match spec.completions {
        Some(c) => parallelism.min(count_field(Some(c), at, &format!("{prefix}completions"))?),
        None => parallelism,
    })
}

/// Kind, controlling owner, pod template and pod count of a controller.
/// A controller's kind, its owner (kind, name), pod template and pod count.
type ControllerTemplate = (&'static str, Option<(String, String)>, core::PodTemplateSpec, PodCount);

fn controller_template(kind: &str, body: Body, at: &At) -> Result<ControllerTemplate, LoadError> {
    let missing = |f: &str| at.err(f, "missing");
    // `spec.replicas` defaults to 1 when unset, as the API server defaults it (also under a
    // HorizontalPodAutoscaler, which netreach does not read: the manifest's replicas are used).
    let replicas = |r: Option<i32>| -> Result<PodCount, LoadError> {
        Ok(PodCount::Fixed { pods: count_field(r, at, "spec.replicas")?, field: "spec.replicas" })
    };
    Ok(match kind {
        "Deployment" => {
            let o: Deployment = typed(body, at)?;
            let spec = o.spec.ok_or_else(|| missing("spec"))?;
            ("Deployment", controller_of(&o.metadata), spec.template, replicas(spec.replicas)?)
        }
        "ReplicaSet" => {
            let o: ReplicaSet = typed(body, at)?;
            let spec = o.spec.ok_or_else(|| missing("spec"))?;
            let t = spec.template.ok_or_else(|| missing("spec.template"))?;
            ("ReplicaSet", controller_of(&o.metadata), t, replicas(spec.replicas)?)
        }
        "StatefulSet" => {
            let o: StatefulSet = typed(body, at)?;
            let spec = o.spec.ok_or_else(|| missing("spec"))?;
            ("StatefulSet", controller_of(&o.metadata), spec.template, replicas(spec.replicas)?)
        }
        "DaemonSet" => {
            let o: DaemonSet = typed(body, at)?;
            let t = o.spec.ok_or_else(|| missing("spec"))?.template;
            let node_selector = t.spec.as_ref().and_then(|s| s.node_selector.clone()).unwrap_or_default();
            ("DaemonSet", controller_of(&o.metadata), t, PodCount::PerNode { node_selector })
        }
        "Job" => {
            let o: Job = typed(body, at)?;
            let spec = o.spec.ok_or_else(|| missing("spec"))?;
            let pods = job_pods(&spec, at, "spec.")?;
            ("Job", controller_of(&o.metadata), spec.template, PodCount::Fixed { pods, field: "spec.parallelism" })
        }
        "CronJob" => {
            let o: CronJob = typed(body, at)?;
            let job = o
                .spec
                .ok_or_else(|| missing("spec"))?
                .job_template
                .spec
                .ok_or_else(|| missing("spec.jobTemplate.spec"))?;
            let pods = job_pods(&job, at, "spec.jobTemplate.spec.")?;
            (
                "CronJob",
                controller_of(&o.metadata),
                job.template,
                PodCount::Fixed { pods, field: "spec.jobTemplate.spec.parallelism" },
            )
        }
        "ReplicationController" => {
            let o: core::ReplicationController = typed(body, at)?;
            let spec = o.spec.ok_or_else(|| missing("spec"))?;
            let t = spec.template.ok_or_else(|| missing("spec.template"))?;
            ("ReplicationController", controller_of(&o.metadata), t, replicas(spec.replicas)?)
        }
        _ => unreachable!("dispatch covers every controller kind"),
    })
}

fn pod_from_spec(
    namespace: &str,
    name: &str,
    labels: Labels,
    spec: &core::PodSpec,
    at: &At,
    field: &str,
) -> Result<Pod, LoadError> {
    let mut pod = Pod::new(namespace, name, labels);
    pod.host_network = spec.host_network == Some(true);
    pod.node = spec.node_name.clone();
    if let Some(sa) = spec.service_account_name.as_ref().filter(|s| !s.is_empty()) {
        pod.service_account = sa.clone();
    }
    pod.automount_token = spec.automount_service_account_token;
    pod.posture = super::rbac::posture(spec);
    // Restartable init containers (sidecars) serve traffic like containers do.
    let sidecars = spec
        .init_containers
        .iter()
        .flatten()
        .enumerate()
        .filter(|(_, c)| c.restart_policy.as_deref() == Some("Always"))
        .map(|(i, c)| (format!("{field}.initContainers[{i}]"), c));
    let containers = spec.containers.iter().enumerate().map(|(i, c)| (format!("{field}.containers[{i}]"), c));
    pod.containers =
        spec.containers.iter().chain(spec.init_containers.iter().flatten()).map(|c| c.name.clone()).collect();
    pod.privileged = spec
        .containers
        .iter()
        .chain(spec.init_containers.iter().flatten())
        .any(|c| c.security_context.as_ref().and_then(|s| s.privileged) == Some(true));
    for (cfield, container) in containers.chain(sidecars) {
        for (j, p) in container.ports.iter().flatten().enumerate() {
            let pfield = format!("{cfield}.ports[{j}]");
            let port = valid_port(p.container_port, at, &format!("{pfield}.containerPort"))?;
            let protocol = protocol(p.protocol.as_deref(), at, &format!("{pfield}.protocol"))?;
            pod.ports.push(ContainerPort { name: p.name.clone(), port, protocol });
            if let Some(host_port) = p.host_port.filter(|&h| h != 0) {
                let host_port = valid_port(host_port, at, &format!("{pfield}.hostPort"))?;
                pod.host_ports.push(HostPort { host_port, container_port: port, protocol });
            }
        }
    }
    Ok(pod)
}

fn pod_ips(status: Option<&core::PodStatus>, host_network: bool, at: &At) -> Result<Vec<IpAddr>, LoadError> {
    let Some(status) = status else { return Ok(Vec::new()) };
    let mut ips = Vec::new();
    if let Some(list) = &status.pod_ips {
        for (i, p) in list.iter().enumerate() {
            ips.push(parse_ip(&p.ip, at, &format!("status.podIPs[{i}].ip"))?);
        }
    }
    if ips.is_empty() {
        if let Some(ip) = &status.pod_ip {
            ips.push(parse_ip(ip, at, "status.podIP")?);
        }
    }
    // A hostNetwork pod's address is its node's, even when the export omits podIP.
    if ips.is_empty() && host_network {
        if let Some(list) = &status.host_ips {
            for (i, h) in list.iter().enumerate() {
                ips.push(parse_ip(&h.ip, at, &format!("status.hostIPs[{i}].ip"))?);
            }
        }
        if ips.is_empty() {
            if let Some(ip) = &status.host_ip {
                ips.push(parse_ip(ip, at, "status.hostIP")?);
            }
        }
    }
    Ok(ips)
}

pub(super) fn parse_ip(s: &str, at: &At, field: &str) -> Result<IpAddr, LoadError> {
    s.parse().map_err(|_| at.err(field, format!("{s:?} is not an IP address")))
}

pub(super) fn valid_port(n: i32, at: &At, field: &str) -> Result<u16, LoadError> {
    if (1..=65535).contains(&n) {
        Ok(n as u16)
    } else {
        Err(at.err(field, format!("{n} is not a valid port (1-65535)")))
    }
}

pub(super) fn protocol(p: Option<&str>, at: &At, field: &str) -> Result<Protocol, LoadError> {
    match p {
        None => Ok(Protocol::Tcp),
        Some(s) => Protocol::parse(s)
            .ok_or_else(|| at.err(field, format!("unknown protocol {s:?} (expected TCP, UDP or SCTP)"))),
    }
}

/// The node, and its InternalIPs (the kubelet's addresses).
fn convert_node(node: core::Node, at: &At) -> Result<(Node, Vec<IpAddr>), LoadError> {
    let (mut addresses, mut internal) = (Vec::new(), Vec::new());
    for (i, a) in node.status.iter().flat_map(|s| s.addresses.iter().flatten()).enumerate() {
        if a.type_ == "InternalIP" || a.type_ == "ExternalIP" {
            let ip = parse_ip(&a.address, at, &format!("status.addresses[{i}].address"))?;
            addresses.push(ip);
            if a.type_ == "InternalIP" {
                internal.push(ip);
            }
        }
    }
    let name = node.metadata.name.clone().unwrap_or_default();
    Ok((Node { name, labels: labels_of(&node.metadata), addresses }, internal))
}

fn convert_service(svc: core::Service, namespace: &str, at: &At) -> Result<Service, LoadError> {
    let spec = svc.spec.unwrap_or_default();
    let mut ports = Vec::new();
    for (i, p) in spec.ports.iter().flatten().enumerate() {
        let field = format!("spec.ports[{i}]");
        let port = valid_port(p.port, at, &format!("{field}.port"))?;
        let target_port = match &p.target_port {
            None => PortSpec::Number(port),
            Some(IntOrString::Int(n)) => PortSpec::Number(valid_port(*n, at, &format!("{field}.targetPort"))?),
            Some(IntOrString::String(s)) => PortSpec::Name(s.clone()),
        };
        let protocol = protocol(p.protocol.as_deref(), at, &format!("{field}.protocol"))?;
        let node_port =
            p.node_port.filter(|&n| n != 0).map(|n| valid_port(n, at, &format!("{field}.nodePort"))).transpose()?;
        ports.push(ServicePort {
            name: p.name.clone(),
            port,
            target_port,
            protocol,
            node_port,
            app_protocol: p.app_protocol.clone(),
        });
    }
    let publishing = publishing(&spec, at)?;
    // Headless services say "None"; only real addresses are kept.
    let cluster_ips = spec
        .cluster_ips
        .iter()
        .flatten()
        .chain(spec.cluster_ip.iter())
        .filter_map(|s| s.parse().ok())
        .collect::<BTreeSet<IpAddr>>();
    Ok(Service {
        namespace: namespace.to_string(),
        name: svc.metadata.name.clone().unwrap_or_default(),
        selector: spec.selector,
        ports,
        cluster_ips: cluster_ips.into_iter().collect(),
        publishing,
    })
}

/// How the Service is published outside (<https://kubernetes.io/docs/concepts/services-networking/service/#publishing-services-service-types>).
fn publishing(spec: &core::ServiceSpec, at: &At) -> Result<Publishing, LoadError> {
    let service_type = match spec.type_.as_deref() {
        None | Some("ClusterIP") => ServiceType::ClusterIp,
        Some("NodePort") => ServiceType::NodePort,
        Some("LoadBalancer") => ServiceType::LoadBalancer,
        Some("ExternalName") => ServiceType::ExternalName,
        Some(other) => {
            return Err(at.err(
                "spec.type",
                format!("unsupported value {other:?} (expected ClusterIP, NodePort, LoadBalancer or ExternalName)"),
            ))
        }
    };
    let external_traffic_policy = match spec.external_traffic_policy.as_deref() {
        // `Cluster`; `Global` is its pre-1.22 alias, still accepted on read.
        None | Some("Cluster" | "Global") => TrafficPolicy::Cluster,
        Some("Local") => TrafficPolicy::Local,
        Some(other) => {
            return Err(at
                .err("spec.externalTrafficPolicy", format!("unsupported value {other:?} (expected Cluster or Local)")))
        }
    };
    let mut external_ips = Vec::new();
    for (i, ip) in spec.external_ips.iter().flatten().enumerate() {
        external_ips.push(parse_ip(ip, at, &format!("spec.externalIPs[{i}]"))?);
    }
    let mut load_balancer_source_ranges = Vec::new();
    for (i, range) in spec.load_balancer_source_ranges.iter().flatten().enumerate() {
        let net = range
            .trim()
            .parse::<ipnet::IpNet>()
            .map_err(|_| at.err(format!("spec.loadBalancerSourceRanges[{i}]"), format!("{range:?} is not a CIDR")))?;
        load_balancer_source_ranges.push(net.trunc());
    }
    Ok(Publishing { service_type, external_ips, external_traffic_policy, load_balancer_source_ranges })
}

/// A label name, as the API server validates it (a qualified name): an optional DNS-1123
/// subdomain prefix (at most 253 characters) and `/`, then at most 63 characters of
/// alphanumerics, `-`, `_` and `.`, starting and ending with an alphanumeric.
/// <https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#syntax-and-character-set>
fn label_key_problem(key: &str) -> Option<String> {
    let (prefix, name) = match key.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    if let Some(p) = prefix {
        let subdomain = !p.is_empty()
            && p.len() <= 253
            && p.split('.').all(|l| {
                !l.is_empty()
                    && l.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                    && !l.starts_with('-')
                    && !l.ends_with('-')
            });
        if !subdomain {
            return Some(format!(
                "label key {key:?}: the prefix must be a DNS subdomain (lowercase letters, digits, '-', '.')"
            ));
        }
    }
    if name.is_empty() {
        return Some(format!("label key {key:?}: the name part is empty"));
    }
    label_value_problem(name).map(|why| format!("label key {key:?}: {why}"))
}

/// A label value: empty, or at most 63 alphanumerics, `-`, `_`, `.`, starting and ending with
/// an alphanumeric (same page).
fn label_value_problem(value: &str) -> Option<String> {
    if value.is_empty() {
        return None;
    }
    if value.len() > 63 {
        return Some(format!("{value:?} is longer than 63 characters"));
    }
    let inner = value.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    let ends = value.as_bytes()[0].is_ascii_alphanumeric() && value.as_bytes()[value.len() - 1].is_ascii_alphanumeric();
    (!inner || !ends)
        .then(|| format!("{value:?} must be alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric"))
}

pub(super) fn convert_selector(sel: &K8sSelector, at: &At, field: &str) -> Result<LabelSelector, LoadError> {
    let match_labels = sel.match_labels.clone().unwrap_or_default();
    for (key, value) in &match_labels {
        if let Some(why) =
            label_key_problem(key).or_else(|| label_value_problem(value).map(|w| format!("label value {w}")))
        {
            return Err(at.err(format!("{field}.matchLabels"), why));
        }
    }
    let mut out = LabelSelector { match_labels, match_expressions: Vec::new() };
    for (i, e) in sel.match_expressions.iter().flatten().enumerate() {
        let here = format!("{field}.matchExpressions[{i}]");
        if let Some(why) = label_key_problem(&e.key) {
            return Err(at.err(format!("{here}.key"), why));
        }
        for (j, v) in e.values.iter().flatten().enumerate() {
            if let Some(why) = label_value_problem(v) {
                return Err(at.err(format!("{here}.values[{j}]"), format!("label value {why}")));
            }
        }
        let req = Requirement::new(&e.key, &e.operator, e.values.clone().unwrap_or_default())
            .map_err(|err| at.err(here, err.to_string()))?;
        out.match_expressions.push(req);
    }
    Ok(out)
}
