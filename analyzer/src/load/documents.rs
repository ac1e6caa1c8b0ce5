//! Reading inputs into Kubernetes objects: files, folders, stdin; YAML streams, JSON, Lists;
//! kustomizations and Helm charts through their renderer (`render`).

use super::{LoadError, LoadOptions, Origin};
use serde_json::Value;
use std::io::Read;
use std::path::{Path, PathBuf};

/// One input named on the command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    Path(PathBuf),
    Stdin,
}

impl Input {
    /// `-` is stdin, anything else a path.
    pub fn parse(arg: &str) -> Input {
        if arg == "-" {
            Input::Stdin
        } else {
            Input::Path(PathBuf::from(arg))
        }
    }
}

/// An object as read, before it is typed: where it came from, its identity and its body.
#[derive(Clone)]
pub(super) struct RawObject {
    pub origin: Origin,
    pub head: Head,
    pub body: Body,
}

impl RawObject {
    pub(super) fn of_value(origin: Origin, value: Value) -> RawObject {
        RawObject { origin, head: Head::of_value(&value), body: Body::Value(value) }
    }
}

/// What is read of every object before it is typed: what identifies it and what is checked
/// before typing, as written.
#[derive(Clone, Default)]
pub(super) struct Head {
    /// `apiVersion` and `kind` when they are strings, else empty.
    pub api_version: String,
    pub kind: String,
    /// `metadata.name` and `metadata.namespace` (`Null` when absent): a boolean or a number
    /// there is an error with a hint.
    pub name: Value,
    pub namespace: Value,
    /// `metadata.annotations["helm.sh/hook"]` when it is a string.
    pub helm_hook: Option<String>,
    /// `metadata.annotations["netreach.io/ignore"]` when it is a string: finding ids to suppress.
    pub ignore: Option<String>,
}

impl Head {
    fn of_value(value: &Value) -> Head {
        use super::convert::at_path;
        let string = |path: &[&str]| at_path(value, path).and_then(Value::as_str).map(str::to_string);
        let any = |path: &[&str]| at_path(value, path).cloned().unwrap_or(Value::Null);
        Head {
            api_version: string(&["apiVersion"]).unwrap_or_default(),
            kind: string(&["kind"]).unwrap_or_default(),
            name: any(&["metadata", "name"]),
            namespace: any(&["metadata", "namespace"]),
            helm_hook: string(&["metadata", "annotations", "helm.sh/hook"]),
            ignore: string(&["metadata", "annotations", super::IGNORE_ANNOTATION]),
        }
    }
}

/// An object's content: a `Value` (YAML, live reads, list items completed from their list) or
/// its JSON text, typed straight from the text.
#[derive(Clone)]
pub(super) enum Body {
    Value(Value),
    Json(super::json::JsonText),
}

impl Body {
    pub(super) fn into_value(self) -> Value {
        match self {
            Body::Value(value) => value,
            Body::Json(json) => json.into_value(),
        }
    }
}

/// What was read besides the objects: counts for the report.
#[derive(Default)]
pub(super) struct ReadStats {
    pub files: usize,
    /// Documents that are not Kubernetes objects (no `kind`), e.g. Helm values files.
    pub not_objects: Vec<Origin>,
    /// Symbolic links to folders inside input folders, not followed.
    pub skipped_links: Vec<String>,
    /// Files that could not be read or parsed: every one is reported, not only the first.
    pub errors: Vec<LoadError>,
}

/// The extensions read in folders.
pub fn is_manifest(path: &Path) -> bool {
    matches!(path.extension().and_then(|e| e.to_str()), Some("yaml" | "yml" | "json"))
}

/// Files under `dir`, recursively, sorted so results never depend on directory order.
/// Symbolic links to folders are not followed, as `kubectl apply -R` does not follow them
/// (a link to an ancestor would loop forever, a link to a sibling would read files twice);
/// each is reported. Links to files are read.
fn walk(dir: &Path, out: &mut Vec<PathBuf>, skipped_links: &mut Vec<String>) -> Result<(), LoadError> {
    let io = |e| LoadError::Io { path: dir.display().to_string(), source: e };
    let mut entries: Vec<(PathBuf, std::fs::FileType)> = std::fs::read_dir(dir)
        .map_err(io)?
        .map(|e| e.and_then(|e| Ok((e.path(), e.file_type()?))))
        .collect::<Result<_, _>>()
        .map_err(io)?;
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    for (path, file_type) in entries {
        if file_type.is_dir() {
            if let Some(kind) = super::render::SourceKind::of(&path) {
                let hint = kind.hint(&path);
                return Err(LoadError::Source { path: path.display().to_string(), what: kind.describe(), hint });
            }
            walk(&path, out, skipped_links)?;
        } else if file_type.is_symlink() && path.is_dir() {
            skipped_links.push(path.display().to_string());
        } else if is_manifest(&path) {
            out.push(path);
        }
    }
    Ok(())
}

/// Reads at most `limit` bytes; a larger input is an error rather than memory exhausted
/// (`/dev/zero` never ends).
fn read_limited(mut reader: impl Read, name: &str, limit: u64) -> Result<String, LoadError> {
    let mut bytes = Vec::new();
    reader
        .by_ref()
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| LoadError::Io { path: name.to_string(), source: e })?;
    if bytes.len() as u64 > limit {
        return Err(LoadError::TooLarge { path: name.to_string(), limit });
    }
    String::from_utf8(bytes).map_err(|e| LoadError::Io {
        path: name.to_string(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, format!("not UTF-8 text: {e}")),
    })
}

/// Reads every input. A file that cannot be read or parsed is recorded in `stats.errors` and
/// the others are still read, so one run reports every bad file.
pub(super) fn read_inputs(
    inputs: &[Input],
    options: &LoadOptions,
    objects: &mut Vec<RawObject>,
    stats: &mut ReadStats,
) {
    for input in inputs {
        let result = match input {
            Input::Stdin => read_limited(std::io::stdin().lock(), "<stdin>", options.max_file_bytes).and_then(|text| {
                stats.files += 1;
                let before = objects.len();
                parse_text("<stdin>", text, None, objects, stats)?;
                // An empty pipe is a failed producer, never "nothing here" (`false | netreach audit - cluster/`).
                if objects.len() == before {
                    return Err(LoadError::EmptyStdin);
                }
                Ok(())
            }),
            Input::Path(path) => read_path(path, options, objects, stats),
        };
        if let Err(e) = result {
            stats.errors.push(e);
        }
    }
}

fn read_path(
    path: &Path,
    options: &LoadOptions,
    objects: &mut Vec<RawObject>,
    stats: &mut ReadStats,
) -> Result<(), LoadError> {
    let meta = std::fs::metadata(path).map_err(|e| LoadError::Io { path: path.display().to_string(), source: e })?;
    if let Some(kind) = meta.is_dir().then(|| super::render::SourceKind::of(path)).flatten() {
        let (text, name) = super::render::render(kind, path, options.max_file_bytes)?;
        stats.files += 1;
        return parse_text(&name, text, Some(false), objects, stats);
    }
    let files = if meta.is_dir() {
        let mut files = Vec::new();
        walk(path, &mut files, &mut stats.skipped_links)?;
        if files.is_empty() {
            return Err(LoadError::NoManifests { path: path.display().to_string() });
        }
        files
    } else {
        vec![path.to_path_buf()]
    };
    // Files are parsed in parallel (YAML parsing is most of a folder's load time), then taken
    // in order, so objects, notes and errors come out as if read one by one.
    let read = netreach_model::parallel::map(&files, |file| {
        let (mut objects, mut stats) = (Vec::new(), ReadStats::default());
        let name = file.display().to_string();
        let read = std::fs::File::open(file)
            .map_err(|e| LoadError::Io { path: name.clone(), source: e })
            .and_then(|opened| read_limited(opened, &name, options.max_file_bytes));
        let parsed = read.and_then(|text| {
            stats.files += 1;
            let json = file.extension().and_then(|e| e.to_str()) == Some("json");
            parse_text(&name, text, Some(json), &mut objects, &mut stats)
        });
        if let Err(e) = parsed {
            stats.errors.push(e);
        }
        (objects, stats)
    });
    for (file_objects, file_stats) in read {
        objects.extend(file_objects);
        stats.files += file_stats.files;
        stats.not_objects.extend(file_stats.not_objects);
        stats.errors.extend(file_stats.errors);
    }
    Ok(())
}

/// Parses one file's text. `json`: `None` to sniff (stdin), else by extension.
pub(super) fn parse_text(
    file: &str,
    text: String,
    json: Option<bool>,
    objects: &mut Vec<RawObject>,
    stats: &mut ReadStats,
) -> Result<(), LoadError> {
    // A byte-order mark is not content (editors on Windows write one); kubectl accepts it in
    // JSON and YAML alike.
    let start = if text.starts_with('\u{feff}') { '\u{feff}'.len_utf8() } else { 0 };
    let json = json.unwrap_or_else(|| text[start..].trim_start().starts_with(['{', '[']));
    if json {
        return super::json::read(file, std::sync::Arc::new(text), start, objects, stats);
    }
    let text = &text[start..];
    let documents: Vec<Value> = {
        // Real exports exceed the default YAML budget (node and document counts); files on
        // disk are trusted input, so the budget is off.
        super::aliases::check_expansion(text)
            .map_err(|message| LoadError::Syntax { file: file.to_string(), message })?;
        let mut options = serde_saphyr::Options::default();
        options.budget = None;
        options.with_snippet = false;
        // Kubernetes reads YAML with go-yaml v2 (sigs.k8s.io/yaml): YAML 1.1 scalars, so
        // `defaultMode: 0755` is octal 493 (bitnami charts write it so).
        options.legacy_octal_numbers = true;
        serde_saphyr::from_multiple_with_options::<Value>(text, options).map_err(|e| {
            let mut message = format!("invalid YAML: {e}");
            if text.contains("{{") {
                message.push_str(" (this looks like an unrendered Helm template: render the chart first, e.g. `helm template RELEASE CHART | netreach connectivity -`)");
            }
            LoadError::Syntax { file: file.to_string(), message }
        })?
    };
    let starts = document_lines(text);
    for (i, doc) in documents.into_iter().enumerate() {
        let line = starts.get(i).copied().unwrap_or(0);
        let origin = Origin { file: file.to_string(), document: i + 1, items: Vec::new(), line };
        let first = objects.len();
        flatten(doc, origin, None, objects, stats);
        if objects[first..].iter().any(|o| !o.origin.items.is_empty()) {
            let end = starts.get(i + 1).copied().unwrap_or(usize::MAX);
            let items = list_item_lines(text, line, end);
            for o in &mut objects[first..] {
                if let Some(&at) = o.origin.items.first().and_then(|&j| items.get(j)) {
                    o.origin.line = at;
                }
            }
        }
    }
    Ok(())
}

/// Whether a line is no content: blank, or a comment.
fn is_blank(line: &str) -> bool {
    let t = line.trim_start();
    t.is_empty() || t.starts_with('#')
}

/// A document marker: `---` alone or followed by a space (YAML 1.2, 9.1.1).
fn is_marker(line: &str) -> bool {
    line.strip_prefix("---").is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t', '\r']))
}

/// The 1-based line of the first content of each YAML document of `text`, in the order the
/// parser returns them: content before the first `---` is a document of its own.
fn document_lines(text: &str) -> Vec<usize> {
    let lines: Vec<&str> = text.lines().collect();
    let content_from = |from: usize| -> usize {
        let mut i = from;
        while i < lines.len() && is_blank(lines[i]) && !is_marker(lines[i]) {
            i += 1;
        }
        if i < lines.len() && !is_marker(lines[i]) {
            i + 1
        } else {
            from + 1
        }
    };
    let markers: Vec<usize> = (0..lines.len()).filter(|&i| is_marker(lines[i])).collect();
    let mut starts = Vec::with_capacity(markers.len() + 1);
    let before_first = markers.first().copied().unwrap_or(lines.len());
    if markers.is_empty() || lines[..before_first].iter().any(|l| !is_blank(l) && !l.starts_with('%')) {
        starts.push(content_from(0));
    }
    for m in markers {
        // `--- {kind: Pod}`: the content is on the marker's own line.
        let same_line = !lines[m][3..].trim().is_empty() && !lines[m][3..].trim_start().starts_with('#');
        starts.push(if same_line { m + 1 } else { content_from(m + 1) });
    }
    starts
}

/// The 1-based lines where the items of a `kind: List` document start (`- apiVersion: …` under
/// `items:`, as kubectl writes them), for a document from line `start` to before line `end`.
fn list_item_lines(text: &str, start: usize, end: usize) -> Vec<usize> {
    let mut items = Vec::new();
    let mut dash_indent = None;
    let mut in_items = false;
    for (i, line) in text.lines().enumerate().skip(start.saturating_sub(1)) {
        let number = i + 1;
        if number >= end {
            break;
        }
        if !in_items {
            in_items = line.starts_with("items:");
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        let rest = &line[indent..];
        if !is_blank(line) && indent == 0 && !rest.starts_with('-') {
            break; // the next top-level key
        }
        if (rest == "-" || rest.starts_with("- ")) && *dash_indent.get_or_insert(indent) == indent {
            items.push(number);
        }
    }
    items
}

/// Unpacks `List`, `PodList`, … recursively. Items of typed lists as the API returns them lack
/// `apiVersion`/`kind`; they inherit them from the list.
pub(super) fn flatten(
    mut value: Value,
    origin: Origin,
    inherited: Option<(&str, &str)>,
    objects: &mut Vec<RawObject>,
    stats: &mut ReadStats,
) {
    let Some(obj) = value.as_object_mut() else {
        if !value.is_null() {
            stats.not_objects.push(origin);
        }
        return;
    };
    if let Some((api_version, kind)) = inherited {
        obj.entry("apiVersion").or_insert_with(|| Value::String(api_version.to_string()));
        obj.entry("kind").or_insert_with(|| Value::String(kind.to_string()));
    }
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("").to_string();
    if kind.is_empty() {
        stats.not_objects.push(origin);
        return;
    }
    if kind.ends_with("List") && obj.get("items").is_some_and(Value::is_array) {
        let api_version = obj.get("apiVersion").and_then(Value::as_str).unwrap_or("v1").to_string();
        let item_kind = kind.trim_end_matches("List").to_string();
        let Some(Value::Array(items)) = obj.remove("items") else { unreachable!() };
        for (j, item) in items.into_iter().enumerate() {
            let mut o = origin.clone();
            o.items.push(j);
            let inherit = if item_kind.is_empty() { None } else { Some((api_version.as_str(), item_kind.as_str())) };
            flatten(item, o, inherit, objects, stats);
        }
        return;
    }
    objects.push(RawObject::of_value(origin, value));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(text: &str) -> Value {
        let mut objects = Vec::new();
        let mut stats = ReadStats::default();
        parse_text("t.yaml", text.to_string(), Some(false), &mut objects, &mut stats).unwrap();
        objects.remove(0).body.into_value()
    }

    /// YAML 1.1 scalars as go-yaml v2 resolves them (sigs.k8s.io/yaml, what kubectl reads with).
    #[test]
    fn yaml_1_1_scalars_like_kubectl() {
        let v = values(
            "kind: X\na: 0755\nb: y\nc: on\nd: 1_000\ne: 0x1F\nf: 1:20\ng: ~\nh: 012.5\ni: NO\nj: 0\nk: -017\nl: 08\n",
        );
        eprintln!("{v}");
        assert_eq!(v["a"], 493);
        assert_eq!(v["b"], true);
        assert_eq!(v["c"], true);
        assert_eq!(v["d"], 1000);
        assert_eq!(v["e"], 31);
        assert_eq!(v["f"], "1:20");
        assert!(v["g"].is_null());
        assert_eq!(v["h"], 12.5);
        assert_eq!(v["i"], false);
        assert_eq!(v["j"], 0);
        assert_eq!(v["k"], -15);
    }

    /// Each object's line: its document's first content line, or its item of a List.
    #[test]
    fn objects_know_their_line() {
        let text = [
            "# a comment",
            "",
            "apiVersion: v1",
            "kind: Namespace",
            "metadata: {name: a}",
            "---",
            "# b",
            "kind: Namespace",
            "metadata: {name: b}",
            "--- {kind: Namespace, metadata: {name: c}}",
            "---",
            "apiVersion: v1",
            "kind: List",
            "items:",
            "- apiVersion: v1",
            "  kind: Namespace",
            "  metadata:",
            "    name: d",
            "- apiVersion: v1",
            "  kind: Namespace",
            "  metadata: {name: e, labels: {x: \"- y\"}}",
            "metadata: {}",
        ]
        .join("\n");
        let mut objects = Vec::new();
        parse_text("t.yaml", text, Some(false), &mut objects, &mut ReadStats::default()).unwrap();
        let lines: Vec<(String, usize)> =
            objects.iter().map(|o| (o.head.name.as_str().unwrap().to_string(), o.origin.line)).collect();
        let expected = [("a", 3), ("b", 8), ("c", 10), ("d", 15), ("e", 19)];
        assert_eq!(lines, expected.map(|(n, l)| (n.to_string(), l)));
        // A leading marker opens the first document; no marker, one document at its first line.
        assert_eq!(document_lines("---\nkind: X\n---\nkind: Y\n"), [2, 4]);
        assert_eq!(document_lines("\n\nkind: X\n"), [3]);
    }

    /// libyaml, and so kubectl, take a tab that starts a line inside a flow collection as
    /// separation (vendor/granit-parser/PATCHES.md); in block context it still cannot indent.
    #[test]
    fn tabs_separate_flow_entries() {
        let v = values("kind: X\nspec:\n  args: [\n\t\"--a\",\n\t\"--b\"\n    ]\n");
        assert_eq!(v["spec"]["args"], serde_json::json!(["--a", "--b"]));
        let mut objects = Vec::new();
        let error = parse_text(
            "t.yaml",
            "kind: X\nspec:\n\targs: 1\n".into(),
            Some(false),
            &mut objects,
            &mut ReadStats::default(),
        );
        assert!(error.is_err());
    }
}
