//! CiliumNetworkPolicy and CiliumClusterwideNetworkPolicy, hand-worked from Cilium's policy
//! language docs (https://docs.cilium.io/en/stable/security/policy/language/), each case a few
//! manifests and the verdicts the docs give.

use netreach::load::load_str;
use netreach::model::{AllowLocalhost, EngineOptions, Protocol};
use netreach::Analysis;

/// Two namespaces, labelled; pods with IPs so CIDR rules could match them (they must not).
/// The Calico tests use them too.
pub(crate) const PODS: &str = r#"
apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {team: shop}}
---
apiVersion: v1
kind: Namespace
metadata: {name: ops, labels: {team: ops}}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop, labels: {app: web, env: prod}}
spec: {containers: [{name: c, image: i}]}
status: {podIP: 10.0.0.1, podIPs: [{ip: 10.0.0.1}]}
---
apiVersion: v1
kind: Pod
metadata: {name: api, namespace: shop, labels: {app: api}}
spec:
  serviceAccountName: api-sa
  containers: [{name: c, image: i, ports: [{name: http, containerPort: 8080}]}]
status: {podIP: 10.0.0.2, podIPs: [{ip: 10.0.0.2}]}
---
apiVersion: v1
kind: Pod
metadata: {name: db, namespace: shop, labels: {app: db}}
spec: {containers: [{name: c, image: i}]}
status: {podIP: 10.0.0.3, podIPs: [{ip: 10.0.0.3}]}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: ops, labels: {app: web, env: dev}}
spec: {containers: [{name: c, image: i}]}
status: {podIP: 10.0.1.1, podIPs: [{ip: 10.0.1.1}]}
---
apiVersion: v1
kind: Pod
metadata: {name: agent, namespace: ops, labels: {app: agent}}
spec: {hostNetwork: true, nodeName: n1, containers: [{name: c, image: i}]}
status: {podIP: 192.168.0.10, podIPs: [{ip: 192.168.0.10}]}
"#;

struct Case(Analysis);

impl Case {
    fn new(policies: &str) -> Case {
        Case::of(&format!("{PODS}---\n{policies}"))
    }

    /// A case over these manifests only (no [`PODS`]).
    fn of(manifests: &str) -> Case {
        Case::with(manifests, EngineOptions::default())
    }

    fn with(manifests: &str, options: EngineOptions) -> Case {
        let loaded = load_str("case.yaml", manifests).unwrap_or_else(|e| panic!("{e}"));
        Case(Analysis::new(loaded.cluster, &options))
    }

    fn allowed(&self, from: &str, to: &str, port: &str) -> bool {
        let endpoint = |id: &str| match id.parse() {
            Ok(ip) => self.0.external_containing(ip).unwrap_or_else(|| panic!("no range holds {id}")),
            Err(_) => self.0.find(id).unwrap_or_else(|| panic!("no endpoint {id}")),
        };
        let (number, proto) = port.split_once('/').unwrap_or((port, "TCP"));
        let (s, d) = (self.0.reach.endpoint(endpoint(from)), self.0.reach.endpoint(endpoint(to)));
        self.0.reach.allowed(s, d).contains(Protocol::parse(proto).unwrap(), number.parse().unwrap())
    }

    #[track_caller]
    fn yes(&self, from: &str, to: &str, port: &str) {
        assert!(self.allowed(from, to, port), "expected {from} -> {to} {port} allowed");
    }

    #[track_caller]
    fn no(&self, from: &str, to: &str, port: &str) {
        assert!(!self.allowed(from, to, port), "expected {from} -> {to} {port} denied");
    }
}

fn cnp(ns: &str, name: &str, spec: &str) -> String {
    format!("apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {{name: {name}, namespace: {ns}}}\nspec:\n{spec}\n---\n")
}

fn ccnp(name: &str, spec: &str) -> String {
    format!("apiVersion: cilium.io/v2\nkind: CiliumClusterwideNetworkPolicy\nmetadata: {{name: {name}}}\nspec:\n{spec}\n---\n")
}

#[test]
fn from_endpoints_of_a_cnp_stay_in_its_namespace_and_a_ccnp_spans_all() {
    // "An empty Endpoint Selector will select all egress endpoints ... based on the
    // CiliumNetworkPolicy namespace" (Layer 3 examples, "Egress Allow All Endpoints").
    let c = Case::new(&cnp(
        "shop",
        "db-in",
        "  endpointSelector: {matchLabels: {app: db}}\n  ingress: [{fromEndpoints: [{matchLabels: {app: web}}]}]",
    ));
    c.yes("shop/web", "shop/db", "5432");
    c.no("ops/web", "shop/db", "5432");
    c.no("shop/api", "shop/db", "5432");
    // Naming the namespace label reaches across.
    let c = Case::new(&cnp(
        "shop",
        "db-in",
        "  endpointSelector: {matchLabels: {app: db}}\n  ingress: [{fromEndpoints: [{matchLabels: {app: web, k8s:io.kubernetes.pod.namespace: ops}}]}]",
    ));
    c.yes("ops/web", "shop/db", "5432");
    c.no("shop/web", "shop/db", "5432");
    // A clusterwide policy: every namespace, on the subject side too.
    let c = Case::new(&ccnp(
        "web-in",
        "  endpointSelector: {matchLabels: {app: db}}\n  ingress: [{fromEndpoints: [{matchLabels: {app: web}}]}]",
    ));
    c.yes("ops/web", "shop/db", "5432");
    c.yes("shop/web", "shop/db", "5432");
    c.no("shop/api", "shop/db", "5432");
}

#[test]
fn an_empty_rule_isolates_and_allows_nothing_an_empty_list_does_nothing() {
    // "Ingress/Egress Default Deny": `ingress: [{}]` puts the endpoint in default deny.
    let c = Case::new(&cnp("shop", "deny", "  endpointSelector: {matchLabels: {app: db}}\n  ingress: [{}]"));
    c.no("shop/web", "shop/db", "80");
    c.yes("shop/db", "shop/web", "80");
    // `ingress: []`: "If omitted or empty, this rule does not apply at ingress."
    let c = Case::new(&cnp("shop", "noop", "  endpointSelector: {matchLabels: {app: db}}\n  ingress: []"));
    c.yes("shop/web", "shop/db", "80");
    // enableDefaultDeny: false keeps the endpoint open; its allow adds nothing.
    let c = Case::new(&cnp(
        "shop",
        "open",
        "  endpointSelector: {matchLabels: {app: db}}\n  enableDefaultDeny: {ingress: false}\n  ingress: [{fromEndpoints: [{matchLabels: {app: web}}]}]",
    ));
    c.yes("shop/api", "shop/db", "80");
    // enableDefaultDeny: true with no rule: default deny and nothing allowed.
    let c = Case::new(&cnp(
        "shop",
        "closed",
        "  endpointSelector: {matchLabels: {app: db}}\n  enableDefaultDeny: {egress: true}",
    ));
    c.no("shop/db", "shop/web", "80");
    c.yes("shop/web", "shop/db", "80");
}

#[test]
fn ports_any_ranges_and_named_ports() {
    let c = Case::new(&cnp(
        "shop",
        "api-in",
        "  endpointSelector: {matchLabels: {app: api}}\n  ingress:\n  - toPorts: [{ports: [{port: \"53\"}, {port: \"9000\", endPort: 9010, protocol: TCP}, {port: http, protocol: TCP}]}]",
    ));
    // No L3 field: every peer, the world included. protocol omitted = ANY.
    c.yes("shop/web", "shop/api", "53/UDP");
    c.yes("shop/web", "shop/api", "53/SCTP");
    c.yes("203.0.113.9", "shop/api", "53/TCP");
    c.yes("shop/web", "shop/api", "9005");
    c.no("shop/web", "shop/api", "9011");
    c.yes("shop/web", "shop/api", "8080");
    c.no("shop/web", "shop/api", "8081");
}

#[test]
fn deny_beats_every_allow_of_every_layer() {
    // Deny policies: "Deny policies take precedence over allow policies, regardless of whether
    // they are a Cilium Network Policy, a Clusterwide Cilium Network Policy or even a Kubernetes
    // Network Policy."
    let np = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: all, namespace: shop}\nspec:\n  podSelector: {}\n  ingress: [{}]\n---\n";
    let c = Case::new(&format!(
        "{np}{}",
        ccnp(
            "no-web-80",
            "  endpointSelector: {matchLabels: {app: db}}\n  ingressDeny: [{fromEndpoints: [{matchLabels: {app: web}}], toPorts: [{ports: [{port: \"80\", protocol: TCP}]}]}]"
        )
    ));
    c.no("shop/web", "shop/db", "80");
    c.no("ops/web", "shop/db", "80");
    c.yes("shop/web", "shop/db", "81");
    c.yes("shop/api", "shop/db", "80");
    // A deny section alone puts the endpoint in default deny at ingress: nothing else is allowed,
    // except what the NetworkPolicy allows.
    let c = Case::new(&cnp("ops", "deny-only", "  endpointSelector: {}\n  egressDeny: [{toEntities: [world]}]"));
    c.no("ops/web", "203.0.113.9", "443");
    c.no("ops/web", "shop/web", "443");
}

#[test]
fn cidr_rules_and_the_world_never_match_in_cluster_endpoints() {
    let c = Case::new(&cnp(
        "shop",
        "egress",
        "  endpointSelector: {matchLabels: {app: web}}\n  egress:\n  - toCIDRSet: [{cidr: 10.0.0.0/8, except: [10.9.0.0/16]}]",
    ));
    c.yes("shop/web", "10.1.2.3", "443");
    c.no("shop/web", "10.9.0.1", "443");
    // shop/db has 10.0.0.3, inside the CIDR: Cilium's CIDR rules do not select pods.
    c.no("shop/web", "shop/db", "443");
    c.no("shop/web", "203.0.113.9", "443");
    let c = Case::new(&cnp(
        "shop",
        "world",
        "  endpointSelector: {matchLabels: {app: web}}\n  egress: [{toEntities: [world]}]",
    ));
    c.yes("shop/web", "203.0.113.9", "443");
    c.no("shop/web", "shop/db", "443");
    // The Cilium profile applies to NetworkPolicy too: an ipBlock does not match pod IPs.
    let np = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: out, namespace: ops}\nspec:\n  podSelector: {}\n  policyTypes: [Egress]\n  egress: [{to: [{ipBlock: {cidr: 10.0.0.0/8}}]}]\n---\n";
    let c = Case::new(&format!("{np}{}", cnp("shop", "noop", "  endpointSelector: {}\n  ingress: []")));
    c.no("ops/web", "shop/db", "443");
    c.yes("ops/web", "10.1.2.3", "443");
}

#[test]
fn entities_cluster_host_and_all() {
    let c = Case::new(&cnp(
        "shop",
        "in",
        "  endpointSelector: {matchLabels: {app: db}}\n  ingress: [{fromEntities: [cluster]}]",
    ));
    c.yes("ops/web", "shop/db", "80");
    c.yes("ops/agent", "shop/db", "80");
    c.no("203.0.113.9", "shop/db", "80");
    let c = Case::new(&cnp(
        "shop",
        "in",
        "  endpointSelector: {matchLabels: {app: db}}\n  ingress: [{fromEntities: [host]}]",
    ));
    // db has no spec.nodeName: no host is its local host, so only unselected pods hear agent.
    c.no("ops/agent", "shop/db", "80");
    c.yes("ops/agent", "shop/web", "80");
    c.no("shop/web", "shop/db", "80");
    let c = Case::new(&cnp(
        "shop",
        "in",
        "  endpointSelector: {matchLabels: {app: db}}\n  ingress: [{fromEntities: [all]}]",
    ));
    c.yes("203.0.113.9", "shop/db", "80");
    c.yes("shop/web", "shop/db", "80");
}

/// Two nodes, a pod and a hostNetwork agent on each.
const TWO_NODES: &str = r#"
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: Pod
metadata: {name: a, namespace: shop, labels: {app: svc}}
spec: {nodeName: n1, containers: [{name: c, image: i}]}
status: {podIP: 10.0.0.1, podIPs: [{ip: 10.0.0.1}]}
---
apiVersion: v1
kind: Pod
metadata: {name: b, namespace: shop, labels: {app: svc}}
spec: {nodeName: n2, containers: [{name: c, image: i}]}
status: {podIP: 10.0.1.1, podIPs: [{ip: 10.0.1.1}]}
---
apiVersion: v1
kind: Pod
metadata: {name: agent-1, namespace: shop, labels: {app: agent}}
spec: {hostNetwork: true, nodeName: n1, containers: [{name: c, image: i}]}
status: {podIP: 192.168.0.1, podIPs: [{ip: 192.168.0.1}]}
---
apiVersion: v1
kind: Pod
metadata: {name: agent-2, namespace: shop, labels: {app: agent}}
spec: {hostNetwork: true, nodeName: n2, containers: [{name: c, image: i}]}
status: {podIP: 192.168.0.2, podIPs: [{ip: 192.168.0.2}]}
"#;

#[test]
fn host_is_the_selected_endpoints_own_node_and_remote_node_every_other() {
    // https://docs.cilium.io/en/stable/security/policy/language/#entities-based: "host: the local
    // host"; "remote-node: any node ... other than the local host".
    let c = Case::of(&format!(
        "{TWO_NODES}---\n{}",
        cnp("shop", "from-host", "  endpointSelector: {matchLabels: {app: svc}}\n  ingress: [{fromEntities: [host]}]")
    ));
    c.yes("shop/agent-1", "shop/a", "80");
    c.no("shop/agent-2", "shop/a", "80");
    c.yes("shop/agent-2", "shop/b", "80");
    c.no("shop/agent-1", "shop/b", "80");
    let c = Case::of(&format!(
        "{TWO_NODES}---\n{}",
        cnp(
            "shop",
            "to-remote",
            "  endpointSelector: {matchLabels: {app: svc}}\n  egress: [{toEntities: [remote-node]}]"
        )
    ));
    c.no("shop/a", "shop/agent-1", "9100");
    c.yes("shop/a", "shop/agent-2", "9100");
    c.yes("shop/b", "shop/agent-1", "9100");
    c.no("shop/b", "shop/agent-2", "9100");
}

#[test]
fn the_local_host_reaches_its_pods_unless_allow_localhost_is_policy() {
    // Cilium's --allow-localhost=auto is always under Kubernetes; a deny still beats it.
    let isolate = cnp(
        "shop",
        "only-nobody",
        "  endpointSelector: {matchLabels: {app: svc}}\n  ingress: [{fromEndpoints: [{matchLabels: {app: nobody}}]}]",
    );
    let c = Case::of(&format!("{TWO_NODES}---\n{isolate}"));
    c.yes("shop/agent-1", "shop/a", "80");
    c.no("shop/agent-2", "shop/a", "80");
    c.yes("shop/agent-2", "shop/b", "80");
    let policy = EngineOptions { cilium_allow_localhost: AllowLocalhost::Policy, ..EngineOptions::default() };
    let c = Case::with(&format!("{TWO_NODES}---\n{isolate}"), policy);
    c.no("shop/agent-1", "shop/a", "80");
    let deny = cnp(
        "shop",
        "deny-host",
        "  endpointSelector: {matchLabels: {app: svc}}\n  ingressDeny: [{fromEntities: [host], toPorts: [{ports: [{port: \"22\"}]}]}]",
    );
    let c = Case::of(&format!("{TWO_NODES}---\n{isolate}{deny}"));
    c.no("shop/agent-1", "shop/a", "22");
    c.yes("shop/agent-1", "shop/a", "80");
}

#[test]
fn the_kube_apiserver_entity_is_the_api_servers_addresses() {
    // Service default/kubernetes published at 172.20.0.1:6443 (an API server outside the pod network).
    let slice = "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: kubernetes, namespace: default, labels: {kubernetes.io/service-name: kubernetes}}\naddressType: IPv4\nendpoints: [{addresses: [172.20.0.1]}]\nports: [{name: https, port: 6443, protocol: TCP}]\n---\n";
    let policy = cnp(
        "shop",
        "api",
        "  endpointSelector: {matchLabels: {app: web}}\n  egress: [{toEntities: [kube-apiserver], toPorts: [{ports: [{port: \"6443\", protocol: TCP}]}]}]",
    );
    let c = Case::new(&format!("{slice}{policy}"));
    c.yes("shop/web", "172.20.0.1", "6443");
    c.no("shop/web", "172.20.0.1", "443");
    // Its neighbours and the rest of the world are not the API server.
    c.no("shop/web", "172.20.0.2", "6443");
    c.no("shop/web", "203.0.113.9", "6443");
    // Unselected pods are not isolated.
    c.yes("shop/api", "172.20.0.2", "6443");
    // Without anything saying where the API server is, the entity matches nothing.
    let c = Case::new(&policy);
    c.no("shop/web", "172.20.0.1", "6443");
}

#[test]
fn allows_are_the_union_of_cnp_ccnp_and_networkpolicy() {
    let np = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: from-api, namespace: shop}\nspec:\n  podSelector: {matchLabels: {app: db}}\n  ingress: [{from: [{podSelector: {matchLabels: {app: api}}}]}]\n---\n";
    let c = Case::new(&format!(
        "{np}{}",
        cnp(
            "shop",
            "from-web",
            "  endpointSelector: {matchLabels: {app: db}}\n  ingress: [{fromEndpoints: [{matchLabels: {app: web}}]}]"
        )
    ));
    c.yes("shop/api", "shop/db", "5432");
    c.yes("shop/web", "shop/db", "5432");
    c.no("ops/web", "shop/db", "5432");
}

#[test]
fn identity_labels_namespace_labels_and_service_accounts() {
    let c = Case::new(&ccnp(
        "by-identity",
        "  endpointSelector: {matchLabels: {io.cilium.k8s.policy.serviceaccount: api-sa}}\n  ingress: [{fromEndpoints: [{matchLabels: {io.cilium.k8s.namespace.labels.team: ops}}]}]",
    ));
    c.yes("ops/web", "shop/api", "8080");
    c.no("shop/web", "shop/api", "8080");
    // Only api runs as api-sa: db stays open.
    c.yes("shop/web", "shop/db", "8080");
}

#[test]
fn requires_narrow_every_endpoint_peer_of_the_selected_endpoints() {
    // "fromRequires ... all ingress rules of the endpoint additionally require env=prod".
    let c = Case::new(&format!(
        "{}{}",
        ccnp(
            "prod-only",
            "  endpointSelector: {matchLabels: {app: db}}\n  ingress: [{fromRequires: [{matchLabels: {env: prod}}]}]"
        ),
        ccnp(
            "from-web",
            "  endpointSelector: {matchLabels: {app: db}}\n  ingress: [{fromEndpoints: [{matchLabels: {app: web}}]}]"
        )
    ));
    c.yes("shop/web", "shop/db", "80");
    c.no("ops/web", "shop/db", "80");
}

#[test]
fn what_cilium_rejects_is_an_error_naming_the_field() {
    let bad = cnp("shop", "bad", "  endpointSelector: {}\n  ingress: [{fromEndpoints: [{}], fromCIDR: [10.0.0.0/8]}]");
    let e = load_str("bad.yaml", &bad).err().expect("rejected").to_string();
    assert!(e.contains("spec.ingress[0]") && e.contains("combining fromEndpoints and fromCIDR"), "{e}");
    let bad = cnp("shop", "bad", "  endpointSelector: {}\n  ingress: [{fromEntities: [everything]}]");
    let e = load_str("bad.yaml", &bad).err().expect("rejected").to_string();
    assert!(e.contains("spec.ingress[0].fromEntities[0]") && e.contains("unknown entity \"everything\""), "{e}");
    let bad = cnp("shop", "bad", "  endpointSelector: {}\n  ingress: [{fromEndpoint: [{}]}]");
    let e = load_str("bad.yaml", &bad).err().expect("rejected").to_string();
    assert!(e.contains("fromEndpoint"), "{e}");
}

#[test]
fn what_is_not_evaluated_is_a_warning() {
    let l7 = cnp(
        "shop",
        "l7",
        "  endpointSelector: {matchLabels: {app: api}}\n  ingress: [{toPorts: [{ports: [{port: \"80\", protocol: TCP}], rules: {http: [{method: GET}]}}]}]\n  egress: [{toFQDNs: [{matchName: example.com}]}]",
    );
    let loaded = load_str("l7.yaml", &format!("{PODS}---\n{l7}")).unwrap();
    let warnings = loaded.report.warnings.join("\n");
    assert!(warnings.contains("spec.ingress[0].toPorts[0].rules: L7 rules"), "{warnings}");
    assert!(warnings.contains("spec.egress[0].toFQDNs: DNS names cannot be resolved"), "{warnings}");
    // L4 is decided: 80 is allowed (L7 further restricts it), other ports are not.
    let c = Case(Analysis::new(loaded.cluster, &EngineOptions::default()));
    c.yes("shop/web", "shop/api", "80");
    c.no("shop/web", "shop/api", "81");
    c.no("shop/api", "203.0.113.9", "443");
}

/// The Cilium findings (NR221-NR224) of [`PODS`] and these policies: (id, namespace, fields).
fn cilium_findings(policies: &str) -> Vec<(String, String, Vec<String>, String)> {
    let loaded = load_str("case.yaml", &format!("{PODS}---\n{policies}")).unwrap_or_else(|e| panic!("{e}"));
    let report = netreach::audit::audit(&Analysis::new(loaded.cluster, &EngineOptions::default()));
    report
        .findings
        .into_iter()
        .filter(|f| f.id.starts_with("NR22"))
        .map(|f| {
            let fields = f.objects.iter().map(|o| o.field.clone().unwrap_or_default()).collect();
            (f.id.to_string(), f.namespace.unwrap_or_default(), fields, f.message)
        })
        .collect()
}

#[test]
fn nr221_and_nr222_world_entities_open_to_the_internet() {
    let found = cilium_findings(&format!(
        "{}{}",
        cnp(
            "shop",
            "public",
            "  endpointSelector: {matchLabels: {app: web}}\n  ingress: [{fromEntities: [world], toPorts: [{ports: [{port: \"443\", protocol: TCP}]}]}]"
        ),
        cnp(
            "shop",
            "out",
            "  endpointSelector: {matchLabels: {app: api}}\n  egress: [{toEntities: [world], toPorts: [{ports: [{port: \"443\"}]}]}, {toEntities: [all]}]"
        ),
    ));
    let ids: Vec<(&str, &str, &[String])> =
        found.iter().map(|(id, ns, f, _)| (id.as_str(), ns.as_str(), f.as_slice())).collect();
    assert_eq!(
        ids,
        vec![
            ("NR221", "shop", &["spec.ingress[0].fromEntities".to_string()][..]),
            // The first egress rule names its ports: not every port, no finding.
            ("NR222", "shop", &["spec.egress[1].toEntities".to_string()][..]),
        ]
    );
    assert!(found[0].3.contains("TCP 443") && found[0].3.contains("1 selected pod(s)"), "{}", found[0].3);
}

#[test]
fn nr223_a_deny_that_no_allow_overlaps() {
    let deny = ccnp(
        "no-api-to-db",
        "  endpointSelector: {matchLabels: {app: db}}\n  ingressDeny: [{fromEndpoints: [{matchLabels: {app: api}}], toPorts: [{ports: [{port: \"5432\"}]}]}]",
    );
    // The deny section alone isolates db: nothing is allowed, so the deny removes nothing.
    let found = cilium_findings(&deny);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!((found[0].0.as_str(), found[0].1.as_str()), ("NR223", ""));
    assert_eq!(found[0].2, vec!["spec.ingressDeny[0]".to_string()]);
    // An allow from api on every port: the deny now takes 5432 away.
    let allow = cnp(
        "shop",
        "from-api",
        "  endpointSelector: {matchLabels: {app: db}}\n  ingress: [{fromEndpoints: [{matchLabels: {app: api}}]}]",
    );
    assert_eq!(cilium_findings(&format!("{deny}{allow}")), vec![]);
    // An allow from web only does not overlap a deny of api.
    let web = cnp(
        "shop",
        "from-web",
        "  endpointSelector: {matchLabels: {app: db}}\n  ingress: [{fromEndpoints: [{matchLabels: {app: web}}]}]",
    );
    assert_eq!(cilium_findings(&format!("{deny}{web}")).len(), 1);
}

#[test]
fn nr224_default_deny_disabled_with_allow_rules_leaves_the_pods_open() {
    let relaxed = cnp(
        "shop",
        "relaxed",
        "  endpointSelector: {matchLabels: {app: api}}\n  enableDefaultDeny: {ingress: false}\n  ingress: [{fromEndpoints: [{matchLabels: {app: web}}]}]",
    );
    let found = cilium_findings(&relaxed);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, "NR224");
    assert_eq!(found[0].2, vec!["spec.enableDefaultDeny.ingress".to_string()]);
    assert!(found[0].3.contains("1 of its 1 selected pod(s)"), "{}", found[0].3);
    // A NetworkPolicy isolating api: the rules now add to its allows, no finding.
    let np = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny, namespace: shop}\nspec:\n  podSelector: {}\n  policyTypes: [Ingress]\n---\n";
    assert_eq!(cilium_findings(&format!("{np}{relaxed}")), vec![]);
}
