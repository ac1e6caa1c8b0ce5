//! A loopback Kubernetes API server for tests: plain HTTP/1.1 on 127.0.0.1 (std::net, one
//! thread per connection, keep-alive), serving list endpoints with the JSON a real API server
//! returns (`kind: PodList`, items without apiVersion/kind, `metadata.continue`, Status bodies
//! for errors), from objects read out of fixture manifests.

use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Resources the fake server serves: what netreach reads (`netreach::live::RESOURCES`) and
/// Secrets, by API version and kind → (plural, namespaced).
pub fn resource_of(api_version: &str, kind: &str) -> Option<(&'static str, bool)> {
    if api_version == "v1" && kind == "Secret" {
        return Some(("secrets", true));
    }
    let group = api_version.rsplit_once('/').map_or("", |(g, _)| g);
    let r = netreach::live::RESOURCES.iter().find(|r| r.group == group && r.kind == kind)?;
    Some((r.plural, r.namespaced))
}

/// How the fake cluster behaves.
pub struct Behaviour {
    /// Objects, each with apiVersion and kind (as in manifests).
    pub objects: Vec<Value>,
    /// Items per page at most (the client's `limit` also applies).
    pub page_size: usize,
    /// Plurals whose list calls answer 403 (e.g. "pods").
    pub forbidden: Vec<String>,
    /// The bearer token accepted; other requests get 401.
    pub token: String,
    /// Never answer (the connection stays open).
    pub hang: bool,
    /// Answer 410 Gone to the first request carrying a continue token.
    pub expire_first_continue: bool,
    /// Plurals whose list calls answer 500.
    pub broken: Vec<String>,
    /// Hostile: every page of a pod list carries the same continue token.
    pub repeat_continue: bool,
    /// Hostile: pod lists never end (a new token every page) while announcing one item left.
    pub endless_pages: bool,
}

impl Behaviour {
    pub fn new(objects: Vec<Value>) -> Behaviour {
        Behaviour {
            objects,
            page_size: 500,
            forbidden: Vec::new(),
            token: "good-token".into(),
            hang: false,
            expire_first_continue: false,
            broken: Vec::new(),
            repeat_continue: false,
            endless_pages: false,
        }
    }
}

pub struct Server {
    pub port: u16,
    log: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
}

impl Server {
    pub fn start(behaviour: Behaviour) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let log = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let behaviour = Arc::new(Mutex::new(behaviour));
        let (log2, stop2) = (log.clone(), stop.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let (log, stop, behaviour) = (log2.clone(), stop2.clone(), behaviour.clone());
                std::thread::spawn(move || serve_connection(stream, &behaviour, &log, &stop));
            }
        });
        Server { port, log, stop }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Request lines seen, e.g. `GET /api/v1/pods?limit=500`.
    pub fn requests(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn serve_connection(stream: TcpStream, behaviour: &Mutex<Behaviour>, log: &Mutex<Vec<String>>, stop: &AtomicBool) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let mut authorization = None;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                if name.eq_ignore_ascii_case("authorization") {
                    authorization = Some(value.trim().to_string());
                }
            }
        }
        let mut parts = request_line.split_whitespace();
        let (method, target) = (parts.next().unwrap_or("").to_string(), parts.next().unwrap_or("").to_string());
        log.lock().unwrap().push(format!("{method} {target}"));
        let (hang, token) = {
            let b = behaviour.lock().unwrap();
            (b.hang, b.token.clone())
        };
        if hang {
            while !stop.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(20));
            }
            return;
        }
        let (code, body) = if authorization.as_deref() != Some(&format!("Bearer {token}")) {
            status(401, "Unauthorized", "Unauthorized")
        } else if method != "GET" {
            status(405, "MethodNotAllowed", "the fake server is read-only")
        } else {
            let mut b = behaviour.lock().unwrap();
            route(&target, &mut b)
        };
        let reason = match code {
            200 => "OK",
            401 => "Unauthorized",
            403 => "Forbidden",
            404 => "Not Found",
            410 => "Gone",
            _ => "Error",
        };
        let response = format!(
            "HTTP/1.1 {code} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        if writer.write_all(response.as_bytes()).and_then(|_| writer.flush()).is_err() {
            return;
        }
    }
}

fn status(code: u16, reason: &str, message: &str) -> (u16, String) {
    let body = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                      "message": message, "reason": reason, "code": code});
    (code, body.to_string())
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap()
}

/// A continue token with characters that must be escaped in a query string.
fn token_for(offset: usize) -> String {
    format!("eyJvZmZzZXQi+{offset}/==")
}

fn route(target: &str, b: &mut Behaviour) -> (u16, String) {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let params: BTreeMap<String, String> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (k.to_string(), percent_decode(v))
        })
        .collect();
    if path == "/apis" {
        let mut versions: Vec<&str> = vec!["apps/v1", "batch/v1", "networking.k8s.io/v1"];
        for o in &b.objects {
            let gv = o["apiVersion"].as_str().unwrap_or("");
            if gv.contains('/') && !versions.contains(&gv) {
                versions.push(gv);
            }
        }
        // One entry per group with all its versions, as a real server lists them.
        let mut by_group: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
        for gv in &versions {
            let (group, version) = gv.split_once('/').unwrap();
            by_group.entry(group).or_default().push(json!({"groupVersion": gv, "version": version}));
        }
        let groups: Vec<Value> = by_group
            .into_iter()
            .map(|(group, versions)| json!({"name": group, "preferredVersion": versions[0].clone(), "versions": versions}))
            .collect();
        return (200, json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}).to_string());
    }
    // /api/v1/... or /apis/GROUP/VERSION/...
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let (group_version, rest) = match segments.as_slice() {
        ["api", "v1", rest @ ..] => ("v1".to_string(), rest.to_vec()),
        ["apis", group, version, rest @ ..] => (format!("{group}/{version}"), rest.to_vec()),
        _ => return status(404, "NotFound", "the server could not find the requested resource"),
    };
    let (namespace, plural, name) = match rest.as_slice() {
        [plural] => (None, *plural, None),
        ["namespaces", name] => (None, "namespaces", Some(*name)),
        ["namespaces", ns, plural] => (Some(*ns), *plural, None),
        _ => return status(404, "NotFound", "the server could not find the requested resource"),
    };
    // A real API server serves every object of a group at each version it serves (CRD
    // conversion): objects match by group and kind, whatever version they were written in.
    let group_of = |gv: &str| gv.rsplit_once('/').map_or("", |(g, _)| g).to_string();
    let group = group_of(&group_version);
    let Some((kind, namespaced)) = b.objects.iter().chain(KNOWN.iter()).find_map(|o| {
        let (gv, kind) = (o["apiVersion"].as_str()?, o["kind"].as_str()?);
        let (p, namespaced) = resource_of(gv, kind)?;
        (group_of(gv) == group && p == plural).then(|| (kind.to_string(), namespaced))
    }) else {
        return status(404, "NotFound", "the server could not find the requested resource");
    };
    if b.forbidden.iter().any(|f| f == plural) {
        let scope = match namespace {
            Some(ns) => format!("in the namespace \"{ns}\""),
            None => "at the cluster scope".to_string(),
        };
        let group = group_version.rsplit_once('/').map_or("", |(g, _)| g);
        let message = format!(
            "{plural} is forbidden: User \"system:serviceaccount:default:netreach\" cannot list resource \"{plural}\" in API group \"{group}\" {scope}"
        );
        return status(403, "Forbidden", &message);
    }
    if b.broken.iter().any(|f| f == plural) {
        return status(500, "InternalError", "etcdserver: request timed out");
    }
    let namespace_of = |o: &Value| o["metadata"]["namespace"].as_str().unwrap_or("default").to_string();
    let mut items: Vec<Value> = b
        .objects
        .iter()
        .filter(|o| {
            o["kind"].as_str() == Some(kind.as_str()) && group_of(o["apiVersion"].as_str().unwrap_or("")) == group
        })
        .filter(|o| namespace.is_none() || !namespaced || Some(namespace_of(o).as_str()) == namespace)
        .cloned()
        .collect();
    if let Some(name) = name {
        return match items.into_iter().find(|o| o["metadata"]["name"].as_str() == Some(name)) {
            Some(o) => (200, o.to_string()),
            None => status(404, "NotFound", &format!("namespaces \"{name}\" not found")),
        };
    }
    if plural == "pods" && (b.repeat_continue || b.endless_pages) {
        let page_number = params
            .get("continue")
            .and_then(|t| t.strip_prefix("page-"))
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0);
        let token = if b.repeat_continue { "page-1".to_string() } else { format!("page-{}", page_number + 1) };
        let metadata = json!({"resourceVersion": "4242", "continue": token, "remainingItemCount": 1});
        return (200, json!({"kind": "PodList", "apiVersion": "v1", "metadata": metadata, "items": items}).to_string());
    }
    let offset = match params.get("continue") {
        None => 0,
        Some(t) => {
            if b.expire_first_continue {
                b.expire_first_continue = false;
                return status(
                    410,
                    "Expired",
                    "The provided continue parameter is too old to display a consistent list result.",
                );
            }
            match (0..=items.len()).find(|o| &token_for(*o) == t) {
                Some(o) => o,
                None => return status(400, "BadRequest", "invalid continue token"),
            }
        }
    };
    let limit = params.get("limit").and_then(|l| l.parse::<usize>().ok()).unwrap_or(usize::MAX).min(b.page_size);
    let end = (offset + limit).min(items.len());
    let remaining = items.len() - end;
    let page: Vec<Value> = items
        .drain(offset..end)
        .map(|mut o| {
            // Typed lists' items carry neither apiVersion nor kind.
            let map = o.as_object_mut().unwrap();
            map.remove("apiVersion");
            map.remove("kind");
            o
        })
        .collect();
    let mut metadata = json!({"resourceVersion": "4242"});
    if remaining > 0 {
        metadata["continue"] = json!(token_for(end));
        metadata["remainingItemCount"] = json!(remaining);
    }
    (
        200,
        json!({"kind": format!("{kind}List"), "apiVersion": group_version, "metadata": metadata, "items": page})
            .to_string(),
    )
}

/// Kinds always served, even with no objects (an empty list, like a real cluster): the
/// built-in ones netreach reads, and Secrets.
static KNOWN: std::sync::LazyLock<Vec<Value>> = std::sync::LazyLock::new(|| {
    netreach::live::RESOURCES
        .iter()
        .filter(|r| !r.optional)
        .map(|r| json!({"apiVersion": r.api_version(r.versions[0]), "kind": r.kind}))
        .chain([json!({"apiVersion": "v1", "kind": "Secret"})])
        .collect()
});

/// Every object of the manifests under `dir`, Lists unpacked, namespaced objects given the
/// namespace the API server would (`default`) and the decorations a live cluster has:
/// managedFields, a last-applied-configuration annotation, environment variable values.
pub fn objects_of(dir: &Path) -> Vec<Value> {
    let mut files = Vec::new();
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(&p, out);
            } else if matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml" | "json")) {
                out.push(p);
            }
        }
    }
    if dir.is_dir() {
        walk(dir, &mut files);
    } else {
        files.push(dir.to_path_buf());
    }
    let mut objects = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let docs: Vec<Value> = serde_saphyr::from_multiple(&text).unwrap();
        for doc in docs {
            flatten(doc, &mut objects);
        }
    }
    for o in &mut objects {
        let (api_version, kind) = (o["apiVersion"].as_str().unwrap_or(""), o["kind"].as_str().unwrap_or(""));
        if let Some((_, true)) = resource_of(api_version, kind) {
            if o["metadata"]["namespace"].as_str().is_none() {
                o["metadata"]["namespace"] = json!("default");
            }
        }
        decorate(o);
    }
    objects
}

fn flatten(doc: Value, out: &mut Vec<Value>) {
    if doc.is_null() {
        return;
    }
    if doc["kind"].as_str().is_some_and(|k| k.ends_with("List")) {
        for item in doc["items"].as_array().cloned().unwrap_or_default() {
            flatten(item, out);
        }
    } else {
        out.push(doc);
    }
}

/// What a live cluster adds that snapshots must drop.
fn decorate(o: &mut Value) {
    let copy = o.to_string();
    // Build files (a Kustomization) have no metadata; they are never served anyway.
    let Some(metadata) = o["metadata"].as_object_mut() else { return };
    metadata.insert(
        "managedFields".into(),
        json!([{"manager": "kubectl-client-side-apply", "operation": "Update", "fieldsV1": {"f:metadata": {}}}]),
    );
    metadata.insert("uid".into(), json!("3f1c7a52-0000-4000-8000-000000000000"));
    let annotations = metadata.entry("annotations").or_insert_with(|| json!({}));
    annotations["kubectl.kubernetes.io/last-applied-configuration"] = json!(copy);
    fn env(spec: &mut Value) {
        if let Some(containers) = spec.get_mut("containers").and_then(Value::as_array_mut) {
            for c in containers {
                c["env"] = json!([{"name": "DB_PASSWORD", "value": "hunter2"}, {"name": "MODE", "value": "true"}]);
            }
        }
    }
    match o["kind"].as_str() {
        Some("Pod") => env(&mut o["spec"]),
        Some("Deployment" | "ReplicaSet" | "StatefulSet" | "DaemonSet" | "Job" | "ReplicationController") => {
            env(&mut o["spec"]["template"]["spec"])
        }
        Some("CronJob") => env(&mut o["spec"]["jobTemplate"]["spec"]["template"]["spec"]),
        _ => {}
    }
}

/// A kubeconfig in `dir` pointing at `server`, with a bearer token; returns its path.
pub fn kubeconfig(dir: &Path, server: &str, token: &str, namespace: Option<&str>) -> PathBuf {
    kubeconfig_with_user(dir, "kubeconfig", server, &format!("token: {token}"), namespace)
}

/// A kubeconfig file `name` in `dir` whose user `tester` is `user` (YAML lines under `user:`,
/// e.g. `token: t` or an `exec:` block), with contexts `test` (current) and `other`.
pub fn kubeconfig_with_user(dir: &Path, name: &str, server: &str, user: &str, namespace: Option<&str>) -> PathBuf {
    let namespace = namespace.map(|n| format!("\n    namespace: {n}")).unwrap_or_default();
    let user: String = user.lines().map(|l| format!("    {l}\n")).collect();
    let text = format!(
        "apiVersion: v1
kind: Config
clusters:
- name: test
  cluster:
    server: {server}
contexts:
- name: test
  context:
    cluster: test
    user: tester{namespace}
- name: other
  context:
    cluster: test
    user: tester
current-context: test
users:
- name: tester
  user:
{user}"
    );
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}
