//! Hand-worked engine cases; the property tests in proptests/ cover the rest against the
//! reference evaluator.

use super::*;
use crate::cluster::{ContainerPort, Namespace, Pod};
use crate::labels::{LabelSelector, Labels};
use crate::networkpolicy::{NetworkPolicy, Peer, PortEntry, PortSpec, Rule};
use crate::IpBlock;

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn pod(ns: &str, name: &str, app: &str, ip: &str) -> Pod {
    let mut p = Pod::new(ns, name, labels(&[("app", app)]));
    p.ips = vec![ip.parse().unwrap()];
    p.ports = vec![ContainerPort { name: Some("http".into()), port: 8080, protocol: Protocol::Tcp }];
    p
}

fn policy(ns: &str, name: &str, app: &str) -> NetworkPolicy {
    NetworkPolicy {
        namespace: ns.into(),
        name: name.into(),
        pod_selector: LabelSelector::from_labels([("app", app)]),
        policy_types: None,
        ingress: Vec::new(),
        egress: Vec::new(),
    }
}

fn tcp(port: PortSpec) -> PortEntry {
    PortEntry { protocol: Protocol::Tcp, port: Some(port), end_port: None }
}

fn shop() -> Cluster {
    let mut db_policy = policy("shop", "db-from-api", "db");
    db_policy.ingress.push(Rule {
        peers: vec![Peer::Pods {
            pod_selector: Some(LabelSelector::from_labels([("app", "api")])),
            namespace_selector: None,
        }],
        ports: vec![tcp(PortSpec::Number(5432)), tcp(PortSpec::Name("http".into()))],
    });
    let mut api_egress = policy("shop", "api-egress", "api");
    api_egress.policy_types = Some(vec![]); // defaults like a missing list: Ingress (+Egress: has rules)
    api_egress
        .egress
        .push(Rule { peers: vec![Peer::IpBlock(IpBlock::parse("10.0.0.0/8", &[]).unwrap())], ports: vec![] });
    Cluster {
        namespaces: vec![Namespace::new("shop", Labels::new())],
        pods: vec![
            pod("shop", "api", "api", "10.0.0.1"),
            pod("shop", "db", "db", "10.0.0.2"),
            pod("shop", "web", "web", "10.0.0.3"),
        ],
        policies: vec![db_policy, api_egress],
        ..Default::default()
    }
}

#[test]
fn rules_decide_with_provenance() {
    let cluster = shop();
    let reach = Reachability::compute(&cluster, &EngineOptions::default());
    let (api, db, web) = (Endpoint::Pod(0), Endpoint::Pod(1), Endpoint::Pod(2));
    let allowed = reach.allowed(api, db);
    assert_eq!(allowed, PortSet::single(Protocol::Tcp, 5432).union(&PortSet::single(Protocol::Tcp, 8080)));
    assert!(reach.allowed(web, db).is_empty(), "db ingress admits only app=api");
    assert!(reach.allowed(db, api).is_empty(), "api-egress has an empty policyTypes list: Ingress is isolated");

    let why = reach.explain(api, db, Protocol::Tcp, 8080);
    assert!(why.allowed());
    assert_eq!(why.ingress.isolated_by, vec![0]);
    assert_eq!(
        why.ingress.allowed_by,
        vec![GrantOrigin::Rule(RuleRef {
            policy: 0,
            direction: Direction::Ingress,
            rule: 0,
            peer: Some(0),
            port: Some(1)
        })]
    );
    assert_eq!(why.egress.isolated_by, vec![1]);
    assert_eq!(
        why.egress.allowed_by,
        vec![GrantOrigin::Rule(RuleRef {
            policy: 1,
            direction: Direction::Egress,
            rule: 0,
            peer: Some(0),
            port: None
        })]
    );
    let denied = reach.explain(web, db, Protocol::Tcp, 5432);
    assert!(!denied.allowed());
    assert_eq!(denied.egress.allowed_by, vec![GrantOrigin::NotIsolated]);
    assert!(denied.ingress.allowed_by.is_empty());
}

#[test]
fn counted_pairs_are_the_listed_connections() {
    let cluster = shop();
    let reach = Reachability::compute(&cluster, &EngineOptions::default());
    let mut count = 0;
    reach
        .for_each_connection::<()>(|s, d, ports| {
            assert_ne!(s, d);
            assert!(!ports.is_empty());
            count += 1;
            Ok(())
        })
        .unwrap();
    let counts = reach.count_connections();
    assert_eq!(counts.pairs, count as u64);
}

#[test]
fn replicas_share_a_class() {
    let mut cluster = shop();
    for i in 0..50 {
        cluster.pods.push(pod("shop", &format!("web-{i}"), "web", &format!("10.1.0.{i}")));
    }
    let reach = Reachability::compute(&cluster, &EngineOptions::default());
    let stats = reach.stats();
    assert_eq!(stats.endpoints, 53 + reach.externals().len());
    // api, db, the web pods (one class) and the two external ranges (inside / outside 10/8).
    assert!(stats.classes <= 6, "{stats:?}");
    assert_eq!(reach.class_of(Endpoint::Pod(2)), reach.class_of(Endpoint::Pod(40)));
    let mut listed = [0u64; 3];
    reach
        .for_each_connection::<()>(|_, _, ports| {
            for (k, p) in Protocol::ALL.into_iter().enumerate() {
                listed[k] += u64::from(!ports.ranges(p).is_empty());
            }
            Ok(())
        })
        .unwrap();
    assert_eq!(reach.count_connections().by_protocol, listed);
}

#[test]
fn rule_evaluations_show_the_closest_miss() {
    let cluster = shop();
    let reach = Reachability::compute(&cluster, &EngineOptions::default());
    let (api, db, web) = (Endpoint::Pod(0), Endpoint::Pod(1), Endpoint::Pod(2));
    // api -> db on 9999: the peer (app=api) matches but neither 5432 nor named http (8080) does.
    let evals = reach.evaluate_rules(&cluster, api, db, Protocol::Tcp, 9999);
    let ingress: Vec<_> = evals.iter().filter(|e| e.direction == Direction::Ingress).collect();
    assert_eq!(ingress.len(), 1);
    assert_eq!((ingress[0].peers.clone(), ingress[0].ports.clone()), (vec![true], vec![false, false]));
    assert!(!ingress[0].allows());
    // web -> db on 5432: the port matches, the peer does not.
    let evals = reach.evaluate_rules(&cluster, web, db, Protocol::Tcp, 5432);
    let e = evals.iter().find(|e| e.direction == Direction::Ingress).unwrap();
    assert_eq!((e.peers.clone(), e.ports.clone()), (vec![false], vec![true, false]));
    // The named port resolves on the destination: db declares http = 8080.
    let evals = reach.evaluate_rules(&cluster, api, db, Protocol::Tcp, 8080);
    assert!(evals.iter().filter(|e| e.direction == Direction::Ingress).all(|e| e.allows()));
    // api's egress policy (ipBlock 10/8, all ports) matches db's address.
    let egress: Vec<_> = evals.iter().filter(|e| e.direction == Direction::Egress).collect();
    assert_eq!(egress.len(), 1);
    assert!(egress[0].allows() && egress[0].ports.is_empty());
    assert_eq!(reach.selected_by(0), vec![1]);
    assert_eq!(reach.peer_members(0, Direction::Ingress, 0, 0), vec![0]);
}

/// x/a → x/b → x/c → x/d by ingress rules over a default deny; x/h is a hostNetwork pod on
/// node n1, where x/e (reachable by no policy) also runs.
fn chain() -> Cluster {
    let mut pods: Vec<Pod> = ["a", "b", "c", "d", "e"].iter().map(|n| pod("x", n, n, "10.0.0.1")).collect();
    for (i, p) in pods.iter_mut().enumerate() {
        p.ips = vec![format!("10.0.0.{}", i + 1).parse().unwrap()];
        p.node = Some(if p.name == "e" { "n1".into() } else { "n2".into() });
    }
    let mut h = pod("x", "h", "h", "192.168.0.1");
    h.host_network = true;
    h.node = Some("n1".into());
    pods.push(h);
    let mut deny = policy("x", "deny", "x");
    deny.pod_selector = LabelSelector::everything();
    let mut policies = vec![deny];
    for (from, to) in [("a", "b"), ("b", "c"), ("c", "d")] {
        let mut p = policy("x", &format!("{to}-from-{from}"), to);
        p.ingress.push(Rule {
            peers: vec![Peer::Pods {
                pod_selector: Some(LabelSelector::from_labels([("app", from)])),
                namespace_selector: None,
            }],
            ports: vec![tcp(PortSpec::Number(80))],
        });
        policies.push(p);
    }
    Cluster { namespaces: vec![Namespace::new("x", Labels::new())], pods, policies, ..Default::default() }
}

#[test]
fn an_entered_search_starts_at_its_entries_and_outside_takes_no_policy_step() {
    let cluster = chain();
    let reach = Reachability::compute(&cluster, &EngineOptions::default());
    let idx = |name: &str| cluster.pods.iter().position(|p| p.name == name).unwrap();
    let (a, b, c, d) = (idx("a"), idx("b"), idx("c"), idx("d"));
    let outside = reach.pod_count();
    assert!(outside < reach.endpoint_count(), "the chain has an external range");
    // Outside enters b (1 hop) and, through b, c (2 hops), as a controller then its backend.
    let entries = [
        lateral::EntrySeed { endpoint: b, from: outside, level: 1 },
        lateral::EntrySeed { endpoint: c, from: b, level: 2 },
    ];
    let entered = reach.lateral_entered(&cluster, &[outside], Some(&entries), 5, true);
    assert_eq!([b, c, d].map(|i| entered.distance[i]), [1, 2, 3]);
    // c's entry hop wins over the policy hop b → c of the same level; d is policy from c.
    assert_eq!(
        entered.path(d),
        vec![(outside, b, lateral::HopKind::Entry), (b, c, lateral::HopKind::Entry), (c, d, lateral::HopKind::Policy)]
    );
    assert_eq!(entered.distance[a], u32::MAX, "a admits nobody and is no entry");
    let from_outside: Vec<usize> =
        (0..reach.endpoint_count()).filter(|&e| entered.parent[e].is_some_and(|p| p.endpoint == outside)).collect();
    assert_eq!(from_outside, [b], "outside reaches only its entries");
}

#[test]
fn lateral_paths_follow_policies_and_node_local_hops() {
    let cluster = chain();
    let reach = Reachability::compute(&cluster, &EngineOptions::default());
    let idx = |name: &str| cluster.pods.iter().position(|p| p.name == name).unwrap();
    let (a, b, c, d, e, h) = (idx("a"), idx("b"), idx("c"), idx("d"), idx("e"), idx("h"));
    let lateral = reach.lateral(&cluster, &[a], 5, true);
    assert_eq!([b, c, d, h, e].map(|i| lateral.distance[i]), [1, 2, 3, 1, 2]);
    assert_eq!(
        lateral.path(d),
        vec![(a, b, lateral::HopKind::Policy), (b, c, lateral::HopKind::Policy), (c, d, lateral::HopKind::Policy)]
    );
    assert_eq!(lateral.path(e), vec![(a, h, lateral::HopKind::Policy), (h, e, lateral::HopKind::NodeLocal)]);
    // Pods only: b and h at 1; c and e at 2; d at 3 (cumulative).
    assert_eq!(lateral.radius(3, |i| i < reach.pod_count()), vec![2, 4, 5]);
    let without_node = reach.lateral(&cluster, &[a], 5, false);
    assert_eq!(without_node.distance[e], u32::MAX);
    let capped = reach.lateral(&cluster, &[a], 2, true);
    assert_eq!(capped.distance[d], u32::MAX);
}

#[test]
fn transpose_words_swaps_rows_and_bits() {
    const BITS: usize = usize::BITS as usize;
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut m = [0usize; BITS];
    for row in m.iter_mut() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        *row = state as usize;
    }
    let before = m;
    transpose_words(&mut m);
    for (r, row) in before.iter().enumerate() {
        for (b, column) in m.iter().enumerate() {
            assert_eq!(column >> r & 1, row >> b & 1, "row {r} bit {b}");
        }
    }
    transpose_words(&mut m);
    assert_eq!(m, before);
}
