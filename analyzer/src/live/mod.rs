//! Reading a live cluster, read-only, through a kubeconfig: the objects the manifest loader
//! reads from files, fetched with paginated list calls (`limit` + `continue`).
//!
//! - Which cluster: `--kubeconfig FILE` (else `$KUBECONFIG`, a list of files merged as kubectl
//!   does, else `~/.kube/config`, else the in-cluster service account), `--context NAME` (else
//!   the current context).
//! - What: [`RESOURCES`], in every namespace or in the namespaces given (namespaced list URLs,
//!   so a namespace-scoped RoleBinding suffices). Optional API groups (admin policy tiers, Istio)
//!   are listed when discovery (`/apis`) shows them. Never Secrets, never a write: only GET.
//! - Failures: a resource the credentials may not list (403) is skipped with a warning saying
//!   which answers are incomplete; 401, an unreachable server, TLS errors and requests that
//!   outlast the timeout end the run with one line ([`LiveError`]).
//! - Every object is cleaned ([`clean`]) and given its `apiVersion`/`kind` as soon as it is
//!   read: analysis and snapshots see exactly the same objects, so analyzing a snapshot gives
//!   the same answers as analyzing the cluster.

mod clean;
mod credentials;
mod progress;
mod resources;
mod url;

pub use clean::{clean, LAST_APPLIED};
pub use credentials::{home_kubeconfig, kubeconfig_env_paths};
pub use resources::{Resource, RESOURCES};
pub use url::{api_path, validate_namespace, InvalidName};

use crate::load::Origin;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::core::params::ListParams;
use progress::Progress;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Items per list call, as kubectl uses.
pub const PAGE_SIZE: u32 = 500;
/// List calls in flight at once.
const CONCURRENCY: usize = 6;

/// Where and what to read.
#[derive(Clone, Debug, Default)]
pub struct LiveOptions {
    pub kubeconfig: Option<PathBuf>,
    pub context: Option<String>,
    /// Empty: every namespace.
    pub namespaces: Vec<String>,
    /// Per request (each page), including connecting; also bounds building the client and
    /// obtaining the first credentials (exec plugins). `None`: wait forever.
    pub request_timeout: Option<Duration>,
    /// One resource's whole listing (every page); `None`: no limit.
    pub list_timeout: Option<Duration>,
    /// A status line on stderr while listing (drawn only on a terminal).
    pub progress: bool,
}

/// The objects of one list call (all its pages), typed and cleaned.
#[derive(Clone, Debug)]
pub struct ObjectList {
    /// The URL path listed, e.g. `/api/v1/pods` or `/apis/apps/v1/namespaces/shop/deployments`.
    pub path: String,
    pub api_version: String,
    /// The kind of the items (`Pod`).
    pub kind: String,
    pub items: Vec<Value>,
}

/// What was read from a cluster.
#[derive(Clone, Debug)]
pub struct ClusterRead {
    pub context: Option<String>,
    pub server: String,
    /// The namespaces read; empty: all.
    pub namespaces: Vec<String>,
    pub lists: Vec<ObjectList>,
    /// Resources skipped (403), each with the answers it leaves incomplete.
    pub warnings: Vec<String>,
}

impl ClusterRead {
    /// `context "prod" (https://10.0.0.1:6443)`.
    pub fn describe(&self) -> String {
        describe(self.context.as_deref(), &self.server)
    }

    pub fn object_count(&self) -> usize {
        self.lists.iter().map(|l| l.items.len()).sum()
    }

    /// One typed list (`PodList`, …) per list call, for [`crate::load::load_values`]: the same
    /// reading as a file's lists.
    pub fn into_values(self) -> Vec<(Origin, Value)> {
        let server = self.server;
        self.lists
            .into_iter()
            .map(|l| {
                let origin = Origin { file: format!("{server}{}", l.path), document: 1, items: Vec::new(), line: 0 };
                (origin, json!({"apiVersion": l.api_version, "kind": format!("{}List", l.kind), "items": l.items}))
            })
            .collect()
    }

    /// Everything read as one `kind: List`, as `kubectl get -o yaml` writes it.
    pub fn to_manifest(&self) -> Value {
        let items: Vec<&Value> = self.lists.iter().flat_map(|l| &l.items).collect();
        json!({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": items})
    }
}

fn describe(context: Option<&str>, server: &str) -> String {
    match context {
        Some(c) => format!("context {c:?} ({server})"),
        None => format!("in-cluster service account ({server})"),
    }
}

/// Why reading a cluster failed. Each renders as one line.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    /// No usable kubeconfig, context or credentials configuration.
    #[error("{0}")]
    Config(String),
    #[error("{target}: 401 Unauthorized on GET {path}: the credentials are missing, invalid or expired (log in again or refresh the kubeconfig)")]
    Unauthorized { target: String, path: String },
    #[error("{target}: cannot obtain credentials: {cause}")]
    Credentials { target: String, cause: String },
    #[error("cannot reach {target}: {cause}")]
    Unreachable { target: String, cause: String },
    #[error("TLS with {target} failed: {cause}")]
    Tls { target: String, cause: String },
    #[error("{target} did not answer GET {path} within {timeout} (--request-timeout)")]
    Timeout { target: String, path: String, timeout: String },
    #[error("{target}: GET {path}: {code} {reason}: {message}")]
    Api { target: String, path: String, code: u16, reason: String, message: String },
    #[error("{target}: GET {path}: {message}")]
    Response { target: String, path: String, message: String },
    #[error("{target}: namespace {namespace:?} not found")]
    NoNamespace { target: String, namespace: String },
    #[error("{target}: building the client and obtaining credentials took longer than {timeout} (--request-timeout){}", credentials::hint(.program))]
    SetupTimeout { target: String, timeout: String, program: Option<String> },
    #[error("{target}: GET {path}: listing took longer than {timeout} (--list-timeout)")]
    ListTimeout { target: String, path: String, timeout: String },
}

/// `30s`, `1m30s`, `500ms`, `2h`, or a plain number of seconds; `0` means no timeout (kubectl's
/// `--request-timeout` syntax).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("invalid duration {text:?}: use e.g. 30s, 1m, 500ms (0 for none)");
    let text = text.trim();
    if text.is_empty() {
        return Err(bad());
    }
    // A year is far beyond any request; larger numbers are typos (and would overflow).
    let too_long = || format!("duration {text:?} is too long: at most {}h", MAX_DURATION.as_secs() / 3600);
    if let Ok(seconds) = text.parse::<u64>() {
        return Some(Duration::from_secs(seconds)).filter(|d| *d <= MAX_DURATION).ok_or_else(too_long);
    }
    if text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(too_long());
    }
    let mut total = Duration::ZERO;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).ok_or_else(bad)?;
        let number: f64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let seconds = match &rest[..unit_len] {
            "ms" => number / 1000.0,
            "s" => number,
            "m" => number * 60.0,
            "h" => number * 3600.0,
            _ => return Err(bad()),
        };
        rest = &rest[unit_len..];
        let part = Duration::try_from_secs_f64(seconds).map_err(|_| too_long())?;
        total = total.checked_add(part).filter(|d| *d <= MAX_DURATION).ok_or_else(too_long)?;
    }
    Ok(total)
}

/// The longest `--request-timeout`/`--list-timeout` accepted: 366 days.
pub const MAX_DURATION: Duration = Duration::from_secs(366 * 24 * 3600);

/// `1.5s`, `300ms`, `30s` as written back in messages.
pub fn format_duration(d: Duration) -> String {
    if d.subsec_millis() == 0 || d.as_secs() >= 60 {
        format!("{}s", d.as_secs())
    } else if d.as_secs() == 0 {
        format!("{}ms", d.as_millis())
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

/// Reads the cluster: discovery, then every resource's list calls, several at once.
pub fn read(options: &LiveOptions) -> Result<ClusterRead, LiveError> {
    // Before anything is read or sent: every name that reaches a URL.
    for namespace in &options.namespaces {
        validate_namespace(namespace).map_err(|e| LiveError::Config(e.0))?;
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| LiveError::Config(format!("cannot start the HTTP client: {e}")))?;
    let result = runtime.block_on(read_async(options));
    // A credential plugin that outlived its deadline still runs on a blocking thread: do not
    // wait for it.
    runtime.shutdown_background();
    result
}

/// The kubeconfig (or in-cluster account) and the context chosen.
async fn client_config(options: &LiveOptions) -> Result<(kube::Config, Option<String>, Option<String>), LiveError> {
    let kubeconfig = match &options.kubeconfig {
        Some(path) => {
            Kubeconfig::read_from(path).map_err(|e| LiveError::Config(format!("kubeconfig {}: {e}", path.display())))?
        }
        None => match credentials::kubeconfig_from_env()? {
            Some(k) => k,
            None => {
                let default = credentials::home_kubeconfig();
                match default {
                    Some(path) if path.exists() => {
                        Kubeconfig::read_from(&path).map_err(|e| LiveError::Config(format!("kubeconfig {}: {e}", path.display())))?
                    }
                    _ if options.context.is_none() && std::env::var_os("KUBERNETES_SERVICE_HOST").is_some() => {
                        let config = kube::Config::incluster()
                            .map_err(|e| LiveError::Config(format!("in-cluster configuration: {e}")))?;
                        return Ok((config, None, None));
                    }
                    _ => {
                        return Err(LiveError::Config(
                            "no kubeconfig: $KUBECONFIG is not set and ~/.kube/config does not exist (give --kubeconfig FILE)".into(),
                        ))
                    }
                }
            }
        },
    };
    let Some(context) =
        options.context.clone().or_else(|| kubeconfig.current_context.clone().filter(|c| !c.is_empty()))
    else {
        return Err(LiveError::Config("the kubeconfig has no current context: give --context NAME".into()));
    };
    let Some(named) = kubeconfig.contexts.iter().find(|c| c.name == context) else {
        let names: Vec<&str> = kubeconfig.contexts.iter().map(|c| c.name.as_str()).collect();
        return Err(LiveError::Config(format!(
            "the kubeconfig has no context {context:?} (it has: {})",
            if names.is_empty() { "none".to_string() } else { names.join(", ") }
        )));
    };
    let context_namespace = named.context.as_ref().and_then(|c| c.namespace.clone());
    let kube_options = KubeConfigOptions { context: Some(context.clone()), ..Default::default() };
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &kube_options)
        .await
        .map_err(|e| LiveError::Config(format!("kubeconfig context {context:?}: {e}")))?;
    Ok((config, Some(context), context_namespace))
}

/// Everything a list task needs, shared.
struct Reader {
    client: kube::Client,
    target: String,
    timeout: Option<Duration>,
    list_timeout: Option<Duration>,
    /// The credential plugin the kubeconfig runs, named in errors (never its arguments).
    program: Option<String>,
    progress: Progress,
}

/// How one list call ended, short of a fatal error.
enum Listed {
    Items(ObjectList),
    Forbidden(String),
    NotServed,
}

impl Reader {
    /// One GET, with the timeout; errors classified.
    async fn get(&self, request: http::Request<Vec<u8>>) -> Result<String, Failure> {
        let path = request.uri().path().to_string();
        let call = self.client.request_text(request);
        let result = match self.timeout {
            Some(t) => tokio::time::timeout(t, call).await.map_err(|_| {
                Failure::Fatal(LiveError::Timeout {
                    target: self.target.clone(),
                    path: path.clone(),
                    timeout: format_duration(t),
                })
            })?,
            None => call.await,
        };
        result.map_err(|e| self.classify(e, &path))
    }

    fn classify(&self, error: kube::Error, path: &str) -> Failure {
        let target = self.target.clone();
        let path = path.to_string();
        match error {
            kube::Error::Api(status) => match status.code {
                401 => Failure::Fatal(LiveError::Unauthorized { target, path }),
                403 => Failure::Forbidden(status.message.clone()),
                404 => Failure::NotFound,
                410 => Failure::Expired,
                code => Failure::Fatal(LiveError::Api {
                    target,
                    path,
                    code,
                    reason: if status.reason.is_empty() { "error".into() } else { status.reason.clone() },
                    message: status.message.trim().to_string(),
                }),
            },
            kube::Error::Auth(e) => Failure::Fatal(LiveError::Credentials {
                target,
                cause: credentials::describe(&e, self.program.as_deref()),
            }),
            other => {
                // A credential refresh inside a request arrives wrapped in a service error.
                if let Some(cause) = credentials::find_auth_error(&other, self.program.as_deref()) {
                    return Failure::Fatal(LiveError::Credentials { target, cause });
                }
                let cause = chain(&other);
                let lower = cause.to_lowercase();
                if ["tls", "certificate", "handshake", "corrupt message", "invalidcontenttype"]
                    .iter()
                    .any(|w| lower.contains(w))
                {
                    Failure::Fatal(LiveError::Tls { target, cause })
                } else {
                    Failure::Fatal(LiveError::Unreachable { target, cause })
                }
            }
        }
    }

    /// Every page of one list, within `--list-timeout`.
    async fn list(&self, path: &str, resource: &Resource, version: &str) -> Result<Listed, LiveError> {
        match self.list_timeout {
            None => self.list_pages(path, resource, version).await,
            Some(t) => tokio::time::timeout(t, self.list_pages(path, resource, version)).await.unwrap_or_else(|_| {
                Err(LiveError::ListTimeout {
                    target: self.target.clone(),
                    path: path.to_string(),
                    timeout: format_duration(t),
                })
            }),
        }
    }

    /// Every page of one list. A server that repeats a continue token, or sends far more pages
    /// than its `remainingItemCount` announced, would keep the loop (and memory) growing
    /// forever: both end the run.
    async fn list_pages(&self, path: &str, resource: &Resource, version: &str) -> Result<Listed, LiveError> {
        let mut restarted = false;
        'whole: loop {
            let mut items: Vec<Value> = Vec::new();
            let mut token: Option<String> = None;
            let mut tokens_seen: BTreeSet<String> = BTreeSet::new();
            let mut pages: u64 = 0;
            let mut page_limit: Option<u64> = None;
            let (mut api_version, mut kind) = (resource.api_version(version), resource.kind.to_string());
            let misbehaving =
                |message: String| LiveError::Response { target: self.target.clone(), path: path.to_string(), message };
            loop {
                let mut params = ListParams::default().limit(PAGE_SIZE);
                if let Some(t) = &token {
                    params = params.continue_token(t);
                }
                let request = kube::core::Request::new(path)
                    .list(&params)
                    .map_err(|e| LiveError::Config(format!("cannot build the request for {path}: {e}")))?;
                let text = match self.get(request).await {
                    Ok(text) => text,
                    Err(Failure::Fatal(e)) => return Err(e),
                    Err(Failure::Forbidden(message)) => return Ok(Listed::Forbidden(message)),
                    Err(Failure::NotFound) => return Ok(Listed::NotServed),
                    // The continue token expired (the list took longer than the server keeps
                    // it): start over once, as kubectl users would.
                    Err(Failure::Expired) if token.is_some() && !restarted => {
                        restarted = true;
                        continue 'whole;
                    }
                    Err(Failure::Expired) => {
                        return Err(LiveError::Response {
                            target: self.target.clone(),
                            path: path.to_string(),
                            message: "410 Gone: the list expired while it was read; try again".into(),
                        })
                    }
                };
                let not_a_list = |message: String| LiveError::Response {
                    target: self.target.clone(),
                    path: path.to_string(),
                    message: format!("the response is not a Kubernetes list: {message}"),
                };
                let mut page: Value = serde_json::from_str(&text).map_err(|e| not_a_list(e.to_string()))?;
                let Some(Value::Array(page_items)) = page.get_mut("items").map(Value::take) else {
                    return Err(not_a_list("no items".into()));
                };
                if let Some(v) = page.get("apiVersion").and_then(Value::as_str) {
                    api_version = v.to_string();
                }
                if let Some(k) = page
                    .get("kind")
                    .and_then(Value::as_str)
                    .and_then(|k| k.strip_suffix("List"))
                    .filter(|k| !k.is_empty())
                {
                    kind = k.to_string();
                }
                self.progress.page(page_items.len());
                for mut item in page_items {
                    clean::set_type(&mut item, &api_version, &kind);
                    clean::clean(&mut item);
                    items.push(item);
                }
                token = page
                    .pointer("/metadata/continue")
                    .and_then(Value::as_str)
                    .filter(|t| !t.is_empty())
                    .map(str::to_string);
                let Some(next) = &token else {
                    return Ok(Listed::Items(ObjectList { path: path.to_string(), api_version, kind, items }));
                };
                pages += 1;
                if !tokens_seen.insert(next.clone()) {
                    return Err(misbehaving(format!(
                        "the server sent the same continue token twice (after {pages} pages): the list would never end; a proxy or the server is misbehaving"
                    )));
                }
                // The first page's estimate of what is left bounds the pages to come, with
                // generous room for objects created while listing.
                if page_limit.is_none() {
                    if let Some(remaining) = page.pointer("/metadata/remainingItemCount").and_then(Value::as_u64) {
                        page_limit = Some(2 * (1 + remaining / u64::from(PAGE_SIZE)) + 10);
                    }
                }
                if let Some(limit) = page_limit.filter(|l| pages > *l) {
                    return Err(misbehaving(format!(
                        "the server sent {pages} pages where its remainingItemCount announced at most {limit}: the list would never end; a proxy or the server is misbehaving"
                    )));
                }
            }
        }
    }

    /// One namespace object (with `-n`, namespaces are read by name, not listed).
    async fn namespace(&self, name: &str) -> Result<Listed, LiveError> {
        let path = api_path(&["api", "v1", "namespaces", name]).map_err(|e| LiveError::Config(e.0))?;
        let request = http::Request::get(path.as_str())
            .body(Vec::new())
            .map_err(|e| LiveError::Config(format!("cannot build the request for {path}: {e}")))?;
        match self.get(request).await {
            Ok(text) => {
                let mut object: Value = serde_json::from_str(&text).map_err(|e| LiveError::Response {
                    target: self.target.clone(),
                    path: path.clone(),
                    message: format!("the response is not a Namespace: {e}"),
                })?;
                clean::set_type(&mut object, "v1", "Namespace");
                clean::clean(&mut object);
                self.progress.page(1);
                Ok(Listed::Items(ObjectList {
                    path,
                    api_version: "v1".into(),
                    kind: "Namespace".into(),
                    items: vec![object],
                }))
            }
            Err(Failure::Fatal(e)) => Err(e),
            Err(Failure::Forbidden(message)) => Ok(Listed::Forbidden(message)),
            Err(Failure::NotFound) => {
                Err(LiveError::NoNamespace { target: self.target.clone(), namespace: name.to_string() })
            }
            Err(Failure::Expired) => Ok(Listed::NotServed),
        }
    }

    /// Served groups and versions from `/apis`; `None` when discovery is forbidden.
    async fn discover(&self) -> Result<Option<BTreeSet<String>>, LiveError> {
        let request = http::Request::get("/apis").body(Vec::new()).expect("a constant request is valid");
        match self.get(request).await {
            Ok(text) => {
                let list: Value = serde_json::from_str(&text).map_err(|e| LiveError::Response {
                    target: self.target.clone(),
                    path: "/apis".into(),
                    message: format!("the response is not an APIGroupList: {e}"),
                })?;
                let served = list
                    .get("groups")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .flat_map(|g| g.get("versions").and_then(Value::as_array).into_iter().flatten())
                    .filter_map(|v| v.get("groupVersion").and_then(Value::as_str).map(str::to_string))
                    .collect();
                Ok(Some(served))
            }
            Err(Failure::Fatal(e)) => Err(e),
            Err(_) => Ok(None),
        }
    }
}

/// A failed GET: fatal, or one of the statuses a list handles.
enum Failure {
    Fatal(LiveError),
    Forbidden(String),
    NotFound,
    Expired,
}

/// An error and its sources, most specific last, without repeats.
fn chain(error: &dyn std::error::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current: Option<&dyn std::error::Error> = Some(error);
    while let Some(e) = current {
        let text = e.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        current = e.source();
    }
    // The innermost cause says what happened ("Connection refused"); the outer ones are
    // layers ("client error (Connect)").
    parts.last().cloned().unwrap_or_default()
}

/// One list task: what to read and why.
struct Task {
    resource: Resource,
    version: &'static str,
    /// `None`: a cluster-scoped list or a list in every namespace.
    namespace: Option<String>,
}

impl Task {
    fn path(&self) -> Result<String, InvalidName> {
        let mut segments = self.resource.base(self.version);
        match &self.namespace {
            Some(ns) if self.resource.namespaced => segments.extend(["namespaces", ns.as_str(), self.resource.plural]),
            Some(ns) => segments.extend([self.resource.plural, ns.as_str()]),
            None => segments.push(self.resource.plural),
        }
        api_path(&segments)
    }
}

/// The kubeconfig read and the client built — which runs an exec credential plugin — within
/// one `--request-timeout`: a plugin that hangs must not hang netreach. Then API discovery, the
/// first request (with its own timeout).
async fn connect(
    options: &LiveOptions,
) -> Result<(Arc<Reader>, Option<BTreeSet<String>>, Option<String>, Option<String>, String), LiveError> {
    let (mut config, context, context_namespace) = client_config(options).await?;
    if let Some(t) = options.request_timeout {
        config.connect_timeout = Some(t);
    }
    let server = config.cluster_url.to_string().trim_end_matches('/').to_string();
    let target = describe(context.as_deref(), &server);
    let program = credentials::program(&config);
    let build = tokio::task::spawn_blocking(move || kube::Client::try_from(config));
    let built = match options.request_timeout {
        None => build.await,
        Some(t) => tokio::time::timeout(t, build).await.map_err(|_| LiveError::SetupTimeout {
            target: target.clone(),
            timeout: format_duration(t),
            program: program.clone(),
        })?,
    };
    let client = built
        .map_err(|e| LiveError::Config(format!("{target}: the client could not be built: {e}")))?
        .map_err(|e| match credentials::find_auth_error(&e, program.as_deref()) {
            Some(cause) => LiveError::Credentials { target: target.clone(), cause },
            None => LiveError::Config(format!("{target}: {}", chain(&e))),
        })?;
    let reader = Arc::new(Reader {
        client,
        target,
        timeout: options.request_timeout,
        list_timeout: options.list_timeout,
        program,
        progress: Progress::new(options.progress),
    });
    reader.progress.set_total(0);
    let served = reader.discover().await?;
    Ok((reader, served, context, context_namespace, server))
}

async fn read_async(options: &LiveOptions) -> Result<ClusterRead, LiveError> {
    let (reader, served, context, context_namespace, server) = connect(options).await?;
    let namespaces: Vec<String> = {
        let mut seen = BTreeSet::new();
        options.namespaces.iter().filter(|n| seen.insert(n.as_str())).cloned().collect()
    };

    let mut warnings = Vec::new();
    if served.is_none() {
        warnings.push(
            "cannot discover API groups (403 on /apis): the optional kinds are not read (admin policy tiers, Istio, Cilium, Calico, Gateway API, RBAC)"
                .to_string(),
        );
    }

    let mut tasks = Vec::new();
    for resource in RESOURCES {
        let version = if resource.optional {
            let Some(served) = &served else { continue };
            if resource.superseded_by.is_some_and(|by| served.contains(by)) {
                continue;
            }
            match resource.versions.iter().find(|v| served.contains(&resource.api_version(v))) {
                Some(v) => *v,
                None => continue,
            }
        } else {
            resource.versions[0]
        };
        let scoped = !namespaces.is_empty() && (resource.namespaced || resource.kind == "Namespace");
        if scoped {
            tasks.extend(namespaces.iter().map(|ns| Task {
                resource: *resource,
                version,
                namespace: Some(ns.clone()),
            }));
        } else {
            tasks.push(Task { resource: *resource, version, namespace: None });
        }
    }
    reader.progress.set_total(tasks.len());

    // Several list calls at once; results are put back in task order.
    let mut results: Vec<Option<Listed>> = (0..tasks.len()).map(|_| None).collect();
    let mut running = tokio::task::JoinSet::new();
    let mut next = 0;
    while next < tasks.len() || !running.is_empty() {
        while next < tasks.len() && running.len() < CONCURRENCY {
            let task = &tasks[next];
            let path = task.path().map_err(|e| LiveError::Config(e.0))?;
            let (reader, resource, version) = (reader.clone(), task.resource, task.version);
            let by_name = if resource.kind == "Namespace" { task.namespace.clone() } else { None };
            let index = next;
            running.spawn(async move {
                let listed = match by_name {
                    Some(name) => reader.namespace(&name).await,
                    None => reader.list(&path, &resource, version).await,
                };
                reader.progress.resource_done();
                (index, listed)
            });
            next += 1;
        }
        if let Some(done) = running.join_next().await {
            let (index, listed) = done.map_err(|e| LiveError::Config(format!("a list task failed: {e}")))?;
            results[index] = Some(listed?);
        }
    }
    reader.progress.finish();

    let mut lists = Vec::new();
    let mut forbidden_reported = BTreeSet::new();
    for (task, result) in tasks.iter().zip(results) {
        match result.expect("every task ran") {
            Listed::Items(list) => lists.push(list),
            Listed::NotServed => {
                if !task.resource.optional {
                    warnings.push(format!(
                        "{} is not served by this cluster (404): {}",
                        task.resource.display(),
                        task.resource.impact
                    ));
                }
            }
            Listed::Forbidden(message) => {
                let scope = match &task.namespace {
                    Some(ns) if task.resource.namespaced => format!(" in namespace {ns}"),
                    Some(ns) => format!(" {ns}"),
                    None => String::new(),
                };
                let verb = if task.resource.kind == "Namespace" && task.namespace.is_some() { "get" } else { "list" };
                let mut line = format!(
                    "cannot {verb} {}{scope} (403 Forbidden{}): {}",
                    task.resource.display(),
                    if message.is_empty() { String::new() } else { format!(": {message}") },
                    task.resource.impact
                );
                if task.namespace.is_none() && task.resource.namespaced && forbidden_reported.insert("hint") {
                    let example = context_namespace.as_deref().unwrap_or("NAMESPACE");
                    line.push_str(&format!(" (with permissions in some namespaces only, read them with -n {example})"));
                }
                warnings.push(line);
            }
        }
    }
    Ok(ClusterRead { context, server, namespaces, lists, warnings })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_like_kubectl() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("30"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert!(parse_duration("").is_err());
        assert!(parse_duration("5x").is_err());
        assert!(parse_duration("s").is_err());
        assert_eq!(format_duration(Duration::from_millis(250)), "250ms");
        assert_eq!(format_duration(Duration::from_secs(30)), "30s");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1.5s");
    }

    #[test]
    fn paths_per_scope() {
        let pods = RESOURCES.iter().find(|r| r.plural == "pods").unwrap();
        let deployments = RESOURCES.iter().find(|r| r.plural == "deployments").unwrap();
        let path = |r: &Resource, ns: Option<&str>| {
            Task { resource: *r, version: r.versions[0], namespace: ns.map(str::to_string) }.path().unwrap()
        };
        assert_eq!(path(pods, None), "/api/v1/pods");
        assert_eq!(path(pods, Some("shop")), "/api/v1/namespaces/shop/pods");
        assert_eq!(path(deployments, Some("shop")), "/apis/apps/v1/namespaces/shop/deployments");
    }

    #[test]
    fn never_secrets() {
        assert!(RESOURCES.iter().all(|r| r.plural != "secrets" && r.plural != "configmaps"));
    }
}
