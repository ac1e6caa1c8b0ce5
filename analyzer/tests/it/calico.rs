//! Calico NetworkPolicy, GlobalNetworkPolicy and Tier, hand-worked from Calico's reference pages
//! (https://docs.tigera.io/calico/latest/reference/resources/networkpolicy, …/globalnetworkpolicy,
//! …/tier, and the tiered-policy guide): each case a few policies and a table of verdicts.

use netreach::load::{load_str, Input};
use netreach::model::{CniProfile, EngineOptions, Protocol};
use netreach::Analysis;

/// The Cilium tests' namespaces and pods (shop/web, shop/api with ServiceAccount api-sa and a
/// named port http 8080, shop/db, ops/web, the hostNetwork ops/agent), and api-sa's labels.
fn cluster() -> String {
    let account = "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: api-sa, namespace: shop, labels: {role: backend}}\n---\n";
    format!("{}---\n{account}", crate::cilium::PODS)
}

fn analyze(policies: &str) -> Analysis {
    let loaded = load_str("case.yaml", &format!("{}{policies}", cluster())).unwrap_or_else(|e| panic!("{e}"));
    Analysis::new(loaded.cluster, &EngineOptions::default())
}

/// Asserts every (from, to, port, allowed) row; `port` is `N` (TCP) or `N/PROTO`; `from`/`to`
/// are pod ids, `ns/Kind/name` workloads (their first pod) or addresses. Reports every wrong row at once.
#[track_caller]
fn verdicts(analysis: &Analysis, rows: &[(&str, &str, &str, bool)]) {
    let endpoint = |id: &str| match (id.parse(), id.split('/').collect::<Vec<_>>().as_slice()) {
        (Ok(ip), _) => analysis.external_containing(ip).unwrap_or_else(|| panic!("no range holds {id}")),
        (Err(_), [ns, kind, name]) => {
            let pod = analysis.cluster.pods.iter().position(|p| {
                p.namespace == *ns && p.workload.as_ref().is_some_and(|w| w.kind == *kind && w.name == *name)
            });
            analysis
                .reach
                .index_of(netreach::model::Endpoint::Pod(pod.unwrap_or_else(|| panic!("no pod of {id}")) as u32))
        }
        (Err(_), _) => analysis.find(id).unwrap_or_else(|| panic!("no endpoint {id}")),
    };
    let wrong: Vec<String> = rows
        .iter()
        .filter(|(from, to, port, want)| {
            let (number, proto) = port.split_once('/').unwrap_or((port, "TCP"));
            let (s, d) = (analysis.reach.endpoint(endpoint(from)), analysis.reach.endpoint(endpoint(to)));
            let got = analysis.reach.allowed(s, d).contains(Protocol::parse(proto).unwrap(), number.parse().unwrap());
            got != *want
        })
        .map(|(from, to, port, want)| format!("{from} -> {to} {port}: expected allowed={want}"))
        .collect();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

fn tier(name: &str, spec: &str) -> String {
    format!("apiVersion: projectcalico.org/v3\nkind: Tier\nmetadata: {{name: {name}}}\nspec: {spec}\n---\n")
}

fn gnp(name: &str, spec: &str) -> String {
    format!(
        "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {{name: {name}}}\nspec:\n{spec}\n---\n"
    )
}

fn np(ns: &str, name: &str, spec: &str) -> String {
    format!("apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {{name: {name}, namespace: {ns}}}\nspec:\n{spec}\n---\n")
}

/// A Kubernetes NetworkPolicy letting shop/api reach shop/db.
const K8S_API_TO_DB: &str = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: api-to-db, namespace: shop}\nspec:\n  podSelector: {matchLabels: {app: db}}\n  ingress: [{from: [{podSelector: {matchLabels: {app: api}}}]}]\n---\n";

#[test]
fn the_calico_profile_applies_when_a_calico_object_is_present() {
    assert_eq!(analyze("").reach.profile(), CniProfile::Generic);
    let a = analyze(&tier("security", "{order: 100}"));
    assert_eq!(a.reach.profile(), CniProfile::Calico);
    // A tier without policies changes nothing: every endpoint falls to the allow-all profile.
    verdicts(&a, &[("shop/web", "shop/db", "5432", true), ("shop/db", "203.0.113.9", "443", true)]);
}

#[test]
fn a_tier_that_selects_the_endpoint_ends_in_deny_unless_a_rule_passes() {
    // "If the Tier applies to the endpoint, but takes no action on the packet the packet is dropped."
    let deny_web =
        "  tier: security\n  selector: app == 'db'\n  ingress: [{action: Deny, source: {selector: app == 'web'}}]";
    let a = analyze(&format!("{}{}{K8S_API_TO_DB}", tier("security", "{order: 100}"), gnp("security.db", deny_web)));
    verdicts(
        &a,
        &[
            ("shop/web", "shop/db", "5432", false),
            // Not decided in security: dropped at the end of the tier, whatever the default tier says.
            ("shop/api", "shop/db", "5432", false),
            // The policy has no egress: db's egress is not governed by the tier.
            ("shop/db", "shop/web", "80", true),
        ],
    );
    // With a trailing Pass, the default tier (the Kubernetes NetworkPolicy) decides.
    let pass = "  tier: security\n  selector: app == 'db'\n  ingress:\n  - {action: Deny, source: {selector: app == 'web'}}\n  - {action: Pass}";
    let a = analyze(&format!("{}{}{K8S_API_TO_DB}", tier("security", "{order: 100}"), gnp("security.db", pass)));
    verdicts(
        &a,
        &[
            ("shop/web", "shop/db", "5432", false),
            ("shop/api", "shop/db", "5432", true),
            // The Kubernetes NetworkPolicy isolates db in the default tier: ops/web is dropped there.
            ("ops/web", "shop/db", "5432", false),
        ],
    );
}

#[test]
fn a_tier_with_default_action_pass_hands_undecided_traffic_down() {
    let deny_web =
        "  tier: security\n  selector: app == 'db'\n  ingress: [{action: Deny, source: {selector: app == 'web'}}]";
    let a =
        analyze(&format!("{}{}", tier("security", "{order: 100, defaultAction: Pass}"), gnp("security.db", deny_web)));
    verdicts(
        &a,
        &[
            ("shop/web", "shop/db", "5432", false),
            // Passed, and no later tier selects db: the profile allows.
            ("shop/api", "shop/db", "5432", true),
            ("ops/web", "shop/db", "5432", false),
        ],
    );
}

#[test]
fn tiers_run_by_order_and_a_lower_order_wins() {
    // Two tiers disagree on web -> db; the lower order decides. Tiers without order come last.
    let allow =
        "  tier: first\n  selector: app == 'db'\n  ingress: [{action: Allow, source: {selector: app == 'web'}}]";
    let deny = "  tier: second\n  selector: app == 'db'\n  ingress: [{action: Deny, source: {selector: app == 'web'}}]";
    let policies = format!("{}{}", gnp("first.allow", allow), gnp("second.deny", deny));
    let a = analyze(&format!("{}{}{policies}", tier("first", "{order: 10}"), tier("second", "{order: 20}")));
    verdicts(&a, &[("shop/web", "shop/db", "1", true), ("shop/api", "shop/db", "1", false)]);
    let a = analyze(&format!("{}{}{policies}", tier("first", "{}"), tier("second", "{order: 20}")));
    verdicts(&a, &[("shop/web", "shop/db", "1", false)]);
}

#[test]
fn policies_in_a_tier_run_by_order_then_name_and_rules_in_order() {
    let deny = |order: &str| {
        format!("  order: {order}\n  selector: app == 'db'\n  ingress: [{{action: Deny, source: {{selector: app == 'web'}}}}]")
    };
    let allow_all = "  order: 20\n  selector: app == 'db'\n  ingress: [{action: Allow}]";
    let a = analyze(&format!("{}{}", gnp("b-deny", &deny("10")), gnp("a-allow", allow_all)));
    verdicts(&a, &[("shop/web", "shop/db", "1", false), ("shop/api", "shop/db", "1", true)]);
    // Same order: the name decides (a-allow before b-deny).
    let a = analyze(&format!("{}{}", gnp("b-deny", &deny("20")), gnp("a-allow", allow_all)));
    verdicts(&a, &[("shop/web", "shop/db", "1", true)]);
    // No order: after every ordered policy.
    let a = analyze(&format!(
        "{}{}",
        gnp("b-deny", &deny("20")),
        gnp("a-allow", "  selector: app == 'db'\n  ingress: [{action: Allow}]")
    ));
    verdicts(&a, &[("shop/web", "shop/db", "1", false), ("shop/api", "shop/db", "1", true)]);
    // Rules in order, Log goes on.
    let a = analyze(&gnp(
        "db",
        "  selector: app == 'db'\n  ingress:\n  - {action: Log}\n  - {action: Allow, source: {selector: app == 'api'}}\n  - {action: Deny}\n  - {action: Allow}",
    ));
    verdicts(&a, &[("shop/api", "shop/db", "1", true), ("shop/web", "shop/db", "1", false)]);
}

#[test]
fn kubernetes_network_policies_sit_in_the_default_tier_at_order_1000() {
    let deny_api = |order: u32| {
        format!("  order: {order}\n  selector: app == 'db'\n  ingress: [{{action: Deny, source: {{selector: app == 'api'}}}}]")
    };
    let a = analyze(&format!("{}{K8S_API_TO_DB}", gnp("deny-api", &deny_api(500))));
    verdicts(&a, &[("shop/api", "shop/db", "1", false)]);
    let a = analyze(&format!("{}{K8S_API_TO_DB}", gnp("deny-api", &deny_api(2000))));
    verdicts(&a, &[("shop/api", "shop/db", "1", true), ("shop/web", "shop/db", "1", false)]);
}

#[test]
fn rule_selectors_of_a_namespaced_policy_stay_in_its_namespace() {
    let rule = |source: &str| format!("  selector: app == 'db'\n  ingress: [{{action: Allow, source: {source}}}]");
    let a = analyze(&np("shop", "db", &rule("{selector: app == 'web'}")));
    verdicts(&a, &[("shop/web", "shop/db", "1", true), ("ops/web", "shop/db", "1", false)]);
    let a = analyze(&np("shop", "db", &rule("{selector: app == 'web', namespaceSelector: all()}")));
    verdicts(&a, &[("shop/web", "shop/db", "1", true), ("ops/web", "shop/db", "1", true)]);
    let a = analyze(&np("shop", "db", &rule("{namespaceSelector: team == 'ops'}")));
    verdicts(&a, &[("shop/web", "shop/db", "1", false), ("ops/web", "shop/db", "1", true)]);
    let a = analyze(&np("shop", "db", &rule("{namespaceSelector: projectcalico.org/name starts with 'op'}")));
    verdicts(&a, &[("ops/web", "shop/db", "1", true), ("shop/api", "shop/db", "1", false)]);
    // A GlobalNetworkPolicy's rule selectors span every namespace.
    let a = analyze(&gnp("db", &rule("{selector: app == 'web'}")));
    verdicts(
        &a,
        &[("shop/web", "shop/db", "1", true), ("ops/web", "shop/db", "1", true), ("shop/api", "shop/db", "1", false)],
    );
    // notSelector alone in a namespaced policy: pods of its namespace that do not match
    // (libcalico-go scopes the rule to the namespace); addresses outside match nothing.
    let a = analyze(&np("shop", "db", &rule("{notSelector: app == 'web'}")));
    verdicts(
        &a,
        &[
            ("shop/api", "shop/db", "1", true),
            ("shop/web", "shop/db", "1", false),
            ("ops/web", "shop/db", "1", false),
            ("203.0.113.9", "shop/db", "1", false),
        ],
    );
    // In a global policy it excludes matching pods of any namespace and keeps the world.
    let a = analyze(&gnp("db", &rule("{notSelector: app == 'web'}")));
    verdicts(&a, &[("ops/web", "shop/db", "1", false), ("203.0.113.9", "shop/db", "1", true)]);
    // Derived labels: projectcalico.org/namespace on every pod.
    let a = analyze(&gnp("db", &rule("{selector: \"projectcalico.org/namespace == 'ops' && has(env)\"}")));
    verdicts(&a, &[("ops/web", "shop/db", "1", true), ("shop/web", "shop/db", "1", false)]);
}

#[test]
fn service_accounts_by_name_and_by_label() {
    let rule = |source: &str| format!("  selector: app == 'db'\n  ingress: [{{action: Allow, source: {source}}}]");
    for source in ["{serviceAccounts: {names: [api-sa]}}", "{serviceAccounts: {selector: role == 'backend'}}"] {
        let a = analyze(&np("shop", "db", &rule(source)));
        verdicts(&a, &[("shop/api", "shop/db", "1", true), ("shop/web", "shop/db", "1", false)]);
    }
    let a = analyze(&np("shop", "db", &rule("{selector: \"projectcalico.org/serviceaccount == 'default'\"}")));
    verdicts(&a, &[("shop/web", "shop/db", "1", true), ("shop/api", "shop/db", "1", false)]);
    // serviceAccountSelector narrows the policy's own endpoints.
    let a = analyze(&gnp("sa", "  serviceAccountSelector: role == 'backend'\n  ingress: [{action: Deny}]"));
    verdicts(&a, &[("shop/web", "shop/api", "1", false), ("shop/api", "shop/web", "1", true)]);
}

#[test]
fn nets_match_pods_and_the_world_by_address() {
    let egress = |to: &str| {
        format!("  selector: app == 'web'\n  types: [Egress]\n  egress: [{{action: Allow, destination: {to}}}]")
    };
    let a = analyze(&np("shop", "web-out", &egress("{nets: [8.8.8.0/24, 10.0.0.3]}")));
    verdicts(
        &a,
        &[
            ("shop/web", "8.8.8.8", "53/UDP", true),
            ("shop/web", "1.1.1.1", "443", false),
            // A bare address is a /32, and Calico matches pods by address.
            ("shop/web", "shop/db", "5432", true),
            ("shop/web", "shop/api", "8080", false),
            ("ops/web", "1.1.1.1", "443", true),
        ],
    );
    let a = analyze(&np("shop", "web-out", &egress("{notNets: [10.0.0.0/8]}")));
    verdicts(&a, &[("shop/web", "1.1.1.1", "443", true), ("shop/web", "shop/db", "1", false)]);
}

#[test]
fn ports_ranges_named_ports_and_protocols() {
    let ingress = |rule: &str| format!("  selector: app == 'api'\n  ingress: [{rule}]");
    let a = analyze(&gnp(
        "api",
        &ingress("{action: Allow, protocol: TCP, destination: {ports: ['8000:8100'], notPorts: [8080]}}"),
    ));
    verdicts(
        &a,
        &[
            ("shop/web", "shop/api", "8081", true),
            ("shop/web", "shop/api", "8080", false),
            ("shop/web", "shop/api", "9000", false),
            ("shop/web", "shop/api", "8081/UDP", false),
        ],
    );
    let a = analyze(&gnp("api", &ingress("{action: Allow, protocol: TCP, destination: {ports: [http]}}")));
    verdicts(&a, &[("shop/web", "shop/api", "8080", true), ("shop/web", "shop/api", "8081", false)]);
    let a = analyze(&gnp("api", &ingress("{action: Allow, protocol: 17, destination: {ports: [53]}}")));
    verdicts(&a, &[("shop/web", "shop/api", "53/UDP", true), ("shop/web", "shop/api", "53", false)]);
    let a = analyze(&gnp("api", &ingress("{action: Allow, notProtocol: TCP}")));
    verdicts(
        &a,
        &[
            ("shop/web", "shop/api", "53/UDP", true),
            ("shop/web", "shop/api", "53/SCTP", true),
            ("shop/web", "shop/api", "53", false),
        ],
    );
    // An ICMP rule matches no TCP, UDP or SCTP connection.
    let a = analyze(&gnp("api", &ingress("{action: Allow, protocol: ICMP}")));
    verdicts(&a, &[("shop/web", "shop/api", "53/UDP", false)]);
}

#[test]
fn types_default_from_the_rules_present() {
    // Egress rules only: the policy applies to egress only; ingress to web stays open.
    let a = analyze(&gnp("web", "  selector: app == 'web'\n  egress: [{action: Deny}]"));
    verdicts(&a, &[("shop/web", "shop/db", "1", false), ("shop/db", "shop/web", "1", true)]);
    // No rules at all: Ingress.
    let a = analyze(&gnp("web", "  selector: app == 'web'"));
    verdicts(&a, &[("shop/db", "shop/web", "1", false), ("shop/web", "shop/db", "1", true)]);
    // Explicit types with no rules in a direction: isolated there.
    let a = analyze(&gnp("web", "  selector: app == 'web'\n  types: [Egress]"));
    verdicts(&a, &[("shop/web", "shop/db", "1", false), ("shop/db", "shop/web", "1", true)]);
}

#[test]
fn host_network_pods_are_never_selected() {
    let a = analyze(&gnp("all", "  selector: all()\n  ingress: [{action: Deny}]"));
    verdicts(&a, &[("shop/web", "ops/agent", "10250", true), ("shop/web", "shop/db", "1", false)]);
}

#[test]
fn admin_network_policies_run_in_the_kube_admin_tier() {
    let anp = "apiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\nmetadata: {name: pass-db}\nspec:\n  priority: 10\n  subject: {pods: {namespaceSelector: {}, podSelector: {matchLabels: {app: db}}}}\n  ingress: [{name: no-ops, action: Deny, from: [{pods: {namespaceSelector: {matchLabels: {team: ops}}, podSelector: {}}}]}]\n---\n";
    // A Calico tier at order 50 runs before kube-admin (1000): its allow wins.
    let early = "  tier: early\n  selector: app == 'db'\n  ingress: [{action: Allow, source: {selector: app == 'web'}}, {action: Pass}]";
    let a = analyze(&format!("{anp}{}{}", tier("early", "{order: 50}"), gnp("early.db", early)));
    verdicts(&a, &[("ops/web", "shop/db", "1", true), ("shop/api", "shop/db", "1", true)]);
    let a = analyze(&format!("{anp}{}{}", tier("early", "{order: 5000}"), gnp("early.db", early)));
    verdicts(&a, &[("ops/web", "shop/db", "1", false), ("shop/web", "shop/db", "1", true)]);
}

#[test]
fn staged_policies_are_not_enforced_and_host_features_are_named() {
    let staged = "apiVersion: projectcalico.org/v3\nkind: StagedGlobalNetworkPolicy\nmetadata: {name: deny}\nspec:\n  selector: all()\n  ingress: [{action: Deny}]\n---\n";
    let loaded = load_str("case.yaml", &format!("{}{staged}", cluster())).unwrap();
    assert!(loaded
        .report
        .warnings
        .iter()
        .any(|w| w.contains("StagedGlobalNetworkPolicy deny") && w.contains("not enforced")));
    let a = Analysis::new(loaded.cluster, &EngineOptions::default());
    verdicts(&a, &[("shop/web", "shop/db", "1", true)]);
    let pre_dnat =
        gnp("pre", "  selector: all()\n  preDNAT: true\n  applyOnForward: true\n  ingress: [{action: Deny}]");
    let loaded = load_str("case.yaml", &format!("{}{pre_dnat}", cluster())).unwrap();
    assert!(loaded.report.warnings.iter().any(|w| w.contains("spec.preDNAT") && w.contains("host endpoints")));
    let icmp = gnp("icmp", "  selector: all()\n  ingress: [{action: Allow, protocol: ICMP, icmp: {type: 8}}, {action: Allow, protocol: TCP, http: {methods: [GET]}}]");
    let loaded = load_str("case.yaml", &format!("{}{icmp}", cluster())).unwrap();
    let warnings = loaded.report.warnings.join("\n");
    assert!(warnings.contains("ingress[0].icmp") && warnings.contains("ingress[1].http"), "{warnings}");
    assert!(warnings.contains("ingress[0].protocol: only TCP, UDP and SCTP"), "{warnings}");
    let other = gnp(
        "other",
        "  selector: all()\n  ingress: [{action: Deny, ipVersion: 4, notICMP: {type: 0}, source: {services: {name: s}}}, {action: Allow, protocol: UDP, source: {ports: [53]}}]",
    );
    let loaded = load_str("case.yaml", &format!("{}{other}", cluster())).unwrap();
    let warnings = loaded.report.warnings.join("\n");
    for field in ["ingress[0].ipVersion", "ingress[0].notICMP", "ingress[0].source.services", "ingress[1].source.ports"]
    {
        assert!(warnings.contains(field), "{field} not named in:\n{warnings}");
    }
}

#[test]
fn bad_selectors_and_fields_are_errors_naming_the_field_and_column() {
    let err =
        |policy: &str| load_str("case.yaml", &format!("{}{policy}", cluster())).err().expect("an error").to_string();
    let e = err(&gnp("bad", "  selector: app == web"));
    assert!(e.contains("GlobalNetworkPolicy bad") && e.contains("spec.selector") && e.contains("column 8"), "{e}");
    let e = err(&np("shop", "bad", "  ingress: [{action: Allow, source: {selector: \"has(app\"}}]"));
    assert!(
        e.contains("NetworkPolicy.projectcalico.org shop/bad")
            && e.contains("spec.ingress[0].source.selector")
            && e.contains("column 8"),
        "{e}"
    );
    let e = err(&gnp("bad", "  ingress: [{action: Accept}]"));
    assert!(e.contains("spec.ingress[0].action"), "{e}");
    let e = err(&gnp("bad", "  ingress: [{action: Allow, destination: {ports: [80]}}]"));
    assert!(e.contains("spec.ingress[0].protocol"), "{e}");
    let e = err(&gnp("bad", "  ingress: [{action: Allow, protocol: TCP, destination: {ports: ['90:80']}}]"));
    assert!(e.contains("spec.ingress[0].destination.ports[0]"), "{e}");
    let e = err(&gnp("bad", "  ingress: [{action: Allow, sourc: {}}]"));
    assert!(e.contains("sourc"), "{e}");
    let e = err(&tier("t", "{defaultAction: Drop}"));
    assert!(e.contains("spec.defaultAction"), "{e}");
}

#[test]
fn calico_and_kubernetes_network_policies_of_one_name_are_two_objects() {
    let calico = np(
        "shop",
        "api-to-db",
        "  selector: app == 'db'\n  order: 1\n  ingress: [{action: Deny, source: {selector: app == 'api'}}]",
    );
    let loaded = load_str("case.yaml", &format!("{}{K8S_API_TO_DB}{calico}", cluster())).unwrap();
    assert!(loaded.report.warnings.iter().all(|w| !w.contains("defined twice")), "{:?}", loaded.report.warnings);
    assert_eq!((loaded.cluster.policies.len(), loaded.cluster.calico.policies.len()), (1, 1));
}

#[test]
fn explanations_walk_the_tiers() {
    let pass = "  tier: security\n  selector: app == 'db'\n  ingress:\n  - {action: Deny, source: {selector: app == 'web'}}\n  - {action: Pass}";
    let a = analyze(&format!("{}{}{K8S_API_TO_DB}", tier("security", "{order: 100}"), gnp("security.db", pass)));
    let (api, db) = (a.reach.endpoint(a.find("shop/api").unwrap()), a.reach.endpoint(a.find("shop/db").unwrap()));
    let why = a.reach.explain(api, db, Protocol::Tcp, 5432);
    assert!(why.allowed());
    let trace = why.ingress.calico.expect("a Calico trace");
    let tiers: Vec<&str> = trace.steps.iter().map(|s| s.tier.as_str()).collect();
    assert_eq!(tiers, ["security", "default"]);
    use netreach::model::calico::tiers::TraceOutcome;
    assert!(matches!(
        trace.steps[0].outcome,
        TraceOutcome::Rule { rule: 1, action: netreach::model::calico::CalicoAction::Pass, .. }
    ));
    assert_eq!(trace.steps[1].outcome, TraceOutcome::NetworkPolicy);
    let web = a.reach.endpoint(a.find("shop/web").unwrap());
    let why = a.reach.explain(web, db, Protocol::Tcp, 5432);
    assert!(!why.allowed());
    // The hostNetwork agent is no `app == 'web'` pod: passed by security, dropped at the end of default.
    let agent = a.reach.endpoint(a.find("ops/agent").unwrap());
    let trace = a.reach.explain(agent, db, Protocol::Tcp, 5432).ingress.calico.unwrap();
    assert_eq!(trace.steps.last().unwrap().outcome, TraceOutcome::EndOfTier { pass: false });
}

#[test]
fn the_tigera_tutorial_answers_as_it_says() {
    // ../shared/realworld/tigera-stars-yaobank (the applications) plus the module's tiers and
    // policies (fixtures/calico/tigera-tutorial, written down from the same README).
    let realworld =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/realworld/tigera-stars-yaobank");
    if !realworld.is_dir() {
        eprintln!("calico: tutorial SKIPPED: {} not found", realworld.display());
        return;
    }
    let policies = crate::support::fixtures().join("calico/tigera-tutorial");
    let loaded = netreach::load::load(&[netreach::load::Input::Path(realworld), netreach::load::Input::Path(policies)])
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(loaded.report.warnings.iter().any(|w| w.contains("default.default-deny") && w.contains("not enforced")));
    let a = Analysis::new(loaded.cluster, &EngineOptions::default());
    assert_eq!(a.reach.profile(), CniProfile::Calico);
    verdicts(
        &a,
        &[
            // "make sure there is no denied traffic for the Star application": the probes of
            // management-ui, client, frontend and backend, as the app tier allows them (the
            // security tier passes traffic among the tenant-1 namespaces).
            ("management-ui/Deployment/management-ui", "client/Deployment/client", "9000", true),
            ("management-ui/Deployment/management-ui", "stars/Deployment/backend", "6379", true),
            ("management-ui/Deployment/management-ui", "stars/Deployment/frontend", "80", true),
            ("client/Deployment/client", "stars/Deployment/backend", "6379", true),
            ("client/Deployment/client", "stars/Deployment/frontend", "80", true),
            ("stars/Deployment/frontend", "stars/Deployment/backend", "6379", true),
            ("stars/Deployment/backend", "client/Deployment/client", "9000", true),
            // A port the app policies do not allow: app-default-pass (selector all()) passes it on
            // both sides, and the default tier's default-deny is only staged: the profile allows.
            ("client/Deployment/client", "stars/Deployment/frontend", "81", true),
            // Tenant-1 isolation (security.tenant-1-restrict, the catch-all rules turned to Deny):
            // yaobank cannot reach the stars namespaces, and stars reaches nothing outside them.
            ("yaobank/Deployment/customer", "stars/Deployment/frontend", "80", false),
            ("stars/Deployment/frontend", "yaobank/Deployment/customer", "80", false),
            ("stars/Deployment/backend", "203.0.113.7", "443", false),
            // app.yaobank: everything inside the yaobank namespace.
            ("yaobank/Deployment/customer", "yaobank/Deployment/summary", "80", true),
            ("yaobank/Deployment/summary", "yaobank/Deployment/database", "2379", true),
            // Out of the namespace: app.yaobank does not allow it and app-default-pass passes it;
            // the default tier's default-deny is only staged, so the profile allows it.
            ("yaobank/Deployment/customer", "203.0.113.7", "443", true),
        ],
    );
}

#[test]
fn rule_selectors_match_network_sets_by_label_and_bring_their_nets() {
    // https://docs.tigera.io/calico/latest/reference/resources/networkset: a NetworkSet serves its
    // namespace's policies; …/globalnetworkset: a GlobalNetworkSet serves global policies and
    // rules whose namespaceSelector includes global().
    let sets = "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkSet\nmetadata: {name: partners, labels: {role: partner}}\nspec: {nets: [203.0.113.0/24]}\n---\n\
apiVersion: projectcalico.org/v3\nkind: NetworkSet\nmetadata: {name: office, namespace: shop, labels: {role: office}}\nspec: {nets: [198.51.100.0/28, 10.0.1.1]}\n---\n\
apiVersion: crd.projectcalico.org/v1\nkind: NetworkSet\nmetadata: {name: office, namespace: ops, labels: {role: office}}\nspec: {nets: [192.0.2.0/24]}\n---\n";
    let db = np(
        "shop",
        "db-in",
        "  selector: app == 'db'\n  ingress: [{action: Allow, source: {selector: role == 'office'}}]",
    );
    let api_out = gnp(
        "api-out",
        "  selector: app == 'api'\n  egress: [{action: Allow, destination: {selector: role == 'partner'}}]",
    );
    let api_in = np(
        "shop",
        "api-in",
        "  selector: app == 'api'\n  ingress: [{action: Allow, source: {namespaceSelector: global(), selector: role == 'partner'}}]",
    );
    let a = analyze(&format!("{sets}{db}{api_out}{api_in}"));
    verdicts(
        &a,
        &[
            ("198.51.100.5", "shop/db", "5432", true),
            // 10.0.1.1 is in shop's network set: the ops/web pod matches by its address.
            ("ops/web", "shop/db", "5432", true),
            ("198.51.100.20", "shop/db", "5432", false),
            // ops's network set and the global one are not seen by a shop policy without global().
            ("192.0.2.7", "shop/db", "5432", false),
            ("203.0.113.9", "shop/db", "5432", false),
            ("shop/web", "shop/db", "5432", false),
            // A global policy sees the GlobalNetworkSet by its labels.
            ("shop/api", "203.0.113.9", "443", true),
            ("shop/api", "198.51.100.5", "443", false),
            ("shop/api", "192.0.2.7", "443", false),
            // namespaceSelector: global() brings GlobalNetworkSets into a namespaced policy.
            ("203.0.113.9", "shop/api", "8080", true),
            ("198.51.100.5", "shop/api", "8080", false),
        ],
    );
}

#[test]
fn host_endpoints_are_named_as_not_evaluated() {
    let hep = "apiVersion: projectcalico.org/v3\nkind: HostEndpoint\nmetadata: {name: n1-eth0, labels: {role: node}}\nspec: {node: n1, interfaceName: eth0}\n---\n";
    let loaded = load_str("case.yaml", &format!("{}{hep}", cluster())).unwrap_or_else(|e| panic!("{e}"));
    // A kind not evaluated is said among the unevaluated kinds (kinds.rs), not as a loader warning.
    let said = [loaded.report.warnings.join("\n"), loaded.report.unevaluated.join("\n")].join("\n");
    assert!(said.contains("HostEndpoint") && said.contains("host interfaces"), "{said}");
}

/// (id, field) of every Calico finding (NR2xx) the audit reports.
fn calico_findings(policies: &str) -> Vec<(String, String)> {
    let report = netreach::audit::audit(&analyze(policies));
    report
        .findings
        .iter()
        .filter(|f| f.id.starts_with("NR2"))
        .map(|f| {
            let o = &f.objects[0];
            (
                f.id.to_string(),
                format!("{}/{}{}", o.kind, o.name, o.field.as_deref().map(|x| format!(" {x}")).unwrap_or_default()),
            )
        })
        .collect()
}

#[test]
fn audit_names_shadowed_rules_passes_to_the_profile_and_log_only_policies() {
    // Hand-worked: in tier security (order 100), catch-all denies ingress to every pod at order 1,
    // so the later policy's rule and the catch-all's own later rule never decide (NR201); its
    // egress Pass is followed by no tier with egress policies, so the profile allows (NR202);
    // the audit policy only logs (NR203).
    let catch_all = "  tier: security\n  order: 1\n  selector: all()\n  types: [Ingress, Egress]\n  ingress: [{action: Deny}, {action: Allow, source: {selector: app == 'web'}}]\n  egress: [{action: Pass}]";
    let later = "  tier: security\n  order: 2\n  selector: app == 'db'\n  ingress: [{action: Allow, protocol: TCP}]";
    let log = "  tier: security\n  order: 3\n  selector: app == 'api'\n  ingress: [{action: Log}]";
    let found = calico_findings(&format!(
        "{}{}{}{}",
        tier("security", "{order: 100}"),
        gnp("security.catch-all", catch_all),
        gnp("security.later", later),
        gnp("security.audit", log)
    ));
    let want = |id: &str, object: &str| (id.to_string(), object.to_string());
    let mut expected = vec![
        want("NR201", "GlobalNetworkPolicy/security.catch-all spec.ingress[1]"),
        want("NR201", "GlobalNetworkPolicy/security.later spec.ingress[0]"),
        want("NR201", "GlobalNetworkPolicy/security.audit spec.ingress[0]"),
        want("NR202", "GlobalNetworkPolicy/security.catch-all spec.egress[0]"),
        want("NR203", "GlobalNetworkPolicy/security.audit"),
    ];
    let mut got = found.clone();
    got.sort();
    expected.sort();
    assert_eq!(got, expected);
    // A Kubernetes NetworkPolicy with egress in the default tier receives the Pass: no NR202.
    let egress_np = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: out, namespace: shop}\nspec: {podSelector: {}, policyTypes: [Egress]}\n---\n";
    let found = calico_findings(&format!(
        "{}{}{egress_np}",
        tier("security", "{order: 100}"),
        gnp("security.catch-all", catch_all)
    ));
    assert!(!found.iter().any(|(id, _)| id == "NR202"), "{found:?}");
    // A namespaced catch-all shadows later policies of its namespace only.
    let ns_catch_all = np("shop", "stop", "  order: 1\n  selector: all()\n  ingress: [{action: Deny}]");
    let other_ns = np("ops", "open", "  order: 2\n  selector: all()\n  ingress: [{action: Allow}]");
    let found = calico_findings(&format!("{ns_catch_all}{other_ns}"));
    assert!(found.is_empty(), "{found:?}");
}

/// The bank cluster (fixtures/calico/bank/cluster.yaml) with a folder of fixtures/calico.
fn bank_with(folder: &str) -> Analysis {
    let dir = crate::support::fixtures().join("calico");
    let inputs = [Input::Path(dir.join("bank/cluster.yaml")), Input::Path(dir.join(folder))];
    let loaded = netreach::load::load(&inputs).unwrap_or_else(|e| panic!("{folder}: {e}"));
    assert!(loaded.report.warnings.is_empty(), "{folder}: {:?}", loaded.report.warnings);
    Analysis::new(loaded.cluster, &EngineOptions::default())
}

/// NR204 findings as (namespace, the message up to " traffic of", objects), sorted.
fn end_of_tier_drops(analysis: &Analysis) -> Vec<(String, String, String)> {
    let report = netreach::audit::audit(analysis);
    let mut found: Vec<(String, String, String)> = report
        .findings
        .iter()
        .filter(|f| f.id == "NR204")
        .map(|f| {
            let head = f.message.split(" traffic of ").next().unwrap_or_default().to_string();
            let objects: Vec<String> = f.objects.iter().map(ToString::to_string).collect();
            (f.namespace.clone().unwrap_or_default(), head, objects.join(", "))
        })
        .collect();
    found.sort();
    found
}

#[test]
fn audit_names_tiers_whose_end_of_tier_drop_isolates_pods_nobody_meant_to() {
    // fixtures/calico/end-of-tier-drops, hand-worked in its comments: security's metadata block
    // has no Pass, and bank/db-guard only denies web.
    let a = bank_with("end-of-tier-drops");
    verdicts(
        &a,
        &[
            ("bank/web", "ops/monitor", "9100", false),
            ("ops/monitor", "8.8.8.8", "443", false),
            ("bank/teller", "bank/db", "5432", false),
            ("ops/monitor", "bank/db", "9100", false),
        ],
    );
    let row = |ns: &str, head: &str, objects: &str| (ns.to_string(), head.to_string(), objects.to_string());
    assert_eq!(
        end_of_tier_drops(&a),
        vec![
            row(
                "bank",
                "the end-of-tier drop of tier default decides the ingress",
                "NetworkPolicy.projectcalico.org bank/db-guard, Pod bank/db"
            ),
            row(
                "bank",
                "the end-of-tier drop of tier security decides the egress",
                "GlobalNetworkPolicy security.no-metadata, Pod bank/db, Pod bank/teller, Pod bank/web"
            ),
            row(
                "ops",
                "the end-of-tier drop of tier security decides the egress",
                "GlobalNetworkPolicy security.no-metadata, Pod ops/monitor"
            ),
        ]
    );
    let finding = netreach::audit::audit(&a).findings.into_iter().find(|f| f.id == "NR204").unwrap();
    assert!(finding.message.contains("denies what Calico's profile would allow"), "{}", finding.message);
    assert!(finding.fix.contains("defaultAction: Pass") && finding.fix.contains("action: Pass"), "{}", finding.fix);

    // fixtures/calico/end-of-tier-passes: a trailing Pass rule, a tier with defaultAction Pass,
    // a rule-less Calico default deny and a Kubernetes default deny: all meant, none reported.
    let a = bank_with("end-of-tier-passes");
    verdicts(
        &a,
        &[
            ("bank/web", "8.8.8.8", "443", true),
            ("bank/web", "169.254.169.254", "80", false),
            ("bank/web", "8.8.8.8", "23", false),
            ("bank/teller", "bank/db", "5432", true),
            ("bank/web", "bank/db", "5432", false),
            ("bank/teller", "ops/monitor", "9100", false),
            ("ops/monitor", "bank/web", "8080", false),
        ],
    );
    assert_eq!(end_of_tier_drops(&a), vec![]);
}

#[test]
fn an_end_of_tier_drop_is_not_reported_where_a_rule_or_a_later_tier_denies_anyway() {
    let db_deny_web =
        "  tier: security\n  selector: app == 'db'\n  ingress: [{action: Deny, source: {selector: app == 'web'}}]";
    let security = tier("security", "{order: 100}");
    // Reported: only the drop stands between db and the profile's allow.
    let found = end_of_tier_drops(&analyze(&format!("{security}{}", gnp("security.db", db_deny_web))));
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].1, "the end-of-tier drop of tier security decides the ingress");
    // A later tier denying all ingress: the drop changes nothing (and that tier's catch-all Deny
    // leaves nothing to its own drop).
    let platform = format!(
        "{}{}",
        tier("platform", "{order: 200}"),
        gnp("platform.closed", "  tier: platform\n  selector: all()\n  ingress: [{action: Deny}]")
    );
    let found = end_of_tier_drops(&analyze(&format!("{security}{}{platform}", gnp("security.db", db_deny_web))));
    assert_eq!(found, vec![]);
    // An explicit final Deny says the isolation is meant.
    let explicit = "  tier: security\n  selector: app == 'db'\n  ingress: [{action: Deny, source: {selector: app == 'web'}}, {action: Deny}]";
    assert_eq!(end_of_tier_drops(&analyze(&format!("{security}{}", gnp("security.db", explicit)))), vec![]);
    // An Allow whose selector matches no endpoint lets nothing through: reported.
    let dead_allow =
        "  tier: security\n  selector: app == 'db'\n  ingress: [{action: Allow, source: {selector: app == 'nobody'}}]";
    assert_eq!(end_of_tier_drops(&analyze(&format!("{security}{}", gnp("security.db", dead_allow)))).len(), 1);
    // A tier that passes some traffic on is not isolating: an allowlist ending in drop is not reported.
    let allowlist =
        "  tier: security\n  selector: app == 'db'\n  ingress: [{action: Pass, source: {selector: app == 'api'}}]";
    assert_eq!(end_of_tier_drops(&analyze(&format!("{security}{}", gnp("security.db", allowlist)))), vec![]);
}

/// `netreach diff calico/bank --apply STAGED… --level pod -o json`, parsed; asserts exit 0.
fn staged_diff(staged: &[&str]) -> serde_json::Value {
    let mut args = vec!["diff", "calico/bank", "--apply"];
    let paths: Vec<String> = staged.iter().map(|s| format!("calico/staged/{s}")).collect();
    args.extend(paths.iter().map(String::as_str));
    args.extend(["--level", "pod", "-o", "json"]);
    let out = crate::support::netreach(&args);
    assert_eq!(out.status.code(), Some(0), "{}", crate::support::stderr(&out));
    serde_json::from_str(&crate::support::stdout(&out)).unwrap()
}

/// (src, dst) of the diff's entries of one kind.
fn diff_pairs(doc: &serde_json::Value, kind: &str) -> Vec<(String, String)> {
    let entries = doc[kind].as_array().unwrap_or_else(|| panic!("no {kind} in {doc}"));
    entries.iter().map(|e| (e["src"].as_str().unwrap().into(), e["dst"].as_str().unwrap().into())).collect()
}

#[test]
fn diff_apply_reads_staged_policies_as_what_committing_them_enforces() {
    // stagedAction Set (the default): the NetworkPolicy web-guard is created and denies ops
    // before the Kubernetes NetworkPolicy web-in allows it.
    let doc = staged_diff(&["web-guard.yaml"]);
    assert_eq!(
        doc["applied"]["created"],
        serde_json::json!(["NetworkPolicy.projectcalico.org bank/web-guard (staged)"])
    );
    assert_eq!(diff_pairs(&doc, "removed"), vec![("ops/monitor".to_string(), "bank/web".to_string())]);
    assert_eq!(diff_pairs(&doc, "added"), vec![]);
    // stagedAction Delete of a GlobalNetworkPolicy: bank-egress goes, the profile allows bank's
    // egress, so every bank pod reaches the addresses outside 10.0.0.0/8 it could not before
    // (the diff names the range by the common parts of both sides' ranges).
    let doc = staged_diff(&["delete-bank-egress.yaml"]);
    assert_eq!(doc["applied"]["deleted"], serde_json::json!(["GlobalNetworkPolicy bank-egress (staged)"]));
    let outside = |pod: &str| (format!("bank/{pod}"), "external:0.0.0.0/0".to_string());
    assert_eq!(diff_pairs(&doc, "added"), vec![outside("db"), outside("teller"), outside("web")]);
    assert_eq!(diff_pairs(&doc, "removed"), vec![]);
    // A StagedKubernetesNetworkPolicy stages the networking.k8s.io NetworkPolicy of its name.
    let doc = staged_diff(&["delete-web-in.yaml"]);
    assert_eq!(doc["applied"]["deleted"], serde_json::json!(["NetworkPolicy bank/web-in (staged)"]));
    let added = diff_pairs(&doc, "added");
    assert!(added.contains(&("bank/teller".to_string(), "bank/web".to_string())), "{added:?}");
}

#[test]
fn staged_policies_that_calico_would_reject_are_errors_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "kind: StagedGlobalNetworkPolicy\nmetadata: {name: bank-egress}\nspec: {stagedAction: Delete, selector: all()}",
            "StagedGlobalNetworkPolicy bank-egress: field spec.selector: a staged Delete holds no spec",
        ),
        (
            "kind: StagedNetworkPolicy\nmetadata: {name: x, namespace: bank}\nspec: {stagedAction: Remove}",
            "StagedNetworkPolicy bank/x: field spec.stagedAction: \"Remove\": expected Set or Delete",
        ),
        (
            "kind: StagedNetworkPolicy\nmetadata: {name: nothing-here, namespace: bank}\nspec: {stagedAction: Delete}",
            "NetworkPolicy.projectcalico.org bank/nothing-here is not in the cluster",
        ),
        // Set: the staged spec is validated as the enforced policy's.
        (
            "kind: StagedNetworkPolicy\nmetadata: {name: x, namespace: bank}\nspec: {selector: app ==}",
            "NetworkPolicy.projectcalico.org bank/x: field spec.selector",
        ),
    ];
    for (i, (object, want)) in cases.iter().enumerate() {
        let path = dir.path().join(format!("staged-{i}.yaml"));
        std::fs::write(&path, format!("apiVersion: projectcalico.org/v3\n{object}\n")).unwrap();
        let out = crate::support::netreach(&["diff", "calico/bank", "--apply", path.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{object}");
        assert!(crate::support::stdout(&out).is_empty());
        let err = crate::support::stderr(&out);
        assert!(err.contains(want), "{object}: want {want:?} in:\n{err}");
    }
}

#[test]
fn a_tier_applied_only_by_log_only_policies_is_reported_once_as_log_only() {
    // Hand-worked: security.watch only logs, yet makes tier security apply to db's ingress, so
    // the tier's drop denies all of it: NR203 says so; NR204 would say the same of the same pods.
    let security = tier("security", "{order: 100}");
    let watch = gnp("security.watch", "  tier: security\n  selector: app == 'db'\n  ingress: [{action: Log}]");
    let found = calico_findings(&format!("{security}{watch}"));
    let ids: Vec<&str> = found.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids, vec!["NR203"], "{found:?}");
    // With a policy that only denies web, a rule decides some of db's traffic, so the drop of
    // the rest is NR204's to judge (as in the test above): both are reported.
    let web_in = gnp(
        "security.no-web",
        "  tier: security\n  selector: app == 'db'\n  ingress: [{action: Deny, source: {selector: app == 'web'}}]",
    );
    let found = calico_findings(&format!("{security}{watch}{web_in}"));
    let mut ids: Vec<&str> = found.iter().map(|(id, _)| id.as_str()).collect();
    ids.sort();
    assert_eq!(ids, vec!["NR203", "NR204"], "{found:?}");
}
