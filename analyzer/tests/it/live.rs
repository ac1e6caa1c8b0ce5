//! Live clusters through a kubeconfig: the real kube client against a loopback API server
//! (tests/it/live/server.rs) that serves fixture objects the way a real API server lists them.
//! Traffic goes to 127.0.0.1 only.

pub(crate) mod server;

use crate::support::{fixtures, netreach_command, netreach_isolated, stderr, stdout};
use serde_json::Value;
use server::{kubeconfig, objects_of, Behaviour, Server};
use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

/// The binary, isolated from the user's kubeconfig: HOME is a temp dir, KUBECONFIG unset.
fn netreach(args: &[&str], home: &Path) -> Output {
    netreach_isolated(home).args(args).current_dir(fixtures()).output().unwrap()
}

/// A fake cluster serving the objects of a fixture, and a kubeconfig for it.
struct Live {
    server: Server,
    dir: tempfile::TempDir,
    kubeconfig: String,
}

impl Live {
    fn start(behaviour: Behaviour) -> Live {
        Live::start_with(behaviour, "good-token", None)
    }

    fn start_with(behaviour: Behaviour, token: &str, namespace: Option<&str>) -> Live {
        let server = Server::start(behaviour);
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = kubeconfig(dir.path(), &server.url(), token, namespace).display().to_string();
        Live { server, dir, kubeconfig }
    }

    fn fixture(name: &str) -> Live {
        Live::start(Behaviour::new(objects_of(&fixtures().join(name))))
    }

    fn run(&self, args: &[&str]) -> Output {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--kubeconfig", &self.kubeconfig]);
        netreach(&all, self.dir.path())
    }
}

fn assert_fails(out: &Output, parts: &[&str]) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(out.stdout.is_empty(), "nothing on stdout: {}", stdout(out));
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(err.starts_with("error: "), "{err}");
    for p in parts {
        assert!(err.contains(p), "{p:?} in {err}");
    }
}

const FIXTURES: &[&str] = &[
    "shop",
    "small/workloads",
    "small/default-deny",
    "small/host-network",
    "small/ipblock-except",
    "small/named-ports",
    "small/lateral",
];

#[test]
fn connectivity_json_from_the_cluster_is_the_fixture_folders() {
    for fixture in FIXTURES {
        let live = Live::fixture(fixture);
        let from_cluster = live.run(&["connectivity", "-o", "json"]);
        let from_files = netreach(&["connectivity", fixture, "-o", "json"], live.dir.path());
        assert_eq!(from_cluster.status.code(), Some(0), "{fixture}: {}", stderr(&from_cluster));
        assert_eq!(from_files.status.code(), Some(0), "{fixture}: {}", stderr(&from_files));
        assert!(!from_cluster.stdout.is_empty());
        assert_eq!(stdout(&from_cluster), stdout(&from_files), "{fixture}");
        assert!(!stderr(&from_cluster).contains("warning"), "{fixture}: {}", stderr(&from_cluster));
    }
}

#[test]
fn admin_policy_tiers_from_the_cluster_give_the_fixture_answers() {
    for generation in ["v1alpha1", "v1alpha2"] {
        let tiers = fixtures().join("tiers");
        let mut objects = objects_of(&tiers.join("cluster.yaml"));
        objects.extend(objects_of(&tiers.join(generation)));
        let live = Live::start(Behaviour::new(objects));
        let from_cluster = live.run(&["connectivity", "-o", "json"]);
        let policies = format!("tiers/{generation}");
        let from_files = netreach(&["connectivity", "tiers/cluster.yaml", &policies, "-o", "json"], live.dir.path());
        assert_eq!(from_cluster.status.code(), Some(0), "{generation}: {}", stderr(&from_cluster));
        assert_eq!(stdout(&from_cluster), stdout(&from_files), "{generation}");
        let requests = live.server.requests();
        assert!(
            requests.iter().any(|r| r.starts_with(&format!("GET /apis/policy.networking.k8s.io/{generation}/"))),
            "{requests:?}"
        );
    }
}

/// Every kind a dialect, an entry point or an attack path reads is listed from the cluster: the
/// answers equal those of the fixture's files.
#[test]
fn calico_gateway_and_rbac_kinds_come_from_the_cluster() {
    let cases: &[(&str, &[&str])] = &[
        ("calico/bank", &["connectivity", "-o", "json"]),
        ("exposure", &["exposure", "-o", "json"]),
        ("attack/no-automount", &["paths", "--from", "any", "--to", "secrets/shop", "-o", "json"]),
        ("attack/create-pods", &["paths", "--from", "any", "--to", "cluster-admin", "-o", "json"]),
        ("small/real-inputs", &["connectivity", "-o", "json"]),
    ];
    for (fixture, args) in cases {
        let live = Live::fixture(fixture);
        let from_cluster = live.run(args);
        let mut with_files = args.to_vec();
        with_files.insert(1, fixture);
        let from_files = netreach(&with_files, live.dir.path());
        assert_eq!(from_files.status.code(), from_cluster.status.code(), "{fixture}: {}", stderr(&from_cluster));
        assert!(!from_cluster.stdout.is_empty(), "{fixture}: {}", stderr(&from_cluster));
        assert_eq!(stdout(&from_cluster), stdout(&from_files), "{fixture}");
    }
}

/// Calico's CRD storage (`crd.projectcalico.org/v1`) is read on clusters without the Calico API
/// server, and left alone where `projectcalico.org/v3` serves the same objects.
#[test]
fn calico_storage_is_read_only_without_the_calico_api_server() {
    let v3 = objects_of(&fixtures().join("calico/bank"));
    let storage: Vec<Value> = v3
        .iter()
        .cloned()
        .map(|mut o| {
            if o["apiVersion"] == "projectcalico.org/v3" {
                o["apiVersion"] = "crd.projectcalico.org/v1".into();
            }
            o
        })
        .collect();
    let only_storage = Live::start(Behaviour::new(storage.clone()));
    let files = netreach(&["connectivity", "calico/bank", "-o", "json"], only_storage.dir.path());
    assert_eq!(stdout(&only_storage.run(&["connectivity", "-o", "json"])), stdout(&files));
    assert!(only_storage.server.requests().iter().any(|r| r.starts_with("GET /apis/crd.projectcalico.org/v1/")));

    let mut both = v3;
    both.extend(storage);
    let live = Live::start(Behaviour::new(both));
    assert_eq!(stdout(&live.run(&["connectivity", "-o", "json"])), stdout(&files));
    let requests = live.server.requests();
    assert!(requests.iter().any(|r| r.starts_with("GET /apis/projectcalico.org/v3/")), "{requests:?}");
    assert!(!requests.iter().any(|r| r.contains("crd.projectcalico.org")), "{requests:?}");
}

#[test]
fn every_command_reads_the_cluster() {
    let live = Live::fixture("shop");
    let cases: &[&[&str]] = &[
        &["can", "shop/frontend", "shop/cart", "--port", "7070"],
        &["paths", "--from", "internet", "--to", "ns:payments"],
        &["connectivity", "-o", "csv"],
        &["connectivity", "--to", "ns:payments"],
        &["audit"],
    ];
    for args in cases {
        let from_cluster = live.run(args);
        let mut with_files = args.to_vec();
        with_files.push("shop");
        let from_files = netreach(&with_files, live.dir.path());
        assert_eq!(from_cluster.status.code(), from_files.status.code(), "{args:?}: {}", stderr(&from_cluster));
        assert_eq!(stdout(&from_cluster), stdout(&from_files), "{args:?}");
    }
}

#[test]
fn diff_compares_the_live_cluster_as_before_with_manifests_after() {
    let live = Live::fixture("diff/before");
    // After: the same manifests with the web default-deny added.
    let after = tempfile::tempdir().unwrap();
    let copied = std::process::Command::new("cp")
        .arg("-r")
        .arg(fixtures().join("diff/before"))
        .arg(fixtures().join("diff/changes/default-deny-web.yaml"))
        .arg(after.path())
        .status()
        .unwrap();
    assert!(copied.success());
    let after = after.path().display().to_string();
    for extra in [&[][..], &["-n", "data"]] {
        let mut args = vec!["diff", after.as_str(), "-o", "json"];
        args.extend_from_slice(extra);
        let from_cluster = live.run(&args);
        let mut with_files = vec!["diff", "diff/before", after.as_str(), "-o", "json"];
        with_files.extend_from_slice(extra);
        let from_files = netreach(&with_files, live.dir.path());
        assert_eq!(from_cluster.status.code(), Some(0), "{extra:?}: {}", stderr(&from_cluster));
        assert_eq!(from_files.status.code(), Some(0), "{extra:?}: {}", stderr(&from_files));
        let removed = |out: &Output| serde_json::from_str::<Value>(&stdout(out)).unwrap()["removed"].clone();
        assert_eq!(removed(&from_cluster), removed(&from_files), "{extra:?}");
        assert!(!removed(&from_cluster).as_array().unwrap().is_empty());
    }
    // -n narrows the answer; the whole cluster is read (a partial read would add every pod elsewhere).
    assert!(!live.server.requests().iter().any(|r| r.contains("/namespaces/data/")), "{:?}", live.server.requests());
    assert_fails(&live.run(&["diff", "diff/before", after.as_str()]), &["one PATH"]);
    assert_fails(&live.run(&["diff", "--apply", "diff/changes/tightened-api.yaml"]), &["netreach snapshot"]);
}

#[test]
fn pagination_follows_continue_tokens() {
    let mut behaviour = Behaviour::new(objects_of(&fixtures().join("shop")));
    behaviour.page_size = 2;
    let live = Live::start(behaviour);
    let out = live.run(&["connectivity", "-o", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let from_files = netreach(&["connectivity", "shop", "-o", "json"], live.dir.path());
    assert_eq!(stdout(&out), stdout(&from_files));
    let requests = live.server.requests();
    let lists: Vec<&String> = requests.iter().filter(|r| r.starts_with("GET /apis/apps/v1/deployments?")).collect();
    assert_eq!(lists.len(), 6, "12 deployments in pages of 2: {lists:?}");
    assert_eq!(lists[0], "GET /apis/apps/v1/deployments?&limit=500", "{lists:?}");
    // The token (with + / =) is passed back URL-encoded.
    assert_eq!(lists[1], "GET /apis/apps/v1/deployments?&limit=500&continue=eyJvZmZzZXQi%2B2%2F%3D%3D", "{lists:?}");
}

#[test]
fn reads_only_with_get_and_never_secrets() {
    let mut objects = objects_of(&fixtures().join("shop"));
    objects.push(serde_json::json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db", "namespace": "shop"}, "data": {"password": "aHVudGVyMg=="}}));
    let live = Live::start(Behaviour::new(objects));
    let out = live.run(&["snapshot"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let requests = live.server.requests();
    assert!(requests.iter().all(|r| r.starts_with("GET ")), "{requests:?}");
    assert!(!requests.iter().any(|r| r.contains("secret")), "{requests:?}");
    assert!(!stdout(&out).contains("aHVudGVyMg"), "no secret data");
    // What was asked for is granted by deploy/rbac.yaml.
    for r in &requests {
        let path = r.trim_start_matches("GET ").split('?').next().unwrap();
        let plural = path.rsplit('/').next().unwrap();
        let granted = netreach::live::RESOURCES.iter().any(|res| res.plural == plural)
            || path == "/apis"
            || path.starts_with("/api/v1/namespaces/");
        assert!(granted, "{path}");
    }
}

#[test]
fn kube_apiserver_comes_from_the_listed_endpointslices_as_from_files() {
    // The infra fixture's EndpointSlice of default/kubernetes puts the API server at 10.0.0.10:6443;
    // without it the control-plane Node's InternalIP would stand in.
    let live = Live::start(Behaviour::new(objects_of(&fixtures().join("infra/cluster.yaml"))));
    let args = ["can", "open/web", "kube-apiserver", "-o", "json", "-q"];
    let from_live = live.run(&args);
    assert_eq!(from_live.status.code(), Some(0), "{}", stderr(&from_live));
    let mut file_args = args.to_vec();
    let file = fixtures().join("infra/cluster.yaml");
    file_args.push(file.to_str().unwrap());
    let from_files = netreach(&file_args, live.dir.path());
    assert_eq!(stdout(&from_live), stdout(&from_files));
    assert!(stdout(&from_live).contains("on TCP 6443 (EndpointSlice default/kubernetes)"), "{}", stdout(&from_live));
    let requests = live.server.requests();
    assert!(requests.iter().any(|r| r.starts_with("GET /apis/discovery.k8s.io/v1/endpointslices?")), "{requests:?}");
}

#[test]
fn rbac_grants_get_and_list_on_exactly_what_is_read() {
    let text = std::fs::read_to_string(fixtures().parent().unwrap().join("deploy/rbac.yaml")).unwrap();
    let docs: Vec<Value> = serde_saphyr::from_multiple(&text).unwrap();
    let roles: Vec<&Value> = docs.iter().filter(|d| !d.is_null()).collect();
    assert_eq!(roles.len(), 1, "one ClusterRole");
    assert_eq!(roles[0]["kind"], "ClusterRole");
    let mut granted = std::collections::BTreeSet::new();
    for rule in roles[0]["rules"].as_array().unwrap() {
        let verbs: Vec<&str> = rule["verbs"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
        assert_eq!(verbs, ["get", "list"], "{rule}");
        assert!(rule.get("resourceNames").is_none() && rule.get("nonResourceURLs").is_none());
        for group in rule["apiGroups"].as_array().unwrap() {
            for resource in rule["resources"].as_array().unwrap() {
                granted.insert((group.as_str().unwrap().to_string(), resource.as_str().unwrap().to_string()));
            }
        }
    }
    let read: std::collections::BTreeSet<(String, String)> =
        netreach::live::RESOURCES.iter().map(|r| (r.group.to_string(), r.plural.to_string())).collect();
    assert_eq!(granted, read);
}

#[test]
fn snapshot_drops_bookkeeping_and_env_values_and_gives_the_same_answers() {
    let live = Live::fixture("shop");
    let live_json = live.run(&["connectivity", "-o", "json"]);
    assert_eq!(live_json.status.code(), Some(0), "{}", stderr(&live_json));
    for (format, file) in [("yaml", "cluster.yaml"), ("json", "cluster.json")] {
        let out = live.run(&["snapshot", "-o", format]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let text = stdout(&out);
        let objects: String = text.lines().filter(|l| !l.starts_with('#')).collect::<Vec<_>>().join("\n");
        assert!(!objects.contains("managedFields"), "{format}");
        assert!(!objects.contains("last-applied-configuration"), "{format}");
        assert!(!objects.contains("hunter2"), "{format}: env values dropped");
        assert!(objects.contains("DB_PASSWORD"), "{format}: env names kept");
        assert!(stderr(&out).contains("note: wrote"), "{}", stderr(&out));
        let path = live.dir.path().join(file);
        std::fs::write(&path, &text).unwrap();
        let from_snapshot = netreach(&["connectivity", path.to_str().unwrap(), "-o", "json"], live.dir.path());
        assert_eq!(from_snapshot.status.code(), Some(0), "{}", stderr(&from_snapshot));
        assert_eq!(stdout(&from_snapshot), stdout(&live_json), "{format}");
        assert!(!stderr(&from_snapshot).contains("skipped"), "{}", stderr(&from_snapshot));
    }
    let yaml = stdout(&live.run(&["snapshot"]));
    assert!(yaml.starts_with("# netreach snapshot of context \"test\" (http://127.0.0.1:"), "{yaml}");
    let manifest: Value = serde_saphyr::from_str(&yaml).unwrap();
    assert_eq!(manifest["kind"], "List");
    let first = &manifest["items"][0];
    assert_eq!((first["apiVersion"].as_str(), first["kind"].as_str()), (Some("v1"), Some("Namespace")));
    assert!(manifest["items"].as_array().unwrap().iter().all(|o| o["metadata"]["uid"].is_string()), "the rest is kept");
}

#[test]
fn snapshot_yaml_keeps_strings_that_look_like_other_types() {
    let odd = [
        "true",
        "yes",
        "no",
        "on",
        "null",
        "~",
        "1",
        "1.0",
        "0x1F",
        "012",
        "1e3",
        "",
        " lead",
        "a: b",
        "- x",
        "#c",
        "multi\nline",
        "ünï",
    ];
    let mut objects = Vec::new();
    for (i, v) in odd.iter().enumerate() {
        objects.push(serde_json::json!({"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": format!("ns{i}"), "labels": {"v": v}, "annotations": {"note": v}}}));
    }
    let live = Live::start(Behaviour::new(objects));
    let out = live.run(&["snapshot"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let manifest: Value = serde_saphyr::from_str(&stdout(&out)).unwrap();
    for (i, v) in odd.iter().enumerate() {
        assert_eq!(manifest["items"][i]["metadata"]["labels"]["v"].as_str(), Some(*v), "{v:?}");
        assert_eq!(manifest["items"][i]["metadata"]["annotations"]["note"].as_str(), Some(*v), "{v:?}");
    }
}

#[test]
fn forbidden_resource_is_skipped_with_a_warning_naming_what_is_incomplete() {
    let mut behaviour = Behaviour::new(objects_of(&fixtures().join("shop")));
    behaviour.forbidden = vec!["pods".into()];
    let live = Live::start_with(behaviour, "good-token", Some("shop"));
    let out = live.run(&["connectivity", "-o", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("warning: cannot list pods (403 Forbidden: pods is forbidden: User \"system:serviceaccount:default:netreach\" cannot list resource \"pods\" in API group \"\" at the cluster scope): pods are unknown: only controllers' templates stand in for them"),
        "{err}"
    );
    assert!(err.contains("read them with -n shop"), "the hint names the context's namespace: {err}");
    let json: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let nodes = json["nodes"].as_array().unwrap();
    assert!(nodes.iter().filter(|n| n["kind"] == "Pod").all(|n| n["synthesized"] == true), "only template pods");

    // Snapshots carry the warning as a comment.
    let snapshot = stdout(&live.run(&["snapshot", "-q"]));
    assert!(snapshot.lines().any(|l| l.starts_with("# warning: cannot list pods (403 Forbidden")), "{snapshot}");

    let mut behaviour = Behaviour::new(objects_of(&fixtures().join("shop")));
    behaviour.forbidden = vec!["networkpolicies".into(), "nodes".into()];
    let live = Live::start(behaviour);
    let err = stderr(&live.run(&["connectivity"]));
    assert!(err.contains("cannot list networkpolicies.networking.k8s.io (403 Forbidden"), "{err}");
    assert!(err.contains("every connection looks allowed"), "{err}");
    assert!(err.contains("cannot list nodes (403 Forbidden"), "{err}");
    assert!(err.contains("-n NAMESPACE"), "{err}");
}

#[test]
fn unauthorized_is_one_line_and_exit_2() {
    let live = Live::start_with(Behaviour::new(objects_of(&fixtures().join("shop"))), "expired-token", None);
    for command in [&["connectivity"][..], &["snapshot"], &["can", "shop/frontend", "shop/cart"], &["audit"]] {
        let out = live.run(command);
        assert_fails(
            &out,
            &[
                &format!("error: context \"test\" ({}): 401 Unauthorized on GET /apis", live.server.url()),
                "credentials are missing, invalid or expired",
            ],
        );
    }
}

#[test]
fn a_server_that_hangs_times_out() {
    let mut behaviour = Behaviour::new(Vec::new());
    behaviour.hang = true;
    let live = Live::start(behaviour);
    let started = Instant::now();
    let out = live.run(&["connectivity", "--request-timeout", "300ms"]);
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
    assert_fails(&out, &["did not answer GET /apis within 300ms (--request-timeout)", "context \"test\""]);
    let out = live.run(&["snapshot", "--request-timeout", "1s"]);
    assert_fails(&out, &["within 1s"]);
}

#[test]
fn an_unreachable_server_and_tls_errors_are_one_line() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let config = kubeconfig(dir.path(), &format!("http://127.0.0.1:{port}"), "t", None);
    let out = netreach(&["connectivity", "--kubeconfig", config.to_str().unwrap()], dir.path());
    assert_fails(&out, &[&format!("error: cannot reach context \"test\" (http://127.0.0.1:{port})"), "refused"]);

    // https to a server speaking plain HTTP: the handshake fails.
    let live = Live::fixture("small/default-deny");
    let config = kubeconfig(dir.path(), &format!("https://127.0.0.1:{}", live.server.port), "good-token", None);
    let out =
        netreach(&["connectivity", "--kubeconfig", config.to_str().unwrap(), "--request-timeout", "5s"], dir.path());
    assert_fails(&out, &["error: TLS with context \"test\" (https://127.0.0.1:"]);
}

#[test]
fn server_errors_and_expired_continue_tokens() {
    let mut behaviour = Behaviour::new(objects_of(&fixtures().join("shop")));
    behaviour.broken = vec!["services".into()];
    let live = Live::start(behaviour);
    assert_fails(
        &live.run(&["connectivity"]),
        &["GET /api/v1/services: 500 InternalError: etcdserver: request timed out"],
    );

    // A continue token that expires mid-list: the list starts over once.
    let mut behaviour = Behaviour::new(objects_of(&fixtures().join("shop")));
    behaviour.page_size = 5;
    behaviour.expire_first_continue = true;
    let live = Live::start(behaviour);
    let out = live.run(&["connectivity", "-o", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), stdout(&netreach(&["connectivity", "shop", "-o", "json"], live.dir.path())));
}

#[test]
fn kubeconfig_and_context_errors() {
    let dir = tempfile::tempdir().unwrap();
    let out = netreach(&["connectivity", "--cluster"], dir.path());
    assert_fails(
        &out,
        &["no kubeconfig: $KUBECONFIG is not set and ~/.kube/config does not exist (give --kubeconfig FILE)"],
    );
    let out = netreach(&["snapshot", "--kubeconfig", "/nonexistent/kubeconfig"], dir.path());
    assert_fails(&out, &["kubeconfig /nonexistent/kubeconfig:"]);

    let live = Live::fixture("small/default-deny");
    let out = live.run(&["connectivity", "--context", "nope"]);
    assert_fails(&out, &["the kubeconfig has no context \"nope\" (it has: test, other)"]);
    // --context picks a context other than the current one.
    let out = live.run(&["connectivity", "--context", "other", "-o", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    // $KUBECONFIG and ~/.kube/config are found like kubectl finds them.
    let out = netreach_command()
        .args(["connectivity", "--cluster", "-o", "json"])
        .env("HOME", dir.path())
        .env("KUBECONFIG", &live.kubeconfig)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    std::fs::create_dir_all(live.dir.path().join(".kube")).unwrap();
    std::fs::copy(&live.kubeconfig, live.dir.path().join(".kube/config")).unwrap();
    let out = netreach(&["snapshot", "--cluster", "-o", "json"], live.dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn namespaces_scope_what_is_read() {
    let live = Live::fixture("shop");
    let out = live.run(&["snapshot", "-n", "payments", "-n", "shop", "-o", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let requests = live.server.requests();
    let lists: Vec<&str> = requests.iter().map(|r| r.trim_start_matches("GET ").split('?').next().unwrap()).collect();
    assert!(lists.contains(&"/api/v1/namespaces/payments/pods"), "{lists:?}");
    assert!(lists.contains(&"/apis/networking.k8s.io/v1/namespaces/shop/networkpolicies"), "{lists:?}");
    assert!(lists.contains(&"/api/v1/namespaces/shop"), "namespaces are read by name: {lists:?}");
    assert!(lists.contains(&"/api/v1/nodes"), "nodes are cluster-scoped: {lists:?}");
    assert!(!lists.contains(&"/api/v1/pods"), "{lists:?}");
    assert!(!lists.contains(&"/api/v1/namespaces"), "{lists:?}");
    let manifest: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let namespaces: std::collections::BTreeSet<&str> =
        manifest["items"].as_array().unwrap().iter().filter_map(|o| o["metadata"]["namespace"].as_str()).collect();
    assert_eq!(namespaces.into_iter().collect::<Vec<_>>(), ["payments", "shop"]);
    assert!(
        stderr(&out).contains("note: read only namespace(s) payments, shop of context \"test\""),
        "{}",
        stderr(&out)
    );

    // -A reads everything, like no -n; it conflicts with -n.
    let all = live.run(&["connectivity", "-A", "-o", "json"]);
    assert_eq!(stdout(&all), stdout(&netreach(&["connectivity", "shop", "-o", "json"], live.dir.path())));
    let out = live.run(&["connectivity", "-A", "-n", "shop"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("cannot be used with"), "{}", stderr(&out));

    // A namespace that does not exist is an error, not an empty answer.
    assert_fails(&live.run(&["connectivity", "-n", "shpo"]), &["namespace \"shpo\" not found"]);
}

#[test]
fn optional_api_groups_are_read_when_served() {
    let mut objects = objects_of(&fixtures().join("small/default-deny"));
    objects.push(serde_json::json!({
        "apiVersion": "policy.networking.k8s.io/v1alpha1", "kind": "AdminNetworkPolicy",
        "metadata": {"name": "deny-all"},
        "spec": {"priority": 10, "subject": {"namespaces": {}}, "ingress": [{"action": "Deny", "from": [{"namespaces": {}}]}]}
    }));
    let live = Live::start(Behaviour::new(objects));
    let out = live.run(&["snapshot", "-o", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let manifest: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert!(manifest["items"].as_array().unwrap().iter().any(|o| o["kind"] == "AdminNetworkPolicy"));
    let requests = live.server.requests();
    assert!(requests
        .iter()
        .any(|r| r.starts_with("GET /apis/policy.networking.k8s.io/v1alpha1/adminnetworkpolicies?")));
    // Groups the cluster does not serve are not asked for.
    assert!(!requests.iter().any(|r| r.contains("security.istio.io") || r.contains("v1alpha2")), "{requests:?}");
}

#[test]
fn istio_authorization_policies_are_listed_and_applied() {
    // fixtures/mesh-authz/identity served by the fake API server: the AuthorizationPolicies are
    // listed (security.istio.io/v1) and the mesh layer applies them as it does to the files.
    let live = Live::start(Behaviour::new(objects_of(&fixtures().join("mesh-authz/identity"))));
    let out = live.run(&["connectivity", "--mesh", "-o", "csv", "-q"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let csv = stdout(&out);
    assert!(csv.lines().any(|l| l == "shop/api,shop/web,TCP,80,custom:opa:shop/web-ext-authz"), "{csv}");
    assert!(csv.lines().any(|l| l == "legacy/batch,shop/api,TCP,9090,allow"), "{csv}");
    assert!(!csv.lines().any(|l| l.starts_with("legacy/batch,shop/db,TCP")), "{csv}");
    let requests = live.server.requests();
    assert!(
        requests.iter().any(|r| r.starts_with("GET /apis/security.istio.io/v1/authorizationpolicies?")),
        "{requests:?}"
    );
}

#[test]
fn usage_errors_and_help() {
    let dir = tempfile::tempdir().unwrap();
    for command in ["connectivity", "can", "paths", "diff", "audit", "generate", "snapshot"] {
        let out = netreach(&[command, "--help"], dir.path());
        assert_eq!(out.status.code(), Some(0), "{command} --help: {}", stderr(&out));
    }
    let out = netreach(&["connectivity", "shop", "--cluster"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("cannot be used with"), "{}", stderr(&out));
    let out = netreach(&["snapshot"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--cluster"), "{}", stderr(&out));
    let out = netreach(&["connectivity", "--cluster", "--request-timeout", "soon"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("invalid duration \"soon\""), "{}", stderr(&out));
    // -n without a cluster is connectivity's namespace filter, as before.
    let out = netreach(&["connectivity", "shop", "-n", "payments", "-o", "json"], dir.path());
    let long = netreach(&["connectivity", "shop", "--namespace", "payments", "-o", "json"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), stdout(&long));
    let all = netreach(&["connectivity", "shop", "-o", "json"], dir.path());
    assert_ne!(stdout(&out), stdout(&all));
}

// --- Hostile arguments, kubeconfigs and servers ---

#[test]
fn hostile_namespaces_are_refused_before_any_request() {
    let live = Live::fixture("shop");
    for namespace in [
        "default/secrets?x=",
        "..",
        ".",
        "default/../secrets",
        "Shop",
        "a%2Fsecrets",
        "kube-system#",
        "",
        &"n".repeat(64),
    ] {
        let out = live.run(&["snapshot", "-n", namespace]);
        assert_fails(&out, &["invalid namespace", "RFC 1123"]);
    }
    assert!(live.server.requests().is_empty(), "no request at all: {:?}", live.server.requests());
    // Valid names still read, and nothing anywhere names secrets.
    let out = live.run(&["snapshot", "-n", "shop", "-n", "kube-system"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!live.server.requests().iter().any(|r| r.contains("secret")), "{:?}", live.server.requests());
}

/// A kubeconfig whose user runs `script` as an exec credential plugin, with an argument and
/// an environment variable that must never be printed.
fn exec_kubeconfig(dir: &Path, server: &str, script: &str) -> String {
    let plugin = dir.join("plugin.sh");
    std::fs::write(&plugin, format!("#!/bin/sh\n{script}\n")).unwrap();
    std::fs::set_permissions(&plugin, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let user = format!(
        "exec:
  apiVersion: client.authentication.k8s.io/v1beta1
  command: {}
  args: [\"--oidc-client-secret=arg-secret-value\"]
  env: [{{name: VAULT_TOKEN, value: env-secret-value}}]
  interactiveMode: Never",
        plugin.display()
    );
    let path = server::kubeconfig_with_user(dir, "exec-kubeconfig", server, &user, None);
    path.display().to_string()
}

#[test]
fn a_failing_credential_plugin_shows_status_and_stderr_never_env_args_or_stdout() {
    let live = Live::fixture("small/default-deny");
    let config = exec_kubeconfig(
        live.dir.path(),
        &live.server.url(),
        "echo '{\"status\":{\"token\":\"stdout-secret-value\"}}'; echo 'login expired: run vault login' >&2; exit 3",
    );
    let out = netreach(&["connectivity", "--kubeconfig", &config], live.dir.path());
    assert_fails(
        &out,
        &[
            "cannot obtain credentials: exec: executable",
            "plugin.sh failed with exit code 3",
            "login expired: run vault login",
        ],
    );
    let err = stderr(&out);
    for secret in ["arg-secret-value", "env-secret-value", "stdout-secret-value", "VAULT_TOKEN", "oidc-client-secret"] {
        assert!(!err.contains(secret), "{secret} printed: {err}");
    }
}

#[test]
fn request_timeout_bounds_a_credential_plugin_that_hangs() {
    let live = Live::fixture("small/default-deny");
    let config = exec_kubeconfig(live.dir.path(), &live.server.url(), "sleep 30");
    let started = Instant::now();
    let out = netreach(&["connectivity", "--kubeconfig", &config, "--request-timeout", "1s"], live.dir.path());
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
    assert_fails(&out, &["obtaining credentials took longer than 1s (--request-timeout)", "plugin.sh"]);
    assert!(live.server.requests().is_empty(), "{:?}", live.server.requests());
}

#[test]
fn servers_whose_lists_never_end_are_stopped() {
    let mut behaviour = Behaviour::new(objects_of(&fixtures().join("shop")));
    behaviour.repeat_continue = true;
    let live = Live::start(behaviour);
    assert_fails(&live.run(&["snapshot"]), &["GET /api/v1/pods", "the same continue token twice"]);

    let mut behaviour = Behaviour::new(objects_of(&fixtures().join("shop")));
    behaviour.endless_pages = true;
    let live = Live::start(behaviour);
    let out = live.run(&["snapshot"]);
    assert_fails(&out, &["GET /api/v1/pods", "remainingItemCount announced at most 12"]);
    let pod_pages = live.server.requests().iter().filter(|r| r.starts_with("GET /api/v1/pods")).count();
    assert_eq!(pod_pages, 13, "stopped right after the announced pages");

    // Endless and slow: --list-timeout ends the listing.
    let mut behaviour = Behaviour::new(objects_of(&fixtures().join("shop")));
    behaviour.endless_pages = true;
    let live = Live::start(behaviour);
    let started = Instant::now();
    let out = live.run(&["snapshot", "--list-timeout", "1ms"]);
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_fails(&out, &["listing took longer than 1ms (--list-timeout)"]);
}

#[test]
fn kubeconfig_list_skips_missing_files_like_kubectl() {
    let live = Live::fixture("small/default-deny");
    let missing = live.dir.path().join("missing-config");
    let list = std::env::join_paths([missing.as_path(), Path::new(&live.kubeconfig)]).unwrap();
    let out = netreach_command()
        .args(["connectivity", "--cluster", "-o", "json"])
        .env("HOME", live.dir.path())
        .env("KUBECONFIG", &list)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // None of them exists: one line naming them.
    let out = netreach_command()
        .args(["connectivity", "--cluster"])
        .env("HOME", live.dir.path())
        .env("KUBECONFIG", &missing)
        .output()
        .unwrap();
    assert_fails(&out, &["none of the files in $KUBECONFIG exists", "missing-config"]);
}

#[test]
fn out_of_range_durations_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    for duration in ["99999999999999999999s", "99999999999999999999", "1e300s", "9999999h", "1.8446744073709552e19s"] {
        let out = netreach(&["connectivity", "--cluster", "--request-timeout", duration], dir.path());
        assert_eq!(out.status.code(), Some(2), "{duration}: {}", stderr(&out));
        assert!(out.stdout.is_empty());
    }
}
