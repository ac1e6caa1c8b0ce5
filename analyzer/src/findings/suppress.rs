//! Suppressed findings: accepted by an annotation on the objects (`netreach.io/ignore:
//! "NR001,NR003"`) or by a baseline (an earlier `audit -o json`). A suppressed finding is kept,
//! counted and listed as such, never dropped; it does not count for `--fail-on`.

use super::{Finding, ObjectRef};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// Why a finding is suppressed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum SuppressedBy {
    /// `netreach.io/ignore` on these objects (the finding's Namespace, or every object it names).
    Annotation { objects: Vec<String> },
    /// The finding is in this baseline file.
    Baseline { file: String },
}

impl std::fmt::Display for SuppressedBy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SuppressedBy::Annotation { objects } => {
                write!(f, "{} on {}", crate::load::IGNORE_ANNOTATION, objects.join(", "))
            }
            SuppressedBy::Baseline { file } => write!(f, "in baseline {file}"),
        }
    }
}

/// A finding and why it does not count.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Suppressed {
    #[serde(flatten)]
    pub finding: Finding,
    pub suppressed_by: SuppressedBy,
}

/// The ids an object's annotation lists, given its kind, namespace and name.
pub trait Annotations {
    fn ignored(&self, kind: &str, namespace: Option<&str>, name: &str) -> &[String];
}

impl Annotations for crate::load::ObjectIndex {
    fn ignored(&self, kind: &str, namespace: Option<&str>, name: &str) -> &[String] {
        crate::load::ObjectIndex::ignored(self, kind, namespace, name)
    }
}

/// How a finding is identified across runs: its check, namespace and objects (the message
/// carries counts that change), as [`super::FindingChanges`] pairs findings.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Deserialize)]
struct Key {
    id: String,
    namespace: Option<String>,
    objects: Vec<ObjectRef>,
}

impl Key {
    fn of(f: &Finding) -> Key {
        Key { id: f.id.to_string(), namespace: f.namespace.clone(), objects: f.objects.clone() }
    }
}

/// The findings of an earlier `netreach audit -o json` (its `findings` and `suppressed`).
#[derive(Clone, Debug, Default)]
pub struct Baseline {
    file: String,
    keys: HashSet<Key>,
}

impl Baseline {
    /// Reads a baseline; an unreadable file or one that is not an audit's JSON is an error
    /// naming the file.
    pub fn read(path: &std::path::Path) -> Result<Baseline, String> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| format!("--baseline {file}: {e}"))?;
        Baseline::parse(&file, &text)
    }

    pub fn parse(file: &str, text: &str) -> Result<Baseline, String> {
        #[derive(Deserialize)]
        struct Report {
            findings: Vec<Key>,
            #[serde(default)]
            suppressed: Vec<Key>,
        }
        let report: Report = serde_json::from_str(text).map_err(|e| {
            format!("--baseline {file}: not the JSON of `netreach audit -o json` ({e}); write one with `netreach audit ... -o json > {file}`")
        })?;
        Ok(Baseline { file: file.to_string(), keys: report.findings.into_iter().chain(report.suppressed).collect() })
    }

    fn contains(&self, f: &Finding) -> bool {
        self.keys.contains(&Key::of(f))
    }
}

/// Why `f` is suppressed by annotations, if it is: the Namespace it is about carries its id,
/// or every object it names does (itself, or its Namespace). One annotated object among
/// several does not hide the others.
fn annotated(f: &Finding, annotations: &dyn Annotations) -> Option<SuppressedBy> {
    let lists = |kind: &str, namespace: Option<&str>, name: &str| {
        annotations.ignored(kind, namespace, name).iter().any(|id| id == f.id || id == "*")
    };
    let namespace = |ns: &str| lists("Namespace", None, ns).then(|| format!("Namespace {ns}"));
    if let Some(by) = f.namespace.as_deref().and_then(namespace) {
        return Some(SuppressedBy::Annotation { objects: vec![by] });
    }
    if f.objects.is_empty() {
        return None;
    }
    let mut by = Vec::new();
    for o in &f.objects {
        let own = lists(&o.kind, o.namespace.as_deref(), &o.name).then(|| {
            let mut o = o.clone();
            o.field = None;
            o.to_string()
        });
        let holder = match (&o.namespace, o.kind.as_str()) {
            (Some(ns), _) => namespace(ns),
            (None, "Namespace") => namespace(&o.name),
            (None, _) => None,
        };
        by.push(own.or(holder)?);
    }
    by.sort();
    by.dedup();
    Some(SuppressedBy::Annotation { objects: by })
}

/// Splits `findings` into those that count and those suppressed (annotations first, then the
/// baseline), both in their given order.
pub fn suppress(
    findings: Vec<Finding>,
    annotations: &dyn Annotations,
    baseline: Option<&Baseline>,
) -> (Vec<Finding>, Vec<Suppressed>) {
    let mut kept = Vec::with_capacity(findings.len());
    let mut suppressed = Vec::new();
    for f in findings {
        let by = annotated(&f, annotations)
            .or_else(|| baseline.filter(|b| b.contains(&f)).map(|b| SuppressedBy::Baseline { file: b.file.clone() }));
        match by {
            Some(suppressed_by) => suppressed.push(Suppressed { finding: f, suppressed_by }),
            None => kept.push(f),
        }
    }
    (kept, suppressed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::{Check, Severity};
    use std::collections::HashMap;

    struct Map(HashMap<(String, Option<String>, String), Vec<String>>);

    impl Annotations for Map {
        fn ignored(&self, kind: &str, namespace: Option<&str>, name: &str) -> &[String] {
            let key = (kind.to_string(), namespace.map(str::to_string), name.to_string());
            self.0.get(&key).map(Vec::as_slice).unwrap_or_default()
        }
    }

    const CHECK: Check = Check { id: "NR005", name: "host-network-pod", severity: Severity::Medium, summary: "" };

    fn workload(ns: &str, name: &str) -> ObjectRef {
        ObjectRef { kind: "DaemonSet".into(), namespace: Some(ns.into()), name: name.into(), field: None }
    }

    fn finding(ns: &str, objects: Vec<ObjectRef>) -> Finding {
        Finding::new(CHECK, Some(ns), objects, "m".into(), "f".into())
    }

    fn annotations(entries: &[(&str, Option<&str>, &str, &str)]) -> Map {
        Map(entries
            .iter()
            .map(|(k, ns, n, ids)| {
                ((k.to_string(), ns.map(str::to_string), n.to_string()), ids.split(',').map(str::to_string).collect())
            })
            .collect())
    }

    #[test]
    fn an_annotated_namespace_or_every_object_suppresses() {
        let on_agent = annotations(&[("DaemonSet", Some("infra"), "agent", "NR005")]);
        let one = finding("infra", vec![workload("infra", "agent")]);
        let two = finding("infra", vec![workload("infra", "agent"), workload("infra", "other")]);
        let (kept, suppressed) = suppress(vec![one.clone(), two.clone()], &on_agent, None);
        assert_eq!(kept, std::slice::from_ref(&two));
        assert_eq!(
            suppressed[0].suppressed_by,
            SuppressedBy::Annotation { objects: vec!["DaemonSet infra/agent".into()] }
        );
        // Another id on the same object suppresses nothing.
        let other_id = annotations(&[("DaemonSet", Some("infra"), "agent", "NR001,NR003")]);
        assert_eq!(suppress(vec![one.clone()], &other_id, None).1.len(), 0);
        // The Namespace covers every finding about it.
        let on_namespace = annotations(&[("Namespace", None, "infra", "NR003,NR005")]);
        let (kept, suppressed) = suppress(vec![one, two], &on_namespace, None);
        assert!(kept.is_empty() && suppressed.len() == 2);
    }

    #[test]
    fn a_baseline_suppresses_the_same_finding_whatever_its_message() {
        let f = finding("infra", vec![workload("infra", "agent")]);
        let json = format!(
            "{{\"findings\": [{}], \"suppressed\": []}}",
            serde_json::to_string(&Finding { message: "an older count".into(), ..f.clone() }).unwrap()
        );
        let baseline = Baseline::parse("old.json", &json).unwrap();
        let new = finding("infra", vec![workload("infra", "new")]);
        let (kept, suppressed) = suppress(vec![f, new.clone()], &annotations(&[]), Some(&baseline));
        assert_eq!(kept, [new]);
        assert_eq!(suppressed[0].suppressed_by, SuppressedBy::Baseline { file: "old.json".into() });
        assert!(Baseline::parse("x.json", "[]").unwrap_err().contains("x.json"));
    }
}
