//! Loading a cluster from manifests: read → type (k8s-openapi) → validate → [`Cluster`].
//! Every error names the file, the document, the object and the field.

mod admin;
mod aliases;
mod authz;
mod calico;
mod cilium;
mod convert;
mod documents;
mod entrypoints;
pub mod infrastructure;
mod json;
mod kinds;
mod mesh;
mod networkpolicy;
mod rbac;
mod render;

/// The effect recorded for the AuthorizationPolicies `netreach mesh` evaluates.
pub use authz::MESH_ONLY as AUTHZ_EVALUATED_BY_MESH;
pub use documents::{is_manifest, Input};
use netreach_model::Cluster;
use std::collections::{BTreeMap, HashMap};
use std::fmt;

/// The annotation that suppresses findings on an object: `netreach.io/ignore: "NR001,NR003"`.
pub const IGNORE_ANNOTATION: &str = "netreach.io/ignore";

/// Where an object starts in a file on disk, for outputs that point at source lines (SARIF).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    pub file: String,
    /// 1-based; 0 when unknown.
    pub line: usize,
}

/// What the loader keeps of each object for findings (with `LoadOptions::locations`): where it
/// was read, and the finding ids its `netreach.io/ignore` annotation suppresses; by kind,
/// namespace as written (empty when absent) and name.
#[derive(Clone, Debug, Default)]
pub struct ObjectIndex {
    locations: HashMap<(String, String, String), Location>,
    ignores: HashMap<(String, String, String), Vec<String>>,
}

impl ObjectIndex {
    fn key(kind: &str, namespace: Option<&str>, name: &str) -> (String, String, String) {
        (kind.to_string(), namespace.unwrap_or("").to_string(), name.to_string())
    }

    /// Looks an object up; a namespaced object written without a namespace is found under
    /// `default`, where the loader put it.
    fn find<'a, T>(
        map: &'a HashMap<(String, String, String), T>,
        kind: &str,
        namespace: Option<&str>,
        name: &str,
    ) -> Option<&'a T> {
        map.get(&Self::key(kind, namespace, name))
            .or_else(|| (namespace == Some("default")).then(|| map.get(&Self::key(kind, None, name))).flatten())
    }

    /// Where the object was read, when that is a file on disk.
    pub fn location(&self, kind: &str, namespace: Option<&str>, name: &str) -> Option<&Location> {
        Self::find(&self.locations, kind, namespace, name)
    }

    /// The finding ids the object's `netreach.io/ignore` annotation lists (trimmed; empty when none).
    pub fn ignored(&self, kind: &str, namespace: Option<&str>, name: &str) -> &[String] {
        Self::find(&self.ignores, kind, namespace, name).map(Vec::as_slice).unwrap_or_default()
    }

    /// Records the object's annotation, and with `locate` where it was read.
    fn add(&mut self, raw: &documents::RawObject, locate: bool, on_disk: &mut HashMap<String, bool>) {
        let (Some(name), kind) = (raw.head.name.as_str(), raw.head.kind.as_str()) else { return };
        let key = Self::key(kind, raw.head.namespace.as_str(), name);
        if let Some(ignore) = &raw.head.ignore {
            let ids = ignore.split(',').map(str::trim).filter(|id| !id.is_empty()).map(str::to_string).collect();
            self.ignores.insert(key.clone(), ids);
        }
        let file = &raw.origin.file;
        if locate && *on_disk.entry(file.clone()).or_insert_with(|| std::path::Path::new(file).is_file()) {
            self.locations.insert(key, Location { file: file.clone(), line: raw.origin.line });
        }
    }
}

/// Where an object was read: file, 1-based document, and the item path inside Lists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    pub file: String,
    pub document: usize,
    pub items: Vec<usize>,
    /// The 1-based line the object starts at in `file` (its document, or its item of a List;
    /// in JSON where its `{` is); 0 when unknown (live reads).
    pub line: usize,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: document {}", self.file, self.document)?;
        for i in &self.items {
            write!(f, ", items[{i}]")?;
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("{file}: {message}")]
    Syntax { file: String, message: String },
    #[error("{origin}: {object}: field {field}: {message}")]
    Invalid { origin: Origin, object: String, field: String, message: String },
    #[error("{origin}: {object} is defined twice (first at {first})")]
    Duplicate { origin: Origin, object: String, first: Origin },
    #[error("no input: give files, folders or - for stdin")]
    NoInput,
    #[error("{origin}: {object} is not in the cluster, so it cannot be deleted")]
    NotFound { origin: Origin, object: String },
    #[error("{path}: larger than the input limit of {} (raise it with --max-input-size if this really is one manifest file)", format_size(*limit))]
    TooLarge { path: String, limit: u64 },
    #[error("{path}: no .yaml, .yml or .json file in this folder (give the folder that holds the manifests, or render a chart or kustomization first)")]
    NoManifests { path: String },
    #[error("no Kubernetes object in the input ({files} file(s) read)")]
    NoObjects { files: usize },
    /// A kustomization or Helm chart that could not be rendered (no renderer, or it failed).
    #[error("{path}: {message}")]
    Render { path: String, message: String },
    /// A kustomization or chart inside a folder given: its files are a renderer's input.
    #[error("{path}: {what} inside a folder given: its files are not the cluster (patches, overlays, templates); name the folder itself to render it, or render it yourself (`{hint} | netreach COMMAND -`)")]
    Source { path: String, what: &'static str, hint: String },
    /// Stdin named as an input gave no object: the command feeding the pipe most likely
    /// failed, so this is an error even beside other inputs and with `--skip-invalid`.
    #[error("stdin (-) was empty or held only comments: no Kubernetes object to read; did the command feeding the pipe fail?")]
    EmptyStdin,
    /// Every invalid file and document of a run, in load order (one per line).
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Several(Vec<LoadError>),
}

impl LoadError {
    /// One error, or all of them.
    pub fn from_all(mut errors: Vec<LoadError>) -> LoadError {
        if errors.len() == 1 {
            errors.remove(0)
        } else {
            LoadError::Several(errors)
        }
    }
}

/// How inputs are read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadOptions {
    /// The largest file (or stdin) read, in bytes.
    pub max_file_bytes: u64,
    /// The same object defined twice is an error (default: the later one wins, with a warning,
    /// as `kubectl apply` would do).
    pub strict: bool,
    /// Analyze what is valid: each invalid file or document becomes a warning and is listed in
    /// `Cluster::skipped_invalid`, which every output reports.
    pub skip_invalid: bool,
    /// Keep each object's source line in the [`ObjectIndex`] (SARIF); annotations are kept always.
    pub index: bool,
}

/// 1 GiB: a kubectl export of 150,000 pods is well below it.
pub const DEFAULT_MAX_FILE_BYTES: u64 = 1 << 30;

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions { max_file_bytes: DEFAULT_MAX_FILE_BYTES, strict: false, skip_invalid: false, index: false }
    }
}

/// `512MiB`, `2GiB`, `100M`, `1G`, `4096` (bytes): the `--max-input-size` syntax.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let bad = || format!("invalid size {text:?}: use e.g. 512MiB, 2GiB, 100M or a number of bytes");
    let number: u64 = t[..digits].parse().map_err(|_| bad())?;
    let unit: u64 = match t[digits..].trim() {
        "" | "B" => 1,
        "K" | "KB" => 1_000,
        "Ki" | "KiB" => 1 << 10,
        "M" | "MB" => 1_000_000,
        "Mi" | "MiB" => 1 << 20,
        "G" | "GB" => 1_000_000_000,
        "Gi" | "GiB" => 1 << 30,
        "T" | "TB" => 1_000_000_000_000,
        "Ti" | "TiB" => 1 << 40,
        _ => return Err(bad()),
    };
    number.checked_mul(unit).ok_or_else(|| format!("size {text:?} is too large"))
}

/// `1 GiB`, `512 MiB`, `1000 bytes`.
pub fn format_size(bytes: u64) -> String {
    for (unit, name) in [(1u64 << 40, "TiB"), (1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")] {
        if bytes >= unit && bytes.is_multiple_of(unit) {
            return format!("{} {name}", bytes / unit);
        }
    }
    format!("{bytes} bytes")
}

/// What the loader did besides building the cluster; printed as notes on stderr.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoadReport {
    pub files: usize,
    pub objects: usize,
    /// Objects of kinds netreach does not evaluate, by `Kind (apiVersion)`.
    pub skipped: BTreeMap<String, usize>,
    /// The same skipped objects one by one, in input order, for checks that name them (the
    /// audit names operator custom resources that will create pods).
    pub skipped_objects: Vec<SkippedObject>,
    /// Documents without a `kind` (not Kubernetes objects), with the first one's location.
    pub not_objects: usize,
    pub first_not_object: Option<String>,
    /// Pods in phase Succeeded or Failed.
    pub finished_pods: usize,
    /// Pods built from controller templates because the controller had no pods in the input.
    pub synthesized_pods: usize,
    /// Controllers without live pods that stand for no pod (scaled to 0, a DaemonSet matching
    /// no node), one note each.
    pub no_pods: Vec<String>,
    /// Namespaces used by pods or policies but not defined.
    pub undefined_namespaces: Vec<String>,
    /// Input the API server would reject but whose meaning is unambiguous, with its location.
    pub warnings: Vec<String>,
    /// Policies the answers leave out (kinds not evaluated), one line per kind: shown even
    /// with `-q`, since every answer is incomplete without them.
    pub unevaluated: Vec<String>,
    /// Workloads that are Helm hooks (`helm.sh/hook`): analyzed as if they ran.
    pub helm_hooks: Vec<String>,
}

/// An object of a kind netreach does not evaluate: its identity only.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SkippedObject {
    pub api_version: String,
    pub kind: String,
    /// `metadata.namespace`, `default` when absent (for cluster-scoped kinds too: netreach
    /// does not know which unknown kinds are cluster-scoped).
    pub namespace: String,
    pub name: String,
}

impl LoadReport {
    /// Human notes, one per line, for stderr (warnings are separate).
    pub fn notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        if !self.skipped.is_empty() {
            let total: usize = self.skipped.values().sum();
            let kinds: Vec<String> = self.skipped.iter().map(|(k, n)| format!("{n} {k}")).collect();
            notes.push(format!("skipped {total} object(s) of kinds netreach does not evaluate: {}", kinds.join(", ")));
        }
        if self.not_objects > 0 {
            notes.push(format!(
                "skipped {} document(s) without a `kind` (not Kubernetes objects), first at {}",
                self.not_objects,
                self.first_not_object.as_deref().unwrap_or("?")
            ));
        }
        if !self.helm_hooks.is_empty() {
            notes.push(format!(
                "{} Helm hook(s) analyzed as if running, though Helm runs them only around install, upgrade or test: {}",
                self.helm_hooks.len(),
                self.helm_hooks.join(", ")
            ));
        }
        if self.finished_pods > 0 {
            notes.push(format!("ignored {} pod(s) in phase Succeeded or Failed", self.finished_pods));
        }
        notes.extend(self.no_pods.iter().cloned());
        if !self.undefined_namespaces.is_empty() {
            notes.push(format!(
                "namespace(s) used but not defined, assumed to carry only the kubernetes.io/metadata.name label: {}",
                self.undefined_namespaces.join(", ")
            ));
        }
        notes
    }
}

pub struct LoadedCluster {
    pub cluster: Cluster,
    pub report: LoadReport,
    /// Suppression annotations; source lines only with `LoadOptions::index`.
    pub index: ObjectIndex,
}

/// Reads every input and builds the cluster. Pods, policies and namespaces come out sorted by
/// namespace and name, so answers never depend on file layout.
pub fn load(inputs: &[Input]) -> Result<LoadedCluster, LoadError> {
    load_with(inputs, &LoadOptions::default())
}

/// [`load`] with options (input size limit).
pub fn load_with(inputs: &[Input], options: &LoadOptions) -> Result<LoadedCluster, LoadError> {
    if inputs.is_empty() {
        return Err(LoadError::NoInput);
    }
    let mut objects = Vec::new();
    let mut stats = documents::ReadStats::default();
    documents::read_inputs(inputs, options, &mut objects, &mut stats);
    if objects.is_empty() && stats.errors.is_empty() {
        return Err(LoadError::NoObjects { files: stats.files });
    }
    build(objects, stats, options)
}

/// Loads from in-memory text, as if it were a file named `name` (tests, stdin-like callers).
pub fn load_str(name: &str, text: &str) -> Result<LoadedCluster, LoadError> {
    let mut objects = Vec::new();
    let mut stats = documents::ReadStats { files: 1, ..Default::default() };
    documents::parse_text(name, text.to_string(), None, &mut objects, &mut stats)?;
    build(objects, stats, &LoadOptions::default())
}

/// Loads objects that were read elsewhere (a live cluster): each value is a manifest document
/// (an object, a `List` or a typed list such as `PodList`) and its origin. Each goes through
/// exactly the reading a JSON file gets (Lists unpacked, typed-list items given their kind),
/// then the same conversion, so the same objects give the same answers wherever they come from.
pub fn load_values(values: Vec<(Origin, serde_json::Value)>) -> Result<LoadedCluster, LoadError> {
    let mut objects = Vec::new();
    let mut stats = documents::ReadStats::default();
    for (origin, value) in values {
        let text = serde_json::to_string(&value).expect("a JSON value always serializes");
        let (first_object, first_other) = (objects.len(), stats.not_objects.len());
        documents::parse_text(&origin.file, text, Some(true), &mut objects, &mut stats)?;
        // Locations inside this document count from the given origin.
        let read =
            objects[first_object..].iter_mut().map(|o| &mut o.origin).chain(&mut stats.not_objects[first_other..]);
        for o in read {
            o.document = origin.document;
            o.items.splice(0..0, origin.items.iter().copied());
            // The text parsed is our own serialization, not the origin's file.
            o.line = origin.line;
        }
    }
    build(objects, stats, &LoadOptions::default())
}

/// Converts what was read; every error of the run — files that could not be read or parsed,
/// and invalid objects — is returned at once.
fn build(
    objects: Vec<documents::RawObject>,
    mut stats: documents::ReadStats,
    options: &LoadOptions,
) -> Result<LoadedCluster, LoadError> {
    let mut report = LoadReport {
        files: stats.files,
        objects: objects.len(),
        not_objects: stats.not_objects.len(),
        first_not_object: stats.not_objects.first().map(|o| o.to_string()),
        warnings: stats
            .skipped_links
            .iter()
            .map(|link| format!("{link}: a symbolic link to a folder, not followed (like kubectl -R); name the folder itself to read it"))
            .collect(),
        ..Default::default()
    };
    let mut errors = std::mem::take(&mut stats.errors);
    let mut index = ObjectIndex::default();
    let mut on_disk = HashMap::new();
    for raw in &objects {
        index.add(raw, options.index, &mut on_disk);
    }
    let (mut cluster, invalid) = convert::build_cluster(objects, &mut report, options);
    errors.extend(invalid);
    if !errors.is_empty() {
        if !options.skip_invalid || errors.iter().any(|e| matches!(e, LoadError::EmptyStdin)) {
            return Err(LoadError::from_all(errors));
        }
        cluster.skipped_invalid = errors.iter().map(ToString::to_string).collect();
        for e in &cluster.skipped_invalid {
            report.warnings.push(format!("left out (--skip-invalid): {e}"));
        }
    }
    kinds::warn_unevaluated(&cluster, &mut report);
    Ok(LoadedCluster { cluster, report, index })
}

/// What [`load_what_if`] did to the base objects, as `Kind namespace/name` (`Kind name` for
/// cluster-scoped kinds), in the order the changes were read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AppliedChanges {
    pub created: Vec<String>,
    pub replaced: Vec<String>,
    pub deleted: Vec<String>,
    /// How many objects the `apply` manifests held (each created, replaced, or — a staged
    /// Calico policy with `stagedAction: Delete` — deleting).
    pub applied: usize,
}

/// How a change from a staged policy is labelled: `NetworkPolicy.projectcalico.org shop/db (staged)`.
fn staged_label(key: &(String, String, String)) -> String {
    format!("{} (staged)", key_label(key))
}

/// A cluster before and after a set of manifest changes.
pub struct WhatIf {
    pub before: LoadedCluster,
    pub after: LoadedCluster,
    pub changes: AppliedChanges,
}

/// `Kind namespace/name`, or `Kind name` for cluster-scoped kinds.
pub(crate) fn key_label((kind, namespace, name): &(String, String, String)) -> String {
    if namespace.is_empty() {
        format!("{kind} {name}")
    } else {
        format!("{kind} {namespace}/{name}")
    }
}

/// What-if loading: BEFORE is `base`; AFTER is `base` with every object of `apply` created or
/// replacing the base object of the same kind/namespace/name (like `kubectl apply`), and every
/// object named in `delete` removed (naming an object that is not in `base` is an error). A
/// staged Calico policy in `apply` is what committing it enforces (`load/calico/staged.rs`): it
/// sets, or with `stagedAction: Delete` removes, the policy of its name.
/// Objects are merged as read, before typing, so both sides go through the same conversion and
/// validation; an object given twice in `apply` is an error like in any input.
pub fn load_what_if(base: &[Input], apply: &[Input], delete: &[Input]) -> Result<WhatIf, LoadError> {
    load_what_if_with(base, apply, delete, &LoadOptions::default())
}

/// [`load_what_if`] with options (input size limit).
pub fn load_what_if_with(
    base: &[Input],
    apply: &[Input],
    delete: &[Input],
    options: &LoadOptions,
) -> Result<WhatIf, LoadError> {
    if base.is_empty() {
        return Err(LoadError::NoInput);
    }
    let mut objects = Vec::new();
    let mut stats = documents::ReadStats::default();
    documents::read_inputs(base, options, &mut objects, &mut stats);
    let mut changes = Vec::new();
    let mut change_stats = documents::ReadStats::default();
    documents::read_inputs(apply, options, &mut changes, &mut change_stats);
    let mut deletions = Vec::new();
    let mut delete_stats = documents::ReadStats::default();
    documents::read_inputs(delete, options, &mut deletions, &mut delete_stats);
    let unreadable: Vec<LoadError> = [&mut stats.errors, &mut change_stats.errors, &mut delete_stats.errors]
        .into_iter()
        .flat_map(std::mem::take)
        .collect();
    if !unreadable.is_empty() {
        return Err(LoadError::from_all(unreadable));
    }

    let mut merged: Vec<Option<documents::RawObject>> = objects.iter().cloned().map(Some).collect();
    let mut index: std::collections::HashMap<(String, String, String), usize> =
        objects.iter().enumerate().map(|(i, o)| (convert::identity(&o.head), i)).collect();
    let mut applied = AppliedChanges::default();
    for raw in deletions {
        let key = convert::identity(&raw.head);
        match index.remove(&key) {
            Some(i) => {
                merged[i] = None;
                applied.deleted.push(key_label(&key));
            }
            None => return Err(LoadError::NotFound { origin: raw.origin, object: key_label(&key) }),
        }
    }
    let mut seen_changes: std::collections::HashMap<(String, String, String), Origin> =
        std::collections::HashMap::new();
    // Staged Calico policies stand for the policy Calico enforces once they are committed.
    let mut staged_errors = Vec::new();
    let changes: Vec<(documents::RawObject, Option<bool>)> = changes
        .into_iter()
        .filter_map(|raw| match calico::staged::staged_change(&raw) {
            None => Some((raw, None)),
            Some(Ok(calico::staged::StagedChange::Set(enforced))) => Some((enforced, Some(false))),
            Some(Ok(calico::staged::StagedChange::Delete(enforced))) => Some((enforced, Some(true))),
            Some(Err(e)) => {
                staged_errors.push(e);
                None
            }
        })
        .collect();
    if !staged_errors.is_empty() {
        return Err(LoadError::from_all(staged_errors));
    }
    applied.applied = changes.len();
    for (raw, staged) in changes {
        let key = convert::identity(&raw.head);
        let label = if staged.is_some() { staged_label(&key) } else { key_label(&key) };
        if let Some(first) = seen_changes.get(&key) {
            return Err(LoadError::Duplicate { origin: raw.origin, object: key_label(&key), first: first.clone() });
        }
        seen_changes.insert(key.clone(), raw.origin.clone());
        if staged == Some(true) {
            match index.remove(&key) {
                Some(i) => {
                    merged[i] = None;
                    applied.deleted.push(label);
                }
                None => return Err(LoadError::NotFound { origin: raw.origin, object: key_label(&key) }),
            }
            continue;
        }
        match index.get(&key) {
            Some(&i) => {
                merged[i] = Some(raw);
                applied.replaced.push(label);
            }
            None => {
                index.insert(key.clone(), merged.len());
                merged.push(Some(raw));
                applied.created.push(label);
            }
        }
    }
    let after_stats = documents::ReadStats {
        files: stats.files + change_stats.files,
        not_objects: stats.not_objects.iter().chain(&change_stats.not_objects).cloned().collect(),
        skipped_links: stats.skipped_links.iter().chain(&change_stats.skipped_links).cloned().collect(),
        errors: Vec::new(),
    };
    let before = build(objects, stats, options)?;
    let after = build(merged.into_iter().flatten().collect(), after_stats, options)?;
    Ok(WhatIf { before, after, changes: applied })
}
