//! Deterministic synthetic clusters for benchmarks: `netreach generate`.
//!
//! [`write_cluster`] writes one `kind: List` JSON document (apiVersion v1) holding, in this
//! order, Namespaces, Nodes, Pods and NetworkPolicies. The output depends only on the
//! [`GenerateParams`]: a SplitMix64 generator (`netreach_model::rng`) seeded from `seed` drives every
//! choice, and JSON objects have sorted keys, so the same parameters give byte-identical output.
//!
//! Objects are written one at a time; only a compact plan (one small record per deployment and
//! one pod-address counter per node) is held in memory, so 150,000 pods and more are fine.
//!
//! What comes out, besides the parameters' counts:
//! - Namespaces: `namespaces` team namespaces (`team-01-prod`, `team-01-staging`, `team-01-dev`,
//!   `team-02-prod`, …, labels `team`, `env`, `kubernetes.io/metadata.name`) plus `kube-system`.
//! - Nodes: `max(3, ceil(pods / 30))` nodes (`node-0000`, …) with an InternalIP in
//!   192.168.0.0/16 and a /24 pod CIDR in 10.0.0.0/8.
//! - Pods: exactly `pods` application pods in the team namespaces, from deployments of 2–6
//!   replicas (`<app>-<hash>-<suffix>`, labels `app`, `tier`, `team`, `version`,
//!   `pod-template-hash`), plus [`EXTRA_PODS`] in kube-system: 2 CoreDNS pods (`k8s-app=kube-dns`)
//!   and 3 hostNetwork node-exporter DaemonSet pods on the first three nodes (podIP = hostIP).
//!   A namespace whose share of pods is 1 has a single 1-replica deployment.
//! - NetworkPolicies: exactly `policies`, all in team namespaces, spread evenly. Each namespace's
//!   first policy is `default-deny-all`, its second `allow-dns`, the rest allow rules per app.
//! - Density: without it every team namespace is isolated both ways, so few pairs are allowed.
//!   `unisolated_per_mille` namespaces get no policy (their share of policies goes to the
//!   others) and `ingress_only_per_mille` get `default-deny-ingress` and ingress allows only
//!   (an egress-only template becomes an allow from every namespace), as most real clusters are.
//! - Controllers (`controllers`): after the pods, each deployment's Deployment and ReplicaSet
//!   (`<app>-<hash>`, owned by the Deployment), and each pod gets an `ownerReference` to its
//!   ReplicaSet. No RNG stream is used, so everything else stays byte-identical.

use crate::render::json::JsonArray;
use netreach_model::rng::SplitMix64 as Rng;
use serde_json::{json, Value};
use std::collections::HashSet;
use std::io::{self, BufWriter, Write};

/// What to generate. See the module documentation for the exact shape.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GenerateParams {
    /// Application pods in the team namespaces (kube-system pods come on top: [`EXTRA_PODS`]).
    pub pods: usize,
    /// NetworkPolicies, exactly; all in team namespaces.
    pub policies: usize,
    /// Team namespaces (kube-system comes on top). Must be at least 1 when `pods` or `policies` is not 0.
    pub namespaces: usize,
    pub seed: u64,
    /// Density: per mille of team namespaces with no NetworkPolicy at all (every pod in them
    /// reaches and is reached by everything). Real clusters are mostly like this.
    pub unisolated_per_mille: u16,
    /// Density: per mille of team namespaces isolated for ingress only: `default-deny-ingress`,
    /// ingress allow rules (or an allow from every namespace), egress open.
    pub ingress_only_per_mille: u16,
    /// Ownership as a kubectl export has it: a Deployment and a ReplicaSet per deployment, and
    /// `ownerReferences` on its pods, so the workload level names Deployments.
    pub controllers: bool,
}

/// How a team namespace is segmented (see the density fields of [`GenerateParams`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Segmentation {
    /// Default deny both ways, DNS allowed, allow rules per app.
    Full,
    /// Default deny ingress; ingress allow rules only.
    IngressOnly,
    /// No policy.
    None,
}

/// Pods written besides `params.pods`: 2 CoreDNS pods and 3 hostNetwork node-exporter pods, in kube-system.
pub const EXTRA_PODS: usize = COREDNS_REPLICAS + HOST_NETWORK_PODS;
/// Namespaces written besides `params.namespaces`: kube-system.
pub const EXTRA_NAMESPACES: usize = 1;
/// Policies written besides `params.policies`: none.
pub const EXTRA_POLICIES: usize = 0;

const COREDNS_REPLICAS: usize = 2;
const HOST_NETWORK_PODS: usize = 3;
const PODS_PER_NODE: usize = 30;
/// Pod addresses per node: 10.a.b.2 – 10.a.b.251 of the node's /24.
const NODE_CAPACITY: usize = 250;
/// Node addresses 192.168.(i / 250).(i % 250 + 2) stay inside 192.168.0.0/16 up to here.
const MAX_NODES: usize = 60_000;

/// The number of Node objects written for these parameters.
pub fn node_count(params: &GenerateParams) -> usize {
    params.pods.div_ceil(PODS_PER_NODE).max(HOST_NETWORK_PODS)
}

/// Writes the cluster as one `kind: List` JSON document. Output is buffered internally and
/// flushed before returning.
pub fn write_cluster(params: &GenerateParams, out: &mut dyn Write) -> io::Result<()> {
    if params.unisolated_per_mille > 1000
        || params.ingress_only_per_mille > 1000
        || params.unisolated_per_mille + params.ingress_only_per_mille > 1000
    {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the unisolated and ingress-only fractions must add up to at most 1",
        ));
    }
    if params.namespaces == 0 && (params.pods > 0 || params.policies > 0) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "--namespaces must be at least 1 when there are pods or policies",
        ));
    }
    let nodes = node_count(params);
    if nodes > MAX_NODES || params.pods + EXTRA_PODS > nodes * NODE_CAPACITY {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("at most {} pods fit in the generated address plan", MAX_NODES * PODS_PER_NODE),
        ));
    }
    let plan = Plan::new(params);
    let mut w = ListWriter::begin(out)?;

    // Namespaces.
    w.item(&namespace_object("kube-system", None))?;
    for ns in &plan.namespaces {
        w.item(&namespace_object(&ns.name, Some((&ns.team, ns.env))))?;
    }

    // Nodes.
    for i in 0..nodes {
        w.item(&node_object(i))?;
    }

    // Pods: kube-system first, then every team namespace's deployments.
    let mut ipam = Ipam { used: vec![0; nodes], rng: Rng::new(params.seed, STREAM_NODES) };
    let mut rng = Rng::new(params.seed, STREAM_PODS);
    let dns_hash = random_string(&mut rng, 10);
    let mut suffixes = HashSet::new();
    for _ in 0..COREDNS_REPLICAS {
        let name = format!("coredns-{dns_hash}-{}", unique_suffix(&mut rng, &mut suffixes));
        let (node, ip) = ipam.assign();
        w.item(&coredns_pod(&name, &dns_hash, node, &ip))?;
    }
    let ds_hash = random_string(&mut rng, 10);
    suffixes.clear();
    for node in 0..HOST_NETWORK_PODS {
        let name = format!("node-exporter-{}", unique_suffix(&mut rng, &mut suffixes));
        w.item(&node_exporter_pod(&name, &ds_hash, node))?;
    }
    for ns in &plan.namespaces {
        for d in &ns.deployments {
            suffixes.clear();
            for _ in 0..d.replicas {
                let name = format!("{}-{}-{}", d.app, d.hash, unique_suffix(&mut rng, &mut suffixes));
                let (node, ip) = ipam.assign();
                let mut pod = app_pod(ns, d, &name, node, &ip);
                if params.controllers {
                    pod["metadata"]["ownerReferences"] = owner_reference(&ns.name, "ReplicaSet", &replica_set_name(d));
                }
                w.item(&pod)?;
            }
        }
    }
    if params.controllers {
        for ns in &plan.namespaces {
            for d in &ns.deployments {
                for controller in controller_objects(ns, d) {
                    w.item(&controller)?;
                }
            }
        }
    }

    // NetworkPolicies.
    let mut rng = Rng::new(params.seed, STREAM_POLICIES);
    for ns in &plan.namespaces {
        let mut names = HashSet::new();
        for policy in namespace_policies(ns, &plan, &mut rng, &mut names) {
            w.item(&policy)?;
        }
    }
    w.end()
}

// ---------------------------------------------------------------------------------------------
// Randomness.

// One SplitMix64 stream per phase, so that one phase's draws never shift another's.
const STREAM_PLAN: u64 = 1;
const STREAM_NODES: u64 = 2;
const STREAM_PODS: u64 = 3;
const STREAM_POLICIES: u64 = 4;
/// Which namespaces are unisolated or ingress-only: its own stream, so that without density the
/// output is what it always was.
const STREAM_DENSITY: u64 = 5;

/// The alphabet Kubernetes uses for generated name parts (no vowels, no look-alikes).
const NAME_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

fn random_string(rng: &mut Rng, len: usize) -> String {
    (0..len).map(|_| char::from(*rng.pick(NAME_ALPHABET))).collect()
}

/// A 5-character pod suffix not yet in `used`.
fn unique_suffix(rng: &mut Rng, used: &mut HashSet<String>) -> String {
    loop {
        let s = random_string(rng, 5);
        if used.insert(s.clone()) {
            return s;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The plan: namespaces and their deployments, decided before anything is written.

#[derive(Clone, Copy, PartialEq, Eq)]
enum Tier {
    Web,
    Api,
    Data,
    Cache,
    Worker,
}

impl Tier {
    fn as_str(self) -> &'static str {
        match self {
            Tier::Web => "web",
            Tier::Api => "api",
            Tier::Data => "data",
            Tier::Cache => "cache",
            Tier::Worker => "worker",
        }
    }

    fn random(rng: &mut Rng) -> Tier {
        match rng.below(100) {
            0..20 => Tier::Web,
            20..55 => Tier::Api,
            55..65 => Tier::Data,
            65..75 => Tier::Cache,
            _ => Tier::Worker,
        }
    }

    fn name_suffixes(self) -> &'static [&'static str] {
        match self {
            Tier::Web => &["web", "frontend", "ui"],
            Tier::Api => &["api", "svc"],
            Tier::Data => &["db", "postgres"],
            Tier::Cache => &["cache", "redis"],
            Tier::Worker => &["worker", "consumer", "jobs"],
        }
    }
}

const DOMAINS: &[&str] = &[
    "orders",
    "users",
    "payments",
    "catalog",
    "cart",
    "checkout",
    "billing",
    "invoices",
    "shipping",
    "inventory",
    "search",
    "reviews",
    "accounts",
    "auth",
    "notifications",
    "emails",
    "reports",
    "analytics",
    "ledger",
    "pricing",
    "promotions",
    "profiles",
    "sessions",
    "media",
    "uploads",
    "audit",
    "events",
    "gateway",
    "webhooks",
    "tickets",
    "support",
    "loyalty",
    "quotes",
    "claims",
    "fraud",
    "risk",
    "ratings",
    "feeds",
    "tracking",
    "recommendations",
];

const ENVS: [&str; 3] = ["prod", "staging", "dev"];
const ZONES: [&str; 3] = ["zone-a", "zone-b", "zone-c"];

/// Office egress ranges (documentation and shared address space), never pod or node addresses.
const OFFICES: [&str; 4] = ["203.0.113.0/24", "198.51.100.0/24", "192.0.2.0/24", "100.64.10.0/24"];

struct Deployment {
    app: String,
    tier: Tier,
    replicas: usize,
    hash: String,
    version: String,
    /// Workers sometimes take StatsD metrics over UDP.
    statsd: bool,
}

struct NamespacePlan {
    name: String,
    team: String,
    env: &'static str,
    deployments: Vec<Deployment>,
    policies: usize,
    segmentation: Segmentation,
}

struct Plan {
    namespaces: Vec<NamespacePlan>,
    teams: Vec<String>,
}

fn team_name(index: usize) -> String {
    format!("team-{:02}", index + 1)
}

impl Plan {
    fn new(params: &GenerateParams) -> Plan {
        let mut rng = Rng::new(params.seed, STREAM_PLAN);
        let k = params.namespaces;
        // Pods: proportional to a random weight, prod namespaces larger; largest remainder.
        let weights: Vec<usize> = (0..k).map(|i| [3, 2, 1][i % 3] * rng.range(2, 4)).collect();
        let total: usize = weights.iter().sum();
        let mut shares: Vec<usize> = weights.iter().map(|w| params.pods * w / total.max(1)).collect();
        let mut left = params.pods - shares.iter().sum::<usize>();
        let mut i = 0;
        while left > 0 {
            shares[i % k] += 1;
            left -= 1;
            i += 1;
        }
        let mut density = Rng::new(params.seed, STREAM_DENSITY);
        let (unisolated, ingress_only) = (params.unisolated_per_mille as usize, params.ingress_only_per_mille as usize);
        let segmentation: Vec<Segmentation> = (0..k)
            .map(|_| {
                if unisolated + ingress_only == 0 {
                    return Segmentation::Full;
                }
                match density.below(1000) {
                    r if r < unisolated => Segmentation::None,
                    r if r < unisolated + ingress_only => Segmentation::IngressOnly,
                    _ => Segmentation::Full,
                }
            })
            .collect();
        // Policies go to the namespaces that have any, evenly.
        let with_policies = segmentation.iter().filter(|s| **s != Segmentation::None).count();
        let mut namespaces = Vec::with_capacity(k);
        let mut j = 0;
        for (i, &share) in shares.iter().enumerate() {
            let team = team_name(i / 3);
            let env = ENVS[i % 3];
            let policies = match segmentation[i] {
                Segmentation::None => 0,
                _ => {
                    j += 1;
                    params.policies / with_policies + usize::from(j - 1 < params.policies % with_policies)
                }
            };
            namespaces.push(NamespacePlan {
                name: format!("{team}-{env}"),
                deployments: plan_deployments(&mut rng, share),
                team,
                env,
                policies,
                segmentation: segmentation[i],
            });
        }
        Plan { namespaces, teams: (0..k.div_ceil(3)).map(team_name).collect() }
    }
}

fn plan_deployments(rng: &mut Rng, mut pods: usize) -> Vec<Deployment> {
    let mut out = Vec::new();
    let mut apps = HashSet::new();
    while pods > 0 {
        let mut replicas = rng.range(2, 6);
        if replicas > pods {
            replicas = pods;
        } else if pods - replicas == 1 {
            // Never leave a single pod over.
            replicas = if replicas < 6 { replicas + 1 } else { replicas - 1 };
        }
        pods -= replicas;
        let tier = Tier::random(rng);
        let base = format!("{}-{}", rng.pick(DOMAINS), rng.pick(tier.name_suffixes()));
        let mut app = base.clone();
        let mut n = 2;
        while !apps.insert(app.clone()) {
            app = format!("{base}-{n}");
            n += 1;
        }
        out.push(Deployment {
            app,
            tier,
            replicas,
            hash: random_string(rng, 10),
            version: format!("v{}.{}.{}", rng.range(1, 3), rng.below(20), rng.below(10)),
            statsd: tier == Tier::Worker && rng.chance(50),
        });
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Streaming the List.

struct ListWriter<'a> {
    out: BufWriter<&'a mut dyn Write>,
    items: JsonArray,
}

impl<'a> ListWriter<'a> {
    fn begin(out: &'a mut dyn Write) -> io::Result<ListWriter<'a>> {
        let mut out = BufWriter::with_capacity(1 << 16, out);
        out.write_all(b"{\"apiVersion\":\"v1\",\"kind\":\"List\",\"metadata\":{\"resourceVersion\":\"\"},\"items\":[")?;
        Ok(ListWriter { out, items: JsonArray::new("") })
    }

    fn item(&mut self, value: &Value) -> io::Result<()> {
        self.items.element(&mut self.out)?;
        serde_json::to_writer(&mut self.out, value).map_err(io::Error::from)
    }

    fn end(mut self) -> io::Result<()> {
        self.out.write_all(b"\n]}\n")?;
        self.out.flush()
    }
}

// ---------------------------------------------------------------------------------------------
// Namespaces, nodes and pods.

fn namespace_object(name: &str, team_env: Option<(&str, &str)>) -> Value {
    let mut labels = json!({ "kubernetes.io/metadata.name": name });
    if let Some((team, env)) = team_env {
        labels["team"] = json!(team);
        labels["env"] = json!(env);
    }
    json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": { "name": name, "labels": labels },
        "spec": { "finalizers": ["kubernetes"] },
        "status": { "phase": "Active" }
    })
}

fn node_name(i: usize) -> String {
    format!("node-{i:04}")
}

fn node_ip(i: usize) -> String {
    format!("192.168.{}.{}", i / 250, i % 250 + 2)
}

/// The node's pod CIDR: 10.a.b.0/24.
fn node_pod_prefix(i: usize) -> String {
    format!("10.{}.{}", i / 256, i % 256)
}

fn node_object(i: usize) -> Value {
    let name = node_name(i);
    let cidr = format!("{}.0/24", node_pod_prefix(i));
    json!({
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": {
                "kubernetes.io/arch": "amd64",
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "topology.kubernetes.io/zone": ZONES[i % 3]
            }
        },
        "spec": { "podCIDR": cidr, "podCIDRs": [cidr] },
        "status": {
            "addresses": [
                { "type": "InternalIP", "address": node_ip(i) },
                { "type": "Hostname", "address": name }
            ]
        }
    })
}

/// Pod placement and addresses: a random node with room, the next free address of its /24.
struct Ipam {
    used: Vec<u16>,
    rng: Rng,
}

impl Ipam {
    fn assign(&mut self) -> (usize, String) {
        let n = self.used.len();
        let mut node = self.rng.below(n);
        while usize::from(self.used[node]) >= NODE_CAPACITY {
            node = (node + 1) % n;
        }
        let host = self.used[node] + 2;
        self.used[node] += 1;
        (node, format!("{}.{host}", node_pod_prefix(node)))
    }
}

fn container_port(name: &str, port: u16, protocol: &str) -> Value {
    json!({ "name": name, "containerPort": port, "protocol": protocol })
}

fn pod_status(node: usize, pod_ip: &str) -> Value {
    let host_ip = node_ip(node);
    json!({
        "phase": "Running",
        "hostIP": host_ip,
        "hostIPs": [{ "ip": host_ip }],
        "podIP": pod_ip,
        "podIPs": [{ "ip": pod_ip }],
        "qosClass": "Burstable"
    })
}

fn app_pod(ns: &NamespacePlan, d: &Deployment, name: &str, node: usize, ip: &str) -> Value {
    let mut ports = Vec::with_capacity(3);
    match d.tier {
        Tier::Web => ports.push(container_port("http", 8080, "TCP")),
        Tier::Api => {
            ports.push(container_port("http", 8080, "TCP"));
            ports.push(container_port("grpc", 9090, "TCP"));
        }
        Tier::Data => ports.push(container_port("pg", 5432, "TCP")),
        Tier::Cache => ports.push(container_port("redis", 6379, "TCP")),
        Tier::Worker if d.statsd => ports.push(container_port("statsd", 8125, "UDP")),
        Tier::Worker => {}
    }
    ports.push(container_port("metrics", 9100, "TCP"));
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": ns.name,
            "labels": {
                "app": d.app,
                "tier": d.tier.as_str(),
                "team": ns.team,
                "version": d.version,
                "pod-template-hash": d.hash
            }
        },
        "spec": {
            "nodeName": node_name(node),
            "containers": [{
                "name": "app",
                "image": format!("registry.example.com/{}/{}:{}", ns.team, d.app, d.version),
                "ports": ports
            }],
            "restartPolicy": "Always",
            "serviceAccountName": "default"
        },
        "status": pod_status(node, ip)
    })
}

fn replica_set_name(d: &Deployment) -> String {
    format!("{}-{}", d.app, d.hash)
}

/// A stable UID for an object: the same parameters give the same bytes.
fn uid(namespace: &str, kind: &str, name: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325; // FNV-1a, then two SplitMix64 outputs for 128 bits
    for b in namespace.bytes().chain([0]).chain(kind.bytes()).chain([0]).chain(name.bytes()) {
        h = (h ^ b as u64).wrapping_mul(0x100_0000_01b3);
    }
    let mut rng = Rng::new(h, 0);
    let (a, b) = (rng.next_u64(), rng.next_u64());
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        b >> 52,
        b & 0xffff_ffff_ffff
    )
}

fn owner_reference(namespace: &str, kind: &str, name: &str) -> Value {
    json!([{
        "apiVersion": "apps/v1",
        "kind": kind,
        "name": name,
        "uid": uid(namespace, kind, name),
        "controller": true,
        "blockOwnerDeletion": true
    }])
}

/// The Deployment and its ReplicaSet, with the pod template their pods were made from.
fn controller_objects(ns: &NamespacePlan, d: &Deployment) -> [Value; 2] {
    let pod = app_pod(ns, d, "template", 0, "");
    let labels = pod["metadata"]["labels"].clone();
    let mut template = json!({ "metadata": { "labels": labels }, "spec": pod["spec"].clone() });
    if let Some(spec) = template["spec"].as_object_mut() {
        spec.remove("nodeName");
    }
    let replica_set = replica_set_name(d);
    let mut selector = labels.clone();
    let mut deployment_template = template.clone();
    if let Some(map) = selector.as_object_mut() {
        map.retain(|k, _| k == "app" || k == "tier");
    }
    if let Some(map) = deployment_template["metadata"]["labels"].as_object_mut() {
        map.remove("pod-template-hash");
    }
    let mut rs_selector = selector.clone();
    rs_selector["pod-template-hash"] = json!(d.hash);
    [
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": { "name": d.app, "namespace": ns.name, "uid": uid(&ns.name, "Deployment", &d.app) },
            "spec": {
                "replicas": d.replicas,
                "selector": { "matchLabels": selector },
                "template": deployment_template
            }
        }),
        json!({
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {
                "name": replica_set,
                "namespace": ns.name,
                "uid": uid(&ns.name, "ReplicaSet", &replica_set),
                "labels": rs_selector.clone(),
                "ownerReferences": owner_reference(&ns.name, "Deployment", &d.app)
            },
            "spec": {
                "replicas": d.replicas,
                "selector": { "matchLabels": rs_selector },
                "template": template
            }
        }),
    ]
}

fn coredns_pod(name: &str, hash: &str, node: usize, ip: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": "kube-system",
            "labels": { "k8s-app": "kube-dns", "pod-template-hash": hash }
        },
        "spec": {
            "nodeName": node_name(node),
            "containers": [{
                "name": "coredns",
                "image": "registry.k8s.io/coredns/coredns:v1.11.3",
                "ports": [
                    container_port("dns", 53, "UDP"),
                    container_port("dns-tcp", 53, "TCP"),
                    container_port("metrics", 9153, "TCP")
                ]
            }],
            "priorityClassName": "system-cluster-critical",
            "restartPolicy": "Always",
            "serviceAccountName": "coredns"
        },
        "status": pod_status(node, ip)
    })
}

/// A hostNetwork DaemonSet pod: its address is its node's.
fn node_exporter_pod(name: &str, hash: &str, node: usize) -> Value {
    let mut port = container_port("metrics", 9100, "TCP");
    port["hostPort"] = json!(9100);
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": "kube-system",
            "labels": { "app": "node-exporter", "controller-revision-hash": hash, "pod-template-generation": "1" }
        },
        "spec": {
            "nodeName": node_name(node),
            "hostNetwork": true,
            "hostPID": true,
            "containers": [{
                "name": "node-exporter",
                "image": "quay.io/prometheus/node-exporter:v1.8.2",
                "ports": [port]
            }],
            "restartPolicy": "Always",
            "serviceAccountName": "node-exporter"
        },
        "status": pod_status(node, &node_ip(node))
    })
}

// ---------------------------------------------------------------------------------------------
// NetworkPolicies.

fn labels_selector(pairs: &[(&str, &str)]) -> Value {
    let map: serde_json::Map<String, Value> = pairs.iter().map(|(k, v)| (k.to_string(), json!(v))).collect();
    json!({ "matchLabels": map })
}

fn expression_selector(key: &str, operator: &str, values: &[&str]) -> Value {
    if values.is_empty() {
        json!({ "matchExpressions": [{ "key": key, "operator": operator }] })
    } else {
        json!({ "matchExpressions": [{ "key": key, "operator": operator, "values": values }] })
    }
}

fn pods_peer(selector: Value) -> Value {
    json!({ "podSelector": selector })
}

fn namespaces_peer(selector: Value) -> Value {
    json!({ "namespaceSelector": selector })
}

fn both_peer(namespaces: Value, pods: Value) -> Value {
    json!({ "namespaceSelector": namespaces, "podSelector": pods })
}

fn prod_or_staging() -> Value {
    expression_selector("env", "In", &["prod", "staging"])
}

fn port(port: Value, protocol: &str) -> Value {
    json!({ "port": port, "protocol": protocol })
}

fn tcp(n: u16) -> Value {
    port(json!(n), "TCP")
}

fn named(name: &str) -> Value {
    json!({ "port": name })
}

fn rule(direction: &str, peers: Vec<Value>, ports: Vec<Value>) -> Value {
    let key = if direction == "ingress" { "from" } else { "to" };
    json!({ key: peers, "ports": ports })
}

fn internet_peer() -> Value {
    json!({ "ipBlock": { "cidr": "0.0.0.0/0", "except": ["10.0.0.0/8", "192.168.0.0/16"] } })
}

fn policy(
    namespace: &str,
    name: &str,
    pod_selector: Value,
    types: Option<&[&str]>,
    ingress: Vec<Value>,
    egress: Vec<Value>,
) -> Value {
    let mut spec = json!({ "podSelector": pod_selector });
    if let Some(types) = types {
        spec["policyTypes"] = json!(types);
    }
    if !ingress.is_empty() {
        spec["ingress"] = Value::Array(ingress);
    }
    if !egress.is_empty() {
        spec["egress"] = Value::Array(egress);
    }
    json!({
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": { "name": name, "namespace": namespace },
        "spec": spec
    })
}

const INGRESS: Option<&[&str]> = Some(&["Ingress"]);
const EGRESS: Option<&[&str]> = Some(&["Egress"]);
const BOTH: Option<&[&str]> = Some(&["Ingress", "Egress"]);

/// One allow policy: a name suffix, the policy types and the rules.
struct Template {
    suffix: &'static str,
    types: Option<&'static [&'static str]>,
    ingress: Vec<Value>,
    egress: Vec<Value>,
}

/// How many distinct allow templates a tier has (see [`template`]).
fn template_count(tier: Tier) -> usize {
    match tier {
        Tier::Web => 3,
        Tier::Api => 4,
        Tier::Data => 2,
        Tier::Cache => 2,
        Tier::Worker => 3,
    }
}

fn template(tier: Tier, which: usize, ns: &NamespacePlan, plan: &Plan, rng: &mut Rng) -> Template {
    let t = |suffix, types, ingress, egress| Template { suffix, types, ingress, egress };
    let metrics = || {
        // Scraping by worker pods of any prod/staging namespace.
        rule(
            "ingress",
            vec![both_peer(prod_or_staging(), labels_selector(&[("tier", "worker")]))],
            vec![named("metrics")],
        )
    };
    match (tier, which) {
        (Tier::Web, 0) => {
            let mut offices: Vec<&str> = OFFICES.to_vec();
            rng.shuffle(&mut offices);
            let peers = offices[..rng.range(1, 3)].iter().map(|c| json!({ "ipBlock": { "cidr": c } })).collect();
            t(
                "ingress",
                INGRESS,
                vec![
                    rule("ingress", peers, vec![named("http")]),
                    rule(
                        "ingress",
                        vec![both_peer(prod_or_staging(), labels_selector(&[("tier", "web")]))],
                        vec![json!({ "port": 8000, "endPort": 8100, "protocol": "TCP" })],
                    ),
                ],
                vec![],
            )
        }
        (Tier::Web, 1) => t(
            "egress",
            EGRESS,
            vec![],
            vec![rule("egress", vec![pods_peer(labels_selector(&[("tier", "api")]))], vec![named("http"), tcp(9090)])],
        ),
        (Tier::Web, _) => t("metrics", INGRESS, vec![metrics()], vec![]),
        (Tier::Api, 0) => {
            let team = rng.pick(&plan.teams).clone();
            t(
                "ingress",
                INGRESS,
                vec![
                    rule(
                        "ingress",
                        vec![pods_peer(labels_selector(&[("tier", "web")]))],
                        vec![named("http"), named("grpc")],
                    ),
                    rule("ingress", vec![namespaces_peer(labels_selector(&[("team", &team)]))], vec![tcp(9090)]),
                ],
                vec![],
            )
        }
        (Tier::Api, 1) => t(
            "egress",
            EGRESS,
            vec![],
            vec![
                rule(
                    "egress",
                    vec![pods_peer(expression_selector("tier", "In", &["data", "cache"]))],
                    vec![tcp(5432), tcp(6379)],
                ),
                rule(
                    "egress",
                    vec![both_peer(prod_or_staging(), labels_selector(&[("tier", "api")]))],
                    vec![named("grpc")],
                ),
                rule("egress", vec![pods_peer(labels_selector(&[("tier", "worker")]))], vec![port(json!(8125), "UDP")]),
            ],
        ),
        (Tier::Api, 2) => t("internet", EGRESS, vec![], vec![rule("egress", vec![internet_peer()], vec![tcp(443)])]),
        (Tier::Api, _) => t(
            "ports",
            BOTH,
            vec![
                rule(
                    "ingress",
                    vec![pods_peer(expression_selector("tier", "NotIn", &["data"]))],
                    vec![json!({ "port": 8000, "endPort": 8100 })],
                ),
                metrics(),
            ],
            vec![],
        ),
        (Tier::Data, 0) => t(
            "ingress",
            BOTH,
            vec![
                rule("ingress", vec![pods_peer(labels_selector(&[("tier", "api")]))], vec![tcp(5432)]),
                rule(
                    "ingress",
                    vec![both_peer(labels_selector(&[("team", &ns.team)]), labels_selector(&[("tier", "worker")]))],
                    vec![named("pg")],
                ),
            ],
            vec![],
        ),
        (Tier::Data, _) => t("metrics", INGRESS, vec![metrics()], vec![]),
        (Tier::Cache, 0) => t(
            "ingress",
            // policyTypes omitted: Ingress implied.
            None,
            vec![rule(
                "ingress",
                vec![pods_peer(expression_selector("tier", "In", &["api", "worker"]))],
                vec![named("redis")],
            )],
            vec![],
        ),
        (Tier::Cache, _) => t("metrics", INGRESS, vec![metrics()], vec![]),
        (Tier::Worker, 0) => t(
            "egress",
            EGRESS,
            vec![],
            vec![
                rule(
                    "egress",
                    vec![pods_peer(expression_selector("tier", "In", &["data", "cache"]))],
                    vec![named("pg"), named("redis")],
                ),
                rule("egress", vec![internet_peer()], vec![tcp(443)]),
                rule(
                    "egress",
                    vec![both_peer(
                        prod_or_staging(),
                        expression_selector("tier", "In", &["web", "api", "data", "cache"]),
                    )],
                    vec![named("metrics")],
                ),
            ],
        ),
        (Tier::Worker, 1) => t(
            "ingress",
            INGRESS,
            vec![
                rule(
                    "ingress",
                    vec![pods_peer(expression_selector("tier", "In", &["api", "web"]))],
                    vec![port(json!(8125), "UDP")],
                ),
                rule("ingress", vec![pods_peer(expression_selector("app", "Exists", &[]))], vec![named("metrics")]),
            ],
            vec![],
        ),
        (Tier::Worker, _) => t(
            "batch",
            EGRESS,
            vec![],
            vec![rule(
                "egress",
                vec![pods_peer(expression_selector("tier", "Exists", &[]))],
                vec![json!({ "port": 8000, "endPort": 8100, "protocol": "TCP" }), port(json!(5000), "UDP")],
            )],
        ),
    }
}

fn namespace_policies(ns: &NamespacePlan, plan: &Plan, rng: &mut Rng, names: &mut HashSet<String>) -> Vec<Value> {
    let mut out = Vec::with_capacity(ns.policies);
    let mut add = |out: &mut Vec<Value>, base: String, make: &dyn Fn(&str) -> Value| {
        let mut name = base.clone();
        let mut n = 2;
        while !names.insert(name.clone()) {
            name = format!("{base}-{n}");
            n += 1;
        }
        out.push(make(&name));
    };
    let ingress_only = ns.segmentation == Segmentation::IngressOnly;
    if ns.policies >= 1 && ingress_only {
        add(&mut out, "default-deny-ingress".into(), &|name| {
            policy(&ns.name, name, json!({}), INGRESS, vec![], vec![])
        });
    } else if ns.policies >= 1 {
        add(&mut out, "default-deny-all".into(), &|name| policy(&ns.name, name, json!({}), BOTH, vec![], vec![]));
    }
    if ns.policies >= 2 && !ingress_only {
        add(&mut out, "allow-dns".into(), &|name| {
            let dns = both_peer(
                labels_selector(&[("kubernetes.io/metadata.name", "kube-system")]),
                labels_selector(&[("k8s-app", "kube-dns")]),
            );
            policy(
                &ns.name,
                name,
                json!({}),
                EGRESS,
                vec![],
                vec![rule("egress", vec![dns], vec![port(json!(53), "UDP"), port(json!(53), "TCP")])],
            )
        });
    }
    // Allow rules: apps in a random order, each app's templates in turn from a random start.
    let mut targets: Vec<(String, Tier, Value)> =
        ns.deployments.iter().map(|d| (d.app.clone(), d.tier, labels_selector(&[("app", &d.app)]))).collect();
    if targets.is_empty() {
        for tier in [Tier::Web, Tier::Api, Tier::Data, Tier::Cache, Tier::Worker] {
            targets.push((format!("tier-{}", tier.as_str()), tier, labels_selector(&[("tier", tier.as_str())])));
        }
    }
    rng.shuffle(&mut targets);
    let offsets: Vec<usize> = targets.iter().map(|(_, tier, _)| rng.below(template_count(*tier))).collect();
    let allows = ns.policies.saturating_sub(if ingress_only { 1 } else { 2 });
    for j in 0..allows {
        let i = j % targets.len();
        let (target, tier, selector) = &targets[i];
        let which = (offsets[i] + j / targets.len()) % template_count(*tier);
        let mut tpl = template(*tier, which, ns, plan, rng);
        if ingress_only {
            // Egress stays open: keep the ingress rules, or let every namespace in.
            if tpl.ingress.is_empty() {
                let everyone = namespaces_peer(json!({}));
                tpl = Template {
                    suffix: "from-cluster",
                    types: INGRESS,
                    ingress: vec![rule("ingress", vec![everyone], vec![])],
                    egress: vec![],
                };
            } else {
                tpl.types = INGRESS;
                tpl.egress.clear();
            }
        }
        add(&mut out, format!("allow-{target}-{}", tpl.suffix), &|name| {
            policy(&ns.name, name, selector.clone(), tpl.types, tpl.ingress.clone(), tpl.egress.clone())
        });
    }
    out
}
