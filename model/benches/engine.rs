//! Micro-benchmarks of the engine's hot paths (divan).
//!
//! ```sh
//! cargo bench -p netreach-model --bench engine              # all
//! cargo bench -p netreach-model --bench engine -- compute   # only Reachability::compute
//! cargo test  -p netreach-model --benches                   # each benchmark once, as a test
//! ```
//!
//! The clusters are built directly with model types, shaped like `netreach generate` (see
//! analyzer/src/generate.rs): one namespace per ~300 pods (team × prod/staging/dev, labelled
//! `team` and `env`), deployments of 2–6 replicas labelled `app`/`tier`/`team`/`version` with
//! named container ports per tier, kube-system with CoreDNS and three hostNetwork pods, and one
//! policy per ~10 pods: per namespace `default-deny-all`, `allow-dns`, then allow rules by tier
//! using pod selectors, namespace selectors with `matchExpressions`, named ports, `endPort`
//! ranges and ipBlocks with `except`. The end-to-end figures (load, engine, output, memory) are
//! measured by `bench/run`; these isolate the engine from parsing.

use divan::{black_box, Bencher};
use netreach_model::rng::SplitMix64;
use netreach_model::{
    Cluster, ContainerPort, Direction, EngineOptions, IpBlock, LabelSelector, Labels, Namespace, NetworkPolicy, Peer,
    Pod, PortEntry, PortSet, PortSpec, Protocol, Reachability, Requirement, Rule,
};
use std::net::{IpAddr, Ipv4Addr};

fn main() {
    divan::main();
}

// ---------------------------------------------------------------------------------------------
// Generated-shaped clusters.

const DOMAINS: [&str; 12] = [
    "orders", "users", "payments", "catalog", "cart", "billing", "search", "auth", "ledger", "media", "events", "risk",
];
const ENVS: [&str; 3] = ["prod", "staging", "dev"];

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn sel(pairs: &[(&str, &str)]) -> LabelSelector {
    LabelSelector::from_labels(pairs.iter().copied())
}

fn expr(key: &str, op: &str, values: &[&str]) -> LabelSelector {
    LabelSelector {
        match_labels: Labels::new(),
        match_expressions: vec![Requirement::new(key, op, values.iter().map(|v| v.to_string()).collect()).unwrap()],
    }
}

fn pods_peer(pods: Option<LabelSelector>, namespaces: Option<LabelSelector>) -> Peer {
    Peer::Pods { pod_selector: pods, namespace_selector: namespaces }
}

fn port(protocol: Protocol, spec: PortSpec, end_port: Option<u16>) -> PortEntry {
    PortEntry { protocol, port: Some(spec), end_port }
}

fn tcp(n: u16) -> PortEntry {
    port(Protocol::Tcp, PortSpec::Number(n), None)
}

fn named(name: &str) -> PortEntry {
    port(Protocol::Tcp, PortSpec::Name(name.into()), None)
}

fn policy(
    ns: &str,
    name: String,
    subject: LabelSelector,
    types: &[Direction],
    ingress: Vec<Rule>,
    egress: Vec<Rule>,
) -> NetworkPolicy {
    NetworkPolicy {
        namespace: ns.into(),
        name,
        pod_selector: subject,
        policy_types: Some(types.to_vec()),
        ingress,
        egress,
    }
}

fn ip(n: usize) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, (n >> 16) as u8, (n >> 8) as u8, n as u8))
}

/// About `pods` application pods, `pods / 10` policies, `pods / 300` namespaces.
fn cluster(pods: usize) -> Cluster {
    let mut rng = SplitMix64::from_state(pods as u64);
    let namespaces = (pods / 300).max(1);
    let policies = (pods / 10).max(2 * namespaces);
    let mut c = Cluster::default();
    c.namespaces.push(Namespace::new("kube-system", Labels::new()));
    for i in 0..2 {
        let mut p = Pod::new("kube-system", &format!("coredns-{i}"), labels(&[("k8s-app", "kube-dns")]));
        p.ips = vec![ip(i + 1)];
        p.ports = vec![
            ContainerPort { name: Some("dns".into()), port: 53, protocol: Protocol::Udp },
            ContainerPort { name: Some("dns-tcp".into()), port: 53, protocol: Protocol::Tcp },
        ];
        c.pods.push(p);
    }
    for i in 0..3 {
        let mut p = Pod::new("kube-system", &format!("node-exporter-{i}"), labels(&[("app", "node-exporter")]));
        p.ips = vec![IpAddr::V4(Ipv4Addr::new(192, 168, 0, i as u8 + 2))];
        p.host_network = true;
        c.pods.push(p);
    }
    let offices = ["203.0.113.0/24", "198.51.100.0/24", "192.0.2.0/24", "100.64.10.0/24"];
    let internet = IpBlock::parse("0.0.0.0/0", &["10.0.0.0/8".into(), "192.168.0.0/16".into()]).unwrap();
    for k in 0..namespaces {
        let (team, env) = (format!("team-{:02}", k / 3 + 1), ENVS[k % 3]);
        let ns = format!("{team}-{env}");
        c.namespaces.push(Namespace::new(&ns, labels(&[("team", &team), ("env", env)])));
        // Pods: deployments of 2-6 replicas.
        let share = pods / namespaces + usize::from(k < pods % namespaces);
        let mut apps: Vec<(String, &str)> = Vec::new();
        let mut left = share;
        while left > 0 {
            let replicas = (2 + rng.below(5)).min(left);
            left -= replicas;
            // The generator's tier mix: web 20 %, api 35 %, data 10 %, cache 10 %, worker 25 %.
            let tier = match rng.below(100) {
                0..20 => "web",
                20..55 => "api",
                55..65 => "data",
                65..75 => "cache",
                _ => "worker",
            };
            let app = format!("{}-{tier}-{}", DOMAINS[rng.below(DOMAINS.len())], apps.len());
            for r in 0..replicas {
                let mut p = Pod::new(
                    &ns,
                    &format!("{app}-{r}"),
                    labels(&[("app", &app), ("tier", tier), ("team", &team), ("version", "v1")]),
                );
                p.ips = vec![ip(c.pods.len() + 16)];
                let mut ports = match tier {
                    "web" => vec![("http", 8080, Protocol::Tcp)],
                    "api" => vec![("http", 8080, Protocol::Tcp), ("grpc", 9090, Protocol::Tcp)],
                    "data" => vec![("pg", 5432, Protocol::Tcp)],
                    "cache" => vec![("redis", 6379, Protocol::Tcp)],
                    _ => vec![("statsd", 8125, Protocol::Udp)],
                };
                ports.push(("metrics", 9100, Protocol::Tcp));
                p.ports = ports
                    .into_iter()
                    .map(|(n, port, protocol)| ContainerPort { name: Some(n.into()), port, protocol })
                    .collect();
                c.pods.push(p);
            }
            apps.push((app, tier));
        }
        // Policies: default deny, DNS, then allow rules per app.
        let quota = policies / namespaces + usize::from(k < policies % namespaces);
        c.policies.push(policy(
            &ns,
            "default-deny-all".into(),
            LabelSelector::everything(),
            &[Direction::Ingress, Direction::Egress],
            vec![],
            vec![],
        ));
        c.policies.push(policy(
            &ns,
            "allow-dns".into(),
            LabelSelector::everything(),
            &[Direction::Egress],
            vec![],
            vec![Rule {
                peers: vec![pods_peer(
                    Some(sel(&[("k8s-app", "kube-dns")])),
                    Some(sel(&[("kubernetes.io/metadata.name", "kube-system")])),
                )],
                ports: vec![port(Protocol::Udp, PortSpec::Number(53), None), tcp(53)],
            }],
        ));
        // Each app's templates in turn from a random start, as `netreach generate` does.
        let offsets: Vec<usize> = apps.iter().map(|(_, tier)| rng.below(template_count(tier))).collect();
        for j in 0..quota.saturating_sub(2) {
            let i = j % apps.len();
            let (app, tier) = &apps[i];
            let which = (offsets[i] + j / apps.len()) % template_count(tier);
            let team_peer = format!("team-{:02}", rng.below(namespaces.div_ceil(3)) + 1);
            let office = offices[rng.below(offices.len())];
            c.policies.push(template(
                &ns,
                &team,
                format!("allow-{app}-{j}"),
                sel(&[("app", app)]),
                tier,
                which,
                &team_peer,
                office,
                &internet,
            ));
        }
    }
    c
}

fn template_count(tier: &str) -> usize {
    match tier {
        "web" => 3,
        "api" => 4,
        "data" | "cache" => 2,
        _ => 3,
    }
}

/// The allow templates of analyzer/src/generate.rs, per tier.
#[allow(clippy::too_many_arguments)]
fn template(
    ns: &str,
    team: &str,
    name: String,
    subject: LabelSelector,
    tier: &str,
    which: usize,
    other_team: &str,
    office: &str,
    internet: &IpBlock,
) -> NetworkPolicy {
    use Direction::{Egress, Ingress};
    let prod_or_staging = || Some(expr("env", "In", &["prod", "staging"]));
    let metrics = || Rule {
        peers: vec![pods_peer(Some(sel(&[("tier", "worker")])), prod_or_staging())],
        ports: vec![named("metrics")],
    };
    let rule = |peers: Vec<Peer>, ports: Vec<PortEntry>| Rule { peers, ports };
    let pods = |s: LabelSelector| pods_peer(Some(s), None);
    let range = |lo: u16, hi: u16| port(Protocol::Tcp, PortSpec::Number(lo), Some(hi));
    let udp = |n: u16| port(Protocol::Udp, PortSpec::Number(n), None);
    let internet = || Peer::IpBlock(internet.clone());
    match (tier, which) {
        ("web", 0) => policy(
            ns,
            name,
            subject,
            &[Ingress],
            vec![
                rule(vec![Peer::IpBlock(IpBlock::parse(office, &[]).unwrap())], vec![named("http")]),
                rule(vec![pods_peer(Some(sel(&[("tier", "web")])), prod_or_staging())], vec![range(8000, 8100)]),
            ],
            vec![],
        ),
        ("web", 1) => policy(
            ns,
            name,
            subject,
            &[Egress],
            vec![],
            vec![rule(vec![pods(sel(&[("tier", "api")]))], vec![named("http"), tcp(9090)])],
        ),
        ("web", _) => policy(ns, name, subject, &[Ingress], vec![metrics()], vec![]),
        ("api", 0) => policy(
            ns,
            name,
            subject,
            &[Ingress],
            vec![
                rule(vec![pods(sel(&[("tier", "web")]))], vec![named("http"), named("grpc")]),
                rule(vec![pods_peer(None, Some(sel(&[("team", other_team)])))], vec![tcp(9090)]),
            ],
            vec![],
        ),
        ("api", 1) => policy(
            ns,
            name,
            subject,
            &[Egress],
            vec![],
            vec![
                rule(vec![pods(expr("tier", "In", &["data", "cache"]))], vec![tcp(5432), tcp(6379)]),
                rule(vec![pods_peer(Some(sel(&[("tier", "api")])), prod_or_staging())], vec![named("grpc")]),
                rule(vec![pods(sel(&[("tier", "worker")]))], vec![udp(8125)]),
            ],
        ),
        ("api", 2) => policy(ns, name, subject, &[Egress], vec![], vec![rule(vec![internet()], vec![tcp(443)])]),
        ("api", _) => policy(
            ns,
            name,
            subject,
            &[Ingress, Egress],
            vec![rule(vec![pods(expr("tier", "NotIn", &["data"]))], vec![range(8000, 8100)]), metrics()],
            vec![],
        ),
        ("data", 0) => policy(
            ns,
            name,
            subject,
            &[Ingress, Egress],
            vec![
                rule(vec![pods(sel(&[("tier", "api")]))], vec![tcp(5432)]),
                rule(
                    vec![pods_peer(Some(sel(&[("tier", "worker")])), Some(sel(&[("team", team)])))],
                    vec![named("pg")],
                ),
            ],
            vec![],
        ),
        ("cache", 0) => NetworkPolicy {
            policy_types: None, // omitted: Ingress implied
            ..policy(
                ns,
                name,
                subject,
                &[],
                vec![rule(vec![pods(expr("tier", "In", &["api", "worker"]))], vec![named("redis")])],
                vec![],
            )
        },
        ("data" | "cache", _) => policy(ns, name, subject, &[Ingress], vec![metrics()], vec![]),
        (_, 0) => policy(
            ns,
            name,
            subject,
            &[Egress],
            vec![],
            vec![
                rule(vec![pods(expr("tier", "In", &["data", "cache"]))], vec![named("pg"), named("redis")]),
                rule(vec![internet()], vec![tcp(443)]),
                rule(
                    vec![pods_peer(Some(expr("tier", "In", &["web", "api", "data", "cache"])), prod_or_staging())],
                    vec![named("metrics")],
                ),
            ],
        ),
        (_, 1) => policy(
            ns,
            name,
            subject,
            &[Ingress],
            vec![
                rule(vec![pods(expr("tier", "In", &["api", "web"]))], vec![udp(8125)]),
                rule(vec![pods(expr("app", "Exists", &[]))], vec![named("metrics")]),
            ],
            vec![],
        ),
        _ => policy(
            ns,
            name,
            subject,
            &[Egress],
            vec![],
            vec![rule(vec![pods(expr("tier", "Exists", &[]))], vec![range(8000, 8100), udp(5000)])],
        ),
    }
}

const SIZES: [usize; 3] = [1_000, 10_000, 50_000];

/// The whole engine: externals, selection, classes, grants, port classes and rows.
#[divan::bench(args = SIZES, sample_count = 5, sample_size = 1)]
fn compute(bencher: Bencher, pods: usize) {
    let c = cluster(pods);
    bencher
        .counter(divan::counter::ItemsCount::new(c.pods.len()))
        .bench(|| Reachability::compute(black_box(&c), &EngineOptions::default()));
}

/// `-o summary`'s counting: allowed pairs per class pair, never per pod pair.
#[divan::bench(args = SIZES, sample_count = 10)]
fn count_connections(bencher: Bencher, pods: usize) {
    let reach = Reachability::compute(&cluster(pods), &EngineOptions::default());
    bencher.bench(|| black_box(&reach).count_connections());
}

// ---------------------------------------------------------------------------------------------
// PortSet.

/// A set with `n` disjoint TCP ranges (and one UDP range), offset by `shift`.
fn port_set(n: usize, shift: u16) -> PortSet {
    let mut s = PortSet::single(Protocol::Udp, 53);
    for i in 0..n as u16 {
        let lo = 100 + i * 500 + shift;
        s.union_with(&PortSet::range(Protocol::Tcp, lo, lo + 200));
    }
    s
}

#[divan::bench(args = [1, 8, 64])]
fn portset_union(bencher: Bencher, ranges: usize) {
    let (a, b) = (port_set(ranges, 0), port_set(ranges, 150));
    bencher.bench(|| black_box(&a).union(black_box(&b)));
}

#[divan::bench(args = [1, 8, 64])]
fn portset_intersection(bencher: Bencher, ranges: usize) {
    let (a, b) = (port_set(ranges, 0), port_set(ranges, 150));
    bencher.bench(|| black_box(&a).intersection(black_box(&b)));
}

/// The rows' inner step: OR-ing many grants' port sets into one accumulator.
#[divan::bench(args = [16, 256])]
fn portset_union_with_many(bencher: Bencher, grants: usize) {
    let sets: Vec<PortSet> =
        (0..grants).map(|i| PortSet::single(Protocol::Tcp, 1000 + (i as u16 * 7) % 5000)).collect();
    bencher.bench(|| {
        let mut acc = PortSet::empty();
        for s in black_box(&sets) {
            acc.union_with(s);
        }
        acc
    });
}
